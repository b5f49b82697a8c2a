//! Cost of one 1:1 message between two people with 3 devices each: the sender's fan-out
//! (3 peer installations + 2 own, sealed or negotiated payload) and one receiving
//! device's decrypt, on established sessions; plus the first message of a conversation
//! (5 X3DH initiations) and the responder side of one of them.
//!
//! `cargo bench -p status-sessions --bench fanout`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::hint::black_box;

use criterion::{BatchSize, Criterion};
use rand::SeedableRng;
use rand::rngs::ChaCha20Rng;
use status_identity::IdentityKeyPair;
use status_sessions::{
    Config, DeviceInfo, InstallationId, MemoryStore, OutgoingMessage, SessionManager,
};

const NOW: i64 = 1_750_000_000_000_000_000;
const PLAINTEXT: [u8; 1024] = [0x5a; 1024];

struct Device {
    seed: [u8; 32],
    manager: SessionManager,
    store: MemoryStore,
}

fn device(seed: u8, name: &str, rng: &mut ChaCha20Rng) -> Device {
    let (manager, changes) = SessionManager::with_installation(
        rng,
        IdentityKeyPair::from_secret_bytes(&[seed; 32]),
        Config::default(),
        InstallationId::new(name).unwrap(),
        DeviceInfo::default(),
        NOW,
    )
    .unwrap();
    let mut store = MemoryStore::new();
    changes.apply(&mut store).unwrap();
    Device {
        seed: [seed; 32],
        manager,
        store,
    }
}

fn restore(d: &Device) -> SessionManager {
    SessionManager::restore(
        IdentityKeyPair::from_secret_bytes(&d.seed),
        Config::default(),
        &d.store,
        NOW,
    )
    .unwrap()
}

fn pair(devices: &mut [Device], rng: &mut ChaCha20Rng) {
    let adverts: Vec<OutgoingMessage> = devices
        .iter()
        .map(|d| d.manager.bundle_advert().unwrap())
        .collect();
    let ids: Vec<InstallationId> = devices
        .iter()
        .map(|d| d.manager.installation_id().clone())
        .collect();
    for d in devices.iter_mut() {
        for a in &adverts {
            let inc = d
                .manager
                .decrypt(rng, NOW, &a.content_topic, &a.payload)
                .unwrap();
            inc.changes.apply(&mut d.store).unwrap();
        }
        let own = *d.manager.identity();
        for id in &ids {
            let c = d.manager.set_enabled(NOW, &own, id, true).unwrap();
            c.apply(&mut d.store).unwrap();
        }
    }
}

/// Delivers to every device subscribed, persisting changes.
fn deliver(all: &mut [Device], from: usize, messages: Vec<OutgoingMessage>, rng: &mut ChaCha20Rng) {
    for m in messages {
        for (i, d) in all.iter_mut().enumerate() {
            if i == from || !d.manager.subscriptions().contains(&m.content_topic) {
                continue;
            }
            let inc = d
                .manager
                .decrypt(rng, NOW, &m.content_topic, &m.payload)
                .unwrap();
            inc.changes.apply(&mut d.store).unwrap();
        }
    }
}

fn main() {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let mut all: Vec<Device> = Vec::new();
    for n in ["a1", "a2", "a3"] {
        all.push(device(1, n, &mut rng));
    }
    for n in ["b1", "b2", "b3"] {
        all.push(device(2, n, &mut rng));
    }
    pair(&mut all[..3], &mut rng);
    pair(&mut all[3..], &mut rng);
    let bob = *all[3].manager.identity();
    let alice = *all[0].manager.identity();
    let b1_bundle = all[3].manager.bundle().encode();
    for d in all[..3].iter_mut() {
        d.manager
            .add_bundle(NOW, &b1_bundle)
            .unwrap()
            .changes
            .apply(&mut d.store)
            .unwrap();
    }
    // Before any exchange: snapshot for the first-message benchmark.
    let fresh_a1 = Device {
        seed: all[0].seed,
        manager: restore(&all[0]),
        store: all[0].store.clone(),
    };
    let fresh_b2 = all[4].store.clone();
    // Everyone writes once, so all 30 sessions are established and confirmed.
    for from in 0..6 {
        let to = if from < 3 { bob } else { alice };
        let out = all[from]
            .manager
            .encrypt(&mut rng, NOW, &to, b"warm up")
            .unwrap();
        out.changes.apply(&mut all[from].store).unwrap();
        deliver(&mut all, from, out.messages, &mut rng);
    }
    for from in 0..6 {
        let to = if from < 3 { bob } else { alice };
        let out = all[from]
            .manager
            .encrypt(&mut rng, NOW, &to, b"confirm")
            .unwrap();
        out.changes.apply(&mut all[from].store).unwrap();
        deliver(&mut all, from, out.messages, &mut rng);
    }

    let mut c = Criterion::default().configure_from_args();
    c.bench_function(
        "fan-out encrypt 1 KiB (3 peer + 2 own installations)",
        |b| {
            b.iter_batched(
                || (restore(&all[0]), ChaCha20Rng::seed_from_u64(7)),
                |(mut m, mut rng)| black_box(m.encrypt(&mut rng, NOW, &bob, &PLAINTEXT).unwrap()),
                BatchSize::SmallInput,
            )
        },
    );
    let out = restore(&all[0])
        .encrypt(&mut ChaCha20Rng::seed_from_u64(7), NOW, &bob, &PLAINTEXT)
        .unwrap();
    let to_bob = out
        .messages
        .iter()
        .find(|m| m.recipient == bob)
        .unwrap()
        .clone();
    c.bench_function(
        "decrypt 1 KiB on one receiving device (negotiated topic)",
        |b| {
            b.iter_batched(
                || (restore(&all[4]), ChaCha20Rng::seed_from_u64(8)),
                |(mut m, mut rng)| {
                    black_box(
                        m.decrypt(&mut rng, NOW, &to_bob.content_topic, &to_bob.payload)
                            .unwrap(),
                    )
                },
                BatchSize::SmallInput,
            )
        },
    );
    c.bench_function(
        "first message: fan-out with 5 X3DH initiations (sealed)",
        |b| {
            b.iter_batched(
                || (restore(&fresh_a1), ChaCha20Rng::seed_from_u64(9)),
                |(mut m, mut rng)| black_box(m.encrypt(&mut rng, NOW, &bob, &PLAINTEXT).unwrap()),
                BatchSize::SmallInput,
            )
        },
    );
    let first = restore(&fresh_a1)
        .encrypt(&mut ChaCha20Rng::seed_from_u64(9), NOW, &bob, &PLAINTEXT)
        .unwrap();
    let first_to_bob = first
        .messages
        .iter()
        .find(|m| m.recipient == bob)
        .unwrap()
        .clone();
    // b2 before it heard of Alice: unseal, verify her bundle, X3DH as responder.
    let b2_seed = all[4].seed;
    c.bench_function(
        "first message: unseal + bundle verify + X3DH respond",
        |b| {
            b.iter_batched(
                || {
                    (
                        SessionManager::restore(
                            IdentityKeyPair::from_secret_bytes(&b2_seed),
                            Config::default(),
                            &fresh_b2,
                            NOW,
                        )
                        .unwrap(),
                        ChaCha20Rng::seed_from_u64(10),
                    )
                },
                |(mut m, mut rng)| {
                    black_box(
                        m.decrypt(
                            &mut rng,
                            NOW,
                            &first_to_bob.content_topic,
                            &first_to_bob.payload,
                        )
                        .unwrap(),
                    )
                },
                BatchSize::SmallInput,
            )
        },
    );
    c.final_summary();
}
