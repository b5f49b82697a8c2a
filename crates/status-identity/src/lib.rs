//! Identity for the Status 1:1 chat protocol: who you are, and how two people verify each other.
//!
//! Specs: 55/STATUS-1TO1-CHAT (negotiation), the Status account spec, 65/STATUS-ACCOUNT-ADDRESS,
//! with the 25519 suite of this project. Sans-IO: no network, no clock, no global RNG.

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
