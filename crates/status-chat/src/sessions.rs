//! The [`SessionLayer`] over status-sessions' multi-device [`SessionManager`] (54): X3DH
//! and double-ratchet sessions with every installation of a peer, first contact sealed on
//! the peer's partitioned topic, the negotiated topic once the peer has answered, bundle
//! adverts on the contact-code topic.
//!
//! Every session change is written to the [`SessionStore`] before the Waku messages that
//! depend on it are handed back, as status-sessions requires.

use rand_core::CryptoRng;
use status_identity::IdentityPublicKey;
use status_sessions::{
    ContentTopic, DecryptError, EncryptError, OutgoingMessage, SessionManager, SessionStore,
};

use crate::chat::{Decrypted, SessionIncoming, SessionLayer, WakuOut};

/// Most session-layer events kept for [`X3dhSessions::take_events`].
pub const MAX_SESSION_EVENTS: usize = 1024;

/// Why the session layer failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// Encryption failed (no bundle of the peer known, too large).
    #[error(transparent)]
    Encrypt(#[from] EncryptError),
    /// Decryption failed.
    #[error(transparent)]
    Decrypt(#[from] DecryptError),
    /// A bundle did not verify.
    #[error("bundle: {0}")]
    Bundle(String),
    /// The session store failed.
    #[error("store: {0}")]
    Store(String),
}

/// Unix milliseconds to the nanoseconds status-sessions works in.
fn ns(now_ms: u64) -> i64 {
    i64::try_from(now_ms.saturating_mul(1_000_000)).unwrap_or(i64::MAX)
}

fn waku(m: OutgoingMessage) -> WakuOut {
    WakuOut {
        pubsub_topic: m.pubsub_topic,
        content_topic: m.content_topic.as_str().to_owned(),
        payload: m.payload,
    }
}

/// A [`SessionManager`] with the store its changes go to.
pub struct X3dhSessions<S: SessionStore> {
    manager: SessionManager,
    store: S,
    events: Vec<status_sessions::Event>,
    duplicates: u64,
}

impl<S: SessionStore> core::fmt::Debug for X3dhSessions<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("X3dhSessions")
            .field("manager", &self.manager)
            .finish_non_exhaustive()
    }
}

impl<S: SessionStore> X3dhSessions<S> {
    /// Wraps a manager and its store (already holding the manager's state).
    pub fn new(manager: SessionManager, store: S) -> Self {
        X3dhSessions {
            manager,
            store,
            events: Vec::new(),
            duplicates: 0,
        }
    }

    /// The manager.
    pub fn manager(&self) -> &SessionManager {
        &self.manager
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Waku messages received twice and ignored (the session layer refuses replays).
    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }

    /// Our encoded bundle, for a contact code.
    pub fn bundle_bytes(&self) -> Vec<u8> {
        self.manager.bundle().encode()
    }

    /// Session-layer events (new installations, recoveries, undecryptable messages) since
    /// the last call; at most [`MAX_SESSION_EVENTS`] are kept.
    pub fn take_events(&mut self) -> Vec<status_sessions::Event> {
        std::mem::take(&mut self.events)
    }

    fn keep(&mut self, events: Vec<status_sessions::Event>) {
        for e in events {
            if self.events.len() < MAX_SESSION_EVENTS {
                self.events.push(e);
            }
        }
    }

    fn persist(&mut self, changes: &status_sessions::StoreChanges) -> Result<(), SessionError> {
        changes
            .apply(&mut self.store)
            .map_err(|e| SessionError::Store(e.to_string()))
    }
}

impl<S: SessionStore> SessionLayer for X3dhSessions<S> {
    type Error = SessionError;

    fn encrypt<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        now_ms: u64,
        to: &IdentityPublicKey,
        plaintext: &[u8],
    ) -> Result<Vec<WakuOut>, SessionError> {
        let out = self.manager.encrypt(rng, ns(now_ms), to, plaintext)?;
        self.persist(&out.changes)?;
        self.keep(out.events);
        Ok(out.messages.into_iter().map(waku).collect())
    }

    fn decrypt<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        now_ms: u64,
        pubsub_topic: &str,
        content_topic: &str,
        payload: &[u8],
    ) -> Result<SessionIncoming, SessionError> {
        if pubsub_topic != self.manager.pubsub_topic() {
            return Ok(SessionIncoming::default());
        }
        let topic = ContentTopic::new(content_topic);
        let incoming = match self.manager.decrypt(rng, ns(now_ms), &topic, payload) {
            Ok(i) => i,
            // A Waku message delivered twice (normal in gossip): nothing to do.
            Err(DecryptError::Duplicate) => {
                self.duplicates += 1;
                return Ok(SessionIncoming::default());
            }
            Err(e) => return Err(e.into()),
        };
        self.persist(&incoming.changes)?;
        self.keep(incoming.events);
        Ok(SessionIncoming {
            message: incoming.message.map(|r| Decrypted {
                sender: r.sender,
                plaintext: r.plaintext.to_vec(),
            }),
            messages: incoming.messages.into_iter().map(waku).collect(),
        })
    }

    fn add_bundle(
        &mut self,
        now_ms: u64,
        peer: &IdentityPublicKey,
        bundle: &[u8],
    ) -> Result<(), SessionError> {
        let incoming = self
            .manager
            .add_bundle(ns(now_ms), bundle)
            .map_err(|e| SessionError::Bundle(e.to_string()))?;
        self.persist(&incoming.changes)?;
        self.keep(incoming.events);
        if self.manager.installations(peer).is_empty() {
            return Err(SessionError::Bundle("the bundle is not the peer's".into()));
        }
        Ok(())
    }

    fn advertise<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        now_ms: u64,
    ) -> Result<Vec<WakuOut>, SessionError> {
        let tick = self.manager.tick(rng, ns(now_ms));
        self.persist(&tick.changes)?;
        self.keep(tick.events);
        let advert = self
            .manager
            .bundle_advert()
            .map_err(|e| SessionError::Bundle(e.to_string()))?;
        Ok(vec![waku(advert)])
    }

    fn subscriptions(&self) -> Vec<(String, String)> {
        let ps = self.manager.pubsub_topic().to_owned();
        self.manager
            .subscriptions()
            .into_iter()
            .map(|t| (ps.clone(), t.as_str().to_owned()))
            .collect()
    }
}
