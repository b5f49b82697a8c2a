//! `cargo xtask soak [--nodes N] [--seconds S] [--kill-every K] [--ci]`: real nodes of
//! the facade (`status::node`, each with its own encrypted account database) on loopback,
//! one process each, chatting in pairs and in two group chats while random nodes are
//! killed (SIGKILL) and restarted from their databases.
//!
//! The coordinator (this command) starts every node as a child process of the xtask
//! binary (`xtask soak-node`, a line protocol on stdin/stdout), makes pairs (node 2k and
//! 2k+1) exchange contact codes, request and accept, then has both sides of every pair
//! send a text every few seconds. Node 0 serves store v3 and every other node asks it for
//! what it missed; node 0 is never killed. At the end, sending stops, the network drains,
//! and each node's stored history is compared with what was sent.
//!
//! Two group chats (55) run alongside: each has members drawn from different pairs
//! (five with the default 25 pairs, four in the `--ci` run; see `group_plan`). Every two
//! members of a group first become mutual contacts (status-chat lets the creator add only
//! mutual contacts, and members encrypt group texts to each other pairwise over their
//! own sessions); the first member creates the group through the facade's
//! `create_group`, the others join on the invitation, and once every member sees every
//! member joined, every live member sends a group text at each sending tick. Members are
//! killed and restarted like every other node. At the end every member's stored group
//! history must hold every group text sent by any member exactly once.
//!
//! Reported: delivery ratio (texts in the recipient's history / texts sent) for 1:1 and,
//! separately, for groups (texts in the other members' histories / texts sent × other
//! members), duplicates, p50/p99 end-to-end latency (send command to the recipient's
//! event, both on this machine's clock; for groups one sample per text and receiving
//! member), CPU seconds and peak resident memory per node process.
//!
//! Bandwidth amplification: every node prints its relay's byte counters
//! (`Node::relay_traffic`: bytes written and read below Noise on all its connections, and
//! the encoded size of the Waku messages it published) every second and on `STATS`; the
//! coordinator sums them over all nodes and all incarnations of each node (a killed
//! incarnation counts as of its last report, so up to a second of its traffic is missed)
//! between the start of the traffic and the end of the drain. Then
//!
//! `amplification = bytes written by all nodes / (text bytes sent × intended recipients)`
//!
//! where a 1:1 text has one intended recipient and a group text one per other member.
//! It is reported with its two factors: Waku message bytes published / (text bytes ×
//! recipients) (what the chat and session layers add: envelopes, encryption, signatures,
//! one encryption per recipient, acknowledgements, retransmissions, bundle adverts) and
//! bytes written / Waku message bytes published (what the relay adds: gossip to every
//! mesh peer, IHAVE/IWANT, store queries, framing). The texts are short (about 20 bytes),
//! so the first factor is large by construction.

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
/// message, `SENT <text>` once a text is accepted (stored and handed to the network),
/// `CONTACT <key hex>` per mutual contact, `H <peer hex> <from hex> <text>` and
/// `HEND <peer hex>` for a history request. Reads `ADD <uri>`, `REQUEST <hex>`,
/// `SEND <hex> <text>`, `HISTORY <hex>`, `QUIT`.
///
/// Groups: reads `GCREATE <name> <hex>,<hex>...` (answers `GCREATED <group id>`),
/// `GSEND <group id> <text>` (answers `GSENT <text>`), `GHISTORY <group id>` (answers
/// `GH <group id> <from hex> <text>` lines and `GHEND <group id>`) and `GSTATE <group id>`;
/// prints `GRECV <group id> <from hex> <text>` per group message and
/// `GROUP <group id> <joined> <members>` whenever the group changes. An invitation is
/// joined at once.
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
    use status::chat::{ChatId, GroupEventKind, GroupId};
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
    let mut traffic_tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = traffic_tick.tick() => traffic(&handle, &out).await,
            e = events.recv() => {
                let Some(e) = e else { break };
                match e {
                    NodeEvent::ContactRequest { from, .. } => {
                        let _ = handle.accept(from).await;
                    }
                    NodeEvent::ContactAdded(k) => out(format!("CONTACT {}", key_to_hex(&k))),
                    NodeEvent::Message { chat: ChatId::Group(g), from, text, .. } => {
                        out(format!("GRECV {g} {} {text}", key_to_hex(&from)));
                    }
                    NodeEvent::Message { from, text, .. } => {
                        out(format!("RECV {} {text}", key_to_hex(&from)));
                    }
                    NodeEvent::GroupInvitation { group, .. } => {
                        if let Err(e) = handle.group_event(group.clone(), GroupEventKind::MemberJoined).await {
                            out(format!("ERR join {e}"));
                        }
                        group_state(&handle, &group, &out).await;
                    }
                    NodeEvent::GroupUpdated(group) => group_state(&handle, &group, &out).await,
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
                        Ok(k) => match handle.history(ChatId::OneToOne(k)).await {
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
                    "GCREATE" => {
                        let members: Result<Vec<_>, _> = b.split(',').map(key_from_hex).collect();
                        match members {
                            Ok(m) => match handle.create_group(a, m).await {
                                Ok(g) => {
                                    out(format!("GCREATED {g}"));
                                    group_state(&handle, &g, &out).await;
                                    Ok(())
                                }
                                Err(e) => Err(e.to_string()),
                            },
                            Err(e) => Err(e.to_string()),
                        }
                    }
                    "GSEND" => match GroupId::parse(a) {
                        Ok(g) => match handle.send_group_text(g, b).await {
                            Ok(_) => {
                                out(format!("GSENT {b}"));
                                Ok(())
                            }
                            Err(e) => Err(e.to_string()),
                        },
                        Err(e) => Err(e.to_string()),
                    },
                    "GHISTORY" => match GroupId::parse(a) {
                        Ok(g) => match handle.history(ChatId::Group(g)).await {
                            Ok(h) => {
                                for (from, text) in h {
                                    out(format!("GH {a} {} {text}", key_to_hex(&from)));
                                }
                                out(format!("GHEND {a}"));
                                Ok(())
                            }
                            Err(e) => Err(e.to_string()),
                        },
                        Err(e) => Err(e.to_string()),
                    },
                    "STATS" => {
                        traffic(&handle, &out).await;
                        Ok(())
                    }
                    "GSTATE" => match GroupId::parse(a) {
                        Ok(g) => {
                            group_state(&handle, &g, &out).await;
                            Ok(())
                        }
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

/// Prints `TRAFFIC <bytes read> <bytes written> <message bytes published> <message bytes
/// received>`: the relay's counters since this process started.
async fn traffic(handle: &status::node::NodeHandle, out: &impl Fn(String)) {
    if let Ok(t) = handle.relay_traffic().await {
        out(format!(
            "TRAFFIC {} {} {} {}",
            t.bytes_in, t.bytes_out, t.message_bytes_published, t.message_bytes_received
        ));
    }
}

/// Prints `GROUP <id> <joined> <members>` for a group the node knows.
async fn group_state(
    handle: &status::node::NodeHandle,
    group: &status::chat::GroupId,
    out: &impl Fn(String),
) {
    if let Ok(groups) = handle.groups().await
        && let Some(g) = groups.iter().find(|g| g.id() == group)
    {
        out(format!(
            "GROUP {group} {} {}",
            g.joined().len(),
            g.members().len()
        ));
    }
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
    /// Most seconds to wait for the network to drain at the end (the drain ends as soon
    /// as every text has reached every recipient). The chat layer retransmits an
    /// unacknowledged message 30, 90, 210 and 450 s after it was first sent (doubling
    /// backoff from 30 s), so a text whose first four sends all miss is only delivered
    /// by its fifth, 450 s later: the full run allows 600 s.
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
    /// Latest relay counters per incarnation (generation): read, written, message bytes
    /// published, message bytes received.
    traffic: BTreeMap<u32, [u64; 4]>,
    down_until: Option<Instant>,
    /// When the node was killed and when it was due back.
    outages: Vec<(Instant, Instant)>,
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
    /// First reception latency per text.
    latency_ms: BTreeMap<String, f64>,
    /// Every reception event per text: (node, incarnation, when).
    received_by: BTreeMap<String, Vec<(usize, u32, Instant)>>,
    contacts: BTreeSet<(usize, usize)>,
    history: BTreeMap<(usize, usize), Vec<String>>,
    hist_done: BTreeSet<(usize, usize)>,
    /// Group texts accepted by their sender: text -> (group, from, when asked).
    gsent: BTreeMap<String, (usize, usize, Instant)>,
    /// Group texts asked for but not (yet) accepted.
    gasked: BTreeMap<String, (usize, usize, Instant)>,
    /// First reception latency and reception counts per (group text, receiving node).
    glatency_ms: BTreeMap<(String, usize), f64>,
    greceived: BTreeMap<(String, usize), u32>,
    /// Latest group id each node created.
    gcreated: BTreeMap<usize, String>,
    /// (node, group id) -> (joined, members) as the node last reported.
    gstate: BTreeMap<(usize, String), (usize, usize)>,
    ghistory: BTreeMap<(usize, String), Vec<String>>,
    ghist_done: BTreeSet<(usize, String)>,
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
                self.received_by
                    .entry(rest)
                    .or_default()
                    .push((i, generation, Instant::now()));
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
            Some("TRAFFIC") => {
                let mut v = [0u64; 4];
                let mut fields = text.split(' ').skip(1);
                for x in &mut v {
                    *x = fields.next().and_then(|n| n.parse().ok()).unwrap_or(0);
                }
                self.procs[i].traffic.insert(generation, v);
            }
            Some("GCREATED") => {
                let id = parts.next().unwrap_or_default().to_owned();
                self.gcreated.insert(i, id);
            }
            Some("GROUP") => {
                let id = parts.next().unwrap_or_default().to_owned();
                let mut n = || parts.next().and_then(|v| v.parse().ok()).unwrap_or(0);
                let state = (n(), n());
                self.gstate.insert((i, id), state);
            }
            Some("GSENT") => {
                let text: String = parts.collect::<Vec<_>>().join(" ");
                if let Some(v) = self.gasked.remove(&text) {
                    self.gsent.insert(text, v);
                }
            }
            Some("GRECV") => {
                let (_group, _from) = (parts.next(), parts.next());
                let text = parts.next().unwrap_or_default().to_owned();
                if let Some((_, _, at)) = self.gsent.get(&text).or_else(|| self.gasked.get(&text)) {
                    let ms = at.elapsed().as_secs_f64() * 1000.0;
                    self.glatency_ms.entry((text.clone(), i)).or_insert(ms);
                }
                *self.greceived.entry((text, i)).or_default() += 1;
            }
            Some("GH") => {
                let group = parts.next().unwrap_or_default().to_owned();
                let _from = parts.next();
                let text = parts.next().unwrap_or_default().to_owned();
                self.ghistory.entry((i, group)).or_default().push(text);
            }
            Some("GHEND") => {
                let group = parts.next().unwrap_or_default().to_owned();
                self.ghist_done.insert((i, group));
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

    /// The relay counters summed over every node and every incarnation (a killed
    /// incarnation counts as of its last report, at most a second before its death).
    fn traffic_total(&self) -> [u64; 4] {
        let mut t = [0u64; 4];
        for v in self.procs.iter().flat_map(|p| p.traffic.values()) {
            for k in 0..4 {
                t[k] += v[k];
            }
        }
        t
    }

    fn alive(&self, i: usize) -> bool {
        self.procs[i].child.is_some() && !self.procs[i].addr.is_empty()
    }

    /// Whether a text (1:1 or group) has not reached every recipient's events yet.
    fn undelivered(&self, groups: &[(String, Vec<usize>)]) -> bool {
        let one = self
            .sent
            .keys()
            .chain(self.asked.keys())
            .any(|t| !self.received_by.contains_key(t));
        one || self
            .gsent
            .iter()
            .chain(self.gasked.iter())
            .any(|(t, &(g, from, _))| {
                groups[g]
                    .1
                    .iter()
                    .any(|&m| m != from && !self.greceived.contains_key(&(t.clone(), m)))
            })
    }

    /// Has each group's first member create it with the others (through the facade's
    /// `create_group`), and waits until every member reports every member joined (they
    /// join on the invitation). Returns (group id, members) per group.
    fn form_groups(&mut self, plan: &[Vec<usize>]) -> Result<Vec<(String, Vec<usize>)>> {
        let mut groups = Vec::new();
        for (g, members) in plan.iter().enumerate() {
            let creator = members[0];
            let keys: Vec<String> = members[1..]
                .iter()
                .map(|&m| self.procs[m].key.clone())
                .collect();
            self.gcreated.remove(&creator);
            self.send(creator, &format!("GCREATE soak-{g} {}", keys.join(",")));
            let deadline = Instant::now() + Duration::from_secs(60);
            let id = loop {
                if let Some(id) = self.gcreated.get(&creator) {
                    break id.clone();
                }
                if Instant::now() > deadline {
                    bail!("node {creator} did not create group {g} within 60 s");
                }
                self.pump(Instant::now() + Duration::from_millis(100));
            };
            groups.push((id, members.clone()));
        }
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut next_ask = Instant::now() + Duration::from_secs(5);
        loop {
            let pending: Vec<(usize, String)> = groups
                .iter()
                .flat_map(|(id, members)| {
                    members.iter().filter_map(|&m| {
                        let full = (members.len(), members.len());
                        (self.gstate.get(&(m, id.clone())) != Some(&full)).then(|| (m, id.clone()))
                    })
                })
                .collect();
            if pending.is_empty() {
                return Ok(groups);
            }
            if Instant::now() > deadline {
                bail!("group members {pending:?} do not see every member joined within 120 s");
            }
            if Instant::now() > next_ask {
                for (m, id) in &pending {
                    self.send(*m, &format!("GSTATE {id}"));
                }
                next_ask = Instant::now() + Duration::from_secs(5);
            }
            self.pump(Instant::now() + Duration::from_millis(200));
        }
    }
}

/// The two group chats: members drawn one from each of several pairs (odd nodes of the
/// first pairs, even nodes of the last ones): five members each with ten pairs or more,
/// otherwise one fewer than the pairs (at most four); none with fewer than three pairs.
/// Node 0 (the store) is in none.
fn group_plan(nodes: usize) -> Vec<Vec<usize>> {
    let pairs = nodes / 2;
    let size = if pairs >= 10 {
        5
    } else {
        pairs.saturating_sub(1).min(4)
    };
    if size < 2 {
        return Vec::new();
    }
    vec![
        (0..size).map(|k| 2 * k + 1).collect(),
        (pairs - size..pairs).map(|k| 2 * k).collect(),
    ]
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
        drain_seconds: 600,
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
                traffic: BTreeMap::new(),
                outages: Vec::new(),
            })
            .collect(),
        tx,
        rx,
        generation: vec![0; cfg.nodes],
        store_addr: None,
        sent: BTreeMap::new(),
        asked: BTreeMap::new(),
        latency_ms: BTreeMap::new(),
        received_by: BTreeMap::new(),
        contacts: BTreeSet::new(),
        history: BTreeMap::new(),
        hist_done: BTreeSet::new(),
        gsent: BTreeMap::new(),
        gasked: BTreeMap::new(),
        glatency_ms: BTreeMap::new(),
        greceived: BTreeMap::new(),
        gcreated: BTreeMap::new(),
        gstate: BTreeMap::new(),
        ghistory: BTreeMap::new(),
        ghist_done: BTreeSet::new(),
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
    let plan = group_plan(cfg.nodes);
    // Every two members of a group become mutual contacts too: the creator may only add
    // mutual contacts, and members encrypt group texts to each other over their own
    // sessions.
    let mut links: BTreeSet<(usize, usize)> = pairs.iter().copied().collect();
    for members in &plan {
        for &a in members {
            for &b in members {
                if a < b {
                    links.insert((a, b));
                }
            }
        }
    }
    for &(a, b) in &links {
        let (uri_b, key_b) = (c.procs[b].uri.clone(), c.procs[b].key.clone());
        c.send(a, &format!("ADD {uri_b}"));
        c.send(a, &format!("REQUEST {key_b}"));
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    let unlinked = |c: &Coord| {
        links
            .iter()
            .filter(|&&(a, b)| !c.contacts.contains(&(a, b)) || !c.contacts.contains(&(b, a)))
            .count()
    };
    while unlinked(&c) > 0 {
        if Instant::now() > deadline {
            bail!(
                "{} contact links did not become mutual within 120 s",
                unlinked(&c)
            );
        }
        c.pump(Instant::now() + Duration::from_millis(200));
    }
    eprintln!(
        "soak: {} pairs and {} more group links are mutual contacts after {:.1}s",
        pairs.len(),
        links.len() - pairs.len(),
        t0.elapsed().as_secs_f64()
    );
    let groups = c.form_groups(&plan)?;
    eprintln!(
        "soak: {} groups formed (members {:?}) after {:.1}s",
        groups.len(),
        plan,
        t0.elapsed().as_secs_f64()
    );

    // Relay counters at the start of the traffic (contact and group setup excluded).
    c.pump(Instant::now() + Duration::from_millis(1500));
    let traffic_start = c.traffic_total();

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
            for (g, (id, members)) in groups.iter().enumerate() {
                for &from in members {
                    if !c.alive(from) {
                        continue;
                    }
                    seq += 1;
                    let text = format!("gsoak {g} {from} {seq}");
                    c.send(from, &format!("GSEND {id} {text}"));
                    c.gasked.insert(text, (g, from, Instant::now()));
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
                let back = now + Duration::from_secs(down);
                c.procs[i].down_until = Some(back);
                c.procs[i].outages.push((now, back));
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
        "soak: traffic done ({} texts, {} group texts, {kills} kills) after {:.1}s; draining",
        c.sent.len() + c.asked.len(),
        c.gsent.len() + c.gasked.len(),
        t0.elapsed().as_secs_f64()
    );
    let drain_end = Instant::now() + Duration::from_secs(cfg.drain_seconds);
    while Instant::now() < drain_end && c.undelivered(&groups) {
        c.pump(Instant::now() + Duration::from_millis(200));
    }
    // The histories are the truth (an event may be lost with a killed process's stdout).
    for &(a, b) in &pairs {
        let (ka, kb) = (c.procs[a].key.clone(), c.procs[b].key.clone());
        c.send(a, &format!("HISTORY {kb}"));
        c.send(b, &format!("HISTORY {ka}"));
    }
    let mut group_histories = 0;
    for (id, members) in &groups {
        for &m in members {
            c.send(m, &format!("GHISTORY {id}"));
            group_histories += 1;
        }
    }
    let hist_end = Instant::now() + Duration::from_secs(30);
    while Instant::now() < hist_end
        && (c.hist_done.len() < pairs.len() * 2 || c.ghist_done.len() < group_histories)
    {
        c.pump(Instant::now() + Duration::from_millis(100));
    }
    for i in 0..cfg.nodes {
        c.send(i, "STATS");
    }
    c.pump(Instant::now() + Duration::from_millis(1500));
    let traffic_end = c.traffic_total();
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
    // Over the texts sent: the intro of every contact request ("soak") is a message
    // event too, the same text from every requester.
    let event_dups: u64 = c
        .received_by
        .iter()
        .filter(|(text, _)| c.sent.contains_key(*text))
        .map(|(_, events)| events.len().saturating_sub(1) as u64)
        .sum();
    let mut lat: Vec<f64> = c.latency_ms.values().copied().collect();
    lat.sort_by(f64::total_cmp);

    // Groups: a text counts as sent if its sender accepted it or any member stores it;
    // every member (sender included) must store it exactly once. The ratio counts the
    // deliveries to the other members.
    let gasked: Vec<(String, (usize, usize, Instant))> =
        std::mem::take(&mut c.gasked).into_iter().collect();
    let mut g_never_accepted = 0u64;
    for (text, v) in gasked {
        let (g, _, _) = v;
        let (id, members) = &groups[g];
        let seen = members.iter().any(|&m| {
            c.ghistory
                .get(&(m, id.clone()))
                .is_some_and(|h| h.contains(&text))
        });
        if seen {
            c.gsent.insert(text, v);
        } else {
            g_never_accepted += 1;
        }
    }
    let (mut g_expected, mut g_delivered, mut g_duplicates) = (0u64, 0u64, 0u64);
    let mut g_missing = Vec::new();
    for (text, &(g, from, _)) in &c.gsent {
        let (id, members) = &groups[g];
        for &m in members {
            let copies = c
                .ghistory
                .get(&(m, id.clone()))
                .map(|h| h.iter().filter(|t| *t == text).count())
                .unwrap_or(0);
            if copies == 0 {
                g_missing.push(format!("{text} (at node {m})"));
            }
            g_duplicates += copies.saturating_sub(1) as u64;
            if m != from {
                g_expected += 1;
                g_delivered += u64::from(copies > 0);
            }
        }
    }
    let g_event_dups: u64 = c
        .greceived
        .values()
        .map(|&n| u64::from(n.saturating_sub(1)))
        .sum();
    let mut glat: Vec<f64> = c.glatency_ms.values().copied().collect();
    glat.sort_by(f64::total_cmp);
    let g_ratio = if g_expected == 0 {
        0.0
    } else {
        g_delivered as f64 / g_expected as f64
    };

    // Bandwidth: application payload (text bytes) times its intended recipients, against
    // what the relays wrote while the traffic ran and drained.
    let payload_x_recipients: u64 = c.sent.keys().map(|t| t.len() as u64).sum::<u64>()
        + c.gsent
            .iter()
            .map(|(t, &(g, _, _))| t.len() as u64 * (groups[g].1.len() as u64 - 1))
            .sum::<u64>();
    let d = |k: usize| traffic_end[k].saturating_sub(traffic_start[k]);
    let (wire_in, wire_out, msg_published) = (d(0), d(1), d(2));
    let per = |a: u64, b: u64| {
        if b == 0 {
            f64::NAN
        } else {
            a as f64 / b as f64
        }
    };
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
        "  groups {} (members {:?}): group texts sent {}, deliveries to other members {g_delivered} of {g_expected}, missing {}, duplicates in history {g_duplicates}, duplicate events {g_event_dups}",
        groups.len(),
        groups.iter().map(|g| g.1.clone()).collect::<Vec<_>>(),
        c.gsent.len(),
        g_missing.len()
    );
    println!(
        "  group delivery ratio {g_ratio:.4} ({g_never_accepted} group texts asked of a node killed before it accepted them are not counted)"
    );
    println!(
        "  group latency p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms ({} samples, one per text and receiving member)",
        percentile(&glat, 0.5),
        percentile(&glat, 0.99),
        glat.last().copied().unwrap_or(f64::NAN),
        glat.len()
    );
    println!(
        "  cpu per node: mean {:.2} s, max {:.2} s; peak rss per node: mean {:.1} MiB, max {:.1} MiB",
        mean(&cpu),
        cpu.iter().copied().fold(0.0, f64::max),
        mean(&rss_f),
        rss_f.iter().copied().fold(0.0, f64::max)
    );
    println!(
        "  bandwidth: {wire_out} bytes written, {wire_in} read by all relays; {msg_published} bytes of Waku messages published; {payload_x_recipients} bytes of text x intended recipients"
    );
    println!(
        "  amplification {:.1} (bytes written / (text bytes x recipients)) = {:.1} (Waku message bytes published / (text bytes x recipients): encryption, signatures, acks, retransmissions, adverts) x {:.1} (bytes written / Waku message bytes published: the relay)",
        per(wire_out, payload_x_recipients),
        per(msg_published, payload_x_recipients),
        per(wire_out, msg_published)
    );
    println!("  wall time {:.1}s", t0.elapsed().as_secs_f64());
    // For a missing text: when it was sent, and the outages of its sender and recipient.
    let outages = |i: usize| {
        c.procs[i]
            .outages
            .iter()
            .map(|(a, b)| {
                format!(
                    "{:.0}-{:.0}s",
                    a.duration_since(start).as_secs_f64(),
                    b.duration_since(start).as_secs_f64()
                )
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    for m in missing.iter().take(10) {
        let Some(&(from, to, at)) = c.sent.get(m) else {
            continue;
        };
        println!(
            "  missing: {m} (asked {:.0}s into the traffic; outages of sender {from}: [{}], of recipient {to}: [{}]; recipient event seen: {})",
            at.saturating_duration_since(start).as_secs_f64(),
            outages(from),
            outages(to),
            c.received_by.contains_key(m)
        );
    }
    // For a text whose reception was reported more than once: by which incarnations.
    let repeated = c
        .received_by
        .iter()
        .filter_map(|(m, e)| Some((m, e, c.sent.get(m)?)))
        .filter(|(_, e, _)| e.len() > 1);
    for (m, events, &(from, to, _)) in repeated.take(10) {
        let seen = events
            .iter()
            .map(|(node, incarnation, at)| {
                format!(
                    "node {node} #{incarnation} at {:.1}s",
                    at.saturating_duration_since(start).as_secs_f64()
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        println!(
            "  duplicate event: {m} (from {from} to {to}: {seen}; outages of the recipient: [{}])",
            outages(to)
        );
    }
    for m in g_missing.iter().take(10) {
        println!("  missing group text: {m}");
    }
    let failed = !missing.is_empty()
        || duplicates > 0
        || !g_missing.is_empty()
        || g_duplicates > 0
        || (!groups.is_empty() && c.gsent.is_empty());
    if failed {
        println!("  node databases kept in {}", base.display());
    } else {
        let _ = std::fs::remove_dir_all(&base);
    }
    if !missing.is_empty() || duplicates > 0 {
        bail!(
            "soak failed: {} missing, {duplicates} duplicated",
            missing.len()
        );
    }
    if !g_missing.is_empty() || g_duplicates > 0 || (!groups.is_empty() && c.gsent.is_empty()) {
        bail!(
            "soak failed: {} group deliveries missing, {g_duplicates} duplicated, {} group texts sent",
            g_missing.len(),
            c.gsent.len()
        );
    }
    Ok(())
}
