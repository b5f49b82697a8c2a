//! Replays the fuzz corpora (`fuzz/corpus/<target>/`) and real encoder output through the
//! same functions the cargo-fuzz targets call, plus random inputs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use status_sessions::fuzzing;

fn replay(target: &str, f: fn(&[u8])) -> usize {
    let dir = format!("{}/fuzz/corpus/{target}", env!("CARGO_MANIFEST_DIR"));
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        f(&data);
        n += 1;
    }
    n
}

#[test]
fn corpus_replays() {
    let n = replay("protocol_message", fuzzing::protocol_message);
    assert!(n >= 4, "corpus has {n} files");
}

#[test]
fn stored_corpus_replays() {
    assert!(replay("stored", fuzzing::stored) >= 4);
}

#[test]
fn link_corpus_replays() {
    assert!(replay("link", fuzzing::link) >= 3);
}

#[test]
fn interaction_corpus_replays() {
    assert!(replay("interaction", fuzzing::interaction) >= 3);
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

/// Every stored record, truncated and with bits flipped, in every slot.
#[test]
fn real_records_with_damage_replay() {
    let seeds = fuzzing::stored_seed_inputs();
    assert!(seeds.len() >= 4, "{} seeds", seeds.len());
    for seed in seeds {
        for selector in 0..5u8 {
            let mut data = seed.clone();
            data[0] = selector;
            fuzzing::stored(&data);
            fuzzing::stored(&data[..data.len() / 2]);
            for i in (1..data.len()).step_by(data.len() / 6 + 1) {
                let mut flipped = data.clone();
                flipped[i] ^= 0x10;
                fuzzing::stored(&flipped);
            }
        }
    }
}

#[test]
fn real_sync_messages_with_damage_replay() {
    let seeds = fuzzing::link_seed_inputs();
    assert_eq!(seeds.len(), 3);
    for data in seeds {
        fuzzing::link(&data);
        fuzzing::link(&data[..data.len() / 2]);
        for i in (1..data.len()).step_by(data.len() / 8 + 1) {
            let mut flipped = data.clone();
            flipped[i] ^= 0x01;
            fuzzing::link(&flipped);
        }
    }
}

/// Writes the real seeds into the corpora (run by hand with `--ignored` after a format
/// change).
#[test]
#[ignore]
fn write_seed_corpus() {
    let write = |target: &str, seeds: Vec<Vec<u8>>| {
        let dir = format!("{}/fuzz/corpus/{target}", env!("CARGO_MANIFEST_DIR"));
        std::fs::create_dir_all(&dir).unwrap();
        for (i, seed) in seeds.into_iter().enumerate() {
            std::fs::write(format!("{dir}/real-{i}"), seed).unwrap();
        }
    };
    write("protocol_message", fuzzing::seed_inputs());
    write("stored", fuzzing::stored_seed_inputs());
    write("link", fuzzing::link_seed_inputs());
    write("interaction", fuzzing::interaction_seed_inputs());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..600)) {
        fuzzing::protocol_message(&data);
    }

    #[test]
    fn random_records_never_panic(data in proptest::collection::vec(any::<u8>(), 0..400)) {
        fuzzing::stored(&data);
        fuzzing::link(&data);
    }

    #[test]
    fn random_scripts_hold(data in proptest::collection::vec(any::<u8>(), 0..200)) {
        fuzzing::interaction(&data);
    }
}
