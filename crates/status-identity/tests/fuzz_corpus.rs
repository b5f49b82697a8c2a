//! Replays the fuzz corpus (`fuzz/corpus/<target>/`) through the same functions the fuzz
//! targets call, and feeds them random and mutated inputs.
//!
//! `cargo test -p status-identity --test fuzz_corpus -- --ignored write_seed_corpus`
//! rewrites the seed files made by the real encoders.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::ChaCha20Rng;
use status_identity::{ContactCode, IdentityKeyPair, fuzzing, keyfile};

/// A fuzz target: its name and the function it calls.
type Target = (&'static str, fn(&[u8]));

const TARGETS: [Target; 3] = [
    ("chat_key", fuzzing::chat_key),
    ("contact_code", fuzzing::contact_code),
    ("key_file", fuzzing::key_file),
];

fn corpus_dir(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target)
}

#[test]
fn replay_corpus() {
    for (target, run) in TARGETS {
        let mut files = 0;
        for entry in std::fs::read_dir(corpus_dir(target)).unwrap() {
            let path = entry.unwrap().path();
            run(&std::fs::read(&path).unwrap());
            files += 1;
        }
        assert!(files >= 3, "{target}: only {files} corpus files");
    }
}

/// The seed files made by real encoders parse successfully (so the replay covers the
/// accepting paths, not only rejections).
#[test]
fn encoder_seeds_are_accepted() {
    let read = |target: &str, name: &str| std::fs::read(corpus_dir(target).join(name)).unwrap();
    let text = String::from_utf8(read("chat_key", "valid")).unwrap();
    status_identity::ChatKey::parse(&text).unwrap();
    ContactCode::from_bytes(&read("contact_code", "valid_bytes")).unwrap();
    ContactCode::from_uri(std::str::from_utf8(&read("contact_code", "valid_uri")).unwrap())
        .unwrap();
    keyfile::decrypt(&read("key_file", "valid"), fuzzing::KEY_FILE_PASSPHRASE).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..400)) {
        for (_, run) in TARGETS {
            run(&data);
        }
    }

    #[test]
    fn mutated_seeds_never_panic(
        target in 0usize..3,
        pick in any::<prop::sample::Index>(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let (name, run) = TARGETS[target];
        let mut files: Vec<_> = std::fs::read_dir(corpus_dir(name))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        let mut data = std::fs::read(pick.get(&files)).unwrap();
        if !data.is_empty() {
            for (at, byte) in edits {
                let i = at.index(data.len());
                data[i] = byte;
            }
        }
        run(&data);
    }
}

#[test]
#[ignore = "rewrites the seed corpus"]
fn write_seed_corpus() {
    let mut rng = ChaCha20Rng::seed_from_u64(99);
    let alice = IdentityKeyPair::generate(&mut rng);
    let write = |target: &str, name: &str, data: &[u8]| {
        std::fs::create_dir_all(corpus_dir(target)).unwrap();
        std::fs::write(corpus_dir(target).join(name), data).unwrap();
    };
    let chat_key = alice.public_key().to_chat_key();
    write("chat_key", "valid", chat_key.as_bytes());
    write(
        "chat_key",
        "secp256k1",
        b"zQ3shPyZJnxZK4Bwyx9QsaksNKDYTPmpwPvGSjMYVHoXHeEgB",
    );
    write(
        "chat_key",
        "wrong_prefix",
        chat_key.replacen('z', "f", 1).as_bytes(),
    );
    write("chat_key", "short", &chat_key.as_bytes()[..20]);

    let code = ContactCode::new(&alice, "Alice", &[1, 2, 3, 4], 1_700_000_000_000).unwrap();
    write("contact_code", "valid_bytes", &code.to_bytes());
    write("contact_code", "valid_uri", code.to_uri().as_bytes());
    let empty = ContactCode::new(&alice, "", &[], 0).unwrap();
    write("contact_code", "empty_fields_bytes", &empty.to_bytes());
    let mut flipped = code.to_bytes();
    flipped[40] ^= 1;
    write("contact_code", "flipped_bytes", &flipped);

    let params = keyfile::KdfParams::new(8, 1, 1).unwrap();
    let file =
        keyfile::encrypt(&mut rng, &alice, None, fuzzing::KEY_FILE_PASSPHRASE, params).unwrap();
    write("key_file", "valid", &file);
    let account = status_identity::Account::create(&mut rng, status_identity::WordCount::Twelve);
    let with_mnemonic = keyfile::encrypt(
        &mut rng,
        account.identity(),
        Some(account.mnemonic()),
        "other passphrase",
        params,
    )
    .unwrap();
    write("key_file", "wrong_passphrase", &with_mnemonic);
    write("key_file", "truncated", &file[..40]);
    let mut greedy = file.clone();
    greedy[10..14].copy_from_slice(&u32::MAX.to_be_bytes());
    write("key_file", "greedy_params", &greedy);
}
