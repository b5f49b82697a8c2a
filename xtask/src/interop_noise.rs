//! `cargo xtask interop noise`: our `noise-peer` example against `@waku/noise`
//! (npm, pinned by `xtask/interop/noise/package-lock.json`).
//!
//! 1. Known answers: `kat.mjs` runs both parties in `@waku/noise` with fixed keys; the
//!    transcript must equal the committed `crates/status-noise/tests/vectors/waku-noise-kat.json`,
//!    and our `noise-peer`, given one side's flags and the other side's messages, must
//!    write the same bytes (every handshake and transport message, keys, hashes).
//! 2. Live: for all five patterns, ours as initiator and as responder against the js
//!    peer `noise-peer.mjs`, fresh ephemeral keys, handshake then transport both ways.

use anyhow::{Context, Result, bail};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long one live scenario may take.
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(60);
/// The committed known-answer file.
const KAT_PATH: &str = "crates/status-noise/tests/vectors/waku-noise-kat.json";

fn js_dir(root: &Path) -> PathBuf {
    root.join("xtask/interop/noise")
}

/// Installs the pinned npm packages unless they are already there.
fn npm_ci(root: &Path) -> Result<()> {
    let dir = js_dir(root);
    let installed = dir.join("node_modules/@waku/noise/package.json");
    let lock = std::fs::read_to_string(dir.join("package-lock.json"))
        .context("reading xtask/interop/noise/package-lock.json")?;
    let marker = dir.join("node_modules/.status-lock");
    if installed.exists() && std::fs::read_to_string(&marker).ok().as_deref() == Some(&lock) {
        return Ok(());
    }
    eprintln!("==> npm ci (xtask/interop/noise)");
    let status = Command::new("npm")
        .args(["ci", "--ignore-scripts", "--no-audit", "--no-fund"])
        .current_dir(&dir)
        .status()
        .context("running npm (Node.js and npm are needed for the Noise interop)")?;
    if !status.success() {
        bail!("npm ci failed ({status})");
    }
    std::fs::write(&marker, lock)?;
    Ok(())
}

/// Builds the `noise-peer` example and returns its path.
fn build_noise_peer(root: &Path) -> Result<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "build",
            "--quiet",
            "--locked",
            "-p",
            "status-noise",
            "--example",
            "noise-peer",
            "--message-format=json",
        ])
        .current_dir(root)
        .stderr(Stdio::inherit())
        .output()
        .context("building the noise-peer example")?;
    if !out.status.success() {
        bail!("building noise-peer failed");
    }
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if v["reason"] == "compiler-artifact"
            && v["target"]["name"] == "noise-peer"
            && let Some(exe) = v["executable"].as_str()
        {
            return Ok(PathBuf::from(exe));
        }
    }
    bail!("cargo did not report the noise-peer executable")
}

/// A running peer: its stdin, and its stdout lines arriving on a channel.
struct Proc {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Vec<String>,
}

fn spawn(
    name: &str,
    mut cmd: Command,
    side: usize,
    tx: &mpsc::Sender<(usize, Option<String>)>,
) -> Result<Proc> {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {name}"))?;
    let stdout = child.stdout.take().context("child stdout")?;
    let tx = tx.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            match line {
                Ok(l) => {
                    if tx.send((side, Some(l))).is_err() {
                        return;
                    }
                }
                Err(_) => break,
            }
        }
        let _ = tx.send((side, None));
    });
    let stdin = child.stdin.take();
    Ok(Proc {
        name: name.into(),
        child,
        stdin,
        lines: Vec::new(),
    })
}

impl Proc {
    fn send(&mut self, line: &str) -> Result<()> {
        let stdin = self.stdin.as_mut().context("stdin closed")?;
        writeln!(stdin, "{line}").with_context(|| format!("writing to {}", self.name))?;
        stdin.flush()?;
        Ok(())
    }

    /// Waits for exit (bounded); kills it past the deadline.
    fn finish(&mut self, deadline: Instant) -> Result<i32> {
        self.stdin.take();
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status.code().unwrap_or(-1));
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                bail!("{} did not exit in time", self.name);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn info(&self, key: &str) -> Option<String> {
        let prefix = format!("INFO {key} ");
        self.lines
            .iter()
            .find_map(|l| l.strip_prefix(&prefix).map(str::to_string))
    }

    fn done(&self) -> Option<String> {
        self.lines
            .iter()
            .find_map(|l| l.strip_prefix("DONE ").map(str::to_string))
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn ours_cmd(exe: &Path, args: &[String]) -> Command {
    let mut c = Command::new(exe);
    c.args(args);
    c
}

fn js_cmd(root: &Path, args: &[String]) -> Command {
    let mut c = Command::new("node");
    c.arg("noise-peer.mjs").args(args).current_dir(js_dir(root));
    c
}

fn str_args(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Removes `flag VALUE` pairs.
fn without(args: &[String], flags: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if flags.contains(&a.as_str()) {
            it.next();
        } else {
            out.push(a.clone());
        }
    }
    out
}

/// Replays one side of a known-answer vector through our noise-peer.
fn kat_side(exe: &Path, v: &Value, role: &str) -> Result<()> {
    let other = if role == "initiator" {
        "responder"
    } else {
        "initiator"
    };
    let args = str_args(&v[role]);
    let expected: Vec<String> = v[format!("{role}_lines")]
        .as_array()
        .context("lines")?
        .iter()
        .filter_map(|l| l.as_str().map(str::to_string))
        .collect();
    // Input: the other side's handshake messages (in order), then the transport script.
    let mut input = Vec::new();
    let hs = v["handshake_messages"].as_array().context("messages")?;
    for (i, m) in hs.iter().enumerate() {
        let from_initiator = i % 2 == 0;
        if (from_initiator && other == "initiator") || (!from_initiator && other == "responder") {
            input.push(format!("MSG {}", m.as_str().unwrap_or_default()));
        }
    }
    for t in v["transport"].as_array().context("transport")? {
        let from = t["from"].as_str().unwrap_or_default();
        if from == role {
            input.push(format!(
                "SENDHEX {}",
                t["plaintext"].as_str().unwrap_or_default()
            ));
        } else {
            input.push(format!("MSG {}", t["message"].as_str().unwrap_or_default()));
        }
    }
    input.push("QUIT".into());
    let mut child = Command::new(exe)
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("starting noise-peer")?;
    {
        let mut stdin = child.stdin.take().context("stdin")?;
        stdin.write_all((input.join("\n") + "\n").as_bytes())?;
    }
    let out = child.wait_with_output()?;
    let got: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    if out.status.code() != Some(0) {
        bail!(
            "noise-peer exited with {:?}; output: {got:?}",
            out.status.code()
        );
    }
    let msgs = |ls: &[String]| -> Vec<String> {
        ls.iter()
            .filter(|l| l.starts_with("MSG "))
            .cloned()
            .collect()
    };
    let (we, js) = (msgs(&got), msgs(&expected));
    if we != js {
        let at = we
            .iter()
            .zip(&js)
            .position(|(a, b)| a != b)
            .unwrap_or(we.len().min(js.len()));
        bail!(
            "message {at} differs:\n  ours {}\n  js   {}",
            we.get(at).map(String::as_str).unwrap_or("(none)"),
            js.get(at).map(String::as_str).unwrap_or("(none)")
        );
    }
    let (mut a, mut b) = (got.clone(), expected.clone());
    a.sort();
    b.sort();
    if a != b {
        let only_ours: Vec<_> = a.iter().filter(|l| !b.contains(l)).collect();
        let only_js: Vec<_> = b.iter().filter(|l| !a.contains(l)).collect();
        bail!("output lines differ: only ours {only_ours:?}, only js {only_js:?}");
    }
    Ok(())
}

fn known_answers(root: &Path, exe: &Path, results: &mut Vec<(String, Result<()>)>) -> Result<()> {
    let out = Command::new("node")
        .arg("kat.mjs")
        .current_dir(js_dir(root))
        .stderr(Stdio::null())
        .output()
        .context("running kat.mjs")?;
    if !out.status.success() {
        bail!("kat.mjs failed ({})", out.status);
    }
    let fresh: Value = serde_json::from_slice(&out.stdout).context("kat.mjs output")?;
    let committed_path = root.join(KAT_PATH);
    let committed: Option<Value> = std::fs::read(&committed_path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    results.push((
        "kat: js transcript equals committed vectors".into(),
        if committed.as_ref() == Some(&fresh) {
            Ok(())
        } else if std::env::var_os("NOISE_KAT_WRITE").is_some() {
            std::fs::write(&committed_path, &out.stdout)?;
            eprintln!("    wrote {KAT_PATH}");
            Ok(())
        } else {
            Err(anyhow::anyhow!(
                "{KAT_PATH} differs from what @waku/noise produces now \
                 (NOISE_KAT_WRITE=1 cargo xtask interop noise rewrites it)"
            ))
        },
    ));
    for v in fresh["vectors"].as_array().context("vectors")? {
        let name = v["name"].as_str().unwrap_or("?");
        for role in ["initiator", "responder"] {
            results.push((
                format!("kat: {name} ours as {role}"),
                kat_side(exe, v, role),
            ));
        }
    }
    Ok(())
}

/// One live handshake plus transport messages both ways, ours playing `ours_role`.
fn live(root: &Path, exe: &Path, v: &Value, ours_role: &str) -> Result<()> {
    let pattern = v["pattern"].as_str().unwrap_or_default();
    let strip = ["--ephemeral-key", "--echo", "--qr"];
    let mut i_args = without(&str_args(&v["initiator"]), &strip);
    let mut r_args = without(&str_args(&v["responder"]), &strip);
    i_args.extend([
        "--echo".into(),
        "on".into(),
        "--timeout".into(),
        "60".into(),
    ]);
    r_args.extend([
        "--echo".into(),
        "on".into(),
        "--timeout".into(),
        "60".into(),
    ]);
    let deadline = Instant::now() + SCENARIO_TIMEOUT;
    let (tx, rx) = mpsc::channel();
    // Side 0 = responder, side 1 = initiator; the responder starts first (WakuPairing's
    // initiator needs its QR string).
    let cmd = |args: &[String], ours: bool| {
        if ours {
            ours_cmd(exe, args)
        } else {
            js_cmd(root, args)
        }
    };
    let ours_is_responder = ours_role == "responder";
    let mut procs: Vec<Proc> = Vec::new();
    procs.push(spawn(
        if ours_is_responder {
            "ours (responder)"
        } else {
            "js (responder)"
        },
        cmd(&r_args, ours_is_responder),
        0,
        &tx,
    )?);
    let recv = |procs: &mut Vec<Proc>| -> Result<(usize, Option<String>)> {
        let left = deadline.saturating_duration_since(Instant::now());
        let (side, line) = rx
            .recv_timeout(left)
            .context("timed out waiting for output")?;
        if let Some(l) = &line {
            procs[side].lines.push(l.clone());
        }
        Ok((side, line))
    };
    if pattern == "WakuPairing" {
        while procs[0].info("qr").is_none() {
            if recv(&mut procs)?.1.is_none() {
                bail!("responder exited before showing its QR code");
            }
        }
        i_args.extend(["--qr".into(), procs[0].info("qr").unwrap_or_default()]);
    }
    procs.push(spawn(
        if ours_is_responder {
            "js (initiator)"
        } else {
            "ours (initiator)"
        },
        cmd(&i_args, !ours_is_responder),
        1,
        &tx,
    )?);
    // Relay until both are done, then exchange transport messages.
    let mut sent = false;
    let mut plains = [0usize; 2];
    // Each side sends 2 messages; each side then sees the other's 2 and 2 echoes.
    let want = 4;
    // Any MSG a side wrote before the other existed is already in its lines: replay it.
    for l in procs[0].lines.clone() {
        if let Some(m) = l.strip_prefix("MSG ") {
            procs[1].send(&format!("MSG {m}"))?;
        }
    }
    loop {
        let (side, line) = recv(&mut procs)?;
        let Some(line) = line else {
            bail!(
                "{} exited early; its output: {:?}",
                procs[side].name,
                procs[side].lines
            );
        };
        if line.starts_with("ERR ") {
            bail!("{}: {line}", procs[side].name);
        }
        if let Some(m) = line.strip_prefix("MSG ") {
            procs[1 - side].send(&format!("MSG {m}"))?;
        }
        if line.starts_with("PLAIN") {
            plains[side] += 1;
        }
        if !sent && procs[0].done().is_some() && procs[1].done().is_some() {
            sent = true;
            check_keys(&procs[1], &procs[0])?;
            for (s, p) in procs.iter_mut().enumerate() {
                p.send(&format!("SEND hello from side {s}: ünïcode"))?;
                p.send("SENDHEX 00ff10fe")?;
            }
        }
        if plains == [want, want] {
            break;
        }
    }
    let expected = |from: usize| {
        [
            format!("PLAIN hello from side {from}: ünïcode"),
            "PLAINHEX 00ff10fe".to_string(),
        ]
    };
    for (side, p) in procs.iter().enumerate() {
        for l in expected(1 - side) {
            if !p.lines.contains(&l) {
                bail!("{} did not print {l:?}", p.name);
            }
        }
        let echo = format!("PLAIN echo:hello from side {side}: ünïcode");
        if !p.lines.contains(&echo) {
            bail!("{} did not get its echo", p.name);
        }
    }
    for p in procs.iter_mut() {
        p.send("QUIT")?;
        let code = p.finish(deadline)?;
        if code != 0 {
            bail!("{} exited with {code}", p.name);
        }
    }
    Ok(())
}

/// Both sides agree: same handshake hash, crossed keys and nametag secrets, each knows the
/// other's static key, both show the same auth code (pairing).
fn check_keys(initiator: &Proc, responder: &Proc) -> Result<()> {
    let get = |p: &Proc, k: &str| {
        p.info(k)
            .with_context(|| format!("{} did not print {k}", p.name))
    };
    if initiator.done() != responder.done() {
        bail!(
            "handshake hashes differ: {:?} vs {:?}",
            initiator.done(),
            responder.done()
        );
    }
    let pairs = [
        ("cs-outbound-key", "cs-inbound-key"),
        ("cs-inbound-key", "cs-outbound-key"),
        ("nametag-secret-outbound", "nametag-secret-inbound"),
        ("nametag-secret-inbound", "nametag-secret-outbound"),
        ("remote-static", "static-public"),
        ("static-public", "remote-static"),
    ];
    for (a, b) in pairs {
        if get(initiator, a)? != get(responder, b)? {
            bail!("initiator {a} differs from responder {b}");
        }
    }
    if initiator.info("authcode") != responder.info("authcode") {
        bail!("auth codes differ");
    }
    Ok(())
}

/// Runs the whole Noise interop suite and prints a pass/fail table.
pub fn run(root: &Path) -> Result<()> {
    let start = Instant::now();
    npm_ci(root)?;
    let exe = build_noise_peer(root)?;
    let mut results: Vec<(String, Result<()>)> = Vec::new();
    known_answers(root, &exe, &mut results)?;
    let kat: Value = serde_json::from_slice(&std::fs::read(root.join(KAT_PATH))?)?;
    let mut seen = BTreeMap::new();
    for v in kat["vectors"].as_array().context("vectors")? {
        let pattern = v["pattern"].as_str().unwrap_or_default().to_string();
        if seen.insert(pattern.clone(), ()).is_some() {
            continue; // one live run per pattern
        }
        for role in ["initiator", "responder"] {
            results.push((
                format!("live: {pattern} ours as {role} vs @waku/noise"),
                live(root, &exe, v, role),
            ));
        }
    }
    let failed = results.iter().filter(|(_, r)| r.is_err()).count();
    for (name, r) in &results {
        match r {
            Ok(()) => eprintln!("  pass  {name}"),
            Err(e) => eprintln!("  FAIL  {name}: {e:#}"),
        }
    }
    eprintln!(
        "interop noise: {} passed, {failed} failed ({:.1}s)",
        results.len() - failed,
        start.elapsed().as_secs_f64()
    );
    if failed > 0 {
        bail!("{failed} Noise interop checks failed");
    }
    Ok(())
}
