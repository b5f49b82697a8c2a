//! X3DH prekey bundles and the Double Ratchet of 53/WAKU2-X3DH, 25519 suite 1.
//!
//! Sans-IO: randomness and time are arguments.

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
