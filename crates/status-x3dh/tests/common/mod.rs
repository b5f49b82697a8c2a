//! Shared set-up of the integration tests.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use rand::SeedableRng;
use rand::rngs::ChaCha20Rng;
use status_identity::IdentityKeyPair;
use status_x3dh::{InstallationId, Session, SignedPreKeyPair, VerifiedBundle};

pub const NOW: i64 = 1_700_000_000_000_000_000;

pub struct Party {
    pub identity: IdentityKeyPair,
    pub device: InstallationId,
    pub prekey: SignedPreKeyPair,
    pub bundle: VerifiedBundle,
}

pub fn party(rng: &mut ChaCha20Rng, name: &str) -> Party {
    let identity = IdentityKeyPair::generate(rng);
    let device = InstallationId::new(name).unwrap();
    let prekey = SignedPreKeyPair::generate(rng, 1);
    let bundle = VerifiedBundle::sign(&identity, [(device.clone(), prekey.public())], NOW).unwrap();
    Party {
        identity,
        device,
        prekey,
        bundle,
    }
}

pub fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

/// Alice and Bob with an established pair of sessions (Bob answered Alice's first message).
pub fn pair(rng: &mut ChaCha20Rng) -> (Session, Session) {
    let alice = party(rng, "alice-1");
    let bob = party(rng, "bob-1");
    let mut a = Session::initiate(rng, &alice.identity, &bob.bundle, &bob.device).unwrap();
    let first = a.encrypt(rng, b"first").unwrap();
    let (b, pt) = Session::respond(&bob.identity, &bob.prekey, &alice.bundle, &first).unwrap();
    assert_eq!(pt, b"first");
    (a, b)
}
