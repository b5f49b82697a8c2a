//! `cargo xtask fuzz [--seconds N] [--target T] [--package P] [--ci] [--list]`: runs every
//! cargo-fuzz target of the workspace (`crates/*/fuzz/`) for `N` seconds each (default 60).
//!
//! Only stable Rust exists in our build environment; cargo-fuzz's sanitizer flags
//! (`-Zsanitizer=address`, `-Cpasses=sancov-module`, ...) are unstable, so the fuzz
//! packages are built with `RUSTC_BOOTSTRAP=1`, which lets the stable compiler accept
//! them. cargo-fuzz itself is installed by this command (`cargo install --locked
//! cargo-fuzz`) into `<target dir>/xtask-tools/` when it is not on the `PATH`. Targets
//! are built with cargo-fuzz's defaults: optimized, debug assertions and overflow checks
//! on, AddressSanitizer on.
//!
//! The corpora stay in the repository (`crates/<crate>/fuzz/corpus/<target>/`, replayed by
//! each crate's `tests/fuzz_corpus.rs` under `cargo test`); a run reads them and writes
//! what it finds to a scratch corpus under the target dir, so fuzzing never dirties the
//! checkout. Every fuzz package shares one target dir, so common dependencies are built
//! once. A crash fails the command and leaves its input in
//! `crates/<crate>/fuzz/artifacts/<target>/` (cargo-fuzz's place) for replay.
//!
//! `--ci` fuzzes a representative subset ([`CI_PACKAGES`]) for [`CI_SECONDS`] each, so that
//! building and running fit the CI budget on two cores; without it every package runs.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

/// Seconds per target when none are given.
pub const DEFAULT_SECONDS: u64 = 60;
/// Seconds per target under `--ci`.
pub const CI_SECONDS: u64 = 10;
/// The fuzz packages CI runs: the pure decoders and state machines of the cryptographic
/// layers (they share most dependencies, so one build serves all three). The other
/// packages (status-sessions, status-chat, waku-relay) run with `cargo xtask fuzz`.
pub const CI_PACKAGES: &[&str] = &["status-identity", "status-x3dh", "status-noise"];
/// cargo-fuzz version installed when none is on the `PATH`.
const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// One fuzz package and its targets.
#[derive(Debug, Clone)]
pub struct Package {
    /// The crate it fuzzes (directory name under `crates/`).
    pub krate: String,
    /// `crates/<crate>/fuzz`.
    pub dir: PathBuf,
    /// Its `[[bin]]` targets.
    pub targets: Vec<String>,
}

/// Every fuzz package of the workspace, sorted by crate.
pub fn packages(root: &Path) -> Result<Vec<Package>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(root.join("crates"))? {
        let dir = entry?.path().join("fuzz");
        let manifest = dir.join("Cargo.toml");
        if !manifest.is_file() {
            continue;
        }
        let text = std::fs::read_to_string(&manifest)?;
        let mut targets = Vec::new();
        let mut in_bin = false;
        for line in text.lines() {
            let line = line.trim();
            if line.starts_with('[') {
                in_bin = line == "[[bin]]";
            } else if in_bin && let Some(rest) = line.strip_prefix("name") {
                let name = rest.trim_start().trim_start_matches('=').trim();
                targets.push(name.trim_matches('"').to_owned());
            }
        }
        let krate = dir
            .parent()
            .and_then(Path::file_name)
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        out.push(Package {
            krate,
            dir,
            targets,
        });
    }
    out.sort_by(|a, b| a.krate.cmp(&b.krate));
    Ok(out)
}

fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
}

/// The cargo-fuzz binary: from the `PATH`, else installed into the target dir.
fn cargo_fuzz(root: &Path) -> Result<PathBuf> {
    let on_path = Command::new("cargo-fuzz")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if on_path {
        return Ok(PathBuf::from("cargo-fuzz"));
    }
    let tools = target_dir(root).join("xtask-tools");
    let bin = tools.join("bin/cargo-fuzz");
    if bin.is_file() {
        return Ok(bin);
    }
    eprintln!(
        "==> installing cargo-fuzz {CARGO_FUZZ_VERSION} into {}",
        tools.display()
    );
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args([
            "install",
            "--locked",
            "cargo-fuzz",
            "--version",
            CARGO_FUZZ_VERSION,
        ])
        .arg("--root")
        .arg(&tools)
        .env("CARGO_TARGET_DIR", tools.join("build"))
        .status()
        .context("running cargo install cargo-fuzz")?;
    if !status.success() {
        bail!("cargo install cargo-fuzz failed ({status})");
    }
    Ok(bin)
}

/// Options of one run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Seconds per target.
    pub seconds: u64,
    /// Only this target (by name).
    pub target: Option<String>,
    /// Only these packages (by crate name); empty means all.
    pub packages: Vec<String>,
}

/// Parses the command line after `fuzz`.
pub fn parse(args: &[String]) -> Result<(Options, bool)> {
    let mut o = Options {
        seconds: DEFAULT_SECONDS,
        target: None,
        packages: Vec::new(),
    };
    let mut list = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--seconds" => {
                o.seconds = it
                    .next()
                    .context("--seconds needs a value")?
                    .parse()
                    .context("--seconds")?;
            }
            "--target" => o.target = Some(it.next().context("--target needs a value")?.clone()),
            "--package" => o
                .packages
                .push(it.next().context("--package needs a value")?.clone()),
            "--ci" => {
                o.seconds = CI_SECONDS;
                o.packages = CI_PACKAGES.iter().map(|s| (*s).to_owned()).collect();
            }
            "--list" => list = true,
            other => bail!("unknown fuzz option {other:?}"),
        }
    }
    Ok((o, list))
}

/// `cargo xtask fuzz ...`.
pub fn main(root: &Path, args: &[String]) -> Result<()> {
    let (options, list) = parse(args)?;
    if list {
        for p in packages(root)? {
            let ci = if CI_PACKAGES.contains(&p.krate.as_str()) {
                " (ci)"
            } else {
                ""
            };
            eprintln!("{}{ci}: {}", p.krate, p.targets.join(", "));
        }
        return Ok(());
    }
    run(root, &options)
}

/// Builds and runs the selected targets.
pub fn run(root: &Path, o: &Options) -> Result<()> {
    let start = Instant::now();
    let fuzz = cargo_fuzz(root)?;
    let tdir = target_dir(root).join("fuzz");
    let mut ran = 0;
    let mut figures = Vec::new();
    for p in packages(root)? {
        if !o.packages.is_empty() && !o.packages.contains(&p.krate) {
            continue;
        }
        let targets: Vec<&String> = p
            .targets
            .iter()
            .filter(|t| o.target.as_ref().is_none_or(|x| x == *t))
            .collect();
        if targets.is_empty() {
            continue;
        }
        let had_lock = p.dir.join("Cargo.lock").exists();
        let result = run_package(&fuzz, &p, &targets, &tdir, o.seconds, &mut figures);
        if !had_lock {
            // cargo writes a lock file into the fuzz package; it is not ours to add.
            let _ = std::fs::remove_file(p.dir.join("Cargo.lock"));
        }
        result?;
        ran += targets.len();
    }
    if ran == 0 {
        bail!("no fuzz target matched");
    }
    for (name, secs, runs) in &figures {
        eprintln!("    {name:40} {secs:6.1}s {runs}");
    }
    eprintln!(
        "fuzz: {ran} targets, {} s each, no crash, {:.1}s in total",
        o.seconds,
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

fn fuzz_cmd(fuzz: &Path, dir: &Path) -> Command {
    let mut cmd = Command::new(fuzz);
    if fuzz.file_name().is_some_and(|n| n == "cargo-fuzz") {
        cmd.arg("fuzz");
    }
    // The stable compiler accepts cargo-fuzz's unstable sanitizer flags with this.
    cmd.env("RUSTC_BOOTSTRAP", "1").current_dir(dir);
    cmd.env_remove("CARGO_TARGET_DIR");
    cmd
}

fn run_package(
    fuzz: &Path,
    p: &Package,
    targets: &[&String],
    tdir: &Path,
    seconds: u64,
    figures: &mut Vec<(String, f64, String)>,
) -> Result<()> {
    let crate_dir = p.dir.parent().unwrap_or(&p.dir);
    let step = format!("build fuzz targets of {}", p.krate);
    eprintln!("==> {step}");
    let t = Instant::now();
    let mut build = fuzz_cmd(fuzz, crate_dir);
    build.arg("build").arg("--target-dir").arg(tdir);
    let status = build.status().with_context(|| step.clone())?;
    eprintln!("<== {step}: {:.1}s", t.elapsed().as_secs_f64());
    if !status.success() {
        bail!("{step} failed ({status})");
    }
    for target in targets {
        let scratch = tdir.join("corpus").join(&p.krate).join(target);
        std::fs::create_dir_all(&scratch)?;
        let seeds = p.dir.join("corpus").join(target);
        std::fs::create_dir_all(&seeds)?;
        let name = format!("{}/{target}", p.krate);
        eprintln!("==> fuzz {name} for {seconds}s");
        let t = Instant::now();
        let mut cmd = fuzz_cmd(fuzz, crate_dir);
        cmd.arg("run")
            .arg("--target-dir")
            .arg(tdir)
            .arg(target.as_str())
            .arg(&scratch)
            .arg(&seeds)
            .arg("--")
            .arg(format!("-max_total_time={seconds}"))
            .arg("-rss_limit_mb=2048")
            .arg("-print_final_stats=1");
        let out = cmd.output().with_context(|| format!("running {name}"))?;
        let log = String::from_utf8_lossy(&out.stderr);
        let runs = log
            .lines()
            .find(|l| l.starts_with("stat::number_of_executed_units"))
            .and_then(|l| l.split(':').next_back())
            .map(|s| format!("{} runs", s.trim()))
            .unwrap_or_default();
        figures.push((name.clone(), t.elapsed().as_secs_f64(), runs));
        if !out.status.success() {
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            for l in tail.into_iter().rev() {
                eprintln!("    {l}");
            }
            bail!(
                "fuzz target {name} failed ({}); input kept under crates/{}/fuzz/artifacts/{target}/",
                out.status,
                p.krate
            );
        }
    }
    Ok(())
}
