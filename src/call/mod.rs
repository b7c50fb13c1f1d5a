//! The call driver: meets the other peer in a room, negotiates (offer/answer, trickle ICE),
//! runs the media, samples stats, hangs up, and emits every step as a [`Record`] for the
//! reporters. It never prints; it never calls webrtc-rs except through [`peer`].

pub mod peer;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::exit::{self, Error};
use crate::media::{
    Counters, KindCounters, LEVEL_SILENT, Media, MediaConfig, Speaker, VideoSource,
};
use crate::report::schema::{
    AudioInterval, AudioSummary, Candidate, DataSummary, Record, SelectedPair, Stats, Summary,
    Timings, VideoInterval, VideoSummary,
};
use crate::signal::protocol::code;
use crate::signal::{Channel, Incoming, Message, Role, connect_or_host};
use peer::{CandidateLine, ConnState, MediaPorts, Peer, PeerEvent, PeerSetup, PeerStats};

/// What `answer` does with an incoming call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AcceptPolicy {
    /// Ask on the terminal.
    Ask,
    /// Accept without asking.
    Auto,
    /// Decline with this reason.
    Reject(String),
}

/// Everything a call needs, validated.
#[derive(Debug, Clone)]
pub struct CallConfig {
    pub role: Role,
    pub room: String,
    pub server: String,
    pub embed_server: bool,
    pub timeout: Duration,
    pub duration: Option<Duration>,
    pub accept: AcceptPolicy,
    pub peer: PeerSetup,
    pub media: MediaConfig,
    pub stats_interval: Duration,
}

/// Asks the person at the terminal whether to take a call.
#[async_trait::async_trait]
pub trait Prompter: Send + Sync {
    async fn accept(&self, room: &str) -> bool;
}

/// Where the driver's records go.
pub struct Events {
    tx: mpsc::Sender<Record>,
    start: Instant,
}

impl Events {
    pub fn new(tx: mpsc::Sender<Record>, start: Instant) -> Events {
        Events { tx, start }
    }

    fn ms(&self) -> f64 {
        ms_between(self.start, Instant::now())
    }

    async fn send(&self, r: Record) {
        let _ = self.tx.send(r).await;
    }

    async fn signaling(&self, event: &str, detail: Option<String>) {
        let ms = self.ms();
        self.send(Record::Signaling {
            ms,
            event: event.to_string(),
            detail,
        })
        .await;
    }
}

/// Frames dropped because capture, encoder or network fell behind.
fn dropped(k: &KindCounters) -> u64 {
    KindCounters::get(&k.capture_dropped) + KindCounters::get(&k.encode_dropped)
}

fn ms_between(a: Instant, b: Instant) -> f64 {
    (b.saturating_duration_since(a).as_secs_f64() * 10_000.0).round() / 10.0
}

/// How long a call stays up after its file source ends, so the last frames arrive.
const END_OF_MEDIA_GRACE: Duration = Duration::from_millis(500);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for the other peer (dialer) or its offer (answerer).
    Waiting,
    /// The dialer sent its offer and waits for the answer.
    Offered,
    /// Descriptions exchanged; ICE/DTLS under way.
    Connecting,
    Connected,
}

struct Ending {
    reason: &'static str,
    error: Option<Error>,
    send_bye: bool,
}

impl Ending {
    fn ok(reason: &'static str, send_bye: bool) -> Ending {
        Ending {
            reason,
            error: None,
            send_bye,
        }
    }
    fn err(reason: &'static str, error: Error, send_bye: bool) -> Ending {
        Ending {
            reason,
            error: Some(error),
            send_bye,
        }
    }
}

/// Parse `candidate:<foundation> <component> <protocol> <priority> <address> <port> typ <type>`.
pub fn parse_candidate(line: &str) -> Option<Candidate> {
    let body = line.strip_prefix("candidate:").unwrap_or(line);
    let f: Vec<&str> = body.split_whitespace().collect();
    if f.len() < 8 || f[6] != "typ" {
        return None;
    }
    Some(Candidate {
        candidate_type: f[7].to_string(),
        protocol: f[2].to_lowercase(),
        address: f[4].to_string(),
        port: f[5].parse().ok()?,
    })
}

fn candidate_record(ms: f64, side: &str, c: Candidate) -> Record {
    Record::Candidate {
        ms,
        side: side.to_string(),
        candidate_type: c.candidate_type,
        protocol: c.protocol,
        address: c.address,
        port: c.port,
    }
}

struct Driver<'a> {
    config: &'a CallConfig,
    events: &'a Events,
    counters: Arc<Counters>,
    timings: Timings,
    negotiation_start: Option<Instant>,
    connected_at: Option<Instant>,
    last_pair: Option<SelectedPair>,
    last_stats: Option<(Instant, PeerStats)>,
    last_video_decoded: u64,
    /// Encode time totals and frame counts (audio, video) at the last stats record.
    last_encode: ((u64, u64), (u64, u64)),
}

/// Run one call to its end and return its summary (already emitted as the last record).
pub async fn run(
    config: &CallConfig,
    events: &Events,
    cancel: CancellationToken,
    prompter: Option<Arc<dyn Prompter>>,
) -> Summary {
    let counters = Arc::new(Counters::default());
    let mut d = Driver {
        config,
        events,
        counters: counters.clone(),
        timings: Timings::default(),
        negotiation_start: None,
        connected_at: None,
        last_pair: None,
        last_stats: None,
        last_video_decoded: 0,
        last_encode: ((0, 0), (0, 0)),
    };
    let mut media_slot = None;
    let ending = d.call(cancel, prompter, &mut media_slot).await;
    if let Some(m) = media_slot {
        m.join();
    }
    let summary = d.summary(ending).await;
    events.send(Record::Summary(summary.clone())).await;
    summary
}

impl Driver<'_> {
    async fn call(
        &mut self,
        cancel: CancellationToken,
        prompter: Option<Arc<dyn Prompter>>,
        media_slot: &mut Option<Media>,
    ) -> Ending {
        let cfg = self.config;
        let mut media = match Media::start(&cfg.media, self.counters.clone()) {
            Ok(m) => m,
            Err(e) => return Ending::err("error", e, false),
        };
        let ports = MediaPorts {
            audio_out: media.audio_out.take(),
            video_out: media.video_out.take(),
            audio_in: media.audio_in.clone(),
            video_in: media.video_in.clone(),
            force_keyframe: media.force_keyframe.clone(),
            want_keyframe: media.want_keyframe.clone(),
            counters: self.counters.clone(),
            video_codec: cfg.media.format.codec,
        };
        let source_end = media.source_end.clone();
        *media_slot = Some(media);

        let connecting = tokio::select! {
            _ = cancel.cancelled() => return Ending::err("interrupted", Error::Interrupted, false),
            r = connect_or_host(&cfg.server, cfg.embed_server, cfg.timeout) => r,
        };
        let (mut channel, embedded) = match connecting {
            Ok(c) => c,
            Err(e) => return Ending::err("error", e, false),
        };
        if let Some(e) = &embedded {
            self.events
                .signaling(
                    "embedded-server",
                    Some(format!(
                        "no signaling server was running; serving {} from this process",
                        e.url
                    )),
                )
                .await;
        }
        self.events
            .signaling("connected", Some(cfg.server.clone()))
            .await;

        let _ = channel
            .tx
            .send(Message::Join {
                room: cfg.room.clone(),
                role: Some(cfg.role),
            })
            .await;
        // The server's answer to the join may carry ICE servers for everyone: they apply when
        // none were given here. The answer then goes on to the session as it came.
        let first = tokio::select! {
            _ = cancel.cancelled() => None,
            m = tokio::time::timeout(cfg.timeout, channel.rx.recv()) => m.ok().flatten(),
        };
        let mut setup = cfg.peer.clone();
        if let Some(Incoming::Message(Message::Joined { ice_servers, .. })) = &first
            && setup.ice_servers.is_empty()
            && !ice_servers.is_empty()
        {
            setup.ice_servers = ice_servers
                .iter()
                .map(|s| peer::IceServer {
                    urls: s.urls.clone(),
                    username: s.username.clone().unwrap_or_default(),
                    credential: s.credential.clone().unwrap_or_default(),
                })
                .collect();
            let urls: Vec<&str> = ice_servers
                .iter()
                .flat_map(|s| s.urls.iter().map(String::as_str))
                .collect();
            self.events
                .signaling(
                    "ice-servers",
                    Some(format!("from the server: {}", urls.join(", "))),
                )
                .await;
        }
        if let Some(m) = first {
            channel.push_front(m);
        }
        if setup.relay_only
            && !setup
                .ice_servers
                .iter()
                .any(|s| s.urls[0].starts_with("turn"))
        {
            channel.finish().await;
            return Ending::err(
                "error",
                Error::Usage(
                    "--relay-only needs a TURN server: give --ice-server turn:... or use a \
                     signaling server that hands one out (serve --ice-server)"
                        .into(),
                ),
                false,
            );
        }
        let (peer_tx, mut peer_rx) = mpsc::unbounded_channel();
        let mut peer = match Peer::new(&setup, ports, peer_tx).await {
            Ok(p) => p,
            Err(e) => {
                channel.finish().await;
                return Ending::err("error", e, false);
            }
        };

        let ending = self
            .session(
                &mut channel,
                &mut peer,
                &mut peer_rx,
                cancel,
                prompter,
                source_end,
            )
            .await;
        if self.connected_at.is_some() {
            // Final figures for the summary, before the connection goes.
            self.sample_stats(&peer).await;
        }
        if ending.send_bye {
            let _ = channel
                .tx
                .send(Message::Bye {
                    reason: Some(ending.reason.to_string()),
                })
                .await;
            self.events
                .signaling("bye-sent", Some(ending.reason.to_string()))
                .await;
        }
        if let Some(m) = media_slot.as_mut() {
            m.stop();
        }
        peer.close().await;
        channel.finish().await;
        if let Some(e) = embedded {
            e.finish().await;
        }
        ending
    }

    fn deadline(&self, started: Instant) -> tokio::time::Instant {
        tokio::time::Instant::from_std(started + self.config.timeout)
    }

    async fn session(
        &mut self,
        channel: &mut Channel,
        peer: &mut Peer,
        peer_rx: &mut mpsc::UnboundedReceiver<PeerEvent>,
        cancel: CancellationToken,
        prompter: Option<Arc<dyn Prompter>>,
        source_end: crate::media::SourceEnd,
    ) -> Ending {
        let cfg = self.config;
        let role = cfg.role;
        let source_ended = source_end.wait();
        tokio::pin!(source_ended);
        let mut phase = Phase::Waiting;
        let mut phase_started = Instant::now();
        let mut stats_tick = tokio::time::interval(cfg.stats_interval);
        stats_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut ice_state = String::from("new");
        loop {
            let deadline = match phase {
                Phase::Connected => match (cfg.duration, self.connected_at) {
                    (Some(d), Some(t)) => tokio::time::Instant::from_std(t + d),
                    _ => tokio::time::Instant::now() + Duration::from_secs(86_400 * 365),
                },
                _ => self.deadline(phase_started),
            };
            tokio::select! {
                _ = cancel.cancelled() => {
                    return Ending::err("interrupted", Error::Interrupted, phase != Phase::Waiting || role == Role::Dial);
                }
                _ = tokio::time::sleep_until(deadline) => {
                    let secs = cfg.timeout.as_secs_f64();
                    return match phase {
                        Phase::Connected => Ending::ok("duration", true),
                        Phase::Waiting if role == Role::Dial => Ending::err("error", Error::Signaling(format!(
                            "nobody answered in room {:?} within {secs} s", cfg.room)), false),
                        Phase::Waiting => Ending::err("error", Error::Signaling(format!(
                            "no call arrived in room {:?} within {secs} s", cfg.room)), false),
                        Phase::Offered => Ending::err("error", Error::Signaling(format!(
                            "the other side did not answer the offer within {secs} s")), true),
                        Phase::Connecting => Ending::err("error", Error::Connection(format!(
                            "could not connect within {secs} s (ICE state: {ice_state}); no candidate pair worked — check --ice-server and firewalls")), true),
                    };
                }
                failure = &mut source_ended => {
                    if let Some(e) = failure {
                        return Ending::err("error", Error::Media(e), phase != Phase::Waiting || role == Role::Dial);
                    }
                    // The end of a file: let its last frames reach the other side, then hang up.
                    tokio::time::sleep(END_OF_MEDIA_GRACE).await;
                    return Ending::ok("end-of-media", true);
                }
                _ = stats_tick.tick(), if phase == Phase::Connected => {
                    self.emit_stats(peer).await;
                }
                ev = peer_rx.recv() => {
                    let Some(ev) = ev else { continue };
                    match ev {
                        PeerEvent::LocalCandidate(line, info) => {
                            let ms = self.events.ms();
                            self.events.send(candidate_record(ms, "local", info)).await;
                            let _ = channel.tx.send(Message::Candidate {
                                candidate: Some(line.candidate),
                                sdp_mid: line.sdp_mid,
                                sdp_mline_index: line.sdp_mline_index,
                                username_fragment: line.username_fragment,
                            }).await;
                        }
                        PeerEvent::GatheringComplete => {
                            let ms = self.events.ms();
                            self.events.send(Record::IceGathering { ms, state: "complete".into() }).await;
                            let _ = channel.tx.send(Message::Candidate {
                                candidate: None, sdp_mid: None, sdp_mline_index: None, username_fragment: None,
                            }).await;
                        }
                        PeerEvent::Gathering(state) => {
                            let ms = self.events.ms();
                            self.events.send(Record::IceGathering { ms, state }).await;
                        }
                        PeerEvent::CandidateError(e) => {
                            warn!("ICE candidate error: {e}");
                        }
                        PeerEvent::IceState(state) => {
                            let ms = self.events.ms();
                            if state == "connected" && self.timings.ice_connected.is_none() {
                                self.timings.ice_connected = self.since_negotiation();
                            }
                            ice_state = state.clone();
                            self.events.send(Record::IceState { ms, state }).await;
                        }
                        PeerEvent::ConnectionState(s) => {
                            let ms = self.events.ms();
                            self.events.send(Record::ConnectionState { ms, state: s.as_str().into() }).await;
                            match s {
                                ConnState::Connected if phase != Phase::Connected => {
                                    self.timings.dtls_connected = self.since_negotiation();
                                    self.connected_at = Some(Instant::now());
                                    phase = Phase::Connected;
                                    phase_started = Instant::now();
                                    // Baseline for the first interval's bitrates.
                                    self.sample_stats(peer).await;
                                    stats_tick.reset();
                                }
                                ConnState::Failed => {
                                    let what = if phase == Phase::Connected {
                                        "the connection to the other peer was lost (ICE failed): it stopped answering"
                                    } else {
                                        "ICE failed: no candidate pair between the peers worked — check --ice-server, --relay-only and firewalls"
                                    };
                                    return Ending::err("error", Error::Connection(what.into()), true);
                                }
                                ConnState::Closed => {
                                    return Ending::err("error", Error::Connection("the peer connection closed unexpectedly".into()), true);
                                }
                                _ => {}
                            }
                        }
                        PeerEvent::Track { kind, codec } => {
                            let ms = self.events.ms();
                            self.events.send(Record::Track { ms, direction: "receive".into(), kind: kind.as_str().into(), codec }).await;
                        }
                    }
                }
                incoming = channel.rx.recv() => {
                    let msg = match incoming {
                        Some(Incoming::Message(m)) => m,
                        other => {
                            let why = match other { Some(Incoming::Closed(w)) => w, _ => "signaling closed".into() };
                            return if phase == Phase::Waiting {
                                Ending::err("error", Error::Signaling(why), false)
                            } else {
                                Ending::err("error", Error::Connection(format!("the other peer vanished: {why}")), false)
                            };
                        }
                    };
                    match msg {
                        Message::Joined { peer: other, .. } => {
                            self.events.signaling("joined", Some(format!("room {}", cfg.room))).await;
                            if let Some(other) = other {
                                if let Some(e) = self.check_role(other.as_str()) { return e; }
                                if role == Role::Dial {
                                    if let Err(e) = self.offer(channel, peer).await { return Ending::err("error", e, true); }
                                    phase = Phase::Offered;
                                    phase_started = Instant::now();
                                }
                            }
                        }
                        Message::PeerJoined { role: other } => {
                            self.events.signaling("peer-joined", other.clone()).await;
                            if let Some(e) = self.check_role(other.as_deref().unwrap_or("unknown")) { return e; }
                            if role == Role::Dial && phase == Phase::Waiting {
                                if let Err(e) = self.offer(channel, peer).await { return Ending::err("error", e, true); }
                                phase = Phase::Offered;
                                phase_started = Instant::now();
                            }
                        }
                        Message::PeerLeft {} => {
                            self.events.signaling("peer-left", None).await;
                            match phase {
                                Phase::Waiting => {}
                                Phase::Connected => return Ending::err("error", Error::Connection(
                                    "the other peer vanished: it left the room without hanging up".into()), false),
                                _ => return Ending::err("error", Error::Signaling(
                                    "the other peer left the room before the call connected".into()), false),
                            }
                        }
                        Message::Offer { sdp } if role == Role::Answer && phase == Phase::Waiting => {
                            self.negotiation_start = Some(Instant::now());
                            self.events.signaling("offer-received", None).await;
                            let accepted = match &cfg.accept {
                                AcceptPolicy::Auto => Ok(()),
                                AcceptPolicy::Reject(reason) => Err(reason.clone()),
                                AcceptPolicy::Ask => {
                                    let yes = match &prompter {
                                        Some(p) => tokio::select! {
                                            _ = cancel.cancelled() => {
                                                return Ending::err("interrupted", Error::Interrupted, false);
                                            }
                                            yes = p.accept(&cfg.room) => yes,
                                        },
                                        None => true,
                                    };
                                    if yes { Ok(()) } else { Err("declined".to_string()) }
                                }
                            };
                            if let Err(reason) = accepted {
                                let _ = channel.tx.send(Message::Reject { reason: Some(reason.clone()) }).await;
                                self.events.signaling("rejected", Some(reason)).await;
                                return Ending::ok("rejected", false);
                            }
                            if let Err(e) = self.answer(channel, peer, &sdp).await {
                                return Ending::err("error", e, true);
                            }
                            phase = Phase::Connecting;
                            phase_started = Instant::now();
                        }
                        Message::Answer { sdp } if role == Role::Dial && phase == Phase::Offered => {
                            self.events.signaling("answer-received", None).await;
                            if let Err(e) = peer.apply_answer(&sdp).await {
                                return Ending::err("error", e, true);
                            }
                            self.start_sending(peer).await;
                            phase = Phase::Connecting;
                            phase_started = Instant::now();
                        }
                        Message::Candidate { candidate, sdp_mid, sdp_mline_index, username_fragment } => {
                            match candidate.filter(|c| !c.is_empty()) {
                                None => debug!("the other side finished gathering"),
                                Some(c) => {
                                    if let Some(info) = parse_candidate(&c) {
                                        let ms = self.events.ms();
                                        self.events.send(candidate_record(ms, "remote", info)).await;
                                    }
                                    peer.add_remote_candidate(CandidateLine {
                                        candidate: c, sdp_mid, sdp_mline_index, username_fragment,
                                    }).await;
                                }
                            }
                        }
                        Message::Reject { reason } if role == Role::Dial => {
                            let reason = reason.unwrap_or_else(|| "no reason given".into());
                            self.events.signaling("rejected", Some(reason.clone())).await;
                            return Ending::err("rejected", Error::Signaling(format!("the call was rejected: {reason}")), false);
                        }
                        Message::Bye { reason } => {
                            self.events.signaling("bye-received", reason.clone()).await;
                            return if phase == Phase::Connected {
                                Ending::ok("remote-bye", false)
                            } else {
                                Ending::err("remote-bye", Error::Signaling(format!(
                                    "the other side hung up before the call connected ({})",
                                    reason.unwrap_or_else(|| "no reason given".into()))), false)
                            };
                        }
                        Message::Error { code: c, message } => {
                            if c == code::ROOM_FULL || c == code::BAD_ROOM || c == code::ALREADY_JOINED {
                                return Ending::err("error", Error::Signaling(format!("the signaling server refused us: {message} ({c})")), false);
                            }
                            warn!("signaling server: {message} ({c})");
                        }
                        other => debug!("ignoring signaling message {other:?} in phase {phase:?}"),
                    }
                }
            }
        }
    }

    fn check_role(&self, other: &str) -> Option<Ending> {
        if other == self.config.role.as_str() {
            let what = if self.config.role == Role::Dial {
                "another dialer is already in the room; run `rtccall answer` on the other side"
            } else {
                "another answerer is already in the room; run `rtccall dial` on the other side"
            };
            return Some(Ending::err("error", Error::Signaling(what.into()), false));
        }
        None
    }

    fn since_negotiation(&self) -> Option<f64> {
        self.negotiation_start
            .map(|t| ms_between(t, Instant::now()))
    }

    async fn offer(&mut self, channel: &mut Channel, peer: &mut Peer) -> Result<(), Error> {
        peer.attach_media(true).await?;
        self.negotiation_start = Some(Instant::now());
        let sdp = peer.create_offer().await?;
        let _ = channel.tx.send(Message::Offer { sdp }).await;
        self.events.signaling("offer-sent", None).await;
        Ok(())
    }

    async fn answer(
        &mut self,
        channel: &mut Channel,
        peer: &mut Peer,
        offer: &str,
    ) -> Result<(), Error> {
        peer.apply_offer(offer).await?;
        peer.attach_media(false).await?;
        let sdp = peer.create_answer().await?;
        let _ = channel.tx.send(Message::Answer { sdp }).await;
        self.events.signaling("answer-sent", None).await;
        self.start_sending(peer).await;
        Ok(())
    }

    async fn start_sending(&mut self, peer: &mut Peer) {
        for (kind, codec) in peer.start_sending().await {
            let ms = self.events.ms();
            self.events
                .send(Record::Track {
                    ms,
                    direction: "send".into(),
                    kind: kind.as_str().into(),
                    codec,
                })
                .await;
        }
    }

    fn data_summary(&self) -> DataSummary {
        let c = &self.counters;
        DataSummary {
            pings_sent: KindCounters::get(&c.data_sent),
            echoes_received: KindCounters::get(&c.data_echoes),
            pings_echoed: KindCounters::get(&c.data_echoed_for_peer),
        }
    }

    async fn sample_stats(&mut self, peer: &Peer) -> (PeerStats, f64, f64, f64) {
        let now = Instant::now();
        let s = peer.stats().await;
        let (out_kbps, in_kbps, fps) = match &self.last_stats {
            Some((t, prev)) => {
                let dt = now.duration_since(*t).as_secs_f64().max(1e-3);
                let decoded = KindCounters::get(&self.counters.video.decoded);
                let fps = (decoded - self.last_video_decoded) as f64 / dt;
                (
                    s.bytes_sent.saturating_sub(prev.bytes_sent) as f64 * 8.0 / dt / 1000.0,
                    s.bytes_received.saturating_sub(prev.bytes_received) as f64 * 8.0 / dt / 1000.0,
                    fps,
                )
            }
            None => (0.0, 0.0, 0.0),
        };
        self.last_video_decoded = KindCounters::get(&self.counters.video.decoded);
        if s.selected_pair.is_some() {
            self.last_pair = s.selected_pair.clone();
        }
        self.last_stats = Some((now, s.clone()));
        (s, out_kbps, in_kbps, fps)
    }

    async fn emit_stats(&mut self, peer: &Peer) {
        let (s, out_kbps, in_kbps, fps) = self.sample_stats(peer).await;
        let c = &self.counters;
        let received = s.audio_packets_received + s.video_packets_received;
        let lost = (s.audio_packets_lost + s.video_packets_lost).max(0) as f64;
        let loss_pct = if received as f64 + lost > 0.0 {
            lost * 100.0 / (received as f64 + lost)
        } else {
            0.0
        };
        let round = |v: f64| (v * 10.0).round() / 10.0;
        let cfg = self.config;
        let level = |v: &std::sync::atomic::AtomicI32| {
            f64::from(v.load(Ordering::Relaxed).max(LEVEL_SILENT)) / 10.0
        };
        let (audio_encode, video_encode) = {
            let mean = |k: &KindCounters, last: &mut (u64, u64)| {
                let total = KindCounters::get(&k.encode_us_total);
                let n = KindCounters::get(&k.encoded);
                let (dt, dn) = (total - last.0, n - last.1);
                *last = (total, n);
                (dn > 0).then(|| (dt as f64 / dn as f64 / 10.0).round() / 100.0)
            };
            (
                mean(&c.audio, &mut self.last_encode.0),
                mean(&c.video, &mut self.last_encode.1),
            )
        };
        let source_length = match KindCounters::get(&c.source_length_ms) {
            0 => None,
            l => Some(l as f64 / 1000.0),
        };
        let stats = Stats {
            state: s.state.clone(),
            selected_pair: self.last_pair.clone(),
            bitrate_out_kbps: round(out_kbps),
            bitrate_in_kbps: round(in_kbps),
            loss_pct: (loss_pct * 100.0).round() / 100.0,
            audio: AudioInterval {
                packets_sent: KindCounters::get(&c.audio.frames_sent),
                packets_received: KindCounters::get(&c.audio.packets_received),
                packets_lost: s.audio_packets_lost,
                jitter_ms: s.audio_jitter_ms.map(|j| (j * 100.0).round() / 100.0),
                decoded_ms: KindCounters::get(&c.audio.decoded_ms),
                level_sent_dbfs: (KindCounters::get(&c.audio.encoded) > 0)
                    .then(|| level(&c.audio.level_sent)),
                level_received_dbfs: c
                    .audio
                    .first_decoded
                    .get()
                    .map(|_| level(&c.audio.level_received)),
                frames_dropped: dropped(&c.audio),
                encode_ms: audio_encode,
                buffer_ms: (cfg.media.speaker != Speaker::Off)
                    .then(|| KindCounters::get(&c.audio.buffer_ms)),
                underruns: KindCounters::get(&c.audio.underruns),
                late_packets: KindCounters::get(&c.audio.late),
            },
            video: VideoInterval {
                frames_sent: KindCounters::get(&c.video.frames_sent),
                frames_decoded: KindCounters::get(&c.video.decoded),
                fps_received: round(fps),
                packets_lost: s.video_packets_lost,
                jitter_ms: s.video_jitter_ms.map(|j| (j * 100.0).round() / 100.0),
                width: c.video.width.load(Ordering::Relaxed),
                height: c.video.height.load(Ordering::Relaxed),
                frames_dropped: dropped(&c.video),
                encode_ms: video_encode,
                source_position_s: source_length
                    .map(|_| KindCounters::get(&c.source_position_ms) as f64 / 1000.0),
                source_length_s: source_length,
            },
            data: self.data_summary(),
        };
        let ms = self.events.ms();
        self.events.send(Record::Stats { ms, stats }).await;
    }

    async fn summary(&mut self, ending: Ending) -> Summary {
        let cfg = self.config;
        let c = &self.counters;
        if let Some(neg) = self.negotiation_start {
            for (slot, first) in [
                (&mut self.timings.first_audio, c.audio.first_decoded.get()),
                (
                    &mut self.timings.first_video_frame,
                    c.video.first_decoded.get(),
                ),
            ] {
                if let Some(t) = first {
                    *slot = Some(ms_between(neg, *t));
                }
            }
        }
        let duration_s = match self.connected_at {
            Some(t) => (t.elapsed().as_secs_f64() * 1000.0).round() / 1000.0,
            None => 0.0,
        };
        let (audio_lost, video_lost) = self
            .last_stats
            .as_ref()
            .map(|(_, s)| (s.audio_packets_lost, s.video_packets_lost))
            .unwrap_or((0, 0));
        let exit_code = ending.error.as_ref().map_or(exit::OK, Error::code);
        if let Some(e) = &ending.error {
            let ms = self.events.ms();
            self.events
                .send(Record::Error {
                    ms,
                    kind: e.kind().into(),
                    message: e.to_string(),
                    exit_code,
                })
                .await;
        }
        Summary {
            role: cfg.role.as_str().into(),
            room: cfg.room.clone(),
            connected: self.connected_at.is_some(),
            duration_s,
            timings_ms: self.timings.clone(),
            selected_pair: self.last_pair.clone(),
            audio: AudioSummary {
                source: cfg.media.audio.label(),
                packets_sent: KindCounters::get(&c.audio.frames_sent),
                packets_received: KindCounters::get(&c.audio.packets_received),
                packets_lost: audio_lost,
                decoded_ms: KindCounters::get(&c.audio.decoded_ms),
                frames_dropped: dropped(&c.audio),
                decode_errors: KindCounters::get(&c.audio.decode_errors),
                underruns: KindCounters::get(&c.audio.underruns),
                late_packets: KindCounters::get(&c.audio.late),
                recorded: KindCounters::get(&c.audio.recorded),
            },
            video: VideoSummary {
                source: video_label(&cfg.media.video),
                codec: cfg.media.format.codec.label().into(),
                frames_sent: KindCounters::get(&c.video.frames_sent),
                keyframes_sent: KindCounters::get(&c.video.keyframes_sent),
                frames_decoded: KindCounters::get(&c.video.decoded),
                width: c.video.width.load(Ordering::Relaxed),
                height: c.video.height.load(Ordering::Relaxed),
                packets_lost: video_lost,
                frames_dropped: dropped(&c.video),
                decode_errors: KindCounters::get(&c.video.decode_errors),
                plis_sent: KindCounters::get(&c.video.plis_sent),
                plis_received: KindCounters::get(&c.video.plis_received),
                encode_ms_p50: c.video.encode_ms_percentile(50.0),
                encode_ms_p95: c.video.encode_ms_percentile(95.0),
                recorded: KindCounters::get(&c.video.recorded),
            },
            data: self.data_summary(),
            recording: cfg.media.record.as_ref().map(|p| p.display().to_string()),
            recording_error: c
                .record_error
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
            end_reason: if ending.error.is_some()
                && ending.reason != "rejected"
                && ending.reason != "interrupted"
                && ending.reason != "remote-bye"
            {
                "error".into()
            } else {
                ending.reason.into()
            },
            error: ending.error.as_ref().map(|e| e.to_string()),
            exit_code,
        }
    }
}

fn video_label(v: &VideoSource) -> String {
    match v {
        VideoSource::TestSrc => "testsrc".into(),
        VideoSource::None => "none".into(),
        VideoSource::Input(i) => match (i.format.as_deref(), i.device) {
            (None, _) => format!("file:{}", i.url),
            (Some("v4l2"), true) => format!("camera:{}", i.url),
            (Some("x11grab"), true) => format!("screen:{}", i.url),
            (Some(f), _) => format!("ffmpeg:{f}:{}", i.url),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_candidate_lines() {
        let c = parse_candidate("candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host").unwrap();
        assert_eq!(c.candidate_type, "host");
        assert_eq!(c.protocol, "udp");
        assert_eq!(c.address, "127.0.0.1");
        assert_eq!(c.port, 50000);
        assert!(parse_candidate("garbage").is_none());
    }
}
