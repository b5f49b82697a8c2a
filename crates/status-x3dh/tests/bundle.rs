//! Bundles: signing, encoding, verification and each typed error.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{NOW, party, rng};
use status_identity::{IdentityKeyPair, KeyError};
use status_x3dh::hazmat;
use status_x3dh::{
    Bundle, BundleError, BundlePolicy, InstallationId, SignedPreKey, SignedPreKeyPair,
    VerifiedBundle, X25519PublicKey,
};

/// Encodes a protobuf `Bundle` by hand (field 1 identity, 2 map, 4 signature, 5 timestamp)
/// so the tests can build what our encoder never would.
fn raw_bundle(
    identity: &[u8],
    entries: &[(&str, &[u8], u32, u32)],
    signature: &[u8],
    timestamp: i64,
) -> Vec<u8> {
    fn varint(mut v: u64, out: &mut Vec<u8>) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }
    fn bytes_field(field: u64, value: &[u8], out: &mut Vec<u8>) {
        varint(field << 3 | 2, out);
        varint(value.len() as u64, out);
        out.extend_from_slice(value);
    }
    let mut out = Vec::new();
    bytes_field(1, identity, &mut out);
    for (id, key, version, suite) in entries {
        let mut spk = Vec::new();
        bytes_field(1, key, &mut spk);
        varint(2 << 3, &mut spk);
        varint(u64::from(*version), &mut spk);
        varint(3 << 3, &mut spk);
        varint(u64::from(*suite), &mut spk);
        let mut entry = Vec::new();
        bytes_field(1, id.as_bytes(), &mut entry);
        bytes_field(2, &spk, &mut entry);
        bytes_field(2, &entry, &mut out);
    }
    bytes_field(4, signature, &mut out);
    varint(5 << 3, &mut out);
    varint(timestamp as u64, &mut out);
    out
}

fn signed(
    identity: &IdentityKeyPair,
    entries: &[(&str, [u8; 32], u32)],
    ts: i64,
) -> VerifiedBundle {
    VerifiedBundle::sign(
        identity,
        entries.iter().map(|(id, key, v)| {
            (
                InstallationId::new(*id).unwrap(),
                SignedPreKey {
                    key: X25519PublicKey::from_bytes(*key),
                    version: *v,
                },
            )
        }),
        ts,
    )
    .unwrap()
}

#[test]
fn sign_encode_decode_verify() {
    let mut rng = rng(1);
    let p = party(&mut rng, "dev-a");
    let wire = p.bundle.encode();
    let decoded = Bundle::decode(&wire).unwrap();
    assert_eq!(decoded, p.bundle.to_bundle());
    let verified = decoded.verify(&BundlePolicy::default(), NOW).unwrap();
    assert_eq!(verified, p.bundle);
    assert_eq!(verified.identity(), p.identity.public_key());
    assert_eq!(verified.prekey(&p.device).unwrap(), &p.prekey.public());
}

#[test]
fn hand_encoded_bundle_matches_our_encoder() {
    let mut rng = rng(2);
    let id = IdentityKeyPair::generate(&mut rng);
    let b = signed(&id, &[("b", [2; 32], 7), ("a", [1; 32], 9)], NOW);
    let raw = raw_bundle(
        id.public_key().as_bytes(),
        &[("a", &[1; 32], 9, 1), ("b", &[2; 32], 7, 1)],
        b.signature().as_bytes(),
        NOW,
    );
    assert_eq!(b.encode(), raw);
}

#[test]
fn signature_material_layout() {
    let mut rng = rng(3);
    let id = IdentityKeyPair::generate(&mut rng);
    // "b" < "ab"? No: byte order puts "ab" before "b".
    let b = signed(&id, &[("b", [2; 32], 0x01020304), ("ab", [1; 32], 5)], -2);
    let m = hazmat::bundle_signature_material(&b);
    let mut expect = vec![0, 2, b'a', b'b'];
    expect.extend_from_slice(&[1; 32]);
    expect.extend_from_slice(&5u32.to_be_bytes());
    expect.extend_from_slice(&[0, 1, b'b']);
    expect.extend_from_slice(&[2; 32]);
    expect.extend_from_slice(&[1, 2, 3, 4]);
    expect.extend_from_slice(&(-2i64).to_be_bytes());
    assert_eq!(m, expect);
}

#[test]
fn typed_errors() {
    let mut rng = rng(4);
    let id = IdentityKeyPair::generate(&mut rng);
    let policy = BundlePolicy::default();
    let good = signed(&id, &[("a", [1; 32], 1)], NOW);
    let sig = good.signature().to_bytes();
    let ik = id.public_key().to_bytes();

    // Bad signature: one bit flipped, wrong length, other timestamp.
    let mut bad = sig;
    bad[5] ^= 1;
    let v = |bytes: Vec<u8>| Bundle::decode(&bytes).and_then(|b| b.verify(&policy, NOW));
    assert_eq!(
        v(raw_bundle(&ik, &[("a", &[1; 32], 1, 1)], &bad, NOW)),
        Err(BundleError::BadSignature)
    );
    assert_eq!(
        v(raw_bundle(&ik, &[("a", &[1; 32], 1, 1)], &sig[..63], NOW)),
        Err(BundleError::BadSignature)
    );
    assert_eq!(
        v(raw_bundle(&ik, &[("a", &[1; 32], 1, 1)], &sig, NOW - 1)),
        Err(BundleError::BadSignature)
    );
    // The version is signed.
    assert_eq!(
        v(raw_bundle(&ik, &[("a", &[1; 32], 2, 1)], &sig, NOW)),
        Err(BundleError::BadSignature)
    );
    // Suite downgrade.
    assert_eq!(
        v(raw_bundle(&ik, &[("a", &[1; 32], 1, 0)], &sig, NOW)),
        Err(BundleError::UnsupportedSuite {
            installation: "a".into(),
            suite: 0
        })
    );
    // Malformed prekey and identity.
    assert_eq!(
        v(raw_bundle(&ik, &[("a", &[1; 33], 1, 1)], &sig, NOW)),
        Err(BundleError::MalformedPreKey {
            installation: "a".into(),
            len: 33
        })
    );
    assert_eq!(
        v(raw_bundle(&ik[..31], &[("a", &[1; 32], 1, 1)], &sig, NOW)),
        Err(BundleError::MalformedIdentity(KeyError::Length(31)))
    );
    let mut small_order = [0u8; 32];
    small_order[0] = 1;
    assert_eq!(
        v(raw_bundle(
            &small_order,
            &[("a", &[1; 32], 1, 1)],
            &sig,
            NOW
        )),
        Err(BundleError::MalformedIdentity(KeyError::SmallOrder))
    );
    // Duplicate ids (prost would silently keep the last one).
    assert_eq!(
        Bundle::decode(&raw_bundle(
            &ik,
            &[("a", &[1; 32], 1, 1), ("a", &[1; 32], 1, 1)],
            &sig,
            NOW
        )),
        Err(BundleError::DuplicateInstallation)
    );
    // Empty.
    assert_eq!(v(raw_bundle(&ik, &[], &sig, NOW)), Err(BundleError::Empty));
    // Too many installations.
    let many = signed(
        &id,
        &[
            ("a", [1; 32], 1),
            ("b", [1; 32], 1),
            ("c", [1; 32], 1),
            ("d", [1; 32], 1),
        ],
        NOW,
    );
    assert_eq!(
        Bundle::decode(&many.encode()).unwrap().verify(&policy, NOW),
        Err(BundleError::TooManyInstallations { got: 4, max: 3 })
    );
    let mut generous = BundlePolicy::default();
    generous.max_installations = 4;
    assert!(
        Bundle::decode(&many.encode())
            .unwrap()
            .verify(&generous, NOW)
            .is_ok()
    );
    // Expired and from the future.
    let decoded = Bundle::decode(&good.encode()).unwrap();
    let max_age = policy.max_age_ns as i64;
    assert!(decoded.verify(&policy, NOW + max_age).is_ok());
    assert_eq!(
        decoded.verify(&policy, NOW + max_age + 1),
        Err(BundleError::Expired {
            age_ns: max_age as u128 + 1,
            max_ns: policy.max_age_ns
        })
    );
    assert!(matches!(
        decoded.verify(&policy, NOW - policy.max_clock_skew_ns as i64 - 1),
        Err(BundleError::FromTheFuture { .. })
    ));
    // Garbage.
    assert_eq!(Bundle::decode(&[0xff, 0xff]), Err(BundleError::Decode));
    // Signing refuses empty and duplicate lists.
    assert_eq!(VerifiedBundle::sign(&id, [], NOW), Err(BundleError::Empty));
    let spk = SignedPreKeyPair::generate(&mut rng, 1).public();
    let a = InstallationId::new("a").unwrap();
    assert_eq!(
        VerifiedBundle::sign(&id, [(a.clone(), spk), (a, spk)], NOW),
        Err(BundleError::DuplicateInstallation)
    );
}

#[test]
fn installation_id_length_limit() {
    assert!(InstallationId::new("x".repeat(65535)).is_ok());
    assert!(InstallationId::new("x".repeat(65536)).is_err());
}

#[test]
fn prekey_pair_round_trip_and_debug() {
    let mut rng = rng(5);
    let k = SignedPreKeyPair::generate(&mut rng, 3);
    let again = SignedPreKeyPair::from_secret_bytes(&k.to_secret_bytes(), 3);
    assert_eq!(k, again);
    let debug = format!("{k:?}");
    assert!(!debug.contains(&hex::encode(*k.to_secret_bytes())));
}
