//! Writes seed corpus files from the real encoders (run with `--ignored` to
//! regenerate; the files are committed).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use waku_relay::metadata::Metadata;
use waku_relay::store::{StoreQuery, StoreResponse, StoredMessage};
use waku_relay::{MessageHash, WakuMessage};

#[test]
#[ignore = "regenerates committed seed files"]
fn write_seeds() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let w = |t: &str, name: &str, data: Vec<u8>| {
        std::fs::write(root.join(t).join(name), data).unwrap();
    };
    let m = WakuMessage::new("/app/1/chat/proto", b"hello".to_vec()).unwrap();
    w("waku_message", "plain", m.encode());
    let full = m
        .clone()
        .with_timestamp(1_700_000_000_000_000_000)
        .with_meta(b"meta".to_vec())
        .unwrap()
        .with_version(1)
        .with_ephemeral(true);
    w("waku_message", "full", full.encode());
    w("waku_message", "empty_payload", vec![0x12, 0x01, b'x']);
    let md = Metadata {
        cluster_id: Some(16),
        shards: vec![32, 64],
    };
    w("metadata", "cluster16", md.encode());
    let mut framed = vec![md.encode().len() as u8];
    framed.extend(md.encode());
    w("metadata", "framed", framed);
    w(
        "metadata",
        "packed",
        vec![0x08, 0x10, 0x12, 0x02, 0x00, 0x01],
    );
    let q = StoreQuery {
        request_id: "r1".into(),
        include_data: true,
        pubsub_topic: Some("/waku/2/rs/16/32".into()),
        content_topics: vec!["/app/1/chat/proto".into()],
        time_start: Some(1),
        forward: true,
        limit: Some(10),
        ..Default::default()
    };
    w("store", "query", q.encode());
    let r = StoreResponse {
        request_id: "r1".into(),
        status_code: 200,
        status_desc: "OK".into(),
        messages: vec![StoredMessage {
            hash: full.hash("/waku/2/rs/16/32"),
            data: Some(("/waku/2/rs/16/32".into(), full)),
        }],
        cursor: Some(MessageHash([1; 32])),
    };
    w("store", "response", r.encode());
    let q2 = StoreQuery {
        request_id: "r2".into(),
        message_hashes: vec![MessageHash([2; 32])],
        ..Default::default()
    };
    w("store", "lookup", q2.encode());
}
