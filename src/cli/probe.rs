//! `rtccall probe` options and their validation into a [`ProbeConfig`].

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use clap::{Args, ValueEnum};

use crate::call::WhipKind;
use crate::exit::Error;
use crate::probe::servers::{self, Scheme};
use crate::probe::{Expect, ProbeConfig};

/// What `--expect` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExpectArg {
    /// Every TURN server yields a working relay (allocation and echo).
    Relay,
    /// Some server returns a server-reflexive (mapped) address.
    Srflx,
    /// Some server works over TCP.
    Tcp,
    /// Some server works over TLS.
    Tls,
}

/// Options of `rtccall probe`.
#[derive(Debug, Args)]
#[command(after_long_help = super::exit_codes_help())]
pub struct ProbeArgs {
    /// STUN or TURN server to check (repeatable): stun:HOST[:PORT],
    /// turn:HOST[:PORT][?transport=udp|tcp], turns:HOST[:PORT]; credentials in the URL as
    /// turn:USER:PASS@HOST or with --ice-username/--ice-credential.
    #[arg(long = "ice-server", value_name = "URL")]
    pub ice_servers: Vec<String>,

    /// A JSON iceServers array as a browser takes it ([{"urls":..,"username":..,"credential":..}]).
    #[arg(long, value_name = "FILE")]
    pub ice_config: Option<PathBuf>,

    #[command(flatten)]
    pub credentials: super::TurnCredentialArgs,

    /// A WHIP endpoint to check (repeatable): auth, its Link ICE servers (each probed), the
    /// POST and its answer, trickle PATCH, a session publishing the test pattern and a tone
    /// for --call-media, DELETE.
    #[arg(long, value_name = "URL")]
    pub whip: Vec<String>,

    /// A WHEP endpoint to check (repeatable): as --whip, playing for --call-media.
    #[arg(long, value_name = "URL")]
    pub whep: Vec<String>,

    /// Bearer token for --whip/--whep endpoints; with it the probe also checks that a POST
    /// without it is refused.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "RTCCALL_WHIP_TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,

    #[command(flatten)]
    pub turn: super::TurnSecretArgs,

    #[command(flatten)]
    pub trust: super::TrustArgs,

    /// Require this (repeatable): relay, srflx, tcp, tls. Exit 1 when it does not hold.
    #[arg(long, value_enum, value_name = "WHAT")]
    pub expect: Vec<ExpectArg>,

    /// Fail when a binding or relay round trip (p50) is over this many ms.
    #[arg(long, value_name = "MS")]
    pub max_rtt: Option<f64>,

    /// Bound on the whole probe, seconds.
    #[arg(long, value_name = "SECS", default_value_t = 20.0)]
    pub timeout: f64,

    /// Bound on each step, seconds.
    #[arg(long, value_name = "SECS", default_value_t = 3.0)]
    pub step_timeout: f64,

    /// Packets sent through each relay and echoed back.
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub echo_packets: u32,

    /// Skip the ICE gathering report and the in-process calls (direct and relay-only).
    #[arg(long)]
    pub no_call: bool,

    /// Each in-process call hangs up as soon as audio, video and a data channel echo have
    /// flowed both ways, or after this many seconds connected.
    #[arg(long, value_name = "SECS", default_value_t = 3.0)]
    pub call_media: f64,

    /// Also measure each in-process call's data channel: SECS of bulk data each way (reliable,
    /// ordered), so a TURN operator sees what the relay carries.
    #[arg(long, value_name = "SECS")]
    pub data_throughput: Option<f64>,

    /// Write an rtcstats dump of each side of each in-process call into DIR (made if
    /// missing): direct-dial.rtcstats, relay-HOST-PORT-answer.rtcstats, whip-...-publish.rtcstats.
    #[arg(long, value_name = "DIR")]
    pub stats_dump: Option<std::path::PathBuf>,

    /// Write the probe as JUnit XML to FILE when it ends: a testsuite per server (a testcase
    /// per step, failures with their explanation) and one for the verdict and --expect.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<std::path::PathBuf>,

    /// Local UDP address(es) for ICE gathering and the in-process calls (repeatable or
    /// comma-separated). 0.0.0.0:0 means every non-loopback interface.
    #[arg(
        long,
        value_name = "ADDR",
        env = "RTCCALL_BIND",
        value_delimiter = ',',
        default_value = "0.0.0.0:0,127.0.0.1:0"
    )]
    pub bind: Vec<std::net::SocketAddr>,

    /// After each TURN server's checks, keep its allocation, permission and channel alive this
    /// many seconds (refreshing every half lifetime, with a slow echo), to catch servers that
    /// break after the first lifetime or when REST credentials expire. Adds to --timeout.
    #[arg(long, value_name = "SECS")]
    pub hold: Option<f64>,

    /// After each TURN server's checks, load it with N concurrent clients, each with its own
    /// allocation, channel and echo peer, sending --rate packets of --size bytes a second
    /// for --duration seconds (a `load` step: allocations per second, failures by code,
    /// packets per second, Mbit/s, loss, RTT p50/p95/p99). Adds --duration to --timeout.
    #[arg(long, value_name = "N", requires = "duration")]
    pub load: Option<u32>,

    /// How long each --load client sends, seconds.
    #[arg(long, value_name = "SECS", requires = "load")]
    pub duration: Option<f64>,

    /// Packets per second per --load client.
    #[arg(long, value_name = "PPS", default_value_t = 50, requires = "load")]
    pub rate: u32,

    /// Bytes per --load packet.
    #[arg(long, value_name = "BYTES", default_value_t = 200, requires = "load")]
    pub size: usize,

    /// NDJSON on stdout: a `step` record per check, then a `summary`.
    #[arg(long)]
    pub json: bool,
}

fn usage(msg: impl Into<String>) -> Error {
    Error::usage(msg.into())
}

fn secs(name: &str, v: f64) -> Result<Duration, Error> {
    if !v.is_finite() || !(0.05..=3600.0).contains(&v) {
        return Err(usage(format!(
            "{name} must be between 0.05 and 3600 seconds, not {v}"
        )));
    }
    Ok(Duration::from_secs_f64(v))
}

/// The most of an `--ice-config` file read (an iceServers array is a few hundred bytes).
pub const ICE_CONFIG_LIMIT: u64 = 1 << 20;

/// The longest username a STUN message can carry (RFC 8489 14.3: under 509 bytes in RFC 5389,
/// 513 in RFC 8489).
pub const MAX_USERNAME: usize = 513;

/// Read an `--ice-config` file, at most [`ICE_CONFIG_LIMIT`] bytes (blocking: a FIFO without a
/// writer blocks in open, so run it where it can be abandoned).
pub fn read_ice_config(f: &std::path::Path) -> Result<String, Error> {
    let bytes = crate::argfile::read_arg_file(
        f,
        "--ice-config",
        ICE_CONFIG_LIMIT,
        "an iceServers array is a few hundred bytes",
    )?;
    String::from_utf8(bytes)
        .map_err(|_| usage(format!("--ice-config {}: not UTF-8 text", f.display())))
}

impl ProbeArgs {
    /// Resolve into a probe configuration: reads `--ice-config` and `--ca` (blocking).
    pub fn resolve(&self) -> Result<ProbeConfig, Error> {
        let ice_config = match &self.ice_config {
            Some(path) => Some(read_ice_config(path)?),
            None => None,
        };
        self.to_config(ice_config.as_deref())
    }

    /// Validate into a probe configuration; `ice_config` is the text of `--ice-config`, read
    /// beforehand with [`read_ice_config`] (reads `--ca`).
    pub fn to_config(&self, ice_config: Option<&str>) -> Result<ProbeConfig, Error> {
        let mut list = Vec::new();
        for u in &self.ice_servers {
            list.push(servers::parse_url(u, "--ice-server")?);
        }
        if let (Some(f), Some(text)) = (&self.ice_config, ice_config) {
            list.extend(servers::parse_ice_config(text, &f.display().to_string())?);
        }
        let mut endpoints = Vec::new();
        for (urls, kind, flag) in [
            (&self.whip, WhipKind::Publish, "--whip"),
            (&self.whep, WhipKind::Play, "--whep"),
        ] {
            for u in urls {
                let url = url::Url::parse(u)
                    .ok()
                    .filter(|p| matches!(p.scheme(), "http" | "https") && p.host().is_some())
                    .ok_or_else(|| {
                        usage(format!("{flag} {u:?} is not an http:// or https:// URL"))
                    })?;
                endpoints.push(crate::probe::whip::Endpoint { url, kind });
            }
        }
        if list.is_empty() && endpoints.is_empty() {
            return Err(usage(
                "nothing to probe: give --ice-server URL (repeatable), --ice-config FILE, \
                 --whip URL or --whep URL",
            ));
        }
        let t = &self.turn;
        let minted = t.turn_secret.as_ref().map(|secret| {
            crate::ice::rest_credentials(secret, &t.turn_user, t.ttl, SystemTime::now())
        });
        for s in &mut list {
            if s.scheme != Scheme::Turn || s.username.is_some() {
                continue;
            }
            if let Some((u, c)) = self.credentials.pair() {
                s.username = Some(u);
                s.credential = Some(c);
            } else if let Some((u, p)) = &minted {
                s.username = Some(u.clone());
                s.credential = Some(p.clone());
            }
        }
        for s in &list {
            if let Some(u) = &s.username
                && u.len() > MAX_USERNAME
            {
                return Err(usage(format!(
                    "the username for {} is {} bytes: a STUN USERNAME holds at most \
                     {MAX_USERNAME}",
                    s.label(),
                    u.len()
                )));
            }
        }
        if self.echo_packets == 0 || self.echo_packets > 10_000 {
            return Err(usage(format!(
                "--echo-packets must be between 1 and 10000, not {}",
                self.echo_packets
            )));
        }
        if let Some(m) = self.max_rtt
            && !(m.is_finite() && m > 0.0)
        {
            return Err(usage(format!(
                "--max-rtt must be a positive number, not {m}"
            )));
        }
        let hold = match self.hold {
            Some(h) => Some(secs("--hold", h)?),
            None => None,
        };
        let load = match (self.load, self.duration) {
            (Some(n), Some(d)) => {
                if !(1..=1000).contains(&n) {
                    return Err(usage(format!("--load must be between 1 and 1000, not {n}")));
                }
                if !(1..=1000).contains(&self.rate) {
                    return Err(usage(format!(
                        "--rate must be between 1 and 1000 packets a second, not {}",
                        self.rate
                    )));
                }
                if !(crate::probe::load::MIN_SIZE..=1200).contains(&self.size) {
                    return Err(usage(format!(
                        "--size must be between {} and 1200 bytes, not {}",
                        crate::probe::load::MIN_SIZE,
                        self.size
                    )));
                }
                Some(crate::probe::load::LoadConfig {
                    clients: n,
                    duration: secs("--duration", d)?,
                    rate_pps: self.rate,
                    size: self.size,
                })
            }
            _ => None,
        };
        // The load's clients allocate, send for --duration and wait out their echoes.
        let load_time = load
            .map(|l| l.duration + Duration::from_secs(5))
            .unwrap_or_default();
        let timeout = secs("--timeout", self.timeout)? + hold.unwrap_or_default() + load_time;
        let step_timeout = secs("--step-timeout", self.step_timeout)?;
        let tls = self.trust.setup()?;
        let mut expect: Vec<Expect> = Vec::new();
        for e in &self.expect {
            let e = match e {
                ExpectArg::Relay => Expect::Relay,
                ExpectArg::Srflx => Expect::Srflx,
                ExpectArg::Tcp => Expect::Tcp,
                ExpectArg::Tls => Expect::Tls,
            };
            if !expect.contains(&e) {
                expect.push(e);
            }
        }
        Ok(ProbeConfig {
            servers: list,
            tls,
            expect,
            max_rtt_ms: self.max_rtt,
            timeout,
            step_timeout,
            echo_packets: self.echo_packets,
            bind: self.bind.clone(),
            calls: !self.no_call,
            call_media: secs("--call-media", self.call_media)?,
            stats_dump: match &self.stats_dump {
                None => None,
                Some(d) => {
                    std::fs::create_dir_all(d).map_err(|e| {
                        Error::usage(format!("--stats-dump {}: cannot make it: {e}", d.display()))
                    })?;
                    Some(d.clone())
                }
            },
            junit: self.junit.clone(),
            data_throughput: match self.data_throughput {
                None => None,
                Some(v) if v.is_finite() && v > 0.0 && v <= 60.0 => {
                    Some(Duration::from_secs_f64(v))
                }
                Some(v) => {
                    return Err(Error::usage(format!(
                        "--data-throughput must be more than 0 and at most 60 seconds, not {v}"
                    )));
                }
            },
            hold,
            load,
            releases: Default::default(),
            endpoints,
            whip_token: self.token.clone().filter(|t| !t.is_empty()),
        })
    }
}
