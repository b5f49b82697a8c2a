//! X3DH (no one-time prekey) and the Double Ratchet of DESIGN.md, with skipped message
//! keys, commit-on-success decryption and replay rejection.

use std::collections::{BTreeMap, HashMap};

use aes_gcm::aead::inout::InOutBuf;
use aes_gcm::{AeadInOut, Aes256Gcm, KeyInit, Nonce, Tag};
use rand_core::CryptoRng;
use status_identity::{IdentityKeyPair, IdentityPublicKey};
use x25519_dalek::StaticSecret;
use zeroize::Zeroizing;

use crate::bundle::VerifiedBundle;
use crate::kdf::{self, ChainKey, MessageKey, RootKey};
use crate::keys::{
    InstallationId, Job, NonContributory, PreparedPoint, RatchetKeyPair, SignedPreKeyPair,
    X25519PublicKey, diffie_hellman_batch, public_of, random_secret, x25519_batch,
};
use crate::message::{DrHeader, EncryptedMessage, HEADER_LENGTH, TAG_LENGTH, X3dhHeader};

/// Most message keys skipped in one chain by one message (DESIGN.md rule 5): a gap of
/// 1000 is accepted, 1001 is rejected.
pub const MAX_SKIP_PER_CHAIN: u64 = 1000;

/// Most skipped message keys stored per session; the oldest are evicted first.
pub const MAX_SKIPPED_KEYS: usize = 2000;

/// Length of the associated data `AD = IK_initiator || IK_responder`.
pub const ASSOCIATED_DATA_LENGTH: usize = 64;

/// Why X3DH could not start a session.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum X3dhError {
    /// The bundle has no prekey for this installation.
    #[error("bundle has no prekey for installation {0}")]
    UnknownInstallation(InstallationId),
    /// A Diffie-Hellman output was all zero.
    #[error("Diffie-Hellman output is all zero")]
    NonContributory,
}

/// Why a first message could not start a responder session.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RespondError {
    /// The message has no X3DH header.
    #[error("message has no X3DH header")]
    MissingX3dhHeader,
    /// The message was made for another signed prekey than ours.
    #[error("message is for another signed prekey")]
    WrongPreKey,
    /// A Diffie-Hellman output was all zero.
    #[error("Diffie-Hellman output is all zero")]
    NonContributory,
    /// The first message did not decrypt; no session was created.
    #[error("first message rejected: {0}")]
    Decrypt(#[from] DecryptError),
}

/// Why a message could not be encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncryptError {
    /// The responder has not received a message yet, so it has no sending chain.
    #[error("cannot send before receiving (responder)")]
    NotReadyToSend,
    /// The sending counter would pass `u32::MAX`.
    #[error("sending chain exhausted")]
    CounterExhausted,
    /// The peer's ratchet key gives an all-zero Diffie-Hellman output.
    #[error("Diffie-Hellman output is all zero")]
    NonContributory,
    /// The plaintext is too long for AES-GCM.
    #[error("plaintext too long")]
    TooLong,
}

/// Why a message was rejected. A rejected message changes nothing in the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecryptError {
    /// The message names another session (its bundle id is not this session's).
    #[error("message belongs to another session")]
    WrongSession,
    /// The payload is shorter than the tag.
    #[error("payload shorter than the tag")]
    PayloadTooShort,
    /// The message number is already used in this chain and no key is stored for it:
    /// a replay or a duplicate.
    #[error("message {n} already received (replay or duplicate)")]
    Replay {
        /// The message number.
        n: u32,
    },
    /// The message would skip more than [`MAX_SKIP_PER_CHAIN`] keys in one chain.
    #[error("gap of {gap} messages exceeds {max}")]
    TooBigGap {
        /// Keys that would be skipped.
        gap: u64,
        /// The maximum.
        max: u64,
    },
    /// The peer's ratchet key gives an all-zero Diffie-Hellman output.
    #[error("Diffie-Hellman output is all zero")]
    NonContributory,
    /// Authentication failed: forged, tampered, or not for this session.
    #[error("message authentication failed")]
    Authentication,
}

impl From<NonContributory> for X3dhError {
    fn from(_: NonContributory) -> Self {
        X3dhError::NonContributory
    }
}

impl From<NonContributory> for RespondError {
    fn from(_: NonContributory) -> Self {
        RespondError::NonContributory
    }
}

/// Which side of X3DH this session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// We fetched the peer's bundle and sent the first message.
    Initiator,
    /// We answered a first message made with our signed prekey.
    Responder,
}

pub(crate) struct SendingChain {
    pub(crate) chain_key: ChainKey,
    pub(crate) n: u32,
}

pub(crate) struct ReceivingChain {
    pub(crate) ratchet_key: X25519PublicKey,
    pub(crate) chain_key: ChainKey,
    /// Next expected message number; u64 so that `u32::MAX + 1` fits.
    pub(crate) n: u64,
}

/// Skipped message keys, at most [`MAX_SKIPPED_KEYS`], evicted first-in first-out.
#[derive(Default)]
pub(crate) struct SkippedKeys {
    by_id: HashMap<(X25519PublicKey, u32), (u64, MessageKey)>,
    order: BTreeMap<u64, (X25519PublicKey, u32)>,
    next_seq: u64,
}

impl SkippedKeys {
    pub(crate) fn len(&self) -> usize {
        self.by_id.len()
    }

    fn get(&self, ratchet_key: &X25519PublicKey, n: u32) -> Option<&MessageKey> {
        self.by_id.get(&(*ratchet_key, n)).map(|(_, mk)| mk)
    }

    fn remove(&mut self, ratchet_key: &X25519PublicKey, n: u32) {
        if let Some((seq, _)) = self.by_id.remove(&(*ratchet_key, n)) {
            self.order.remove(&seq);
        }
    }

    /// Inserts a key, evicting the oldest when full. Returns false for a duplicate id
    /// (the old key is kept).
    pub(crate) fn push(&mut self, ratchet_key: X25519PublicKey, n: u32, mk: MessageKey) -> bool {
        if self.by_id.contains_key(&(ratchet_key, n)) {
            return false;
        }
        while self.by_id.len() >= MAX_SKIPPED_KEYS {
            match self.order.pop_first() {
                Some((_, id)) => {
                    self.by_id.remove(&id);
                }
                None => break,
            }
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.by_id.insert((ratchet_key, n), (seq, mk));
        self.order.insert(seq, (ratchet_key, n));
        true
    }

    /// Oldest first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&X25519PublicKey, u32, &MessageKey)> {
        self.order
            .values()
            .filter_map(|id| self.by_id.get(id).map(|(_, mk)| (&id.0, id.1, mk)))
    }
}

/// A Double Ratchet session with one installation of a peer.
///
/// Not `Clone` (a copied sending ratchet would reuse message keys) and no `Debug` of
/// secrets. Persist it with [`Session::to_bytes`] in the same transaction as the message
/// it sent or received.
pub struct Session {
    pub(crate) role: Role,
    pub(crate) ad: [u8; ASSOCIATED_DATA_LENGTH],
    pub(crate) bundle_id: X25519PublicKey,
    pub(crate) root_key: RootKey,
    /// Our ratchet key pair `DHs` (the responder's starts as its signed prekey).
    pub(crate) ours: RatchetKeyPair,
    /// `None` after a DH step from the peer: the next send generates a new ratchet key.
    pub(crate) sending: Option<SendingChain>,
    /// `PN`: the length of our previous sending chain.
    pub(crate) previous_n: u32,
    /// `DHr`: the peer's ratchet key (the initiator starts with the responder's prekey).
    pub(crate) their_ratchet: Option<X25519PublicKey>,
    /// `their_ratchet` prepared for our next DH step (a cache, not stored).
    pub(crate) their_point: Option<PreparedPoint>,
    pub(crate) receiving: Option<ReceivingChain>,
    /// Sent with every message until the peer's first message is received.
    pub(crate) x3dh: Option<X3dhHeader>,
    pub(crate) skipped: SkippedKeys,
}

impl core::fmt::Debug for Session {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Session")
            .field("role", &self.role)
            .field("bundle_id", &self.bundle_id)
            .field("skipped_keys", &self.skipped.len())
            .finish_non_exhaustive()
    }
}

fn associated_data(
    initiator: &IdentityPublicKey,
    responder: &IdentityPublicKey,
) -> [u8; ASSOCIATED_DATA_LENGTH] {
    let mut ad = [0u8; ASSOCIATED_DATA_LENGTH];
    ad[..32].copy_from_slice(initiator.as_bytes());
    ad[32..].copy_from_slice(responder.as_bytes());
    ad
}

/// The X3DH values of one run, for the known-answer vectors.
pub(crate) struct X3dhOutput {
    pub(crate) dh: [Zeroizing<[u8; 32]>; 3],
    pub(crate) shared: kdf::SharedKey,
}

/// Initiator side: DH1 = DH(IK_A, SPK_B), DH2 = DH(EK_A, IK_B), DH3 = DH(EK_A, SPK_B),
/// and the first ratchet DH(R_A, SPK_B), computed together.
/// Also returns the first ratchet DH output and the public keys of the ephemeral and
/// ratchet secrets (all in one batch).
pub(crate) fn x3dh_initiator(
    ours: &IdentityKeyPair,
    ephemeral: &StaticSecret,
    ratchet: &StaticSecret,
    their_identity: &PreparedPoint,
    their_prekey: &PreparedPoint,
) -> Result<InitiatorOutput, NonContributory> {
    let identity_secret = ours.x25519_secret();
    let [dh1, dh2, dh3, first, ephemeral_public, ratchet_public] = x25519_batch([
        Job::Dh(&identity_secret, their_prekey),
        Job::Dh(ephemeral, their_identity),
        Job::Dh(ephemeral, their_prekey),
        Job::Dh(ratchet, their_prekey),
        Job::Public(ephemeral),
        Job::Public(ratchet),
    ])?;
    let shared = kdf::x3dh_secret(&dh1, &dh2, &dh3);
    Ok(InitiatorOutput {
        x3dh: X3dhOutput {
            dh: [dh1, dh2, dh3],
            shared,
        },
        first,
        ephemeral_public: X25519PublicKey::from_bytes(*ephemeral_public),
        ratchet_public: X25519PublicKey::from_bytes(*ratchet_public),
    })
}

pub(crate) struct InitiatorOutput {
    x3dh: X3dhOutput,
    first: Zeroizing<[u8; 32]>,
    ephemeral_public: X25519PublicKey,
    ratchet_public: X25519PublicKey,
}

/// Responder side: the same three values from the other halves.
/// With `their_ratchet`, also the DH of the first message's ratchet key with our signed
/// prekey (the first receiving chain), in the same batch.
pub(crate) fn x3dh_responder(
    ours: &IdentityKeyPair,
    prekey: &StaticSecret,
    their_identity: &PreparedPoint,
    their_ephemeral: &X25519PublicKey,
    their_ratchet: Option<&X25519PublicKey>,
) -> Result<(X3dhOutput, Option<PrecomputedDh>), NonContributory> {
    let identity_secret = ours.x25519_secret();
    let ephemeral = PreparedPoint::from_x25519(their_ephemeral);
    let (dh1, dh2, dh3, first) = match their_ratchet {
        Some(ratchet) => {
            let point = PreparedPoint::from_x25519(ratchet);
            let [dh1, dh2, dh3, first] = diffie_hellman_batch([
                (prekey, their_identity),
                (&identity_secret, &ephemeral),
                (prekey, &ephemeral),
                (prekey, &point),
            ])?;
            (dh1, dh2, dh3, Some((point, first)))
        }
        None => {
            let [dh1, dh2, dh3] = diffie_hellman_batch([
                (prekey, their_identity),
                (&identity_secret, &ephemeral),
                (prekey, &ephemeral),
            ])?;
            (dh1, dh2, dh3, None)
        }
    };
    let shared = kdf::x3dh_secret(&dh1, &dh2, &dh3);
    Ok((
        X3dhOutput {
            dh: [dh1, dh2, dh3],
            shared,
        },
        first,
    ))
}

/// A peer ratchet key prepared, and our DH output with it.
pub(crate) type PrecomputedDh = (PreparedPoint, Zeroizing<[u8; 32]>);

/// AES-256-GCM of `plaintext` under the key and nonce of `mk`, with `AD || header` as
/// associated data; returns `ciphertext || tag`.
fn seal(
    mk: &MessageKey,
    ad: &[u8; ASSOCIATED_DATA_LENGTH],
    header: &[u8; HEADER_LENGTH],
    plaintext: &[u8],
) -> Result<Vec<u8>, EncryptError> {
    let keys = kdf::message_cipher_key(mk);
    let cipher = Aes256Gcm::new((&*keys.key).into());
    let aad = full_ad(ad, header);
    let mut out = vec![0u8; plaintext.len() + TAG_LENGTH];
    let (body, tag_out) = out.split_at_mut(plaintext.len());
    let buf = InOutBuf::new(plaintext, body).map_err(|_| EncryptError::TooLong)?;
    let tag = cipher
        .encrypt_inout_detached(&Nonce::from(keys.nonce), &aad, buf)
        .map_err(|_| EncryptError::TooLong)?;
    tag_out.copy_from_slice(&tag);
    Ok(out)
}

/// Opens `ciphertext || tag`; on failure nothing is returned.
fn open(
    mk: &MessageKey,
    ad: &[u8; ASSOCIATED_DATA_LENGTH],
    header: &[u8; HEADER_LENGTH],
    payload: &[u8],
) -> Result<Vec<u8>, DecryptError> {
    let split = payload
        .len()
        .checked_sub(TAG_LENGTH)
        .ok_or(DecryptError::PayloadTooShort)?;
    let (ciphertext, tag) = payload.split_at(split);
    let tag = Tag::try_from(tag).map_err(|_| DecryptError::PayloadTooShort)?;
    let keys = kdf::message_cipher_key(mk);
    let cipher = Aes256Gcm::new((&*keys.key).into());
    let aad = full_ad(ad, header);
    let mut out = vec![0u8; ciphertext.len()];
    let buf = InOutBuf::new(ciphertext, &mut out).map_err(|_| DecryptError::Authentication)?;
    cipher
        .decrypt_inout_detached(&Nonce::from(keys.nonce), &aad, buf, &tag)
        .map_err(|_| DecryptError::Authentication)?;
    Ok(out)
}

fn full_ad(
    ad: &[u8; ASSOCIATED_DATA_LENGTH],
    header: &[u8; HEADER_LENGTH],
) -> [u8; ASSOCIATED_DATA_LENGTH + HEADER_LENGTH] {
    let mut out = [0u8; ASSOCIATED_DATA_LENGTH + HEADER_LENGTH];
    out[..ASSOCIATED_DATA_LENGTH].copy_from_slice(ad);
    out[ASSOCIATED_DATA_LENGTH..].copy_from_slice(header);
    out
}

/// Derives the message keys `from..to` of a chain into a list, and the chain key after
/// them. `to - from` must already be checked against [`MAX_SKIP_PER_CHAIN`].
fn skip(
    chain_key: &ChainKey,
    ratchet_key: X25519PublicKey,
    from: u64,
    to: u64,
    out: &mut Vec<(X25519PublicKey, u32, MessageKey)>,
) -> ChainKey {
    let mut ck = chain_key.clone();
    let mut i = from;
    while i < to {
        let (mk, next) = kdf::kdf_ck(&ck);
        // i < to <= u32::MAX + 1, so i fits a u32.
        out.push((ratchet_key, u32::try_from(i).unwrap_or(u32::MAX), mk));
        ck = next;
        i += 1;
    }
    ck
}

impl Session {
    /// Starts a session as initiator with installation `installation` of a verified bundle:
    /// X3DH with a fresh ephemeral key, then the first ratchet key (fresh too, not the
    /// ephemeral key). Messages carry the X3DH header until the peer answers.
    pub fn initiate<R: CryptoRng + ?Sized>(
        rng: &mut R,
        ours: &IdentityKeyPair,
        their_bundle: &VerifiedBundle,
        installation: &InstallationId,
    ) -> Result<Session, X3dhError> {
        let (prekey, prekey_point) = their_bundle
            .prepared_prekey(installation)
            .ok_or_else(|| X3dhError::UnknownInstallation(installation.clone()))?;
        let ephemeral = random_secret(rng);
        let ratchet = random_secret(rng);
        Ok(Self::initiate_with(
            ours,
            their_bundle.identity(),
            their_bundle.prepared_identity(),
            &prekey.key,
            prekey_point,
            ephemeral,
            ratchet,
        )?
        .0)
    }

    /// The prepared points are those of `their_identity` and `prekey` (a verified bundle
    /// computes them once).
    pub(crate) fn initiate_with(
        ours: &IdentityKeyPair,
        their_identity: &IdentityPublicKey,
        their_identity_point: &PreparedPoint,
        prekey: &X25519PublicKey,
        prekey_point: &PreparedPoint,
        ephemeral: StaticSecret,
        ratchet: StaticSecret,
    ) -> Result<(Session, X3dhOutput), NonContributory> {
        let out = x3dh_initiator(
            ours,
            &ephemeral,
            &ratchet,
            their_identity_point,
            prekey_point,
        )?;
        let (root_key, chain_key) = kdf::kdf_rk(out.x3dh.shared.as_bytes(), &out.first);
        let ratchet = RatchetKeyPair {
            secret: ratchet,
            public: out.ratchet_public,
        };
        let session = Session {
            role: Role::Initiator,
            ad: associated_data(ours.public_key(), their_identity),
            bundle_id: *prekey,
            root_key,
            ours: ratchet,
            sending: Some(SendingChain { chain_key, n: 0 }),
            previous_n: 0,
            their_ratchet: Some(*prekey),
            their_point: Some(prekey_point.clone()),
            receiving: None,
            x3dh: Some(X3dhHeader {
                ephemeral_key: out.ephemeral_public,
                signed_pre_key: *prekey,
            }),
            skipped: SkippedKeys::default(),
        };
        Ok((session, out.x3dh))
    }

    /// Answers a first message as responder: X3DH with our signed prekey and the
    /// initiator's verified bundle (which names the initiator's identity, rule 2), then
    /// decrypts the message. The session exists only if the message decrypts.
    ///
    /// The caller must make sure the same first message is not answered twice (a second
    /// call would build a second, equal session).
    pub fn respond(
        ours: &IdentityKeyPair,
        our_prekey: &SignedPreKeyPair,
        their_bundle: &VerifiedBundle,
        message: &EncryptedMessage,
    ) -> Result<(Session, Vec<u8>), RespondError> {
        let x3dh = message.x3dh.ok_or(RespondError::MissingX3dhHeader)?;
        let prekey = our_prekey.public().key;
        if x3dh.signed_pre_key != prekey || message.header.bundle_id != prekey {
            return Err(RespondError::WrongPreKey);
        }
        let (mut session, _, first) = Self::respond_with(
            ours,
            our_prekey.secret(),
            Some(prekey),
            their_bundle.identity(),
            their_bundle.prepared_identity(),
            &x3dh.ephemeral_key,
            Some(&message.header.ratchet_key),
        )?;
        let plaintext = session.decrypt_with(message, first)?;
        Ok((session, plaintext))
    }

    /// `prekey_public` is the public key of `prekey` when the caller knows it (saves a
    /// base-point multiplication).
    pub(crate) fn respond_with(
        ours: &IdentityKeyPair,
        prekey: &StaticSecret,
        prekey_public: Option<X25519PublicKey>,
        their_identity: &IdentityPublicKey,
        their_identity_point: &PreparedPoint,
        their_ephemeral: &X25519PublicKey,
        their_ratchet: Option<&X25519PublicKey>,
    ) -> Result<(Session, X3dhOutput, Option<PrecomputedDh>), NonContributory> {
        let (x3dh, first) = x3dh_responder(
            ours,
            prekey,
            their_identity_point,
            their_ephemeral,
            their_ratchet,
        )?;
        let bundle_id = prekey_public.unwrap_or_else(|| public_of(prekey));
        let session = Session {
            role: Role::Responder,
            ad: associated_data(their_identity, ours.public_key()),
            bundle_id,
            root_key: RootKey(*x3dh.shared.as_bytes()),
            ours: RatchetKeyPair {
                secret: prekey.clone(),
                public: bundle_id,
            },
            sending: None,
            previous_n: 0,
            their_ratchet: None,
            their_point: None,
            receiving: None,
            x3dh: None,
            skipped: SkippedKeys::default(),
        };
        Ok((session, x3dh, first))
    }

    /// Which side of X3DH we are.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The associated data `IK_initiator || IK_responder`.
    pub fn associated_data(&self) -> &[u8; ASSOCIATED_DATA_LENGTH] {
        &self.ad
    }

    /// The bundle id (the responder's signed prekey) naming this session.
    pub fn bundle_id(&self) -> &X25519PublicKey {
        &self.bundle_id
    }

    /// True once the initiator has received a message from the responder (then its
    /// messages stop carrying the X3DH header). Always true for the responder.
    pub fn is_confirmed(&self) -> bool {
        self.x3dh.is_none()
    }

    /// Number of skipped message keys stored.
    pub fn skipped_keys(&self) -> usize {
        self.skipped.len()
    }

    /// True if [`Session::encrypt`] can send now (false for a responder before its first
    /// received message, which cannot happen through [`Session::respond`]).
    pub fn can_send(&self) -> bool {
        self.sending.is_some() || self.their_ratchet.is_some()
    }

    /// Encrypts `plaintext` for the peer. After a DH step from the peer this draws a new
    /// ratchet key (32 bytes from `rng`); otherwise `rng` is not used.
    pub fn encrypt<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        plaintext: &[u8],
    ) -> Result<EncryptedMessage, EncryptError> {
        if self.sending.is_none() {
            let their = self.their_ratchet.ok_or(EncryptError::NotReadyToSend)?;
            let ratchet = RatchetKeyPair::generate(rng);
            return self.encrypt_after_step(ratchet, &their, plaintext);
        }
        let Some(chain) = self.sending.as_mut() else {
            return Err(EncryptError::NotReadyToSend);
        };
        if chain.n == u32::MAX {
            return Err(EncryptError::CounterExhausted);
        }
        let (mk, next) = kdf::kdf_ck(&chain.chain_key);
        let header = DrHeader {
            ratchet_key: self.ours.public,
            n: chain.n,
            pn: self.previous_n,
            bundle_id: self.bundle_id,
        };
        let payload = seal(&mk, &self.ad, &header.to_bytes(), plaintext)?;
        chain.chain_key = next;
        chain.n += 1;
        Ok(EncryptedMessage {
            x3dh: self.x3dh,
            header,
            payload,
        })
    }

    /// The DH step of a first send after receiving a new ratchet key, computed into
    /// temporaries and committed with the message.
    pub(crate) fn encrypt_after_step(
        &mut self,
        ratchet: RatchetKeyPair,
        their: &X25519PublicKey,
        plaintext: &[u8],
    ) -> Result<EncryptedMessage, EncryptError> {
        let dh = match &self.their_point {
            Some(point) => point.diffie_hellman(&ratchet.secret),
            None => PreparedPoint::from_x25519(their).diffie_hellman(&ratchet.secret),
        }
        .map_err(|_| EncryptError::NonContributory)?;
        let (root_key, chain_key) = kdf::kdf_rk(self.root_key.as_bytes(), &dh);
        let (mk, next) = kdf::kdf_ck(&chain_key);
        let header = DrHeader {
            ratchet_key: ratchet.public,
            n: 0,
            pn: self.previous_n,
            bundle_id: self.bundle_id,
        };
        let payload = seal(&mk, &self.ad, &header.to_bytes(), plaintext)?;
        self.root_key = root_key;
        self.ours = ratchet;
        self.sending = Some(SendingChain {
            chain_key: next,
            n: 1,
        });
        Ok(EncryptedMessage {
            x3dh: self.x3dh,
            header,
            payload,
        })
    }

    /// Decrypts a message from the peer. On any error the session is unchanged (keys are
    /// derived into temporaries and kept only once the tag checks). A skipped key is used
    /// once and deleted; a replayed message is rejected.
    pub fn decrypt(&mut self, message: &EncryptedMessage) -> Result<Vec<u8>, DecryptError> {
        self.decrypt_with(message, None)
    }

    /// [`Session::decrypt`], with the DH output of a new ratchet key already computed.
    fn decrypt_with(
        &mut self,
        message: &EncryptedMessage,
        precomputed: Option<PrecomputedDh>,
    ) -> Result<Vec<u8>, DecryptError> {
        let header = &message.header;
        if header.bundle_id != self.bundle_id {
            return Err(DecryptError::WrongSession);
        }
        if message.payload.len() < TAG_LENGTH {
            return Err(DecryptError::PayloadTooShort);
        }
        let header_bytes = header.to_bytes();
        let key = header.ratchet_key;

        // A key skipped earlier.
        if let Some(mk) = self.skipped.get(&key, header.n) {
            let plaintext = open(mk, &self.ad, &header_bytes, &message.payload)?;
            self.skipped.remove(&key, header.n);
            self.x3dh = None;
            return Ok(plaintext);
        }

        let mut new_skipped = Vec::new();
        let n = u64::from(header.n);

        // The current receiving chain.
        if let Some(chain) = self.receiving.as_ref()
            && chain.ratchet_key == key
        {
            if n < chain.n {
                return Err(DecryptError::Replay { n: header.n });
            }
            let gap = n - chain.n;
            if gap > MAX_SKIP_PER_CHAIN {
                return Err(DecryptError::TooBigGap {
                    gap,
                    max: MAX_SKIP_PER_CHAIN,
                });
            }
            let ck = skip(&chain.chain_key, key, chain.n, n, &mut new_skipped);
            let (mk, next) = kdf::kdf_ck(&ck);
            let plaintext = open(&mk, &self.ad, &header_bytes, &message.payload)?;
            // Commit.
            if let Some(chain) = self.receiving.as_mut() {
                chain.chain_key = next;
                chain.n = n + 1;
            }
            for (k, i, mk) in new_skipped {
                self.skipped.push(k, i, mk);
            }
            self.x3dh = None;
            return Ok(plaintext);
        }

        // A new ratchet key: finish the old receiving chain up to `pn`, DH step, then the
        // new chain up to `n`.
        if n > MAX_SKIP_PER_CHAIN {
            return Err(DecryptError::TooBigGap {
                gap: n,
                max: MAX_SKIP_PER_CHAIN,
            });
        }
        if let Some(chain) = self.receiving.as_ref() {
            let pn = u64::from(header.pn);
            if pn > chain.n {
                let gap = pn - chain.n;
                if gap > MAX_SKIP_PER_CHAIN {
                    return Err(DecryptError::TooBigGap {
                        gap,
                        max: MAX_SKIP_PER_CHAIN,
                    });
                }
                skip(
                    &chain.chain_key,
                    chain.ratchet_key,
                    chain.n,
                    pn,
                    &mut new_skipped,
                );
            }
        }
        let (point, dh) = match precomputed {
            Some((point, dh)) if point.is_key(&key) => (point, dh),
            _ => {
                let point = PreparedPoint::from_x25519(&key);
                let dh = point
                    .diffie_hellman(&self.ours.secret)
                    .map_err(|_| DecryptError::NonContributory)?;
                (point, dh)
            }
        };
        let (root_key, chain_key) = kdf::kdf_rk(self.root_key.as_bytes(), &dh);
        let ck = skip(&chain_key, key, 0, n, &mut new_skipped);
        let (mk, next) = kdf::kdf_ck(&ck);
        let plaintext = open(&mk, &self.ad, &header_bytes, &message.payload)?;
        // Commit: the receiving chain; our new ratchet key and sending chain wait for the
        // next send (rule 6: only after the message decrypted).
        self.root_key = root_key;
        self.receiving = Some(ReceivingChain {
            ratchet_key: key,
            chain_key: next,
            n: n + 1,
        });
        self.their_ratchet = Some(key);
        self.their_point = Some(point);
        if let Some(sending) = self.sending.take() {
            self.previous_n = sending.n;
        }
        for (k, i, mk) in new_skipped {
            self.skipped.push(k, i, mk);
        }
        self.x3dh = None;
        Ok(plaintext)
    }
}
