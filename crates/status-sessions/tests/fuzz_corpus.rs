//! Replays the fuzz corpus (`fuzz/corpus/protocol_message/`) and real encoder output
//! through the same function the cargo-fuzz target calls, plus random inputs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use status_sessions::fuzzing;

#[test]
fn corpus_replays() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/corpus/protocol_message");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        fuzzing::protocol_message(&data);
        n += 1;
    }
    assert!(n >= 4, "corpus has {n} files");
}

#[test]
fn real_messages_replay_on_every_topic_kind() {
    let seeds = fuzzing::seed_inputs();
    assert_eq!(seeds.len(), 4);
    for seed in seeds {
        for selector in 0..6u8 {
            let mut data = seed.clone();
            data[0] = selector;
            fuzzing::protocol_message(&data);
            // Truncations and single-bit flips.
            for cut in [2, data.len() / 2] {
                fuzzing::protocol_message(&data[..cut.min(data.len())]);
            }
            for i in (1..data.len()).step_by(data.len() / 4 + 1) {
                let mut flipped = data.clone();
                flipped[i] ^= 0x04;
                fuzzing::protocol_message(&flipped);
            }
        }
    }
}

/// Writes the real seeds into the corpus (run by hand with `--ignored` after a format
/// change).
#[test]
#[ignore]
fn write_seed_corpus() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/corpus/protocol_message");
    for (i, seed) in fuzzing::seed_inputs().into_iter().enumerate() {
        std::fs::write(format!("{dir}/real-{i}"), seed).unwrap();
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..600)) {
        fuzzing::protocol_message(&data);
    }
}
