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
    let keyed = hmac_with_key(&chain.0);
    let mut mac = keyed.clone();
    mac.update(&[0x01]);
    let mk = MessageKey(mac.finalize().into_bytes().into());
    let mut mac = keyed;
    mac.update(&[0x02]);
    let ck = ChainKey(mac.finalize().into_bytes().into());
    (mk, ck)
}

/// AES-256-GCM key and nonce of a message key:
/// `HKDF(salt = 0^32, ikm = mk, info = message, 44)` = `key(32) || nonce(12)`.
pub(crate) struct MessageCipherKey {
    pub(crate) key: Zeroizing<[u8; 32]>,
    pub(crate) nonce: [u8; 12],
}

pub(crate) fn message_cipher_key(mk: &MessageKey) -> MessageCipherKey {
    let out = hkdf::<44>(&ZERO_SALT, &[&mk.0], MESSAGE_INFO);
    let mut key = Zeroizing::new([0u8; 32]);
    key.copy_from_slice(&out[..32]);
    let mut nonce = [0u8; 12];
    nonce.copy_from_slice(&out[32..]);
    MessageCipherKey { key, nonce }
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
    fn kdf_ck_outputs_differ() {
        let (mk, ck) = kdf_ck(&ChainKey([7; 32]));
        assert_ne!(mk.0, ck.0);
        let (mk2, _) = kdf_ck(&ck);
        assert_ne!(mk.0, mk2.0);
    }
}
