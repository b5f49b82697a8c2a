//! X25519 key pairs and Diffie-Hellman.

use rand_core::CryptoRng;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

/// An X25519 key pair (static or ephemeral). The secret is zeroized on drop; `Debug`
/// shows only the public key.
#[derive(Clone)]
pub struct Keypair {
    secret: StaticSecret,
    public: [u8; 32],
}

impl core::fmt::Debug for Keypair {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Keypair")
            .field("public", &Hex(&self.public))
            .finish_non_exhaustive()
    }
}

struct Hex<'a>(&'a [u8]);
impl core::fmt::Debug for Hex<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl Keypair {
    /// A key pair from a 32-byte private scalar, used as given (clamped inside the
    /// scalar multiplication, as every RFC 7748 implementation does).
    pub fn from_secret_bytes(secret: [u8; 32]) -> Self {
        let secret = StaticSecret::from(secret);
        let public = PublicKey::from(&secret).to_bytes();
        Self { secret, public }
    }

    /// A fresh random key pair.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let secret = StaticSecret::random_from_rng(rng);
        let public = PublicKey::from(&secret).to_bytes();
        Self { secret, public }
    }

    /// The public key.
    pub fn public(&self) -> &[u8; 32] {
        &self.public
    }

    /// The private scalar bytes. The caller must zeroize them.
    pub fn secret_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.secret.to_bytes())
    }

    /// `DH(self, their_public)`; `None` if the result is all zero (a small-order peer key).
    pub(crate) fn dh(&self, their_public: &[u8; 32]) -> Option<Zeroizing<[u8; 32]>> {
        let shared = self.secret.diffie_hellman(&PublicKey::from(*their_public));
        if !shared.was_contributory() {
            return None;
        }
        Some(Zeroizing::new(shared.to_bytes()))
    }
}
