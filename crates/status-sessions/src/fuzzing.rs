//! Entry points shared by the cargo-fuzz targets (`fuzz/`) and the corpus replay test
//! (`tests/fuzz_corpus.rs`). Not a stable API.
//!
//! [`protocol_message`] feeds arbitrary bytes to [`SessionManager::decrypt`] on each kind
//! of topic. Random bytes never get through AES-GCM, so the bytes after the first are
//! first wrapped the way that topic expects (sealed to the device's identity, encrypted
//! with the negotiated or self-topic key, framed for the contact-code topic) and so reach
//! the `ProtocolMessage` handling; selector values past those wrap nothing and test the
//! payload layer itself.

use std::sync::OnceLock;

use status_identity::IdentityKeyPair;
use status_x3dh::fuzzing::InsecureFuzzRng as FuzzRng;

use crate::InstallationId;
use crate::manager::{Config, DeviceInfo, SessionManager};
use crate::payload;
use crate::store::MemoryStore;
use crate::topics::{self, Negotiated};

const NOW: i64 = 1_750_000_000_000_000_000;

struct Fixture {
    alice: [u8; 32],
    bob: [u8; 32],
    /// Alice's device a1 after a conversation with Bob's b1 and her own a2.
    store: MemoryStore,
    /// Real `ProtocolMessage`s (unwrapped) from that conversation, by topic selector.
    seeds: Vec<(u8, Vec<u8>)>,
    /// A genuine message from Bob that the stored device has not seen yet.
    pending: (crate::ContentTopic, Vec<u8>),
    /// The negotiated topic and key of Alice and Bob, and Alice's self topic and key.
    with_bob: Negotiated,
    own: Negotiated,
}

fn manager(seed: [u8; 32], name: &str, rng: &mut FuzzRng) -> Option<(SessionManager, MemoryStore)> {
    let identity = IdentityKeyPair::from_secret_bytes(&seed);
    let (m, changes) = SessionManager::with_installation(
        rng,
        identity,
        Config::default(),
        InstallationId::new(name).ok()?,
        DeviceInfo::default(),
        NOW,
    )
    .ok()?;
    let mut store = MemoryStore::new();
    changes.apply(&mut store).ok()?;
    Some((m, store))
}

fn build() -> Option<Fixture> {
    let mut rng = FuzzRng::from_seed_insecure(b"status-sessions fuzz fixture");
    let alice = [0xa1; 32];
    let bob = [0xb0; 32];
    let (mut a1, mut a1_store) = manager(alice, "a1", &mut rng)?;
    let (mut a2, _) = manager(alice, "a2", &mut rng)?;
    let (mut b1, _) = manager(bob, "b1", &mut rng)?;
    let a_id = *a1.identity();
    let b_id = *b1.identity();
    // Pair a1 and a2.
    let a2_advert = a2.bundle_advert().ok()?;
    a1.decrypt(&mut rng, NOW, &a2_advert.content_topic, &a2_advert.payload)
        .ok()?
        .changes
        .apply(&mut a1_store)
        .ok()?;
    let a1_advert = a1.bundle_advert().ok()?;
    a2.decrypt(&mut rng, NOW, &a1_advert.content_topic, &a1_advert.payload)
        .ok()?;
    let a2_inst = InstallationId::new("a2").ok()?;
    a1.set_enabled(NOW, &a_id, &a2_inst, true)
        .ok()?
        .apply(&mut a1_store)
        .ok()?;
    let a1_inst = InstallationId::new("a1").ok()?;
    a2.set_enabled(NOW, &a_id, &a1_inst, true).ok()?;
    // a1 writes to Bob, Bob answers.
    a1.add_bundle(NOW, &b1.bundle().encode())
        .ok()?
        .changes
        .apply(&mut a1_store)
        .ok()?;
    let out = a1.encrypt(&mut rng, NOW, &b_id, b"hello").ok()?;
    out.changes.apply(&mut a1_store).ok()?;
    let mut seeds = Vec::new();
    let bob_key = IdentityKeyPair::from_secret_bytes(&bob);
    for m in &out.messages {
        if m.recipient == b_id {
            seeds.push((0, payload::open(&bob_key, &m.payload).ok()?.to_vec()));
            b1.decrypt(&mut rng, NOW, &m.content_topic, &m.payload)
                .ok()?;
        } else {
            let own =
                Negotiated::derive(&IdentityKeyPair::from_secret_bytes(&alice), &a_id).ok()?;
            seeds.push((2, own.key().decrypt(&m.payload).ok()?.to_vec()));
        }
    }
    let reply = b1.encrypt(&mut rng, NOW, &a_id, b"hi").ok()?;
    for m in &reply.messages {
        if m.recipient == a_id {
            let n = Negotiated::derive(&bob_key, &a_id).ok()?;
            seeds.push((1, n.key().decrypt(&m.payload).ok()?.to_vec()));
            a1.decrypt(&mut rng, NOW, &m.content_topic, &m.payload)
                .ok()?
                .changes
                .apply(&mut a1_store)
                .ok()?;
        }
    }
    let advert = b1.bundle_advert().ok()?;
    seeds.push((3, payload::unframe_public(&advert.payload).ok()?.to_vec()));
    let later = b1.encrypt(&mut rng, NOW, &a_id, b"later").ok()?;
    let pending = later
        .messages
        .into_iter()
        .find(|m| m.recipient == a_id)
        .map(|m| (m.content_topic, m.payload))?;
    Some(Fixture {
        alice,
        bob,
        store: a1_store,
        seeds,
        pending,
        with_bob: Negotiated::derive(&bob_key, &a_id).ok()?,
        own: Negotiated::derive(&IdentityKeyPair::from_secret_bytes(&alice), &a_id).ok()?,
    })
}

fn fixture() -> Option<&'static Fixture> {
    static FIXTURE: OnceLock<Option<Fixture>> = OnceLock::new();
    FIXTURE.get_or_init(build).as_ref()
}

/// Real inputs for [`protocol_message`] (selector byte, then the `ProtocolMessage`), for
/// seeding the corpus.
pub fn seed_inputs() -> Vec<Vec<u8>> {
    fixture()
        .map(|f| {
            f.seeds
                .iter()
                .map(|(k, m)| {
                    let mut v = vec![*k];
                    v.extend_from_slice(m);
                    v
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Feeds `data` to a device that holds sessions with a peer and with its own other
/// device. `data[0] % 6` picks the topic: 0 partitioned (sealed), 1 negotiated with the
/// peer, 2 self topic, 3 contact code (all four wrap `data[1..]` as that topic expects),
/// 4 partitioned and 5 negotiated with `data[1..]` as the raw Waku payload. Must never
/// panic; a rejected input must leave the device able to decrypt a genuine message.
pub fn protocol_message(data: &[u8]) {
    let Some(f) = fixture() else {
        return;
    };
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let alice = IdentityKeyPair::from_secret_bytes(&f.alice);
    let Ok(mut device) = SessionManager::restore(alice, Config::default(), &f.store, NOW) else {
        return;
    };
    let mut rng = FuzzRng::from_seed_insecure(&[selector]);
    let a_id = *device.identity();
    let (with_bob, own) = (&f.with_bob, &f.own);
    let bob = IdentityKeyPair::from_secret_bytes(&f.bob);
    let (topic, payload) = match selector % 6 {
        0 => (
            topics::partitioned_topic(&a_id),
            payload::seal(&mut rng, &a_id, body).ok(),
        ),
        1 => (
            with_bob.topic().clone(),
            with_bob.key().encrypt(&mut rng, body).ok(),
        ),
        2 => (own.topic().clone(), own.key().encrypt(&mut rng, body).ok()),
        3 => (
            topics::contact_code_topic(bob.public_key()),
            payload::frame_public(body).ok(),
        ),
        4 => (topics::partitioned_topic(&a_id), Some(body.to_vec())),
        _ => (with_bob.topic().clone(), Some(body.to_vec())),
    };
    let Some(payload) = payload else {
        return;
    };
    if device.decrypt(&mut rng, NOW, &topic, &payload).is_err() {
        // A rejected input changed nothing that matters: the next genuine message from
        // the peer still decrypts.
        let (topic, payload) = &f.pending;
        let genuine = device.decrypt(&mut rng, NOW, topic, payload);
        assert!(
            genuine.is_ok_and(|i| i
                .message
                .is_some_and(|m| m.plaintext.as_slice() == b"later")),
            "a rejected input broke the session"
        );
    }
}
