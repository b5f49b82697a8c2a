//! Identity keys: an Ed25519 key pair, its X25519 form for Diffie-Hellman, and signatures
//! with a context label per use.
//!
//! The X25519 form follows DESIGN.md rule 1: the public key is the birational map of the
//! Ed25519 point (`VerifyingKey::to_montgomery`), the secret is the clamped first half of
//! SHA-512(seed) (`SigningKey::to_scalar_bytes`), as libsodium's
//! `crypto_sign_ed25519_{pk,sk}_to_curve25519`.

use core::fmt;

use curve25519_dalek::edwards::CompressedEdwardsY;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use rand_core::CryptoRng;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// Length of an encoded identity public key.
pub const PUBLIC_KEY_LENGTH: usize = 32;
/// Length of an identity secret (the Ed25519 seed).
pub const SECRET_KEY_LENGTH: usize = 32;
/// Length of an encoded signature.
pub const SIGNATURE_LENGTH: usize = 64;

/// Why bytes are not an acceptable identity public key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The slice is not 32 bytes long.
    #[error("identity key must be {PUBLIC_KEY_LENGTH} bytes, got {0}")]
    Length(usize),
    /// The bytes are not the encoding of a point on the curve.
    #[error("identity key is not a point on the curve")]
    NotOnCurve,
    /// The point has another, longer encoding: only canonical encodings are accepted.
    #[error("identity key is not canonically encoded")]
    NonCanonical,
    /// The point has small order (a weak key that verifies forged signatures).
    #[error("identity key has small order")]
    SmallOrder,
    /// The point has a torsion component, which no key made from a seed has.
    #[error("identity key is not in the prime-order subgroup")]
    Torsion,
}

/// A signature did not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// The signature is not `SIGNATURE_LENGTH` bytes long.
    #[error("signature must be {SIGNATURE_LENGTH} bytes, got {0}")]
    Length(usize),
    /// The signature does not verify for this key, context and message.
    #[error("signature does not verify")]
    Invalid,
}

/// A Diffie-Hellman output was all zero: the peer's key has small order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("Diffie-Hellman output is all zero (non-contributory peer key)")]
pub struct NonContributoryError;

/// What a signature is for. The label is prepended to the signed message, so a signature
/// made for one use never verifies for another.
///
/// No label is a prefix of another (a test checks it), so the concatenation is unambiguous.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignatureContext {
    /// An X3DH prekey bundle (DESIGN.md: `"WAKU2-X3DH/1/bundle" || material`).
    Bundle,
    /// A contact code (what a QR code carries).
    ContactCode,
    /// The payload of an `ApplicationMetadataMessage`.
    ApplicationMessage,
    /// An event of a private group chat (`MembershipUpdateEvent`).
    MembershipUpdate,
    /// An encrypted key file's header binding (reserved for the key file format).
    KeyFile,
}

impl SignatureContext {
    /// Every context, for tests and documentation.
    pub const ALL: [SignatureContext; 5] = [
        SignatureContext::Bundle,
        SignatureContext::ContactCode,
        SignatureContext::ApplicationMessage,
        SignatureContext::MembershipUpdate,
        SignatureContext::KeyFile,
    ];

    /// The label bytes prepended to the message before signing.
    pub const fn label(self) -> &'static [u8] {
        match self {
            SignatureContext::Bundle => b"WAKU2-X3DH/1/bundle",
            SignatureContext::ContactCode => b"STATUS-RS/1/contact-code|",
            SignatureContext::ApplicationMessage => b"STATUS-RS/1/application-message|",
            SignatureContext::MembershipUpdate => b"STATUS-RS/1/membership-update|",
            SignatureContext::KeyFile => b"STATUS-RS/1/key-file|",
        }
    }
}

/// An Ed25519 signature made by an identity key.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature([u8; SIGNATURE_LENGTH]);

impl Signature {
    /// Wraps 64 bytes. Any bytes are accepted here; [`IdentityPublicKey::verify`] decides.
    pub const fn from_bytes(bytes: [u8; SIGNATURE_LENGTH]) -> Self {
        Signature(bytes)
    }

    /// Wraps a slice of exactly 64 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, SignatureError> {
        let array: [u8; SIGNATURE_LENGTH] = bytes
            .try_into()
            .map_err(|_| SignatureError::Length(bytes.len()))?;
        Ok(Signature(array))
    }

    /// The 64 signature bytes.
    pub const fn to_bytes(&self) -> [u8; SIGNATURE_LENGTH] {
        self.0
    }

    /// The 64 signature bytes, borrowed.
    pub const fn as_bytes(&self) -> &[u8; SIGNATURE_LENGTH] {
        &self.0
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature(")?;
        for b in &self.0[..8] {
            write!(f, "{b:02x}")?;
        }
        write!(f, "…)")
    }
}

/// An identity public key: a validated Ed25519 public key, with its X25519 form cached.
#[derive(Clone, Copy)]
pub struct IdentityPublicKey {
    ed25519: VerifyingKey,
    x25519: x25519_dalek::PublicKey,
}

impl IdentityPublicKey {
    /// Parses and validates 32 bytes: the point must be on the curve, canonically encoded,
    /// not of small order and without a torsion component.
    pub fn from_bytes(bytes: &[u8; PUBLIC_KEY_LENGTH]) -> Result<Self, KeyError> {
        let point = CompressedEdwardsY(*bytes)
            .decompress()
            .ok_or(KeyError::NotOnCurve)?;
        if point.compress().as_bytes() != bytes {
            return Err(KeyError::NonCanonical);
        }
        if point.is_small_order() {
            return Err(KeyError::SmallOrder);
        }
        if !point.is_torsion_free() {
            return Err(KeyError::Torsion);
        }
        let ed25519 = VerifyingKey::from(point);
        Ok(Self::from_verifying_key(ed25519))
    }

    /// Parses and validates a slice that must be exactly 32 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, KeyError> {
        let array: &[u8; PUBLIC_KEY_LENGTH] = bytes
            .try_into()
            .map_err(|_| KeyError::Length(bytes.len()))?;
        Self::from_bytes(array)
    }

    fn from_verifying_key(ed25519: VerifyingKey) -> Self {
        let x25519 = x25519_dalek::PublicKey::from(ed25519.to_montgomery().to_bytes());
        IdentityPublicKey { ed25519, x25519 }
    }

    /// The 32-byte Ed25519 encoding.
    pub fn to_bytes(&self) -> [u8; PUBLIC_KEY_LENGTH] {
        self.ed25519.to_bytes()
    }

    /// The 32-byte Ed25519 encoding, borrowed.
    pub fn as_bytes(&self) -> &[u8; PUBLIC_KEY_LENGTH] {
        self.ed25519.as_bytes()
    }

    /// The X25519 form of this key (birational map), for Diffie-Hellman.
    pub fn to_x25519(&self) -> x25519_dalek::PublicKey {
        self.x25519
    }

    /// Verifies `signature` over `context.label() || message`, strictly
    /// (`verify_strict`: no small-order `R`, canonical `S`).
    pub fn verify(
        &self,
        context: SignatureContext,
        message: &[u8],
        signature: &Signature,
    ) -> Result<(), SignatureError> {
        let signature = ed25519_dalek::Signature::from_bytes(&signature.0);
        let mut material = Vec::with_capacity(context.label().len() + message.len());
        material.extend_from_slice(context.label());
        material.extend_from_slice(message);
        self.ed25519
            .verify_strict(&material, &signature)
            .map_err(|_| SignatureError::Invalid)
    }
}

impl PartialEq for IdentityPublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for IdentityPublicKey {}

impl core::hash::Hash for IdentityPublicKey {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl PartialOrd for IdentityPublicKey {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for IdentityPublicKey {
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl fmt::Debug for IdentityPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdentityPublicKey(")?;
        for b in self.as_bytes() {
            write!(f, "{b:02x}")?;
        }
        write!(f, ")")
    }
}

impl TryFrom<&[u8]> for IdentityPublicKey {
    type Error = KeyError;

    fn try_from(bytes: &[u8]) -> Result<Self, KeyError> {
        Self::from_slice(bytes)
    }
}

/// An identity key pair: the Ed25519 secret, its public key and its X25519 form.
///
/// Secrets are zeroized on drop, `Debug` prints only the public key, and equality is
/// constant time.
pub struct IdentityKeyPair {
    signing: SigningKey,
    x25519: x25519_dalek::StaticSecret,
    public: IdentityPublicKey,
}

impl IdentityKeyPair {
    /// Generates a new identity from a cryptographic RNG.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        Self::from_signing_key(SigningKey::generate(rng))
    }

    /// Rebuilds an identity from its 32-byte Ed25519 seed.
    pub fn from_secret_bytes(secret: &[u8; SECRET_KEY_LENGTH]) -> Self {
        Self::from_signing_key(SigningKey::from_bytes(secret))
    }

    fn from_signing_key(signing: SigningKey) -> Self {
        // `to_scalar_bytes` is the unclamped first half of SHA-512(seed). X25519 clamps on
        // use, so DH results do not depend on it, but we store the clamped bytes so that
        // `x25519_secret().to_bytes()` equals libsodium's `crypto_sign_ed25519_sk_to_curve25519`.
        let mut scalar = Zeroizing::new(signing.to_scalar_bytes());
        scalar[0] &= 248;
        scalar[31] &= 127;
        scalar[31] |= 64;
        let x25519 = x25519_dalek::StaticSecret::from(*scalar);
        let public = IdentityPublicKey::from_verifying_key(signing.verifying_key());
        IdentityKeyPair {
            signing,
            x25519,
            public,
        }
    }

    /// The 32-byte Ed25519 seed. The caller must keep it secret; it is zeroized when the
    /// returned value is dropped.
    pub fn to_secret_bytes(&self) -> Zeroizing<[u8; SECRET_KEY_LENGTH]> {
        Zeroizing::new(self.signing.to_bytes())
    }

    /// The public half.
    pub fn public_key(&self) -> &IdentityPublicKey {
        &self.public
    }

    /// Signs `context.label() || message`.
    pub fn sign(&self, context: SignatureContext, message: &[u8]) -> Signature {
        let mut material =
            Zeroizing::new(Vec::with_capacity(context.label().len() + message.len()));
        material.extend_from_slice(context.label());
        material.extend_from_slice(message);
        Signature(self.signing.sign(&material).to_bytes())
    }

    /// X25519 Diffie-Hellman between this identity's X25519 secret and `their_public`.
    /// An all-zero output is an error.
    pub fn diffie_hellman(
        &self,
        their_public: &x25519_dalek::PublicKey,
    ) -> Result<x25519_dalek::SharedSecret, NonContributoryError> {
        let shared = self.x25519.diffie_hellman(their_public);
        if shared.was_contributory() {
            Ok(shared)
        } else {
            Err(NonContributoryError)
        }
    }

    /// The X25519 secret of this identity, for protocols that need the raw secret (for
    /// example as a Noise static key). Zeroized on drop; keep it secret.
    pub fn x25519_secret(&self) -> x25519_dalek::StaticSecret {
        self.x25519.clone()
    }
}

impl PartialEq for IdentityKeyPair {
    fn eq(&self, other: &Self) -> bool {
        let a = self.to_secret_bytes();
        let b = other.to_secret_bytes();
        a[..].ct_eq(&b[..]).into()
    }
}

impl Eq for IdentityKeyPair {}

impl fmt::Debug for IdentityKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdentityKeyPair")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::ChaCha20Rng;

    fn rng() -> ChaCha20Rng {
        ChaCha20Rng::seed_from_u64(7)
    }

    #[test]
    fn sign_and_verify_with_context() {
        let key = IdentityKeyPair::generate(&mut rng());
        let sig = key.sign(SignatureContext::ContactCode, b"hello");
        let public = key.public_key();
        public
            .verify(SignatureContext::ContactCode, b"hello", &sig)
            .unwrap();
        assert_eq!(
            public.verify(SignatureContext::Bundle, b"hello", &sig),
            Err(SignatureError::Invalid)
        );
        assert_eq!(
            public.verify(SignatureContext::ContactCode, b"hellp", &sig),
            Err(SignatureError::Invalid)
        );
    }

    #[test]
    fn labels_are_prefix_free() {
        for a in SignatureContext::ALL {
            for b in SignatureContext::ALL {
                if a != b {
                    assert!(!b.label().starts_with(a.label()), "{a:?} prefixes {b:?}");
                }
            }
        }
    }

    #[test]
    fn dh_agrees_both_ways() {
        let mut rng = rng();
        let a = IdentityKeyPair::generate(&mut rng);
        let b = IdentityKeyPair::generate(&mut rng);
        let ab = a.diffie_hellman(&b.public_key().to_x25519()).unwrap();
        let ba = b.diffie_hellman(&a.public_key().to_x25519()).unwrap();
        assert_eq!(ab.as_bytes(), ba.as_bytes());
        let zero = x25519_dalek::PublicKey::from([0u8; 32]);
        assert_eq!(a.diffie_hellman(&zero).err(), Some(NonContributoryError));
    }

    #[test]
    fn x25519_public_matches_secret() {
        let a = IdentityKeyPair::generate(&mut rng());
        let derived = x25519_dalek::PublicKey::from(&a.x25519_secret());
        assert_eq!(derived.as_bytes(), a.public_key().to_x25519().as_bytes());
    }

    #[test]
    fn rejects_bad_public_keys() {
        // Identity point (small order).
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(
            IdentityPublicKey::from_bytes(&identity),
            Err(KeyError::SmallOrder)
        );
        // y = p (non-canonical encoding of y = 0), p = 2^255 - 19.
        let mut non_canonical = [0xffu8; 32];
        non_canonical[0] = 0xed;
        non_canonical[31] = 0x7f;
        assert!(IdentityPublicKey::from_bytes(&non_canonical).is_err());
        assert_eq!(
            IdentityPublicKey::from_slice(&[1, 2, 3]),
            Err(KeyError::Length(3))
        );
        // A valid key plus a torsion point.
        let key = IdentityKeyPair::generate(&mut rng());
        let point = CompressedEdwardsY(key.public_key().to_bytes())
            .decompress()
            .unwrap();
        let torsion = curve25519_dalek::constants::EIGHT_TORSION[1];
        let mixed = (point + torsion).compress().to_bytes();
        assert_eq!(
            IdentityPublicKey::from_bytes(&mixed),
            Err(KeyError::Torsion)
        );
    }

    /// RFC 8032 section 7.1 TEST 1-3 (`tests/vectors/rfc8032_ed25519.json`): the public key
    /// derived from the seed, plain Ed25519 signatures with the same signing key, strict
    /// verification, and that a labelled signature is plain Ed25519 over `label || message`.
    #[test]
    fn rfc8032_known_answers() {
        use ed25519_dalek::Verifier as _;
        let data: serde_json::Value =
            serde_json::from_str(include_str!("../tests/vectors/rfc8032_ed25519.json")).unwrap();
        let vectors = data["vectors"].as_array().unwrap();
        assert_eq!(vectors.len(), 3);
        for v in vectors {
            let field = |name: &str| hex::decode(v[name].as_str().unwrap()).unwrap();
            let secret: [u8; 32] = field("secret_key").try_into().unwrap();
            let key = IdentityKeyPair::from_secret_bytes(&secret);
            assert_eq!(key.public_key().as_bytes().to_vec(), field("public_key"));
            let message = field("message");
            let expected = field("signature");
            assert_eq!(key.signing.sign(&message).to_bytes().to_vec(), expected);
            let public = IdentityPublicKey::from_slice(&field("public_key")).unwrap();
            let signature = ed25519_dalek::Signature::from_slice(&expected).unwrap();
            public.ed25519.verify_strict(&message, &signature).unwrap();
            public.ed25519.verify(&message, &signature).unwrap();
            // A labelled signature is the plain signature of `label || message`.
            for context in SignatureContext::ALL {
                let labelled = key.sign(context, &message);
                let material = [context.label(), &message[..]].concat();
                assert_eq!(labelled.to_bytes(), key.signing.sign(&material).to_bytes());
            }
        }
    }

    #[test]
    fn secret_round_trip_and_debug_hides_secret() {
        let a = IdentityKeyPair::generate(&mut rng());
        let b = IdentityKeyPair::from_secret_bytes(&a.to_secret_bytes());
        assert_eq!(a, b);
        let debug = format!("{a:?}");
        let secret_hex = hex::encode(*a.to_secret_bytes());
        assert!(!debug.contains(&secret_hex));
        assert!(debug.contains("IdentityKeyPair"));
    }
}
