//! An interim [`SessionLayer`] for tests, examples and fuzzing, built on the real topics
//! and Waku payload encryption of status-sessions but **without** X3DH or a double
//! ratchet: no forward secrecy, and the sender's identity inside the sealed payload is
//! only claimed (application messages are still Ed25519-signed and verified against it).
//! Not for production: the facade plugs in status-sessions' session manager.
//!
//! First messages to a peer are sealed to its identity on its partitioned topic; once a
//! message from the peer has been decrypted, messages to it use the negotiated topic and
//! key of the pair. The plaintext inside is `sender key(32) || plaintext`.

use std::collections::BTreeMap;

use rand_core::CryptoRng;
use status_identity::{IdentityKeyPair, IdentityPublicKey};
use status_sessions::payload as sp;
use status_sessions::topics::{
    ContentTopic, Negotiated, TopicConfig, TopicKind, contact_code_topic, partition,
    partitioned_topic,
};

use crate::chat::{Decrypted, SessionIncoming, SessionLayer, WakuOut};

/// Most peers the interim layer keeps.
pub const MAX_PEERS: usize = 10_000;

/// Errors of the interim layer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InterimError {
    /// The Waku payload could not be opened or built.
    #[error("payload: {0}")]
    Payload(String),
    /// The plaintext has no sender key.
    #[error("no sender key")]
    NoSender,
    /// Too many peers.
    #[error("too many peers")]
    TooManyPeers,
    /// A Diffie-Hellman output was all zero.
    #[error("non-contributory key")]
    NonContributory,
}

struct Peer {
    negotiated: Negotiated,
    confirmed: bool,
}

/// The interim session layer of one identity.
pub struct InterimSessions {
    own: IdentityKeyPair,
    topics: TopicConfig,
    peers: BTreeMap<IdentityPublicKey, Peer>,
    by_topic: BTreeMap<String, IdentityPublicKey>,
}

impl core::fmt::Debug for InterimSessions {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("InterimSessions")
            .field("own", self.own.public_key())
            .finish_non_exhaustive()
    }
}

impl InterimSessions {
    /// A layer for `own` on the default pubsub topic.
    pub fn new(own: &IdentityKeyPair) -> Self {
        InterimSessions {
            own: IdentityKeyPair::from_secret_bytes(&own.to_secret_bytes()),
            topics: TopicConfig::default(),
            peers: BTreeMap::new(),
            by_topic: BTreeMap::new(),
        }
    }

    fn peer(&mut self, key: &IdentityPublicKey) -> Result<&mut Peer, InterimError> {
        if !self.peers.contains_key(key) {
            if self.peers.len() >= MAX_PEERS {
                return Err(InterimError::TooManyPeers);
            }
            let negotiated =
                Negotiated::derive(&self.own, key).map_err(|_| InterimError::NonContributory)?;
            self.by_topic
                .insert(negotiated.topic().as_str().to_owned(), *key);
            self.peers.insert(
                *key,
                Peer {
                    negotiated,
                    confirmed: false,
                },
            );
        }
        self.peers.get_mut(key).ok_or(InterimError::NoSender)
    }

    /// Whether messages to `peer` now go to the negotiated topic.
    pub fn is_confirmed(&self, peer: &IdentityPublicKey) -> bool {
        self.peers.get(peer).is_some_and(|p| p.confirmed)
    }

    fn decrypt_inner(
        &mut self,
        content_topic: &str,
        payload: &[u8],
    ) -> Result<Option<Decrypted>, InterimError> {
        match ContentTopic::new(content_topic).kind() {
            Some(TopicKind::Partitioned(p)) if p == partition(self.own.public_key()) => {
                let inner = sp::open(&self.own, payload).map_err(perr)?;
                let d = self.finish(&inner)?;
                if let Some(d) = &d {
                    self.peer(&d.sender)?.confirmed = true;
                }
                Ok(d)
            }
            Some(TopicKind::Negotiated) => {
                let Some(peer) = self.by_topic.get(content_topic).copied() else {
                    return Ok(None);
                };
                let p = self.peer(&peer)?;
                let inner = p.negotiated.key().decrypt(payload).map_err(perr)?;
                let d = self.finish(&inner)?;
                match d {
                    // Our own message on the pair's topic, coming back.
                    Some(d) if d.sender == *self.own.public_key() => Ok(None),
                    Some(d) if d.sender == peer => {
                        self.peer(&peer)?.confirmed = true;
                        Ok(Some(d))
                    }
                    _ => Err(InterimError::NoSender),
                }
            }
            _ => Ok(None),
        }
    }

    fn finish(&mut self, inner: &[u8]) -> Result<Option<Decrypted>, InterimError> {
        if inner.len() < 32 {
            return Err(InterimError::NoSender);
        }
        let (k, plaintext) = inner.split_at(32);
        let sender = IdentityPublicKey::from_slice(k).map_err(|_| InterimError::NoSender)?;
        Ok(Some(Decrypted {
            sender,
            plaintext: plaintext.to_vec(),
        }))
    }
}

fn perr(e: impl core::fmt::Debug) -> InterimError {
    InterimError::Payload(format!("{e:?}"))
}

impl SessionLayer for InterimSessions {
    type Error = InterimError;

    fn encrypt<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        _now_ms: u64,
        to: &IdentityPublicKey,
        plaintext: &[u8],
    ) -> Result<Vec<WakuOut>, InterimError> {
        let mut inner = Vec::with_capacity(32 + plaintext.len());
        inner.extend_from_slice(self.own.public_key().as_bytes());
        inner.extend_from_slice(plaintext);
        let pubsub_topic = self.topics.pubsub_topic.clone();
        let p = self.peer(to)?;
        let (content_topic, payload) = if p.confirmed {
            (
                p.negotiated.topic().as_str().to_owned(),
                p.negotiated.key().encrypt(rng, &inner).map_err(perr)?,
            )
        } else {
            (
                partitioned_topic(to).as_str().to_owned(),
                sp::seal(rng, to, &inner).map_err(perr)?,
            )
        };
        Ok(vec![WakuOut {
            pubsub_topic,
            content_topic,
            payload,
        }])
    }

    fn decrypt<R: CryptoRng + ?Sized>(
        &mut self,
        _rng: &mut R,
        _now_ms: u64,
        pubsub_topic: &str,
        content_topic: &str,
        payload: &[u8],
    ) -> Result<SessionIncoming, InterimError> {
        if pubsub_topic != self.topics.pubsub_topic {
            return Ok(SessionIncoming::default());
        }
        let message = self.decrypt_inner(content_topic, payload)?;
        Ok(SessionIncoming {
            message,
            messages: Vec::new(),
        })
    }

    fn add_bundle(
        &mut self,
        _now_ms: u64,
        peer: &IdentityPublicKey,
        _bundle: &[u8],
    ) -> Result<(), InterimError> {
        self.peer(peer).map(|_| ())
    }

    fn advertise<R: CryptoRng + ?Sized>(
        &mut self,
        _rng: &mut R,
        _now_ms: u64,
    ) -> Result<Vec<WakuOut>, InterimError> {
        Ok(vec![WakuOut {
            pubsub_topic: self.topics.pubsub_topic.clone(),
            content_topic: contact_code_topic(self.own.public_key())
                .as_str()
                .to_owned(),
            payload: sp::frame_public(self.own.public_key().as_bytes()).map_err(perr)?,
        }])
    }

    fn subscriptions(&self) -> Vec<(String, String)> {
        let ps = &self.topics.pubsub_topic;
        let mut v = vec![
            (
                ps.clone(),
                partitioned_topic(self.own.public_key()).as_str().to_owned(),
            ),
            (
                ps.clone(),
                contact_code_topic(self.own.public_key())
                    .as_str()
                    .to_owned(),
            ),
        ];
        v.extend(self.by_topic.keys().map(|t| (ps.clone(), t.clone())));
        v
    }
}
