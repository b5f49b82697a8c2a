//! Replays every file of the fuzz corpora (`fuzz/corpus/<target>/`) through the same
//! functions the fuzz targets call, plus random inputs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use status_noise::fuzzing;
use std::path::Path;

fn replay(target: &str, f: fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        f(&std::fs::read(&path).unwrap());
        n += 1;
    }
    n
}

#[test]
fn payload_v2_corpus() {
    assert!(replay("payload_v2", fuzzing::payload_v2) >= 5);
}

#[test]
fn handshake_corpus() {
    assert!(replay("handshake", fuzzing::handshake) >= 5);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
    #[test]
    fn payload_v2_random(data in prop::collection::vec(any::<u8>(), 0..400)) {
        fuzzing::payload_v2(&data);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    #[test]
    fn handshake_random(data in prop::collection::vec(any::<u8>(), 0..200)) {
        fuzzing::handshake(&data);
    }
}
