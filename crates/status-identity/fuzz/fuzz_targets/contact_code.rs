#![no_main]
//! Fuzzes the contact_code parser through `status_identity::fuzzing::contact_code`.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    status_identity::fuzzing::contact_code(data);
});
