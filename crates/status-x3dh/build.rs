//! Compiles the `.proto` files this crate puts on the wire with prost-build,
//! fed by the pure-Rust `protox` compiler (no `protoc` needed).

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The workspace build settings select curve25519-dalek's backend with this cfg; the
    // bench reports which one it was built with.
    println!(
        "cargo::rustc-check-cfg=cfg(curve25519_dalek_backend, values(\"avx512\", \"simd\", \"serial\", \"fiat\"))"
    );
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../proto");
    let files = ["status/encryption/protocol_message.proto"];
    for file in files {
        println!("cargo:rerun-if-changed={}", root.join(file).display());
    }
    let descriptors = protox::compile(files, [&root])?;
    // BTreeMap: maps encode in key order, so encodings are deterministic.
    prost_build::Config::new()
        .btree_map(["."])
        .compile_fds(descriptors)?;
    Ok(())
}
