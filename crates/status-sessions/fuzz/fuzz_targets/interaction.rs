//! Three devices exchanging messages with drops, reorders, duplicates, tampering, restarts.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| status_sessions::fuzzing::interaction(data));
