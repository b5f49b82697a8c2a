//! X3DH prekey bundles and the Double Ratchet of 53/WAKU2-X3DH and 54/WAKU2-X3DH-SESSIONS,
//! with the 25519 suite 1 of this project (DESIGN.md "Cryptographic suite").
//!
//! What it does:
//!
//! - **Bundles** ([`VerifiedBundle::sign`], [`Bundle::decode`], [`Bundle::verify`]): one
//!   X25519 signed prekey per installation, signed with the Ed25519 identity over
//!   `"WAKU2-X3DH/1/bundle" || (u16 BE len || id || prekey || u32 BE version)* || i64 BE
//!   timestamp`. Verification checks suite, keys, duplicate ids, installation count, age
//!   and the signature, with typed errors ([`BundleError`]). Only a [`VerifiedBundle`] can
//!   start a session.
//! - **X3DH** without one-time prekey ([`Session::initiate`], [`Session::respond`]):
//!   `SK = HKDF(0^32, 0xFF^32 || DH1 || DH2 || DH3, "WAKU2-X3DH/1/x3dh")`,
//!   `AD = IK_initiator || IK_responder`.
//! - **Double Ratchet** ([`Session::encrypt`], [`Session::decrypt`]): HKDF root chain,
//!   HMAC symmetric chains, AES-256-GCM with key and nonce from each message key and
//!   `AD || ratchet_pub || pn || n` as associated data. Out-of-order delivery within
//!   [`MAX_SKIP_PER_CHAIN`] per chain and [`MAX_SKIPPED_KEYS`] per session (oldest
//!   evicted); replays rejected; a rejected message changes nothing.
//! - **Wire types** ([`EncryptedMessage`], [`X3dhHeader`], [`DrHeader`], [`Bundle`]): the
//!   `EncryptedMessageProtocol` / `X3DHHeader` / `DRHeader` / `Bundle` protobufs of 53 with
//!   status-go's field numbers, as checked domain types with `encode`/`decode`.
//! - **State** ([`Session::to_bytes`], [`Session::from_bytes`]): a versioned compact binary
//!   form for the store.
//!
//! It is sans-IO: randomness (`&mut R where R: CryptoRng`) and time (`now`, unix
//! nanoseconds) are arguments.
//!
//! What it does not do: the `ProtocolMessage` envelope, multi-device fan-out, session
//! selection and the DH fallback without bundle (status-sessions does that); persistence
//! (the caller stores [`Session::to_bytes`]); status-go's secp256k1 suite. Deviations from
//! 53/54 and status-go are listed in `docs/deviations.md`.
//!
//! Secrets: sessions, prekey pairs and keys are their own types without `Clone` (except
//! where a copy is needed internally) or secret-printing `Debug`, zeroized on drop; the
//! state encoding is returned in a zeroizing buffer. Answering the same first message
//! twice with [`Session::respond`] builds two equal sessions: the caller keeps one session
//! per bundle id and installation.
//!
//! DH ratchet order (DESIGN.md rule 6): on a new ratchet key from the peer,
//! [`Session::decrypt`] derives the receiving chain and decrypts; our new ratchet key pair
//! and sending chain are generated at the next [`Session::encrypt`] (as Olm does), never
//! for a message that failed to decrypt. The bytes sent are those of generating them right
//! after the decryption with the same randomness; the stored state records the sending
//! chain as pending, and a peer that is never answered costs no key generation.
//!
//! Performance: our ratchet public key is computed once per ratchet step (not per
//! message); `KDF_CK` and the message key expansion run one-block HMAC-SHA256 straight on
//! the SHA-256 compression function, with the pads of the constant all-zero HKDF salt
//! computed once; X25519 runs on the Edwards form of the peer's point (a verified bundle
//! keeps its keys in that form) with one field inversion per batch; AES-256-GCM
//! encrypts and decrypts in one pass into the output buffer. `benches/ratchet.rs`
//! measures vodozemac 0.11 in the same run.
//!
//! The workspace builds curve25519-dalek with its AVX-512 IFMA backend compiled in
//! (`--cfg curve25519_dalek_backend="avx512"` in `.cargo/config.toml`, x86-64 only); the
//! backend is chosen at run time (IFMA, else AVX2, else portable) and is about 10 %
//! faster for the variable-base multiplications of session setup and DH steps. A program
//! that depends on this crate from outside the workspace gets curve25519-dalek's default
//! (AVX2 unless built for an IFMA target) unless it sets the same flag.
//!
//! The `hazmat` and `fuzzing` modules are hidden: they expose internals (secrets,
//! caller-chosen keys) to the known-answer vectors, the tests and the fuzz targets only.
//!
//! # Example
//!
//! ```
//! use rand::SeedableRng;
//! use status_identity::IdentityKeyPair;
//! use status_x3dh::{
//!     Bundle, BundlePolicy, EncryptedMessage, InstallationId, Session, SignedPreKeyPair,
//!     VerifiedBundle,
//! };
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut rng = rand::rngs::ChaCha20Rng::seed_from_u64(1);
//! let now = 1_700_000_000_000_000_000_i64; // unix nanoseconds, given by the caller
//!
//! // Each side publishes a bundle: one signed prekey per installation.
//! let alice = IdentityKeyPair::generate(&mut rng);
//! let alice_device = InstallationId::new("alice-phone")?;
//! let alice_prekey = SignedPreKeyPair::generate(&mut rng, 1);
//! let alice_bundle =
//!     VerifiedBundle::sign(&alice, [(alice_device, alice_prekey.public())], now)?;
//!
//! let bob = IdentityKeyPair::generate(&mut rng);
//! let bob_device = InstallationId::new("bob-laptop")?;
//! let bob_prekey = SignedPreKeyPair::generate(&mut rng, 1);
//! let bob_wire = VerifiedBundle::sign(&bob, [(bob_device.clone(), bob_prekey.public())], now)?
//!     .encode();
//!
//! // Alice verifies Bob's bundle and starts a session with his laptop.
//! let bob_bundle = Bundle::decode(&bob_wire)?.verify(&BundlePolicy::default(), now)?;
//! let mut to_bob = Session::initiate(&mut rng, &alice, &bob_bundle, &bob_device)?;
//! let first = to_bob.encrypt(&mut rng, b"hello Bob")?.encode();
//!
//! // Bob verifies Alice's bundle (carried next to the message) and answers.
//! let received = EncryptedMessage::decode(&first)?;
//! let alice_verified = Bundle::decode(&alice_bundle.encode())?
//!     .verify(&BundlePolicy::default(), now)?;
//! let (mut to_alice, plaintext) =
//!     Session::respond(&bob, &bob_prekey, &alice_verified, &received)?;
//! assert_eq!(plaintext, b"hello Bob");
//!
//! let reply = to_alice.encrypt(&mut rng, b"hi Alice")?;
//! assert_eq!(to_bob.decrypt(&reply)?, b"hi Alice");
//! assert!(to_bob.is_confirmed());
//!
//! // State goes to the store and comes back.
//! let stored = to_bob.to_bytes();
//! let mut to_bob = Session::from_bytes(&stored)?;
//! let next = to_bob.encrypt(&mut rng, b"bye")?;
//! assert_eq!(to_alice.decrypt(&next)?, b"bye");
//! # Ok(())
//! # }
//! ```

mod bundle;
pub mod fuzzing;
pub mod hazmat;
mod kdf;
mod keys;
mod message;
mod session;
mod state;
mod wire;

pub use bundle::{
    Bundle, BundleError, BundlePolicy, DEFAULT_MAX_BUNDLE_AGE_NS, DEFAULT_MAX_CLOCK_SKEW_NS,
    DEFAULT_MAX_INSTALLATIONS, MAX_BUNDLE_BYTES, SUITE_VERSION, VerifiedBundle,
};
pub use keys::{
    InstallationId, InstallationIdTooLong, MAX_INSTALLATION_ID_BYTES, NonContributory,
    SignedPreKey, SignedPreKeyPair, X25519_KEY_LENGTH, X25519PublicKey,
};
pub use message::{
    DrHeader, EncryptedMessage, HEADER_LENGTH, KeyField, MAX_ENCRYPTED_MESSAGE_BYTES,
    MessageDecodeError, TAG_LENGTH, X3dhHeader,
};
pub use session::{
    ASSOCIATED_DATA_LENGTH, DecryptError, EncryptError, MAX_SKIP_PER_CHAIN, MAX_SKIPPED_KEYS,
    RespondError, Role, Session, X3dhError,
};
pub use state::{Inconsistency, MAX_STATE_BYTES, STATE_VERSION, StateError};

#[allow(
    missing_docs,
    unreachable_pub,
    dead_code,
    clippy::all,
    clippy::pedantic
)]
pub(crate) mod proto {
    include!(concat!(env!("OUT_DIR"), "/encryption.rs"));
}
