//! `cargo xtask fuzz [--seconds N] [--target T] [--package P] [--ci] [--per-package]
//! [--list]`: runs every cargo-fuzz target of the workspace (`crates/*/fuzz/`) for `N`
//! seconds each (default 60).
//!
//! Only stable Rust exists in our build environment; cargo-fuzz's sanitizer flags
//! (`-Zsanitizer=address`, `-Cpasses=sancov-module`, ...) are unstable, so the fuzz
//! packages are built with `RUSTC_BOOTSTRAP=1`, which lets the stable compiler accept
//! them. cargo-fuzz itself is installed by this command (`cargo install --locked
//! cargo-fuzz`) into `<target dir>/xtask-tools/` when it is not on the `PATH`. Targets
//! are built with cargo-fuzz's defaults: optimized, debug assertions and overflow checks
//! on, AddressSanitizer on.
//!
//! **One build.** The fuzz packages stay one per crate (`crates/<crate>/fuzz/`, where
//! `cargo fuzz` run by hand finds them), but this command builds them all as one:
//! it writes a combined cargo-fuzz package under the target dir (`fuzz/combined/`) that
//! depends on every fuzzed crate and lists every target as `<crate>--<target>` (the
//! sources stay in the crates), with the workspace's `Cargo.lock`. One cargo build then
//! compiles every dependency once, with one feature set: built one package at a time,
//! crates shared by several packages (libp2p, SQLite, the crypto crates, the layers
//! themselves) were built again for each package whose features differed. So a fuzz
//! target may use only `libfuzzer-sys` and its own crate. `--per-package` builds the
//! packages one by one instead (each against a copy of the workspace's `Cargo.lock`).
//!
//! The corpora stay in the repository (`crates/<crate>/fuzz/corpus/<target>/`, replayed by
//! each crate's `tests/fuzz_corpus.rs` under `cargo test`); a run reads them and writes
//! what it finds to a scratch corpus under the target dir, so fuzzing never dirties the
//! checkout. A crash fails the command and leaves its input in
//! `crates/<crate>/fuzz/artifacts/<target>/` (cargo-fuzz's place) for replay.
//!
//! `--ci` runs every target of every package for [`CI_SECONDS`] each, built at
//! [`CI_OPT_LEVEL`], so that building and running fit the CI budget on two cores
//! (measured on two shared cores, 24 targets: from an empty target dir 6.0 min, of which
//! 3.5 min building; with the build kept 2.6 min, or 3.1 min when a crate changed; at
//! cargo-fuzz's `opt-level = 3` the cold build alone took 10.3 min, under a heavier
//! load of other builds). `--ci --seconds N` keeps the CI build and runs longer.
//!
//! # Decoders and state machines, and the target that reaches each
//!
//! Every decoder of bytes from a peer or a file, and every state machine, by crate
//! (`package/target`):
//!
//! - status-identity: `ChatKey` parsing (`chat_key`); `ContactCode::from_bytes`,
//!   `from_uri` (`contact_code`); `keyfile::inspect`, `keyfile::decrypt` (`key_file`);
//!   `IdentityPublicKey::from_bytes`/`TryFrom<&[u8]>` (inside all of these and every
//!   layer above).
//! - status-x3dh: `EncryptedMessage::decode` (`decode_message`), `Bundle::decode` and
//!   verification (`decode_bundle`), `Session::from_bytes` (`decode_state`); the double
//!   ratchet with X3DH start (`interaction`).
//! - status-noise: `PayloadV2::decode` (`payload_v2`); the handshake state machine,
//!   every pattern, and transport messages (`handshake`); `TransportSession::from_bytes`
//!   and the pairing `Qr` string (`stored`); the 43 pairing state machine (`pairing`).
//! - status-sessions: payload `open`/`unframe`/`unframe_public` and the
//!   `ProtocolMessage` decoding of `SessionManager::decrypt` on each topic kind
//!   (`protocol_message`); the stored device, peer and session records of
//!   `SessionManager::restore` (`stored`); the device-link sync message and
//!   `DeviceLink::from_bytes` (`link`); the session manager with three devices
//!   (`interaction`).
//! - status-chat: the signed wrapper (`payload::open`), `MvdsPayload::decode`,
//!   `SignedGroupEvent::from_bytes`, `ApplicationMessage::decode_inner` and group merge
//!   (`decode`, `plaintext`, `incoming`); the chat state machine with three endpoints,
//!   MVDS and groups (`interaction`).
//! - waku-relay: `WakuMessage::decode` and the validator (`waku_message`),
//!   `Metadata::decode` and frames (`metadata`), `StoreQuery`/`StoreResponse::decode`
//!   and frames, `MessageHash` cursors (`store`); content and pubsub topic strings
//!   (`topics`).
//! - status (the node): the database records read back at start — contacts, messages,
//!   outbox, groups (re-verified events), chat clocks, orphan lists, session-store
//!   keys, record framing, KDF parameters, stored prekeys (`records`). The rows are AEAD-sealed, so a tampered
//!   row fails to open before these decoders see it.
//!
//! Not fuzzed: the recovery phrase and derivation paths (typed by the user), the
//! status-cli `config.toml` (parsed by `toml`), content topic kinds of status-sessions
//! on arbitrary strings (only the node's own topics reach `decrypt` with a payload it
//! can open), and the libp2p transport (fuzzed upstream).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

/// Seconds per target when none are given.
pub const DEFAULT_SECONDS: u64 = 60;
/// Seconds per target under `--ci`.
pub const CI_SECONDS: u64 = 5;
/// Optimization level of the build under `--ci` (cargo-fuzz's release profile is
/// `opt-level = 3`): a five-second run needs no top speed, and the build dominates.
pub const CI_OPT_LEVEL: u8 = 1;
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
    /// Build every target in one combined package (see the module docs) instead of one
    /// build per fuzz package.
    pub combined: bool,
    /// Optimization level of the build, if not cargo-fuzz's (3).
    pub opt_level: Option<u8>,
}

/// Parses the command line after `fuzz`.
pub fn parse(args: &[String]) -> Result<(Options, bool)> {
    let mut o = Options {
        seconds: DEFAULT_SECONDS,
        target: None,
        packages: Vec::new(),
        combined: true,
        opt_level: None,
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
                o.opt_level = Some(CI_OPT_LEVEL);
            }
            "--per-package" => o.combined = false,
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
            eprintln!("{}: {}", p.krate, p.targets.join(", "));
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
    let mut selected = Vec::new();
    for p in packages(root)? {
        if !o.packages.is_empty() && !o.packages.contains(&p.krate) {
            continue;
        }
        let targets: Vec<String> = p
            .targets
            .iter()
            .filter(|t| o.target.as_ref().is_none_or(|x| x == *t))
            .cloned()
            .collect();
        if !targets.is_empty() {
            selected.push((p, targets));
        }
    }
    if selected.is_empty() {
        bail!("no fuzz target matched");
    }
    let mut figures = Vec::new();
    let mut builds = 0.0;
    if o.combined {
        // Every package goes into the combined one whatever is selected, so that its
        // dependencies keep one feature set and one build serves every selection.
        let all: Vec<(Package, Vec<String>)> = packages(root)?
            .into_iter()
            .map(|p| {
                let t = p.targets.clone();
                (p, t)
            })
            .collect();
        let dir = write_combined(root, &tdir, &all)?;
        builds += build(
            &fuzz,
            &dir,
            true,
            &tdir,
            o.opt_level,
            "every fuzz target (one package)",
        )?;
        for (p, targets) in &selected {
            for t in targets {
                let bin = combined_name(&p.krate, t);
                run_target(&bin, p, t, &tdir, o, &mut figures)?;
            }
        }
    } else {
        for (p, targets) in &selected {
            let crate_dir = p.dir.parent().unwrap_or(&p.dir);
            // The workspace's lock file pins the same versions for every package; cargo
            // adds the fuzzing dependencies and drops what the package does not use.
            let lock = p.dir.join("Cargo.lock");
            let before = std::fs::read(&lock).ok();
            std::fs::copy(root.join("Cargo.lock"), &lock).context("copying Cargo.lock")?;
            let step = format!("fuzz targets of {}", p.krate);
            let result =
                build(&fuzz, crate_dir, false, &tdir, o.opt_level, &step).and_then(|secs| {
                    builds += secs;
                    for t in targets {
                        run_target(t, p, t, &tdir, o, &mut figures)?;
                    }
                    Ok(())
                });
            match before {
                Some(bytes) => std::fs::write(&lock, bytes)?,
                None => std::fs::remove_file(&lock)?,
            }
            result?;
        }
    }
    for (name, secs, runs) in &figures {
        eprintln!("    {name:40} {secs:6.1}s {runs}");
    }
    eprintln!(
        "fuzz: {} targets, {} s each, no crash, {:.1}s in total ({builds:.1}s building)",
        figures.len(),
        o.seconds,
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The name of `target` of `krate` in the combined package.
fn combined_name(krate: &str, target: &str) -> String {
    format!("{krate}--{target}")
}

/// Writes one cargo-fuzz package under the target dir holding every target of every
/// package (each target's source stays in its crate), with the workspace's lock file,
/// so that one build compiles every dependency once with one feature set.
fn write_combined(root: &Path, tdir: &Path, all: &[(Package, Vec<String>)]) -> Result<PathBuf> {
    let dir = tdir.join("combined");
    std::fs::create_dir_all(&dir)?;
    let mut toml = String::from(
        "# Written by `cargo xtask fuzz`: every fuzz target of the workspace in one package.\n\
         [package]\nname = \"workspace-fuzz\"\nversion = \"0.0.0\"\npublish = false\n\
         edition = \"2024\"\n\n[package.metadata]\ncargo-fuzz = true\n\n[workspace]\n\n\
         [dependencies]\nlibfuzzer-sys = \"0.4\"\n",
    );
    for (p, _) in all {
        let path = root.join("crates").join(&p.krate);
        toml.push_str(&format!(
            "{} = {{ path = {:?} }}\n",
            p.krate,
            path.display().to_string()
        ));
    }
    for (p, targets) in all {
        for t in targets {
            let src = p.dir.join("fuzz_targets").join(format!("{t}.rs"));
            toml.push_str(&format!(
                "\n[[bin]]\nname = {:?}\npath = {:?}\ntest = false\ndoc = false\nbench = false\n",
                combined_name(&p.krate, t),
                src.display().to_string()
            ));
        }
    }
    let manifest = dir.join("Cargo.toml");
    if std::fs::read_to_string(&manifest).ok().as_deref() != Some(toml.as_str()) {
        std::fs::write(&manifest, toml)?;
    }
    let lock = dir.join("Cargo.lock");
    if !lock.exists() {
        std::fs::copy(root.join("Cargo.lock"), &lock).context("copying Cargo.lock")?;
    }
    Ok(dir)
}

/// The host's target triple (cargo-fuzz builds for it, under `<target dir>/<triple>/`).
fn host_triple() -> Result<String> {
    let out = Command::new("rustc")
        .arg("-vV")
        .output()
        .context("running rustc -vV")?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(str::to_owned)
        .context("rustc -vV names no host")
}

/// `cargo fuzz <sub>` in `dir`; with `fuzz_dir`, `dir` is the fuzz package itself
/// (the combined one), else the crate whose `fuzz/` it is.
fn fuzz_cmd(fuzz: &Path, dir: &Path, sub: &str, fuzz_dir: bool) -> Command {
    let mut cmd = Command::new(fuzz);
    if fuzz.file_name().is_some_and(|n| n == "cargo-fuzz") {
        cmd.arg("fuzz");
    }
    cmd.arg(sub);
    if fuzz_dir {
        cmd.arg("--fuzz-dir").arg(dir);
    }
    // The stable compiler accepts cargo-fuzz's unstable sanitizer flags with this.
    cmd.env("RUSTC_BOOTSTRAP", "1").current_dir(dir);
    cmd.env_remove("CARGO_TARGET_DIR");
    cmd
}

/// Builds every target of one fuzz package; returns the seconds it took.
fn build(
    fuzz: &Path,
    dir: &Path,
    fuzz_dir: bool,
    tdir: &Path,
    opt_level: Option<u8>,
    what: &str,
) -> Result<f64> {
    let step = format!("build {what}");
    eprintln!("==> {step}");
    let t = Instant::now();
    let mut build = fuzz_cmd(fuzz, dir, "build", fuzz_dir);
    build.arg("--target-dir").arg(tdir);
    if let Some(level) = opt_level {
        build.env("CARGO_PROFILE_RELEASE_OPT_LEVEL", level.to_string());
    }
    let status = build.status().with_context(|| step.clone())?;
    let secs = t.elapsed().as_secs_f64();
    eprintln!("<== {step}: {secs:.1}s");
    if !status.success() {
        bail!("{step} failed ({status})");
    }
    Ok(secs)
}

/// Runs one built target for `o.seconds`: seeds from the checkout, findings to a scratch
/// corpus under the target dir, a crashing input to `crates/<crate>/fuzz/artifacts/`.
fn run_target(
    bin: &str,
    p: &Package,
    target: &str,
    tdir: &Path,
    o: &Options,
    figures: &mut Vec<(String, f64, String)>,
) -> Result<()> {
    let seconds = o.seconds;
    let scratch = tdir.join("corpus").join(&p.krate).join(target);
    std::fs::create_dir_all(&scratch)?;
    let seeds = p.dir.join("corpus").join(target);
    std::fs::create_dir_all(&seeds)?;
    let artifacts = p.dir.join("artifacts").join(target);
    std::fs::create_dir_all(&artifacts)?;
    let name = format!("{}/{target}", p.krate);
    eprintln!("==> fuzz {name} for {seconds}s");
    let t = Instant::now();
    // The built binary itself: `cargo fuzz run` would first have cargo check the whole
    // (combined) package again, which costs more than a short run.
    let binary = tdir.join(host_triple()?).join("release").join(bin);
    if !binary.is_file() {
        bail!("{} was not built", binary.display());
    }
    let mut cmd = Command::new(&binary);
    // What cargo-fuzz sets for AddressSanitizer.
    let mut asan = std::env::var("ASAN_OPTIONS").unwrap_or_default();
    if !asan.is_empty() {
        asan.push(':');
    }
    asan.push_str("detect_odr_violation=0");
    cmd.env("ASAN_OPTIONS", asan);
    // Findings go to the scratch corpus (the first directory); the seeds are only read.
    cmd.arg(&scratch).arg(&seeds);
    cmd.arg(format!("-max_total_time={seconds}"))
        .arg(format!("-artifact_prefix={}/", artifacts.display()))
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
    Ok(())
}
