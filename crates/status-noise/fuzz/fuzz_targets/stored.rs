//! Stored transport sessions and pairing QR strings on arbitrary bytes.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| status_noise::fuzzing::stored(data));
