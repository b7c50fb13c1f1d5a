//! The call driver: a thin tokio loop around the [`session`] machine. It starts the media,
//! connects to signaling (and reconnects when a connected call loses it), builds the [`peer`],
//! feeds the machine what happens, carries out what it asks, samples stats while connected
//! ([`figures`]) and emits every step as a [`Record`] for the reporters. It never prints; it
//! never calls webrtc-rs except through [`peer`].

pub mod bridge;
mod figures;
pub mod peer;
pub mod rate;
pub mod session;
pub mod signaling;
mod tap;

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::warn;

use crate::exit::Error;
use crate::media::{Counters, Media, MediaConfig};
pub use crate::report::Events;
use crate::report::ms_between;
use crate::report::schema::{
    Candidate, Direction, EndReason, GatheringState, Record, Side, SignalingEvent, Summary,
};
use crate::signal::Role;
use crate::tls::TlsSetup;
use figures::Figures;
use peer::{CandidateInfo, IceState, MediaPorts, Peer, PeerEvent, PeerSetup};
pub use session::AcceptPolicy;
use session::{Command, Ending, Input, Output, Session, SessionConfig};
pub use signaling::room::{RoomConfig, RoomSignaling};
pub use signaling::whip::{WhipConfig, WhipKind, WhipSignaling};
use signaling::{Event, Heard, Say, Signaling};

/// How often the link RTT is refreshed and the bandwidth estimate turned into the video target.
const RATE_TICK: Duration = Duration::from_secs(1);
/// How often (with a wildcard --bind) the local addresses are compared: a change restarts ICE
/// and reconnects signaling, so it is noticed within this.
const NET_TICK: Duration = Duration::from_millis(250);

/// Everything a call needs, validated.
#[derive(Debug, Clone)]
pub struct CallConfig {
    pub role: Role,
    /// Where the call is placed: a room, or a WHIP/WHEP endpoint.
    pub place: Place,
    /// How `wss://` signaling and `turns:` TURN servers' certificates are checked (`--ca`,
    /// `--insecure`).
    pub tls: Option<TlsSetup>,
    pub timeout: Duration,
    pub duration: Option<Duration>,
    pub accept: AcceptPolicy,
    pub peer: PeerSetup,
    pub media: MediaConfig,
    pub stats_interval: Duration,
    /// `--stats-dump`: the rtcstats dump to write.
    pub stats_dump: Option<std::path::PathBuf>,
    /// Chat, files and the throughput test.
    pub data: crate::data::DataConfig,
    /// `--expect`: what the call must show, checked on its summary.
    pub expect: Vec<crate::expect::Expect>,
    /// `--junit`: where to write the call (and its expectations) as JUnit XML.
    pub junit: Option<std::path::PathBuf>,
    /// stdin is a terminal (chat lines are then typed, not piped).
    pub stdin_terminal: bool,
}

/// Asks the person at the terminal whether to take a call.
#[async_trait::async_trait]
pub trait Prompter: Send + Sync {
    /// `Ok` to take it, `Err(reason)` to refuse it.
    async fn accept(&self, room: &str) -> Result<(), String>;
}

/// A `signaling` record.
async fn note(events: &Events, event: SignalingEvent, detail: Option<String>) {
    let ms = events.ms();
    events.send(Record::Signaling { ms, event, detail }).await;
}

/// A `candidate` record.
async fn note_candidate(events: &Events, side: Side, c: CandidateInfo) {
    let ms = events.ms();
    events
        .send(Record::Candidate {
            ms,
            side,
            candidate_type: c.candidate_type,
            protocol: c.protocol,
            address: c.address,
            port: c.port,
        })
        .await;
}

/// A candidate line (`candidate:…`, with or without `a=`) as the records show it, parsed by
/// rtc-ice's own parser.
pub fn parse_candidate(line: &str) -> Option<Candidate> {
    let body = line.trim().strip_prefix("a=").unwrap_or(line.trim());
    let body = body.strip_prefix("candidate:").unwrap_or(body);
    let c = rtc::ice::candidate::unmarshal_candidate(body).ok()?;
    Some(Candidate {
        candidate_type: c.candidate_type().to_string(),
        protocol: c.network_type().network_short(),
        address: c.address().to_string(),
        port: c.port(),
        relay_protocol: None,
    })
}

/// One call running on the current tokio runtime. A process can hold any number at once: each
/// has its own config, media threads, peer connection, signaling front end and records;
/// nothing in the call path is process-wide except FFmpeg's one-time initialisation.
pub struct Call {
    end: CancellationToken,
    hang_up: CancellationToken,
    task: tokio::task::JoinHandle<Summary>,
}

impl Call {
    /// Start a call over `signaling` (its room when `None`). Its records come out of the
    /// receiver, which must be read (the call waits while 256 are unread). `stop` ends it
    /// (and every other call started with the same token: one Ctrl-C for the process);
    /// [`Call::hang_up`] ends this one alone.
    pub fn start(
        config: CallConfig,
        signaling: Option<Box<dyn Signaling>>,
        stop: &CancellationToken,
        prompter: Option<Arc<dyn Prompter>>,
    ) -> (Call, mpsc::Receiver<Record>) {
        let (tx, rx) = mpsc::channel(256);
        let events = Events::new(tx, Instant::now());
        let end = stop.child_token();
        let cancel = end.clone();
        let hang_up = CancellationToken::new();
        let person = hang_up.clone();
        let task = tokio::spawn(async move {
            let signaling = signaling.unwrap_or_else(|| config.signaling());
            run_until(&config, signaling, &events, cancel, person, prompter).await
        });
        (Call { end, hang_up, task }, rx)
    }

    /// What ends this call as a person hanging up (the call screen's `q`): once connected it
    /// ends as `hang-up` (exit 0, the other side told `bye`); before, as [`Call::hang_up`].
    pub fn person_hang_up(&self) -> CancellationToken {
        self.hang_up.clone()
    }

    /// End this call (as Ctrl-C would: the other side is told `bye`).
    pub fn hang_up(&self) {
        self.end.cancel();
    }

    /// Wait for the call to end; its summary (also the last record). `None` only when the
    /// runtime shut down under it.
    pub async fn wait(self) -> Option<Summary> {
        match self.task.await {
            Ok(s) => Some(s),
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => None,
        }
    }
}

/// Where a call is placed.
#[derive(Debug, Clone)]
pub enum Place {
    /// A room on a signaling server (`dial`/`answer`).
    Room(RoomConfig),
    /// A WHIP or WHEP endpoint (`publish`/`play`).
    Whip(WhipConfig),
}

impl Place {
    /// What the place is, in words: `room`, `WHIP endpoint` or `WHEP endpoint`.
    pub fn kind(&self) -> &'static str {
        match self {
            Place::Room(_) => "room",
            Place::Whip(w) => match w.kind {
                WhipKind::Publish => "WHIP endpoint",
                WhipKind::Play => "WHEP endpoint",
            },
        }
    }

    /// The room's name or the endpoint's URL, as records and messages name it.
    pub fn label(&self) -> String {
        match self {
            Place::Room(r) => r.name.clone(),
            Place::Whip(w) => w.url.to_string(),
        }
    }
}

impl CallConfig {
    /// The front end for this call's signaling.
    pub fn signaling(&self) -> Box<dyn Signaling> {
        match &self.place {
            Place::Room(room) => Box::new(RoomSignaling::new(
                room.clone(),
                self.role,
                self.tls.clone(),
                self.timeout,
            )),
            Place::Whip(whip) => Box::new(WhipSignaling::new(
                whip.clone(),
                self.tls.clone(),
                self.timeout,
            )),
        }
    }

    /// The role records and the summary show: `dial`, `answer`, `publish` or `play`.
    pub fn role_label(&self) -> &'static str {
        match &self.place {
            Place::Room(_) => self.role.as_str(),
            Place::Whip(w) => w.kind.as_str(),
        }
    }
}

/// Run one call through its room to its end and return its summary (already emitted as the
/// last record).
pub async fn run(
    config: &CallConfig,
    events: &Events,
    cancel: CancellationToken,
    prompter: Option<Arc<dyn Prompter>>,
) -> Summary {
    let signaling = config.signaling();
    run_with(config, signaling, events, cancel, prompter).await
}

/// Run one call to its end over the given signaling front end.
pub async fn run_with(
    config: &CallConfig,
    signaling: Box<dyn Signaling>,
    events: &Events,
    cancel: CancellationToken,
    prompter: Option<Arc<dyn Prompter>>,
) -> Summary {
    run_until(
        config,
        signaling,
        events,
        cancel,
        CancellationToken::new(),
        prompter,
    )
    .await
}

/// [`run_with`], also ended by the person hanging up (`hang_up`).
async fn run_until(
    config: &CallConfig,
    signaling: Box<dyn Signaling>,
    events: &Events,
    cancel: CancellationToken,
    hang_up: CancellationToken,
    prompter: Option<Arc<dyn Prompter>>,
) -> Summary {
    let counters = Arc::new(Counters::default());
    let mut figures = Figures::new(counters.clone());
    let mut media_slot = None;
    let ending = {
        let mut d = Driver {
            config,
            events,
            figures: &mut figures,
            signaling,
            tap: Default::default(),
            hang_up,
            offered: None,
        };
        let ending = d.call(cancel, prompter, &mut media_slot, counters).await;
        d.tap.close();
        ending
    };
    if let Some(m) = media_slot {
        let _ = tokio::task::spawn_blocking(move || m.join()).await;
    }
    let mut summary = figures.summary(ending, events, config).await;
    figures.check_expectations(&mut summary, config);
    events.send(Record::Summary(summary.clone())).await;
    summary
}

struct Driver<'a> {
    config: &'a CallConfig,
    events: &'a Events,
    figures: &'a mut Figures,
    /// The signaling front end.
    signaling: Box<dyn Signaling>,
    /// `--stats-dump`: the rtcstats dump being written.
    tap: tap::Tap,
    /// The person hung up (the call screen).
    hang_up: CancellationToken,
    /// The last offer heard (its fingerprint gives the words while the call is asked about).
    offered: Option<String>,
}

impl Driver<'_> {
    async fn call(
        &mut self,
        cancel: CancellationToken,
        prompter: Option<Arc<dyn Prompter>>,
        media_slot: &mut Option<Media>,
        counters: Arc<Counters>,
    ) -> Ending {
        let cfg = self.config;
        let mut session = Session::new(
            SessionConfig {
                role: cfg.role,
                room: cfg.place.label(),
                place_kind: cfg.place.kind(),
                timeout: cfg.timeout,
                duration: cfg.duration,
                accept: cfg.accept.clone(),
            },
            Instant::now(),
        );
        let fail = |e: Error| Ending {
            reason: if e.class() == crate::exit::Kind::Interrupted {
                EndReason::Interrupted
            } else {
                EndReason::Error
            },
            error: Some(e),
            send_bye: false,
        };
        match tap::Tap::open(cfg) {
            Ok(t) => self.tap = t,
            Err(e) => return fail(e),
        }
        // Starting media opens encoders and waits for threads, and joining waits for them to
        // stop: both block, so they run off the async workers (with many calls in a process,
        // a blocked worker delays every other call's packets).
        let started = {
            let (config, counters) = (cfg.media.clone(), counters.clone());
            tokio::task::spawn_blocking(move || Media::start(&config, counters)).await
        };
        let mut media = match started {
            Ok(Ok(m)) => m,
            Ok(Err(e)) => return fail(e),
            Err(e) => return fail(Error::media(format!("the media did not start: {e}"))),
        };
        let ports = MediaPorts {
            audio_out: media.audio_out.take(),
            video_out: media.video_out.take(),
            audio_in: media.audio_in.clone(),
            video_in: media.video_in.clone(),
            force_keyframe: media.force_keyframe.clone(),
            want_keyframe: media.want_keyframe.clone(),
            counters: counters.clone(),
            video_codec: media.video_codec.clone(),
            controls: cfg.media.controls.clone(),
            send_ceiling_bps: (cfg.media.video != crate::media::VideoSource::None)
                .then(|| rate::RateController::transport_ceiling_bps(cfg.media.format.bitrate_bps)),
        };
        let source_end = media.source_end.clone();
        self.figures.video_codec = Some(media.video_codec.clone());
        *media_slot = Some(media);

        let opening = tokio::select! {
            _ = cancel.cancelled() => return fail(Error::interrupted()),
            r = self.signaling.open() => r,
        };
        if let Err(e) = opening {
            return fail(e);
        }
        session.handle(Input::SignalUp, Instant::now());
        self.flush_sends(&mut session).await;

        // The server's answer to the join may carry ICE servers for everyone: they apply when
        // none were given here. The peer is built once they are known.
        let deadline = tokio::time::Instant::now() + cfg.timeout;
        let first = loop {
            let event = tokio::select! {
                _ = cancel.cancelled() => break None,
                _ = tokio::time::sleep_until(deadline) => break None,
                e = self.signaling.next() => e,
            };
            if let Some(input) = self.signaled(event).await {
                break Some(input);
            }
        };
        let mut setup = cfg.peer.clone();
        if let Some(Input::Signal(Heard::Joined { ice_servers, .. })) = &first
            && setup.ice_servers.is_empty()
        {
            let handed = ice_servers.clone();
            if !handed.is_empty() {
                let urls: Vec<String> = handed
                    .iter()
                    .flat_map(|s| s.urls.iter().map(|u| crate::ice::redact_url(u)))
                    .collect();
                note(
                    self.events,
                    SignalingEvent::IceServers,
                    Some(format!("from the server: {}", urls.join(", "))),
                )
                .await;
                setup.ice_servers = handed;
            }
        }
        if setup.relay_only
            && !setup
                .ice_servers
                .iter()
                .flat_map(|s| s.urls.iter())
                .any(|u| u.starts_with("turn"))
        {
            return fail(Error::usage(
                "--relay-only needs a TURN server: give --ice-server turn:... or use a \
                 signaling server that hands one out (serve --ice-server)"
                    .into(),
            ));
        }
        self.tap.created(&setup);
        // TURN over TCP and TLS: webrtc-rs is given a local UDP bridge to each such server.
        let mut bridges = bridge::Bridges::default();
        for server in setup.ice_servers.iter_mut() {
            for url in server.urls.iter_mut() {
                match bridges.route(url, cfg.tls.as_ref()).await {
                    Ok(u) => *url = u,
                    Err(e) => return fail(e),
                }
            }
        }
        self.figures.relays = bridges.relays.clone();
        let (peer_tx, mut peer_rx) = mpsc::unbounded_channel();
        let mut peer = match Peer::new(&setup, ports, peer_tx).await {
            Ok(p) => p,
            Err(e) => return fail(e),
        };
        self.figures.impaired = peer.impaired();
        let first = match first {
            Some(input) => input,
            None if cancel.is_cancelled() => Input::Cancel,
            None => Input::Timeout,
        };
        session.handle(first, Instant::now());

        let ending = self
            .drive(
                &mut session,
                &mut peer,
                &mut peer_rx,
                cancel,
                prompter,
                source_end,
            )
            .await;
        if session.connected() {
            // Final figures for the summary, before the connection goes.
            self.figures.sample_stats(&peer).await;
            let sent_by_peer = peer.remote_sends();
            self.figures.check_arrivals(&sent_by_peer);
        }
        if ending.send_bye {
            if self
                .signaling
                .say(Say::Bye(ending.reason.as_str().into()))
                .await
            {
                note(
                    self.events,
                    SignalingEvent::ByeSent,
                    Some(ending.reason.to_string()),
                )
                .await;
            } else if peer.say_bye(ending.reason.as_str()).await {
                note(
                    self.events,
                    SignalingEvent::ByeSent,
                    Some(format!(
                        "{} (on the data channel: signaling is down)",
                        ending.reason
                    )),
                )
                .await;
                // Let SCTP carry it before the connection closes.
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            } else {
                warn!("signaling is down: the other side is not told that we hung up");
            }
        }
        if let Some(m) = media_slot.as_mut() {
            m.stop();
        }
        peer.close().await;
        self.signaling.close().await;
        ending
    }

    /// Send what the machine queued before the peer exists (only `join`).
    async fn flush_sends(&mut self, session: &mut Session) {
        while let Some(o) = session.poll_output() {
            if let Output::Send(m) = o {
                self.say(m).await;
            }
        }
    }

    /// What a signaling event means to the machine (notes are only recorded).
    async fn signaled(&mut self, event: Event) -> Option<Input> {
        match event {
            Event::Heard(m) => {
                if let Heard::Offer(sdp) = &m {
                    self.offered = Some(sdp.clone());
                }
                Some(Input::Signal(m))
            }
            Event::Lost(why) => Some(Input::SignalLost(why)),
            Event::Back => Some(Input::SignalUp),
            Event::Note(e, detail) => {
                note(self.events, e, detail).await;
                None
            }
        }
    }

    /// Hand what the machine says to the front end: `true` once it was written to a live
    /// connection (the front end refuses while signaling is down).
    async fn say(&mut self, m: Say) -> bool {
        let ok = self.signaling.say(m).await;
        if !ok {
            tracing::debug!("signaling went before a message could be written");
        }
        ok
    }

    async fn drive(
        &mut self,
        session: &mut Session,
        peer: &mut Peer,
        peer_rx: &mut mpsc::UnboundedReceiver<PeerEvent>,
        cancel: CancellationToken,
        prompter: Option<Arc<dyn Prompter>>,
        source_end: crate::media::SourceEnd,
    ) -> Ending {
        let cfg = self.config;
        let source_ended = source_end.wait();
        tokio::pin!(source_ended);
        let mut media_done = false;
        let mut stats_tick = tokio::time::interval(cfg.stats_interval);
        stats_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut rate_tick = tokio::time::interval(RATE_TICK);
        rate_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut net_tick = tokio::time::interval(NET_TICK);
        net_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Local addresses matter only when ICE binds to every interface (0.0.0.0, ::).
        let watch_net = cfg.peer.udp_bind.iter().any(|a| a.ip().is_unspecified());
        let mut addresses = if watch_net {
            peer::netwatch::local_addresses()
        } else {
            Default::default()
        };
        let mut asking: Option<tokio::task::JoinHandle<Result<(), String>>> = None;
        // The person's switches (the call screen's keys): each change is a `control` record.
        let mut switches = cfg.media.controls.watch();
        let mut switched = *switches.borrow_and_update();
        let hang_up = self.hang_up.clone();
        let mut hung_up = false;
        // `--restart-ice-after`: armed when the call first connects, fired once.
        let mut forced_restart: Option<tokio::time::Instant> = None;
        let mut restart_armed = cfg.peer.restart_ice_after;
        // The data side ([`crate::data`]) starts once connected; channels the other side opens
        // wait in `data_in` until then (as many as it serves at once). Dropping `data_task` at
        // the end stops it.
        let (data_in, data_in_rx) = mpsc::channel(crate::data::MAX_SERVED);
        let mut data_overflow_told = false;
        let mut data_in_rx = Some(data_in_rx);
        let (data_done_tx, mut data_done) = mpsc::channel(1);
        let mut data_task = tokio::task::JoinSet::new();
        // Whether the last message the machine said was written (its `NoteSent` depends on it).
        let mut written = false;
        loop {
            // Carry out everything the machine asked for; commands feed their results back.
            while let Some(out) = session.poll_output() {
                match out {
                    Output::End(ending) => return ending,
                    Output::Send(m) => {
                        written = self.say(m.clone()).await;
                        if !written {
                            session.handle(Input::Unsent(m), Instant::now());
                        }
                    }
                    Output::Note(event, detail) => note(self.events, event, detail).await,
                    Output::NoteSent(event, detail) if written => {
                        note(self.events, event, detail).await
                    }
                    Output::NoteSent(event, _) => {
                        tracing::debug!("{event:?} not recorded: the message was not written")
                    }
                    Output::NegotiationStarted => {
                        self.figures.negotiation_start = Some(Instant::now());
                    }
                    Output::Do(cmd) => {
                        if let Some(input) = self.command(cmd, peer).await {
                            session.handle(input, Instant::now());
                        }
                    }
                    Output::Ask => {
                        // The words this offer gives with our certificate, for the question.
                        if let Some(words) =
                            self.offered.as_deref().and_then(|o| peer.sas_for_offer(o))
                        {
                            self.figures.sas = Some(words.clone());
                            let ms = self.events.ms();
                            self.events.send(Record::Sas { ms, words }).await;
                        }
                        let room = cfg.place.label();
                        asking = Some(match prompter.clone() {
                            Some(p) => tokio::spawn(async move { p.accept(&room).await }),
                            None => tokio::spawn(async { Ok(()) }),
                        });
                    }
                    Output::Connected => {
                        self.figures.timings.dtls_connected = self.figures.since_negotiation();
                        self.figures.connected_at = Some(Instant::now());
                        if let Some(after) = restart_armed.take() {
                            forced_restart = Some(tokio::time::Instant::now() + after);
                        }
                        // The words of the connection as it is (said again only when they
                        // are not those shown while the call was asked about).
                        let words = peer.sas().await;
                        if words.is_some() && words != self.figures.sas {
                            self.figures.sas = words.clone();
                            let ms = self.events.ms();
                            self.events
                                .send(Record::Sas {
                                    ms,
                                    words: words.unwrap_or_default(),
                                })
                                .await;
                        }
                        // Baseline for the first interval's bitrates.
                        self.figures.sample_stats(peer).await;
                        stats_tick.reset();
                        if let Some(rx) = data_in_rx.take() {
                            let report = crate::data::Reporter::new(
                                self.events.clone(),
                                self.figures.data_tally.clone(),
                            );
                            data_task.spawn(crate::data::run(
                                cfg.data.clone(),
                                peer.opener(),
                                rx,
                                report,
                                data_done_tx.clone(),
                                cfg.stdin_terminal,
                            ));
                        }
                    }
                    Output::Restarted(down) => {
                        self.figures
                            .ice_recovery_ms
                            .push((down.as_secs_f64() * 1e4).round() / 10.0);
                        self.figures.path_changed();
                    }
                    Output::Reconnect => self.signaling.reconnect(),
                }
            }
            let deadline = session
                .deadline()
                .map(tokio::time::Instant::from_std)
                .unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(86_400));
            let input = tokio::select! {
                _ = cancel.cancelled() => Input::Cancel,
                _ = hang_up.cancelled(), if !hung_up => {
                    hung_up = true;
                    Input::HangUp
                }
                _ = tokio::time::sleep_until(deadline) => Input::Timeout,
                failure = &mut source_ended, if !media_done => {
                    media_done = true;
                    Input::MediaEnded(failure)
                }
                _ = stats_tick.tick(), if session.connected() => {
                    self.figures.emit_stats(peer, self.events, cfg).await;
                    self.dump_stats(peer).await;
                    continue;
                }
                _ = rate_tick.tick(), if session.connected() => {
                    self.figures.rate_tick(peer, cfg).await;
                    continue;
                }
                _ = net_tick.tick(), if watch_net && session.connected() => {
                    let now = peer::netwatch::local_addresses();
                    match peer::netwatch::describe_change(&addresses, &now) {
                        Some(what) => {
                            addresses = now;
                            Input::NetworkChanged(what)
                        }
                        None => continue,
                    }
                }
                decision = async { asking.as_mut().expect("guarded").await }, if asking.is_some() => {
                    asking = None;
                    Input::Decision(decision.unwrap_or_else(|_| Err("declined".into())))
                }
                Some(()) = data_done.recv() => Input::DataDone,
                Ok(()) = switches.changed() => {
                    let now = *switches.borrow_and_update();
                    self.switched(switched, now).await;
                    switched = now;
                    continue;
                }
                _ = async { tokio::time::sleep_until(forced_restart.expect("guarded")).await }, if forced_restart.is_some() => {
                    forced_restart = None;
                    Input::RestartIce(format!(
                        "asked for {} s after connecting (--restart-ice-after)",
                        cfg.peer.restart_ice_after.unwrap_or_default().as_secs_f64()
                    ))
                }
                ev = peer_rx.recv() => match ev {
                    Some(PeerEvent::DataChannel(ch)) => {
                        // More than the queue holds (before the call connected, or a burst
                        // faster than the data side takes them): closed at once, as the data
                        // side closes those beyond the ones it serves, not left unanswered.
                        if let Err(full) = data_in.try_send(ch) {
                            if !std::mem::replace(&mut data_overflow_told, true) {
                                warn!(
                                    "more data channels opened at once than wait to be served; \
                                     closing the extra ones"
                                );
                            }
                            let ch = full.into_inner();
                            tokio::spawn(async move { ch.link.close().await });
                        }
                        continue;
                    }
                    Some(ev) => match self.peer_event(ev).await {
                        Some(input) => input,
                        None => continue,
                    },
                    None => continue,
                },
                event = self.signaling.next() => match self.signaled(event).await {
                    Some(input) => input,
                    None => continue,
                },
            };
            session.handle(input, Instant::now());
        }
    }

    /// A `control` record for each switch the person turned.
    async fn switched(
        &mut self,
        before: crate::media::controls::Switches,
        now: crate::media::controls::Switches,
    ) {
        use crate::report::schema::ControlAction;
        let on_off = |on: bool| if on { "on" } else { "off" }.to_string();
        let mut changes = Vec::new();
        if before.muted != now.muted {
            changes.push((ControlAction::Mute, on_off(now.muted)));
        }
        if before.camera_off != now.camera_off {
            changes.push((ControlAction::Video, on_off(!now.camera_off)));
        }
        if before.volume_pct != now.volume_pct {
            changes.push((ControlAction::Volume, now.volume_pct.to_string()));
        }
        for (action, state) in changes {
            let ms = self.events.ms();
            self.events
                .send(Record::Control {
                    ms,
                    side: Side::Local,
                    action,
                    state,
                })
                .await;
        }
    }

    /// Record a peer event; what the machine needs to know of it.
    async fn peer_event(&mut self, ev: PeerEvent) -> Option<Input> {
        match ev {
            PeerEvent::LocalCandidate(line, info) => {
                self.tap.candidate("onicecandidate", &line);
                note_candidate(self.events, Side::Local, info).await;
                Some(Input::LocalCandidate(Some(line)))
            }
            PeerEvent::GatheringComplete => {
                self.tap.event("onicecandidate", serde_json::Value::Null);
                self.tap
                    .event("onicegatheringstatechange", "complete".into());
                let ms = self.events.ms();
                self.events
                    .send(Record::IceGathering {
                        ms,
                        state: GatheringState::Complete,
                    })
                    .await;
                Some(Input::LocalCandidate(None))
            }
            PeerEvent::Gathering(state) => {
                self.tap
                    .event("onicegatheringstatechange", state.as_str().into());
                let ms = self.events.ms();
                self.events.send(Record::IceGathering { ms, state }).await;
                None
            }
            PeerEvent::CandidateError(e) => {
                warn!("ICE candidate error: {e}");
                None
            }
            PeerEvent::IceState(state) => {
                self.tap
                    .event("oniceconnectionstatechange", state.as_str().into());
                let ms = self.events.ms();
                if state == IceState::Connected && self.figures.timings.ice_connected.is_none() {
                    self.figures.timings.ice_connected = self.figures.since_negotiation();
                }
                self.events.send(Record::IceState { ms, state }).await;
                Some(Input::IceState(state))
            }
            PeerEvent::ConnectionState(s) => {
                self.tap.event("onconnectionstatechange", s.as_str().into());
                let ms = self.events.ms();
                self.events
                    .send(Record::ConnectionState { ms, state: s })
                    .await;
                Some(Input::Conn(s))
            }
            PeerEvent::DataChannel(_) => None,
            PeerEvent::Bye(reason) => Some(Input::Signal(signaling::Heard::Bye(reason))),
            PeerEvent::Control(action, on) => {
                // Recorded when it changes what we knew (the first messages only confirm the
                // defaults: microphone on, video on).
                let known = self
                    .figures
                    .remote_switches
                    .entry(action)
                    .or_insert(action == crate::report::schema::ControlAction::Video);
                if std::mem::replace(known, on) == on {
                    return None;
                }
                let ms = self.events.ms();
                self.events
                    .send(Record::Control {
                        ms,
                        side: Side::Remote,
                        action,
                        state: if on { "on" } else { "off" }.into(),
                    })
                    .await;
                None
            }
            PeerEvent::Track { kind, codec } => {
                self.tap
                    .event("ontrack", format!("{}: {codec}", kind.as_str()).into());
                let ms = self.events.ms();
                self.events
                    .send(Record::Track {
                        ms,
                        direction: Direction::Receive,
                        kind: kind.as_str().into(),
                        codec,
                    })
                    .await;
                None
            }
        }
    }

    /// Candidates that came inside the remote description (peers that do not trickle) are
    /// reported like trickled ones.
    async fn sdp_candidates(&mut self, sdp: &str) {
        for c in sdp
            .lines()
            .filter(|l| l.starts_with("a=candidate:"))
            .filter_map(parse_candidate)
        {
            note_candidate(self.events, Side::Remote, c.into()).await;
        }
    }

    /// The W3C stats now, with what rtccall measures itself, into the dump.
    async fn dump_stats(&mut self, peer: &Peer) {
        if self.tap.on() {
            let stats = peer.w3c_stats().await;
            let own = self.figures.own_w3c(self.config);
            self.tap.stats(stats, &own);
        }
    }

    /// Keep what negotiation noted for the summary (and the log).
    fn noted(&mut self, made: Result<(Vec<String>, String), Error>) -> Result<String, Error> {
        made.map(|(notes, sdp)| {
            for n in notes {
                warn!("{n}");
                self.figures.warnings.push(n);
            }
            sdp
        })
    }

    /// Carry out a peer command; its result for the machine, if it has one.
    async fn command(&mut self, cmd: Command, peer: &mut Peer) -> Option<Input> {
        match cmd {
            Command::MakeOffer => {
                self.tap.event("createOffer", serde_json::Value::Null);
                let made = async {
                    let notes = peer.attach_media(true).await?;
                    Ok((notes, peer.create_offer().await?))
                }
                .await;
                let made = self.noted(made);
                self.tap.made("createOffer", "offer", &made);
                Some(Input::OfferMade(made))
            }
            Command::AnswerOffer(sdp) => {
                self.sdp_candidates(&sdp).await;
                self.tap.remote("offer", &sdp);
                let made = async {
                    peer.apply_offer(&sdp).await?;
                    let notes = peer.attach_media(false).await?;
                    Ok((notes, peer.create_answer().await?))
                }
                .await;
                let made = self.noted(made);
                self.tap.answered(&made);
                Some(Input::AnswerMade(made))
            }
            Command::RestartOffer => {
                self.tap.event("restartIce", serde_json::Value::Null);
                self.tap.event("createOffer", serde_json::Value::Null);
                let made = peer.restart_offer().await;
                self.tap.made("createOffer", "offer", &made);
                Some(Input::OfferMade(made))
            }
            Command::AnswerAgain(sdp) => {
                self.sdp_candidates(&sdp).await;
                self.tap.remote("offer", &sdp);
                let made = peer.answer_again(&sdp).await;
                self.tap.answered(&made);
                Some(Input::AnswerMade(made))
            }
            Command::ApplyAnswer(sdp) => {
                self.sdp_candidates(&sdp).await;
                self.tap.remote("answer", &sdp);
                let applied = peer.apply_answer(&sdp).await;
                self.tap.applied(&applied);
                Some(Input::AnswerApplied(applied))
            }
            Command::AddCandidate(line) => {
                self.tap.candidate("addIceCandidate", &line);
                if let Some(c) = parse_candidate(&line.candidate) {
                    note_candidate(self.events, Side::Remote, c.into()).await;
                }
                peer.add_remote_candidate(line).await;
                None
            }
            Command::StartSending => {
                let (started, notes) = peer.start_sending().await;
                for n in notes {
                    warn!("{n}");
                    self.figures.warnings.push(n);
                }
                for (kind, codec) in started {
                    let ms = self.events.ms();
                    self.events
                        .send(Record::Track {
                            ms,
                            direction: Direction::Send,
                            kind: kind.as_str().into(),
                            codec,
                        })
                        .await;
                }
                None
            }
        }
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
        let c = parse_candidate(
            "a=candidate:2 1 TCP 1518280447 ::1 9 typ host tcptype active generation 0",
        )
        .unwrap();
        assert_eq!((c.protocol.as_str(), c.address.as_str()), ("tcp", "::1"));
        let c = parse_candidate(
            "candidate:3 1 udp 1677729535 203.0.113.7 61000 typ srflx raddr 10.0.0.2 rport 5000",
        )
        .unwrap();
        assert_eq!((c.candidate_type.as_str(), c.port), ("srflx", 61000));
    }
}
