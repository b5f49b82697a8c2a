//! A handshake and session driven by fuzz input (forged, flipped and replayed messages).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| status_noise::fuzzing::handshake(data));
