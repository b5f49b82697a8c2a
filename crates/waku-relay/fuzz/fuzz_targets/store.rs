#![no_main]
//! Fuzzes the store decoder through `waku_relay::fuzzing::store`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    waku_relay::fuzzing::store(data);
});
