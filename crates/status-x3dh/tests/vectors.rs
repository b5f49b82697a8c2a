//! Checks the code against the committed known-answer vectors (`tests/vectors/x3dh.json`,
//! written by `cargo xtask vectors x3dh`, re-derived independently by `check_x3dh.py`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;
use status_identity::IdentityKeyPair;
use status_x3dh::hazmat;
use status_x3dh::{
    Bundle, BundlePolicy, EncryptedMessage, InstallationId, Session, SignedPreKey, VerifiedBundle,
    X25519PublicKey,
};

fn b32(v: &Value) -> [u8; 32] {
    hex::decode(v.as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap()
}

fn bytes(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap()).unwrap()
}

fn vectors() -> Value {
    let text = include_str!("vectors/x3dh.json");
    serde_json::from_str(text).unwrap()
}

fn identity(p: &Value) -> IdentityKeyPair {
    let id = IdentityKeyPair::from_secret_bytes(&b32(&p["identity_seed"]));
    assert_eq!(id.public_key().as_bytes(), &b32(&p["identity_public"]));
    assert_eq!(
        id.public_key().to_x25519().as_bytes(),
        &b32(&p["identity_x25519_public"])
    );
    assert_eq!(
        id.x25519_secret().to_bytes(),
        b32(&p["identity_x25519_secret"])
    );
    id
}

fn check_bundle(b: &Value, id: &IdentityKeyPair) {
    let entries = b["entries"].as_array().unwrap().iter().map(|e| {
        (
            InstallationId::new(e["installation_id"].as_str().unwrap()).unwrap(),
            SignedPreKey {
                key: X25519PublicKey::from_bytes(b32(&e["signed_pre_key"])),
                version: e["version"].as_u64().unwrap() as u32,
            },
        )
    });
    let ts = b["timestamp_ns"].as_i64().unwrap();
    let signed = VerifiedBundle::sign(id, entries, ts).unwrap();
    let mut labelled = b"WAKU2-X3DH/1/bundle".to_vec();
    labelled.extend_from_slice(&hazmat::bundle_signature_material(&signed));
    assert_eq!(labelled, bytes(&b["signed_material"]));
    assert_eq!(
        signed.signature().as_bytes().to_vec(),
        bytes(&b["signature"])
    );
    assert_eq!(signed.encode(), bytes(&b["encoded"]));
    let decoded = Bundle::decode(&bytes(&b["encoded"]))
        .unwrap()
        .verify(&BundlePolicy::default(), ts)
        .unwrap();
    assert_eq!(decoded, signed);
}

#[test]
fn code_matches_committed_vectors() {
    let v = vectors();
    let alice = identity(&v["alice"]);
    let bob = identity(&v["bob"]);
    check_bundle(&v["bundles"]["alice"], &alice);
    check_bundle(&v["bundles"]["bob"], &bob);

    let x = &v["x3dh"];
    let spk_b = X25519PublicKey::from_bytes(b32(&v["bob"]["signed_pre_key_public"]));
    let (a, values) = hazmat::initiate_with_fixed_keys_for_testing_only(
        &alice,
        bob.public_key(),
        &spk_b,
        b32(&x["ephemeral_secret"]),
        b32(&x["initiator_first_ratchet_secret"]),
    )
    .unwrap();
    let (b, bob_values) = hazmat::respond_with_fixed_keys_for_testing_only(
        &bob,
        b32(&v["bob"]["signed_pre_key_secret"]),
        alice.public_key(),
        &X25519PublicKey::from_bytes(b32(&x["ephemeral_public"])),
    )
    .unwrap();
    assert!(values == bob_values);
    assert_eq!(values.dh1, b32(&x["dh1"]));
    assert_eq!(values.dh2, b32(&x["dh2"]));
    assert_eq!(values.dh3, b32(&x["dh3"]));
    assert_eq!(values.sk, b32(&x["sk"]));
    assert_eq!(
        hazmat::dangerous_x3dh_secret(&values.dh1, &values.dh2, &values.dh3),
        values.sk
    );
    assert_eq!(a.associated_data().to_vec(), bytes(&x["ad"]));
    assert_eq!(b.associated_data().to_vec(), bytes(&x["ad"]));
    let snap = hazmat::dangerous_snapshot(&a);
    assert_eq!(snap.root_key, b32(&x["initial_root_key"]));
    assert_eq!(
        snap.sending.unwrap().0,
        b32(&x["initial_sending_chain_key"])
    );

    let mut parties = [a, b];
    let index = |name: &str| usize::from(name == "bob");
    let messages = v["messages"].as_array().unwrap();
    let mut deliveries = v["deliveries"].as_array().unwrap().iter();
    let mut sent: Vec<EncryptedMessage> = Vec::new();
    for step in v["script"].as_array().unwrap() {
        if let Some(i) = step.get("send") {
            let m = &messages[i.as_u64().unwrap() as usize];
            let session = &mut parties[index(m["sender"].as_str().unwrap())];
            let before = hazmat::dangerous_snapshot(session);
            let secret = m
                .get("ratchet_step")
                .map(|rs| b32(&rs["ratchet_secret"]))
                .unwrap_or([0; 32]);
            let (message, used) = hazmat::encrypt_with_fixed_ratchet_key_for_testing_only(
                session,
                secret,
                &bytes(&m["plaintext"]),
            )
            .unwrap();
            assert_eq!(used, m.get("ratchet_step").is_some());
            if let Some(rs) = m.get("ratchet_step") {
                assert_eq!(before.root_key, b32(&rs["root_key_in"]));
                let dh =
                    hazmat::dangerous_x25519(&secret, &b32(&rs["peer_ratchet_public"])).unwrap();
                assert_eq!(dh, b32(&rs["dh"]));
                let (rk, ck) = hazmat::dangerous_kdf_rk(&before.root_key, &dh);
                assert_eq!(rk, b32(&rs["root_key_out"]));
                assert_eq!(ck, b32(&rs["chain_key"]));
            } else {
                assert_eq!(before.sending.unwrap().0, b32(&m["chain_key"]));
            }
            let (mk, next) = hazmat::dangerous_kdf_ck(&b32(&m["chain_key"]));
            assert_eq!(mk, b32(&m["message_key"]));
            assert_eq!(next, b32(&m["next_chain_key"]));
            let (key, nonce) = hazmat::dangerous_message_key_expansion(&mk);
            assert_eq!(key, b32(&m["aes_key"]));
            assert_eq!(nonce.to_vec(), bytes(&m["nonce"]));
            assert_eq!(message.header.to_bytes().to_vec(), bytes(&m["header"]));
            assert_eq!(message.header.n, m["n"].as_u64().unwrap() as u32);
            assert_eq!(message.header.pn, m["pn"].as_u64().unwrap() as u32);
            let mut aad = session.associated_data().to_vec();
            aad.extend_from_slice(&message.header.to_bytes());
            assert_eq!(aad, bytes(&m["associated_data"]));
            assert_eq!(message.payload, bytes(&m["payload"]));
            assert_eq!(message.x3dh.is_some(), !m["x3dh_header"].is_null());
            assert_eq!(message.encode(), bytes(&m["encoded"]));
            sent.push(message);
        } else {
            let d = deliveries.next().unwrap();
            let i = d["message"].as_u64().unwrap() as usize;
            assert_eq!(Some(i as u64), step["deliver"].as_u64());
            let session = &mut parties[index(d["receiver"].as_str().unwrap())];
            let before = hazmat::dangerous_snapshot(session);
            let wire = EncryptedMessage::decode(&bytes(&messages[i]["encoded"])).unwrap();
            assert_eq!(wire, sent[i]);
            let plaintext = session.decrypt(&wire).unwrap();
            assert_eq!(plaintext, bytes(&messages[i]["plaintext"]));
            assert!(session.decrypt(&wire).is_err(), "replay accepted");
            assert_eq!(
                session.skipped_keys() as u64,
                d["skipped_keys_after"].as_u64().unwrap()
            );
            let after = hazmat::dangerous_snapshot(session);
            if let Some(rs) = d.get("ratchet_step") {
                assert_eq!(before.root_key, b32(&rs["root_key_in"]));
                assert_eq!(after.root_key, b32(&rs["root_key_out"]));
                assert_eq!(
                    after.receiving.unwrap().1,
                    b32(&rs["receiving_chain_key_after"])
                );
            } else {
                assert_eq!(before.root_key, after.root_key);
            }
        }
    }
    assert!(deliveries.next().is_none());
    assert_eq!(sent.len(), messages.len());
    // The responder built through the public API agrees with the vectors too.
    let _ = Session::from_bytes(&parties[1].to_bytes()).unwrap();
}
