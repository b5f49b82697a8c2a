//! Message nametags: during the handshake (derived from the handshake hash) and after it
//! (two secrets, the n-th nametag, the bounded receive window).

use std::collections::VecDeque;

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::cipher::{noise_hkdf, sha256};

/// Length of a message nametag.
pub const NAMETAG_BYTES: usize = 16;
/// Default size of the receive window: the next 50 expected nametags (35/43, `@waku/noise`).
pub const DEFAULT_NAMETAG_WINDOW: usize = 50;
/// The largest receive window a caller may configure (bounds memory per session).
pub const MAX_NAMETAG_WINDOW: usize = 1024;

/// A 16-byte message nametag.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct MessageNametag([u8; NAMETAG_BYTES]);

impl core::fmt::Debug for MessageNametag {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "MessageNametag(")?;
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        write!(f, ")")
    }
}

impl MessageNametag {
    /// Sixteen zero bytes.
    pub const ZERO: Self = Self([0; NAMETAG_BYTES]);

    /// From raw bytes.
    pub const fn from_bytes(bytes: [u8; NAMETAG_BYTES]) -> Self {
        Self(bytes)
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; NAMETAG_BYTES] {
        &self.0
    }

    /// The nametag of a handshake message as `@waku/noise` derives it: the first 16 bytes
    /// of `HKDF(h, "", 1)` for the current handshake hash `h`.
    pub fn from_handshake_hash(h: &[u8; 32]) -> Self {
        let [t1] = noise_hkdf::<1>(h, &[]);
        let mut tag = [0u8; NAMETAG_BYTES];
        tag.copy_from_slice(&t1[..NAMETAG_BYTES]);
        Self(tag)
    }

    /// Constant-time equality.
    pub fn ct_eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

/// A 32-byte nametag secret of one direction. Zeroized on drop; no `Debug`.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct NametagSecret([u8; 32]);

impl NametagSecret {
    /// From raw bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The raw bytes. The caller must zeroize copies.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0
    }

    /// The `i`-th nametag of this direction: `SHA-256(secret || u64_le(i))[0..16]`.
    pub fn nametag(&self, i: u64) -> MessageNametag {
        let d = sha256(&[&self.0, &i.to_le_bytes()]);
        let mut tag = [0u8; NAMETAG_BYTES];
        tag.copy_from_slice(&d[..NAMETAG_BYTES]);
        MessageNametag(tag)
    }
}

/// The two after-handshake nametag secrets `(nms1, nms2) = HKDF(h, "", 2)`.
pub(crate) fn nametag_secrets(h: &[u8; 32]) -> (NametagSecret, NametagSecret) {
    let [a, b] = noise_hkdf::<2>(h, &[]);
    (NametagSecret(a), NametagSecret(b))
}

/// Outbound nametags: the secret and the index of the next message.
#[derive(Clone)]
pub struct OutboundNametags {
    secret: NametagSecret,
    next: u64,
}

impl OutboundNametags {
    /// Starts at index `next`.
    pub fn new(secret: NametagSecret, next: u64) -> Self {
        Self { secret, next }
    }
    /// The nametag the next message will carry.
    pub fn peek(&self) -> MessageNametag {
        self.secret.nametag(self.next)
    }
    /// Index of the next message.
    pub fn next_index(&self) -> u64 {
        self.next
    }
    pub(crate) fn advance(&mut self) {
        self.next = self.next.saturating_add(1);
    }
    pub(crate) fn secret(&self) -> &NametagSecret {
        &self.secret
    }
}

/// Why an inbound nametag was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NametagError {
    /// The nametag is in the window but not next: `position` messages were probably lost.
    /// Skip ahead explicitly ([`TransportSession::skip_inbound`](crate::TransportSession::skip_inbound)) to accept it.
    #[error("nametag at window position {position}: messages probably lost")]
    MessagesProbablyLost {
        /// Position in the window (1 = one message lost).
        position: usize,
    },
    /// The nametag is not among the next expected ones.
    #[error("unknown message nametag")]
    Unknown,
    /// A window size of 0 or above [`MAX_NAMETAG_WINDOW`].
    #[error("invalid window size {0}")]
    InvalidWindow(usize),
}

/// The receive window: the next `size` expected inbound nametags.
#[derive(Clone)]
pub struct InboundWindow {
    secret: NametagSecret,
    /// Index of the first entry of `window`.
    next: u64,
    window: VecDeque<MessageNametag>,
    size: usize,
}

impl InboundWindow {
    /// A window of `size` nametags (1..=[`MAX_NAMETAG_WINDOW`]) starting at index `next`.
    pub fn new(secret: NametagSecret, next: u64, size: usize) -> Result<Self, NametagError> {
        if size == 0 || size > MAX_NAMETAG_WINDOW {
            return Err(NametagError::InvalidWindow(size));
        }
        let window = (0..size as u64)
            .map(|i| secret.nametag(next.saturating_add(i)))
            .collect();
        Ok(Self {
            secret,
            next,
            window,
            size,
        })
    }

    /// Index of the next expected message.
    pub fn next_index(&self) -> u64 {
        self.next
    }

    /// The window size.
    pub fn size(&self) -> usize {
        self.size
    }

    /// The next expected nametag.
    pub fn expected(&self) -> MessageNametag {
        self.secret.nametag(self.next)
    }

    /// Where `tag` is in the window, if at all.
    pub fn position(&self, tag: &MessageNametag) -> Option<usize> {
        self.window.iter().position(|t| t.ct_eq(tag))
    }

    /// Accepts only the next expected nametag (position 0); changes nothing.
    pub fn check(&self, tag: &MessageNametag) -> Result<(), NametagError> {
        match self.position(tag) {
            Some(0) => Ok(()),
            Some(position) => Err(NametagError::MessagesProbablyLost { position }),
            None => Err(NametagError::Unknown),
        }
    }

    /// Drops the first `n` expected nametags (the messages are considered lost), capped at
    /// the window size.
    pub(crate) fn skip(&mut self, n: usize) {
        for _ in 0..n.min(self.size) {
            self.window.pop_front();
            self.next = self.next.saturating_add(1);
            let last = self.next.saturating_add(self.size as u64 - 1);
            self.window.push_back(self.secret.nametag(last));
        }
    }

    pub(crate) fn secret(&self) -> &NametagSecret {
        &self.secret
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_accepts_only_next() {
        let s = NametagSecret::from_bytes([3; 32]);
        let mut w = InboundWindow::new(s.clone(), 0, 50).unwrap();
        assert_eq!(w.check(&s.nametag(0)), Ok(()));
        assert_eq!(
            w.check(&s.nametag(3)),
            Err(NametagError::MessagesProbablyLost { position: 3 })
        );
        assert_eq!(w.check(&s.nametag(50)), Err(NametagError::Unknown));
        w.skip(1);
        assert_eq!(w.check(&s.nametag(1)), Ok(()));
        assert_eq!(w.position(&s.nametag(50)), Some(49));
        assert!(InboundWindow::new(s, 0, 0).is_err());
    }
}
