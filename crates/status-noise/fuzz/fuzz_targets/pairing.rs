//! The 43 device pairing driven by the input: drops, reorders, tampering, replays.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| status_noise::fuzzing::pairing(data));
