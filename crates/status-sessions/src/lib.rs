//! Multi-device sessions of 54/WAKU2-X3DH-SESSIONS, Noise sessions of 37, and the topics
//! and Waku payloads that carry them. Sans-IO, with store traits.

mod codec;
#[doc(hidden)]
pub mod fuzzing;
pub mod link;
pub mod manager;
pub mod payload;
pub mod store;
pub mod topics;
mod wire;

pub use codec::RecordError;
pub use link::{DeviceLink, LinkError, SyncOutcome, noise_static_key};
pub use manager::{
    Config, DecryptError, DeviceInfo, EncryptError, Event, Incoming, InstallationError,
    InstallationInfo, Outgoing, OutgoingMessage, Received, RestoreError, SessionManager,
    UndecryptableReason,
};
pub use status_x3dh::InstallationId;
pub use store::{Change, InstallationStore, MemoryStore, SessionKey, SessionStore, StoreChanges};
pub use topics::{ContentTopic, Negotiated, TopicConfig, TopicKind};

#[allow(
    missing_docs,
    unreachable_pub,
    dead_code,
    clippy::all,
    clippy::pedantic
)]
pub(crate) mod proto {
    include!(concat!(env!("OUT_DIR"), "/encryption.rs"));
}
