//! Double Ratchet throughput and session setup against vodozemac's Olm (measured in the
//! same run), and against bare AES-256-GCM.
//!
//! `cargo bench -p status-x3dh --bench ratchet` prints criterion's figures, then the
//! ratios (read back from criterion's estimates).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use aes_gcm::{AeadInOut, Aes256Gcm, KeyInit, Nonce};
use criterion::{BatchSize, Criterion};
use rand::SeedableRng;
use rand::rngs::ChaCha20Rng;
use status_identity::IdentityKeyPair;
use status_x3dh::{InstallationId, Session, SignedPreKeyPair, VerifiedBundle};
use vodozemac::olm::{Account, OlmMessage, SessionConfig};

const NOW: i64 = 1_700_000_000_000_000_000;
const PLAINTEXT: [u8; 1024] = [0x5a; 1024];

struct Ours {
    alice: IdentityKeyPair,
    bob: IdentityKeyPair,
    bob_device: InstallationId,
    bob_prekey: SignedPreKeyPair,
    alice_bundle: VerifiedBundle,
    bob_bundle: VerifiedBundle,
}

fn ours(rng: &mut ChaCha20Rng) -> Ours {
    let alice = IdentityKeyPair::generate(rng);
    let bob = IdentityKeyPair::generate(rng);
    let alice_device = InstallationId::new("alice").unwrap();
    let bob_device = InstallationId::new("bob").unwrap();
    let alice_prekey = SignedPreKeyPair::generate(rng, 1);
    let bob_prekey = SignedPreKeyPair::generate(rng, 1);
    let alice_bundle =
        VerifiedBundle::sign(&alice, [(alice_device, alice_prekey.public())], NOW).unwrap();
    let bob_bundle =
        VerifiedBundle::sign(&bob, [(bob_device.clone(), bob_prekey.public())], NOW).unwrap();
    Ours {
        alice,
        bob,
        bob_device,
        bob_prekey,
        alice_bundle,
        bob_bundle,
    }
}

/// A confirmed pair of our sessions.
fn our_pair(o: &Ours, rng: &mut ChaCha20Rng) -> (Session, Session) {
    let mut a = Session::initiate(rng, &o.alice, &o.bob_bundle, &o.bob_device).unwrap();
    let first = a.encrypt(rng, b"hi").unwrap();
    let (mut b, _) = Session::respond(&o.bob, &o.bob_prekey, &o.alice_bundle, &first).unwrap();
    let reply = b.encrypt(rng, b"hi").unwrap();
    a.decrypt(&reply).unwrap();
    (a, b)
}

/// A confirmed pair of vodozemac Olm sessions.
fn olm_pair() -> (vodozemac::olm::Session, vodozemac::olm::Session) {
    let alice = Account::new();
    let mut bob = Account::new();
    bob.generate_one_time_keys(1);
    let otk = *bob.one_time_keys().values().next().unwrap();
    bob.mark_keys_as_published();
    let mut a = alice
        .create_outbound_session(SessionConfig::version_1(), bob.curve25519_key(), otk)
        .unwrap();
    let OlmMessage::PreKey(first) = a.encrypt(b"hi").unwrap() else {
        panic!("expected a pre-key message");
    };
    let mut b = bob
        .create_inbound_session(SessionConfig::version_1(), alice.curve25519_key(), &first)
        .unwrap()
        .session;
    let reply = b.encrypt(b"hi").unwrap();
    a.decrypt(&reply).unwrap();
    (a, b)
}

fn one_way(c: &mut Criterion) {
    let mut g = c.benchmark_group("one_way_1KiB");
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let o = ours(&mut rng);
    let (mut a, mut b) = our_pair(&o, &mut rng);
    g.bench_function("status_x3dh", |bench| {
        bench.iter(|| {
            let m = a.encrypt(&mut rng, black_box(&PLAINTEXT)).unwrap();
            black_box(b.decrypt(&m).unwrap())
        })
    });
    let (mut va, mut vb) = olm_pair();
    g.bench_function("vodozemac", |bench| {
        bench.iter(|| {
            let m = va.encrypt(black_box(&PLAINTEXT)).unwrap();
            black_box(vb.decrypt(&m).unwrap())
        })
    });
    let key = [7u8; 32];
    let cipher = Aes256Gcm::new(&key.into());
    let nonce = Nonce::from([1u8; 12]);
    g.bench_function("bare_aes256gcm", |bench| {
        let mut buf = PLAINTEXT;
        bench.iter(|| {
            let tag = cipher
                .encrypt_inout_detached(&nonce, b"ad", (&mut buf[..]).into())
                .unwrap();
            cipher
                .decrypt_inout_detached(&nonce, b"ad", (&mut buf[..]).into(), &tag)
                .unwrap();
            black_box(&buf);
        })
    });
    g.bench_function("bare_aes256gcm_with_key_setup", |bench| {
        let mut buf = PLAINTEXT;
        bench.iter(|| {
            let enc = Aes256Gcm::new(black_box(&key).into());
            let tag = enc
                .encrypt_inout_detached(&nonce, b"ad", (&mut buf[..]).into())
                .unwrap();
            let dec = Aes256Gcm::new(black_box(&key).into());
            dec.decrypt_inout_detached(&nonce, b"ad", (&mut buf[..]).into(), &tag)
                .unwrap();
            black_box(&buf);
        })
    });
    g.finish();
}

fn ping_pong(c: &mut Criterion) {
    let mut g = c.benchmark_group("ping_pong_1KiB");
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let o = ours(&mut rng);
    let (mut a, mut b) = our_pair(&o, &mut rng);
    // One iteration = one message each way, each with a DH ratchet step.
    g.bench_function("status_x3dh", |bench| {
        bench.iter(|| {
            let m = a.encrypt(&mut rng, black_box(&PLAINTEXT)).unwrap();
            black_box(b.decrypt(&m).unwrap());
            let m = b.encrypt(&mut rng, black_box(&PLAINTEXT)).unwrap();
            black_box(a.decrypt(&m).unwrap())
        })
    });
    let (mut va, mut vb) = olm_pair();
    g.bench_function("vodozemac", |bench| {
        bench.iter(|| {
            let m = va.encrypt(black_box(&PLAINTEXT)).unwrap();
            black_box(vb.decrypt(&m).unwrap());
            let m = vb.encrypt(black_box(&PLAINTEXT)).unwrap();
            black_box(va.decrypt(&m).unwrap())
        })
    });
    g.finish();
}

fn setup(c: &mut Criterion) {
    let mut g = c.benchmark_group("session_setup");
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let o = ours(&mut rng);
    // Initiator session + first message + responder session decrypting it (bundles were
    // verified beforehand, as one-time keys are for vodozemac).
    g.bench_function("status_x3dh", |bench| {
        bench.iter(|| {
            let mut a =
                Session::initiate(&mut rng, &o.alice, &o.bob_bundle, &o.bob_device).unwrap();
            let first = a.encrypt(&mut rng, b"hello").unwrap();
            black_box(Session::respond(&o.bob, &o.bob_prekey, &o.alice_bundle, &first).unwrap())
        })
    });
    let alice = Account::new();
    g.bench_function("vodozemac", |bench| {
        bench.iter_batched(
            || {
                let mut bob = Account::new();
                bob.generate_one_time_keys(1);
                let otk = *bob.one_time_keys().values().next().unwrap();
                bob.mark_keys_as_published();
                (bob, otk)
            },
            |(mut bob, otk)| {
                let mut a = alice
                    .create_outbound_session(SessionConfig::version_1(), bob.curve25519_key(), otk)
                    .unwrap();
                let OlmMessage::PreKey(first) = a.encrypt(b"hello").unwrap() else {
                    panic!("expected a pre-key message");
                };
                black_box(
                    bob.create_inbound_session(
                        SessionConfig::version_1(),
                        alice.curve25519_key(),
                        &first,
                    )
                    .unwrap(),
                );
                bob
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

/// The scalar multiplications that dominate DH steps and session setup.
fn primitives(c: &mut Criterion) {
    use curve25519_dalek::{EdwardsPoint, MontgomeryPoint};
    let mut g = c.benchmark_group("primitives");
    let k = [0x42u8; 32];
    let u = MontgomeryPoint::mul_base_clamped([0x17; 32]);
    g.bench_function("x25519_ladder", |b| {
        b.iter(|| black_box(black_box(u).mul_clamped(black_box(k))))
    });
    g.bench_function("x25519_via_edwards", |b| {
        b.iter(|| {
            let p = black_box(u).to_edwards(0).unwrap();
            black_box(p.mul_clamped(black_box(k)).to_montgomery())
        })
    });
    g.bench_function("basepoint_mul", |b| {
        b.iter(|| black_box(EdwardsPoint::mul_base_clamped(black_box(k)).to_montgomery()))
    });
    g.finish();
}

fn criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("criterion")
}

fn mean_ns(group: &str, function: &str) -> Option<f64> {
    let path = criterion_dir()
        .join(group)
        .join(function)
        .join("new/estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    // Criterion reports the slope when it has one, the mean otherwise.
    json["slope"]["point_estimate"]
        .as_f64()
        .or_else(|| json["mean"]["point_estimate"].as_f64())
}

fn ratio(label: &str, group: &str, ours: &str, theirs: &str, target: f64) {
    match (mean_ns(group, ours), mean_ns(group, theirs)) {
        (Some(a), Some(b)) => {
            let r = a / b;
            let verdict = if r <= target { "ok" } else { "MISSED" };
            println!(
                "{label:<40} {:>10.2} us / {:>10.2} us = {r:.3}x (target <= {target}x) {verdict}",
                a / 1000.0,
                b / 1000.0
            );
        }
        _ => println!("{label:<40} (not measured in this run)"),
    }
}

/// Per-iteration time of `a` and `b`, measured in alternating short batches, keeping the
/// fastest batch of each: robust against other load on the machine (criterion's means
/// are not when the machine is shared).
fn interleaved(
    rounds: usize,
    batch: usize,
    a: &mut dyn FnMut(),
    b: &mut dyn FnMut(),
) -> (f64, f64) {
    let mut best = (f64::MAX, f64::MAX);
    for _ in 0..rounds {
        let t = std::time::Instant::now();
        for _ in 0..batch {
            a();
        }
        best.0 = best.0.min(t.elapsed().as_secs_f64() * 1e9 / batch as f64);
        let t = std::time::Instant::now();
        for _ in 0..batch {
            b();
        }
        best.1 = best.1.min(t.elapsed().as_secs_f64() * 1e9 / batch as f64);
    }
    best
}

fn report(label: &str, (a, b): (f64, f64), target: f64) {
    let r = a / b;
    let verdict = if r <= target { "ok" } else { "MISSED" };
    println!(
        "{label:<40} {:>10.2} us / {:>10.2} us = {r:.3}x (target <= {target}x) {verdict}",
        a / 1000.0,
        b / 1000.0
    );
}

/// The same comparisons as the criterion groups, interleaved (min of batches).
fn interleaved_ratios() {
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let o = ours(&mut rng);
    println!("\nratios (interleaved batches, fastest batch of each):");

    let (mut a, mut b) = our_pair(&o, &mut rng);
    let (mut va, mut vb) = olm_pair();
    let r = interleaved(
        200,
        50,
        &mut || {
            let m = a.encrypt(&mut rng, &PLAINTEXT).unwrap();
            black_box(b.decrypt(&m).unwrap());
        },
        &mut || {
            let m = va.encrypt(PLAINTEXT.as_slice()).unwrap();
            black_box(vb.decrypt(&m).unwrap());
        },
    );
    report("one-way 1 KiB vs vodozemac", r, 0.25);
    let one_way = r.0;

    let key = [7u8; 32];
    let cipher = Aes256Gcm::new(&key.into());
    let nonce = Nonce::from([1u8; 12]);
    let mut buf = PLAINTEXT;
    let (_, bare) = interleaved(200, 50, &mut || {}, &mut || {
        let tag = cipher
            .encrypt_inout_detached(&nonce, b"ad", (&mut buf[..]).into())
            .unwrap();
        cipher
            .decrypt_inout_detached(&nonce, b"ad", (&mut buf[..]).into(), &tag)
            .unwrap();
        black_box(&buf);
    });
    report("one-way 1 KiB vs bare AES-256-GCM", (one_way, bare), 3.5);

    let (mut a, mut b) = our_pair(&o, &mut rng);
    let (mut va, mut vb) = olm_pair();
    let mut rng2 = ChaCha20Rng::seed_from_u64(5);
    let r = interleaved(
        300,
        1,
        &mut || {
            let m = a.encrypt(&mut rng2, &PLAINTEXT).unwrap();
            black_box(b.decrypt(&m).unwrap());
            let m = b.encrypt(&mut rng2, &PLAINTEXT).unwrap();
            black_box(a.decrypt(&m).unwrap());
        },
        &mut || {
            let m = va.encrypt(PLAINTEXT.as_slice()).unwrap();
            black_box(vb.decrypt(&m).unwrap());
            let m = vb.encrypt(PLAINTEXT.as_slice()).unwrap();
            black_box(va.decrypt(&m).unwrap());
        },
    );
    report("ping-pong 1 KiB vs vodozemac", r, 1.05);

    let alice = Account::new();
    let mut bobs: Vec<_> = (0..400 + 1)
        .map(|_| {
            let mut bob = Account::new();
            bob.generate_one_time_keys(1);
            let otk = *bob.one_time_keys().values().next().unwrap();
            bob.mark_keys_as_published();
            (bob, otk)
        })
        .collect();
    let r = interleaved(
        400,
        1,
        &mut || {
            let mut a =
                Session::initiate(&mut rng, &o.alice, &o.bob_bundle, &o.bob_device).unwrap();
            let first = a.encrypt(&mut rng, b"hello").unwrap();
            black_box(Session::respond(&o.bob, &o.bob_prekey, &o.alice_bundle, &first).unwrap());
        },
        &mut || {
            let Some((mut bob, otk)) = bobs.pop() else {
                return;
            };
            let mut a = alice
                .create_outbound_session(SessionConfig::version_1(), bob.curve25519_key(), otk)
                .unwrap();
            let OlmMessage::PreKey(first) = a.encrypt(b"hello").unwrap() else {
                panic!("expected a pre-key message");
            };
            black_box(
                bob.create_inbound_session(
                    SessionConfig::version_1(),
                    alice.curve25519_key(),
                    &first,
                )
                .unwrap(),
            );
        },
    );
    report("session setup vs vodozemac", r, 1.0);

    // Where the one-way time goes (per message, one side).
    let ck = [3u8; 32];
    let (kdf, aes_init) = interleaved(
        200,
        100,
        &mut || {
            let (mk, _) = status_x3dh::hazmat::dangerous_kdf_ck(black_box(&ck));
            black_box(status_x3dh::hazmat::dangerous_message_key_expansion(&mk));
        },
        &mut || {
            black_box(Aes256Gcm::new(black_box(&key).into()));
        },
    );
    println!(
        "components: KDF_CK + key/nonce expansion {:.3} us, AES-256-GCM key setup {:.3} us",
        kdf / 1000.0,
        aes_init / 1000.0
    );

    use curve25519_dalek::MontgomeryPoint;
    let k = [0x42u8; 32];
    let u = MontgomeryPoint::mul_base_clamped([0x17; 32]);
    let r = interleaved(
        100,
        10,
        &mut || {
            let p = black_box(u).to_edwards(0).unwrap();
            black_box(p.mul_clamped(black_box(k)).to_montgomery());
        },
        &mut || {
            black_box(black_box(u).mul_clamped(black_box(k)));
        },
    );
    report("X25519 via Edwards vs Montgomery ladder", r, 1.0);
    let p = u.to_edwards(0).unwrap();
    let (mul, ladder) = interleaved(
        100,
        10,
        &mut || {
            black_box(black_box(p).mul_clamped(black_box(k)));
        },
        &mut || {
            black_box(black_box(u).mul_clamped(black_box(k)));
        },
    );
    let compressed = p.compress();
    let (to_ed, decompress) = interleaved(
        100,
        10,
        &mut || {
            black_box(black_box(u).to_edwards(0));
        },
        &mut || {
            black_box(black_box(compressed).decompress());
        },
    );
    let (to_mont, _) = interleaved(
        100,
        10,
        &mut || {
            black_box(black_box(p).to_montgomery());
        },
        &mut || {},
    );
    println!(
        "components: Edwards mul {:.2} us, ladder {:.2} us, to_edwards {:.2} us, decompress {:.2} us, to_montgomery {:.2} us",
        mul / 1000.0,
        ladder / 1000.0,
        to_ed / 1000.0,
        decompress / 1000.0,
        to_mont / 1000.0
    );
}

/// Which field arithmetic curve25519-dalek runs: the variable-base multiplications of
/// session setup and DH steps are about 10 % faster on the AVX-512 IFMA backend.
fn backend_line() {
    let built = if cfg!(curve25519_dalek_backend = "avx512") {
        "built with the AVX-512 IFMA backend (picked at run time when the CPU has it, else AVX2)"
    } else {
        "built without the AVX-512 IFMA backend (AVX2 when the CPU has it)"
    };
    #[cfg(target_arch = "x86_64")]
    let cpu = if std::arch::is_x86_feature_detected!("avx512ifma")
        && std::arch::is_x86_feature_detected!("avx512vl")
    {
        "this CPU has AVX-512 IFMA"
    } else if std::arch::is_x86_feature_detected!("avx2") {
        "this CPU has AVX2 but not AVX-512 IFMA"
    } else {
        "this CPU has neither AVX2 nor AVX-512 IFMA"
    };
    #[cfg(not(target_arch = "x86_64"))]
    let cpu = "not x86_64: portable backend";
    println!("curve25519-dalek 5: {built}; {cpu}");
}

fn main() {
    backend_line();
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    one_way(&mut c);
    ping_pong(&mut c);
    setup(&mut c);
    primitives(&mut c);
    c.final_summary();
    println!("\nratios (criterion means):");
    ratio(
        "one-way 1 KiB vs vodozemac",
        "one_way_1KiB",
        "status_x3dh",
        "vodozemac",
        0.25,
    );
    ratio(
        "ping-pong 1 KiB vs vodozemac",
        "ping_pong_1KiB",
        "status_x3dh",
        "vodozemac",
        1.05,
    );
    ratio(
        "session setup vs vodozemac",
        "session_setup",
        "status_x3dh",
        "vodozemac",
        1.0,
    );
    ratio(
        "one-way 1 KiB vs bare AES-256-GCM",
        "one_way_1KiB",
        "status_x3dh",
        "bare_aes256gcm",
        3.5,
    );
    ratio(
        "one-way vs AES-256-GCM incl. key setup",
        "one_way_1KiB",
        "status_x3dh",
        "bare_aes256gcm_with_key_setup",
        3.5,
    );
    interleaved_ratios();
    backend_line();
}
