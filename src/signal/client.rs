//! The WebSocket side of a peer: connects to a signaling server (or hosts one in-process when
//! none runs on a loopback URL) and turns the socket into a [`Channel`] of protocol messages.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::{self, Message as Frame};
use tokio_util::sync::CancellationToken;
use tracing::debug;

use super::protocol::Message;
use super::server::Server;
use crate::exit::{Error, Result};
use crate::tls::TlsSetup;

/// What arrives from the signaling side.
#[derive(Debug)]
pub enum Incoming {
    /// A protocol message.
    Message(Message),
    /// The connection is gone; the text says why.
    Closed(String),
}

/// How often a client pings its server while connected.
pub const PING_EVERY: Duration = Duration::from_secs(1);
/// A connection from which nothing (a message, a pong) arrived for this long is dead: an
/// address it was bound to went away, a NAT forgot it, the server froze. Closed and reported.
pub const SILENT_DEAD: Duration = Duration::from_secs(3);
/// Longest wait for a message to be written to the socket before it counts as not sent.
const WRITE_WAIT: Duration = Duration::from_secs(1);

/// A message to write, and who wants to know that it was.
type Outgoing = (Message, tokio::sync::oneshot::Sender<()>);

/// A bidirectional stream of protocol messages: the seam between the call driver and the
/// WebSocket transport. (The call's negotiation is tested without any transport: see
/// [`crate::call::session`].) The connection is watched: the client pings every
/// [`PING_EVERY`] and gives the connection up when nothing came back for [`SILENT_DEAD`].
pub struct Channel {
    tx: mpsc::Sender<Outgoing>,
    /// Messages received, then one `Closed`.
    pub rx: mpsc::Receiver<Incoming>,
    writer: Option<tokio::task::JoinHandle<()>>,
}

impl Channel {
    /// Write `m` to the connection: `true` once it was written to a connection not known to
    /// be dead, `false` when the connection is gone or the write did not happen within a
    /// second.
    pub async fn send(&self, m: Message) -> bool {
        let (done, written) = tokio::sync::oneshot::channel();
        if self.tx.send((m, done)).await.is_err() {
            return false;
        }
        matches!(tokio::time::timeout(WRITE_WAIT, written).await, Ok(Ok(())))
    }

    /// Send what is queued, close the connection and wait (at most a second) until it is done.
    pub async fn finish(self) {
        let Channel { tx, rx, writer } = self;
        drop(tx);
        drop(rx);
        if let Some(w) = writer {
            let _ = tokio::time::timeout(Duration::from_secs(1), w).await;
        }
    }
}

/// A signaling server this process started for itself.
pub struct Embedded {
    /// The URL it serves.
    pub url: String,
    stop: CancellationToken,
    clients: std::sync::Arc<super::server::limits::Gate>,
}

impl Embedded {
    /// Give the other peer up to a second to read what was relayed to it and leave, then stop.
    pub async fn finish(self) {
        let _ = tokio::time::timeout(Duration::from_secs(1), self.clients.until_idle()).await;
    }
}

impl Drop for Embedded {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// The loopback socket address a `ws://` URL names, if it names one.
pub fn loopback_addr(url: &str) -> Option<SocketAddr> {
    let parsed = url::Url::parse(url).ok()?;
    if parsed.scheme() != "ws" {
        return None;
    }
    let port = parsed.port_or_known_default()?;
    let ip: IpAddr = match parsed.host()? {
        url::Host::Ipv4(ip) => ip.into(),
        url::Host::Ipv6(ip) => ip.into(),
        url::Host::Domain("localhost") => IpAddr::from([127, 0, 0, 1]),
        url::Host::Domain(_) => return None,
    };
    ip.is_loopback().then_some(SocketAddr::new(ip, port))
}

/// Check that a server URL is usable: `ws://` or `wss://` with a host.
pub fn validate_url(url: &str) -> std::result::Result<(), String> {
    let parsed =
        url::Url::parse(url).map_err(|e| format!("server URL {url:?} is not a URL: {e}"))?;
    if !matches!(parsed.scheme(), "ws" | "wss") {
        return Err(format!(
            "server URL {url:?} must start with ws:// or wss://"
        ));
    }
    if parsed.host().is_none() {
        return Err(format!("server URL {url:?} has no host"));
    }
    Ok(())
}

enum ConnectFailure {
    Refused(String),
    Other(String),
}

/// Connect to `url`. When nothing listens there, the URL is on loopback and `embed` allows it,
/// start a server in this process on that address and connect to it.
pub async fn connect_or_host(
    url: &str,
    tls: Option<&TlsSetup>,
    embed: bool,
    timeout: Duration,
) -> Result<(Channel, Option<Embedded>)> {
    let deadline = tokio::time::Instant::now() + timeout;
    match connect(url, tls, deadline).await {
        Ok(ch) => Ok((ch, None)),
        Err(ConnectFailure::Other(m)) => Err(Error::signaling(m)),
        Err(ConnectFailure::Refused(m)) => {
            let addr = match loopback_addr(url) {
                Some(addr) if embed => addr,
                _ => return Err(Error::signaling(m)),
            };
            match Server::bind(addr).await {
                Ok(server) => {
                    let stop = CancellationToken::new();
                    let embedded = Embedded {
                        url: server.url(),
                        stop: stop.clone(),
                        clients: server.clients(),
                    };
                    tokio::spawn(server.run(stop));
                    let ch = connect(url, tls, deadline).await.map_err(|e| match e {
                        ConnectFailure::Refused(m) | ConnectFailure::Other(m) => {
                            Error::signaling(m)
                        }
                    })?;
                    Ok((ch, Some(embedded)))
                }
                Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                    // Another peer started its server between our attempt and now.
                    debug!("embedded server lost the race for {addr}; connecting to the winner");
                    let ch = connect(url, tls, deadline).await.map_err(|e| match e {
                        ConnectFailure::Refused(m) | ConnectFailure::Other(m) => {
                            Error::signaling(m)
                        }
                    })?;
                    Ok((ch, None))
                }
                Err(e) => Err(Error::signaling(format!(
                    "{m}; starting a signaling server on {addr} failed too: {e}"
                ))),
            }
        }
    }
}

async fn connect(
    url: &str,
    tls: Option<&TlsSetup>,
    deadline: tokio::time::Instant,
) -> std::result::Result<Channel, ConnectFailure> {
    let connector = if url.starts_with("wss:") {
        let setup = match tls {
            Some(t) => t.clone(),
            None => TlsSetup::new(None, false).map_err(|e| ConnectFailure::Other(e.to_string()))?,
        };
        Some(tokio_tungstenite::Connector::Rustls(setup.config()))
    } else {
        None
    };
    let host = url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default();
    let attempt = tokio_tungstenite::connect_async_tls_with_config(url, None, true, connector);
    let (ws, _) = match tokio::time::timeout_at(deadline, attempt).await {
        Err(_) => {
            return Err(ConnectFailure::Other(format!(
                "signaling server {url} did not answer before the timeout"
            )));
        }
        Ok(Err(tungstenite::Error::Io(e))) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            return Err(ConnectFailure::Refused(format!(
                "cannot reach signaling server {url}: connection refused (is `rtccall serve` running?)"
            )));
        }
        Ok(Err(tungstenite::Error::Io(e)))
            if e.get_ref().is_some_and(|i| i.is::<rustls::Error>()) =>
        {
            return Err(ConnectFailure::Other(format!(
                "cannot reach signaling server {url}: TLS: {}",
                crate::tls::explain(&e, &host)
            )));
        }
        Ok(Err(tungstenite::Error::Tls(tungstenite::error::TlsError::Rustls(e)))) => {
            return Err(ConnectFailure::Other(format!(
                "cannot reach signaling server {url}: TLS: {}",
                crate::tls::explain_rustls(&e, &host)
            )));
        }
        Ok(Err(tungstenite::Error::Http(resp))) => {
            let body = resp
                .body()
                .as_ref()
                .map(|b| String::from_utf8_lossy(b).trim().to_string())
                .filter(|b| !b.is_empty())
                .map(|b| format!(": {b}"))
                .unwrap_or_default();
            return Err(ConnectFailure::Other(format!(
                "cannot reach signaling server {url}: it answered HTTP {}{body}",
                resp.status()
            )));
        }
        Ok(Err(e)) => {
            return Err(ConnectFailure::Other(format!(
                "cannot reach signaling server {url}: {e}"
            )));
        }
        Ok(Ok(ok)) => ok,
    };
    let (mut sink, mut source) = ws.split();
    let (tx, mut out) = mpsc::channel::<Outgoing>(256);
    let (in_tx, rx) = mpsc::channel::<Incoming>(256);
    // When the reader last heard anything (ms since `start`), and the writer's word that the
    // connection is dead (no answer to its pings).
    let start = tokio::time::Instant::now();
    let heard = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let dead = CancellationToken::new();
    let (heard_w, dead_w) = (heard.clone(), dead.clone());
    let writer = tokio::spawn(async move {
        let mut ping = tokio::time::interval(PING_EVERY);
        ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                m = out.recv() => {
                    let Some((m, done)) = m else { break };
                    let sent = tokio::time::timeout(SILENT_DEAD, sink.send(Frame::text(m.to_text())));
                    if !matches!(sent.await, Ok(Ok(()))) {
                        dead_w.cancel();
                        return;
                    }
                    let _ = done.send(());
                }
                _ = ping.tick() => {
                    let last = heard_w.load(std::sync::atomic::Ordering::Relaxed);
                    let silent = start.elapsed().saturating_sub(Duration::from_millis(last));
                    if silent >= SILENT_DEAD {
                        dead_w.cancel();
                        return;
                    }
                    // A write into a dead socket's buffer succeeds: only the pong tells.
                    let sent = tokio::time::timeout(SILENT_DEAD, sink.send(Frame::Ping(Default::default())));
                    if !matches!(sent.await, Ok(Ok(()))) {
                        dead_w.cancel();
                        return;
                    }
                }
                _ = dead_w.cancelled() => return,
            }
        }
        let _ = sink.close().await;
    });
    tokio::spawn(async move {
        let why = loop {
            let next = tokio::select! {
                f = source.next() => f,
                _ = dead.cancelled() => break format!(
                    "signaling connection lost: no answer from the server within {} s",
                    SILENT_DEAD.as_secs()
                ),
            };
            heard.store(
                start.elapsed().as_millis() as u64,
                std::sync::atomic::Ordering::Relaxed,
            );
            match next {
                Some(Ok(Frame::Text(t))) => match serde_json::from_str::<Message>(t.as_str()) {
                    Ok(m) => {
                        if in_tx.send(Incoming::Message(m)).await.is_err() {
                            return;
                        }
                    }
                    Err(e) => debug!("ignoring a signaling message we do not understand: {e}"),
                },
                Some(Ok(Frame::Close(_))) | None => {
                    break "the signaling server closed the connection".to_string();
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => break format!("signaling connection lost: {e}"),
            }
        };
        dead.cancel();
        let _ = in_tx.send(Incoming::Closed(why)).await;
    });
    Ok(Channel {
        tx,
        rx,
        writer: Some(writer),
    })
}
