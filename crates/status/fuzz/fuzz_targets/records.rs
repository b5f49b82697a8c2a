//! Every decoder of what a node reads back from its account database, on arbitrary bytes.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| status::fuzzing::records(data));
