//! Encrypted key files: an identity (and optionally its mnemonic) at rest under a passphrase.
//!
//! Format version 1 (all integers big-endian):
//!
//! ```text
//! offset size field
//!      0    8 magic  "SRSIDKEY"
//!      8    1 format version = 1
//!      9    1 KDF id = 1 (Argon2id, version 0x13)
//!     10    4 Argon2 memory cost, KiB      (bounded: MIN_MEMORY_KIB..=MAX_MEMORY_KIB)
//!     14    4 Argon2 iterations            (bounded: MIN_ITERATIONS..=MAX_ITERATIONS)
//!     18    4 Argon2 parallelism (lanes)   (bounded: 1..=MAX_PARALLELISM)
//!     22   16 salt (random)
//!     38   12 AES-GCM nonce (random)
//!     50    n AES-256-GCM ciphertext || 16-byte tag
//! ```
//!
//! The key is `Argon2id(passphrase (UTF-8 bytes), salt, params) -> 32 bytes`; the cipher is
//! AES-256-GCM with the 50 header bytes as associated data, so no header byte can change
//! without detection. The plaintext is the 32-byte Ed25519 seed of the identity followed by
//! the mnemonic entropy (0 bytes when no mnemonic is stored, else 16, 20, 24, 28 or 32).
//!
//! Parameters read from a file are checked against the bounds above before any work is
//! done, so a file cannot ask for more than [`MAX_MEMORY_KIB`] of memory or
//! [`MAX_ITERATIONS`] passes. Every malformed input is a typed [`KeyFileError`]; nothing
//! here panics on file contents.

use aes_gcm::aead::{Aead as _, Payload};
use aes_gcm::{Aes256Gcm, KeyInit as _};
use rand_core::CryptoRng;
use zeroize::Zeroizing;

use crate::keys::{IdentityKeyPair, SECRET_KEY_LENGTH};
use crate::mnemonic::Mnemonic;

/// The first 8 bytes of every key file.
pub const MAGIC: [u8; 8] = *b"SRSIDKEY";
/// The format version this code writes and reads.
pub const FORMAT_VERSION: u8 = 1;
/// KDF identifier of Argon2id (version 0x13).
pub const KDF_ARGON2ID: u8 = 1;
/// Length of the header (everything before the ciphertext).
pub const HEADER_LENGTH: usize = 50;
/// Length of the salt.
pub const SALT_LENGTH: usize = 16;
/// Length of the AES-GCM nonce.
pub const NONCE_LENGTH: usize = 12;
/// Length of the AES-GCM tag.
pub const TAG_LENGTH: usize = 16;
/// Longest plaintext: the identity seed and 32 bytes of mnemonic entropy.
pub const MAX_PLAINTEXT_LENGTH: usize = SECRET_KEY_LENGTH + 32;
/// Longest key file this code accepts.
pub const MAX_KEY_FILE_BYTES: usize = HEADER_LENGTH + MAX_PLAINTEXT_LENGTH + TAG_LENGTH;

/// Least Argon2 memory accepted from a file or caller, KiB.
pub const MIN_MEMORY_KIB: u32 = 8;
/// Most Argon2 memory accepted from a file or caller, KiB (1 GiB).
pub const MAX_MEMORY_KIB: u32 = 1024 * 1024;
/// Least Argon2 iterations.
pub const MIN_ITERATIONS: u32 = 1;
/// Most Argon2 iterations accepted from a file or caller.
pub const MAX_ITERATIONS: u32 = 64;
/// Most Argon2 lanes accepted from a file or caller.
pub const MAX_PARALLELISM: u32 = 16;

/// Which Argon2 parameter is out of bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KdfParam {
    /// Memory cost in KiB.
    Memory,
    /// Number of passes.
    Iterations,
    /// Number of lanes.
    Parallelism,
}

/// Why a key file could not be read or written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFileError {
    /// The input is shorter than a header and a tag.
    #[error("key file truncated: {0} bytes")]
    Truncated(usize),
    /// The input is longer than [`MAX_KEY_FILE_BYTES`].
    #[error("key file too long: {0} bytes")]
    TooLong(usize),
    /// The input does not start with [`MAGIC`].
    #[error("not a key file (bad magic)")]
    BadMagic,
    /// A format version this code does not know.
    #[error("unsupported key file version {0}")]
    UnsupportedVersion(u8),
    /// A KDF this code does not know.
    #[error("unsupported key file KDF {0}")]
    UnsupportedKdf(u8),
    /// A KDF parameter is outside the accepted bounds.
    #[error("KDF parameter {param:?} = {value} outside {min}..={max}")]
    KdfParamOutOfRange {
        /// Which parameter.
        param: KdfParam,
        /// Its value.
        value: u32,
        /// Least accepted value.
        min: u32,
        /// Most accepted value.
        max: u32,
    },
    /// The memory cost is below what Argon2 needs for that many lanes (8 KiB per lane).
    #[error("Argon2 memory {memory_kib} KiB too small for {parallelism} lanes")]
    MemoryBelowLanes {
        /// Memory cost, KiB.
        memory_kib: u32,
        /// Lanes.
        parallelism: u32,
    },
    /// Authentication failed: the passphrase is wrong, or the file was altered.
    #[error("wrong passphrase (or the key file was altered)")]
    WrongPassphrase,
    /// The decrypted content has an impossible length or an invalid mnemonic.
    #[error("key file content is malformed")]
    MalformedContent,
    /// Argon2 refused to run (not expected once parameters are in bounds).
    #[error("key derivation failed")]
    Kdf,
}

/// Argon2id parameters, checked against this module's bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KdfParams {
    memory_kib: u32,
    iterations: u32,
    parallelism: u32,
}

impl Default for KdfParams {
    /// 64 MiB, 3 passes, 1 lane (RFC 9106's second recommended option with one lane).
    fn default() -> Self {
        KdfParams::RECOMMENDED
    }
}

impl KdfParams {
    /// 64 MiB, 3 passes, 1 lane: the default.
    pub const RECOMMENDED: KdfParams = KdfParams {
        memory_kib: 64 * 1024,
        iterations: 3,
        parallelism: 1,
    };

    /// Checks and builds parameters.
    pub fn new(memory_kib: u32, iterations: u32, parallelism: u32) -> Result<Self, KeyFileError> {
        check(KdfParam::Memory, memory_kib, MIN_MEMORY_KIB, MAX_MEMORY_KIB)?;
        check(
            KdfParam::Iterations,
            iterations,
            MIN_ITERATIONS,
            MAX_ITERATIONS,
        )?;
        check(KdfParam::Parallelism, parallelism, 1, MAX_PARALLELISM)?;
        if u64::from(memory_kib) < 8 * u64::from(parallelism) {
            return Err(KeyFileError::MemoryBelowLanes {
                memory_kib,
                parallelism,
            });
        }
        Ok(KdfParams {
            memory_kib,
            iterations,
            parallelism,
        })
    }

    /// Memory cost, KiB.
    pub fn memory_kib(&self) -> u32 {
        self.memory_kib
    }

    /// Number of passes.
    pub fn iterations(&self) -> u32 {
        self.iterations
    }

    /// Number of lanes.
    pub fn parallelism(&self) -> u32 {
        self.parallelism
    }

    fn derive_key(
        &self,
        passphrase: &str,
        salt: &[u8; SALT_LENGTH],
    ) -> Result<Zeroizing<[u8; 32]>, KeyFileError> {
        let params =
            argon2::Params::new(self.memory_kib, self.iterations, self.parallelism, Some(32))
                .map_err(|_| KeyFileError::Kdf)?;
        let argon =
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let mut key = Zeroizing::new([0u8; 32]);
        argon
            .hash_password_into(passphrase.as_bytes(), salt, &mut key[..])
            .map_err(|_| KeyFileError::Kdf)?;
        Ok(key)
    }
}

fn check(param: KdfParam, value: u32, min: u32, max: u32) -> Result<(), KeyFileError> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(KeyFileError::KdfParamOutOfRange {
            param,
            value,
            min,
            max,
        })
    }
}

/// The clear header of a key file, parsed and checked without deriving any key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyFileHeader {
    /// The KDF parameters the file asks for (within bounds).
    pub params: KdfParams,
    /// The salt.
    pub salt: [u8; SALT_LENGTH],
    /// The AES-GCM nonce.
    pub nonce: [u8; NONCE_LENGTH],
}

impl KeyFileHeader {
    fn to_bytes(self) -> [u8; HEADER_LENGTH] {
        let mut out = [0u8; HEADER_LENGTH];
        out[..8].copy_from_slice(&MAGIC);
        out[8] = FORMAT_VERSION;
        out[9] = KDF_ARGON2ID;
        out[10..14].copy_from_slice(&self.params.memory_kib.to_be_bytes());
        out[14..18].copy_from_slice(&self.params.iterations.to_be_bytes());
        out[18..22].copy_from_slice(&self.params.parallelism.to_be_bytes());
        out[22..38].copy_from_slice(&self.salt);
        out[38..50].copy_from_slice(&self.nonce);
        out
    }
}

/// What a key file holds once decrypted.
pub struct KeyFileContents {
    /// The identity.
    pub identity: IdentityKeyPair,
    /// The mnemonic, when it was stored.
    pub mnemonic: Option<Mnemonic>,
}

impl core::fmt::Debug for KeyFileContents {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("KeyFileContents")
            .field("identity", &self.identity)
            .field("mnemonic", &self.mnemonic.is_some())
            .finish()
    }
}

/// Encrypts `identity` (and `mnemonic`, if given) under `passphrase`.
///
/// The caller should pass the mnemonic the identity was derived from (or none); it is not
/// checked here.
pub fn encrypt<R: CryptoRng + ?Sized>(
    rng: &mut R,
    identity: &IdentityKeyPair,
    mnemonic: Option<&Mnemonic>,
    passphrase: &str,
    params: KdfParams,
) -> Result<Vec<u8>, KeyFileError> {
    let mut salt = [0u8; SALT_LENGTH];
    let mut nonce = [0u8; NONCE_LENGTH];
    rng.fill_bytes(&mut salt);
    rng.fill_bytes(&mut nonce);
    let mut plaintext = Zeroizing::new(Vec::with_capacity(MAX_PLAINTEXT_LENGTH));
    plaintext.extend_from_slice(&identity.to_secret_bytes()[..]);
    if let Some(mnemonic) = mnemonic {
        plaintext.extend_from_slice(&mnemonic.to_entropy());
    }
    seal(params, salt, nonce, &plaintext, passphrase)
}

fn seal(
    params: KdfParams,
    salt: [u8; SALT_LENGTH],
    nonce: [u8; NONCE_LENGTH],
    plaintext: &[u8],
    passphrase: &str,
) -> Result<Vec<u8>, KeyFileError> {
    let header = KeyFileHeader {
        params,
        salt,
        nonce,
    }
    .to_bytes();
    let key = params.derive_key(passphrase, &salt)?;
    let cipher = Aes256Gcm::new_from_slice(&key[..]).map_err(|_| KeyFileError::Kdf)?;
    let ciphertext = cipher
        .encrypt(
            &nonce.into(),
            Payload {
                msg: plaintext,
                aad: &header,
            },
        )
        .map_err(|_| KeyFileError::Kdf)?;
    let mut out = Vec::with_capacity(HEADER_LENGTH + ciphertext.len());
    out.extend_from_slice(&header);
    out.extend_from_slice(&ciphertext);
    Ok(out)
}

/// Parses and checks the header of a key file (magic, version, KDF, bounded parameters,
/// total length) without deriving a key.
pub fn inspect(file: &[u8]) -> Result<KeyFileHeader, KeyFileError> {
    if file.len() > MAX_KEY_FILE_BYTES {
        return Err(KeyFileError::TooLong(file.len()));
    }
    let (header, ciphertext) = file
        .split_first_chunk::<HEADER_LENGTH>()
        .ok_or(KeyFileError::Truncated(file.len()))?;
    if header[..8] != MAGIC {
        return Err(KeyFileError::BadMagic);
    }
    if header[8] != FORMAT_VERSION {
        return Err(KeyFileError::UnsupportedVersion(header[8]));
    }
    if header[9] != KDF_ARGON2ID {
        return Err(KeyFileError::UnsupportedKdf(header[9]));
    }
    let word = |at: usize| {
        let mut b = [0u8; 4];
        b.copy_from_slice(&header[at..at + 4]);
        u32::from_be_bytes(b)
    };
    let params = KdfParams::new(word(10), word(14), word(18))?;
    if ciphertext.len() < TAG_LENGTH {
        return Err(KeyFileError::Truncated(file.len()));
    }
    let mut salt = [0u8; SALT_LENGTH];
    salt.copy_from_slice(&header[22..38]);
    let mut nonce = [0u8; NONCE_LENGTH];
    nonce.copy_from_slice(&header[38..50]);
    Ok(KeyFileHeader {
        params,
        salt,
        nonce,
    })
}

/// Decrypts a key file with `passphrase`.
pub fn decrypt(file: &[u8], passphrase: &str) -> Result<KeyFileContents, KeyFileError> {
    let header = inspect(file)?;
    let (header_bytes, ciphertext) = file
        .split_at_checked(HEADER_LENGTH)
        .ok_or(KeyFileError::Truncated(file.len()))?;
    let key = header.params.derive_key(passphrase, &header.salt)?;
    let cipher = Aes256Gcm::new_from_slice(&key[..]).map_err(|_| KeyFileError::Kdf)?;
    let plaintext = Zeroizing::new(
        cipher
            .decrypt(
                &header.nonce.into(),
                Payload {
                    msg: ciphertext,
                    aad: header_bytes,
                },
            )
            .map_err(|_| KeyFileError::WrongPassphrase)?,
    );
    let (secret, entropy) = plaintext
        .split_first_chunk::<SECRET_KEY_LENGTH>()
        .ok_or(KeyFileError::MalformedContent)?;
    let mnemonic = if entropy.is_empty() {
        None
    } else {
        Some(Mnemonic::from_entropy(entropy).map_err(|_| KeyFileError::MalformedContent)?)
    };
    Ok(KeyFileContents {
        identity: IdentityKeyPair::from_secret_bytes(secret),
        mnemonic,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Account;
    use crate::mnemonic::WordCount;
    use rand::SeedableRng;
    use rand::rngs::ChaCha20Rng;

    fn fast() -> KdfParams {
        KdfParams::new(64, 1, 1).unwrap()
    }

    #[test]
    fn round_trip_with_and_without_mnemonic() {
        let mut rng = ChaCha20Rng::seed_from_u64(4);
        let account = Account::create(&mut rng, WordCount::TwentyFour);
        let file = encrypt(
            &mut rng,
            account.identity(),
            Some(account.mnemonic()),
            "correct horse",
            fast(),
        )
        .unwrap();
        assert_eq!(file.len(), MAX_KEY_FILE_BYTES);
        let back = decrypt(&file, "correct horse").unwrap();
        assert_eq!(&back.identity, account.identity());
        assert_eq!(back.mnemonic.as_ref(), Some(account.mnemonic()));

        let file = encrypt(&mut rng, account.identity(), None, "", fast()).unwrap();
        let back = decrypt(&file, "").unwrap();
        assert_eq!(&back.identity, account.identity());
        assert!(back.mnemonic.is_none());
        assert!(!format!("{back:?}").contains(&hex::encode(*account.identity().to_secret_bytes())));
    }

    #[test]
    fn wrong_passphrase_and_tampering() {
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        let id = IdentityKeyPair::generate(&mut rng);
        let file = encrypt(&mut rng, &id, None, "pw", fast()).unwrap();
        assert_eq!(
            decrypt(&file, "pW").err(),
            Some(KeyFileError::WrongPassphrase)
        );
        // Any flipped byte after the magic/version/KDF/params is caught by the AEAD.
        for i in 22..file.len() {
            let mut bad = file.clone();
            bad[i] ^= 0x01;
            assert_eq!(
                decrypt(&bad, "pw").err(),
                Some(KeyFileError::WrongPassphrase),
                "{i}"
            );
        }
        // Parameter bytes: changing them changes the key (or hits a bound).
        let mut bad = file.clone();
        bad[13] ^= 0x01; // 64 -> 65 KiB
        assert_eq!(
            decrypt(&bad, "pw").err(),
            Some(KeyFileError::WrongPassphrase)
        );
    }

    #[test]
    fn header_errors() {
        let mut rng = ChaCha20Rng::seed_from_u64(6);
        let id = IdentityKeyPair::generate(&mut rng);
        let file = encrypt(&mut rng, &id, None, "pw", fast()).unwrap();
        for len in 0..HEADER_LENGTH + TAG_LENGTH {
            assert_eq!(
                inspect(&file[..len]).err(),
                Some(KeyFileError::Truncated(len))
            );
        }
        let mut bad = file.clone();
        bad[0] = b'X';
        assert_eq!(inspect(&bad).err(), Some(KeyFileError::BadMagic));
        let mut bad = file.clone();
        bad[8] = 2;
        assert_eq!(
            inspect(&bad).err(),
            Some(KeyFileError::UnsupportedVersion(2))
        );
        let mut bad = file.clone();
        bad[9] = 0;
        assert_eq!(inspect(&bad).err(), Some(KeyFileError::UnsupportedKdf(0)));
        // A file asking for 100 GiB of memory is refused before any work.
        let mut bad = file.clone();
        bad[10..14].copy_from_slice(&(100u32 * 1024 * 1024).to_be_bytes());
        assert!(matches!(
            decrypt(&bad, "pw").err(),
            Some(KeyFileError::KdfParamOutOfRange {
                param: KdfParam::Memory,
                ..
            })
        ));
        let mut bad = file.clone();
        bad[14..18].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(
            inspect(&bad).err(),
            Some(KeyFileError::KdfParamOutOfRange {
                param: KdfParam::Iterations,
                ..
            })
        ));
        let mut bad = file.clone();
        bad[18..22].copy_from_slice(&0u32.to_be_bytes());
        assert!(matches!(
            inspect(&bad).err(),
            Some(KeyFileError::KdfParamOutOfRange {
                param: KdfParam::Parallelism,
                ..
            })
        ));
        let mut bad = file.clone();
        bad[10..14].copy_from_slice(&8u32.to_be_bytes());
        bad[18..22].copy_from_slice(&2u32.to_be_bytes());
        assert_eq!(
            inspect(&bad).err(),
            Some(KeyFileError::MemoryBelowLanes {
                memory_kib: 8,
                parallelism: 2
            })
        );
        let mut long = file.clone();
        long.resize(MAX_KEY_FILE_BYTES + 1, 0);
        assert_eq!(
            inspect(&long).err(),
            Some(KeyFileError::TooLong(MAX_KEY_FILE_BYTES + 1))
        );
    }

    #[test]
    fn malformed_content_is_typed() {
        for len in [0usize, 31, 33, 47, 63] {
            let file = seal(
                fast(),
                [1; SALT_LENGTH],
                [2; NONCE_LENGTH],
                &vec![7u8; len],
                "pw",
            );
            let file = file.unwrap();
            assert_eq!(
                decrypt(&file, "pw").err(),
                Some(KeyFileError::MalformedContent),
                "{len}"
            );
        }
    }

    #[test]
    fn default_params_are_serious() {
        let p = KdfParams::default();
        assert!(p.memory_kib() >= 64 * 1024);
        assert!(p.iterations() >= 3);
        assert_eq!(
            KdfParams::new(p.memory_kib(), p.iterations(), p.parallelism()),
            Ok(p)
        );
    }
}
