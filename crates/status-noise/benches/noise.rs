//! Benchmarks, in one run:
//! - a full XX handshake (both sides, in memory): ours in plain Noise mode (the same work
//!   as snow), ours in Waku mode (PayloadV2, nametags, padding), and snow; target: ours
//!   plain ≤ 1.0x snow;
//! - 1 KiB transport encrypt + decrypt: bare ChaCha20-Poly1305, our plain cipher states,
//!   and our Waku transport (padding to 1240 bytes, nametag, receive window); target ≤ 1.1x.
//!
//! After criterion, the ratios are measured once more side by side and printed.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use criterion::{Criterion, criterion_group};
use rand::SeedableRng;
use rand::rngs::StdRng;
use status_noise::{
    HandshakeBuilder, Keypair, MessageNametag, Pattern, PlainTransport, Role, TransportSession,
};

const I_STATIC: [u8; 32] = [1; 32];
const R_STATIC: [u8; 32] = [2; 32];
const NAME: &str = "Noise_XX_25519_ChaChaPoly_SHA256";

fn ours_plain(rng: &mut StdRng) -> (PlainTransport, PlainTransport) {
    let mut i = HandshakeBuilder::new(Pattern::XX, Role::Initiator)
        .local_static(Keypair::from_secret_bytes(I_STATIC))
        .build_plain()
        .unwrap();
    let mut r = HandshakeBuilder::new(Pattern::XX, Role::Responder)
        .local_static(Keypair::from_secret_bytes(R_STATIC))
        .build_plain()
        .unwrap();
    let m1 = i.write_message(&[], rng).unwrap();
    r.read_message(&m1).unwrap();
    let m2 = r.write_message(&[], rng).unwrap();
    i.read_message(&m2).unwrap();
    let m3 = i.write_message(&[], rng).unwrap();
    r.read_message(&m3).unwrap();
    (i.into_transport().unwrap(), r.into_transport().unwrap())
}

fn ours_waku(rng: &mut StdRng) -> (TransportSession, TransportSession) {
    let mut i = HandshakeBuilder::new(Pattern::XX, Role::Initiator)
        .local_static(Keypair::from_secret_bytes(I_STATIC))
        .build()
        .unwrap();
    let mut r = HandshakeBuilder::new(Pattern::XX, Role::Responder)
        .local_static(Keypair::from_secret_bytes(R_STATIC))
        .build()
        .unwrap();
    let t = MessageNametag::ZERO;
    let m1 = i.write_message(&[], t, rng).unwrap();
    r.read_message(&m1, &t).unwrap();
    let t = r.derived_nametag();
    let m2 = r.write_message(&[], t, rng).unwrap();
    i.read_message(&m2, &t).unwrap();
    let t = i.derived_nametag();
    let m3 = i.write_message(&[], t, rng).unwrap();
    r.read_message(&m3, &t).unwrap();
    (i.into_transport().unwrap(), r.into_transport().unwrap())
}

fn snow_xx() -> (snow::TransportState, snow::TransportState) {
    let mut i = snow::Builder::new(NAME.parse().unwrap())
        .local_private_key(&I_STATIC)
        .unwrap()
        .build_initiator()
        .unwrap();
    let mut r = snow::Builder::new(NAME.parse().unwrap())
        .local_private_key(&R_STATIC)
        .unwrap()
        .build_responder()
        .unwrap();
    let (mut buf, mut out) = ([0u8; 256], [0u8; 256]);
    let n = i.write_message(&[], &mut buf).unwrap();
    r.read_message(&buf[..n], &mut out).unwrap();
    let n = r.write_message(&[], &mut buf).unwrap();
    i.read_message(&buf[..n], &mut out).unwrap();
    let n = i.write_message(&[], &mut buf).unwrap();
    r.read_message(&buf[..n], &mut out).unwrap();
    (
        i.into_transport_mode().unwrap(),
        r.into_transport_mode().unwrap(),
    )
}

struct Bare {
    cipher: ChaCha20Poly1305,
    n: u64,
}

impl Bare {
    fn round(&mut self, data: &[u8]) -> Vec<u8> {
        let mut nonce = Nonce::default();
        nonce[4..].copy_from_slice(&self.n.to_le_bytes());
        self.n += 1;
        let ad = [0u8; 16];
        let ct = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: data,
                    aad: &ad,
                },
            )
            .unwrap();
        self.cipher
            .decrypt(&nonce, Payload { msg: &ct, aad: &ad })
            .unwrap()
    }
}

fn benches(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(1);
    let mut g = c.benchmark_group("xx_handshake");
    g.bench_function("ours_plain", |b| b.iter(|| black_box(ours_plain(&mut rng))));
    g.bench_function("ours_waku", |b| b.iter(|| black_box(ours_waku(&mut rng))));
    g.bench_function("snow", |b| b.iter(|| black_box(snow_xx())));
    g.finish();

    let data = vec![0x5au8; 1024];
    let mut g = c.benchmark_group("transport_1KiB");
    let mut bare = Bare {
        cipher: ChaCha20Poly1305::new(&[7u8; 32].into()),
        n: 0,
    };
    g.bench_function("bare_chacha20poly1305", |b| {
        b.iter(|| black_box(bare.round(&data)))
    });
    let (mut pi, mut pr) = ours_plain(&mut rng);
    g.bench_function("ours_plain", |b| {
        b.iter(|| black_box(pr.decrypt(&pi.encrypt(&data).unwrap()).unwrap()))
    });
    let (mut wi, mut wr) = ours_waku(&mut rng);
    g.bench_function("ours_waku", |b| {
        b.iter(|| black_box(wr.decrypt(&wi.encrypt(&data).unwrap()).unwrap()))
    });
    let (mut si, mut sr) = snow_xx();
    let (mut buf, mut out) = (vec![0u8; 2048], vec![0u8; 2048]);
    g.bench_function("snow", |b| {
        b.iter(|| {
            let n = si.write_message(&data, &mut buf).unwrap();
            black_box(sr.read_message(&buf[..n], &mut out).unwrap())
        })
    });
    g.finish();
}

/// Mean time per call of each function, measured in interleaved rounds (so load
/// changes on a shared machine hit all alike); the best round of each counts.
fn race(iters: u32, fs: &mut [&mut dyn FnMut()]) -> Vec<Duration> {
    let mut best = vec![Duration::MAX; fs.len()];
    for _ in 0..7 {
        for (k, f) in fs.iter_mut().enumerate() {
            let t = Instant::now();
            for _ in 0..iters {
                f();
            }
            best[k] = best[k].min(t.elapsed() / iters);
        }
    }
    best
}

fn ratios() {
    let mut rng = StdRng::seed_from_u64(2);
    let mut rng2 = StdRng::seed_from_u64(3);
    let hs = race(
        100,
        &mut [
            &mut || {
                black_box(ours_plain(&mut rng));
            },
            &mut || {
                black_box(ours_waku(&mut rng2));
            },
            &mut || {
                black_box(snow_xx());
            },
        ],
    );
    let data = vec![0x5au8; 1024];
    let mut bare = Bare {
        cipher: ChaCha20Poly1305::new(&[7u8; 32].into()),
        n: 0,
    };
    let (mut pi, mut pr) = ours_plain(&mut rng);
    let (mut wi, mut wr) = ours_waku(&mut rng);
    let padded = vec![0x5au8; 1240];
    let mut bare_padded = Bare {
        cipher: ChaCha20Poly1305::new(&[8u8; 32].into()),
        n: 0,
    };
    let tr = race(
        10_000,
        &mut [
            &mut || {
                black_box(bare.round(&data));
            },
            &mut || {
                black_box(pr.decrypt(&pi.encrypt(&data).unwrap()).unwrap());
            },
            &mut || {
                black_box(wr.decrypt(&wi.encrypt(&data).unwrap()).unwrap());
            },
            &mut || {
                black_box(bare_padded.round(&padded));
            },
        ],
    );
    let r = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    println!("\nratios (interleaved rounds, best of 7):");
    println!(
        "  XX handshake: ours plain {:?}, ours Waku {:?}, snow {:?}: plain/snow = {:.3}x \
         (target <= 1.0x), Waku/snow = {:.3}x",
        hs[0],
        hs[1],
        hs[2],
        r(hs[0], hs[2]),
        r(hs[1], hs[2])
    );
    println!(
        "  1 KiB encrypt+decrypt: bare {:?}, ours plain {:?}, ours Waku {:?}: plain/bare = \
         {:.3}x (target <= 1.1x), Waku/bare = {:.3}x (Waku pads 1024 to 1240 bytes)",
        tr[0],
        tr[1],
        tr[2],
        r(tr[1], tr[0]),
        r(tr[2], tr[0])
    );
    println!(
        "  Waku transport vs bare ChaCha20-Poly1305 on the padded 1240 bytes ({:?}): {:.3}x",
        tr[3],
        r(tr[2], tr[3])
    );
}

criterion_group! {
    name = group;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = benches
}

fn main() {
    group();
    Criterion::default().configure_from_args().final_summary();
    ratios();
}
