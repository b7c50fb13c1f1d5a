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
pub mod whip;
pub mod wire;

mod allocate;
mod binding;
mod dns;
mod explain;
mod security;
mod verdict;

pub(crate) use allocate::fresh_allocation;
use allocate::keep_alive;
pub use allocate::{Refusal, allocations_now};
pub use explain::explain_code;
use explain::{auth_notes, explain_with_auth, wire_step};
use security::is_private;
pub use verdict::{expectations, expected_steps, verdict};

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
    /// `--stats-dump DIR`: an rtcstats dump of each side of each in-process call there.
    pub stats_dump: Option<std::path::PathBuf>,
    /// `--junit`: the probe as JUnit XML.
    pub junit: Option<std::path::PathBuf>,
    /// Keep each TURN server's allocation alive this long after its checks (`--hold`).
    pub hold: Option<Duration>,
    /// Load each TURN server after its checks (`--load`).
    pub load: Option<load::LoadConfig>,
    /// When the probe last gave allocations back (see [`Releases`]).
    pub releases: Arc<Releases>,
    /// WHIP/WHEP endpoints to check (`--whip`, `--whep`).
    pub endpoints: Vec<whip::Endpoint>,
    /// Their Bearer token (`--token`).
    pub whip_token: Option<String>,
}

/// How long a server keeps counting a released allocation against its quotas: coturn frees
/// a UDP allocation's quota about a second after the Refresh with lifetime 0 (measured: an
/// allocation 0.5 s after a release gets 486 under user-quota=1, one 1 s after does not).
const RELEASE_SETTLE: Duration = Duration::from_millis(1200);

/// When the probe's own allocations (and its calls') were last given back, so that a later
/// step does not blame the server for the probe's own use of a quota: the calls and the
/// gathering go at once, and only when they miss a relay while a release may still count do
/// they wait for it to settle and try again (no fixed wait when the server has no quota).
#[derive(Debug, Default)]
pub struct Releases(std::sync::Mutex<Option<Instant>>);

impl Releases {
    /// Allocations were just given back.
    pub fn mark(&self) {
        if let Ok(mut g) = self.0.lock() {
            *g = Some(Instant::now());
        }
    }

    /// Whether the last release may still count against a quota.
    pub fn recent(&self) -> bool {
        self.0
            .lock()
            .ok()
            .and_then(|g| *g)
            .is_some_and(|at| at.elapsed() < RELEASE_SETTLE)
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
#[derive(Clone)]
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
    /// The relay drops ChannelData and relays only Send indications (`relay-echo`): clients
    /// that bind channels (browsers, webrtc-rs) get no media through it.
    pub send_indications_only: bool,
}

/// Probe one server: DNS, binding, and for TURN allocation, relay echo and security check
/// (each step in its own module), then the hold when asked for.
pub async fn probe_server(server: &Server, cfg: &ProbeConfig, sink: &Sink) -> Outcome {
    let label = server.label();
    let mut out = Outcome::default();
    let tr = Some(server.transport);

    let (s, remote) = dns::resolve(server, cfg).await;
    out.steps.push(sink.step(s).await);
    let Some(remote) = remote else {
        return out;
    };
    out.remote = Some(remote);

    let bound = binding::binding(server, remote, cfg, sink, &mut out).await;
    if server.scheme != Scheme::Turn {
        if server.transport == Transport::Udp {
            let s = binding::stun_over_tcp(server, remote, cfg).await;
            out.stun_tcp_ok = s.status == Status::Pass;
            out.steps.push(sink.step(s).await);
        }
        let t = Timer::new(&label, "turn-allocate", None);
        let s = t.done(Status::Skip, "not applicable: a STUN server has no relay");
        out.steps.push(sink.step(s).await);
        return out;
    }

    let Some((mut turn, mut alloc)) =
        allocate::allocation(server, remote, cfg, sink, &mut out, bound).await
    else {
        return out;
    };
    let Some(creds) = server.credentials() else {
        return out;
    };

    let s = relay::echo_step(&mut turn, &alloc, &label, tr, cfg, &mut out).await;
    out.steps.push(sink.step(s).await);

    let (s, alive) = security::security(&mut turn, &mut alloc, server, remote, cfg, creds).await;
    out.steps.push(sink.step(s).await);
    if !alive {
        return out;
    }

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
        // Endpoints are checked while the servers are; the servers their Link headers name
        // are probed as part of them.
        let endpoints = futures_util::future::join_all(cfg.endpoints.iter().map(|e| async move {
            let (steps, linked) = whip::probe_endpoint(e, cfg, sink).await;
            (e.label(), steps, linked)
        }));
        // The direct call needs no server: it runs while the servers are probed.
        // With only WHIP/WHEP endpoints to check, the machine-wide steps (NAT behaviour,
        // gathering, the direct call) are left out.
        let servers_given = !cfg.servers.is_empty();
        let direct = async {
            if cfg.calls && servers_given {
                Some(sink.step(connect::direct_call(cfg).await).await)
            } else {
                None
            }
        };
        let (mut outcomes, direct, endpoints) =
            tokio::join!(futures_util::future::join_all(probes), direct, endpoints);
        let mut endpoint_steps = Vec::new();
        for (label, steps, linked) in endpoints {
            endpoint_steps.push((label, steps));
            outcomes.extend(linked);
        }
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
        let mut all = Vec::new();
        if servers_given {
            all.push(sink.step(nat::behaviour(cfg, &udp).await).await);
        }
        if cfg.calls && servers_given {
            all.push(sink.step(connect::gathering(cfg, &outcomes).await).await);
            all.extend(direct);
        }
        (outcomes, all, endpoint_steps)
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
    let (outcomes, all, endpoint_steps) = done.unwrap_or_default();
    let mut verdicts: Vec<ServerVerdict> = outcomes
        .iter()
        .map(|(s, o)| verdict(&s.label(), &o.steps))
        .collect();
    verdicts.extend(
        endpoint_steps
            .iter()
            .map(|(label, steps)| verdict(label, steps)),
    );
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
    use super::security::security_step;
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
