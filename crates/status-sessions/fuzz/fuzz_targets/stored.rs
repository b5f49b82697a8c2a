//! Stored device records (device, peers, sessions) on arbitrary bytes, restored.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| status_sessions::fuzzing::stored(data));
