//! `cargo xtask <command>`: the workspace's automation.
//!
//! - `ci`: everything CI checks, in order (format, lints, layering, tests, docs).
//! - `layers`: the layering check alone.
//! - `interop noise`: `status-noise` against `@waku/noise` (npm), see `interop_noise.rs`.
//! - `interop relay`: `waku-relay` against js-waku (npm), see `interop_relay.rs`.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

mod vectors_sessions;
mod vectors_x3dh;

fn main() -> std::process::ExitCode {
    match dispatch() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn dispatch() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(command) = args.first() else {
        usage();
        bail!("no command given");
    };
    match command.as_str() {
        "interop" if args.get(1).map(String::as_str) == Some("noise") => {
            interop_noise::run(&root())
        }
        "interop" if args.get(1).map(String::as_str) == Some("relay") => {
            interop_relay::run(&root())
        }
        "ci" => ci(),
        "fuzz" => fuzz::main(&root(), &args[1..]),
        "sim" => xtask::sim::main(&args[1..]),
        "soak" => soak::main(&root(), &args[1..]),
        "soak-node" => soak::node_main(&args[1..]),
        "layers" => layers(),
        "vectors" => match args.get(1).map(String::as_str) {
            Some("sessions") => vectors_sessions::write(&root()),
            Some("x3dh") => vectors_x3dh::write(&root()),
            None => xtask::vectors_all::write(&root()),
            Some("--check") => xtask::vectors_all::check(&root()),
            other => bail!("unknown vectors set {other:?} (known: sessions, x3dh, --check)"),
        },
        "help" | "--help" | "-h" => {
            usage();
            Ok(())
        }
        other => {
            usage();
            bail!("unknown command {other:?}")
        }
    }
}

fn usage() {
    eprintln!(
        "usage: cargo xtask <command>\n\n\
         commands:\n  \
         ci       format check, clippy, layering check, tests, docs (what CI runs)\n  \
         layers   check that workspace crates depend downward only\n  \
         vectors sessions   write status-sessions' known-answer vectors\n  \
         vectors x3dh       write status-x3dh's known-answer vectors\n  \
         vectors [--check]  write (or check) every vector of the stack into docs/vectors/\n  \
         fuzz [--seconds N] [--target T] [--package P] [--ci] [--per-package] [--list]   run the fuzz targets\n  \
         sim [--ci] [--seed S] [--nodes N] [--loss P] ...   deterministic network simulator\n  \
         soak [--ci] [--nodes N] [--seconds S] [--kill-every K]   real nodes on loopback with kills"
    );
}

/// The workspace root (the parent of this crate).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(root());
    cmd
}

fn run(step: &str, mut cmd: Command) -> Result<()> {
    eprintln!("==> {step}");
    let start = Instant::now();
    let status = cmd.status().with_context(|| format!("starting {step}"))?;
    eprintln!("<== {step}: {:.1}s", start.elapsed().as_secs_f64());
    if !status.success() {
        bail!("{step} failed ({status})");
    }
    Ok(())
}

fn has_nextest() -> bool {
    cargo()
        .args(["nextest", "--version"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn ci() -> Result<()> {
    let start = Instant::now();
    let mut fmt = cargo();
    fmt.args(["fmt", "--all", "--", "--check"]);
    run("cargo fmt --check", fmt)?;

    let mut clippy = cargo();
    clippy.args([
        "clippy",
        "--locked",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]);
    run("cargo clippy", clippy)?;

    layers()?;

    if has_nextest() {
        let mut test = cargo();
        test.args([
            "nextest",
            "run",
            "--locked",
            "--workspace",
            "--no-fail-fast",
        ]);
        run("cargo nextest run", test)?;
        let mut doctest = cargo();
        doctest.args(["test", "--locked", "--workspace", "--doc"]);
        run("cargo test --doc", doctest)?;
    } else {
        let mut test = cargo();
        test.args(["test", "--locked", "--workspace", "--no-fail-fast"]);
        run("cargo test", test)?;
    }

    fuzz::main(&root(), &["--ci".to_owned()])?;

    eprintln!("==> sim (fixed seeds: loss, partitions, crashes, skew)");
    xtask::sim::main(&["--ci".to_owned()])?;

    eprintln!("==> soak (short: 10 nodes, 60 s, kills and restarts)");
    soak::main(&root(), &["--ci".to_owned()])?;

    eprintln!("==> interop noise (status-noise against @waku/noise)");
    interop_noise::run(&root())?;

    interop_relay::run(&root())?;

    eprintln!("==> status-sessions vectors, independent Python check");
    vectors_sessions::python_check(&root())?;

    eprintln!("==> status-x3dh vectors, independent Python check");
    vectors_x3dh::python_check(&root())?;

    let mut doc = cargo();
    doc.args(["doc", "--locked", "--workspace", "--no-deps"])
        .env("RUSTDOCFLAGS", "-D warnings");
    run("cargo doc", doc)?;

    eprintln!(
        "ci: all steps passed in {:.1}s",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

fn layers() -> Result<()> {
    eprintln!("==> layering check");
    let violations = xtask::layers::check_workspace()?;
    if violations.is_empty() {
        eprintln!("<== layering check: every dependency points down");
        return Ok(());
    }
    for v in &violations {
        eprintln!("    {v}");
    }
    bail!(
        "layering check failed: {} upward dependencies",
        violations.len()
    )
}

mod fuzz;
mod interop_noise;
mod interop_relay;
mod soak;
