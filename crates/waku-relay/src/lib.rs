//! A native Waku v2 relay node on rust-libp2p gossipsub.
//!
//! Specs: 10/WAKU2, 11/WAKU2-RELAY, 14/WAKU2-MESSAGE, 23/WAKU2-TOPICS,
//! 51/WAKU2-RELAY-SHARDING, 66/WAKU2-METADATA and 13/WAKU2-STORE (v3).
//!
//! Not done here: RLN (17), filter (12), light push (19), discv5 (33), peer exchange (34).
//! This crate knows nothing of Status; the `status` facade joins it to the protocol crates.

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
pub mod validator;

pub use behaviour::{Behaviour, BehaviourEvent, BuildError, Config, StoreConfig};
pub use message::{MessageError, MessageHash, WakuMessage, message_hash};
pub use node::{Event, Events, Node, PublishError, PublishOutcome, QueryError, Stats};
pub use topic::{ContentTopic, PubsubTopic, TopicError, autoshard, autoshard_index};
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
