//! The Status 1:1 chat protocol of 55/STATUS-1TO1-CHAT with the payloads of 62, reliable
//! delivery after 2/MVDS and private group chats. Sans-IO.

mod chat;
pub mod clock;
pub mod contacts;
#[doc(hidden)]
pub mod fuzzing;
pub mod group;
pub mod ids;
pub mod payload;
pub mod reliability;
pub mod sessions;
pub mod store;
#[doc(hidden)]
pub mod testing;

pub use chat::{
    Chat, ChatConfig, Command, CommandError, Decrypted, Event, Output, SessionLayer, Stats, WakuOut,
};
pub use contacts::{Contact, ContactState};
pub use group::{GroupChat, GroupEventKind};
pub use ids::{ChatId, GroupId, MessageId};
pub use payload::Emoji;
pub use store::{ChatStore, DeliveryStatus, MemoryStore, StoreChange, StoredMessage};

#[allow(
    missing_docs,
    unreachable_pub,
    dead_code,
    clippy::all,
    clippy::pedantic
)]
pub(crate) mod proto {
    pub mod protobuf {
        include!(concat!(env!("OUT_DIR"), "/protobuf.rs"));
    }
    pub mod mvds {
        include!(concat!(env!("OUT_DIR"), "/mvds.rs"));
    }
}
