//! `rtccall probe`: walks every step from DNS to a relayed call for each STUN/TURN server,
//! times each one, explains each failure in plain words, and ends with a verdict per server,
//! the `--expect` checks and an exit code. Emits [`ProbeRecord`]s for the reporters; never
//! prints.

pub mod connect;
mod hold;
pub mod load;
pub mod nat;
pub mod relay;
pub mod servers;
pub mod wire;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::exit;
use crate::report::probe_schema::{
    Expectation, ProbeRecord, ProbeSummary, Rtt, ServerVerdict, Status, Step,
};
use servers::{Scheme, Server, Transport};
use wire::{Conn, TlsSetup, Turn, WireError};

/// A granted allocation lifetime under this (s) is worth a warning.
const SHORT_LIFETIME_S: u32 = 60;

/// Binding requests per server (RTT and loss come from these).
const BINDING_REQUESTS: u32 = 5;

/// Peer addresses the TURN security check asks permissions for (nothing is ever sent to them):
/// loopback, the private ranges, link-local (cloud metadata) and the unspecified address.
const SECURITY_PEERS: [IpAddr; 9] = [
    IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 1)),
    IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1)),
    IpAddr::V4(std::net::Ipv4Addr::new(172, 16, 0, 1)),
    IpAddr::V4(std::net::Ipv4Addr::new(192, 168, 0, 1)),
    IpAddr::V4(std::net::Ipv4Addr::new(169, 254, 169, 254)),
    IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
    IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
    IpAddr::V6(std::net::Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1)),
    IpAddr::V6(std::net::Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1)),
];

/// What `--expect` can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Every TURN server yields a working relay.
    Relay,
    /// Some server returns a server-reflexive (mapped) address.
    Srflx,
    /// Some server works over TCP.
    Tcp,
    /// Some server works over TLS.
    Tls,
}

impl Expect {
    pub fn as_str(self) -> &'static str {
        match self {
            Expect::Relay => "relay",
            Expect::Srflx => "srflx",
            Expect::Tcp => "tcp",
            Expect::Tls => "tls",
        }
    }
}

/// Everything a probe needs, validated.
#[derive(Clone)]
pub struct ProbeConfig {
    pub servers: Vec<Server>,
    pub tls: TlsSetup,
    pub expect: Vec<Expect>,
    pub max_rtt_ms: Option<f64>,
    /// Bound on the whole probe.
    pub timeout: Duration,
    /// Bound on each step.
    pub step_timeout: Duration,
    /// Packets in each relay echo.
    pub echo_packets: u32,
    /// Local UDP sockets for ICE gathering and the in-process calls.
    pub bind: Vec<SocketAddr>,
    /// Run the ICE gathering report and the in-process calls.
    pub calls: bool,
    /// Longest time each in-process call stays up once connected (it hangs up as soon as
    /// media and the data channel have flowed both ways).
    pub call_media: Duration,
    /// `--data-throughput`: measure the calls' data channels for this long each way.
    pub data_throughput: Option<Duration>,
    /// Keep each TURN server's allocation alive this long after its checks (`--hold`).
    pub hold: Option<Duration>,
    /// Load each TURN server after its checks (`--load`).
    pub load: Option<load::LoadConfig>,
    /// When the probe last gave allocations back (see [`Releases`]).
    pub releases: Arc<Releases>,
}

/// How long a server keeps counting a released allocation against its quotas: coturn frees
/// a UDP allocation's quota about a second after the Refresh with lifetime 0 (measured: an
/// allocation 0.5 s after a release gets 486 under user-quota=1, one 1 s after does not).
const RELEASE_SETTLE: Duration = Duration::from_millis(1200);

/// When the probe's own allocations (and its calls') were last given back, so that a later
/// step does not collide with them in a quota and blame the server for the probe's own use.
#[derive(Debug, Default)]
pub struct Releases(std::sync::Mutex<Option<Instant>>);

impl Releases {
    /// Allocations were just given back.
    pub fn mark(&self) {
        if let Ok(mut g) = self.0.lock() {
            *g = Some(Instant::now());
        }
    }

    /// Wait until the last release no longer counts.
    pub async fn settle(&self) {
        let last = self.0.lock().ok().and_then(|g| *g);
        if let Some(at) = last {
            tokio::time::sleep_until((at + RELEASE_SETTLE).into()).await;
        }
    }
}

/// Where the probe's records go.
///
/// Messages are built from parsed parts only (URLs without credentials, server answers), so
/// passwords and secrets never reach them.
pub struct Sink {
    tx: mpsc::Sender<ProbeRecord>,
    start: Instant,
}

impl Sink {
    pub fn new(tx: mpsc::Sender<ProbeRecord>, start: Instant) -> Sink {
        Sink { tx, start }
    }

    fn ms(&self) -> f64 {
        round1(self.start.elapsed().as_secs_f64() * 1000.0)
    }

    async fn step(&self, mut s: Step) -> Step {
        s.ms = self.ms();
        let _ = self.tx.send(ProbeRecord::Step(Box::new(s.clone()))).await;
        s
    }
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// Round-trip times keep microseconds, so that `--max-rtt` compares what was measured.
fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

fn ms(d: Duration) -> f64 {
    round1(d.as_secs_f64() * 1000.0)
}

/// min/p50/p95/max of `v` (ms).
pub fn rtt_stats(v: &[f64]) -> Option<Rtt> {
    if v.is_empty() {
        return None;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let pick = |q: f64| s[((s.len() - 1) as f64 * q).round() as usize];
    Some(Rtt {
        min: round3(s[0]),
        p50: round3(pick(0.5)),
        p95: round3(pick(0.95)),
        max: round3(s[s.len() - 1]),
    })
}

/// A step being timed.
struct Timer {
    server: String,
    step: &'static str,
    transport: Option<&'static str>,
    started: Instant,
}

impl Timer {
    fn new(server: &str, step: &'static str, transport: Option<Transport>) -> Timer {
        Timer {
            server: server.to_string(),
            step,
            transport: transport.map(Transport::as_str),
            started: Instant::now(),
        }
    }

    fn done(&self, status: Status, message: impl Into<String>) -> Step {
        let mut s = Step::new(&self.server, self.step, self.transport, status);
        s.duration_ms = ms(self.started.elapsed());
        s.message = message.into();
        s
    }

    fn fail(&self, message: impl Into<String>, explanation: impl Into<String>) -> Step {
        let mut s = self.done(Status::Fail, message);
        s.explanation = Some(explanation.into());
        s
    }
}

/// What one server's steps established, for the expectations and the summary.
#[derive(Debug, Default, Clone)]
pub struct Outcome {
    pub steps: Vec<Step>,
    /// The address the server was reached at (from the DNS step).
    pub remote: Option<SocketAddr>,
    pub mapped: Option<SocketAddr>,
    pub relay_ok: bool,
    pub binding_ok: bool,
    /// A `stun:` server also answered STUN over TCP.
    pub stun_tcp_ok: bool,
    /// The server relays IPv6 only.
    pub ipv6_only_relay: bool,
}

/// Plain words for a STUN/TURN error code.
pub fn explain_code(code: u16, authenticated: bool) -> String {
    match code {
        400 => "400 Bad Request: the server could not parse the request (a STUN/TURN \
                implementation mismatch)"
            .into(),
        401 if authenticated => "401 Unauthorized: the username or password is wrong, or \
                                 they belong to another realm (check the server's users, \
                                 realm and, for TURN REST credentials, the shared secret and \
                                 the clocks)"
            .into(),
        401 => "401 Unauthorized: the server needs credentials".into(),
        403 => "403 Forbidden: the server refuses this request (peer address in a denied \
                range, or the user is not allowed)"
            .into(),
        420 => "420 Unknown Attribute: the server does not understand a required attribute".into(),
        437 => "437 Allocation Mismatch: an allocation already exists for this address and \
                port"
            .into(),
        438 => "438 Stale Nonce: the nonce expired again after one retry (server clock or \
                nonce lifetime too short)"
            .into(),
        440 => "440 Address Family not Supported".into(),
        441 => "441 Wrong Credentials: the credentials differ from those the allocation was \
                made with"
            .into(),
        442 => "442 Unsupported Transport Protocol: the server does not relay this protocol".into(),
        486 => "486 Allocation Quota Reached: the server allows no more allocations, for this \
                user (coturn user-quota) or for all users together (coturn total-quota sends \
                486 too); wait for old allocations to expire, or raise the quota"
            .into(),
        500 => "500 Server Error: the server failed internally".into(),
        508 => "508 Insufficient Capacity: the server has no relay ports left (coturn: the \
                min-port/max-port range is used up)"
            .into(),
        c => format!("{c}: see RFC 5389/5766 for this code"),
    }
}

fn wire_step(t: &Timer, what: &str, e: &WireError, server: &Server, authenticated: bool) -> Step {
    let (message, explanation, code) = match e {
        WireError::Timeout => (
            format!("{what}: no response"),
            match server.transport {
                Transport::Udp => format!(
                    "nothing answered on UDP {}:{} within the step's time: the server is down, \
                     the port is wrong, or a firewall drops UDP",
                    server.host, server.port
                ),
                _ => format!(
                    "the connection to {}:{} opened but the server did not answer: is it a \
                     STUN/TURN server{}?",
                    server.host,
                    server.port,
                    if server.transport == Transport::Tcp {
                        " (a TLS port needs turns:)"
                    } else {
                        ""
                    }
                ),
            },
            None,
        ),
        WireError::Io(m) if server.transport == Transport::Udp && m.contains("refused") => (
            format!("{what}: refused (ICMP port unreachable)"),
            format!(
                "{}:{} answered ICMP port unreachable: nothing listens on UDP port {} there \
                 (or a firewall rejects UDP)",
                server.host, server.port, server.port
            ),
            None,
        ),
        WireError::Io(m) => (
            format!("{what}: {m}"),
            format!(
                "could not reach {}:{} over {}: nothing listens there or a firewall rejects it",
                server.host,
                server.port,
                server.transport.as_str()
            ),
            None,
        ),
        WireError::NotStun(m) => (
            format!("{what}: the answer is not STUN"),
            format!(
                "something answers on {}:{} over {}, but not STUN/TURN: {m}. Another service \
                 holds this port, or the URL names the wrong port{}",
                server.host,
                server.port,
                server.transport.as_str(),
                if m.contains("TLS") && server.transport != Transport::Tls {
                    " (a TLS port needs turns:)"
                } else {
                    ""
                }
            ),
            None,
        ),
        WireError::Tls(m) | WireError::NotTls(m) => {
            (format!("{what}: TLS failed"), m.clone(), None)
        }
        WireError::Stun { code, reason } => (
            format!("{what}: error {code} {reason}"),
            explain_code(*code, authenticated),
            Some(*code),
        ),
        WireError::Protocol(m) => (
            format!("{what}: unexpected answer"),
            format!("the server's answer was not usable STUN/TURN: {m}"),
            None,
        ),
    };
    let mut s = t.fail(message, explanation);
    s.error_code = code;
    s
}

/// What a 401 to authenticated requests adds to its explanation: the realm the server
/// announced, and what a TURN REST username says about its expiry.
fn auth_notes(realm: Option<&str>, username: Option<&str>) -> String {
    let mut notes = String::new();
    if let Some(r) = realm {
        notes.push_str(&format!("; the server's realm is {r:?}"));
    }
    if let Some(n) = username.and_then(|u| crate::ice::rest_expiry_note(u, SystemTime::now())) {
        notes.push_str("; ");
        notes.push_str(&n);
    }
    notes
}

/// The explanation of an error code seen by authenticated requests, with the 401 notes.
fn explain_with_auth(code: u16, realm: Option<&str>, username: Option<&str>) -> String {
    let mut e = explain_code(code, true);
    if code == 401 {
        e.push_str(&auth_notes(realm, username));
    }
    e
}

fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v) => v.is_private() || v.is_loopback() || v.is_link_local() || is_shared_v4(v),
        IpAddr::V6(v) => v.is_loopback() || v.is_unique_local() || v.is_unicast_link_local(),
    }
}

fn is_shared_v4(v: std::net::Ipv4Addr) -> bool {
    // 100.64.0.0/10 (carrier-grade NAT)
    v.octets()[0] == 100 && (v.octets()[1] & 0xC0) == 64
}

/// Probe one server: DNS, binding, and for TURN allocation, relay echo and security check.
pub async fn probe_server(server: &Server, cfg: &ProbeConfig, sink: &Sink) -> Outcome {
    let label = server.label();
    let mut out = Outcome::default();
    let tr = Some(server.transport);

    // DNS.
    let t = Timer::new(&label, "dns", None);
    let lookup = tokio::time::timeout(
        cfg.step_timeout,
        tokio::net::lookup_host((server.host.as_str(), server.port)),
    )
    .await;
    let resolved = match lookup {
        Ok(Ok(a)) => {
            let mut v: Vec<SocketAddr> = a.collect();
            v.dedup();
            // IPv4 first, as clients mostly try it first.
            match v.iter().find(|a| a.is_ipv4()).or(v.first()).copied() {
                Some(remote) => Ok((v, remote)),
                None => Err((
                    format!("{} has no address", server.host),
                    "the name resolved to no A or AAAA record".to_string(),
                )),
            }
        }
        Ok(Err(e)) => Err((
            format!("cannot resolve {}", server.host),
            format!("DNS lookup failed ({e}): check the host name and the resolver"),
        )),
        Err(_) => Err((
            format!("cannot resolve {}: no answer", server.host),
            "the DNS resolver did not answer in time".to_string(),
        )),
    };
    let (addrs, remote) = match resolved {
        Ok(v) => v,
        Err((message, explanation)) => {
            out.steps
                .push(sink.step(t.fail(message, explanation)).await);
            return out;
        }
    };
    out.remote = Some(remote);
    let shown: Vec<String> = addrs.iter().map(|a| a.ip().to_string()).collect();
    let mut s = t.done(
        Status::Pass,
        format!("{} resolved to {}", server.host, shown.join(", ")),
    );
    s.addresses = Some(shown);
    out.steps.push(sink.step(s).await);

    // STUN binding over the server's transport, on the connection TURN will use.
    let t = Timer::new(&label, "stun-binding", tr);
    let rto = Duration::from_millis(500).min(cfg.step_timeout);
    let tls = Some((&cfg.tls, server.host.as_str()));
    let mut conn = match Conn::open(server.transport, remote, tls, cfg.step_timeout).await {
        Ok(c) => Some(c),
        Err(e) => {
            let mut s = wire_step(&t, "connect", &e, server, false);
            // A TLS handshake that got no TLS back, or nothing at all (coturn with no-tls
            // keeps the connection open and never answers a ClientHello): does the port speak
            // plain STUN over TCP instead?
            let no_tls = matches!(e, WireError::NotTls(_))
                || server.transport == Transport::Tls && matches!(e, WireError::Timeout);
            if no_tls {
                let bound = cfg.step_timeout.min(Duration::from_secs(1));
                if let Ok(mut tc) = Conn::open(Transport::Tcp, remote, None, bound).await
                    && wire::binding(&mut tc, bound).await.is_ok()
                {
                    s.explanation = Some(format!(
                        "this port speaks TURN over TCP, not TLS: plain STUN over TCP to \
                         {remote} answers. Use turn:{}:{}?transport=tcp, or the server's TLS \
                         port (coturn: tls-listening-port, default 5349)",
                        server.host, server.port
                    ));
                }
            }
            out.steps.push(sink.step(s).await);
            None
        }
    };
    // Set when UDP failed and STUN over TCP on the same port answered: "refused" or "blocked".
    let mut udp_fallback: Option<&str> = None;
    if let Some(c) = conn.as_mut() {
        let mut rtts = Vec::new();
        let mut last = None;
        let mut first_err = None;
        let per_request = if server.transport == Transport::Udp {
            rto
        } else {
            cfg.step_timeout
        };
        // The step's bound holds: requests it leaves no time for are not sent.
        let deadline = Instant::now() + cfg.step_timeout;
        let mut sent = 0u32;
        for _ in 0..BINDING_REQUESTS {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            sent += 1;
            match wire::binding(c, per_request.min(left)).await {
                Ok(b) => {
                    rtts.push(b.rtt.as_secs_f64() * 1000.0);
                    last = Some(b);
                }
                Err(e) => {
                    let fatal = !matches!(e, WireError::Timeout);
                    first_err.get_or_insert(e);
                    if fatal {
                        break;
                    }
                }
            }
        }
        let received = rtts.len() as u32;
        let mut s = match (&last, &first_err) {
            (Some(b), _) => {
                out.mapped = Some(b.mapped);
                out.binding_ok = true;
                let loss = 100.0 * f64::from(sent - received) / f64::from(sent.max(1));
                let mut s = t.done(
                    if received == sent {
                        Status::Pass
                    } else {
                        Status::Warn
                    },
                    format!("mapped address {}, {received}/{sent} answered", b.mapped),
                );
                if received < sent {
                    s.explanation = Some(format!(
                        "{:.0} % of binding requests got no answer: packet loss on the path \
                         or an overloaded server",
                        loss
                    ));
                }
                s.mapped_address = Some(b.mapped.to_string());
                s.software = b.software.clone();
                s.loss_pct = Some(round1(loss));
                s
            }
            (None, Some(e)) => {
                let mut s = wire_step(&t, "binding", e, server, false);
                let refused = matches!(e, WireError::Io(_));
                if (refused || matches!(e, WireError::Timeout))
                    && server.transport == Transport::Udp
                {
                    // Is it UDP that is blocked or off? Try TCP on the same port.
                    let bound = cfg.step_timeout.min(Duration::from_secs(1));
                    if let Ok(mut tc) = Conn::open(Transport::Tcp, remote, None, bound).await
                        && wire::binding(&mut tc, bound).await.is_ok()
                    {
                        udp_fallback = Some(if refused { "refused" } else { "blocked" });
                        s.explanation = Some(if refused {
                            format!(
                                "UDP to {remote} is refused (ICMP port unreachable) but STUN \
                                 over TCP on the same port works: the server does not listen \
                                 on UDP (coturn: no-udp) or a firewall rejects UDP, so clients \
                                 will need TURN over TCP or TLS"
                            )
                        } else {
                            format!(
                                "UDP to {remote} gets no answer but STUN over TCP on the same \
                                 port works: UDP is blocked on the path (a firewall), so \
                                 clients will need TURN over TCP or TLS"
                            )
                        });
                    }
                }
                s
            }
            (None, None) => t.fail(
                "no binding request was sent",
                "the step's time ran out before the first request",
            ),
        };
        s.sent = Some(sent);
        s.received = Some(received);
        s.rtt_ms = rtt_stats(&rtts);
        out.steps.push(sink.step(s).await);
    }

    if server.scheme != Scheme::Turn {
        if server.transport == Transport::Udp {
            let s = stun_over_tcp(server, remote, cfg).await;
            out.stun_tcp_ok = s.status == Status::Pass;
            out.steps.push(sink.step(s).await);
        }
        let t = Timer::new(&label, "turn-allocate", None);
        let s = t.done(Status::Skip, "not applicable: a STUN server has no relay");
        out.steps.push(sink.step(s).await);
        return out;
    }

    // TURN allocation.
    let t = Timer::new(&label, "turn-allocate", tr);
    let Some((user, pass)) = server.credentials() else {
        let s = t.fail(
            "no credentials for this TURN server",
            "TURN needs a username and password: give --username/--credential, put them in \
             the URL (turn:USER:PASS@host), or mint them with --turn-secret",
        );
        out.steps.push(sink.step(s).await);
        return out;
    };
    let conn = match conn {
        Some(c) => c,
        None => {
            let s = t.done(Status::Skip, "not tried: the server cannot be reached");
            out.steps.push(sink.step(s).await);
            return out;
        }
    };
    let allocated = tokio::time::timeout(cfg.step_timeout, Turn::allocate(conn, user, pass, rto))
        .await
        .unwrap_or_else(|_| {
            Err(wire::AllocateFailure {
                error: WireError::Timeout,
                authenticated: false,
                realm: None,
            })
        });
    let (mut turn, mut alloc) = match allocated {
        Ok(v) => v,
        Err(f) => {
            let mut s = wire_step(&t, "allocation refused", &f.error, server, f.authenticated);
            if f.authenticated
                && let WireError::Stun { code: 401, .. } = f.error
                && let Some(e) = s.explanation.as_mut()
            {
                e.push_str(&auth_notes(f.realm.as_deref(), Some(user)));
            }
            if let Some(how) = udp_fallback
                && matches!(f.error, WireError::Timeout | WireError::Io(_))
            {
                s.explanation = Some(format!(
                    "the allocation over UDP fails as the binding requests did (UDP {how}, see \
                     stun-binding) while STUN over TCP on the same port answers: test \
                     turn:{}:{}?transport=tcp, which clients without UDP will use",
                    server.host, server.port
                ));
            }
            if matches!(f.error, WireError::Timeout) && out.binding_ok {
                s.message = "allocation: no response".into();
                s.explanation = Some(
                    "the server answers STUN binding requests but not TURN allocations: it is \
                     a STUN-only server, or TURN is disabled on this port"
                        .into(),
                );
            }
            out.steps.push(sink.step(s).await);
            return out;
        }
    };
    let mut s = t.done(
        Status::Pass,
        format!(
            "relayed address {}, lifetime {} s{}",
            alloc.relayed,
            alloc.lifetime_s,
            match (alloc.stale_nonce_retried, alloc.ipv6_requested) {
                (true, _) => " (retried once after 438 stale nonce)",
                (false, true) => " (IPv6: the server has no IPv4 relay address)",
                _ => "",
            }
        ),
    );
    if is_private(alloc.relayed.ip()) && !is_private(remote.ip()) {
        s.status = Status::Warn;
        s.explanation = Some(format!(
            "the relayed address {} is private while the server {} is public: peers on the \
             internet cannot reach it (coturn: set external-ip)",
            alloc.relayed.ip(),
            remote.ip()
        ));
    }
    if alloc.lifetime_s < SHORT_LIFETIME_S {
        s.status = Status::Warn;
        s.explanation = Some(format!(
            "the server granted a lifetime of only {} s (RFC 8656 asks for at least 600 s by \
             default): clients must refresh that often or lose the relay mid-call (coturn: \
             max-allocate-lifetime)",
            alloc.lifetime_s
        ));
    }
    if alloc.ipv6_requested {
        out.ipv6_only_relay = true;
        s.status = Status::Warn;
        s.explanation = Some(
            "the server refused an IPv4 relay (440) and gave an IPv6 one when asked: clients \
             that ask for the default IPv4 relay (webrtc-rs, most browsers) get no relay \
             candidate from it (coturn: add an IPv4 relay-ip)"
                .into(),
        );
    }
    s.relayed_address = Some(alloc.relayed.to_string());
    s.mapped_address = alloc.mapped.map(|m| m.to_string());
    s.lifetime_s = Some(alloc.lifetime_s);
    s.software = alloc.software.clone();
    out.steps.push(sink.step(s).await);

    // Relay echo.
    let t = Timer::new(&label, "relay-echo", tr);
    let echo = relay::echo(&mut turn, &alloc, out.mapped.or(alloc.mapped), cfg, &t);
    let s = match tokio::time::timeout(cfg.step_timeout, echo).await {
        Ok(s) => s,
        Err(_) => t.fail(
            format!("the echo did not finish within {:?}", cfg.step_timeout),
            "the relay answers too slowly (or --step-timeout is too short for --echo-packets)",
        ),
    };
    out.relay_ok = s.status == Status::Pass || s.status == Status::Warn;
    out.steps.push(sink.step(s).await);

    // Security: does the relay reach loopback, private or link-local peers? Asked on a live
    // allocation: an expired one answers 437 (or anything) to every permission request.
    let t = Timer::new(&label, "turn-security", tr);
    if let Err(e) = keep_alive(&mut turn, &mut alloc, server, remote, cfg, (user, pass)).await {
        let mut s = t.done(
            Status::Warn,
            format!("cannot tell: the allocation could not be kept alive ({e})"),
        );
        s.explanation = Some(
            "neither a Refresh nor a new allocation succeeded, so permission answers would \
             say nothing about the peer policy"
                .into(),
        );
        out.steps.push(sink.step(s).await);
        return out;
    }
    let same_family: Vec<IpAddr> = SECURITY_PEERS
        .iter()
        .copied()
        .filter(|ip| ip.is_ipv4() == alloc.relayed.is_ipv4())
        .collect();
    let mut answers: Vec<(IpAddr, Result<(), WireError>)> = Vec::new();
    let asking = async {
        for ip in &same_family {
            // A permission sends nothing to the peer: it only asks whether the server would.
            let peer = SocketAddr::new(*ip, 9);
            let r = turn.create_permission(peer).await;
            let stop = matches!(r, Err(WireError::Timeout | WireError::Io(_)));
            answers.push((*ip, r));
            if stop {
                break;
            }
        }
    };
    let finished = tokio::time::timeout(cfg.step_timeout, asking).await.is_ok();
    let s = security_step(&t, &answers, same_family.len(), finished);
    out.steps.push(sink.step(s).await);

    if let Some(h) = cfg.hold {
        let mapped = out.mapped.or(alloc.mapped);
        let mut held = Vec::new();
        let s = hold::hold(
            &mut turn,
            &mut alloc,
            mapped,
            cfg,
            (sink, &mut held),
            (&label, tr),
            h,
        )
        .await;
        out.steps.extend(held);
        out.steps.push(sink.step(s).await);
    }

    turn.release().await;
    cfg.releases.mark();
    out
}

/// Why our own client could not allocate now: the error and the realm announced.
#[derive(Debug)]
pub struct Refusal {
    pub error: WireError,
    pub realm: Option<String>,
}

impl Refusal {
    /// One line: "486 Allocation Quota Reached: …" with the 401 notes.
    pub fn explain(&self, server: &Server) -> String {
        match &self.error {
            WireError::Stun { code, .. } => {
                explain_with_auth(*code, self.realm.as_deref(), server.username.as_deref())
            }
            e => e.to_string(),
        }
    }

    pub fn code(&self) -> Option<u16> {
        match self.error {
            WireError::Stun { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// New 5-tuples tried after 437 Allocation Mismatch before the 437 counts.
const MISMATCH_RETRIES: u32 = 3;

/// A new connection to `server` and an allocation on it with these credentials, within one
/// step bound.
pub(crate) async fn fresh_allocation(
    server: &Server,
    remote: SocketAddr,
    cfg: &ProbeConfig,
    (user, pass): (&str, &str),
) -> Result<(Turn, wire::Allocation), Refusal> {
    let rto = Duration::from_millis(500).min(cfg.step_timeout);
    let tls = Some((&cfg.tls, server.host.as_str()));
    let one = async {
        // 437 Allocation Mismatch: the server still holds an allocation for this 5-tuple
        // (another process's, from a local port the OS handed out again); RFC 8656 7.2 says
        // to try another 5-tuple, which a new connection is (ephemeral ports are random).
        let mut mismatched = 0;
        loop {
            let conn = Conn::open(server.transport, remote, tls, cfg.step_timeout)
                .await
                .map_err(|error| Refusal { error, realm: None })?;
            match Turn::allocate(conn, user, pass, rto).await {
                Err(wire::AllocateFailure {
                    error: WireError::Stun { code: 437, .. },
                    ..
                }) if mismatched < MISMATCH_RETRIES => mismatched += 1,
                r => {
                    return r.map_err(|f| Refusal {
                        error: f.error,
                        realm: f.realm,
                    });
                }
            }
        }
    };
    tokio::time::timeout(cfg.step_timeout, one)
        .await
        .unwrap_or(Err(Refusal {
            error: WireError::Timeout,
            realm: None,
        }))
}

/// `count` allocations held at once with `server`'s credentials, as webrtc-rs's own
/// allocations would ask for them now (each on its own connection), then given back. One
/// result per allocation, in order.
pub async fn allocations_now(
    server: &Server,
    remote: SocketAddr,
    cfg: &ProbeConfig,
    count: usize,
) -> Vec<Result<(), Refusal>> {
    let Some(creds) = server.credentials() else {
        return Vec::new();
    };
    let mut held = Vec::new();
    let mut results = Vec::new();
    // One after the other, each kept: the second sees the first, as a quota would.
    for _ in 0..count {
        match fresh_allocation(server, remote, cfg, creds).await {
            Ok((turn, _)) => {
                held.push(turn);
                results.push(Ok(()));
            }
            Err(r) => results.push(Err(r)),
        }
    }
    let any = !held.is_empty();
    for mut t in held {
        t.release().await;
    }
    if any {
        cfg.releases.mark();
    }
    results
}

/// Refresh the allocation (or, when it is gone, allocate again on a new connection) so that the
/// next step asks a live allocation.
async fn keep_alive(
    turn: &mut Turn,
    alloc: &mut wire::Allocation,
    server: &Server,
    remote: SocketAddr,
    cfg: &ProbeConfig,
    (user, pass): (&str, &str),
) -> Result<(), WireError> {
    let refreshed = tokio::time::timeout(
        cfg.step_timeout,
        turn.refresh(Duration::from_secs(u64::from(alloc.lifetime_s.max(1)))),
    )
    .await
    .unwrap_or(Err(WireError::Timeout));
    match refreshed {
        Ok(l) => {
            alloc.lifetime_s = l;
            Ok(())
        }
        Err(_) => {
            let (t, a) = fresh_allocation(server, remote, cfg, (user, pass))
                .await
                .map_err(|r| r.error)?;
            *turn = t;
            *alloc = a;
            Ok(())
        }
    }
}

/// The `turn-security` verdict from the answers to permission requests for internal peers
/// (`of` asked for in all, `finished` false when the step's time ran out). Only 403 Forbidden
/// is a refusal; any other answer cannot tell.
fn security_step(
    t: &Timer,
    answers: &[(IpAddr, Result<(), WireError>)],
    of: usize,
    finished: bool,
) -> Step {
    let mut allowed = Vec::new();
    let mut refused = Vec::new();
    let mut unknown = Vec::new();
    for (ip, r) in answers {
        match r {
            Ok(()) => allowed.push(ip.to_string()),
            Err(WireError::Stun { code: 403, .. }) => refused.push(ip.to_string()),
            Err(e) => unknown.push(format!("{ip} ({e})")),
        }
    }
    let not_asked = of.saturating_sub(answers.len());
    let mut s = if !allowed.is_empty() {
        let mut s = t.done(
            Status::Warn,
            format!("relays to internal addresses: {}", allowed.join(", ")),
        );
        s.explanation = Some(
            "anyone with TURN credentials can reach these addresses through the relay (the \
             CVE-2020-26262 class): deny them (coturn: no-loopback-peers, denied-peer-ip for \
             10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 169.254.0.0/16, fc00::/7, fe80::/10) \
             unless the relay really must reach them"
                .into(),
        );
        s
    } else if !unknown.is_empty() || not_asked > 0 || !finished {
        let mut s = t.done(
            Status::Warn,
            format!(
                "cannot tell: {} of {of} internal addresses refused with 403, {} answered \
                 otherwise, {not_asked} not asked",
                refused.len(),
                unknown.len()
            ),
        );
        s.explanation = Some(format!(
            "only 403 Forbidden means the server refuses a peer; {}{}",
            if unknown.is_empty() {
                String::new()
            } else {
                format!(
                    "the other answers ({}) say nothing about the peer policy (an expired \
                     allocation, a stale nonce or a server error)",
                    unknown.join(", ")
                )
            },
            if not_asked > 0 || !finished {
                format!(
                    "{}the server stopped answering before every address was asked",
                    if unknown.is_empty() { "" } else { "; " }
                )
            } else {
                String::new()
            }
        ));
        s
    } else {
        t.done(
            Status::Pass,
            format!(
                "refuses loopback, private and link-local peers ({} tried, each 403 Forbidden)",
                refused.len()
            ),
        )
    };
    s.peers_allowed = Some(allowed);
    s.peers_refused = Some(refused);
    s.peers_unknown = Some(unknown).filter(|u| !u.is_empty());
    s
}

/// A `stun:` server over TCP (RFC 5389 says servers should answer there too): a warning, not a
/// failure, when it does not.
async fn stun_over_tcp(server: &Server, remote: SocketAddr, cfg: &ProbeConfig) -> Step {
    let t = Timer::new(&server.label(), "stun-binding-tcp", Some(Transport::Tcp));
    let tried = async {
        let mut c = Conn::open(Transport::Tcp, remote, None, cfg.step_timeout).await?;
        wire::binding(&mut c, cfg.step_timeout).await
    };
    match tokio::time::timeout(cfg.step_timeout, tried).await {
        Ok(Ok(b)) => {
            let mut s = t.done(
                Status::Pass,
                format!("mapped address {} over TCP", b.mapped),
            );
            s.mapped_address = Some(b.mapped.to_string());
            s.rtt_ms = rtt_stats(&[b.rtt.as_secs_f64() * 1000.0]);
            s
        }
        Ok(Err(e)) => {
            let mut s = t.done(Status::Warn, format!("no STUN over TCP: {e}"));
            s.explanation = Some(
                "the server answers STUN over UDP only (common for public STUN servers): \
                 clients whose UDP is blocked need TURN over TCP or TLS"
                    .into(),
            );
            s
        }
        Err(_) => {
            let mut s = t.done(Status::Warn, "no STUN over TCP: no response");
            s.explanation = Some(
                "nothing answered STUN over TCP in time: clients whose UDP is blocked need \
                 TURN over TCP or TLS"
                    .into(),
            );
            s
        }
    }
}

/// Check the expectations against what the steps established.
pub fn expectations(cfg: &ProbeConfig, outcomes: &[(Server, Outcome)]) -> Vec<Expectation> {
    let mut out = Vec::new();
    for e in &cfg.expect {
        let (met, detail) = match e {
            Expect::Relay => {
                let turns: Vec<_> = outcomes
                    .iter()
                    .filter(|(s, _)| s.scheme == Scheme::Turn)
                    .collect();
                if turns.is_empty() {
                    (false, "no TURN server was given".to_string())
                } else {
                    let bad: Vec<String> = turns
                        .iter()
                        .filter(|(_, o)| !o.relay_ok)
                        .map(|(s, _)| s.label())
                        .collect();
                    if bad.is_empty() {
                        (true, format!("{} TURN server(s) relay", turns.len()))
                    } else {
                        (false, format!("no working relay from {}", bad.join(", ")))
                    }
                }
            }
            Expect::Srflx => match outcomes.iter().find_map(|(_, o)| o.mapped) {
                Some(m) => (true, format!("mapped address {m}")),
                None => (false, "no server returned a mapped address".to_string()),
            },
            Expect::Tcp | Expect::Tls => {
                let want = if *e == Expect::Tcp {
                    Transport::Tcp
                } else {
                    Transport::Tls
                };
                let ok: Vec<String> = outcomes
                    .iter()
                    .filter(|(s, o)| {
                        // A STUN server works when it answers, a TURN server when it relays.
                        let works = match s.scheme {
                            Scheme::Stun => o.binding_ok,
                            Scheme::Turn => o.relay_ok,
                        };
                        (s.transport == want && works) || (want == Transport::Tcp && o.stun_tcp_ok)
                    })
                    .map(|(s, _)| s.label())
                    .collect();
                if ok.is_empty() {
                    (
                        false,
                        format!("no server works over {}", want.as_str().to_uppercase()),
                    )
                } else {
                    (
                        true,
                        format!("works over {}: {}", want.as_str(), ok.join(", ")),
                    )
                }
            }
        };
        out.push(Expectation {
            expect: e.as_str().to_string(),
            met,
            detail,
        });
    }
    if let Some(max) = cfg.max_rtt_ms {
        let worst = outcomes
            .iter()
            .flat_map(|(_, o)| o.steps.iter())
            .filter(|s| s.step == "stun-binding" || s.step == "relay-echo")
            .filter_map(|s| {
                s.rtt_ms
                    .as_ref()
                    .map(|r| (r.p50, s.server.clone(), s.step.clone()))
            })
            .max_by(|a, b| a.0.total_cmp(&b.0));
        let (met, detail) = match worst {
            Some((p50, server, step)) if p50 > max => (
                false,
                format!("{step} to {server}: rtt p50 {p50} ms over {max} ms"),
            ),
            Some((p50, _, _)) => (true, format!("worst rtt p50 {p50} ms")),
            None => (false, "no round-trip time was measured".to_string()),
        };
        out.push(Expectation {
            expect: "max-rtt".into(),
            met,
            detail,
        });
    }
    out
}

/// The verdict of one server from its steps.
pub fn verdict(label: &str, steps: &[Step]) -> ServerVerdict {
    let failed: Vec<String> = steps
        .iter()
        .filter(|s| s.status == Status::Fail)
        .map(|s| s.step.clone())
        .collect();
    let warnings: Vec<String> = steps
        .iter()
        .filter(|s| s.status == Status::Warn)
        .map(|s| s.step.clone())
        .collect();
    let verdict = if !failed.is_empty() {
        Status::Fail
    } else if !warnings.is_empty() {
        Status::Warn
    } else {
        Status::Pass
    };
    ServerVerdict {
        server: label.to_string(),
        verdict,
        failed,
        warnings,
    }
}

/// How many steps a probe reports when nothing fails early (sizes the progress bar).
pub fn expected_steps(cfg: &ProbeConfig) -> u64 {
    let per_server: u64 = cfg
        .servers
        .iter()
        .map(|s| match (s.scheme, s.transport) {
            // dns, binding, allocation, echo, security (+ relay call)
            (Scheme::Turn, _) => 5 + u64::from(cfg.calls),
            // dns, binding, binding over TCP, allocation (n/a)
            (Scheme::Stun, Transport::Udp) => 4,
            (Scheme::Stun, _) => 3,
        })
        .sum();
    // nat (+ gathering and the direct call)
    per_server + 1 + 2 * u64::from(cfg.calls)
}

/// Run the whole probe; the summary is the last record sent. Returns the exit code.
pub async fn run(cfg: &ProbeConfig, sink: &Sink, cancel: CancellationToken) -> i32 {
    let start = Instant::now();
    let work = async {
        // Each server's relay-only call follows its own checks, while the other servers are
        // still being probed.
        let probes = cfg.servers.iter().map(|s| async move {
            let mut o = probe_server(s, cfg, sink).await;
            if cfg.calls && s.scheme == Scheme::Turn {
                let step = connect::relay_call(cfg, s, &o).await;
                o.steps.push(sink.step(step).await);
            }
            if let Some(l) = cfg.load
                && s.scheme == Scheme::Turn
            {
                let step = match o.remote {
                    Some(remote) => load::run(s, remote, o.mapped, cfg, l).await,
                    None => Timer::new(&s.label(), "load", Some(s.transport))
                        .done(Status::Skip, "not tried: the server cannot be reached"),
                };
                o.steps.push(sink.step(step).await);
            }
            (s.clone(), o)
        });
        // The direct call needs no server: it runs while the servers are probed.
        let direct = async {
            if cfg.calls {
                Some(sink.step(connect::direct_call(cfg).await).await)
            } else {
                None
            }
        };
        let (outcomes, direct) = tokio::join!(futures_util::future::join_all(probes), direct);
        // One address per UDP server, each address once.
        let mut udp: Vec<(String, SocketAddr)> = Vec::new();
        for (s, o) in &outcomes {
            if let Some(remote) = o.remote
                && s.transport == Transport::Udp
                && !udp.iter().any(|(_, a)| *a == remote)
            {
                udp.push((s.label(), remote));
            }
        }
        let mut all = vec![sink.step(nat::behaviour(cfg, &udp).await).await];
        if cfg.calls {
            all.push(sink.step(connect::gathering(cfg, &outcomes).await).await);
            all.extend(direct);
        }
        (outcomes, all)
    };
    let done = tokio::select! {
        o = tokio::time::timeout(cfg.timeout, work) => o.ok(),
        _ = cancel.cancelled() => {
            let summary = ProbeSummary {
                ms: ms(start.elapsed()),
                servers: Vec::new(),
                expectations: Vec::new(),
                verdict: Status::Fail,
                exit_code: exit::INTERRUPTED,
            };
            let _ = sink.tx.send(ProbeRecord::Summary(summary)).await;
            return exit::INTERRUPTED;
        }
    };
    let timed_out = done.is_none();
    let (outcomes, all) = done.unwrap_or_default();
    let mut verdicts: Vec<ServerVerdict> = outcomes
        .iter()
        .map(|(s, o)| verdict(&s.label(), &o.steps))
        .collect();
    if !all.is_empty() {
        verdicts.push(verdict("*", &all));
    }
    if timed_out {
        let mut st = Step::new("*", "timeout", None, Status::Fail);
        st.message = format!("the probe did not finish within {:?}", cfg.timeout);
        st.explanation = Some("raise --timeout, or look at the last step shown".into());
        sink.step(st).await;
        verdicts.push(ServerVerdict {
            server: "*".into(),
            verdict: Status::Fail,
            failed: vec!["timeout".into()],
            warnings: Vec::new(),
        });
    }
    let expectations = expectations(cfg, &outcomes);
    let failed =
        verdicts.iter().any(|v| v.verdict == Status::Fail) || expectations.iter().any(|e| !e.met);
    let code = if failed { exit::CHECK_FAILED } else { exit::OK };
    let summary = ProbeSummary {
        ms: ms(start.elapsed()),
        servers: verdicts,
        expectations,
        verdict: if failed { Status::Fail } else { Status::Pass },
        exit_code: code,
    };
    let _ = sink.tx.send(ProbeRecord::Summary(summary)).await;
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rtt_percentiles() {
        let r = rtt_stats(&[5.0, 1.0, 3.0, 2.0, 4.0]).unwrap();
        assert_eq!((r.min, r.p50, r.max), (1.0, 3.0, 5.0));
        assert_eq!(r.p95, 5.0);
        assert!(rtt_stats(&[]).is_none());
    }

    #[test]
    fn only_403_counts_as_a_refused_peer() {
        let t = Timer::new("turn:x", "turn-security", None);
        let ip = |s: &str| -> IpAddr { s.parse().unwrap() };
        let forbidden = || {
            Err(WireError::Stun {
                code: 403,
                reason: "Forbidden IP".into(),
            })
        };
        let all_403 = [
            (ip("127.0.0.1"), forbidden()),
            (ip("10.0.0.1"), forbidden()),
        ];
        let s = security_step(&t, &all_403, 2, true);
        assert_eq!(s.status, Status::Pass, "{s:?}");
        assert_eq!(s.peers_refused.as_ref().map(Vec::len), Some(2));
        assert!(s.peers_unknown.is_none());

        // An expired allocation answers 437/438/400: that says nothing about the policy.
        let mixed = [
            (ip("127.0.0.1"), forbidden()),
            (
                ip("10.0.0.1"),
                Err(WireError::Stun {
                    code: 437,
                    reason: "Allocation Mismatch".into(),
                }),
            ),
            (ip("172.16.0.1"), Err(WireError::Timeout)),
        ];
        let s = security_step(&t, &mixed, 3, true);
        assert_eq!(s.status, Status::Warn, "{s:?}");
        assert!(s.message.starts_with("cannot tell"), "{s:?}");
        assert_eq!(s.peers_refused, Some(vec!["127.0.0.1".to_string()]));
        let unknown = s.peers_unknown.clone().unwrap();
        assert_eq!(unknown.len(), 2, "{unknown:?}");
        assert!(unknown[0].contains("437"), "{unknown:?}");

        // Every answer 403, but the time ran out before all were asked: not a pass.
        let s = security_step(&t, &all_403, 5, false);
        assert_eq!(s.status, Status::Warn, "{s:?}");
        assert!(s.explanation.unwrap().contains("stopped answering"));

        // One peer allowed is a warning naming it, whatever the others said.
        let open = [(ip("127.0.0.1"), Ok(())), (ip("10.0.0.1"), forbidden())];
        let s = security_step(&t, &open, 2, true);
        assert_eq!(s.status, Status::Warn, "{s:?}");
        assert_eq!(s.peers_allowed, Some(vec!["127.0.0.1".to_string()]));
    }

    #[test]
    fn error_codes_are_explained() {
        assert!(explain_code(401, true).contains("password is wrong"));
        assert!(explain_code(486, true).contains("quota"));
        assert!(explain_code(508, true).contains("Insufficient Capacity"));
        assert!(explain_code(441, true).contains("Wrong Credentials"));
        assert!(explain_code(403, true).contains("Forbidden"));
    }

    #[test]
    fn private_addresses() {
        for ip in [
            "10.1.2.3",
            "192.168.0.1",
            "127.0.0.1",
            "169.254.1.1",
            "100.64.0.1",
        ] {
            assert!(is_private(ip.parse().unwrap()), "{ip}");
        }
        assert!(!is_private("8.8.8.8".parse().unwrap()));
    }
}
