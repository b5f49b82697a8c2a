//! Content and pubsub topic strings on arbitrary bytes.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| waku_relay::fuzzing::topics(data));
