//! X25519 keys of the suite: public keys as plain 32 bytes, the signed prekey pair of an
//! installation, the installation id, and the (private) ratchet key pair.

use core::fmt;

use rand_core::CryptoRng;
use subtle::ConstantTimeEq;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

/// Length of an X25519 key.
pub const X25519_KEY_LENGTH: usize = 32;

/// Longest installation id the bundle signature can encode (its length is a u16).
pub const MAX_INSTALLATION_ID_BYTES: usize = u16::MAX as usize;

/// An X25519 public key (a signed prekey, an ephemeral key or a ratchet key).
///
/// Any 32 bytes are accepted and compared as bytes (DESIGN.md rule 3); a key that gives an
/// all-zero Diffie-Hellman output is refused when it is used.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct X25519PublicKey([u8; X25519_KEY_LENGTH]);

impl X25519PublicKey {
    /// Wraps 32 bytes.
    pub const fn from_bytes(bytes: [u8; X25519_KEY_LENGTH]) -> Self {
        X25519PublicKey(bytes)
    }

    /// Wraps a slice that must be exactly 32 bytes long; returns its length otherwise.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, usize> {
        <[u8; X25519_KEY_LENGTH]>::try_from(bytes)
            .map(X25519PublicKey)
            .map_err(|_| bytes.len())
    }

    /// The 32 bytes.
    pub const fn as_bytes(&self) -> &[u8; X25519_KEY_LENGTH] {
        &self.0
    }

    /// The 32 bytes, copied.
    pub const fn to_bytes(&self) -> [u8; X25519_KEY_LENGTH] {
        self.0
    }

    pub(crate) fn to_dalek(self) -> PublicKey {
        PublicKey::from(self.0)
    }
}

impl fmt::Debug for X25519PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "X25519PublicKey(")?;
        for b in &self.0 {
            write!(f, "{b:02x}")?;
        }
        write!(f, ")")
    }
}

/// A Diffie-Hellman output was all zero (DESIGN.md rule 3): the peer's key has small order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("Diffie-Hellman output is all zero")]
pub struct NonContributory;

/// X25519 between a secret and a public key; all-zero output is an error. The result is
/// zeroized on drop.
pub(crate) fn diffie_hellman(
    secret: &StaticSecret,
    public: &X25519PublicKey,
) -> Result<Zeroizing<[u8; 32]>, NonContributory> {
    let shared = secret.diffie_hellman(&public.to_dalek());
    if shared.was_contributory() {
        Ok(Zeroizing::new(shared.to_bytes()))
    } else {
        Err(NonContributory)
    }
}

/// Draws a fresh X25519 secret: exactly 32 bytes from `rng`, clamped when used.
pub(crate) fn random_secret<R: CryptoRng + ?Sized>(rng: &mut R) -> StaticSecret {
    let mut bytes = Zeroizing::new([0u8; 32]);
    rng.fill_bytes(&mut bytes[..]);
    StaticSecret::from(*bytes)
}

/// The public key of an X25519 secret.
pub(crate) fn public_of(secret: &StaticSecret) -> X25519PublicKey {
    X25519PublicKey(PublicKey::from(secret).to_bytes())
}

/// An installation (device) id, the key of a bundle's `signed_pre_keys` map: a UTF-8
/// string of at most [`MAX_INSTALLATION_ID_BYTES`] bytes.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InstallationId(String);

/// An installation id is longer than [`MAX_INSTALLATION_ID_BYTES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("installation id is {0} bytes, at most {MAX_INSTALLATION_ID_BYTES} allowed")]
pub struct InstallationIdTooLong(pub usize);

impl InstallationId {
    /// Checks the length of `id`.
    pub fn new(id: impl Into<String>) -> Result<Self, InstallationIdTooLong> {
        let id = id.into();
        if id.len() > MAX_INSTALLATION_ID_BYTES {
            return Err(InstallationIdTooLong(id.len()));
        }
        Ok(InstallationId(id))
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for InstallationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InstallationId({:?})", self.0)
    }
}

impl fmt::Display for InstallationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<&str> for InstallationId {
    type Error = InstallationIdTooLong;

    fn try_from(id: &str) -> Result<Self, Self::Error> {
        InstallationId::new(id)
    }
}

/// The public part of a signed prekey as a bundle lists it: the X25519 key and its version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SignedPreKey {
    /// The X25519 public prekey (`SPK`).
    pub key: X25519PublicKey,
    /// The prekey version (signed; a higher version replaces a lower one, 54 "Re-keying").
    pub version: u32,
}

/// A signed prekey pair of one of our installations: the secret stays on the device.
///
/// The secret is zeroized on drop; `Debug` prints only the public key; equality is
/// constant time. There is no `Clone`: a prekey secret is not copied around.
pub struct SignedPreKeyPair {
    secret: StaticSecret,
    public: SignedPreKey,
}

impl SignedPreKeyPair {
    /// Generates a prekey with the given version (32 bytes drawn from `rng`).
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R, version: u32) -> Self {
        Self::from_secret_bytes(&Zeroizing::new(random_secret(rng).to_bytes()), version)
    }

    /// Rebuilds a prekey from its 32 secret bytes (as stored) and version.
    pub fn from_secret_bytes(secret: &[u8; X25519_KEY_LENGTH], version: u32) -> Self {
        let secret = StaticSecret::from(*secret);
        let key = public_of(&secret);
        SignedPreKeyPair {
            secret,
            public: SignedPreKey { key, version },
        }
    }

    /// The 32 secret bytes, for the store. Keep them secret; zeroized when dropped.
    pub fn to_secret_bytes(&self) -> Zeroizing<[u8; X25519_KEY_LENGTH]> {
        Zeroizing::new(self.secret.to_bytes())
    }

    /// The public key and version, as the bundle lists them.
    pub fn public(&self) -> SignedPreKey {
        self.public
    }

    pub(crate) fn secret(&self) -> &StaticSecret {
        &self.secret
    }
}

impl PartialEq for SignedPreKeyPair {
    fn eq(&self, other: &Self) -> bool {
        bool::from(self.secret.as_bytes().ct_eq(other.secret.as_bytes()))
            && self.public.version == other.public.version
    }
}

impl Eq for SignedPreKeyPair {}

impl fmt::Debug for SignedPreKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedPreKeyPair")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

/// Our current ratchet key pair, with its public key computed once (vodozemac recomputes
/// it on every encryption).
pub(crate) struct RatchetKeyPair {
    pub(crate) secret: StaticSecret,
    pub(crate) public: X25519PublicKey,
}

impl RatchetKeyPair {
    pub(crate) fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        Self::from_secret(random_secret(rng))
    }

    pub(crate) fn from_secret(secret: StaticSecret) -> Self {
        let public = public_of(&secret);
        RatchetKeyPair { secret, public }
    }
}
