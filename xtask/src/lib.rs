//! Workspace automation for `cargo xtask`.
//!
//! The library half holds what the tests check: the layering rule of the workspace and
//! every protobuf message of `proto/` compiled in one place.

pub mod layers;
pub mod sim;
pub mod vectors_all;

/// Every message of `proto/`, compiled with prost-build fed by protox.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod proto {
    /// The encoded `FileDescriptorSet` of all `.proto` files.
    pub const DESCRIPTORS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/descriptors.bin"));
    /// The `.proto` files compiled, relative to `proto/`, one per line.
    pub const FILES: &str = include_str!(concat!(env!("OUT_DIR"), "/proto_files.txt"));

    pub mod waku {
        pub mod message {
            pub mod v1 {
                include!(concat!(env!("OUT_DIR"), "/waku.message.v1.rs"));
            }
        }
        pub mod store {
            pub mod v3 {
                include!(concat!(env!("OUT_DIR"), "/waku.store.v3.rs"));
            }
        }
        pub mod metadata {
            pub mod v1 {
                include!(concat!(env!("OUT_DIR"), "/waku.metadata.v1.rs"));
            }
        }
    }
    pub mod encryption {
        include!(concat!(env!("OUT_DIR"), "/encryption.rs"));
    }
    pub mod protobuf {
        include!(concat!(env!("OUT_DIR"), "/protobuf.rs"));
    }
    pub mod mvds {
        include!(concat!(env!("OUT_DIR"), "/mvds.rs"));
    }
    pub mod identity {
        include!(concat!(env!("OUT_DIR"), "/identity.rs"));
    }
}
