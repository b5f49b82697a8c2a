//! Replays the fuzz corpus (`fuzz/corpus/records/`) and real records through the same
//! function the cargo-fuzz target calls, plus random inputs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use status::fuzzing;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/corpus/records");

#[test]
fn corpus_replays() {
    let mut n = 0;
    for entry in std::fs::read_dir(DIR).unwrap() {
        fuzzing::records(&std::fs::read(entry.unwrap().path()).unwrap());
        n += 1;
    }
    assert!(n >= 8, "corpus has {n} files");
}

/// Every real record, under every decoder, truncated and with bits flipped.
#[test]
fn real_records_with_damage_replay() {
    let seeds = fuzzing::seed_inputs();
    assert_eq!(seeds.len(), 10);
    for seed in seeds {
        for selector in 0..10u8 {
            let mut data = seed.clone();
            data[0] = selector;
            fuzzing::records(&data);
            for cut in 1..data.len() {
                fuzzing::records(&data[..cut]);
            }
            for i in 1..data.len() {
                let mut flipped = data.clone();
                flipped[i] ^= 0x21;
                fuzzing::records(&flipped);
            }
        }
    }
}

/// Writes the real seeds into the corpus (run by hand with `--ignored` after a format
/// change).
#[test]
#[ignore]
fn write_seed_corpus() {
    for (i, seed) in fuzzing::seed_inputs().into_iter().enumerate() {
        std::fs::write(format!("{DIR}/real-{i}"), seed).unwrap();
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        fuzzing::records(&data);
    }
}
