//! Entry points shared by the cargo-fuzz targets (`fuzz/`) and the corpus replay test
//! (`tests/fuzz_corpus.rs`). Not part of the API; each function panics (asserts) only
//! when a property of the crate is violated.
#![doc(hidden)]

use std::collections::VecDeque;

use sha2::{Digest, Sha256};
use status_identity::IdentityKeyPair;

use crate::{
    Bundle, BundlePolicy, EncryptedMessage, InstallationId, Session, SignedPreKeyPair,
    VerifiedBundle,
};

/// Decodes an `EncryptedMessageProtocol`; a decoded message must re-encode to bytes that
/// decode to the same message.
pub fn decode_message(data: &[u8]) {
    if let Ok(message) = EncryptedMessage::decode(data) {
        let again = EncryptedMessage::decode(&message.encode());
        assert_eq!(again.as_ref(), Ok(&message), "message round trip");
        let _ = message.header.to_bytes();
    }
}

/// Decodes a `Bundle`, round-trips it and tries to verify it.
pub fn decode_bundle(data: &[u8]) {
    if let Ok(bundle) = Bundle::decode(data) {
        let again = Bundle::decode(&bundle.encode());
        assert_eq!(again.as_ref(), Ok(&bundle), "bundle round trip");
        let _ = bundle.verify(&BundlePolicy::default(), bundle.timestamp_ns());
    }
}

/// Decodes a session state; a decoded state re-encodes to the same bytes.
pub fn decode_state(data: &[u8]) {
    if let Ok(session) = Session::from_bytes(data) {
        assert_eq!(&session.to_bytes()[..], data, "state round trip");
    }
}

/// A deterministic generator for the interaction fuzzer only (SHA-256 in counter mode
/// over a seed). Never use it for real keys.
pub struct InsecureFuzzRng {
    seed: [u8; 32],
    counter: u64,
    buffer: [u8; 32],
    used: usize,
}

impl InsecureFuzzRng {
    /// A generator from a seed.
    pub fn from_seed_insecure(seed: &[u8]) -> Self {
        InsecureFuzzRng {
            seed: Sha256::digest(seed).into(),
            counter: 0,
            buffer: [0; 32],
            used: 32,
        }
    }
}

impl rand_core::TryRng for InsecureFuzzRng {
    type Error = core::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        for byte in dst {
            if self.used == 32 {
                let mut h = Sha256::new();
                h.update(self.seed);
                h.update(self.counter.to_be_bytes());
                self.buffer = h.finalize().into();
                self.counter += 1;
                self.used = 0;
            }
            *byte = self.buffer[self.used];
            self.used += 1;
        }
        Ok(())
    }
}

impl rand_core::TryCryptoRng for InsecureFuzzRng {}

/// A message in flight.
#[derive(Clone)]
struct InFlight {
    /// 0 = from Alice to Bob, 1 = from Bob to Alice.
    from: usize,
    message: EncryptedMessage,
    plaintext: Vec<u8>,
}

/// Most sends in one script: keeps every gap under the caps, so every genuine delivery
/// must succeed.
const MAX_SENDS: usize = 400;

/// Two parties run a script read from `data`: sends from either side, deliveries in any
/// order, drops, duplicates, single-bit tampering and store round trips. Asserts: every
/// delivered genuine message decrypts exactly once to its plaintext; duplicates and
/// tampered messages are rejected and change nothing.
pub fn interaction(data: &[u8]) {
    let (seed, script) = data.split_at(data.len().min(8));
    let mut rng = InsecureFuzzRng::from_seed_insecure(seed);
    let now = 1_700_000_000_000_000_000;
    let alice = IdentityKeyPair::generate(&mut rng);
    let bob = IdentityKeyPair::generate(&mut rng);
    let device = |name: &str| InstallationId::new(name).ok();
    let (Some(alice_device), Some(bob_device)) = (device("alice-1"), device("bob-1")) else {
        return;
    };
    let alice_prekey = SignedPreKeyPair::generate(&mut rng, 1);
    let bob_prekey = SignedPreKeyPair::generate(&mut rng, 1);
    let (Ok(alice_bundle), Ok(bob_bundle)) = (
        VerifiedBundle::sign(&alice, [(alice_device, alice_prekey.public())], now),
        VerifiedBundle::sign(&bob, [(bob_device.clone(), bob_prekey.public())], now),
    ) else {
        return;
    };
    let Ok(mut alice_session) = Session::initiate(&mut rng, &alice, &bob_bundle, &bob_device)
    else {
        return;
    };
    let mut bob_session: Option<Session> = None;

    let mut in_flight: VecDeque<InFlight> = VecDeque::new();
    let mut delivered: Vec<InFlight> = Vec::new();
    let mut sends = 0usize;
    let mut counter = 0u32;

    let mut bytes = script.iter().copied();
    while let Some(op) = bytes.next() {
        let arg = usize::from(bytes.next().unwrap_or(0));
        match op % 7 {
            // Alice sends.
            0 | 1 if sends < MAX_SENDS => {
                counter += 1;
                let plaintext = format!("a{counter}").into_bytes();
                let Ok(message) = alice_session.encrypt(&mut rng, &plaintext) else {
                    continue;
                };
                sends += 1;
                in_flight.push_back(InFlight {
                    from: 0,
                    message,
                    plaintext,
                });
            }
            // Bob sends (only once he has a session).
            2 if sends < MAX_SENDS => {
                let Some(bob_session) = bob_session.as_mut() else {
                    continue;
                };
                counter += 1;
                let plaintext = format!("b{counter}").into_bytes();
                let message = bob_session.encrypt(&mut rng, &plaintext);
                assert!(message.is_ok(), "bob cannot send: {message:?}");
                if let Ok(message) = message {
                    sends += 1;
                    in_flight.push_back(InFlight {
                        from: 1,
                        message,
                        plaintext,
                    });
                }
            }
            // Deliver one in-flight message (any order), possibly tampered first.
            3 | 4 => {
                if in_flight.is_empty() {
                    continue;
                }
                let index = arg % in_flight.len();
                let Some(item) = in_flight.remove(index) else {
                    continue;
                };
                if op % 2 == 0 {
                    let mut forged = item.message.clone();
                    flip_bit(
                        &mut forged,
                        bytes.next().unwrap_or(0),
                        bytes.next().unwrap_or(0),
                    );
                    let result = deliver(
                        &forged,
                        item.from,
                        &mut alice_session,
                        &mut bob_session,
                        &bob,
                        &bob_prekey,
                        &alice_bundle,
                    );
                    assert!(result.is_err(), "tampered message accepted");
                }
                let result = deliver(
                    &item.message,
                    item.from,
                    &mut alice_session,
                    &mut bob_session,
                    &bob,
                    &bob_prekey,
                    &alice_bundle,
                );
                assert_eq!(
                    result.as_deref().ok(),
                    Some(item.plaintext.as_slice()),
                    "genuine message rejected: {result:?}"
                );
                delivered.push(item);
            }
            // Drop one in-flight message.
            5 => {
                if !in_flight.is_empty() {
                    let index = arg % in_flight.len();
                    in_flight.remove(index);
                }
            }
            // Replay a delivered message, or round-trip a session through the store.
            _ => {
                if arg % 2 == 0 && !delivered.is_empty() {
                    let item = delivered[arg % delivered.len()].clone();
                    let result = deliver(
                        &item.message,
                        item.from,
                        &mut alice_session,
                        &mut bob_session,
                        &bob,
                        &bob_prekey,
                        &alice_bundle,
                    );
                    assert!(result.is_err(), "replay accepted");
                } else if arg % 4 == 1 {
                    let restored = Session::from_bytes(&alice_session.to_bytes());
                    assert!(restored.is_ok(), "state round trip failed");
                    if let Ok(s) = restored {
                        alice_session = s;
                    }
                } else if let Some(session) = bob_session.as_ref() {
                    let restored = Session::from_bytes(&session.to_bytes());
                    assert!(restored.is_ok(), "state round trip failed");
                    bob_session = restored.ok();
                }
            }
        }
    }
}

/// Flips one bit of the DR header fields or the payload.
fn flip_bit(message: &mut EncryptedMessage, position: u8, bit: u8) {
    let mask = 1u8 << (bit % 8);
    let header_len = 32 + 4 + 4 + 32;
    let total = header_len + message.payload.len();
    let index = usize::from(position) * 7 % total;
    let mut key = message.header.ratchet_key.to_bytes();
    let mut bundle_id = message.header.bundle_id.to_bytes();
    match index {
        0..32 => key[index] ^= mask,
        32..36 => message.header.pn ^= u32::from(mask) << (8 * (index - 32)),
        36..40 => message.header.n ^= u32::from(mask) << (8 * (index - 36)),
        40..72 => bundle_id[index - 40] ^= mask,
        _ => {
            if let Some(b) = message.payload.get_mut(index - header_len) {
                *b ^= mask;
            }
        }
    }
    message.header.ratchet_key = crate::X25519PublicKey::from_bytes(key);
    message.header.bundle_id = crate::X25519PublicKey::from_bytes(bundle_id);
}

fn deliver(
    message: &EncryptedMessage,
    from: usize,
    alice_session: &mut Session,
    bob_session: &mut Option<Session>,
    bob: &IdentityKeyPair,
    bob_prekey: &SignedPreKeyPair,
    alice_bundle: &VerifiedBundle,
) -> Result<Vec<u8>, String> {
    if from == 1 {
        return alice_session.decrypt(message).map_err(|e| e.to_string());
    }
    match bob_session {
        Some(session) => session.decrypt(message).map_err(|e| e.to_string()),
        None => {
            let (session, plaintext) = Session::respond(bob, bob_prekey, alice_bundle, message)
                .map_err(|e| e.to_string())?;
            *bob_session = Some(session);
            Ok(plaintext)
        }
    }
}
