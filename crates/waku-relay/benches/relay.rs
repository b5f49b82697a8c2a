//! CPU per message of `waku-relay` vs bare rust-libp2p gossipsub on the same
//! transport (TCP + Noise + yamux), 2 nodes on loopback, 1 KiB messages; then
//! the loss count of 20 000 messages flooded through a 5-node line.
//!
//! `cargo bench -p waku-relay --bench relay` (a few minutes on 2 cores).
//!
//! Three kinds of pair are measured, in one process:
//! - `bare`: rust-libp2p gossipsub with its default parameters (apart from
//!   what anonymous messages need), each swarm in its own task;
//! - `composed`: waku-relay's [`Behaviour`](waku_relay::Behaviour) (gossipsub
//!   with Waku's parameters, metadata, store, identify, ping, connection
//!   limits) driven the same way, accepting every message unchecked;
//! - `waku`: the [`Node`]: handle, node task, validation, message hashes,
//!   events.
//!
//! Every pair carries at most [`PAIR_BUDGET`] messages and is then replaced,
//! untimed, by a fresh one. gossipsub's per-message cost grows with what it
//! has seen (its seen-cache keeps every id for 1 min by default, 2 min in
//! Waku; at 30 000 messages/s bare gossipsub goes from 28 to 53 us per message
//! over a million messages, with 2.3 GB resident), and a pair that runs after
//! another in the same process inherits its fragmented heap: without fresh
//! pairs whichever side runs later pays for what ran before it.
//!
//! `LINE_MESSAGES=n` changes the flood size. `PROFILE=waku` (or `bare`,
//! `composed`) runs only that side for `PROFILE_MESSAGES` messages (default
//! 200 000) and prints its CPU per message: for `perf record` and for
//! comparisons one process at a time. `PAIR_BUDGET=n` changes the budget
//! there (`0`: one pair for the whole run, to see the growth).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use criterion::Criterion;
use futures::StreamExt;
use libp2p::{gossipsub, identity::Keypair, swarm::SwarmEvent};
use tokio::runtime::Runtime;
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::JoinHandle;
use waku_relay::behaviour::{Behaviour, BehaviourEvent};
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
/// Most messages one pair carries in the CPU benches before it is replaced.
const PAIR_BUDGET: u64 = 60_000;
/// Messages a fresh pair carries, untimed, before it is measured.
const PAIR_WARMUP: u64 = 2_000;

/// Process CPU time (user + system, all threads) from /proc/self/stat.
fn cpu_time() -> Duration {
    let (user, system) = cpu_split();
    user + system
}

/// Process user and system CPU time, separately.
fn cpu_split() -> (Duration, Duration) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 (utime, stime) are at 11 and 12 after the command name.
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
    b: Node,
    b_events: Events,
    a_drain: JoinHandle<()>,
    next: u64,
}

async fn waku_pair() -> WakuPair {
    let (a, mut ea) = Node::start(Config::default()).await.unwrap();
    let (b, mut eb) = Node::start(Config::default()).await.unwrap();
    b.dial(a.dial_addr().unwrap()).await.unwrap();
    wait_subscribed(&mut ea).await;
    wait_subscribed(&mut eb).await;
    let a_drain = tokio::spawn(async move { while ea.recv().await.is_some() {} });
    WakuPair {
        a,
        b,
        b_events: eb,
        a_drain,
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

    /// Stops both node tasks and waits until they have ended.
    async fn shutdown(mut self) {
        self.a.shutdown().await;
        self.b.shutdown().await;
        while self.b_events.recv().await.is_some() {}
        self.a_drain.await.unwrap();
    }
}

/// Two swarms of one behaviour, each in its own task, publishing what the
/// bench hands in and reporting each message received.
struct SwarmPair {
    publish: mpsc::Sender<Vec<u8>>,
    received: mpsc::Receiver<()>,
    stop: oneshot::Sender<()>,
    tasks: [JoinHandle<()>; 2],
    next: u64,
}

/// What [`swarm_pair`] needs to know of a behaviour.
trait Relaying: libp2p::swarm::NetworkBehaviour + Send {
    type Transform: gossipsub::DataTransform + Send + 'static;
    type Filter: gossipsub::TopicSubscriptionFilter + Send + 'static;
    fn relay(&mut self) -> &mut gossipsub::Behaviour<Self::Transform, Self::Filter>;
    /// The gossipsub event in `ev`, if it is one.
    fn gossipsub_event(ev: Self::ToSwarm) -> Option<gossipsub::Event>;
}

/// Bare gossipsub: default config apart from what anonymous messages need
/// (protocol id, anonymous mode, content-based message id), no validation.
fn bare_behaviour() -> gossipsub::Behaviour {
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
    gossipsub::Behaviour::new(gossipsub::MessageAuthenticity::Anonymous, cfg).unwrap()
}

impl Relaying for gossipsub::Behaviour {
    type Transform = gossipsub::IdentityTransform;
    type Filter = gossipsub::MaxCountSubscriptionFilter<gossipsub::AllowAllSubscriptionFilter>;
    fn relay(&mut self) -> &mut gossipsub::Behaviour<Self::Transform, Self::Filter> {
        self
    }
    fn gossipsub_event(ev: gossipsub::Event) -> Option<gossipsub::Event> {
        Some(ev)
    }
}

impl Relaying for Behaviour {
    type Transform = gossipsub::IdentityTransform;
    type Filter = gossipsub::MaxCountSubscriptionFilter<gossipsub::AllowAllSubscriptionFilter>;
    fn relay(&mut self) -> &mut gossipsub::Behaviour<Self::Transform, Self::Filter> {
        &mut self.relay
    }
    fn gossipsub_event(ev: BehaviourEvent) -> Option<gossipsub::Event> {
        match ev {
            BehaviourEvent::Relay(ev) => Some(ev),
            _ => None,
        }
    }
}

fn bare_swarm() -> libp2p::Swarm<gossipsub::Behaviour> {
    swarm_of(|_| bare_behaviour())
}

fn swarm_of<B: Relaying>(behaviour: impl FnOnce(&Keypair) -> B) -> libp2p::Swarm<B> {
    let mut s = waku_relay::behaviour::build_swarm(
        Keypair::generate_ed25519(),
        Duration::from_secs(300),
        behaviour,
    )
    .unwrap();
    s.behaviour_mut()
        .relay()
        .subscribe(&gossipsub::IdentTopic::new(topic().to_string()))
        .unwrap();
    s
}

async fn swarm_pair<B: Relaying + 'static>(
    mut a: libp2p::Swarm<B>,
    mut b: libp2p::Swarm<B>,
    validate: bool,
) -> SwarmPair
where
    B::ToSwarm: Send,
{
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
    let (stop_tx, mut stop_rx) = oneshot::channel::<()>();
    let t = gossipsub::IdentTopic::new(topic().to_string());
    let ready_a = ready_tx.clone();
    let task_a = tokio::spawn(async move {
        let mut told = false;
        loop {
            tokio::select! {
                ev = a.select_next_some() => {
                    if let SwarmEvent::Behaviour(ev) = ev
                        && let Some(gossipsub::Event::Subscribed { .. }) = B::gossipsub_event(ev)
                        && !told
                    {
                        told = true;
                        ready_a.send(()).await.unwrap();
                    }
                }
                data = pub_rx.recv() => match data {
                    Some(d) => { a.behaviour_mut().relay().publish(t.clone(), d).unwrap(); }
                    None => break,
                },
            }
        }
    });
    let task_b = tokio::spawn(async move {
        let mut told = false;
        loop {
            let ev = tokio::select! {
                ev = b.select_next_some() => ev,
                _ = &mut stop_rx => break,
            };
            let SwarmEvent::Behaviour(ev) = ev else {
                continue;
            };
            match B::gossipsub_event(ev) {
                Some(gossipsub::Event::Subscribed { .. }) if !told => {
                    told = true;
                    ready_tx.send(()).await.unwrap();
                }
                Some(gossipsub::Event::Message {
                    propagation_source,
                    message_id,
                    ..
                }) => {
                    if validate {
                        b.behaviour_mut().relay().report_message_validation_result(
                            &message_id,
                            &propagation_source,
                            gossipsub::MessageAcceptance::Accept,
                        );
                    }
                    if recv_tx.send(()).await.is_err() {
                        break;
                    }
                }
                _ => {}
            }
        }
    });
    ready_rx.recv().await.unwrap();
    ready_rx.recv().await.unwrap();
    SwarmPair {
        publish: pub_tx,
        received: recv_rx,
        stop: stop_tx,
        tasks: [task_a, task_b],
        next: 0,
    }
}

impl SwarmPair {
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

    /// Stops both swarm tasks and waits until they have ended.
    async fn shutdown(self) {
        drop(self.publish);
        let _ = self.stop.send(());
        for t in self.tasks {
            t.await.unwrap();
        }
    }
}

/// The kinds of pair measured.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Bare,
    Composed,
    Waku,
}

impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::Bare => "bare",
            Side::Composed => "composed",
            Side::Waku => "waku",
        }
    }
}

enum Pair {
    Waku(Box<WakuPair>),
    Swarms(SwarmPair),
}

impl Pair {
    async fn start(side: Side) -> Pair {
        match side {
            Side::Bare => Pair::Swarms(swarm_pair(bare_swarm(), bare_swarm(), false).await),
            Side::Composed => {
                let composed = || swarm_of(|k| Behaviour::new(k, &Config::default()).unwrap());
                Pair::Swarms(swarm_pair(composed(), composed(), true).await)
            }
            Side::Waku => Pair::Waku(Box::new(waku_pair().await)),
        }
    }

    async fn run(&mut self, n: u64) {
        match self {
            Pair::Waku(p) => p.run(n).await,
            Pair::Swarms(p) => p.run(n).await,
        }
    }

    async fn shutdown(self) {
        match self {
            Pair::Waku(p) => (*p).shutdown().await,
            Pair::Swarms(p) => p.shutdown().await,
        }
    }
}

/// One side's pairs: measures messages on a pair that has carried fewer
/// than `budget` messages, replacing it (untimed) when it has.
struct Fleet {
    side: Side,
    budget: u64,
    pair: Option<(Pair, u64)>,
}

impl Fleet {
    fn new(side: Side, budget: u64) -> Fleet {
        Fleet {
            side,
            budget,
            pair: None,
        }
    }

    /// CPU time of the whole process while `n` messages go from one node of
    /// the pair to the other.
    async fn measure(&mut self, n: u64) -> Duration {
        let mut cpu = Duration::ZERO;
        let mut left = n;
        while left > 0 {
            let spent = self
                .pair
                .as_ref()
                .is_some_and(|(_, carried)| self.budget > 0 && *carried >= self.budget);
            if spent && let Some((old, _)) = self.pair.take() {
                old.shutdown().await;
            }
            if self.pair.is_none() {
                let mut pair = Pair::start(self.side).await;
                pair.run(PAIR_WARMUP).await;
                self.pair = Some((pair, 0));
            }
            let Some((pair, carried)) = self.pair.as_mut() else {
                unreachable!()
            };
            let m = if self.budget == 0 {
                left
            } else {
                left.min(self.budget - *carried)
            };
            let before = cpu_time();
            pair.run(m).await;
            cpu += cpu_time() - before;
            *carried += m;
            left -= m;
        }
        cpu
    }
}

static TOTALS: Mutex<[(Duration, u64); 3]> = Mutex::new([(Duration::ZERO, 0); 3]);

fn record(side: Side, cpu: Duration, n: u64) {
    let mut t = TOTALS.lock().unwrap();
    let i = side as usize;
    t[i].0 += cpu;
    t[i].1 += n;
}

fn per_message_us(cpu: Duration, n: u64) -> f64 {
    cpu.as_secs_f64() * 1e6 / n.max(1) as f64
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn cpu_benches(c: &mut Criterion, rt: &Runtime) {
    let mut fleets = [
        Fleet::new(Side::Bare, PAIR_BUDGET),
        Fleet::new(Side::Composed, PAIR_BUDGET),
        Fleet::new(Side::Waku, PAIR_BUDGET),
    ];
    let mut g = c.benchmark_group("cpu_per_1KiB_message_2_nodes");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8));
    for (fleet, name) in fleets
        .iter_mut()
        .zip(["bare_gossipsub", "", "waku_relay"])
        .filter(|(_, name)| !name.is_empty())
    {
        g.bench_function(name, |bch| {
            bch.iter_custom(|iters| {
                let cpu = rt.block_on(fleet.measure(iters));
                record(fleet.side, cpu, iters);
                cpu
            })
        });
    }
    g.finish();
    // The machine is shared: alternate the sides in rounds so all see the
    // same load, and report the median of the per-round ratios as well.
    let mut rounds: [Vec<f64>; 3] = Default::default();
    let mut ratios = Vec::new();
    for _ in 0..ROUNDS {
        for fleet in &mut fleets {
            let cpu = rt.block_on(fleet.measure(ROUND_MESSAGES));
            record(fleet.side, cpu, ROUND_MESSAGES);
            rounds[fleet.side as usize].push(per_message_us(cpu, ROUND_MESSAGES));
        }
        let [bare, _, waku] = &rounds;
        ratios.push(waku[waku.len() - 1] / bare[bare.len() - 1].max(1e-9));
    }
    for fleet in fleets {
        if let Some((pair, _)) = fleet.pair {
            rt.block_on(pair.shutdown());
        }
    }
    let [bare, composed, waku] = rounds.map(median);
    println!(
        "interleaved rounds of {ROUND_MESSAGES} (median CPU per message): bare gossipsub {bare:.1} us, composed behaviour {composed:.1} us, waku-relay {waku:.1} us"
    );
    let sorted = {
        let mut r = ratios.clone();
        r.sort_by(f64::total_cmp);
        r
    };
    println!(
        "interleaved rounds: median ratio waku/bare = {:.2}x (min {:.2}, max {:.2}); composed/bare = {:.2}x",
        median(ratios),
        sorted[0],
        sorted[sorted.len() - 1],
        composed / bare
    );
    let t = *TOTALS.lock().unwrap();
    let [bare_us, _, waku_us] = t.map(|(cpu, n)| per_message_us(cpu, n));
    println!(
        "CPU per message, all measured: bare gossipsub {bare_us:.1} us ({} msgs), waku-relay {waku_us:.1} us ({} msgs), ratio waku/bare = {:.2}x",
        t[0].1,
        t[2].1,
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
        let env = |name: &str, default: u64| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(default)
        };
        let n = env("PROFILE_MESSAGES", 200_000);
        let side = match side.as_str() {
            "waku" => Side::Waku,
            "bare" => Side::Bare,
            "composed" => Side::Composed,
            _ => panic!("PROFILE is waku, bare or composed"),
        };
        let mut fleet = Fleet::new(side, env("PAIR_BUDGET", PAIR_BUDGET));
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            // In chunks, to show whether the cost drifts during a run.
            let chunk = (n / 5).max(1);
            let mut chunks = Vec::new();
            let (mut user, mut system, mut cpu) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
            let mut done = 0;
            while done < n {
                let m = chunk.min(n - done);
                let (user0, sys0) = cpu_split();
                let c = fleet.measure(m).await;
                let (user1, sys1) = cpu_split();
                cpu += c;
                // Includes replacing pairs: only a rough split.
                user += user1 - user0;
                system += sys1 - sys0;
                chunks.push(format!("{:.1}", per_message_us(c, m)));
                done += m;
            }
            println!(
                "{}: {n} messages, CPU per message {:.1} us (user {:.1}, system {:.1}, with pair changes; chunks: {})",
                side.name(),
                per_message_us(cpu, n),
                per_message_us(user, n),
                per_message_us(system, n),
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
