//! The simulator holds its invariants (1:1 and group chats) on a calm and a faulty run,
//! replays a seed exactly, and reports a violation when a crash loses the chat store.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use xtask::sim::{SimConfig, run_one};

fn faulty(seed: u64) -> SimConfig {
    SimConfig {
        seed,
        nodes: 5,
        rounds: 6,
        loss: 0.2,
        dup: 0.1,
        max_delay_ms: 10_000,
        partitions: 1,
        crashes: 2,
        max_skew_ms: 20_000,
        ..SimConfig::calm(seed)
    }
}

#[test]
fn calm_and_faulty_runs_hold_every_invariant() {
    run_one(&SimConfig::calm(11)).unwrap();
    let r = run_one(&faulty(12)).unwrap();
    assert!(r.dropped > 0);
    assert_eq!(r.groups, 1);
    assert!(r.group_texts > 0);
    assert_eq!(r.crashes, 2);
    assert_eq!(r.partitions, 1);
}

#[test]
fn a_seed_replays_exactly() {
    let a = run_one(&faulty(13)).unwrap();
    let b = run_one(&faulty(13)).unwrap();
    assert_eq!(
        (a.published, a.dropped, a.duplicates, a.virtual_ms),
        (b.published, b.dropped, b.duplicates, b.virtual_ms)
    );
}

#[test]
fn losing_the_chat_store_on_a_crash_is_caught() {
    let mut failures = 0;
    for seed in 20..24 {
        let cfg = SimConfig {
            crashes: 3,
            lose_chat_store_on_crash: true,
            ..faulty(seed)
        };
        if let Err(e) = run_one(&cfg) {
            let text = format!("{e:#}");
            assert!(text.contains(&format!("seed {seed}")), "{text}");
            assert!(text.contains("cargo xtask sim --seed"), "{text}");
            failures += 1;
        }
    }
    assert!(failures > 0, "no run noticed the lost store");
}
