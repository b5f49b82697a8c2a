//! Waku Noise: handshakes (35), sessions (37) and device pairing (43), byte-compatible
//! with the reference implementation `@waku/noise`.
//!
//! Sans-IO: randomness is an argument.

mod cipher;
#[doc(hidden)]
pub mod fuzzing;
mod handshake;
mod keys;
mod nametag;
pub mod pairing;
mod pattern;
pub mod payload;
#[doc(hidden)]
pub mod peer;
mod plain;
mod transport;

pub use cipher::{CipherError, CipherState, NOISE_MAX_NONCE, WAKU_MAX_NONCE};
pub use handshake::{
    BuildError, HandshakeBuilder, HandshakeError, HandshakeState, NotFinished, Psk,
};
pub use keys::Keypair;
pub use nametag::{
    DEFAULT_NAMETAG_WINDOW, InboundWindow, MAX_NAMETAG_WINDOW, MessageNametag, NAMETAG_BYTES,
    NametagError, NametagSecret, OutboundNametags,
};
pub use pairing::{PairingError, PairingInitiator, PairingParams, PairingResponder, Qr};
pub use pattern::{Pattern, Role};
pub use payload::{DecodeError, HandshakeKey, PayloadV2};
pub use plain::{PlainHandshake, PlainTransport};
pub use transport::{
    DangerousSecrets, RestoreError, SERIALIZED_SESSION_BYTES, SESSION_ID_INFO, SessionId,
    TransportError, TransportSession,
};
