#![no_main]
//! Fuzzes the metadata decoder through `waku_relay::fuzzing::metadata`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    waku_relay::fuzzing::metadata(data);
});
