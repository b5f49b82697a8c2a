//! The libp2p side: [`Config`], the composed [`Behaviour`] and the transport.

use libp2p::{
    Multiaddr, StreamProtocol, Swarm, Transport, connection_limits, core::upgrade, gossipsub,
    identify, identity::Keypair, noise, ping, request_response, swarm::NetworkBehaviour, tcp,
    yamux,
};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::metadata::{self, MetadataCodec};
use crate::store::{self, Retention, StoreCodec};
use crate::topic::PubsubTopic;
use crate::transport::{Counted, TrafficCounters};
use crate::validator::ValidatorConfig;

/// The relay protocol id of 11/WAKU2-RELAY.
pub const RELAY_PROTOCOL: &str = "/vac/waku/relay/2.0.0";

/// Largest gossipsub RPC frame sent or received (js-waku sends up to 1 MiB;
/// single Waku messages are limited separately by the validator).
pub const MAX_TRANSMIT_SIZE: usize = 1024 * 1024;

/// Default cap of messages published before any peer subscribed (or while
/// every peer queue is full), kept per node and flushed when peers appear.
pub const DEFAULT_PENDING_PUBLISH_CAP: usize = 1024;

/// Default cap of queued outgoing gossipsub messages per connection.
pub const DEFAULT_PEER_QUEUE_CAP: usize = 16 * 1024;

/// Default time an outgoing message may wait in a peer queue before gossipsub
/// drops it (its own defaults are 5 s for publishes and 1 s for forwards).
pub const DEFAULT_PEER_QUEUE_TIMEOUT: Duration = Duration::from_secs(60);

/// Default capacity of the node's event channel; a full channel pauses the node
/// (back-pressure) instead of dropping events.
pub const DEFAULT_EVENT_QUEUE_CAP: usize = 4096;

/// Default cap of established connections (in and out) of a node.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 150;
/// Cap of connections per peer.
pub const MAX_CONNECTIONS_PER_PEER: u32 = 2;
/// Cap of incoming connections still being set up.
pub const MAX_PENDING_INCOMING: u32 = 32;

/// Most pubsub topics one remote peer may be subscribed to (a cluster has 1024
/// shards), and most subscriptions in one of its RPCs. An RPC that would take
/// the peer past the cap, or that carries more subscriptions than that, is
/// ignored as a whole (gossipsub's `MaxCountSubscriptionFilter`): none of its
/// subscriptions count, later ones within the cap do.
pub const MAX_TOPICS_PER_PEER: usize = 1024;

/// Largest control part (subscriptions and control messages) of one
/// gossipsub RPC that is read. rust-libp2p's default of 16 KiB is too small
/// for a peer announcing [`MAX_TOPICS_PER_PEER`] static shards at once (about
/// 23 bytes each): such an RPC would fail to decode and be lost with the
/// whole substream. 64 KiB fits the cap with room for long cluster numbers.
pub const MAX_CONTROL_MESSAGE_SIZE: usize = 64 * 1024;

/// The gossipsub behaviour as Waku uses it: per-peer subscription caps.
pub type Relay = gossipsub::Behaviour<
    gossipsub::IdentityTransform,
    gossipsub::MaxCountSubscriptionFilter<gossipsub::AllowAllSubscriptionFilter>,
>;

/// Store server settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreConfig {
    /// SQLite file of the archive; `None` keeps it in memory.
    pub path: Option<PathBuf>,
    /// Retention policy.
    pub retention: Retention,
}

/// Node settings. [`Config::default`] is a loopback relay on an ephemeral port,
/// with Waku's gossipsub parameters.
#[derive(Debug, Clone)]
pub struct Config {
    /// Identity; a fresh Ed25519 key when `None`.
    pub keypair: Option<Keypair>,
    /// Addresses to listen on (TCP; `/tcp/N/ws` too with the `websocket`
    /// feature).
    pub listen_addrs: Vec<Multiaddr>,
    /// Pubsub topics subscribed at start; the first is the default for publishing.
    pub pubsub_topics: Vec<PubsubTopic>,
    /// Cluster id announced by metadata; defaults to the cluster of the first
    /// static-shard topic.
    pub cluster_id: Option<u16>,
    /// Disconnect peers whose metadata names another cluster (66 allows it).
    pub disconnect_other_clusters: bool,
    /// Relay validation settings.
    pub validator: ValidatorConfig,
    /// Serve store v3 from an SQLite archive, if set.
    pub store: Option<StoreConfig>,
    /// See [`DEFAULT_PENDING_PUBLISH_CAP`].
    pub pending_publish_cap: usize,
    /// See [`DEFAULT_PEER_QUEUE_CAP`].
    pub peer_queue_cap: usize,
    /// See [`DEFAULT_PEER_QUEUE_TIMEOUT`].
    pub peer_queue_timeout: Duration,
    /// See [`DEFAULT_EVENT_QUEUE_CAP`].
    pub event_queue_cap: usize,
    /// See [`DEFAULT_MAX_CONNECTIONS`].
    pub max_connections: u32,
    /// Gossipsub heartbeat (Waku: 1 s).
    pub heartbeat_interval: Duration,
    /// Idle connections are closed after this long.
    pub idle_connection_timeout: Duration,
    /// identify agent version.
    pub agent_version: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            keypair: None,
            listen_addrs: vec![loopback_any_port()],
            pubsub_topics: vec![PubsubTopic::shard(16, 32)],
            cluster_id: None,
            disconnect_other_clusters: true,
            validator: ValidatorConfig::default(),
            store: None,
            pending_publish_cap: DEFAULT_PENDING_PUBLISH_CAP,
            peer_queue_cap: DEFAULT_PEER_QUEUE_CAP,
            peer_queue_timeout: DEFAULT_PEER_QUEUE_TIMEOUT,
            event_queue_cap: DEFAULT_EVENT_QUEUE_CAP,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            heartbeat_interval: Duration::from_secs(1),
            idle_connection_timeout: Duration::from_secs(300),
            agent_version: concat!("waku-relay-rs/", env!("CARGO_PKG_VERSION")).into(),
        }
    }
}

impl Config {
    /// The cluster announced in metadata.
    pub fn effective_cluster(&self) -> Option<u16> {
        self.cluster_id.or_else(|| {
            self.pubsub_topics
                .iter()
                .find_map(|t| t.as_shard().map(|(c, _)| c))
        })
    }
}

/// `/ip4/127.0.0.1/tcp/0`.
pub fn loopback_any_port() -> Multiaddr {
    Multiaddr::from(std::net::Ipv4Addr::LOCALHOST).with(libp2p::multiaddr::Protocol::Tcp(0))
}

/// Why a node could not be built or started.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// Invalid gossipsub configuration.
    #[error("gossipsub config: {0}")]
    Gossipsub(String),
    /// Transport setup failed.
    #[error("transport: {0}")]
    Transport(String),
    /// Listening failed.
    #[error("listen: {0}")]
    Listen(String),
    /// The archive could not be opened.
    #[error("store: {0}")]
    Store(#[from] crate::store::StoreError),
}

/// The gossipsub configuration of 11/WAKU2-RELAY with nwaku's parameters:
/// protocol id `/vac/waku/relay/2.0.0` (v1.1), anonymous messages
/// (StrictNoSign), message id = SHA-256(data), D = 6, D_low = 4, D_high = 8,
/// D_lazy = 6, D_out = 3, heartbeat 1 s, seen TTL 2 min, history 6/3, fanout TTL
/// 60 s, flood publish, max transmit size [`MAX_TRANSMIT_SIZE`], control
/// part up to [`MAX_CONTROL_MESSAGE_SIZE`], explicit validation.
pub fn gossipsub_config(config: &Config) -> Result<gossipsub::Config, BuildError> {
    gossipsub::ConfigBuilder::default()
        .protocol_id(RELAY_PROTOCOL, gossipsub::Version::V1_1)
        .validation_mode(gossipsub::ValidationMode::Anonymous)
        .message_id_fn(|m: &gossipsub::Message| {
            use sha2::Digest;
            gossipsub::MessageId::new(&sha2::Sha256::digest(&m.data))
        })
        .mesh_n(6)
        .mesh_n_low(4)
        .mesh_n_high(8)
        .gossip_lazy(6)
        .mesh_outbound_min(3)
        .heartbeat_interval(config.heartbeat_interval)
        .duplicate_cache_time(Duration::from_secs(120))
        .history_length(6)
        .history_gossip(3)
        .fanout_ttl(Duration::from_secs(60))
        .gossip_factor(0.25)
        .prune_backoff(Duration::from_secs(60))
        .flood_publish(true)
        .max_transmit_size(MAX_TRANSMIT_SIZE)
        .max_control_message_size(MAX_CONTROL_MESSAGE_SIZE)
        .validate_messages()
        .connection_handler_queue_len(config.peer_queue_cap)
        .publish_queue_duration(config.peer_queue_timeout)
        .forward_queue_duration(config.peer_queue_timeout)
        .build()
        .map_err(|e| BuildError::Gossipsub(e.to_string()))
}

mod derived {
    #![allow(missing_docs)]
    use super::*;

    /// The Waku protocols, composed: relay (gossipsub), metadata (66), store v3
    /// (13; served only when configured), identify and ping, under connection
    /// limits.
    ///
    /// [`crate::Node`] drives it; a program with its own swarm may embed it and
    /// handle [`BehaviourEvent`]s itself.
    #[derive(NetworkBehaviour)]
    pub struct Behaviour {
        /// Connection caps ([`DEFAULT_MAX_CONNECTIONS`] and friends).
        pub limits: connection_limits::Behaviour,
        /// 11/WAKU2-RELAY.
        pub relay: Relay,
        /// 66/WAKU2-METADATA.
        pub metadata: request_response::Behaviour<MetadataCodec>,
        /// 13/WAKU2-STORE v3.
        pub store: request_response::Behaviour<StoreCodec>,
        /// `/ipfs/id/1.0.0`.
        pub identify: identify::Behaviour,
        /// `/ipfs/ping/1.0.0`.
        pub ping: ping::Behaviour,
    }
}
pub use derived::{Behaviour, BehaviourEvent};

impl Behaviour {
    /// Builds the behaviour for `keypair` with `config`.
    pub fn new(keypair: &Keypair, config: &Config) -> Result<Self, BuildError> {
        let relay = Relay::new_with_subscription_filter(
            gossipsub::MessageAuthenticity::Anonymous,
            gossipsub_config(config)?,
            gossipsub::MaxCountSubscriptionFilter {
                filter: gossipsub::AllowAllSubscriptionFilter {},
                max_subscribed_topics: MAX_TOPICS_PER_PEER,
                max_subscriptions_per_request: MAX_TOPICS_PER_PEER,
            },
        )
        .map_err(|e| BuildError::Gossipsub(e.to_string()))?;
        let rr = request_response::Config::default()
            .with_request_timeout(Duration::from_secs(20))
            .with_max_concurrent_streams(64);
        let metadata = request_response::Behaviour::with_codec(
            MetadataCodec,
            [(metadata::PROTOCOL, request_response::ProtocolSupport::Full)],
            rr.clone(),
        );
        let store_support = if config.store.is_some() {
            request_response::ProtocolSupport::Full
        } else {
            request_response::ProtocolSupport::Outbound
        };
        let store = request_response::Behaviour::with_codec(
            StoreCodec,
            [(store::PROTOCOL, store_support)],
            rr,
        );
        let identify = identify::Behaviour::new(
            identify::Config::new("/vac/waku/2".into(), keypair.public())
                .with_agent_version(config.agent_version.clone()),
        );
        let ping = ping::Behaviour::new(ping::Config::new());
        let limits = connection_limits::Behaviour::new(
            connection_limits::ConnectionLimits::default()
                .with_max_established(Some(config.max_connections))
                .with_max_established_per_peer(Some(MAX_CONNECTIONS_PER_PEER))
                .with_max_pending_incoming(Some(MAX_PENDING_INCOMING)),
        );
        Ok(Self {
            limits,
            relay,
            metadata,
            store,
            identify,
            ping,
        })
    }
}

/// The protocols a Waku node speaks, for display.
pub fn protocols() -> [StreamProtocol; 3] {
    [
        StreamProtocol::new(RELAY_PROTOCOL),
        metadata::PROTOCOL,
        store::PROTOCOL,
    ]
}

/// A tokio swarm with Waku's transport: TCP (nodelay) + Noise + yamux or
/// mplex (stock js-waku offers only mplex), and websocket over TCP next to it
/// with the `websocket` feature. Also used by the benches for the
/// bare-gossipsub baseline, so both run on the same transport. Bytes are
/// counted as in [`build_swarm_counted`] (into counters nobody reads).
pub fn build_swarm<B: NetworkBehaviour>(
    keypair: Keypair,
    idle_connection_timeout: Duration,
    behaviour: impl FnOnce(&Keypair) -> B,
) -> Result<Swarm<B>, BuildError> {
    build_swarm_counted(
        keypair,
        idle_connection_timeout,
        TrafficCounters::new(),
        behaviour,
    )
}

/// [`build_swarm`], counting every byte read and written on its TCP
/// connections (below Noise) into `counters`.
pub fn build_swarm_counted<B: NetworkBehaviour>(
    keypair: Keypair,
    idle_connection_timeout: Duration,
    counters: Arc<TrafficCounters>,
    behaviour: impl FnOnce(&Keypair) -> B,
) -> Result<Swarm<B>, BuildError> {
    let noise = noise::Config::new(&keypair).map_err(|e| BuildError::Transport(e.to_string()))?;
    #[cfg(feature = "websocket")]
    let ws = websocket_transport(&keypair, counters.clone())?;
    let transport = tcp::tokio::Transport::new(tcp::Config::default().nodelay(true))
        .map(move |s, _| Counted::new(s, counters))
        .upgrade(upgrade::Version::V1Lazy)
        .authenticate(noise)
        .multiplex(upgrade::SelectUpgrade::new(
            yamux::Config::default(),
            libp2p_mplex::Config::default(),
        ));
    let builder = libp2p::SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_other_transport(|_| transport)
        .map_err(|e| BuildError::Transport(e.to_string()))?;
    #[cfg(feature = "websocket")]
    let builder = builder
        .with_other_transport(|_| ws)
        .map_err(|e| BuildError::Transport(e.to_string()))?;
    Ok(builder
        .with_behaviour(behaviour)
        .map_err(|e| BuildError::Transport(e.to_string()))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(idle_connection_timeout))
        .build())
}

/// libp2p's websocket transport over TCP (`/ip4/../tcp/N/ws`), with the same
/// security, multiplexers and byte counting as the TCP transport.
#[cfg(feature = "websocket")]
fn websocket_transport(
    keypair: &Keypair,
    counters: Arc<TrafficCounters>,
) -> Result<
    libp2p::core::transport::Boxed<(libp2p::PeerId, libp2p::core::muxing::StreamMuxerBox)>,
    BuildError,
> {
    let noise = noise::Config::new(keypair).map_err(|e| BuildError::Transport(e.to_string()))?;
    let tcp = tcp::tokio::Transport::new(tcp::Config::default().nodelay(true))
        .map(move |s, _| Counted::new(s, counters));
    Ok(libp2p_websocket::Config::new(tcp)
        .upgrade(upgrade::Version::V1Lazy)
        .authenticate(noise)
        .multiplex(upgrade::SelectUpgrade::new(
            yamux::Config::default(),
            libp2p_mplex::Config::default(),
        ))
        .map(|(peer, muxer), _| (peer, libp2p::core::muxing::StreamMuxerBox::new(muxer)))
        .boxed())
}
