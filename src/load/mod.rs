//! `rtccall load`: many calls in one process — both ends of each, or one side when two
//! machines share the work — spread over signaling servers, started at a rate, held for a
//! duration, and measured: set-up by phase, media per call, and what the process itself spent.

pub mod proc;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::call::peer::PeerSetup;
use crate::call::{AcceptPolicy, Call, CallConfig, Place, RoomConfig};
use crate::exit;
use crate::expect::Expect;
use crate::media::shared::Encoders;
use crate::media::{AudioSource, MediaConfig, Speaker, VideoFormat, VideoSource};
use crate::report::load_schema::{
    Failure, LoadCall, LoadProgress, LoadRecord, LoadSummary, Spread,
};
use crate::report::schema::{ConnState, Expectation, IceState, Record, SignalingEvent};
use crate::signal::Role;
use crate::signal::protocol::Token;
use crate::tls::TlsSetup;

/// Which ends of each call this process holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sides {
    Both,
    Dial,
    Answer,
}

/// What each call sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadMedia {
    Audio,
    Video,
    Both,
    None,
}

impl LoadMedia {
    fn audio(self) -> bool {
        matches!(self, LoadMedia::Audio | LoadMedia::Both)
    }

    fn video(self) -> bool {
        matches!(self, LoadMedia::Video | LoadMedia::Both)
    }
}

/// A load, validated.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// Signaling servers; call i goes to server i mod their number.
    pub servers: Vec<String>,
    pub token: Option<Token>,
    /// The servers' secret: each side mints a token for its room and role.
    pub secret: Option<String>,
    pub tls: Option<TlsSetup>,
    pub calls: u32,
    /// Calls started per second.
    pub rate: f64,
    /// How long each call is held once connected.
    pub duration: Duration,
    /// How long a side waits for its peer, and then to connect.
    pub timeout: Duration,
    pub sides: Sides,
    /// Rooms are PREFIX-0 .. PREFIX-(N-1).
    pub room_prefix: String,
    pub media: LoadMedia,
    pub format: VideoFormat,
    /// Decode the media of one call in this many (the others check and count it).
    pub decode_every: u32,
    pub peer: PeerSetup,
    pub data_throughput: Option<Duration>,
    pub expect: Vec<Expect>,
    pub stats_interval: Duration,
}

impl LoadConfig {
    fn room(&self, i: u32) -> String {
        format!("{}-{i}", self.room_prefix)
    }

    /// The server a side of call `i` uses: the dialer's is server i mod n, the answerer's the
    /// next one, so that with several servers (sharing rooms through Redis) every call
    /// crosses from one to another.
    fn server(&self, i: u32, role: Role) -> &str {
        let shift = usize::from(role == Role::Answer);
        &self.servers[(i as usize + shift) % self.servers.len()]
    }

    fn decodes(&self, i: u32) -> bool {
        self.decode_every > 0 && i % self.decode_every == 0
    }

    /// The config of one side of call `i`.
    fn call_config(&self, i: u32, role: Role, encoders: &Encoders) -> CallConfig {
        CallConfig {
            role,
            place: Place::Room(RoomConfig {
                server: self.server(i, role).to_string(),
                name: self.room(i),
                token: match &self.secret {
                    Some(secret) => Some(Token(crate::signal::auth::mint(
                        secret,
                        &self.room(i),
                        // Minted as the call starts: it must outlive the wait, the set-up
                        // and the hold (a rejoin after a signaling blip shows it again).
                        self.duration + self.timeout * 2 + Duration::from_secs(60),
                        Some(role),
                        std::time::SystemTime::now(),
                    ))),
                    None => self.token.clone(),
                },
                embed_server: false,
            }),
            tls: self.tls.clone(),
            timeout: self.timeout,
            // The dialer hangs up after the hold; the answerer follows its bye (and stops at
            // the same time if it never comes).
            duration: Some(match role {
                Role::Dial => self.duration,
                Role::Answer => self.duration + self.timeout,
            }),
            accept: AcceptPolicy::Auto,
            peer: self.peer.clone(),
            media: MediaConfig {
                audio: if self.media.audio() {
                    AudioSource::Tone {
                        frequency_hz: if role == Role::Dial { 440.0 } else { 660.0 },
                    }
                } else {
                    AudioSource::None
                },
                video: if self.media.video() {
                    VideoSource::TestSrc
                } else {
                    VideoSource::None
                },
                format: self.format.clone(),
                speaker: Speaker::Off,
                record: None,
                shared: Some(encoders.clone()),
                decode: self.decodes(i),
                controls: Default::default(),
            },
            stats_interval: self.stats_interval,
            stats_dump: None,
            data: crate::data::DataConfig {
                throughput: if role == Role::Dial {
                    self.data_throughput
                } else {
                    None
                },
                ..Default::default()
            },
            stdin_terminal: false,
            expect: self.expect.clone(),
            junit: None,
        }
    }

    fn roles(&self) -> Vec<Role> {
        match self.sides {
            Sides::Both => vec![Role::Answer, Role::Dial],
            Sides::Dial => vec![Role::Dial],
            Sides::Answer => vec![Role::Answer],
        }
    }
}

/// Where a side is now, for the progress line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum State {
    #[default]
    Connecting,
    Connected,
    Ended,
    Failed,
}

/// One side as it runs: its state and last second's figures.
#[derive(Debug, Default)]
struct Live {
    state: State,
    in_kbps: f64,
    out_kbps: f64,
    /// Received packets lost so far, %.
    loss_pct: f64,
}

/// The phase a side is in, as its records tell.
fn phase_after(phase: &'static str, r: &Record) -> &'static str {
    match r {
        Record::Signaling {
            event: SignalingEvent::AnswerSent | SignalingEvent::AnswerReceived,
            ..
        } if phase == "signaling" => "ice",
        Record::IceState {
            state: IceState::Connected | IceState::Completed,
            ..
        } if matches!(phase, "signaling" | "ice") => "dtls",
        Record::ConnectionState {
            state: ConnState::Connected,
            ..
        } => "media",
        _ => phase,
    }
}

/// A reason without what differs from call to call (room names, numbers), so that failures
/// group.
fn reason_class(reason: &str, room: &str) -> String {
    let text = reason.replace(room, "ROOM");
    let mut out = String::with_capacity(text.len());
    let mut in_number = false;
    for c in text.chars() {
        if c.is_ascii_digit() {
            if !in_number {
                out.push('N');
            }
            in_number = true;
        } else {
            in_number = false;
            out.push(c);
        }
    }
    out.chars().take(160).collect()
}

/// Follow one side's records until its summary; `None` when the runtime went down under it.
async fn watch(
    i: u32,
    cfg: Arc<LoadConfig>,
    role: Role,
    call: Call,
    mut rx: mpsc::Receiver<Record>,
    live: Arc<Mutex<Live>>,
) -> Option<LoadCall> {
    let mut phase = "signaling";
    let (mut in_sum, mut out_sum, mut intervals) = (0.0, 0.0, 0u32);
    let mut jitters: Vec<f64> = Vec::new();
    let mut summary = None;
    while let Some(r) = rx.recv().await {
        phase = phase_after(phase, &r);
        match &r {
            Record::ConnectionState {
                state: ConnState::Connected,
                ..
            } => lock(&live).state = State::Connected,
            Record::Stats { stats, .. } => {
                let mut l = lock(&live);
                l.in_kbps = stats.bitrate_in_kbps;
                l.out_kbps = stats.bitrate_out_kbps;
                l.loss_pct = stats.loss_pct;
                if stats.bitrate_in_kbps > 0.0 || intervals > 0 {
                    in_sum += stats.bitrate_in_kbps;
                    out_sum += stats.bitrate_out_kbps;
                    intervals += 1;
                }
                let worst = stats
                    .audio
                    .jitter_ms
                    .into_iter()
                    .chain(stats.video.jitter_ms);
                if let Some(j) = worst.reduce(f64::max) {
                    jitters.push(j);
                }
            }
            Record::Summary(s) => summary = Some(s.clone()),
            _ => {}
        }
    }
    let s = match summary {
        Some(s) => s,
        None => call.wait().await?,
    };
    let room = cfg.room(i);
    let mut failed = None;
    let mut reason = s.error.clone();
    if s.exit_code != exit::OK && s.exit_code != exit::EXPECTATION_FAILED {
        failed = Some(if s.connected { "media" } else { phase });
    } else if s.connected {
        let missing: Vec<&str> = [
            (
                cfg.media.audio() && s.timings_ms.first_audio.is_none(),
                "audio",
            ),
            (
                cfg.media.video() && s.timings_ms.first_video_frame.is_none(),
                "video",
            ),
        ]
        .into_iter()
        .filter_map(|(m, k)| m.then_some(k))
        .collect();
        if !missing.is_empty() {
            failed = Some("media");
            reason = Some(format!("no {} arrived", missing.join(" or ")));
        }
    }
    lock(&live).state = if failed.is_some() {
        State::Failed
    } else {
        State::Ended
    };
    let (lost, sent) = s.packets_lost_of_sent();
    let fps = s
        .secs_from_first_video()
        .map(|secs| ((s.video.frames_decoded as f64 / secs.max(1e-3)) * 10.0).round() / 10.0);
    let mean = |sum: f64| {
        if intervals == 0 {
            0.0
        } else {
            (sum / f64::from(intervals) * 10.0).round() / 10.0
        }
    };
    Some(LoadCall {
        call: i,
        room: room.clone(),
        role: role.as_str().to_string(),
        server: cfg.server(i, role).to_string(),
        decoded: cfg.decodes(i),
        connected: s.connected,
        reached: if failed.is_none() && s.connected {
            "media".into()
        } else {
            failed.unwrap_or(phase).into()
        },
        failed: failed.map(str::to_string),
        reason: failed.and(reason.map(|r| reason_class(&r, &room))),
        ice_connected_ms: s.timings_ms.ice_connected,
        dtls_connected_ms: s.timings_ms.dtls_connected,
        first_audio_ms: s.timings_ms.first_audio,
        first_video_ms: s.timings_ms.first_video_frame,
        duration_s: s.duration_s,
        bitrate_in_kbps: mean(in_sum),
        bitrate_out_kbps: mean(out_sum),
        loss_pct: if sent > 0 {
            (lost as f64 * 10000.0 / sent as f64).round() / 100.0
        } else {
            0.0
        },
        jitter_ms: Spread::of(&jitters).map(|j| j.p50),
        rtt_ms: s.selected_pair.as_ref().and_then(|p| p.rtt_ms),
        audio_ms: s.audio.decoded_ms,
        video_frames: s.video.frames_decoded,
        fps,
        freezes: s.video.freezes,
        latency_ms: s.video.latency_ms.clone().or(s.audio.latency_ms.clone()),
        expectations: s.expectations.clone(),
        exit_code: s.exit_code,
    })
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Run the load: start the calls at the configured rate, report progress every second and each
/// side as it ends, and sum it all up. `cancel` (Ctrl-C) hangs up every call.
pub async fn run(
    cfg: LoadConfig,
    out: mpsc::Sender<LoadRecord>,
    cancel: CancellationToken,
) -> LoadSummary {
    let cfg = Arc::new(cfg);
    let begin = Instant::now();
    let encoders = Encoders::new();
    let lives: Arc<Mutex<Vec<Arc<Mutex<Live>>>>> = Default::default();
    let started = Arc::new(AtomicU32::new(0));
    // Each side's outcome as it ends; the channel closes when the last side and the starter
    // are done.
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<LoadCall>();

    // Start the calls, one every 1/rate s.
    {
        let (cfg, lives, started, cancel) =
            (cfg.clone(), lives.clone(), started.clone(), cancel.clone());
        let encoders = encoders.clone();
        tokio::spawn(async move {
            for i in 0..cfg.calls {
                let at = begin + Duration::from_secs_f64(f64::from(i) / cfg.rate);
                tokio::select! {
                    _ = cancel.cancelled() => break,
                    _ = tokio::time::sleep_until(at.into()) => {}
                }
                for role in cfg.roles() {
                    let live = Arc::new(Mutex::new(Live::default()));
                    lock(&lives).push(live.clone());
                    let (call, rx) =
                        Call::start(cfg.call_config(i, role, &encoders), None, &cancel, None);
                    let (cfg, done) = (cfg.clone(), done_tx.clone());
                    tokio::spawn(async move {
                        if let Some(c) = watch(i, cfg, role, call, rx, live).await {
                            let _ = done.send(c);
                        }
                    });
                }
                started.fetch_add(1, Ordering::Relaxed);
            }
        });
    }

    // Progress every second, and the process's CPU while the most sides are connected at once.
    let mut cpu = proc::CpuClock::start();
    let mut busiest: (usize, Vec<f64>) = (0, Vec::new());
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    let mut ended: Vec<LoadCall> = Vec::new();
    loop {
        tokio::select! {
            c = done_rx.recv() => match c {
                Some(c) => {
                    let _ = out.send(LoadRecord::LoadCall(c.clone())).await;
                    ended.push(c);
                }
                None => break,
            },
            _ = tick.tick() => {
                let p = progress(begin, &lives, started.load(Ordering::Relaxed));
                let share = cpu.lap();
                let connected = p.connected as usize;
                if connected > busiest.0 {
                    busiest = (connected, Vec::new());
                }
                if connected == busiest.0 && connected > 0 {
                    busiest.1.push(share);
                }
                let _ = out.send(LoadRecord::LoadProgress(p)).await;
            }
        }
    }
    let mut s = summarize(&cfg, &ended, started.load(Ordering::Relaxed), begin);
    s.cpu_pct = if busiest.1.is_empty() {
        cpu.overall()
    } else {
        (busiest.1.iter().sum::<f64>() / busiest.1.len() as f64 * 10.0).round() / 10.0
    };
    s.rss_mib = proc::peak_rss_mib();
    let per = f64::from(s.connected.max(1));
    s.cpu_pct_per_call = (s.cpu_pct / per * 100.0).round() / 100.0;
    s.rss_mib_per_call = (s.rss_mib / per * 100.0).round() / 100.0;
    if cancel.is_cancelled() && s.exit_code == exit::OK {
        s.exit_code = exit::INTERRUPTED;
    }
    s
}

/// The progress line's figures now.
fn progress(begin: Instant, lives: &Mutex<Vec<Arc<Mutex<Live>>>>, started: u32) -> LoadProgress {
    let mut p = LoadProgress {
        ms: (begin.elapsed().as_secs_f64() * 10_000.0).round() / 10.0,
        started,
        ..Default::default()
    };
    let mut losses = Vec::new();
    for l in lock(lives).iter() {
        let l = lock(l);
        match l.state {
            State::Connecting => p.connecting += 1,
            State::Connected => {
                p.connected += 1;
                p.bitrate_in_mbit_s += l.in_kbps / 1000.0;
                p.bitrate_out_mbit_s += l.out_kbps / 1000.0;
                losses.push(l.loss_pct);
            }
            State::Ended => p.ended += 1,
            State::Failed => p.failed += 1,
        }
    }
    let r = |v: f64| (v * 100.0).round() / 100.0;
    p.bitrate_in_mbit_s = r(p.bitrate_in_mbit_s);
    p.bitrate_out_mbit_s = r(p.bitrate_out_mbit_s);
    if !losses.is_empty() {
        p.loss_pct = r(losses.iter().sum::<f64>() / losses.len() as f64);
    }
    p
}

/// The summary of every side that ended.
pub fn summarize(
    cfg: &LoadConfig,
    sides: &[LoadCall],
    started: u32,
    begin: Instant,
) -> LoadSummary {
    let spread = |f: &dyn Fn(&LoadCall) -> Option<f64>| {
        Spread::of(&sides.iter().filter_map(f).collect::<Vec<f64>>())
    };
    // A call is connected when each of its sides here is, failed when one of them failed.
    let mut by_call: std::collections::BTreeMap<u32, Vec<&LoadCall>> = Default::default();
    for s in sides {
        by_call.entry(s.call).or_default().push(s);
    }
    let per_call = cfg.roles().len();
    let connected = by_call
        .values()
        .filter(|v| v.len() == per_call && v.iter().all(|s| s.connected && s.failed.is_none()))
        .count() as u32;
    let mut failures: Vec<Failure> = Vec::new();
    let mut failed_calls = 0;
    for v in by_call.values() {
        // The earliest phase any side failed in names the call's failure.
        let order = ["signaling", "ice", "dtls", "media"];
        let worst = v
            .iter()
            .filter_map(|s| s.failed.as_deref().map(|f| (f, s)))
            .min_by_key(|(f, _)| order.iter().position(|o| o == f));
        if let Some((phase, s)) = worst {
            failed_calls += 1;
            let reason = s.reason.clone().unwrap_or_else(|| "unknown".into());
            match failures
                .iter_mut()
                .find(|f| f.phase == phase && f.reason == reason)
            {
                Some(f) => f.calls += 1,
                None => failures.push(Failure {
                    phase: phase.to_string(),
                    reason,
                    calls: 1,
                }),
            }
        }
    }
    failures.sort_by_key(|f| std::cmp::Reverse(f.calls));
    let got: f64 = sides
        .iter()
        .filter(|s| s.connected)
        .map(|s| s.bitrate_in_kbps)
        .sum();
    let lost_share: Vec<f64> = sides
        .iter()
        .filter(|s| s.connected)
        .map(|s| s.loss_pct)
        .collect();
    let expectations = cfg
        .expect
        .iter()
        .map(|e| {
            let judged: Vec<&Expectation> = sides
                .iter()
                .filter_map(|s| s.expectations.iter().find(|x| x.expect == e.text))
                .collect();
            let missed: Vec<&&Expectation> = judged.iter().filter(|x| !x.met).collect();
            let met = !judged.is_empty() && missed.is_empty() && judged.len() == sides.len();
            let detail = match missed.first() {
                Some(first) => format!(
                    "{} of {} sides did not meet it; first: {}",
                    missed.len(),
                    sides.len(),
                    first.detail
                ),
                None if judged.is_empty() => "no side was judged".to_string(),
                None => format!("all {} sides met it", judged.len()),
            };
            Expectation {
                expect: e.text.clone(),
                met,
                detail,
            }
        })
        .collect::<Vec<_>>();
    // Failed calls exit with the class of the most common failing side; calls that all went
    // through with an unmet expectation exit 7.
    let mut codes: Vec<i32> = sides
        .iter()
        .filter(|s| s.failed.is_some())
        .map(|s| match s.exit_code {
            exit::OK | exit::EXPECTATION_FAILED => exit::CONNECTION,
            c => c,
        })
        .collect();
    codes.sort_unstable();
    let most_common = codes
        .chunk_by(|a, b| a == b)
        .max_by_key(|c| c.len())
        .map(|c| c[0]);
    let exit_code = match most_common {
        Some(c) => c,
        None if started < cfg.calls => exit::INTERRUPTED,
        None if expectations.iter().any(|e| !e.met) => exit::EXPECTATION_FAILED,
        None => exit::OK,
    };
    LoadSummary {
        calls: cfg.calls,
        started,
        connected,
        failed: failed_calls,
        failures,
        sides: sides.len() as u32,
        decoded_sides: sides.iter().filter(|s| s.decoded).count() as u32,
        ice_connected_ms: spread(&|s| s.ice_connected_ms),
        dtls_connected_ms: spread(&|s| s.dtls_connected_ms),
        first_audio_ms: spread(&|s| s.first_audio_ms),
        first_video_ms: spread(&|s| s.first_video_ms),
        bitrate_in_kbps: spread(&|s| s.connected.then_some(s.bitrate_in_kbps)),
        total_bitrate_in_mbit_s: (got / 10.0).round() / 100.0,
        loss_pct: if lost_share.is_empty() {
            0.0
        } else {
            (lost_share.iter().sum::<f64>() / lost_share.len() as f64 * 100.0).round() / 100.0
        },
        jitter_ms: spread(&|s| s.jitter_ms),
        rtt_ms: spread(&|s| s.rtt_ms),
        video_frames: sides.iter().map(|s| s.video_frames).sum(),
        fps: spread(&|s| s.fps),
        freezes: sides.iter().map(|s| s.freezes).sum(),
        latency_ms: spread(&|s| s.latency_ms.as_ref().map(|l| l.p95)),
        cpu_pct: 0.0,
        cpu_pct_per_call: 0.0,
        rss_mib: 0.0,
        rss_mib_per_call: 0.0,
        duration_s: (begin.elapsed().as_secs_f64() * 10.0).round() / 10.0,
        expectations,
        exit_code,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn side(call: u32, role: &str, failed: Option<(&str, &str)>, exit_code: i32) -> LoadCall {
        LoadCall {
            call,
            room: format!("load-{call}"),
            role: role.into(),
            server: "ws://127.0.0.1:1/".into(),
            decoded: call == 0,
            connected: failed.is_none_or(|(p, _)| p == "media"),
            reached: failed.map_or("media", |(p, _)| p).into(),
            failed: failed.map(|(p, _)| p.into()),
            reason: failed.map(|(_, r)| r.into()),
            ice_connected_ms: Some(f64::from(call) + 1.0),
            dtls_connected_ms: Some(f64::from(call) + 2.0),
            first_audio_ms: None,
            first_video_ms: None,
            duration_s: 3.0,
            bitrate_in_kbps: 100.0,
            bitrate_out_kbps: 100.0,
            loss_pct: 1.0,
            jitter_ms: None,
            rtt_ms: None,
            audio_ms: 0,
            video_frames: 10,
            fps: None,
            freezes: 1,
            latency_ms: None,
            expectations: Vec::new(),
            exit_code,
        }
    }

    fn config() -> LoadConfig {
        LoadConfig {
            servers: vec!["ws://127.0.0.1:1/".into()],
            token: None,
            secret: None,
            tls: None,
            calls: 4,
            rate: 1.0,
            duration: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
            sides: Sides::Both,
            room_prefix: "load".into(),
            media: LoadMedia::Audio,
            format: VideoFormat {
                width: 320,
                height: 240,
                fps: 15,
                bitrate_bps: 300_000,
                codec: crate::media::VideoCodec::Vp8,
            },
            decode_every: 10,
            peer: PeerSetup {
                ice_servers: Vec::new(),
                relay_only: false,
                udp_bind: Vec::new(),
                tcp_bind: Vec::new(),
                impair: None,
                data_channel: true,
                restart_ice_after: None,
            },
            data_throughput: None,
            expect: Vec::new(),
            stats_interval: Duration::from_secs(1),
        }
    }

    #[test]
    fn calls_fail_by_their_earliest_phase_and_reasons_group() {
        let cfg = config();
        let refused = "cannot reach signaling server ws://N.N.N.N:N/";
        let sides = vec![
            side(0, "dial", None, 0),
            side(0, "answer", None, 0),
            // Call 1: the answerer lost media after the dialer failed ICE: the call failed in ice.
            side(1, "dial", Some(("ice", "ICE failed")), 4),
            side(1, "answer", Some(("media", "no audio arrived")), 0),
            side(2, "dial", Some(("signaling", refused)), 3),
            side(2, "answer", Some(("signaling", refused)), 3),
            side(3, "dial", Some(("signaling", refused)), 3),
            side(3, "answer", None, 0),
        ];
        let s = summarize(&cfg, &sides, 4, Instant::now());
        assert_eq!((s.connected, s.failed, s.sides), (1, 3, 8));
        assert_eq!(
            s.failures,
            vec![
                Failure {
                    phase: "signaling".into(),
                    reason: refused.into(),
                    calls: 2
                },
                Failure {
                    phase: "ice".into(),
                    reason: "ICE failed".into(),
                    calls: 1
                },
            ]
        );
        // The most common failing side's class: signaling (3 sides) over the others.
        assert_eq!(s.exit_code, exit::SIGNALING);
        assert_eq!((s.video_frames, s.freezes), (80, 8));
        assert_eq!(s.decoded_sides, 2);
        assert_eq!(s.dtls_connected_ms.map(|d| (d.p50, d.n)), Some((4.0, 8)));
    }

    #[test]
    fn reasons_fold_rooms_and_numbers() {
        assert_eq!(
            reason_class("no call arrived in room \"load-17\" within 30 s", "load-17"),
            "no call arrived in room \"ROOM\" within N s"
        );
    }
}
