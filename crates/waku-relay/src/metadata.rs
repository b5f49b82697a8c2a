//! 66/WAKU2-METADATA (`/vac/waku/metadata/1.0.0`): cluster id and shards,
//! exchanged on connect. `shards` are written unpacked, as js-waku requires.

use futures::{AsyncRead, AsyncWrite, AsyncWriteExt};
use libp2p::StreamProtocol;
use prost::Message as _;
use std::io;

use crate::codec::{read_frame, write_frame};
use crate::proto::waku::metadata::v1 as pb;

/// The protocol id.
pub const PROTOCOL: StreamProtocol = StreamProtocol::new("/vac/waku/metadata/1.0.0");

/// Largest metadata frame accepted, in bytes.
pub const MAX_METADATA_FRAME: usize = 8 * 1024;

/// Most shards accepted in one metadata message (a cluster has 1024).
pub const MAX_METADATA_SHARDS: usize = 1024;

/// Why a metadata message was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MetadataError {
    /// Not the protobuf.
    #[error("malformed metadata message")]
    Malformed,
    /// More than [`MAX_METADATA_SHARDS`] shards.
    #[error("{0} shards, at most {max} allowed", max = MAX_METADATA_SHARDS)]
    TooManyShards(usize),
}

/// A node's metadata: its cluster and the shards it relays.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metadata {
    /// Cluster id, if the node names one.
    pub cluster_id: Option<u32>,
    /// Shard indices.
    pub shards: Vec<u32>,
}

impl Metadata {
    /// Encodes as the request protobuf (same layout as the response).
    pub fn encode(&self) -> Vec<u8> {
        pb::WakuMetadataRequest {
            cluster_id: self.cluster_id,
            shards: self.shards.clone(),
        }
        .encode_to_vec()
    }

    /// Decodes a request or response body (without the length prefix).
    pub fn decode(bytes: &[u8]) -> Result<Self, MetadataError> {
        let raw = pb::WakuMetadataResponse::decode(bytes).map_err(|_| MetadataError::Malformed)?;
        if raw.shards.len() > MAX_METADATA_SHARDS {
            return Err(MetadataError::TooManyShards(raw.shards.len()));
        }
        Ok(Self {
            cluster_id: raw.cluster_id,
            shards: raw.shards,
        })
    }
}

/// The request/response codec of the metadata protocol.
#[derive(Debug, Clone, Default)]
pub struct MetadataCodec;

fn invalid(e: MetadataError) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

impl libp2p::request_response::Codec for MetadataCodec {
    type Protocol = StreamProtocol;
    type Request = Metadata;
    type Response = Metadata;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Metadata>
    where
        T: AsyncRead + Unpin + Send,
    {
        Metadata::decode(&read_frame(io, MAX_METADATA_FRAME).await?).map_err(invalid)
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Metadata>
    where
        T: AsyncRead + Unpin + Send,
    {
        Metadata::decode(&read_frame(io, MAX_METADATA_FRAME).await?).map_err(invalid)
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: Metadata,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &req.encode()).await?;
        // js-waku reads the request until EOF.
        io.close().await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        res: Metadata,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &res.encode()).await?;
        io.close().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn shards_are_unpacked() {
        let m = Metadata {
            cluster_id: Some(1),
            shards: vec![0, 1],
        };
        // cluster 1 (08 01), then each shard as its own field-2 varint (10 xx).
        assert_eq!(m.encode(), vec![0x08, 0x01, 0x10, 0x00, 0x10, 0x01]);
    }

    #[test]
    fn packed_input_is_accepted() {
        // Some implementations pack: field 2, length-delimited [0, 1].
        let m = Metadata::decode(&[0x08, 0x10, 0x12, 0x02, 0x00, 0x01]).unwrap();
        assert_eq!(m.cluster_id, Some(16));
        assert_eq!(m.shards, vec![0, 1]);
    }

    #[test]
    fn too_many_shards() {
        let m = Metadata {
            cluster_id: Some(1),
            shards: vec![1; MAX_METADATA_SHARDS + 1],
        };
        assert_eq!(
            Metadata::decode(&m.encode()),
            Err(MetadataError::TooManyShards(MAX_METADATA_SHARDS + 1))
        );
    }

    proptest! {
        #[test]
        fn roundtrip(c in proptest::option::of(any::<u32>()), shards in proptest::collection::vec(any::<u32>(), 0..64)) {
            let m = Metadata { cluster_id: c, shards };
            prop_assert_eq!(Metadata::decode(&m.encode()), Ok(m));
        }
    }
}
