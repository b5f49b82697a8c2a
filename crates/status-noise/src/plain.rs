//! Plain Noise mode: the same handshake without Waku's additions (no nametag associated
//! data, no padding, no PayloadV2), byte-compatible with any Noise library. Used to
//! cross-check the state machine against `snow`.

use rand_core::CryptoRng;
use zeroize::Zeroizing;

use crate::cipher::{CipherError, CipherState, NOISE_MAX_NONCE};
use crate::handshake::{Core, HandshakeError};
use crate::payload::HandshakeKey;

/// A plain Noise handshake in progress (see [`HandshakeBuilder::build_plain`](crate::HandshakeBuilder::build_plain)).
pub struct PlainHandshake {
    pub(crate) core: Core,
}

impl PlainHandshake {
    /// Whether this party writes the next message.
    pub fn is_my_turn(&self) -> bool {
        self.core.is_my_turn()
    }

    /// Whether every message was exchanged.
    pub fn is_finished(&self) -> bool {
        self.core.is_finished()
    }

    /// The current handshake hash.
    pub fn handshake_hash(&self) -> [u8; 32] {
        self.core.ss.h
    }

    /// The peer's static key, once known.
    pub fn remote_static(&self) -> Option<[u8; 32]> {
        self.core.rs
    }

    /// Writes the next message: keys (32 bytes in clear, 48 encrypted) then the payload.
    pub fn write_message<R: CryptoRng + ?Sized>(
        &mut self,
        payload: &[u8],
        rng: &mut R,
    ) -> Result<Vec<u8>, HandshakeError> {
        let (keys, body) = self.core.write(payload, &[], rng)?;
        let mut out = Vec::with_capacity(98 + body.len());
        for k in &keys {
            out.extend_from_slice(k.bytes());
        }
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// Reads the peer's next message and returns its payload; on failure nothing changes.
    pub fn read_message(&mut self, message: &[u8]) -> Result<Vec<u8>, HandshakeError> {
        let mut keys = Vec::new();
        let mut rest = message;
        for len in self.core.plain_key_lengths()? {
            if rest.len() < len {
                return Err(HandshakeError::TooShort);
            }
            let (k, r) = rest.split_at(len);
            rest = r;
            keys.push(if len == 48 {
                let mut a = [0u8; 48];
                a.copy_from_slice(k);
                HandshakeKey::Encrypted(a)
            } else {
                let mut a = [0u8; 32];
                a.copy_from_slice(k);
                HandshakeKey::Clear(a)
            });
        }
        self.core.read(&keys, rest, &[])
    }

    /// Consumes a finished handshake into its two cipher states.
    pub fn into_transport(self) -> Result<PlainTransport, HandshakeError> {
        if !self.core.is_finished() {
            return Err(HandshakeError::NotFinished);
        }
        let (k1, k2) = self.core.ss.split();
        let (k1, k2) = (Zeroizing::new(k1), Zeroizing::new(k2));
        let (send, recv) = match self.core.role {
            crate::Role::Initiator => (*k1, *k2),
            crate::Role::Responder => (*k2, *k1),
        };
        Ok(PlainTransport {
            h: self.core.ss.h,
            send: CipherState::with_key(send, NOISE_MAX_NONCE),
            recv: CipherState::with_key(recv, NOISE_MAX_NONCE),
        })
    }
}

/// The transport phase of a plain Noise handshake.
pub struct PlainTransport {
    h: [u8; 32],
    send: CipherState,
    recv: CipherState,
}

impl PlainTransport {
    /// The handshake hash.
    pub fn handshake_hash(&self) -> [u8; 32] {
        self.h
    }

    /// Encrypts with the next sending nonce and empty associated data.
    pub fn encrypt(&mut self, plaintext: &[u8]) -> Result<Vec<u8>, CipherError> {
        self.send.encrypt_with_ad(&[], plaintext)
    }

    /// Decrypts with the next receiving nonce; on failure nothing changes.
    pub fn decrypt(&mut self, ciphertext: &[u8]) -> Result<Vec<u8>, CipherError> {
        self.recv.decrypt_with_ad(&[], ciphertext)
    }

    /// The raw keys `(sending, receiving)` of this side (for the initiator, `Split()`'s
    /// first and second outputs). Test use only; the caller must zeroize them.
    #[doc(hidden)]
    pub fn dangerous_keys_for_testing_only(&self) -> ([u8; 32], [u8; 32]) {
        (
            self.send.key_bytes().copied().unwrap_or_default(),
            self.recv.key_bytes().copied().unwrap_or_default(),
        )
    }
}
