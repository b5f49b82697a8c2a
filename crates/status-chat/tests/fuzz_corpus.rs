//! Replays every file of the fuzz corpus (`fuzz/corpus/<target>/`) through the same
//! `fuzzing` functions as the cargo-fuzz targets, plus random bytes (proptest), so
//! `cargo test` runs them.
//!
//! `cargo test -p status-chat --test fuzz_corpus -- --ignored write_seed_corpus` rewrites
//! the seed files made by the real encoders.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use status_chat::fuzzing::World;

fn corpus(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target)
}

fn replay(target: &str, mut run: impl FnMut(&[u8])) {
    let mut count = 0;
    for entry in std::fs::read_dir(corpus(target)).unwrap() {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        run(&data);
        count += 1;
    }
    assert!(count > 0, "empty corpus for {target}");
}

#[test]
fn corpus_incoming() {
    let mut w = World::new().unwrap();
    replay("incoming", |d| w.feed_waku(d));
}

#[test]
fn corpus_plaintext() {
    let mut w = World::new().unwrap();
    replay("plaintext", |d| w.feed_plaintext(d));
}

#[test]
fn corpus_decode() {
    let w = World::new().unwrap();
    replay("decode", |d| w.decode(d));
}

#[test]
fn replayed_real_messages_change_nothing() {
    // The messages Bob really sent, delivered again: duplicates, refused by the session
    // layer or dropped by message id.
    let mut w = World::new().unwrap();
    let recorded = w.recorded.clone();
    let topics = w.topics();
    for m in recorded {
        let sel = topics
            .iter()
            .position(|(p, c)| *p == m.pubsub_topic && *c == m.content_topic)
            .unwrap();
        let mut data = vec![sel as u8];
        data.extend_from_slice(&m.payload);
        w.feed_waku(&data);
    }
}

/// Random bytes through one world (its state must not change, so it is reused).
fn random(cases: u32, check: impl Fn(&mut World, &[u8])) {
    let w = std::cell::RefCell::new(World::new().unwrap());
    let mut runner = TestRunner::new(ProptestConfig::with_cases(cases));
    runner
        .run(&proptest::collection::vec(any::<u8>(), 0..600), |data| {
            check(&mut w.borrow_mut(), &data);
            Ok(())
        })
        .unwrap();
}

#[test]
fn random_bytes_on_every_topic() {
    random(256, |w, data| {
        for sel in 0..w.topics().len() {
            let mut d = vec![sel as u8];
            d.extend_from_slice(data);
            w.feed_waku(&d);
        }
    });
}

#[test]
fn random_plaintexts_from_every_sender() {
    random(256, |w, data| {
        for sel in 0..3u8 {
            let mut d = vec![sel];
            d.extend_from_slice(data);
            w.feed_plaintext(&d);
        }
        w.decode(data);
    });
}

#[test]
#[ignore = "rewrites the seed corpus"]
fn write_seed_corpus() {
    let w = World::new().unwrap();
    let write = |target: &str, name: &str, data: &[u8]| {
        std::fs::create_dir_all(corpus(target)).unwrap();
        std::fs::write(corpus(target).join(name), data).unwrap();
    };
    let topics = w.topics();
    for (i, m) in w.recorded.iter().enumerate() {
        let sel = topics
            .iter()
            .position(|(p, c)| *p == m.pubsub_topic && *c == m.content_topic)
            .unwrap();
        let mut data = vec![sel as u8];
        data.extend_from_slice(&m.payload);
        write("incoming", &format!("recorded-{i}"), &data);
        write("decode", &format!("waku-{i}"), &m.payload);
    }
    for sel in 0..topics.len() as u8 {
        write("incoming", &format!("empty-{sel}"), &[sel]);
    }
    for sel in 0..3u8 {
        let mut d = vec![sel];
        d.extend_from_slice(&w.recorded_plaintext);
        write("plaintext", &format!("foreign-signed-{sel}"), &d);
        write(
            "plaintext",
            &format!("garbage-{sel}"),
            &[sel, 0x08, 0x96, 0x01],
        );
    }
    write("decode", "mvds", &w.recorded_plaintext);
    write("decode", "empty", &[]);
}

#[test]
fn corpus_interaction() {
    replay("interaction", status_chat::fuzzing::interaction);
}

#[test]
fn real_scripts_interaction() {
    for script in status_chat::fuzzing::interaction_seed_inputs() {
        status_chat::fuzzing::interaction(&script);
    }
}

#[test]
fn random_scripts_interaction() {
    let mut runner = TestRunner::new(ProptestConfig::with_cases(16));
    runner
        .run(&proptest::collection::vec(any::<u8>(), 0..160), |data| {
            status_chat::fuzzing::interaction(&data);
            Ok(())
        })
        .unwrap();
}

#[test]
#[ignore = "rewrites the interaction seed corpus"]
fn write_interaction_seed_corpus() {
    std::fs::create_dir_all(corpus("interaction")).unwrap();
    for (i, script) in status_chat::fuzzing::interaction_seed_inputs()
        .into_iter()
        .enumerate()
    {
        std::fs::write(corpus("interaction").join(format!("script-{i}")), script).unwrap();
    }
}
