//! Application payloads of 62/STATUS-PAYLOADS as checked domain types, and the signed
//! `ApplicationMetadataMessage` wrapper around them.
//!
//! Peer input is decoded with [`open`], which never panics: every size is capped before
//! decoding, every field is validated, and the wrapper's Ed25519 signature (with the
//! [`SignatureContext::ApplicationMessage`] label) must verify for the sender that the
//! session layer authenticated.

use prost::Message as _;
use status_identity::{IdentityKeyPair, IdentityPublicKey, Signature, SignatureContext};

use crate::group::{GroupError, MembershipUpdate};
use crate::ids::{IdError, MAX_CHAT_ID_LEN, MessageId};
use crate::proto::protobuf as pb;

/// Largest encoded `ApplicationMetadataMessage` accepted (below the 150 KiB Waku payload
/// limit, leaving room for the encryption and reliability layers).
pub const MAX_WRAPPER_BYTES: usize = 96 * 1024;
/// Largest text of a chat message or edit, in bytes.
pub const MAX_TEXT_BYTES: usize = 16 * 1024;
/// Largest display name, in bytes.
pub const MAX_DISPLAY_NAME_BYTES: usize = 128;

/// Whether a message belongs to a 1:1 chat or a private group chat (62 `MessageType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageType {
    /// A 1:1 chat (`ONE_TO_ONE`).
    OneToOne,
    /// A private group chat (`PRIVATE_GROUP`).
    PrivateGroup,
}

impl MessageType {
    fn to_proto(self) -> pb::MessageType {
        match self {
            MessageType::OneToOne => pb::MessageType::OneToOne,
            MessageType::PrivateGroup => pb::MessageType::PrivateGroup,
        }
    }

    fn from_proto(v: i32) -> Result<Self, PayloadError> {
        match pb::MessageType::try_from(v) {
            Ok(pb::MessageType::OneToOne) => Ok(MessageType::OneToOne),
            Ok(pb::MessageType::PrivateGroup) => Ok(MessageType::PrivateGroup),
            _ => Err(PayloadError::UnsupportedMessageType(v)),
        }
    }
}

/// What a `ChatMessage` carries (the content types this implementation supports).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContentType {
    /// Plain text (`TEXT_PLAIN`, 1).
    Text,
    /// A contact request with its intro text (`CONTACT_REQUEST`, 11).
    ContactRequest,
}

/// One of the reactions of 62's `EmojiReaction.Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Emoji {
    /// ❤
    Love,
    /// 👍
    ThumbsUp,
    /// 👎
    ThumbsDown,
    /// 😂
    Laugh,
    /// 😢
    Sad,
    /// 😡
    Angry,
}

impl Emoji {
    fn to_proto(self) -> pb::emoji_reaction::Type {
        use pb::emoji_reaction::Type as T;
        match self {
            Emoji::Love => T::Love,
            Emoji::ThumbsUp => T::ThumbsUp,
            Emoji::ThumbsDown => T::ThumbsDown,
            Emoji::Laugh => T::Laugh,
            Emoji::Sad => T::Sad,
            Emoji::Angry => T::Angry,
        }
    }

    fn from_proto(v: i32) -> Result<Self, PayloadError> {
        use pb::emoji_reaction::Type as T;
        Ok(match T::try_from(v) {
            Ok(T::Love) => Emoji::Love,
            Ok(T::ThumbsUp) => Emoji::ThumbsUp,
            Ok(T::ThumbsDown) => Emoji::ThumbsDown,
            Ok(T::Laugh) => Emoji::Laugh,
            Ok(T::Sad) => Emoji::Sad,
            Ok(T::Angry) => Emoji::Angry,
            _ => return Err(PayloadError::UnknownEmoji(v)),
        })
    }
}

/// A chat message (62 `ChatMessage`): text, a reply, or a contact request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatMessage {
    /// Lamport clock of the chat (62 "clock vs timestamp").
    pub clock: u64,
    /// Sender's wall clock at creation, unix milliseconds (not used for ordering).
    pub timestamp_ms: u64,
    /// The text (for a contact request, the intro text).
    pub text: String,
    /// The message this one replies to.
    pub response_to: Option<MessageId>,
    /// For 1:1, the recipient's key as `0x` hex; for a group, the group id.
    pub chat_id: String,
    /// 1:1 or group.
    pub message_type: MessageType,
    /// Text or contact request.
    pub content: ContentType,
    /// Sender's display name (may be empty).
    pub display_name: String,
}

/// An edit of an earlier message of the same sender (62 `EditMessage`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EditMessage {
    /// Lamport clock.
    pub clock: u64,
    /// Chat id, as in [`ChatMessage::chat_id`].
    pub chat_id: String,
    /// The edited message.
    pub message_id: MessageId,
    /// The new text.
    pub text: String,
    /// 1:1 or group.
    pub message_type: MessageType,
}

/// A deletion of an earlier message of the same sender (62 `DeleteMessage`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteMessage {
    /// Lamport clock.
    pub clock: u64,
    /// Chat id, as in [`ChatMessage::chat_id`].
    pub chat_id: String,
    /// The deleted message.
    pub message_id: MessageId,
    /// 1:1 or group.
    pub message_type: MessageType,
}

/// An emoji reaction to a message, or its retraction (62 `EmojiReaction`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmojiReaction {
    /// Lamport clock.
    pub clock: u64,
    /// Chat id, as in [`ChatMessage::chat_id`].
    pub chat_id: String,
    /// The message reacted to.
    pub message_id: MessageId,
    /// 1:1 or group.
    pub message_type: MessageType,
    /// Which emoji.
    pub emoji: Emoji,
    /// True to take the reaction back.
    pub retracted: bool,
}

/// An `AcceptContactRequest` (46) or `RetractContactRequest` (47).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactReply {
    /// The contact request this answers, if known.
    pub request_id: Option<MessageId>,
    /// Lamport clock of the contact-request state.
    pub clock: u64,
}

/// Every application message this implementation sends and understands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApplicationMessage {
    /// `CHAT_MESSAGE` (1): text, reply or contact request.
    Chat(ChatMessage),
    /// `EDIT_MESSAGE` (29).
    Edit(EditMessage),
    /// `DELETE_MESSAGE` (31).
    Delete(DeleteMessage),
    /// `EMOJI_REACTION` (22).
    Reaction(EmojiReaction),
    /// `ACCEPT_CONTACT_REQUEST` (46).
    AcceptContact(ContactReply),
    /// `RETRACT_CONTACT_REQUEST` (47).
    RetractContact(ContactReply),
    /// `MEMBERSHIP_UPDATE_MESSAGE` (3): signed group events.
    Membership(MembershipUpdate),
}

/// Why an application payload was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PayloadError {
    /// The encoded wrapper is larger than [`MAX_WRAPPER_BYTES`].
    #[error("application message of {0} bytes exceeds the limit")]
    TooLarge(usize),
    /// The bytes are not a valid protobuf of the expected message.
    #[error("malformed protobuf")]
    Malformed,
    /// The wrapper names a type this implementation does not handle.
    #[error("unsupported application message type {0}")]
    UnsupportedType(i32),
    /// The signature field is not 64 bytes.
    #[error("signature must be 64 bytes, got {0}")]
    SignatureLength(usize),
    /// The signature does not verify for the authenticated sender.
    #[error("signature does not verify for the sender")]
    BadSignature,
    /// A `ChatMessage` content type this implementation does not handle.
    #[error("unsupported content type {0}")]
    UnsupportedContentType(i32),
    /// A message type other than 1:1 or private group.
    #[error("unsupported message type {0}")]
    UnsupportedMessageType(i32),
    /// An unknown emoji reaction.
    #[error("unknown emoji reaction {0}")]
    UnknownEmoji(i32),
    /// A text field is over its size limit.
    #[error("field {0} is too long")]
    FieldTooLong(&'static str),
    /// An id field is malformed.
    #[error("invalid id: {0}")]
    Id(#[from] IdError),
    /// A group update is malformed.
    #[error("invalid group update: {0}")]
    Group(#[from] GroupError),
}

fn check_len(field: &'static str, s: &str, max: usize) -> Result<(), PayloadError> {
    if s.len() > max {
        Err(PayloadError::FieldTooLong(field))
    } else {
        Ok(())
    }
}

fn opt_id(s: &str) -> Result<Option<MessageId>, PayloadError> {
    if s.is_empty() {
        Ok(None)
    } else {
        Ok(Some(MessageId::from_hex(s)?))
    }
}

impl ChatMessage {
    pub(crate) fn to_proto(&self) -> pb::ChatMessage {
        pb::ChatMessage {
            clock: self.clock,
            timestamp: self.timestamp_ms,
            text: self.text.clone(),
            response_to: self.response_to.map(|id| id.to_hex()).unwrap_or_default(),
            chat_id: self.chat_id.clone(),
            message_type: self.message_type.to_proto() as i32,
            content_type: match self.content {
                ContentType::Text => pb::chat_message::ContentType::TextPlain,
                ContentType::ContactRequest => pb::chat_message::ContentType::ContactRequest,
            } as i32,
            display_name: self.display_name.clone(),
            ..Default::default()
        }
    }

    pub(crate) fn from_proto(m: pb::ChatMessage) -> Result<Self, PayloadError> {
        use pb::chat_message::ContentType as C;
        let content = match C::try_from(m.content_type) {
            Ok(C::TextPlain) => ContentType::Text,
            Ok(C::ContactRequest) => ContentType::ContactRequest,
            _ => return Err(PayloadError::UnsupportedContentType(m.content_type)),
        };
        check_len("text", &m.text, MAX_TEXT_BYTES)?;
        check_len("chat_id", &m.chat_id, MAX_CHAT_ID_LEN)?;
        check_len("display_name", &m.display_name, MAX_DISPLAY_NAME_BYTES)?;
        Ok(ChatMessage {
            clock: m.clock,
            timestamp_ms: m.timestamp,
            response_to: opt_id(&m.response_to)?,
            message_type: MessageType::from_proto(m.message_type)?,
            content,
            text: m.text,
            chat_id: m.chat_id,
            display_name: m.display_name,
        })
    }
}

impl ApplicationMessage {
    /// The wrapper type number of this message.
    pub fn type_number(&self) -> i32 {
        use pb::application_metadata_message::Type as T;
        (match self {
            ApplicationMessage::Chat(_) => T::ChatMessage,
            ApplicationMessage::Edit(_) => T::EditMessage,
            ApplicationMessage::Delete(_) => T::DeleteMessage,
            ApplicationMessage::Reaction(_) => T::EmojiReaction,
            ApplicationMessage::AcceptContact(_) => T::AcceptContactRequest,
            ApplicationMessage::RetractContact(_) => T::RetractContactRequest,
            ApplicationMessage::Membership(_) => T::MembershipUpdateMessage,
        }) as i32
    }

    /// The Lamport clock the message carries (for a group update, its newest event's).
    pub fn clock(&self) -> u64 {
        match self {
            ApplicationMessage::Chat(m) => m.clock,
            ApplicationMessage::Edit(m) => m.clock,
            ApplicationMessage::Delete(m) => m.clock,
            ApplicationMessage::Reaction(m) => m.clock,
            ApplicationMessage::AcceptContact(m) | ApplicationMessage::RetractContact(m) => m.clock,
            ApplicationMessage::Membership(m) => m.max_clock(),
        }
    }

    /// Encodes the inner message (the wrapper's `payload`).
    pub fn encode_inner(&self) -> Vec<u8> {
        match self {
            ApplicationMessage::Chat(m) => m.to_proto().encode_to_vec(),
            ApplicationMessage::Edit(m) => pb::EditMessage {
                clock: m.clock,
                text: m.text.clone(),
                chat_id: m.chat_id.clone(),
                message_id: m.message_id.to_hex(),
                message_type: m.message_type.to_proto() as i32,
                content_type: pb::chat_message::ContentType::TextPlain as i32,
                ..Default::default()
            }
            .encode_to_vec(),
            ApplicationMessage::Delete(m) => pb::DeleteMessage {
                clock: m.clock,
                chat_id: m.chat_id.clone(),
                message_id: m.message_id.to_hex(),
                message_type: m.message_type.to_proto() as i32,
                ..Default::default()
            }
            .encode_to_vec(),
            ApplicationMessage::Reaction(m) => pb::EmojiReaction {
                clock: m.clock,
                chat_id: m.chat_id.clone(),
                message_id: m.message_id.to_hex(),
                message_type: m.message_type.to_proto() as i32,
                r#type: m.emoji.to_proto() as i32,
                retracted: m.retracted,
                grant: Vec::new(),
            }
            .encode_to_vec(),
            ApplicationMessage::AcceptContact(m) => pb::AcceptContactRequest {
                id: m.request_id.map(|i| i.to_hex()).unwrap_or_default(),
                clock: m.clock,
            }
            .encode_to_vec(),
            ApplicationMessage::RetractContact(m) => pb::RetractContactRequest {
                id: m.request_id.map(|i| i.to_hex()).unwrap_or_default(),
                clock: m.clock,
            }
            .encode_to_vec(),
            ApplicationMessage::Membership(m) => m.to_proto().encode_to_vec(),
        }
    }

    /// Decodes an inner message of wrapper type `type_number`.
    pub fn decode_inner(type_number: i32, bytes: &[u8]) -> Result<Self, PayloadError> {
        use pb::application_metadata_message::Type as T;
        if bytes.len() > MAX_WRAPPER_BYTES {
            return Err(PayloadError::TooLarge(bytes.len()));
        }
        let malformed = |_| PayloadError::Malformed;
        Ok(match T::try_from(type_number) {
            Ok(T::ChatMessage) => ApplicationMessage::Chat(ChatMessage::from_proto(
                pb::ChatMessage::decode(bytes).map_err(malformed)?,
            )?),
            Ok(T::EditMessage) => {
                let m = pb::EditMessage::decode(bytes).map_err(malformed)?;
                check_len("text", &m.text, MAX_TEXT_BYTES)?;
                check_len("chat_id", &m.chat_id, MAX_CHAT_ID_LEN)?;
                ApplicationMessage::Edit(EditMessage {
                    clock: m.clock,
                    message_id: MessageId::from_hex(&m.message_id)?,
                    message_type: MessageType::from_proto(m.message_type)?,
                    chat_id: m.chat_id,
                    text: m.text,
                })
            }
            Ok(T::DeleteMessage) => {
                let m = pb::DeleteMessage::decode(bytes).map_err(malformed)?;
                check_len("chat_id", &m.chat_id, MAX_CHAT_ID_LEN)?;
                ApplicationMessage::Delete(DeleteMessage {
                    clock: m.clock,
                    message_id: MessageId::from_hex(&m.message_id)?,
                    message_type: MessageType::from_proto(m.message_type)?,
                    chat_id: m.chat_id,
                })
            }
            Ok(T::EmojiReaction) => {
                let m = pb::EmojiReaction::decode(bytes).map_err(malformed)?;
                check_len("chat_id", &m.chat_id, MAX_CHAT_ID_LEN)?;
                ApplicationMessage::Reaction(EmojiReaction {
                    clock: m.clock,
                    message_id: MessageId::from_hex(&m.message_id)?,
                    message_type: MessageType::from_proto(m.message_type)?,
                    emoji: Emoji::from_proto(m.r#type)?,
                    retracted: m.retracted,
                    chat_id: m.chat_id,
                })
            }
            Ok(T::AcceptContactRequest) => {
                let m = pb::AcceptContactRequest::decode(bytes).map_err(malformed)?;
                ApplicationMessage::AcceptContact(ContactReply {
                    request_id: opt_id(&m.id)?,
                    clock: m.clock,
                })
            }
            Ok(T::RetractContactRequest) => {
                let m = pb::RetractContactRequest::decode(bytes).map_err(malformed)?;
                ApplicationMessage::RetractContact(ContactReply {
                    request_id: opt_id(&m.id)?,
                    clock: m.clock,
                })
            }
            Ok(T::MembershipUpdateMessage) => {
                ApplicationMessage::Membership(MembershipUpdate::from_proto(
                    pb::MembershipUpdateMessage::decode(bytes).map_err(malformed)?,
                )?)
            }
            _ => return Err(PayloadError::UnsupportedType(type_number)),
        })
    }
}

/// An application message with its wrapper, as sent or as received and verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedMessage {
    /// The message id (DESIGN.md: SHA-256 of sender key || encoded wrapper).
    pub id: MessageId,
    /// The author, whose signature verified.
    pub sender: IdentityPublicKey,
    /// The decoded message.
    pub message: ApplicationMessage,
    /// The encoded `ApplicationMetadataMessage`.
    pub wire: Vec<u8>,
}

/// Signs `message` with `identity` into an encoded `ApplicationMetadataMessage`.
///
/// The signature is Ed25519 over `label || payload` (see `docs/deviations.md`).
pub fn seal(
    identity: &IdentityKeyPair,
    message: &ApplicationMessage,
) -> Result<SignedMessage, PayloadError> {
    let payload = message.encode_inner();
    let signature = identity.sign(SignatureContext::ApplicationMessage, &payload);
    let wire = pb::ApplicationMetadataMessage {
        signature: signature.to_bytes().to_vec(),
        payload,
        r#type: message.type_number(),
    }
    .encode_to_vec();
    if wire.len() > MAX_WRAPPER_BYTES {
        return Err(PayloadError::TooLarge(wire.len()));
    }
    let sender = *identity.public_key();
    Ok(SignedMessage {
        id: MessageId::compute(&sender, &wire),
        sender,
        message: message.clone(),
        wire,
    })
}

/// Decodes and verifies an encoded `ApplicationMetadataMessage` from `sender` (the
/// identity the session layer authenticated). The signature is checked before the inner
/// message is decoded.
pub fn open(sender: &IdentityPublicKey, wire: &[u8]) -> Result<SignedMessage, PayloadError> {
    if wire.len() > MAX_WRAPPER_BYTES {
        return Err(PayloadError::TooLarge(wire.len()));
    }
    let w = pb::ApplicationMetadataMessage::decode(wire).map_err(|_| PayloadError::Malformed)?;
    let signature = Signature::from_slice(&w.signature)
        .map_err(|_| PayloadError::SignatureLength(w.signature.len()))?;
    sender
        .verify(SignatureContext::ApplicationMessage, &w.payload, &signature)
        .map_err(|_| PayloadError::BadSignature)?;
    let message = ApplicationMessage::decode_inner(w.r#type, &w.payload)?;
    Ok(SignedMessage {
        id: MessageId::compute(sender, wire),
        sender: *sender,
        message,
        wire: wire.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::ChaCha20Rng;

    fn keys() -> (IdentityKeyPair, IdentityKeyPair) {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        (
            IdentityKeyPair::generate(&mut rng),
            IdentityKeyPair::generate(&mut rng),
        )
    }

    fn text(clock: u64) -> ApplicationMessage {
        ApplicationMessage::Chat(ChatMessage {
            clock,
            timestamp_ms: 5,
            text: "hello".into(),
            response_to: Some(MessageId([7; 32])),
            chat_id: "0xabc".into(),
            message_type: MessageType::OneToOne,
            content: ContentType::Text,
            display_name: "alice".into(),
        })
    }

    fn all() -> Vec<ApplicationMessage> {
        let id = MessageId([1; 32]);
        vec![
            text(1),
            ApplicationMessage::Chat(ChatMessage {
                content: ContentType::ContactRequest,
                response_to: None,
                ..match text(2) {
                    ApplicationMessage::Chat(c) => c,
                    _ => unreachable!(),
                }
            }),
            ApplicationMessage::Edit(EditMessage {
                clock: 3,
                chat_id: "c".into(),
                message_id: id,
                text: "edited".into(),
                message_type: MessageType::PrivateGroup,
            }),
            ApplicationMessage::Delete(DeleteMessage {
                clock: 4,
                chat_id: "c".into(),
                message_id: id,
                message_type: MessageType::OneToOne,
            }),
            ApplicationMessage::Reaction(EmojiReaction {
                clock: 5,
                chat_id: "c".into(),
                message_id: id,
                message_type: MessageType::OneToOne,
                emoji: Emoji::Laugh,
                retracted: true,
            }),
            ApplicationMessage::AcceptContact(ContactReply {
                request_id: Some(id),
                clock: 6,
            }),
            ApplicationMessage::RetractContact(ContactReply {
                request_id: None,
                clock: 7,
            }),
        ]
    }

    #[test]
    fn every_message_round_trips_and_verifies() {
        let (a, _) = keys();
        for m in all() {
            let s = seal(&a, &m).unwrap();
            let o = open(a.public_key(), &s.wire).unwrap();
            assert_eq!(o, s);
            assert_eq!(o.message, m);
            assert_eq!(o.id, MessageId::compute(a.public_key(), &s.wire));
        }
    }

    #[test]
    fn wrong_sender_or_tampered_payload_is_refused() {
        let (a, b) = keys();
        let s = seal(&a, &text(1)).unwrap();
        assert_eq!(
            open(b.public_key(), &s.wire),
            Err(PayloadError::BadSignature)
        );
        let mut w = pb::ApplicationMetadataMessage::decode(&s.wire[..]).unwrap();
        w.payload.push(0);
        assert_eq!(
            open(a.public_key(), &w.encode_to_vec()),
            Err(PayloadError::BadSignature)
        );
        w.signature.pop();
        assert_eq!(
            open(a.public_key(), &w.encode_to_vec()),
            Err(PayloadError::SignatureLength(63))
        );
    }

    #[test]
    fn size_caps_and_garbage() {
        let (a, _) = keys();
        let big = vec![0u8; MAX_WRAPPER_BYTES + 1];
        assert_eq!(
            open(a.public_key(), &big),
            Err(PayloadError::TooLarge(MAX_WRAPPER_BYTES + 1))
        );
        assert!(open(a.public_key(), &[0xff, 0xff, 0xff]).is_err());
        let mut m = match text(1) {
            ApplicationMessage::Chat(c) => c,
            _ => unreachable!(),
        };
        m.text = "x".repeat(MAX_TEXT_BYTES + 1);
        let s = seal(&a, &ApplicationMessage::Chat(m)).unwrap();
        assert_eq!(
            open(a.public_key(), &s.wire),
            Err(PayloadError::FieldTooLong("text"))
        );
    }

    #[test]
    fn unknown_type_and_content_are_typed_errors() {
        let (a, _) = keys();
        let payload = b"x".to_vec();
        let sig = a.sign(SignatureContext::ApplicationMessage, &payload);
        let w = pb::ApplicationMetadataMessage {
            signature: sig.to_bytes().to_vec(),
            payload,
            r#type: 999,
        };
        assert_eq!(
            open(a.public_key(), &w.encode_to_vec()),
            Err(PayloadError::UnsupportedType(999))
        );
        let mut c = match text(1) {
            ApplicationMessage::Chat(c) => c.to_proto(),
            _ => unreachable!(),
        };
        c.content_type = 7;
        assert_eq!(
            ChatMessage::from_proto(c),
            Err(PayloadError::UnsupportedContentType(7))
        );
    }
}
