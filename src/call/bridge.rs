//! TURN over TCP and TLS for calls. webrtc-rs 0.21 speaks TURN over UDP only, so every
//! `turn:…?transport=tcp` or `turns:` server gets a local UDP endpoint that webrtc-rs talks
//! plain UDP TURN to; the datagrams of each client address go over a TCP (or TLS) connection
//! of their own to the real server, framed as RFC 6062 §2 / RFC 5766 §11.5 say (STUN messages
//! by their length, ChannelData padded to 4 bytes), and what comes back is sent as one datagram
//! per frame. TURN's long-term credentials do not cover the client transport, so the bridge is
//! transparent. It also notes the relayed addresses the server allocates, so the stats can say
//! which transport a relay candidate rides on.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use crate::exit::Error;
use crate::ice::{IceUrl, Scheme, Transport};
use crate::tls::TlsSetup;

/// Client addresses one bridge serves at once (webrtc-rs uses one socket per local address).
const MAX_CLIENTS: usize = 16;
/// Datagrams queued towards one server connection; more are dropped, as UDP would.
const QUEUE: usize = 512;
/// Time allowed to connect (and finish TLS) to the TURN server.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Relayed addresses allocated through a bridge, and the transport to the server they ride on.
#[derive(Clone, Default)]
pub struct RelayTransports {
    inner: Arc<Mutex<HashMap<SocketAddr, &'static str>>>,
}

impl RelayTransports {
    /// `tcp` or `tls` for a relayed address allocated through a bridge.
    pub fn lookup(&self, addr: &SocketAddr) -> Option<&'static str> {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(addr)
            .copied()
    }

    fn note(&self, addr: SocketAddr, transport: &'static str) {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(addr, transport);
    }
}

/// The bridges of one call; dropping it stops them.
#[derive(Default)]
pub struct Bridges {
    tasks: Vec<tokio::task::JoinHandle<()>>,
    pub relays: RelayTransports,
}

impl Drop for Bridges {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Bridges {
    /// The URL webrtc-rs is given for `url`: itself when webrtc-rs speaks it (UDP), or a
    /// plain UDP TURN URL of a new local bridge to it. `tls` checks `turns:` certificates
    /// (Web PKI roots when `None`).
    pub async fn route(&mut self, url: &str, tls: Option<&TlsSetup>) -> Result<String, Error> {
        let Ok(u) = IceUrl::parse(url, "--ice-server") else {
            return Ok(url.to_string());
        };
        if u.scheme != Scheme::Turn || u.transport == Transport::Udp {
            return Ok(url.to_string());
        }
        let target = format!("{}:{}", u.host, u.port);
        let server = tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::lookup_host(&target))
            .await
            .map_err(|_| {
                Error::connection(format!("{}: cannot resolve {target} in time", u.label()))
            })?
            .map_err(|e| Error::connection(format!("{}: cannot resolve {target}: {e}", u.label())))?
            .min_by_key(|a| a.is_ipv6())
            .ok_or_else(|| Error::connection(format!("{}: {target} has no address", u.label())))?;
        let local_ip: std::net::IpAddr = if server.is_ipv6() {
            std::net::Ipv6Addr::LOCALHOST.into()
        } else {
            std::net::Ipv4Addr::LOCALHOST.into()
        };
        let sock = UdpSocket::bind((local_ip, 0))
            .await
            .map_err(|e| Error::connection(format!("cannot open a local TURN bridge: {e}")))?;
        let local = sock
            .local_addr()
            .map_err(|e| Error::connection(format!("cannot open a local TURN bridge: {e}")))?;
        let over = Over {
            server,
            host: u.host.clone(),
            tls: match (u.transport, tls) {
                (Transport::Tls, Some(t)) => Some(t.clone()),
                (Transport::Tls, None) => Some(TlsSetup::new(None, false)?),
                _ => None,
            },
            relays: self.relays.clone(),
        };
        info!(
            "TURN over {} to {} bridged at udp {local}",
            over.name(),
            u.label()
        );
        self.tasks.push(tokio::spawn(serve(Arc::new(sock), over)));
        let host = match local {
            SocketAddr::V4(a) => a.ip().to_string(),
            SocketAddr::V6(a) => format!("[{}]", a.ip()),
        };
        Ok(format!("turn:{host}:{}?transport=udp", local.port()))
    }
}

/// Where and how a bridge reaches its server.
#[derive(Clone)]
struct Over {
    server: SocketAddr,
    host: String,
    tls: Option<TlsSetup>,
    relays: RelayTransports,
}

impl Over {
    fn name(&self) -> &'static str {
        if self.tls.is_some() { "tls" } else { "tcp" }
    }
}

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

async fn connect(over: &Over) -> std::io::Result<Box<dyn Stream>> {
    let tcp = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(over.server))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out"))??;
    let _ = tcp.set_nodelay(true);
    let Some(tls) = &over.tls else {
        return Ok(Box::new(tcp));
    };
    let name = rustls::pki_types::ServerName::try_from(over.host.clone())
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let s = tokio::time::timeout(CONNECT_TIMEOUT, tls.connector().connect(name, tcp))
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "TLS handshake timed out"))?
        .map_err(|e| {
            let why = crate::tls::explain(&e, &over.host);
            std::io::Error::other(why)
        })?;
    Ok(Box::new(s))
}

/// The local UDP side: one queue (and one server connection) per client address.
async fn serve(sock: Arc<UdpSocket>, over: Over) {
    let mut clients: HashMap<SocketAddr, mpsc::Sender<Vec<u8>>> = HashMap::new();
    let mut buf = vec![0u8; 65_536];
    loop {
        let Ok((n, from)) = sock.recv_from(&mut buf).await else {
            continue;
        };
        clients.retain(|_, tx| !tx.is_closed());
        let tx = match clients.get(&from) {
            Some(tx) => tx.clone(),
            None if clients.len() >= MAX_CLIENTS => continue,
            None => {
                let (tx, rx) = mpsc::channel(QUEUE);
                tokio::spawn(client(sock.clone(), from, rx, over.clone()));
                clients.insert(from, tx.clone());
                tx
            }
        };
        let _ = tx.try_send(buf[..n].to_vec());
    }
}

/// One client address: its own connection to the server, both ways.
async fn client(
    sock: Arc<UdpSocket>,
    from: SocketAddr,
    mut rx: mpsc::Receiver<Vec<u8>>,
    over: Over,
) {
    let stream = match connect(&over).await {
        Ok(s) => s,
        Err(e) => {
            warn!(
                "TURN over {} to {}: cannot connect: {e}",
                over.name(),
                over.server
            );
            return;
        }
    };
    debug!(
        "TURN bridge: {from} -> {} over {}",
        over.server,
        over.name()
    );
    let (mut read, mut write) = tokio::io::split(stream);
    let up = async {
        while let Some(d) = rx.recv().await {
            let pad = if crate::turnframe::is_channel_data(&d) {
                (4 - d.len() % 4) % 4
            } else {
                0
            };
            if write.write_all(&d).await.is_err() {
                break;
            }
            if pad > 0 && write.write_all(&[0u8; 3][..pad]).await.is_err() {
                break;
            }
        }
    };
    let down = async {
        loop {
            match crate::turnframe::read(&mut read).await {
                Ok(frame) => {
                    note_allocation(&frame, &over);
                    let _ = sock.send_to(&frame, from).await;
                }
                Err(e) => {
                    debug!("TURN bridge to {}: {e}", over.server);
                    break;
                }
            }
        }
    };
    tokio::select! {
        _ = up => {}
        _ = down => {}
    }
}

/// An Allocate success response: note its relayed address as riding on this transport.
fn note_allocation(frame: &[u8], over: &Over) {
    use rtc::stun::message::{CLASS_SUCCESS_RESPONSE, Getter, METHOD_ALLOCATE, Message};
    // Type 0x0103: Allocate, success response.
    if frame.len() < 20 || frame[0] != 0x01 || frame[1] != 0x03 {
        return;
    }
    let mut m = Message::new();
    if m.unmarshal_binary(frame).is_err() {
        return;
    }
    if m.typ.method != METHOD_ALLOCATE || m.typ.class != CLASS_SUCCESS_RESPONSE {
        return;
    }
    let mut relayed = rtc::turn::proto::relayaddr::RelayedAddress::default();
    if relayed.get_from(&m).is_ok() {
        let addr = SocketAddr::new(relayed.ip, relayed.port);
        debug!("relayed address {addr} allocated over {}", over.name());
        over.relays.note(addr, over.name());
    }
}
