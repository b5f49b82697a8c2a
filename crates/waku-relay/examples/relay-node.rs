//! `relay-node`: a Waku relay node driven by a line protocol, for interop tests
//! and for trying the crate.
//!
//! ```text
//! cargo run -p waku-relay --example relay-node -- --pubsub-topic /waku/2/rs/16/32
//! ```
//!
//! stdout, one line each: `LISTEN <multiaddr>/p2p/<peer-id>` first, then
//! `PEER_CONNECT <peer-id>`, `SUBSCRIBE <peer-id> <topic>`, `RECV {json}` and
//! `SENT <hash_hex>`. stdin: `PUB <content-topic> <payload-hex>`, `QUIT`.
//! Logs (including `METADATA` and `REJECT` lines) go to stderr.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use clap::Parser;
use std::time::Duration;
use tokio::io::AsyncBufReadExt;
use waku_relay::node::now_ns;
use waku_relay::{Config, Event, Node, PubsubTopic, StoreConfig, WakuMessage};

#[derive(Parser, Debug)]
#[command(about = "A Waku v2 relay node with a line protocol on stdin/stdout")]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// TCP port (0 = any).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Pubsub topic to subscribe (repeatable); the first is used by `PUB`.
    #[arg(long = "pubsub-topic")]
    pubsub_topics: Vec<String>,
    /// Default content topic.
    #[arg(long = "content-topic", default_value = "/waku-relay/1/example/proto")]
    content_topic: String,
    /// Multiaddr to dial (repeatable).
    #[arg(long = "dial")]
    dials: Vec<String>,
    /// Exit after this many seconds.
    #[arg(long = "max-seconds", default_value_t = 120)]
    max_seconds: u64,
    /// Serve store v3 from an in-memory SQLite archive.
    #[arg(long)]
    store: bool,
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

fn recv_line(topic: &PubsubTopic, m: &WakuMessage, hash: &waku_relay::MessageHash) -> String {
    let ts = m
        .timestamp()
        .map_or("null".to_string(), |t| json_str(&t.to_string()));
    let meta = m
        .meta()
        .map_or("null".to_string(), |x| json_str(&hex::encode(x)));
    format!(
        "RECV {{\"pubsubTopic\":{},\"contentTopic\":{},\"payload_hex\":{},\"timestamp\":{},\"meta_hex\":{},\"version\":{},\"ephemeral\":{},\"hash_hex\":{}}}",
        json_str(&topic.to_string()),
        json_str(m.content_topic()),
        json_str(&hex::encode(m.payload())),
        ts,
        meta,
        m.version(),
        m.ephemeral(),
        json_str(&hash.to_hex()),
    )
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    let args = Args::parse();
    let topics: Vec<PubsubTopic> = if args.pubsub_topics.is_empty() {
        vec![PubsubTopic::shard(16, 32)]
    } else {
        args.pubsub_topics
            .iter()
            .map(|t| PubsubTopic::from(t.as_str()))
            .collect()
    };
    let ip: std::net::IpAddr = args.host.parse().expect("--host must be an IP address");
    let listen = libp2p::Multiaddr::from(ip).with(libp2p::multiaddr::Protocol::Tcp(args.port));
    let config = Config {
        listen_addrs: vec![listen],
        pubsub_topics: topics.clone(),
        store: args.store.then(StoreConfig::default),
        ..Config::default()
    };
    let (node, mut events) = Node::start(config).await.expect("node start");
    println!("LISTEN {}", node.dial_addr().expect("listening"));
    for d in &args.dials {
        match d.parse() {
            Ok(addr) => {
                if let Err(e) = node.dial(addr).await {
                    eprintln!("ERROR dial {d}: {e}");
                }
            }
            Err(e) => eprintln!("ERROR bad multiaddr {d}: {e}"),
        }
    }
    let topic = topics[0].clone();
    let mut stdin = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    let deadline = tokio::time::sleep(Duration::from_secs(args.max_seconds));
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            _ = &mut deadline => break,
            line = stdin.next_line() => {
                let Ok(Some(line)) = line else { break };
                let mut parts = line.split_whitespace();
                match parts.next() {
                    Some("QUIT") => break,
                    Some("PUB") => {
                        let (ct, hex_payload) = match (parts.next(), parts.next()) {
                            (Some(ct), Some(p)) => (ct.to_string(), p.to_string()),
                            (Some(p), None) => (args.content_topic.clone(), p.to_string()),
                            _ => {
                                eprintln!("ERROR usage: PUB <content-topic> <payload-hex>");
                                continue;
                            }
                        };
                        let Ok(payload) = hex::decode(&hex_payload) else {
                            eprintln!("ERROR payload is not hex");
                            continue;
                        };
                        let msg = match WakuMessage::new(ct, payload) {
                            Ok(m) => m.with_timestamp(now_ns()),
                            Err(e) => {
                                eprintln!("ERROR invalid message: {e}");
                                continue;
                            }
                        };
                        match node.publish(&topic, &msg).await {
                            Ok((hash, outcome)) => {
                                eprintln!("publish {hash}: {outcome:?}");
                                println!("SENT {hash}");
                            }
                            Err(e) => eprintln!("ERROR publish: {e}"),
                        }
                    }
                    Some(other) => eprintln!("ERROR unknown command {other}"),
                    None => {}
                }
            }
            ev = events.recv() => {
                let Some(ev) = ev else { break };
                match ev {
                    Event::PeerConnected { peer_id, .. } => println!("PEER_CONNECT {peer_id}"),
                    Event::Subscribed { peer_id, topic } => println!("SUBSCRIBE {peer_id} {topic}"),
                    Event::Message { pubsub_topic, message, .. } => {
                        let hash = message.hash_on(&pubsub_topic);
                        println!("{}", recv_line(&pubsub_topic, &message, &hash));
                    }
                    Event::Rejected { source, reason, .. } => {
                        eprintln!("REJECT {source} {reason:?}");
                    }
                    Event::Metadata { peer_id, metadata } => {
                        let shards: Vec<String> =
                            metadata.shards.iter().map(u32::to_string).collect();
                        eprintln!(
                            "METADATA {peer_id} cluster={} shards={}",
                            metadata.cluster_id.map_or("none".into(), |c| c.to_string()),
                            shards.join(",")
                        );
                    }
                    other => eprintln!("event {other:?}"),
                }
            }
        }
    }
    node.shutdown().await;
}
