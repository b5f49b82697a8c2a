//! DANGER: internals exposed for the known-answer vectors and tests only.
//!
//! Everything here hands out secrets or takes caller-chosen secret keys. Using it outside
//! tests breaks the security of the sessions. It is `#[doc(hidden)]` and not part of the
//! API: it may change at any time.
#![doc(hidden)]

use status_identity::{IdentityKeyPair, IdentityPublicKey};
use x25519_dalek::StaticSecret;

use crate::bundle::{self, VerifiedBundle};
use crate::kdf::{self, ChainKey, MessageKey};
use crate::keys::{NonContributory, PreparedPoint, RatchetKeyPair, X25519PublicKey};
use crate::message::EncryptedMessage;
use crate::session::{EncryptError, Session, X3dhOutput};

/// The X3DH values of one run (secrets).
#[derive(Clone, PartialEq, Eq)]
pub struct DangerousX3dhValues {
    /// DH(IK_A, SPK_B).
    pub dh1: [u8; 32],
    /// DH(EK_A, IK_B).
    pub dh2: [u8; 32],
    /// DH(EK_A, SPK_B).
    pub dh3: [u8; 32],
    /// The shared secret SK.
    pub sk: [u8; 32],
}

fn values(out: &X3dhOutput) -> DangerousX3dhValues {
    DangerousX3dhValues {
        dh1: *out.dh[0],
        dh2: *out.dh[1],
        dh3: *out.dh[2],
        sk: *out.shared.as_bytes(),
    }
}

/// The bundle signature material without the label.
pub fn bundle_signature_material(bundle: &VerifiedBundle) -> Vec<u8> {
    bundle::signature_material(bundle.prekeys(), bundle.timestamp_ns())
}

/// `SK` from the three DH outputs.
pub fn dangerous_x3dh_secret(dh1: &[u8; 32], dh2: &[u8; 32], dh3: &[u8; 32]) -> [u8; 32] {
    *kdf::x3dh_secret(dh1, dh2, dh3).as_bytes()
}

/// `KDF_RK(rk, dh)` = (new root key, chain key).
pub fn dangerous_kdf_rk(root_key: &[u8; 32], dh: &[u8; 32]) -> ([u8; 32], [u8; 32]) {
    let (rk, ck) = kdf::kdf_rk(root_key, dh);
    (*rk.as_bytes(), *ck.as_bytes())
}

/// `KDF_CK(ck)` = (message key, next chain key).
pub fn dangerous_kdf_ck(chain_key: &[u8; 32]) -> ([u8; 32], [u8; 32]) {
    let (mk, ck) = kdf::kdf_ck(&ChainKey(*chain_key));
    (*mk.as_bytes(), *ck.as_bytes())
}

/// The AES-256-GCM key and nonce of a message key.
pub fn dangerous_message_key_expansion(message_key: &[u8; 32]) -> ([u8; 32], [u8; 12]) {
    let k = kdf::message_cipher_key(&MessageKey(*message_key));
    (*k.key, k.nonce)
}

/// X25519 (raw bytes), all-zero output refused.
pub fn dangerous_x25519(secret: &[u8; 32], public: &[u8; 32]) -> Result<[u8; 32], NonContributory> {
    crate::keys::diffie_hellman(
        &StaticSecret::from(*secret),
        &X25519PublicKey::from_bytes(*public),
    )
    .map(|z| *z)
}

/// The public key of an X25519 secret.
pub fn x25519_public(secret: &[u8; 32]) -> [u8; 32] {
    crate::keys::public_of(&StaticSecret::from(*secret)).to_bytes()
}

/// [`Session::initiate`] with a caller-chosen ephemeral and first ratchet key.
pub fn initiate_with_fixed_keys_for_testing_only(
    ours: &IdentityKeyPair,
    their_identity: &IdentityPublicKey,
    their_prekey: &X25519PublicKey,
    ephemeral_secret: [u8; 32],
    ratchet_secret: [u8; 32],
) -> Result<(Session, DangerousX3dhValues), NonContributory> {
    let (session, out) = Session::initiate_with(
        ours,
        their_identity,
        &PreparedPoint::from_identity(their_identity),
        their_prekey,
        &PreparedPoint::from_x25519(their_prekey),
        StaticSecret::from(ephemeral_secret),
        StaticSecret::from(ratchet_secret),
    )?;
    Ok((session, values(&out)))
}

/// The responder's X3DH and initial state, without decrypting a first message.
pub fn respond_with_fixed_keys_for_testing_only(
    ours: &IdentityKeyPair,
    prekey_secret: [u8; 32],
    their_identity: &IdentityPublicKey,
    their_ephemeral: &X25519PublicKey,
) -> Result<(Session, DangerousX3dhValues), NonContributory> {
    let (session, out, _) = Session::respond_with(
        ours,
        &StaticSecret::from(prekey_secret),
        None,
        their_identity,
        &PreparedPoint::from_identity(their_identity),
        their_ephemeral,
        None,
    )?;
    Ok((session, values(&out)))
}

/// [`Session::encrypt`] where a pending DH step uses `ratchet_secret` instead of drawing a
/// key. Returns whether the key was used (false when no step was pending).
pub fn encrypt_with_fixed_ratchet_key_for_testing_only(
    session: &mut Session,
    ratchet_secret: [u8; 32],
    plaintext: &[u8],
) -> Result<(EncryptedMessage, bool), EncryptError> {
    if session.sending.is_none() {
        let their = session.their_ratchet.ok_or(EncryptError::NotReadyToSend)?;
        let ratchet = RatchetKeyPair::from_secret(StaticSecret::from(ratchet_secret));
        return Ok((
            session.encrypt_after_step(ratchet, &their, plaintext)?,
            true,
        ));
    }
    let mut unused = NoRng;
    Ok((session.encrypt(&mut unused, plaintext)?, false))
}

/// A view of a session's secrets.
#[derive(Clone, PartialEq, Eq)]
pub struct DangerousSnapshot {
    /// Root key.
    pub root_key: [u8; 32],
    /// Our ratchet public key.
    pub our_ratchet_public: [u8; 32],
    /// Sending chain key and next n.
    pub sending: Option<([u8; 32], u32)>,
    /// PN.
    pub previous_n: u32,
    /// Receiving ratchet key, chain key and next n.
    pub receiving: Option<([u8; 32], [u8; 32], u64)>,
}

/// The secrets of a session.
pub fn dangerous_snapshot(session: &Session) -> DangerousSnapshot {
    DangerousSnapshot {
        root_key: *session.root_key.as_bytes(),
        our_ratchet_public: session.ours.public.to_bytes(),
        sending: session
            .sending
            .as_ref()
            .map(|s| (*s.chain_key.as_bytes(), s.n)),
        previous_n: session.previous_n,
        receiving: session
            .receiving
            .as_ref()
            .map(|r| (r.ratchet_key.to_bytes(), *r.chain_key.as_bytes(), r.n)),
    }
}

/// Sets the sending counter, to test its exhaustion.
pub fn set_sending_counter_for_testing_only(session: &mut Session, n: u32) {
    if let Some(s) = session.sending.as_mut() {
        s.n = n;
    }
}

/// An RNG that is never called (a DH step is not pending).
struct NoRng;

impl rand_core::TryRng for NoRng {
    type Error = core::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(0)
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        Ok(0)
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        dst.fill(0);
        Ok(())
    }
}

impl rand_core::TryCryptoRng for NoRng {}
