//! Known-answer tests from published vectors (data in `tests/vectors/`, sources noted in
//! each file): BIP39 English (Trezor, passphrase "TREZOR") and SLIP-0010 Ed25519.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;
use status_identity::mnemonic::Mnemonic;
use status_identity::slip10::{DerivationPath, ExtendedSecretKey};

fn load(name: &str) -> Value {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap()
}

#[test]
fn bip39_english_trezor_vectors() {
    let data = load("bip39_english.json");
    let passphrase = s(&data["passphrase"]);
    let vectors = data["vectors"].as_array().unwrap();
    assert_eq!(vectors.len(), 24);
    for v in vectors {
        let entropy = hex::decode(s(&v["entropy"])).unwrap();
        let phrase = s(&v["mnemonic"]);
        let from_entropy = Mnemonic::from_entropy(&entropy).unwrap();
        assert_eq!(from_entropy.phrase().as_str(), phrase);
        let parsed = Mnemonic::parse(phrase).unwrap();
        assert_eq!(parsed, from_entropy);
        assert_eq!(parsed.to_entropy().as_slice(), entropy.as_slice());
        assert_eq!(
            hex::encode(*parsed.to_seed(passphrase)),
            s(&v["seed"]),
            "{phrase}"
        );
    }
}

#[test]
fn slip10_ed25519_vectors() {
    let data = load("slip10_ed25519.json");
    let sets = data["sets"].as_array().unwrap();
    assert_eq!(sets.len(), 2);
    let mut checked = 0;
    for set in sets {
        let seed = hex::decode(s(&set["seed"])).unwrap();
        for chain in set["chains"].as_array().unwrap() {
            let path: DerivationPath = s(&chain["path"]).parse().unwrap();
            let key = ExtendedSecretKey::derive(&seed, &path).unwrap();
            assert_eq!(
                hex::encode(key.chain_code()),
                s(&chain["chain_code"]),
                "{path}"
            );
            assert_eq!(
                hex::encode(key.secret_bytes()),
                s(&chain["private"]),
                "{path}"
            );
            let public = format!(
                "00{}",
                hex::encode(key.to_identity().public_key().as_bytes())
            );
            assert_eq!(public, s(&chain["public"]), "{path}");
            assert_eq!(usize::from(key.depth()), path.indices().len());
            checked += 1;
        }
    }
    assert_eq!(checked, 12);
}
