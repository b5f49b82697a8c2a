//! Waku payloads around an encoded `ProtocolMessage`.
//!
//! **Framing** (26/WAKU2-PAYLOAD version 1, kept in part): `flags(1) || length(L, little
//! endian) || data || padding`, where the low two bits of `flags` give `L` (1, 2 or 3
//! bytes, the smallest that holds the length), and padding brings the framed size to a
//! multiple of [`PADDING_BLOCK_BYTES`] (1 to 256 bytes of padding; we write zeros, any
//! content is accepted). The signature flag (bit 2) and the 65-byte secp256k1 signature of
//! 26 are **not** used: sender authenticity comes from the double ratchet and the
//! application-layer Ed25519 signature. A framed payload with any other flag bit set is
//! rejected.
//!
//! The framed bytes are then encrypted in one of two ways:
//!
//! - **Sealed to an identity** (partitioned topic, DESIGN.md rule 10, a deviation from 26's
//!   secp256k1 ECIES): ephemeral X25519 `e`; `key(32) || nonce(12) = HKDF-SHA256(salt = 32
//!   zero bytes, ikm = DH(e, IK_B), info = "WAKU2-X3DH/1/seal" || e_pub || IK_B_x25519_pub,
//!   44)`; payload = `e_pub(32) || AES-256-GCM(framed) || tag(16)`, no associated data.
//! - **Symmetric** (negotiated topic, 26 version 1): AES-256-GCM with a random 12-byte
//!   nonce, no associated data; payload = `ciphertext || tag(16) || nonce(12)` (26's
//!   order).
//!
//! On the contact-code topic the framed bytes are sent without encryption (the bundle
//! there is public and signed).

use core::fmt;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use hkdf::Hkdf;
use rand_core::CryptoRng;
use sha2::Sha256;
use status_identity::{IdentityKeyPair, IdentityPublicKey};
use subtle::ConstantTimeEq;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Largest Waku payload this crate produces or accepts (DESIGN.md: 150 KiB).
pub const MAX_PAYLOAD_BYTES: usize = 150 * 1024;
/// Framed payloads are padded to a multiple of this many bytes (26).
pub const PADDING_BLOCK_BYTES: usize = 256;
/// HKDF info prefix of sealing (DESIGN.md rule 10).
pub const SEAL_INFO: &[u8] = b"WAKU2-X3DH/1/seal";
/// Length of an AES-GCM tag.
pub const TAG_BYTES: usize = 16;
/// Length of an AES-GCM nonce.
pub const NONCE_BYTES: usize = 12;
/// Length of an X25519 public key.
pub const EPHEMERAL_BYTES: usize = 32;

const FLAG_LENGTH_MASK: u8 = 0b0000_0011;

/// Why a payload could not be built or opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PayloadError {
    /// The payload would exceed, or exceeds, [`MAX_PAYLOAD_BYTES`]; carries its size.
    #[error("payload of {0} bytes exceeds the maximum of {MAX_PAYLOAD_BYTES}")]
    TooLarge(usize),
    /// The payload is shorter than its fixed parts; carries its size.
    #[error("payload of {0} bytes is too short")]
    TooShort(usize),
    /// Authentication failed: wrong key, not for us, or tampered.
    #[error("payload does not authenticate")]
    Decryption,
    /// The ephemeral key is of small order (all-zero Diffie-Hellman output).
    #[error("ephemeral key is non-contributory")]
    NonContributory,
    /// The flags byte is not one this crate accepts; carries it.
    #[error("unsupported framing flags {0:#04x}")]
    Flags(u8),
    /// The length field points past the end of the framed bytes.
    #[error("framed length {length} exceeds the {available} bytes present")]
    Length {
        /// The length the field claims.
        length: usize,
        /// The bytes left after the length field.
        available: usize,
    },
}

/// A 32-byte AES-256-GCM key for the symmetric payload. Zeroized on drop; `Debug` hides it;
/// equality is constant time.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SymmetricKey([u8; 32]);

impl SymmetricKey {
    /// Wraps 32 key bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        SymmetricKey(bytes)
    }

    /// The key bytes. Keep them secret.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Frames `data` and encrypts it with a fresh random nonce:
    /// `ciphertext || tag || nonce`.
    pub fn encrypt<R: CryptoRng + ?Sized>(
        &self,
        rng: &mut R,
        data: &[u8],
    ) -> Result<Vec<u8>, PayloadError> {
        let mut nonce = [0u8; NONCE_BYTES];
        rng.fill_bytes(&mut nonce);
        self.encrypt_with_nonce(&nonce, data)
    }

    /// [`SymmetricKey::encrypt`] with a caller-chosen nonce. Test hook for known-answer
    /// vectors only: a reused nonce breaks AES-GCM.
    #[doc(hidden)]
    pub fn encrypt_with_nonce(
        &self,
        nonce: &[u8; NONCE_BYTES],
        data: &[u8],
    ) -> Result<Vec<u8>, PayloadError> {
        let framed = frame(data, TAG_BYTES + NONCE_BYTES)?;
        let cipher = Aes256Gcm::new(&Key::<Aes256Gcm>::from(self.0));
        let mut out = cipher
            .encrypt(&Nonce::from(*nonce), framed.as_slice())
            .map_err(|_| PayloadError::TooLarge(framed.len()))?;
        out.extend_from_slice(nonce);
        Ok(out)
    }

    /// Decrypts `ciphertext || tag || nonce` and removes the framing.
    pub fn decrypt(&self, payload: &[u8]) -> Result<Zeroizing<Vec<u8>>, PayloadError> {
        if payload.len() > MAX_PAYLOAD_BYTES {
            return Err(PayloadError::TooLarge(payload.len()));
        }
        let split = payload
            .len()
            .checked_sub(NONCE_BYTES)
            .filter(|&n| n >= TAG_BYTES)
            .ok_or(PayloadError::TooShort(payload.len()))?;
        let (body, nonce) = payload.split_at(split);
        let mut nonce_bytes = [0u8; NONCE_BYTES];
        nonce_bytes.copy_from_slice(nonce);
        let cipher = Aes256Gcm::new(&Key::<Aes256Gcm>::from(self.0));
        let framed = Zeroizing::new(
            cipher
                .decrypt(&Nonce::from(nonce_bytes), body)
                .map_err(|_| PayloadError::Decryption)?,
        );
        unframe(&framed).map(|d| Zeroizing::new(d.to_vec()))
    }
}

impl PartialEq for SymmetricKey {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for SymmetricKey {}

impl fmt::Debug for SymmetricKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SymmetricKey(…)")
    }
}

/// Frames `data` as 26 version 1 without signature. `overhead` is what the encryption
/// adds, so that the final payload is checked against [`MAX_PAYLOAD_BYTES`].
pub fn frame(data: &[u8], overhead: usize) -> Result<Zeroizing<Vec<u8>>, PayloadError> {
    let length_bytes: usize = match data.len() {
        0..=0xff => 1,
        0x100..=0xffff => 2,
        _ => 3,
    };
    let raw = 1 + length_bytes + data.len();
    let padding = PADDING_BLOCK_BYTES - raw % PADDING_BLOCK_BYTES;
    let total = raw + padding;
    if total + overhead > MAX_PAYLOAD_BYTES {
        return Err(PayloadError::TooLarge(total + overhead));
    }
    let mut out = Zeroizing::new(Vec::with_capacity(total));
    // length_bytes is 1..=3 and fits the two flag bits.
    out.push(u8::try_from(length_bytes).unwrap_or(3));
    let length = u32::try_from(data.len()).unwrap_or(u32::MAX).to_le_bytes();
    out.extend_from_slice(&length[..length_bytes]);
    out.extend_from_slice(data);
    out.resize(total, 0);
    Ok(out)
}

/// Removes 26 version 1 framing (unsigned), returning the data. Padding is ignored.
pub fn unframe(framed: &[u8]) -> Result<&[u8], PayloadError> {
    let (&flags, rest) = framed
        .split_first()
        .ok_or(PayloadError::TooShort(framed.len()))?;
    if flags & !FLAG_LENGTH_MASK != 0 || flags == 0 {
        return Err(PayloadError::Flags(flags));
    }
    let length_bytes = usize::from(flags & FLAG_LENGTH_MASK);
    let (length_field, rest) = rest
        .split_at_checked(length_bytes)
        .ok_or(PayloadError::TooShort(framed.len()))?;
    let mut length = [0u8; 4];
    length[..length_bytes].copy_from_slice(length_field);
    let length = usize::try_from(u32::from_le_bytes(length)).unwrap_or(usize::MAX);
    rest.get(..length).ok_or(PayloadError::Length {
        length,
        available: rest.len(),
    })
}

/// The key and nonce of a seal, from `DH(e, IK_B)`, `e_pub` and `IK_B`'s X25519 key.
fn seal_key(
    shared: &[u8; 32],
    ephemeral_public: &[u8; 32],
    recipient_x25519: &[u8; 32],
) -> Zeroizing<[u8; 44]> {
    let hkdf = Hkdf::<Sha256>::new(Some(&[0u8; 32]), shared);
    let mut info = Vec::with_capacity(SEAL_INFO.len() + 64);
    info.extend_from_slice(SEAL_INFO);
    info.extend_from_slice(ephemeral_public);
    info.extend_from_slice(recipient_x25519);
    let mut okm = Zeroizing::new([0u8; 44]);
    // 44 bytes is far below HKDF-SHA256's limit; the error cannot happen.
    if hkdf.expand(&info, &mut okm[..]).is_err() {
        okm.fill(0);
    }
    okm
}

fn aes_from(okm: &[u8; 44]) -> (Aes256Gcm, [u8; NONCE_BYTES]) {
    let mut key = Zeroizing::new([0u8; 32]);
    key.copy_from_slice(&okm[..32]);
    let mut nonce = [0u8; NONCE_BYTES];
    nonce.copy_from_slice(&okm[32..44]);
    (Aes256Gcm::new(&Key::<Aes256Gcm>::from(*key)), nonce)
}

/// Frames `data` and seals it to `recipient` (DESIGN.md rule 10) with a fresh ephemeral key.
pub fn seal<R: CryptoRng + ?Sized>(
    rng: &mut R,
    recipient: &IdentityPublicKey,
    data: &[u8],
) -> Result<Vec<u8>, PayloadError> {
    let ephemeral = StaticSecret::random_from_rng(rng);
    seal_with_ephemeral(&ephemeral, recipient, data)
}

/// [`seal`] with a caller-chosen ephemeral secret. Test hook for known-answer vectors only:
/// a reused ephemeral key reuses the AES-GCM key and nonce.
#[doc(hidden)]
pub fn seal_with_ephemeral(
    ephemeral: &StaticSecret,
    recipient: &IdentityPublicKey,
    data: &[u8],
) -> Result<Vec<u8>, PayloadError> {
    let framed = frame(data, EPHEMERAL_BYTES + TAG_BYTES)?;
    let ephemeral_public = PublicKey::from(ephemeral);
    let recipient_x25519 = recipient.to_x25519();
    let shared = ephemeral.diffie_hellman(&recipient_x25519);
    if !shared.was_contributory() {
        return Err(PayloadError::NonContributory);
    }
    let okm = seal_key(
        shared.as_bytes(),
        ephemeral_public.as_bytes(),
        recipient_x25519.as_bytes(),
    );
    let (cipher, nonce) = aes_from(&okm);
    let sealed = cipher
        .encrypt(
            &Nonce::from(nonce),
            Payload {
                msg: framed.as_slice(),
                aad: &[],
            },
        )
        .map_err(|_| PayloadError::TooLarge(framed.len()))?;
    let mut out = Vec::with_capacity(EPHEMERAL_BYTES + sealed.len());
    out.extend_from_slice(ephemeral_public.as_bytes());
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// Opens a payload sealed to `own` and removes the framing.
pub fn open(own: &IdentityKeyPair, payload: &[u8]) -> Result<Zeroizing<Vec<u8>>, PayloadError> {
    if payload.len() > MAX_PAYLOAD_BYTES {
        return Err(PayloadError::TooLarge(payload.len()));
    }
    if payload.len() < EPHEMERAL_BYTES + TAG_BYTES {
        return Err(PayloadError::TooShort(payload.len()));
    }
    let (e, body) = payload.split_at(EPHEMERAL_BYTES);
    let mut e_bytes = [0u8; EPHEMERAL_BYTES];
    e_bytes.copy_from_slice(e);
    let ephemeral_public = PublicKey::from(e_bytes);
    let shared = own
        .diffie_hellman(&ephemeral_public)
        .map_err(|_| PayloadError::NonContributory)?;
    let okm = seal_key(
        shared.as_bytes(),
        &e_bytes,
        own.public_key().to_x25519().as_bytes(),
    );
    let (cipher, nonce) = aes_from(&okm);
    let framed = Zeroizing::new(
        cipher
            .decrypt(&Nonce::from(nonce), body)
            .map_err(|_| PayloadError::Decryption)?,
    );
    unframe(&framed).map(|d| Zeroizing::new(d.to_vec()))
}

/// Frames `data` for the contact-code topic (no encryption).
pub fn frame_public(data: &[u8]) -> Result<Vec<u8>, PayloadError> {
    frame(data, 0).map(|f| f.to_vec())
}

/// Removes the framing of a contact-code payload.
pub fn unframe_public(payload: &[u8]) -> Result<&[u8], PayloadError> {
    if payload.len() > MAX_PAYLOAD_BYTES {
        return Err(PayloadError::TooLarge(payload.len()));
    }
    unframe(payload)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::ChaCha20Rng;

    #[test]
    fn framing_pads_to_blocks_and_round_trips() {
        for len in [0usize, 1, 253, 254, 255, 256, 300, 65535, 65536, 70000] {
            let data: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let framed = frame(&data, 0).unwrap();
            assert_eq!(framed.len() % PADDING_BLOCK_BYTES, 0, "{len}");
            assert_eq!(unframe(&framed).unwrap(), &data[..]);
        }
        assert_eq!(frame(&[], 0).unwrap()[..2], [1, 0]);
        assert!(matches!(
            frame(&vec![0; MAX_PAYLOAD_BYTES], 0),
            Err(PayloadError::TooLarge(_))
        ));
    }

    #[test]
    fn unframe_rejects_bad_input() {
        assert_eq!(unframe(&[]), Err(PayloadError::TooShort(0)));
        assert_eq!(unframe(&[0]), Err(PayloadError::Flags(0)));
        assert_eq!(unframe(&[4 | 1, 0]), Err(PayloadError::Flags(5)));
        assert_eq!(unframe(&[2, 1]), Err(PayloadError::TooShort(2)));
        assert_eq!(
            unframe(&[1, 5, 1, 2]),
            Err(PayloadError::Length {
                length: 5,
                available: 2
            })
        );
        assert_eq!(unframe(&[1, 2, 7, 8, 0, 0]).unwrap(), &[7, 8]);
    }

    #[test]
    fn seal_and_open() {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let bob = IdentityKeyPair::generate(&mut rng);
        let eve = IdentityKeyPair::generate(&mut rng);
        let sealed = seal(&mut rng, bob.public_key(), b"hello bob").unwrap();
        assert_eq!(sealed.len(), 32 + 256 + 16);
        assert_eq!(&open(&bob, &sealed).unwrap()[..], b"hello bob");
        assert_eq!(open(&eve, &sealed), Err(PayloadError::Decryption));
        for i in [0, 31, 32, 100, sealed.len() - 1] {
            let mut bad = sealed.clone();
            bad[i] ^= 1;
            assert!(open(&bob, &bad).is_err(), "{i}");
        }
        let mut zero = sealed.clone();
        zero[..32].fill(0);
        assert_eq!(open(&bob, &zero), Err(PayloadError::NonContributory));
        assert_eq!(open(&bob, &sealed[..47]), Err(PayloadError::TooShort(47)));
    }

    #[test]
    fn symmetric_round_trip_and_tamper() {
        let mut rng = ChaCha20Rng::seed_from_u64(4);
        let key = SymmetricKey::from_bytes([7; 32]);
        let other = SymmetricKey::from_bytes([8; 32]);
        let ct = key.encrypt(&mut rng, b"negotiated").unwrap();
        assert_eq!(ct.len(), 256 + 16 + 12);
        assert_eq!(&key.decrypt(&ct).unwrap()[..], b"negotiated");
        assert_eq!(other.decrypt(&ct), Err(PayloadError::Decryption));
        for i in [0, 255, 256, 271, 272, ct.len() - 1] {
            let mut bad = ct.clone();
            bad[i] ^= 0x80;
            assert_eq!(key.decrypt(&bad), Err(PayloadError::Decryption), "{i}");
        }
        assert_eq!(key.decrypt(&ct[..27]), Err(PayloadError::TooShort(27)));
        assert_ne!(key, other);
        assert_eq!(format!("{key:?}"), "SymmetricKey(…)");
    }
}
