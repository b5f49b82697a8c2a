//! Arbitrary bytes as a `ProtocolMessage` (or raw Waku payload) on each topic kind.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    status_sessions::fuzzing::protocol_message(data);
});
