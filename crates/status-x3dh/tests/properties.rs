//! Property tests: random schedules of sends from both sides with drops, reorders,
//! duplicates, tampering and store round trips (within the caps); single flipped bits;
//! encode/decode round trips.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{pair, rng};
use proptest::prelude::*;
use status_x3dh::fuzzing;
use status_x3dh::{DrHeader, EncryptedMessage, X3dhHeader, X25519PublicKey};

/// 64 cases by default; the usual
/// `PROPTEST_CASES` environment variable raises it.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    /// Every delivered genuine message decrypts exactly once to its plaintext; duplicates,
    /// replays and single-bit forgeries are rejected and change nothing (the genuine
    /// message still decrypts after its forgery). See `fuzzing::interaction`.
    #[test]
    fn random_schedules(script in proptest::collection::vec(any::<u8>(), 0..700)) {
        fuzzing::interaction(&script);
    }

    /// Schedules biased towards long bursts one way, then replies (bigger gaps, more
    /// skipped keys, more DH steps).
    #[test]
    fn bursty_schedules(
        seed in any::<u64>(),
        bursts in proptest::collection::vec((0u8..3, 1usize..40, any::<u8>()), 1..12),
    ) {
        let mut script = seed.to_le_bytes().to_vec();
        for (kind, len, arg) in bursts {
            for i in 0..len {
                let op = match kind {
                    0 => 0,                       // Alice sends
                    1 => 2,                       // Bob sends
                    _ => if i % 5 == 0 { 5 } else if i % 7 == 0 { 6 } else { 3 + (i as u8 & 1) },
                };
                script.push(op);
                script.push(arg.wrapping_add(i as u8));
                script.push(arg);
                script.push(i as u8);
            }
            // Deliver what is in flight, in a scrambled order.
            for i in 0..len {
                script.extend_from_slice(&[3, arg.wrapping_mul(i as u8 + 1)]);
            }
        }
        fuzzing::interaction(&script);
    }

    /// Any single flipped bit of the DR header or the payload is rejected, leaves the state
    /// unchanged, and the genuine message still decrypts.
    #[test]
    fn single_bit_flips_rejected(seed in any::<u64>(), ahead in 0usize..4, bit in any::<usize>()) {
        let mut rng = rng(seed);
        let (mut a, mut b) = pair(&mut rng);
        // Sometimes the message starts a new chain (after Bob replied).
        if seed % 2 == 0 {
            let r = b.encrypt(&mut rng, b"r").unwrap();
            a.decrypt(&r).unwrap();
        }
        let msgs: Vec<_> = (0..=ahead).map(|i| a.encrypt(&mut rng, &[i as u8; 33]).unwrap()).collect();
        let genuine = msgs.last().unwrap();
        let mut forged = genuine.clone();
        let bits = (40 + 32 + forged.payload.len()) * 8;
        let bit = bit % bits;
        let (byte, mask) = (bit / 8, 1u8 << (bit % 8));
        let mut header = forged.header.to_bytes();
        let mut bundle_id = forged.header.bundle_id.to_bytes();
        match byte {
            0..40 => header[byte] ^= mask,
            40..72 => bundle_id[byte - 40] ^= mask,
            _ => forged.payload[byte - 72] ^= mask,
        }
        forged.header = DrHeader {
            ratchet_key: X25519PublicKey::from_slice(&header[..32]).unwrap(),
            pn: u32::from_be_bytes(header[32..36].try_into().unwrap()),
            n: u32::from_be_bytes(header[36..40].try_into().unwrap()),
            bundle_id: X25519PublicKey::from_bytes(bundle_id),
        };
        let before = b.to_bytes();
        prop_assert!(b.decrypt(&forged).is_err());
        prop_assert_eq!(&b.to_bytes()[..], &before[..]);
        prop_assert_eq!(b.decrypt(genuine).unwrap(), vec![ahead as u8; 33]);
    }

    /// decode(encode(x)) == x for messages.
    #[test]
    fn message_round_trip(
        x3dh in proptest::option::of((any::<[u8; 32]>(), any::<[u8; 32]>())),
        key in any::<[u8; 32]>(),
        id in any::<[u8; 32]>(),
        n in any::<u32>(),
        pn in any::<u32>(),
        payload in proptest::collection::vec(any::<u8>(), 16..200),
    ) {
        let m = EncryptedMessage {
            x3dh: x3dh.map(|(e, s)| X3dhHeader {
                ephemeral_key: X25519PublicKey::from_bytes(e),
                signed_pre_key: X25519PublicKey::from_bytes(s),
            }),
            header: DrHeader {
                ratchet_key: X25519PublicKey::from_bytes(key),
                n,
                pn,
                bundle_id: X25519PublicKey::from_bytes(id),
            },
            payload,
        };
        prop_assert_eq!(EncryptedMessage::decode(&m.encode()).unwrap(), m);
    }

    /// Random bytes never panic the decoders.
    #[test]
    fn decoders_never_panic(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        fuzzing::decode_message(&data);
        fuzzing::decode_bundle(&data);
        fuzzing::decode_state(&data);
    }
}
