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

#[test]
fn stored_corpus() {
    assert!(replay("stored", fuzzing::stored) >= 5);
}

#[test]
fn pairing_corpus() {
    assert!(replay("pairing", fuzzing::pairing) >= 5);
}

#[test]
fn pairing_without_script_completes() {
    // No operation at all: the honest run is completed at the end (and asserted).
    for seed in 0..4u8 {
        fuzzing::pairing(&[seed]);
    }
}

#[test]
fn stored_accepts_real_sessions_and_qr_strings() {
    let (mut a, mut b) = fuzzing::honest_pair(status_noise::Pattern::XX);
    let mut rng = fuzzing::TestRng::new(1);
    let tag = status_noise::MessageNametag::ZERO;
    let m1 = a.write_message(b"", tag, &mut rng).unwrap();
    b.read_message(&m1, &tag).unwrap();
    let t2 = b.derived_nametag();
    let m2 = b.write_message(b"", t2, &mut rng).unwrap();
    a.read_message(&m2, &t2).unwrap();
    let t3 = a.derived_nametag();
    let m3 = a.write_message(b"", t3, &mut rng).unwrap();
    b.read_message(&m3, &t3).unwrap();
    let session = a.into_transport().unwrap();
    let bytes = session.to_bytes();
    assert!(status_noise::TransportSession::from_bytes(&bytes).is_ok());
    fuzzing::stored(&bytes);
    let qr = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/stored/qr-pairing-vector"),
    )
    .unwrap();
    assert!(
        std::str::from_utf8(&qr)
            .unwrap()
            .parse::<status_noise::Qr>()
            .is_ok()
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
    #[test]
    fn payload_v2_random(data in prop::collection::vec(any::<u8>(), 0..400)) {
        fuzzing::payload_v2(&data);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
    #[test]
    fn stored_random(data in prop::collection::vec(any::<u8>(), 0..300)) {
        fuzzing::stored(&data);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    #[test]
    fn handshake_random(data in prop::collection::vec(any::<u8>(), 0..200)) {
        fuzzing::handshake(&data);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    #[test]
    fn pairing_random(data in prop::collection::vec(any::<u8>(), 0..120)) {
        fuzzing::pairing(&data);
    }
}
