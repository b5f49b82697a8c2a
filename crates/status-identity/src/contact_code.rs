//! Contact codes: what a QR code carries so that two people can start a chat.
//!
//! A contact code is a signed payload: the identity key, a display name, the prekey bundle
//! of the X3DH layer (opaque bytes here) and a timestamp (unix milliseconds, given by the
//! caller). On the wire it is the protobuf `identity.ContactCode`
//! (`proto/status/identity/contact_code.proto`), as text
//! `status-rs://contact/<base64url without padding>`.
//!
//! The signature is Ed25519 with context [`SignatureContext::ContactCode`] over material
//! rebuilt from the fields (never the protobuf bytes; all integers big-endian):
//!
//! ```text
//! u32 version || identity (32) || u16 len || display name (UTF-8) || u32 len || bundle
//! || i64 timestamp
//! ```
//!
//! Parsing is strict: the protobuf bytes must be exactly the canonical encoding of the
//! fields (no unknown, repeated or reordered fields, no padded varints), base64url must be
//! canonical (no padding, no stray trailing bits), and every size is bounded before any
//! work. So any change to a contact code, one flipped byte included, is rejected.

use core::fmt;
use core::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use prost::Message as _;

use crate::keys::{
    IdentityKeyPair, IdentityPublicKey, KeyError, Signature, SignatureContext, SignatureError,
};
use crate::proto;
use crate::qr::{Qr, QrError};

/// Format version of contact codes this code writes and reads.
pub const CONTACT_CODE_VERSION: u32 = 1;
/// Prefix of the text form.
pub const URI_PREFIX: &str = "status-rs://contact/";
/// Longest display name, in UTF-8 bytes.
pub const MAX_DISPLAY_NAME_BYTES: usize = 64;
/// Largest bundle, in bytes.
pub const MAX_BUNDLE_BYTES: usize = 1024;
/// Largest encoded contact code (protobuf bytes).
pub const MAX_CONTACT_CODE_BYTES: usize = 1280;
/// Longest text form: the prefix and base64url of [`MAX_CONTACT_CODE_BYTES`].
pub const MAX_CONTACT_CODE_CHARS: usize = URI_PREFIX.len() + MAX_CONTACT_CODE_BYTES.div_ceil(3) * 4;

/// Why a contact code could not be built or parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ContactCodeError {
    /// The text is longer than [`MAX_CONTACT_CODE_CHARS`].
    #[error("contact code text too long: {0} bytes")]
    TextTooLong(usize),
    /// The text does not start with [`URI_PREFIX`].
    #[error("contact code must start with {URI_PREFIX}")]
    BadPrefix,
    /// The part after the prefix is not canonical unpadded base64url.
    #[error("contact code is not base64url")]
    NotBase64,
    /// The payload is larger than [`MAX_CONTACT_CODE_BYTES`].
    #[error("contact code payload too large: {0} bytes")]
    PayloadTooLarge(usize),
    /// The payload is not a protobuf `ContactCode`.
    #[error("contact code payload is malformed")]
    Malformed,
    /// The payload decodes but is not the canonical encoding of its fields.
    #[error("contact code payload is not canonically encoded")]
    NonCanonical,
    /// A format version this code does not know.
    #[error("unsupported contact code version {0}")]
    UnsupportedVersion(u32),
    /// The identity key is missing or invalid.
    #[error("contact code identity key is invalid: {0}")]
    Identity(KeyError),
    /// The display name is longer than [`MAX_DISPLAY_NAME_BYTES`].
    #[error("display name too long: {0} bytes")]
    DisplayNameTooLong(usize),
    /// The display name contains a control character (it could rewrite a terminal) or an
    /// invisible formatting character (bidirectional overrides, zero-width characters) that
    /// could make it look like another name.
    #[error("display name contains a control or invisible formatting character")]
    DisplayNameControl,
    /// The bundle is larger than [`MAX_BUNDLE_BYTES`].
    #[error("bundle too large: {0} bytes")]
    BundleTooLarge(usize),
    /// The timestamp is negative.
    #[error("negative timestamp {0}")]
    NegativeTimestamp(i64),
    /// The signature is missing, malformed, or does not verify.
    #[error("contact code signature: {0}")]
    Signature(SignatureError),
    /// The contact code does not fit in a QR code.
    #[error("contact code does not fit in a QR code: {0}")]
    Qr(QrError),
}

/// A verified contact code.
#[derive(Clone, PartialEq, Eq)]
pub struct ContactCode {
    identity: IdentityPublicKey,
    display_name: String,
    bundle: Vec<u8>,
    timestamp_ms: i64,
    signature: Signature,
}

/// Control characters, and the invisible formatting characters that can disguise a name:
/// zero-width and directional marks (U+200B..=U+200F), directional embeddings and overrides
/// (U+202A..=U+202E), word joiner to directional isolates (U+2060..=U+2069) and the byte
/// order mark (U+FEFF).
fn is_forbidden_in_name(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

fn check_fields(
    display_name: &str,
    bundle: &[u8],
    timestamp_ms: i64,
) -> Result<(), ContactCodeError> {
    if display_name.len() > MAX_DISPLAY_NAME_BYTES {
        return Err(ContactCodeError::DisplayNameTooLong(display_name.len()));
    }
    if display_name.chars().any(is_forbidden_in_name) {
        return Err(ContactCodeError::DisplayNameControl);
    }
    if bundle.len() > MAX_BUNDLE_BYTES {
        return Err(ContactCodeError::BundleTooLarge(bundle.len()));
    }
    if timestamp_ms < 0 {
        return Err(ContactCodeError::NegativeTimestamp(timestamp_ms));
    }
    Ok(())
}

fn material(
    identity: &IdentityPublicKey,
    display_name: &str,
    bundle: &[u8],
    timestamp_ms: i64,
) -> Vec<u8> {
    // Lengths are bounded by check_fields (64 and 1024), so the casts cannot truncate.
    let mut out = Vec::with_capacity(4 + 32 + 2 + display_name.len() + 4 + bundle.len() + 8);
    out.extend_from_slice(&CONTACT_CODE_VERSION.to_be_bytes());
    out.extend_from_slice(identity.as_bytes());
    out.extend_from_slice(&(display_name.len() as u16).to_be_bytes());
    out.extend_from_slice(display_name.as_bytes());
    out.extend_from_slice(&(bundle.len() as u32).to_be_bytes());
    out.extend_from_slice(bundle);
    out.extend_from_slice(&timestamp_ms.to_be_bytes());
    out
}

impl ContactCode {
    /// Builds and signs a contact code. `timestamp_ms` is the current time in unix
    /// milliseconds, supplied by the caller.
    pub fn new(
        identity: &IdentityKeyPair,
        display_name: &str,
        bundle: &[u8],
        timestamp_ms: i64,
    ) -> Result<Self, ContactCodeError> {
        check_fields(display_name, bundle, timestamp_ms)?;
        let public = *identity.public_key();
        let signature = identity.sign(
            SignatureContext::ContactCode,
            &material(&public, display_name, bundle, timestamp_ms),
        );
        Ok(ContactCode {
            identity: public,
            display_name: display_name.to_owned(),
            bundle: bundle.to_vec(),
            timestamp_ms,
            signature,
        })
    }

    /// The identity that signed the code.
    pub fn identity(&self) -> &IdentityPublicKey {
        &self.identity
    }

    /// The display name the identity chose (checked: bounded, no control characters; not
    /// unique and not verified by anyone).
    pub fn display_name(&self) -> &str {
        &self.display_name
    }

    /// The opaque prekey bundle bytes (for the X3DH layer to parse and verify).
    pub fn bundle(&self) -> &[u8] {
        &self.bundle
    }

    /// When the code was made, unix milliseconds (as claimed by its signer).
    pub fn timestamp_ms(&self) -> i64 {
        self.timestamp_ms
    }

    /// The signature.
    pub fn signature(&self) -> &Signature {
        &self.signature
    }

    /// The protobuf encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        proto::ContactCode {
            version: CONTACT_CODE_VERSION,
            identity: self.identity.to_bytes().to_vec(),
            display_name: self.display_name.clone(),
            bundle: self.bundle.clone(),
            timestamp: self.timestamp_ms,
            signature: self.signature.to_bytes().to_vec(),
        }
        .encode_to_vec()
    }

    /// Parses the protobuf encoding strictly and verifies the signature.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ContactCodeError> {
        if bytes.len() > MAX_CONTACT_CODE_BYTES {
            return Err(ContactCodeError::PayloadTooLarge(bytes.len()));
        }
        let message = proto::ContactCode::decode(bytes).map_err(|_| ContactCodeError::Malformed)?;
        if message.encode_to_vec() != bytes {
            return Err(ContactCodeError::NonCanonical);
        }
        Self::try_from(message)
    }

    /// The text form, `status-rs://contact/<base64url>`.
    pub fn to_uri(&self) -> String {
        format!("{URI_PREFIX}{}", URL_SAFE_NO_PAD.encode(self.to_bytes()))
    }

    /// Parses the text form strictly and verifies the signature.
    pub fn from_uri(text: &str) -> Result<Self, ContactCodeError> {
        if text.len() > MAX_CONTACT_CODE_CHARS {
            return Err(ContactCodeError::TextTooLong(text.len()));
        }
        let encoded = text
            .strip_prefix(URI_PREFIX)
            .ok_or(ContactCodeError::BadPrefix)?;
        let bytes = URL_SAFE_NO_PAD
            .decode(encoded)
            .map_err(|_| ContactCodeError::NotBase64)?;
        Self::from_bytes(&bytes)
    }

    /// The QR code of the text form.
    pub fn to_qr(&self) -> Result<Qr, ContactCodeError> {
        Qr::encode(self.to_uri().as_bytes()).map_err(ContactCodeError::Qr)
    }
}

impl TryFrom<proto::ContactCode> for ContactCode {
    type Error = ContactCodeError;

    fn try_from(message: proto::ContactCode) -> Result<Self, ContactCodeError> {
        if message.version != CONTACT_CODE_VERSION {
            return Err(ContactCodeError::UnsupportedVersion(message.version));
        }
        let identity =
            IdentityPublicKey::from_slice(&message.identity).map_err(ContactCodeError::Identity)?;
        check_fields(&message.display_name, &message.bundle, message.timestamp)?;
        let signature =
            Signature::from_slice(&message.signature).map_err(ContactCodeError::Signature)?;
        identity
            .verify(
                SignatureContext::ContactCode,
                &material(
                    &identity,
                    &message.display_name,
                    &message.bundle,
                    message.timestamp,
                ),
                &signature,
            )
            .map_err(ContactCodeError::Signature)?;
        Ok(ContactCode {
            identity,
            display_name: message.display_name,
            bundle: message.bundle,
            timestamp_ms: message.timestamp,
            signature,
        })
    }
}

impl fmt::Display for ContactCode {
    /// The text form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_uri())
    }
}

impl FromStr for ContactCode {
    type Err = ContactCodeError;

    fn from_str(s: &str) -> Result<Self, ContactCodeError> {
        Self::from_uri(s)
    }
}

impl fmt::Debug for ContactCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ContactCode")
            .field("identity", &self.identity)
            .field("display_name", &self.display_name)
            .field("bundle_len", &self.bundle.len())
            .field("timestamp_ms", &self.timestamp_ms)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::ChaCha20Rng;

    fn key(seed: u64) -> IdentityKeyPair {
        IdentityKeyPair::generate(&mut ChaCha20Rng::seed_from_u64(seed))
    }

    #[test]
    fn round_trip_text_and_bytes() {
        let alice = key(20);
        let code = ContactCode::new(&alice, "Alice 🦊", &[7u8; 200], 1_700_000_000_000).unwrap();
        let text = code.to_uri();
        assert!(text.starts_with(URI_PREFIX));
        let back: ContactCode = text.parse().unwrap();
        assert_eq!(back, code);
        assert_eq!(back.identity(), alice.public_key());
        assert_eq!(back.display_name(), "Alice 🦊");
        assert_eq!(back.bundle(), &[7u8; 200]);
        assert_eq!(back.timestamp_ms(), 1_700_000_000_000);
        assert_eq!(ContactCode::from_bytes(&code.to_bytes()).unwrap(), code);
        assert!(code.to_qr().unwrap().width() > 21);
    }

    #[test]
    fn largest_code_fits_bounds_and_qr() {
        let alice = key(21);
        let name = "n".repeat(MAX_DISPLAY_NAME_BYTES);
        let code = ContactCode::new(&alice, &name, &[0xff; MAX_BUNDLE_BYTES], i64::MAX).unwrap();
        assert!(code.to_bytes().len() <= MAX_CONTACT_CODE_BYTES);
        assert!(code.to_uri().len() <= MAX_CONTACT_CODE_CHARS);
        assert_eq!(ContactCode::from_uri(&code.to_uri()).unwrap(), code);
        code.to_qr().unwrap();
    }

    #[test]
    fn builder_bounds() {
        let alice = key(22);
        let long = "x".repeat(MAX_DISPLAY_NAME_BYTES + 1);
        assert_eq!(
            ContactCode::new(&alice, &long, &[], 0).err(),
            Some(ContactCodeError::DisplayNameTooLong(65))
        );
        for name in [
            "evil\x1b[2J",
            "a\u{202E}b",
            "zero\u{200B}width",
            "\u{FEFF}bom",
            "x\u{7f}",
        ] {
            assert_eq!(
                ContactCode::new(&alice, name, &[], 0).err(),
                Some(ContactCodeError::DisplayNameControl),
                "{name:?}"
            );
        }
        assert_eq!(
            ContactCode::new(&alice, "", &[0; MAX_BUNDLE_BYTES + 1], 0).err(),
            Some(ContactCodeError::BundleTooLarge(MAX_BUNDLE_BYTES + 1))
        );
        assert_eq!(
            ContactCode::new(&alice, "", &[], -1).err(),
            Some(ContactCodeError::NegativeTimestamp(-1))
        );
    }

    fn reencode(message: &proto::ContactCode) -> Result<ContactCode, ContactCodeError> {
        ContactCode::from_bytes(&message.encode_to_vec())
    }

    #[test]
    fn typed_parse_errors() {
        let alice = key(23);
        let code = ContactCode::new(&alice, "Alice", b"bundle", 5).unwrap();
        let good = proto::ContactCode::decode(&code.to_bytes()[..]).unwrap();
        let text = code.to_uri();

        assert_eq!(
            ContactCode::from_uri(&"a".repeat(MAX_CONTACT_CODE_CHARS + 1)).err(),
            Some(ContactCodeError::TextTooLong(MAX_CONTACT_CODE_CHARS + 1))
        );
        assert_eq!(
            ContactCode::from_uri(&text.replace("status-rs", "status")).err(),
            Some(ContactCodeError::BadPrefix)
        );
        assert_eq!(
            ContactCode::from_uri(&format!("{text}=")).err(),
            Some(ContactCodeError::NotBase64)
        );
        assert_eq!(
            ContactCode::from_uri(&format!("{URI_PREFIX}a+b/")).err(),
            Some(ContactCodeError::NotBase64)
        );
        assert_eq!(
            ContactCode::from_bytes(&[0u8; MAX_CONTACT_CODE_BYTES + 1]).err(),
            Some(ContactCodeError::PayloadTooLarge(
                MAX_CONTACT_CODE_BYTES + 1
            ))
        );
        assert_eq!(
            ContactCode::from_bytes(&[0x0a, 0x05]).err(),
            Some(ContactCodeError::Malformed)
        );
        // Unknown field appended: decodes, but is not canonical.
        let mut extra = code.to_bytes();
        extra.extend_from_slice(&[0x30, 0x01]);
        assert_eq!(
            ContactCode::from_bytes(&extra).err(),
            Some(ContactCodeError::NonCanonical)
        );
        // Padded varint for the version.
        let mut padded = vec![0x08, 0x81, 0x00];
        padded.extend_from_slice(&code.to_bytes()[2..]);
        assert_eq!(
            ContactCode::from_bytes(&padded).err(),
            Some(ContactCodeError::NonCanonical)
        );

        let mut m = good.clone();
        m.version = 2;
        assert_eq!(
            reencode(&m).err(),
            Some(ContactCodeError::UnsupportedVersion(2))
        );
        let mut m = good.clone();
        m.identity = vec![1; 31];
        assert_eq!(
            reencode(&m).err(),
            Some(ContactCodeError::Identity(KeyError::Length(31)))
        );
        let mut m = good.clone();
        m.identity = {
            let mut id = vec![0u8; 32];
            id[0] = 1;
            id
        };
        assert_eq!(
            reencode(&m).err(),
            Some(ContactCodeError::Identity(KeyError::SmallOrder))
        );
        let mut m = good.clone();
        m.display_name = "x".repeat(65);
        assert_eq!(
            reencode(&m).err(),
            Some(ContactCodeError::DisplayNameTooLong(65))
        );
        let mut m = good.clone();
        m.display_name = "a\nb".into();
        assert_eq!(
            reencode(&m).err(),
            Some(ContactCodeError::DisplayNameControl)
        );
        let mut m = good.clone();
        m.bundle = vec![0; MAX_BUNDLE_BYTES + 1];
        assert_eq!(
            reencode(&m).err(),
            Some(ContactCodeError::BundleTooLarge(MAX_BUNDLE_BYTES + 1))
        );
        let mut m = good.clone();
        m.timestamp = -5;
        assert_eq!(
            reencode(&m).err(),
            Some(ContactCodeError::NegativeTimestamp(-5))
        );
        let mut m = good.clone();
        m.signature.pop();
        assert_eq!(
            reencode(&m).err(),
            Some(ContactCodeError::Signature(SignatureError::Length(63)))
        );
        let mut m = good.clone();
        m.display_name = "Mallory".into();
        assert_eq!(
            reencode(&m).err(),
            Some(ContactCodeError::Signature(SignatureError::Invalid))
        );
        // A signature by the same key for another context does not verify.
        let mut m = good.clone();
        let material = material(alice.public_key(), "Alice", b"bundle", 5);
        m.signature = alice
            .sign(SignatureContext::Bundle, &material)
            .to_bytes()
            .to_vec();
        assert_eq!(
            reencode(&m).err(),
            Some(ContactCodeError::Signature(SignatureError::Invalid))
        );
        // Someone else's key with Alice's signature.
        let mut m = good.clone();
        m.identity = key(24).public_key().to_bytes().to_vec();
        assert_eq!(
            reencode(&m).err(),
            Some(ContactCodeError::Signature(SignatureError::Invalid))
        );
    }
}
