//! End-to-end tests: three users in memory through a seeded simulated Waku network that
//! drops, delays, reorders and duplicates messages.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};

use rand::rngs::ChaCha20Rng;
use rand::{RngExt, SeedableRng};
use status_chat::reliability::{MvdsPayload, ReliabilityConfig, one_to_one_group_id};
use status_chat::sessions::X3dhSessions;
use status_chat::testing::InterimSessions;
use status_chat::{
    Chat, ChatConfig, ChatId, ChatStore, Command, CommandError, ContactState, DeliveryStatus,
    Emoji, Event, GroupEventKind, MemoryStore, MessageId, SessionLayer, WakuOut,
};
use status_identity::{IdentityKeyPair, IdentityPublicKey};

const T0: u64 = 1_700_000_000_000;

struct Node<L> {
    chat: Chat<MemoryStore>,
    sessions: L,
    events: Vec<Event>,
    online: bool,
}

struct Net<L> {
    rng: ChaCha20Rng,
    nodes: Vec<Node<L>>,
    bundles: Vec<Option<Vec<u8>>>,
    keys: Vec<IdentityPublicKey>,
    secrets: Vec<[u8; 32]>,
    inflight: BTreeMap<(u64, u64), WakuOut>,
    seq: u64,
    now: u64,
    loss: f64,
    dup: f64,
    max_delay_ms: u64,
    published: u64,
    /// Drop the next `drop_next` publications whatever the loss rate.
    drop_next: u64,
    /// What a store node kept: every publication that was not lost, with its time.
    archive: Vec<(u64, WakuOut)>,
}

type Make<L> = fn(&mut ChaCha20Rng, &IdentityKeyPair, u64) -> (L, Option<Vec<u8>>);

fn interim(
    _: &mut ChaCha20Rng,
    id: &IdentityKeyPair,
    _: u64,
) -> (InterimSessions, Option<Vec<u8>>) {
    (InterimSessions::new(id), None)
}

fn x3dh(
    rng: &mut ChaCha20Rng,
    id: &IdentityKeyPair,
    now_ms: u64,
) -> (X3dhSessions<status_sessions::MemoryStore>, Option<Vec<u8>>) {
    let own = IdentityKeyPair::from_secret_bytes(&id.to_secret_bytes());
    let (manager, changes) = status_sessions::SessionManager::new(
        rng,
        own,
        status_sessions::Config::default(),
        status_sessions::DeviceInfo::default(),
        (now_ms * 1_000_000) as i64,
    )
    .unwrap();
    let mut store = status_sessions::MemoryStore::new();
    changes.apply(&mut store).unwrap();
    let s = X3dhSessions::new(manager, store);
    let b = s.bundle_bytes();
    (s, Some(b))
}

impl Net<InterimSessions> {
    fn new(
        seed: u64,
        n: usize,
        loss: f64,
        dup: f64,
        max_delay_ms: u64,
        cfg: ReliabilityConfig,
    ) -> Self {
        Net::with(seed, n, loss, dup, max_delay_ms, cfg, interim)
    }
}

impl<L: SessionLayer> Net<L> {
    fn with(
        seed: u64,
        n: usize,
        loss: f64,
        dup: f64,
        max_delay_ms: u64,
        cfg: ReliabilityConfig,
        make: Make<L>,
    ) -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let mut nodes = Vec::new();
        let mut keys = Vec::new();
        let mut secrets = Vec::new();
        let mut bundles = Vec::new();
        for i in 0..n {
            let id = IdentityKeyPair::generate(&mut rng);
            keys.push(*id.public_key());
            secrets.push(*id.to_secret_bytes());
            let (sessions, bundle) = make(&mut rng, &id, T0);
            bundles.push(bundle);
            let config = ChatConfig {
                reliability: cfg,
                display_name: format!("user{i}"),
                ..Default::default()
            };
            nodes.push(Node {
                chat: Chat::new(id, config, MemoryStore::new()),
                sessions,
                events: Vec::new(),
                online: true,
            });
        }
        Net {
            rng,
            nodes,
            bundles,
            keys,
            secrets,
            inflight: BTreeMap::new(),
            seq: 0,
            now: T0,
            loss,
            dup,
            max_delay_ms,
            published: 0,
            drop_next: 0,
            archive: Vec::new(),
        }
    }

    fn publish(&mut self, msgs: Vec<WakuOut>) {
        for m in msgs {
            self.published += 1;
            if self.drop_next > 0 {
                self.drop_next -= 1;
                continue;
            }
            if self.rng.random_bool(self.loss) {
                continue;
            }
            self.archive.push((self.now, m.clone()));
            let copies = if self.rng.random_bool(self.dup) { 2 } else { 1 };
            for _ in 0..copies {
                let delay = self.rng.random_range(0..=self.max_delay_ms);
                self.seq += 1;
                self.inflight
                    .insert((self.now + delay, self.seq), m.clone());
            }
        }
    }

    fn command(&mut self, i: usize, c: Command) -> Result<(), CommandError> {
        let now = self.now;
        let node = &mut self.nodes[i];
        let out = node
            .chat
            .handle_command(&mut self.rng, now, &mut node.sessions, c)?;
        node.events.extend(out.events);
        self.publish(out.messages);
        Ok(())
    }

    fn deliver(&mut self, m: &WakuOut) {
        let now = self.now;
        let mut outs = Vec::new();
        for node in &mut self.nodes {
            if !node.online {
                continue;
            }
            let subscribed = node
                .chat
                .subscriptions(&node.sessions)
                .iter()
                .any(|(p, c)| *p == m.pubsub_topic && *c == m.content_topic);
            if !subscribed {
                continue;
            }
            let out = node.chat.handle_waku(
                &mut self.rng,
                now,
                &mut node.sessions,
                &m.pubsub_topic,
                &m.content_topic,
                &m.payload,
            );
            node.events.extend(out.events);
            outs.extend(out.messages);
        }
        self.publish(outs);
    }

    /// Runs the network until nothing is in flight or due, or until `limit` ms passed.
    fn run(&mut self, limit: u64) {
        let end = self.now + limit;
        loop {
            let next_msg = self.inflight.keys().next().map(|k| k.0);
            let next_timer = self
                .nodes
                .iter()
                .filter(|n| n.online)
                .filter_map(|n| n.chat.poll_timeout())
                .min();
            let next = match (next_msg, next_timer) {
                (None, None) => break,
                (a, b) => a.into_iter().chain(b).min().unwrap(),
            };
            if next > end {
                break;
            }
            self.now = self.now.max(next);
            if next_msg == Some(next) {
                let key = *self.inflight.keys().next().unwrap();
                let m = self.inflight.remove(&key).unwrap();
                self.deliver(&m);
            } else {
                let now = self.now;
                let mut outs = Vec::new();
                for node in self.nodes.iter_mut().filter(|n| n.online) {
                    if node.chat.poll_timeout().is_some_and(|t| t <= now) {
                        let out = node
                            .chat
                            .handle_timeout(&mut self.rng, now, &mut node.sessions);
                        node.events.extend(out.events);
                        outs.extend(out.messages);
                    }
                }
                self.publish(outs);
            }
        }
    }

    fn advance(&mut self, ms: u64) {
        self.now += ms;
    }

    fn befriend(&mut self, a: usize, b: usize) {
        let (ka, kb) = (self.keys[a], self.keys[b]);
        let bundle = self.bundles[b].clone();
        self.command(a, Command::AddContact { key: kb, bundle })
            .unwrap();
        self.command(
            a,
            Command::SendContactRequest {
                to: kb,
                intro: "hi, it's me".into(),
            },
        )
        .unwrap();
        self.run(3_600_000);
        assert_eq!(
            self.nodes[b].chat.store().contact(&ka).unwrap().state(),
            ContactState::RequestReceived
        );
        self.command(b, Command::AcceptContact(ka)).unwrap();
        self.run(3_600_000);
        assert!(self.nodes[a].chat.store().contact(&kb).unwrap().is_mutual());
        assert!(self.nodes[b].chat.store().contact(&ka).unwrap().is_mutual());
    }

    fn text(&mut self, from: usize, chat: ChatId, text: &str) {
        self.command(
            from,
            Command::SendText {
                chat,
                text: text.into(),
                reply_to: None,
            },
        )
        .unwrap();
    }

    fn texts(&self, i: usize, chat: &ChatId) -> Vec<(MessageId, String)> {
        self.nodes[i]
            .chat
            .messages(chat)
            .into_iter()
            .map(|m| (m.id, m.text))
            .collect()
    }

    fn received_count(&self, i: usize, id: &MessageId) -> usize {
        self.nodes[i]
            .events
            .iter()
            .filter(|e| matches!(e, Event::MessageReceived { id: x, .. } if *x == *id))
            .count()
    }
}

fn one<L>(net: &Net<L>, peer: usize) -> ChatId {
    ChatId::OneToOne(net.keys[peer])
}

#[test]
fn three_users_lossy_network_exactly_once_same_order() {
    lossy(Net::new(42, 3, 0.25, 0.10, 20_000, lossy_cfg()));
}

#[test]
fn three_users_lossy_network_exactly_once_same_order_x3dh_sessions() {
    lossy(Net::with(43, 3, 0.25, 0.10, 20_000, lossy_cfg(), x3dh));
}

fn lossy_cfg() -> ReliabilityConfig {
    ReliabilityConfig {
        max_attempts: 30,
        ..Default::default()
    }
}

/// 25 % loss, 10 % duplicates, delays up to 20 s (so messages overtake each other).
fn lossy<L: SessionLayer>(mut net: Net<L>) {
    net.befriend(0, 1);
    net.befriend(0, 2);
    net.befriend(1, 2);
    let pairs = [(0usize, 1usize), (0, 2), (1, 2)];
    let mut sent = 0;
    for round in 0..12 {
        for &(a, b) in &pairs {
            let ca = one(&net, b);
            let cb = one(&net, a);
            net.text(a, ca, &format!("{a}->{b} #{round}"));
            net.text(b, cb, &format!("{b}->{a} #{round}"));
            sent += 2;
        }
        net.advance(1_000 + 500 * round);
        net.run(2_000);
    }
    net.run(48 * 3_600_000);
    assert!(net.published > 0);
    let mut total = 0;
    for &(a, b) in &pairs {
        let va = net.texts(a, &one(&net, b));
        let vb = net.texts(b, &one(&net, a));
        assert_eq!(va, vb, "both sides show the same order");
        // 12 rounds x 2 texts + the contact request.
        assert_eq!(va.len(), 25);
        let ids: BTreeSet<_> = va.iter().map(|x| x.0).collect();
        assert_eq!(ids.len(), va.len(), "no duplicates");
        for (id, _) in &va {
            let m = net.nodes[a].chat.store().message(id).unwrap();
            let receiver = if m.sender == net.keys[a] { b } else { a };
            assert_eq!(
                net.received_count(receiver, id),
                1,
                "delivered exactly once"
            );
            assert_eq!(
                net.nodes[if receiver == a { b } else { a }]
                    .chat
                    .store()
                    .message(id)
                    .unwrap()
                    .status(),
                DeliveryStatus::Delivered
            );
        }
        total += va.len() - 1;
    }
    assert_eq!(total, sent);
    for n in &net.nodes {
        assert_eq!(n.chat.outstanding(), 0, "retransmission stopped");
        assert_eq!(n.chat.poll_timeout(), None);
        assert!(n.chat.stats().duplicates > 0 || n.chat.stats().bad_signature == 0);
        assert_eq!(n.chat.stats().bad_signature, 0);
        assert_eq!(n.chat.stats().undecryptable, 0);
    }
    println!(
        "{}: published {} Waku messages for {sent} texts; duplicates dropped {:?}; undecryptable {:?}; simulated {} s",
        std::any::type_name::<L>()
            .split('<')
            .next()
            .unwrap()
            .rsplit("::")
            .next()
            .unwrap(),
        net.published,
        net.nodes
            .iter()
            .map(|n| n.chat.stats().duplicates)
            .collect::<Vec<_>>(),
        net.nodes
            .iter()
            .map(|n| n.chat.stats().undecryptable)
            .collect::<Vec<_>>(),
        (net.now - T0) / 1000
    );
    // Duplicates happened and were dropped.
    assert!(
        net.nodes
            .iter()
            .map(|n| n.chat.stats().duplicates)
            .sum::<u64>()
            > 0
    );
}

#[test]
fn retransmission_stops_when_acked_and_acks_are_exactly_needed() {
    let mut net = Net::new(1, 2, 0.0, 0.0, 100, ReliabilityConfig::default());
    net.befriend(0, 1);
    let before = net.published;
    net.text(0, one(&net, 1), "hello");
    net.run(24 * 3_600_000);
    // One message, one ack: nothing is ever sent again.
    assert_eq!(net.published - before, 2);
    assert_eq!(net.nodes[0].chat.outstanding(), 0);
    assert!(
        net.nodes[0]
            .events
            .iter()
            .any(|e| matches!(e, Event::Delivered { .. }))
    );
}

#[test]
fn lost_contact_request_is_retried() {
    let mut net = Net::new(7, 2, 0.0, 0.0, 100, ReliabilityConfig::default());
    let (ka, kb) = (net.keys[0], net.keys[1]);
    net.command(
        0,
        Command::AddContact {
            key: kb,
            bundle: None,
        },
    )
    .unwrap();
    net.drop_next = 3; // the request and its first two retransmissions are lost
    net.command(
        0,
        Command::SendContactRequest {
            to: kb,
            intro: "hello".into(),
        },
    )
    .unwrap();
    let t0 = net.now;
    net.run(3_600_000);
    assert_eq!(
        net.nodes[1].chat.store().contact(&ka).unwrap().state(),
        ContactState::RequestReceived
    );
    assert!(net.nodes[1].events.iter().any(|e| matches!(
        e,
        Event::ContactRequestReceived { intro, .. } if intro == "hello"
    )));
    // Sent at 0, 30 s and 90 s (lost), then at 210 s.
    assert!(net.now - t0 >= 210_000);
    assert_eq!(net.nodes[0].chat.outstanding(), 0);
}

#[test]
fn declined_contact_cannot_message() {
    let mut net = Net::new(8, 2, 0.0, 0.0, 100, ReliabilityConfig::default());
    let (ka, kb) = (net.keys[0], net.keys[1]);
    net.command(
        0,
        Command::SendContactRequest {
            to: kb,
            intro: "let me in".into(),
        },
    )
    .unwrap();
    net.run(3_600_000);
    net.command(1, Command::DeclineContact(ka)).unwrap();
    assert_eq!(
        net.nodes[1].chat.store().contact(&ka).unwrap().state(),
        ContactState::Declined
    );
    // The requester's client refuses to send text.
    assert_eq!(
        net.command(
            0,
            Command::SendText {
                chat: one(&net, 1),
                text: "please".into(),
                reply_to: None
            }
        ),
        Err(CommandError::NotMutual)
    );
    // A hand-made, validly signed text from the requester is not shown either.
    let a = IdentityKeyPair::from_secret_bytes(&net.secrets[0]);
    let msg = status_chat::payload::ApplicationMessage::Chat(status_chat::payload::ChatMessage {
        clock: net.now,
        timestamp_ms: net.now,
        text: "sneaky".into(),
        response_to: None,
        chat_id: status_chat::ids::key_to_hex(&kb),
        message_type: status_chat::payload::MessageType::OneToOne,
        content: status_chat::payload::ContentType::Text,
        display_name: String::new(),
    });
    let signed = status_chat::payload::seal(&a, &msg).unwrap();
    let payload = MvdsPayload {
        acks: vec![],
        messages: vec![status_chat::reliability::MvdsMessage {
            group_id: one_to_one_group_id(&ka, &kb).to_vec(),
            timestamp: 1,
            body: signed.wire.clone(),
        }],
    };
    let now = net.now;
    let outs = {
        let n = &mut net.nodes[0];
        n.sessions
            .encrypt(&mut net.rng, now, &kb, &payload.encode())
            .unwrap()
    };
    net.publish(outs);
    net.run(3_600_000);
    // Only the declined request itself is on record; the text is not shown.
    let seen: Vec<String> = net
        .texts(1, &one(&net, 0))
        .into_iter()
        .map(|x| x.1)
        .collect();
    assert_eq!(seen, vec!["let me in".to_owned()]);
    assert!(net.nodes[1].chat.stats().from_strangers >= 1);
    // A new request after declining does not reopen it either.
    let again = net.command(
        0,
        Command::SendContactRequest {
            to: kb,
            intro: "again".into(),
        },
    );
    assert!(again.is_ok());
    net.run(3_600_000);
    assert_eq!(
        net.nodes[1].chat.store().contact(&ka).unwrap().state(),
        ContactState::Declined
    );
}

#[test]
fn retracted_contact_cannot_message_and_blocked_is_ignored() {
    let mut net = Net::new(9, 3, 0.0, 0.0, 100, ReliabilityConfig::default());
    net.befriend(0, 1);
    net.befriend(0, 2);
    let (ka, kb) = (net.keys[0], net.keys[1]);
    net.command(1, Command::RetractContact(ka)).unwrap();
    net.run(3_600_000);
    assert!(!net.nodes[0].chat.store().contact(&kb).unwrap().is_mutual());
    assert!(net.nodes[0].events.contains(&Event::ContactRemoved(kb)));
    assert_eq!(
        net.command(
            0,
            Command::SendText {
                chat: one(&net, 1),
                text: "x".into(),
                reply_to: None
            }
        ),
        Err(CommandError::NotMutual)
    );
    // Blocking: C's messages to A are dropped.
    net.command(0, Command::Block(net.keys[2])).unwrap();
    net.text(2, one(&net, 0), "can you hear me");
    net.run(3_600_000);
    assert_eq!(net.texts(0, &one(&net, 2)).len(), 1); // only the contact request
    assert!(net.nodes[0].chat.stats().from_blocked >= 1);
}

#[test]
fn unanswered_message_is_marked_failed() {
    let mut net = Net::new(10, 2, 0.0, 0.0, 100, ReliabilityConfig::default());
    net.befriend(0, 1);
    net.nodes[1].online = false;
    net.text(0, one(&net, 1), "anyone?");
    net.run(30 * 24 * 3_600_000);
    let msgs = net.nodes[0].chat.messages(&one(&net, 1));
    let last = msgs.iter().find(|m| m.text == "anyone?").unwrap();
    assert_eq!(last.status(), DeliveryStatus::Failed);
    assert!(
        net.nodes[0]
            .events
            .iter()
            .any(|e| matches!(e, Event::DeliveryFailed { id, .. } if id == &last.id))
    );
    assert_eq!(net.nodes[0].chat.outstanding(), 0);
}

#[test]
fn restart_resumes_retransmission_from_the_store() {
    let mut net = Net::new(11, 2, 0.0, 0.0, 100, ReliabilityConfig::default());
    net.befriend(0, 1);
    net.drop_next = 1;
    net.text(0, one(&net, 1), "survive a restart");
    // Restart A from its store (the identity and store survive).
    let store = net.nodes[0].chat.store().clone();
    let id = IdentityKeyPair::from_secret_bytes(&net.secrets[0]);
    let sessions_state = std::mem::replace(&mut net.nodes[0].sessions, InterimSessions::new(&id));
    net.nodes[0].sessions = sessions_state;
    net.nodes[0].chat = Chat::new(id, ChatConfig::default(), store);
    assert_eq!(net.nodes[0].chat.outstanding(), 1);
    net.run(3_600_000);
    assert_eq!(net.texts(1, &one(&net, 0)).len(), 2);
    assert_eq!(net.nodes[0].chat.outstanding(), 0);
}

#[test]
fn replies_edits_deletes_reactions_converge_under_reordering() {
    let mut net = Net::new(12, 2, 0.0, 0.2, 30_000, ReliabilityConfig::default());
    net.befriend(0, 1);
    net.text(0, one(&net, 1), "first");
    net.run(3_600_000);
    let first = net.texts(1, &one(&net, 0)).last().unwrap().0;
    net.command(
        1,
        Command::SendText {
            chat: one(&net, 0),
            text: "a reply".into(),
            reply_to: Some(first),
        },
    )
    .unwrap();
    // Sent back to back with random delays: the edit, delete and reaction may arrive
    // before the message they target.
    net.text(0, one(&net, 1), "typo");
    let typo = net
        .texts(0, &one(&net, 1))
        .iter()
        .find(|x| x.1 == "typo")
        .unwrap()
        .0;
    net.command(
        0,
        Command::Edit {
            id: typo,
            text: "fixed".into(),
        },
    )
    .unwrap();
    net.text(0, one(&net, 1), "oops");
    let oops = net
        .texts(0, &one(&net, 1))
        .iter()
        .find(|x| x.1 == "oops")
        .unwrap()
        .0;
    net.command(0, Command::Delete(oops)).unwrap();
    net.command(
        1,
        Command::React {
            id: first,
            emoji: Emoji::Love,
            retract: false,
        },
    )
    .unwrap();
    net.command(
        1,
        Command::React {
            id: first,
            emoji: Emoji::Laugh,
            retract: false,
        },
    )
    .unwrap();
    net.command(
        1,
        Command::React {
            id: first,
            emoji: Emoji::Laugh,
            retract: true,
        },
    )
    .unwrap();
    net.run(3_600_000);
    assert_eq!(net.texts(0, &one(&net, 1)), net.texts(1, &one(&net, 0)));
    for i in [0, 1] {
        let peer = one(&net, 1 - i);
        let s = net.nodes[i].chat.store();
        assert_eq!(s.message(&typo).unwrap().text, "fixed");
        assert!(s.message(&oops).unwrap().deleted);
        assert_eq!(
            s.message(&first).unwrap().active_reactions(),
            vec![(net.keys[1], Emoji::Love)]
        );
        let reply = net.nodes[i]
            .chat
            .messages(&peer)
            .into_iter()
            .find(|m| m.text == "a reply")
            .unwrap();
        assert_eq!(reply.response_to, Some(first));
    }
    // Only the author edits.
    assert_eq!(
        net.command(
            1,
            Command::Edit {
                id: typo,
                text: "mine".into()
            }
        ),
        Err(CommandError::NotAuthor)
    );
}

#[test]
fn first_contact_on_partitioned_topic_then_negotiated() {
    let mut net = Net::new(13, 2, 0.0, 0.0, 10, ReliabilityConfig::default());
    let kb = net.keys[1];
    assert!(!net.nodes[0].sessions.is_confirmed(&kb));
    net.befriend(0, 1);
    assert!(net.nodes[0].sessions.is_confirmed(&kb));
    let now = net.now;
    let n = &mut net.nodes[0];
    let out = n
        .chat
        .handle_command(
            &mut net.rng,
            now,
            &mut n.sessions,
            Command::SendText {
                chat: ChatId::OneToOne(kb),
                text: "x".into(),
                reply_to: None,
            },
        )
        .unwrap();
    let name = out.messages[0].content_topic.clone();
    assert!(!name.contains("contact-discovery"), "{name}");
    let adv = n.chat.advertise(&mut net.rng, now, &mut n.sessions);
    assert!(adv.messages[0].content_topic.contains("contact-code"));
}

#[test]
fn group_chat_events_rules_and_fan_out() {
    group(Net::new(14, 3, 0.15, 0.1, 5_000, lossy_cfg()));
}

#[test]
fn group_chat_events_rules_and_fan_out_x3dh_sessions() {
    group(Net::with(15, 3, 0.15, 0.1, 5_000, lossy_cfg(), x3dh));
}

fn group<L: SessionLayer>(mut net: Net<L>) {
    net.befriend(0, 1);
    net.befriend(0, 2);
    let (ka, kb, kc) = (net.keys[0], net.keys[1], net.keys[2]);
    // B and C are not contacts, but know each other's bundles (from contact codes) so
    // their sessions can start.
    let (bb, bc) = (net.bundles[1].clone(), net.bundles[2].clone());
    net.command(
        1,
        Command::AddContact {
            key: kc,
            bundle: bc,
        },
    )
    .unwrap();
    net.command(
        2,
        Command::AddContact {
            key: kb,
            bundle: bb,
        },
    )
    .unwrap();
    net.command(
        0,
        Command::CreateGroup {
            name: "trio".into(),
            members: vec![kb, kc],
        },
    )
    .unwrap();
    net.run(3_600_000);
    let gid = net.nodes[0].chat.store().groups()[0].id().clone();
    for i in [1, 2] {
        assert!(
            net.nodes[i]
                .events
                .iter()
                .any(|e| matches!(e, Event::GroupInvitation { from, .. } if from == &ka))
        );
        net.command(
            i,
            Command::Group {
                id: gid.clone(),
                event: GroupEventKind::MemberJoined,
            },
        )
        .unwrap();
    }
    net.run(3_600_000);
    for n in &net.nodes {
        let g = n.chat.store().group(&gid).unwrap();
        assert_eq!(g.joined().len(), 3);
        assert_eq!(g.name(), "trio");
    }
    let chat = ChatId::Group(gid.clone());
    for r in 0..5 {
        for i in 0..3 {
            net.text(i, chat.clone(), &format!("{i} says {r}"));
        }
        net.advance(700);
        net.run(1_000);
    }
    net.run(24 * 3_600_000);
    let v0 = net.texts(0, &chat);
    assert_eq!(v0.len(), 15);
    assert_eq!(net.texts(1, &chat), v0);
    assert_eq!(net.texts(2, &chat), v0);
    // Non-admin rename: refused locally; the name stays.
    assert!(matches!(
        net.command(
            1,
            Command::Group {
                id: gid.clone(),
                event: GroupEventKind::NameChanged("mine".into())
            }
        ),
        Err(CommandError::Group(_))
    ));
    // Admin renames, promotes B; B (admin) cannot remove A (admin).
    net.command(
        0,
        Command::Group {
            id: gid.clone(),
            event: GroupEventKind::NameChanged("renamed".into()),
        },
    )
    .unwrap();
    net.command(
        0,
        Command::Group {
            id: gid.clone(),
            event: GroupEventKind::AdminsAdded(vec![kb]),
        },
    )
    .unwrap();
    net.run(3_600_000);
    assert!(
        net.command(
            1,
            Command::Group {
                id: gid.clone(),
                event: GroupEventKind::MemberRemoved(ka)
            }
        )
        .is_err()
    );
    for n in &net.nodes {
        let g = n.chat.store().group(&gid).unwrap();
        assert_eq!(g.name(), "renamed");
        assert!(g.admins().contains(&kb));
    }
    // B (now admin) removes C; C learns it and receives nothing further.
    net.command(
        1,
        Command::Group {
            id: gid.clone(),
            event: GroupEventKind::MemberRemoved(kc),
        },
    )
    .unwrap();
    net.run(3_600_000);
    assert!(
        net.nodes[2]
            .events
            .iter()
            .any(|e| matches!(e, Event::RemovedFromGroup { .. }))
    );
    let c_before = net.texts(2, &chat).len();
    net.text(0, chat.clone(), "after C left");
    net.text(1, chat.clone(), "C cannot see this");
    net.run(24 * 3_600_000);
    assert_eq!(net.texts(2, &chat).len(), c_before);
    assert_eq!(net.texts(0, &chat), net.texts(1, &chat));
    assert_eq!(net.texts(0, &chat).len(), 17);
    // C cannot post any more.
    assert_eq!(
        net.command(
            2,
            Command::SendText {
                chat: chat.clone(),
                text: "x".into(),
                reply_to: None
            }
        ),
        Err(CommandError::NotMember)
    );
    // B leaves; admin A remains.
    net.command(
        1,
        Command::Group {
            id: gid.clone(),
            event: GroupEventKind::MemberRemoved(kb),
        },
    )
    .unwrap();
    net.run(3_600_000);
    let g = net.nodes[0].chat.store().group(&gid).unwrap();
    assert_eq!(g.members().iter().copied().collect::<Vec<_>>(), vec![ka]);
    for n in &net.nodes {
        assert_eq!(n.chat.outstanding(), 0);
    }
}

#[test]
fn back_online_asks_the_store_for_what_it_missed() {
    for sessions in [false, true] {
        if sessions {
            missed(Net::with(
                21,
                2,
                0.0,
                0.0,
                100,
                ReliabilityConfig::default(),
                x3dh,
            ));
        } else {
            missed(Net::new(20, 2, 0.0, 0.0, 100, ReliabilityConfig::default()));
        }
    }
}

fn missed<L: SessionLayer>(mut net: Net<L>) {
    net.befriend(0, 1);
    net.nodes[1].online = false;
    let offline_since = net.now;
    net.text(0, one(&net, 1), "while you were away");
    net.run(5_000);
    assert!(
        net.texts(1, &one(&net, 0))
            .iter()
            .all(|x| x.1 != "while you were away")
    );
    net.advance(10_000);
    net.nodes[1].online = true;
    let now = net.now;
    let queries = net.nodes[1]
        .chat
        .history_queries(&net.nodes[1].sessions, offline_since, now);
    assert_eq!(queries.len(), 1);
    // The store node answers; the results go through handle_waku like live traffic.
    let found: Vec<WakuOut> = net
        .archive
        .iter()
        .filter(|(t, m)| {
            queries.iter().any(|q| {
                q.pubsub_topic == m.pubsub_topic
                    && q.content_topics.contains(&m.content_topic)
                    && *t >= q.start_ms
                    && *t <= q.end_ms
            })
        })
        .map(|(_, m)| m.clone())
        .collect();
    assert!(!found.is_empty());
    for m in &found {
        net.deliver(m);
    }
    // Delivered now, long before the sender's retransmission (30 s after the send).
    assert!(
        net.texts(1, &one(&net, 0))
            .iter()
            .any(|x| x.1 == "while you were away")
    );
    net.run(3_600_000);
    let n = net
        .texts(1, &one(&net, 0))
        .iter()
        .filter(|x| x.1 == "while you were away")
        .count();
    assert_eq!(n, 1);
    assert_eq!(net.nodes[0].chat.outstanding(), 0);
}

#[test]
fn bad_signature_inside_a_valid_session_is_dropped_counted_and_not_acked() {
    let mut net = Net::with(30, 2, 0.0, 0.0, 10, ReliabilityConfig::default(), x3dh);
    net.befriend(0, 1);
    let (ka, kb) = (net.keys[0], net.keys[1]);
    let a = IdentityKeyPair::from_secret_bytes(&net.secrets[0]);
    let msg = status_chat::payload::ApplicationMessage::Chat(status_chat::payload::ChatMessage {
        clock: net.now,
        timestamp_ms: net.now,
        text: "tampered".into(),
        response_to: None,
        chat_id: status_chat::ids::key_to_hex(&kb),
        message_type: status_chat::payload::MessageType::OneToOne,
        content: status_chat::payload::ContentType::Text,
        display_name: String::new(),
    });
    let mut wire = status_chat::payload::seal(&a, &msg).unwrap().wire;
    // Flip a bit of the signature (field 1 starts at byte 2).
    wire[5] ^= 1;
    let payload = MvdsPayload {
        acks: vec![],
        messages: vec![status_chat::reliability::MvdsMessage {
            group_id: one_to_one_group_id(&ka, &kb).to_vec(),
            timestamp: 1,
            body: wire,
        }],
    };
    let now = net.now;
    let outs = net.nodes[0]
        .sessions
        .encrypt(&mut net.rng, now, &kb, &payload.encode())
        .unwrap();
    let before = net.published;
    for m in &outs {
        net.deliver(m);
    }
    assert_eq!(net.nodes[1].chat.stats().bad_signature, 1);
    assert_eq!(net.published, before, "no ack for a forged message");
    assert!(
        net.texts(1, &one(&net, 0))
            .iter()
            .all(|x| x.1 != "tampered")
    );
}

#[test]
fn message_overtaking_a_lost_accept_is_held_then_shown() {
    let mut net = Net::with(31, 2, 0.0, 0.0, 10, ReliabilityConfig::default(), x3dh);
    let (ka, kb) = (net.keys[0], net.keys[1]);
    let bundle = net.bundles[1].clone();
    net.command(0, Command::AddContact { key: kb, bundle })
        .unwrap();
    net.command(
        0,
        Command::SendContactRequest {
            to: kb,
            intro: "hi".into(),
        },
    )
    .unwrap();
    net.run(3_600_000);
    // Bob accepts, but the accept is lost; his first message arrives before it is resent.
    net.drop_next = 1;
    net.command(1, Command::AcceptContact(ka)).unwrap();
    net.text(1, one(&net, 0), "glad to meet you");
    net.run(1_000);
    assert_eq!(net.nodes[0].chat.stats().held, 1);
    assert!(
        net.texts(0, &one(&net, 1))
            .iter()
            .all(|x| x.1 != "glad to meet you")
    );
    net.run(3_600_000);
    assert!(net.nodes[0].chat.store().contact(&kb).unwrap().is_mutual());
    let shown: Vec<String> = net
        .texts(0, &one(&net, 1))
        .into_iter()
        .map(|x| x.1)
        .collect();
    assert_eq!(shown, vec!["hi".to_owned(), "glad to meet you".to_owned()]);
    assert_eq!(net.texts(0, &one(&net, 1)), net.texts(1, &one(&net, 0)));
}

#[test]
fn restart_of_both_layers_from_their_stores_continues_the_conversation() {
    let mut net = Net::with(32, 2, 0.0, 0.0, 10, ReliabilityConfig::default(), x3dh);
    net.befriend(0, 1);
    net.drop_next = 1;
    net.text(0, one(&net, 1), "before the restart");
    // A restarts: identity, chat store and session store survive; nothing else does.
    let chat_store = net.nodes[0].chat.store().clone();
    let session_store = net.nodes[0].sessions.store().clone();
    let id = IdentityKeyPair::from_secret_bytes(&net.secrets[0]);
    let manager = status_sessions::SessionManager::restore(
        IdentityKeyPair::from_secret_bytes(&net.secrets[0]),
        status_sessions::Config::default(),
        &session_store,
        (net.now * 1_000_000) as i64,
    )
    .unwrap();
    net.nodes[0].sessions = X3dhSessions::new(manager, session_store);
    net.nodes[0].chat = Chat::new(id, ChatConfig::default(), chat_store);
    assert_eq!(net.nodes[0].chat.outstanding(), 1);
    net.run(3_600_000);
    net.text(0, one(&net, 1), "after the restart");
    net.text(1, one(&net, 0), "welcome back");
    net.run(3_600_000);
    let shown: Vec<String> = net
        .texts(1, &one(&net, 0))
        .into_iter()
        .map(|x| x.1)
        .collect();
    assert!(shown.contains(&"before the restart".to_owned()));
    assert!(shown.contains(&"after the restart".to_owned()));
    assert_eq!(net.texts(0, &one(&net, 1)), net.texts(1, &one(&net, 0)));
    assert_eq!(net.nodes[0].chat.outstanding(), 0);
    assert_eq!(net.nodes[1].chat.outstanding(), 0);
}

#[test]
fn added_by_chat_key_gets_the_bundle_from_the_contact_code_topic() {
    let mut net = Net::with(33, 2, 0.0, 0.0, 10, ReliabilityConfig::default(), x3dh);
    let (ka, kb) = (net.keys[0], net.keys[1]);
    let chat_key = kb.to_chat_key();
    net.command(0, Command::add_from_chat_key(&chat_key).unwrap())
        .unwrap();
    net.command(
        0,
        Command::SendContactRequest {
            to: kb,
            intro: "found you".into(),
        },
    )
    .unwrap();
    // No bundle yet: nothing can be encrypted, the request waits in the outbox.
    assert_eq!(net.published, 0);
    assert_eq!(net.nodes[0].chat.outstanding(), 1);
    // Bob advertises his bundle; Alice listens on his contact-code topic.
    let now = net.now;
    let n = &mut net.nodes[1];
    let adv = n.chat.advertise(&mut net.rng, now, &mut n.sessions);
    net.publish(adv.messages);
    net.run(3_600_000);
    assert_eq!(
        net.nodes[1].chat.store().contact(&ka).unwrap().state(),
        ContactState::RequestReceived
    );
    assert_eq!(net.nodes[0].chat.outstanding(), 0);
}

#[test]
fn contact_code_command_carries_the_bundle() {
    let mut rng = ChaCha20Rng::seed_from_u64(34);
    let bob = IdentityKeyPair::generate(&mut rng);
    let (s, bundle) = x3dh(&mut rng, &bob, T0);
    drop(s);
    let bundle = bundle.unwrap();
    let code = status_identity::ContactCode::new(&bob, "Bob", &bundle, T0 as i64).unwrap();
    let cmd = Command::add_from_contact_code(&code.to_uri()).unwrap();
    assert_eq!(
        cmd,
        Command::AddContact {
            key: *bob.public_key(),
            bundle: Some(bundle)
        }
    );
    let mut uri = code.to_uri();
    uri.pop();
    assert!(Command::add_from_contact_code(&uri).is_err());
}

#[test]
fn unanswered_contact_requests_are_capped() {
    let mut rng = ChaCha20Rng::seed_from_u64(35);
    let alice = IdentityKeyPair::generate(&mut rng);
    let ka = *alice.public_key();
    let config = ChatConfig {
        max_pending_requests: 20,
        ..Default::default()
    };
    let mut chat = Chat::new(alice, config, MemoryStore::new());
    let request = |from: &IdentityKeyPair| {
        let msg =
            status_chat::payload::ApplicationMessage::Chat(status_chat::payload::ChatMessage {
                clock: T0,
                timestamp_ms: T0,
                text: "hi".into(),
                response_to: None,
                chat_id: status_chat::ids::key_to_hex(&ka),
                message_type: status_chat::payload::MessageType::OneToOne,
                content: status_chat::payload::ContentType::ContactRequest,
                display_name: String::new(),
            });
        status_chat::payload::seal(from, &msg).unwrap().wire
    };
    for _ in 0..25 {
        let stranger = IdentityKeyPair::generate(&mut rng);
        chat.handle_plaintext_for_testing(T0, *stranger.public_key(), &request(&stranger));
    }
    assert_eq!(chat.store().contacts().len(), 20);
    assert_eq!(chat.stats().requests_dropped, 5);
}
