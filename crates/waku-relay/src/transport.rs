//! Byte counting on the transport: every byte a node reads from or writes to
//! its TCP connections, counted below Noise (so handshakes, encryption
//! overhead, multiplexer frames and every libp2p protocol are included).
//!
//! [`crate::Node::traffic`] reads the counters without a round trip to the
//! node task; [`build_swarm_counted`](crate::behaviour::build_swarm_counted)
//! wires them into a swarm of your own.

use std::io::{self, IoSlice, IoSliceMut};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use futures::{AsyncRead, AsyncWrite};

/// A snapshot of a node's byte counters, since the node started.
///
/// `bytes_in`/`bytes_out` are the raw bytes of all its connections (TCP
/// payload below Noise: handshakes, encryption and multiplexer overhead and
/// every protocol included, TCP/IP headers excluded). The two `message_bytes`
/// counters are encoded `WakuMessage` sizes at the relay level, so
/// `bytes_out / message_bytes_published` is the bandwidth amplification of a
/// publishing node.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Traffic {
    /// Bytes read from the network.
    pub bytes_in: u64,
    /// Bytes written to the network.
    pub bytes_out: u64,
    /// Encoded size of the messages this node published (each counted once,
    /// when handed to gossipsub, however many peers it goes to).
    pub message_bytes_published: u64,
    /// Encoded size of the valid messages delivered as
    /// [`Event::Message`](crate::Event::Message) (each counted once).
    pub message_bytes_received: u64,
}

/// Counters shared by a node's connections and its handle (atomics; cheap to
/// update from any task).
#[derive(Debug, Default)]
pub struct TrafficCounters {
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    message_bytes_published: AtomicU64,
    message_bytes_received: AtomicU64,
}

impl TrafficCounters {
    /// Fresh counters at zero, ready to share.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// The current values.
    pub fn snapshot(&self) -> Traffic {
        Traffic {
            bytes_in: self.bytes_in.load(Ordering::Relaxed),
            bytes_out: self.bytes_out.load(Ordering::Relaxed),
            message_bytes_published: self.message_bytes_published.load(Ordering::Relaxed),
            message_bytes_received: self.message_bytes_received.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn add_published(&self, n: usize) {
        self.message_bytes_published
            .fetch_add(n as u64, Ordering::Relaxed);
    }

    pub(crate) fn add_received(&self, n: usize) {
        self.message_bytes_received
            .fetch_add(n as u64, Ordering::Relaxed);
    }
}

/// A stream that counts the bytes read and written through it.
#[derive(Debug)]
pub struct Counted<S> {
    inner: S,
    counters: Arc<TrafficCounters>,
}

impl<S> Counted<S> {
    /// Wraps `inner`, adding to `counters`.
    pub fn new(inner: S, counters: Arc<TrafficCounters>) -> Self {
        Self { inner, counters }
    }

    fn read(&self, r: Poll<io::Result<usize>>) -> Poll<io::Result<usize>> {
        if let Poll::Ready(Ok(n)) = &r {
            self.counters
                .bytes_in
                .fetch_add(*n as u64, Ordering::Relaxed);
        }
        r
    }

    fn wrote(&self, r: Poll<io::Result<usize>>) -> Poll<io::Result<usize>> {
        if let Poll::Ready(Ok(n)) = &r {
            self.counters
                .bytes_out
                .fetch_add(*n as u64, Ordering::Relaxed);
        }
        r
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Counted<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        self.read(r)
    }

    fn poll_read_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_read_vectored(cx, bufs);
        self.read(r)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Counted<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.wrote(r)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.wrote(r)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_close(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::{AsyncReadExt, AsyncWriteExt, io::Cursor};

    #[test]
    fn counts_reads_and_writes() {
        futures::executor::block_on(async {
            let c = TrafficCounters::new();
            let mut s = Counted::new(Cursor::new(vec![1u8; 10]), c.clone());
            let mut buf = [0u8; 4];
            s.read_exact(&mut buf).await.unwrap();
            assert_eq!(c.snapshot().bytes_in, 4);
            s.write_all(&[2; 7]).await.unwrap();
            assert_eq!(c.snapshot().bytes_out, 7);
            let mut rest = Vec::new();
            s.read_to_end(&mut rest).await.unwrap();
            // The cursor wrote over 7 bytes; nothing is left after position 11.
            assert_eq!(c.snapshot().bytes_in, 4);
            c.add_published(5);
            c.add_received(6);
            let t = c.snapshot();
            assert_eq!(
                (t.message_bytes_published, t.message_bytes_received),
                (5, 6)
            );
        });
    }
}
