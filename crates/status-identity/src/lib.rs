//! Identity for the Status 1:1 chat protocol: who you are, and how two people verify each
//! other.
//!
//! Specs: 55/STATUS-1TO1-CHAT (the "Negotiation" phase: identity verification face to
//! face, with a QR code and identicon matching), the Status account spec (status-2-account),
//! 65/STATUS-ACCOUNT-ADDRESS, with the 25519 suite of this project (DESIGN.md: Ed25519
//! identities, X25519 by the birational map). The lowest layer of the workspace: the X3DH,
//! Noise and session crates build on it.
//!
//! What it does:
//!
//! - [`IdentityKeyPair`] / [`IdentityPublicKey`]: Ed25519 keys with strict validation, their
//!   X25519 form for Diffie-Hellman, and signatures with a context label per use
//!   ([`SignatureContext`]), so a signature made for one use never verifies for another.
//! - [`Account`]: a BIP39 [`Mnemonic`] (English, 12 or 24 words) and the identity derived
//!   from it by SLIP-0010 at `m/43'/60'/1581'/0'/0'` ([`slip10`]); the same words give back
//!   the same identity.
//! - [`keyfile`]: the identity at rest, Argon2id + AES-256-GCM, versioned and bounded.
//! - [`ChatKey`]: the text form users share, `z6Mk…` (multibase base58btc of
//!   `ed25519-pub`); Status's secp256k1 chat keys (`zQ3s…`) are refused with their own error.
//! - What people compare: a [`SafetyNumber`] (60 digits, the same on both sides), an
//!   [`EmojiHash`], a three-word [`Alias`] and an [`Identicon`] (SVG, PNG, terminal).
//! - [`ContactCode`]: a signed payload (identity, display name, opaque X3DH bundle,
//!   timestamp) as `status-rs://contact/<base64url>` and as a [`Qr`] code (SVG, PNG,
//!   Unicode half-blocks).
//!
//! What it does not do: no network, no clock (timestamps are arguments), no global RNG
//! (randomness is a `&mut R` with `R: rand_core::CryptoRng`), no storage, no QR scanning
//! from images, no secp256k1 identities (status-go's suite is a later goal), and it does not
//! parse the X3DH bundle it carries (the X3DH layer verifies it).
//!
//! # Example
//!
//! ```
//! use rand::SeedableRng;
//! use status_identity::{Account, ChatKey, ContactCode, WordCount};
//!
//! let mut rng = rand::rngs::ChaCha20Rng::seed_from_u64(1);
//! let alice = Account::create(&mut rng, WordCount::Twelve);
//! let bob = Account::create(&mut rng, WordCount::Twelve);
//!
//! // Reinstalling with the written-down words gives the same identity back.
//! let again = Account::recover(&alice.mnemonic().phrase(), "")?;
//! assert_eq!(again.identity(), alice.identity());
//!
//! // Alice shares her chat key and a signed contact code (shown as a QR code).
//! let chat_key = alice.identity().public_key().to_chat_key();
//! assert!(chat_key.starts_with("z6Mk"));
//! let code = ContactCode::new(alice.identity(), "Alice", b"prekey bundle", 1_700_000_000_000)?;
//! let qr = code.to_qr()?;
//! assert!(qr.to_unicode().lines().count() > 10);
//!
//! // Bob scans it: the signature is checked, and he learns Alice's identity.
//! let scanned = ContactCode::from_uri(&code.to_uri())?;
//! assert_eq!(ChatKey::from(*scanned.identity()).to_string(), chat_key);
//!
//! // Face to face, both read the same safety number.
//! let a = alice.identity().public_key();
//! let b = bob.identity().public_key();
//! assert_eq!(a.safety_number(b).to_string(), b.safety_number(a).to_string());
//! println!("{} {} {}", a.alias(), a.emoji_hash(), a.safety_number(b));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Deviations from Status
//!
//! Status (status-go) uses secp256k1 identities, BIP32 at `m/43'/60'/1581'/0'/0` (last step
//! not hardened), `0x04…` keys and `zQ3s…` chat keys, its own emoji hash, a gfycat-style
//! alias and identicons. This crate keeps the concepts with the 25519 suite: SLIP-0010
//! needs every step hardened for Ed25519, so the path ends in `0'`; the chat key uses the
//! `ed25519-pub` multicodec; fingerprints, alias, emoji hash and identicon use this
//! crate's documented derivations and word lists, so they differ from Status's for the
//! same person. See `docs/deviations.md`.

pub mod account;
pub mod chat_key;
pub mod contact_code;
pub mod fingerprint;
#[doc(hidden)]
pub mod fuzzing;
pub mod identicon;
pub mod keyfile;
pub mod keys;
pub mod mnemonic;
pub mod qr;
pub mod render;
pub mod slip10;

pub use keys::{
    IdentityKeyPair, IdentityPublicKey, KeyError, NonContributoryError, Signature,
    SignatureContext, SignatureError,
};

pub use account::{Account, RecoveryError};
pub use chat_key::{ChatKey, ChatKeyError};
pub use contact_code::{ContactCode, ContactCodeError};
pub use fingerprint::{Alias, EmojiHash, SafetyNumber};
pub use identicon::Identicon;
pub use mnemonic::{Mnemonic, MnemonicError, WordCount};
pub use qr::{Qr, QrError};
pub use render::{RenderError, Rgb};

#[allow(
    missing_docs,
    unreachable_pub,
    dead_code,
    clippy::all,
    clippy::pedantic
)]
pub(crate) mod proto {
    include!(concat!(env!("OUT_DIR"), "/identity.rs"));
}
