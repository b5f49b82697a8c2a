//! Signed prekey bundles (53/54 `Bundle`, `SignedPreKey`), signed and verified per
//! DESIGN.md rule 4.
//!
//! A [`Bundle`] is what came off the wire: structurally decoded, not trusted. Only
//! [`Bundle::verify`] (or [`VerifiedBundle::sign`] for our own) produces a
//! [`VerifiedBundle`], and only a `VerifiedBundle` can start a session.

use std::collections::BTreeMap;

use prost::Message as _;
use status_identity::{
    IdentityKeyPair, IdentityPublicKey, KeyError, Signature, SignatureContext, SignatureError,
};

use crate::keys::{
    InstallationId, MAX_INSTALLATION_ID_BYTES, PreparedPoint, SignedPreKey, X25519PublicKey,
};
use crate::{proto, wire};

/// The crypto suite this crate implements; `SignedPreKey.protocol_version` must name it.
pub const SUITE_VERSION: u32 = 1;

/// Default for [`BundlePolicy::max_installations`]: 54 recommends pairing at most 3 devices.
pub const DEFAULT_MAX_INSTALLATIONS: usize = 3;

/// Default for [`BundlePolicy::max_age_ns`]: 30 days.
pub const DEFAULT_MAX_BUNDLE_AGE_NS: u64 = 30 * 24 * 3600 * 1_000_000_000;

/// Default for [`BundlePolicy::max_clock_skew_ns`]: 10 minutes.
pub const DEFAULT_MAX_CLOCK_SKEW_NS: u64 = 10 * 60 * 1_000_000_000;

/// Largest encoded bundle accepted by [`Bundle::decode`] (a bundle of the maximum policy
/// is far smaller; this only bounds work on hostile input).
pub const MAX_BUNDLE_BYTES: usize = 64 * 1024;

/// What a bundle must satisfy to be verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct BundlePolicy {
    /// A bundle older than this (relative to `now`) is expired.
    pub max_age_ns: u64,
    /// A bundle dated more than this after `now` is refused.
    pub max_clock_skew_ns: u64,
    /// A bundle with more installations is refused.
    pub max_installations: usize,
}

impl Default for BundlePolicy {
    fn default() -> Self {
        BundlePolicy {
            max_age_ns: DEFAULT_MAX_BUNDLE_AGE_NS,
            max_clock_skew_ns: DEFAULT_MAX_CLOCK_SKEW_NS,
            max_installations: DEFAULT_MAX_INSTALLATIONS,
        }
    }
}

/// Why a bundle was not decoded, signed or verified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// The bytes are not a protobuf `Bundle` (or are longer than [`MAX_BUNDLE_BYTES`]).
    #[error("malformed bundle encoding")]
    Decode,
    /// The same installation id appears twice.
    #[error("duplicate installation id")]
    DuplicateInstallation,
    /// The bundle lists no installation.
    #[error("bundle lists no installation")]
    Empty,
    /// More installations than the policy allows.
    #[error("bundle lists {got} installations, at most {max} allowed")]
    TooManyInstallations {
        /// Installations listed.
        got: usize,
        /// The policy's maximum.
        max: usize,
    },
    /// An installation id is longer than 65535 bytes.
    #[error("installation id of {0} bytes is too long")]
    InstallationIdTooLong(usize),
    /// The identity key is not a valid Ed25519 public key.
    #[error("malformed identity key: {0}")]
    MalformedIdentity(KeyError),
    /// A signed prekey is not 32 bytes.
    #[error("signed prekey of installation {installation} is {len} bytes, not 32")]
    MalformedPreKey {
        /// The installation whose prekey is bad.
        installation: String,
        /// Its length.
        len: usize,
    },
    /// A signed prekey names another crypto suite than [`SUITE_VERSION`].
    #[error("signed prekey of installation {installation} is for suite {suite}")]
    UnsupportedSuite {
        /// The installation whose prekey is for another suite.
        installation: String,
        /// The suite it names.
        suite: u32,
    },
    /// The signature is not 64 bytes or does not verify.
    #[error("bundle signature does not verify")]
    BadSignature,
    /// The bundle is older than the policy allows.
    #[error("bundle is {age_ns} ns old, at most {max_ns} ns allowed")]
    Expired {
        /// Its age.
        age_ns: u128,
        /// The policy's maximum.
        max_ns: u64,
    },
    /// The bundle is dated further in the future than the policy allows.
    #[error("bundle is dated {ahead_ns} ns in the future")]
    FromTheFuture {
        /// How far ahead.
        ahead_ns: u128,
    },
}

impl From<SignatureError> for BundleError {
    fn from(_: SignatureError) -> Self {
        BundleError::BadSignature
    }
}

/// One installation's entry as received, unchecked.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RawEntry {
    installation_id: String,
    key: Vec<u8>,
    version: u32,
    protocol_version: u32,
}

/// A bundle as received from a peer: decoded, not verified. Call [`Bundle::verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle {
    identity: Vec<u8>,
    /// Sorted by installation id bytes, no duplicates.
    entries: Vec<RawEntry>,
    signature: Vec<u8>,
    timestamp_ns: i64,
}

impl Bundle {
    /// Decodes a protobuf `Bundle`. Checks structure only (well-formed protobuf, no
    /// duplicate installation id); keys and signature are checked by [`Bundle::verify`].
    pub fn decode(bytes: &[u8]) -> Result<Self, BundleError> {
        if bytes.len() > MAX_BUNDLE_BYTES {
            return Err(BundleError::Decode);
        }
        let message = proto::Bundle::decode(bytes).map_err(|_| BundleError::Decode)?;
        let mut keys = wire::map_keys(bytes, 2).map_err(|_| BundleError::Decode)?;
        if wire::has_duplicates(&mut keys) {
            return Err(BundleError::DuplicateInstallation);
        }
        Bundle::try_from(message)
    }

    /// The protobuf encoding.
    pub fn encode(&self) -> Vec<u8> {
        proto::Bundle::from(self).encode_to_vec()
    }

    /// The identity key bytes as received (validated by [`Bundle::verify`]).
    pub fn identity_bytes(&self) -> &[u8] {
        &self.identity
    }

    /// The creation time, unix nanoseconds.
    pub fn timestamp_ns(&self) -> i64 {
        self.timestamp_ns
    }

    /// Verifies the bundle at time `now_ns` (unix nanoseconds): installation count, keys,
    /// suite, age, then the Ed25519 signature (strict) over the DESIGN.md rule 4 material.
    pub fn verify(
        &self,
        policy: &BundlePolicy,
        now_ns: i64,
    ) -> Result<VerifiedBundle, BundleError> {
        if self.entries.is_empty() {
            return Err(BundleError::Empty);
        }
        if self.entries.len() > policy.max_installations {
            return Err(BundleError::TooManyInstallations {
                got: self.entries.len(),
                max: policy.max_installations,
            });
        }
        let identity = IdentityPublicKey::from_slice(&self.identity)
            .map_err(BundleError::MalformedIdentity)?;
        let mut prekeys = BTreeMap::new();
        for entry in &self.entries {
            if entry.protocol_version != SUITE_VERSION {
                return Err(BundleError::UnsupportedSuite {
                    installation: entry.installation_id.clone(),
                    suite: entry.protocol_version,
                });
            }
            let key = X25519PublicKey::from_slice(&entry.key).map_err(|len| {
                BundleError::MalformedPreKey {
                    installation: entry.installation_id.clone(),
                    len,
                }
            })?;
            let id = InstallationId::new(entry.installation_id.clone())
                .map_err(|e| BundleError::InstallationIdTooLong(e.0))?;
            if prekeys
                .insert(
                    id,
                    SignedPreKey {
                        key,
                        version: entry.version,
                    },
                )
                .is_some()
            {
                return Err(BundleError::DuplicateInstallation);
            }
        }
        let age = i128::from(now_ns) - i128::from(self.timestamp_ns);
        if age > i128::from(policy.max_age_ns) {
            return Err(BundleError::Expired {
                age_ns: age.unsigned_abs(),
                max_ns: policy.max_age_ns,
            });
        }
        if -age > i128::from(policy.max_clock_skew_ns) {
            return Err(BundleError::FromTheFuture {
                ahead_ns: age.unsigned_abs(),
            });
        }
        let signature = Signature::from_slice(&self.signature)?;
        let material = signature_material(&prekeys, self.timestamp_ns);
        identity.verify(SignatureContext::Bundle, &material, &signature)?;
        Ok(VerifiedBundle::new(
            identity,
            prekeys,
            signature,
            self.timestamp_ns,
        ))
    }
}

/// The signed material of a bundle, without the label (which `status-identity` prepends
/// for [`SignatureContext::Bundle`]): for each installation id in byte order,
/// `u16 BE length || id || prekey(32) || u32 BE version`, then `i64 BE timestamp`.
pub(crate) fn signature_material(
    prekeys: &BTreeMap<InstallationId, SignedPreKey>,
    timestamp_ns: i64,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(prekeys.len() * 64 + 8);
    for (id, prekey) in prekeys {
        let bytes = id.as_str().as_bytes();
        // InstallationId guarantees the length fits; saturate rather than panic.
        let len = u16::try_from(bytes.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(bytes);
        out.extend_from_slice(prekey.key.as_bytes());
        out.extend_from_slice(&prekey.version.to_be_bytes());
    }
    out.extend_from_slice(&timestamp_ns.to_be_bytes());
    out
}

/// A bundle whose signature, keys, suite and age were checked (or that we signed).
///
/// It also holds its keys as curve points ready for X3DH, computed once when it is made.
#[derive(Clone)]
pub struct VerifiedBundle {
    identity: IdentityPublicKey,
    prekeys: BTreeMap<InstallationId, SignedPreKey>,
    signature: Signature,
    timestamp_ns: i64,
    identity_point: PreparedPoint,
    prekey_points: BTreeMap<InstallationId, PreparedPoint>,
}

impl PartialEq for VerifiedBundle {
    fn eq(&self, other: &Self) -> bool {
        // The prepared points are functions of the keys.
        self.identity == other.identity
            && self.prekeys == other.prekeys
            && self.signature == other.signature
            && self.timestamp_ns == other.timestamp_ns
    }
}

impl Eq for VerifiedBundle {}

impl core::fmt::Debug for VerifiedBundle {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("VerifiedBundle")
            .field("identity", &self.identity)
            .field("prekeys", &self.prekeys)
            .field("signature", &self.signature)
            .field("timestamp_ns", &self.timestamp_ns)
            .finish()
    }
}

impl VerifiedBundle {
    /// Signs our own bundle: one signed prekey per installation, created at `timestamp_ns`
    /// (unix nanoseconds). Fails on an empty list or a duplicate installation id.
    pub fn sign(
        identity: &IdentityKeyPair,
        prekeys: impl IntoIterator<Item = (InstallationId, SignedPreKey)>,
        timestamp_ns: i64,
    ) -> Result<Self, BundleError> {
        let mut map = BTreeMap::new();
        for (id, prekey) in prekeys {
            if map.insert(id, prekey).is_some() {
                return Err(BundleError::DuplicateInstallation);
            }
        }
        if map.is_empty() {
            return Err(BundleError::Empty);
        }
        let material = signature_material(&map, timestamp_ns);
        let signature = identity.sign(SignatureContext::Bundle, &material);
        Ok(VerifiedBundle::new(
            *identity.public_key(),
            map,
            signature,
            timestamp_ns,
        ))
    }

    fn new(
        identity: IdentityPublicKey,
        prekeys: BTreeMap<InstallationId, SignedPreKey>,
        signature: Signature,
        timestamp_ns: i64,
    ) -> Self {
        let prekey_points = prekeys
            .iter()
            .map(|(id, spk)| (id.clone(), PreparedPoint::from_x25519(&spk.key)))
            .collect();
        VerifiedBundle {
            identity_point: PreparedPoint::from_identity(&identity),
            identity,
            prekeys,
            signature,
            timestamp_ns,
            prekey_points,
        }
    }

    pub(crate) fn prepared_identity(&self) -> &PreparedPoint {
        &self.identity_point
    }

    pub(crate) fn prepared_prekey(
        &self,
        installation: &InstallationId,
    ) -> Option<(&SignedPreKey, &PreparedPoint)> {
        Some((
            self.prekeys.get(installation)?,
            self.prekey_points.get(installation)?,
        ))
    }

    /// The identity key that signed the bundle.
    pub fn identity(&self) -> &IdentityPublicKey {
        &self.identity
    }

    /// The signed prekeys, by installation id (in byte order).
    pub fn prekeys(&self) -> &BTreeMap<InstallationId, SignedPreKey> {
        &self.prekeys
    }

    /// The signed prekey of one installation.
    pub fn prekey(&self, installation: &InstallationId) -> Option<&SignedPreKey> {
        self.prekeys.get(installation)
    }

    /// The signature.
    pub fn signature(&self) -> &Signature {
        &self.signature
    }

    /// The creation time, unix nanoseconds.
    pub fn timestamp_ns(&self) -> i64 {
        self.timestamp_ns
    }

    /// The bundle as it goes on the wire.
    pub fn to_bundle(&self) -> Bundle {
        Bundle {
            identity: self.identity.to_bytes().to_vec(),
            entries: self
                .prekeys
                .iter()
                .map(|(id, prekey)| RawEntry {
                    installation_id: id.as_str().to_owned(),
                    key: prekey.key.to_bytes().to_vec(),
                    version: prekey.version,
                    protocol_version: SUITE_VERSION,
                })
                .collect(),
            signature: self.signature.to_bytes().to_vec(),
            timestamp_ns: self.timestamp_ns,
        }
    }

    /// The protobuf encoding.
    pub fn encode(&self) -> Vec<u8> {
        self.to_bundle().encode()
    }
}

impl TryFrom<proto::Bundle> for Bundle {
    type Error = BundleError;

    /// Note: prost has already folded duplicate map keys; [`Bundle::decode`] checks them on
    /// the bytes.
    fn try_from(message: proto::Bundle) -> Result<Self, BundleError> {
        let mut entries: Vec<RawEntry> = message
            .signed_pre_keys
            .into_iter()
            .map(|(installation_id, spk)| RawEntry {
                installation_id,
                key: spk.signed_pre_key,
                version: spk.version,
                protocol_version: spk.protocol_version,
            })
            .collect();
        entries.sort_unstable_by(|a, b| a.installation_id.cmp(&b.installation_id));
        if let Some(long) = entries
            .iter()
            .find(|e| e.installation_id.len() > MAX_INSTALLATION_ID_BYTES)
        {
            return Err(BundleError::InstallationIdTooLong(
                long.installation_id.len(),
            ));
        }
        Ok(Bundle {
            identity: message.identity,
            entries,
            signature: message.signature,
            timestamp_ns: message.timestamp,
        })
    }
}

impl From<&Bundle> for proto::Bundle {
    fn from(bundle: &Bundle) -> Self {
        proto::Bundle {
            identity: bundle.identity.clone(),
            signed_pre_keys: bundle
                .entries
                .iter()
                .map(|e| {
                    (
                        e.installation_id.clone(),
                        proto::SignedPreKey {
                            signed_pre_key: e.key.clone(),
                            version: e.version,
                            protocol_version: e.protocol_version,
                        },
                    )
                })
                .collect(),
            signature: bundle.signature.clone(),
            timestamp: bundle.timestamp_ns,
        }
    }
}
