//! Every message of `proto/` round-trips through the generated prost types, and a few
//! encodings are checked byte for byte against hand-computed bytes.
//!
//! The round trip is generic: random messages are built from the descriptors (with
//! prost-reflect), encoded, decoded by the generated type, encoded again and compared.
//! A message whose generated type dropped or mistyped a field fails here.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, Kind, MapKey, MessageDescriptor, Value};
use std::collections::{BTreeSet, HashMap};
use xtask::proto::{encryption, identity, mvds, protobuf, waku};

/// Decodes with the generated type `T` and encodes again.
fn via<T: Message + Default>(bytes: &[u8]) -> Vec<u8> {
    T::decode(bytes)
        .expect("generated type decodes what the descriptor encoded")
        .encode_to_vec()
}

type Roundtrip = fn(&[u8]) -> Vec<u8>;

/// Every message type of proto/, by full name, with its generated Rust type.
fn registry() -> HashMap<&'static str, Roundtrip> {
    let entries: &[(&str, Roundtrip)] = &[
        (
            "waku.message.v1.WakuMessage",
            via::<waku::message::v1::WakuMessage>,
        ),
        (
            "waku.store.v3.WakuMessageKeyValue",
            via::<waku::store::v3::WakuMessageKeyValue>,
        ),
        (
            "waku.store.v3.StoreQueryRequest",
            via::<waku::store::v3::StoreQueryRequest>,
        ),
        (
            "waku.store.v3.StoreQueryResponse",
            via::<waku::store::v3::StoreQueryResponse>,
        ),
        (
            "waku.metadata.v1.WakuMetadataRequest",
            via::<waku::metadata::v1::WakuMetadataRequest>,
        ),
        (
            "waku.metadata.v1.WakuMetadataResponse",
            via::<waku::metadata::v1::WakuMetadataResponse>,
        ),
        ("encryption.SignedPreKey", via::<encryption::SignedPreKey>),
        ("encryption.Bundle", via::<encryption::Bundle>),
        (
            "encryption.BundleContainer",
            via::<encryption::BundleContainer>,
        ),
        ("encryption.DRHeader", via::<encryption::DrHeader>),
        ("encryption.DHHeader", via::<encryption::DhHeader>),
        ("encryption.X3DHHeader", via::<encryption::X3dhHeader>),
        ("encryption.HRKey", via::<encryption::HrKey>),
        ("encryption.RekeyGroup", via::<encryption::RekeyGroup>),
        ("encryption.HRKeys", via::<encryption::HrKeys>),
        ("encryption.HRHeader", via::<encryption::HrHeader>),
        (
            "encryption.EncryptedMessageProtocol",
            via::<encryption::EncryptedMessageProtocol>,
        ),
        (
            "encryption.ProtocolMessage",
            via::<encryption::ProtocolMessage>,
        ),
        (
            "protobuf.ApplicationMetadataMessage",
            via::<protobuf::ApplicationMetadataMessage>,
        ),
        ("protobuf.StickerMessage", via::<protobuf::StickerMessage>),
        ("protobuf.ImageMessage", via::<protobuf::ImageMessage>),
        ("protobuf.AudioMessage", via::<protobuf::AudioMessage>),
        ("protobuf.Shard", via::<protobuf::Shard>),
        (
            "protobuf.ContactRequestPropagatedState",
            via::<protobuf::ContactRequestPropagatedState>,
        ),
        ("protobuf.ChatMessage", via::<protobuf::ChatMessage>),
        ("protobuf.EditMessage", via::<protobuf::EditMessage>),
        ("protobuf.DeleteMessage", via::<protobuf::DeleteMessage>),
        (
            "protobuf.SyncDeleteForMeMessage",
            via::<protobuf::SyncDeleteForMeMessage>,
        ),
        ("protobuf.EmojiReaction", via::<protobuf::EmojiReaction>),
        ("protobuf.ContactUpdate", via::<protobuf::ContactUpdate>),
        (
            "protobuf.AcceptContactRequest",
            via::<protobuf::AcceptContactRequest>,
        ),
        (
            "protobuf.RetractContactRequest",
            via::<protobuf::RetractContactRequest>,
        ),
        (
            "protobuf.MembershipUpdateMessage",
            via::<protobuf::MembershipUpdateMessage>,
        ),
        (
            "protobuf.MembershipUpdateEvent",
            via::<protobuf::MembershipUpdateEvent>,
        ),
        ("mvds.Payload", via::<mvds::Payload>),
        ("mvds.Offer", via::<mvds::Offer>),
        ("mvds.Message", via::<mvds::Message>),
        ("identity.ContactCode", via::<identity::ContactCode>),
    ];
    entries.iter().copied().collect()
}

fn pool() -> DescriptorPool {
    DescriptorPool::decode(xtask::proto::DESCRIPTORS).unwrap()
}

/// The message types a test must cover: all but the synthetic map-entry types.
fn all_messages(pool: &DescriptorPool) -> Vec<MessageDescriptor> {
    pool.all_messages().filter(|m| !m.is_map_entry()).collect()
}

/// A small deterministic generator (splitmix64), so a failing case is its seed.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// Mostly small numbers, sometimes extremes, so varint edge cases appear.
    fn int(&mut self) -> u64 {
        match self.below(4) {
            0 => 0,
            1 => self.below(300),
            2 => u64::MAX - self.below(3),
            _ => self.next(),
        }
    }
    fn bytes(&mut self) -> Vec<u8> {
        let len = self.below(40) as usize;
        (0..len).map(|_| self.next() as u8).collect()
    }
    fn string(&mut self) -> String {
        let len = self.below(20) as usize;
        (0..len)
            .map(|_| match self.below(4) {
                0 => 'é',
                1 => '🙂',
                _ => char::from(b'a' + self.below(26) as u8),
            })
            .collect()
    }
}

fn scalar(g: &mut Gen, kind: &Kind, depth: u32) -> Value {
    match kind {
        Kind::Double => Value::F64(g.int() as f64 / 7.0),
        Kind::Float => Value::F32(g.int() as f32 / 7.0),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => Value::I32(g.int() as i32),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => Value::I64(g.int() as i64),
        Kind::Uint32 | Kind::Fixed32 => Value::U32(g.int() as u32),
        Kind::Uint64 | Kind::Fixed64 => Value::U64(g.int()),
        Kind::Bool => Value::Bool(g.below(2) == 1),
        Kind::String => Value::String(g.string()),
        Kind::Bytes => Value::Bytes(g.bytes().into()),
        Kind::Enum(e) => {
            let values: Vec<i32> = e.values().map(|v| v.number()).collect();
            Value::EnumNumber(values[g.below(values.len() as u64) as usize])
        }
        Kind::Message(m) => Value::Message(random_message(g, m, depth + 1)),
    }
}

fn map_key(g: &mut Gen, kind: &Kind) -> MapKey {
    match scalar(g, kind, 0) {
        Value::Bool(b) => MapKey::Bool(b),
        Value::I32(v) => MapKey::I32(v),
        Value::I64(v) => MapKey::I64(v),
        Value::U32(v) => MapKey::U32(v),
        Value::U64(v) => MapKey::U64(v),
        Value::String(s) => MapKey::String(s),
        other => panic!("not a map key: {other:?}"),
    }
}

fn random_message(g: &mut Gen, desc: &MessageDescriptor, depth: u32) -> DynamicMessage {
    let mut message = DynamicMessage::new(desc.clone());
    if depth > 3 {
        return message;
    }
    for field in desc.fields() {
        if g.below(10) < 3 {
            continue;
        }
        let kind = field.kind();
        let value = if field.is_map() {
            let Kind::Message(entry) = &kind else {
                unreachable!("map fields have entry messages")
            };
            let key_kind = entry.map_entry_key_field().kind();
            let value_kind = entry.map_entry_value_field().kind();
            let mut map = HashMap::new();
            for _ in 0..g.below(4) {
                map.insert(map_key(g, &key_kind), scalar(g, &value_kind, depth));
            }
            Value::Map(map)
        } else if field.is_list() {
            Value::List((0..g.below(4)).map(|_| scalar(g, &kind, depth)).collect())
        } else {
            scalar(g, &kind, depth)
        };
        message.set_field(&field, value);
    }
    message
}

#[test]
fn every_proto_file_is_compiled_and_every_message_is_covered() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../proto");
    let mut on_disk = BTreeSet::new();
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "proto") {
                let rel = path
                    .strip_prefix(&root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                on_disk.insert(rel);
            }
        }
    }
    let compiled: BTreeSet<String> = xtask::proto::FILES.lines().map(str::to_owned).collect();
    assert_eq!(
        on_disk, compiled,
        "xtask/build.rs FILES must list every .proto file"
    );

    let registry = registry();
    let pool = pool();
    let names: BTreeSet<String> = all_messages(&pool)
        .iter()
        .map(|m| m.full_name().to_owned())
        .collect();
    let registered: BTreeSet<String> = registry.keys().map(|s| (*s).to_owned()).collect();
    assert_eq!(names, registered, "every message needs a round-trip entry");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_message_round_trips(seed in any::<u64>()) {
        let registry = registry();
        let pool = pool();
        for desc in all_messages(&pool) {
            let mut g = Gen(seed ^ desc.full_name().len() as u64);
            let original = random_message(&mut g, &desc, 0);
            let encoded = original.encode_to_vec();
            let through_prost = registry[desc.full_name()](&encoded);
            let before = DynamicMessage::decode(desc.clone(), encoded.as_slice()).unwrap();
            let after = DynamicMessage::decode(desc.clone(), through_prost.as_slice()).unwrap();
            prop_assert_eq!(&before, &after, "{} changed in a round trip", desc.full_name());
        }
    }
}

// Byte-exact encodings, computed by hand from the protobuf encoding rules.

#[test]
fn waku_message_with_negative_sint64_timestamp() {
    let message = waku::message::v1::WakuMessage {
        payload: vec![1, 2, 3],
        content_topic: "/a/1/b/proto".into(),
        version: Some(0),
        timestamp: Some(-2),
        meta: None,
        rate_limit_proof: None,
        ephemeral: Some(true),
    };
    let expected: Vec<u8> = [
        &[0x0a, 0x03, 1, 2, 3][..], // 1: payload, LEN 3
        &[0x12, 0x0c],              // 2: content_topic, LEN 12
        b"/a/1/b/proto",
        &[0x18, 0x00],       // 3: version, present though 0
        &[0x50, 0x03],       // 10: sint64, zigzag(-2) = 3
        &[0xf8, 0x01, 0x01], // 31: ephemeral, tag 248 = f8 01
    ]
    .concat();
    assert_eq!(message.encode_to_vec(), expected);
    assert_eq!(
        waku::message::v1::WakuMessage::decode(expected.as_slice()).unwrap(),
        message
    );
}

#[test]
fn bundle_with_one_map_entry() {
    let message = encryption::Bundle {
        identity: vec![0xaa, 0xaa],
        signed_pre_keys: [(
            "a".to_owned(),
            encryption::SignedPreKey {
                signed_pre_key: vec![1],
                version: 2,
                protocol_version: 1,
            },
        )]
        .into_iter()
        .collect(),
        signature: vec![],
        timestamp: 5,
    };
    let expected = [
        0x0a, 0x02, 0xaa, 0xaa, // 1: identity
        0x12, 0x0c, // 2: map entry, LEN 12
        0x0a, 0x01, b'a', // entry key (1): "a"
        0x12, 0x07, // entry value (2), LEN 7
        0x0a, 0x01, 0x01, // signed_pre_key
        0x10, 0x02, // version
        0x18, 0x01, // protocol_version
        0x28, 0x05, // 5: timestamp
    ];
    assert_eq!(message.encode_to_vec(), expected);
    assert_eq!(encryption::Bundle::decode(&expected[..]).unwrap(), message);
}

#[test]
fn metadata_shards_are_not_packed() {
    let message = waku::metadata::v1::WakuMetadataRequest {
        cluster_id: Some(16),
        shards: vec![32, 64],
    };
    // Unpacked: one tag per element (0x10 = field 2, varint). Packed would be 12 02 20 40.
    let expected = [0x08, 0x10, 0x10, 0x20, 0x10, 0x40];
    assert_eq!(message.encode_to_vec(), expected);
    // A proto3 decoder accepts the packed form too.
    let packed = [0x08, 0x10, 0x12, 0x02, 0x20, 0x40];
    assert_eq!(
        waku::metadata::v1::WakuMetadataRequest::decode(&packed[..]).unwrap(),
        message
    );
}

#[test]
fn mvds_payload_with_a_large_field_number() {
    let message = mvds::Payload {
        acks: vec![vec![0x01]],
        ..Default::default()
    };
    // Field 5001, LEN: tag 5001 << 3 | 2 = 40010 = varint ca b8 02.
    let expected = [0xca, 0xb8, 0x02, 0x01, 0x01];
    assert_eq!(message.encode_to_vec(), expected);
}
