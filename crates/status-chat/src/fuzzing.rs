//! Fuzzing entry points, shared by the cargo-fuzz targets in `fuzz/` and the corpus
//! replay in `tests/fuzz_corpus.rs`. Not a stable API.
//!
//! Each function panics only when the property it checks is broken: arbitrary bytes
//! never panic, and never change the chat state unless they carry a valid signature
//! inside a valid session. [`interaction`] runs three endpoints through a script of
//! commands, deliveries in any order, drops, duplicates, timeouts and restarts.
#![allow(clippy::panic)]

use rand::SeedableRng;
use rand::rngs::ChaCha20Rng;
use status_identity::{IdentityKeyPair, IdentityPublicKey};
use status_sessions::{Config, DeviceInfo, MemoryStore as SessionMemory, SessionManager};

use crate::chat::{Chat, ChatConfig, Command, SessionLayer, WakuOut};
use crate::group::{GroupChat, SignedGroupEvent};
use crate::ids::{ChatId, GroupId};
use crate::payload::{ApplicationMessage, open};
use crate::reliability::MvdsPayload;
use crate::sessions::X3dhSessions;
use crate::store::{ChatStore, MemoryStore};

const T0: u64 = 1_700_000_000_000;

type Node = (Chat<MemoryStore>, X3dhSessions<SessionMemory>);

fn node(rng: &mut ChaCha20Rng) -> Option<Node> {
    let id = IdentityKeyPair::generate(rng);
    let copy = IdentityKeyPair::from_secret_bytes(&id.to_secret_bytes());
    let (manager, changes) = SessionManager::new(
        rng,
        copy,
        Config::default(),
        DeviceInfo::default(),
        (T0 * 1_000_000) as i64,
    )
    .ok()?;
    let mut store = SessionMemory::new();
    changes.apply(&mut store).ok()?;
    Some((
        Chat::new(id, ChatConfig::default(), MemoryStore::new()),
        X3dhSessions::new(manager, store),
    ))
}

fn deliver(rng: &mut ChaCha20Rng, to: &mut Node, msgs: &[WakuOut]) -> Vec<WakuOut> {
    let mut out = Vec::new();
    for m in msgs {
        let o = to.0.handle_waku(
            rng,
            T0,
            &mut to.1,
            &m.pubsub_topic,
            &m.content_topic,
            &m.payload,
        );
        out.extend(o.messages);
    }
    out
}

/// Alice, a mutual contact Bob (sessions confirmed both ways), a group of the two, and a
/// stranger Carol. Inputs are fed to Alice.
pub struct World {
    rng: ChaCha20Rng,
    alice: Node,
    bob: IdentityPublicKey,
    carol: IdentityPublicKey,
    group: Option<GroupId>,
    /// Real Waku messages Bob sent to Alice while the world was built (seed inputs).
    pub recorded: Vec<WakuOut>,
    /// A real plaintext (MVDS payload with a signed text) from Bob (seed input).
    pub recorded_plaintext: Vec<u8>,
}

impl World {
    /// Builds the world (deterministic).
    pub fn new() -> Option<Self> {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let mut alice = node(&mut rng)?;
        let mut bob = node(&mut rng)?;
        let carol = *IdentityKeyPair::generate(&mut rng).public_key();
        let (ka, kb) = (*alice.0.public_key(), *bob.0.public_key());
        let bundle = Some(bob.1.bundle_bytes());
        alice
            .0
            .handle_command(
                &mut rng,
                T0,
                &mut alice.1,
                Command::AddContact { key: kb, bundle },
            )
            .ok()?;
        let o = alice
            .0
            .handle_command(
                &mut rng,
                T0,
                &mut alice.1,
                Command::SendContactRequest {
                    to: kb,
                    intro: "hi".into(),
                },
            )
            .ok()?;
        let back = deliver(&mut rng, &mut bob, &o.messages);
        let mut recorded = back.clone();
        deliver(&mut rng, &mut alice, &back);
        let o = bob
            .0
            .handle_command(&mut rng, T0, &mut bob.1, Command::AcceptContact(ka))
            .ok()?;
        recorded.extend(o.messages.iter().cloned());
        let acks = deliver(&mut rng, &mut alice, &o.messages);
        deliver(&mut rng, &mut bob, &acks);
        let o = bob
            .0
            .handle_command(
                &mut rng,
                T0,
                &mut bob.1,
                Command::SendText {
                    chat: ChatId::OneToOne(ka),
                    text: "hello".into(),
                    reply_to: None,
                },
            )
            .ok()?;
        recorded.extend(o.messages.iter().cloned());
        let acks = deliver(&mut rng, &mut alice, &o.messages);
        deliver(&mut rng, &mut bob, &acks);
        let o = alice
            .0
            .handle_command(
                &mut rng,
                T0,
                &mut alice.1,
                Command::CreateGroup {
                    name: "g".into(),
                    members: vec![kb],
                },
            )
            .ok()?;
        let acks = deliver(&mut rng, &mut bob, &o.messages);
        recorded.extend(acks.iter().cloned());
        deliver(&mut rng, &mut alice, &acks);
        let group = alice.0.store().groups().first().map(|g| g.id().clone());
        let recorded_plaintext = {
            let msg = ApplicationMessage::Chat(crate::payload::ChatMessage {
                clock: T0 + 10,
                timestamp_ms: T0,
                text: "seed".into(),
                response_to: None,
                chat_id: crate::ids::key_to_hex(&ka),
                message_type: crate::payload::MessageType::OneToOne,
                content: crate::payload::ContentType::Text,
                display_name: String::new(),
            });
            let bob_id = IdentityKeyPair::generate(&mut ChaCha20Rng::seed_from_u64(0));
            // Signed by someone else than Bob: must not be accepted as Bob's.
            let signed = crate::payload::seal(&bob_id, &msg).ok()?;
            MvdsPayload {
                acks: vec![],
                messages: vec![crate::reliability::MvdsMessage {
                    group_id: vec![1; 32],
                    timestamp: 1,
                    body: signed.wire,
                }],
            }
            .encode()
        };
        Some(World {
            rng,
            alice,
            bob: kb,
            carol,
            group,
            recorded,
            recorded_plaintext,
        })
    }

    fn snapshot(&self) -> (MemoryStore, usize, Option<u64>) {
        (
            self.alice.0.store().clone(),
            self.alice.0.outstanding(),
            self.alice.0.poll_timeout(),
        )
    }

    /// The Waku topics fed by [`World::feed_waku`]: every topic Alice subscribes to (her
    /// partitioned, contact-code and self topics and the negotiated topic with Bob), an
    /// unknown topic, and another pubsub topic.
    pub fn topics(&self) -> Vec<(String, String)> {
        let mut t = self.alice.1.subscriptions();
        t.push((
            "/waku/2/rs/16/32".into(),
            "/status-rs/1/unknown/proto".into(),
        ));
        t.push(("/waku/2/rs/16/64".into(), t[0].1.clone()));
        t
    }

    /// Feeds `data[1..]` as a Waku payload on the topic chosen by `data[0]`; checks that
    /// nothing panics and that Alice's chat state does not change (the session layer
    /// cannot open forged bytes).
    pub fn feed_waku(&mut self, data: &[u8]) {
        let Some((&sel, payload)) = data.split_first() else {
            return;
        };
        let topics = self.topics();
        let (ps, ct) = &topics[usize::from(sel) % topics.len()];
        let before = self.snapshot();
        let out =
            self.alice
                .0
                .handle_waku(&mut self.rng, T0 + 1, &mut self.alice.1, ps, ct, payload);
        let after = self.snapshot();
        assert!(
            out.events.is_empty(),
            "events from arbitrary bytes: {:?}",
            out.events
        );
        assert!(before == after, "chat state changed by arbitrary bytes");
    }

    /// Feeds `data[1..]` as a plaintext that a session authenticated as coming from Bob
    /// (mutual contact), Carol (stranger) or Alice herself, chosen by `data[0]`. Unless a
    /// wrapper inside carries a valid signature of that sender, nothing may change.
    pub fn feed_plaintext(&mut self, data: &[u8]) {
        let Some((&sel, plaintext)) = data.split_first() else {
            return;
        };
        let sender = match sel % 3 {
            0 => self.bob,
            1 => self.carol,
            _ => *self.alice.0.public_key(),
        };
        let signed = match MvdsPayload::decode(plaintext, 256) {
            Some(p) => p.messages.iter().any(|m| open(&sender, &m.body).is_ok()),
            None => open(&sender, plaintext).is_ok(),
        };
        let before = self.snapshot();
        let _ = self
            .alice
            .0
            .handle_plaintext_for_testing(T0 + 1, sender, plaintext);
        if !signed {
            assert!(
                before == self.snapshot(),
                "chat state changed without a valid signature"
            );
        }
    }

    /// Decodes `data` with every peer-facing decoder (wrapper, MVDS payload, group event,
    /// each inner message type): none may panic.
    pub fn decode(&self, data: &[u8]) {
        let _ = open(&self.bob, data);
        let _ = MvdsPayload::decode(data, 256);
        if let Some(g) = &self.group {
            let _ = SignedGroupEvent::from_bytes(g, data);
            if let Some(group) = self.alice.0.store().group(g) {
                let mut copy: GroupChat = group;
                if let Ok(ApplicationMessage::Membership(u)) =
                    ApplicationMessage::decode_inner(3, data)
                {
                    let _ = copy.merge(&u);
                }
            }
        }
        for t in [1, 2, 3, 22, 29, 31, 46, 47, 999] {
            let _ = ApplicationMessage::decode_inner(t, data);
        }
    }
}

/// cargo-fuzz target `incoming`: arbitrary bytes as a Waku payload on each topic.
pub fn incoming(data: &[u8]) {
    if let Some(mut w) = World::new() {
        w.feed_waku(data);
    }
}

/// cargo-fuzz target `plaintext`: arbitrary bytes as an authenticated plaintext.
pub fn plaintext(data: &[u8]) {
    if let Some(mut w) = World::new() {
        w.feed_plaintext(data);
    }
}

/// cargo-fuzz target `decode`: arbitrary bytes through every decoder.
pub fn decode(data: &[u8]) {
    if let Some(w) = World::new() {
        w.decode(data);
    }
}

// ---------------------------------------------------------------------------------
// Interaction: three chat endpoints driven by a script.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use crate::chat::Event;
use crate::group::GroupEventKind;
use crate::ids::MessageId;
use crate::payload::Emoji;
use crate::store::StoreChange;

/// What a node keeps across a restart: its identity and its two stores.
#[derive(Clone)]
struct Saved {
    secret: [u8; 32],
    chat: MemoryStore,
    sessions: SessionMemory,
}

struct Trio {
    saved: [Saved; 3],
    group: GroupId,
}

fn restore(s: &Saved) -> Option<Node> {
    let id = IdentityKeyPair::from_secret_bytes(&s.secret);
    let manager = SessionManager::restore(
        IdentityKeyPair::from_secret_bytes(&s.secret),
        Config::default(),
        &s.sessions,
        (T0 * 1_000_000) as i64,
    )
    .ok()?;
    Some((
        Chat::new(id, ChatConfig::default(), s.chat.clone()),
        X3dhSessions::new(manager, s.sessions.clone()),
    ))
}

fn save(secret: [u8; 32], n: &Node) -> Saved {
    Saved {
        secret,
        chat: n.0.store().clone(),
        sessions: n.1.store().clone(),
    }
}

/// Delivers every message in flight to every other node until nothing is left.
fn settle(rng: &mut ChaCha20Rng, nodes: &mut [Node], mut flight: Vec<(usize, WakuOut)>) {
    for _ in 0..64 {
        if flight.is_empty() {
            return;
        }
        for (from, m) in core::mem::take(&mut flight) {
            for (to, n) in nodes.iter_mut().enumerate() {
                if to != from {
                    for o in deliver(rng, n, core::slice::from_ref(&m)) {
                        flight.push((to, o));
                    }
                }
            }
        }
    }
}

fn build_trio() -> Option<Trio> {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let secrets = [[0x0a; 32], [0x0b; 32], [0x0c; 32]];
    let mut nodes = Vec::new();
    for s in &secrets {
        let id = IdentityKeyPair::from_secret_bytes(s);
        let (manager, changes) = SessionManager::new(
            &mut rng,
            IdentityKeyPair::from_secret_bytes(s),
            Config::default(),
            DeviceInfo::default(),
            (T0 * 1_000_000) as i64,
        )
        .ok()?;
        let mut store = SessionMemory::new();
        changes.apply(&mut store).ok()?;
        nodes.push((
            Chat::new(id, ChatConfig::default(), MemoryStore::new()),
            X3dhSessions::new(manager, store),
        ));
    }
    let keys: Vec<IdentityPublicKey> = nodes.iter().map(|n| *n.0.public_key()).collect();
    for (a, b) in [(0, 1), (0, 2), (1, 2)] {
        let bundle = Some(nodes[b].1.bundle_bytes());
        let n = &mut nodes[a];
        n.0.handle_command(
            &mut rng,
            T0,
            &mut n.1,
            Command::AddContact {
                key: keys[b],
                bundle,
            },
        )
        .ok()?;
        let o =
            n.0.handle_command(
                &mut rng,
                T0,
                &mut n.1,
                Command::SendContactRequest {
                    to: keys[b],
                    intro: "hi".into(),
                },
            )
            .ok()?;
        settle(
            &mut rng,
            &mut nodes,
            o.messages.into_iter().map(|m| (a, m)).collect(),
        );
        let n = &mut nodes[b];
        let o =
            n.0.handle_command(&mut rng, T0, &mut n.1, Command::AcceptContact(keys[a]))
                .ok()?;
        settle(
            &mut rng,
            &mut nodes,
            o.messages.into_iter().map(|m| (b, m)).collect(),
        );
    }
    let n = &mut nodes[0];
    let o =
        n.0.handle_command(
            &mut rng,
            T0,
            &mut n.1,
            Command::CreateGroup {
                name: "g".into(),
                members: vec![keys[1], keys[2]],
            },
        )
        .ok()?;
    settle(
        &mut rng,
        &mut nodes,
        o.messages.into_iter().map(|m| (0, m)).collect(),
    );
    let group = nodes[0].0.store().groups().first()?.id().clone();
    for j in [1, 2] {
        let n = &mut nodes[j];
        let o =
            n.0.handle_command(
                &mut rng,
                T0,
                &mut n.1,
                Command::Group {
                    id: group.clone(),
                    event: GroupEventKind::MemberJoined,
                },
            )
            .ok()?;
        settle(
            &mut rng,
            &mut nodes,
            o.messages.into_iter().map(|m| (j, m)).collect(),
        );
    }
    let saved = [
        save(secrets[0], &nodes[0]),
        save(secrets[1], &nodes[1]),
        save(secrets[2], &nodes[2]),
    ];
    Some(Trio { saved, group })
}

fn trio() -> Option<&'static Trio> {
    static FIXTURE: OnceLock<Option<Trio>> = OnceLock::new();
    FIXTURE.get_or_init(build_trio).as_ref()
}

/// What the authors did, to check what the nodes show.
#[derive(Default)]
struct Truth {
    /// Message id → (author, every text the author gave it, deleted by the author).
    messages: BTreeMap<MessageId, (IdentityPublicKey, BTreeSet<String>, bool)>,
    /// (message, reactor, emoji) reactions ever sent.
    reactions: BTreeSet<(MessageId, IdentityPublicKey, Emoji)>,
    /// (node, message) pairs reported received.
    received: BTreeSet<(usize, MessageId)>,
    /// A delivery failed (retries exhausted): convergence is not expected.
    failed: bool,
}

const EMOJIS: [Emoji; 6] = [
    Emoji::Love,
    Emoji::ThumbsUp,
    Emoji::ThumbsDown,
    Emoji::Laugh,
    Emoji::Sad,
    Emoji::Angry,
];

/// Most commands in one script.
const MAX_CHAT_COMMANDS: usize = 40;

/// cargo-fuzz target `interaction`: Alice, Bob and Carol (mutual contacts, all three in a
/// group Alice made) run a script read from `data`, two bytes per step: a node sends a
/// text to a 1:1 chat or the group, edits, deletes or reacts, renames the group (or
/// Alice removes and re-adds Carol); a message in flight is delivered to every other node,
/// dropped, or delivered again; time passes (retransmissions); a node restarts from its
/// stores. Asserts: nothing panics; every stored message and reaction was made by the
/// author it names, with a text the author gave it, deleted only if the author deleted
/// it; no node reports a message received twice; and once everything is delivered (with
/// retransmissions, no losses), both sides of each 1:1 chat hold the same messages with
/// the same text and deletion state, unless a delivery was reported failed.
pub fn interaction(data: &[u8]) {
    let Some(t) = trio() else {
        panic!("the chat fixture must build");
    };
    let mut rng = ChaCha20Rng::seed_from_u64(u64::from(data.first().copied().unwrap_or(0)));
    let mut nodes: Vec<Node> = Vec::new();
    for s in &t.saved {
        let Some(n) = restore(s) else {
            panic!("a fixture node does not restore");
        };
        nodes.push(n);
    }
    let keys: Vec<IdentityPublicKey> = nodes.iter().map(|n| *n.0.public_key()).collect();
    let mut truth = Truth::default();
    let mut flight: Vec<(usize, WakuOut)> = Vec::new();
    let mut delivered: Vec<(usize, WakuOut)> = Vec::new();
    let mut now = T0 + 1_000;
    let mut commands = 0usize;
    let mut bytes = data.iter().copied().skip(1);
    while let Some(op) = bytes.next() {
        let arg = usize::from(bytes.next().unwrap_or(0));
        now += 100;
        let d = arg % 3;
        match op % 10 {
            0..=4 => {
                if commands >= MAX_CHAT_COMMANDS {
                    continue;
                }
                commands += 1;
                let mine: Vec<MessageId> = truth
                    .messages
                    .iter()
                    .filter(|(_, v)| v.0 == keys[d])
                    .map(|(k, _)| *k)
                    .collect();
                let text = format!("t{commands}");
                let command = match op % 10 {
                    0 => Command::SendText {
                        chat: if arg / 3 % 3 == 0 {
                            ChatId::Group(t.group.clone())
                        } else {
                            ChatId::OneToOne(keys[(d + 1 + arg / 3 % 2) % 3])
                        },
                        text: text.clone(),
                        reply_to: truth.messages.keys().nth(arg / 9).copied(),
                    },
                    1 if !mine.is_empty() => Command::Edit {
                        id: mine[arg / 3 % mine.len()],
                        text: text.clone(),
                    },
                    2 if !mine.is_empty() => Command::Delete(mine[arg / 3 % mine.len()]),
                    3 if !truth.messages.is_empty() => Command::React {
                        id: *truth
                            .messages
                            .keys()
                            .nth(arg / 3 % truth.messages.len())
                            .unwrap_or(&MessageId([0; 32])),
                        emoji: EMOJIS[arg / 7 % EMOJIS.len()],
                        retract: arg & 0x80 != 0,
                    },
                    4 => Command::Group {
                        id: t.group.clone(),
                        event: match (d, arg / 3 % 3) {
                            (0, 1) => GroupEventKind::MemberRemoved(keys[2]),
                            (0, 2) => GroupEventKind::MembersAdded(vec![keys[2]]),
                            _ => GroupEventKind::NameChanged(text.clone()),
                        },
                    },
                    _ => continue,
                };
                let n = &mut nodes[d];
                let Ok(o) = n.0.handle_command(&mut rng, now, &mut n.1, command.clone()) else {
                    continue;
                };
                match &command {
                    Command::SendText { .. } => {
                        for c in &o.changes {
                            if let StoreChange::Message(m) = c
                                && m.sender == keys[d]
                                && !truth.messages.contains_key(&m.id)
                            {
                                let texts = BTreeSet::from([text.clone()]);
                                truth.messages.insert(m.id, (keys[d], texts, false));
                            }
                        }
                    }
                    Command::Edit { id, .. } => {
                        if let Some(e) = truth.messages.get_mut(id) {
                            e.1.insert(text.clone());
                        }
                    }
                    Command::Delete(id) => {
                        if let Some(e) = truth.messages.get_mut(id) {
                            e.2 = true;
                        }
                    }
                    Command::React { id, emoji, .. } => {
                        truth.reactions.insert((*id, keys[d], *emoji));
                    }
                    _ => {}
                }
                note(&mut truth, d, &o.events);
                flight.extend(o.messages.into_iter().map(|m| (d, m)));
            }
            5 | 6 => {
                if flight.is_empty() {
                    continue;
                }
                let (from, m) = flight.remove(arg % flight.len());
                if op % 10 == 6 {
                    // Dropped.
                    continue;
                }
                broadcast(&mut rng, now, &mut nodes, &mut truth, &mut flight, from, &m);
                delivered.push((from, m));
            }
            7 => {
                if delivered.is_empty() {
                    continue;
                }
                let (from, m) = delivered[arg % delivered.len()].clone();
                broadcast(&mut rng, now, &mut nodes, &mut truth, &mut flight, from, &m);
            }
            8 => {
                now += 40_000 * (1 + arg as u64 % 8);
                timeouts(&mut rng, now, &mut nodes, &mut truth, &mut flight);
            }
            _ => {
                let s = save(t.saved[d].secret, &nodes[d]);
                let Some(n) = restore(&s) else {
                    panic!("a node does not restore from its own stores");
                };
                nodes[d] = n;
            }
        }
        check_authentic(&nodes, &truth, &keys);
    }
    // Everything still in flight arrives; retransmissions fill the gaps.
    for _ in 0..16 {
        for (from, m) in core::mem::take(&mut flight) {
            broadcast(&mut rng, now, &mut nodes, &mut truth, &mut flight, from, &m);
        }
        if flight.is_empty() && nodes.iter().all(|n| n.0.outstanding() == 0) {
            break;
        }
        now += 11 * 60 * 1_000;
        timeouts(&mut rng, now, &mut nodes, &mut truth, &mut flight);
    }
    check_authentic(&nodes, &truth, &keys);
    if truth.failed || !flight.is_empty() {
        return;
    }
    for (a, b) in [(0, 1), (0, 2), (1, 2)] {
        let view = |x: usize, y: usize| -> Vec<(MessageId, bool, String)> {
            nodes[x]
                .0
                .messages(&ChatId::OneToOne(keys[y]))
                .into_iter()
                .filter(|m| m.content == crate::payload::ContentType::Text)
                .map(|m| {
                    (
                        m.id,
                        m.deleted,
                        if m.deleted { String::new() } else { m.text },
                    )
                })
                .collect()
        };
        let (va, vb) = (view(a, b), view(b, a));
        assert!(
            va == vb,
            "1:1 chat {a}-{b} did not converge:\n{va:?}\n{vb:?}"
        );
    }
}

fn note(truth: &mut Truth, node: usize, events: &[Event]) {
    for e in events {
        match e {
            Event::MessageReceived { id, .. } => {
                assert!(
                    truth.received.insert((node, *id)),
                    "node {node} received a message twice"
                );
            }
            Event::DeliveryFailed { .. } => truth.failed = true,
            _ => {}
        }
    }
}

fn broadcast(
    rng: &mut ChaCha20Rng,
    now: u64,
    nodes: &mut [Node],
    truth: &mut Truth,
    flight: &mut Vec<(usize, WakuOut)>,
    from: usize,
    m: &WakuOut,
) {
    for (to, n) in nodes.iter_mut().enumerate() {
        if to == from {
            continue;
        }
        let o = n.0.handle_waku(
            rng,
            now,
            &mut n.1,
            &m.pubsub_topic,
            &m.content_topic,
            &m.payload,
        );
        note(truth, to, &o.events);
        flight.extend(o.messages.into_iter().map(|x| (to, x)));
    }
}

fn timeouts(
    rng: &mut ChaCha20Rng,
    now: u64,
    nodes: &mut [Node],
    truth: &mut Truth,
    flight: &mut Vec<(usize, WakuOut)>,
) {
    for (d, n) in nodes.iter_mut().enumerate() {
        let o = n.0.handle_timeout(rng, now, &mut n.1);
        note(truth, d, &o.events);
        flight.extend(o.messages.into_iter().map(|x| (d, x)));
    }
}

/// Every message a node stores was made by the author it names, with a text that author
/// gave it, deleted only if the author deleted it; every reaction was sent by its reactor.
fn check_authentic(nodes: &[Node], truth: &Truth, keys: &[IdentityPublicKey]) {
    let mut chats: Vec<ChatId> = keys.iter().map(|k| ChatId::OneToOne(*k)).collect();
    if let Some(g) = nodes[0].0.store().groups().first() {
        chats.push(ChatId::Group(g.id().clone()));
    }
    for n in nodes {
        for chat in &chats {
            for m in n.0.messages(chat) {
                if m.content != crate::payload::ContentType::Text {
                    continue;
                }
                let Some((author, texts, deleted)) = truth.messages.get(&m.id) else {
                    panic!("a stored message nobody sent");
                };
                assert_eq!(m.sender, *author, "a message under the wrong author");
                assert!(
                    m.deleted || texts.contains(&m.text),
                    "a text its author never wrote: {:?}",
                    m.text
                );
                assert!(
                    !m.deleted || *deleted,
                    "deleted by someone else than its author"
                );
                for (reactor, emoji) in m.reactions.keys() {
                    assert!(
                        truth.reactions.contains(&(m.id, *reactor, *emoji)),
                        "a reaction nobody sent"
                    );
                }
            }
        }
    }
}

/// Scripts for [`interaction`] that exercise every operation (seed corpus).
pub fn interaction_seed_inputs() -> Vec<Vec<u8>> {
    vec![
        // Alice writes to Bob, Bob answers, both delivered; edit, react, delete.
        vec![
            1, 0, 3, 5, 0, 0, 4, 5, 0, 1, 4, 5, 0, 3, 1, 5, 0, 2, 4, 5, 0,
        ],
        // Group messages, out of order, a duplicate, a drop and retransmission.
        vec![
            2, 0, 0, 0, 1, 0, 2, 5, 1, 6, 0, 5, 0, 7, 0, 8, 3, 5, 0, 5, 0,
        ],
        // Group rename, Carol removed and re-added, a restart in between.
        vec![3, 4, 0, 5, 0, 4, 3, 5, 0, 9, 1, 4, 6, 5, 0, 0, 2, 5, 0],
    ]
}
