//! cargo-fuzz target: `status_x3dh::fuzzing::decode_bundle` (its corpus is replayed by `cargo test`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    status_x3dh::fuzzing::decode_bundle(data);
});
