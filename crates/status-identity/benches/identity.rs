//! Costs of the identity operations: what a user waits for (account recovery, unlocking a
//! key file at the default Argon2 parameters, the safety number) and what a peer can make
//! us do (parsing chat keys and contact codes).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};
use rand::SeedableRng;
use rand::rngs::ChaCha20Rng;
use status_identity::keyfile::{self, KdfParams};
use status_identity::{Account, ChatKey, ContactCode, IdentityKeyPair, WordCount};

fn benches(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let account = Account::create(&mut rng, WordCount::Twelve);
    let phrase = account.mnemonic().phrase();
    let alice = account.identity();
    let bob = IdentityKeyPair::generate(&mut rng);

    c.bench_function("account_recover_12_words", |b| {
        b.iter(|| Account::recover(&phrase, "").unwrap())
    });
    c.bench_function("safety_number", |b| {
        b.iter(|| alice.public_key().safety_number(bob.public_key()))
    });
    c.bench_function("emoji_alias_identicon", |b| {
        b.iter(|| {
            let key = alice.public_key();
            (key.emoji_hash(), key.alias(), key.identicon())
        })
    });
    let chat_key = alice.public_key().to_chat_key();
    c.bench_function("chat_key_parse", |b| {
        b.iter(|| ChatKey::parse(&chat_key).unwrap())
    });
    let code = ContactCode::new(alice, "Alice", &[7u8; 300], 1_700_000_000_000).unwrap();
    let uri = code.to_uri();
    c.bench_function("contact_code_create_300b_bundle", |b| {
        b.iter(|| ContactCode::new(alice, "Alice", &[7u8; 300], 1_700_000_000_000).unwrap())
    });
    c.bench_function("contact_code_parse_verify_300b_bundle", |b| {
        b.iter(|| ContactCode::from_uri(&uri).unwrap())
    });
    c.bench_function("contact_code_qr_unicode", |b| {
        b.iter(|| code.to_qr().unwrap().to_unicode())
    });

    let file = keyfile::encrypt(&mut rng, alice, None, "passphrase", KdfParams::default()).unwrap();
    let mut slow = c.benchmark_group("key_file");
    slow.sample_size(10);
    slow.bench_function("decrypt_default_params_64MiB_3_passes", |b| {
        b.iter(|| keyfile::decrypt(&file, "passphrase").unwrap())
    });
    slow.finish();
}

criterion_group!(identity, benches);
criterion_main!(identity);
