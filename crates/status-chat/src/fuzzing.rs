//! Fuzzing entry points, shared by the cargo-fuzz targets in `fuzz/` and the corpus
//! replay in `tests/fuzz_corpus.rs`. Not a stable API.
//!
//! Each function panics only when the property it checks is broken: arbitrary bytes
//! never panic, and never change the chat state unless they carry a valid signature
//! inside a valid session.

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
