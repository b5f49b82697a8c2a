//! Benchmarks:
//! - `seal_open`: sign and encode a text message, then decode and verify it;
//! - `round_trip`: one 1:1 text through two `Chat`s over real X3DH sessions: send, decrypt,
//!   verify, store, acknowledge, and the ack back (two session encryptions and decryptions);
//! - `sessions_only`: the same two session encryptions and decryptions without the chat
//!   layer, to show what the chat layer adds.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use rand::SeedableRng;
use rand::rngs::ChaCha20Rng;
use status_chat::payload::{ApplicationMessage, ChatMessage, ContentType, MessageType, open, seal};
use status_chat::sessions::X3dhSessions;
use status_chat::{Chat, ChatConfig, ChatId, Command, MemoryStore, SessionLayer, WakuOut};
use status_identity::IdentityKeyPair;
use status_sessions::{Config, DeviceInfo, MemoryStore as SessionMemory, SessionManager};

const T0: u64 = 1_700_000_000_000;

type Node = (Chat<MemoryStore>, X3dhSessions<SessionMemory>);

fn node(rng: &mut ChaCha20Rng) -> Node {
    let id = IdentityKeyPair::generate(rng);
    let copy = IdentityKeyPair::from_secret_bytes(&id.to_secret_bytes());
    let (m, c) = SessionManager::new(
        rng,
        copy,
        Config::default(),
        DeviceInfo::default(),
        (T0 * 1_000_000) as i64,
    )
    .unwrap();
    let mut s = SessionMemory::new();
    c.apply(&mut s).unwrap();
    (
        Chat::new(id, ChatConfig::default(), MemoryStore::new()),
        X3dhSessions::new(m, s),
    )
}

fn deliver(rng: &mut ChaCha20Rng, now: u64, to: &mut Node, msgs: &[WakuOut]) -> Vec<WakuOut> {
    msgs.iter()
        .flat_map(|m| {
            to.0.handle_waku(
                rng,
                now,
                &mut to.1,
                &m.pubsub_topic,
                &m.content_topic,
                &m.payload,
            )
            .messages
        })
        .collect()
}

fn pair(rng: &mut ChaCha20Rng) -> (Node, Node) {
    let (mut a, mut b) = (node(rng), node(rng));
    let (ka, kb) = (*a.0.public_key(), *b.0.public_key());
    let bundle = Some(b.1.bundle_bytes());
    a.0.handle_command(rng, T0, &mut a.1, Command::AddContact { key: kb, bundle })
        .unwrap();
    let o =
        a.0.handle_command(
            rng,
            T0,
            &mut a.1,
            Command::SendContactRequest {
                to: kb,
                intro: "hi".into(),
            },
        )
        .unwrap();
    let back = deliver(rng, T0, &mut b, &o.messages);
    deliver(rng, T0, &mut a, &back);
    let o =
        b.0.handle_command(rng, T0, &mut b.1, Command::AcceptContact(ka))
            .unwrap();
    let back = deliver(rng, T0, &mut a, &o.messages);
    deliver(rng, T0, &mut b, &back);
    (a, b)
}

fn bench(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let id = IdentityKeyPair::generate(&mut rng);
    let msg = ApplicationMessage::Chat(ChatMessage {
        clock: T0,
        timestamp_ms: T0,
        text: "x".repeat(200),
        response_to: None,
        chat_id: "0x00".into(),
        message_type: MessageType::OneToOne,
        content: ContentType::Text,
        display_name: "alice".into(),
    });
    c.bench_function("seal_open", |b| {
        b.iter(|| {
            let s = seal(&id, black_box(&msg)).unwrap();
            open(id.public_key(), &s.wire).unwrap()
        })
    });

    let (mut a, mut b) = pair(&mut rng);
    let kb = *b.0.public_key();
    let mut now = T0 + 1;
    c.bench_function("round_trip", |bench| {
        bench.iter(|| {
            now += 1;
            let o =
                a.0.handle_command(
                    &mut rng,
                    now,
                    &mut a.1,
                    Command::SendText {
                        chat: ChatId::OneToOne(kb),
                        text: "x".repeat(200),
                        reply_to: None,
                    },
                )
                .unwrap();
            let acks = deliver(&mut rng, now, &mut b, &o.messages);
            deliver(&mut rng, now, &mut a, &acks);
        })
    });

    let (mut a, mut b) = pair(&mut rng);
    let (ka, kb) = (*a.0.public_key(), *b.0.public_key());
    let body = vec![7u8; 420];
    c.bench_function("sessions_only", |bench| {
        bench.iter(|| {
            now += 1;
            for m in a.1.encrypt(&mut rng, now, &kb, &body).unwrap() {
                b.1.decrypt(&mut rng, now, &m.pubsub_topic, &m.content_topic, &m.payload)
                    .unwrap();
            }
            for m in b.1.encrypt(&mut rng, now, &ka, &body).unwrap() {
                a.1.decrypt(&mut rng, now, &m.pubsub_topic, &m.content_topic, &m.payload)
                    .unwrap();
            }
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
