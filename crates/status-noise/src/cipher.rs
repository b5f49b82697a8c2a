//! `CipherState` and `SymmetricState` of the Noise framework (§5.1, §5.2), with the
//! cipher suite every supported pattern uses: X25519, ChaChaPoly (IETF), SHA-256.

use chacha20poly1305::aead::{AeadInOut, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Nonce, Tag};
use hkdf::Hkdf;
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Length of a ChaChaPoly authentication tag.
pub(crate) const TAG_BYTES: usize = 16;
/// Length of a hash output (SHA-256), a chaining key and a cipher key.
pub(crate) const HASH_BYTES: usize = 32;

/// The last nonce a Waku-mode cipher state uses. `@waku/noise` keeps the nonce in 32
/// bits and fails once it passes `2^32 - 1`, after computing that message; a message
/// with nonce `2^32 - 1` therefore never reaches a peer, so the last usable one is
/// `2^32 - 2`.
pub const WAKU_MAX_NONCE: u64 = u32::MAX as u64 - 1;
/// The last nonce a plain-Noise cipher state uses (`2^64 - 1` is reserved by Noise §5.1).
pub const NOISE_MAX_NONCE: u64 = u64::MAX - 1;

/// Failures of a [`CipherState`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CipherError {
    /// The nonce counter reached its limit; a new handshake is needed.
    #[error("nonce counter exhausted")]
    NonceExhausted,
    /// Authentication failed (wrong key, nonce, associated data or tampered bytes).
    #[error("decryption failed")]
    Decrypt,
    /// A ciphertext shorter than the 16-byte tag.
    #[error("ciphertext shorter than the tag")]
    TooShort,
}

/// A 32-byte symmetric key. Zeroized on drop; no `Debug`.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub(crate) struct SymmetricKey(pub(crate) [u8; 32]);

/// A Noise `CipherState`: an optional key and a nonce counter that refuses to wrap.
///
/// Without a key, encryption and decryption are the identity and the nonce does not move.
/// A failed decryption changes nothing.
#[derive(Clone)]
pub struct CipherState {
    key: Option<SymmetricKey>,
    n: u64,
    max_nonce: u64,
}

impl CipherState {
    /// A cipher state without a key, whose nonce may go up to `max_nonce`.
    pub(crate) fn empty(max_nonce: u64) -> Self {
        Self {
            key: None,
            n: 0,
            max_nonce,
        }
    }

    /// A cipher state with a key and nonce 0.
    pub(crate) fn with_key(key: [u8; 32], max_nonce: u64) -> Self {
        Self {
            key: Some(SymmetricKey(key)),
            n: 0,
            max_nonce,
        }
    }

    /// Restores a cipher state from its key and nonce.
    pub(crate) fn restore(key: [u8; 32], n: u64, max_nonce: u64) -> Self {
        Self {
            key: Some(SymmetricKey(key)),
            n,
            max_nonce,
        }
    }

    /// `InitializeKey(k)`: sets the key and resets the nonce.
    pub(crate) fn set_key(&mut self, key: [u8; 32]) {
        self.key = Some(SymmetricKey(key));
        self.n = 0;
    }

    /// Whether a key is set.
    pub fn has_key(&self) -> bool {
        self.key.is_some()
    }

    /// The next nonce this state will use.
    pub fn nonce(&self) -> u64 {
        self.n
    }

    /// The key, if any (test and serialization use; the caller must zeroize copies).
    pub(crate) fn key_bytes(&self) -> Option<&[u8; 32]> {
        self.key.as_ref().map(|k| &k.0)
    }

    /// Skips `count` nonces (after the peer's messages were lost). Fails without change
    /// if that would pass the limit.
    pub(crate) fn skip(&mut self, count: u64) -> Result<(), CipherError> {
        let n = self
            .n
            .checked_add(count)
            .filter(|n| *n <= self.max_nonce.saturating_add(1))
            .ok_or(CipherError::NonceExhausted)?;
        self.n = n;
        Ok(())
    }

    fn nonce_bytes(n: u64) -> Nonce {
        let mut nonce = Nonce::default();
        nonce[4..].copy_from_slice(&n.to_le_bytes());
        nonce
    }

    /// `EncryptWithAd`: encrypts `buf` in place and appends the tag (identity without a key).
    pub fn encrypt_in_place(&mut self, ad: &[u8], buf: &mut Vec<u8>) -> Result<(), CipherError> {
        let Some(key) = &self.key else {
            return Ok(());
        };
        if self.n > self.max_nonce {
            return Err(CipherError::NonceExhausted);
        }
        let cipher = ChaCha20Poly1305::new(&key.0.into());
        let tag = cipher
            .encrypt_inout_detached(&Self::nonce_bytes(self.n), ad, buf.as_mut_slice().into())
            .map_err(|_| CipherError::NonceExhausted)?;
        buf.extend_from_slice(&tag);
        self.n += 1;
        Ok(())
    }

    /// `EncryptWithAd`, returning a new buffer.
    pub fn encrypt_with_ad(&mut self, ad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CipherError> {
        let mut buf = Vec::with_capacity(plaintext.len() + TAG_BYTES);
        buf.extend_from_slice(plaintext);
        self.encrypt_in_place(ad, &mut buf)?;
        Ok(buf)
    }

    /// `DecryptWithAd`: checks and strips the tag and decrypts in place (identity without a
    /// key). On failure neither the nonce nor the key changes (the buffer content is
    /// unspecified).
    pub fn decrypt_in_place(&mut self, ad: &[u8], buf: &mut Vec<u8>) -> Result<(), CipherError> {
        let Some(key) = &self.key else {
            return Ok(());
        };
        if self.n > self.max_nonce {
            return Err(CipherError::NonceExhausted);
        }
        let body_len = buf
            .len()
            .checked_sub(TAG_BYTES)
            .ok_or(CipherError::TooShort)?;
        let (body, tag) = buf.split_at_mut(body_len);
        let tag = Tag::try_from(&*tag).map_err(|_| CipherError::TooShort)?;
        let cipher = ChaCha20Poly1305::new(&key.0.into());
        cipher
            .decrypt_inout_detached(&Self::nonce_bytes(self.n), ad, body.into(), &tag)
            .map_err(|_| CipherError::Decrypt)?;
        buf.truncate(body_len);
        self.n += 1;
        Ok(())
    }

    /// `DecryptWithAd`, returning a new buffer.
    pub fn decrypt_with_ad(
        &mut self,
        ad: &[u8],
        ciphertext: &[u8],
    ) -> Result<Vec<u8>, CipherError> {
        let mut buf = ciphertext.to_vec();
        self.decrypt_in_place(ad, &mut buf)?;
        Ok(buf)
    }
}

/// SHA-256 of the concatenation of `parts`.
pub(crate) fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for p in parts {
        hasher.update(p);
    }
    hasher.finalize().into()
}

/// Noise's `HKDF(ck, ikm, N)`: RFC 5869 with salt = `ck` and empty info; returns
/// `N` outputs of 32 bytes.
pub(crate) fn noise_hkdf<const N: usize>(ck: &[u8], ikm: &[u8]) -> [[u8; 32]; N] {
    let hk = Hkdf::<Sha256>::new(Some(ck), ikm);
    let mut okm = [0u8; 96];
    let len = 32 * N.min(3);
    // 96 bytes is far below HKDF-SHA256's limit of 255 * 32, so this cannot fail.
    let _ = hk.expand(&[], &mut okm[..len]);
    let mut out = [[0u8; 32]; N];
    for (i, o) in out.iter_mut().enumerate().take(3) {
        o.copy_from_slice(&okm[32 * i..32 * i + 32]);
    }
    okm.zeroize();
    out
}

/// A Noise `SymmetricState`: chaining key `ck`, handshake hash `h` and a cipher state.
#[derive(Clone)]
pub(crate) struct SymmetricState {
    pub(crate) ck: [u8; 32],
    pub(crate) h: [u8; 32],
    pub(crate) cs: CipherState,
}

impl Drop for SymmetricState {
    fn drop(&mut self) {
        self.ck.zeroize();
    }
}

impl SymmetricState {
    /// `InitializeSymmetric(protocol_name)`.
    pub(crate) fn new(protocol_name: &str, max_nonce: u64) -> Self {
        let name = protocol_name.as_bytes();
        let h = if name.len() <= HASH_BYTES {
            let mut h = [0u8; 32];
            h[..name.len()].copy_from_slice(name);
            h
        } else {
            sha256(&[name])
        };
        Self {
            ck: h,
            h,
            cs: CipherState::empty(max_nonce),
        }
    }

    /// `MixHash(data)`.
    pub(crate) fn mix_hash(&mut self, data: &[u8]) {
        self.h = sha256(&[&self.h, data]);
    }

    /// `MixKey(ikm)`.
    pub(crate) fn mix_key(&mut self, ikm: &[u8]) {
        let [ck, k] = noise_hkdf::<2>(&self.ck, ikm);
        self.ck = ck;
        self.cs.set_key(k);
    }

    /// `MixKeyAndHash(ikm)`.
    pub(crate) fn mix_key_and_hash(&mut self, ikm: &[u8]) {
        let [ck, t, k] = noise_hkdf::<3>(&self.ck, ikm);
        self.ck = ck;
        self.mix_hash(&t);
        self.cs.set_key(k);
    }

    /// `EncryptAndHash(pt)` with associated data `h || extra_ad`, in place.
    pub(crate) fn encrypt_and_hash(
        &mut self,
        buf: &mut Vec<u8>,
        extra_ad: &[u8],
    ) -> Result<(), CipherError> {
        if self.cs.has_key() {
            let mut ad = [0u8; 32 + 16];
            let ad = build_ad(&mut ad, &self.h, extra_ad);
            self.cs.encrypt_in_place(ad.as_ref(), buf)?;
        }
        self.mix_hash(buf);
        Ok(())
    }

    /// `DecryptAndHash(ct)` with associated data `h || extra_ad`, in place. Works on a
    /// state the caller discards on failure.
    pub(crate) fn decrypt_and_hash(
        &mut self,
        buf: &mut Vec<u8>,
        extra_ad: &[u8],
    ) -> Result<(), CipherError> {
        let h_before = self.h;
        self.mix_hash(buf);
        if self.cs.has_key() {
            let mut ad = [0u8; 32 + 16];
            let ad = build_ad(&mut ad, &h_before, extra_ad);
            self.cs.decrypt_in_place(ad.as_ref(), buf)?;
        }
        Ok(())
    }

    /// `Split()`: the initiator's sending key first.
    pub(crate) fn split(&self) -> ([u8; 32], [u8; 32]) {
        let [k1, k2] = noise_hkdf::<2>(&self.ck, &[]);
        (k1, k2)
    }
}

enum Ad<'a> {
    Stack(&'a [u8]),
    Heap(Vec<u8>),
}

impl AsRef<[u8]> for Ad<'_> {
    fn as_ref(&self) -> &[u8] {
        match self {
            Ad::Stack(s) => s,
            Ad::Heap(v) => v,
        }
    }
}

fn build_ad<'a>(scratch: &'a mut [u8; 48], h: &[u8; 32], extra: &[u8]) -> Ad<'a> {
    if extra.len() <= 16 {
        scratch[..32].copy_from_slice(h);
        scratch[32..32 + extra.len()].copy_from_slice(extra);
        Ad::Stack(&scratch[..32 + extra.len()])
    } else {
        let mut v = h.to_vec();
        v.extend_from_slice(extra);
        Ad::Heap(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonce_refuses_to_wrap() {
        let mut cs = CipherState::restore([7; 32], WAKU_MAX_NONCE, WAKU_MAX_NONCE);
        assert!(cs.encrypt_with_ad(b"", b"x").is_ok());
        assert_eq!(
            cs.encrypt_with_ad(b"", b"x"),
            Err(CipherError::NonceExhausted)
        );
        assert_eq!(cs.nonce(), WAKU_MAX_NONCE + 1);
        let mut cs = CipherState::restore([7; 32], u64::MAX, NOISE_MAX_NONCE);
        assert_eq!(
            cs.encrypt_with_ad(b"", b"x"),
            Err(CipherError::NonceExhausted)
        );
        assert_eq!(cs.skip(1), Err(CipherError::NonceExhausted));
    }

    #[test]
    fn failed_decrypt_keeps_state() {
        let mut a = CipherState::with_key([1; 32], WAKU_MAX_NONCE);
        let mut b = CipherState::with_key([1; 32], WAKU_MAX_NONCE);
        let mut ct = a.encrypt_with_ad(b"ad", b"hello").unwrap();
        ct[0] ^= 1;
        assert_eq!(b.decrypt_with_ad(b"ad", &ct), Err(CipherError::Decrypt));
        assert_eq!(b.nonce(), 0);
        ct[0] ^= 1;
        assert_eq!(b.decrypt_with_ad(b"ad", &ct).unwrap(), b"hello");
        assert_eq!(
            b.decrypt_with_ad(b"ad", &ct[..3]),
            Err(CipherError::TooShort)
        );
    }

    #[test]
    fn protocol_name_init() {
        let s = SymmetricState::new("Noise_XX_25519_ChaChaPoly_SHA256", 0);
        assert_eq!(&s.h, b"Noise_XX_25519_ChaChaPoly_SHA256");
        let s = SymmetricState::new("Noise_K1K1_25519_ChaChaPoly_SHA256", 0);
        assert_eq!(s.h, sha256(&[b"Noise_K1K1_25519_ChaChaPoly_SHA256"]));
    }
}
