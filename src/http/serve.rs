//! The HTTP server loop: accept, cap, serve each connection with hyper, shut down
//! gracefully.
//!
//! It is ours rather than `axum::serve` because a hotline's server must not be held by
//! slow clients, and `axum::serve` sets neither a header-read timeout (hyper needs a timer
//! for one) nor a connection cap. Here:
//!
//! - a request head must arrive within the header-read timeout, or hyper closes the
//!   connection (this also ends idle keep-alive connections);
//! - at most `cap` connections are open, below the process's descriptor limit so that
//!   `accept` never fails for lack of one; at the cap, the oldest connection that has not
//!   yet sent a whole request head is shed to make room, so a flood of half-sent requests
//!   cannot keep `/healthz` or an operator out;
//! - each request knows its peer's address ([`Peer`]), for the authentication throttle.

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use futures_util::task::AtomicWaker;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// The address of the client that sent a request (a request extension).
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

/// Descriptors kept free for everything that is not an HTTP connection (Redis, Asterisk,
/// the WhatsApp client, files).
const RESERVED_DESCRIPTORS: usize = 128;

/// How long graceful shutdown waits for connections to finish.
const DRAIN: Duration = Duration::from_secs(10);

/// The connection cap: the configured one, but below the process's descriptor limit.
pub fn connection_cap(configured: usize) -> usize {
    match open_files_limit() {
        Some(limit) => configured.min(limit.saturating_sub(RESERVED_DESCRIPTORS).max(16)),
        None => configured,
    }
}

/// The soft limit on open files, from `/proc/self/limits` (Linux); none elsewhere. Read
/// from the file rather than through `getrlimit` to keep the crate free of `unsafe`.
fn open_files_limit() -> Option<usize> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// One open connection, as the registry sees it.
struct Slot {
    /// A whole request head arrived on it (hyper called the service).
    spoken: AtomicBool,
    /// Told to close: the next read fails.
    shed: AtomicBool,
    waker: AtomicWaker,
}

/// Every open connection, oldest first.
#[derive(Default)]
struct Registry {
    slots: Mutex<BTreeMap<u64, Arc<Slot>>>,
    next: AtomicU64,
    freed: Notify,
}

impl Registry {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Arc<Slot>>> {
        self.slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Make room for one more connection under `cap`: shed the oldest connection that has
    /// not sent a request yet. False when every open connection is in use.
    fn make_room(&self, cap: usize) -> bool {
        let slots = self.lock();
        let live = slots
            .values()
            .filter(|s| !s.shed.load(Ordering::Acquire))
            .count();
        if live < cap {
            return true;
        }
        let victim = slots
            .values()
            .find(|s| !s.spoken.load(Ordering::Acquire) && !s.shed.load(Ordering::Acquire));
        match victim {
            Some(s) => {
                s.shed.store(true, Ordering::Release);
                s.waker.wake();
                true
            }
            None => false,
        }
    }

    fn add(self: &Arc<Self>, stream: TcpStream) -> Held {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let slot = Arc::new(Slot {
            spoken: AtomicBool::new(false),
            shed: AtomicBool::new(false),
            waker: AtomicWaker::new(),
        });
        self.lock().insert(id, slot.clone());
        Held {
            stream,
            slot,
            id,
            registry: self.clone(),
        }
    }
}

/// A connection that leaves the registry when it closes.
struct Held {
    stream: TcpStream,
    slot: Arc<Slot>,
    id: u64,
    registry: Arc<Registry>,
}

impl Drop for Held {
    fn drop(&mut self) {
        self.registry.lock().remove(&self.id);
        self.registry.freed.notify_waiters();
    }
}

impl AsyncRead for Held {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.slot.waker.register(cx.waker());
        if self.slot.shed.load(Ordering::Acquire) {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "shed to make room for another connection",
            )));
        }
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Held {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// Serve `router` on `listener` until `shutdown` resolves, then let open connections
/// finish (for at most ten seconds).
pub async fn run(
    listener: TcpListener,
    router: Router,
    limits: super::Limits,
    shutdown: impl std::future::Future<Output = ()>,
) -> io::Result<()> {
    let cap = connection_cap(limits.max_connections);
    tracing::debug!(cap, "connection cap");
    let registry = Arc::new(Registry::default());
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    tokio::pin!(shutdown);
    loop {
        // Wait for room before accepting, so that accept never runs out of descriptors.
        while !registry.make_room(cap) {
            let freed = registry.freed.notified();
            tokio::select! {
                _ = freed => {}
                _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                _ = &mut shutdown => return drain(graceful).await,
            }
        }
        let (stream, addr) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors or a connection reset before accept: wait a
                    // moment rather than spin.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => return drain(graceful).await,
        };
        let _ = stream.set_nodelay(true);
        let held = registry.add(stream);
        let slot = held.slot.clone();
        let router = router.clone();
        let service =
            hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                slot.spoken.store(true, Ordering::Release);
                req.extensions_mut().insert(Peer(addr));
                tower::ServiceExt::oneshot(router.clone(), req)
            });
        let conn = builder.serve_connection(TokioIo::new(held), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
}

async fn drain(graceful: hyper_util::server::graceful::GracefulShutdown) -> io::Result<()> {
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the shutdown grace period; closing them");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_stays_below_the_descriptor_limit() {
        let cap = connection_cap(usize::MAX);
        if let Some(limit) = open_files_limit() {
            assert!(cap < limit, "{cap} < {limit}");
        }
        assert_eq!(connection_cap(20), 20.min(cap));
    }
}
