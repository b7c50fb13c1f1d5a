//! The negotiation logic of one call as a plain state machine, with no sockets, tasks or clocks
//! of its own: the driver feeds it [`Input`]s (a signaling message, the signaling connection
//! coming or going, a peer connection event, the result of a peer command, the end of the
//! media, a deadline, Ctrl-C) with the current time, and carries out the [`Output`]s it queues
//! (send a message, run a peer command, ask the person, record a signaling event, end).
//!
//! Rules it enforces: the dialer offers once the answerer is in the room, whoever joined first;
//! the dialer is the impolite peer (an offer that crosses its own is ignored); before the call
//! is connected, losing signaling or the other peer ends the call (exit 3); once connected, the
//! call is peer to peer: signaling may go and come back (the driver reconnects and the machine
//! rejoins with its resume token), `peer-left` is only noted, and only ICE (consent) or a `bye`
//! ends the call.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use tracing::{debug, warn};

use super::peer::{ConnState, IceState};
use super::signaling::{Heard, Say};
use crate::exit::Error;
use crate::report::schema::{EndReason, SignalingEvent};
use crate::signal::Role;

/// How long a call stays up after its file source ends, so the last frames arrive.
pub const END_OF_MEDIA_GRACE: Duration = Duration::from_millis(500);
/// How long ICE may stay `disconnected` before it is restarted.
pub const RESTART_AFTER: Duration = Duration::from_secs(1);
/// How long one ICE restart may take before the next attempt.
pub const RESTART_TIMEOUT: Duration = Duration::from_millis(2500);
/// ICE restarts in a row that may fail before the call ends (exit 4).
pub const MAX_RESTARTS: u32 = 4;
/// How long after ICE went `disconnected` the other peer must have been heard from on
/// signaling (it answers a restart in one signaling round trip); otherwise it is taken for
/// vanished and the call ends (exit 4), as when ICE fails without a restart: about 3 s after
/// its last packet.
pub const SILENT_PEER: Duration = Duration::from_millis(1500);
/// A restart request this soon after a restart succeeded is about the outage just ended.
const RESTART_QUIET: Duration = Duration::from_secs(2);

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

/// Where the call is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Connected to signaling, `join` sent, no `joined` yet.
    Joining,
    /// In the room: waiting for the other peer (dialer) or its offer (answerer).
    Waiting,
    /// The answerer asks the person whether to take the call.
    Deciding,
    /// The dialer is making its offer.
    Offering,
    /// The dialer sent its offer and waits for the answer.
    Offered,
    /// The answerer is applying the offer and making its answer.
    Answering,
    /// The dialer is applying the answer.
    Applying,
    /// Descriptions exchanged; ICE and DTLS under way.
    Connecting,
    /// The peer connection is connected.
    Connected,
    /// The machine has asked to end; nothing more happens.
    Ended,
}

/// What the machine reacts to.
#[derive(Debug)]
pub enum Input {
    /// A signaling connection is up (the first one, or a reconnection).
    SignalUp,
    /// The signaling connection is gone; the text says why.
    SignalLost(String),
    /// A message from the signaling server.
    Signal(Heard),
    /// A local candidate to trickle, or `None` when gathering is complete.
    LocalCandidate(Option<super::signaling::CandidateLine>),
    /// The ICE connection state changed.
    IceState(IceState),
    /// The peer connection state changed.
    Conn(ConnState),
    /// The person decided: `Ok` takes the call, `Err(reason)` declines it.
    Decision(Result<(), String>),
    /// Results of [`Command`]s.
    OfferMade(Result<String, Error>),
    AnswerMade(Result<String, Error>),
    AnswerApplied(Result<(), Error>),
    /// A media source ended: `None` at the end of a file, `Some(why)` when it failed.
    MediaEnded(Option<String>),
    /// This side's own data work (files sent, the throughput test, piped chat lines
    /// acknowledged) is over: without a duration the call hangs up.
    DataDone,
    /// The person hung up (the call screen's `q`): like the end of `--duration` once
    /// connected, like Ctrl-C before.
    HangUp,
    /// The set of local network addresses changed (text: what changed).
    NetworkChanged(String),
    /// Restart ICE now, though the path works (text: why; `--restart-ice-after`).
    RestartIce(String),
    /// The front end could not write this message to a live connection (it was in an
    /// [`Output::Send`]).
    Unsent(Say),
    /// The deadline the machine gave ([`Session::deadline`]) has passed.
    Timeout,
    /// Ctrl-C or SIGTERM.
    Cancel,
}

/// Work for the peer connection.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Attach our media and create the offer; answer with [`Input::OfferMade`].
    MakeOffer,
    /// Apply this offer, attach our media, create the answer; answer with [`Input::AnswerMade`].
    AnswerOffer(String),
    /// Apply this answer; answer with [`Input::AnswerApplied`].
    ApplyAnswer(String),
    /// Add a remote candidate.
    AddCandidate(super::signaling::CandidateLine),
    /// Negotiation is done: start moving media onto the tracks.
    StartSending,
    /// Restart ICE: make an offer with new ICE credentials; answer with [`Input::OfferMade`].
    RestartOffer,
    /// Apply an offer that arrives once connected (an ICE restart) and make the answer;
    /// answer with [`Input::AnswerMade`].
    AnswerAgain(String),
}

/// How a call ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Ending {
    pub reason: EndReason,
    pub error: Option<Error>,
    /// Whether to tell the other side with a `bye`.
    pub send_bye: bool,
}

impl Ending {
    fn ok(reason: EndReason, send_bye: bool) -> Ending {
        Ending {
            reason,
            error: None,
            send_bye,
        }
    }
    fn err(reason: EndReason, error: Error, send_bye: bool) -> Ending {
        Ending {
            reason,
            error: Some(error),
            send_bye,
        }
    }
}

/// What the machine asks the driver to do, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Say this to the other side (through the signaling front end).
    Send(Say),
    /// Run this peer command.
    Do(Command),
    /// Emit a `signaling` record.
    Note(SignalingEvent, Option<String>),
    /// Emit this `signaling` record (`offer-sent`, `answer-sent`...) only if the [`Output::Send`]
    /// just before it was written to a live connection.
    NoteSent(SignalingEvent, Option<String>),
    /// Ask the person whether to take the call; answer with [`Input::Decision`].
    Ask,
    /// Negotiation of the call begins (the dialer is about to offer, the answerer has the
    /// offer): set-up timings count from here. Once per call, never for an ICE restart.
    NegotiationStarted,
    /// The call just connected (baseline stats, timings).
    Connected,
    /// Signaling is gone but the call goes on: reconnect, then feed [`Input::SignalUp`].
    Reconnect,
    /// ICE connected again after a restart; ICE had been down this long.
    Restarted(Duration),
    /// The call is over.
    End(Ending),
}

/// Fixed facts of the call the machine needs.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    pub role: Role,
    /// The room's name (or the WHIP/WHEP endpoint's URL).
    pub room: String,
    /// What `room` is, as the `joined` record says: `room`, `WHIP endpoint`, `WHEP endpoint`.
    pub place_kind: &'static str,
    /// Bound on waiting for the other peer, and again on connecting.
    pub timeout: Duration,
    /// Hang up after this long connected.
    pub duration: Option<Duration>,
    pub accept: AcceptPolicy,
}

/// The call session machine.
#[derive(Debug)]
pub struct Session {
    cfg: SessionConfig,
    phase: Phase,
    phase_started: Instant,
    connected_at: Option<Instant>,
    /// The signaling connection is up.
    signal_up: bool,
    /// A restart offer (dialer) or request (answerer) that could not be said: said again as
    /// soon as signaling is back.
    unsent_restart: Option<Say>,
    /// Given by the server in `joined`; sent back in `join` to get our seat again.
    resume: Option<crate::signal::protocol::Token>,
    /// The offer being decided on.
    pending_offer: Option<String>,
    /// When the file source ended (the call hangs up a moment later).
    media_ended_at: Option<Instant>,
    ice_state: IceState,
    /// When ICE last left `connected` (cleared when it is back).
    outage_since: Option<Instant>,
    /// The ICE restart under way, if any.
    restart: Option<Restart>,
    /// When the last restart brought ICE back.
    restarted_at: Option<Instant>,
    out: VecDeque<Output>,
}

impl Session {
    pub fn new(cfg: SessionConfig, now: Instant) -> Session {
        Session {
            cfg,
            phase: Phase::Joining,
            phase_started: now,
            connected_at: None,
            signal_up: false,
            unsent_restart: None,
            resume: None,
            pending_offer: None,
            media_ended_at: None,
            ice_state: IceState::New,
            outage_since: None,
            restart: None,
            restarted_at: None,
            out: VecDeque::new(),
        }
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// The peer connection is (or was until the end) connected.
    pub fn connected(&self) -> bool {
        self.connected_at.is_some()
    }

    /// The next output, if any.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// When to feed [`Input::Timeout`] (`None`: no deadline).
    pub fn deadline(&self) -> Option<Instant> {
        let phase = match self.phase {
            Phase::Ended | Phase::Deciding => None,
            Phase::Connected => {
                let duration = match (self.cfg.duration, self.connected_at) {
                    (Some(d), Some(t)) => Some(t + d),
                    _ => None,
                };
                let restart = match (self.restart, self.outage_since) {
                    (Some(r), Some(t)) if !r.peer_heard && !r.local_change => {
                        Some((r.started + RESTART_TIMEOUT).min(t + SILENT_PEER))
                    }
                    (Some(r), _) => Some(r.started + RESTART_TIMEOUT),
                    (None, Some(t)) => Some(t + RESTART_AFTER),
                    (None, None) => None,
                };
                match (duration, restart) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                }
            }
            _ => Some(self.phase_started + self.cfg.timeout),
        };
        let media = self.media_ended_at.map(|t| t + END_OF_MEDIA_GRACE);
        match (phase, media) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn enter(&mut self, phase: Phase, now: Instant) {
        self.phase = phase;
        self.phase_started = now;
    }

    fn emit(&mut self, o: Output) {
        self.out.push_back(o);
    }

    fn note(&mut self, e: SignalingEvent, detail: Option<String>) {
        self.emit(Output::Note(e, detail));
    }

    fn end(&mut self, ending: Ending) {
        if self.phase != Phase::Ended {
            self.phase = Phase::Ended;
            self.emit(Output::End(ending));
        }
    }

    /// Say `m` if signaling is up (`true`). A restart offer or request that cannot go now is
    /// kept and said again once signaling is back.
    fn send(&mut self, m: Say) -> bool {
        if self.signal_up {
            self.emit(Output::Send(m));
            true
        } else {
            debug!("signaling is down; not sent: {m:?}");
            self.keep_unsent(m);
            false
        }
    }

    /// Say `m` and record `event` once it was written.
    fn send_noted(&mut self, m: Say, event: SignalingEvent, detail: Option<String>) {
        if self.send(m) {
            self.emit(Output::NoteSent(event, detail));
        }
    }

    fn keep_unsent(&mut self, m: Say) {
        let restart = self.phase == Phase::Connected
            && self.restart.is_some()
            && matches!(m, Say::Offer(_) | Say::Restart(_));
        if restart {
            self.unsent_restart = Some(m);
        }
    }

    /// Before the descriptions are exchanged a `bye` is only worth sending by a dialer that
    /// may have offered, or an answerer that was offered.
    fn bye_worth_sending(&self) -> bool {
        self.phase != Phase::Waiting && self.phase != Phase::Joining || self.cfg.role == Role::Dial
    }

    /// React to one input at `now`.
    pub fn handle(&mut self, input: Input, now: Instant) {
        if self.phase == Phase::Ended {
            return;
        }
        match input {
            Input::SignalUp => {
                self.signal_up = true;
                self.send(Say::Join {
                    resume: self.resume.clone(),
                });
                // The server relays in order: what follows the join reaches the room.
                match self.unsent_restart.take() {
                    Some(m @ Say::Offer(_)) => self.send_noted(
                        m,
                        SignalingEvent::OfferSent,
                        Some("ICE restart, once signaling was back".into()),
                    ),
                    Some(m) => {
                        self.send(m);
                    }
                    None => {}
                }
            }
            Input::Unsent(m) => self.keep_unsent(m),
            Input::SignalLost(why) => {
                self.signal_up = false;
                if self.phase == Phase::Connected {
                    self.note(
                        SignalingEvent::Lost,
                        Some(format!(
                            "{why}; the call goes on peer to peer, reconnecting"
                        )),
                    );
                    self.emit(Output::Reconnect);
                } else {
                    self.end(Ending::err(
                        EndReason::Error,
                        Error::signaling(format!("{why} (before the call connected)")),
                        false,
                    ));
                }
            }
            Input::Signal(m) => self.signal(m, now),
            Input::LocalCandidate(c) => {
                self.send(Say::Candidate(c));
            }
            Input::IceState(s) => {
                self.ice_state = s;
                match s {
                    IceState::Disconnected | IceState::Failed if self.phase == Phase::Connected => {
                        self.outage_since.get_or_insert(now);
                    }
                    IceState::Connected | IceState::Completed => {
                        let outage = self.outage_since.take();
                        match (self.restart.take(), outage) {
                            (Some(r), Some(t)) => {
                                self.restarted_at = Some(now);
                                let down = now.saturating_duration_since(t);
                                self.note(
                                    SignalingEvent::IceRestarted,
                                    Some(format!(
                                        "media flows again after {} ms (restart attempt {})",
                                        down.as_millis(),
                                        r.attempt
                                    )),
                                );
                                self.emit(Output::Restarted(down));
                            }
                            // A restart asked for while the path worked: ICE checked the new
                            // credentials and is connected on them; nothing was cut.
                            (Some(r), None) => {
                                self.restarted_at = Some(now);
                                self.note(
                                    SignalingEvent::IceRestarted,
                                    Some(format!(
                                        "connected on the new ICE credentials after {} ms; the media was not cut",
                                        now.saturating_duration_since(r.started).as_millis()
                                    )),
                                );
                                self.emit(Output::Restarted(Duration::ZERO));
                            }
                            _ => {}
                        }
                    }
                    _ => {}
                }
            }
            Input::RestartIce(why) => {
                if self.phase == Phase::Connected && self.restart.is_none() {
                    self.begin_restart(now, 1, why, false);
                }
            }
            Input::NetworkChanged(what) => {
                if self.phase != Phase::Connected {
                    return;
                }
                // The signaling connection may be bound to an address that is gone: it would
                // die silently, taking the restart with it. Connect again at once.
                if self.signal_up {
                    self.signal_up = false;
                    self.note(
                        SignalingEvent::Lost,
                        Some(format!(
                            "local addresses changed ({what}); reconnecting signaling"
                        )),
                    );
                    self.emit(Output::Reconnect);
                }
                self.outage_since.get_or_insert(now);
                match self.restart.as_mut() {
                    Some(r) => r.local_change = true,
                    None => {
                        self.begin_restart(now, 1, format!("local addresses changed: {what}"), true)
                    }
                }
            }
            Input::Conn(s) => match s {
                ConnState::Connected if self.phase != Phase::Connected => {
                    self.enter(Phase::Connected, now);
                    self.connected_at = Some(now);
                    self.emit(Output::Connected);
                }
                ConnState::Failed
                    if self.phase == Phase::Connected
                        && self.restart.is_some_and(|r| r.peer_heard || r.local_change) =>
                {
                    debug!("ICE failed while a restart is under way; waiting for it");
                }
                ConnState::Failed => {
                    let what = if self.phase == Phase::Connected {
                        "the other peer vanished: it stopped answering ICE consent checks (ICE failed)"
                    } else {
                        "ICE failed: no candidate pair between the peers worked — check --ice-server, --relay-only and firewalls"
                    };
                    self.end(Ending::err(
                        EndReason::Error,
                        Error::connection(what.into()),
                        true,
                    ));
                }
                ConnState::Closed => self.end(Ending::err(
                    EndReason::Error,
                    Error::connection("the peer connection closed unexpectedly".into()),
                    true,
                )),
                _ => {}
            },
            Input::Decision(d) => {
                if self.phase != Phase::Deciding {
                    return;
                }
                match (d, self.pending_offer.take()) {
                    (Ok(()), Some(sdp)) => {
                        self.emit(Output::Do(Command::AnswerOffer(sdp)));
                        self.enter(Phase::Answering, now);
                    }
                    (Ok(()), None) => self.reject("declined".into()),
                    (Err(reason), _) if reason.trim().is_empty() => self.reject("declined".into()),
                    (Err(reason), _) => self.reject(reason),
                }
            }
            Input::OfferMade(r) => match r {
                Ok(sdp) if self.phase == Phase::Connected && self.restart.is_some() => {
                    self.send_noted(
                        Say::Offer(sdp),
                        SignalingEvent::OfferSent,
                        Some("ICE restart".into()),
                    );
                }
                Err(e) if self.phase == Phase::Connected => {
                    warn!("the ICE restart offer failed: {e}");
                }
                Ok(sdp) if self.phase == Phase::Offering => {
                    self.send_noted(Say::Offer(sdp), SignalingEvent::OfferSent, None);
                    self.enter(Phase::Offered, now);
                }
                Ok(_) => {}
                Err(e) => self.end(Ending::err(EndReason::Error, e, true)),
            },
            Input::AnswerMade(r) => match r {
                Ok(sdp) if self.phase == Phase::Connected => {
                    self.send_noted(
                        Say::Answer(sdp),
                        SignalingEvent::AnswerSent,
                        Some("ICE restart".into()),
                    );
                }
                Err(e) if self.phase == Phase::Connected => {
                    warn!("answering the ICE restart failed: {e}");
                }
                Ok(sdp) if self.phase == Phase::Answering => {
                    self.send_noted(Say::Answer(sdp), SignalingEvent::AnswerSent, None);
                    self.emit(Output::Do(Command::StartSending));
                    self.enter(Phase::Connecting, now);
                }
                Ok(_) => {}
                Err(e) => self.end(Ending::err(EndReason::Error, e, true)),
            },
            Input::AnswerApplied(r) => match r {
                Err(e) if self.phase == Phase::Connected => {
                    warn!("the ICE restart answer was not applied: {e}");
                }
                Ok(()) if self.phase == Phase::Applying => {
                    self.emit(Output::Do(Command::StartSending));
                    self.enter(Phase::Connecting, now);
                }
                Ok(()) => {}
                Err(e) => self.end(Ending::err(EndReason::Error, e, true)),
            },
            Input::MediaEnded(failure) => match failure {
                Some(e) => {
                    let bye = self.bye_worth_sending();
                    self.end(Ending::err(EndReason::Error, Error::media(e), bye));
                }
                None => {
                    self.media_ended_at.get_or_insert(now);
                }
            },
            Input::DataDone => {
                if self.phase == Phase::Connected && self.cfg.duration.is_none() {
                    self.end(Ending::ok(EndReason::DataDone, true));
                }
            }
            Input::Timeout => self.timeout(now),
            Input::HangUp if self.phase == Phase::Connected => {
                self.end(Ending::ok(EndReason::HangUp, true));
            }
            Input::HangUp | Input::Cancel => {
                let bye = self.bye_worth_sending();
                self.end(Ending::err(
                    EndReason::Interrupted,
                    Error::interrupted(),
                    bye,
                ));
            }
        }
    }

    fn reject(&mut self, reason: String) {
        let _ = self.send(Say::Reject(reason.clone()));
        self.note(SignalingEvent::Rejected, Some(reason));
        self.end(Ending::ok(EndReason::Rejected, false));
    }

    fn timeout(&mut self, now: Instant) {
        if self
            .media_ended_at
            .is_some_and(|t| now >= t + END_OF_MEDIA_GRACE)
        {
            self.end(Ending::ok(EndReason::EndOfMedia, true));
            return;
        }
        if self.phase == Phase::Connected {
            if self.restart_timeout(now) {
                return;
            }
            let over = match (self.cfg.duration, self.connected_at) {
                (Some(d), Some(t)) => now >= t + d,
                _ => false,
            };
            if over {
                self.end(Ending::ok(EndReason::Duration, true));
            }
            return;
        }
        let Some(deadline) = self.deadline() else {
            return;
        };
        if now < deadline {
            return;
        }
        let secs = self.cfg.timeout.as_secs_f64();
        let room = self.cfg.room.clone();
        let ending = match self.phase {
            Phase::Connected => Ending::ok(EndReason::Duration, true),
            Phase::Joining => Ending::err(
                EndReason::Error,
                Error::signaling(format!(
                    "the signaling server did not let us into room {room:?} within {secs} s"
                )),
                false,
            ),
            Phase::Waiting if self.cfg.role == Role::Dial => Ending::err(
                EndReason::Error,
                Error::signaling(format!("nobody answered in room {room:?} within {secs} s")),
                false,
            ),
            Phase::Waiting => Ending::err(
                EndReason::Error,
                Error::signaling(format!("no call arrived in room {room:?} within {secs} s")),
                false,
            ),
            Phase::Offering | Phase::Offered | Phase::Applying => Ending::err(
                EndReason::Error,
                Error::signaling(format!(
                    "the other side did not answer the offer within {secs} s"
                )),
                true,
            ),
            Phase::Answering | Phase::Connecting => Ending::err(
                EndReason::Error,
                Error::connection(format!(
                    "could not connect within {secs} s (ICE state: {}); no candidate pair worked — check --ice-server and firewalls",
                    self.ice_state.as_str()
                )),
                true,
            ),
            Phase::Deciding | Phase::Ended => return,
        };
        self.end(ending);
    }

    /// The other peer's role clashes with ours.
    fn role_clash(&mut self, other: &str) -> bool {
        if other != self.cfg.role.as_str() {
            return false;
        }
        let what = if self.cfg.role == Role::Dial {
            "another dialer is already in the room; run `rtccall answer` on the other side"
        } else {
            "another answerer is already in the room; run `rtccall dial` on the other side"
        };
        self.end(Ending::err(
            EndReason::Error,
            Error::signaling(what.into()),
            false,
        ));
        true
    }

    fn offer_if_dialer(&mut self, now: Instant) {
        if self.cfg.role == Role::Dial && self.phase == Phase::Waiting {
            self.emit(Output::NegotiationStarted);
            self.emit(Output::Do(Command::MakeOffer));
            self.enter(Phase::Offering, now);
        }
    }

    fn signal(&mut self, m: Heard, now: Instant) {
        let role = self.cfg.role;
        match m {
            Heard::Joined { peer, resume, .. } => {
                let rejoined = self.phase != Phase::Joining;
                if resume.is_some() {
                    self.resume = resume;
                }
                let room = format!("{} {}", self.cfg.place_kind, self.cfg.room);
                if rejoined {
                    self.note(SignalingEvent::Rejoined, Some(room));
                    // What was said during the restart may have been lost with the connection.
                    if let Some(r) = self.restart {
                        self.begin_restart(now, r.attempt, "signaling is back".into(), false);
                    }
                    return;
                }
                self.note(SignalingEvent::Joined, Some(room));
                self.enter(Phase::Waiting, now);
                if let Some(other) = peer {
                    if self.role_clash(&other) {
                        return;
                    }
                    self.offer_if_dialer(now);
                }
            }
            Heard::PeerJoined(other) => {
                self.note(SignalingEvent::PeerJoined, other.clone());
                if self.phase == Phase::Waiting {
                    if self.role_clash(other.as_deref().unwrap_or("unknown")) {
                        return;
                    }
                    self.offer_if_dialer(now);
                }
            }
            Heard::PeerLeft => {
                match self.phase {
                    Phase::Joining | Phase::Waiting => {
                        self.note(SignalingEvent::PeerLeft, None);
                    }
                    Phase::Connected => self.note(
                        SignalingEvent::PeerLeft,
                        Some("its signaling connection went; the call goes on until it hangs up or stops answering".into()),
                    ),
                    _ => {
                        self.note(SignalingEvent::PeerLeft, None);
                        self.end(Ending::err(
                            EndReason::Error,
                            Error::signaling(
                                "the other peer left the room before the call connected".into(),
                            ),
                            false,
                        ));
                    }
                }
            }
            Heard::Offer(sdp) => match (role, self.phase) {
                (Role::Answer, Phase::Waiting) => {
                    self.emit(Output::NegotiationStarted);
                    self.note(SignalingEvent::OfferReceived, None);
                    match self.cfg.accept.clone() {
                        AcceptPolicy::Auto => {
                            self.emit(Output::Do(Command::AnswerOffer(sdp)));
                            self.enter(Phase::Answering, now);
                        }
                        AcceptPolicy::Reject(reason) => self.reject(reason),
                        AcceptPolicy::Ask => {
                            self.pending_offer = Some(sdp);
                            self.emit(Output::Ask);
                            self.enter(Phase::Deciding, now);
                        }
                    }
                }
                (Role::Answer, Phase::Connected) => {
                    // An offer once connected: the dialer restarts ICE (its own idea or ours).
                    self.heard_peer();
                    if self.restart.is_none() {
                        self.outage_since.get_or_insert(now);
                        self.restart = Some(Restart {
                            started: now,
                            attempt: 1,
                            peer_heard: true,
                            local_change: false,
                        });
                        self.note(
                            SignalingEvent::IceRestart,
                            Some("the dialer restarts ICE".into()),
                        );
                    }
                    self.note(SignalingEvent::OfferReceived, Some("ICE restart".into()));
                    self.emit(Output::Do(Command::AnswerAgain(sdp)));
                }
                (Role::Dial, Phase::Offering | Phase::Offered) => {
                    // Glare: the dialer is the impolite peer and keeps its own offer.
                    self.note(
                        SignalingEvent::OfferIgnored,
                        Some("an offer crossed ours; the dialer keeps its own".into()),
                    );
                }
                (_, phase) => {
                    warn!("an offer in phase {phase:?} ignored (renegotiation is not supported)");
                    self.note(
                        SignalingEvent::OfferIgnored,
                        Some("renegotiation is not supported".into()),
                    );
                }
            },
            Heard::Answer(sdp) => {
                if role == Role::Dial && self.phase == Phase::Connected && self.restart.is_some() {
                    self.heard_peer();
                    self.note(SignalingEvent::AnswerReceived, Some("ICE restart".into()));
                    self.emit(Output::Do(Command::ApplyAnswer(sdp)));
                } else if role == Role::Dial && self.phase == Phase::Offered {
                    self.note(SignalingEvent::AnswerReceived, None);
                    self.emit(Output::Do(Command::ApplyAnswer(sdp)));
                    self.enter(Phase::Applying, now);
                } else {
                    debug!("an answer in phase {:?} ignored", self.phase);
                }
            }
            Heard::Candidate(c) => {
                self.heard_peer();
                match c {
                    None => debug!("the other side finished gathering"),
                    Some(c) => self.emit(Output::Do(Command::AddCandidate(c))),
                }
            }
            Heard::Restart(reason) => {
                let settled = self.restart.is_none()
                    && self.outage_since.is_none()
                    && self
                        .restarted_at
                        .is_some_and(|t| now.saturating_duration_since(t) < RESTART_QUIET);
                if role != Role::Dial || self.phase != Phase::Connected || settled {
                    debug!("a restart request in phase {:?} ignored", self.phase);
                    return;
                }
                self.outage_since.get_or_insert(now);
                match self.restart.as_mut() {
                    // Already restarting: the offer is on its way (or lost: the timeout retries).
                    Some(r) => r.peer_heard = true,
                    None => {
                        let why = reason.unwrap_or_else(|| "no reason given".into());
                        self.begin_restart(now, 1, format!("the answerer asked: {why}"), false);
                        self.heard_peer();
                    }
                }
            }
            Heard::Reject(reason) if role == Role::Dial => {
                let reason = reason.unwrap_or_else(|| "no reason given".into());
                self.note(SignalingEvent::Rejected, Some(reason.clone()));
                self.end(Ending::err(
                    EndReason::Rejected,
                    Error::signaling(format!("the call was rejected: {reason}")),
                    false,
                ));
            }
            Heard::Bye(reason) => {
                self.note(SignalingEvent::ByeReceived, reason.clone());
                let ending = if self.phase == Phase::Connected {
                    Ending::ok(EndReason::RemoteBye, false)
                } else {
                    Ending::err(
                        EndReason::RemoteBye,
                        Error::signaling(format!(
                            "the other side hung up before the call connected ({})",
                            reason.unwrap_or_else(|| "no reason given".into())
                        )),
                        false,
                    )
                };
                self.end(ending);
            }
            Heard::Refused(why) => {
                if self.phase == Phase::Connected {
                    // A rejoin refused (the seat went to someone else): the call goes on.
                    self.note(
                        SignalingEvent::Lost,
                        Some(format!("the room refused us on rejoining: {why}")),
                    );
                    return;
                }
                self.end(Ending::err(
                    EndReason::Error,
                    Error::signaling(format!("the signaling server refused us: {why}")),
                    false,
                ));
            }
            Heard::Problem(why) => warn!("signaling server: {why}"),
            other => debug!("ignoring signaling message {other:?} in phase {:?}", self.phase),
        }
    }
}

mod restart;
use restart::Restart;
#[cfg(test)]
mod tests;
