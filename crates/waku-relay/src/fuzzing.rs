//! Entry points shared by the fuzz targets and the corpus replay test.
//! Not part of the API.

use crate::message::{DEFAULT_MAX_MESSAGE_SIZE, WakuMessage};
use crate::metadata::{MAX_METADATA_FRAME, Metadata};
use crate::store::{MAX_REQUEST_FRAME, StoreQuery, StoreResponse};
use crate::validator::Validator;

/// Decodes a `WakuMessage`; a decoded message re-encodes to an equal message,
/// and the validator agrees with the decoder.
pub fn waku_message(data: &[u8]) {
    let decoded = WakuMessage::decode(data, DEFAULT_MAX_MESSAGE_SIZE);
    if let Ok(m) = &decoded {
        let again = WakuMessage::decode(&m.encode(), usize::MAX);
        assert_eq!(again.as_ref(), Ok(m));
        let _ = m.hash("/waku/2/rs/16/32");
    }
    let v = Validator::new(crate::validator::ValidatorConfig {
        timestamp_window: None,
        ..Default::default()
    });
    assert_eq!(v.check(data, 0).is_ok(), decoded.is_ok());
}

/// Decodes a metadata body, and a length-prefixed frame of one.
pub fn metadata(data: &[u8]) {
    if let Ok(m) = Metadata::decode(data) {
        assert_eq!(Metadata::decode(&m.encode()), Ok(m));
    }
    if let Some(body) = crate::codec::split_frame(data, MAX_METADATA_FRAME) {
        let _ = Metadata::decode(body);
    }
}

/// Decodes store requests and responses, raw and framed.
pub fn store(data: &[u8]) {
    if let Ok(q) = StoreQuery::decode(data) {
        assert_eq!(StoreQuery::decode(&q.encode()), Ok(q));
    }
    if let Ok(r) = StoreResponse::decode(data) {
        assert_eq!(StoreResponse::decode(&r.encode()), Ok(r));
    }
    if let Some(body) = crate::codec::split_frame(data, MAX_REQUEST_FRAME) {
        let _ = StoreQuery::decode(body);
    }
}

/// Parses content and pubsub topic strings (peers name them in every message and
/// subscription): an accepted topic prints to a string that parses to the same topic.
pub fn topics(data: &[u8]) {
    let Ok(text) = core::str::from_utf8(data) else {
        return;
    };
    if let Ok(t) = text.parse::<crate::topic::ContentTopic>() {
        assert_eq!(t.to_string().parse(), Ok(t), "content topic round trip");
    }
    let p = crate::topic::PubsubTopic::from(text);
    assert_eq!(
        crate::topic::PubsubTopic::from(p.to_string().as_str()),
        p,
        "pubsub topic round trip"
    );
}
