//! The `ProtocolMessage` envelope as raw bytes per field.
//!
//! Embedded messages and `bytes` share the protobuf wire type, so this struct decodes the
//! same bytes as the generated `encryption.ProtocolMessage` while keeping each bundle and
//! each per-installation `EncryptedMessageProtocol` as the exact bytes received; those go
//! to `status-x3dh`'s own checked decoders.

use std::collections::BTreeMap;

use prost::Message;

/// Largest `ProtocolMessage` accepted (the Waku payload cap bounds it anyway).
pub(crate) const MAX_PROTOCOL_MESSAGE_BYTES: usize = crate::payload::MAX_PAYLOAD_BYTES;

/// `encryption.ProtocolMessage` with raw fields.
#[derive(Clone, PartialEq, Message)]
pub(crate) struct RawProtocolMessage {
    /// Sender's installation id.
    #[prost(string, tag = "2")]
    pub(crate) installation_id: String,
    /// Encoded `Bundle`s.
    #[prost(bytes = "vec", repeated, tag = "3")]
    pub(crate) bundles: Vec<Vec<u8>>,
    /// Encoded `EncryptedMessageProtocol` by recipient installation id.
    #[prost(btree_map = "string, bytes", tag = "101")]
    pub(crate) encrypted_message: BTreeMap<String, Vec<u8>>,
    /// Unencrypted payload (unused by 1:1 chat).
    #[prost(bytes = "vec", tag = "102")]
    pub(crate) public_message: Vec<u8>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto;

    #[test]
    fn raw_and_generated_encodings_agree() {
        let generated = proto::ProtocolMessage {
            installation_id: "dev-1".into(),
            bundles: vec![proto::Bundle {
                identity: vec![1; 32],
                signed_pre_keys: [(
                    "dev-1".to_string(),
                    proto::SignedPreKey {
                        signed_pre_key: vec![2; 32],
                        version: 3,
                        protocol_version: 1,
                    },
                )]
                .into_iter()
                .collect(),
                signature: vec![4; 64],
                timestamp: 5,
            }],
            encrypted_message: [(
                "dev-2".to_string(),
                proto::EncryptedMessageProtocol {
                    payload: vec![6; 20],
                    ..Default::default()
                },
            )]
            .into_iter()
            .collect(),
            public_message: vec![],
        };
        let bytes = generated.encode_to_vec();
        let raw = RawProtocolMessage::decode(bytes.as_slice()).unwrap();
        assert_eq!(raw.installation_id, "dev-1");
        assert_eq!(raw.bundles[0], generated.bundles[0].encode_to_vec());
        assert_eq!(
            raw.encrypted_message["dev-2"],
            generated.encrypted_message["dev-2"].encode_to_vec()
        );
        assert_eq!(raw.encode_to_vec(), bytes);
    }
}
