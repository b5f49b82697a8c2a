//! `cargo xtask vectors`: every known-answer vector of the stack in one documented JSON
//! format, written to `docs/vectors/` (format described in `docs/vectors/README.md`).
//!
//! Each file is an envelope `{format, section, description, generator, sources, data}`.
//! Sections that a crate already publishes (identity, X3DH/Double Ratchet, sessions,
//! Noise against `@waku/noise`) are taken verbatim from the crate's `tests/vectors/`
//! (each crate's own tests check its code against them, and Python cross-checks run in
//! CI); the sections no crate publishes (Noise device pairing, Waku message hashes, chat
//! payloads with their MVDS framing) are generated here through the crates' public APIs
//! with fixed keys. `xtask/tests/vectors_all.rs` regenerates everything and compares it
//! with the committed files, so they cannot drift.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, ensure};
use serde_json::{Value, json};
use status_chat::ids::key_to_hex;
use status_chat::payload::{
    ApplicationMessage, ChatMessage, ContactReply, ContentType, DeleteMessage, EditMessage,
    EmojiReaction, MessageType, seal,
};
use status_chat::reliability::{MvdsMessage, MvdsPayload, one_to_one_group_id};
use status_chat::{Emoji, MessageId};
use status_identity::{ChatKey, IdentityKeyPair};
use status_noise::pairing::PairingParams;
use status_noise::{Keypair, MessageNametag, PairingInitiator, PairingResponder};
use waku_relay::WakuMessage;

/// The format identifier every envelope carries.
pub const FORMAT: &str = "status-rs-vectors/1";

/// Where the combined vectors live, relative to the workspace root.
pub fn vectors_dir(root: &Path) -> PathBuf {
    root.join("docs/vectors")
}

/// One section: its file name and the envelope.
pub type Section = (&'static str, Value);

fn h(bytes: &[u8]) -> Value {
    Value::String(hex::encode(bytes))
}

/// Deterministic, patterned 32-byte test values (not secret, not random).
fn fixed(label: u8) -> [u8; 32] {
    core::array::from_fn(|i| {
        label
            .wrapping_mul(29)
            .wrapping_add((i as u8).wrapping_mul(11))
            ^ 0xa5
    })
}

fn envelope(section: &str, description: &str, sources: &[&str], data: Value) -> Value {
    json!({
        "format": FORMAT,
        "section": section,
        "description": description,
        "generator": "cargo xtask vectors",
        "sources": sources,
        "data": data,
    })
}

fn read_json(root: &Path, rel: &str) -> Result<Value> {
    let text = std::fs::read_to_string(root.join(rel)).with_context(|| format!("reading {rel}"))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {rel}"))
}

/// Every section, in the order they are written.
pub fn generate(root: &Path) -> Result<Vec<Section>> {
    let mut out = Vec::new();

    let id_dir = "crates/status-identity/tests/vectors";
    let mut identity = serde_json::Map::new();
    let mut id_sources = Vec::new();
    for name in [
        "rfc8032_ed25519",
        "x25519_conversion",
        "bip39_english",
        "slip10_ed25519",
        "account_derivation",
        "fingerprints",
    ] {
        let rel = format!("{id_dir}/{name}.json");
        identity.insert(name.to_owned(), read_json(root, &rel)?);
        id_sources.push(rel);
    }
    identity.insert("chat_keys".to_owned(), chat_keys()?);
    let id_sources: Vec<&str> = id_sources.iter().map(String::as_str).collect();
    out.push((
        "identity.json",
        envelope(
            "identity",
            "Ed25519 identities: RFC 8032 signatures, Ed25519->X25519 conversion, BIP39, \
             SLIP-0010 at m/43'/60'/1581'/0'/0', account derivation, safety numbers and \
             names (from status-identity's tests/vectors), and chat keys of fixed seeds \
             (multibase base58btc of 0xed 0x01 || public key)",
            &id_sources,
            Value::Object(identity),
        ),
    ));

    let x3dh = "crates/status-x3dh/tests/vectors/x3dh.json";
    out.push((
        "x3dh.json",
        envelope(
            "x3dh",
            "X3DH (DESIGN.md suite 1) and the Double Ratchet: bundles and signature \
             material, DH1..DH3, SK, AD, root/chain/message keys, headers and ciphertexts \
             of a conversation with out-of-order delivery",
            &[x3dh, "crates/status-x3dh/tests/vectors/check_x3dh.py"],
            read_json(root, x3dh)?,
        ),
    ));

    let sessions = "crates/status-sessions/tests/vectors/sessions.json";
    out.push((
        "sessions.json",
        envelope(
            "sessions",
            "Multi-device sessions: content topics, partitioned topics, negotiated topic \
             and key (rule 9), payloads sealed to an identity (rule 10) and symmetric \
             payloads of 26 version 1",
            &[
                sessions,
                "crates/status-sessions/tests/vectors/check_sessions.py",
            ],
            read_json(root, sessions)?,
        ),
    ));

    let noise = "crates/status-noise/tests/vectors/waku-noise-kat.json";
    out.push((
        "noise.json",
        envelope(
            "noise",
            "Noise handshakes of 35 (K1K1, XK1, XX, XXpsk0, WakuPairing) and transport \
             messages, transcripts produced by @waku/noise with fixed keys",
            &[noise],
            read_json(root, noise)?,
        ),
    ));

    out.push((
        "pairing.json",
        envelope(
            "pairing",
            "43 device pairing (WakuPairing with QR code, static-key commitments, auth \
             code) between two devices with fixed keys, then transport messages both ways",
            &["xtask/src/vectors_all.rs (status-noise public API)"],
            pairing()?,
        ),
    ));

    out.push((
        "message_hash.json",
        envelope(
            "message_hash",
            "14/WAKU2-MESSAGE deterministic message hashes: SHA-256(pubsub_topic || \
             payload || content_topic || meta || timestamp as 8-byte big-endian two's \
             complement, 0 when absent), with the protobuf encoding of each message",
            &["xtask/src/vectors_all.rs (waku-relay public API)"],
            message_hashes()?,
        ),
    ));

    out.push((
        "chat_payloads.json",
        envelope(
            "chat_payloads",
            "62 application payloads: each inner message (protobuf), its signed \
             ApplicationMetadataMessage wrapper (Ed25519, see docs/deviations.md), the \
             message id SHA-256(sender public key || wrapper), and the MVDS payload that \
             carries it in a 1:1 chat",
            &["xtask/src/vectors_all.rs (status-chat public API)"],
            chat_payloads()?,
        ),
    ));
    Ok(out)
}

fn identity(label: u8) -> IdentityKeyPair {
    IdentityKeyPair::from_secret_bytes(&fixed(label))
}

fn chat_keys() -> Result<Value> {
    let mut v = Vec::new();
    for label in 1..=4u8 {
        let id = identity(label);
        let public = id.public_key();
        v.push(json!({
            "ed25519_seed": h(&fixed(label)),
            "ed25519_public": h(public.as_bytes()),
            "x25519_public": h(public.to_x25519().as_bytes()),
            "chat_key": ChatKey::from(*public).to_string(),
        }));
    }
    Ok(Value::Array(v))
}

fn pairing() -> Result<Value> {
    let mut rng = NoRng;
    let b_static = fixed(20);
    let b_ephemeral = fixed(21);
    let b_random = fixed(22);
    let qr_tag: [u8; 16] = core::array::from_fn(|i| 0x40 + i as u8);
    let a_static = fixed(30);
    let a_ephemeral = fixed(31);
    let a_random = fixed(32);
    let mut responder = PairingResponder::new(
        Keypair::from_secret_bytes(b_static),
        Keypair::from_secret_bytes(b_ephemeral),
        PairingParams::default(),
        b_random,
        MessageNametag::from_bytes(qr_tag),
    )
    .map_err(|e| anyhow!("responder: {e}"))?;
    let qr = responder.qr().to_string();
    let mut initiator = PairingInitiator::with_ephemeral_for_testing_only(
        Keypair::from_secret_bytes(a_static),
        Keypair::from_secret_bytes(a_ephemeral),
        &qr,
        responder.qr_nametag(),
        a_random,
    )
    .map_err(|e| anyhow!("initiator: {e}"))?;
    let (m1, code_a) = initiator
        .start(&mut rng)
        .map_err(|e| anyhow!("message 1: {e}"))?;
    let code_b = responder
        .handle_message1(&m1)
        .map_err(|e| anyhow!("reading message 1: {e}"))?;
    ensure!(code_a == code_b, "auth codes differ");
    initiator
        .confirm_auth_code(true)
        .map_err(|e| anyhow!("{e}"))?;
    let m2 = responder
        .confirm_auth_code(true, &mut rng)
        .map_err(|e| anyhow!("message 2: {e}"))?;
    let m3 = initiator
        .handle_message2(&m2, &mut rng)
        .map_err(|e| anyhow!("message 3: {e}"))?;
    responder
        .handle_message3(&m3)
        .map_err(|e| anyhow!("reading message 3: {e}"))?;
    let mut a = initiator.into_session().map_err(|e| anyhow!("{e}"))?;
    let mut b = responder.into_session().map_err(|e| anyhow!("{e}"))?;
    ensure!(a.handshake_hash() == b.handshake_hash(), "hashes differ");
    let mut transport = Vec::new();
    for (i, text) in ["hello from the new device", "", "and back"]
        .iter()
        .enumerate()
    {
        let (from, to, dir) = if i % 2 == 0 {
            (&mut a, &mut b, "initiator_to_responder")
        } else {
            (&mut b, &mut a, "responder_to_initiator")
        };
        let msg = from
            .encrypt(text.as_bytes())
            .map_err(|e| anyhow!("encrypt: {e}"))?;
        let wire = msg.encode().map_err(|e| anyhow!("encode: {e}"))?;
        let back = to.decrypt(&msg).map_err(|e| anyhow!("decrypt: {e}"))?;
        ensure!(back == text.as_bytes(), "transport round trip");
        transport.push(
            json!({"direction": dir, "plaintext": h(text.as_bytes()), "payload_v2": h(&wire)}),
        );
    }
    let enc = |m: &status_noise::PayloadV2| -> Result<Value> {
        Ok(h(&m.encode().map_err(|e| anyhow!("encode: {e}"))?))
    };
    Ok(json!({
        "params": {"app_name": status_noise::pairing::DEFAULT_APP_NAME,
                   "app_version": status_noise::pairing::DEFAULT_APP_VERSION,
                   "shard_id": status_noise::pairing::DEFAULT_SHARD_ID},
        "responder": {"static_secret": h(&b_static), "ephemeral_secret": h(&b_ephemeral),
                      "commit_random": h(&b_random), "qr_nametag": h(&qr_tag)},
        "initiator": {"static_secret": h(&a_static), "ephemeral_secret": h(&a_ephemeral),
                      "commit_random": h(&a_random)},
        "qr": qr,
        "content_topic": a.content_topic(
            status_noise::pairing::DEFAULT_APP_NAME,
            status_noise::pairing::DEFAULT_APP_VERSION,
        ),
        "auth_code": code_a,
        "message1_payload_v2": enc(&m1)?,
        "message2_payload_v2": enc(&m2)?,
        "message3_payload_v2": enc(&m3)?,
        "handshake_hash": h(&a.handshake_hash()),
        "transport": transport,
    }))
}

fn message_hashes() -> Result<Value> {
    let pubsub = "/waku/2/rs/16/32";
    let cases: Vec<(&str, WakuMessage)> = vec![
        (
            "payload and content topic only",
            WakuMessage::new("/status-rs/1/test/proto", b"hello".to_vec())?,
        ),
        (
            "with timestamp",
            WakuMessage::new("/status-rs/1/test/proto", b"hello".to_vec())?
                .with_timestamp(1_700_000_000_123_456_789),
        ),
        (
            "with meta and timestamp",
            WakuMessage::new("/status-rs/1/test/proto", vec![0u8; 40])?
                .with_meta(b"meta".to_vec())?
                .with_timestamp(1),
        ),
        (
            "ephemeral, version 1 (neither is hashed)",
            WakuMessage::new("/status-rs/1/test/proto", b"hello".to_vec())?
                .with_version(1)
                .with_ephemeral(true)
                .with_timestamp(1_700_000_000_123_456_789),
        ),
    ];
    let mut v = Vec::new();
    for (name, m) in cases {
        v.push(json!({
            "name": name,
            "pubsub_topic": pubsub,
            "content_topic": m.content_topic(),
            "payload": h(m.payload()),
            "meta": m.meta().map(h),
            "timestamp_ns": m.timestamp(),
            "version": m.version(),
            "ephemeral": m.ephemeral(),
            "encoded": h(&m.encode()),
            "hash": m.hash(pubsub).to_hex(),
        }));
    }
    Ok(Value::Array(v))
}

fn chat_payloads() -> Result<Value> {
    let alice = identity(40);
    let bob = identity(41);
    let (ka, kb) = (*alice.public_key(), *bob.public_key());
    let chat_id = key_to_hex(&kb);
    let first = MessageId([7; 32]);
    let messages = vec![
        (
            "contact request",
            ApplicationMessage::Chat(ChatMessage {
                clock: 1,
                timestamp_ms: 1_700_000_000_000,
                text: "hi, it's alice".into(),
                response_to: None,
                chat_id: chat_id.clone(),
                message_type: MessageType::OneToOne,
                content: ContentType::ContactRequest,
                display_name: "alice".into(),
            }),
        ),
        (
            "accept contact request",
            ApplicationMessage::AcceptContact(ContactReply {
                request_id: Some(first),
                clock: 2,
            }),
        ),
        (
            "text reply",
            ApplicationMessage::Chat(ChatMessage {
                clock: 3,
                timestamp_ms: 1_700_000_000_500,
                text: "grüße 👋".into(),
                response_to: Some(first),
                chat_id: chat_id.clone(),
                message_type: MessageType::OneToOne,
                content: ContentType::Text,
                display_name: String::new(),
            }),
        ),
        (
            "edit",
            ApplicationMessage::Edit(EditMessage {
                clock: 4,
                chat_id: chat_id.clone(),
                message_id: first,
                text: "edited".into(),
                message_type: MessageType::OneToOne,
            }),
        ),
        (
            "delete",
            ApplicationMessage::Delete(DeleteMessage {
                clock: 5,
                chat_id: chat_id.clone(),
                message_id: first,
                message_type: MessageType::OneToOne,
            }),
        ),
        (
            "emoji reaction",
            ApplicationMessage::Reaction(EmojiReaction {
                clock: 6,
                chat_id: chat_id.clone(),
                message_id: first,
                message_type: MessageType::OneToOne,
                emoji: Emoji::Love,
                retracted: false,
            }),
        ),
    ];
    let group = one_to_one_group_id(&ka, &kb);
    let mut v = Vec::new();
    for (i, (name, m)) in messages.into_iter().enumerate() {
        let signed = seal(&alice, &m).map_err(|e| anyhow!("seal: {e}"))?;
        let reopened =
            status_chat::payload::open(&ka, &signed.wire).map_err(|e| anyhow!("open: {e}"))?;
        ensure!(reopened.message == m, "payload round trip");
        let mvds = MvdsMessage {
            group_id: group.to_vec(),
            timestamp: 1_700_000_000 + i as i64,
            body: signed.wire.clone(),
        };
        let payload = MvdsPayload {
            acks: vec![],
            messages: vec![mvds.clone()],
        };
        v.push(json!({
            "name": name,
            "type": m.type_number(),
            "clock": m.clock(),
            "inner": h(&m.encode_inner()),
            "wrapper": h(&signed.wire),
            "message_id": signed.id.to_hex(),
            "mvds_group_id": h(&group),
            "mvds_message_id": h(&mvds.id().0),
            "mvds_payload": h(&payload.encode()),
        }));
    }
    let ack = MvdsPayload {
        acks: vec![status_chat::reliability::MvdsId([9; 32])],
        messages: vec![],
    };
    Ok(json!({
        "sender_seed": h(&fixed(40)),
        "sender_public": h(ka.as_bytes()),
        "recipient_seed": h(&fixed(41)),
        "recipient_public": h(kb.as_bytes()),
        "messages": v,
        "ack_only_payload": {"acks": [h(&[9; 32])], "encoded": h(&ack.encode())},
    }))
}

/// An RNG that must not be used: every key above is fixed, so drawing randomness is a bug.
struct NoRng;

impl rand_core::TryRng for NoRng {
    type Error = core::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(0)
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        Ok(0)
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        dst.fill(0);
        Ok(())
    }
}

impl rand_core::TryCryptoRng for NoRng {}

/// Renders one envelope as committed (pretty JSON, sorted keys, trailing newline).
pub fn render(v: &Value) -> Result<String> {
    Ok(format!("{}\n", serde_json::to_string_pretty(v)?))
}

/// Writes every section into `docs/vectors/`.
pub fn write(root: &Path) -> Result<()> {
    let dir = vectors_dir(root);
    std::fs::create_dir_all(&dir)?;
    for (name, v) in generate(root)? {
        let path = dir.join(name);
        std::fs::write(&path, render(&v)?).with_context(|| format!("writing {name}"))?;
        eprintln!("wrote docs/vectors/{name}");
    }
    Ok(())
}

/// Regenerates every section and compares it with the committed file.
pub fn check(root: &Path) -> Result<()> {
    let dir = vectors_dir(root);
    for (name, v) in generate(root)? {
        let committed = std::fs::read_to_string(dir.join(name))
            .with_context(|| format!("reading docs/vectors/{name}"))?;
        ensure!(
            committed == render(&v)?,
            "docs/vectors/{name} differs from what `cargo xtask vectors` generates"
        );
    }
    Ok(())
}
