//! Measures the facade end to end on loopback: two nodes (each with its own encrypted
//! account database) in this process, talking over real TCP through Waku relay.
//!
//! Prints: resident memory of one idle node, time from start to the first delivered
//! message, 1 KiB messages per second end to end (sent, received, acknowledged, each
//! state change committed to SQLite on both sides), and the receiver's database size
//! after N messages.
//!
//! ```sh
//! cargo run --release -p status --example measure -- 10000
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use status::account::{Account, CreateOptions};
use status::node::{self, NodeConfig, NodeEvent, NodeEvents, NodeHandle};
use status::store::{KdfParams, Passphrase};

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

async fn until(events: &mut NodeEvents, mut want: impl FnMut(&NodeEvent) -> bool) -> NodeEvent {
    loop {
        let e = tokio::time::timeout(Duration::from_secs(120), events.recv())
            .await
            .expect("timed out")
            .expect("node stopped");
        if want(&e) {
            return e;
        }
    }
}

async fn start(
    dir: &std::path::Path,
    name: &str,
    peer: Option<&node::Multiaddr>,
) -> (NodeHandle, NodeEvents) {
    let options = CreateOptions::default().with_kdf(KdfParams::INSECURE_FOR_TESTS_ONLY);
    let (account, _) = Account::create(
        &dir.join(name),
        &Passphrase::from("pw"),
        options,
        &mut rand::rng(),
    )
    .unwrap();
    let mut config = NodeConfig {
        listen: vec!["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
        ..NodeConfig::default()
    };
    config.bootstrap = peer.cloned().into_iter().collect();
    node::start(account, config).await.unwrap()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2000);
    let dir = tempfile::tempdir().unwrap();
    let rss_before = rss_kib();
    let t0 = Instant::now();
    let (alice, mut alice_events) = start(dir.path(), "alice", None).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_one = rss_kib();
    println!(
        "resident memory: process before any node {rss_before} KiB, with one idle node {rss_one} KiB (+{} KiB)",
        rss_one.saturating_sub(rss_before)
    );

    let t_start = Instant::now();
    let (bob, mut bob_events) = start(dir.path(), "bob", alice.dial_addr()).await;
    let code = bob.contact_code().await.unwrap();
    let bob_key = *bob.public_key();
    let alice_key = *alice.public_key();
    alice.add_contact(&code).await.unwrap();
    alice.send_contact_request(bob_key, "hi").await.unwrap();
    until(&mut bob_events, |e| {
        matches!(e, NodeEvent::ContactRequest { .. })
    })
    .await;
    bob.accept(alice_key).await.unwrap();
    until(&mut alice_events, |e| {
        matches!(e, NodeEvent::ContactAdded(_))
    })
    .await;
    let first = alice.send_text(bob_key, "first").await.unwrap();
    until(
        &mut alice_events,
        |e| matches!(e, NodeEvent::Delivered { id, .. } if Some(*id) == first),
    )
    .await;
    println!(
        "start of the second node to first delivered message (connect, contact request, accept, message, ack): {:.2} s",
        t_start.elapsed().as_secs_f64()
    );

    let body = "x".repeat(1024);
    const WINDOW: usize = 64;
    let t = Instant::now();
    let mut sent = 0usize;
    let mut delivered = 0usize;
    let mut received = 0usize;
    while delivered < n || received < n {
        while sent < n && sent - delivered < WINDOW {
            alice.send_text(bob_key, &body).await.unwrap();
            sent += 1;
        }
        tokio::select! {
            e = alice_events.recv() => {
                if matches!(e, Some(NodeEvent::Delivered { .. })) { delivered += 1; }
            }
            e = bob_events.recv() => {
                if matches!(e, Some(NodeEvent::Message { .. })) { received += 1; }
            }
        }
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "{n} messages of 1 KiB, window {WINDOW}: {secs:.1} s, {:.0} messages/s received and acknowledged",
        n as f64 / secs
    );
    alice.shutdown().await;
    bob.shutdown().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let size = |name: &str| -> u64 {
        ["status.db", "status.db-wal"]
            .iter()
            .filter_map(|f| std::fs::metadata(dir.path().join(name).join(f)).ok())
            .map(|m| m.len())
            .sum()
    };
    println!(
        "database size after {} messages (1 KiB each): receiver {:.1} MiB, sender {:.1} MiB (file + WAL)",
        n + 2,
        size("bob") as f64 / 1048576.0,
        size("alice") as f64 / 1048576.0
    );
    println!("total {:.1} s", t0.elapsed().as_secs_f64());
}
