//! The probe's end-to-end checks through webrtc-rs: the ICE gathering report (every candidate
//! with its server) and in-process calls between two peers over the same driver as
//! `dial`/`answer` (a signaling server on loopback, tone and test pattern both ways), once
//! direct and once relay-only through each UDP TURN server.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::servers::{Scheme, Server, Transport};
use super::{Outcome, ProbeConfig, Timer};
use crate::call::peer::{self, IceServer, PeerSetup};
use crate::call::{self, AcceptPolicy, CallConfig, Events, Place, RoomConfig};
use crate::media::{AudioSource, MediaConfig, Speaker, VideoCodec, VideoFormat, VideoSource};
use crate::report::probe_schema::{CallCheck, GatheredCandidate, Status, Step};
use crate::report::schema::{Record, Summary};
use crate::signal::{Role, Server as SignalServer};

/// The servers as webrtc-rs takes them: STUN, and TURN over UDP with credentials (webrtc-rs
/// 0.21 skips TURN over TCP and TLS).
pub fn ice_servers(servers: &[Server]) -> Vec<IceServer> {
    servers
        .iter()
        // TURN over TCP and TLS too: calls bridge them (see `call::bridge`).
        .filter(|s| s.transport == Transport::Udp || s.scheme == Scheme::Turn)
        .filter(|s| s.scheme == Scheme::Stun || s.credentials().is_some())
        .map(|s| IceServer {
            urls: vec![if s.transport == Transport::Udp {
                s.ice_url()
            } else {
                s.label()
            }],
            username: s.username.clone(),
            credential: s.credential.clone(),
        })
        .collect()
}

/// What the probe's calls send: a 440 Hz tone and a small VP8 test pattern; nothing played.
pub(super) fn media() -> MediaConfig {
    MediaConfig {
        audio: AudioSource::Tone {
            frequency_hz: 440.0,
        },
        video: VideoSource::TestSrc,
        format: VideoFormat {
            width: 320,
            height: 240,
            fps: 15,
            bitrate_bps: 300_000,
            codec: VideoCodec::Vp8,
        },
        speaker: Speaker::Off,
        record: None,
        shared: None,
        decode: true,
        controls: Default::default(),
    }
}

/// The peer of a probe call: the probe's sockets, these ICE servers.
pub(super) fn setup(cfg: &ProbeConfig, ice: Vec<IceServer>, relay_only: bool) -> PeerSetup {
    PeerSetup {
        ice_servers: ice,
        relay_only,
        udp_bind: cfg.bind.clone(),
        tcp_bind: Vec::new(),
        impair: None,
        data_channel: true,
        restart_ice_after: None,
    }
}

/// Gather with every server and list the candidates, capped at the step bound; `outcomes`
/// tell which TURN servers gave our own client a working relay.
pub async fn gathering(cfg: &ProbeConfig, outcomes: &[(Server, Outcome)]) -> Step {
    let t = Timer::new("*", "ice-gathering", None);
    let mut ice = ice_servers(&cfg.servers);
    // Held until gathering is over: webrtc-rs reaches TCP/TLS TURN servers through them.
    let mut bridges = crate::call::bridge::Bridges::default();
    for s in ice.iter_mut() {
        for u in s.urls.iter_mut() {
            match bridges.route(u, Some(&cfg.tls)).await {
                Ok(r) => *u = r,
                Err(e) => return t.fail("gathering could not start", e.to_string()),
            }
        }
    }
    let recent = cfg.releases.recent();
    let mut gathered = peer::gather(&setup(cfg, ice.clone(), false), cfg.step_timeout).await;
    cfg.releases.mark();
    // A relay missing right after our own allocations were given back may be a quota they
    // still count against: gather again once they no longer do.
    let relays = |r: &peer::GatherReport| {
        r.candidates
            .iter()
            .filter(|c| c.candidate_type == "relay")
            .count()
    };
    let wanted = outcomes
        .iter()
        .filter(|(s, o)| s.scheme == Scheme::Turn && o.relay_ok)
        .count();
    if recent && matches!(&gathered, Ok(r) if relays(r) < wanted) {
        cfg.releases.settle().await;
        gathered = peer::gather(&setup(cfg, ice, false), cfg.step_timeout).await;
        cfg.releases.mark();
    }
    let report = match gathered {
        Ok(r) => r,
        Err(e) => return t.fail("gathering could not start", e.to_string()),
    };
    let count = |typ: &str| {
        report
            .candidates
            .iter()
            .filter(|c| c.candidate_type == typ)
            .count()
    };
    let mut s = t.done(
        Status::Pass,
        format!(
            "{} candidate{} ({} host, {} srflx, {} relay){}",
            report.candidates.len(),
            if report.candidates.len() == 1 {
                ""
            } else {
                "s"
            },
            count("host"),
            count("srflx"),
            count("relay"),
            match report.complete_ms {
                Some(ms) => format!(", complete after {ms} ms"),
                None => String::new(),
            }
        ),
    );
    let mut problems = Vec::new();
    if report.complete_ms.is_none() {
        problems.push(format!(
            "gathering did not complete within {:?}: a server that does not answer holds it up \
             (browsers wait too)",
            cfg.step_timeout
        ));
    }
    // A TURN server whose relay our own client got, but webrtc-rs did not (candidates name
    // their server only when webrtc-rs fills in `url`).
    for (s, o) in outcomes {
        if s.scheme != Scheme::Turn || !o.relay_ok {
            continue;
        }
        let host_port = format!("{}:{}", s.host, s.port);
        let has_relay = report.candidates.iter().any(|c| {
            c.candidate_type == "relay" && c.url.as_deref().is_none_or(|u| u.contains(&host_port))
        });
        if !has_relay {
            // Ask the server now, with the same credentials, what it says to an allocation.
            cfg.releases.settle().await;
            let now = match o.remote {
                Some(remote) => super::allocations_now(s, remote, cfg, 1).await,
                None => Vec::new(),
            };
            problems.push(match now.first() {
                Some(Err(r)) => format!(
                    "no relay candidate from {}: an allocation with the same credentials is now \
                     refused: {}",
                    s.label(),
                    r.explain(s)
                ),
                _ => format!(
                    "no relay candidate from {} although its allocation works (and worked again \
                     just now with our own client)",
                    s.label()
                ),
            });
        }
    }
    problems.extend(report.errors.iter().cloned());
    if !problems.is_empty() {
        s.status = Status::Warn;
        s.explanation = Some(problems.join("; "));
    }
    s.first_candidate_ms = report.first_ms;
    s.gathering_complete_ms = report.complete_ms;
    s.candidates = Some(
        report
            .candidates
            .into_iter()
            .map(|c| GatheredCandidate {
                ms: c.ms,
                component: c.component,
                candidate_type: c.candidate_type,
                protocol: c.protocol,
                address: c.address,
                port: c.port,
                priority: c.priority,
                related_address: c.related_address,
                related_port: c.related_port,
                url: c.url,
            })
            .collect(),
    );
    s
}

/// `--stats-dump DIR`: where one side of a probe call is dumped (`NAME-ROLE.rtcstats`, the name
/// kept to letters, digits, `.` and `-`).
pub(super) fn dump_path(cfg: &ProbeConfig, name: &str, role: &str) -> Option<std::path::PathBuf> {
    let dir = cfg.stats_dump.as_ref()?;
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    Some(dir.join(format!("{safe}-{role}.rtcstats")))
}

/// A two-peer call in this process through a signaling server on loopback.
async fn two_peers(
    cfg: &ProbeConfig,
    ice: Vec<IceServer>,
    relay_only: bool,
    room: &str,
    dump_name: &str,
) -> Result<(Summary, Summary), String> {
    let loopback: SocketAddr = "127.0.0.1:0".parse().expect("literal");
    let server = SignalServer::bind(loopback)
        .await
        .map_err(|e| format!("cannot start a signaling server on loopback: {e}"))?;
    let url = server.url();
    let stop = CancellationToken::new();
    let serving = tokio::spawn(server.run(stop.clone()));
    let answer = CallConfig {
        role: Role::Answer,
        place: Place::Room(RoomConfig {
            server: url,
            name: room.to_string(),
            token: None,
            embed_server: false,
        }),
        tls: Some(cfg.tls.clone()),
        timeout: cfg.step_timeout.max(Duration::from_secs(5)),
        // With a throughput test the dialer hangs up when it is done (data-done).
        duration: match cfg.data_throughput {
            None => Some(cfg.call_media),
            Some(_) => None,
        },
        accept: AcceptPolicy::Auto,
        peer: setup(cfg, ice, relay_only),
        media: media(),
        stats_interval: Duration::from_millis(40),
        stats_dump: dump_path(cfg, dump_name, "answer"),
        data: Default::default(),
        stdin_terminal: false,
        expect: Vec::new(),
        junit: None,
    };
    let dial = CallConfig {
        role: Role::Dial,
        stats_dump: dump_path(cfg, dump_name, "dial"),
        data: crate::data::DataConfig {
            throughput: cfg.data_throughput,
            ..Default::default()
        },
        ..answer.clone()
    };
    let start = Instant::now();
    // Each side's latest stats; the call ends as soon as audio, video and the data channel
    // echo have flowed both ways (at most --call-media after connecting).
    let (seen_tx, mut seen_rx) = tokio::sync::watch::channel((false, false));
    let events = |dialer: bool| {
        let (tx, mut rx) = mpsc::channel(256);
        let seen_tx = seen_tx.clone();
        tokio::spawn(async move {
            while let Some(r) = rx.recv().await {
                if let Record::Stats { stats, .. } = r {
                    let flowed = stats.audio.packets_received > 0
                        && stats.video.frames_decoded > 0
                        && (!dialer || stats.data.echoes_received > 0);
                    if flowed {
                        seen_tx.send_modify(|s| if dialer { s.0 = true } else { s.1 = true });
                    }
                }
            }
        });
        Events::new(tx, start)
    };
    let (ae, de) = (events(false), events(true));
    let cancel = CancellationToken::new();
    let hang_up = cancel.clone();
    // Without a throughput test, hang up once everything flowed; with one, when it is done,
    // and in any case after both phases, the media check and a margin.
    let measuring = cfg.data_throughput;
    let watcher = tokio::spawn(async move {
        match measuring {
            None => {
                if seen_rx.wait_for(|(d, a)| *d && *a).await.is_ok() {
                    hang_up.cancel();
                }
            }
            Some(secs) => {
                tokio::time::sleep(secs * 2 + Duration::from_secs(15)).await;
                hang_up.cancel();
            }
        }
    });
    let (a, d) = tokio::join!(
        call::run(&answer, &ae, cancel.clone(), None),
        call::run(&dial, &de, cancel.clone(), None)
    );
    watcher.abort();
    stop.cancel();
    let _ = serving.await;
    Ok((d, a))
}

/// The `call-direct` step: two local peers without any server.
pub async fn direct_call(cfg: &ProbeConfig) -> Step {
    call_check(cfg, None, Timer::new("*", "call-direct", None)).await
}

/// The `call-relay` step of TURN server `s`, whose own checks ended with `o`: a relay-only
/// call when webrtc-rs can use this relay, else why not.
pub async fn relay_call(cfg: &ProbeConfig, s: &Server, o: &Outcome) -> Step {
    let t = Timer::new(&s.label(), "call-relay", Some(s.transport));
    if o.ipv6_only_relay {
        t.done(
            Status::Skip,
            "not tried: webrtc-rs asks for IPv4 relays, which this server refuses",
        )
    } else if !o.relay_ok {
        t.done(Status::Skip, "not tried: the relay does not work")
    } else {
        let Some(remote) = o.remote else {
            return t.done(Status::Skip, "not tried: the server's address is unknown");
        };
        let recent = cfg.releases.recent();
        let mut step = call_check(cfg, Some(s), t.clone()).await;
        cfg.releases.mark();
        if recent && step.status == Status::Fail && step.message == NOT_CONNECTED {
            // Our own allocations, given back just before, may have counted against a quota
            // the call's peers met: once they no longer do, the call gets its chance again.
            cfg.releases.settle().await;
            step = call_check(cfg, Some(s), t).await;
            cfg.releases.mark();
        }
        if step.status == Status::Fail && o.send_indications_only {
            // The echo already found why: say that rather than guess at firewalls.
            step.explanation = Some(
                "the relay drops ChannelData (relay-echo: only Send indications came back), \
                 and webrtc-rs, like browsers, sends media as ChannelData once a channel is \
                 bound: fix the relay (or what is in front of it) to pass ChannelData"
                    .into(),
            );
        } else if step.status == Status::Fail {
            // What did the server say to the call's allocations? Each peer allocates its own
            // relay: ask for two at once with the same credentials, as they did.
            cfg.releases.settle().await;
            let now = super::allocations_now(s, remote, cfg, 2).await;
            if let Some((i, Err(r))) = now.iter().enumerate().find(|(_, r)| r.is_err()) {
                step.explanation = Some(format!(
                    "the server refuses the call's allocations: a call needs two with these \
                     credentials at once (one per peer), and the {} our own client asked for \
                     right after got {}",
                    if i == 0 { "first" } else { "second" },
                    r.explain(s)
                ));
                step.error_code = r.code();
            }
        }
        step
    }
}

/// What a call step says when its peers did not connect.
const NOT_CONNECTED: &str = "the call did not connect";

/// A call: `server` None is the direct call, Some the relay-only call through that TURN server.
async fn call_check(cfg: &ProbeConfig, server: Option<&Server>, t: Timer) -> Step {
    let (ice, relay_only) = match server {
        Some(s) => (ice_servers(std::slice::from_ref(s)), true),
        None => (Vec::new(), false),
    };
    let room = format!("probe-{}", std::process::id());
    let dump_name = match server {
        Some(s) => format!("relay-{}", s.label()),
        None => "direct".to_string(),
    };
    let (d, a) = match two_peers(cfg, ice, relay_only, &room, &dump_name).await {
        Ok(v) => v,
        Err(e) => return t.fail("the call could not start", e),
    };
    let check = CallCheck {
        ice_connected_ms: d.timings_ms.ice_connected,
        connected_ms: d.timings_ms.dtls_connected,
        selected_pair: d.selected_pair.clone(),
        audio_packets_received: d.audio.packets_received.min(a.audio.packets_received),
        video_frames_decoded: d.video.frames_decoded.min(a.video.frames_decoded),
        data_sent: d.data.pings_sent,
        data_echoed: d.data.echoes_received,
        data_send_mbit_s: d.data.throughput.as_ref().and_then(|t| t.send_mbit_s),
        data_receive_mbit_s: d.data.throughput.as_ref().and_then(|t| t.receive_mbit_s),
    };
    let pair = check
        .selected_pair
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default();
    let mut s = if !(d.connected && a.connected) {
        let why = d.error.clone().or(a.error.clone()).unwrap_or_default();
        t.fail(
            NOT_CONNECTED,
            match server {
                Some(_) => format!(
                    "two peers forced through this relay could not connect ({why}); the server \
                     grants the two allocations a call needs (our own client got them right \
                     after), so look at relay ports blocked by a firewall or a relay address \
                     peers cannot reach"
                ),
                None => format!("two local peers could not connect ({why})"),
            },
        )
    } else if check.audio_packets_received == 0 || check.video_frames_decoded == 0 {
        t.fail(
            format!("connected ({pair}) but media did not flow both ways"),
            "audio or video did not arrive on one side: something drops media after ICE \
             (a relay that forwards STUN but not data?)",
        )
    } else if check.data_echoed == 0 {
        t.fail(
            format!("connected ({pair}), media flows, but the data channel echo did not"),
            format!(
                "{} data channel pings were sent and none came back: SCTP over DTLS did not \
                 come up",
                check.data_sent
            ),
        )
    } else if cfg.data_throughput.is_some()
        && (check.data_send_mbit_s.is_none() || check.data_receive_mbit_s.is_none())
    {
        t.fail(
            format!("connected ({pair}), media flows, but the data throughput test did not finish"),
            d.data
                .errors
                .first()
                .cloned()
                .unwrap_or_else(|| "the bulk transfer on the data channel stopped".into()),
        )
    } else if server.is_some()
        && check
            .selected_pair
            .as_ref()
            .is_some_and(|p| p.local.candidate_type != "relay")
    {
        t.fail(
            format!("connected, but not through the relay ({pair})"),
            "the selected pair is not a relay pair although only relay candidates were allowed",
        )
    } else {
        t.done(
            Status::Pass,
            format!(
                "connected in {} ms ({pair}), media both ways ({} audio packets, {} video \
                 frames), data channel echo {}/{}",
                check.connected_ms.unwrap_or(0.0),
                check.audio_packets_received,
                check.video_frames_decoded,
                check.data_echoed,
                check.data_sent
            ) + &match (check.data_send_mbit_s, check.data_receive_mbit_s) {
                (Some(up), Some(down)) => {
                    format!(", data channel {up} Mbit/s out and {down} Mbit/s back")
                }
                _ => String::new(),
            },
        )
    };
    s.call = Some(check);
    s
}
