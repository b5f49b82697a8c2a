//! Waku Noise: handshakes (35), sessions (37) and device pairing (43), byte-compatible
//! with the reference implementation `@waku/noise`.
//!
//! Sans-IO: randomness is an argument.
