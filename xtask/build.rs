//! Compiles every `.proto` file of `proto/` into one module tree, and keeps the
//! descriptor set so the tests can walk every message generically.

use std::path::PathBuf;

/// Every `.proto` file of the workspace. A test checks that this list is complete.
const FILES: &[&str] = &[
    "waku/message/v1/message.proto",
    "waku/store/v3/store.proto",
    "waku/metadata/v1/metadata.proto",
    "status/encryption/protocol_message.proto",
    "status/protobuf/enums.proto",
    "status/protobuf/application_metadata_message.proto",
    "status/protobuf/chat_message.proto",
    "status/mvds/sync.proto",
    "status/identity/contact_code.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../proto");
    println!("cargo:rerun-if-changed={}", root.display());
    for file in FILES {
        println!("cargo:rerun-if-changed={}", root.join(file).display());
    }
    let descriptors = protox::compile(FILES, [&root])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out.join("descriptors.bin"),
        prost::Message::encode_to_vec(&descriptors),
    )?;
    std::fs::write(out.join("proto_files.txt"), FILES.join("\n"))?;
    prost_build::Config::new().compile_fds(descriptors)?;
    Ok(())
}
