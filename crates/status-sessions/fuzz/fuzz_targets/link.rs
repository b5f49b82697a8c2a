//! Device link sync messages and stored link states on arbitrary bytes.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| status_sessions::fuzzing::link(data));
