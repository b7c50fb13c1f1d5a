//! The probe's own STUN/TURN client: UDP, TCP and TLS connections, transactions with timeouts,
//! long-term credentials, allocations, permissions, channels and channel data. Built on the
//! rtc-stun / rtc-turn message codecs; webrtc-rs's TURN client only speaks UDP and says nothing
//! when a server refuses it, which is exactly what a diagnostic tool must not do.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::turnframe::{self, Head};
use rtc::crypto::RTCCryptoProvider;
use rtc::stun::addr::MappedAddress;
use rtc::stun::attributes::{
    ATTR_NONCE, ATTR_OTHER_ADDRESS, ATTR_REALM, ATTR_SOFTWARE, ATTR_USERNAME,
};
use rtc::stun::error_code::ErrorCodeAttribute;
use rtc::stun::fingerprint::FINGERPRINT;
use rtc::stun::integrity::MessageIntegrity;
use rtc::stun::message::{
    BINDING_REQUEST, CLASS_ERROR_RESPONSE, CLASS_SUCCESS_RESPONSE, Getter, METHOD_CHANNEL_BIND,
    Message, MessageType, Setter, TransactionId,
};
use rtc::stun::textattrs::TextAttribute;
use rtc::stun::xoraddr::XorMappedAddress;
use rtc::turn::proto::channum::ChannelNumber;
use rtc::turn::proto::lifetime::Lifetime;
use rtc::turn::proto::peeraddr::PeerAddress;
use rtc::turn::proto::reqfamily::REQUESTED_FAMILY_IPV6;
use rtc::turn::proto::reqtrans::RequestedTransport;
use rtc::turn::proto::{PROTO_UDP, allocate_request, create_permission_request, refresh_request};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use super::servers::Transport;
pub use crate::tls::TlsSetup;

/// What we call ourselves in SOFTWARE attributes.
const SOFTWARE: &str = concat!("rtccall-probe/", env!("CARGO_PKG_VERSION"));

/// Why an exchange with a server failed.
#[derive(Debug, Clone)]
pub enum WireError {
    /// Nothing came back in time.
    Timeout,
    /// The socket or connection failed (refused, reset, unreachable).
    Io(String),
    /// The TLS handshake failed; the text says why in plain words.
    Tls(String),
    /// The TLS handshake got no TLS back (the connection closed, or other bytes came).
    NotTls(String),
    /// The server answered with a STUN error response.
    Stun { code: u16, reason: String },
    /// The server answered something we cannot use.
    Protocol(String),
    /// What came back is not STUN at all (another service on the port); the text says what it
    /// was.
    NotStun(String),
}

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WireError::Timeout => f.write_str("no response"),
            WireError::Io(e) => write!(f, "{e}"),
            WireError::Tls(e) => write!(f, "TLS: {e}"),
            WireError::NotTls(e) => write!(f, "TLS: {e}"),
            WireError::Stun { code, reason } => write!(f, "error {code} {reason}"),
            WireError::Protocol(e) => write!(f, "unexpected answer: {e}"),
            WireError::NotStun(e) => write!(f, "not STUN: {e}"),
        }
    }
}

fn proto(e: impl std::fmt::Display) -> WireError {
    WireError::Protocol(e.to_string())
}

/// A TLS failure in plain words.
fn tls_error(e: &std::io::Error, host: &str) -> WireError {
    if crate::tls::server_spoke_tls(e) {
        WireError::Tls(crate::tls::explain(e, host))
    } else {
        WireError::NotTls(format!(
            "the server answered the TLS handshake with no TLS ({}): this port does not speak \
             TLS",
            crate::tls::explain(e, host)
        ))
    }
}

trait StreamIo: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> StreamIo for T {}

enum Io {
    Udp(UdpSocket),
    Stream { io: Box<dyn StreamIo>, buf: Vec<u8> },
}

/// A frame from a server: a STUN message or TURN channel data.
#[derive(Debug)]
pub enum Frame {
    Stun(Message),
    Channel { number: u16, data: Vec<u8> },
}

/// One connection to a STUN/TURN server.
pub struct Conn {
    io: Io,
    /// Frames that arrived while a transaction waited for its response.
    pending: VecDeque<Frame>,
    /// Datagrams that were neither STUN nor channel data, and what the first looked like.
    junk: u32,
    junk_first: Option<String>,
    /// A channel is bound, so channel data may come (on a stream, bytes that look like channel
    /// data before that are another protocol).
    channels: bool,
}

/// The most of a server's text shown in a report.
const SHOWN_TEXT: usize = 80;

/// Text from a server as a report may show it: NULs dropped, other control characters escaped,
/// at most [`SHOWN_TEXT`] characters.
pub fn clean_text(raw: &str) -> String {
    let mut out = String::new();
    for (n, c) in raw.chars().filter(|c| *c != '\0').enumerate() {
        if n == SHOWN_TEXT {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out.trim().to_string()
}

/// What bytes that are not STUN look like, in words.
pub fn describe_foreign(b: &[u8]) -> String {
    let first_line = |b: &[u8]| {
        let text = String::from_utf8_lossy(b);
        clean_text(text.lines().next().unwrap_or(""))
    };
    if b.starts_with(b"HTTP/") {
        format!("an HTTP response ({:?})", first_line(b))
    } else if b.starts_with(b"SSH-") {
        format!("an SSH banner ({:?})", first_line(b))
    } else if b.len() >= 3 && (0x14..=0x17).contains(&b[0]) && b[1] == 0x03 {
        "a TLS record (this port speaks TLS)".to_string()
    } else if !b.is_empty()
        && b.iter()
            .take(64)
            .all(|c| c.is_ascii_graphic() || c.is_ascii_whitespace())
    {
        format!("text ({:?})", first_line(b))
    } else {
        let hex: Vec<String> = b.iter().take(8).map(|c| format!("{c:02x}")).collect();
        format!(
            "{} bytes of binary data starting {}",
            b.len(),
            hex.join(" ")
        )
    }
}

/// Whether a stream's first bytes can still be STUN or channel data.
fn plausible_stream(buf: &[u8], channels: bool) -> bool {
    match buf.first() {
        None => true,
        Some(b) if b & 0xC0 == 0x40 => channels,
        Some(b) if b & 0xC0 == 0 => {
            buf.len() < 8 || buf[4..8] == rtc::stun::message::MAGIC_COOKIE.to_be_bytes()
        }
        Some(_) => false,
    }
}

fn io_err(e: std::io::Error) -> WireError {
    use std::io::ErrorKind as K;
    WireError::Io(match e.kind() {
        K::ConnectionRefused => "connection refused (nothing listens there)".to_string(),
        K::ConnectionReset => "connection reset by the server".to_string(),
        K::UnexpectedEof => "the server closed the connection".to_string(),
        _ => e.to_string(),
    })
}

impl Conn {
    /// Open a connection (TCP connect and TLS handshake included) within `bound`.
    pub async fn open(
        transport: Transport,
        remote: SocketAddr,
        tls: Option<(&TlsSetup, &str)>,
        bound: Duration,
    ) -> Result<Conn, WireError> {
        let opening = async {
            match transport {
                Transport::Udp => {
                    let local: SocketAddr = if remote.is_ipv4() {
                        "0.0.0.0:0".parse().expect("literal")
                    } else {
                        "[::]:0".parse().expect("literal")
                    };
                    let sock = UdpSocket::bind(local).await.map_err(io_err)?;
                    sock.connect(remote).await.map_err(io_err)?;
                    Ok(Io::Udp(sock))
                }
                Transport::Tcp | Transport::Tls => {
                    let tcp = TcpStream::connect(remote).await.map_err(io_err)?;
                    let _ = tcp.set_nodelay(true);
                    let io: Box<dyn StreamIo> = if transport == Transport::Tls {
                        let (setup, host) = tls.ok_or_else(|| proto("TLS without set-up"))?;
                        let name = rustls::pki_types::ServerName::try_from(host.to_string())
                            .map_err(|e| WireError::Tls(format!("bad server name {host}: {e}")))?;
                        let s = setup
                            .connector()
                            .connect(name, tcp)
                            .await
                            .map_err(|e| tls_error(&e, host))?;
                        Box::new(s)
                    } else {
                        Box::new(tcp)
                    };
                    Ok(Io::Stream {
                        io,
                        buf: Vec::with_capacity(2048),
                    })
                }
            }
        };
        let io = tokio::time::timeout(bound, opening)
            .await
            .map_err(|_| WireError::Timeout)??;
        Ok(Conn {
            io,
            pending: VecDeque::new(),
            junk: 0,
            junk_first: None,
            channels: false,
        })
    }

    /// Send bytes as they are (a STUN message or padded channel data).
    pub async fn send(&mut self, bytes: &[u8]) -> Result<(), WireError> {
        match &mut self.io {
            Io::Udp(s) => s.send(bytes).await.map(|_| ()).map_err(io_err),
            Io::Stream { io, .. } => {
                io.write_all(bytes).await.map_err(io_err)?;
                io.flush().await.map_err(io_err)
            }
        }
    }

    /// Send channel data (padded to 4 bytes on streams, as RFC 5766 11.5 asks).
    pub async fn send_channel(&mut self, number: u16, data: &[u8]) -> Result<(), WireError> {
        let stream = matches!(self.io, Io::Stream { .. });
        self.send(&turnframe::channel_data(number, data, stream))
            .await
    }

    /// The next frame from the server (no time bound: the caller sets one).
    async fn read_frame(&mut self) -> Result<Frame, WireError> {
        let channels = self.channels;
        match &mut self.io {
            Io::Udp(s) => {
                let mut buf = [0u8; 2048];
                loop {
                    let n = s.recv(&mut buf).await.map_err(io_err)?;
                    if let Some(f) = decode_frame(&buf[..n]) {
                        return Ok(f);
                    }
                    self.junk += 1;
                    if self.junk_first.is_none() {
                        self.junk_first = Some(describe_foreign(&buf[..n]));
                    }
                }
            }
            Io::Stream { io, buf } => loop {
                if !plausible_stream(buf, channels) {
                    return Err(WireError::NotStun(describe_foreign(buf)));
                }
                if let Some((len, framed)) = Head::of(buf).and_then(Head::lengths) {
                    if buf.len() >= framed {
                        let frame: Vec<u8> = buf.drain(..framed).collect();
                        if let Some(f) = decode_frame(&frame[..len]) {
                            return Ok(f);
                        }
                        continue;
                    }
                    if framed > 65_536 + 8 {
                        return Err(proto("a frame over 64 KiB on the stream"));
                    }
                }
                let mut chunk = [0u8; 4096];
                let n = match io.read(&mut chunk).await {
                    Ok(n) => n,
                    // A reset after a foreign answer: say what the answer was.
                    Err(_) if !buf.is_empty() => 0,
                    Err(e) => return Err(io_err(e)),
                };
                if n == 0 {
                    if !buf.is_empty() {
                        return Err(WireError::NotStun(format!(
                            "{}, then the server closed the connection",
                            describe_foreign(buf)
                        )));
                    }
                    return Err(WireError::Io("the server closed the connection".into()));
                }
                buf.extend_from_slice(&chunk[..n]);
            },
        }
    }

    /// The next frame that is not the answer to a transaction, within `bound`.
    pub async fn recv(&mut self, bound: Duration) -> Result<Frame, WireError> {
        if let Some(f) = self.pending.pop_front() {
            return Ok(f);
        }
        tokio::time::timeout(bound, self.read_frame())
            .await
            .map_err(|_| WireError::Timeout)?
    }

    /// Send a request and wait for its response: over UDP retransmitted after `rto`, doubling,
    /// `tries` times in all; over a stream sent once and waited for as long. Returns the
    /// response (success or error class) and the round-trip time of the last transmission.
    pub async fn transact(
        &mut self,
        request: &Message,
        rto: Duration,
        tries: u32,
    ) -> Result<(Message, Duration), WireError> {
        let udp = matches!(self.io, Io::Udp(_));
        let mut wait = rto;
        let total: Duration = (0..tries).map(|i| rto * 2u32.pow(i)).sum();
        let attempts = if udp { tries } else { 1 };
        for _ in 0..attempts {
            let sent = Instant::now();
            self.send(&request.raw).await?;
            let deadline = sent + if udp { wait } else { total };
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                let frame = match tokio::time::timeout(left, self.read_frame()).await {
                    Err(_) => break,
                    Ok(f) => f?,
                };
                match frame {
                    Frame::Stun(m) if m.transaction_id == request.transaction_id => {
                        return Ok((m, sent.elapsed()));
                    }
                    other => self.pending.push_back(other),
                }
            }
            wait *= 2;
        }
        Err(self.silence())
    }

    /// What a timed-out exchange saw: nothing at all, or datagrams that were not STUN.
    fn silence(&self) -> WireError {
        match (self.junk, &self.junk_first) {
            (0, _) | (_, None) => WireError::Timeout,
            (n, Some(first)) => WireError::NotStun(format!(
                "{n} datagram{} that {} not STUN came back (the first: {first})",
                if n == 1 { "" } else { "s" },
                if n == 1 { "is" } else { "are" }
            )),
        }
    }

    /// Whether this connection is UDP.
    pub fn is_udp(&self) -> bool {
        matches!(self.io, Io::Udp(_))
    }
}

fn decode_frame(b: &[u8]) -> Option<Frame> {
    if turnframe::is_channel_data(b) {
        let (number, data) = turnframe::decode_channel_data(b)?;
        return Some(Frame::Channel { number, data });
    }
    let mut m = Message::new();
    m.unmarshal_binary(b).ok()?;
    Some(Frame::Stun(m))
}

fn build(setters: &[Box<dyn Setter + '_>]) -> Result<Message, WireError> {
    let mut m = Message::new();
    m.build(setters).map_err(proto)?;
    Ok(m)
}

/// The ERROR-CODE of an error response as a [`WireError`].
fn stun_error(m: &Message) -> WireError {
    let mut e = ErrorCodeAttribute::default();
    match e.get_from(m) {
        Ok(()) => WireError::Stun {
            code: e.code.0,
            reason: String::from_utf8_lossy(&e.reason).trim().to_string(),
        },
        Err(_) => proto("an error response without ERROR-CODE"),
    }
}

fn software(m: &Message) -> Option<String> {
    // Raw bytes: a SOFTWARE that is not UTF-8 still shows (lossily), cleaned of control bytes.
    let raw = m.get(ATTR_SOFTWARE).ok()?;
    Some(clean_text(&String::from_utf8_lossy(&raw))).filter(|t| !t.is_empty())
}

fn xor_mapped(m: &Message) -> Option<SocketAddr> {
    let mut a = XorMappedAddress::default();
    a.get_from(m).ok()?;
    Some(SocketAddr::new(a.ip, a.port))
}

fn plain_addr(m: &Message, attr: rtc::stun::attributes::AttrType) -> Option<SocketAddr> {
    let mut a = MappedAddress::default();
    a.get_from_as(m, attr).ok()?;
    Some(SocketAddr::new(a.ip, a.port))
}

/// What a binding request learned.
#[derive(Debug, Clone)]
pub struct Binding {
    pub mapped: SocketAddr,
    pub rtt: Duration,
    /// RFC 5780 OTHER-ADDRESS, when the server supports NAT discovery (or else an RFC 3489
    /// server's CHANGED-ADDRESS, which serves the same tests).
    pub other: Option<SocketAddr>,
    /// `other` came from RFC 3489 CHANGED-ADDRESS.
    pub other_rfc3489: bool,
    pub software: Option<String>,
}

/// One binding request, one try within `bound`.
pub async fn binding(conn: &mut Conn, bound: Duration) -> Result<Binding, WireError> {
    let req = binding_request(None)?;
    let (resp, rtt) = conn.transact(&req, bound, 1).await?;
    parse_binding(&resp, rtt)
}

/// A binding request, with an RFC 5780 CHANGE-REQUEST (change IP, change port) if asked.
fn binding_request(change: Option<(bool, bool)>) -> Result<Message, WireError> {
    let mut setters: Vec<Box<dyn Setter>> =
        vec![Box::new(TransactionId::new()), Box::new(BINDING_REQUEST)];
    if let Some((ip, port)) = change {
        setters.push(Box::new(ChangeRequest { ip, port }));
    }
    setters.push(Box::new(FINGERPRINT));
    build(&setters)
}

fn parse_binding(resp: &Message, rtt: Duration) -> Result<Binding, WireError> {
    if resp.typ.class == CLASS_ERROR_RESPONSE {
        return Err(stun_error(resp));
    }
    let mapped = xor_mapped(resp)
        .or_else(|| plain_addr(resp, rtc::stun::attributes::ATTR_MAPPED_ADDRESS))
        .ok_or_else(|| proto("a binding response without a mapped address"))?;
    let other = plain_addr(resp, ATTR_OTHER_ADDRESS);
    let changed = plain_addr(resp, rtc::stun::attributes::ATTR_CHANGED_ADDRESS);
    Ok(Binding {
        mapped,
        rtt,
        other_rfc3489: other.is_none() && changed.is_some(),
        other: other.or(changed),
        software: software(resp),
    })
}

/// A binding request from an unconnected socket to `to`, answered from any address (RFC 5780
/// tests: a CHANGE-REQUEST is answered from the server's other address or port). Sent `tries`
/// times, `rto` apart.
pub async fn binding_from(
    sock: &UdpSocket,
    to: SocketAddr,
    change: Option<(bool, bool)>,
    rto: Duration,
    tries: u32,
) -> Result<Binding, WireError> {
    let req = binding_request(change)?;
    let mut buf = vec![0u8; 2048];
    for _ in 0..tries {
        let sent = Instant::now();
        sock.send_to(&req.raw, to).await.map_err(io_err)?;
        let deadline = sent + rto;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(r) = tokio::time::timeout(left, sock.recv_from(&mut buf)).await else {
                break;
            };
            let (n, _) = r.map_err(io_err)?;
            if let Some(Frame::Stun(m)) = decode_frame(&buf[..n])
                && m.transaction_id == req.transaction_id
            {
                return parse_binding(&m, sent.elapsed());
            }
        }
    }
    Err(WireError::Timeout)
}

/// RFC 5780 CHANGE-REQUEST.
struct ChangeRequest {
    ip: bool,
    port: bool,
}

impl Setter for ChangeRequest {
    fn add_to(&self, m: &mut Message) -> rtc::shared::error::Result<()> {
        let flags: u32 = (u32::from(self.ip) << 2) | (u32::from(self.port) << 1);
        m.add(
            rtc::stun::attributes::ATTR_CHANGE_REQUEST,
            &flags.to_be_bytes(),
        );
        Ok(())
    }
}

/// A granted allocation.
#[derive(Debug, Clone)]
pub struct Allocation {
    pub relayed: SocketAddr,
    pub mapped: Option<SocketAddr>,
    pub lifetime_s: u32,
    pub software: Option<String>,
    /// The server asked for a fresh nonce (438) and the request was retried.
    pub stale_nonce_retried: bool,
    /// The server has no IPv4 relay (440) and an IPv6 one was asked for.
    pub ipv6_requested: bool,
    /// When it was granted (or last refreshed): with `lifetime_s`, when it expires.
    pub granted_at: std::time::Instant,
}

/// A TURN client holding one allocation's credentials.
pub struct Turn {
    pub conn: Conn,
    username: String,
    realm: String,
    nonce: String,
    key: Vec<u8>,
    crypto: Arc<dyn RTCCryptoProvider>,
    rto: Duration,
}

/// Why an allocation failed: the error, whether credentials had been sent, and the realm the
/// server announced (when it did).
#[derive(Debug)]
pub struct AllocateFailure {
    pub error: WireError,
    pub authenticated: bool,
    pub realm: Option<String>,
}

impl Turn {
    /// Allocate a UDP relay: first unauthenticated (the server answers 401 with realm and
    /// nonce), then with long-term credentials, retrying once on 438 (stale nonce).
    pub async fn allocate(
        mut conn: Conn,
        username: &str,
        password: &str,
        rto: Duration,
    ) -> Result<(Turn, Allocation), AllocateFailure> {
        let fail = |error, authenticated| AllocateFailure {
            error,
            authenticated,
            realm: None,
        };
        let crypto = rtc::crypto::default_provider().map_err(|e| fail(proto(e), false))?;
        let first = build(&[
            Box::new(TransactionId::new()),
            Box::new(allocate_request()),
            Box::new(RequestedTransport {
                protocol: PROTO_UDP,
            }),
            Box::new(TextAttribute::new(ATTR_SOFTWARE, SOFTWARE.into())),
            Box::new(FINGERPRINT),
        ])
        .map_err(|e| fail(e, false))?;
        let (resp, _) = conn
            .transact(&first, rto, 3)
            .await
            .map_err(|e| fail(e, false))?;
        if resp.typ.class == CLASS_SUCCESS_RESPONSE {
            // A server without authentication (rare, and worth knowing).
            let alloc = allocation(&resp, false).map_err(|e| fail(e, false))?;
            let turn = Turn {
                conn,
                username: String::new(),
                realm: String::new(),
                nonce: String::new(),
                key: Vec::new(),
                crypto,
                rto,
            };
            return Ok((turn, alloc));
        }
        let err = stun_error(&resp);
        if !matches!(err, WireError::Stun { code: 401, .. }) {
            return Err(fail(err, false));
        }
        let realm = TextAttribute::get_from_as(&resp, ATTR_REALM)
            .map_err(|_| fail(proto("401 without REALM"), false))?
            .text;
        let nonce = TextAttribute::get_from_as(&resp, ATTR_NONCE)
            .map_err(|_| fail(proto("401 without NONCE"), false))?
            .text;
        let key = MessageIntegrity::long_term_integrity_key(
            username.to_string(),
            realm.clone(),
            password.to_string(),
            crypto.crypto(),
        )
        .map_err(|e| fail(proto(e), false))?;
        let mut turn = Turn {
            conn,
            username: username.to_string(),
            realm: realm.clone(),
            nonce,
            key,
            crypto,
            rto,
        };
        let fail = |error, authenticated| AllocateFailure {
            error,
            authenticated,
            realm: Some(clean_text(&realm)),
        };
        let allocate = |ipv6: bool| {
            move |_: &mut Turn| -> Vec<Box<dyn Setter>> {
                let mut v: Vec<Box<dyn Setter>> = vec![Box::new(RequestedTransport {
                    protocol: PROTO_UDP,
                })];
                if ipv6 {
                    v.push(Box::new(REQUESTED_FAMILY_IPV6));
                }
                v
            }
        };
        // An IPv4 relay first (what browsers ask for); a server that relays only IPv6 answers
        // 440, and then gets asked for that (RFC 6156).
        let (resp, retried, ipv6) = match turn.request(allocate_request(), allocate(false)).await {
            Ok((r, retried)) => (r, retried, false),
            Err(WireError::Stun { code: 440, .. }) => {
                let (r, retried) = turn
                    .request(allocate_request(), allocate(true))
                    .await
                    .map_err(|e| fail(e, true))?;
                (r, retried, true)
            }
            Err(e) => return Err(fail(e, true)),
        };
        let mut alloc = allocation(&resp, retried).map_err(|e| fail(e, true))?;
        alloc.ipv6_requested = ipv6;
        Ok((turn, alloc))
    }

    /// An authenticated request; a 438 (stale nonce) is retried once with the new nonce.
    /// Returns the success response and whether a retry happened.
    async fn request<F>(&mut self, typ: MessageType, attrs: F) -> Result<(Message, bool), WireError>
    where
        F: Fn(&mut Self) -> Vec<Box<dyn Setter>>,
    {
        let mut retried = false;
        loop {
            let extra = attrs(self);
            let integrity = MessageIntegrity::new_raw_integrity_with_provider(
                self.key.clone(),
                self.crypto.crypto(),
            );
            let mut setters: Vec<Box<dyn Setter + '_>> =
                vec![Box::new(TransactionId::new()), Box::new(typ)];
            setters.extend(extra);
            setters.push(Box::new(TextAttribute::new(
                ATTR_USERNAME,
                self.username.clone(),
            )));
            setters.push(Box::new(TextAttribute::new(ATTR_REALM, self.realm.clone())));
            setters.push(Box::new(TextAttribute::new(ATTR_NONCE, self.nonce.clone())));
            setters.push(Box::new(integrity));
            setters.push(Box::new(FINGERPRINT));
            let req = build(&setters)?;
            drop(setters);
            let (resp, _) = self.conn.transact(&req, self.rto, 3).await?;
            if resp.typ.class == CLASS_SUCCESS_RESPONSE {
                return Ok((resp, retried));
            }
            let err = stun_error(&resp);
            if matches!(err, WireError::Stun { code: 438, .. }) && !retried {
                if let Ok(n) = TextAttribute::get_from_as(&resp, ATTR_NONCE) {
                    self.nonce = n.text;
                }
                retried = true;
                continue;
            }
            return Err(err);
        }
    }

    /// Allow traffic from/to `peer`'s IP address through the relay.
    pub async fn create_permission(&mut self, peer: SocketAddr) -> Result<(), WireError> {
        self.request(create_permission_request(), move |_| {
            vec![Box::new(PeerAddress {
                ip: peer.ip(),
                port: peer.port(),
            })]
        })
        .await
        .map(|_| ())
    }

    /// Bind channel `number` (0x4000..=0x7FFF) to `peer`.
    pub async fn channel_bind(&mut self, number: u16, peer: SocketAddr) -> Result<(), WireError> {
        self.conn.channels = true;
        self.request(
            MessageType::new(METHOD_CHANNEL_BIND, rtc::stun::message::CLASS_REQUEST),
            move |_| {
                vec![
                    Box::new(ChannelNumber(number)),
                    Box::new(PeerAddress {
                        ip: peer.ip(),
                        port: peer.port(),
                    }),
                ]
            },
        )
        .await
        .map(|_| ())
    }

    /// Refresh the allocation, asking for `lifetime`; returns the lifetime granted, s.
    pub async fn refresh(&mut self, lifetime: Duration) -> Result<u32, WireError> {
        let (resp, _) = self
            .request(refresh_request(), move |_| {
                vec![Box::new(Lifetime(lifetime))]
            })
            .await?;
        let mut l = Lifetime::default();
        Ok(match l.get_from(&resp) {
            Ok(()) => l.0.as_secs() as u32,
            Err(_) => 0,
        })
    }

    /// Send `data` to `peer` in a Send indication (no channel needed; no answer comes).
    pub async fn send_indication(
        &mut self,
        peer: SocketAddr,
        data: &[u8],
    ) -> Result<(), WireError> {
        let m = build(&[
            Box::new(TransactionId::new()),
            Box::new(rtc::turn::proto::send_indication()),
            Box::new(PeerAddress {
                ip: peer.ip(),
                port: peer.port(),
            }),
            Box::new(rtc::turn::proto::data::Data(data.to_vec())),
            Box::new(FINGERPRINT),
        ])?;
        self.conn.send(&m.raw).await
    }

    /// The username this client authenticates with.
    pub fn username(&self) -> &str {
        &self.username
    }

    /// The realm the server announced.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// Give the allocation back (REFRESH with lifetime 0), best effort and briefly.
    pub async fn release(&mut self) {
        self.rto = Duration::from_millis(200);
        let _ = tokio::time::timeout(
            Duration::from_millis(600),
            self.request(refresh_request(), |_| {
                vec![Box::new(Lifetime(Duration::ZERO))]
            }),
        )
        .await;
    }
}

/// The payload of a Data indication.
pub fn data_indication_payload(m: &Message) -> Option<Vec<u8>> {
    let mut d = rtc::turn::proto::data::Data::default();
    d.get_from(m).ok()?;
    Some(d.0)
}

/// The peer address in a Data indication.
pub fn data_indication_peer(m: &Message) -> Option<SocketAddr> {
    let mut p = PeerAddress::default();
    p.get_from(m).ok()?;
    Some(SocketAddr::new(p.ip, p.port))
}

/// Every XOR-encoded address of type `t` in `m` (RFC 5389 15.2).
fn xor_addrs(m: &Message, t: rtc::stun::attributes::AttrType) -> Vec<SocketAddr> {
    let mut key = [0u8; 16];
    key[..4].copy_from_slice(&rtc::stun::message::MAGIC_COOKIE.to_be_bytes());
    key[4..].copy_from_slice(&m.transaction_id.0);
    m.attributes
        .0
        .iter()
        .filter(|a| a.typ == t && a.value.len() >= 8)
        .filter_map(|a| {
            let v = &a.value;
            let port = u16::from_be_bytes([v[2], v[3]]) ^ 0x2112;
            let ip: std::net::IpAddr = match (v[1], v.len()) {
                (1, 8) => {
                    let b: [u8; 4] = std::array::from_fn(|i| v[4 + i] ^ key[i]);
                    b.into()
                }
                (2, 20) => {
                    let b: [u8; 16] = std::array::from_fn(|i| v[4 + i] ^ key[i]);
                    b.into()
                }
                _ => return None,
            };
            Some(SocketAddr::new(ip, port))
        })
        .collect()
}

fn allocation(resp: &Message, retried: bool) -> Result<Allocation, WireError> {
    // coturn answers an IPv6 request with an empty IPv4 entry (0.0.0.0:0) before the real one.
    let relayed = xor_addrs(resp, rtc::stun::attributes::ATTR_XOR_RELAYED_ADDRESS)
        .into_iter()
        .find(|a| a.port() != 0 && !a.ip().is_unspecified())
        .ok_or_else(|| proto("an allocation without a usable XOR-RELAYED-ADDRESS"))?;
    let mut lifetime = Lifetime::default();
    let lifetime_s = match lifetime.get_from(resp) {
        Ok(()) => lifetime.0.as_secs() as u32,
        Err(_) => 0,
    };
    Ok(Allocation {
        granted_at: std::time::Instant::now(),
        relayed,
        mapped: xor_mapped(resp),
        lifetime_s,
        software: software(resp),
        stale_nonce_retried: retried,
        ipv6_requested: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_data_is_read_with_its_padding() {
        match decode_frame(&[0x40, 0x01, 0x00, 0x02, 7, 8, 0, 0]) {
            Some(Frame::Channel { number, data }) => {
                assert_eq!(number, 0x4001);
                assert_eq!(data, vec![7, 8]);
            }
            other => panic!("{other:?}"),
        }
    }
}
