//! Session state serialization for the store: a versioned, compact binary form.
//!
//! Layout of version 1 (all integers big-endian):
//!
//! ```text
//! "SX3D" | version u8 = 1 | flags u8
//! AD (64) | bundle id (32) | root key (32) | our ratchet secret (32)
//! [flags & SENDING]   sending chain key (32) | n u32
//! previous n u32
//! [flags & THEIRS]    their ratchet key (32)
//! [flags & RECEIVING] receiving chain key (32) | n u64   (its ratchet key = their ratchet key)
//! [flags & X3DH]      X3DH ephemeral key (32)            (its prekey = bundle id)
//! skipped count u16 (<= 2000) | count x (ratchet key (32) | n u32 | message key (32)), oldest first
//! ```
//!
//! No `SENDING` flag with `THEIRS` set means our sending chain is pending: after a new
//! ratchet key from the peer, our new ratchet key pair and sending chain are made at our
//! next send (see `Session::encrypt`), so such a state always has a receiving chain.
//!
//! Our ratchet public key is recomputed from its secret on load. The encoding holds
//! secrets: it is returned in a zeroizing buffer.

use status_identity::IdentityPublicKey;
use x25519_dalek::StaticSecret;
use zeroize::Zeroizing;

use crate::kdf::{ChainKey, MessageKey, RootKey};
use crate::keys::{RatchetKeyPair, X25519PublicKey};
use crate::message::X3dhHeader;
use crate::session::{
    ASSOCIATED_DATA_LENGTH, MAX_SKIPPED_KEYS, ReceivingChain, Role, SendingChain, Session,
    SkippedKeys,
};

const MAGIC: &[u8; 4] = b"SX3D";
/// The current version of the session state encoding.
pub const STATE_VERSION: u8 = 1;

const RESPONDER: u8 = 1 << 0;
const SENDING: u8 = 1 << 1;
const THEIRS: u8 = 1 << 2;
const RECEIVING: u8 = 1 << 3;
const X3DH: u8 = 1 << 4;
const KNOWN_FLAGS: u8 = RESPONDER | SENDING | THEIRS | RECEIVING | X3DH;

const SKIPPED_ENTRY: usize = 32 + 4 + 32;
/// Largest encoding without skipped keys (every optional part present).
const FIXED_MAX_BYTES: usize =
    4 + 1 + 1 + 64 + 32 + 32 + 32 + (32 + 4) + 4 + 32 + (32 + 8) + 32 + 2;
/// Largest valid encoding (every optional part present, skipped keys full).
pub const MAX_STATE_BYTES: usize = FIXED_MAX_BYTES + MAX_SKIPPED_KEYS * SKIPPED_ENTRY;

/// What is inconsistent in a decoded state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Inconsistency {
    /// Unknown flag bits are set.
    UnknownFlags,
    /// A half of the associated data is not a valid identity key.
    InvalidIdentity,
    /// A receiving chain without the peer's ratchet key.
    ReceivingWithoutRatchet,
    /// A receiving counter beyond `u32::MAX + 1`.
    CounterOutOfRange,
    /// An initiator without the peer's ratchet key, or a responder with an X3DH header.
    RoleMismatch,
    /// A responder that has not received yet but has a sending chain or another key
    /// than its prekey.
    ResponderBeforeReceive,
    /// No sending chain and no way to make one.
    NoSendingPath,
    /// A skipped key is listed twice.
    DuplicateSkippedKey,
    /// No receiving chain although a ratchet key of the peer was taken from a message: a
    /// responder that knows a peer ratchet key, or a session whose sending chain is pending
    /// (made at its next send, after a received message).
    PendingWithoutReceiving,
    /// The X3DH header is kept after a message from the peer was received (it is dropped at
    /// the first one), or without the initiator's sending chain.
    X3dhAfterReceive,
}

/// Why bytes are not a session state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// Does not start with the magic bytes.
    #[error("not a session state")]
    BadMagic,
    /// An encoding version this code does not know.
    #[error("unknown session state version {0}")]
    UnknownVersion(u8),
    /// The input ends early.
    #[error("session state truncated")]
    Truncated,
    /// Bytes follow the end of the state.
    #[error("trailing bytes after session state")]
    TrailingBytes,
    /// Longer than [`MAX_STATE_BYTES`], or more than 2000 skipped keys.
    #[error("session state too large")]
    Oversize,
    /// The fields contradict each other.
    #[error("inconsistent session state: {0:?}")]
    Inconsistent(Inconsistency),
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], StateError> {
        let (head, rest) = self
            .0
            .split_first_chunk::<N>()
            .ok_or(StateError::Truncated)?;
        self.0 = rest;
        Ok(*head)
    }

    fn secret32(&mut self) -> Result<Zeroizing<[u8; 32]>, StateError> {
        Ok(Zeroizing::new(self.take::<32>()?))
    }

    fn u32(&mut self) -> Result<u32, StateError> {
        Ok(u32::from_be_bytes(self.take()?))
    }
}

impl Session {
    /// The session state for the store (see the layout in the `state` module). Holds
    /// secrets: the buffer is zeroized on drop.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        // Exact upper bound, so the buffer never reallocates (a reallocation would leave an
        // unzeroized copy of the secrets behind).
        let mut out = Zeroizing::new(Vec::with_capacity(
            FIXED_MAX_BYTES + self.skipped.len() * SKIPPED_ENTRY,
        ));
        let mut flags = 0u8;
        if self.role == Role::Responder {
            flags |= RESPONDER;
        }
        if self.sending.is_some() {
            flags |= SENDING;
        }
        if self.their_ratchet.is_some() {
            flags |= THEIRS;
        }
        if self.receiving.is_some() {
            flags |= RECEIVING;
        }
        if self.x3dh.is_some() {
            flags |= X3DH;
        }
        out.extend_from_slice(MAGIC);
        out.push(STATE_VERSION);
        out.push(flags);
        out.extend_from_slice(&self.ad);
        out.extend_from_slice(self.bundle_id.as_bytes());
        out.extend_from_slice(self.root_key.as_bytes());
        out.extend_from_slice(self.ours.secret.as_bytes());
        if let Some(s) = &self.sending {
            out.extend_from_slice(s.chain_key.as_bytes());
            out.extend_from_slice(&s.n.to_be_bytes());
        }
        out.extend_from_slice(&self.previous_n.to_be_bytes());
        if let Some(k) = &self.their_ratchet {
            out.extend_from_slice(k.as_bytes());
        }
        if let Some(r) = &self.receiving {
            out.extend_from_slice(r.chain_key.as_bytes());
            out.extend_from_slice(&r.n.to_be_bytes());
        }
        if let Some(x) = &self.x3dh {
            out.extend_from_slice(x.ephemeral_key.as_bytes());
        }
        // At most MAX_SKIPPED_KEYS (2000) entries, which fits a u16.
        let count = u16::try_from(self.skipped.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&count.to_be_bytes());
        for (key, n, mk) in self.skipped.iter().take(usize::from(count)) {
            out.extend_from_slice(key.as_bytes());
            out.extend_from_slice(&n.to_be_bytes());
            out.extend_from_slice(mk.as_bytes());
        }
        out
    }

    /// Rebuilds a session from [`Session::to_bytes`], rejecting truncated, oversize or
    /// inconsistent input.
    pub fn from_bytes(bytes: &[u8]) -> Result<Session, StateError> {
        if bytes.len() > MAX_STATE_BYTES {
            return Err(StateError::Oversize);
        }
        let mut r = Reader(bytes);
        if &r.take::<4>()? != MAGIC {
            return Err(StateError::BadMagic);
        }
        let [version] = r.take::<1>()?;
        if version != STATE_VERSION {
            return Err(StateError::UnknownVersion(version));
        }
        let [flags] = r.take::<1>()?;
        if flags & !KNOWN_FLAGS != 0 {
            return Err(StateError::Inconsistent(Inconsistency::UnknownFlags));
        }
        let ad: [u8; ASSOCIATED_DATA_LENGTH] = r.take()?;
        for half in ad.chunks_exact(32) {
            IdentityPublicKey::from_slice(half)
                .map_err(|_| StateError::Inconsistent(Inconsistency::InvalidIdentity))?;
        }
        let bundle_id = X25519PublicKey::from_bytes(r.take()?);
        let root_key = RootKey(*r.secret32()?);
        let ours = RatchetKeyPair::from_secret(StaticSecret::from(*r.secret32()?));
        let sending = if flags & SENDING != 0 {
            let chain_key = ChainKey(*r.secret32()?);
            Some(SendingChain {
                chain_key,
                n: r.u32()?,
            })
        } else {
            None
        };
        let previous_n = r.u32()?;
        let their_ratchet = if flags & THEIRS != 0 {
            Some(X25519PublicKey::from_bytes(r.take()?))
        } else {
            None
        };
        let receiving = if flags & RECEIVING != 0 {
            let chain_key = ChainKey(*r.secret32()?);
            let n = u64::from_be_bytes(r.take()?);
            let ratchet_key = their_ratchet.ok_or(StateError::Inconsistent(
                Inconsistency::ReceivingWithoutRatchet,
            ))?;
            if n > u64::from(u32::MAX) + 1 {
                return Err(StateError::Inconsistent(Inconsistency::CounterOutOfRange));
            }
            Some(ReceivingChain {
                ratchet_key,
                chain_key,
                n,
            })
        } else {
            None
        };
        let x3dh = if flags & X3DH != 0 {
            Some(X3dhHeader {
                ephemeral_key: X25519PublicKey::from_bytes(r.take()?),
                signed_pre_key: bundle_id,
            })
        } else {
            None
        };
        let count = usize::from(u16::from_be_bytes(r.take()?));
        if count > MAX_SKIPPED_KEYS {
            return Err(StateError::Oversize);
        }
        let mut skipped = SkippedKeys::default();
        for _ in 0..count {
            let key = X25519PublicKey::from_bytes(r.take()?);
            let n = r.u32()?;
            let mk = MessageKey(*r.secret32()?);
            if !skipped.push(key, n, mk) {
                return Err(StateError::Inconsistent(Inconsistency::DuplicateSkippedKey));
            }
        }
        if !r.0.is_empty() {
            return Err(StateError::TrailingBytes);
        }

        let role = if flags & RESPONDER != 0 {
            Role::Responder
        } else {
            Role::Initiator
        };
        match role {
            Role::Initiator if their_ratchet.is_none() => {
                return Err(StateError::Inconsistent(Inconsistency::RoleMismatch));
            }
            Role::Responder if x3dh.is_some() => {
                return Err(StateError::Inconsistent(Inconsistency::RoleMismatch));
            }
            Role::Responder
                if their_ratchet.is_none() && (sending.is_some() || ours.public != bundle_id) =>
            {
                return Err(StateError::Inconsistent(
                    Inconsistency::ResponderBeforeReceive,
                ));
            }
            _ => {}
        }
        if sending.is_none() && their_ratchet.is_none() && role == Role::Initiator {
            return Err(StateError::Inconsistent(Inconsistency::NoSendingPath));
        }
        // A pending sending chain (no SENDING, THEIRS) exists only after a received message,
        // which also made the receiving chain; a responder learns THEIRS only that way.
        if their_ratchet.is_some()
            && receiving.is_none()
            && (sending.is_none() || role == Role::Responder)
        {
            return Err(StateError::Inconsistent(
                Inconsistency::PendingWithoutReceiving,
            ));
        }
        if x3dh.is_some() && (receiving.is_some() || sending.is_none()) {
            return Err(StateError::Inconsistent(Inconsistency::X3dhAfterReceive));
        }
        Ok(Session {
            role,
            ad,
            bundle_id,
            root_key,
            ours,
            sending,
            previous_n,
            their_ratchet,
            their_point: None,
            receiving,
            x3dh,
            skipped,
        })
    }
}
