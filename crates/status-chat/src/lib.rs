//! The Status 1:1 chat protocol of 55/STATUS-1TO1-CHAT with the payloads of
//! 62/STATUS-PAYLOADS, reliable delivery after 2/MVDS (as status-mvds-usage describes) and
//! the private group chats of 55. Sans-IO: no sockets, no clock, no global RNG; every
//! input carries `now_ms` (unix milliseconds) and an RNG.
//!
//! # Layers of a message
//!
//! ```text
//! Waku message (pubsub topic, content topic, payload)
//!   └ SessionLayer (status-sessions: sealed / negotiated topic, X3DH + double ratchet)
//!       └ MVDS Payload {acks, messages}            reliability::MvdsPayload
//!           └ ApplicationMetadataMessage {signature, payload, type}   payload::seal / open
//!               └ ChatMessage | EditMessage | DeleteMessage | EmojiReaction |
//!                 AcceptContactRequest | RetractContactRequest | MembershipUpdateMessage
//! ```
//!
//! [`Chat`] is the state machine: [`Chat::handle_waku`] takes an incoming Waku message,
//! [`Chat::handle_command`] a user [`Command`], [`Chat::handle_timeout`] the passing of
//! time; each returns an [`Output`] with the Waku messages to publish, the [`Event`]s to
//! show and the [`StoreChange`]s it made to its [`ChatStore`]. The session layer is a
//! trait, [`SessionLayer`]; [`sessions::X3dhSessions`] implements it over
//! status-sessions' multi-device `SessionManager`.
//!
//! - **Contacts** ([`contacts`]): request with an intro text (ChatMessage content type
//!   11), accept (46), decline (local), retract (47), block. Only mutual contacts chat;
//!   messages from strangers other than contact requests are dropped and counted.
//! - **Messages** ([`payload`]): text, replies, edits, deletes and emoji reactions, each in
//!   an Ed25519-signed wrapper (a bad signature is dropped and counted in [`Stats`]); the
//!   message id is SHA-256(sender key || wrapper). Lamport clocks per chat ([`clock`]) and
//!   the order (clock, message id) give both sides the same order.
//! - **Reliability** ([`reliability`]): every message is acknowledged; unacknowledged ones
//!   are sent again after 30 s, doubling up to 10 min, and after 10 sends marked failed;
//!   duplicates are dropped by message id. After being offline, [`Chat::history_queries`]
//!   says which store queries to make.
//! - **Group chats** ([`group`]): signed membership events, 55's admin rules, fan-out over
//!   the pairwise sessions.
//!
//! Peer input never panics: sizes are capped before decoding, every peer-growable
//! collection has a named cap, and the fuzz targets in `fuzz/` (replayed by `cargo test`)
//! check that arbitrary bytes change nothing without a valid signature and session.
//!
//! # Example
//!
//! Alice and Bob, each with real X3DH sessions, become contacts and chat. The Waku network
//! is replaced by handing each output to the other side.
//!
//! ```
//! use rand::SeedableRng;
//! use rand::rngs::ChaCha20Rng;
//! use status_chat::sessions::X3dhSessions;
//! use status_chat::{Chat, ChatConfig, ChatId, ChatStore, Command, ContactState, MemoryStore, WakuOut};
//! use status_identity::IdentityKeyPair;
//! use status_sessions::{Config, DeviceInfo, SessionManager};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut rng = ChaCha20Rng::seed_from_u64(7);
//! let now = 1_700_000_000_000; // unix ms
//!
//! // One user: an identity, its session layer and its chat layer.
//! let mut user = |rng: &mut ChaCha20Rng| -> Result<_, Box<dyn std::error::Error>> {
//!     let id = IdentityKeyPair::generate(rng);
//!     let copy = IdentityKeyPair::from_secret_bytes(&id.to_secret_bytes());
//!     let (manager, changes) =
//!         SessionManager::new(rng, copy, Config::default(), DeviceInfo::default(), now as i64 * 1_000_000)?;
//!     let mut store = status_sessions::MemoryStore::new();
//!     changes.apply(&mut store)?;
//!     Ok((Chat::new(id, ChatConfig::default(), MemoryStore::new()), X3dhSessions::new(manager, store)))
//! };
//! let (mut alice, mut alice_sessions) = user(&mut rng)?;
//! let (mut bob, mut bob_sessions) = user(&mut rng)?;
//! let (a, b) = (*alice.public_key(), *bob.public_key());
//!
//! // Delivers messages to a user and returns what it sends back (acks, replies).
//! fn deliver<L: status_chat::SessionLayer>(
//!     rng: &mut ChaCha20Rng, now: u64, chat: &mut Chat<MemoryStore>, sessions: &mut L, msgs: &[WakuOut],
//! ) -> Vec<WakuOut> {
//!     msgs.iter()
//!         .flat_map(|m| chat.handle_waku(rng, now, sessions, &m.pubsub_topic, &m.content_topic, &m.payload).messages)
//!         .collect()
//! }
//!
//! // Alice adds Bob from his contact code (key and bundle) and asks to be his contact.
//! let bundle = Some(bob_sessions.bundle_bytes());
//! alice.handle_command(&mut rng, now, &mut alice_sessions, Command::AddContact { key: b, bundle })?;
//! let out = alice.handle_command(&mut rng, now, &mut alice_sessions,
//!     Command::SendContactRequest { to: b, intro: "Hi Bob, it's Alice".into() })?;
//! let acks = deliver(&mut rng, now, &mut bob, &mut bob_sessions, &out.messages);
//! deliver(&mut rng, now, &mut alice, &mut alice_sessions, &acks);
//! assert_eq!(bob.store().contact(&a).map(|c| c.state()), Some(ContactState::RequestReceived));
//!
//! // Bob accepts; Alice learns it.
//! let out = bob.handle_command(&mut rng, now + 1, &mut bob_sessions, Command::AcceptContact(a))?;
//! let acks = deliver(&mut rng, now + 1, &mut alice, &mut alice_sessions, &out.messages);
//! deliver(&mut rng, now + 1, &mut bob, &mut bob_sessions, &acks);
//! assert!(alice.store().contact(&b).is_some_and(|c| c.is_mutual()));
//!
//! // Alice writes; Bob's acknowledgement stops her retransmissions.
//! let out = alice.handle_command(&mut rng, now + 2, &mut alice_sessions,
//!     Command::SendText { chat: ChatId::OneToOne(b), text: "Lunch?".into(), reply_to: None })?;
//! let acks = deliver(&mut rng, now + 2, &mut bob, &mut bob_sessions, &out.messages);
//! deliver(&mut rng, now + 2, &mut alice, &mut alice_sessions, &acks);
//! let shown: Vec<String> = bob.messages(&ChatId::OneToOne(a)).into_iter().map(|m| m.text).collect();
//! assert_eq!(shown, ["Hi Bob, it's Alice", "Lunch?"]);
//! assert_eq!(alice.outstanding(), 0);
//! # Ok(())
//! # }
//! ```
//!
//! # Not done here
//!
//! Images, stickers, audio, pinned messages, communities, contact verification, display
//! names and profile updates (`ContactUpdate`), syncing our own other devices (messages
//! from our own identity are counted and ignored), MVDS interactive mode (offers and
//! requests are decoded and ignored), segmentation of large messages. A group member who
//! is not a contact needs its bundle (contact code, or its advert on its contact-code
//! topic) before messages to it can be encrypted; this layer does not fetch it.
//!
//! # Discrepancies with status-go
//!
//! Listed in the project's `docs/deviations.md` ("status-chat"): Ed25519 signatures with
//! a context label instead of recoverable secp256k1 ones (group events carry their
//! author's key), SHA-256 message ids and MVDS group ids over 32-byte keys, reactions sent
//! reliably, decline kept local.

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
    Chat, ChatConfig, Command, CommandError, Decrypted, Event, HISTORY_MARGIN_MS, HistoryQuery,
    MAX_PENDING_REQUESTS, Output, SessionLayer, Stats, WakuOut,
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
