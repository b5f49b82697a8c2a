//! CPU per message of `waku-relay` vs bare rust-libp2p gossipsub on the same
//! transport (TCP + Noise + yamux), 2 nodes on loopback, 1 KiB messages; then
//! the loss count of 20 000 messages flooded through a 5-node line.
//!
//! `cargo bench -p waku-relay --bench relay` (a few minutes on 2 cores).
//! `LINE_MESSAGES=n` changes the flood size. `PROFILE=waku` (or `bare`) runs
//! only that side for `PROFILE_MESSAGES` messages (default 200 000) and prints
//! its CPU per message: for `perf record` and for interleaved comparisons.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use criterion::Criterion;
use futures::StreamExt;
use libp2p::{gossipsub, identity::Keypair, swarm::SwarmEvent};
use tokio::runtime::Runtime;
use tokio::sync::{Semaphore, mpsc};
use waku_relay::node::now_ns;
use waku_relay::{Config, Event, Events, Node, PublishError, PubsubTopic, WakuMessage};

const PAYLOAD: usize = 1024;
const CT: &str = "/bench/1/load/proto";
/// Messages in flight (published, not yet received) in the CPU benches, so
/// both sides run at steady state instead of filling queues.
const WINDOW: usize = 256;
/// Interleaved rounds for the ratio.
const ROUNDS: usize = 9;
/// Messages per interleaved round.
const ROUND_MESSAGES: u64 = 20_000;

/// Process CPU time (user + system, all threads) from /proc/self/stat.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 (utime, stime) are at 11 and 12 after the command name.
    let ticks: u64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0)
        + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

/// Process user and system CPU time, separately.
fn cpu_split() -> (Duration, Duration) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let t =
        |i: usize| Duration::from_millis(f.get(i).and_then(|v| v.parse().ok()).unwrap_or(0) * 10);
    (t(11), t(12))
}

fn topic() -> PubsubTopic {
    PubsubTopic::shard(16, 32)
}

fn msg(i: u64) -> WakuMessage {
    let mut payload = vec![0u8; PAYLOAD];
    payload[..8].copy_from_slice(&i.to_be_bytes());
    WakuMessage::new(CT, payload)
        .unwrap()
        .with_timestamp(now_ns())
}

async fn wait_subscribed(events: &mut Events) {
    loop {
        if let Some(Event::Subscribed { .. }) = events.recv().await {
            return;
        }
    }
}

struct WakuPair {
    a: Node,
    b_events: Events,
    next: u64,
}

async fn waku_pair() -> WakuPair {
    let (a, mut ea) = Node::start(Config::default()).await.unwrap();
    let (b, mut eb) = Node::start(Config::default()).await.unwrap();
    b.dial(a.dial_addr().unwrap()).await.unwrap();
    wait_subscribed(&mut ea).await;
    wait_subscribed(&mut eb).await;
    std::mem::forget(b);
    tokio::spawn(async move { while ea.recv().await.is_some() {} });
    WakuPair {
        a,
        b_events: eb,
        next: 0,
    }
}

impl WakuPair {
    async fn run(&mut self, n: u64) {
        let a = self.a.clone();
        let start = self.next;
        self.next += n;
        let window = Arc::new(Semaphore::new(WINDOW));
        let w = window.clone();
        let publisher = tokio::spawn(async move {
            for i in start..start + n {
                w.acquire().await.unwrap().forget();
                a.publish_detached(&topic(), &msg(i)).await.unwrap();
            }
        });
        let mut got = 0;
        while got < n {
            if let Some(Event::Message { .. }) = self.b_events.recv().await {
                got += 1;
                window.add_permits(1);
            }
        }
        publisher.await.unwrap();
    }
}

/// Bare gossipsub: default config apart from what anonymous messages need
/// (protocol id, anonymous mode, content-based message id), same transport,
/// each swarm in its own task, no Waku validation.
struct BarePair {
    publish: mpsc::Sender<Vec<u8>>,
    received: mpsc::Receiver<()>,
    next: u64,
}

fn bare_swarm() -> libp2p::Swarm<gossipsub::Behaviour> {
    let cfg = gossipsub::ConfigBuilder::default()
        .protocol_id(
            waku_relay::behaviour::RELAY_PROTOCOL,
            gossipsub::Version::V1_1,
        )
        .validation_mode(gossipsub::ValidationMode::Anonymous)
        .max_transmit_size(waku_relay::behaviour::MAX_TRANSMIT_SIZE)
        // Anonymous messages have no source/seqno, so the default id would make
        // every message a duplicate: hash the data, as Waku does.
        .message_id_fn(|m: &gossipsub::Message| {
            use sha2::Digest;
            gossipsub::MessageId::new(&sha2::Sha256::digest(&m.data))
        })
        .build()
        .unwrap();
    let mut s = waku_relay::behaviour::build_swarm(
        Keypair::generate_ed25519(),
        Duration::from_secs(300),
        |_| -> gossipsub::Behaviour {
            gossipsub::Behaviour::new(gossipsub::MessageAuthenticity::Anonymous, cfg).unwrap()
        },
    )
    .unwrap();
    s.behaviour_mut()
        .subscribe(&gossipsub::IdentTopic::new(topic().to_string()))
        .unwrap();
    s
}

async fn bare_pair() -> BarePair {
    let mut a = bare_swarm();
    let mut b = bare_swarm();
    a.listen_on(waku_relay::behaviour::loopback_any_port())
        .unwrap();
    let addr = loop {
        if let SwarmEvent::NewListenAddr { address, .. } = a.select_next_some().await {
            break address;
        }
    };
    b.dial(addr).unwrap();
    let (ready_tx, mut ready_rx) = mpsc::channel(2);
    let (pub_tx, mut pub_rx) = mpsc::channel::<Vec<u8>>(256);
    let (recv_tx, recv_rx) = mpsc::channel(4096);
    let t = gossipsub::IdentTopic::new(topic().to_string());
    let ready_a = ready_tx.clone();
    tokio::spawn(async move {
        let mut told = false;
        loop {
            tokio::select! {
                ev = a.select_next_some() => {
                    if let SwarmEvent::Behaviour(gossipsub::Event::Subscribed { .. }) = ev
                        && !told
                    {
                        told = true;
                        ready_a.send(()).await.unwrap();
                    }
                }
                data = pub_rx.recv() => match data {
                    Some(d) => { a.behaviour_mut().publish(t.clone(), d).unwrap(); }
                    None => break,
                },
            }
        }
    });
    tokio::spawn(async move {
        let mut told = false;
        loop {
            match b.select_next_some().await {
                SwarmEvent::Behaviour(gossipsub::Event::Subscribed { .. }) if !told => {
                    told = true;
                    ready_tx.send(()).await.unwrap();
                }
                SwarmEvent::Behaviour(gossipsub::Event::Message { .. })
                    if recv_tx.send(()).await.is_err() =>
                {
                    break;
                }
                _ => {}
            }
        }
    });
    ready_rx.recv().await.unwrap();
    ready_rx.recv().await.unwrap();
    BarePair {
        publish: pub_tx,
        received: recv_rx,
        next: 0,
    }
}

impl BarePair {
    async fn run(&mut self, n: u64) {
        let tx = self.publish.clone();
        let start = self.next;
        self.next += n;
        let window = Arc::new(Semaphore::new(WINDOW));
        let w = window.clone();
        let publisher = tokio::spawn(async move {
            for i in start..start + n {
                w.acquire().await.unwrap().forget();
                // Same bytes as the Waku side puts on the wire.
                tx.send(msg(i).encode()).await.unwrap();
            }
        });
        for _ in 0..n {
            self.received.recv().await.unwrap();
            window.add_permits(1);
        }
        publisher.await.unwrap();
    }
}

static TOTALS: Mutex<[(Duration, u64); 2]> = Mutex::new([(Duration::ZERO, 0); 2]);

fn record(which: usize, cpu: Duration, n: u64) {
    let mut t = TOTALS.lock().unwrap();
    t[which].0 += cpu;
    t[which].1 += n;
}

fn cpu_benches(c: &mut Criterion, rt: &Runtime) {
    let mut waku = rt.block_on(waku_pair());
    let mut bare = rt.block_on(bare_pair());
    let mut g = c.benchmark_group("cpu_per_1KiB_message_2_nodes");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8));
    g.bench_function("bare_gossipsub", |bch| {
        bch.iter_custom(|iters| {
            let before = cpu_time();
            rt.block_on(bare.run(iters));
            let cpu = cpu_time() - before;
            record(0, cpu, iters);
            cpu
        })
    });
    g.bench_function("waku_relay", |bch| {
        bch.iter_custom(|iters| {
            let before = cpu_time();
            rt.block_on(waku.run(iters));
            let cpu = cpu_time() - before;
            record(1, cpu, iters);
            cpu
        })
    });
    g.finish();
    // The machine is shared: alternate the two in rounds so both see the same
    // load, and report the median of the per-round ratios as well.
    let mut ratios = Vec::new();
    for _ in 0..ROUNDS {
        let before = cpu_time();
        rt.block_on(bare.run(ROUND_MESSAGES));
        let bare_cpu = cpu_time() - before;
        record(0, bare_cpu, ROUND_MESSAGES);
        let before = cpu_time();
        rt.block_on(waku.run(ROUND_MESSAGES));
        let waku_cpu = cpu_time() - before;
        record(1, waku_cpu, ROUND_MESSAGES);
        ratios.push(waku_cpu.as_secs_f64() / bare_cpu.as_secs_f64().max(1e-9));
    }
    ratios.sort_by(f64::total_cmp);
    println!(
        "interleaved rounds of {ROUND_MESSAGES}: median ratio waku/bare = {:.2}x (min {:.2}, max {:.2})",
        ratios[ratios.len() / 2],
        ratios[0],
        ratios[ratios.len() - 1]
    );
    let t = *TOTALS.lock().unwrap();
    let per = |(cpu, n): (Duration, u64)| cpu.as_secs_f64() * 1e6 / n.max(1) as f64;
    let (bare_us, waku_us) = (per(t[0]), per(t[1]));
    println!(
        "CPU per message: bare gossipsub {bare_us:.1} us ({} msgs), waku-relay {waku_us:.1} us ({} msgs), ratio waku/bare = {:.2}x",
        t[0].1,
        t[1].1,
        waku_us / bare_us
    );
}

async fn line_loss(n: u64) {
    const NODES: usize = 5;
    let mut nodes = Vec::new();
    for _ in 0..NODES {
        nodes.push(Node::start(Config::default()).await.unwrap());
    }
    for i in 1..NODES {
        let addr = nodes[i - 1].0.dial_addr().unwrap();
        nodes[i].0.dial(addr).await.unwrap();
    }
    for (i, (_, ev)) in nodes.iter_mut().enumerate() {
        let neighbours = if i == 0 || i == NODES - 1 { 1 } else { 2 };
        for _ in 0..neighbours {
            wait_subscribed(ev).await;
        }
    }
    let mut last_events = None;
    let mut handles = Vec::new();
    for (i, (node, ev)) in nodes.into_iter().enumerate() {
        if i == NODES - 1 {
            last_events = Some(ev);
        } else {
            tokio::spawn(async move {
                let mut ev = ev;
                while ev.recv().await.is_some() {}
            });
        }
        handles.push(node);
    }
    let first = handles[0].clone();
    let start = std::time::Instant::now();
    let publisher = tokio::spawn(async move {
        let mut backpressured = 0u64;
        for i in 0..n {
            loop {
                match first.publish(&topic(), &msg(i)).await {
                    Ok(_) => break,
                    Err(PublishError::QueuesFull) => {
                        backpressured += 1;
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    Err(e) => panic!("publish: {e}"),
                }
            }
        }
        backpressured
    });
    let mut events = last_events.unwrap();
    let mut seen = HashSet::new();
    while (seen.len() as u64) < n {
        match tokio::time::timeout(Duration::from_secs(15), events.recv()).await {
            Ok(Some(Event::Message { message, .. })) => {
                let mut idx = [0u8; 8];
                idx.copy_from_slice(&message.payload()[..8]);
                seen.insert(u64::from_be_bytes(idx));
            }
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => break,
        }
    }
    let elapsed = start.elapsed();
    let backpressured = publisher.await.unwrap();
    let mut dropped = 0;
    for h in &handles {
        dropped += h.stats().await.unwrap().dropped_for_slow_peers;
    }
    println!(
        "5-node line: {n} messages published, {} arrived at the end, lost {} ({} publish retries after back-pressure, {dropped} dropped for slow peers), {:.1}s",
        seen.len(),
        n - seen.len() as u64,
        backpressured,
        elapsed.as_secs_f64()
    );
}

/// The same flood through 5 bare gossipsub nodes (rust-libp2p defaults:
/// 5 000-message peer queues, forwards dropped after 1 s).
async fn bare_line_loss(n: u64) {
    const NODES: usize = 5;
    let mut swarms: Vec<_> = (0..NODES).map(|_| bare_swarm()).collect();
    let mut addrs = Vec::new();
    for s in &mut swarms {
        s.listen_on(waku_relay::behaviour::loopback_any_port())
            .unwrap();
        let addr = loop {
            if let SwarmEvent::NewListenAddr { address, .. } = s.select_next_some().await {
                break address;
            }
        };
        addrs.push(addr);
    }
    for i in 1..NODES {
        let a = addrs[i - 1].clone();
        swarms[i].dial(a).unwrap();
    }
    let (ready_tx, mut ready_rx) = mpsc::channel(NODES);
    let (pub_tx, mut pub_rx) = mpsc::channel::<Vec<u8>>(256);
    let (recv_tx, mut recv_rx) = mpsc::channel::<()>(4096);
    let (refused_tx, mut refused_rx) = mpsc::unbounded_channel::<()>();
    let t = gossipsub::IdentTopic::new(topic().to_string());
    for (i, mut s) in swarms.into_iter().enumerate() {
        let neighbours = if i == 0 || i == NODES - 1 { 1 } else { 2 };
        let ready = ready_tx.clone();
        let recv = recv_tx.clone();
        let refused = refused_tx.clone();
        let t = t.clone();
        let mut publish = if i == 0 {
            Some(std::mem::replace(&mut pub_rx, mpsc::channel(1).1))
        } else {
            None
        };
        tokio::spawn(async move {
            let mut subs = 0;
            loop {
                tokio::select! {
                    ev = s.select_next_some() => match ev {
                        SwarmEvent::Behaviour(gossipsub::Event::Subscribed { .. }) => {
                            subs += 1;
                            if subs == neighbours {
                                let _ = ready.send(()).await;
                            }
                        }
                        SwarmEvent::Behaviour(gossipsub::Event::Message { .. }) if i == NODES - 1 => {
                            let _ = recv.send(()).await;
                        }
                        _ => {}
                    },
                    d = async { publish.as_mut().unwrap().recv().await }, if publish.is_some() => match d {
                        Some(d) => {
                            if s.behaviour_mut().publish(t.clone(), d).is_err() {
                                let _ = refused.send(());
                            }
                        }
                        None => publish = None,
                    },
                }
            }
        });
    }
    for _ in 0..NODES {
        ready_rx.recv().await.unwrap();
    }
    let start = std::time::Instant::now();
    let publisher = tokio::spawn(async move {
        for i in 0..n {
            pub_tx.send(msg(i).encode()).await.unwrap();
        }
    });
    let mut got = 0u64;
    while got < n {
        match tokio::time::timeout(Duration::from_secs(15), recv_rx.recv()).await {
            Ok(Some(())) => got += 1,
            _ => break,
        }
    }
    publisher.await.unwrap();
    let mut refused = 0;
    while refused_rx.try_recv().is_ok() {
        refused += 1;
    }
    println!(
        "5-node line, bare gossipsub: {n} messages published, {got} arrived at the end, lost {} ({refused} refused at publish), {:.1}s",
        n - got,
        start.elapsed().as_secs_f64()
    );
}

fn main() {
    // A panic in a spawned task would otherwise leave the bench waiting.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default_hook(info);
        std::process::exit(1);
    }));
    let bench_mode = std::env::args().any(|a| a == "--bench");
    if let Ok(side) = std::env::var("PROFILE") {
        let n = std::env::var("PROFILE_MESSAGES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(200_000);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            enum Pair {
                Waku(WakuPair),
                Bare(BarePair),
            }
            let mut pair = match side.as_str() {
                "waku" => Pair::Waku(waku_pair().await),
                "bare" => Pair::Bare(bare_pair().await),
                _ => panic!("PROFILE is waku or bare"),
            };
            // In chunks, to show whether the cost drifts during a run.
            let chunk = (n / 5).max(1);
            let mut chunks = Vec::new();
            let start = cpu_time();
            let (user0, sys0) = cpu_split();
            let mut done = 0;
            while done < n {
                let m = chunk.min(n - done);
                let before = cpu_time();
                match &mut pair {
                    Pair::Waku(p) => p.run(m).await,
                    Pair::Bare(p) => p.run(m).await,
                }
                chunks.push(format!(
                    "{:.1}",
                    (cpu_time() - before).as_secs_f64() * 1e6 / m as f64
                ));
                done += m;
            }
            let cpu = cpu_time() - start;
            let (user1, sys1) = cpu_split();
            let per = |d: Duration| d.as_secs_f64() * 1e6 / n as f64;
            println!(
                "{side}: {n} messages, CPU per message {:.1} us (user {:.1}, system {:.1}; chunks: {})",
                per(cpu),
                per(user1 - user0),
                per(sys1 - sys0),
                chunks.join(" ")
            );
        });
        // Skip tearing the nodes down: keeps profiles to the steady state.
        std::process::exit(0);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut c = Criterion::default().configure_from_args();
    if bench_mode {
        cpu_benches(&mut c, &rt);
        c.final_summary();
    }
    let n = std::env::var("LINE_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if bench_mode { 20_000 } else { 500 });
    rt.block_on(line_loss(n));
    if std::env::var("LINE_BARE").map_or(bench_mode, |v| v == "1") {
        rt.block_on(bare_line_loss(n));
    }
}
