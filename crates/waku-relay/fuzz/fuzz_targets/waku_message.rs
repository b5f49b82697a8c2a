#![no_main]
//! Fuzzes the waku_message decoder through `waku_relay::fuzzing::waku_message`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    waku_relay::fuzzing::waku_message(data);
});
