//! The multi-device session manager of 54.
//!
//! One [`SessionManager`] runs on each device (installation). It keeps:
//!
//! - this device's installation id (random, made once), its signed prekey (rotated every
//!   [`Config::prekey_rotation_ns`], old ones kept [`Config::prekey_grace_ns`] so late first
//!   messages still decrypt) and the bundle it publishes: the signed prekeys of every
//!   *enabled* installation of its identity, at most [`Config::max_installations`];
//! - per peer identity (and per our own identity, for our other devices) the installations
//!   learned from verified bundles, enabled or disabled, and the double-ratchet sessions
//!   with each, keyed by (identity, installation, bundle id);
//! - the negotiated topic and key of each peer (DESIGN.md rule 9).
//!
//! [`SessionManager::encrypt`] turns one plaintext into one `ProtocolMessage` for the
//! peer's enabled installations (on the peer's negotiated topic once we have heard from the
//! peer, before that sealed on its partitioned topic) and, if we have other enabled
//! installations, one `ProtocolMessage` for them on our **self topic** (the negotiated
//! topic of our identity with itself): a sealed partitioned message can only be read by
//! the peer, so our own copies travel separately. Our bundle is attached to every message.
//!
//! [`SessionManager::decrypt`] takes a Waku payload and its content topic and returns the
//! plaintext with the sender's identity and installation, after learning the bundles it
//! carries. A message this device cannot decrypt (lost or stale state, unknown session,
//! expired prekey) is reported as [`Event::Undecryptable`] and, at most once per
//! [`Config::recovery_interval_ns`] per peer installation, answered by a new X3DH session
//! from the peer's current bundle carrying an empty control message
//! ([`Event::RecoveryStarted`]); a message for other installations of our identity only
//! (54 "partitioned devices") is answered the same way so the sender learns this device.
//! Empty plaintexts are reserved for these control messages.
//!
//! Every operation returns [`StoreChanges`] to persist before its messages are sent.

use std::collections::{BTreeMap, VecDeque};

use prost::Message as _;
use rand_core::CryptoRng;
use status_identity::{IdentityKeyPair, IdentityPublicKey};
use status_x3dh::{
    Bundle, BundleError, BundlePolicy, EncryptedMessage, InstallationId, Session, SignedPreKeyPair,
    VerifiedBundle,
};
use zeroize::Zeroizing;

use crate::codec::{Reader, RecordError, Writer};
use crate::payload::{self, PayloadError};
use crate::store::{Change, SessionKey, SessionStore, StoreChanges};
use crate::topics::{self, ContentTopic, Negotiated, TopicConfig, TopicKind};
use crate::wire::{MAX_PROTOCOL_MESSAGE_BYTES, RawProtocolMessage};

/// Default maximum number of installations per identity (54: `n`, default 3).
pub const DEFAULT_MAX_INSTALLATIONS: usize = 3;
/// Default signed-prekey rotation interval: 24 hours.
pub const DEFAULT_PREKEY_ROTATION_NS: u64 = 24 * 3600 * 1_000_000_000;
/// Default grace period a retired prekey still answers first messages: 30 days (the
/// default maximum bundle age of status-x3dh, so any bundle a peer may still use works).
pub const DEFAULT_PREKEY_GRACE_NS: u64 = 30 * 24 * 3600 * 1_000_000_000;
/// Default minimum time between two recoveries with the same peer installation: 10 minutes.
pub const DEFAULT_RECOVERY_INTERVAL_NS: u64 = 10 * 60 * 1_000_000_000;
/// Default number of messages sent to a peer installation without an answer after which
/// (together with [`DEFAULT_SILENCE_TIMEOUT_NS`]) it is disabled.
pub const DEFAULT_SILENCE_AFTER_MESSAGES: u32 = 100;
/// Default time without an answer after which a peer installation that keeps receiving
/// is disabled: 30 days.
pub const DEFAULT_SILENCE_TIMEOUT_NS: u64 = 30 * 24 * 3600 * 1_000_000_000;

/// Most peer identities kept; beyond it the least recently active peer is evicted.
pub const MAX_PEERS: usize = 4096;
/// Most installations kept per identity (enabled or not); beyond it the least recently
/// active is evicted.
pub const MAX_INSTALLATIONS_PER_PEER: usize = 8;
/// Most sessions kept per peer installation (concurrent starts, recoveries); the least
/// recently used is evicted.
pub const MAX_SESSIONS_PER_INSTALLATION: usize = 3;
/// Most retired signed prekeys kept.
pub const MAX_RETIRED_PREKEYS: usize = 32;
/// Most bundles looked at in one `ProtocolMessage`; the rest are ignored.
pub const MAX_BUNDLES_PER_MESSAGE: usize = 4;
/// X3DH ephemeral keys remembered per peer installation to refuse replayed first messages.
pub const MAX_SEEN_EPHEMERALS: usize = 8;
/// Longest installation name or device type kept, in bytes.
pub const MAX_NAME_BYTES: usize = 128;

const DEVICE_RECORD_VERSION: u8 = 1;
const PEER_RECORD_VERSION: u8 = 1;

/// Tunables of a [`SessionManager`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// Most enabled installations per identity (ours included), and in our bundle.
    pub max_installations: usize,
    /// Signed-prekey rotation interval, nanoseconds.
    pub prekey_rotation_ns: u64,
    /// How long a retired signed prekey still answers first messages, nanoseconds.
    pub prekey_grace_ns: u64,
    /// Minimum time between two recoveries with one peer installation, nanoseconds.
    pub recovery_interval_ns: u64,
    /// Unanswered messages after which a silent peer installation may be disabled.
    pub silence_after_messages: u32,
    /// Silence after which a peer installation that keeps receiving is disabled.
    pub silence_timeout_ns: u64,
    /// Bundle verification policy (its `max_installations` is overridden by ours).
    pub bundle_policy: BundlePolicy,
    /// Where topics are published.
    pub topics: TopicConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_installations: DEFAULT_MAX_INSTALLATIONS,
            prekey_rotation_ns: DEFAULT_PREKEY_ROTATION_NS,
            prekey_grace_ns: DEFAULT_PREKEY_GRACE_NS,
            recovery_interval_ns: DEFAULT_RECOVERY_INTERVAL_NS,
            silence_after_messages: DEFAULT_SILENCE_AFTER_MESSAGES,
            silence_timeout_ns: DEFAULT_SILENCE_TIMEOUT_NS,
            bundle_policy: BundlePolicy::default(),
            topics: TopicConfig::default(),
        }
    }
}

impl Config {
    fn policy(&self) -> BundlePolicy {
        let mut policy = self.bundle_policy;
        policy.max_installations = self.max_installations;
        policy
    }
}

/// Optional description of an installation, shown to the user when pairing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceInfo {
    /// A name, e.g. "Alice's laptop" (at most [`MAX_NAME_BYTES`]).
    pub name: Option<String>,
    /// A device type, e.g. "desktop" (at most [`MAX_NAME_BYTES`]).
    pub device_type: Option<String>,
}

impl DeviceInfo {
    fn capped(self) -> Self {
        fn cap(s: Option<String>) -> Option<String> {
            s.map(|mut s| {
                if s.len() > MAX_NAME_BYTES {
                    let mut end = MAX_NAME_BYTES;
                    while !s.is_char_boundary(end) {
                        end -= 1;
                    }
                    s.truncate(end);
                }
                s
            })
        }
        DeviceInfo {
            name: cap(self.name),
            device_type: cap(self.device_type),
        }
    }
}

/// What is known about one installation of an identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallationInfo {
    /// The installation id.
    pub id: InstallationId,
    /// Its description, if known.
    pub info: DeviceInfo,
    /// Whether messages are sent to it.
    pub enabled: bool,
    /// When a message from it was last decrypted, unix nanoseconds.
    pub last_received_ns: Option<i64>,
    /// Number of sessions held with it.
    pub sessions: usize,
}

/// A Waku message to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    /// The pubsub topic.
    pub pubsub_topic: String,
    /// The content topic.
    pub content_topic: ContentTopic,
    /// The WakuMessage payload.
    pub payload: Vec<u8>,
    /// Whom the message is for: the peer, or our own other installations.
    pub recipient: IdentityPublicKey,
}

/// Something the layer above should know.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A peer installation was learned from a verified bundle.
    NewInstallation {
        /// The identity.
        identity: IdentityPublicKey,
        /// The installation.
        installation: InstallationId,
        /// Whether it was enabled (false when the identity already has the maximum).
        enabled: bool,
    },
    /// Another installation of our own identity was seen; it is disabled until
    /// [`SessionManager::set_enabled`] pairs it.
    OwnInstallationDiscovered {
        /// The installation.
        installation: InstallationId,
    },
    /// A message from this peer installation could not be decrypted.
    Undecryptable {
        /// The sender.
        identity: IdentityPublicKey,
        /// The sending installation.
        installation: InstallationId,
        /// Why.
        reason: UndecryptableReason,
    },
    /// A new session was started with this installation to recover (a control message
    /// is among the outgoing messages).
    RecoveryStarted {
        /// The peer.
        identity: IdentityPublicKey,
        /// The installation.
        installation: InstallationId,
    },
    /// Recovery was needed but was done less than [`Config::recovery_interval_ns`] ago.
    RecoveryRateLimited {
        /// The peer.
        identity: IdentityPublicKey,
        /// The installation.
        installation: InstallationId,
    },
    /// Recovery was needed but no bundle of that installation is known.
    RecoveryImpossible {
        /// The peer.
        identity: IdentityPublicKey,
        /// The installation.
        installation: InstallationId,
    },
    /// A peer installation that stopped answering was disabled.
    InstallationDisabled {
        /// The identity.
        identity: IdentityPublicKey,
        /// The installation.
        installation: InstallationId,
    },
    /// A bundle carried by a message did not verify and was ignored.
    InvalidBundle(BundleError),
    /// Our signed prekey was rotated and our bundle re-signed.
    PreKeyRotated {
        /// The new prekey version.
        version: u32,
    },
}

/// Why a message could not be decrypted (it is then recovered, not dropped silently).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum UndecryptableReason {
    /// No session with that bundle id and no X3DH header: our state was lost.
    NoSession,
    /// The session exists but the message did not authenticate (stale state).
    SessionFailed(status_x3dh::DecryptError),
    /// The X3DH header names a signed prekey we no longer (or never) had.
    UnknownPreKey,
    /// An X3DH first message came without a verified bundle of its sender.
    MissingBundle,
    /// X3DH failed (non-contributory keys, or the first message did not decrypt).
    X3dhFailed,
}

/// A decrypted message.
#[derive(Clone)]
pub struct Received {
    /// The sender's identity (our own for a message from our other installations).
    pub sender: IdentityPublicKey,
    /// The sending installation.
    pub installation: InstallationId,
    /// The plaintext.
    pub plaintext: Zeroizing<Vec<u8>>,
}

impl core::fmt::Debug for Received {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Received")
            .field("sender", &self.sender)
            .field("installation", &self.installation)
            .field("plaintext_len", &self.plaintext.len())
            .finish()
    }
}

/// The result of [`SessionManager::encrypt`].
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// The Waku messages to publish, **after** `changes` are persisted.
    pub messages: Vec<OutgoingMessage>,
    /// What to persist first.
    pub changes: StoreChanges,
    /// What happened.
    pub events: Vec<Event>,
}

/// The result of [`SessionManager::decrypt`].
#[derive(Debug, Clone)]
pub struct Incoming {
    /// The decrypted message, if the payload held one for this device (control messages,
    /// bundle adverts and messages for other installations hold none).
    pub message: Option<Received>,
    /// What to persist.
    pub changes: StoreChanges,
    /// What happened (undecryptable messages, recoveries, new installations …).
    pub events: Vec<Event>,
    /// Waku messages to publish after `changes` are persisted (recovery control messages).
    pub messages: Vec<OutgoingMessage>,
}

/// Why [`SessionManager::encrypt`] failed. Nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncryptError {
    /// Empty plaintexts are reserved for control messages.
    #[error("empty plaintext")]
    EmptyPlaintext,
    /// No bundle of the recipient is known: add one first.
    #[error("no installation of the recipient is known")]
    NoInstallations,
    /// The message does not fit in a Waku payload.
    #[error(transparent)]
    Payload(#[from] PayloadError),
}

/// Why [`SessionManager::decrypt`] rejected a payload. Nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecryptError {
    /// The content topic is none of ours.
    #[error("unknown content topic")]
    UnknownTopic,
    /// The Waku payload did not open (not for us, or tampered).
    #[error(transparent)]
    Payload(#[from] PayloadError),
    /// The `ProtocolMessage` is malformed.
    #[error("malformed ProtocolMessage")]
    Malformed,
    /// The sender installation id is empty or too long.
    #[error("bad sender installation id")]
    BadInstallationId,
    /// The sender cannot be identified (no bundle, no known installation).
    #[error("unknown sender")]
    UnknownSender,
    /// The entry for this device is not a valid `EncryptedMessageProtocol`.
    #[error("malformed encrypted message: {0}")]
    MalformedEntry(status_x3dh::MessageDecodeError),
    /// The message was already decrypted (replay or duplicate delivery).
    #[error("duplicate message")]
    Duplicate,
}

/// Why an installation could not be enabled or disabled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InstallationError {
    /// Enabling it would pass [`Config::max_installations`].
    #[error("at most {max} installations may be enabled")]
    TooManyInstallations {
        /// The maximum.
        max: usize,
    },
    /// No such installation is known.
    #[error("unknown installation")]
    Unknown,
    /// This device's own installation cannot be disabled.
    #[error("this device's installation cannot be disabled")]
    ThisDevice,
}

/// Why a manager could not be restored from a store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RestoreError<E: core::error::Error> {
    /// The store failed.
    #[error("store: {0}")]
    Store(E),
    /// The store holds no device record.
    #[error("no device record")]
    NoDevice,
    /// A record is malformed.
    #[error("record: {0}")]
    Record(#[from] RecordError),
    /// A session state is malformed.
    #[error("session state: {0}")]
    Session(status_x3dh::StateError),
    /// Our own bundle could not be signed.
    #[error("bundle: {0}")]
    Bundle(BundleError),
}

type Opened = (Zeroizing<Vec<u8>>, Option<IdentityPublicKey>, bool);

struct RetiredPreKey {
    pair: SignedPreKeyPair,
    retired_ns: i64,
}

struct Device {
    installation: InstallationId,
    info: DeviceInfo,
    prekey: SignedPreKeyPair,
    prekey_created_ns: i64,
    retired: VecDeque<RetiredPreKey>,
    bundle_ts: i64,
}

struct PeerInstallation {
    enabled: bool,
    info: DeviceInfo,
    /// The newest verified bundle that lists this installation.
    bundle: Option<VerifiedBundle>,
    last_active_ns: i64,
    last_received_ns: Option<i64>,
    unanswered: u32,
    last_recovery_ns: Option<i64>,
    /// Bundle ids of the sessions held, most recently used first (the first sends).
    sessions: Vec<[u8; 32]>,
    /// X3DH ephemeral keys of first messages answered, newest first (replay guard).
    seen_ephemerals: Vec<[u8; 32]>,
}

impl PeerInstallation {
    fn new(now: i64) -> Self {
        PeerInstallation {
            enabled: false,
            info: DeviceInfo::default(),
            bundle: None,
            last_active_ns: now,
            last_received_ns: None,
            unanswered: 0,
            last_recovery_ns: None,
            sessions: Vec::new(),
            seen_ephemerals: Vec::new(),
        }
    }
}

struct Peer {
    installations: BTreeMap<InstallationId, PeerInstallation>,
    heard_from: bool,
    last_active_ns: i64,
    negotiated: Negotiated,
}

/// The sessions of one device with every installation of its peers and of its own
/// identity. See the [module documentation](self).
pub struct SessionManager {
    identity: IdentityKeyPair,
    config: Config,
    device: Device,
    bundle: VerifiedBundle,
    peers: BTreeMap<IdentityPublicKey, Peer>,
    topics: BTreeMap<ContentTopic, IdentityPublicKey>,
    sessions: BTreeMap<SessionKey, Session>,
}

impl core::fmt::Debug for SessionManager {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SessionManager")
            .field("identity", self.identity.public_key())
            .field("installation", &self.device.installation)
            .field("peers", &self.peers.len())
            .field("sessions", &self.sessions.len())
            .finish_non_exhaustive()
    }
}

/// A random installation id: a UUID version 4 string, as status-go uses.
pub fn random_installation_id<R: CryptoRng + ?Sized>(
    rng: &mut R,
) -> Result<InstallationId, status_x3dh::InstallationIdTooLong> {
    let mut b = [0u8; 16];
    rng.fill_bytes(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    InstallationId::new(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    ))
}

fn record_peer(changes: &mut StoreChanges, identity: &IdentityPublicKey, peer: &Peer) {
    changes.push(Change::Peer {
        identity: *identity,
        record: encode_peer(peer).to_vec(),
    });
}

impl SessionManager {
    /// Sets up a new device for `identity`: a random installation id, a first signed
    /// prekey and a bundle. Persist the returned changes.
    pub fn new<R: CryptoRng + ?Sized>(
        rng: &mut R,
        identity: IdentityKeyPair,
        config: Config,
        info: DeviceInfo,
        now: i64,
    ) -> Result<(Self, StoreChanges), BundleError> {
        let installation =
            random_installation_id(rng).map_err(|e| BundleError::InstallationIdTooLong(e.0))?;
        Self::with_installation(rng, identity, config, installation, info, now)
    }

    /// Like [`SessionManager::new`] with a given installation id (for tests and for
    /// importing an existing device).
    pub fn with_installation<R: CryptoRng + ?Sized>(
        rng: &mut R,
        identity: IdentityKeyPair,
        config: Config,
        installation: InstallationId,
        info: DeviceInfo,
        now: i64,
    ) -> Result<(Self, StoreChanges), BundleError> {
        let device = Device {
            installation: installation.clone(),
            info: info.capped(),
            prekey: SignedPreKeyPair::generate(rng, 1),
            prekey_created_ns: now,
            retired: VecDeque::new(),
            bundle_ts: now,
        };
        let bundle = VerifiedBundle::sign(
            &identity,
            [(installation, device.prekey.public())],
            device.bundle_ts,
        )?;
        let mut manager = SessionManager {
            identity,
            config,
            device,
            bundle,
            peers: BTreeMap::new(),
            topics: BTreeMap::new(),
            sessions: BTreeMap::new(),
        };
        let own = *manager.identity.public_key();
        manager.ensure_peer(&own, now);
        let mut changes = StoreChanges::new();
        changes.push(Change::Device(encode_device(&manager.device)));
        if let Some(peer) = manager.peers.get(&own) {
            record_peer(&mut changes, &own, peer);
        }
        Ok((manager, changes))
    }

    /// Rebuilds a manager from what a store holds. `now` is used to re-verify stored
    /// bundles (their age is not checked again).
    pub fn restore<S: SessionStore + ?Sized>(
        identity: IdentityKeyPair,
        config: Config,
        store: &S,
        now: i64,
    ) -> Result<Self, RestoreError<S::Error>> {
        let device_record = store
            .load_device()
            .map_err(RestoreError::Store)?
            .ok_or(RestoreError::NoDevice)?;
        let device = decode_device(&device_record)?;
        let mut policy = config.policy();
        policy.max_age_ns = u64::MAX;
        policy.max_clock_skew_ns = u64::MAX;
        let mut peers = BTreeMap::new();
        let mut topics = BTreeMap::new();
        for (id, record) in store.load_peers().map_err(RestoreError::Store)? {
            let negotiated = Negotiated::derive(&identity, &id)
                .map_err(|_| RecordError::Invalid("peer identity"))?;
            let peer = decode_peer(&record, negotiated, &id, &policy, now)?;
            topics.insert(peer.negotiated.topic().clone(), id);
            peers.insert(id, peer);
        }
        let mut sessions = BTreeMap::new();
        for (key, state) in store.load_sessions().map_err(RestoreError::Store)? {
            let session = Session::from_bytes(&state).map_err(RestoreError::Session)?;
            sessions.insert(key, session);
        }
        // A session list entry without a stored session is dropped.
        for (id, peer) in &mut peers {
            for (inst_id, inst) in &mut peer.installations {
                inst.sessions.retain(|bundle_id| {
                    sessions.contains_key(&SessionKey {
                        peer: *id,
                        installation: inst_id.clone(),
                        bundle_id: *bundle_id,
                    })
                });
            }
        }
        let placeholder = VerifiedBundle::sign(
            &identity,
            [(device.installation.clone(), device.prekey.public())],
            device.bundle_ts,
        )
        .map_err(RestoreError::Bundle)?;
        let mut manager = SessionManager {
            identity,
            config,
            device,
            bundle: placeholder,
            peers,
            topics,
            sessions,
        };
        let own = *manager.identity.public_key();
        manager.ensure_peer(&own, now);
        manager.bundle = manager.sign_bundle().map_err(RestoreError::Bundle)?;
        Ok(manager)
    }

    /// Our identity's public key.
    pub fn identity(&self) -> &IdentityPublicKey {
        self.identity.public_key()
    }

    /// This device's installation id.
    pub fn installation_id(&self) -> &InstallationId {
        &self.device.installation
    }

    /// This device's description.
    pub fn device_info(&self) -> &DeviceInfo {
        &self.device.info
    }

    /// Our current bundle (this device's prekey and those of our other enabled
    /// installations).
    pub fn bundle(&self) -> &VerifiedBundle {
        &self.bundle
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The content topics this device must subscribe to: its partitioned topic, its
    /// contact-code topic (adverts of its other installations), its self topic and the
    /// negotiated topic of every known peer.
    pub fn subscriptions(&self) -> Vec<ContentTopic> {
        let own = self.identity.public_key();
        let mut out = vec![
            topics::partitioned_topic(own),
            topics::contact_code_topic(own),
        ];
        out.extend(self.topics.keys().cloned());
        out
    }

    /// The pubsub topic everything is published on.
    pub fn pubsub_topic(&self) -> &str {
        &self.config.topics.pubsub_topic
    }

    /// The negotiated topic shared with `peer` (our self topic for our own identity).
    pub fn negotiated_topic(&self, peer: &IdentityPublicKey) -> Option<&ContentTopic> {
        self.peers.get(peer).map(|p| p.negotiated.topic())
    }

    /// The installations known for `identity` (ours: our other installations).
    pub fn installations(&self, identity: &IdentityPublicKey) -> Vec<InstallationInfo> {
        let Some(peer) = self.peers.get(identity) else {
            return Vec::new();
        };
        peer.installations
            .iter()
            .map(|(id, inst)| InstallationInfo {
                id: id.clone(),
                info: inst.info.clone(),
                enabled: inst.enabled,
                last_received_ns: inst.last_received_ns,
                sessions: inst.sessions.len(),
            })
            .collect()
    }

    /// The known peer identities (our own excluded).
    pub fn peers(&self) -> Vec<IdentityPublicKey> {
        let own = self.identity.public_key();
        self.peers.keys().filter(|k| *k != own).copied().collect()
    }

    /// Number of sessions held.
    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    /// A Waku message advertising our bundle on our contact-code topic (54: publish it
    /// periodically and when it changes).
    pub fn bundle_advert(&self) -> Result<OutgoingMessage, PayloadError> {
        let message = RawProtocolMessage {
            installation_id: self.device.installation.as_str().to_owned(),
            bundles: vec![self.bundle.encode()],
            encrypted_message: BTreeMap::new(),
            public_message: Vec::new(),
        };
        let own = self.identity.public_key();
        Ok(OutgoingMessage {
            pubsub_topic: self.config.topics.pubsub_topic.clone(),
            content_topic: topics::contact_code_topic(own),
            payload: payload::frame_public(&message.encode_to_vec())?,
            recipient: *own,
        })
    }

    /// Learns a peer's bundle obtained out of band (contact code, QR code, advert).
    pub fn add_bundle(&mut self, now: i64, bundle: &[u8]) -> Result<Incoming, BundleError> {
        let verified = Bundle::decode(bundle)?.verify(&self.config.policy(), now)?;
        let mut changes = StoreChanges::new();
        let mut events = Vec::new();
        self.learn_bundle(now, &verified, &mut changes, &mut events);
        Ok(Incoming {
            message: None,
            changes,
            events,
            messages: Vec::new(),
        })
    }

    /// Sets this device's name and type.
    pub fn set_device_info(&mut self, info: DeviceInfo) -> StoreChanges {
        self.device.info = info.capped();
        let mut changes = StoreChanges::new();
        changes.push(Change::Device(encode_device(&self.device)));
        changes
    }

    /// Sets the description of another installation of our identity (learned by pairing).
    pub fn set_installation_info(
        &mut self,
        installation: &InstallationId,
        info: DeviceInfo,
    ) -> Result<StoreChanges, InstallationError> {
        let own = *self.identity.public_key();
        let peer = self.peers.get_mut(&own).ok_or(InstallationError::Unknown)?;
        let inst = peer
            .installations
            .get_mut(installation)
            .ok_or(InstallationError::Unknown)?;
        inst.info = info.capped();
        let mut changes = StoreChanges::new();
        record_peer(&mut changes, &own, peer);
        Ok(changes)
    }

    /// Enables or disables an installation of `identity` (our own identity: pairs or
    /// unpairs one of our other devices, which changes our bundle). Enabling more than
    /// [`Config::max_installations`] (ours counted for our own identity) fails with
    /// [`InstallationError::TooManyInstallations`].
    pub fn set_enabled(
        &mut self,
        now: i64,
        identity: &IdentityPublicKey,
        installation: &InstallationId,
        enabled: bool,
    ) -> Result<StoreChanges, InstallationError> {
        let own = *self.identity.public_key();
        if *identity == own && *installation == self.device.installation {
            return if enabled {
                Ok(StoreChanges::new())
            } else {
                Err(InstallationError::ThisDevice)
            };
        }
        let max = self.config.max_installations;
        let peer = self
            .peers
            .get_mut(identity)
            .ok_or(InstallationError::Unknown)?;
        let enabled_now = peer
            .installations
            .iter()
            .filter(|(id, i)| i.enabled && *id != installation)
            .count()
            + usize::from(*identity == own);
        let inst = peer
            .installations
            .get_mut(installation)
            .ok_or(InstallationError::Unknown)?;
        if enabled && !inst.enabled && enabled_now >= max {
            return Err(InstallationError::TooManyInstallations { max });
        }
        inst.enabled = enabled;
        inst.unanswered = 0;
        inst.last_active_ns = now;
        let mut changes = StoreChanges::new();
        record_peer(&mut changes, identity, peer);
        if *identity == own {
            self.resign_bundle(now, &mut changes);
        }
        Ok(changes)
    }

    /// Rotates the signed prekey if it is older than [`Config::prekey_rotation_ns`] and
    /// drops retired prekeys past their grace period. Also done by `encrypt`/`decrypt`;
    /// call it from a timer to re-publish the bundle (see [`SessionManager::bundle_advert`]).
    pub fn tick<R: CryptoRng + ?Sized>(&mut self, rng: &mut R, now: i64) -> Outgoing {
        let mut changes = StoreChanges::new();
        let mut events = Vec::new();
        self.maybe_rotate(rng, now, &mut changes, &mut events);
        Outgoing {
            messages: Vec::new(),
            changes,
            events,
        }
    }

    /// The largest plaintext [`SessionManager::encrypt`] accepts: what fits
    /// [`Config::max_installations`] copies in one Waku payload of
    /// [`payload::MAX_PAYLOAD_BYTES`] with room for bundles and headers.
    pub fn max_plaintext_len(&self) -> usize {
        ((payload::MAX_PAYLOAD_BYTES - 8 * 1024) / self.config.max_installations.max(1))
            .saturating_sub(512)
    }

    /// Encrypts `plaintext` for every enabled installation of `to` and every other enabled
    /// installation of ours. `to` may be our own identity (a message to our other devices
    /// only). Persist `changes` before publishing `messages`.
    pub fn encrypt<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        now: i64,
        to: &IdentityPublicKey,
        plaintext: &[u8],
    ) -> Result<Outgoing, EncryptError> {
        if plaintext.is_empty() {
            return Err(EncryptError::EmptyPlaintext);
        }
        if plaintext.len() > self.max_plaintext_len() {
            return Err(EncryptError::Payload(PayloadError::TooLarge(
                plaintext.len(),
            )));
        }
        let own = *self.identity.public_key();
        if *to != own && !self.has_reachable_installation(to) {
            return Err(EncryptError::NoInstallations);
        }
        let mut changes = StoreChanges::new();
        let mut events = Vec::new();
        let mut messages = Vec::new();
        if *to != own {
            let entries = self.encrypt_for(
                rng,
                now,
                to,
                None,
                false,
                plaintext,
                &mut changes,
                &mut events,
            );
            if entries.is_empty() {
                return Err(EncryptError::NoInstallations);
            }
            messages.push(self.wrap(rng, to, entries, Vec::new())?);
        }
        let own_entries = self.encrypt_for(
            rng,
            now,
            &own,
            None,
            false,
            plaintext,
            &mut changes,
            &mut events,
        );
        if !own_entries.is_empty() {
            // Our other devices learn the peer (and its installations) from its bundles.
            let peer_bundles = if *to == own {
                Vec::new()
            } else {
                self.peer_bundles(to)
            };
            messages.push(self.wrap(rng, &own, own_entries, peer_bundles)?);
        }
        // Rotation last: an error above leaves no unreported change behind.
        self.maybe_rotate(rng, now, &mut changes, &mut events);
        Ok(Outgoing {
            messages,
            changes,
            events,
        })
    }

    /// Opens a Waku payload received on `content_topic` and decrypts the entry for this
    /// device. See the [module documentation](self) for recovery.
    pub fn decrypt<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        now: i64,
        content_topic: &ContentTopic,
        waku_payload: &[u8],
    ) -> Result<Incoming, DecryptError> {
        let own = *self.identity.public_key();
        let (framed, topic_peer, public) = self.open(content_topic, waku_payload)?;
        if framed.len() > MAX_PROTOCOL_MESSAGE_BYTES {
            return Err(DecryptError::Malformed);
        }
        let message =
            RawProtocolMessage::decode(framed.as_slice()).map_err(|_| DecryptError::Malformed)?;
        let mut incoming = Incoming {
            message: None,
            changes: StoreChanges::new(),
            events: Vec::new(),
            messages: Vec::new(),
        };

        // Bundles first: they name the sender and its installations.
        let policy = self.config.policy();
        let mut verified = Vec::new();
        for raw in message.bundles.iter().take(MAX_BUNDLES_PER_MESSAGE) {
            match self.verify_bundle(raw, &policy, now) {
                Ok(b) => verified.push(b),
                Err(e) => incoming.events.push(Event::InvalidBundle(e)),
            }
        }
        if public {
            for b in &verified {
                self.learn_bundle(now, b, &mut incoming.changes, &mut incoming.events);
            }
            return Ok(incoming);
        }

        let installation = InstallationId::new(message.installation_id.clone())
            .ok()
            .filter(|i| !i.as_str().is_empty())
            .ok_or(DecryptError::BadInstallationId)?;
        let sender = verified
            .iter()
            .find(|b| b.prekey(&installation).is_some())
            .map(|b| *b.identity())
            .or(topic_peer)
            .or_else(|| self.find_sender(&installation))
            .ok_or(DecryptError::UnknownSender)?;
        if sender == own && installation == self.device.installation {
            // Our own message coming back.
            return Ok(incoming);
        }
        let self_topic = topic_peer == Some(own);
        if sender == own && !self_topic {
            // One of our other devices talking to a peer; our copy travels on the self topic.
            return Ok(incoming);
        }
        if topic_peer.is_some_and(|p| p != sender) {
            // A negotiated topic only carries messages of its two identities (and the
            // self topic only ours); our own messages to peers were handled above.
            return Err(DecryptError::UnknownSender);
        }

        let sender_bundle = verified.iter().find(|b| *b.identity() == sender);

        let Some(entry) = message
            .encrypted_message
            .get(self.device.installation.as_str())
        else {
            for b in &verified {
                self.learn_bundle(now, b, &mut incoming.changes, &mut incoming.events);
            }
            // 54 "partitioned devices": tell the sender about this installation.
            self.recover(rng, now, &sender, &installation, false, &mut incoming);
            self.maybe_rotate(rng, now, &mut incoming.changes, &mut incoming.events);
            return Ok(incoming);
        };
        let encrypted = EncryptedMessage::decode(entry).map_err(DecryptError::MalformedEntry)?;
        let key = SessionKey {
            peer: sender,
            installation: installation.clone(),
            bundle_id: encrypted.header.bundle_id.to_bytes(),
        };

        let seen = self
            .peers
            .get(&sender)
            .and_then(|p| p.installations.get(&installation))
            .zip(encrypted.x3dh)
            .is_some_and(|(i, x)| i.seen_ephemerals.contains(x.ephemeral_key.as_bytes()));
        let existing = match self.sessions.get_mut(&key) {
            // status-x3dh leaves a session unchanged when a message is rejected.
            Some(session) => match session.decrypt(&encrypted) {
                Ok(plaintext) => Some(Ok(plaintext)),
                Err(status_x3dh::DecryptError::Replay { .. }) => {
                    return Err(DecryptError::Duplicate);
                }
                Err(e) => Some(Err(UndecryptableReason::SessionFailed(e))),
            },
            None => None,
        };
        if existing.is_none() && encrypted.x3dh.is_some() && seen {
            // A first message we already answered: a replay.
            return Err(DecryptError::Duplicate);
        }
        // From here on nothing fails: learn the bundles the message carries.
        for b in &verified {
            self.learn_bundle(now, b, &mut incoming.changes, &mut incoming.events);
        }
        let result = match (existing, encrypted.x3dh) {
            (Some(Ok(plaintext)), _) => Ok((None, plaintext)),
            // No session, or the session failed and the message starts a new one (the
            // peer re-initiated against the same prekey): X3DH as responder. A replayed
            // first message is refused by its already-seen ephemeral key.
            (existing, Some(x3dh)) if !seen => {
                match (
                    self.find_prekey(&x3dh.signed_pre_key.to_bytes()),
                    sender_bundle,
                ) {
                    (None, _) => Err(UndecryptableReason::UnknownPreKey),
                    (Some(_), None) => Err(UndecryptableReason::MissingBundle),
                    (Some(prekey), Some(bundle)) => {
                        match Session::respond(&self.identity, prekey, bundle, &encrypted) {
                            Ok((session, plaintext)) => Ok((Some(session), plaintext)),
                            Err(_) => Err(match existing {
                                Some(Err(reason)) => reason,
                                _ => UndecryptableReason::X3dhFailed,
                            }),
                        }
                    }
                }
            }
            (Some(Err(reason)), _) => Err(reason),
            (None, _) => Err(UndecryptableReason::NoSession),
        };

        match result {
            Ok((new_session, plaintext)) => {
                let plaintext = Zeroizing::new(plaintext);
                if let Some(session) = new_session {
                    self.sessions.insert(key.clone(), session);
                }
                if let Some(session) = self.sessions.get(&key) {
                    incoming.changes.push(Change::Session {
                        key: key.clone(),
                        state: session.to_bytes(),
                    });
                }
                self.ensure_peer(&sender, now);
                let max = self.config.max_installations;
                if let Some(peer) = self.peers.get_mut(&sender) {
                    if sender != own {
                        peer.heard_from = true;
                    }
                    peer.last_active_ns = now;
                    // A peer installation disabled for silence that answers again comes
                    // back, if there is room.
                    let enabled_count = peer.installations.values().filter(|i| i.enabled).count();
                    let inst = peer
                        .installations
                        .entry(installation.clone())
                        .or_insert_with(|| PeerInstallation::new(now));
                    inst.last_received_ns = Some(now);
                    inst.last_active_ns = now;
                    inst.unanswered = 0;
                    if sender != own && !inst.enabled && enabled_count < max {
                        inst.enabled = true;
                    }
                    if let Some(x3dh) = encrypted.x3dh {
                        let e = x3dh.ephemeral_key.to_bytes();
                        if !inst.seen_ephemerals.contains(&e) {
                            inst.seen_ephemerals.insert(0, e);
                            inst.seen_ephemerals.truncate(MAX_SEEN_EPHEMERALS);
                        }
                    }
                    inst.sessions.retain(|b| *b != key.bundle_id);
                    inst.sessions.insert(0, key.bundle_id);
                    let evicted: Vec<[u8; 32]> = inst
                        .sessions
                        .drain(MAX_SESSIONS_PER_INSTALLATION.min(inst.sessions.len())..)
                        .collect();
                    for bundle_id in evicted {
                        let old = SessionKey {
                            peer: sender,
                            installation: installation.clone(),
                            bundle_id,
                        };
                        self.sessions.remove(&old);
                        incoming.changes.push(Change::SessionRemoved(old));
                    }
                    record_peer(&mut incoming.changes, &sender, peer);
                }
                if !plaintext.is_empty() {
                    incoming.message = Some(Received {
                        sender,
                        installation,
                        plaintext,
                    });
                }
            }
            Err(reason) => {
                incoming.events.push(Event::Undecryptable {
                    identity: sender,
                    installation: installation.clone(),
                    reason,
                });
                self.recover(rng, now, &sender, &installation, true, &mut incoming);
            }
        }
        self.maybe_rotate(rng, now, &mut incoming.changes, &mut incoming.events);
        Ok(incoming)
    }

    // ----- internals -----

    /// Opens a payload: the framed `ProtocolMessage`, the peer the topic belongs to (for
    /// negotiated topics) and whether it is a public contact-code advert.
    fn open(
        &self,
        content_topic: &ContentTopic,
        waku_payload: &[u8],
    ) -> Result<Opened, DecryptError> {
        if let Some(peer) = self.topics.get(content_topic) {
            let key = self
                .peers
                .get(peer)
                .map(|p| p.negotiated.key())
                .ok_or(DecryptError::UnknownTopic)?;
            return Ok((key.decrypt(waku_payload)?, Some(*peer), false));
        }
        let own = self.identity.public_key();
        match content_topic.kind() {
            Some(TopicKind::Partitioned(p)) if p == topics::partition(own) => {
                Ok((payload::open(&self.identity, waku_payload)?, None, false))
            }
            Some(TopicKind::ContactCode(_)) => Ok((
                Zeroizing::new(payload::unframe_public(waku_payload)?.to_vec()),
                None,
                true,
            )),
            _ => Err(DecryptError::UnknownTopic),
        }
    }

    /// Verifies a received bundle. A bundle byte-identical to one already verified and
    /// stored for that identity (every message carries the sender's bundle) is taken from
    /// the store after the age checks, without verifying its signature again.
    fn verify_bundle(
        &self,
        raw: &[u8],
        policy: &BundlePolicy,
        now: i64,
    ) -> Result<VerifiedBundle, BundleError> {
        let bundle = Bundle::decode(raw)?;
        let fresh = {
            let age = i128::from(now) - i128::from(bundle.timestamp_ns());
            age <= i128::from(policy.max_age_ns) && -age <= i128::from(policy.max_clock_skew_ns)
        };
        if fresh
            && let Ok(identity) = IdentityPublicKey::from_slice(bundle.identity_bytes())
            && let Some(peer) = self.peers.get(&identity)
            && let Some(known) = peer
                .installations
                .values()
                .filter_map(|i| i.bundle.as_ref())
                .find(|b| {
                    b.timestamp_ns() == bundle.timestamp_ns()
                        && b.prekeys().len() <= policy.max_installations
                        && b.encode() == raw
                })
        {
            return Ok(known.clone());
        }
        bundle.verify(policy, now)
    }

    /// Our bundle, then the newest bundle of every peer (newest peers first), at most `max`.
    pub(crate) fn known_bundles(&self, max: usize) -> Vec<Vec<u8>> {
        let own = self.identity.public_key();
        let mut peers: Vec<(i64, Vec<u8>)> = self
            .peers
            .iter()
            .filter(|(k, _)| *k != own)
            .filter_map(|(_, p)| {
                p.installations
                    .values()
                    .filter_map(|i| i.bundle.as_ref())
                    .max_by_key(|b| b.timestamp_ns())
                    .map(|b| (p.last_active_ns, b.encode()))
            })
            .collect();
        peers.sort_by_key(|p| core::cmp::Reverse(p.0));
        let mut out = vec![self.bundle.encode()];
        out.extend(peers.into_iter().map(|(_, b)| b));
        out.truncate(max);
        out
    }

    /// The distinct newest bundles of a peer, for our other devices.
    fn peer_bundles(&self, peer: &IdentityPublicKey) -> Vec<Vec<u8>> {
        let mut out: Vec<(i64, Vec<u8>)> = Vec::new();
        if let Some(p) = self.peers.get(peer) {
            for inst in p.installations.values() {
                if let Some(b) = &inst.bundle {
                    let encoded = b.encode();
                    if !out.iter().any(|(_, e)| *e == encoded) {
                        out.push((b.timestamp_ns(), encoded));
                    }
                }
            }
        }
        out.sort_by_key(|b| core::cmp::Reverse(b.0));
        out.into_iter()
            .take(MAX_BUNDLES_PER_MESSAGE - 1)
            .map(|(_, e)| e)
            .collect()
    }

    fn find_sender(&self, installation: &InstallationId) -> Option<IdentityPublicKey> {
        self.peers
            .iter()
            .find(|(_, p)| {
                p.installations
                    .get(installation)
                    .is_some_and(|i| !i.sessions.is_empty())
            })
            .map(|(k, _)| *k)
    }

    fn find_prekey(&self, public: &[u8; 32]) -> Option<&SignedPreKeyPair> {
        if self.device.prekey.public().key.as_bytes() == public {
            return Some(&self.device.prekey);
        }
        self.device
            .retired
            .iter()
            .find(|r| r.pair.public().key.as_bytes() == public)
            .map(|r| &r.pair)
    }

    fn has_reachable_installation(&self, to: &IdentityPublicKey) -> bool {
        self.peers.get(to).is_some_and(|p| {
            p.installations
                .values()
                .any(|i| i.enabled && (i.bundle.is_some() || !i.sessions.is_empty()))
        })
    }

    fn ensure_peer(&mut self, identity: &IdentityPublicKey, now: i64) -> bool {
        if self.peers.contains_key(identity) {
            return true;
        }
        let Ok(negotiated) = Negotiated::derive(&self.identity, identity) else {
            return false;
        };
        self.topics.insert(negotiated.topic().clone(), *identity);
        self.peers.insert(
            *identity,
            Peer {
                installations: BTreeMap::new(),
                heard_from: false,
                last_active_ns: now,
                negotiated,
            },
        );
        true
    }

    /// Evicts the least recently active peer (never our own identity) if over the cap.
    fn evict_peers(&mut self, keep: &IdentityPublicKey, changes: &mut StoreChanges) {
        let own = *self.identity.public_key();
        while self.peers.len() > MAX_PEERS {
            let Some(victim) = self
                .peers
                .iter()
                .filter(|(k, _)| **k != own && *k != keep)
                .min_by_key(|(_, p)| p.last_active_ns)
                .map(|(k, _)| *k)
            else {
                return;
            };
            if let Some(peer) = self.peers.remove(&victim) {
                self.topics.remove(peer.negotiated.topic());
            }
            let keys: Vec<SessionKey> = self
                .sessions
                .keys()
                .filter(|k| k.peer == victim)
                .cloned()
                .collect();
            for key in keys {
                self.sessions.remove(&key);
                changes.push(Change::SessionRemoved(key));
            }
            changes.push(Change::PeerRemoved(victim));
        }
    }

    fn learn_bundle(
        &mut self,
        now: i64,
        bundle: &VerifiedBundle,
        changes: &mut StoreChanges,
        events: &mut Vec<Event>,
    ) {
        let identity = *bundle.identity();
        let own = *self.identity.public_key();
        // Only a real change is recorded: most messages carry a bundle we already hold.
        let mut changed = !self.peers.contains_key(&identity);
        if !self.ensure_peer(&identity, now) {
            return;
        }
        let max = self.config.max_installations;
        let mut own_bundle_changed = false;
        let mut removed_sessions = Vec::new();
        {
            let Some(peer) = self.peers.get_mut(&identity) else {
                return;
            };
            peer.last_active_ns = now;
            for (id, prekey) in bundle.prekeys() {
                if identity == own && *id == self.device.installation {
                    continue;
                }
                let enabled_count = peer.installations.values().filter(|i| i.enabled).count()
                    + usize::from(identity == own);
                let is_new = !peer.installations.contains_key(id);
                let inst = peer
                    .installations
                    .entry(id.clone())
                    .or_insert_with(|| PeerInstallation::new(now));
                let newer = inst
                    .bundle
                    .as_ref()
                    .is_none_or(|b| b.timestamp_ns() < bundle.timestamp_ns());
                if newer {
                    changed = true;
                    let old_prekey = inst.bundle.as_ref().and_then(|b| b.prekey(id).copied());
                    if identity == own && inst.enabled && old_prekey != Some(*prekey) {
                        own_bundle_changed = true;
                    }
                    inst.bundle = Some(bundle.clone());
                }
                if is_new {
                    changed = true;
                    inst.last_active_ns = now;
                    if identity == own {
                        events.push(Event::OwnInstallationDiscovered {
                            installation: id.clone(),
                        });
                    } else {
                        inst.enabled = enabled_count < max;
                        events.push(Event::NewInstallation {
                            identity,
                            installation: id.clone(),
                            enabled: inst.enabled,
                        });
                    }
                }
            }
            // Cap the installations kept per identity.
            while peer.installations.len() > MAX_INSTALLATIONS_PER_PEER {
                let Some(victim) = peer
                    .installations
                    .iter()
                    .filter(|(id, _)| bundle.prekey(id).is_none())
                    .min_by_key(|(_, i)| (i.enabled, i.last_active_ns))
                    .map(|(id, _)| id.clone())
                else {
                    break;
                };
                changed = true;
                if let Some(inst) = peer.installations.remove(&victim) {
                    for bundle_id in inst.sessions {
                        removed_sessions.push(SessionKey {
                            peer: identity,
                            installation: victim.clone(),
                            bundle_id,
                        });
                    }
                }
            }
            if changed {
                record_peer(changes, &identity, peer);
            }
        }
        for key in removed_sessions {
            self.sessions.remove(&key);
            changes.push(Change::SessionRemoved(key));
        }
        self.evict_peers(&identity, changes);
        if own_bundle_changed {
            self.resign_bundle(now, changes);
        }
    }

    fn sign_bundle(&self) -> Result<VerifiedBundle, BundleError> {
        let own = self.identity.public_key();
        let mut entries = vec![(
            self.device.installation.clone(),
            self.device.prekey.public(),
        )];
        if let Some(peer) = self.peers.get(own) {
            let mut others: Vec<_> = peer
                .installations
                .iter()
                .filter(|(_, i)| i.enabled)
                .filter_map(|(id, i)| {
                    let prekey = i.bundle.as_ref()?.prekey(id)?;
                    Some((i.last_active_ns, id.clone(), *prekey))
                })
                .collect();
            others.sort_by_key(|b| core::cmp::Reverse(b.0));
            entries.extend(
                others
                    .into_iter()
                    .take(self.config.max_installations.saturating_sub(1))
                    .map(|(_, id, p)| (id, p)),
            );
        }
        VerifiedBundle::sign(&self.identity, entries, self.device.bundle_ts)
    }

    fn resign_bundle(&mut self, now: i64, changes: &mut StoreChanges) {
        let previous = self.device.bundle_ts;
        self.device.bundle_ts = now.max(previous.saturating_add(1));
        match self.sign_bundle() {
            Ok(bundle) => self.bundle = bundle,
            Err(_) => self.device.bundle_ts = previous,
        }
        changes.push(Change::Device(encode_device(&self.device)));
    }

    fn maybe_rotate<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        now: i64,
        changes: &mut StoreChanges,
        events: &mut Vec<Event>,
    ) {
        let grace = i64::try_from(self.config.prekey_grace_ns).unwrap_or(i64::MAX);
        let before = self.device.retired.len();
        self.device
            .retired
            .retain(|r| now.saturating_sub(r.retired_ns) < grace);
        let mut changed = before != self.device.retired.len();
        let age = now.saturating_sub(self.device.prekey_created_ns);
        let rotation = i64::try_from(self.config.prekey_rotation_ns).unwrap_or(i64::MAX);
        if age >= rotation {
            let version = self.device.prekey.public().version.wrapping_add(1);
            let new = SignedPreKeyPair::generate(rng, version);
            let old = core::mem::replace(&mut self.device.prekey, new);
            self.device.retired.push_front(RetiredPreKey {
                pair: old,
                retired_ns: now,
            });
            self.device.retired.truncate(MAX_RETIRED_PREKEYS);
            self.device.prekey_created_ns = now;
            events.push(Event::PreKeyRotated { version });
            self.resign_bundle(now, changes);
            changed = false;
        }
        if changed {
            changes.push(Change::Device(encode_device(&self.device)));
        }
    }

    /// Encrypts for the enabled installations of `to` (or only `only`), returning the
    /// entries by installation id.
    #[allow(clippy::too_many_arguments)]
    fn encrypt_for<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        now: i64,
        to: &IdentityPublicKey,
        only: Option<&InstallationId>,
        fresh: bool,
        plaintext: &[u8],
        changes: &mut StoreChanges,
        events: &mut Vec<Event>,
    ) -> BTreeMap<String, Vec<u8>> {
        let own = *self.identity.public_key();
        let mut entries = BTreeMap::new();
        let Some(peer) = self.peers.get_mut(to) else {
            return entries;
        };
        let mut targets: Vec<(i64, InstallationId)> = peer
            .installations
            .iter()
            .filter(|(id, i)| match only {
                Some(o) => *id == o,
                None => i.enabled,
            })
            .filter(|(id, _)| !(*to == own && **id == self.device.installation))
            .map(|(id, i)| (i.last_active_ns, id.clone()))
            .collect();
        targets.sort_by_key(|b| core::cmp::Reverse(b.0));
        let limit = if only.is_some() {
            1
        } else {
            self.config.max_installations
        };
        let silence_ns = i64::try_from(self.config.silence_timeout_ns).unwrap_or(i64::MAX);
        for (_, id) in targets.into_iter().take(limit) {
            let Some(inst) = peer.installations.get_mut(&id) else {
                continue;
            };
            let mut sent = None;
            // The active session first; a fresh X3DH session if there is none or it fails.
            if let Some(bundle_id) = inst.sessions.first().copied().filter(|_| !fresh) {
                let key = SessionKey {
                    peer: *to,
                    installation: id.clone(),
                    bundle_id,
                };
                if let Some(session) = self.sessions.get_mut(&key)
                    && let Ok(message) = session.encrypt(rng, plaintext)
                {
                    changes.push(Change::Session {
                        key: key.clone(),
                        state: session.to_bytes(),
                    });
                    sent = Some(message.encode());
                }
            }
            if sent.is_none()
                && let Some(bundle) = inst.bundle.as_ref()
                && let Ok(mut session) = Session::initiate(rng, &self.identity, bundle, &id)
                && let Ok(message) = session.encrypt(rng, plaintext)
            {
                let key = SessionKey {
                    peer: *to,
                    installation: id.clone(),
                    bundle_id: session.bundle_id().to_bytes(),
                };
                changes.push(Change::Session {
                    key: key.clone(),
                    state: session.to_bytes(),
                });
                inst.sessions.retain(|b| *b != key.bundle_id);
                inst.sessions.insert(0, key.bundle_id);
                for bundle_id in inst
                    .sessions
                    .drain(MAX_SESSIONS_PER_INSTALLATION.min(inst.sessions.len())..)
                {
                    let old = SessionKey {
                        peer: *to,
                        installation: id.clone(),
                        bundle_id,
                    };
                    self.sessions.remove(&old);
                    changes.push(Change::SessionRemoved(old));
                }
                self.sessions.insert(key, session);
                sent = Some(message.encode());
            }
            let Some(bytes) = sent else {
                continue;
            };
            entries.insert(id.as_str().to_owned(), bytes);
            if !plaintext.is_empty() {
                inst.unanswered = inst.unanswered.saturating_add(1);
                let last = inst.last_received_ns.unwrap_or(inst.last_active_ns);
                if *to != own
                    && inst.unanswered >= self.config.silence_after_messages
                    && now.saturating_sub(last) >= silence_ns
                {
                    inst.enabled = false;
                    events.push(Event::InstallationDisabled {
                        identity: *to,
                        installation: id.clone(),
                    });
                }
            }
        }
        record_peer(changes, to, peer);
        entries
    }

    fn wrap<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        to: &IdentityPublicKey,
        entries: BTreeMap<String, Vec<u8>>,
        extra_bundles: Vec<Vec<u8>>,
    ) -> Result<OutgoingMessage, PayloadError> {
        let mut bundles = vec![self.bundle.encode()];
        bundles.extend(extra_bundles);
        let message = RawProtocolMessage {
            installation_id: self.device.installation.as_str().to_owned(),
            bundles,
            encrypted_message: entries,
            public_message: Vec::new(),
        };
        let bytes = Zeroizing::new(message.encode_to_vec());
        let own = self.identity.public_key();
        let peer = self.peers.get(to);
        let (content_topic, payload) = match peer {
            Some(p) if p.heard_from || to == own => (
                p.negotiated.topic().clone(),
                p.negotiated.key().encrypt(rng, &bytes)?,
            ),
            _ => (
                topics::partitioned_topic(to),
                payload::seal(rng, to, &bytes)?,
            ),
        };
        Ok(OutgoingMessage {
            pubsub_topic: self.config.topics.pubsub_topic.clone(),
            content_topic,
            payload,
            recipient: *to,
        })
    }

    /// Rate-limited re-establishment with one installation: a new X3DH session from its
    /// current bundle and an empty control message.
    fn recover<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        now: i64,
        identity: &IdentityPublicKey,
        installation: &InstallationId,
        fresh: bool,
        incoming: &mut Incoming,
    ) {
        let interval = i64::try_from(self.config.recovery_interval_ns).unwrap_or(i64::MAX);
        let Some(peer) = self.peers.get_mut(identity) else {
            incoming.events.push(Event::RecoveryImpossible {
                identity: *identity,
                installation: installation.clone(),
            });
            return;
        };
        let Some(inst) = peer.installations.get_mut(installation) else {
            incoming.events.push(Event::RecoveryImpossible {
                identity: *identity,
                installation: installation.clone(),
            });
            return;
        };
        if inst.bundle.is_none() {
            incoming.events.push(Event::RecoveryImpossible {
                identity: *identity,
                installation: installation.clone(),
            });
            return;
        }
        if inst
            .last_recovery_ns
            .is_some_and(|t| now.saturating_sub(t) < interval)
        {
            incoming.events.push(Event::RecoveryRateLimited {
                identity: *identity,
                installation: installation.clone(),
            });
            return;
        }
        inst.last_recovery_ns = Some(now);
        let entries = self.encrypt_for(
            rng,
            now,
            identity,
            Some(installation),
            fresh,
            &[],
            &mut incoming.changes,
            &mut incoming.events,
        );
        if entries.is_empty() {
            incoming.events.push(Event::RecoveryImpossible {
                identity: *identity,
                installation: installation.clone(),
            });
            return;
        }
        match self.wrap(rng, identity, entries, Vec::new()) {
            Ok(message) => {
                incoming.messages.push(message);
                incoming.events.push(Event::RecoveryStarted {
                    identity: *identity,
                    installation: installation.clone(),
                });
            }
            Err(_) => incoming.events.push(Event::RecoveryImpossible {
                identity: *identity,
                installation: installation.clone(),
            }),
        }
    }
}

// ----- records -----

fn encode_device(device: &Device) -> Zeroizing<Vec<u8>> {
    let mut w = Writer::new(DEVICE_RECORD_VERSION);
    w.str(device.installation.as_str());
    w.opt_str(device.info.name.as_deref());
    w.opt_str(device.info.device_type.as_deref());
    w.fixed(&device.prekey.to_secret_bytes()[..]);
    w.u32(device.prekey.public().version);
    w.i64(device.prekey_created_ns);
    w.count(device.retired.len());
    for r in &device.retired {
        w.fixed(&r.pair.to_secret_bytes()[..]);
        w.u32(r.pair.public().version);
        w.i64(r.retired_ns);
    }
    w.i64(device.bundle_ts);
    w.finish()
}

fn decode_device(bytes: &[u8]) -> Result<Device, RecordError> {
    let mut r = Reader::new(bytes, DEVICE_RECORD_VERSION)?;
    let installation = InstallationId::new(r.str("installation id", 1024)?.to_owned())
        .map_err(|_| RecordError::Invalid("installation id"))?;
    let name = r.opt_str("name", MAX_NAME_BYTES)?.map(str::to_owned);
    let device_type = r.opt_str("device type", MAX_NAME_BYTES)?.map(str::to_owned);
    let secret = Zeroizing::new(r.array::<32>()?);
    let version = r.u32()?;
    let prekey = SignedPreKeyPair::from_secret_bytes(&secret, version);
    let prekey_created_ns = r.i64()?;
    let n = r.count("retired prekeys", MAX_RETIRED_PREKEYS)?;
    let mut retired = VecDeque::with_capacity(n);
    for _ in 0..n {
        let secret = Zeroizing::new(r.array::<32>()?);
        let version = r.u32()?;
        let retired_ns = r.i64()?;
        retired.push_back(RetiredPreKey {
            pair: SignedPreKeyPair::from_secret_bytes(&secret, version),
            retired_ns,
        });
    }
    let bundle_ts = r.i64()?;
    r.finish()?;
    Ok(Device {
        installation,
        info: DeviceInfo { name, device_type },
        prekey,
        prekey_created_ns,
        retired,
        bundle_ts,
    })
}

fn encode_peer(peer: &Peer) -> Zeroizing<Vec<u8>> {
    let mut w = Writer::new(PEER_RECORD_VERSION);
    w.bool(peer.heard_from);
    w.i64(peer.last_active_ns);
    w.count(peer.installations.len());
    for (id, inst) in &peer.installations {
        w.str(id.as_str());
        w.bool(inst.enabled);
        w.opt_str(inst.info.name.as_deref());
        w.opt_str(inst.info.device_type.as_deref());
        match &inst.bundle {
            None => w.u8(0),
            Some(b) => {
                w.u8(1);
                w.bytes(&b.encode());
            }
        }
        w.i64(inst.last_active_ns);
        w.opt_i64(inst.last_received_ns);
        w.u32(inst.unanswered);
        w.opt_i64(inst.last_recovery_ns);
        w.count(inst.sessions.len());
        for s in &inst.sessions {
            w.fixed(s);
        }
        w.count(inst.seen_ephemerals.len());
        for e in &inst.seen_ephemerals {
            w.fixed(e);
        }
    }
    w.finish()
}

fn decode_peer(
    bytes: &[u8],
    negotiated: Negotiated,
    identity: &IdentityPublicKey,
    policy: &BundlePolicy,
    now: i64,
) -> Result<Peer, RecordError> {
    let mut r = Reader::new(bytes, PEER_RECORD_VERSION)?;
    let heard_from = r.bool()?;
    let last_active_ns = r.i64()?;
    let n = r.count("installations", MAX_INSTALLATIONS_PER_PEER)?;
    let mut installations = BTreeMap::new();
    for _ in 0..n {
        let id = InstallationId::new(r.str("installation id", u16::MAX.into())?.to_owned())
            .map_err(|_| RecordError::Invalid("installation id"))?;
        let enabled = r.bool()?;
        let name = r.opt_str("name", MAX_NAME_BYTES)?.map(str::to_owned);
        let device_type = r.opt_str("device type", MAX_NAME_BYTES)?.map(str::to_owned);
        let bundle = if r.bool()? {
            let raw = r.bytes("bundle", status_x3dh::MAX_BUNDLE_BYTES)?;
            let verified = Bundle::decode(raw)
                .and_then(|b| b.verify(policy, now))
                .map_err(|_| RecordError::Invalid("bundle"))?;
            if verified.identity() != identity {
                return Err(RecordError::Invalid("bundle identity"));
            }
            Some(verified)
        } else {
            None
        };
        let last_active_ns = r.i64()?;
        let last_received_ns = r.opt_i64()?;
        let unanswered = r.u32()?;
        let last_recovery_ns = r.opt_i64()?;
        let s = r.count("sessions", MAX_SESSIONS_PER_INSTALLATION)?;
        let mut sessions = Vec::with_capacity(s);
        for _ in 0..s {
            sessions.push(r.array::<32>()?);
        }
        let e = r.count("seen ephemerals", MAX_SEEN_EPHEMERALS)?;
        let mut seen_ephemerals = Vec::with_capacity(e);
        for _ in 0..e {
            seen_ephemerals.push(r.array::<32>()?);
        }
        installations.insert(
            id,
            PeerInstallation {
                enabled,
                info: DeviceInfo { name, device_type },
                bundle,
                last_active_ns,
                last_received_ns,
                unanswered,
                last_recovery_ns,
                sessions,
                seen_ephemerals,
            },
        );
    }
    r.finish()?;
    Ok(Peer {
        installations,
        heard_from,
        last_active_ns,
        negotiated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{InstallationStore, MemoryStore};
    use proptest::prelude::*;
    use rand::SeedableRng;
    use rand::rngs::ChaCha20Rng;

    const NOW: i64 = 1_750_000_000_000_000_000;

    fn device(seed: u8, name: &str, config: Config) -> (SessionManager, MemoryStore) {
        let mut rng = ChaCha20Rng::seed_from_u64(u64::from(seed));
        let (m, changes) = SessionManager::with_installation(
            &mut rng,
            IdentityKeyPair::from_secret_bytes(&[seed; 32]),
            config,
            InstallationId::new(name).unwrap(),
            DeviceInfo {
                name: Some("x".repeat(300)),
                device_type: None,
            },
            NOW,
        )
        .unwrap();
        let mut store = MemoryStore::new();
        changes.apply(&mut store).unwrap();
        (m, store)
    }

    #[test]
    fn installation_ids_are_uuid_v4() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let a = random_installation_id(&mut rng).unwrap();
        let b = random_installation_id(&mut rng).unwrap();
        assert_ne!(a, b);
        let s = a.as_str();
        assert_eq!(s.len(), 36);
        assert_eq!(&s[14..15], "4");
        assert!(matches!(&s[19..20], "8" | "9" | "a" | "b"));
    }

    #[test]
    fn names_are_capped_on_a_char_boundary() {
        let (m, _) = device(1, "a1", Config::default());
        assert_eq!(m.device_info().name.as_ref().unwrap().len(), MAX_NAME_BYTES);
        let capped = DeviceInfo {
            name: Some("é".repeat(100)),
            device_type: None,
        }
        .capped();
        assert_eq!(capped.name.unwrap().len(), MAX_NAME_BYTES);
    }

    #[test]
    fn records_round_trip_and_reject_damage() {
        let (mut a, mut a_store) = device(1, "a1", Config::default());
        let (b, _) = device(2, "b1", Config::default());
        a.add_bundle(NOW, &b.bundle().encode())
            .unwrap()
            .changes
            .apply(&mut a_store)
            .unwrap();
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        a.encrypt(&mut rng, NOW, b.identity(), b"x")
            .unwrap()
            .changes
            .apply(&mut a_store)
            .unwrap();
        let device_record = a_store.load_device().unwrap().unwrap();
        let decoded = decode_device(&device_record).unwrap();
        assert_eq!(encode_device(&decoded).as_slice(), device_record.as_slice());
        let peers = a_store.load_peers().unwrap();
        assert_eq!(peers.len(), 2);
        for (id, record) in &peers {
            let n = Negotiated::derive(&IdentityKeyPair::from_secret_bytes(&[1; 32]), id).unwrap();
            let peer = decode_peer(record, n.clone(), id, &BundlePolicy::default(), NOW).unwrap();
            assert_eq!(encode_peer(&peer).as_slice(), record.as_slice());
            // Every truncation and a bad version are typed errors.
            for cut in 0..record.len() {
                assert!(
                    decode_peer(&record[..cut], n.clone(), id, &BundlePolicy::default(), NOW)
                        .is_err()
                );
            }
            let mut bad = record.clone();
            bad[0] = 9;
            assert_eq!(
                decode_peer(&bad, n.clone(), id, &BundlePolicy::default(), NOW).err(),
                Some(RecordError::Version(9))
            );
            let mut long = record.clone();
            long.push(0);
            assert_eq!(
                decode_peer(&long, n, id, &BundlePolicy::default(), NOW).err(),
                Some(RecordError::Trailing(1))
            );
        }
        for cut in 0..device_record.len() {
            assert!(decode_device(&device_record[..cut]).is_err());
        }
        // A bundle stored under the wrong identity is refused.
        let mut wrong = MemoryStore::new();
        wrong.save_device(&device_record).unwrap();
        for (id, record) in &peers {
            if id != a.identity() {
                wrong.save_peer(a.identity(), record).unwrap();
            }
        }
        assert!(matches!(
            SessionManager::restore(
                IdentityKeyPair::from_secret_bytes(&[1; 32]),
                Config::default(),
                &wrong,
                NOW
            ),
            Err(RestoreError::Record(_))
        ));
        assert!(matches!(
            SessionManager::restore(
                IdentityKeyPair::from_secret_bytes(&[1; 32]),
                Config::default(),
                &MemoryStore::new(),
                NOW
            ),
            Err(RestoreError::NoDevice)
        ));
    }

    #[test]
    fn silent_installation_is_disabled_and_comes_back_when_it_answers() {
        let config = Config {
            silence_after_messages: 3,
            silence_timeout_ns: 1_000,
            ..Config::default()
        };
        let (mut a, _) = device(1, "a1", config);
        let (mut b, _) = device(2, "b1", Config::default());
        a.add_bundle(NOW, &b.bundle().encode()).unwrap();
        let mut rng = ChaCha20Rng::seed_from_u64(9);
        let mut last = None;
        let mut disabled = false;
        for i in 0..3 {
            let out = a
                .encrypt(&mut rng, NOW + 10_000 * i, b.identity(), b"ping")
                .unwrap();
            disabled |= out
                .events
                .iter()
                .any(|e| matches!(e, Event::InstallationDisabled { .. }));
            last = Some(out);
        }
        assert!(disabled);
        assert!(!a.installations(b.identity())[0].enabled);
        assert_eq!(
            a.encrypt(&mut rng, NOW + 40_000, b.identity(), b"ping")
                .unwrap_err(),
            EncryptError::NoInstallations
        );
        // b1 finally reads and answers: it is enabled again.
        let out = last.unwrap();
        let m = &out.messages[0];
        b.decrypt(&mut rng, NOW + 50_000, &m.content_topic, &m.payload)
            .unwrap();
        let reply = b
            .encrypt(&mut rng, NOW + 50_000, a.identity(), b"pong")
            .unwrap();
        let m = &reply.messages[0];
        let got = a
            .decrypt(&mut rng, NOW + 60_000, &m.content_topic, &m.payload)
            .unwrap();
        assert!(got.message.is_some());
        assert!(a.installations(b.identity())[0].enabled);
        a.encrypt(&mut rng, NOW + 70_000, b.identity(), b"again")
            .unwrap();
    }

    #[test]
    fn too_many_peers_evicts_the_least_recently_active() {
        let (mut a, _) = device(1, "a1", Config::default());
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        // Fill the map with cheap fake peers, then learn one real bundle more.
        for i in 0..MAX_PEERS {
            let k = IdentityKeyPair::generate(&mut rng);
            let n = Negotiated::derive(&a.identity, k.public_key()).unwrap();
            a.peers.insert(
                *k.public_key(),
                Peer {
                    installations: BTreeMap::new(),
                    heard_from: false,
                    last_active_ns: NOW + i64::try_from(i).unwrap(),
                    negotiated: n,
                },
            );
        }
        assert_eq!(a.peers.len(), MAX_PEERS + 1);
        let (b, _) = device(2, "b1", Config::default());
        let inc = a.add_bundle(NOW + 1_000_000, &b.bundle().encode()).unwrap();
        assert!(a.peers.len() <= MAX_PEERS);
        assert!(a.peers.contains_key(b.identity()));
        assert!(a.peers.contains_key(a.identity.public_key()));
        assert!(
            inc.changes
                .changes()
                .iter()
                .any(|c| matches!(c, Change::PeerRemoved(_)))
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn random_records_never_panic(data in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = decode_device(&data);
            let id = IdentityKeyPair::from_secret_bytes(&[1; 32]);
            let n = Negotiated::derive(&id, id.public_key()).unwrap();
            let _ = decode_peer(&data, n, id.public_key(), &BundlePolicy::default(), NOW);
        }
    }
}
