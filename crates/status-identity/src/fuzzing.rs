//! Entry points for the fuzz targets in `fuzz/` and the corpus replay in
//! `tests/fuzz_corpus.rs`. Not a stable API: for fuzzing only.
//!
//! Each function must never panic on any input except through its own assertions, which
//! state properties that hold for every accepted input.

use core::str::FromStr as _;

use crate::chat_key::ChatKey;
use crate::contact_code::ContactCode;
use crate::keyfile;

/// Passphrase the key file target tries.
pub const KEY_FILE_PASSPHRASE: &str = "fuzz";
/// Largest Argon2 memory (KiB) the key file target spends on one input.
pub const KEY_FILE_MAX_MEMORY_KIB: u32 = 64;
/// Most Argon2 passes the key file target spends on one input.
pub const KEY_FILE_MAX_ITERATIONS: u32 = 2;

/// Chat key parser: an accepted chat key formats back to the same text.
pub fn chat_key(data: &[u8]) {
    let Ok(text) = core::str::from_utf8(data) else {
        return;
    };
    if let Ok(key) = ChatKey::from_str(text) {
        assert_eq!(key.to_string(), text, "chat keys have one encoding");
        assert_eq!(ChatKey::from_str(&key.to_string()), Ok(key));
    }
}

/// Contact code parsers (bytes and text): an accepted code re-encodes to the same input.
pub fn contact_code(data: &[u8]) {
    if let Ok(code) = ContactCode::from_bytes(data) {
        assert_eq!(code.to_bytes(), data, "contact codes have one encoding");
    }
    if let Ok(text) = core::str::from_utf8(data)
        && let Ok(code) = ContactCode::from_uri(text)
    {
        assert_eq!(code.to_uri(), text, "contact code texts have one encoding");
    }
}

/// Key file parser: the header check never panics, and when the header asks for little
/// work the decryption with [`KEY_FILE_PASSPHRASE`] is attempted too.
pub fn key_file(data: &[u8]) {
    let Ok(header) = keyfile::inspect(data) else {
        return;
    };
    assert!(header.params.memory_kib() <= keyfile::MAX_MEMORY_KIB);
    assert!(header.params.iterations() <= keyfile::MAX_ITERATIONS);
    if header.params.memory_kib() <= KEY_FILE_MAX_MEMORY_KIB
        && header.params.iterations() <= KEY_FILE_MAX_ITERATIONS
    {
        let _ = keyfile::decrypt(data, KEY_FILE_PASSPHRASE);
    }
}
