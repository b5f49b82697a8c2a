//! Property tests: chat key and contact code round trips, flipped bytes rejected, safety
//! numbers the same from both sides.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::ChaCha20Rng;
use status_identity::contact_code::{MAX_BUNDLE_BYTES, MAX_DISPLAY_NAME_BYTES};
use status_identity::{ChatKey, ContactCode, IdentityKeyPair, IdentityPublicKey};

fn display_name() -> impl Strategy<Value = String> {
    // Printable characters of several scripts and emojis, cut to the byte bound.
    "[a-zA-Z0-9 éßж中🦊-]{0,40}".prop_map(|s| {
        let mut out = String::new();
        for c in s.chars() {
            if out.len() + c.len_utf8() > MAX_DISPLAY_NAME_BYTES {
                break;
            }
            out.push(c);
        }
        out
    })
}

fn contact_code() -> impl Strategy<Value = (IdentityKeyPair, ContactCode)> {
    (
        any::<[u8; 32]>(),
        display_name(),
        proptest::collection::vec(any::<u8>(), 0..=MAX_BUNDLE_BYTES),
        0..=i64::MAX,
    )
        .prop_map(|(seed, name, bundle, ts)| {
            let key = IdentityKeyPair::from_secret_bytes(&seed);
            let code = ContactCode::new(&key, &name, &bundle, ts).unwrap();
            (key, code)
        })
}

proptest! {
    #[test]
    fn chat_key_round_trip(seed in any::<[u8; 32]>()) {
        let key = IdentityKeyPair::from_secret_bytes(&seed);
        let text = key.public_key().to_chat_key();
        prop_assert!(text.starts_with("z6Mk"));
        prop_assert_eq!(IdentityPublicKey::from_chat_key(&text).unwrap(), *key.public_key());
        let parsed: ChatKey = text.parse().unwrap();
        prop_assert_eq!(parsed.to_string(), text);
    }

    #[test]
    fn chat_key_parser_total(text in "\\PC{0,80}") {
        // Never panics; anything accepted formats back to itself.
        if let Ok(key) = ChatKey::parse(&text) {
            prop_assert_eq!(key.to_string(), text);
        }
    }

}

proptest! {
    // Each case signs and verifies (slow without optimizations): fewer cases.
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn contact_code_round_trip((key, code) in contact_code()) {
        let back = ContactCode::from_uri(&code.to_uri()).unwrap();
        prop_assert_eq!(&back, &code);
        prop_assert_eq!(back.identity(), key.public_key());
        prop_assert_eq!(ContactCode::from_bytes(&code.to_bytes()).unwrap(), code);
    }

    #[test]
    fn flipped_byte_in_contact_code_is_rejected(
        (_key, code) in contact_code(),
        at in any::<prop::sample::Index>(),
        mask in 1u8..=255,
    ) {
        let mut bytes = code.to_bytes();
        let i = at.index(bytes.len());
        bytes[i] ^= mask;
        prop_assert!(ContactCode::from_bytes(&bytes).is_err(), "byte {} ^ {:#x} accepted", i, mask);
    }

    #[test]
    fn changed_character_in_contact_code_text_is_rejected(
        (_key, code) in contact_code(),
        at in any::<prop::sample::Index>(),
        replacement in prop::sample::select(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/=:. ".chars().collect::<Vec<_>>()
        ),
    ) {
        let text = code.to_uri();
        let i = at.index(text.len());
        let original = text.as_bytes()[i] as char;
        prop_assume!(original != replacement);
        let mut changed = text.clone();
        changed.replace_range(i..=i, &replacement.to_string());
        prop_assert!(ContactCode::from_uri(&changed).is_err(), "{} -> {} at {}", original, replacement, i);
    }
}

proptest! {
    // 2 × 5200 SHA-512 per case: fewer cases.
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn safety_number_same_from_both_sides(a in any::<[u8; 32]>(), b in any::<[u8; 32]>()) {
        let a = IdentityKeyPair::from_secret_bytes(&a);
        let b = IdentityKeyPair::from_secret_bytes(&b);
        let ab = a.public_key().safety_number(b.public_key());
        let ba = b.public_key().safety_number(a.public_key());
        prop_assert_eq!(ab, ba);
        prop_assert!(ab.matches(&ba.to_string()));
    }
}

/// A flipped bit (a different one per position) and an inverted byte at every position of
/// a contact code, and a changed bit in every character of its text, are rejected.
/// (Random masks at random positions are the proptest above.)
#[test]
fn every_single_bit_flip_is_rejected() {
    let mut rng = ChaCha20Rng::seed_from_u64(30);
    let key = IdentityKeyPair::generate(&mut rng);
    let code = ContactCode::new(&key, "Bo", &[9u8; 3], 1_700_000_000_123).unwrap();
    let bytes = code.to_bytes();
    for i in 0..bytes.len() {
        for mask in [1u8 << (i % 8), 0xff] {
            let mut bad = bytes.clone();
            bad[i] ^= mask;
            assert!(
                ContactCode::from_bytes(&bad).is_err(),
                "byte {i} mask {mask:#x}"
            );
        }
    }
    let text = code.to_uri();
    for i in 0..text.len() {
        let mut bad = text.clone().into_bytes();
        bad[i] ^= 1;
        let bad = String::from_utf8(bad).unwrap();
        assert!(ContactCode::from_uri(&bad).is_err(), "char {i}");
    }
}
