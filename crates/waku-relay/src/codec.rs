//! Length-prefixed protobuf framing shared by the request/response protocols
//! (metadata, store): an unsigned LEB128 length, then the message.

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use std::io;

/// Encodes `len` as an unsigned LEB128 varint.
pub(crate) fn uvarint(mut len: u64, out: &mut Vec<u8>) {
    loop {
        let byte = (len & 0x7f) as u8;
        len >>= 7;
        if len == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Reads one frame of at most `max` bytes.
pub(crate) async fn read_frame<T: AsyncRead + Unpin>(
    io: &mut T,
    max: usize,
) -> io::Result<Vec<u8>> {
    let mut len: u64 = 0;
    let mut shift = 0u32;
    loop {
        let mut b = [0u8; 1];
        io.read_exact(&mut b).await?;
        len |= u64::from(b[0] & 0x7f) << shift;
        if b[0] & 0x80 == 0 {
            break;
        }
        shift += 7;
        if shift > 56 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "length varint too long",
            ));
        }
    }
    let len = usize::try_from(len).unwrap_or(usize::MAX);
    if len > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("frame of {len} bytes exceeds {max}"),
        ));
    }
    let mut buf = vec![0u8; len];
    io.read_exact(&mut buf).await?;
    Ok(buf)
}

/// Writes one frame and flushes.
pub(crate) async fn write_frame<T: AsyncWrite + Unpin>(io: &mut T, data: &[u8]) -> io::Result<()> {
    let mut out = Vec::with_capacity(data.len() + 5);
    uvarint(data.len() as u64, &mut out);
    out.extend_from_slice(data);
    io.write_all(&out).await?;
    io.flush().await
}

/// Splits a frame off `bytes` without IO (used by the fuzz targets).
pub(crate) fn split_frame(bytes: &[u8], max: usize) -> Option<&[u8]> {
    let mut len: u64 = 0;
    for (i, b) in bytes.iter().enumerate().take(9) {
        len |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            let len = usize::try_from(len).ok()?;
            if len > max {
                return None;
            }
            let body = bytes.get(i + 1..)?;
            return body.get(..len);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn frame_roundtrip(data in proptest::collection::vec(any::<u8>(), 0..2000)) {
            let mut buf = Vec::new();
            futures::executor::block_on(write_frame(&mut buf, &data)).unwrap();
            prop_assert_eq!(split_frame(&buf, 4096), Some(&data[..]));
            let mut cur = futures::io::Cursor::new(buf);
            let back = futures::executor::block_on(read_frame(&mut cur, 4096)).unwrap();
            prop_assert_eq!(back, data);
        }
    }

    #[test]
    fn frame_limit() {
        let mut buf = Vec::new();
        futures::executor::block_on(write_frame(&mut buf, &[0; 100])).unwrap();
        let mut cur = futures::io::Cursor::new(buf.clone());
        assert!(futures::executor::block_on(read_frame(&mut cur, 99)).is_err());
        assert_eq!(split_frame(&buf, 99), None);
    }
}
