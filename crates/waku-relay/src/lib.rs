//! A native Waku v2 relay node on rust-libp2p: the network layer of the stack,
//! usable alone by any Rust program that wants to speak Waku.
//!
//! Specs: 10/WAKU2, 11/WAKU2-RELAY, 14/WAKU2-MESSAGE, 23/WAKU2-TOPICS,
//! RELAY-SHARDING (formerly 51), 66/WAKU2-METADATA and 13/WAKU2-STORE (v3).
//!
//! What is here:
//! - sans-IO parts, testable without a network: [`WakuMessage`] with
//!   validation, the deterministic [`message_hash`] of 14, [`ContentTopic`] and
//!   [`PubsubTopic`] (named and static shards), [`autoshard`] (nwaku's rule) and
//!   the relay [`Validator`] (malformed, oversize, timestamp window; typed
//!   [`RejectReason`]s with counters);
//! - [`Behaviour`]: gossipsub under `/vac/waku/relay/2.0.0` (anonymous
//!   messages, message id = SHA-256 of the data, Waku's parameters), metadata,
//!   store v3, identify and ping, over TCP + Noise + yamux or mplex
//!   ([`behaviour::build_swarm`]); with the `websocket` cargo feature (off by
//!   default), also libp2p's websocket transport (`/ip4/../tcp/N/ws`
//!   addresses in [`Config::listen_addrs`] and dials);
//! - [`Node`]: a tokio task driving the swarm with a handle to publish,
//!   subscribe, dial and query stores, and a bounded stream of [`Event`]s. A
//!   publish before any peer subscribed is queued (bounded by
//!   [`behaviour::DEFAULT_PENDING_PUBLISH_CAP`]) and sent when one appears; a
//!   full queue or a slow event reader pauses the publisher or the node
//!   instead of dropping ([`Node::publish_detached`] pipelines publishes for
//!   high rates and reports failures as events);
//! - [`store::Archive`]: an SQLite archive (retention, paging with cursors,
//!   time and content-topic filters) that a node serves with
//!   [`Config::store`], and a client ([`Node::store_query`]);
//! - byte counters: [`Node::traffic`] reads, without a round trip, the bytes
//!   the node's connections read and wrote (below Noise) and the encoded
//!   sizes of the messages it published and received ([`Traffic`]).
//!
//! Not done here: RLN (17), filter (12), light push (19), discv5 (33), peer
//! exchange (34), secure websocket (`/wss`: no TLS configured). This crate
//! knows nothing of Status; the `status` facade joins it to the protocol
//! crates.
//!
//! # Example
//!
//! Two nodes on loopback; the message is published before the other node is
//! known, waits in the pending queue, and arrives with the same hash:
//!
//! ```
//! use std::time::Duration;
//! use waku_relay::{Config, Event, Node, PubsubTopic, WakuMessage, node::now_ns};
//!
//! # #[tokio::main(flavor = "multi_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let topic = PubsubTopic::shard(16, 32);
//! let (alice, _alice_events) = Node::start(Config::default()).await?;
//! let msg = WakuMessage::new("/my-app/1/chat/proto", b"hello".to_vec())?
//!     .with_timestamp(now_ns());
//! let (hash, _queued) = alice.publish(&topic, &msg).await?;
//!
//! let (bob, mut bob_events) = Node::start(Config::default()).await?;
//! bob.dial(alice.dial_addr().ok_or("not listening")?).await?;
//! loop {
//!     match tokio::time::timeout(Duration::from_secs(30), bob_events.recv()).await? {
//!         Some(Event::Message { pubsub_topic, message, .. }) => {
//!             assert_eq!(message.hash_on(&pubsub_topic), hash);
//!             assert_eq!(message.payload(), b"hello");
//!             break;
//!         }
//!         Some(_) => {}
//!         None => return Err("node stopped".into()),
//!     }
//! }
//! # Ok(())
//! # }
//! ```
//!
//! The `relay-node` example (`cargo run -p waku-relay --example relay-node --
//! --help`) is a node with a line protocol on stdin/stdout; `cargo xtask interop
//! relay` runs it against js-waku.
//!
//! # Discrepancies vs nwaku and js-waku
//!
//! - **Hash without timestamp**: an absent timestamp is hashed as 8 zero bytes
//!   (14 says "interpret as 0"; nwaku and go-waku do this). js-waku's
//!   `@waku/message-hash` leaves the timestamp out when it is absent or 0, so
//!   such messages hash differently there. With a timestamp, hashes match
//!   (checked by the interop).
//! - **Empty payloads are invalid**, as in js-waku's relay validator (14 says
//!   the payload attribute MUST contain the data).
//! - **Timestamp window**: 20 s both ways (configurable,
//!   [`ValidatorConfig::timestamp_window`]); messages without a timestamp are
//!   accepted, as nwaku does. js-waku does not check timestamps.
//! - **Sizes**: one message at most 150 KiB encoded (nwaku's default;
//!   configurable); gossipsub frames up to 1 MiB are read, as js-waku sends.
//! - **Metadata**: requested on every first connection; peers announcing
//!   another cluster are disconnected unless
//!   [`Config::disconnect_other_clusters`] is false (66 allows it; js-waku never
//!   asks and never disconnects). Shards are written unpacked (js-waku
//!   decodes only that form) and read in either form.
//! - **gossipsub**: D 6/4/8 (js-waku uses D_high 12), no peer scoring, peer
//!   queues of [`behaviour::DEFAULT_PEER_QUEUE_CAP`] messages that may wait
//!   [`behaviour::DEFAULT_PEER_QUEUE_TIMEOUT`] (rust-libp2p drops forwards
//!   after 1 s). When every peer queue is full a publish fails with
//!   [`PublishError::QueuesFull`] rather than silently.
//! - **Store**: messages without a timestamp and ephemeral messages are not
//!   archived (13); an unknown cursor is answered with status 400; pages are at
//!   most [`store::MAX_PAGE_SIZE`] (default [`store::DEFAULT_PAGE_SIZE`]).
//! - **Autosharding**: only generation 0 (as nwaku and js-waku).

pub mod behaviour;
mod codec;
#[doc(hidden)]
#[allow(clippy::panic, missing_docs)]
pub mod fuzzing;
pub mod message;
pub mod metadata;
pub mod node;
pub mod store;
pub mod topic;
pub mod transport;
pub mod validator;

pub use behaviour::{Behaviour, BehaviourEvent, BuildError, Config, StoreConfig};
pub use message::{MessageError, MessageHash, WakuMessage, message_hash};
pub use node::{Event, Events, Node, PublishError, PublishOutcome, QueryError, Stats};
pub use topic::{ContentTopic, PubsubTopic, TopicError, autoshard, autoshard_index};
pub use transport::Traffic;
pub use validator::{RejectReason, Validator, ValidatorConfig, ValidatorStats};

#[allow(
    missing_docs,
    unreachable_pub,
    dead_code,
    clippy::all,
    clippy::pedantic
)]
pub(crate) mod proto {
    pub mod waku {
        pub mod message {
            pub mod v1 {
                include!(concat!(env!("OUT_DIR"), "/waku.message.v1.rs"));
            }
        }
        pub mod store {
            pub mod v3 {
                include!(concat!(env!("OUT_DIR"), "/waku.store.v3.rs"));
            }
        }
        pub mod metadata {
            pub mod v1 {
                include!(concat!(env!("OUT_DIR"), "/waku.metadata.v1.rs"));
            }
        }
    }
}
