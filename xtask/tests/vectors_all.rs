//! The combined vectors in `docs/vectors/` are exactly what `cargo xtask vectors`
//! generates from the code and the crates' own vectors (so they cannot drift).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

#[test]
fn committed_vectors_match_a_fresh_generation() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    xtask::vectors_all::check(root).unwrap();
}

#[test]
fn every_section_uses_the_documented_envelope() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let readme = std::fs::read_to_string(root.join("docs/vectors/README.md")).unwrap();
    for (name, v) in xtask::vectors_all::generate(root).unwrap() {
        assert_eq!(v["format"], xtask::vectors_all::FORMAT, "{name}");
        for key in ["section", "description", "generator", "sources", "data"] {
            assert!(v.get(key).is_some(), "{name} lacks {key}");
        }
        assert!(readme.contains(name), "README does not document {name}");
    }
}
