//! Replays every file of the fuzz corpus (`fuzz/corpus/<target>/`) through the same
//! `fuzzing` functions as the cargo-fuzz targets, so `cargo test` runs it.
//!
//! `cargo test -p status-x3dh --test fuzz_corpus -- --ignored write_seed_corpus` rewrites
//! the seed files made by the real encoders.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::PathBuf;

use common::{pair, party, rng};
use status_x3dh::fuzzing;

fn corpus(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target)
}

fn replay(target: &str, run: fn(&[u8])) {
    let mut count = 0;
    for entry in std::fs::read_dir(corpus(target)).unwrap() {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        run(&data);
        count += 1;
    }
    assert!(count > 0, "empty corpus for {target}");
}

#[test]
fn corpus_decode_message() {
    replay("decode_message", fuzzing::decode_message);
}

#[test]
fn corpus_decode_bundle() {
    replay("decode_bundle", fuzzing::decode_bundle);
}

#[test]
fn corpus_decode_state() {
    replay("decode_state", fuzzing::decode_state);
}

#[test]
fn corpus_interaction() {
    replay("interaction", fuzzing::interaction);
}

#[test]
#[ignore = "rewrites the seed corpus"]
fn write_seed_corpus() {
    let mut rng = rng(99);
    let (mut a, mut b) = pair(&mut rng);
    let write = |target: &str, name: &str, data: &[u8]| {
        std::fs::create_dir_all(corpus(target)).unwrap();
        std::fs::write(corpus(target).join(name), data).unwrap();
    };
    let first = a.encrypt(&mut rng, b"with x3dh header").unwrap();
    write("decode_message", "x3dh_first", &first.encode());
    let reply = b.encrypt(&mut rng, b"reply").unwrap();
    write("decode_message", "dr_reply", &reply.encode());
    write("decode_message", "empty", b"");
    write(
        "decode_message",
        "short_payload",
        &reply.encode()[..reply.encode().len() - 4],
    );
    let p = party(&mut rng, "device-1");
    write("decode_bundle", "one_installation", &p.bundle.encode());
    write("decode_bundle", "garbage", &[0x12, 0x03, 0x0a, 0x01]);
    write("decode_state", "initiator", &a.to_bytes());
    a.decrypt(&reply).unwrap();
    let held = b.encrypt(&mut rng, b"held").unwrap();
    let _ = held;
    let _ = b.encrypt(&mut rng, b"next").unwrap();
    write("decode_state", "responder", &b.to_bytes());
    write("decode_state", "truncated", &b.to_bytes()[..50]);
    write("interaction", "empty", b"");
    write(
        "interaction",
        "ping_pong",
        &[1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 2, 0, 3, 0, 0, 0, 3, 0],
    );
    write(
        "interaction",
        "reorder_drop_tamper_replay",
        &[
            2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 2, 3, 0, 2, 0, 2, 0, 5, 1, 4, 0, 9, 3, 6,
            0, 6, 1, 6, 3, 3, 0,
        ],
    );
}
