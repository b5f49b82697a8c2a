//! The transport phase of a Waku-mode handshake, and 37's session: session id, content
//! topic, and serialization so a session survives a restart.

use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::cipher::{CipherError, CipherState, WAKU_MAX_NONCE, sha256};
use crate::nametag::{InboundWindow, NametagError, NametagSecret, OutboundNametags};
use crate::pattern::{Pattern, Role};
use crate::payload::{PROTOCOL_ID_TRANSPORT, PayloadV2, pad, unpad};

/// The HKDF label of our session id (37 says only `HKDF(h)`; see the crate docs).
pub const SESSION_ID_INFO: &[u8] = b"waku-noise-sessions/1/session-id";

/// Why a transport message was rejected. A rejected message changes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// Not an after-handshake message (protocol id ≠ 0 or keys present).
    #[error("not a transport message (protocol id {0})")]
    NotTransport(u8),
    /// The nametag is not the next expected one.
    #[error(transparent)]
    Nametag(#[from] NametagError),
    /// Authentication failed.
    #[error("decryption failed")]
    Decrypt,
    /// The plaintext is not PKCS#7-padded to 248-byte blocks.
    #[error("invalid padding")]
    Padding,
    /// The nonce counter is exhausted; a new handshake is needed.
    #[error("nonce exhausted")]
    NonceExhausted,
}

impl From<CipherError> for TransportError {
    fn from(e: CipherError) -> Self {
        match e {
            CipherError::NonceExhausted => TransportError::NonceExhausted,
            CipherError::Decrypt | CipherError::TooShort => TransportError::Decrypt,
        }
    }
}

/// Why serialized session bytes were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RestoreError {
    /// Wrong length or magic/version.
    #[error("not a serialized session")]
    Format,
    /// A field out of range (pattern, role, counters, window).
    #[error("invalid field in serialized session")]
    Field,
}

/// A 32-byte session id (37). Not secret by itself but it is the pre-image of the
/// termination token; no `Debug` of the bytes is needed beyond hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct SessionId(pub [u8; 32]);

impl SessionId {
    /// `ct-id = SHA-256(SHA-256(session-id))`, lowercase hex.
    pub fn ct_id(&self) -> String {
        hex_lower(&sha256(&[&self.termination_token()]))
    }

    /// `SHA-256(session-id)`: publishing it marks the session stale (37).
    pub fn termination_token(&self) -> [u8; 32] {
        sha256(&[&self.0])
    }

    /// Whether `token` is this session's termination token.
    pub fn is_termination_token(&self, token: &[u8]) -> bool {
        use subtle::ConstantTimeEq;
        token.len() == 32 && bool::from(self.termination_token().ct_eq(token))
    }

    /// 37's content topic `/{app}/{version}/wakunoise/1/sessions/{ct-id}/proto`.
    pub fn content_topic(&self, app_name: &str, app_version: &str) -> String {
        format!(
            "/{app_name}/{app_version}/wakunoise/1/sessions/{}/proto",
            self.ct_id()
        )
    }
}

pub(crate) fn hex_lower(bytes: &[u8]) -> String {
    use core::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// The key material of a session, for tools and interop tests that must print it.
/// Zeroized on drop.
#[doc(hidden)]
pub struct DangerousSecrets {
    /// Outbound cipher key.
    pub cs_outbound_key: Zeroizing<[u8; 32]>,
    /// Inbound cipher key.
    pub cs_inbound_key: Zeroizing<[u8; 32]>,
    /// Outbound nametag secret.
    pub nametag_secret_outbound: Zeroizing<[u8; 32]>,
    /// Inbound nametag secret.
    pub nametag_secret_inbound: Zeroizing<[u8; 32]>,
}

/// An established Noise session (after [`HandshakeState::into_transport`](crate::HandshakeState::into_transport)):
/// two cipher states, the outbound nametags and the inbound receive window.
pub struct TransportSession {
    pattern: Pattern,
    role: Role,
    h: [u8; 32],
    rs: [u8; 32],
    send: CipherState,
    recv: CipherState,
    outbound: OutboundNametags,
    inbound: InboundWindow,
}

impl core::fmt::Debug for TransportSession {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TransportSession")
            .field("pattern", &self.pattern)
            .field("role", &self.role)
            .field("sent", &self.outbound.next_index())
            .field("received", &self.inbound.next_index())
            .finish_non_exhaustive()
    }
}

const MAGIC: &[u8; 4] = b"WNS1";
/// Length of [`TransportSession::to_bytes`].
pub const SERIALIZED_SESSION_BYTES: usize = 4 + 1 + 1 + 32 + 32 + 40 + 40 + 40 + 40 + 2;

impl TransportSession {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        pattern: Pattern,
        role: Role,
        h: [u8; 32],
        rs: [u8; 32],
        send: [u8; 32],
        recv: [u8; 32],
        outbound: OutboundNametags,
        inbound: InboundWindow,
    ) -> Self {
        Self {
            pattern,
            role,
            h,
            rs,
            send: CipherState::with_key(send, WAKU_MAX_NONCE),
            recv: CipherState::with_key(recv, WAKU_MAX_NONCE),
            outbound,
            inbound,
        }
    }

    /// The pattern of the handshake that made this session.
    pub fn pattern(&self) -> Pattern {
        self.pattern
    }

    /// This party's role in that handshake.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The handshake hash (channel binding).
    pub fn handshake_hash(&self) -> [u8; 32] {
        self.h
    }

    /// The peer's static public key.
    pub fn remote_static(&self) -> [u8; 32] {
        self.rs
    }

    /// Messages sent so far (the next outbound nametag index and nonce).
    pub fn sent(&self) -> u64 {
        self.send.nonce()
    }

    /// Messages accepted so far (the next inbound nametag index).
    pub fn received(&self) -> u64 {
        self.inbound.next_index()
    }

    /// The receive window.
    pub fn inbound_window(&self) -> &InboundWindow {
        &self.inbound
    }

    /// The nametag the next outbound message carries.
    pub fn next_outbound_nametag(&self) -> crate::MessageNametag {
        self.outbound.peek()
    }

    /// Encrypts `plaintext` (padded to 248-byte blocks, associated data = the nametag)
    /// into a transport PayloadV2 with the next outbound nametag.
    pub fn encrypt(&mut self, plaintext: &[u8]) -> Result<PayloadV2, TransportError> {
        let nametag = self.outbound.peek();
        let mut buf = Vec::with_capacity(plaintext.len() + 248 + 16);
        buf.extend_from_slice(plaintext);
        pad(&mut buf);
        self.send.encrypt_in_place(nametag.as_bytes(), &mut buf)?;
        self.outbound.advance();
        Ok(PayloadV2::transport(nametag, buf))
    }

    /// Decrypts a transport PayloadV2. Accepts only the next expected nametag; a nametag
    /// later in the window is reported as [`NametagError::MessagesProbablyLost`] (use
    /// [`skip_inbound`](Self::skip_inbound) to move on). On failure nothing changes.
    pub fn decrypt(&mut self, msg: &PayloadV2) -> Result<Vec<u8>, TransportError> {
        if msg.protocol_id != PROTOCOL_ID_TRANSPORT || !msg.handshake_message.is_empty() {
            return Err(TransportError::NotTransport(msg.protocol_id));
        }
        self.inbound.check(&msg.nametag)?;
        let mut recv = self.recv.clone();
        let mut buf = msg.transport_message.clone();
        recv.decrypt_in_place(msg.nametag.as_bytes(), &mut buf)?;
        unpad(&mut buf).map_err(|_| TransportError::Padding)?;
        self.recv = recv;
        self.inbound.skip(1);
        Ok(buf)
    }

    /// Gives up on the next `n` inbound messages (at most the window size): the receive
    /// window and the inbound nonce move on by `n`.
    pub fn skip_inbound(&mut self, n: usize) -> Result<(), TransportError> {
        let n = n.min(self.inbound.size());
        self.recv.skip(n as u64)?;
        self.inbound.skip(n);
        Ok(())
    }

    /// 37's session id: `HKDF-SHA256(salt = h, ikm = "", info = SESSION_ID_INFO)`.
    pub fn session_id(&self) -> SessionId {
        let hk = Hkdf::<Sha256>::new(Some(&self.h), &[]);
        let mut id = [0u8; 32];
        // 32 bytes is within HKDF-SHA256's output limit.
        let _ = hk.expand(SESSION_ID_INFO, &mut id);
        SessionId(id)
    }

    /// 37's per-session content topic.
    pub fn content_topic(&self, app_name: &str, app_version: &str) -> String {
        self.session_id().content_topic(app_name, app_version)
    }

    /// The session's key material, for interop tools. Never log it.
    #[doc(hidden)]
    pub fn dangerous_secrets(&self) -> DangerousSecrets {
        DangerousSecrets {
            cs_outbound_key: Zeroizing::new(self.send.key_bytes().copied().unwrap_or_default()),
            cs_inbound_key: Zeroizing::new(self.recv.key_bytes().copied().unwrap_or_default()),
            nametag_secret_outbound: Zeroizing::new(self.outbound.secret().to_bytes()),
            nametag_secret_inbound: Zeroizing::new(self.inbound.secret().to_bytes()),
        }
    }

    /// Serializes everything needed to resume after a restart (secret: store it
    /// encrypted). Store it again after every message sent or received.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(SERIALIZED_SESSION_BYTES));
        let s = self.dangerous_secrets();
        out.extend_from_slice(MAGIC);
        out.push(self.pattern.protocol_id());
        out.push(match self.role {
            Role::Initiator => 0,
            Role::Responder => 1,
        });
        out.extend_from_slice(&self.h);
        out.extend_from_slice(&self.rs);
        out.extend_from_slice(&*s.cs_outbound_key);
        out.extend_from_slice(&self.send.nonce().to_le_bytes());
        out.extend_from_slice(&*s.cs_inbound_key);
        out.extend_from_slice(&self.recv.nonce().to_le_bytes());
        out.extend_from_slice(&*s.nametag_secret_outbound);
        out.extend_from_slice(&self.outbound.next_index().to_le_bytes());
        out.extend_from_slice(&*s.nametag_secret_inbound);
        out.extend_from_slice(&self.inbound.next_index().to_le_bytes());
        // The window is at most MAX_NAMETAG_WINDOW (1024), so it fits in u16.
        out.extend_from_slice(&(self.inbound.size() as u16).to_le_bytes());
        out
    }

    /// Restores a session serialized by [`to_bytes`](Self::to_bytes).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, RestoreError> {
        if bytes.len() != SERIALIZED_SESSION_BYTES || bytes.get(..4) != Some(MAGIC) {
            return Err(RestoreError::Format);
        }
        let mut pos = 4;
        let mut take = |n: usize| {
            let s = bytes.get(pos..pos + n).unwrap_or_default();
            pos += n;
            s
        };
        let a32 = |s: &[u8]| {
            let mut a = [0u8; 32];
            a.copy_from_slice(s);
            a
        };
        let u64le = |s: &[u8]| {
            let mut a = [0u8; 8];
            a.copy_from_slice(s);
            u64::from_le_bytes(a)
        };
        let pattern = Pattern::from_protocol_id(take(1)[0]).ok_or(RestoreError::Field)?;
        let role = match take(1)[0] {
            0 => Role::Initiator,
            1 => Role::Responder,
            _ => return Err(RestoreError::Field),
        };
        let h = a32(take(32));
        let rs = a32(take(32));
        let send_key = Zeroizing::new(a32(take(32)));
        let send_n = u64le(take(8));
        let recv_key = Zeroizing::new(a32(take(32)));
        let recv_n = u64le(take(8));
        let out_secret = NametagSecret::from_bytes(a32(take(32)));
        let out_next = u64le(take(8));
        let in_secret = NametagSecret::from_bytes(a32(take(32)));
        let in_next = u64le(take(8));
        let w = take(2);
        let window = usize::from(u16::from_le_bytes([w[0], w[1]]));
        let limit = WAKU_MAX_NONCE + 1;
        if send_n > limit || recv_n > limit {
            return Err(RestoreError::Field);
        }
        let inbound =
            InboundWindow::new(in_secret, in_next, window).map_err(|_| RestoreError::Field)?;
        Ok(Self {
            pattern,
            role,
            h,
            rs,
            send: CipherState::restore(*send_key, send_n, WAKU_MAX_NONCE),
            recv: CipherState::restore(*recv_key, recv_n, WAKU_MAX_NONCE),
            outbound: OutboundNametags::new(out_secret, out_next),
            inbound,
        })
    }
}
