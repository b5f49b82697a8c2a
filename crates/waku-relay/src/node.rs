//! The tokio [`Node`]: a spawned swarm task driving [`Behaviour`], with a
//! handle to publish, subscribe, dial and query, and a stream of [`Event`]s.

use futures::StreamExt;
use libp2p::{
    Multiaddr, PeerId, Swarm, gossipsub, identity::Keypair, request_response, swarm::SwarmEvent,
};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, oneshot};

use crate::behaviour::{Behaviour, BehaviourEvent, BuildError, Config, build_swarm_counted};
use crate::message::{MessageError, MessageHash, WakuMessage};
use crate::metadata::Metadata;
use crate::store::{Archive, StoreQuery, StoreResponse};
use crate::topic::PubsubTopic;
use crate::transport::{Traffic, TrafficCounters};
use crate::validator::{RejectReason, Validator, ValidatorStats};

/// Most store queries this node waits on at once.
pub const MAX_PENDING_STORE_QUERIES: usize = 64;
/// Capacity of the handle's command channels.
const COMMAND_QUEUE_CAP: usize = 256;
/// How often queued publishes are retried while some wait.
const RETRY_INTERVAL: Duration = Duration::from_millis(20);

/// What the node reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A connection to a peer is up (first connection only).
    PeerConnected {
        /// The peer.
        peer_id: PeerId,
        /// Its address.
        address: Multiaddr,
    },
    /// A dial failed (or a connection was refused by the connection caps).
    DialFailed {
        /// The peer, if known.
        peer_id: Option<PeerId>,
        /// What went wrong.
        error: String,
    },
    /// The last connection to a peer closed.
    PeerDisconnected {
        /// The peer.
        peer_id: PeerId,
    },
    /// A peer subscribed to a pubsub topic.
    Subscribed {
        /// The peer.
        peer_id: PeerId,
        /// The topic.
        topic: PubsubTopic,
    },
    /// A peer unsubscribed from a pubsub topic.
    Unsubscribed {
        /// The peer.
        peer_id: PeerId,
        /// The topic.
        topic: PubsubTopic,
    },
    /// A valid message arrived on a subscribed topic.
    ///
    /// Its deterministic hash (14) is `message.hash_on(&pubsub_topic)`,
    /// computed on demand: a node that only relays does not need it, and it
    /// is a SHA-256 over the whole message.
    Message {
        /// Its pubsub topic.
        pubsub_topic: PubsubTopic,
        /// The message.
        message: WakuMessage,
        /// The peer that forwarded it.
        source: PeerId,
    },
    /// The validator rejected a relayed message (the sender is penalised).
    Rejected {
        /// The peer that forwarded it.
        source: PeerId,
        /// Its pubsub topic.
        pubsub_topic: PubsubTopic,
        /// Why.
        reason: RejectReason,
    },
    /// A peer's metadata (66), from its request or its answer.
    Metadata {
        /// The peer.
        peer_id: PeerId,
        /// What it announced.
        metadata: Metadata,
    },
    /// A peer announced another cluster.
    ClusterMismatch {
        /// The peer.
        peer_id: PeerId,
        /// Our cluster.
        ours: u32,
        /// Its cluster.
        theirs: u32,
        /// Whether we disconnected it.
        disconnected: bool,
    },
    /// Messages published while no peer could take them were sent.
    Flushed {
        /// The topic.
        pubsub_topic: PubsubTopic,
        /// How many.
        count: usize,
    },
    /// A [`Node::publish_detached`] failed.
    PublishFailed {
        /// The topic.
        pubsub_topic: PubsubTopic,
        /// The message hash.
        hash: MessageHash,
        /// Why.
        error: PublishError,
    },
    /// gossipsub dropped messages for a peer that could not keep up.
    SlowPeer {
        /// The peer.
        peer_id: PeerId,
        /// Dropped publish/forward messages in the last heartbeat.
        dropped: usize,
    },
}

/// How a publish went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PublishOutcome {
    /// Handed to gossipsub for at least one peer.
    Sent,
    /// No peer could take it yet; queued (bounded) and sent when one appears.
    Queued,
}

/// Why a publish failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    /// The message is invalid or too large.
    #[error("invalid message: {0}")]
    Message(#[from] MessageError),
    /// The same bytes were published within the seen TTL.
    #[error("duplicate message")]
    Duplicate,
    /// Every subscribed peer's queue was full: the message was not sent.
    /// Publish again (with a new timestamp) later.
    #[error("all peer queues are full")]
    QueuesFull,
    /// gossipsub refused it for another reason.
    #[error("gossipsub: {0}")]
    Gossipsub(String),
    /// The node has stopped.
    #[error("node stopped")]
    Stopped,
}

/// Why a store query failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    /// Too many queries in flight ([`MAX_PENDING_STORE_QUERIES`]).
    #[error("too many queries in flight")]
    TooManyQueries,
    /// The request failed on the network.
    #[error("request failed: {0}")]
    Failed(String),
    /// The node has stopped.
    #[error("node stopped")]
    Stopped,
}

/// Counters of a running node.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Relay validator counters.
    pub validator: ValidatorStats,
    /// Publishes handed to gossipsub.
    pub published: u64,
    /// Publishes that had to wait in the pending queue.
    pub queued: u64,
    /// Messages waiting in the pending queue now.
    pub pending: usize,
    /// Queued publishes dropped because their timestamp left the validator's
    /// window before any peer appeared (peers would reject them).
    pub expired: u64,
    /// Queued publishes gossipsub refused when flushed.
    pub failed_after_queueing: u64,
    /// Outgoing messages gossipsub dropped for slow peers.
    pub dropped_for_slow_peers: u64,
    /// Messages in the store archive.
    pub archived: u64,
    /// Connected peers.
    pub connected_peers: usize,
}

enum Control {
    Dial(Multiaddr, oneshot::Sender<Result<(), String>>),
    Subscribe(PubsubTopic, oneshot::Sender<bool>),
    Unsubscribe(PubsubTopic, oneshot::Sender<bool>),
    Store(PeerId, Box<StoreQuery>, StoreReply),
    Stats(oneshot::Sender<Stats>),
    Shutdown,
}

struct Publish {
    topic: PubsubTopic,
    /// `topic` as gossipsub names it (formatted once, by the handle).
    topic_hash: gossipsub::TopicHash,
    data: Vec<u8>,
    hash: MessageHash,
    /// `None` for [`Node::publish_detached`]: failures become events.
    reply: Option<oneshot::Sender<Result<PublishOutcome, PublishError>>>,
}

/// Most publishes handled in one turn of the node loop.
const PUBLISH_BATCH: usize = 64;

/// Handle to a running node. Dropping every clone of it stops the node.
#[derive(Debug, Clone)]
pub struct Node {
    peer_id: PeerId,
    listen_addrs: Vec<Multiaddr>,
    default_topic: Option<PubsubTopic>,
    max_message_size: usize,
    control: mpsc::Sender<Control>,
    publish: mpsc::Sender<Publish>,
    traffic: Arc<TrafficCounters>,
}

/// The receiving end of a node's events. A slow reader pauses the node.
pub type Events = mpsc::Receiver<Event>;

/// Current Unix time in nanoseconds.
pub fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl Node {
    /// Builds the swarm, starts listening, subscribes the configured topics and
    /// spawns the node task on the current tokio runtime.
    pub async fn start(config: Config) -> Result<(Node, Events), BuildError> {
        let keypair = config
            .keypair
            .clone()
            .unwrap_or_else(Keypair::generate_ed25519);
        let peer_id = keypair.public().to_peer_id();
        let behaviour = Behaviour::new(&keypair, &config)?;
        let traffic = TrafficCounters::new();
        let mut swarm = build_swarm_counted(
            keypair,
            config.idle_connection_timeout,
            traffic.clone(),
            |_| behaviour,
        )?;
        let archive = match &config.store {
            None => None,
            Some(s) => Some(match &s.path {
                Some(p) => Archive::open(p, s.retention.clone())?,
                None => Archive::in_memory(s.retention.clone())?,
            }),
        };
        for addr in &config.listen_addrs {
            swarm
                .listen_on(addr.clone())
                .map_err(|e| BuildError::Listen(e.to_string()))?;
        }
        let mut listen_addrs = Vec::new();
        let wait = tokio::time::timeout(Duration::from_secs(10), async {
            while listen_addrs.len() < config.listen_addrs.len() {
                match swarm.select_next_some().await {
                    SwarmEvent::NewListenAddr { address, .. } => listen_addrs.push(address),
                    SwarmEvent::ListenerError { error, .. } => {
                        return Err(BuildError::Listen(error.to_string()));
                    }
                    SwarmEvent::ListenerClosed { reason, .. } => {
                        return Err(BuildError::Listen(format!("{reason:?}")));
                    }
                    _ => {}
                }
            }
            Ok(())
        })
        .await;
        match wait {
            Ok(r) => r?,
            Err(_) => return Err(BuildError::Listen("no listen address after 10 s".into())),
        }

        let (event_tx, event_rx) = mpsc::channel(config.event_queue_cap.max(1));
        let (control_tx, control_rx) = mpsc::channel(COMMAND_QUEUE_CAP);
        let (publish_tx, publish_rx) = mpsc::channel(COMMAND_QUEUE_CAP);
        let mut driver = Driver {
            swarm,
            validator: Validator::new(config.validator.clone()),
            archive,
            pending: HashMap::new(),
            pending_len: 0,
            pending_cap: config.pending_publish_cap,
            cluster: config.effective_cluster(),
            disconnect_other_clusters: config.disconnect_other_clusters,
            subscribed: Vec::new(),
            store_queries: HashMap::new(),
            events: event_tx,
            stats: Stats::default(),
            connected: HashSet::new(),
            traffic: traffic.clone(),
            out: Vec::new(),
        };
        for t in &config.pubsub_topics {
            driver.subscribe(t);
        }
        tokio::spawn(driver.run(control_rx, publish_rx));
        Ok((
            Node {
                peer_id,
                listen_addrs,
                default_topic: config.pubsub_topics.first().cloned(),
                max_message_size: config.validator.max_message_size,
                control: control_tx,
                publish: publish_tx,
                traffic,
            },
            event_rx,
        ))
    }

    /// This node's peer id.
    pub fn peer_id(&self) -> PeerId {
        self.peer_id
    }

    /// The addresses the node listens on (without `/p2p/`).
    pub fn listen_addrs(&self) -> &[Multiaddr] {
        &self.listen_addrs
    }

    /// The first listen address with `/p2p/<peer id>` appended, for dialing.
    pub fn dial_addr(&self) -> Option<Multiaddr> {
        self.listen_addrs.first().map(|a| {
            a.clone()
                .with(libp2p::multiaddr::Protocol::P2p(self.peer_id))
        })
    }

    /// The first configured pubsub topic.
    pub fn default_topic(&self) -> Option<&PubsubTopic> {
        self.default_topic.as_ref()
    }

    /// Dials `addr`; returns once the dial has started.
    pub async fn dial(&self, addr: Multiaddr) -> Result<(), String> {
        let (tx, rx) = oneshot::channel();
        self.control
            .send(Control::Dial(addr, tx))
            .await
            .map_err(|_| "node stopped".to_string())?;
        rx.await.map_err(|_| "node stopped".to_string())?
    }

    /// Subscribes to a pubsub topic; `false` if already subscribed.
    pub async fn subscribe(&self, topic: PubsubTopic) -> bool {
        let (tx, rx) = oneshot::channel();
        if self
            .control
            .send(Control::Subscribe(topic, tx))
            .await
            .is_err()
        {
            return false;
        }
        rx.await.unwrap_or(false)
    }

    /// Unsubscribes from a pubsub topic; `false` if not subscribed.
    pub async fn unsubscribe(&self, topic: PubsubTopic) -> bool {
        let (tx, rx) = oneshot::channel();
        if self
            .control
            .send(Control::Unsubscribe(topic, tx))
            .await
            .is_err()
        {
            return false;
        }
        rx.await.unwrap_or(false)
    }

    /// Publishes `message` on `topic` and returns its hash.
    ///
    /// The call waits while the node's pending queue is full (back-pressure).
    /// A message no peer can take yet is queued and sent when one subscribes;
    /// if its timestamp leaves the validator's window first, it is dropped and
    /// counted in [`Stats::expired`] (peers would reject it).
    ///
    /// Events are not dropped either: a full event channel pauses the node, so
    /// read [`Events`] concurrently with publishing.
    pub async fn publish(
        &self,
        topic: &PubsubTopic,
        message: &WakuMessage,
    ) -> Result<(MessageHash, PublishOutcome), PublishError> {
        let (tx, rx) = oneshot::channel();
        let hash = self.submit(topic, message, Some(tx)).await?;
        let outcome = rx.await.map_err(|_| PublishError::Stopped)??;
        Ok((hash, outcome))
    }

    /// Like [`Node::publish`], but returns once the node has taken the message
    /// (still waiting while its queues are full) without waiting for the
    /// outcome; a failure arrives as [`Event::PublishFailed`]. For high
    /// message rates: publishes are pipelined instead of one round trip each.
    pub async fn publish_detached(
        &self,
        topic: &PubsubTopic,
        message: &WakuMessage,
    ) -> Result<MessageHash, PublishError> {
        self.submit(topic, message, None).await
    }

    async fn submit(
        &self,
        topic: &PubsubTopic,
        message: &WakuMessage,
        reply: Option<oneshot::Sender<Result<PublishOutcome, PublishError>>>,
    ) -> Result<MessageHash, PublishError> {
        let data = message.encode();
        if data.len() > self.max_message_size {
            return Err(PublishError::Message(MessageError::TooLarge {
                size: data.len(),
                max: self.max_message_size,
            }));
        }
        let topic_str = topic.to_string();
        let hash = message.hash(&topic_str);
        self.publish
            .send(Publish {
                topic: topic.clone(),
                topic_hash: gossipsub::TopicHash::from_raw(topic_str),
                data,
                hash,
                reply,
            })
            .await
            .map_err(|_| PublishError::Stopped)?;
        Ok(hash)
    }

    /// Sends a store v3 query to `peer` (which must be connected or known).
    pub async fn store_query(
        &self,
        peer: PeerId,
        query: StoreQuery,
    ) -> Result<StoreResponse, QueryError> {
        let (tx, rx) = oneshot::channel();
        self.control
            .send(Control::Store(peer, Box::new(query), tx))
            .await
            .map_err(|_| QueryError::Stopped)?;
        rx.await.map_err(|_| QueryError::Stopped)?
    }

    /// The node's counters.
    pub async fn stats(&self) -> Option<Stats> {
        let (tx, rx) = oneshot::channel();
        self.control.send(Control::Stats(tx)).await.ok()?;
        rx.await.ok()
    }

    /// Bytes this node's connections read and wrote so far, and the encoded
    /// sizes of the messages it published and received: read from shared
    /// counters, no round trip to the node task (works after it stopped too).
    pub fn traffic(&self) -> Traffic {
        self.traffic.snapshot()
    }

    /// Stops the node task.
    pub async fn shutdown(&self) {
        let _ = self.control.send(Control::Shutdown).await;
    }
}

type StoreReply = oneshot::Sender<Result<StoreResponse, QueryError>>;

/// A queued publish: encoded message and its timestamp.
type Pending = (Vec<u8>, Option<i64>);

struct Driver {
    swarm: Swarm<Behaviour>,
    validator: Validator,
    archive: Option<Archive>,
    pending: HashMap<gossipsub::TopicHash, VecDeque<Pending>>,
    pending_len: usize,
    pending_cap: usize,
    cluster: Option<u16>,
    disconnect_other_clusters: bool,
    subscribed: Vec<PubsubTopic>,
    store_queries: HashMap<request_response::OutboundRequestId, StoreReply>,
    events: mpsc::Sender<Event>,
    stats: Stats,
    connected: HashSet<PeerId>,
    traffic: Arc<TrafficCounters>,
    /// Events of the swarm event being handled (reused).
    out: Vec<Event>,
}

impl Driver {
    async fn run(
        mut self,
        mut control: mpsc::Receiver<Control>,
        mut publish: mpsc::Receiver<Publish>,
    ) {
        let mut retry = tokio::time::interval(RETRY_INTERVAL);
        retry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut handles_open = true;
        loop {
            let room = self.pending_len < self.pending_cap;
            tokio::select! {
                ev = self.swarm.select_next_some() => {
                    // One buffer for the whole run: no allocation per event.
                    let mut out = std::mem::take(&mut self.out);
                    self.on_swarm_event(ev, &mut out);
                    for e in out.drain(..) {
                        // A full channel pauses the node: back-pressure, no drops.
                        let _ = self.events.send(e).await;
                    }
                    self.out = out;
                }
                cmd = control.recv(), if handles_open => match cmd {
                    None | Some(Control::Shutdown) => break,
                    Some(cmd) => self.on_control(cmd),
                },
                p = publish.recv(), if room && handles_open => match p {
                    None => handles_open = false,
                    Some(p) => {
                        let mut failed = Vec::new();
                        self.on_publish(p, &mut failed);
                        // Take what else waits, while the pending queue has room.
                        for _ in 1..PUBLISH_BATCH {
                            if self.pending_len >= self.pending_cap {
                                break;
                            }
                            let Ok(p) = publish.try_recv() else { break };
                            self.on_publish(p, &mut failed);
                        }
                        for out in failed {
                            let _ = self.events.send(out).await;
                        }
                    }
                },
                _ = retry.tick(), if self.pending_len > 0 => {
                    for out in self.flush_all() {
                        let _ = self.events.send(out).await;
                    }
                }
            }
        }
    }

    fn on_publish(&mut self, p: Publish, failed: &mut Vec<Event>) {
        let r = self.publish(p.topic_hash, p.data);
        match p.reply {
            Some(reply) => {
                let _ = reply.send(r);
            }
            None => {
                if let Err(error) = r {
                    failed.push(Event::PublishFailed {
                        pubsub_topic: p.topic,
                        hash: p.hash,
                        error,
                    });
                }
            }
        }
    }

    fn our_metadata(&self) -> Metadata {
        let cluster = self.cluster;
        Metadata {
            cluster_id: cluster.map(u32::from),
            shards: self
                .subscribed
                .iter()
                .filter_map(|t| t.as_shard())
                .filter(|(c, _)| Some(*c) == cluster)
                .map(|(_, s)| u32::from(s))
                .collect(),
        }
    }

    fn subscribe(&mut self, topic: &PubsubTopic) -> bool {
        let t = gossipsub::IdentTopic::new(topic.to_string());
        match self.swarm.behaviour_mut().relay.subscribe(&t) {
            Ok(true) => {
                self.subscribed.push(topic.clone());
                true
            }
            _ => false,
        }
    }

    fn on_control(&mut self, cmd: Control) {
        match cmd {
            Control::Dial(addr, reply) => {
                let r = self.swarm.dial(addr).map_err(|e| e.to_string());
                let _ = reply.send(r);
            }
            Control::Subscribe(topic, reply) => {
                let _ = reply.send(self.subscribe(&topic));
            }
            Control::Unsubscribe(topic, reply) => {
                let t = gossipsub::IdentTopic::new(topic.to_string());
                let ok = self.swarm.behaviour_mut().relay.unsubscribe(&t);
                self.subscribed.retain(|s| *s != topic);
                let _ = reply.send(ok);
            }
            Control::Store(peer, query, reply) => {
                if self.store_queries.len() >= MAX_PENDING_STORE_QUERIES {
                    let _ = reply.send(Err(QueryError::TooManyQueries));
                    return;
                }
                let id = self.swarm.behaviour_mut().store.send_request(&peer, *query);
                self.store_queries.insert(id, reply);
            }
            Control::Stats(reply) => {
                let mut s = self.stats.clone();
                s.validator = self.validator.stats().clone();
                s.pending = self.pending_len;
                s.archived = self.archive.as_ref().map_or(0, Archive::len);
                s.connected_peers = self.connected.len();
                let _ = reply.send(s);
            }
            Control::Shutdown => {}
        }
    }

    fn archive(&mut self, topic: &str, msg: &WakuMessage) {
        if let Some(a) = self.archive.as_mut()
            && let Err(e) = a.insert(topic, msg, now_ns())
        {
            tracing::warn!(error = %e, "archive insert failed");
        }
    }

    fn publish(
        &mut self,
        hash: gossipsub::TopicHash,
        data: Vec<u8>,
    ) -> Result<PublishOutcome, PublishError> {
        if self.pending_len > 0 && self.pending.get(&hash).is_some_and(|q| !q.is_empty()) {
            // Keep order behind what already waits.
            self.enqueue(hash, data);
            return Ok(PublishOutcome::Queued);
        }
        match self
            .swarm
            .behaviour_mut()
            .relay
            .publish(hash.clone(), data.clone())
        {
            Ok(_) => {
                self.stats.published += 1;
                self.traffic.add_published(data.len());
                if self.archive.is_some()
                    && let Ok(msg) = WakuMessage::decode(&data, usize::MAX)
                {
                    self.archive(hash.as_str(), &msg);
                }
                Ok(PublishOutcome::Sent)
            }
            Err(gossipsub::PublishError::NoPeersSubscribedToTopic) => {
                self.enqueue(hash, data);
                Ok(PublishOutcome::Queued)
            }
            Err(gossipsub::PublishError::Duplicate) => Err(PublishError::Duplicate),
            Err(gossipsub::PublishError::AllQueuesFull(_)) => Err(PublishError::QueuesFull),
            Err(e) => Err(PublishError::Gossipsub(e.to_string())),
        }
    }

    fn enqueue(&mut self, hash: gossipsub::TopicHash, data: Vec<u8>) {
        let ts = WakuMessage::decode(&data, usize::MAX)
            .ok()
            .and_then(|m| m.timestamp());
        self.pending.entry(hash).or_default().push_back((data, ts));
        self.pending_len += 1;
        self.stats.queued += 1;
    }

    fn flush_topic(&mut self, hash: &gossipsub::TopicHash) -> usize {
        let mut sent = 0;
        let oldest_ok = self
            .validator
            .config()
            .timestamp_window
            .map(|w| now_ns().saturating_sub(i64::try_from(w.as_nanos()).unwrap_or(i64::MAX)));
        while let Some((data, ts)) = self.pending.get_mut(hash).and_then(VecDeque::pop_front) {
            if let (Some(ts), Some(oldest)) = (ts, oldest_ok)
                && ts < oldest
            {
                // Peers would reject (and penalise) it: it waited too long.
                tracing::warn!(topic = %hash, "queued publish expired before any peer appeared");
                self.pending_len -= 1;
                self.stats.expired += 1;
                continue;
            }
            match self
                .swarm
                .behaviour_mut()
                .relay
                .publish(hash.clone(), data.clone())
            {
                Ok(_) => {
                    sent += 1;
                    self.pending_len -= 1;
                    self.stats.published += 1;
                    self.traffic.add_published(data.len());
                    if self.archive.is_some()
                        && let Ok(msg) = WakuMessage::decode(&data, usize::MAX)
                    {
                        self.archive(hash.as_str(), &msg);
                    }
                }
                Err(gossipsub::PublishError::NoPeersSubscribedToTopic) => {
                    if let Some(q) = self.pending.get_mut(hash) {
                        q.push_front((data, ts));
                    }
                    break;
                }
                Err(e) => {
                    // Not retryable (duplicate, queues full after the id was
                    // recorded): drop it and say so.
                    tracing::warn!(error = %e, topic = %hash, "dropping queued publish");
                    self.pending_len -= 1;
                    self.stats.failed_after_queueing += 1;
                }
            }
        }
        if self.pending.get(hash).is_some_and(VecDeque::is_empty) {
            self.pending.remove(hash);
        }
        sent
    }

    fn flush_all(&mut self) -> Vec<Event> {
        let topics: Vec<_> = self.pending.keys().cloned().collect();
        let mut out = Vec::new();
        for t in topics {
            let count = self.flush_topic(&t);
            if count > 0 {
                out.push(Event::Flushed {
                    pubsub_topic: PubsubTopic::from(t.as_str()),
                    count,
                });
            }
        }
        out
    }

    fn check_cluster(&mut self, peer_id: PeerId, theirs: &Metadata, out: &mut Vec<Event>) {
        out.push(Event::Metadata {
            peer_id,
            metadata: theirs.clone(),
        });
        if let (Some(ours), Some(theirs)) = (self.cluster, theirs.cluster_id)
            && u32::from(ours) != theirs
        {
            let disconnected =
                self.disconnect_other_clusters && self.swarm.disconnect_peer_id(peer_id).is_ok();
            out.push(Event::ClusterMismatch {
                peer_id,
                ours: u32::from(ours),
                theirs,
                disconnected,
            });
        }
    }

    fn on_swarm_event(&mut self, ev: SwarmEvent<BehaviourEvent>, out: &mut Vec<Event>) {
        match ev {
            SwarmEvent::ConnectionEstablished {
                peer_id,
                endpoint,
                num_established,
                ..
            } => {
                if num_established.get() == 1 {
                    self.connected.insert(peer_id);
                    let md = self.our_metadata();
                    self.swarm
                        .behaviour_mut()
                        .metadata
                        .send_request(&peer_id, md);
                    out.push(Event::PeerConnected {
                        peer_id,
                        address: endpoint.get_remote_address().clone(),
                    });
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established,
                ..
            } => {
                if num_established == 0 {
                    self.connected.remove(&peer_id);
                    out.push(Event::PeerDisconnected { peer_id });
                }
            }
            SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => {
                out.push(Event::DialFailed {
                    peer_id,
                    error: error.to_string(),
                });
            }
            SwarmEvent::Behaviour(BehaviourEvent::Limits(never)) => match never {},
            SwarmEvent::Behaviour(BehaviourEvent::Relay(ev)) => self.on_relay(ev, out),
            SwarmEvent::Behaviour(BehaviourEvent::Metadata(ev)) => match ev {
                request_response::Event::Message { peer, message, .. } => match message {
                    request_response::Message::Request {
                        request, channel, ..
                    } => {
                        let md = self.our_metadata();
                        let _ = self
                            .swarm
                            .behaviour_mut()
                            .metadata
                            .send_response(channel, md);
                        self.check_cluster(peer, &request, out);
                    }
                    request_response::Message::Response { response, .. } => {
                        self.check_cluster(peer, &response, out);
                    }
                },
                other => tracing::debug!(?other, "metadata"),
            },
            SwarmEvent::Behaviour(BehaviourEvent::Store(ev)) => match ev {
                request_response::Event::Message { message, .. } => match message {
                    request_response::Message::Request {
                        request, channel, ..
                    } => {
                        let response = match &self.archive {
                            Some(a) => a.query(&request),
                            None => StoreResponse {
                                request_id: request.request_id.clone(),
                                status_code: 503,
                                status_desc: "store not served".into(),
                                ..Default::default()
                            },
                        };
                        let _ = self
                            .swarm
                            .behaviour_mut()
                            .store
                            .send_response(channel, response);
                    }
                    request_response::Message::Response {
                        request_id,
                        response,
                    } => {
                        if let Some(reply) = self.store_queries.remove(&request_id) {
                            let _ = reply.send(Ok(response));
                        }
                    }
                },
                request_response::Event::OutboundFailure {
                    request_id, error, ..
                } => {
                    if let Some(reply) = self.store_queries.remove(&request_id) {
                        let _ = reply.send(Err(QueryError::Failed(error.to_string())));
                    }
                }
                other => tracing::debug!(?other, "store"),
            },
            SwarmEvent::Behaviour(BehaviourEvent::Identify(ev)) => {
                tracing::trace!(?ev, "identify");
            }
            SwarmEvent::Behaviour(BehaviourEvent::Ping(_)) => {}
            other => tracing::trace!(?other, "swarm"),
        }
    }

    fn on_relay(&mut self, ev: gossipsub::Event, out: &mut Vec<Event>) {
        match ev {
            gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            } => {
                let topic = PubsubTopic::from(message.topic.as_str());
                let (acceptance, event) = match self.validator.validate(&message.data, now_ns()) {
                    Ok(msg) => {
                        self.archive(message.topic.as_str(), &msg);
                        self.traffic.add_received(message.data.len());
                        (
                            gossipsub::MessageAcceptance::Accept,
                            Event::Message {
                                pubsub_topic: topic,
                                message: msg,
                                source: propagation_source,
                            },
                        )
                    }
                    Err(reason) => (
                        gossipsub::MessageAcceptance::Reject,
                        Event::Rejected {
                            source: propagation_source,
                            pubsub_topic: topic,
                            reason,
                        },
                    ),
                };
                self.swarm
                    .behaviour_mut()
                    .relay
                    .report_message_validation_result(&message_id, &propagation_source, acceptance);
                out.push(event);
            }
            gossipsub::Event::Subscribed { peer_id, topic } => {
                out.push(Event::Subscribed {
                    peer_id,
                    topic: PubsubTopic::from(topic.as_str()),
                });
                let count = self.flush_topic(&topic);
                if count > 0 {
                    out.push(Event::Flushed {
                        pubsub_topic: PubsubTopic::from(topic.as_str()),
                        count,
                    });
                }
            }
            gossipsub::Event::Unsubscribed { peer_id, topic } => out.push(Event::Unsubscribed {
                peer_id,
                topic: PubsubTopic::from(topic.as_str()),
            }),
            gossipsub::Event::SlowPeer {
                peer_id,
                failed_messages,
            } => {
                let dropped = failed_messages.priority + failed_messages.non_priority;
                self.stats.dropped_for_slow_peers += dropped as u64;
                out.push(Event::SlowPeer { peer_id, dropped });
            }
            gossipsub::Event::GossipsubNotSupported { peer_id } => {
                tracing::debug!(%peer_id, "peer does not speak the relay protocol");
            }
        }
    }
}
