//! `cargo xtask interop relay`: `waku-relay` (its `relay-node` example) against
//! a stock js-waku relay node (`@waku/sdk` createRelayNode, noise + mplex) in
//! Node.js, both on loopback.
//!
//! It installs the pinned npm packages of `xtask/interop/relay/` with `npm ci`,
//! then proves, in both dial directions, that messages cross with identical
//! message hashes on both sides and that metadata (66) is exchanged, and that a
//! message js sends with an empty payload is rejected by the Rust node and by
//! another js node.

use anyhow::{Context, Result, bail};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const TOPIC: &str = "/waku/2/rs/16/32";
const WAIT: Duration = Duration::from_secs(45);

/// A child process speaking a line protocol; stdout and stderr lines are
/// collected in one channel.
struct Peer {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<(bool, String)>,
    seen: Vec<(bool, String)>,
}

impl Peer {
    fn spawn(name: &str, mut cmd: Command) -> Result<Self> {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().with_context(|| format!("starting {name}"))?;
        let (tx, rx) = mpsc::channel();
        let stdout = child.stdout.take().context("stdout")?;
        let stderr = child.stderr.take().context("stderr")?;
        let tx2 = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send((true, line)).is_err() {
                    break;
                }
            }
        });
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx2.send((false, line)).is_err() {
                    break;
                }
            }
        });
        Ok(Self {
            name: name.into(),
            stdin: child.stdin.take(),
            child,
            lines: rx,
            seen: Vec::new(),
        })
    }

    fn send(&mut self, line: &str) -> Result<()> {
        eprintln!("    {} <- {line}", self.name);
        let stdin = self.stdin.as_mut().context("stdin closed")?;
        writeln!(stdin, "{line}")?;
        stdin.flush()?;
        Ok(())
    }

    /// Waits for a line (stdout if `stdout`, else stderr) that `f` accepts.
    /// Lines seen earlier are searched first.
    fn expect<T>(
        &mut self,
        what: &str,
        stdout: bool,
        mut f: impl FnMut(&str) -> Option<T>,
    ) -> Result<T> {
        for (o, l) in &self.seen {
            if *o == stdout
                && let Some(t) = f(l)
            {
                return Ok(t);
            }
        }
        let end = Instant::now() + WAIT;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            let (o, line) = match self.lines.recv_timeout(left) {
                Ok(x) => x,
                Err(_) => {
                    let tail: Vec<_> = self.seen.iter().rev().take(15).collect();
                    bail!(
                        "{}: timed out waiting for {what}; last lines: {tail:#?}",
                        self.name
                    )
                }
            };
            if o {
                eprintln!("    {} -> {line}", self.name);
            }
            let hit = if o == stdout { f(&line) } else { None };
            self.seen.push((o, line));
            if let Some(t) = hit {
                return Ok(t);
            }
        }
    }

    /// Collects what arrives within `d` (for asserting that nothing came).
    fn drain_for(&mut self, d: Duration) {
        let end = Instant::now() + d;
        while let Ok((o, line)) = self
            .lines
            .recv_timeout(end.saturating_duration_since(Instant::now()))
        {
            self.seen.push((o, line));
        }
    }

    fn listen_addr(&mut self) -> Result<String> {
        self.expect("LISTEN", true, |l| {
            l.strip_prefix("LISTEN ").map(str::to_owned)
        })
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.send("QUIT");
        self.stdin = None;
        let end = Instant::now() + Duration::from_secs(5);
        while Instant::now() < end {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn peer_id(addr: &str) -> Result<String> {
    addr.rsplit("/p2p/")
        .next()
        .map(str::to_owned)
        .context("address without /p2p/")
}

fn npm_install(dir: &Path) -> Result<()> {
    let lock = std::fs::read(dir.join("package-lock.json")).context("package-lock.json")?;
    let stamp = dir.join("node_modules/.xtask-installed-lock");
    if std::fs::read(&stamp).ok().as_deref() == Some(lock.as_slice()) {
        eprintln!("    npm packages already installed from this lockfile");
        return Ok(());
    }
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(dir)
        .status()
        .context("running npm (Node.js 20 and npm are required)")?;
    if !status.success() {
        bail!("npm ci failed ({status})");
    }
    std::fs::write(&stamp, &lock)?;
    Ok(())
}

fn build_relay_node(root: &Path) -> Result<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(root)
        .args([
            "build",
            "--locked",
            "-p",
            "waku-relay",
            "--example",
            "relay-node",
            "--message-format=json-render-diagnostics",
        ])
        .stderr(Stdio::inherit())
        .output()
        .context("building the relay-node example")?;
    if !out.status.success() {
        bail!("building relay-node failed");
    }
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if v["reason"] == "compiler-artifact"
            && v["target"]["name"] == "relay-node"
            && let Some(exe) = v["executable"].as_str()
        {
            return Ok(PathBuf::from(exe));
        }
    }
    bail!("cargo did not report the relay-node executable")
}

fn rust_node(exe: &Path, name: &str, dial: Option<&str>) -> Result<Peer> {
    let mut cmd = Command::new(exe);
    cmd.args(["--pubsub-topic", TOPIC, "--max-seconds", "180"]);
    if let Some(d) = dial {
        cmd.args(["--dial", d]);
    }
    cmd.env("RUST_LOG", "warn");
    Peer::spawn(name, cmd)
}

fn js_node(dir: &Path, name: &str, dial: Option<&str>) -> Result<Peer> {
    let mut cmd = Command::new("node");
    cmd.current_dir(dir).args([
        "peer.mjs",
        "--cluster",
        "16",
        "--shard",
        "32",
        "--max-seconds",
        "180",
    ]);
    if let Some(d) = dial {
        cmd.args(["--dial", d]);
    }
    Peer::spawn(name, cmd)
}

fn recv_json(line: &str) -> Option<serde_json::Value> {
    serde_json::from_str(line.strip_prefix("RECV ")?).ok()
}

/// Rust and js exchange one message each way, hashes compared on both sides.
fn exchange(rust: &mut Peer, js: &mut Peer, tag: &str) -> Result<()> {
    let rust_id = peer_id(&rust.listen_addr()?)?;
    let js_id = peer_id(&js.listen_addr()?)?;
    let sub = |id: &str| format!("SUBSCRIBE {id} {TOPIC}");
    rust.expect("js SUBSCRIBE", true, |l| (l == sub(&js_id)).then_some(()))?;
    js.expect("rust SUBSCRIBE", true, |l| {
        (l == sub(&rust_id)).then_some(())
    })?;

    // Rust -> js.
    let ct = "/waku-interop/1/chat/proto";
    let payload = hex::encode(format!("from rust ({tag})"));
    rust.send(&format!("PUB {ct} {payload}"))?;
    let hash = rust.expect("SENT", true, |l| l.strip_prefix("SENT ").map(str::to_owned))?;
    let got = js.expect("RECV of the Rust message", true, |l| {
        recv_json(l).filter(|v| v["payload_hex"] == payload.as_str())
    })?;
    if got["hash_hex"] != hash.as_str() || got["contentTopic"] != ct || got["pubsubTopic"] != TOPIC
    {
        bail!("js received {got} but Rust sent hash {hash}");
    }
    eprintln!("    ok: Rust -> js, hash {hash} identical on both sides");

    // js -> Rust.
    let payload = hex::encode(format!("from js ({tag})"));
    js.send(&format!("PUB {ct} {payload}"))?;
    let hash = js.expect("SENT", true, |l| l.strip_prefix("SENT ").map(str::to_owned))?;
    let got = rust.expect("RECV of the js message", true, |l| {
        recv_json(l).filter(|v| v["payload_hex"] == payload.as_str())
    })?;
    if got["hash_hex"] != hash.as_str() || got["contentTopic"] != ct || got["pubsubTopic"] != TOPIC
    {
        bail!("Rust received {got} but js sent hash {hash}");
    }
    if got["version"] != 0 || got["ephemeral"] != false || got["timestamp"].as_str().is_none() {
        bail!("unexpected fields in {got}");
    }
    eprintln!("    ok: js -> Rust, hash {hash} identical on both sides");

    // Metadata: Rust asked js on connect; js asks Rust now.
    let want = format!("METADATA {js_id} cluster=16 shards=32");
    rust.expect("Rust's metadata of js", false, |l| {
        (l == want).then_some(())
    })?;
    js.send(&format!("METADATA_QUERY {rust_id}"))?;
    let md = js.expect("js's metadata of Rust", true, |l| {
        l.strip_prefix(&format!("METADATA {rust_id} "))
            .and_then(|j| serde_json::from_str::<serde_json::Value>(j).ok())
    })?;
    if md != serde_json::json!({"clusterId": 16, "shards": [32]}) {
        bail!("js read Rust's metadata as {md}");
    }
    eprintln!("    ok: metadata both ways (cluster 16, shards [32])");
    Ok(())
}

/// Runs the interop scenarios.
pub fn run(root: &Path) -> Result<()> {
    let start = Instant::now();
    let dir = root.join("xtask/interop/relay");
    eprintln!("==> interop relay: npm ci in {}", dir.display());
    npm_install(&dir)?;
    eprintln!("==> interop relay: building relay-node");
    let exe = build_relay_node(root)?;

    eprintln!("==> interop relay: Rust dials js");
    let mut js1 = js_node(&dir, "js1", None)?;
    let js1_addr = js1.listen_addr()?;
    let mut rust1 = rust_node(&exe, "rust1", Some(&js1_addr))?;
    exchange(&mut rust1, &mut js1, "rust dials js")?;

    eprintln!("==> interop relay: js dials Rust");
    let mut rust2 = rust_node(&exe, "rust2", None)?;
    let rust2_addr = rust2.listen_addr()?;
    let mut js2 = js_node(&dir, "js2", Some(&rust2_addr))?;
    exchange(&mut rust2, &mut js2, "js dials rust")?;

    eprintln!("==> interop relay: empty payload from js is rejected by Rust and by js");
    let js1_id = peer_id(&js1_addr)?;
    let js2_id = peer_id(&js2.listen_addr()?)?;
    js2.send(&format!("DIAL {js1_addr}"))?;
    js1.expect("js2 SUBSCRIBE", true, |l| {
        (l == format!("SUBSCRIBE {js2_id} {TOPIC}")).then_some(())
    })?;
    // js2 hearing js1's subscription proves js1's outbound stream to js2 is up.
    js2.expect("js1 SUBSCRIBE", true, |l| {
        (l == format!("SUBSCRIBE {js1_id} {TOPIC}")).then_some(())
    })?;
    // A WakuMessage with only a content topic (field 2): the payload is empty.
    let ct = b"/waku-interop/1/empty/proto";
    let mut raw = vec![0x12, u8::try_from(ct.len())?];
    raw.extend_from_slice(ct);
    js1.send(&format!("PUBRAW {}", hex::encode(&raw)))?;
    rust1.expect("Rust REJECT", false, |l| {
        (l == format!("REJECT {js1_id} EmptyPayload")).then_some(())
    })?;
    js2.expect("js REJECT", true, |l| {
        (l == format!("REJECT {js1_id} {TOPIC}")).then_some(())
    })?;
    rust1.drain_for(Duration::from_secs(1));
    js2.drain_for(Duration::from_millis(200));
    for p in [&rust1, &js2] {
        if p.seen
            .iter()
            .any(|(o, l)| *o && recv_json(l).is_some_and(|v| v["payload_hex"] == ""))
        {
            bail!("{} delivered the empty-payload message", p.name);
        }
    }
    eprintln!("    ok: rejected by rust1 (EmptyPayload) and by js2 (stock validator)");

    eprintln!(
        "<== interop relay: all checks passed in {:.1}s",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
