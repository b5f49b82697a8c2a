//! `cargo xtask soak [--nodes N] [--seconds S] [--kill-every K] [--ci]`: real nodes of
//! the facade (`status::node`, each with its own encrypted account database) on loopback,
//! one process each, chatting in pairs while random nodes are killed (SIGKILL) and
//! restarted from their databases.
//!
//! The coordinator (this command) starts every node as a child process of the xtask
//! binary (`xtask soak-node`, a line protocol on stdin/stdout), makes pairs (node 2k and
//! 2k+1) exchange contact codes, request and accept, then has both sides of every pair
//! send a text every few seconds. Node 0 serves store v3 and every other node asks it for
//! what it missed; node 0 is never killed. At the end, sending stops, the network drains,
//! and each node's stored history is compared with what was sent.
//!
//! Reported: delivery ratio (texts in the recipient's history / texts sent), duplicates,
//! p50/p99 end-to-end latency (send command to the recipient's event, both on this
//! machine's clock), CPU seconds and peak resident memory per node process. The relay's
//! bandwidth amplification needs byte counters the facade does not expose yet; it is
//! reported as not measured.
//!
//! Group chats are not part of the workload yet (the facade has no group API besides the
//! raw `Command::CreateGroup`).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command as Process, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use rand::rngs::ChaCha20Rng;
use rand::{RngExt, SeedableRng};

const PASSPHRASE: &str = "soak";

// ---------------------------------------------------------------- node process

/// `xtask soak-node <dir> [--serve-store] [--bootstrap ADDR]... [--store ADDR]`: one node.
///
/// Prints `READY <key hex> <contact uri> <dial addr>`, then `RECV <from hex> <text>` per
/// message, `SENT <text>` once a text is accepted (stored and handed to the network), `CONTACT <key hex>` per mutual contact, `H <peer hex> <from hex> <text>` and
/// `HEND <peer hex>` for a history request. Reads `ADD <uri>`, `REQUEST <hex>`,
/// `SEND <hex> <text>`, `HISTORY <hex>`, `QUIT`.
pub fn node_main(args: &[String]) -> Result<()> {
    let dir = PathBuf::from(args.first().context("soak-node needs a directory")?);
    let mut serve_store = false;
    let mut bootstrap = Vec::new();
    let mut store = Vec::new();
    let mut it = args.iter().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--serve-store" => serve_store = true,
            "--bootstrap" => bootstrap.push(it.next().context("addr")?.parse()?),
            "--store" => store.push(it.next().context("addr")?.parse()?),
            other => bail!("unknown soak-node option {other:?}"),
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    rt.block_on(node_loop(dir, serve_store, bootstrap, store))
}

async fn node_loop(
    dir: PathBuf,
    serve_store: bool,
    bootstrap: Vec<status::node::Multiaddr>,
    store_peers: Vec<status::node::Multiaddr>,
) -> Result<()> {
    use status::account::{Account, CreateOptions};
    use status::chat::ids::{key_from_hex, key_to_hex};
    use status::node::{self, NodeConfig, NodeEvent};
    use status::store::{KdfParams, Passphrase};
    use tokio::io::AsyncBufReadExt;

    let pass = Passphrase::from(PASSPHRASE);
    let account = if status::account::exists(&dir) {
        Account::open(&dir, &pass).map_err(|e| anyhow!("open: {e}"))?
    } else {
        let options = CreateOptions::default().with_kdf(KdfParams::INSECURE_FOR_TESTS_ONLY);
        Account::create(&dir, &pass, options, &mut rand::rng())
            .map_err(|e| anyhow!("create: {e}"))?
            .0
    };
    let config = NodeConfig {
        listen: vec!["/ip4/127.0.0.1/tcp/0".parse()?],
        bootstrap,
        store_peers,
        serve_store,
        ..NodeConfig::default()
    };
    let (handle, mut events) = node::start(account, config)
        .await
        .map_err(|e| anyhow!("start: {e}"))?;
    let code = handle
        .contact_code()
        .await
        .map_err(|e| anyhow!("contact code: {e}"))?;
    let addr = handle
        .dial_addr()
        .map(ToString::to_string)
        .unwrap_or_default();
    let me = key_to_hex(handle.public_key());
    let out = |line: String| {
        let mut o = std::io::stdout().lock();
        let _ = writeln!(o, "{line}");
        let _ = o.flush();
    };
    out(format!("READY {me} {} {addr}", code.to_uri()));
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    loop {
        tokio::select! {
            e = events.recv() => {
                let Some(e) = e else { break };
                match e {
                    NodeEvent::ContactRequest { from, .. } => {
                        let _ = handle.accept(from).await;
                    }
                    NodeEvent::ContactAdded(k) => out(format!("CONTACT {}", key_to_hex(&k))),
                    NodeEvent::Message { from, text, .. } => {
                        out(format!("RECV {} {text}", key_to_hex(&from)));
                    }
                    _ => {}
                }
            }
            line = lines.next_line() => {
                let Ok(Some(line)) = line else { break };
                let mut parts = line.splitn(3, ' ');
                let (cmd, a, b) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""), parts.next().unwrap_or(""));
                let result = match cmd {
                    "ADD" => match a.parse::<status::identity::ContactCode>() {
                        Ok(c) => handle.add_contact(&c).await.map_err(|e| e.to_string()),
                        Err(e) => Err(e.to_string()),
                    },
                    "REQUEST" => match key_from_hex(a) {
                        Ok(k) => handle.send_contact_request(k, "soak").await.map_err(|e| e.to_string()),
                        Err(e) => Err(e.to_string()),
                    },
                    "SEND" => match key_from_hex(a) {
                        Ok(k) => match handle.send_text(k, b).await {
                            Ok(_) => {
                                out(format!("SENT {b}"));
                                Ok(())
                            }
                            Err(e) => Err(e.to_string()),
                        },
                        Err(e) => Err(e.to_string()),
                    },
                    "HISTORY" => match key_from_hex(a) {
                        Ok(k) => match handle.history(status::chat::ChatId::OneToOne(k)).await {
                            Ok(h) => {
                                for (from, text) in h {
                                    out(format!("H {a} {} {text}", key_to_hex(&from)));
                                }
                                out(format!("HEND {a}"));
                                Ok(())
                            }
                            Err(e) => Err(e.to_string()),
                        },
                        Err(e) => Err(e.to_string()),
                    },
                    "QUIT" => break,
                    _ => Err(format!("unknown command {cmd}")),
                };
                if let Err(e) = result {
                    out(format!("ERR {cmd} {e}"));
                }
            }
        }
    }
    handle.shutdown().await;
    Ok(())
}

// ---------------------------------------------------------------- coordinator

/// Settings of a soak run.
#[derive(Debug, Clone)]
pub struct SoakConfig {
    /// Node processes (even; node 0 serves store and is never killed).
    pub nodes: usize,
    /// Seconds of traffic.
    pub seconds: u64,
    /// A random node is killed about every this many seconds (0: never).
    pub kill_every: u64,
    /// Seconds between two texts of one side of a pair.
    pub send_every: u64,
    /// Seconds to wait for the network to drain at the end.
    pub drain_seconds: u64,
    /// Seed of the schedule.
    pub seed: u64,
}

struct Proc {
    child: Option<Child>,
    stdin: Option<ChildStdin>,
    key: String,
    uri: String,
    addr: String,
    dir: PathBuf,
    /// CPU seconds of earlier incarnations.
    cpu_before: f64,
    peak_rss_kib: u64,
    restarts: u32,
    down_until: Option<Instant>,
}

enum Line {
    Out(usize, u32, String),
    Closed(usize, u32),
}

struct Coord {
    exe: PathBuf,
    procs: Vec<Proc>,
    tx: mpsc::Sender<Line>,
    rx: mpsc::Receiver<Line>,
    generation: Vec<u32>,
    store_addr: Option<String>,
    /// Texts whose sender accepted them (`SENT`): text -> (from, to, when asked).
    sent: BTreeMap<String, (usize, usize, Instant)>,
    /// Texts asked for but not (yet) accepted: a sender killed before it read the
    /// command never sent them.
    asked: BTreeMap<String, (usize, usize, Instant)>,
    /// First reception latency per text, and reception counts.
    latency_ms: BTreeMap<String, f64>,
    received: BTreeMap<String, u32>,
    contacts: BTreeSet<(usize, usize)>,
    history: BTreeMap<(usize, usize), Vec<String>>,
    hist_done: BTreeSet<(usize, usize)>,
}

fn proc_cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the command name (which is in parentheses).
    let Some(rest) = stat.rsplit_once(')').map(|x| x.1) else {
        return 0.0;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the whole line (11 and 12 here).
    (ticks(11) + ticks(12)) / 100.0
}

fn proc_peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

impl Coord {
    fn spawn(&mut self, i: usize) -> Result<()> {
        let mut cmd = Process::new(&self.exe);
        cmd.arg("soak-node").arg(&self.procs[i].dir);
        if i == 0 {
            cmd.arg("--serve-store");
        } else if let Some(a) = &self.store_addr {
            cmd.arg("--store").arg(a);
            cmd.arg("--bootstrap").arg(a);
        }
        // Two more live peers, so the mesh does not hang on node 0 alone.
        let live: Vec<usize> = (1..self.procs.len())
            .filter(|&j| j != i && self.procs[j].child.is_some() && !self.procs[j].addr.is_empty())
            .collect();
        for j in live.iter().rev().take(2) {
            cmd.arg("--bootstrap").arg(&self.procs[*j].addr);
        }
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .env("RUST_LOG", "off");
        let mut child = cmd.spawn().context("starting soak-node")?;
        let stdout = child.stdout.take().context("stdout")?;
        self.generation[i] += 1;
        let generation = self.generation[i];
        let tx = self.tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(Line::Out(i, generation, line)).is_err() {
                    return;
                }
            }
            let _ = tx.send(Line::Closed(i, generation));
        });
        self.procs[i].stdin = child.stdin.take();
        self.procs[i].child = Some(child);
        self.procs[i].addr.clear();
        Ok(())
    }

    fn send(&mut self, i: usize, line: &str) {
        if let Some(s) = self.procs[i].stdin.as_mut()
            && (writeln!(s, "{line}").is_err() || s.flush().is_err())
        {
            self.procs[i].stdin = None;
        }
    }

    fn index_of(&self, key: &str) -> Option<usize> {
        self.procs.iter().position(|p| p.key == key)
    }

    fn handle(&mut self, line: Line) {
        let (i, generation, text) = match line {
            Line::Out(i, g, t) => (i, g, t),
            Line::Closed(i, g) => {
                // The process ended (killed, or crashed on its own).
                if g == self.generation[i] {
                    self.procs[i].addr.clear();
                }
                return;
            }
        };
        if generation != self.generation[i] {
            return;
        }
        let mut parts = text.splitn(4, ' ');
        match parts.next() {
            Some("READY") => {
                let key = parts.next().unwrap_or_default().to_owned();
                let uri = parts.next().unwrap_or_default().to_owned();
                let addr = parts.next().unwrap_or_default().to_owned();
                let p = &mut self.procs[i];
                p.key = key;
                p.uri = uri;
                p.addr = addr;
            }
            Some("CONTACT") => {
                if let Some(j) = parts.next().and_then(|k| self.index_of(k)) {
                    self.contacts.insert((i, j));
                }
            }
            Some("SENT") => {
                let text: String = parts.collect::<Vec<_>>().join(" ");
                if let Some(v) = self.asked.remove(&text) {
                    self.sent.insert(text, v);
                }
            }
            Some("RECV") => {
                let _from = parts.next();
                let rest: String = parts.collect::<Vec<_>>().join(" ");
                if let Some((_, _, at)) = self.sent.get(&rest).or_else(|| self.asked.get(&rest)) {
                    let ms = at.elapsed().as_secs_f64() * 1000.0;
                    self.latency_ms.entry(rest.clone()).or_insert(ms);
                }
                *self.received.entry(rest).or_default() += 1;
            }
            Some("H") => {
                let peer = parts.next().and_then(|k| self.index_of(k));
                let _from = parts.next();
                let text = parts.next().unwrap_or_default().to_owned();
                if let Some(j) = peer {
                    self.history.entry((i, j)).or_default().push(text);
                }
            }
            Some("HEND") => {
                if let Some(j) = parts.next().and_then(|k| self.index_of(k)) {
                    self.hist_done.insert((i, j));
                }
            }
            _ => {}
        }
    }

    fn pump(&mut self, until: Instant) {
        loop {
            let left = until.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(l) => self.handle(l),
                Err(_) => return,
            }
        }
    }

    fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.procs[i].child.take() {
            let pid = c.id();
            self.procs[i].cpu_before += proc_cpu_seconds(pid);
            self.procs[i].peak_rss_kib = self.procs[i].peak_rss_kib.max(proc_peak_rss_kib(pid));
            let _ = c.kill();
            let _ = c.wait();
        }
        self.procs[i].stdin = None;
        self.procs[i].addr.clear();
    }

    fn alive(&self, i: usize) -> bool {
        self.procs[i].child.is_some() && !self.procs[i].addr.is_empty()
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let k = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[k.min(sorted.len() - 1)]
}

/// `cargo xtask soak ...`.
pub fn main(root: &Path, args: &[String]) -> Result<()> {
    let mut cfg = SoakConfig {
        nodes: 50,
        seconds: 600,
        kill_every: 20,
        send_every: 5,
        drain_seconds: 300,
        seed: 1,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = || {
            it.next()
                .with_context(|| format!("{a} needs a value"))
                .cloned()
        };
        match a.as_str() {
            "--nodes" => cfg.nodes = val()?.parse()?,
            "--seconds" => cfg.seconds = val()?.parse()?,
            "--kill-every" => cfg.kill_every = val()?.parse()?,
            "--send-every" => cfg.send_every = val()?.parse()?,
            "--drain" => cfg.drain_seconds = val()?.parse()?,
            "--seed" => cfg.seed = val()?.parse()?,
            "--ci" => {
                cfg.nodes = 10;
                cfg.seconds = 60;
                cfg.kill_every = 15;
                cfg.drain_seconds = 120;
            }
            other => bail!("unknown soak option {other:?}"),
        }
    }
    if cfg.nodes < 2 || !cfg.nodes.is_multiple_of(2) {
        bail!("--nodes must be even and at least 2");
    }
    run(root, &cfg)
}

/// The path of this program, to start the nodes with. `cargo xtask ci` rebuilds xtask in
/// its test step, which replaces the file of the running binary: the kernel then reports
/// the old path with a " (deleted)" suffix, and the new file at the old path is the one
/// to start.
fn own_exe() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    if exe.exists() {
        return Ok(exe);
    }
    let text = exe.to_string_lossy();
    if let Some(path) = text.strip_suffix(" (deleted)").map(PathBuf::from)
        && path.exists()
    {
        return Ok(path);
    }
    bail!(
        "cannot find this program's binary to start the nodes (was {})",
        exe.display()
    )
}

/// Runs the soak and prints the report; fails if a text is missing or duplicated.
pub fn run(root: &Path, cfg: &SoakConfig) -> Result<()> {
    let base = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
        .join("soak");
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base)?;
    let (tx, rx) = mpsc::channel();
    let mut c = Coord {
        exe: own_exe()?,
        procs: (0..cfg.nodes)
            .map(|i| Proc {
                child: None,
                stdin: None,
                key: String::new(),
                uri: String::new(),
                addr: String::new(),
                dir: base.join(format!("node{i}")),
                cpu_before: 0.0,
                peak_rss_kib: 0,
                restarts: 0,
                down_until: None,
            })
            .collect(),
        tx,
        rx,
        generation: vec![0; cfg.nodes],
        store_addr: None,
        sent: BTreeMap::new(),
        asked: BTreeMap::new(),
        latency_ms: BTreeMap::new(),
        received: BTreeMap::new(),
        contacts: BTreeSet::new(),
        history: BTreeMap::new(),
        hist_done: BTreeSet::new(),
    };
    let mut rng = ChaCha20Rng::seed_from_u64(cfg.seed);
    let t0 = Instant::now();
    eprintln!("soak: starting {} nodes", cfg.nodes);
    c.spawn(0)?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while !c.alive(0) {
        if Instant::now() > deadline {
            bail!("node 0 did not start");
        }
        c.pump(Instant::now() + Duration::from_millis(100));
    }
    c.store_addr = Some(c.procs[0].addr.clone());
    for i in 1..cfg.nodes {
        c.spawn(i)?;
        let deadline = Instant::now() + Duration::from_secs(60);
        while !c.alive(i) {
            if Instant::now() > deadline {
                bail!("node {i} did not start");
            }
            c.pump(Instant::now() + Duration::from_millis(50));
        }
    }
    eprintln!(
        "soak: {} nodes up in {:.1}s",
        cfg.nodes,
        t0.elapsed().as_secs_f64()
    );
    c.pump(Instant::now() + Duration::from_secs(3));
    let pairs: Vec<(usize, usize)> = (0..cfg.nodes / 2).map(|k| (2 * k, 2 * k + 1)).collect();
    for &(a, b) in &pairs {
        let (uri_b, key_b) = (c.procs[b].uri.clone(), c.procs[b].key.clone());
        c.send(a, &format!("ADD {uri_b}"));
        c.send(a, &format!("REQUEST {key_b}"));
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    while pairs
        .iter()
        .any(|&(a, b)| !c.contacts.contains(&(a, b)) || !c.contacts.contains(&(b, a)))
    {
        if Instant::now() > deadline {
            let missing = pairs
                .iter()
                .filter(|&&(a, b)| !c.contacts.contains(&(a, b)) || !c.contacts.contains(&(b, a)))
                .count();
            bail!("{missing} pairs did not become mutual contacts within 120 s");
        }
        c.pump(Instant::now() + Duration::from_millis(200));
    }
    eprintln!(
        "soak: {} pairs are mutual contacts after {:.1}s",
        pairs.len(),
        t0.elapsed().as_secs_f64()
    );

    // Traffic with kills.
    let start = Instant::now();
    let end = start + Duration::from_secs(cfg.seconds);
    let mut next_send = Instant::now();
    let mut next_kill = start + Duration::from_secs(cfg.kill_every.max(1));
    let mut seq = 0u64;
    let mut kills = 0u32;
    while Instant::now() < end {
        let now = Instant::now();
        if now >= next_send {
            for &(a, b) in &pairs {
                for (from, to) in [(a, b), (b, a)] {
                    if !c.alive(from) {
                        continue;
                    }
                    seq += 1;
                    let text = format!("soak {from} {to} {seq}");
                    let key = c.procs[to].key.clone();
                    c.send(from, &format!("SEND {key} {text}"));
                    c.asked.insert(text, (from, to, Instant::now()));
                }
            }
            let jitter = rng.random_range(0..1000);
            next_send = now + Duration::from_secs(cfg.send_every) + Duration::from_millis(jitter);
        }
        if cfg.kill_every > 0 && now >= next_kill {
            let i = rng.random_range(1..cfg.nodes);
            if c.alive(i) {
                c.kill(i);
                let down = rng.random_range(2..8);
                c.procs[i].down_until = Some(now + Duration::from_secs(down));
                kills += 1;
            }
            next_kill = now + Duration::from_secs(cfg.kill_every);
        }
        for i in 0..cfg.nodes {
            if c.procs[i].down_until.is_some_and(|t| now >= t) {
                c.procs[i].down_until = None;
                c.procs[i].restarts += 1;
                c.spawn(i)?;
            }
        }
        c.pump(Instant::now() + Duration::from_millis(100));
    }
    // Restart whoever is down, then drain.
    for i in 0..cfg.nodes {
        if c.procs[i].down_until.take().is_some() {
            c.procs[i].restarts += 1;
            c.spawn(i)?;
        }
    }
    eprintln!(
        "soak: traffic done ({} texts, {kills} kills) after {:.1}s; draining",
        c.sent.len() + c.asked.len(),
        t0.elapsed().as_secs_f64()
    );
    let drain_end = Instant::now() + Duration::from_secs(cfg.drain_seconds);
    while Instant::now() < drain_end
        && c.sent
            .keys()
            .chain(c.asked.keys())
            .any(|t| !c.received.contains_key(t))
    {
        c.pump(Instant::now() + Duration::from_millis(200));
    }
    // The histories are the truth (an event may be lost with a killed process's stdout).
    for &(a, b) in &pairs {
        let (ka, kb) = (c.procs[a].key.clone(), c.procs[b].key.clone());
        c.send(a, &format!("HISTORY {kb}"));
        c.send(b, &format!("HISTORY {ka}"));
    }
    let hist_end = Instant::now() + Duration::from_secs(30);
    while Instant::now() < hist_end && c.hist_done.len() < pairs.len() * 2 {
        c.pump(Instant::now() + Duration::from_millis(100));
    }
    let mut cpu = Vec::new();
    let mut rss = Vec::new();
    for i in 0..cfg.nodes {
        if let Some(child) = c.procs[i].child.as_ref() {
            let pid = child.id();
            cpu.push(c.procs[i].cpu_before + proc_cpu_seconds(pid));
            rss.push(c.procs[i].peak_rss_kib.max(proc_peak_rss_kib(pid)));
        }
        c.send(i, "QUIT");
    }
    std::thread::sleep(Duration::from_secs(2));
    for i in 0..cfg.nodes {
        c.kill(i);
    }

    // Report. A text whose `SENT` line was lost with a killed process but which reached
    // the recipient's history was sent; the others were never accepted by their sender.
    let asked: Vec<(String, (usize, usize, Instant))> =
        std::mem::take(&mut c.asked).into_iter().collect();
    let mut never_accepted = 0u64;
    for (text, v) in asked {
        let (from, to, _) = v;
        let seen = c
            .history
            .get(&(to, from))
            .is_some_and(|h| h.contains(&text));
        if seen {
            c.sent.insert(text, v);
        } else {
            never_accepted += 1;
        }
    }
    let mut delivered = 0u64;
    let mut duplicates = 0u64;
    let mut missing = Vec::new();
    for (text, &(from, to, _)) in &c.sent {
        let in_history = c
            .history
            .get(&(to, from))
            .map(|h| h.iter().filter(|t| *t == text).count())
            .unwrap_or(0);
        match in_history {
            0 => missing.push(text.clone()),
            1 => delivered += 1,
            n => {
                delivered += 1;
                duplicates += n as u64 - 1;
            }
        }
    }
    let event_dups: u64 = c
        .received
        .values()
        .map(|&n| u64::from(n.saturating_sub(1)))
        .sum();
    let mut lat: Vec<f64> = c.latency_ms.values().copied().collect();
    lat.sort_by(f64::total_cmp);
    let sent = c.sent.len() as u64;
    let ratio = if sent == 0 {
        0.0
    } else {
        delivered as f64 / sent as f64
    };
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let rss_f: Vec<f64> = rss.iter().map(|&k| k as f64 / 1024.0).collect();
    println!("soak report");
    println!(
        "  nodes {} (one process each), pairs {}, traffic {} s, kills {kills}",
        cfg.nodes,
        pairs.len(),
        cfg.seconds
    );
    println!(
        "  texts sent {sent}, delivered {delivered}, missing {}, duplicates in history {duplicates}, duplicate events {event_dups}",
        missing.len()
    );
    println!(
        "  delivery ratio {ratio:.4} ({never_accepted} texts asked of a node killed before it accepted them are not counted)"
    );
    println!(
        "  latency p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms ({} samples)",
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        lat.last().copied().unwrap_or(f64::NAN),
        lat.len()
    );
    println!(
        "  cpu per node: mean {:.2} s, max {:.2} s; peak rss per node: mean {:.1} MiB, max {:.1} MiB",
        mean(&cpu),
        cpu.iter().copied().fold(0.0, f64::max),
        mean(&rss_f),
        rss_f.iter().copied().fold(0.0, f64::max)
    );
    println!(
        "  relay bandwidth amplification: not measured (the facade exposes no relay byte counters)"
    );
    println!("  wall time {:.1}s", t0.elapsed().as_secs_f64());
    for m in missing.iter().take(10) {
        println!("  missing: {m}");
    }
    let _ = std::fs::remove_dir_all(&base);
    if !missing.is_empty() || duplicates > 0 {
        bail!(
            "soak failed: {} missing, {duplicates} duplicated",
            missing.len()
        );
    }
    Ok(())
}
