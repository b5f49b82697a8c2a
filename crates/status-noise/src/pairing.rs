//! 43/WAKU2-DEVICE-PAIRING as `@waku/noise` implements it: the `WakuPairing` handshake
//! driven by a QR code, with static-key commitments and an 8-digit auth code.
//!
//! Device B (the [`PairingResponder`]) shows a QR code and its QR message nametag; device
//! A (the [`PairingInitiator`]) reads both and sends message 1. Both show the auth code;
//! once the person confirms it on each device, the handshake continues. Each commitment
//! is opened and checked; then [`into_session`](PairingInitiator::into_session) gives the
//! [`TransportSession`].

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE;
use rand_core::CryptoRng;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::cipher::sha256;
use crate::handshake::{HandshakeBuilder, HandshakeError, HandshakeState};
use crate::keys::Keypair;
use crate::nametag::MessageNametag;
use crate::pattern::{Pattern, Role};
use crate::payload::PayloadV2;
use crate::transport::TransportSession;

/// `@waku/noise`'s default application name.
pub const DEFAULT_APP_NAME: &str = "waku-noise-sessions";
/// `@waku/noise`'s default application version.
pub const DEFAULT_APP_VERSION: &str = "0.1";
/// `@waku/noise`'s default shard id.
pub const DEFAULT_SHARD_ID: &str = "10";
/// Longest QR string accepted when parsing (bounds the work on untrusted input).
pub const MAX_QR_BYTES: usize = 4096;

/// Why pairing failed. After an error other than [`PairingError::WrongPhase`] the pairing
/// is aborted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PairingError {
    /// The QR string is malformed.
    #[error("invalid QR string")]
    InvalidQr,
    /// The method does not fit the current phase (nothing changed).
    #[error("wrong pairing phase")]
    WrongPhase,
    /// A handshake step failed.
    #[error(transparent)]
    Handshake(#[from] HandshakeError),
    /// A commitment payload is not 32 bytes.
    #[error("malformed commitment payload")]
    MalformedPayload,
    /// The peer's static key does not open its commitment.
    #[error("commitment does not match the static key")]
    CommitmentMismatch,
    /// The person said the auth codes differ.
    #[error("auth code rejected")]
    AuthCodeRejected,
    /// The pairing was aborted by an earlier error.
    #[error("pairing aborted")]
    Aborted,
}

/// The application parameters of the pairing content topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairingParams {
    /// Application name.
    pub app_name: String,
    /// Application version.
    pub app_version: String,
    /// Shard id (text, as in the content topic).
    pub shard_id: String,
}

impl Default for PairingParams {
    fn default() -> Self {
        Self {
            app_name: DEFAULT_APP_NAME.into(),
            app_version: DEFAULT_APP_VERSION.into(),
            shard_id: DEFAULT_SHARD_ID.into(),
        }
    }
}

impl PairingParams {
    /// `/{app}/{version}/wakunoise/1/sessions_shard-{shard}/proto`.
    pub fn content_topic(&self) -> String {
        format!(
            "/{}/{}/wakunoise/1/sessions_shard-{}/proto",
            self.app_name, self.app_version, self.shard_id
        )
    }
}

/// `SHA-256(public_key || random)`: a commitment to a static key.
pub fn commit_static_key(public_key: &[u8; 32], random: &[u8; 32]) -> [u8; 32] {
    sha256(&[public_key, random])
}

/// The content of B's QR code. The QR message nametag is **not** part of it (it is
/// handed over separately, as `@waku/noise` does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Qr {
    /// Application parameters.
    pub params: PairingParams,
    /// B's ephemeral public key (the pre-message `e`).
    pub ephemeral_key: [u8; 32],
    /// `SHA-256(sB.pub || r)`.
    pub committed_static_key: [u8; 32],
}

impl core::fmt::Display for Qr {
    /// Five base64url (with `=` padding) fields joined by `:`.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let b = |d: &[u8]| URL_SAFE.encode(d);
        write!(
            f,
            "{}:{}:{}:{}:{}",
            b(self.params.app_name.as_bytes()),
            b(self.params.app_version.as_bytes()),
            b(self.params.shard_id.as_bytes()),
            b(&self.ephemeral_key),
            b(&self.committed_static_key)
        )
    }
}

impl core::str::FromStr for Qr {
    type Err = PairingError;

    fn from_str(s: &str) -> Result<Self, PairingError> {
        if s.len() > MAX_QR_BYTES {
            return Err(PairingError::InvalidQr);
        }
        let fields: Vec<&str> = s.split(':').collect();
        let [app, ver, shard, eph, commit] = fields.as_slice() else {
            return Err(PairingError::InvalidQr);
        };
        let d = |x: &str| URL_SAFE.decode(x).map_err(|_| PairingError::InvalidQr);
        let text = |x: &str| String::from_utf8(d(x)?).map_err(|_| PairingError::InvalidQr);
        let key =
            |x: &str| <[u8; 32]>::try_from(d(x)?.as_slice()).map_err(|_| PairingError::InvalidQr);
        Ok(Qr {
            params: PairingParams {
                app_name: text(app)?,
                app_version: text(ver)?,
                shard_id: text(shard)?,
            },
            ephemeral_key: key(eph)?,
            committed_static_key: key(commit)?,
        })
    }
}

#[derive(Clone, Zeroize, ZeroizeOnDrop)]
struct CommitRandom([u8; 32]);

fn payload_32(payload: &[u8]) -> Result<[u8; 32], PairingError> {
    <[u8; 32]>::try_from(payload).map_err(|_| PairingError::MalformedPayload)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Start,
    AwaitConfirm,
    Confirmed,
    AwaitFinal,
    Done,
    Aborted,
}

/// Device A: reads B's QR code and nametag, sends message 1 and 3.
pub struct PairingInitiator {
    hs: HandshakeState,
    qr: Qr,
    qr_nametag: MessageNametag,
    random: CommitRandom,
    static_public: [u8; 32],
    peer_opening: Option<[u8; 32]>,
    auth_code: Option<String>,
    phase: Phase,
}

impl PairingInitiator {
    /// Starts pairing with the QR string and QR nametag B shows. `random` is the 32-byte
    /// `s` of A's commitment (draw it from a CSPRNG).
    pub fn new(
        static_key: Keypair,
        qr: &str,
        qr_nametag: MessageNametag,
        random: [u8; 32],
    ) -> Result<Self, PairingError> {
        let parsed: Qr = qr.parse()?;
        let static_public = *static_key.public();
        let hs = HandshakeBuilder::new(Pattern::WakuPairing, Role::Initiator)
            .prologue(qr.as_bytes())
            .local_static(static_key)
            .remote_ephemeral(parsed.ephemeral_key)
            .build()
            .map_err(|_| PairingError::InvalidQr)?;
        Ok(Self {
            hs,
            qr: parsed,
            qr_nametag,
            random: CommitRandom(random),
            static_public,
            peer_opening: None,
            auth_code: None,
            phase: Phase::Start,
        })
    }

    /// Like [`new`](Self::new) but with a fixed ephemeral key (known-answer tests only).
    #[doc(hidden)]
    pub fn with_ephemeral_for_testing_only(
        static_key: Keypair,
        ephemeral: Keypair,
        qr: &str,
        qr_nametag: MessageNametag,
        random: [u8; 32],
    ) -> Result<Self, PairingError> {
        let mut me = Self::new(static_key.clone(), qr, qr_nametag, random)?;
        me.hs = HandshakeBuilder::new(Pattern::WakuPairing, Role::Initiator)
            .prologue(qr.as_bytes())
            .local_static(static_key)
            .local_ephemeral(ephemeral)
            .remote_ephemeral(me.qr.ephemeral_key)
            .build()
            .map_err(|_| PairingError::InvalidQr)?;
        Ok(me)
    }

    /// The parsed QR code.
    pub fn qr(&self) -> &Qr {
        &self.qr
    }

    /// The pairing content topic.
    pub fn content_topic(&self) -> String {
        self.qr.params.content_topic()
    }

    /// The auth code, once message 1 was written.
    pub fn auth_code(&self) -> Option<&str> {
        self.auth_code.as_deref()
    }

    /// The handshake in progress (hash, nametags).
    pub fn handshake(&self) -> &HandshakeState {
        &self.hs
    }

    /// B's opening `r` from message 2, once read and checked.
    pub fn peer_opening(&self) -> Option<[u8; 32]> {
        self.peer_opening
    }

    fn fail<T>(&mut self, e: PairingError) -> Result<T, PairingError> {
        self.phase = Phase::Aborted;
        Err(e)
    }

    /// Writes message 1 (`-> e, ee` with A's commitment, nametag = QR nametag) and
    /// returns it with the auth code to show.
    pub fn start<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
    ) -> Result<(PayloadV2, String), PairingError> {
        if self.phase != Phase::Start {
            return Err(PairingError::WrongPhase);
        }
        let commitment = commit_static_key(&self.static_public, &self.random.0);
        match self.hs.write_message(&commitment, self.qr_nametag, rng) {
            Ok(msg) => {
                let code = self.hs.auth_code();
                self.auth_code = Some(code.clone());
                self.phase = Phase::AwaitConfirm;
                Ok((msg, code))
            }
            Err(e) => self.fail(e.into()),
        }
    }

    /// The person confirmed (`true`) or rejected the auth code.
    pub fn confirm_auth_code(&mut self, same: bool) -> Result<(), PairingError> {
        if self.phase != Phase::AwaitConfirm {
            return Err(PairingError::WrongPhase);
        }
        if !same {
            return self.fail(PairingError::AuthCodeRejected);
        }
        self.phase = Phase::Confirmed;
        Ok(())
    }

    /// The nametag message 2 must carry.
    pub fn expected_nametag(&self) -> MessageNametag {
        self.hs.derived_nametag()
    }

    /// Reads message 2 (`<- s, es` with B's `r`), checks B's commitment from the QR code,
    /// and writes message 3 (`-> s, se, ss` with A's `s`). A message with another nametag
    /// or that does not authenticate is rejected without changing anything (anyone can
    /// post on the pairing topic); a commitment that does not open aborts the pairing.
    pub fn handle_message2<R: CryptoRng + ?Sized>(
        &mut self,
        msg: &PayloadV2,
        rng: &mut R,
    ) -> Result<PayloadV2, PairingError> {
        match self.phase {
            Phase::Confirmed => {}
            Phase::Aborted => return Err(PairingError::Aborted),
            _ => return Err(PairingError::WrongPhase),
        }
        let expected = self.hs.derived_nametag();
        if !msg.nametag.ct_eq(&expected) {
            return Err(HandshakeError::NametagMismatch.into());
        }
        // Anyone can compute this nametag (it derives from public data), so a message
        // that fails to authenticate is dropped without aborting; nothing changed.
        let r = self.hs.read_message(msg, &expected)?;
        let Ok(r) = payload_32(&r) else {
            return self.fail(PairingError::MalformedPayload);
        };
        let Some(rs) = self.hs.remote_static() else {
            return self.fail(PairingError::Handshake(HandshakeError::KeyMismatch));
        };
        let opened = commit_static_key(&rs, &r);
        if !bool::from(opened.ct_eq(&self.qr.committed_static_key)) {
            return self.fail(PairingError::CommitmentMismatch);
        }
        self.peer_opening = Some(r);
        let nametag = self.hs.derived_nametag();
        let random = self.random.0;
        match self.hs.write_message(&random, nametag, rng) {
            Ok(m3) => {
                self.phase = Phase::Done;
                Ok(m3)
            }
            Err(e) => self.fail(e.into()),
        }
    }

    /// Whether the handshake completed.
    pub fn is_done(&self) -> bool {
        self.phase == Phase::Done
    }

    /// The established session.
    pub fn into_session(self) -> Result<TransportSession, PairingError> {
        if self.phase != Phase::Done {
            return Err(PairingError::WrongPhase);
        }
        self.hs
            .into_transport()
            .map_err(|_| PairingError::WrongPhase)
    }
}

/// Device B: shows the QR code, answers message 1 with message 2 once the auth code is
/// confirmed, and checks A's commitment in message 3.
pub struct PairingResponder {
    hs: HandshakeState,
    qr: Qr,
    qr_nametag: MessageNametag,
    random: CommitRandom,
    peer_commitment: Option<[u8; 32]>,
    peer_opening: Option<[u8; 32]>,
    auth_code: Option<String>,
    phase: Phase,
}

impl PairingResponder {
    /// Prepares pairing with fixed inputs: B's static and ephemeral keys, the 32-byte
    /// commitment random `r` and the 16-byte QR nametag.
    pub fn new(
        static_key: Keypair,
        ephemeral_key: Keypair,
        params: PairingParams,
        random: [u8; 32],
        qr_nametag: MessageNametag,
    ) -> Result<Self, PairingError> {
        let qr = Qr {
            params,
            ephemeral_key: *ephemeral_key.public(),
            committed_static_key: commit_static_key(static_key.public(), &random),
        };
        let qr_string = qr.to_string();
        let hs = HandshakeBuilder::new(Pattern::WakuPairing, Role::Responder)
            .prologue(qr_string.as_bytes())
            .local_static(static_key)
            .local_ephemeral(ephemeral_key)
            .build()
            .map_err(|_| PairingError::InvalidQr)?;
        Ok(Self {
            hs,
            qr,
            qr_nametag,
            random: CommitRandom(random),
            peer_commitment: None,
            peer_opening: None,
            auth_code: None,
            phase: Phase::Start,
        })
    }

    /// Draws the ephemeral key, `r` and the QR nametag from `rng`.
    pub fn generate<R: CryptoRng + ?Sized>(
        static_key: Keypair,
        params: PairingParams,
        rng: &mut R,
    ) -> Result<Self, PairingError> {
        let mut random = [0u8; 32];
        rng.fill_bytes(&mut random);
        let ephemeral = Keypair::generate(rng);
        let mut tag = [0u8; 16];
        rng.fill_bytes(&mut tag);
        let me = Self::new(
            static_key,
            ephemeral,
            params,
            random,
            MessageNametag::from_bytes(tag),
        );
        random.zeroize();
        me
    }

    /// The QR code to show.
    pub fn qr(&self) -> &Qr {
        &self.qr
    }

    /// The QR message nametag, handed to A with the QR code.
    pub fn qr_nametag(&self) -> MessageNametag {
        self.qr_nametag
    }

    /// The pairing content topic.
    pub fn content_topic(&self) -> String {
        self.qr.params.content_topic()
    }

    /// The auth code, once message 1 was read.
    pub fn auth_code(&self) -> Option<&str> {
        self.auth_code.as_deref()
    }

    /// The handshake in progress.
    pub fn handshake(&self) -> &HandshakeState {
        &self.hs
    }

    /// A's opening `s` from message 3, once read and checked.
    pub fn peer_opening(&self) -> Option<[u8; 32]> {
        self.peer_opening
    }

    /// A's commitment `SHA-256(sA.pub || s)` from message 1, once read.
    pub fn peer_commitment(&self) -> Option<[u8; 32]> {
        self.peer_commitment
    }

    fn fail<T>(&mut self, e: PairingError) -> Result<T, PairingError> {
        self.phase = Phase::Aborted;
        Err(e)
    }

    /// Reads message 1. A message with another nametag or that fails to decrypt is
    /// rejected without changing anything (anyone can post on the pairing topic).
    /// Returns the auth code to show.
    pub fn handle_message1(&mut self, msg: &PayloadV2) -> Result<String, PairingError> {
        if self.phase != Phase::Start {
            return Err(PairingError::WrongPhase);
        }
        let payload = self.hs.read_message(msg, &self.qr_nametag)?;
        let Ok(commitment) = payload_32(&payload) else {
            return self.fail(PairingError::MalformedPayload);
        };
        self.peer_commitment = Some(commitment);
        let code = self.hs.auth_code();
        self.auth_code = Some(code.clone());
        self.phase = Phase::AwaitConfirm;
        Ok(code)
    }

    /// The person confirmed the auth code: writes message 2 (`<- s, es` with `r`).
    /// Rejecting aborts.
    pub fn confirm_auth_code<R: CryptoRng + ?Sized>(
        &mut self,
        same: bool,
        rng: &mut R,
    ) -> Result<PayloadV2, PairingError> {
        if self.phase != Phase::AwaitConfirm {
            return Err(PairingError::WrongPhase);
        }
        if !same {
            return self.fail(PairingError::AuthCodeRejected);
        }
        let nametag = self.hs.derived_nametag();
        let random = self.random.0;
        match self.hs.write_message(&random, nametag, rng) {
            Ok(m) => {
                self.phase = Phase::AwaitFinal;
                Ok(m)
            }
            Err(e) => self.fail(e.into()),
        }
    }

    /// The nametag message 3 must carry.
    pub fn expected_nametag(&self) -> MessageNametag {
        self.hs.derived_nametag()
    }

    /// Reads message 3 and checks A's commitment from message 1. A forged message is
    /// rejected without changing anything; a commitment that does not open aborts.
    pub fn handle_message3(&mut self, msg: &PayloadV2) -> Result<(), PairingError> {
        match self.phase {
            Phase::AwaitFinal => {}
            Phase::Aborted => return Err(PairingError::Aborted),
            _ => return Err(PairingError::WrongPhase),
        }
        let expected = self.hs.derived_nametag();
        if !msg.nametag.ct_eq(&expected) {
            return Err(HandshakeError::NametagMismatch.into());
        }
        // As for message 2: a forgery is dropped, the pairing goes on.
        let s = self.hs.read_message(msg, &expected)?;
        let Ok(s) = payload_32(&s) else {
            return self.fail(PairingError::MalformedPayload);
        };
        let (Some(rs), Some(commitment)) = (self.hs.remote_static(), self.peer_commitment) else {
            return self.fail(PairingError::Handshake(HandshakeError::KeyMismatch));
        };
        if !bool::from(commit_static_key(&rs, &s).ct_eq(&commitment)) {
            return self.fail(PairingError::CommitmentMismatch);
        }
        self.peer_opening = Some(s);
        self.phase = Phase::Done;
        Ok(())
    }

    /// Whether the handshake completed.
    pub fn is_done(&self) -> bool {
        self.phase == Phase::Done
    }

    /// The established session.
    pub fn into_session(self) -> Result<TransportSession, PairingError> {
        if self.phase != Phase::Done {
            return Err(PairingError::WrongPhase);
        }
        self.hs
            .into_transport()
            .map_err(|_| PairingError::WrongPhase)
    }
}
