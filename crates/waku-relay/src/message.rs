//! The [`WakuMessage`] of 14/WAKU2-MESSAGE: checked domain type, wire codec and
//! the deterministic message hash.

use prost::Message as _;
use sha2::{Digest, Sha256};

use crate::proto::waku::message::v1 as pb;
use crate::topic::PubsubTopic;

/// Largest `meta` attribute 14/WAKU2-MESSAGE allows, in bytes.
pub const MAX_META_LEN: usize = 64;

/// Default largest encoded message (150 KiB), as The Waku Network (64) and the
/// project design fix it.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 150 * 1024;

/// Why bytes or fields do not make a valid [`WakuMessage`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MessageError {
    /// The bytes are not a `WakuMessage` protobuf.
    #[error("not a WakuMessage protobuf")]
    Malformed,
    /// The content topic is empty.
    #[error("empty content topic")]
    EmptyContentTopic,
    /// The payload is empty (js-waku and this crate reject such messages).
    #[error("empty payload")]
    EmptyPayload,
    /// `meta` is longer than [`MAX_META_LEN`].
    #[error("meta is {0} bytes, at most {max} allowed", max = MAX_META_LEN)]
    MetaTooLong(usize),
    /// The encoded message is larger than the configured limit.
    #[error("message is {size} bytes, at most {max} allowed")]
    TooLarge {
        /// Encoded size in bytes.
        size: usize,
        /// The limit in force.
        max: usize,
    },
}

/// A validated Waku message (14/WAKU2-MESSAGE).
///
/// Construction checks what every Waku message must satisfy: a non-empty content
/// topic, a non-empty payload and `meta` of at most [`MAX_META_LEN`] bytes. The
/// size limit depends on the network and is checked by [`WakuMessage::decode`]
/// and [`WakuMessage::check_size`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WakuMessage {
    payload: Vec<u8>,
    content_topic: String,
    version: u32,
    timestamp: Option<i64>,
    meta: Option<Vec<u8>>,
    rate_limit_proof: Option<Vec<u8>>,
    ephemeral: bool,
}

impl WakuMessage {
    /// A version-0, non-ephemeral message without timestamp or meta.
    pub fn new(
        content_topic: impl Into<String>,
        payload: impl Into<Vec<u8>>,
    ) -> Result<Self, MessageError> {
        let msg = Self {
            payload: payload.into(),
            content_topic: content_topic.into(),
            version: 0,
            timestamp: None,
            meta: None,
            rate_limit_proof: None,
            ephemeral: false,
        };
        msg.check_fields()?;
        Ok(msg)
    }

    /// Sets the sender timestamp (Unix time in nanoseconds).
    #[must_use]
    pub fn with_timestamp(mut self, timestamp_ns: i64) -> Self {
        self.timestamp = Some(timestamp_ns);
        self
    }

    /// Sets the payload version (0 none, 1 = 26/WAKU2-PAYLOAD, 2 = Noise).
    #[must_use]
    pub fn with_version(mut self, version: u32) -> Self {
        self.version = version;
        self
    }

    /// Marks the message ephemeral (stores do not keep it).
    #[must_use]
    pub fn with_ephemeral(mut self, ephemeral: bool) -> Self {
        self.ephemeral = ephemeral;
        self
    }

    /// Sets `meta` (at most [`MAX_META_LEN`] bytes).
    pub fn with_meta(mut self, meta: impl Into<Vec<u8>>) -> Result<Self, MessageError> {
        let meta = meta.into();
        if meta.len() > MAX_META_LEN {
            return Err(MessageError::MetaTooLong(meta.len()));
        }
        self.meta = Some(meta);
        Ok(self)
    }

    /// The payload bytes.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }
    /// The content topic (23/WAKU2-TOPICS; not required to parse as one).
    pub fn content_topic(&self) -> &str {
        &self.content_topic
    }
    /// The payload version (0 when absent on the wire).
    pub fn version(&self) -> u32 {
        self.version
    }
    /// The sender timestamp in Unix nanoseconds, if any.
    pub fn timestamp(&self) -> Option<i64> {
        self.timestamp
    }
    /// The `meta` attribute, if any.
    pub fn meta(&self) -> Option<&[u8]> {
        self.meta.as_deref()
    }
    /// The RLN proof bytes (17/WAKU2-RLN-RELAY), carried but not checked.
    pub fn rate_limit_proof(&self) -> Option<&[u8]> {
        self.rate_limit_proof.as_deref()
    }
    /// Whether the message is ephemeral.
    pub fn ephemeral(&self) -> bool {
        self.ephemeral
    }

    fn check_fields(&self) -> Result<(), MessageError> {
        if self.content_topic.is_empty() {
            return Err(MessageError::EmptyContentTopic);
        }
        if self.payload.is_empty() {
            return Err(MessageError::EmptyPayload);
        }
        if let Some(meta) = &self.meta
            && meta.len() > MAX_META_LEN
        {
            return Err(MessageError::MetaTooLong(meta.len()));
        }
        Ok(())
    }

    /// Checks the encoded size against `max` bytes.
    pub fn check_size(&self, max: usize) -> Result<(), MessageError> {
        let size = self.encoded_len();
        if size > max {
            return Err(MessageError::TooLarge { size, max });
        }
        Ok(())
    }

    /// Decodes and validates a message of at most `max_size` encoded bytes.
    pub fn decode(bytes: &[u8], max_size: usize) -> Result<Self, MessageError> {
        if bytes.len() > max_size {
            return Err(MessageError::TooLarge {
                size: bytes.len(),
                max: max_size,
            });
        }
        let raw = pb::WakuMessage::decode(bytes).map_err(|_| MessageError::Malformed)?;
        Self::try_from(raw)
    }

    /// The protobuf encoding (js-waku compatible: `version` is always written).
    ///
    /// Written straight from the fields (the same bytes as prost writes for
    /// the generated protobuf struct, checked by a property test), without copying the
    /// payload into an intermediate protobuf struct first.
    pub fn encode(&self) -> Vec<u8> {
        use prost::encoding::{bool as pbool, bytes, sint64, string, uint32};
        let mut buf = Vec::with_capacity(self.encoded_len());
        if !self.payload.is_empty() {
            bytes::encode(1, &self.payload, &mut buf);
        }
        if !self.content_topic.is_empty() {
            string::encode(2, &self.content_topic, &mut buf);
        }
        uint32::encode(3, &self.version, &mut buf);
        if let Some(ts) = &self.timestamp {
            sint64::encode(10, ts, &mut buf);
        }
        if let Some(meta) = &self.meta {
            bytes::encode(11, meta, &mut buf);
        }
        if let Some(proof) = &self.rate_limit_proof {
            bytes::encode(21, proof, &mut buf);
        }
        if self.ephemeral {
            pbool::encode(31, &true, &mut buf);
        }
        buf
    }

    /// The size of [`Self::encode`]'s output.
    pub fn encoded_len(&self) -> usize {
        use prost::encoding::{bool as pbool, bytes, sint64, string, uint32};
        let mut n = uint32::encoded_len(3, &self.version);
        if !self.payload.is_empty() {
            n += bytes::encoded_len(1, &self.payload);
        }
        if !self.content_topic.is_empty() {
            n += string::encoded_len(2, &self.content_topic);
        }
        if let Some(ts) = &self.timestamp {
            n += sint64::encoded_len(10, ts);
        }
        if let Some(meta) = &self.meta {
            n += bytes::encoded_len(11, meta);
        }
        if let Some(proof) = &self.rate_limit_proof {
            n += bytes::encoded_len(21, proof);
        }
        if self.ephemeral {
            n += pbool::encoded_len(31, &true);
        }
        n
    }

    pub(crate) fn to_proto(&self) -> pb::WakuMessage {
        pb::WakuMessage {
            payload: self.payload.clone(),
            content_topic: self.content_topic.clone(),
            version: Some(self.version),
            timestamp: self.timestamp,
            meta: self.meta.clone(),
            rate_limit_proof: self.rate_limit_proof.clone(),
            ephemeral: self.ephemeral.then_some(true),
        }
    }

    /// The deterministic message hash of 14 for this message on `pubsub_topic`.
    pub fn hash(&self, pubsub_topic: &str) -> MessageHash {
        message_hash(
            pubsub_topic,
            &self.payload,
            &self.content_topic,
            self.meta.as_deref(),
            self.timestamp,
        )
    }

    /// [`WakuMessage::hash`] on a [`PubsubTopic`], written into the hash
    /// without formatting the topic into a `String` first.
    pub fn hash_on(&self, pubsub_topic: &PubsubTopic) -> MessageHash {
        struct Feed<'a>(&'a mut Sha256);
        impl std::fmt::Write for Feed<'_> {
            fn write_str(&mut self, s: &str) -> std::fmt::Result {
                self.0.update(s.as_bytes());
                Ok(())
            }
        }
        let mut h = Sha256::new();
        // Writing into a hasher cannot fail.
        let _ = std::fmt::Write::write_fmt(&mut Feed(&mut h), format_args!("{pubsub_topic}"));
        finish_hash(
            h,
            &self.payload,
            &self.content_topic,
            self.meta.as_deref(),
            self.timestamp,
        )
    }
}

impl TryFrom<pb::WakuMessage> for WakuMessage {
    type Error = MessageError;

    fn try_from(raw: pb::WakuMessage) -> Result<Self, Self::Error> {
        let msg = Self {
            payload: raw.payload,
            content_topic: raw.content_topic,
            version: raw.version.unwrap_or(0),
            timestamp: raw.timestamp,
            meta: raw.meta,
            rate_limit_proof: raw.rate_limit_proof,
            ephemeral: raw.ephemeral.unwrap_or(false),
        };
        msg.check_fields()?;
        Ok(msg)
    }
}

/// The 32-byte deterministic message hash of 14/WAKU2-MESSAGE.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageHash(pub [u8; 32]);

impl MessageHash {
    /// Lower-case hex without `0x`.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Debug for MessageHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MessageHash({})", self.to_hex())
    }
}

impl std::fmt::Display for MessageHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl TryFrom<&[u8]> for MessageHash {
    type Error = std::array::TryFromSliceError;
    fn try_from(bytes: &[u8]) -> Result<Self, Self::Error> {
        Ok(Self(bytes.try_into()?))
    }
}

/// The deterministic message hash of 14:
/// `sha256(pubsub_topic ‖ payload ‖ content_topic ‖ meta ‖ timestamp)`.
///
/// `meta` is left out when absent. The timestamp is 8 bytes big-endian; an absent
/// timestamp counts as 0 and is still appended (14: "SHOULD be interpreted as
/// timestamp 0"; nwaku and go-waku do the same). js-waku's `@waku/message-hash`
/// instead omits the timestamp when it is absent or 0, so hashes of
/// timestamp-less messages differ from js-waku's.
pub fn message_hash(
    pubsub_topic: &str,
    payload: &[u8],
    content_topic: &str,
    meta: Option<&[u8]>,
    timestamp: Option<i64>,
) -> MessageHash {
    let mut h = Sha256::new();
    h.update(pubsub_topic.as_bytes());
    finish_hash(h, payload, content_topic, meta, timestamp)
}

/// The rest of [`message_hash`] once the pubsub topic is in `h`.
fn finish_hash(
    mut h: Sha256,
    payload: &[u8],
    content_topic: &str,
    meta: Option<&[u8]>,
    timestamp: Option<i64>,
) -> MessageHash {
    h.update(payload);
    h.update(content_topic.as_bytes());
    if let Some(meta) = meta {
        h.update(meta);
    }
    h.update(timestamp.unwrap_or(0).to_be_bytes());
    MessageHash(h.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const PUBSUB: &str = "/waku/2/default-waku/proto";
    const CT: &str = "/waku/2/default-content/proto";
    const TS: i64 = 0x175789bfa23f8400;

    fn h(payload: &str, meta: Option<&str>) -> String {
        let payload = hex::decode(payload).unwrap();
        let meta = meta.map(|m| hex::decode(m).unwrap());
        message_hash(PUBSUB, &payload, CT, meta.as_deref(), Some(TS)).to_hex()
    }

    #[test]
    fn spec_vector_meta_12() {
        assert_eq!(
            h("010203045445535405060708", Some("73757065722d736563726574")),
            "64cce733fed134e83da02b02c6f689814872b1a0ac97ea56b76095c3c72bfe05"
        );
    }

    #[test]
    fn spec_vector_meta_64() {
        let meta: String = (0u8..64).map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            h("010203045445535405060708", Some(&meta)),
            "7158b6498753313368b9af8f6e0a0a05104f68f972981da42a43bc53fb0c1b27"
        );
    }

    #[test]
    fn spec_vector_no_meta() {
        assert_eq!(
            h("010203045445535405060708", None),
            "a2554498b31f5bcdfcbf7fa58ad1c2d45f0254f3f8110a85588ec3cf10720fd8"
        );
    }

    #[test]
    fn spec_vector_empty_payload() {
        assert_eq!(
            h("", Some("73757065722d736563726574")),
            "483ea950cb63f9b9d6926b262bb36194d3f40a0463ce8446228350bd44e96de4"
        );
    }

    #[test]
    fn method_matches_free_function() {
        let m = WakuMessage::new(CT, hex::decode("010203045445535405060708").unwrap())
            .unwrap()
            .with_timestamp(TS);
        assert_eq!(
            m.hash(PUBSUB).to_hex(),
            "a2554498b31f5bcdfcbf7fa58ad1c2d45f0254f3f8110a85588ec3cf10720fd8"
        );
    }

    #[test]
    fn absent_timestamp_hashes_as_zero() {
        let a = message_hash(PUBSUB, b"x", CT, None, None);
        let b = message_hash(PUBSUB, b"x", CT, None, Some(0));
        assert_eq!(a, b);
    }

    #[test]
    fn validation_errors() {
        assert_eq!(
            WakuMessage::new("", b"x".to_vec()),
            Err(MessageError::EmptyContentTopic)
        );
        assert_eq!(
            WakuMessage::new(CT, Vec::new()),
            Err(MessageError::EmptyPayload)
        );
        let m = WakuMessage::new(CT, b"x".to_vec()).unwrap();
        assert_eq!(
            m.clone().with_meta(vec![0; 65]),
            Err(MessageError::MetaTooLong(65))
        );
        assert!(m.with_meta(vec![0; 64]).is_ok());
        assert_eq!(
            WakuMessage::decode(&[0xff, 0xff], 100),
            Err(MessageError::Malformed)
        );
        let big = WakuMessage::new(CT, vec![1; 200]).unwrap();
        assert!(matches!(
            WakuMessage::decode(&big.encode(), 100),
            Err(MessageError::TooLarge { max: 100, .. })
        ));
        assert!(matches!(
            big.check_size(100),
            Err(MessageError::TooLarge { .. })
        ));
    }

    #[test]
    fn timestamp_is_zigzag_sint64() {
        // Field 10, varint wire type = tag 0x50; -1 in zigzag is 1.
        let m = WakuMessage::new(CT, b"x".to_vec())
            .unwrap()
            .with_timestamp(-1);
        let bytes = m.encode();
        assert!(bytes.windows(2).any(|w| w == [0x50, 0x01]));
    }

    #[test]
    fn direct_encoder_matches_prost_with_every_field() {
        let raw = pb::WakuMessage {
            payload: vec![1, 2, 3],
            content_topic: CT.into(),
            version: Some(2),
            timestamp: Some(-5),
            meta: Some(vec![9; 64]),
            rate_limit_proof: Some(vec![7; 300]),
            ephemeral: Some(true),
        };
        let bytes = raw.encode_to_vec();
        let m = WakuMessage::decode(&bytes, DEFAULT_MAX_MESSAGE_SIZE).unwrap();
        assert_eq!(m.encode(), bytes);
        assert_eq!(m.encoded_len(), bytes.len());
    }

    proptest! {
        #[test]
        fn roundtrip(
            payload in proptest::collection::vec(any::<u8>(), 1..512),
            ct in "/[a-z]{1,8}/[0-9]/[a-z]{1,8}/proto",
            ts in proptest::option::of(any::<i64>()),
            meta in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..=64)),
            version in any::<u32>(),
            eph in any::<bool>(),
        ) {
            let mut m = WakuMessage::new(ct, payload).unwrap().with_version(version).with_ephemeral(eph);
            if let Some(ts) = ts { m = m.with_timestamp(ts); }
            if let Some(meta) = meta { m = m.with_meta(meta).unwrap(); }
            let bytes = m.encode();
            // The direct encoder writes what prost writes for the proto struct.
            prop_assert_eq!(&bytes, &m.to_proto().encode_to_vec());
            prop_assert_eq!(bytes.len(), m.encoded_len());
            let back = WakuMessage::decode(&bytes, DEFAULT_MAX_MESSAGE_SIZE).unwrap();
            prop_assert_eq!(&back, &m);
            prop_assert_eq!(back.hash("/waku/2/rs/16/32"), m.hash("/waku/2/rs/16/32"));
        }

        #[test]
        fn hash_on_topic_matches_hash_on_its_name(
            payload in proptest::collection::vec(any::<u8>(), 1..64),
            ts in proptest::option::of(any::<i64>()),
            cluster in any::<u16>(),
            shard in any::<u16>(),
            named in "/[a-z]{1,8}/[0-9]/[a-z-]{1,12}/proto",
        ) {
            let mut m = WakuMessage::new("/a/1/b/proto", payload).unwrap();
            if let Some(ts) = ts { m = m.with_timestamp(ts); }
            for topic in [PubsubTopic::shard(cluster, shard), PubsubTopic::from(named.as_str())] {
                prop_assert_eq!(m.hash_on(&topic), m.hash(&topic.to_string()));
            }
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = WakuMessage::decode(&bytes, DEFAULT_MAX_MESSAGE_SIZE);
        }
    }
}
