//! Encryption at rest: a passphrase-derived key wraps a random database key, and the
//! database key seals every secret and message body with AES-256-GCM and blinds every
//! lookup key with HMAC-SHA256.
//!
//! Key hierarchy:
//!
//! ```text
//! passphrase --argon2id(salt, params)--> KEK (32 bytes, never stored)
//! KEK --AES-256-GCM(AD = "status-rs/db/1/key" || params || salt)--> sealed database key (stored)
//! database key --HKDF-SHA256("status-rs/db/1/seal")--> sealing key   (AES-256-GCM)
//! database key --HKDF-SHA256("status-rs/db/1/blind")--> blinding key (HMAC-SHA256)
//! ```
//!
//! A wrong passphrase gives a KEK under which the sealed database key does not
//! authenticate: that is the typed "wrong passphrase" error. Changing the passphrase
//! re-wraps the database key only.

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit};
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use rand::CryptoRng;
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Length of the random database key and of every derived key.
pub(crate) const KEY_BYTES: usize = 32;
/// Length of an AES-GCM nonce.
const NONCE_BYTES: usize = 12;
/// Length of an AES-GCM tag.
const TAG_BYTES: usize = 16;
/// Length of the argon2id salt.
pub(crate) const SALT_BYTES: usize = 16;
/// Format byte in front of every sealed value (lets the format change later).
const SEAL_FORMAT_V1: u8 = 1;
/// Bytes a sealed value adds to its plaintext: format byte, nonce, tag.
pub const SEAL_OVERHEAD_BYTES: usize = 1 + NONCE_BYTES + TAG_BYTES;
/// Length of a blinded lookup key.
pub(crate) const BLIND_BYTES: usize = 32;

const LABEL_WRAP: &[u8] = b"status-rs/db/1/key";
const LABEL_SEAL: &[u8] = b"status-rs/db/1/seal";
const LABEL_BLIND: &[u8] = b"status-rs/db/1/blind";
const LABEL_AD: &[u8] = b"status-rs/db/1/row|";

/// The cost of deriving the key-encryption key from the passphrase with argon2id.
///
/// Stored in the clear next to the salt, so a database keeps the parameters it was
/// created with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfParams {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Number of passes.
    pub iterations: u32,
    /// Degree of parallelism (lanes).
    pub parallelism: u32,
}

impl KdfParams {
    /// The default: 64 MiB, 3 passes, 1 lane (RFC 9106's second recommended option with
    /// one lane; OWASP's minimum is 19 MiB / 2 passes). See the crate docs for the
    /// measured time.
    pub const DEFAULT: KdfParams = KdfParams {
        memory_kib: 64 * 1024,
        iterations: 3,
        parallelism: 1,
    };

    /// Cheap parameters (256 KiB, 1 pass) that make tests fast. A database created with
    /// them falls to a dictionary attack in no time: tests only.
    #[doc(hidden)]
    pub const INSECURE_FOR_TESTS_ONLY: KdfParams = KdfParams {
        memory_kib: 256,
        iterations: 1,
        parallelism: 1,
    };

    pub(crate) fn to_bytes(self) -> [u8; 12] {
        let mut out = [0u8; 12];
        out[0..4].copy_from_slice(&self.memory_kib.to_be_bytes());
        out[4..8].copy_from_slice(&self.iterations.to_be_bytes());
        out[8..12].copy_from_slice(&self.parallelism.to_be_bytes());
        out
    }

    pub(crate) fn from_bytes(bytes: &[u8]) -> Option<KdfParams> {
        let field = |i: usize| -> Option<u32> {
            let chunk: [u8; 4] = bytes.get(i..i + 4)?.try_into().ok()?;
            Some(u32::from_be_bytes(chunk))
        };
        if bytes.len() != 12 {
            return None;
        }
        Some(KdfParams {
            memory_kib: field(0)?,
            iterations: field(4)?,
            parallelism: field(8)?,
        })
    }
}

impl Default for KdfParams {
    fn default() -> Self {
        KdfParams::DEFAULT
    }
}

/// Why a key could not be derived or unwrapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyUnwrapError {
    /// The KDF parameters are outside what argon2 accepts.
    BadParams,
    /// The sealed database key did not authenticate under the derived key.
    WrongPassphrase,
    /// The sealed database key has the wrong shape.
    Malformed,
}

/// The key-encryption key, derived from the passphrase. Zeroized on drop, never stored.
#[derive(Zeroize, ZeroizeOnDrop)]
struct Kek([u8; KEY_BYTES]);

fn derive_kek(
    passphrase: &[u8],
    salt: &[u8; SALT_BYTES],
    params: KdfParams,
) -> Result<Kek, KeyUnwrapError> {
    let argon_params = argon2::Params::new(
        params.memory_kib,
        params.iterations,
        params.parallelism,
        Some(KEY_BYTES),
    )
    .map_err(|_| KeyUnwrapError::BadParams)?;
    let argon = argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        argon_params,
    );
    let mut kek = Kek([0u8; KEY_BYTES]);
    argon
        .hash_password_into(passphrase, salt, &mut kek.0)
        .map_err(|_| KeyUnwrapError::BadParams)?;
    Ok(kek)
}

fn wrap_ad(params: KdfParams, salt: &[u8; SALT_BYTES]) -> Vec<u8> {
    let mut ad = Vec::with_capacity(LABEL_WRAP.len() + 12 + SALT_BYTES);
    ad.extend_from_slice(LABEL_WRAP);
    ad.extend_from_slice(&params.to_bytes());
    ad.extend_from_slice(salt);
    ad
}

fn aead_seal(
    key: &[u8; KEY_BYTES],
    nonce: &[u8; NONCE_BYTES],
    ad: &[u8],
    plaintext: &[u8],
) -> Option<Vec<u8>> {
    let cipher = Aes256Gcm::new(key.into());
    cipher
        .encrypt(
            nonce.into(),
            Payload {
                msg: plaintext,
                aad: ad,
            },
        )
        .ok()
}

fn aead_open(
    key: &[u8; KEY_BYTES],
    nonce: &[u8; NONCE_BYTES],
    ad: &[u8],
    ciphertext: &[u8],
) -> Option<Zeroizing<Vec<u8>>> {
    let cipher = Aes256Gcm::new(key.into());
    cipher
        .decrypt(
            nonce.into(),
            Payload {
                msg: ciphertext,
                aad: ad,
            },
        )
        .ok()
        .map(Zeroizing::new)
}

/// The random database key and the keys derived from it. Zeroized on drop; no `Debug`.
pub(crate) struct DatabaseKeys {
    root: Zeroizing<[u8; KEY_BYTES]>,
    seal: Zeroizing<[u8; KEY_BYTES]>,
    blind: Zeroizing<[u8; KEY_BYTES]>,
}

/// What is stored in the clear to unwrap the database key with the passphrase.
pub(crate) struct WrappedKey {
    pub(crate) params: KdfParams,
    pub(crate) salt: [u8; SALT_BYTES],
    /// nonce(12) || AES-256-GCM(database key) || tag(16)
    pub(crate) sealed: Vec<u8>,
}

impl DatabaseKeys {
    fn from_root(root: Zeroizing<[u8; KEY_BYTES]>) -> Self {
        let hk = Hkdf::<Sha256>::new(None, &root[..]);
        let mut seal = Zeroizing::new([0u8; KEY_BYTES]);
        let mut blind = Zeroizing::new([0u8; KEY_BYTES]);
        // 32 bytes is always a valid HKDF-SHA256 output length.
        let _ = hk.expand(LABEL_SEAL, &mut seal[..]);
        let _ = hk.expand(LABEL_BLIND, &mut blind[..]);
        DatabaseKeys { root, seal, blind }
    }

    /// A fresh random database key.
    pub(crate) fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut root = Zeroizing::new([0u8; KEY_BYTES]);
        rng.fill_bytes(&mut root[..]);
        Self::from_root(root)
    }

    /// Wraps the database key under a key derived from `passphrase` with a fresh salt.
    pub(crate) fn wrap<R: CryptoRng + ?Sized>(
        &self,
        passphrase: &[u8],
        params: KdfParams,
        rng: &mut R,
    ) -> Result<WrappedKey, KeyUnwrapError> {
        let mut salt = [0u8; SALT_BYTES];
        rng.fill_bytes(&mut salt[..]);
        let mut nonce = [0u8; NONCE_BYTES];
        rng.fill_bytes(&mut nonce[..]);
        let kek = derive_kek(passphrase, &salt, params)?;
        let ct = aead_seal(&kek.0, &nonce, &wrap_ad(params, &salt), &self.root[..])
            .ok_or(KeyUnwrapError::Malformed)?;
        let mut sealed = Vec::with_capacity(NONCE_BYTES + ct.len());
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ct);
        Ok(WrappedKey {
            params,
            salt,
            sealed,
        })
    }

    /// Unwraps the database key with `passphrase`.
    pub(crate) fn unwrap(passphrase: &[u8], wrapped: &WrappedKey) -> Result<Self, KeyUnwrapError> {
        if wrapped.sealed.len() != NONCE_BYTES + KEY_BYTES + TAG_BYTES {
            return Err(KeyUnwrapError::Malformed);
        }
        let (nonce, ct) = wrapped.sealed.split_at(NONCE_BYTES);
        let nonce: [u8; NONCE_BYTES] = nonce.try_into().map_err(|_| KeyUnwrapError::Malformed)?;
        let kek = derive_kek(passphrase, &wrapped.salt, wrapped.params)?;
        let plain = aead_open(&kek.0, &nonce, &wrap_ad(wrapped.params, &wrapped.salt), ct)
            .ok_or(KeyUnwrapError::WrongPassphrase)?;
        let mut root = Zeroizing::new([0u8; KEY_BYTES]);
        if plain.len() != KEY_BYTES {
            return Err(KeyUnwrapError::Malformed);
        }
        root.copy_from_slice(&plain);
        Ok(Self::from_root(root))
    }

    /// The blinded form of a lookup key: HMAC-SHA256(blinding key, table || 0 || key).
    /// Equal keys blind equally (so they can be looked up) but reveal nothing else.
    pub(crate) fn blind(&self, table: &str, key: &[u8]) -> [u8; BLIND_BYTES] {
        let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.blind[..]) else {
            // HMAC accepts keys of any length; this branch cannot be taken.
            return [0u8; BLIND_BYTES];
        };
        mac.update(table.as_bytes());
        mac.update(&[0]);
        mac.update(key);
        mac.finalize().into_bytes().into()
    }

    /// Seals `plaintext` for the row named by `table` and its blinded key: a sealed value
    /// moved to another row or table does not open.
    pub(crate) fn seal<R: CryptoRng + ?Sized>(
        &self,
        table: &str,
        row: &[u8],
        plaintext: &[u8],
        rng: &mut R,
    ) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_BYTES];
        rng.fill_bytes(&mut nonce[..]);
        let ad = row_ad(table, row);
        let mut out = Vec::with_capacity(SEAL_OVERHEAD_BYTES + plaintext.len());
        out.push(SEAL_FORMAT_V1);
        out.extend_from_slice(&nonce);
        // AES-GCM only fails for plaintexts over 64 GiB, which SQLite cannot hold.
        if let Some(ct) = aead_seal(&self.seal, &nonce, &ad, plaintext) {
            out.extend_from_slice(&ct);
        }
        out
    }

    /// Opens a value sealed by [`DatabaseKeys::seal`] for the same row; `None` if it was
    /// tampered with, moved, or sealed under another key.
    pub(crate) fn open(
        &self,
        table: &str,
        row: &[u8],
        sealed: &[u8],
    ) -> Option<Zeroizing<Vec<u8>>> {
        if sealed.len() < SEAL_OVERHEAD_BYTES || sealed.first() != Some(&SEAL_FORMAT_V1) {
            return None;
        }
        let nonce: [u8; NONCE_BYTES] = sealed.get(1..1 + NONCE_BYTES)?.try_into().ok()?;
        let ct = sealed.get(1 + NONCE_BYTES..)?;
        aead_open(&self.seal, &nonce, &row_ad(table, row), ct)
    }

    /// Constant-time equality of two database keys (tests).
    #[cfg(test)]
    fn same_root(&self, other: &DatabaseKeys) -> bool {
        use subtle::ConstantTimeEq as _;
        self.root[..].ct_eq(&other.root[..]).into()
    }
}

fn row_ad(table: &str, row: &[u8]) -> Vec<u8> {
    let mut ad = Vec::with_capacity(LABEL_AD.len() + table.len() + 1 + row.len());
    ad.extend_from_slice(LABEL_AD);
    ad.extend_from_slice(table.as_bytes());
    ad.push(0);
    ad.extend_from_slice(row);
    ad
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::ChaCha20Rng;

    #[test]
    fn wrap_unwrap_and_wrong_passphrase() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let keys = DatabaseKeys::generate(&mut rng);
        let wrapped = keys
            .wrap(
                b"correct horse",
                KdfParams::INSECURE_FOR_TESTS_ONLY,
                &mut rng,
            )
            .unwrap();
        let back = DatabaseKeys::unwrap(b"correct horse", &wrapped).unwrap();
        assert!(back.same_root(&keys));
        assert_eq!(
            DatabaseKeys::unwrap(b"correct horsf", &wrapped).err(),
            Some(KeyUnwrapError::WrongPassphrase)
        );
        let mut tampered = WrappedKey {
            params: KdfParams {
                iterations: 2,
                ..wrapped.params
            },
            salt: wrapped.salt,
            sealed: wrapped.sealed.clone(),
        };
        // Changing the stored parameters is detected too (they are bound as AD).
        assert_eq!(
            DatabaseKeys::unwrap(b"correct horse", &tampered).err(),
            Some(KeyUnwrapError::WrongPassphrase)
        );
        tampered.params = wrapped.params;
        tampered.sealed.pop();
        assert_eq!(
            DatabaseKeys::unwrap(b"correct horse", &tampered).err(),
            Some(KeyUnwrapError::Malformed)
        );
    }

    #[test]
    fn seal_is_bound_to_its_row() {
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let keys = DatabaseKeys::generate(&mut rng);
        let sealed = keys.seal("messages", b"row-1", b"hello", &mut rng);
        assert_eq!(sealed.len(), 5 + SEAL_OVERHEAD_BYTES);
        assert_eq!(
            &keys.open("messages", b"row-1", &sealed).unwrap()[..],
            b"hello"
        );
        assert!(keys.open("messages", b"row-2", &sealed).is_none());
        assert!(keys.open("contacts", b"row-1", &sealed).is_none());
        let mut flipped = sealed.clone();
        if let Some(last) = flipped.last_mut() {
            *last ^= 1;
        }
        assert!(keys.open("messages", b"row-1", &flipped).is_none());
        assert!(keys.open("messages", b"row-1", &sealed[..10]).is_none());
        let other = DatabaseKeys::generate(&mut rng);
        assert!(other.open("messages", b"row-1", &sealed).is_none());
        // Empty plaintexts are fine.
        let empty = keys.seal("kv", b"", b"", &mut rng);
        assert!(keys.open("kv", b"", &empty).unwrap().is_empty());
    }

    #[test]
    fn blinding_is_deterministic_and_separated() {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let keys = DatabaseKeys::generate(&mut rng);
        assert_eq!(keys.blind("chats", b"a"), keys.blind("chats", b"a"));
        assert_ne!(keys.blind("chats", b"a"), keys.blind("chats", b"b"));
        assert_ne!(keys.blind("chats", b"a"), keys.blind("contacts", b"a"));
        let other = DatabaseKeys::generate(&mut rng);
        assert_ne!(keys.blind("chats", b"a"), other.blind("chats", b"a"));
    }

    #[test]
    fn kdf_params_round_trip() {
        let p = KdfParams::DEFAULT;
        assert_eq!(KdfParams::from_bytes(&p.to_bytes()), Some(p));
        assert_eq!(KdfParams::from_bytes(&[0; 11]), None);
    }
}
