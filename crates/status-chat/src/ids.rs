//! Identifiers: message ids (DESIGN.md "Wire and topics"), chat ids and group chat ids.

use core::fmt;

use sha2::{Digest, Sha256};
use status_identity::IdentityPublicKey;
use status_identity::keys::PUBLIC_KEY_LENGTH;

/// Longest chat id string accepted from a peer.
pub const MAX_CHAT_ID_LEN: usize = 2 + 2 * PUBLIC_KEY_LENGTH + 1 + 36;

/// Why a string is not a valid identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    /// A message id is not `0x` followed by 64 hex digits.
    #[error("message id is not 0x followed by 64 hex digits")]
    MessageId,
    /// A key in hex is not `0x` followed by 64 hex digits of a valid identity key.
    #[error("public key is not 0x followed by 64 hex digits of a valid identity key")]
    PublicKey,
    /// A group chat id is not `0x<creator key>-<uuid>`.
    #[error("group chat id is not 0x<creator key hex>-<uuid>")]
    GroupId,
}

/// The id of an application message: SHA-256 of the sender's 32-byte public key followed
/// by the encoded `ApplicationMetadataMessage` (DESIGN.md; status-go uses Keccak-256 and
/// the 65-byte secp256k1 key).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId(pub [u8; 32]);

impl MessageId {
    /// Computes the id of `wrapper` (the encoded `ApplicationMetadataMessage`) sent by `sender`.
    pub fn compute(sender: &IdentityPublicKey, wrapper: &[u8]) -> Self {
        let mut h = Sha256::new();
        h.update(sender.as_bytes());
        h.update(wrapper);
        MessageId(h.finalize().into())
    }

    /// `0x` followed by 64 lowercase hex digits, as carried in `response_to` and `message_id`.
    pub fn to_hex(&self) -> String {
        format!("0x{}", hex::encode(self.0))
    }

    /// Parses the `0x`-prefixed hex form.
    pub fn from_hex(s: &str) -> Result<Self, IdError> {
        let digits = s.strip_prefix("0x").ok_or(IdError::MessageId)?;
        if digits.len() != 64 {
            return Err(IdError::MessageId);
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(digits, &mut out).map_err(|_| IdError::MessageId)?;
        Ok(MessageId(out))
    }
}

impl fmt::Debug for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MessageId({})", hex::encode(&self.0[..6]))
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// `0x` + hex of a 32-byte identity key: the 1:1 chat id on the wire (62 / status-go §4).
pub fn key_to_hex(key: &IdentityPublicKey) -> String {
    format!("0x{}", hex::encode(key.as_bytes()))
}

/// Parses `0x` + 64 hex digits into a validated identity key.
pub fn key_from_hex(s: &str) -> Result<IdentityPublicKey, IdError> {
    let digits = s.strip_prefix("0x").ok_or(IdError::PublicKey)?;
    if digits.len() != 2 * PUBLIC_KEY_LENGTH {
        return Err(IdError::PublicKey);
    }
    let mut out = [0u8; PUBLIC_KEY_LENGTH];
    hex::decode_to_slice(digits, &mut out).map_err(|_| IdError::PublicKey)?;
    IdentityPublicKey::from_bytes(&out).map_err(|_| IdError::PublicKey)
}

/// The id of a private group chat (55): `0x` + hex(creator key) + `-` + a random UUID
/// (lowercase, 8-4-4-4-12 hex digits). Every participant validates it.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupId {
    text: String,
    creator: [u8; PUBLIC_KEY_LENGTH],
}

impl GroupId {
    /// A fresh group id for `creator`, with a random version-4 UUID.
    pub fn generate<R: rand_core::CryptoRng + ?Sized>(
        rng: &mut R,
        creator: &IdentityPublicKey,
    ) -> Self {
        let mut b = [0u8; 16];
        rng.fill_bytes(&mut b);
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let h = hex::encode(b);
        let uuid = format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        );
        GroupId {
            text: format!("{}-{uuid}", key_to_hex(creator)),
            creator: creator.to_bytes(),
        }
    }

    /// Parses and validates a group id.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        if s.len() != MAX_CHAT_ID_LEN || !s.is_ascii() {
            return Err(IdError::GroupId);
        }
        let (key, rest) = s.split_at(2 + 2 * PUBLIC_KEY_LENGTH);
        let creator = key_from_hex(key).map_err(|_| IdError::GroupId)?;
        let uuid = rest.strip_prefix('-').ok_or(IdError::GroupId)?;
        let ok = uuid.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_digit() || ('a'..='f').contains(&c),
        });
        if !ok || uuid.len() != 36 {
            return Err(IdError::GroupId);
        }
        Ok(GroupId {
            text: s.to_owned(),
            creator: creator.to_bytes(),
        })
    }

    /// The string form.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The creator named by the id (validated when the id was parsed).
    pub fn creator(&self) -> Result<IdentityPublicKey, IdError> {
        IdentityPublicKey::from_bytes(&self.creator).map_err(|_| IdError::GroupId)
    }
}

impl fmt::Debug for GroupId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GroupId({})", self.text)
    }
}

impl fmt::Display for GroupId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A chat as seen locally: a 1:1 chat is filed under the other party's key, a group chat
/// under its group id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChatId {
    /// A 1:1 chat with this peer.
    OneToOne(IdentityPublicKey),
    /// A private group chat.
    Group(GroupId),
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::ChaCha20Rng;
    use status_identity::IdentityKeyPair;

    #[test]
    fn message_id_hex_round_trip() {
        let id = MessageId([0xab; 32]);
        assert_eq!(MessageId::from_hex(&id.to_hex()), Ok(id));
        assert!(MessageId::from_hex("ab").is_err());
        assert!(MessageId::from_hex(&format!("0x{}", "zz".repeat(32))).is_err());
        assert!(MessageId::from_hex("0xé").is_err());
    }

    #[test]
    fn group_id_round_trip_and_rejects() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let k = IdentityKeyPair::generate(&mut rng);
        let g = GroupId::generate(&mut rng, k.public_key());
        let p = GroupId::parse(g.as_str()).unwrap();
        assert_eq!(p, g);
        assert_eq!(p.creator().unwrap(), *k.public_key());
        let mut bad = g.as_str().to_owned();
        bad.replace_range(70..71, "x");
        assert!(GroupId::parse(&bad).is_err());
        assert!(GroupId::parse("").is_err());
        assert!(GroupId::parse(&"é".repeat(50)).is_err());
        let mut odd = "a".repeat(65);
        odd.push('é');
        odd.push_str(&"a".repeat(36));
        assert_eq!(odd.len(), MAX_CHAT_ID_LEN);
        assert!(GroupId::parse(&odd).is_err());
    }
}
