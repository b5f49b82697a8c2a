//! The key derivation functions of suite 1 (DESIGN.md "Cryptographic suite").
//!
//! HKDF-SHA256 is written out with HMAC so that the hot path (the message key expansion)
//! reuses the precomputed HMAC state of the constant all-zero salt and never allocates.

use std::sync::LazyLock;

use hmac::digest::array::Array;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

type HmacSha256 = Hmac<Sha256>;

/// HKDF info of the X3DH shared secret.
pub(crate) const X3DH_INFO: &[u8] = b"WAKU2-X3DH/1/x3dh";
/// HKDF info of the root-key ratchet.
pub(crate) const ROOT_INFO: &[u8] = b"WAKU2-X3DH/1/root";
/// HKDF info of the message key expansion.
pub(crate) const MESSAGE_INFO: &[u8] = b"WAKU2-X3DH/1/message";

/// HMAC-SHA256 keyed with 32 zero bytes (the HKDF salt of X3DH and of message keys),
/// computed once: its inner and outer pads never change.
static ZERO_SALT: LazyLock<HmacSha256> = LazyLock::new(|| hmac_with_key(&[0u8; 32]));

/// HMAC-SHA256 keyed with a 32-byte key, infallibly (the key is zero-padded to the
/// block size, which is what HMAC does with short keys).
fn hmac_with_key(key: &[u8; 32]) -> HmacSha256 {
    let mut block: Array<u8, _> = Array::default();
    block[..32].copy_from_slice(key);
    let mac = <HmacSha256 as KeyInit>::new(&block);
    block.zeroize();
    mac
}

/// HKDF-SHA256 with a 32-byte salt and an output of at most 64 bytes (two blocks).
fn hkdf<const N: usize>(salt: &HmacSha256, ikm: &[&[u8]], info: &[u8]) -> Zeroizing<[u8; N]> {
    const { assert!(N <= 64) };
    let mut extract = salt.clone();
    for part in ikm {
        extract.update(part);
    }
    let prk = Zeroizing::new(<[u8; 32]>::from(extract.finalize().into_bytes()));
    let expand = hmac_with_key(&prk);
    let mut out = Zeroizing::new([0u8; N]);
    let mut previous = Zeroizing::new([0u8; 32]);
    let mut written = 0;
    let mut counter = 1u8;
    while written < N {
        let mut mac = expand.clone();
        if counter > 1 {
            mac.update(&previous[..]);
        }
        mac.update(info);
        mac.update(&[counter]);
        *previous = mac.finalize().into_bytes().into();
        let take = (N - written).min(32);
        out[written..written + take].copy_from_slice(&previous[..take]);
        written += take;
        counter += 1;
    }
    out
}

macro_rules! secret32 {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Zeroize, ZeroizeOnDrop)]
        pub(crate) struct $name(pub(crate) [u8; 32]);

        impl $name {
            /// The raw bytes (secret).
            pub(crate) fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }
        }
    };
}

secret32!(
    /// The X3DH shared secret `SK`.
    SharedKey
);
secret32!(
    /// A root key of the Double Ratchet.
    RootKey
);
secret32!(
    /// A sending or receiving chain key.
    ChainKey
);
secret32!(
    /// A message key (used once, then deleted).
    MessageKey
);

/// `SK = HKDF(salt = 0^32, ikm = 0xFF^32 || DH1 || DH2 || DH3, info = x3dh, 32)`.
pub(crate) fn x3dh_secret(dh1: &[u8; 32], dh2: &[u8; 32], dh3: &[u8; 32]) -> SharedKey {
    let out = hkdf::<32>(&ZERO_SALT, &[&[0xff; 32], dh1, dh2, dh3], X3DH_INFO);
    SharedKey(*out)
}

/// `KDF_RK(rk, dh) = HKDF(salt = rk, ikm = dh, info = root, 64)` = `rk' || ck`.
pub(crate) fn kdf_rk(root: &[u8; 32], dh: &[u8; 32]) -> (RootKey, ChainKey) {
    let out = hkdf::<64>(&hmac_with_key(root), &[dh], ROOT_INFO);
    let mut rk = [0u8; 32];
    let mut ck = [0u8; 32];
    rk.copy_from_slice(&out[..32]);
    ck.copy_from_slice(&out[32..]);
    (RootKey(rk), ChainKey(ck))
}

/// `KDF_CK(ck)`: `mk = HMAC(ck, 0x01)`, `ck' = HMAC(ck, 0x02)`.
pub(crate) fn kdf_ck(chain: &ChainKey) -> (MessageKey, ChainKey) {
    let keyed = fast::HmacKey::new(&chain.0);
    (MessageKey(keyed.mac(&[0x01])), ChainKey(keyed.mac(&[0x02])))
}

/// AES-256-GCM key and nonce of a message key:
/// `HKDF(salt = 0^32, ikm = mk, info = message, 44)` = `key(32) || nonce(12)`.
pub(crate) struct MessageCipherKey {
    pub(crate) key: Zeroizing<[u8; 32]>,
    pub(crate) nonce: [u8; 12],
}

pub(crate) fn message_cipher_key(mk: &MessageKey) -> MessageCipherKey {
    // HKDF-Extract with the constant all-zero salt, whose HMAC pads are computed once.
    let expand = fast::HmacKey::new(&ZERO_SALT_FAST.mac(&mk.0));
    // T1 = HMAC(prk, info || 0x01), T2 = HMAC(prk, T1 || info || 0x02): one block each.
    let mut m1 = [0u8; MESSAGE_INFO_LEN + 1];
    m1[..MESSAGE_INFO_LEN].copy_from_slice(MESSAGE_INFO);
    m1[MESSAGE_INFO_LEN] = 0x01;
    let key = Zeroizing::new(expand.mac(&m1));
    let mut m2 = [0u8; 32 + MESSAGE_INFO_LEN + 1];
    m2[..32].copy_from_slice(&key[..]);
    m2[32..32 + MESSAGE_INFO_LEN].copy_from_slice(MESSAGE_INFO);
    m2[32 + MESSAGE_INFO_LEN] = 0x02;
    let t2 = expand.mac(&m2);
    let mut nonce = [0u8; 12];
    nonce.copy_from_slice(&t2[..12]);
    MessageCipherKey { key, nonce }
}

const MESSAGE_INFO_LEN: usize = MESSAGE_INFO.len();

/// The zero-salt HMAC key of the fast path.
static ZERO_SALT_FAST: LazyLock<fast::HmacKey> = LazyLock::new(|| fast::HmacKey::new(&[0u8; 32]));

/// HMAC-SHA256 for a 32-byte key and a message of at most 55 bytes (one block), straight
/// on the SHA-256 compression function: the hot path of every message (`KDF_CK` and the
/// message key expansion), without the buffering of the generic implementation.
/// Checked against the generic HMAC by a unit test and by the known-answer vectors.
mod fast {
    use sha2::block_api::compress256;
    use zeroize::{Zeroize, ZeroizeOnDrop};

    const H0: [u32; 8] = [
        0x6a09_e667,
        0xbb67_ae85,
        0x3c6e_f372,
        0xa54f_f53a,
        0x510e_527f,
        0x9b05_688c,
        0x1f83_d9ab,
        0x5be0_cd19,
    ];

    /// The SHA-256 states after the inner and the outer key block.
    #[derive(Zeroize, ZeroizeOnDrop)]
    pub(super) struct HmacKey {
        inner: [u32; 8],
        outer: [u32; 8],
    }

    fn state_bytes(state: &[u32; 8]) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (chunk, word) in out.chunks_exact_mut(4).zip(state) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        out
    }

    impl HmacKey {
        pub(super) fn new(key: &[u8; 32]) -> Self {
            let mut block = [0x36u8; 64];
            for (b, k) in block.iter_mut().zip(key) {
                *b ^= k;
            }
            let mut inner = H0;
            compress256(&mut inner, &[block]);
            for b in block.iter_mut() {
                *b ^= 0x36 ^ 0x5c;
            }
            let mut outer = H0;
            compress256(&mut outer, &[block]);
            block.zeroize();
            HmacKey { inner, outer }
        }

        /// HMAC of a message of `N <= 55` bytes.
        pub(super) fn mac<const N: usize>(&self, message: &[u8; N]) -> [u8; 32] {
            const { assert!(N <= 55) };
            let mut block = [0u8; 64];
            block[..N].copy_from_slice(message);
            block[N] = 0x80;
            block[56..].copy_from_slice(&((64 + N as u64) * 8).to_be_bytes());
            let mut inner = self.inner;
            compress256(&mut inner, &[block]);
            let mut outer_block = [0u8; 64];
            outer_block[..32].copy_from_slice(&state_bytes(&inner));
            outer_block[32] = 0x80;
            outer_block[56..].copy_from_slice(&((64u64 + 32) * 8).to_be_bytes());
            let mut outer = self.outer;
            compress256(&mut outer, &[outer_block]);
            // The stack blocks are not scrubbed here: volatile byte-wise zeroing of four
            // blocks per HMAC costs as much as a compression on this hot path. Keys live in
            // zeroizing types; these temporaries are overwritten by the next call.
            state_bytes(&outer)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 5869 test case 1, through the same two-block HKDF.
    #[test]
    fn hkdf_matches_rfc5869_case_1_prefix() {
        let ikm = [0x0bu8; 22];
        let salt: [u8; 13] = core::array::from_fn(|i| i as u8);
        let info: [u8; 10] = core::array::from_fn(|i| 0xf0 + i as u8);
        // The salt is shorter than 32 bytes; zero padding to 32 gives the same HMAC key.
        let mut salt32 = [0u8; 32];
        salt32[..13].copy_from_slice(&salt);
        let okm = hkdf::<42>(&hmac_with_key(&salt32), &[&ikm], &info);
        assert_eq!(
            hex::encode(&okm[..]),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
        );
    }

    #[test]
    fn fast_hmac_matches_generic() {
        for seed in 0u8..20 {
            let key: [u8; 32] = core::array::from_fn(|i| seed.wrapping_mul(13) ^ i as u8);
            let msg: [u8; 53] = core::array::from_fn(|i| seed ^ (i as u8).wrapping_mul(3));
            let fast = fast::HmacKey::new(&key);
            let mut generic = hmac_with_key(&key);
            generic.update(&msg);
            assert_eq!(
                fast.mac(&msg),
                <[u8; 32]>::from(generic.finalize().into_bytes())
            );
            let mut generic = hmac_with_key(&key);
            generic.update(&msg[..1]);
            assert_eq!(
                fast.mac(&[msg[0]]),
                <[u8; 32]>::from(generic.finalize().into_bytes())
            );
            let expect = hkdf::<44>(&ZERO_SALT, &[&key], MESSAGE_INFO);
            let got = message_cipher_key(&MessageKey(key));
            assert_eq!(&expect[..32], &got.key[..]);
            assert_eq!(&expect[32..], &got.nonce[..]);
        }
    }

    #[test]
    fn kdf_ck_outputs_differ() {
        let (mk, ck) = kdf_ck(&ChainKey([7; 32]));
        assert_ne!(mk.0, ck.0);
        let (mk2, _) = kdf_ck(&ck);
        assert_ne!(mk.0, mk2.0);
    }
}
