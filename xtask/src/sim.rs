//! `cargo xtask sim [--seed S] [--nodes N] [--loss P] [--ci] ...`: a deterministic
//! simulator running N nodes of the real protocol stack — status-chat's [`Chat`] over
//! status-sessions (X3DH, Double Ratchet, topics) through [`X3dhSessions`] — on an
//! in-memory Waku network with a virtual clock, all driven by one seeded RNG.
//!
//! Faults: loss, duplication, random latency (so reordering), partitions that heal,
//! per-node clock skew, and node crashes: a crashed node loses everything but its
//! persisted stores (the chat store and the session store, written synchronously by the
//! layers before their output leaves), and restarts from them with
//! [`Chat::new`] and [`SessionManager::restore`].
//!
//! Workload: contact pairs (a ring, plus chords) send texts each way every round, and
//! [`SimConfig::groups`] private group chats (55) of three or four members each
//! (consecutive nodes, so every group spans several pairs) have every live member send a
//! group text every round. Group members become mutual contacts of each other first
//! (the creator may only add mutual contacts, and members encrypt to each other over
//! their own sessions), the creator makes the group through [`Command::CreateGroup`],
//! every invited member joins, and the texts start once every member sees every member
//! joined.
//!
//! Invariants checked at the end of a run (a violation is an error naming the seed, and
//! `--seed` replays it exactly):
//! - every text sent by a live sender is received exactly once by its recipient (counted
//!   over `MessageReceived` events across restarts), and both sides show the same
//!   messages in the same Lamport order;
//! - every group text sent by a live member is received exactly once by every other
//!   member, and every member shows the group's messages in the same Lamport order;
//! - every message is acknowledged (the outboxes drain): no session stays out of step;
//!   after the faults stop, one more text each way on every pair arrives (sessions work);
//! - caps: session records, outbox, chat store and in-flight queue stay under the limits.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result, anyhow, bail, ensure};
use rand::rngs::ChaCha20Rng;
use rand::{RngExt, SeedableRng};
use status_chat::reliability::ReliabilityConfig;
use status_chat::sessions::X3dhSessions;
use status_chat::{
    Chat, ChatConfig, ChatId, ChatStore, Command, ContactState, Event, GroupEventKind, GroupId,
    MemoryStore, MessageId, SessionLayer, WakuOut,
};
use status_identity::{IdentityKeyPair, IdentityPublicKey};
use status_sessions::{InstallationStore, SessionManager, SessionStore};

const T0: u64 = 1_700_000_000_000;
/// Largest total of session-record bytes one node may hold (skipped keys are capped at
/// 2000 per session by the ratchet, so this is far above any honest run).
pub const MAX_SESSION_BYTES_PER_NODE: usize = 4 << 20;
/// Most messages in flight on the simulated network at once.
pub const MAX_INFLIGHT: usize = 200_000;
/// Members of each simulated group chat (creator included).
pub const GROUP_SIZE: usize = 4;
/// Virtual time allowed for group members to become contacts and for a group to form.
const SETUP_MS: u64 = 6 * 3_600_000;

/// What one run does.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Seed of the one RNG (keys, faults, schedule).
    pub seed: u64,
    /// Number of nodes (each one identity with one device).
    pub nodes: usize,
    /// Rounds of texts (every pair sends each way once per round).
    pub rounds: u32,
    /// Probability a publication is lost.
    pub loss: f64,
    /// Probability a publication is delivered twice.
    pub dup: f64,
    /// Latency is uniform in `0..=max_delay_ms` (so messages overtake each other).
    pub max_delay_ms: u64,
    /// Number of partitions (each splits the nodes in two for a while, then heals).
    pub partitions: u32,
    /// Number of crashes (a node goes down, then restarts from its stores).
    pub crashes: u32,
    /// Clock skew of each node, uniform in `-max_skew_ms..=max_skew_ms`.
    pub max_skew_ms: i64,
    /// Private group chats, each of [`GROUP_SIZE`] members (fewer if there are fewer
    /// nodes); every live member sends a group text every round.
    pub groups: usize,
    /// Test hook: a crash also loses the chat store (the simulator must then report a
    /// violation; proves the invariants bite).
    #[doc(hidden)]
    pub lose_chat_store_on_crash: bool,
}

impl SimConfig {
    /// A run with no faults.
    pub fn calm(seed: u64) -> Self {
        SimConfig {
            seed,
            nodes: 4,
            rounds: 6,
            loss: 0.0,
            dup: 0.0,
            max_delay_ms: 200,
            partitions: 0,
            crashes: 0,
            max_skew_ms: 0,
            groups: 1,
            lose_chat_store_on_crash: false,
        }
    }
}

/// What a run measured.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Texts sent by the workload (excluding contact requests), 1:1 and group.
    pub texts: u64,
    /// Of which group texts.
    pub group_texts: u64,
    /// Group chats formed (every member joined, seen by every member).
    pub groups: usize,
    /// Publications handed to the network.
    pub published: u64,
    /// Publications lost (by loss, partition or a down node).
    pub dropped: u64,
    /// Crashes that happened.
    pub crashes: u32,
    /// Partitions that happened.
    pub partitions: u32,
    /// Duplicates the chat layers dropped.
    pub duplicates: u64,
    /// Virtual time the run took, in ms.
    pub virtual_ms: u64,
    /// Largest session-record total of any node, in bytes.
    pub max_session_bytes: usize,
    /// Largest number of messages in flight.
    pub max_inflight: usize,
}

struct Live {
    chat: Chat<MemoryStore>,
    sessions: X3dhSessions<status_sessions::MemoryStore>,
}

struct SimNode {
    secret: [u8; 32],
    key: IdentityPublicKey,
    skew: i64,
    live: Option<Live>,
    /// The persisted stores while the node is down.
    persisted: Option<(MemoryStore, status_sessions::MemoryStore)>,
    /// `MessageReceived` counts, across restarts.
    received: BTreeMap<MessageId, u32>,
    side: bool,
}

struct Flight {
    from: usize,
    msg: WakuOut,
}

/// The simulator.
pub struct Sim {
    cfg: SimConfig,
    rng: ChaCha20Rng,
    nodes: Vec<SimNode>,
    bundles: Vec<Vec<u8>>,
    inflight: BTreeMap<(u64, u64), Flight>,
    seq: u64,
    now: u64,
    partitioned_until: Option<u64>,
    faults: bool,
    /// Scheduled restarts: (time, node).
    restarts: BTreeSet<(u64, usize)>,
    report: Report,
}

fn chat_config(i: usize) -> ChatConfig {
    ChatConfig {
        reliability: ReliabilityConfig {
            max_attempts: 200,
            max_backoff_ms: 120_000,
            ..Default::default()
        },
        display_name: format!("node{i}"),
        ..Default::default()
    }
}

impl Sim {
    /// Sets up the nodes (fresh identities and devices) for `cfg`.
    pub fn new(cfg: SimConfig) -> Result<Self> {
        let mut rng = ChaCha20Rng::seed_from_u64(cfg.seed);
        let mut nodes = Vec::new();
        let mut bundles = Vec::new();
        for i in 0..cfg.nodes {
            let id = IdentityKeyPair::generate(&mut rng);
            let secret = *id.to_secret_bytes();
            let key = *id.public_key();
            let skew = if cfg.max_skew_ms > 0 {
                rng.random_range(-cfg.max_skew_ms..=cfg.max_skew_ms)
            } else {
                0
            };
            let now = (T0 as i64 + skew) as u64;
            let (manager, changes) = SessionManager::new(
                &mut rng,
                IdentityKeyPair::from_secret_bytes(&secret),
                status_sessions::Config::default(),
                status_sessions::DeviceInfo::default(),
                ns(now),
            )
            .map_err(|e| anyhow!("session manager: {e:?}"))?;
            let mut store = status_sessions::MemoryStore::new();
            changes
                .apply(&mut store)
                .map_err(|e| anyhow!("store: {e:?}"))?;
            let sessions = X3dhSessions::new(manager, store);
            bundles.push(sessions.bundle_bytes());
            let chat = Chat::new(id, chat_config(i), MemoryStore::new());
            nodes.push(SimNode {
                secret,
                key,
                skew,
                live: Some(Live { chat, sessions }),
                persisted: None,
                received: BTreeMap::new(),
                side: false,
            });
        }
        Ok(Sim {
            cfg,
            rng,
            nodes,
            bundles,
            inflight: BTreeMap::new(),
            seq: 0,
            now: T0,
            partitioned_until: None,
            faults: true,
            restarts: BTreeSet::new(),
            report: Report::default(),
        })
    }

    fn local(&self, i: usize) -> u64 {
        (self.now as i64 + self.nodes[i].skew) as u64
    }

    fn publish(&mut self, from: usize, msgs: Vec<WakuOut>) {
        for msg in msgs {
            self.report.published += 1;
            if self.faults && self.rng.random_bool(self.cfg.loss) {
                self.report.dropped += 1;
                continue;
            }
            let copies = if self.faults && self.rng.random_bool(self.cfg.dup) {
                2
            } else {
                1
            };
            for _ in 0..copies {
                let delay = self.rng.random_range(0..=self.cfg.max_delay_ms);
                self.seq += 1;
                self.inflight.insert(
                    (self.now + delay, self.seq),
                    Flight {
                        from,
                        msg: msg.clone(),
                    },
                );
            }
        }
        self.report.max_inflight = self.report.max_inflight.max(self.inflight.len());
    }

    fn absorb(&mut self, i: usize, events: Vec<Event>) {
        for e in events {
            if let Event::MessageReceived { id, .. } = e {
                *self.nodes[i].received.entry(id).or_default() += 1;
            }
        }
    }

    fn command(&mut self, i: usize, c: Command) -> Result<()> {
        let now = self.local(i);
        let Some(live) = self.nodes[i].live.as_mut() else {
            return Ok(());
        };
        let out = live
            .chat
            .handle_command(&mut self.rng, now, &mut live.sessions, c.clone())
            .map_err(|e| anyhow!("node {i}: {c:?}: {e:?}"))?;
        self.absorb(i, out.events);
        self.publish(i, out.messages);
        Ok(())
    }

    fn deliver(&mut self, f: &Flight) {
        let partition = self.partitioned_until.is_some_and(|t| self.now < t);
        let mut outs = Vec::new();
        for i in 0..self.nodes.len() {
            if partition && self.nodes[i].side != self.nodes[f.from].side {
                continue;
            }
            let now = self.local(i);
            let Some(live) = self.nodes[i].live.as_mut() else {
                continue;
            };
            let m = &f.msg;
            let subscribed = live
                .sessions
                .subscriptions()
                .iter()
                .any(|(p, c)| *p == m.pubsub_topic && *c == m.content_topic);
            if !subscribed {
                continue;
            }
            let out = live.chat.handle_waku(
                &mut self.rng,
                now,
                &mut live.sessions,
                &m.pubsub_topic,
                &m.content_topic,
                &m.payload,
            );
            outs.push((i, out.events, out.messages));
        }
        for (i, events, messages) in outs {
            self.absorb(i, events);
            self.publish(i, messages);
        }
    }

    /// Accepts every pending contact request (the simulated users say yes).
    fn accept_requests(&mut self) -> Result<()> {
        for i in 0..self.nodes.len() {
            let pending: Vec<IdentityPublicKey> = match &self.nodes[i].live {
                Some(l) => l
                    .chat
                    .store()
                    .contacts()
                    .into_iter()
                    .filter(|c| c.state() == ContactState::RequestReceived)
                    .map(|c| c.key)
                    .collect(),
                None => continue,
            };
            for k in pending {
                self.command(i, Command::AcceptContact(k))?;
            }
        }
        Ok(())
    }

    /// Joins every group a node was added to (the simulated users say yes).
    fn join_groups(&mut self) -> Result<()> {
        for i in 0..self.nodes.len() {
            let me = self.nodes[i].key;
            let invited: Vec<GroupId> = match &self.nodes[i].live {
                Some(l) => l
                    .chat
                    .store()
                    .groups()
                    .into_iter()
                    .filter(|g| g.is_member(&me) && !g.joined().contains(&me))
                    .map(|g| g.id().clone())
                    .collect(),
                None => continue,
            };
            for id in invited {
                self.command(
                    i,
                    Command::Group {
                        id,
                        event: GroupEventKind::MemberJoined,
                    },
                )?;
            }
        }
        Ok(())
    }

    fn mutual(&self, a: usize, b: usize) -> bool {
        let kb = self.nodes[b].key;
        self.nodes[a]
            .live
            .as_ref()
            .is_some_and(|l| l.chat.store().contact(&kb).is_some_and(|c| c.is_mutual()))
    }

    /// Whether every member of group `id` sees every member joined.
    fn formed(&self, id: &GroupId, members: &[usize]) -> bool {
        let keys: BTreeSet<IdentityPublicKey> =
            members.iter().map(|&m| self.nodes[m].key).collect();
        members.iter().all(|&m| {
            self.nodes[m].live.as_ref().is_some_and(|l| {
                l.chat
                    .store()
                    .group(id)
                    .is_some_and(|g| *g.joined() == keys && *g.members() == keys)
            })
        })
    }

    /// Runs the network for `ms` of virtual time (time passes even if nothing is due).
    fn advance(&mut self, ms: u64) -> Result<()> {
        let end = self.now + ms;
        self.run_until(end)?;
        self.now = self.now.max(end);
        Ok(())
    }

    /// The members of group `g`: [`GROUP_SIZE`] consecutive nodes (creator first).
    fn group_members(&self, g: usize) -> Vec<usize> {
        let n = self.nodes.len();
        let start = (g * 3) % n;
        (0..GROUP_SIZE.min(n)).map(|k| (start + k) % n).collect()
    }

    /// Creates the groups once their members are mutual contacts, and waits until every
    /// member has joined and sees every other member joined.
    fn form_groups(&mut self) -> Result<Vec<(GroupId, Vec<usize>)>> {
        let mut groups = Vec::new();
        for g in 0..self.cfg.groups {
            let members = self.group_members(g);
            if members.len() < 2 {
                continue;
            }
            let deadline = self.now + SETUP_MS;
            while !members
                .iter()
                .all(|&a| members.iter().all(|&b| a == b || self.mutual(a, b)))
            {
                ensure!(
                    self.now < deadline,
                    "group {g}: members {members:?} never became mutual contacts"
                );
                self.advance(10_000)?;
            }
            let creator = members[0];
            let known = |s: &Self| -> BTreeSet<GroupId> {
                s.nodes[creator]
                    .live
                    .as_ref()
                    .map(|l| {
                        l.chat
                            .store()
                            .groups()
                            .iter()
                            .map(|g| g.id().clone())
                            .collect()
                    })
                    .unwrap_or_default()
            };
            let before = known(self);
            let keys = members[1..].iter().map(|&m| self.nodes[m].key).collect();
            self.command(
                creator,
                Command::CreateGroup {
                    name: format!("group {g}"),
                    members: keys,
                },
            )?;
            let id = known(self)
                .difference(&before)
                .next()
                .cloned()
                .with_context(|| format!("group {g}: CreateGroup made no group"))?;
            let deadline = self.now + SETUP_MS;
            while !self.formed(&id, &members) {
                ensure!(
                    self.now < deadline,
                    "group {g}: not every member of {members:?} sees every member joined"
                );
                self.advance(10_000)?;
            }
            groups.push((id, members));
        }
        self.report.groups = groups.len();
        Ok(groups)
    }

    fn crash(&mut self, i: usize, down_ms: u64) {
        if let Some(live) = self.nodes[i].live.take() {
            // What survives: the two stores, as persisted by the layers.
            let chat_store = if self.cfg.lose_chat_store_on_crash {
                MemoryStore::new()
            } else {
                live.chat.store().clone()
            };
            let session_store = live.sessions.store().clone();
            self.nodes[i].persisted = Some((chat_store, session_store));
            self.restarts.insert((self.now + down_ms, i));
            self.report.crashes += 1;
        }
    }

    fn restart(&mut self, i: usize) -> Result<()> {
        let now = self.local(i);
        let Some((chat_store, session_store)) = self.nodes[i].persisted.take() else {
            return Ok(());
        };
        let secret = self.nodes[i].secret;
        let manager = SessionManager::restore(
            IdentityKeyPair::from_secret_bytes(&secret),
            status_sessions::Config::default(),
            &session_store,
            ns(now),
        )
        .map_err(|e| anyhow!("node {i}: restore: {e:?}"))?;
        let sessions = X3dhSessions::new(manager, session_store);
        let chat = Chat::new(
            IdentityKeyPair::from_secret_bytes(&secret),
            chat_config(i),
            chat_store,
        );
        self.nodes[i].live = Some(Live { chat, sessions });
        Ok(())
    }

    /// Runs the network until `end` (virtual ms) or until nothing is due.
    fn run_until(&mut self, end: u64) -> Result<()> {
        loop {
            let next_msg = self.inflight.keys().next().map(|k| k.0);
            let next_timer = (0..self.nodes.len())
                .filter_map(|i| {
                    let l = self.nodes[i].live.as_ref()?;
                    let t = l.chat.poll_timeout()?;
                    Some((t as i64 - self.nodes[i].skew).max(0) as u64)
                })
                .min();
            let next_restart = self.restarts.iter().next().map(|r| r.0);
            let Some(next) = [next_msg, next_timer, next_restart]
                .into_iter()
                .flatten()
                .min()
            else {
                return Ok(());
            };
            if next > end {
                self.now = self.now.max(end);
                return Ok(());
            }
            self.now = self.now.max(next);
            if next_restart == Some(next) {
                if let Some(r) = self.restarts.pop_first() {
                    self.restart(r.1)?;
                }
            } else if next_msg == Some(next) {
                if let Some((_, f)) = self.inflight.pop_first() {
                    self.deliver(&f);
                }
            } else {
                for i in 0..self.nodes.len() {
                    let now = self.local(i);
                    let Some(live) = self.nodes[i].live.as_mut() else {
                        continue;
                    };
                    if live.chat.poll_timeout().is_some_and(|t| t <= now) {
                        let out = live
                            .chat
                            .handle_timeout(&mut self.rng, now, &mut live.sessions);
                        self.absorb(i, out.events);
                        self.publish(i, out.messages);
                    }
                }
            }
            self.accept_requests()?;
            self.join_groups()?;
            ensure!(
                self.inflight.len() <= MAX_INFLIGHT,
                "in-flight queue over {MAX_INFLIGHT}"
            );
        }
    }

    /// Faults are spread evenly over the rounds (which node and how long is random).
    fn maybe_fault(&mut self, round: u32) {
        if !self.faults {
            return;
        }
        let rounds = self.cfg.rounds.max(1);
        let due = |count: u32| (round + 1) * count / rounds > round * count / rounds;
        if due(self.cfg.partitions) {
            for n in &mut self.nodes {
                n.side = self.rng.random_bool(0.5);
            }
            let heal = self.rng.random_range(60_000..=600_000);
            self.partitioned_until = Some(self.now + heal);
            self.report.partitions += 1;
        }
        if due(self.cfg.crashes) {
            let live: Vec<usize> = (0..self.nodes.len())
                .filter(|&i| self.nodes[i].live.is_some())
                .collect();
            if !live.is_empty() {
                let i = live[self.rng.random_range(0..live.len())];
                let down = self.rng.random_range(10_000..=900_000);
                self.crash(i, down);
            }
        }
    }

    /// The contact pairs: a ring, plus chords when there are enough nodes, plus every
    /// two members of a group.
    fn pairs(&self) -> Vec<(usize, usize)> {
        let n = self.nodes.len();
        let mut p = BTreeSet::new();
        for g in 0..self.cfg.groups {
            let m = self.group_members(g);
            for &a in &m {
                for &b in &m {
                    if a < b {
                        p.insert((a, b));
                    }
                }
            }
        }
        for i in 0..n {
            if n > 1 {
                let j = (i + 1) % n;
                p.insert((i.min(j), i.max(j)));
            }
            if n > 4 {
                let j = (i + n / 2) % n;
                p.insert((i.min(j), i.max(j)));
            }
        }
        p.into_iter().filter(|(a, b)| a != b).collect()
    }

    /// Runs the whole scenario and checks the invariants.
    pub fn run(mut self) -> Result<Report> {
        let pairs = self.pairs();
        // Contacts: a adds b with b's bundle (a contact code) and sends a request.
        for &(a, b) in &pairs {
            let kb = self.nodes[b].key;
            let bundle = Some(self.bundles[b].clone());
            self.command(a, Command::AddContact { key: kb, bundle })?;
            self.command(
                a,
                Command::SendContactRequest {
                    to: kb,
                    intro: format!("{a} here"),
                },
            )?;
            self.run_until(self.now + 2_000)?;
        }
        let groups = self.form_groups()?;
        // Texts, under faults, from live senders only.
        let mut sent: BTreeMap<(usize, usize), u64> = BTreeMap::new();
        let mut group_sent = vec![0u64; groups.len()];
        for round in 0..self.cfg.rounds {
            self.maybe_fault(round);
            for &(a, b) in &pairs {
                for (from, to) in [(a, b), (b, a)] {
                    let mutual = self.nodes[from].live.as_ref().is_some_and(|l| {
                        l.chat
                            .store()
                            .contact(&self.nodes[to].key)
                            .is_some_and(|c| c.is_mutual())
                    });
                    if !mutual {
                        continue;
                    }
                    let chat = ChatId::OneToOne(self.nodes[to].key);
                    self.command(
                        from,
                        Command::SendText {
                            chat,
                            text: format!("{from}->{to} #{round}"),
                            reply_to: None,
                        },
                    )?;
                    *sent.entry((from, to)).or_default() += 1;
                    self.report.texts += 1;
                }
            }
            for (g, (id, members)) in groups.iter().enumerate() {
                for &from in members {
                    if self.nodes[from].live.is_none() {
                        continue;
                    }
                    self.command(
                        from,
                        Command::SendText {
                            chat: ChatId::Group(id.clone()),
                            text: format!("group {g}: {from} #{round}"),
                            reply_to: None,
                        },
                    )?;
                    group_sent[g] += 1;
                    self.report.texts += 1;
                    self.report.group_texts += 1;
                }
            }
            let step = self.rng.random_range(1_000..=30_000);
            self.run_until(self.now + step)?;
        }
        // Heal everything and let retransmission finish.
        self.faults = false;
        self.partitioned_until = None;
        let pending: Vec<(u64, usize)> = self.restarts.iter().copied().collect();
        for (_, i) in pending {
            self.restart(i)?;
        }
        self.restarts.clear();
        self.run_until(self.now + 7 * 24 * 3_600_000)?;

        self.check(&pairs, &sent, "after the faults")?;
        self.check_groups(&groups, &group_sent, "after the faults")?;
        // No session is out of step: one more text each way on every pair arrives.
        for &(a, b) in &pairs {
            for (from, to) in [(a, b), (b, a)] {
                let chat = ChatId::OneToOne(self.nodes[to].key);
                self.command(
                    from,
                    Command::SendText {
                        chat,
                        text: format!("{from}->{to} final"),
                        reply_to: None,
                    },
                )?;
                *sent.entry((from, to)).or_default() += 1;
            }
        }
        for (g, (id, members)) in groups.iter().enumerate() {
            for &from in members {
                self.command(
                    from,
                    Command::SendText {
                        chat: ChatId::Group(id.clone()),
                        text: format!("group {g}: {from} final"),
                        reply_to: None,
                    },
                )?;
                group_sent[g] += 1;
            }
        }
        self.run_until(self.now + 24 * 3_600_000)?;
        self.check(&pairs, &sent, "after the final texts")?;
        self.check_groups(&groups, &group_sent, "after the final texts")?;
        self.report.virtual_ms = self.now - T0;
        Ok(self.report)
    }

    /// Every member shows the same group messages in the same order, as many as were
    /// sent, and every member other than its sender received each exactly once.
    fn check_groups(
        &self,
        groups: &[(GroupId, Vec<usize>)],
        sent: &[u64],
        when: &str,
    ) -> Result<()> {
        for (g, (id, members)) in groups.iter().enumerate() {
            let mut first: Option<Vec<MessageId>> = None;
            for &m in members {
                let l = self.nodes[m]
                    .live
                    .as_ref()
                    .context("node down at the end")?;
                ensure!(
                    l.chat.store().group(id).is_some(),
                    "{when}: node {m} lost group {g}"
                );
                let ids: Vec<MessageId> = l
                    .chat
                    .messages(&ChatId::Group(id.clone()))
                    .iter()
                    .map(|x| x.id)
                    .collect();
                ensure!(
                    ids.len() as u64 == sent[g],
                    "{when}: node {m} holds {} messages of group {g}, {} were sent",
                    ids.len(),
                    sent[g]
                );
                for x in &ids {
                    let sender = l
                        .chat
                        .store()
                        .message(x)
                        .context("message vanished")?
                        .sender;
                    let n = self.nodes[m].received.get(x).copied().unwrap_or(0);
                    let want = u32::from(sender != self.nodes[m].key);
                    ensure!(
                        n == want,
                        "{when}: node {m} received group {g} message {} {n} times",
                        x.to_hex()
                    );
                }
                match &first {
                    None => first = Some(ids),
                    Some(f) => ensure!(
                        *f == ids,
                        "{when}: members {} and {m} of group {g} show different messages or order",
                        members[0]
                    ),
                }
            }
        }
        Ok(())
    }

    fn check(
        &mut self,
        pairs: &[(usize, usize)],
        sent: &BTreeMap<(usize, usize), u64>,
        when: &str,
    ) -> Result<()> {
        for &(a, b) in pairs {
            let la = self.nodes[a]
                .live
                .as_ref()
                .context("node down at the end")?;
            let lb = self.nodes[b]
                .live
                .as_ref()
                .context("node down at the end")?;
            let (ka, kb) = (self.nodes[a].key, self.nodes[b].key);
            ensure!(
                la.chat.store().contact(&kb).is_some_and(|c| c.is_mutual())
                    && lb.chat.store().contact(&ka).is_some_and(|c| c.is_mutual()),
                "{when}: nodes {a} and {b} never became mutual contacts"
            );
            let va: Vec<MessageId> = la
                .chat
                .messages(&ChatId::OneToOne(kb))
                .iter()
                .map(|m| m.id)
                .collect();
            let vb: Vec<MessageId> = lb
                .chat
                .messages(&ChatId::OneToOne(ka))
                .iter()
                .map(|m| m.id)
                .collect();
            ensure!(
                va == vb,
                "{when}: nodes {a} and {b} show different messages or order ({} vs {})",
                va.len(),
                vb.len()
            );
            let want = 1
                + sent.get(&(a, b)).copied().unwrap_or(0)
                + sent.get(&(b, a)).copied().unwrap_or(0);
            ensure!(
                va.len() as u64 == want,
                "{when}: pair {a}-{b} holds {} messages, {want} were sent",
                va.len()
            );
            for id in &va {
                let m = la.chat.store().message(id).context("message vanished")?;
                let receiver = if m.sender == ka { b } else { a };
                let n = self.nodes[receiver].received.get(id).copied().unwrap_or(0);
                ensure!(
                    n == 1,
                    "{when}: node {receiver} received message {} {n} times",
                    id.to_hex()
                );
            }
        }
        let mut dup = 0;
        for (i, n) in self.nodes.iter().enumerate() {
            let l = n.live.as_ref().context("node down at the end")?;
            ensure!(
                l.chat.outstanding() == 0,
                "{when}: node {i} still has {} unacknowledged messages",
                l.chat.outstanding()
            );
            ensure!(
                l.chat.store().outbox().is_empty(),
                "{when}: node {i}'s stored outbox is not empty"
            );
            let bytes: usize = l
                .sessions
                .store()
                .load_sessions()
                .map_err(|e| anyhow!("{e:?}"))?
                .iter()
                .map(|(_, s)| s.len())
                .sum::<usize>()
                + l.sessions
                    .store()
                    .load_peers()
                    .map_err(|e| anyhow!("{e:?}"))?
                    .iter()
                    .map(|(_, s)| s.len())
                    .sum::<usize>();
            ensure!(
                bytes <= MAX_SESSION_BYTES_PER_NODE,
                "{when}: node {i} holds {bytes} bytes of session records"
            );
            self.report.max_session_bytes = self.report.max_session_bytes.max(bytes);
            dup += l.chat.stats().duplicates;
        }
        self.report.duplicates = dup;
        Ok(())
    }
}

fn ns(ms: u64) -> i64 {
    (ms as i64).saturating_mul(1_000_000)
}

/// The fixed scenarios CI runs: calm, 20 % loss with duplicates and reordering,
/// partitions, crashes, skew, and all at once, each over fixed seeds.
pub fn ci_scenarios() -> Vec<(&'static str, SimConfig)> {
    let base = SimConfig::calm(1);
    let mut v = vec![(
        "calm",
        SimConfig {
            seed: 1,
            ..base.clone()
        },
    )];
    for seed in [2, 3, 4] {
        v.push((
            "20% loss, 10% dup, reorder",
            SimConfig {
                seed,
                nodes: 6,
                rounds: 10,
                loss: 0.2,
                dup: 0.1,
                max_delay_ms: 20_000,
                ..base.clone()
            },
        ));
    }
    for seed in [5, 6] {
        v.push((
            "partitions that heal",
            SimConfig {
                seed,
                nodes: 6,
                rounds: 10,
                loss: 0.05,
                max_delay_ms: 2_000,
                partitions: 3,
                ..base.clone()
            },
        ));
    }
    for seed in [7, 8] {
        v.push((
            "crashes, restart from the stores",
            SimConfig {
                seed,
                nodes: 6,
                rounds: 10,
                loss: 0.05,
                max_delay_ms: 2_000,
                crashes: 4,
                ..base.clone()
            },
        ));
    }
    v.push((
        "clock skew",
        SimConfig {
            seed: 9,
            nodes: 4,
            max_skew_ms: 60_000,
            ..base.clone()
        },
    ));
    for seed in [10, 11, 12] {
        v.push((
            "20% loss, dup, reorder, partitions, crashes, skew",
            SimConfig {
                seed,
                nodes: 8,
                rounds: 10,
                loss: 0.2,
                dup: 0.1,
                max_delay_ms: 10_000,
                partitions: 2,
                crashes: 3,
                max_skew_ms: 30_000,
                groups: 2,
                lose_chat_store_on_crash: false,
            },
        ));
    }
    v
}

/// Runs one configuration; an error names the seed to replay.
pub fn run_one(cfg: &SimConfig) -> Result<Report> {
    let seed = cfg.seed;
    Sim::new(cfg.clone())
        .and_then(Sim::run)
        .with_context(|| format!("sim failed; replay with: cargo xtask sim {}", args_of(cfg)))
        .map_err(|e| anyhow!("seed {seed}: {e:#}"))
}

fn args_of(c: &SimConfig) -> String {
    format!(
        "--seed {} --nodes {} --rounds {} --loss {} --dup {} --delay {} --partitions {} --crashes {} --skew {} --groups {}",
        c.seed,
        c.nodes,
        c.rounds,
        c.loss,
        c.dup,
        c.max_delay_ms,
        c.partitions,
        c.crashes,
        c.max_skew_ms,
        c.groups
    )
}

/// `cargo xtask sim ...`.
pub fn main(args: &[String]) -> Result<()> {
    let mut cfg = SimConfig::calm(1);
    let mut ci = false;
    let mut seeds = 1u64;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = || {
            it.next()
                .with_context(|| format!("{a} needs a value"))
                .cloned()
        };
        match a.as_str() {
            "--ci" => ci = true,
            "--seed" => cfg.seed = val()?.parse()?,
            "--seeds" => seeds = val()?.parse()?,
            "--nodes" => cfg.nodes = val()?.parse()?,
            "--rounds" => cfg.rounds = val()?.parse()?,
            "--loss" => cfg.loss = val()?.parse()?,
            "--dup" => cfg.dup = val()?.parse()?,
            "--delay" => cfg.max_delay_ms = val()?.parse()?,
            "--partitions" => cfg.partitions = val()?.parse()?,
            "--crashes" => cfg.crashes = val()?.parse()?,
            "--skew" => cfg.max_skew_ms = val()?.parse()?,
            "--groups" => cfg.groups = val()?.parse()?,
            other => bail!("unknown sim option {other:?}"),
        }
    }
    ensure!(cfg.nodes >= 2, "--nodes must be at least 2");
    ensure!((0.0..1.0).contains(&cfg.loss), "--loss must be in [0, 1)");
    ensure!((0.0..=1.0).contains(&cfg.dup), "--dup must be in [0, 1]");
    let runs: Vec<(String, SimConfig)> = if ci {
        ci_scenarios()
            .into_iter()
            .map(|(n, c)| (n.to_owned(), c))
            .collect()
    } else {
        (0..seeds)
            .map(|k| {
                let c = SimConfig {
                    seed: cfg.seed + k,
                    ..cfg.clone()
                };
                (args_of(&c), c)
            })
            .collect()
    };
    let start = std::time::Instant::now();
    for (name, c) in &runs {
        let t = std::time::Instant::now();
        let r = run_one(c)?;
        eprintln!(
            "sim ok: {name} (seed {}): {} nodes, {} groups, {} texts ({} in groups), {} published, {} dropped, {} duplicates dropped, {} partitions, {} crashes, {:.1} h virtual, max {} session bytes/node, max {} in flight, {:.1}s",
            c.seed,
            c.nodes,
            r.groups,
            r.texts,
            r.group_texts,
            r.published,
            r.dropped,
            r.duplicates,
            r.partitions,
            r.crashes,
            r.virtual_ms as f64 / 3_600_000.0,
            r.max_session_bytes,
            r.max_inflight,
            t.elapsed().as_secs_f64()
        );
    }
    eprintln!(
        "sim: {} runs, every invariant held, {:.1}s",
        runs.len(),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
