//! Benches of the encrypted store: opening (argon2id with the default parameters), and
//! one committed transaction storing a 1 KiB message (seal + blind + SQLite WAL commit).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use rand::SeedableRng;
use rand::rngs::ChaCha20Rng;
use status::store::{KdfParams, Store, StoreError};

fn open_default_kdf(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.db");
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    drop(
        Store::create(
            &path,
            &"bench passphrase".into(),
            KdfParams::DEFAULT,
            &mut rng,
        )
        .unwrap(),
    );
    let mut group = c.benchmark_group("store");
    group.sample_size(10);
    group.bench_function("open (argon2id 64 MiB, t=3, p=1)", |b| {
        b.iter(|| drop(Store::open(&path, &"bench passphrase".into()).unwrap()))
    });
    group.finish();
}

fn insert_message(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.db");
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let mut store = Store::create(
        &path,
        &"bench".into(),
        KdfParams::INSECURE_FOR_TESTS_ONLY,
        &mut rng,
    )
    .unwrap();
    let body = vec![0x61u8; 1024];
    let mut n: u64 = 0;
    c.bench_function("store/commit 1 KiB message + session state", |b| {
        b.iter_batched(
            || {
                n += 1;
                n
            },
            |i| {
                store
                    .transaction(|tx| {
                        tx.kv_put("sessions", b"peer", &[7u8; 600])?;
                        tx.message_insert(b"chat", &i.to_be_bytes(), &body)?;
                        Ok::<_, StoreError>(())
                    })
                    .unwrap()
            },
            BatchSize::SmallInput,
        )
    });
}

criterion_group!(benches, open_default_kdf, insert_message);
criterion_main!(benches);
