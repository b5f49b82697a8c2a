//! Loopback integration tests with real nodes (ephemeral ports, every wait
//! bounded by a timeout).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;
use std::time::Duration;

use futures::StreamExt;
use libp2p::PeerId;
use waku_relay::node::now_ns;
use waku_relay::store::{STATUS_OK, StoreQuery};
use waku_relay::{
    Config, Event, Events, MessageHash, Node, PublishOutcome, PubsubTopic, RejectReason,
    StoreConfig, WakuMessage,
};

const WAIT: Duration = Duration::from_secs(30);
const CT: &str = "/waku-relay-test/1/chat/proto";

/// The message hash of a received message, computed as a reader would.
fn received_hash(e: &Event) -> Option<MessageHash> {
    match e {
        Event::Message {
            pubsub_topic,
            message,
            ..
        } => Some(message.hash_on(pubsub_topic)),
        _ => None,
    }
}

fn topic() -> PubsubTopic {
    PubsubTopic::shard(16, 32)
}

async fn node(cfg: Config) -> (Node, Events) {
    Node::start(cfg).await.unwrap()
}

async fn wait_for<T>(events: &mut Events, mut f: impl FnMut(&Event) -> Option<T>) -> T {
    tokio::time::timeout(WAIT, async {
        loop {
            let ev = events.recv().await.expect("node stopped");
            if let Some(t) = f(&ev) {
                return t;
            }
        }
    })
    .await
    .expect("timed out waiting for an event")
}

fn msg(i: usize) -> WakuMessage {
    WakuMessage::new(CT, format!("hello {i}").into_bytes())
        .unwrap()
        .with_timestamp(now_ns())
}

#[tokio::test]
async fn two_nodes_relay_and_metadata() {
    let (a, mut ea) = node(Config::default()).await;
    let (b, mut eb) = node(Config::default()).await;
    b.dial(a.dial_addr().unwrap()).await.unwrap();
    let a_id = a.peer_id();
    let b_id = b.peer_id();
    // Metadata (with the unpacked shard list) and the subscription arrive in
    // either order.
    let mut md = None;
    let mut subscribed = false;
    while md.is_none() || !subscribed {
        wait_for(&mut eb, |e| {
            match e {
                Event::Metadata { peer_id, metadata } if *peer_id == a_id => {
                    md = Some(metadata.clone())
                }
                Event::Subscribed { peer_id, topic: t } if *peer_id == a_id && *t == topic() => {
                    subscribed = true
                }
                _ => return None,
            }
            Some(())
        })
        .await;
    }
    let md = md.unwrap();
    assert_eq!(md.cluster_id, Some(16));
    assert_eq!(md.shards, vec![32]);
    let m = msg(1).with_meta(b"meta".to_vec()).unwrap();
    let (hash, outcome) = b.publish(&topic(), &m).await.unwrap();
    assert_eq!(outcome, PublishOutcome::Sent);
    let (got, got_hash, src) = wait_for(&mut ea, |e| match e {
        Event::Message {
            pubsub_topic,
            message,
            source,
        } => Some((message.clone(), message.hash_on(pubsub_topic), *source)),
        _ => None,
    })
    .await;
    assert_eq!(got, m);
    assert_eq!(got_hash, hash);
    assert_eq!(src, b_id);
    // The same bytes again, detached: the failure comes back as an event.
    assert_eq!(b.publish_detached(&topic(), &m).await.unwrap(), hash);
    let failed = wait_for(&mut eb, |e| match e {
        Event::PublishFailed { hash: h, error, .. } => Some((*h, error.clone())),
        _ => None,
    })
    .await;
    assert_eq!(failed, (hash, waku_relay::PublishError::Duplicate));
    let stats = a.stats().await.unwrap();
    assert_eq!(stats.validator.accepted, 1);
    assert_eq!(stats.connected_peers, 1);
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn publish_before_any_peer_is_queued_then_sent() {
    let (a, mut ea) = node(Config::default()).await;
    let sent: Vec<_> = (0..5).map(msg).collect();
    let mut hashes = Vec::new();
    for m in &sent {
        let (h, outcome) = a.publish(&topic(), m).await.unwrap();
        assert_eq!(outcome, PublishOutcome::Queued);
        hashes.push(h);
    }
    assert_eq!(a.stats().await.unwrap().pending, 5);
    let (b, mut eb) = node(Config::default()).await;
    b.dial(a.dial_addr().unwrap()).await.unwrap();
    let count = wait_for(&mut ea, |e| match e {
        Event::Flushed { count, .. } => Some(*count),
        _ => None,
    })
    .await;
    assert_eq!(count, 5);
    let mut got = Vec::new();
    while got.len() < 5 {
        got.push(wait_for(&mut eb, received_hash).await);
    }
    assert_eq!(got, hashes, "queued messages arrive, in order");
    assert_eq!(a.stats().await.unwrap().pending, 0);
}

#[tokio::test]
async fn queued_publish_expires_with_the_timestamp_window() {
    let cfg = || Config {
        validator: waku_relay::ValidatorConfig {
            timestamp_window: Some(Duration::from_secs(1)),
            ..Default::default()
        },
        ..Config::default()
    };
    let (a, _ea) = node(cfg()).await;
    let stale = WakuMessage::new(CT, b"stale".to_vec())
        .unwrap()
        .with_timestamp(now_ns() - 5_000_000_000);
    assert_eq!(
        a.publish(&topic(), &stale).await.unwrap().1,
        PublishOutcome::Queued
    );
    let (b, mut eb) = node(cfg()).await;
    b.dial(a.dial_addr().unwrap()).await.unwrap();
    let a_id = a.peer_id();
    wait_for(&mut eb, |e| {
        matches!(e, Event::Subscribed { peer_id, .. } if *peer_id == a_id).then_some(())
    })
    .await;
    let (fresh, _) = a.publish(&topic(), &msg(1)).await.unwrap();
    let got = wait_for(&mut eb, received_hash).await;
    assert_eq!(got, fresh, "the stale message was not sent");
    let stats = a.stats().await.unwrap();
    assert_eq!((stats.expired, stats.pending), (1, 0));
    assert_eq!(b.stats().await.unwrap().validator.rejected_total(), 0);
}

#[tokio::test]
async fn connection_cap_refuses_extra_peers() {
    let (a, _ea) = node(Config {
        max_connections: 1,
        ..Config::default()
    })
    .await;
    let (b, mut eb) = node(Config::default()).await;
    b.dial(a.dial_addr().unwrap()).await.unwrap();
    let a_id = a.peer_id();
    wait_for(&mut eb, |e| {
        matches!(e, Event::Subscribed { peer_id, .. } if *peer_id == a_id).then_some(())
    })
    .await;
    let (c, mut ec) = node(Config::default()).await;
    c.dial(a.dial_addr().unwrap()).await.unwrap();
    // The cap closes C's connection: either the dial fails or it drops at once.
    wait_for(&mut ec, |e| match e {
        Event::DialFailed { .. } | Event::PeerDisconnected { .. } => Some(()),
        Event::Subscribed { peer_id, .. } if *peer_id == a_id => panic!("cap not applied"),
        _ => None,
    })
    .await;
    assert_eq!(a.stats().await.unwrap().connected_peers, 1);
}

#[tokio::test]
async fn other_cluster_is_disconnected() {
    let (a, mut ea) = node(Config::default()).await;
    let (b, _eb) = node(Config {
        pubsub_topics: vec![PubsubTopic::shard(1, 0)],
        disconnect_other_clusters: false,
        ..Config::default()
    })
    .await;
    b.dial(a.dial_addr().unwrap()).await.unwrap();
    let b_id = b.peer_id();
    let mut mismatch = None;
    let mut gone = false;
    while mismatch.is_none() || !gone {
        wait_for(&mut ea, |e| {
            match e {
                Event::ClusterMismatch {
                    peer_id,
                    ours,
                    theirs,
                    disconnected,
                } if *peer_id == b_id => mismatch = Some((*ours, *theirs, *disconnected)),
                Event::PeerDisconnected { peer_id } if *peer_id == b_id => gone = true,
                _ => return None,
            }
            Some(())
        })
        .await;
    }
    assert_eq!(mismatch, Some((16, 1, true)));
}

/// A bare gossipsub peer (same protocol id, anonymous) that sends what the Waku
/// validator must refuse.
#[tokio::test]
async fn invalid_messages_are_rejected_and_counted() {
    use libp2p::{gossipsub, identity::Keypair, swarm::SwarmEvent};
    let (a, mut ea) = node(Config::default()).await;
    let cfg = waku_relay::behaviour::gossipsub_config(&Config::default()).unwrap();
    let mut raw = waku_relay::behaviour::build_swarm(
        Keypair::generate_ed25519(),
        Duration::from_secs(60),
        |_| -> gossipsub::Behaviour {
            gossipsub::Behaviour::new(gossipsub::MessageAuthenticity::Anonymous, cfg).unwrap()
        },
    )
    .unwrap();
    let t = gossipsub::IdentTopic::new(topic().to_string());
    raw.behaviour_mut().subscribe(&t).unwrap();
    raw.dial(a.dial_addr().unwrap()).unwrap();
    let a_id = a.peer_id();
    let old = now_ns() - 3_600_000_000_000;
    let bad: Vec<(Vec<u8>, RejectReason)> = vec![
        // content topic only: empty payload.
        (vec![0x12, 0x01, b'x'], RejectReason::EmptyPayload),
        (vec![0xff, 0xff, 0xff], RejectReason::Malformed),
        (
            WakuMessage::new(CT, b"old".to_vec())
                .unwrap()
                .with_timestamp(old)
                .encode(),
            RejectReason::PastTimestamp,
        ),
        (
            WakuMessage::new(CT, vec![7u8; 160 * 1024])
                .unwrap()
                .encode(),
            RejectReason::Oversize,
        ),
    ];
    let task = tokio::spawn(async move {
        let mut ready = false;
        let mut queue = bad.into_iter().map(|(d, _)| d).collect::<Vec<_>>();
        let end = tokio::time::Instant::now() + WAIT;
        while tokio::time::Instant::now() < end {
            tokio::select! {
                ev = raw.select_next_some() => {
                    if let SwarmEvent::Behaviour(gossipsub::Event::Subscribed { peer_id, .. }) = ev {
                        ready |= peer_id == a_id;
                    }
                }
                _ = tokio::time::sleep(Duration::from_millis(50)), if ready && !queue.is_empty() => {
                    let d = queue.remove(0);
                    raw.behaviour_mut().publish(t.clone(), d).unwrap();
                }
            }
        }
    });
    let mut reasons = HashSet::new();
    while reasons.len() < 4 {
        reasons.insert(
            wait_for(&mut ea, |e| match e {
                Event::Rejected { reason, .. } => Some(*reason),
                Event::Message { .. } => panic!("invalid message accepted"),
                _ => None,
            })
            .await,
        );
    }
    let stats = a.stats().await.unwrap();
    assert_eq!(stats.validator.rejected(RejectReason::EmptyPayload), 1);
    assert_eq!(stats.validator.rejected(RejectReason::Malformed), 1);
    assert_eq!(stats.validator.rejected(RejectReason::PastTimestamp), 1);
    assert_eq!(stats.validator.rejected(RejectReason::Oversize), 1);
    assert_eq!(stats.validator.accepted, 0);
    task.abort();
}

#[tokio::test]
async fn five_node_line_delivers_everything() {
    const N: usize = 5;
    const MESSAGES: usize = 300;
    let mut nodes = Vec::new();
    for _ in 0..N {
        nodes.push(node(Config::default()).await);
    }
    for i in 1..N {
        let addr = nodes[i - 1].0.dial_addr().unwrap();
        nodes[i].0.dial(addr).await.unwrap();
    }
    // Wait until each node sees its neighbours subscribe.
    for i in 0..N {
        let want: HashSet<_> = [i.checked_sub(1), (i + 1 < N).then_some(i + 1)]
            .into_iter()
            .flatten()
            .map(|j| nodes[j].0.peer_id())
            .collect();
        let mut seen = HashSet::new();
        while seen != want {
            let p = wait_for(&mut nodes[i].1, |e| match e {
                Event::Subscribed { peer_id, .. } => Some(*peer_id),
                _ => None,
            })
            .await;
            seen.insert(p);
        }
    }
    let first = nodes[0].0.clone();
    let publisher = tokio::spawn(async move {
        let mut hashes = Vec::new();
        for i in 0..MESSAGES {
            hashes.push(first.publish_detached(&topic(), &msg(i)).await.unwrap());
        }
        hashes
    });
    let (_, last_events) = nodes.last_mut().unwrap();
    let mut got = HashSet::new();
    while got.len() < MESSAGES {
        got.insert(wait_for(last_events, received_hash).await);
    }
    let sent: HashSet<_> = publisher.await.unwrap().into_iter().collect();
    assert_eq!(got, sent);
}

#[tokio::test]
async fn store_query_with_paging_and_filters() {
    let dir = tempfile::tempdir().unwrap();
    let (server, mut es) = node(Config {
        store: Some(StoreConfig {
            path: Some(dir.path().join("archive.sqlite")),
            ..Default::default()
        }),
        ..Config::default()
    })
    .await;
    let (client, mut ec) = node(Config::default()).await;
    client.dial(server.dial_addr().unwrap()).await.unwrap();
    let sid = server.peer_id();
    wait_for(&mut ec, |e| {
        matches!(e, Event::Subscribed { peer_id, .. } if *peer_id == sid).then_some(())
    })
    .await;
    let base = now_ns();
    let mut hashes = Vec::new();
    for i in 0..12 {
        let ct = if i % 3 == 0 {
            "/app/1/a/proto"
        } else {
            "/app/1/b/proto"
        };
        let m = WakuMessage::new(ct, vec![i as u8 + 1])
            .unwrap()
            .with_timestamp(base + i as i64);
        hashes.push(client.publish(&topic(), &m).await.unwrap().0);
    }
    let mut received = 0;
    while received < 12 {
        wait_for(&mut es, |e| {
            matches!(e, Event::Message { .. }).then_some(())
        })
        .await;
        received += 1;
    }
    // Forward paging over everything, 5 per page.
    let mut q = StoreQuery {
        request_id: "q1".into(),
        include_data: true,
        forward: true,
        limit: Some(5),
        ..Default::default()
    };
    let mut all = Vec::new();
    let mut pages = 0;
    loop {
        let r = client.store_query(sid, q.clone()).await.unwrap();
        assert_eq!(r.status_code, STATUS_OK);
        assert_eq!(r.request_id, "q1");
        pages += 1;
        all.extend(r.messages.iter().map(|m| m.hash));
        match r.cursor {
            Some(c) => q.cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(all, hashes);
    // Content-topic and time filter.
    let r = client
        .store_query(
            sid,
            StoreQuery {
                request_id: "q2".into(),
                include_data: true,
                forward: true,
                pubsub_topic: Some(topic().to_string()),
                content_topics: vec!["/app/1/a/proto".into()],
                time_start: Some(base + 1),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let payloads: Vec<u8> = r
        .messages
        .iter()
        .map(|m| m.data.as_ref().unwrap().1.payload()[0])
        .collect();
    assert_eq!(payloads, vec![4, 7, 10]);
}

#[tokio::test]
async fn traffic_counters_grow_with_a_message() {
    let (a, mut ea) = node(Config::default()).await;
    let (b, mut eb) = node(Config::default()).await;
    b.dial(a.dial_addr().unwrap()).await.unwrap();
    wait_for(&mut ea, |e| {
        matches!(e, Event::Subscribed { .. }).then_some(())
    })
    .await;
    wait_for(&mut eb, |e| {
        matches!(e, Event::Subscribed { .. }).then_some(())
    })
    .await;
    let (a0, b0) = (a.traffic(), b.traffic());
    // Setup (Noise, identify, metadata, subscriptions) went over the wire.
    assert!(a0.bytes_in > 0 && a0.bytes_out > 0 && b0.bytes_in > 0 && b0.bytes_out > 0);
    let message = WakuMessage::new(CT, vec![7u8; 1024])
        .unwrap()
        .with_timestamp(now_ns());
    let size = message.encode().len() as u64;
    let (hash, outcome) = a.publish(&topic(), &message).await.unwrap();
    assert_eq!(outcome, PublishOutcome::Sent);
    wait_for(&mut eb, |e| (received_hash(e) == Some(hash)).then_some(())).await;
    let (a1, b1) = (a.traffic(), b.traffic());
    let sent = a1.bytes_out - a0.bytes_out;
    let got = b1.bytes_in - b0.bytes_in;
    println!("{size}-byte message: a wrote {sent} bytes, b read {got} bytes");
    assert!(
        sent >= size,
        "a wrote {sent} bytes for a {size}-byte message"
    );
    assert!(got >= size, "b read {got} bytes for a {size}-byte message");
    // Pings or heartbeats may slip in, but not a hundred times the message.
    assert!(
        sent < 100 * size && got < 100 * size,
        "{sent} / {got} bytes"
    );
    assert_eq!(
        a1.message_bytes_published - a0.message_bytes_published,
        size
    );
    assert_eq!(b1.message_bytes_received - b0.message_bytes_received, size);
    assert_eq!(a1.message_bytes_received, 0);
}

/// Waits for `peer`'s next subscription change seen by a node and returns
/// (subscribed?, topic).
async fn next_subscription_change(events: &mut Events, peer: PeerId) -> (bool, PubsubTopic) {
    wait_for(events, |e| match e {
        Event::Subscribed { peer_id, topic } if *peer_id == peer => Some((true, topic.clone())),
        Event::Unsubscribed { peer_id, topic } if *peer_id == peer => Some((false, topic.clone())),
        _ => None,
    })
    .await
}

#[tokio::test]
async fn per_peer_topic_cap_refuses_subscriptions_beyond_it() {
    use waku_relay::behaviour::MAX_TOPICS_PER_PEER;
    let cap = u16::try_from(MAX_TOPICS_PER_PEER).unwrap();
    let shards = |n: u16| {
        (0..n)
            .map(|s| PubsubTopic::shard(16, s))
            .collect::<Vec<_>>()
    };
    let extra = PubsubTopic::from("/waku-relay-test/extra");

    // A peer at the cap: every subscription is recorded.
    let (b, mut eb) = node(Config::default()).await;
    let (a, _ea) = node(Config {
        pubsub_topics: shards(cap),
        ..Config::default()
    })
    .await;
    a.dial(b.dial_addr().unwrap()).await.unwrap();
    let mut seen = HashSet::new();
    while seen.len() < MAX_TOPICS_PER_PEER {
        let (subscribed, t) = next_subscription_change(&mut eb, a.peer_id()).await;
        assert!(subscribed);
        seen.insert(t);
    }
    // One more is refused (the whole subscription message is ignored)...
    assert!(a.subscribe(extra.clone()).await);
    // ...which shows once a later message from the same peer has arrived:
    // messages of one peer are handled in order.
    assert!(a.unsubscribe(PubsubTopic::shard(16, 5)).await);
    assert_eq!(
        next_subscription_change(&mut eb, a.peer_id()).await,
        (false, PubsubTopic::shard(16, 5)),
        "the subscription beyond the cap was not recorded"
    );
    // Below the cap again, a new subscription is accepted (gossipsub reports
    // an unsubscription whether or not it had recorded the topic).
    assert!(a.unsubscribe(extra.clone()).await);
    assert_eq!(
        next_subscription_change(&mut eb, a.peer_id()).await,
        (false, extra.clone())
    );
    assert!(a.subscribe(extra.clone()).await);
    assert_eq!(
        next_subscription_change(&mut eb, a.peer_id()).await,
        (true, extra.clone())
    );

    // A peer announcing more than the cap at once: the announcement is
    // ignored as a whole, later subscriptions within the cap count.
    let (c, mut ec) = node(Config {
        pubsub_topics: shards(cap + 1),
        ..Config::default()
    })
    .await;
    c.dial(b.dial_addr().unwrap()).await.unwrap();
    // Once c has b's subscriptions, c's own announcement has gone out: the
    // subscription below follows it (subscribing before c had handled the new
    // connection would put `extra` into that announcement, ignored with it).
    wait_for(&mut ec, |e| match e {
        Event::Subscribed { peer_id, .. } if *peer_id == b.peer_id() => Some(()),
        _ => None,
    })
    .await;
    assert!(c.subscribe(extra.clone()).await);
    assert_eq!(
        next_subscription_change(&mut eb, c.peer_id()).await,
        (true, extra),
        "none of the {} announced topics was recorded",
        cap + 1
    );
}

#[cfg(feature = "websocket")]
#[tokio::test]
async fn websocket_transport_relays() {
    use libp2p::multiaddr::Protocol;
    let ws_any_port = waku_relay::behaviour::loopback_any_port().with(Protocol::Ws("/".into()));
    let (a, mut ea) = node(Config {
        listen_addrs: vec![ws_any_port],
        ..Config::default()
    })
    .await;
    let addr = a.dial_addr().unwrap();
    assert!(addr.iter().any(|p| matches!(p, Protocol::Ws(_))), "{addr}");
    let (b, mut eb) = node(Config::default()).await;
    b.dial(addr).await.unwrap();
    wait_for(&mut ea, |e| {
        matches!(e, Event::Subscribed { .. }).then_some(())
    })
    .await;
    wait_for(&mut eb, |e| {
        matches!(e, Event::Subscribed { .. }).then_some(())
    })
    .await;
    let before = a.traffic();
    let (hash, outcome) = b.publish(&topic(), &msg(1)).await.unwrap();
    assert_eq!(outcome, PublishOutcome::Sent);
    wait_for(&mut ea, |e| (received_hash(e) == Some(hash)).then_some(())).await;
    // Bytes over websocket are counted too.
    assert!(a.traffic().bytes_in > before.bytes_in);
}
