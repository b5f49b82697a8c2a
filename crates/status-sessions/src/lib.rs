//! Multi-device sessions of 54/WAKU2-X3DH-SESSIONS, Noise sessions of 37, and the topics
//! and Waku payloads that carry them. Sans-IO, with store traits.

pub mod payload;
pub mod topics;

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
