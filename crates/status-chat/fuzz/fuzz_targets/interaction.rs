//! Three chat endpoints exchanging messages, edits, deletes, reactions and group events
//! with drops, reorders, duplicates, timeouts and restarts.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| status_chat::fuzzing::interaction(data));
