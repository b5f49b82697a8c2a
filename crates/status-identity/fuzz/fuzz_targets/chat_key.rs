#![no_main]
//! Fuzzes the chat_key parser through `status_identity::fuzzing::chat_key`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    status_identity::fuzzing::chat_key(data);
});
