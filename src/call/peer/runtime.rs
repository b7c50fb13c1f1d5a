//! The webrtc-rs runtime of a call: Tokio's, except that every UDP socket the peer connection
//! binds gets large kernel buffers and, with `--impair`, sends through a [`Shaper`] (drop,
//! delay, rate, reorder) and a timed queue.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::future::Future;
use std::io::{self, IoSliceMut};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use webrtc::runtime::{
    AsyncInterval, AsyncTcpListener, AsyncTcpStream, AsyncUdpSocket, JoinHandle, RecvMeta, Runtime,
    TokioRuntime, Transmit,
};

use crate::impair::{Fate, ImpairCounts, ImpairSpec, Shaper};

/// More datagrams than this waiting in one socket's queue are dropped (a memory bound; the
/// rate limiter's `queue` normally drops long before).
const MAX_QUEUED: usize = 20_000;

/// Kernel receive and send buffer asked for on every UDP socket (the kernel caps it at
/// `net.core.rmem_max`/`wmem_max`). Linux's default, 208 KiB, overflows under a bulk data
/// channel on loopback: the datagrams dropped cost SCTP its window (measured: 4 MiB buffers
/// take the data-channel throughput test from ~250 to ~1800 Mbit/s).
const SOCKET_BUFFER: usize = 4 << 20;

/// Tokio's runtime with large socket buffers and, with a spec, impaired UDP sends. Counts of
/// what was done are shared with the caller.
#[derive(Debug)]
pub struct PeerRuntime {
    spec: Option<ImpairSpec>,
    sockets: AtomicU64,
    counts: Arc<Mutex<ImpairCounts>>,
}

impl PeerRuntime {
    pub fn new(spec: Option<ImpairSpec>) -> PeerRuntime {
        PeerRuntime {
            spec,
            sockets: AtomicU64::new(0),
            counts: Arc::default(),
        }
    }

    /// What every socket of this runtime did so far.
    pub fn counts(&self) -> Arc<Mutex<ImpairCounts>> {
        self.counts.clone()
    }
}

impl Runtime for PeerRuntime {
    fn spawn(&self, future: Pin<Box<dyn Future<Output = ()> + Send>>) -> Box<dyn JoinHandle> {
        TokioRuntime.spawn(future)
    }

    fn spawn_reactor(
        &self,
        reactor_pool_size: usize,
        future: Pin<Box<dyn Future<Output = ()> + Send>>,
    ) -> Box<dyn JoinHandle> {
        TokioRuntime.spawn_reactor(reactor_pool_size, future)
    }

    fn wrap_udp_socket(&self, socket: std::net::UdpSocket) -> io::Result<Arc<dyn AsyncUdpSocket>> {
        // Best effort: a smaller buffer still works.
        let _ = rustix::net::sockopt::set_socket_recv_buffer_size(&socket, SOCKET_BUFFER);
        let _ = rustix::net::sockopt::set_socket_send_buffer_size(&socket, SOCKET_BUFFER);
        let inner = TokioRuntime.wrap_udp_socket(socket)?;
        let Some(spec) = self.spec else {
            return Ok(inner);
        };
        let stream = self.sockets.fetch_add(1, Ordering::Relaxed);
        let queue = Arc::new(Queue::default());
        if spec.delays() {
            // The driver wraps its sockets inside its own reactor task, so this lands there.
            let (inner, queue) = (inner.clone(), queue.clone());
            tokio::spawn(async move { queue.run(inner).await });
        }
        Ok(Arc::new(ImpairSocket {
            inner,
            delays: spec.delays(),
            shaper: Mutex::new(Shaper::new(spec, stream)),
            counts: self.counts.clone(),
            queue,
        }))
    }

    fn wrap_tcp_listener(
        &self,
        listener: std::net::TcpListener,
    ) -> io::Result<Arc<dyn AsyncTcpListener>> {
        TokioRuntime.wrap_tcp_listener(listener)
    }

    fn connect_tcp<'a>(
        &'a self,
        remote_addr: SocketAddr,
    ) -> Pin<Box<dyn Future<Output = io::Result<Arc<dyn AsyncTcpStream>>> + Send + 'a>> {
        Box::pin(async move { TokioRuntime.connect_tcp(remote_addr).await })
    }

    fn resolve_host<'a>(
        &'a self,
        host: &'a str,
    ) -> Pin<Box<dyn Future<Output = io::Result<Vec<SocketAddr>>> + Send + 'a>> {
        Box::pin(async move { TokioRuntime.resolve_host(host).await })
    }

    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>> {
        TokioRuntime.sleep(duration)
    }

    fn interval(&self, period: Duration) -> Box<dyn AsyncInterval> {
        TokioRuntime.interval(period)
    }

    fn block_on(&self, future: Pin<Box<dyn Future<Output = ()> + '_>>) {
        TokioRuntime.block_on(future)
    }

    fn yield_now(&self) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>> {
        TokioRuntime.yield_now()
    }

    fn name(&self) -> &'static str {
        "tokio+impair"
    }
}

/// A datagram waiting for its departure time (ordered by time, then by arrival).
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Waiting {
    at: Instant,
    seq: u64,
    to: SocketAddr,
    data: Vec<u8>,
}

#[derive(Debug, Default)]
struct QueueState {
    heap: BinaryHeap<Reverse<Waiting>>,
    seq: u64,
    closed: bool,
}

/// One socket's departures, sent by one task at their time.
#[derive(Debug, Default)]
struct Queue {
    state: Mutex<QueueState>,
    wake: tokio::sync::Notify,
}

impl Queue {
    fn push(&self, at: Instant, to: SocketAddr, data: &[u8]) -> bool {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if s.heap.len() >= MAX_QUEUED {
            return false;
        }
        let earliest = s.heap.peek().map(|w| w.0.at);
        s.seq += 1;
        let seq = s.seq;
        s.heap.push(Reverse(Waiting {
            at,
            seq,
            to,
            data: data.to_vec(),
        }));
        drop(s);
        if earliest.is_none_or(|e| at < e) {
            self.wake.notify_one();
        }
        true
    }

    fn close(&self) {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).closed = true;
        self.wake.notify_one();
    }

    async fn run(&self, socket: Arc<dyn AsyncUdpSocket>) {
        loop {
            let mut due = Vec::new();
            let next = {
                let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
                if s.closed {
                    return;
                }
                let now = Instant::now();
                while s.heap.peek().is_some_and(|w| w.0.at <= now) {
                    due.push(s.heap.pop().expect("peeked").0);
                }
                s.heap.peek().map(|w| w.0.at)
            };
            for w in due {
                // A send error (unreachable, buffer full) is a lost datagram, as on a real link.
                let _ = socket.send_to(&w.data, w.to).await;
            }
            match next {
                Some(at) => {
                    tokio::select! {
                        _ = tokio::time::sleep_until(at.into()) => {}
                        _ = self.wake.notified() => {}
                    }
                }
                None => self.wake.notified().await,
            }
        }
    }
}

/// A UDP socket whose sends are impaired; receiving is untouched.
#[derive(Debug)]
struct ImpairSocket {
    inner: Arc<dyn AsyncUdpSocket>,
    delays: bool,
    shaper: Mutex<Shaper>,
    counts: Arc<Mutex<ImpairCounts>>,
    queue: Arc<Queue>,
}

impl ImpairSocket {
    fn decide(&self, len: usize) -> Fate {
        let mut shaper = self.shaper.lock().unwrap_or_else(|e| e.into_inner());
        let before = shaper.counts;
        let fate = shaper.decide(len, Instant::now());
        let after = shaper.counts;
        drop(shaper);
        let mut total = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        total.sent += after.sent - before.sent;
        total.lost += after.lost - before.lost;
        total.overflow += after.overflow - before.overflow;
        total.reordered += after.reordered - before.reordered;
        fate
    }
}

impl Drop for ImpairSocket {
    fn drop(&mut self) {
        self.queue.close();
    }
}

impl AsyncUdpSocket for ImpairSocket {
    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    fn poll_send(&self, cx: &mut Context<'_>, t: &Transmit<'_>) -> Poll<io::Result<usize>> {
        let len = t.contents.len();
        if !self.delays {
            // Loss only: decide, then send at once.
            return match self.decide(len) {
                Fate::SendAt(_) => self.inner.poll_send(cx, t),
                Fate::Lost | Fate::Overflow => Poll::Ready(Ok(len)),
            };
        }
        // max_gso_segments is 1, so each transmit is one datagram; split anyway if not.
        let seg = t.segment_size.unwrap_or(len).max(1);
        for chunk in t.contents.chunks(seg) {
            if let Fate::SendAt(at) = self.decide(chunk.len()) {
                if !self.queue.push(at, t.destination, chunk) {
                    self.counts
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .overflow += 1;
                }
            }
        }
        Poll::Ready(Ok(len))
    }

    fn poll_recv(
        &self,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
        meta: &mut [RecvMeta],
    ) -> Poll<io::Result<usize>> {
        self.inner.poll_recv(cx, bufs, meta)
    }

    fn max_gso_segments(&self) -> usize {
        1
    }

    fn max_gro_segments(&self) -> usize {
        self.inner.max_gro_segments()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Real sockets on loopback: delayed datagrams arrive after the delay, in order, and the
    /// rate limiter spaces them out.
    #[tokio::test]
    async fn delays_and_rates_real_datagrams() {
        let rx = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let to = rx.local_addr().unwrap();
        let rt = PeerRuntime::new(Some("delay=50ms,rate=1mbit".parse().unwrap()));
        let tx = rt
            .wrap_udp_socket(std::net::UdpSocket::bind("127.0.0.1:0").unwrap())
            .unwrap();
        let start = Instant::now();
        for i in 0..5u8 {
            // 1250 bytes at 1 Mbit/s: 10 ms each.
            tx.send_to(&[i; 1250], to).await.unwrap();
        }
        let mut buf = [0u8; 2000];
        let mut arrivals = Vec::new();
        for i in 0..5u8 {
            let (n, _) = rx.recv_from(&mut buf).await.unwrap();
            assert_eq!((n, buf[0]), (1250, i), "in order, whole");
            arrivals.push(start.elapsed());
        }
        assert!(arrivals[0] >= Duration::from_millis(59), "{arrivals:?}");
        assert!(arrivals[4] >= Duration::from_millis(99), "{arrivals:?}");
        assert!(arrivals[4] < Duration::from_millis(400), "{arrivals:?}");
        let c = *rt.counts().lock().unwrap();
        assert_eq!((c.sent, c.lost), (5, 0));
    }
}
