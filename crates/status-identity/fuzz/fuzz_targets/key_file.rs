#![no_main]
//! Fuzzes the key_file parser through `status_identity::fuzzing::key_file`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    status_identity::fuzzing::key_file(data);
});
