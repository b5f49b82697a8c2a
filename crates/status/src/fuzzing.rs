//! Entry points shared by the cargo-fuzz targets (`fuzz/`) and the corpus replay test
//! (`tests/fuzz_corpus.rs`). Not a stable API.
//!
//! [`records`] feeds arbitrary bytes to every decoder of what a node reads back from its
//! account database: the chat layer's contact, message, outbox and group records, chat
//! clocks and orphan lists, the session-store keys, the sealed-record framing, the stored KDF parameters and the
//! stored signed prekey. Whatever decodes must re-encode to bytes that decode to the same
//! value. (The SQLite file itself is opened by SQLite and is AEAD-sealed row by row, so a
//! tampered row fails to open before these decoders see it; they are fuzzed directly.)
#![allow(clippy::panic)]

use status_chat::ids::key_to_hex;
use status_chat::reliability::{MvdsMessage, OutboxEntry};
use status_chat::{
    ChatId, Contact, Emoji, GroupChat, GroupId, MessageId, StoredMessage, payload::ContentType,
};
use status_identity::IdentityKeyPair;
use status_sessions::{InstallationId, SessionKey};
use status_x3dh::SignedPreKeyPair;

use crate::account::{decode_prekey, encode_prekey};
use crate::persist::{
    decode_clock, decode_contact, decode_group, decode_message, decode_orphans, decode_outbox,
    encode_clock, encode_contact, encode_group, encode_message, encode_orphans, encode_outbox,
    session_key_bytes, session_key_from,
};
use crate::store::{KdfParams, decode_record, encode_record};

/// The group id the group records are decoded under (the id of the seed group).
fn group_id() -> Option<GroupId> {
    let creator = IdentityKeyPair::from_secret_bytes(&[0x61; 32]);
    GroupId::parse(&format!(
        "{}-0f0e0d0c-0b0a-4908-8706-050403020100",
        key_to_hex(creator.public_key())
    ))
    .ok()
}

/// cargo-fuzz target `records`: `data[0] % 10` picks the decoder (0 contact, 1 message,
/// 2 outbox entry, 3 group, 4 session key, 5 sealed-record framing, 6 KDF parameters,
/// 7 signed prekey, 8 chat clock (key, then the 8-byte value), 9 orphan list),
/// `data[1..]` is the stored bytes. Never panics; a decoded value
/// re-encodes to bytes that decode to the same value.
pub fn records(data: &[u8]) {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    match selector % 10 {
        0 => {
            if let Some(c) = decode_contact(bytes)
                && decode_contact(&encode_contact(&c)).as_ref() != Some(&c)
            {
                panic!("contact record round trip");
            }
        }
        1 => {
            if let Some(m) = decode_message(bytes)
                && decode_message(&encode_message(&m)).as_ref() != Some(&m)
            {
                panic!("message record round trip");
            }
        }
        2 => {
            if let Some(e) = decode_outbox(bytes)
                && decode_outbox(&encode_outbox(&e)).as_ref() != Some(&e)
            {
                panic!("outbox record round trip");
            }
        }
        3 => {
            let Some(id) = group_id() else {
                return;
            };
            if let Some(g) = decode_group(id.as_str().as_bytes(), bytes)
                && decode_group(id.as_str().as_bytes(), &encode_group(&g)).as_ref() != Some(&g)
            {
                panic!("group record round trip");
            }
        }
        4 => {
            if let Some(k) = session_key_from(bytes)
                && session_key_bytes(&k) != bytes
            {
                panic!("session keys have one encoding");
            }
        }
        5 => {
            if let Some((k, v)) = decode_record(bytes)
                && encode_record(&k, &v).as_slice() != bytes
            {
                panic!("sealed records have one framing");
            }
        }
        6 => {
            if let Some(p) = KdfParams::from_bytes(bytes)
                && p.to_bytes() != bytes
            {
                panic!("KDF parameters have one encoding");
            }
        }
        7 => {
            if let Some(p) = decode_prekey(bytes)
                && encode_prekey(&p).as_slice() != bytes
            {
                panic!("stored prekeys have one encoding");
            }
        }
        8 => {
            // The last 8 bytes are the value, the rest the key.
            let (key, value) = bytes.split_at(bytes.len().saturating_sub(8));
            if let Some((chat, clock)) = decode_clock(key, value) {
                let (k, v) = encode_clock(&chat, clock);
                if decode_clock(&k, &v) != Some((chat, clock)) {
                    panic!("clock record round trip");
                }
            }
        }
        _ => {
            if let Some(list) = decode_orphans(bytes)
                && encode_orphans(&list).as_slice() != bytes
            {
                panic!("orphan lists have one encoding");
            }
        }
    }
}

/// Real records made by the node's encoders, each with its selector byte (seed corpus).
pub fn seed_inputs() -> Vec<Vec<u8>> {
    let with = |s: u8, b: &[u8]| [&[s][..], b].concat();
    let a = IdentityKeyPair::from_secret_bytes(&[0x61; 32]);
    let b = *IdentityKeyPair::from_secret_bytes(&[0x62; 32]).public_key();
    let mut out = Vec::new();
    let mut c = Contact::new(b);
    c.bundle = Some(vec![1, 2, 3]);
    c.intro = "hi".into();
    c.held = vec![vec![4, 5]];
    c.their_request = Some(MessageId([9; 32]));
    out.push(with(0, &encode_contact(&c)));
    let mut m = StoredMessage {
        id: MessageId([1; 32]),
        chat: ChatId::OneToOne(b),
        sender: *a.public_key(),
        clock: 7,
        timestamp_ms: 1_700_000_000_000,
        text: "héllo".into(),
        response_to: Some(MessageId([2; 32])),
        content: ContentType::Text,
        edit_clock: 3,
        deleted: false,
        reactions: Default::default(),
        awaiting: [b].into_iter().collect(),
        failed: Default::default(),
        outgoing: true,
    };
    m.reactions.insert((b, Emoji::Laugh), (3, false));
    out.push(with(1, &encode_message(&m)));
    let e = OutboxEntry {
        peer: b,
        message: MvdsMessage {
            group_id: vec![7; 32],
            timestamp: 1_700_000_000,
            body: b"sealed".to_vec(),
        },
        app_id: MessageId([3; 32]),
        send_count: 2,
        next_send_ms: 1_700_000_005_000,
    };
    out.push(with(2, &encode_outbox(&e)));
    if let Some(id) = group_id()
        && let Some(g) = seed_group(&a, &id, &b)
    {
        out.push(with(3, &encode_group(&g)));
    }
    if let Ok(installation) = InstallationId::new("a1b2c3") {
        let k = SessionKey {
            peer: b,
            installation,
            bundle_id: [5; 32],
        };
        out.push(with(4, &session_key_bytes(&k)));
    }
    out.push(with(5, &encode_record(b"key", b"value")));
    out.push(with(6, &KdfParams::DEFAULT.to_bytes()));
    out.push(with(
        7,
        &encode_prekey(&SignedPreKeyPair::from_secret_bytes(&[8; 32], 4)),
    ));
    let (key, value) = encode_clock(&ChatId::OneToOne(b), 42);
    out.push(with(8, &[key.as_slice(), &value].concat()));
    out.push(with(
        9,
        &encode_orphans(&[(b, vec![1, 2, 3]), (*a.public_key(), b"wire".to_vec())]),
    ));
    out
}

/// A group with a fixed id: created by `a` with `b` as member, re-signed under `id`.
fn seed_group(
    a: &IdentityKeyPair,
    id: &GroupId,
    b: &status_identity::IdentityPublicKey,
) -> Option<GroupChat> {
    use status_chat::group::{GroupEvent, GroupEventKind, MembershipUpdate, SignedGroupEvent};
    let events = vec![
        SignedGroupEvent::sign(
            a,
            id,
            GroupEvent {
                clock: 1,
                kind: GroupEventKind::Created {
                    name: "g".into(),
                    color: String::new(),
                },
            },
        ),
        SignedGroupEvent::sign(
            a,
            id,
            GroupEvent {
                clock: 2,
                kind: GroupEventKind::MembersAdded(vec![*b]),
            },
        ),
    ];
    GroupChat::from_update(&MembershipUpdate {
        chat_id: id.clone(),
        events,
    })
    .ok()
}
