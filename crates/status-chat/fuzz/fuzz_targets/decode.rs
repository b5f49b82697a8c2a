//! cargo-fuzz target: `status_chat::fuzzing::decode` (its corpus is replayed by `cargo test`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    status_chat::fuzzing::decode(data);
});
