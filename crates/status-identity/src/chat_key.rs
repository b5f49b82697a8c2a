//! Chat keys: the text form of an identity that users share.
//!
//! A chat key is multibase base58btc (prefix `z`) of the multicodec `ed25519-pub`
//! (unsigned varint `0xed 0x01`) followed by the 32-byte Ed25519 public key, so every chat
//! key starts with `z6Mk`. Status's own chat keys are secp256k1 (`0xe7 0x01`, `zQ3s…`);
//! they are refused with their own error ([`ChatKeyError::Secp256k1`]), as this suite
//! has no secp256k1 identities yet (DESIGN.md rule 8).

use core::fmt;
use core::str::FromStr;

use crate::keys::{IdentityPublicKey, KeyError, PUBLIC_KEY_LENGTH};

/// Multibase prefix of base58btc.
pub const MULTIBASE_BASE58BTC: char = 'z';
/// Unsigned-varint multicodec `ed25519-pub` (0xed).
pub const MULTICODEC_ED25519_PUB: [u8; 2] = [0xed, 0x01];
/// Unsigned-varint multicodec `secp256k1-pub` (0xe7), Status's key type.
pub const MULTICODEC_SECP256K1_PUB: [u8; 2] = [0xe7, 0x01];
/// Longest string [`ChatKey::from_str`] looks at, in bytes; a chat key is 48.
pub const MAX_CHAT_KEY_BYTES: usize = 128;

/// Why a string is not a chat key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChatKeyError {
    /// The string is empty.
    #[error("empty chat key")]
    Empty,
    /// The string is longer than [`MAX_CHAT_KEY_BYTES`].
    #[error("chat key too long: {0} bytes")]
    TooLong(usize),
    /// The multibase prefix is not `z` (base58btc).
    #[error("chat key multibase prefix must be 'z' (base58btc), got {0:?}")]
    WrongMultibase(char),
    /// A character (byte offset after the prefix) is not in the base58btc alphabet.
    #[error("chat key is not base58btc (character at {0})")]
    NotBase58(usize),
    /// The key is a secp256k1 key (multicodec `0xe7 0x01`), as Status's own chat keys.
    #[error("chat key is a secp256k1 key; only Ed25519 chat keys are supported")]
    Secp256k1,
    /// The multicodec is not `ed25519-pub`; the decoded code, when it is a valid varint.
    #[error("chat key multicodec is not ed25519-pub (code {0:?})")]
    WrongMulticodec(Option<u64>),
    /// The key after the multicodec is not 32 bytes.
    #[error("chat key must carry {PUBLIC_KEY_LENGTH} key bytes, got {0}")]
    Length(usize),
    /// The 32 bytes are not an acceptable identity key (not a point, weak, ...).
    #[error("chat key is not a valid identity key: {0}")]
    Key(#[from] KeyError),
}

/// A parsed, validated chat key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct ChatKey(IdentityPublicKey);

impl ChatKey {
    /// The identity key this chat key names.
    pub fn public_key(&self) -> &IdentityPublicKey {
        &self.0
    }

    /// Parses a chat key (the same as `str::parse`).
    pub fn parse(s: &str) -> Result<Self, ChatKeyError> {
        s.parse()
    }
}

impl From<IdentityPublicKey> for ChatKey {
    fn from(key: IdentityPublicKey) -> Self {
        ChatKey(key)
    }
}

impl From<ChatKey> for IdentityPublicKey {
    fn from(key: ChatKey) -> Self {
        key.0
    }
}

impl IdentityPublicKey {
    /// The chat key (`z6Mk…`) of this identity.
    pub fn to_chat_key(&self) -> String {
        ChatKey(*self).to_string()
    }

    /// Parses a chat key (`z6Mk…`).
    pub fn from_chat_key(s: &str) -> Result<Self, ChatKeyError> {
        Ok(ChatKey::from_str(s)?.0)
    }
}

impl fmt::Display for ChatKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut bytes = [0u8; 2 + PUBLIC_KEY_LENGTH];
        bytes[..2].copy_from_slice(&MULTICODEC_ED25519_PUB);
        bytes[2..].copy_from_slice(self.0.as_bytes());
        write!(
            f,
            "{MULTIBASE_BASE58BTC}{}",
            bs58::encode(bytes).into_string()
        )
    }
}

/// Reads an unsigned varint (at most 9 bytes, as multiformats allows).
fn uvarint(bytes: &[u8]) -> Option<u64> {
    let mut value: u64 = 0;
    for (i, &b) in bytes.iter().take(9).enumerate() {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

impl FromStr for ChatKey {
    type Err = ChatKeyError;

    fn from_str(s: &str) -> Result<Self, ChatKeyError> {
        if s.len() > MAX_CHAT_KEY_BYTES {
            return Err(ChatKeyError::TooLong(s.len()));
        }
        let mut chars = s.chars();
        let prefix = chars.next().ok_or(ChatKeyError::Empty)?;
        if prefix != MULTIBASE_BASE58BTC {
            return Err(ChatKeyError::WrongMultibase(prefix));
        }
        let body = chars.as_str();
        let bytes = bs58::decode(body).into_vec().map_err(|e| match e {
            bs58::decode::Error::InvalidCharacter { index, .. } => ChatKeyError::NotBase58(index),
            bs58::decode::Error::NonAsciiCharacter { index } => ChatKeyError::NotBase58(index),
            _ => ChatKeyError::NotBase58(0),
        })?;
        if bytes.starts_with(&MULTICODEC_SECP256K1_PUB) {
            return Err(ChatKeyError::Secp256k1);
        }
        let Some(key) = bytes.strip_prefix(&MULTICODEC_ED25519_PUB[..]) else {
            return Err(ChatKeyError::WrongMulticodec(uvarint(&bytes)));
        };
        if key.len() != PUBLIC_KEY_LENGTH {
            return Err(ChatKeyError::Length(key.len()));
        }
        Ok(ChatKey(IdentityPublicKey::from_slice(key)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::IdentityKeyPair;
    use rand::SeedableRng;
    use rand::rngs::ChaCha20Rng;

    fn encode(bytes: &[u8]) -> String {
        format!("z{}", bs58::encode(bytes).into_string())
    }

    #[test]
    fn round_trip_and_prefix() {
        let key = IdentityKeyPair::generate(&mut ChaCha20Rng::seed_from_u64(8));
        let text = key.public_key().to_chat_key();
        assert!(text.starts_with("z6Mk"), "{text}");
        assert_eq!(text.len(), 48);
        assert_eq!(
            IdentityPublicKey::from_chat_key(&text).unwrap(),
            *key.public_key()
        );
    }

    #[test]
    fn every_malformed_input_has_its_error() {
        let key = IdentityKeyPair::generate(&mut ChaCha20Rng::seed_from_u64(9));
        let good = key.public_key().to_chat_key();
        let raw = [&MULTICODEC_ED25519_PUB[..], key.public_key().as_bytes()].concat();
        assert_eq!(ChatKey::parse(""), Err(ChatKeyError::Empty));
        assert_eq!(
            ChatKey::parse(&good.replacen('z', "f", 1)),
            Err(ChatKeyError::WrongMultibase('f'))
        );
        assert_eq!(
            ChatKey::parse(&"z".repeat(200)),
            Err(ChatKeyError::TooLong(200))
        );
        // '0', 'O', 'I', 'l' are not base58.
        let mut bad = good.clone();
        bad.replace_range(5..6, "0");
        assert_eq!(ChatKey::parse(&bad), Err(ChatKeyError::NotBase58(4)));
        assert_eq!(ChatKey::parse("zé"), Err(ChatKeyError::NotBase58(0)));
        // Status's own secp256k1 chat key (the example of the account spec).
        assert_eq!(
            ChatKey::parse("zQ3shPyZJnxZK4Bwyx9QsaksNKDYTPmpwPvGSjMYVHoXHeEgB"),
            Err(ChatKeyError::Secp256k1)
        );
        // x25519-pub (0xec) and a non-terminated varint.
        let mut other = raw.clone();
        other[0] = 0xec;
        assert_eq!(
            ChatKey::parse(&encode(&other)),
            Err(ChatKeyError::WrongMulticodec(Some(0xec)))
        );
        assert_eq!(
            ChatKey::parse(&encode(&[0xff; 12])),
            Err(ChatKeyError::WrongMulticodec(None))
        );
        assert_eq!(
            ChatKey::parse("z"),
            Err(ChatKeyError::WrongMulticodec(None))
        );
        // Wrong lengths.
        assert_eq!(
            ChatKey::parse(&encode(&raw[..33])),
            Err(ChatKeyError::Length(31))
        );
        assert_eq!(
            ChatKey::parse(&encode(&[&raw[..], &[0]].concat())),
            Err(ChatKeyError::Length(33))
        );
        // Weak key: the identity point.
        let mut weak = MULTICODEC_ED25519_PUB.to_vec();
        let mut identity = [0u8; 32];
        identity[0] = 1;
        weak.extend_from_slice(&identity);
        assert_eq!(
            ChatKey::parse(&encode(&weak)),
            Err(ChatKeyError::Key(KeyError::SmallOrder))
        );
        // Not on the curve: y = 2 has no x.
        let mut off = MULTICODEC_ED25519_PUB.to_vec();
        let mut y = [0u8; 32];
        y[0] = 2;
        off.extend_from_slice(&y);
        assert_eq!(
            ChatKey::parse(&encode(&off)),
            Err(ChatKeyError::Key(KeyError::NotOnCurve))
        );
    }
}
