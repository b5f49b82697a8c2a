//! The PayloadV2 decoder on arbitrary bytes.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| status_noise::fuzzing::payload_v2(data));
