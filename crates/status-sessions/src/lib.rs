//! Multi-device sessions of 54/WAKU2-X3DH-SESSIONS, the Noise device links of
//! 37/WAKU2-NOISE-SESSIONS (set up by a 43/WAKU2-DEVICE-PAIRING pairing), and the topics
//! (23/WAKU2-TOPICS) and Waku payloads (26/WAKU2-PAYLOAD, DESIGN.md rules 9 and 10) that
//! carry them, for the Status 1:1 chat protocol with the 25519 suite of this project.
//!
//! A person has several devices (installations); a 1:1 chat is a set of double-ratchet
//! sessions between every device of one person and every device of the other, plus their
//! own other devices. [`SessionManager`] runs on one device and manages all of them:
//!
//! - **Installations** ([`manager`]): a random id per device, made once; an optional name
//!   and device type; enabled or disabled. Our bundle lists the signed prekeys of our
//!   enabled installations, at most [`Config::max_installations`] (3); enabling a fourth
//!   fails with [`InstallationError::TooManyInstallations`]. The signed prekey is rotated
//!   every 24 h and old ones answer late first messages for a grace period.
//! - **Sessions** keyed by (peer identity, peer installation, bundle id), created from a
//!   verified bundle (initiator) or from an incoming X3DH message (responder), with
//!   `status-x3dh`. [`SessionManager::encrypt`] makes one `ProtocolMessage` with an entry
//!   per enabled installation of the peer, and one for our other installations; our bundle
//!   is attached. Installations are learned from the bundles in incoming messages; an
//!   installation that stops answering is disabled.
//! - **Recovery**: a message this device cannot decrypt is reported
//!   ([`Event::Undecryptable`]) and answered, rate-limited, by a new session from the
//!   sender's current bundle ([`Event::RecoveryStarted`]); nothing is dropped silently.
//! - **Topics** ([`topics`]): the contact-code topic per identity, the partitioned topic
//!   (first contact) and the negotiated topic per pair of identities, as content topics
//!   `/status-rs/1/{name}/proto` on a configurable pubsub topic (default
//!   `/waku/2/rs/16/32`). **Payloads** ([`payload`]): sealed to the recipient's identity on
//!   the partitioned topic, AES-256-GCM with the negotiated key on the negotiated topic.
//! - **Device links** ([`link`]): a Noise session between two devices of the same person
//!   after a 43 pairing, used to sync the installation list and the contacts' bundles.
//! - **Persistence** ([`store`]): every operation returns [`StoreChanges`] that the caller
//!   writes (through the [`SessionStore`] / [`InstallationStore`] traits; [`MemoryStore`]
//!   is in memory) **before** sending the produced messages, so a crash never leaves a
//!   ratchet behind a sent message. Records are versioned binary; [`SessionManager::restore`]
//!   reads them back.
//!
//! Sans-IO: randomness (`&mut R where R: rand_core::CryptoRng`) and time (`now`, unix
//! nanoseconds) are arguments; bytes in, bytes and events out.
//!
//! What it does not do: publish or subscribe (the caller moves [`OutgoingMessage`]s and
//! subscribes to [`SessionManager::subscriptions`]); application messages, signatures and
//! retransmission (status-chat); status-go's secp256k1 suite, its `/waku/1/…/rfc26` topics
//! and the DH fallback without a bundle. Deviations from the specs are listed in
//! `docs/deviations.md` ("status-sessions").
//!
//! # Example
//!
//! ```
//! use rand::SeedableRng;
//! use status_identity::IdentityKeyPair;
//! use status_sessions::{Config, DeviceInfo, MemoryStore, SessionManager};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut rng = rand::rngs::ChaCha20Rng::seed_from_u64(1);
//! let now = 1_750_000_000_000_000_000_i64; // unix nanoseconds, from the caller
//!
//! let alice_identity = IdentityKeyPair::generate(&mut rng);
//! let (mut alice, changes) =
//!     SessionManager::new(&mut rng, alice_identity, Config::default(), DeviceInfo::default(), now)?;
//! let mut alice_store = MemoryStore::new();
//! changes.apply(&mut alice_store)?;
//! let bob_secret = [2u8; 32]; // kept by the account layer
//! let (mut bob, changes) = SessionManager::new(
//!     &mut rng, IdentityKeyPair::from_secret_bytes(&bob_secret), Config::default(),
//!     DeviceInfo::default(), now)?;
//! let mut bob_store = MemoryStore::new();
//! changes.apply(&mut bob_store)?;
//!
//! // Alice got Bob's bundle out of band (contact code) and writes first: the message is
//! // sealed to Bob on his partitioned topic.
//! alice.add_bundle(now, &bob.bundle().encode())?.changes.apply(&mut alice_store)?;
//! let out = alice.encrypt(&mut rng, now, bob.identity(), b"hello Bob")?;
//! out.changes.apply(&mut alice_store)?; // persist first, then publish
//! let msg = &out.messages[0];
//! assert!(bob.subscriptions().contains(&msg.content_topic));
//!
//! let incoming = bob.decrypt(&mut rng, now, &msg.content_topic, &msg.payload)?;
//! incoming.changes.apply(&mut bob_store)?;
//! let received = incoming.message.expect("a message for this device");
//! assert_eq!(received.sender, *alice.identity());
//! assert_eq!(received.plaintext.as_slice(), b"hello Bob");
//!
//! // Bob answers on the negotiated topic, which Alice subscribes to.
//! let out = bob.encrypt(&mut rng, now, alice.identity(), b"hi Alice")?;
//! out.changes.apply(&mut bob_store)?;
//! let msg = &out.messages[0];
//! assert_eq!(Some(&msg.content_topic), alice.negotiated_topic(bob.identity()));
//! let incoming = alice.decrypt(&mut rng, now, &msg.content_topic, &msg.payload)?;
//! assert_eq!(incoming.message.expect("reply").plaintext.as_slice(), b"hi Alice");
//!
//! incoming.changes.apply(&mut alice_store)?;
//!
//! // Bob's device restarts from its store and goes on.
//! let mut bob = SessionManager::restore(
//!     IdentityKeyPair::from_secret_bytes(&bob_secret), Config::default(), &bob_store, now)?;
//! let out = bob.encrypt(&mut rng, now, alice.identity(), b"still here")?;
//! let msg = &out.messages[0];
//! let incoming = alice.decrypt(&mut rng, now, &msg.content_topic, &msg.payload)?;
//! assert_eq!(incoming.message.expect("message").plaintext.as_slice(), b"still here");
//! # Ok(())
//! # }
//! ```

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
