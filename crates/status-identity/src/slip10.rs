//! SLIP-0010 key derivation for Ed25519: from a BIP39 seed to the identity key.
//!
//! SLIP-0010 adapts BIP32 to Ed25519. Only hardened derivation exists for Ed25519:
//!
//! - master: `I = HMAC-SHA512(key = "ed25519 seed", data = seed)`, secret `I[0..32]`,
//!   chain code `I[32..64]`;
//! - child `i` (hardened, `i >= 2^31`): `I = HMAC-SHA512(key = chain code,
//!   data = 0x00 || secret || u32 BE i)`, same split.
//!
//! The secret is used as the Ed25519 seed (RFC 8032 private key). The identity of an
//! account is derived at [`IDENTITY_PATH`], `m/43'/60'/1581'/0'/0'`: the chat-key path
//! of EIP-1581 that Status uses, with its last step hardened as SLIP-0010 requires
//! for Ed25519 (Status's secp256k1 path ends in a non-hardened `0`).

use core::fmt;
use core::str::FromStr;

use hmac::{Hmac, KeyInit as _, Mac as _};
use sha2::Sha512;
use zeroize::Zeroizing;

use crate::keys::IdentityKeyPair;

/// The bit that marks a hardened index.
pub const HARDENED: u32 = 0x8000_0000;

/// The derivation path of the identity key: `m/43'/60'/1581'/0'/0'`.
pub const IDENTITY_PATH: &str = "m/43'/60'/1581'/0'/0'";

/// Deepest path accepted (BIP32 stores the depth in one byte).
pub const MAX_DEPTH: usize = 255;

/// Shortest seed SLIP-0010 (as BIP32) accepts, in bytes.
pub const MIN_SEED_BYTES: usize = 16;
/// Longest seed SLIP-0010 (as BIP32) accepts, in bytes.
pub const MAX_SEED_BYTES: usize = 64;

/// Why a path or a derivation step is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Slip10Error {
    /// The path does not start with `m`.
    #[error("a derivation path starts with \"m\"")]
    MissingMaster,
    /// A path component (1-based position) is not a number below 2^31 with a hardened mark.
    #[error("path component {0} is not a number below 2^31")]
    BadComponent(usize),
    /// A path component (1-based position) or an index is not hardened; Ed25519 has only
    /// hardened derivation.
    #[error("path component {0} is not hardened; Ed25519 derivation is hardened only")]
    NotHardened(usize),
    /// The path is deeper than [`MAX_DEPTH`].
    #[error("derivation path deeper than {MAX_DEPTH}")]
    TooDeep,
    /// The seed is not 16 to 64 bytes long.
    #[error("seed must be {MIN_SEED_BYTES} to {MAX_SEED_BYTES} bytes, got {0}")]
    SeedLength(usize),
}

/// A derivation path of hardened indices (each stored with [`HARDENED`] set).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DerivationPath(Vec<u32>);

impl DerivationPath {
    /// The path of the identity key, [`IDENTITY_PATH`].
    pub fn identity() -> Self {
        DerivationPath(vec![
            43 | HARDENED,
            60 | HARDENED,
            1581 | HARDENED,
            HARDENED,
            HARDENED,
        ])
    }

    /// Builds a path from indices, each of which must be hardened.
    pub fn from_indices(indices: &[u32]) -> Result<Self, Slip10Error> {
        if indices.len() > MAX_DEPTH {
            return Err(Slip10Error::TooDeep);
        }
        if let Some(pos) = indices.iter().position(|i| i & HARDENED == 0) {
            return Err(Slip10Error::NotHardened(pos + 1));
        }
        Ok(DerivationPath(indices.to_vec()))
    }

    /// The indices, each with [`HARDENED`] set.
    pub fn indices(&self) -> &[u32] {
        &self.0
    }
}

impl FromStr for DerivationPath {
    type Err = Slip10Error;

    /// Parses `m/0'/1'/...`; `'`, `h` and `H` mark a hardened index.
    fn from_str(s: &str) -> Result<Self, Slip10Error> {
        let mut parts = s.split('/');
        if parts.next() != Some("m") {
            return Err(Slip10Error::MissingMaster);
        }
        let mut indices = Vec::new();
        for (i, part) in parts.enumerate() {
            let pos = i + 1;
            if indices.len() == MAX_DEPTH {
                return Err(Slip10Error::TooDeep);
            }
            let (digits, hardened) = match part.strip_suffix(['\'', 'h', 'H']) {
                Some(digits) => (digits, true),
                None => (part, false),
            };
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(Slip10Error::BadComponent(pos));
            }
            let index: u32 = digits.parse().map_err(|_| Slip10Error::BadComponent(pos))?;
            if index >= HARDENED {
                return Err(Slip10Error::BadComponent(pos));
            }
            if !hardened {
                return Err(Slip10Error::NotHardened(pos));
            }
            indices.push(index | HARDENED);
        }
        Ok(DerivationPath(indices))
    }
}

impl fmt::Display for DerivationPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "m")?;
        for index in &self.0 {
            write!(f, "/{}'", index & !HARDENED)?;
        }
        Ok(())
    }
}

/// A SLIP-0010 Ed25519 extended secret key: the secret (an Ed25519 seed) and the chain
/// code. Zeroized on drop; `Debug` prints only the depth.
#[derive(Clone)]
pub struct ExtendedSecretKey {
    secret: Zeroizing<[u8; 32]>,
    chain_code: Zeroizing<[u8; 32]>,
    depth: u8,
}

impl ExtendedSecretKey {
    /// The master key of a seed (16 to 64 bytes).
    pub fn master(seed: &[u8]) -> Result<Self, Slip10Error> {
        if !(MIN_SEED_BYTES..=MAX_SEED_BYTES).contains(&seed.len()) {
            return Err(Slip10Error::SeedLength(seed.len()));
        }
        Ok(Self::from_hmac(b"ed25519 seed", &[seed], 0))
    }

    /// Derives the key of a path from a seed.
    pub fn derive(seed: &[u8], path: &DerivationPath) -> Result<Self, Slip10Error> {
        let mut key = Self::master(seed)?;
        for &index in path.indices() {
            key = key.child(index)?;
        }
        Ok(key)
    }

    /// The hardened child at `index` (which must have [`HARDENED`] set).
    pub fn child(&self, index: u32) -> Result<Self, Slip10Error> {
        if index & HARDENED == 0 {
            return Err(Slip10Error::NotHardened(usize::from(self.depth) + 1));
        }
        let depth = self.depth.checked_add(1).ok_or(Slip10Error::TooDeep)?;
        Ok(Self::from_hmac(
            &self.chain_code[..],
            &[&[0u8], &self.secret[..], &index.to_be_bytes()],
            depth,
        ))
    }

    fn from_hmac(key: &[u8], data: &[&[u8]], depth: u8) -> Self {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = match Hmac::<Sha512>::new_from_slice(key) {
            Ok(mac) => mac,
            Err(_) => unreachable_hmac(),
        };
        for part in data {
            mac.update(part);
        }
        let mut out = Zeroizing::new([0u8; 64]);
        out.copy_from_slice(&mac.finalize().into_bytes());
        let mut secret = Zeroizing::new([0u8; 32]);
        let mut chain_code = Zeroizing::new([0u8; 32]);
        secret.copy_from_slice(&out[..32]);
        chain_code.copy_from_slice(&out[32..]);
        ExtendedSecretKey {
            secret,
            chain_code,
            depth,
        }
    }

    /// The 32-byte secret (an Ed25519 seed). Keep it secret.
    pub fn secret_bytes(&self) -> &[u8; 32] {
        &self.secret
    }

    /// The 32-byte chain code. Keep it secret: with a child secret it yields siblings.
    pub fn chain_code(&self) -> &[u8; 32] {
        &self.chain_code
    }

    /// How many derivation steps lead from the master key here.
    pub fn depth(&self) -> u8 {
        self.depth
    }

    /// The identity key pair whose Ed25519 seed is this key's secret.
    pub fn to_identity(&self) -> IdentityKeyPair {
        IdentityKeyPair::from_secret_bytes(&self.secret)
    }
}

#[cold]
fn unreachable_hmac() -> ! {
    #[allow(clippy::panic)]
    {
        panic!("HMAC refused a key")
    }
}

impl fmt::Debug for ExtendedSecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExtendedSecretKey")
            .field("depth", &self.depth)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_path_parses_and_prints() {
        let path: DerivationPath = IDENTITY_PATH.parse().unwrap();
        assert_eq!(path, DerivationPath::identity());
        assert_eq!(path.to_string(), IDENTITY_PATH);
        assert_eq!(
            "m/43h/60H/1581'/0'/0'".parse::<DerivationPath>().unwrap(),
            path
        );
        assert_eq!(
            "m".parse::<DerivationPath>().unwrap().indices(),
            &[] as &[u32]
        );
    }

    #[test]
    fn bad_paths() {
        let cases: &[(&str, Slip10Error)] = &[
            ("", Slip10Error::MissingMaster),
            ("n/0'", Slip10Error::MissingMaster),
            ("m/43'/60'/1581'/0'/0", Slip10Error::NotHardened(5)),
            ("m//0'", Slip10Error::BadComponent(1)),
            ("m/x'", Slip10Error::BadComponent(1)),
            ("m/+1'", Slip10Error::BadComponent(1)),
            ("m/2147483648'", Slip10Error::BadComponent(1)),
            ("m/99999999999999999999'", Slip10Error::BadComponent(1)),
        ];
        for (path, error) in cases {
            assert_eq!(
                path.parse::<DerivationPath>().as_ref(),
                Err(error),
                "{path}"
            );
        }
        let deep = format!("m{}", "/0'".repeat(MAX_DEPTH + 1));
        assert_eq!(deep.parse::<DerivationPath>(), Err(Slip10Error::TooDeep));
        assert_eq!(
            DerivationPath::from_indices(&[HARDENED, 1]),
            Err(Slip10Error::NotHardened(2))
        );
    }

    #[test]
    fn seed_length_bounds() {
        assert_eq!(
            ExtendedSecretKey::master(&[0; 15]).err(),
            Some(Slip10Error::SeedLength(15))
        );
        assert_eq!(
            ExtendedSecretKey::master(&[0; 65]).err(),
            Some(Slip10Error::SeedLength(65))
        );
        let master = ExtendedSecretKey::master(&[0; 16]).unwrap();
        assert_eq!(master.child(0).err(), Some(Slip10Error::NotHardened(1)));
        assert!(!format!("{master:?}").contains(&hex::encode(master.secret_bytes())));
    }
}
