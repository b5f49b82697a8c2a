//! X25519 keys of the suite: public keys as plain 32 bytes, the signed prekey pair of an
//! installation, the installation id, and the (private) ratchet key pair.

use core::fmt;

use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::montgomery::MontgomeryPoint;
use rand_core::CryptoRng;
use status_identity::IdentityPublicKey;
use subtle::ConstantTimeEq;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::{Zeroize, Zeroizing};

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
    PreparedPoint::from_x25519(public).diffie_hellman(secret)
}

/// A peer's X25519 public key prepared for scalar multiplications.
///
/// X25519 is computed on the Edwards form of the point when the `u`-coordinate is on the
/// curve (curve25519-dalek's variable-base Edwards multiplication is faster than its
/// Montgomery ladder here, and a prepared point is reused by several Diffie-Hellman
/// computations); twist points, which have no Edwards form, use the ladder. Both give
/// the `u`-coordinate of `[clamp(k)]P`, the X25519 result (RFC 7748), whatever the sign
/// chosen for the Edwards point: a unit test compares them, and the known-answer vectors
/// are re-derived by an independent implementation.
#[derive(Clone)]
pub(crate) struct PreparedPoint {
    u: MontgomeryPoint,
    edwards: Option<EdwardsPoint>,
}

impl PreparedPoint {
    pub(crate) fn from_x25519(public: &X25519PublicKey) -> Self {
        let u = MontgomeryPoint(public.0);
        PreparedPoint {
            u,
            edwards: u.to_edwards(0),
        }
    }

    /// True if this is the point of `key`.
    pub(crate) fn is_key(&self, key: &X25519PublicKey) -> bool {
        self.u.0 == key.0
    }

    /// An identity key: its Edwards point is decompressed directly.
    pub(crate) fn from_identity(identity: &IdentityPublicKey) -> Self {
        PreparedPoint {
            u: MontgomeryPoint(identity.to_x25519().to_bytes()),
            edwards: CompressedEdwardsY(*identity.as_bytes()).decompress(),
        }
    }

    /// `[clamp(secret)]P` before the conversion to `u` (Edwards form) or the result (ladder).
    fn multiply(&self, secret: &StaticSecret) -> Product {
        let scalar = Zeroizing::new(secret.to_bytes());
        match &self.edwards {
            Some(point) => Product::Edwards(point.mul_clamped(*scalar)),
            None => Product::Montgomery(self.u.mul_clamped(*scalar)),
        }
    }

    pub(crate) fn diffie_hellman(
        &self,
        secret: &StaticSecret,
    ) -> Result<Zeroizing<[u8; 32]>, NonContributory> {
        let [out] = diffie_hellman_batch([(secret, self)])?;
        Ok(out)
    }
}

enum Product {
    Edwards(EdwardsPoint),
    Montgomery(MontgomeryPoint),
}

/// One X25519 computation of a batch.
pub(crate) enum Job<'a> {
    /// Diffie-Hellman: an all-zero result is an error.
    Dh(&'a StaticSecret, &'a PreparedPoint),
    /// The public key of a secret (base-point multiplication).
    Public(&'a StaticSecret),
}

/// Several X25519 computations at once, with one field inversion for all the Edwards
/// results. Any all-zero Diffie-Hellman output is an error.
pub(crate) fn diffie_hellman_batch<const N: usize>(
    pairs: [(&StaticSecret, &PreparedPoint); N],
) -> Result<[Zeroizing<[u8; 32]>; N], NonContributory> {
    x25519_batch(pairs.map(|(secret, point)| Job::Dh(secret, point)))
}

/// See [`Job`]; one field inversion for all the Edwards results.
pub(crate) fn x25519_batch<const N: usize>(
    jobs: [Job<'_>; N],
) -> Result<[Zeroizing<[u8; 32]>; N], NonContributory> {
    let checked = jobs.each_ref().map(|job| matches!(job, Job::Dh(..)));
    let products = jobs.map(|job| match job {
        Job::Dh(secret, point) => point.multiply(secret),
        Job::Public(secret) => {
            let scalar = Zeroizing::new(secret.to_bytes());
            Product::Edwards(EdwardsPoint::mul_base_clamped(*scalar))
        }
    });
    let mut edwards: Vec<EdwardsPoint> = products
        .iter()
        .filter_map(|p| match p {
            Product::Edwards(e) => Some(*e),
            Product::Montgomery(_) => None,
        })
        .collect();
    let mut converted = EdwardsPoint::to_montgomery_batch(&edwards);
    edwards.zeroize();
    let mut zero = false;
    let mut index = 0;
    let mut next_converted = 0;
    let out = products.map(|p| {
        let check = checked.get(index).copied().unwrap_or(true);
        index += 1;
        let mut u = match p {
            Product::Edwards(mut e) => {
                e.zeroize();
                next_converted += 1;
                converted
                    .get(next_converted - 1)
                    .copied()
                    .unwrap_or(MontgomeryPoint([0; 32]))
            }
            Product::Montgomery(m) => m,
        };
        let bytes = Zeroizing::new(u.to_bytes());
        u.zeroize();
        if check {
            zero |= bool::from(bytes.ct_eq(&[0u8; 32]));
        }
        bytes
    });
    converted.zeroize();
    if zero { Err(NonContributory) } else { Ok(out) }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The Edwards path gives the X25519 result for curve points, twist points,
    /// small-order points and non-canonical encodings.
    #[test]
    fn prepared_point_matches_x25519() {
        let mut inputs: Vec<[u8; 32]> = Vec::new();
        for i in 0u8..40 {
            let k: [u8; 32] = core::array::from_fn(|j| i.wrapping_mul(29) ^ (j as u8) ^ 0xa5);
            inputs.push(x25519_dalek::x25519(
                k,
                x25519_dalek::X25519_BASEPOINT_BYTES,
            ));
            // Arbitrary bytes: about half are on the twist; top bit set.
            inputs.push(core::array::from_fn(|j| {
                i.wrapping_mul(71).wrapping_add((j as u8).wrapping_mul(13))
            }));
        }
        inputs.push([0; 32]);
        let mut one = [0u8; 32];
        one[0] = 1;
        inputs.push(one);
        // p - 1 (u = -1), p, p + 1 (non-canonical encodings).
        let mut p_minus_1 = [0xffu8; 32];
        p_minus_1[0] = 0xec;
        p_minus_1[31] = 0x7f;
        inputs.push(p_minus_1);
        let mut p = p_minus_1;
        p[0] = 0xed;
        inputs.push(p);
        let mut p1 = p_minus_1;
        p1[0] = 0xee;
        inputs.push(p1);
        let mut twist = 0;
        for (n, u) in inputs.iter().enumerate() {
            let point = PreparedPoint::from_x25519(&X25519PublicKey(*u));
            twist += usize::from(point.edwards.is_none());
            let secret = StaticSecret::from(core::array::from_fn(|j| {
                (n as u8) ^ (j as u8).wrapping_mul(3)
            }));
            let expect = secret.diffie_hellman(&PublicKey::from(*u));
            match point.diffie_hellman(&secret) {
                Ok(got) => assert_eq!(*got, expect.to_bytes(), "input {n}"),
                Err(NonContributory) => assert!(!expect.was_contributory(), "input {n}"),
            }
        }
        assert!(twist > 5, "twist points exercised");
    }
}
