//! Links between two devices of the same person: a 37 Noise session set up by a 43
//! pairing, used to sync the installation list and the contacts' bundles.
//!
//! Both devices use the X25519 form of their (shared) identity key as Noise static key
//! ([`noise_static_key`]). The 43 pairing (status-noise's `PairingResponder` on the device
//! showing the QR code, `PairingInitiator` on the one scanning it) proves each side knows
//! its static key; [`DeviceLink::new`] then checks that the peer's static key **is our own
//! identity's**, so a link is only ever made with a device of the same person.
//!
//! Over the link each side sends a [`DeviceLink::sync_message`]: its installation id and
//! description, our bundle (listing its prekey) and the newest bundle of every contact,
//! and the enabled state of the installations it knows. [`DeviceLink::receive`] learns the
//! bundles, **enables the linked device** (pairing is the person's consent; refused with
//! [`InstallationError::TooManyInstallations`] beyond the maximum), records its
//! description and applies its enabled flags. Messages travel as `PayloadV2` on the
//! session's 37 content topic `/status-rs/1/wakunoise/1/sessions/{ct-id}/proto`.

use status_identity::IdentityKeyPair;
use status_noise::{Keypair, PayloadV2, SessionId, TransportSession};
use zeroize::Zeroizing;

use crate::InstallationId;
use crate::codec::{Reader, RecordError, Writer};
use crate::manager::{
    DeviceInfo, Event, InstallationError, MAX_INSTALLATIONS_PER_PEER, MAX_NAME_BYTES,
    OutgoingMessage, SessionManager,
};
use crate::store::StoreChanges;
use crate::topics::{APP_NAME, APP_VERSION, ContentTopic};

/// Most bundles in one sync message (ours and one per contact); the rest are left out.
pub const MAX_SYNC_BUNDLES: usize = 256;
/// Largest sync message accepted, in bytes.
pub const MAX_SYNC_BYTES: usize = 128 * 1024;

const SYNC_VERSION: u8 = 1;

/// Why a link operation failed. Nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LinkError {
    /// The peer's Noise static key is not our identity's: not a device of ours.
    #[error("the linked device does not hold our identity")]
    NotSameIdentity,
    /// The Noise transport rejected the message (bad nametag, forged, replayed).
    #[error("noise transport: {0}")]
    Transport(status_noise::TransportError),
    /// The payload is not a valid `PayloadV2`.
    #[error("malformed PayloadV2")]
    Decode,
    /// The sync message is malformed.
    #[error("malformed sync message: {0}")]
    Record(#[from] RecordError),
    /// The serialized link is malformed.
    #[error("malformed link state")]
    State,
}

/// The Noise static key of every device of `identity`: the X25519 form of the identity.
pub fn noise_static_key(identity: &IdentityKeyPair) -> Keypair {
    Keypair::from_secret_bytes(identity.x25519_secret().to_bytes())
}

/// What a received sync message changed.
#[derive(Debug, Clone)]
pub struct SyncOutcome {
    /// The linked device's installation.
    pub installation: InstallationId,
    /// What to persist.
    pub changes: StoreChanges,
    /// What happened (installations and contacts learned …).
    pub events: Vec<Event>,
    /// Set if the linked device could not be enabled (too many installations).
    pub refused: Option<InstallationError>,
}

/// A Noise session with another device of ours.
pub struct DeviceLink {
    session: TransportSession,
}

impl core::fmt::Debug for DeviceLink {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DeviceLink")
            .field("session_id", &self.session.session_id())
            .finish_non_exhaustive()
    }
}

impl DeviceLink {
    /// Wraps the transport session of a finished 43 pairing, checking that the other
    /// device's static key is our identity's.
    pub fn new(identity: &IdentityKeyPair, session: TransportSession) -> Result<Self, LinkError> {
        use subtle::ConstantTimeEq;
        let ours = identity.public_key().to_x25519();
        if !bool::from(session.remote_static().ct_eq(ours.as_bytes())) {
            return Err(LinkError::NotSameIdentity);
        }
        Ok(DeviceLink { session })
    }

    /// The 37 session id.
    pub fn session_id(&self) -> SessionId {
        self.session.session_id()
    }

    /// The 37 content topic of this link.
    pub fn content_topic(&self) -> ContentTopic {
        ContentTopic::new(self.session.content_topic(APP_NAME, APP_VERSION))
    }

    /// The link state for the store (the Noise session; secrets, zeroized on drop).
    /// Persist it after every [`DeviceLink::sync_message`] and [`DeviceLink::receive`].
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        self.session.to_bytes()
    }

    /// Restores a link saved with [`DeviceLink::to_bytes`].
    pub fn from_bytes(identity: &IdentityKeyPair, bytes: &[u8]) -> Result<Self, LinkError> {
        let session = TransportSession::from_bytes(bytes).map_err(|_| LinkError::State)?;
        Self::new(identity, session)
    }

    /// A sync message for the other device (a version-2 Waku payload on
    /// [`DeviceLink::content_topic`]). Persist [`DeviceLink::to_bytes`] before sending.
    pub fn sync_message(&mut self, manager: &SessionManager) -> Result<OutgoingMessage, LinkError> {
        let own = *manager.identity();
        let mut w = Writer::new(SYNC_VERSION);
        w.str(manager.installation_id().as_str());
        w.opt_str(manager.device_info().name.as_deref());
        w.opt_str(manager.device_info().device_type.as_deref());
        let bundles = manager.known_bundles(MAX_SYNC_BUNDLES);
        w.count(bundles.len());
        for b in &bundles {
            w.bytes(b);
        }
        let installations = manager.installations(&own);
        w.count(installations.len());
        for i in &installations {
            w.str(i.id.as_str());
            w.opt_str(i.info.name.as_deref());
            w.opt_str(i.info.device_type.as_deref());
            w.bool(i.enabled);
        }
        let plaintext = w.finish();
        let message = self
            .session
            .encrypt(&plaintext)
            .map_err(LinkError::Transport)?;
        let payload = message.encode().map_err(|_| LinkError::Decode)?;
        Ok(OutgoingMessage {
            pubsub_topic: manager.pubsub_topic().to_owned(),
            content_topic: self.content_topic(),
            payload,
            recipient: own,
        })
    }

    /// Receives a sync message from the other device and applies it to `manager`.
    pub fn receive(
        &mut self,
        manager: &mut SessionManager,
        now: i64,
        payload: &[u8],
    ) -> Result<SyncOutcome, LinkError> {
        if payload.len() > MAX_SYNC_BYTES {
            return Err(LinkError::Decode);
        }
        let message = PayloadV2::decode(payload).map_err(|_| LinkError::Decode)?;
        // Parse fully before changing anything: decrypt a copy of the session.
        let mut session =
            TransportSession::from_bytes(&self.session.to_bytes()).map_err(|_| LinkError::State)?;
        let plaintext = Zeroizing::new(session.decrypt(&message).map_err(LinkError::Transport)?);
        let sync = decode_sync(&plaintext)?;
        self.session = session;

        let own = *manager.identity();
        let mut changes = StoreChanges::new();
        let mut events = Vec::new();
        for bundle in &sync.bundles {
            match manager.add_bundle(now, bundle) {
                Ok(incoming) => {
                    for change in incoming.changes.changes() {
                        changes.push(change.clone());
                    }
                    events.extend(incoming.events);
                }
                Err(e) => events.push(Event::InvalidBundle(e)),
            }
        }
        let mut refused = None;
        if sync.installation != *manager.installation_id() {
            match manager.set_enabled(now, &own, &sync.installation, true) {
                Ok(c) => append(&mut changes, c),
                Err(e) => refused = Some(e),
            }
            if let Ok(c) = manager.set_installation_info(&sync.installation, sync.info.clone()) {
                append(&mut changes, c);
            }
        }
        for (id, info, enabled) in sync.installations {
            if id == *manager.installation_id() || id == sync.installation {
                continue;
            }
            if let Ok(c) = manager.set_enabled(now, &own, &id, enabled) {
                append(&mut changes, c);
            }
            if let Ok(c) = manager.set_installation_info(&id, info) {
                append(&mut changes, c);
            }
        }
        Ok(SyncOutcome {
            installation: sync.installation,
            changes,
            events,
            refused,
        })
    }
}

fn append(into: &mut StoreChanges, from: StoreChanges) {
    for change in from.changes() {
        into.push(change.clone());
    }
}

struct Sync {
    installation: InstallationId,
    info: DeviceInfo,
    bundles: Vec<Vec<u8>>,
    installations: Vec<(InstallationId, DeviceInfo, bool)>,
}

fn decode_sync(bytes: &[u8]) -> Result<Sync, RecordError> {
    let mut r = Reader::new(bytes, SYNC_VERSION)?;
    let id = |s: &str| InstallationId::new(s).map_err(|_| RecordError::Invalid("installation id"));
    let installation = id(r.str("installation id", u16::MAX.into())?)?;
    let name = r.opt_str("name", MAX_NAME_BYTES)?.map(str::to_owned);
    let device_type = r.opt_str("device type", MAX_NAME_BYTES)?.map(str::to_owned);
    let n = r.count("bundles", MAX_SYNC_BUNDLES)?;
    let mut bundles = Vec::new();
    for _ in 0..n {
        bundles.push(r.bytes("bundle", status_x3dh::MAX_BUNDLE_BYTES)?.to_vec());
    }
    let n = r.count("installations", MAX_INSTALLATIONS_PER_PEER)?;
    let mut installations = Vec::new();
    for _ in 0..n {
        let i = id(r.str("installation id", u16::MAX.into())?)?;
        let name = r.opt_str("name", MAX_NAME_BYTES)?.map(str::to_owned);
        let device_type = r.opt_str("device type", MAX_NAME_BYTES)?.map(str::to_owned);
        let enabled = r.bool()?;
        installations.push((i, DeviceInfo { name, device_type }, enabled));
    }
    r.finish()?;
    Ok(Sync {
        installation,
        info: DeviceInfo { name, device_type },
        bundles,
        installations,
    })
}
