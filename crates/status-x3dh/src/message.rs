//! The encrypted message of one recipient installation: 53's `EncryptedMessageProtocol`
//! (called `DirectMessageProtocol` in 53) with its `X3DHHeader` and `DRHeader`, as checked
//! domain types.

use prost::Message as _;

use crate::keys::X25519PublicKey;
use crate::proto;

/// Length of the header bytes bound into the associated data (DESIGN.md rule 7).
pub const HEADER_LENGTH: usize = 40;

/// Length of the AES-256-GCM tag at the end of every payload.
pub const TAG_LENGTH: usize = 16;

/// Largest encoded message accepted by [`EncryptedMessage::decode`]: a Waku payload is at
/// most 150 KiB, so anything larger is hostile.
pub const MAX_ENCRYPTED_MESSAGE_BYTES: usize = 256 * 1024;

/// Which field of a message was malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyField {
    /// `X3DHHeader.key` (the initiator's ephemeral key).
    X3dhEphemeral,
    /// `X3DHHeader.id` (the responder's signed prekey).
    X3dhPreKey,
    /// `DRHeader.key` (the sender's ratchet key).
    RatchetKey,
    /// `DRHeader.id` (the bundle id).
    BundleId,
}

/// Why bytes are not an encrypted message of this suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MessageDecodeError {
    /// Not a protobuf `EncryptedMessageProtocol`.
    #[error("malformed protobuf")]
    Protobuf,
    /// Longer than [`MAX_ENCRYPTED_MESSAGE_BYTES`].
    #[error("message of {0} bytes is too long")]
    TooLong(usize),
    /// No `DR_header`: not a Double Ratchet message.
    #[error("no DR header")]
    MissingDrHeader,
    /// A DH-fallback or hash-ratchet header: not handled by this crate.
    #[error("DH or hash-ratchet header: not a Double Ratchet message")]
    UnsupportedHeader,
    /// A key is not 32 bytes.
    #[error("{field:?} is {len} bytes, not 32")]
    KeyLength {
        /// The field.
        field: KeyField,
        /// Its length.
        len: usize,
    },
    /// The payload is shorter than the 16-byte tag.
    #[error("payload of {0} bytes is shorter than the tag")]
    PayloadTooShort(usize),
}

/// The X3DH header of an initiator's messages (sent until the responder answers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct X3dhHeader {
    /// The initiator's ephemeral key `EK_A`.
    pub ephemeral_key: X25519PublicKey,
    /// The responder's signed prekey that was used.
    pub signed_pre_key: X25519PublicKey,
}

/// The Double Ratchet header (sent in clear, authenticated as associated data).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DrHeader {
    /// The sender's current ratchet public key.
    pub ratchet_key: X25519PublicKey,
    /// The message number in the sending chain.
    pub n: u32,
    /// The length of the sender's previous sending chain.
    pub pn: u32,
    /// The bundle id: the responder's signed prekey, naming the session.
    pub bundle_id: X25519PublicKey,
}

impl DrHeader {
    /// The header bytes bound into the associated data:
    /// `ratchet_key(32) || u32 BE pn || u32 BE n` (rebuilt from the fields, rule 7).
    pub fn to_bytes(&self) -> [u8; HEADER_LENGTH] {
        let mut out = [0u8; HEADER_LENGTH];
        out[..32].copy_from_slice(self.ratchet_key.as_bytes());
        out[32..36].copy_from_slice(&self.pn.to_be_bytes());
        out[36..].copy_from_slice(&self.n.to_be_bytes());
        out
    }
}

/// One recipient installation's message: optional X3DH header, DR header and payload
/// (`ciphertext || tag(16)`, no nonce).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EncryptedMessage {
    /// Present on the initiator's messages until the session is confirmed.
    pub x3dh: Option<X3dhHeader>,
    /// The Double Ratchet header.
    pub header: DrHeader,
    /// `ciphertext || tag`.
    pub payload: Vec<u8>,
}

impl EncryptedMessage {
    /// Decodes an `EncryptedMessageProtocol`, checking key lengths and the payload length.
    pub fn decode(bytes: &[u8]) -> Result<Self, MessageDecodeError> {
        if bytes.len() > MAX_ENCRYPTED_MESSAGE_BYTES {
            return Err(MessageDecodeError::TooLong(bytes.len()));
        }
        let message = proto::EncryptedMessageProtocol::decode(bytes)
            .map_err(|_| MessageDecodeError::Protobuf)?;
        EncryptedMessage::try_from(message)
    }

    /// The protobuf encoding.
    pub fn encode(&self) -> Vec<u8> {
        proto::EncryptedMessageProtocol::from(self).encode_to_vec()
    }
}

fn key(bytes: &[u8], field: KeyField) -> Result<X25519PublicKey, MessageDecodeError> {
    X25519PublicKey::from_slice(bytes).map_err(|len| MessageDecodeError::KeyLength { field, len })
}

impl TryFrom<proto::EncryptedMessageProtocol> for EncryptedMessage {
    type Error = MessageDecodeError;

    fn try_from(message: proto::EncryptedMessageProtocol) -> Result<Self, Self::Error> {
        if message.dh_header.is_some() || message.hr_header.is_some() {
            return Err(MessageDecodeError::UnsupportedHeader);
        }
        let dr = message
            .dr_header
            .ok_or(MessageDecodeError::MissingDrHeader)?;
        let header = DrHeader {
            ratchet_key: key(&dr.key, KeyField::RatchetKey)?,
            n: dr.n,
            pn: dr.pn,
            bundle_id: key(&dr.id, KeyField::BundleId)?,
        };
        let x3dh = match message.x3dh_header {
            None => None,
            Some(x) => Some(X3dhHeader {
                ephemeral_key: key(&x.key, KeyField::X3dhEphemeral)?,
                signed_pre_key: key(&x.id, KeyField::X3dhPreKey)?,
            }),
        };
        if message.payload.len() < TAG_LENGTH {
            return Err(MessageDecodeError::PayloadTooShort(message.payload.len()));
        }
        Ok(EncryptedMessage {
            x3dh,
            header,
            payload: message.payload,
        })
    }
}

impl From<&EncryptedMessage> for proto::EncryptedMessageProtocol {
    fn from(message: &EncryptedMessage) -> Self {
        proto::EncryptedMessageProtocol {
            x3dh_header: message.x3dh.map(|x| proto::X3dhHeader {
                key: x.ephemeral_key.to_bytes().to_vec(),
                id: x.signed_pre_key.to_bytes().to_vec(),
            }),
            dr_header: Some(proto::DrHeader {
                key: message.header.ratchet_key.to_bytes().to_vec(),
                n: message.header.n,
                pn: message.header.pn,
                id: message.header.bundle_id.to_bytes().to_vec(),
            }),
            payload: message.payload.clone(),
            dh_header: None,
            hr_header: None,
        }
    }
}
