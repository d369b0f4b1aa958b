//! Lets go of a connection whose reader stopped taking bytes. A download left hanging (a closed
//! laptop lid, or someone holding connections open on purpose) would otherwise keep its socket,
//! and what it was being sent, for as long as the peer's TCP stays up: enough of them and the
//! server runs out of file descriptors for everyone. hyper has no limit on sending, so the
//! connection's socket carries it: once a write has found no room for the limit, it fails and
//! hyper closes the connection. A reader that takes bytes, however slowly, is never cut.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

/// A connection's socket whose writes fail once they have waited `limit` for room.
pub struct StalledReaderLimit<S> {
    inner: S,
    limit: Duration,
    /// Armed when a write finds no room, disarmed when one makes progress; boxed (hyper needs
    /// an `Unpin` socket), which happens only when a reader falls behind.
    stalled: Option<Pin<Box<Sleep>>>,
}

impl<S> StalledReaderLimit<S> {
    pub fn new(inner: S, limit: Duration) -> StalledReaderLimit<S> {
        StalledReaderLimit {
            inner,
            limit,
            stalled: None,
        }
    }

    /// `written` as the inner write answered it, or an error once the reader has taken nothing
    /// for the limit.
    fn watch(
        &mut self,
        cx: &mut Context<'_>,
        written: Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>> {
        if written.is_ready() {
            self.stalled = None;
            return written;
        }
        let limit = self.limit;
        let stalled = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match stalled.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the reader took nothing for the request time limit",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for StalledReaderLimit<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.watch(cx, written)
    }

    // hyper writes a response's head and body in one call.
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.watch(cx, written)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for StalledReaderLimit<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test(start_paused = true)]
    async fn a_write_that_finds_no_room_for_the_limit_fails_and_one_that_progresses_does_not() {
        // A pipe holding 8 bytes: the other end reads only when told to.
        let (near, mut far) = tokio::io::duplex(8);
        let mut limited = StalledReaderLimit::new(near, Duration::from_secs(30));
        limited.write_all(b"12345678").await.expect("room for 8");
        // The reader takes a byte every 20 s: slow, but never stalled for 30.
        let reader = async move {
            for _ in 0..4 {
                tokio::time::sleep(Duration::from_secs(20)).await;
                let mut byte = [0u8; 1];
                far.read_exact(&mut byte).await.expect("a byte");
            }
            far
        };
        let (written, mut far) = tokio::join!(limited.write_all(b"abcd"), reader);
        written.expect("a slow reader is not cut");
        // Now it takes nothing: the next write gives up after 30 s.
        let started = tokio::time::Instant::now();
        let error = limited.write_all(b"more").await.expect_err("given up");
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert_eq!(started.elapsed(), Duration::from_secs(30));
        let mut rest = [0u8; 8];
        far.read_exact(&mut rest)
            .await
            .expect("what was sent stays sent");
    }
}
