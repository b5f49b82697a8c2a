//! `HandshakeState`: the Noise handshake for every supported pattern, in Waku mode
//! (PayloadV2, nametag as associated data, padding) and in plain Noise mode.

use rand_core::CryptoRng;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::cipher::{CipherError, NOISE_MAX_NONCE, SymmetricState, WAKU_MAX_NONCE};
use crate::keys::Keypair;
use crate::nametag::{
    DEFAULT_NAMETAG_WINDOW, InboundWindow, MAX_NAMETAG_WINDOW, MessageNametag, NametagError,
    OutboundNametags, nametag_secrets,
};
use crate::pattern::{Pattern, Role, Token};
use crate::payload::{EncodeError, HandshakeKey, PayloadV2, pad, unpad};
use crate::plain::PlainHandshake;
use crate::transport::TransportSession;

/// A 32-byte pre-shared key. Zeroized on drop; no `Debug`.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Psk([u8; 32]);

impl Psk {
    /// From raw bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
}

/// Why a handshake could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The pattern needs this party's static key.
    #[error("the pattern needs a local static key")]
    MissingLocalStatic,
    /// The pattern needs the peer's static key in advance.
    #[error("the pattern needs the remote static key")]
    MissingRemoteStatic,
    /// The pattern needs the peer's ephemeral key in advance (`WakuPairing` initiator).
    #[error("the pattern needs the remote ephemeral key")]
    MissingRemoteEphemeral,
    /// The pattern needs this party's ephemeral key in advance (`WakuPairing` responder).
    #[error("the pattern needs a local ephemeral key")]
    MissingLocalEphemeral,
    /// The pattern needs a pre-shared key.
    #[error("the pattern needs a pre-shared key")]
    MissingPsk,
    /// A nametag window of 0 or above the cap.
    #[error("invalid nametag window {0}")]
    InvalidWindow(usize),
}

/// Why a handshake step failed. A failed step changes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HandshakeError {
    /// It is the peer's turn to write (or this party's turn, when reading).
    #[error("not this party's turn")]
    WrongTurn,
    /// All messages of the pattern were exchanged.
    #[error("the handshake is finished")]
    Finished,
    /// The handshake is not finished yet.
    #[error("the handshake is not finished")]
    NotFinished,
    /// The PayloadV2 names another protocol.
    #[error("protocol id {got}, expected {expected}")]
    WrongProtocolId {
        /// This pattern's id.
        expected: u8,
        /// The message's id.
        got: u8,
    },
    /// The message nametag is not the expected one.
    #[error("unexpected message nametag")]
    NametagMismatch,
    /// A key is missing, superfluous, or in clear where it must be encrypted (or vice versa).
    #[error("handshake keys do not match the pattern")]
    KeyMismatch,
    /// A plain-Noise message is shorter than its keys.
    #[error("message too short")]
    TooShort,
    /// Authentication failed.
    #[error("decryption failed")]
    Decrypt,
    /// A Diffie-Hellman result was all zero (the peer sent a small-order key).
    #[error("all-zero Diffie-Hellman result")]
    WeakKey,
    /// The decrypted payload is not PKCS#7-padded to 248-byte blocks.
    #[error("invalid payload padding")]
    Padding,
    /// The nonce counter is exhausted.
    #[error("nonce exhausted")]
    NonceExhausted,
    /// The message would not fit the wire format.
    #[error("message too long to encode")]
    Encode,
}

impl From<CipherError> for HandshakeError {
    fn from(e: CipherError) -> Self {
        match e {
            CipherError::NonceExhausted => HandshakeError::NonceExhausted,
            CipherError::Decrypt | CipherError::TooShort => HandshakeError::Decrypt,
        }
    }
}

impl From<EncodeError> for HandshakeError {
    fn from(_: EncodeError) -> Self {
        HandshakeError::Encode
    }
}

/// Configures a handshake; [`build`](Self::build) checks that every key the pattern needs
/// is present.
pub struct HandshakeBuilder {
    pattern: Pattern,
    role: Role,
    prologue: Vec<u8>,
    local_static: Option<Keypair>,
    local_ephemeral: Option<Keypair>,
    remote_static: Option<[u8; 32]>,
    remote_ephemeral: Option<[u8; 32]>,
    psk: Option<Psk>,
    window: usize,
}

impl HandshakeBuilder {
    /// A handshake of `pattern` in which this party plays `role`.
    pub fn new(pattern: Pattern, role: Role) -> Self {
        Self {
            pattern,
            role,
            prologue: Vec::new(),
            local_static: None,
            local_ephemeral: None,
            remote_static: None,
            remote_ephemeral: None,
            psk: None,
            window: DEFAULT_NAMETAG_WINDOW,
        }
    }

    /// The prologue both parties mix in (default empty).
    pub fn prologue(mut self, prologue: &[u8]) -> Self {
        self.prologue = prologue.to_vec();
        self
    }

    /// This party's static key.
    pub fn local_static(mut self, key: Keypair) -> Self {
        self.local_static = Some(key);
        self
    }

    /// This party's ephemeral key. For `WakuPairing`'s responder it is the pre-message
    /// key shown in the QR code. For every other case it replaces the fresh key drawn
    /// when writing `e`: only for known-answer tests; a reused ephemeral key destroys
    /// forward secrecy.
    pub fn local_ephemeral(mut self, key: Keypair) -> Self {
        self.local_ephemeral = Some(key);
        self
    }

    /// The peer's static public key (pre-message `s`; required by K1K1 and, for the
    /// initiator, XK1).
    pub fn remote_static(mut self, key: [u8; 32]) -> Self {
        self.remote_static = Some(key);
        self
    }

    /// The peer's ephemeral public key (pre-message `e`; `WakuPairing` initiator).
    pub fn remote_ephemeral(mut self, key: [u8; 32]) -> Self {
        self.remote_ephemeral = Some(key);
        self
    }

    /// The pre-shared key (XXpsk0).
    pub fn psk(mut self, psk: Psk) -> Self {
        self.psk = Some(psk);
        self
    }

    /// The after-handshake receive window (default 50, at most
    /// [`MAX_NAMETAG_WINDOW`](crate::MAX_NAMETAG_WINDOW)).
    pub fn nametag_window(mut self, size: usize) -> Self {
        self.window = size;
        self
    }

    /// A Waku-mode handshake (PayloadV2, nametags, padding).
    pub fn build(self) -> Result<HandshakeState, BuildError> {
        let window = self.window;
        if window == 0 || window > MAX_NAMETAG_WINDOW {
            return Err(BuildError::InvalidWindow(window));
        }
        Ok(HandshakeState {
            core: Core::new(self, true)?,
            window,
        })
    }

    /// A plain Noise handshake (no nametag, no padding, no PayloadV2: the message is the
    /// concatenated keys followed by the payload, as any Noise library sends it).
    pub fn build_plain(self) -> Result<PlainHandshake, BuildError> {
        Ok(PlainHandshake {
            core: Core::new(self, false)?,
        })
    }
}

/// The handshake machine shared by both modes.
#[derive(Clone)]
pub(crate) struct Core {
    pub(crate) pattern: Pattern,
    pub(crate) role: Role,
    pub(crate) ss: SymmetricState,
    s: Option<Keypair>,
    e: Option<Keypair>,
    fixed_e: Option<Keypair>,
    pub(crate) rs: Option<[u8; 32]>,
    re: Option<[u8; 32]>,
    psk: Option<Psk>,
    pub(crate) idx: usize,
    waku: bool,
}

impl Core {
    fn new(b: HandshakeBuilder, waku: bool) -> Result<Self, BuildError> {
        let (pattern, role) = (b.pattern, b.role);
        if pattern.needs_local_static(role) && b.local_static.is_none() {
            return Err(BuildError::MissingLocalStatic);
        }
        if pattern.needs_remote_static(role) && b.remote_static.is_none() {
            return Err(BuildError::MissingRemoteStatic);
        }
        if pattern.needs_remote_ephemeral(role) && b.remote_ephemeral.is_none() {
            return Err(BuildError::MissingRemoteEphemeral);
        }
        if pattern.needs_local_ephemeral(role) && b.local_ephemeral.is_none() {
            return Err(BuildError::MissingLocalEphemeral);
        }
        if pattern.has_psk() && b.psk.is_none() {
            return Err(BuildError::MissingPsk);
        }
        let max_nonce = if waku {
            WAKU_MAX_NONCE
        } else {
            NOISE_MAX_NONCE
        };
        let mut ss = SymmetricState::new(pattern.protocol_name(), max_nonce);
        ss.mix_hash(&b.prologue);
        let (e, fixed_e) = if pattern.needs_local_ephemeral(role) {
            (b.local_ephemeral, None)
        } else {
            (None, b.local_ephemeral)
        };
        let mut core = Core {
            pattern,
            role,
            ss,
            s: b.local_static,
            e,
            fixed_e,
            rs: b.remote_static,
            re: b.remote_ephemeral,
            psk: b.psk,
            idx: 0,
            waku,
        };
        for (owner, token) in pattern.pre_messages() {
            let key = match (*owner == role, token) {
                (true, Token::S) => core.s.as_ref().map(|k| *k.public()),
                (true, _) => core.e.as_ref().map(|k| *k.public()),
                (false, Token::S) => core.rs,
                (false, _) => core.re,
            };
            // Presence was checked above; a missing key cannot reach here.
            let key = key.ok_or(BuildError::MissingRemoteStatic)?;
            core.ss.mix_hash(&key);
            if pattern.has_psk() {
                // As @waku/noise: for both `e` and `s` pre-message keys (latent: no
                // supported psk pattern has pre-messages).
                core.ss.mix_key(&key);
            }
        }
        Ok(core)
    }

    pub(crate) fn is_finished(&self) -> bool {
        self.idx >= self.pattern.message_count()
    }

    pub(crate) fn is_my_turn(&self) -> bool {
        self.pattern
            .messages()
            .get(self.idx)
            .is_some_and(|m| m.sender == self.role)
    }

    fn check_turn(&self, writing: bool) -> Result<&'static [Token], HandshakeError> {
        let m = self
            .pattern
            .messages()
            .get(self.idx)
            .ok_or(HandshakeError::Finished)?;
        if (m.sender == self.role) != writing {
            return Err(HandshakeError::WrongTurn);
        }
        Ok(m.tokens)
    }

    fn dh_token(&mut self, token: Token) -> Result<(), HandshakeError> {
        let initiator = self.role == Role::Initiator;
        let (local, remote) = match token {
            Token::Ee => (&self.e, &self.re),
            Token::Es if initiator => (&self.e, &self.rs),
            Token::Es => (&self.s, &self.re),
            Token::Se if initiator => (&self.s, &self.re),
            Token::Se => (&self.e, &self.rs),
            _ => (&self.s, &self.rs),
        };
        let (Some(local), Some(remote)) = (local, remote) else {
            return Err(HandshakeError::KeyMismatch);
        };
        let shared = local.dh(remote).ok_or(HandshakeError::WeakKey)?;
        self.ss.mix_key(shared.as_ref());
        Ok(())
    }

    /// Writes the next message: its keys and the (padded, in Waku mode) encrypted payload.
    pub(crate) fn write<R: CryptoRng + ?Sized>(
        &mut self,
        payload: &[u8],
        extra_ad: &[u8],
        rng: &mut R,
    ) -> Result<(Vec<HandshakeKey>, Vec<u8>), HandshakeError> {
        let tokens = self.check_turn(true)?;
        let mut next = self.clone();
        let mut keys = Vec::with_capacity(2);
        for token in tokens {
            match token {
                Token::E => {
                    let kp = match next.fixed_e.take() {
                        Some(kp) => kp,
                        None => Keypair::generate(rng),
                    };
                    let public = *kp.public();
                    next.ss.mix_hash(&public);
                    if next.pattern.has_psk() {
                        next.ss.mix_key(&public);
                    }
                    next.e = Some(kp);
                    keys.push(HandshakeKey::Clear(public));
                }
                Token::S => {
                    let s = next.s.as_ref().ok_or(HandshakeError::KeyMismatch)?;
                    let mut buf = s.public().to_vec();
                    next.ss.encrypt_and_hash(&mut buf, &[])?;
                    keys.push(match buf.len() {
                        48 => {
                            let mut k = [0u8; 48];
                            k.copy_from_slice(&buf);
                            HandshakeKey::Encrypted(k)
                        }
                        _ => {
                            let mut k = [0u8; 32];
                            k.copy_from_slice(buf.get(..32).ok_or(HandshakeError::KeyMismatch)?);
                            HandshakeKey::Clear(k)
                        }
                    });
                }
                Token::Psk => {
                    let psk = next.psk.as_ref().ok_or(HandshakeError::KeyMismatch)?.0;
                    next.ss.mix_key_and_hash(&psk);
                }
                dh => next.dh_token(*dh)?,
            }
        }
        let mut buf = Vec::with_capacity(payload.len() + 248 + 16);
        buf.extend_from_slice(payload);
        if next.waku {
            pad(&mut buf);
        }
        next.ss.encrypt_and_hash(&mut buf, extra_ad)?;
        next.idx += 1;
        *self = next;
        Ok((keys, buf))
    }

    /// Reads the next message; on any failure the state is unchanged.
    pub(crate) fn read(
        &mut self,
        keys: &[HandshakeKey],
        transport: &[u8],
        extra_ad: &[u8],
    ) -> Result<Vec<u8>, HandshakeError> {
        let tokens = self.check_turn(false)?;
        let mut next = self.clone();
        let mut keys = keys.iter();
        for token in tokens {
            match token {
                Token::E => {
                    let Some(HandshakeKey::Clear(pk)) = keys.next() else {
                        return Err(HandshakeError::KeyMismatch);
                    };
                    next.ss.mix_hash(pk);
                    if next.pattern.has_psk() {
                        next.ss.mix_key(pk);
                    }
                    next.re = Some(*pk);
                }
                Token::S => {
                    let rs = match (next.ss.cs.has_key(), keys.next()) {
                        (true, Some(HandshakeKey::Encrypted(ct))) => {
                            let mut buf = ct.to_vec();
                            next.ss.decrypt_and_hash(&mut buf, &[])?;
                            let mut k = [0u8; 32];
                            k.copy_from_slice(buf.get(..32).ok_or(HandshakeError::Decrypt)?);
                            k
                        }
                        (false, Some(HandshakeKey::Clear(pk))) => {
                            next.ss.mix_hash(pk);
                            *pk
                        }
                        _ => return Err(HandshakeError::KeyMismatch),
                    };
                    next.rs = Some(rs);
                }
                Token::Psk => {
                    let psk = next.psk.as_ref().ok_or(HandshakeError::KeyMismatch)?.0;
                    next.ss.mix_key_and_hash(&psk);
                }
                dh => next.dh_token(*dh)?,
            }
        }
        if keys.next().is_some() {
            return Err(HandshakeError::KeyMismatch);
        }
        let mut buf = transport.to_vec();
        next.ss.decrypt_and_hash(&mut buf, extra_ad)?;
        if next.waku {
            unpad(&mut buf).map_err(|_| HandshakeError::Padding)?;
        }
        next.idx += 1;
        *self = next;
        Ok(buf)
    }

    /// For plain mode: the byte length of each key the next message carries, in order.
    pub(crate) fn plain_key_lengths(&self) -> Result<Vec<usize>, HandshakeError> {
        let tokens = self.check_turn(false)?;
        let mut keyed = self.ss.cs.has_key();
        let mut lens = Vec::new();
        for token in tokens {
            match token {
                Token::E => {
                    lens.push(32);
                    keyed |= self.pattern.has_psk();
                }
                Token::S => lens.push(if keyed { 48 } else { 32 }),
                _ => keyed = true,
            }
        }
        Ok(lens)
    }
}

/// A Waku-mode handshake in progress. Once every message is exchanged,
/// [`into_transport`](Self::into_transport) consumes it into a [`TransportSession`].
pub struct HandshakeState {
    core: Core,
    window: usize,
}

impl core::fmt::Debug for HandshakeState {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("HandshakeState")
            .field("pattern", &self.core.pattern)
            .field("role", &self.core.role)
            .field("message", &self.core.idx)
            .finish_non_exhaustive()
    }
}

/// Returned by [`HandshakeState::into_transport`] when messages remain; gives the state back.
pub struct NotFinished(pub Box<HandshakeState>);

impl core::fmt::Debug for NotFinished {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_tuple("NotFinished").field(&self.0).finish()
    }
}

impl HandshakeState {
    /// The pattern.
    pub fn pattern(&self) -> Pattern {
        self.core.pattern
    }

    /// This party's role.
    pub fn role(&self) -> Role {
        self.core.role
    }

    /// Whether this party writes the next message.
    pub fn is_my_turn(&self) -> bool {
        self.core.is_my_turn()
    }

    /// Whether every message was exchanged.
    pub fn is_finished(&self) -> bool {
        self.core.is_finished()
    }

    /// Index of the next message (0-based).
    pub fn message_index(&self) -> usize {
        self.core.idx
    }

    /// The current handshake hash `h`.
    pub fn handshake_hash(&self) -> [u8; 32] {
        self.core.ss.h
    }

    /// The peer's static key, once known.
    pub fn remote_static(&self) -> Option<[u8; 32]> {
        self.core.rs
    }

    /// The nametag `@waku/noise` derives from the current handshake hash (used for
    /// `WakuPairing` messages 2 and 3): the first 16 bytes of `HKDF(h, "", 1)`.
    pub fn derived_nametag(&self) -> MessageNametag {
        MessageNametag::from_handshake_hash(&self.core.ss.h)
    }

    /// The 8-digit authentication code of 43 for the current handshake hash:
    /// `BE_u64(HKDF(h, "", 1)[0..8]) mod 10^8`, with leading zeros.
    pub fn auth_code(&self) -> String {
        let tag = self.derived_nametag();
        let mut first = [0u8; 8];
        first.copy_from_slice(&tag.as_bytes()[..8]);
        format!("{:08}", u64::from_be_bytes(first) % 100_000_000)
    }

    /// Writes the next handshake message with the given nametag (bound into the payload's
    /// associated data). `rng` draws the ephemeral key when the message has an `e`.
    pub fn write_message<R: CryptoRng + ?Sized>(
        &mut self,
        payload: &[u8],
        nametag: MessageNametag,
        rng: &mut R,
    ) -> Result<PayloadV2, HandshakeError> {
        // `write` commits only on success; at most two keys (82 bytes) always encode.
        let (keys, transport) = self.core.write(payload, nametag.as_bytes(), rng)?;
        Ok(PayloadV2 {
            nametag,
            protocol_id: self.core.pattern.protocol_id(),
            handshake_message: keys,
            transport_message: transport,
        })
    }

    /// Reads the peer's next handshake message, which must carry `expected` as nametag and
    /// this pattern's protocol id. Returns the payload. On failure nothing changes.
    pub fn read_message(
        &mut self,
        msg: &PayloadV2,
        expected: &MessageNametag,
    ) -> Result<Vec<u8>, HandshakeError> {
        let id = self.core.pattern.protocol_id();
        if msg.protocol_id != id {
            return Err(HandshakeError::WrongProtocolId {
                expected: id,
                got: msg.protocol_id,
            });
        }
        if !msg.nametag.ct_eq(expected) {
            return Err(HandshakeError::NametagMismatch);
        }
        self.core.read(
            &msg.handshake_message,
            &msg.transport_message,
            msg.nametag.as_bytes(),
        )
    }

    /// Consumes a finished handshake into a transport session: `Split()` and the two
    /// after-handshake nametag secrets. Gives the state back if messages remain.
    pub fn into_transport(self) -> Result<TransportSession, NotFinished> {
        if !self.core.is_finished() {
            return Err(NotFinished(Box::new(self)));
        }
        let core = &self.core;
        let (Some(rs), Ok(session)) = (core.rs, {
            let (k1, k2) = core.ss.split();
            let (k1, k2) = (Zeroizing::new(k1), Zeroizing::new(k2));
            let (nms1, nms2) = nametag_secrets(&core.ss.h);
            let (send, recv, out_secret, in_secret) = match core.role {
                Role::Initiator => (*k1, *k2, nms2, nms1),
                Role::Responder => (*k2, *k1, nms1, nms2),
            };
            InboundWindow::new(in_secret, 0, self.window)
                .map(|inbound| (send, recv, OutboundNametags::new(out_secret, 0), inbound))
        }) else {
            // Every supported pattern learns the remote static key and the window size
            // was checked when building.
            return Err(NotFinished(Box::new(self)));
        };
        let (send, recv, outbound, inbound) = session;
        Ok(TransportSession::new(
            core.pattern,
            core.role,
            core.ss.h,
            rs,
            send,
            recv,
            outbound,
            inbound,
        ))
    }
}

impl From<NametagError> for BuildError {
    fn from(e: NametagError) -> Self {
        match e {
            NametagError::InvalidWindow(n) => BuildError::InvalidWindow(n),
            _ => BuildError::InvalidWindow(0),
        }
    }
}
