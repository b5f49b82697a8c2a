//! Persistence: the store traits, the changes every operation hands back, and an in-memory
//! store.
//!
//! Every operation of [`crate::SessionManager`] that changes state returns a
//! [`StoreChanges`]. The caller must write it (for example in the same database transaction
//! that records the message as sent or received) **before** any produced Waku message
//! leaves: a crash can then never leave a ratchet behind a message that was sent. Records
//! are opaque, versioned byte strings (see [`crate::manager`] for their layout); secrets in
//! them are zeroized when the change is dropped.

use core::convert::Infallible;
use std::collections::BTreeMap;

use status_identity::IdentityPublicKey;
use status_x3dh::InstallationId;
use zeroize::Zeroizing;

/// Names one double-ratchet session: the peer identity, the peer installation and the
/// session's bundle id (the responder's signed prekey, which the DR header carries).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionKey {
    /// The peer's identity (our own for sessions with our other installations).
    pub peer: IdentityPublicKey,
    /// The peer installation.
    pub installation: InstallationId,
    /// The session's bundle id.
    pub bundle_id: [u8; 32],
}

/// One change to persist.
#[derive(Clone)]
#[non_exhaustive]
pub enum Change {
    /// The record of this device (own installation, prekeys with their secrets).
    Device(Zeroizing<Vec<u8>>),
    /// The record of one peer identity (its installations, bundles, counters). The peer
    /// record of our own identity lists our other installations.
    Peer {
        /// The peer.
        identity: IdentityPublicKey,
        /// Its record.
        record: Vec<u8>,
    },
    /// A peer record to delete (the peer was evicted).
    PeerRemoved(IdentityPublicKey),
    /// A session's state ([`status_x3dh::Session::to_bytes`]).
    Session {
        /// Which session.
        key: SessionKey,
        /// Its state.
        state: Zeroizing<Vec<u8>>,
    },
    /// A session to delete.
    SessionRemoved(SessionKey),
}

impl core::fmt::Debug for Change {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Change::Device(_) => f.write_str("Device(…)"),
            Change::Peer { identity, .. } => write!(f, "Peer({identity:?})"),
            Change::PeerRemoved(identity) => write!(f, "PeerRemoved({identity:?})"),
            Change::Session { key, .. } => write!(f, "Session({key:?})"),
            Change::SessionRemoved(key) => write!(f, "SessionRemoved({key:?})"),
        }
    }
}

/// The changes of one operation, in order. Later changes of the same record supersede
/// earlier ones.
#[derive(Debug, Clone, Default)]
pub struct StoreChanges {
    changes: Vec<Change>,
}

impl StoreChanges {
    /// No changes.
    pub fn new() -> Self {
        StoreChanges::default()
    }

    pub(crate) fn push(&mut self, change: Change) {
        self.changes.push(change);
    }

    /// True if there is nothing to persist.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// The changes, in order.
    pub fn changes(&self) -> &[Change] {
        &self.changes
    }

    /// Writes every change to `store`, in order.
    pub fn apply<S: SessionStore + ?Sized>(&self, store: &mut S) -> Result<(), S::Error> {
        for change in &self.changes {
            match change {
                Change::Device(record) => store.save_device(record)?,
                Change::Peer { identity, record } => store.save_peer(identity, record)?,
                Change::PeerRemoved(identity) => store.remove_peer(identity)?,
                Change::Session { key, state } => store.save_session(key, state)?,
                Change::SessionRemoved(key) => store.remove_session(key)?,
            }
        }
        Ok(())
    }
}

/// Where the device and installation records live.
pub trait InstallationStore {
    /// The store's error.
    type Error: core::error::Error;

    /// Saves the record of this device, replacing the previous one.
    fn save_device(&mut self, record: &[u8]) -> Result<(), Self::Error>;
    /// Loads the record of this device, if one was saved.
    fn load_device(&self) -> Result<Option<Zeroizing<Vec<u8>>>, Self::Error>;
    /// Saves the record of a peer identity, replacing the previous one.
    fn save_peer(&mut self, identity: &IdentityPublicKey, record: &[u8])
    -> Result<(), Self::Error>;
    /// Deletes the record of a peer identity.
    fn remove_peer(&mut self, identity: &IdentityPublicKey) -> Result<(), Self::Error>;
    /// Loads every peer record.
    fn load_peers(&self) -> Result<Vec<(IdentityPublicKey, Vec<u8>)>, Self::Error>;
}

/// A stored session: its key and its state.
pub type StoredSession = (SessionKey, Zeroizing<Vec<u8>>);

/// Where double-ratchet sessions live (and, through the supertrait, installations: one
/// store, so one transaction can hold all changes of an operation).
pub trait SessionStore: InstallationStore {
    /// Saves a session, replacing the previous state of the same key.
    fn save_session(&mut self, key: &SessionKey, state: &[u8]) -> Result<(), Self::Error>;
    /// Deletes a session.
    fn remove_session(&mut self, key: &SessionKey) -> Result<(), Self::Error>;
    /// Loads every session.
    fn load_sessions(&self) -> Result<Vec<StoredSession>, Self::Error>;
}

/// An in-memory store, for tests and for programs that keep nothing.
#[derive(Default, Clone)]
pub struct MemoryStore {
    device: Option<Zeroizing<Vec<u8>>>,
    peers: BTreeMap<IdentityPublicKey, Vec<u8>>,
    sessions: BTreeMap<SessionKey, Zeroizing<Vec<u8>>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryStore::default()
    }

    /// Number of sessions stored.
    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    /// Number of peer records stored.
    pub fn peer_count(&self) -> usize {
        self.peers.len()
    }
}

impl core::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("device", &self.device.is_some())
            .field("peers", &self.peers.len())
            .field("sessions", &self.sessions.len())
            .finish()
    }
}

impl InstallationStore for MemoryStore {
    type Error = Infallible;

    fn save_device(&mut self, record: &[u8]) -> Result<(), Infallible> {
        self.device = Some(Zeroizing::new(record.to_vec()));
        Ok(())
    }

    fn load_device(&self) -> Result<Option<Zeroizing<Vec<u8>>>, Infallible> {
        Ok(self.device.clone())
    }

    fn save_peer(&mut self, identity: &IdentityPublicKey, record: &[u8]) -> Result<(), Infallible> {
        self.peers.insert(*identity, record.to_vec());
        Ok(())
    }

    fn remove_peer(&mut self, identity: &IdentityPublicKey) -> Result<(), Infallible> {
        self.peers.remove(identity);
        Ok(())
    }

    fn load_peers(&self) -> Result<Vec<(IdentityPublicKey, Vec<u8>)>, Infallible> {
        Ok(self.peers.iter().map(|(k, v)| (*k, v.clone())).collect())
    }
}

impl SessionStore for MemoryStore {
    fn save_session(&mut self, key: &SessionKey, state: &[u8]) -> Result<(), Infallible> {
        self.sessions
            .insert(key.clone(), Zeroizing::new(state.to_vec()));
        Ok(())
    }

    fn remove_session(&mut self, key: &SessionKey) -> Result<(), Infallible> {
        self.sessions.remove(key);
        Ok(())
    }

    fn load_sessions(&self) -> Result<Vec<StoredSession>, Infallible> {
        Ok(self
            .sessions
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }
}
