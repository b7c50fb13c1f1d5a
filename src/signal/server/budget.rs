//! What a connection may send before it has joined a room: a stranger's bytes are counted as
//! they are read and, past [`UNJOINED_LIMIT`], the read fails, so an unfinished frame cannot
//! make the server buffer a megabyte for someone who never joins. A join lifts the bound (a
//! joined peer needs big frames for its SDP).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Most bytes read from a connection before it joins: a `join` is a few hundred bytes (with an
/// access token); this leaves room for a few refused messages before it.
pub const UNJOINED_LIMIT: usize = 16 * 1024;

/// One connection's count, shared by its reader and its task.
#[derive(Debug)]
pub struct Budget {
    read: AtomicUsize,
    lifted: AtomicBool,
    exceeded: AtomicBool,
    /// The server's gauge of bytes read from connections that have not joined.
    gauge: Arc<AtomicU64>,
}

impl Budget {
    pub fn new(gauge: Arc<AtomicU64>) -> Arc<Budget> {
        Arc::new(Budget {
            read: AtomicUsize::new(0),
            lifted: AtomicBool::new(false),
            exceeded: AtomicBool::new(false),
            gauge,
        })
    }

    /// The connection joined: no bound from now on, and its bytes leave the gauge.
    pub fn lift(&self) {
        if !self.lifted.swap(true, Ordering::SeqCst) {
            let n = self.read.load(Ordering::SeqCst) as u64;
            self.gauge.fetch_sub(n, Ordering::Relaxed);
        }
    }

    /// Whether a read failed for being over the bound.
    pub fn exceeded(&self) -> bool {
        self.exceeded.load(Ordering::SeqCst)
    }

    /// Count `n` bytes just read; false when that is over the bound.
    fn take(&self, n: usize) -> bool {
        if self.lifted.load(Ordering::SeqCst) {
            return true;
        }
        let total = self.read.fetch_add(n, Ordering::SeqCst) + n;
        self.gauge.fetch_add(n as u64, Ordering::Relaxed);
        if total > UNJOINED_LIMIT {
            self.exceeded.store(true, Ordering::SeqCst);
            return false;
        }
        true
    }
}

impl Drop for Budget {
    fn drop(&mut self) {
        self.lift();
    }
}

/// A stream whose reads are counted against a [`Budget`].
pub struct Budgeted<S> {
    inner: S,
    budget: Arc<Budget>,
}

impl<S> Budgeted<S> {
    pub fn new(inner: S, budget: Arc<Budget>) -> Budgeted<S> {
        Budgeted { inner, budget }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Budgeted<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.budget.exceeded() {
            return Poll::Ready(Err(over()));
        }
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = r {
            let n = buf.filled().len() - before;
            if !self.budget.take(n) {
                return Poll::Ready(Err(over()));
            }
        }
        r
    }
}

fn over() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("over {UNJOINED_LIMIT} bytes before joining a room"),
    )
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Budgeted<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn reads_past_the_bound_fail_until_lifted() {
        let gauge = Arc::new(AtomicU64::new(0));
        let (mut tx, rx) = tokio::io::duplex(1 << 20);
        let budget = Budget::new(gauge.clone());
        let mut r = Budgeted::new(rx, budget.clone());
        tx.write_all(&vec![7u8; UNJOINED_LIMIT]).await.unwrap();
        let mut buf = vec![0u8; UNJOINED_LIMIT];
        r.read_exact(&mut buf).await.unwrap();
        assert_eq!(gauge.load(Ordering::Relaxed), UNJOINED_LIMIT as u64);
        tx.write_all(b"one more").await.unwrap();
        let e = r.read(&mut buf).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        assert!(budget.exceeded());
        drop(r);
        drop(budget);
        assert_eq!(gauge.load(Ordering::Relaxed), 0, "returned when it went");

        let budget = Budget::new(gauge.clone());
        let (mut tx, rx) = tokio::io::duplex(1 << 20);
        let mut r = Budgeted::new(rx, budget.clone());
        tx.write_all(b"join").await.unwrap();
        r.read_exact(&mut [0u8; 4]).await.unwrap();
        budget.lift();
        assert_eq!(gauge.load(Ordering::Relaxed), 0);
        let big = vec![1u8; 4 * UNJOINED_LIMIT];
        let writer = tokio::spawn(async move { tx.write_all(&big).await });
        let mut got = vec![0u8; 4 * UNJOINED_LIMIT];
        r.read_exact(&mut got).await.unwrap();
        writer.await.unwrap().unwrap();
    }
}
