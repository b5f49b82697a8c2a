//! Content topics of 23/WAKU2-TOPICS for the three kinds of 1:1 traffic, and the negotiated
//! topic and key of DESIGN.md rule 9.
//!
//! Every content topic has the form `/{app}/{version}/{name}/{encoding}` with
//! [`APP_NAME`] = `status-rs`, [`APP_VERSION`] = `1` and [`ENCODING`] = `proto` (the Waku
//! payload is protobuf, wrapped as described in [`crate::payload`]):
//!
//! | kind | content-topic name | payload |
//! |---|---|---|
//! | contact code (bundle adverts) | `contact-code-` + lowercase hex of the 32-byte Ed25519 identity key | framed `ProtocolMessage`, not encrypted |
//! | partitioned (first contact) | `contact-discovery-` + decimal partition (0..5000) | sealed to the recipient's identity (rule 10) |
//! | negotiated (once both sides hold a session) | lowercase hex of `t[0..16]` (32 characters) | AES-256-GCM with `t[32..64]` (rule 9) |
//!
//! The partition is the first 8 bytes of SHA-256 of the 32-byte identity key, read as a
//! big-endian `u64`, modulo [`PARTITIONS`] (5000, as in 54).
//!
//! The negotiated topic of an identity with itself (rule 9 with `IK_B = IK_A`) is the
//! **self topic**: the topic all devices of one person use to reach each other.

use core::fmt;

use hkdf::Hkdf;
use sha2::{Digest, Sha256};
use status_identity::{IdentityKeyPair, IdentityPublicKey, NonContributoryError};
use zeroize::Zeroizing;

use crate::payload::SymmetricKey;

/// The application name of every content topic this crate builds.
pub const APP_NAME: &str = "status-rs";
/// The application version of every content topic this crate builds.
pub const APP_VERSION: &str = "1";
/// The encoding of every content topic this crate builds.
pub const ENCODING: &str = "proto";
/// The pubsub topic Status uses for 1:1 traffic (cluster 16, shard 32), the default of
/// [`TopicConfig`].
pub const DEFAULT_PUBSUB_TOPIC: &str = "/waku/2/rs/16/32";
/// Number of partitions of the partitioned topic (54).
pub const PARTITIONS: u64 = 5000;

/// HKDF info of the negotiated topic and key (DESIGN.md rule 9).
pub const NEGOTIATED_INFO: &[u8] = b"WAKU2-X3DH/1/negotiated";

const CONTACT_CODE_PREFIX: &str = "contact-code-";
const PARTITION_PREFIX: &str = "contact-discovery-";

/// Where the topics of this crate are published: the pubsub topic (static sharding).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicConfig {
    /// The pubsub topic every content topic of this crate is published on.
    pub pubsub_topic: String,
}

impl Default for TopicConfig {
    fn default() -> Self {
        TopicConfig {
            pubsub_topic: DEFAULT_PUBSUB_TOPIC.to_owned(),
        }
    }
}

/// A content topic of 23: `/{app}/{version}/{name}/{encoding}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContentTopic(String);

impl ContentTopic {
    /// Builds `/status-rs/1/{name}/proto`.
    fn with_name(name: &str) -> Self {
        ContentTopic(format!("/{APP_NAME}/{APP_VERSION}/{name}/{ENCODING}"))
    }

    /// Wraps any string as a content topic (for topics received from the network).
    pub fn new(topic: impl Into<String>) -> Self {
        ContentTopic(topic.into())
    }

    /// The topic string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The `{name}` part if this is a topic of this application, else `None`.
    pub fn name(&self) -> Option<&str> {
        let rest = self.0.strip_prefix('/')?.strip_prefix(APP_NAME)?;
        let rest = rest.strip_prefix('/')?.strip_prefix(APP_VERSION)?;
        let rest = rest.strip_prefix('/')?;
        let name = rest.strip_suffix(ENCODING)?.strip_suffix('/')?;
        if name.is_empty() || name.contains('/') {
            return None;
        }
        Some(name)
    }

    /// Which kind of topic of this crate this is, from its shape alone.
    pub fn kind(&self) -> Option<TopicKind> {
        let name = self.name()?;
        if let Some(key) = name.strip_prefix(CONTACT_CODE_PREFIX) {
            let bytes = decode_hex_exact::<32>(key)?;
            return Some(TopicKind::ContactCode(bytes));
        }
        if let Some(partition) = name.strip_prefix(PARTITION_PREFIX) {
            let value: u16 = partition.parse().ok()?;
            // Only the canonical decimal form is a topic of ours.
            if u64::from(value) >= PARTITIONS || value.to_string() != partition {
                return None;
            }
            return Some(TopicKind::Partitioned(value));
        }
        decode_hex_exact::<16>(name)?;
        Some(TopicKind::Negotiated)
    }
}

impl fmt::Display for ContentTopic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for ContentTopic {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// The kind of a content topic of this crate, as recognised from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopicKind {
    /// A contact-code topic; carries the identity key bytes it names (not validated).
    ContactCode([u8; 32]),
    /// A partitioned topic with its partition number.
    Partitioned(u16),
    /// A negotiated topic (32 lowercase hex characters); which pair it belongs to is only
    /// known to the two parties.
    Negotiated,
}

fn decode_hex_exact<const N: usize>(s: &str) -> Option<[u8; N]> {
    // Lowercase only: the topic of a key has exactly one spelling.
    if s.len() != 2 * N || s.bytes().any(|b| b.is_ascii_uppercase()) {
        return None;
    }
    let mut out = [0u8; N];
    hex::decode_to_slice(s, &mut out).ok()?;
    Some(out)
}

/// The partition of an identity: the first 8 bytes of SHA-256 of its 32-byte Ed25519
/// encoding, as a big-endian `u64`, modulo [`PARTITIONS`].
pub fn partition(identity: &IdentityPublicKey) -> u16 {
    let digest = Sha256::digest(identity.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    // The remainder is below 5000, so it always fits a u16.
    u16::try_from(u64::from_be_bytes(first) % PARTITIONS).unwrap_or(0)
}

/// The partitioned topic of an identity, where first-contact messages sealed to it go.
pub fn partitioned_topic(identity: &IdentityPublicKey) -> ContentTopic {
    ContentTopic::with_name(&format!("{PARTITION_PREFIX}{}", partition(identity)))
}

/// The contact-code topic of an identity, where it advertises its bundle.
pub fn contact_code_topic(identity: &IdentityPublicKey) -> ContentTopic {
    ContentTopic::with_name(&format!(
        "{CONTACT_CODE_PREFIX}{}",
        hex::encode(identity.as_bytes())
    ))
}

/// The negotiated topic and symmetric key of a pair of identities (DESIGN.md rule 9).
///
/// `Debug` shows the topic only.
#[derive(Clone)]
pub struct Negotiated {
    topic: ContentTopic,
    key: SymmetricKey,
}

impl Negotiated {
    /// Derives the topic and key shared by `own` and `peer`:
    /// `t = HKDF-SHA256(salt = 32 zero bytes, ikm = DH(IK_own, IK_peer),
    /// info = "WAKU2-X3DH/1/negotiated", 64)`; topic name = hex of `t[0..16]`, key =
    /// `t[32..64]`. Both sides get the same result. `peer` may be `own`'s own public key
    /// (the self topic).
    pub fn derive(
        own: &IdentityKeyPair,
        peer: &IdentityPublicKey,
    ) -> Result<Self, NonContributoryError> {
        let shared = own.diffie_hellman(&peer.to_x25519())?;
        Ok(Self::from_shared_secret(shared.as_bytes()))
    }

    /// Derives topic and key from the 32-byte DH output (for known-answer tests).
    #[doc(hidden)]
    pub fn from_shared_secret(shared: &[u8; 32]) -> Self {
        let hkdf = Hkdf::<Sha256>::new(Some(&[0u8; 32]), shared);
        let mut t = Zeroizing::new([0u8; 64]);
        // 64 bytes is far below HKDF-SHA256's limit of 255 * 32; the error cannot happen.
        if hkdf.expand(NEGOTIATED_INFO, &mut t[..]).is_err() {
            t.fill(0);
        }
        let topic = ContentTopic::with_name(&hex::encode(&t[..16]));
        let mut key = [0u8; 32];
        key.copy_from_slice(&t[32..64]);
        Negotiated {
            topic,
            key: SymmetricKey::from_bytes(key),
        }
    }

    /// The negotiated content topic.
    pub fn topic(&self) -> &ContentTopic {
        &self.topic
    }

    /// The symmetric payload key of the negotiated topic.
    pub fn key(&self) -> &SymmetricKey {
        &self.key
    }
}

impl fmt::Debug for Negotiated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Negotiated")
            .field("topic", &self.topic)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::ChaCha20Rng;

    #[test]
    fn topics_have_the_23_shape_and_are_recognised() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let a = IdentityKeyPair::generate(&mut rng);
        let b = IdentityKeyPair::generate(&mut rng);
        let cc = contact_code_topic(a.public_key());
        assert!(cc.as_str().starts_with("/status-rs/1/contact-code-"));
        assert!(cc.as_str().ends_with("/proto"));
        assert_eq!(
            cc.kind(),
            Some(TopicKind::ContactCode(a.public_key().to_bytes()))
        );
        let p = partitioned_topic(a.public_key());
        assert_eq!(
            p.kind(),
            Some(TopicKind::Partitioned(partition(a.public_key())))
        );
        let ab = Negotiated::derive(&a, b.public_key()).unwrap();
        let ba = Negotiated::derive(&b, a.public_key()).unwrap();
        assert_eq!(ab.topic(), ba.topic());
        assert_eq!(ab.key().as_bytes(), ba.key().as_bytes());
        assert_eq!(ab.topic().kind(), Some(TopicKind::Negotiated));
        let aa = Negotiated::derive(&a, a.public_key()).unwrap();
        assert_ne!(aa.topic(), ab.topic());
        assert!(!format!("{ab:?}").contains(&hex::encode(ab.key().as_bytes())));
    }

    #[test]
    fn foreign_topics_are_not_ours() {
        for t in [
            "/waku/1/0x01020304/rfc26",
            "/status-rs/1/contact-discovery-5000/proto",
            "/status-rs/1/contact-discovery-07/proto",
            "/status-rs/1/contact-discovery-x/proto",
            "/status-rs/1/ABCDEFABCDEFABCDEFABCDEFABCDEFAB/proto",
            "/status-rs/1/abc/proto",
            "/status-rs/2/contact-discovery-7/proto",
            "/status-rs/1//proto",
            "/status-rs/1/a/b/proto",
            "",
        ] {
            assert_eq!(ContentTopic::new(t).kind(), None, "{t}");
        }
    }
}
