//! `cargo xtask vectors x3dh`: known-answer vectors of status-x3dh (suite 1) with fixed
//! keys, written to `crates/status-x3dh/tests/vectors/x3dh.json`.
//!
//! The vectors hold the bundles and their signature bytes, DH1..DH3, SK, AD, every root,
//! chain and message key, AES keys and nonces, headers and ciphertexts of a conversation
//! with out-of-order delivery. `tests/vectors.rs` of the crate checks the code against
//! them; `check_x3dh.py` (next to them) re-derives them from DESIGN.md with Python's
//! `cryptography` package.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, anyhow, bail, ensure};
use serde_json::{Value, json};
use status_identity::IdentityKeyPair;
use status_x3dh::hazmat;
use status_x3dh::{
    EncryptedMessage, InstallationId, Session, SignedPreKey, SignedPreKeyPair, VerifiedBundle,
    X25519PublicKey,
};

/// Where the vectors live.
pub fn vectors_dir(root: &Path) -> PathBuf {
    root.join("crates/status-x3dh/tests/vectors")
}

/// Deterministic, patterned 32-byte test keys (not secret, not random).
fn fixed(label: u8) -> [u8; 32] {
    core::array::from_fn(|i| {
        label
            .wrapping_mul(31)
            .wrapping_add((i as u8).wrapping_mul(7))
            ^ 0x5c
    })
}

const TIMESTAMP_NS: i64 = 1_700_000_000_123_456_789;

fn h(bytes: &[u8]) -> Value {
    Value::String(hex::encode(bytes))
}

struct Side {
    name: &'static str,
    seed: [u8; 32],
    identity: IdentityKeyPair,
    device: InstallationId,
    prekey_secret: [u8; 32],
    prekey: SignedPreKeyPair,
    bundle: VerifiedBundle,
}

fn side(
    name: &'static str,
    seed: [u8; 32],
    device: &str,
    prekey_secret: [u8; 32],
    version: u32,
) -> Result<Side> {
    let identity = IdentityKeyPair::from_secret_bytes(&seed);
    let device = InstallationId::new(device)?;
    let prekey = SignedPreKeyPair::from_secret_bytes(&prekey_secret, version);
    // A second installation makes the signature material cover the sorting rule.
    let other = InstallationId::new(format!("{name}-tablet-2"))?;
    let other_key = SignedPreKey {
        key: X25519PublicKey::from_bytes(hazmat::x25519_public(&fixed(seed[0] ^ 0xaa))),
        version: 3,
    };
    let bundle = VerifiedBundle::sign(
        &identity,
        [(device.clone(), prekey.public()), (other, other_key)],
        TIMESTAMP_NS,
    )?;
    Ok(Side {
        name,
        seed,
        identity,
        device,
        prekey_secret,
        prekey,
        bundle,
    })
}

fn side_json(s: &Side) -> Value {
    let x25519_secret = s.identity.x25519_secret().to_bytes();
    json!({
        "identity_seed": h(&s.seed),
        "identity_public": h(s.identity.public_key().as_bytes()),
        "identity_x25519_secret": h(&x25519_secret),
        "identity_x25519_public": h(s.identity.public_key().to_x25519().as_bytes()),
        "installation_id": s.device.as_str(),
        "signed_pre_key_secret": h(&s.prekey_secret),
        "signed_pre_key_public": h(s.prekey.public().key.as_bytes()),
        "signed_pre_key_version": s.prekey.public().version,
    })
}

fn bundle_json(s: &Side) -> Value {
    let entries: Vec<Value> = s
        .bundle
        .prekeys()
        .iter()
        .map(|(id, spk)| {
            json!({
                "installation_id": id.as_str(),
                "signed_pre_key": h(spk.key.as_bytes()),
                "version": spk.version,
                "protocol_version": status_x3dh::SUITE_VERSION,
            })
        })
        .collect();
    let mut labelled = b"WAKU2-X3DH/1/bundle".to_vec();
    labelled.extend_from_slice(&hazmat::bundle_signature_material(&s.bundle));
    json!({
        "identity": h(s.bundle.identity().as_bytes()),
        "timestamp_ns": s.bundle.timestamp_ns(),
        "entries": entries,
        "signed_material": h(&labelled),
        "signature": h(s.bundle.signature().as_bytes()),
        "encoded": h(&s.bundle.encode()),
    })
}

/// A party of the conversation: its session and the ratchet secrets it will use.
struct Peer {
    session: Session,
    next_ratchet: Vec<[u8; 32]>,
}

struct Sent {
    message: EncryptedMessage,
    plaintext: Vec<u8>,
    to: usize,
}

/// Builds every value of the vectors.
pub fn generate() -> Result<Value> {
    let alice = side("alice", fixed(1), "alice-phone-1", fixed(2), 1)?;
    let bob = side("bob", fixed(3), "bob-laptop-1", fixed(4), 7)?;
    let ephemeral_secret = fixed(5);
    let alice_ratchets = [fixed(6), fixed(8), fixed(10)];
    let bob_ratchets = [fixed(7), fixed(9)];

    // X3DH.
    let (alice_session, x3dh) = hazmat::initiate_with_fixed_keys_for_testing_only(
        &alice.identity,
        bob.bundle.identity(),
        &bob.prekey.public().key,
        ephemeral_secret,
        alice_ratchets[0],
    )
    .map_err(|e| anyhow!("{e}"))?;
    let ephemeral_public = X25519PublicKey::from_bytes(hazmat::x25519_public(&ephemeral_secret));
    let (bob_session, bob_x3dh) = hazmat::respond_with_fixed_keys_for_testing_only(
        &bob.identity,
        bob.prekey_secret,
        alice.bundle.identity(),
        &ephemeral_public,
    )
    .map_err(|e| anyhow!("{e}"))?;
    ensure!(x3dh == bob_x3dh, "X3DH disagrees");
    let initial_dh =
        hazmat::dangerous_x25519(&alice_ratchets[0], bob.prekey.public().key.as_bytes())
            .map_err(|e| anyhow!("{e}"))?;
    let (initial_root, initial_chain) = hazmat::dangerous_kdf_rk(&x3dh.sk, &initial_dh);

    let x3dh_json = json!({
        "ephemeral_secret": h(&ephemeral_secret),
        "ephemeral_public": h(ephemeral_public.as_bytes()),
        "dh1": h(&x3dh.dh1),
        "dh2": h(&x3dh.dh2),
        "dh3": h(&x3dh.dh3),
        "ikm": h(&[[0xffu8; 32], x3dh.dh1, x3dh.dh2, x3dh.dh3].concat()),
        "sk": h(&x3dh.sk),
        "ad": h(alice_session.associated_data()),
        "initiator_first_ratchet_secret": h(&alice_ratchets[0]),
        "initiator_first_ratchet_public": h(&hazmat::x25519_public(&alice_ratchets[0])),
        "initial_dh": h(&initial_dh),
        "initial_root_key": h(&initial_root),
        "initial_sending_chain_key": h(&initial_chain),
    });

    let mut peers = [
        Peer {
            session: alice_session,
            next_ratchet: alice_ratchets[1..].to_vec(),
        },
        Peer {
            session: bob_session,
            next_ratchet: bob_ratchets.to_vec(),
        },
    ];
    peers[0].next_ratchet.reverse();
    peers[1].next_ratchet.reverse();

    // The script: sends (by party) and deliveries (by message index), out of order.
    enum Step {
        Send(usize, &'static str),
        Deliver(usize),
    }
    use Step::{Deliver, Send};
    let script = [
        Send(0, "a0-0: hello Bob"),
        Send(0, "a0-1"),
        Send(0, "a0-2: third"),
        Deliver(2), // Bob answers the X3DH with the third message; keys 0 and 1 are skipped
        Deliver(0),
        Send(1, "b1-0: hi Alice"),
        Send(1, "b1-1"),
        Deliver(4), // Alice: new chain, skips b1-0
        Deliver(3),
        Send(0, "a2-0"),
        Send(0, "a2-1: after a DH step"),
        Deliver(6), // Bob: finishes chain a0 up to pn = 3 (keeps a0-1), skips a2-0
        Deliver(1), // old chain, stored key
        Deliver(5),
        Send(1, "b3-0"),
        Deliver(7),
        Send(0, ""), // empty plaintext
        Deliver(8),
    ];

    let mut sent: Vec<Sent> = Vec::new();
    let mut messages = Vec::new();
    let mut deliveries = Vec::new();
    let mut order = Vec::new();
    for step in script {
        match step {
            Send(from, text) => {
                order.push(json!({ "send": sent.len() }));
                let peer = &mut peers[from];
                let before = hazmat::dangerous_snapshot(&peer.session);
                let pending_step = before.sending.is_none();
                let secret = if pending_step {
                    peer.next_ratchet
                        .pop()
                        .context("script needs another ratchet key")?
                } else {
                    [0; 32]
                };
                let (message, used) = hazmat::encrypt_with_fixed_ratchet_key_for_testing_only(
                    &mut peer.session,
                    secret,
                    text.as_bytes(),
                )
                .map_err(|e| anyhow!("{e}"))?;
                ensure!(used == pending_step, "ratchet key use mismatch");
                let after = hazmat::dangerous_snapshot(&peer.session);
                let mut record = serde_json::Map::new();
                let chain_key = if pending_step {
                    let their = message_peer_ratchet(&peers, from)?;
                    let dh =
                        hazmat::dangerous_x25519(&secret, &their).map_err(|e| anyhow!("{e}"))?;
                    let (root, chain) = hazmat::dangerous_kdf_rk(&before.root_key, &dh);
                    ensure!(root == after.root_key, "root key mismatch");
                    record.insert(
                        "ratchet_step".into(),
                        json!({
                            "ratchet_secret": h(&secret),
                            "ratchet_public": h(&hazmat::x25519_public(&secret)),
                            "peer_ratchet_public": h(&their),
                            "dh": h(&dh),
                            "root_key_in": h(&before.root_key),
                            "root_key_out": h(&root),
                            "chain_key": h(&chain),
                        }),
                    );
                    chain
                } else {
                    before.sending.context("no sending chain")?.0
                };
                let (mk, next_chain) = hazmat::dangerous_kdf_ck(&chain_key);
                ensure!(
                    after.sending.map(|s| s.0) == Some(next_chain),
                    "chain mismatch"
                );
                let (aes_key, nonce) = hazmat::dangerous_message_key_expansion(&mk);
                let header = message.header.to_bytes();
                let mut aad = peers[from].session.associated_data().to_vec();
                aad.extend_from_slice(&header);
                record.insert("index".into(), json!(sent.len()));
                record.insert(
                    "sender".into(),
                    json!(if from == 0 { "alice" } else { "bob" }),
                );
                record.insert("plaintext".into(), h(text.as_bytes()));
                record.insert(
                    "ratchet_public".into(),
                    h(message.header.ratchet_key.as_bytes()),
                );
                record.insert("pn".into(), json!(message.header.pn));
                record.insert("n".into(), json!(message.header.n));
                record.insert("bundle_id".into(), h(message.header.bundle_id.as_bytes()));
                record.insert(
                    "x3dh_header".into(),
                    match message.x3dh {
                        Some(x) => json!({
                            "ephemeral_key": h(x.ephemeral_key.as_bytes()),
                            "signed_pre_key": h(x.signed_pre_key.as_bytes()),
                        }),
                        None => Value::Null,
                    },
                );
                record.insert("chain_key".into(), h(&chain_key));
                record.insert("message_key".into(), h(&mk));
                record.insert("next_chain_key".into(), h(&next_chain));
                record.insert("aes_key".into(), h(&aes_key));
                record.insert("nonce".into(), h(&nonce));
                record.insert("header".into(), h(&header));
                record.insert("associated_data".into(), h(&aad));
                record.insert("payload".into(), h(&message.payload));
                record.insert("encoded".into(), h(&message.encode()));
                messages.push(Value::Object(record));
                sent.push(Sent {
                    message,
                    plaintext: text.as_bytes().to_vec(),
                    to: 1 - from,
                });
            }
            Deliver(index) => {
                order.push(json!({ "deliver": index }));
                let item = sent
                    .get(index)
                    .context("script delivers an unsent message")?;
                let receiver = &mut peers[item.to];
                let before = hazmat::dangerous_snapshot(&receiver.session);
                let plaintext = receiver
                    .session
                    .decrypt(&item.message)
                    .map_err(|e| anyhow!("delivery of {index}: {e}"))?;
                ensure!(plaintext == item.plaintext, "plaintext mismatch");
                let after = hazmat::dangerous_snapshot(&receiver.session);
                let mut record = json!({
                    "message": index,
                    "receiver": if item.to == 0 { "alice" } else { "bob" },
                    "skipped_keys_after": receiver.session.skipped_keys(),
                });
                if before.root_key != after.root_key {
                    let (_, chain, _) = after.receiving.context("no receiving chain")?;
                    record["ratchet_step"] = json!({
                        "root_key_in": h(&before.root_key),
                        "root_key_out": h(&after.root_key),
                        "receiving_chain_key_after": h(&chain),
                    });
                }
                deliveries.push(record);
            }
        }
    }

    Ok(json!({
        "description": "status-x3dh known-answer vectors, suite 1 (DESIGN.md: X3DH without one-time prekey, Double Ratchet, AES-256-GCM). All byte strings are hex. Generated by `cargo xtask vectors x3dh`; checked by tests/vectors.rs and check_x3dh.py.",
        "suite": 1,
        "labels": {
            "bundle": "WAKU2-X3DH/1/bundle",
            "x3dh": "WAKU2-X3DH/1/x3dh",
            "root": "WAKU2-X3DH/1/root",
            "message": "WAKU2-X3DH/1/message",
        },
        "alice": side_json(&alice),
        "bob": side_json(&bob),
        "bundles": { "alice": bundle_json(&alice), "bob": bundle_json(&bob) },
        "x3dh": x3dh_json,
        "messages": messages,
        "deliveries": deliveries,
        "script": order,
        "names": [alice.name, bob.name],
    }))
}

/// The ratchet key the sender `from` will DH with: the receiver's current ratchet key,
/// as the sender last saw it.
fn message_peer_ratchet(peers: &[Peer; 2], from: usize) -> Result<[u8; 32]> {
    let snapshot = hazmat::dangerous_snapshot(&peers[from].session);
    snapshot
        .receiving
        .map(|(key, _, _)| key)
        .context("sender has no receiving chain")
}

/// Writes the vectors.
pub fn write(root: &Path) -> Result<()> {
    let value = generate()?;
    let dir = vectors_dir(root);
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("x3dh.json");
    let mut text = serde_json::to_string_pretty(&value)?;
    text.push('\n');
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    eprintln!("wrote {}", path.display());
    Ok(())
}

/// Runs the independent Python checker against the committed vectors, in the venv with
/// the pinned `cryptography` package.
pub fn python_check(root: &Path) -> Result<()> {
    let python = crate::vectors_sessions::python_venv(root)?;
    let dir = vectors_dir(root);
    let status = Command::new(python)
        .arg(dir.join("check_x3dh.py"))
        .arg(dir.join("x3dh.json"))
        .status()
        .context("starting check_x3dh.py")?;
    if !status.success() {
        bail!("check_x3dh.py failed ({status})");
    }
    Ok(())
}
