//! Replays every committed fuzz corpus file through the shared `fuzzing`
//! entry points, and feeds them random bytes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use std::path::Path;

fn replay(target: &str, f: fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        f(&data);
        n += 1;
    }
    n
}

#[test]
fn corpus_replays() {
    assert!(replay("waku_message", waku_relay::fuzzing::waku_message) >= 3);
    assert!(replay("metadata", waku_relay::fuzzing::metadata) >= 3);
    assert!(replay("store", waku_relay::fuzzing::store) >= 3);
    assert!(replay("topics", waku_relay::fuzzing::topics) >= 5);
}

proptest! {
    #[test]
    fn random_bytes(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        waku_relay::fuzzing::waku_message(&data);
        waku_relay::fuzzing::metadata(&data);
        waku_relay::fuzzing::store(&data);
        waku_relay::fuzzing::topics(&data);
    }

    #[test]
    fn random_topic_strings(text in "(/[a-z0-9-]{0,6}){0,6}") {
        waku_relay::fuzzing::topics(text.as_bytes());
    }
}
