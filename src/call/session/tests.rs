//! Tests of the session machine: single machines fed inputs, and two machines in one room
//! relaying what they say to each other.

use super::*;
use crate::call::signaling::{Heard, Say};
use crate::exit;
use crate::report::schema::EndReason;

/// What the server relays to the other peer when one says `s`.
fn relayed(s: Say) -> Heard {
    match s {
        Say::Offer(sdp) => Heard::Offer(sdp),
        Say::Answer(sdp) => Heard::Answer(sdp),
        Say::Candidate(c) => Heard::Candidate(c),
        Say::Restart(why) => Heard::Restart(Some(why)),
        Say::Reject(why) => Heard::Reject(Some(why)),
        Say::Bye(why) => Heard::Bye(Some(why)),
        Say::Join { .. } => unreachable!("a join is for the server"),
    }
}

const T: Duration = Duration::from_secs(10);

fn machine(role: Role, accept: AcceptPolicy, t0: Instant) -> Session {
    Session::new(
        SessionConfig {
            role,
            room: "r".into(),
            place_kind: "room",
            timeout: T,
            duration: Some(Duration::from_secs(8)),
            accept,
        },
        t0,
    )
}

fn drain(s: &mut Session) -> Vec<Output> {
    std::iter::from_fn(|| s.poll_output()).collect()
}

fn joined(peer: Option<&str>, token: &str) -> Input {
    Input::Signal(Heard::Joined {
        peer: peer.map(str::to_string),
        resume: Some(token.into()),
        ice_servers: vec![],
    })
}

fn ended(outs: &[Output]) -> Option<&Ending> {
    outs.iter().find_map(|o| match o {
        Output::End(e) => Some(e),
        _ => None,
    })
}

fn exit_code(e: &Ending) -> i32 {
    e.error.as_ref().map_or(exit::OK, Error::code)
}

/// Two machines in one room: what one sends reaches the other (the server's relaying),
/// peer commands succeed at once, and the peer connections connect once both have the
/// descriptions.
struct Room {
    dial: Session,
    answer: Session,
    now: Instant,
    ended: Vec<(Role, Ending)>,
    sent: Vec<(Role, Say)>,
    restarted: Vec<(Role, Duration)>,
}

impl Room {
    fn new(accept: AcceptPolicy) -> Room {
        let now = Instant::now();
        Room {
            dial: machine(Role::Dial, AcceptPolicy::Auto, now),
            answer: machine(Role::Answer, accept, now),
            now,
            ended: vec![],
            sent: vec![],
            restarted: vec![],
        }
    }

    fn feed(&mut self, role: Role, input: Input) {
        let now = self.now;
        let mut queue = VecDeque::from([(role, input)]);
        while let Some((role, input)) = queue.pop_front() {
            let (me, other) = match role {
                Role::Dial => (&mut self.dial, Role::Answer),
                Role::Answer => (&mut self.answer, Role::Dial),
            };
            me.handle(input, now);
            for out in drain(me) {
                match out {
                    Output::Send(Say::Join { .. }) => {}
                    Output::Send(m) => {
                        self.sent.push((role, m.clone()));
                        queue.push_back((other, Input::Signal(relayed(m))));
                    }
                    Output::Do(Command::MakeOffer) => {
                        queue.push_back((role, Input::OfferMade(Ok("offer".into()))))
                    }
                    Output::Do(Command::AnswerOffer(_)) => {
                        queue.push_back((role, Input::AnswerMade(Ok("answer".into()))))
                    }
                    Output::Do(Command::ApplyAnswer(_)) => {
                        queue.push_back((role, Input::AnswerApplied(Ok(()))))
                    }
                    Output::Do(Command::StartSending) => {
                        queue.push_back((role, Input::Conn(ConnState::Connected)));
                    }
                    Output::Do(Command::RestartOffer) => {
                        queue.push_back((role, Input::OfferMade(Ok("restart".into()))))
                    }
                    Output::Do(Command::AnswerAgain(_)) => {
                        queue.push_back((role, Input::AnswerMade(Ok("again".into()))))
                    }
                    Output::Restarted(d) => self.restarted.push((role, d)),
                    Output::End(e) => self.ended.push((role, e)),
                    _ => {}
                }
            }
        }
    }

    /// Both join; the answerer first.
    fn meet(&mut self) {
        self.feed(Role::Answer, Input::SignalUp);
        self.feed(Role::Answer, joined(None, "ta"));
        self.feed(Role::Dial, Input::SignalUp);
        self.feed(
            Role::Answer,
            Input::Signal(Heard::PeerJoined(Some("dial".into()))),
        );
        self.feed(Role::Dial, joined(Some("answer"), "td"));
    }
}

#[test]
fn a_call_connects_whoever_joins_first_and_ends_at_its_duration() {
    let mut room = Room::new(AcceptPolicy::Auto);
    room.meet();
    assert_eq!(room.dial.phase(), Phase::Connected);
    assert_eq!(room.answer.phase(), Phase::Connected);
    let offers = room.sent.iter().filter(|(_, m)| matches!(m, Say::Offer(_)));
    assert_eq!(offers.count(), 1, "exactly one offer, from the dialer");
    // The dialer joined second, the answerer offers nothing: now the other way round.
    let mut room2 = Room::new(AcceptPolicy::Auto);
    room2.feed(Role::Dial, Input::SignalUp);
    room2.feed(Role::Dial, joined(None, "td"));
    room2.feed(Role::Answer, Input::SignalUp);
    // The server queues `joined` for the newcomer before it tells the other peer.
    room2.feed(Role::Answer, joined(Some("dial"), "ta"));
    room2.feed(
        Role::Dial,
        Input::Signal(Heard::PeerJoined(Some("answer".into()))),
    );
    assert_eq!(room2.dial.phase(), Phase::Connected);
    assert_eq!(room2.answer.phase(), Phase::Connected);

    let end = room.dial.deadline().unwrap();
    assert_eq!(end, room.now + Duration::from_secs(8));
    room.now = end;
    room.feed(Role::Dial, Input::Timeout);
    let (role, e) = &room.ended[0];
    assert_eq!(
        (*role, e.reason, e.send_bye),
        (Role::Dial, EndReason::Duration, true)
    );
}

fn offers_sent(room: &Room) -> usize {
    room.sent
        .iter()
        .filter(|(r, m)| *r == Role::Dial && matches!(m, Say::Offer(_)))
        .count()
}

fn both(room: &mut Room, input: impl Fn() -> Input) {
    room.feed(Role::Dial, input());
    room.feed(Role::Answer, input());
}

#[test]
fn ice_restarts_a_second_after_disconnected_and_the_call_goes_on() {
    let mut room = Room::new(AcceptPolicy::Auto);
    room.meet();
    both(&mut room, || Input::IceState(IceState::Connected));
    let t = room.now;
    both(&mut room, || Input::IceState(IceState::Disconnected));
    assert_eq!(room.dial.deadline(), Some(t + RESTART_AFTER));
    room.now = t + RESTART_AFTER;
    room.feed(Role::Dial, Input::Timeout);
    assert_eq!(offers_sent(&room), 2, "a restart offer went out");
    assert!(
        room.sent
            .iter()
            .filter(|(r, m)| *r == Role::Answer && matches!(m, Say::Answer(_)))
            .count()
            == 2,
        "{:?}",
        room.sent
    );
    // ICE failed meanwhile: the other side answered, so it is alive: no ending.
    room.now += Duration::from_millis(500);
    both(&mut room, || Input::Conn(ConnState::Failed));
    assert!(room.ended.is_empty(), "{:?}", room.ended);
    room.now += Duration::from_millis(300);
    both(&mut room, || Input::IceState(IceState::Connected));
    assert_eq!(room.restarted.len(), 2, "both noted it");
    assert_eq!(room.restarted[0].1, Duration::from_millis(1800));
    // The answerer's own timer fires later: no restart now.
    room.feed(Role::Answer, Input::Timeout);
    assert_eq!(offers_sent(&room), 2);
    assert_eq!(room.dial.phase(), Phase::Connected);
}

#[test]
fn a_frozen_peer_still_ends_the_call_when_ice_fails() {
    let t0 = Instant::now();
    let mut d = machine(Role::Dial, AcceptPolicy::Auto, t0);
    d.handle(Input::SignalUp, t0);
    d.handle(joined(Some("answer"), "t"), t0);
    d.handle(Input::OfferMade(Ok("o".into())), t0);
    d.handle(Input::Signal(Heard::Answer("a".into())), t0);
    d.handle(Input::AnswerApplied(Ok(())), t0);
    d.handle(Input::Conn(ConnState::Connected), t0);
    d.handle(Input::IceState(IceState::Disconnected), t0);
    let t1 = t0 + RESTART_AFTER;
    d.handle(Input::Timeout, t1);
    let outs = drain(&mut d);
    assert!(
        outs.contains(&Output::Do(Command::RestartOffer)),
        "{outs:?}"
    );
    // Nothing from the other side, and ICE fails: it is gone.
    d.handle(
        Input::Conn(ConnState::Failed),
        t1 + Duration::from_millis(500),
    );
    let outs = drain(&mut d);
    let e = ended(&outs).expect("ended");
    assert_eq!(exit_code(e), exit::CONNECTION);
}

#[test]
fn a_peer_silent_on_signaling_ends_the_call_even_if_ice_never_says_failed() {
    // webrtc-rs restarts its ICE agent on a restart, so `failed` may never come.
    let mut room = Room::new(AcceptPolicy::Auto);
    room.meet();
    let t = room.now;
    room.feed(Role::Dial, Input::IceState(IceState::Disconnected));
    room.now = t + RESTART_AFTER;
    // The answerer is frozen: nothing reaches it, nothing comes back.
    room.dial.handle(Input::Timeout, room.now);
    drain(&mut room.dial);
    assert_eq!(room.dial.deadline(), Some(t + SILENT_PEER));
    room.dial.handle(Input::Timeout, t + SILENT_PEER);
    let outs = drain(&mut room.dial);
    let e = ended(&outs).expect("ended");
    assert_eq!(exit_code(e), exit::CONNECTION);
    assert!(e.error.as_ref().unwrap().to_string().contains("vanished"));
}

#[test]
fn restarts_are_bounded() {
    let mut room = Room::new(AcceptPolicy::Auto);
    room.dial.cfg.duration = None;
    room.answer.cfg.duration = None;
    room.meet();
    both(&mut room, || Input::IceState(IceState::Disconnected));
    room.now += RESTART_AFTER;
    room.feed(Role::Dial, Input::Timeout);
    for _ in 1..MAX_RESTARTS {
        room.now += RESTART_TIMEOUT;
        room.feed(Role::Dial, Input::Timeout);
        assert!(room.ended.is_empty());
    }
    assert_eq!(offers_sent(&room), 1 + MAX_RESTARTS as usize);
    room.now += RESTART_TIMEOUT;
    room.feed(Role::Dial, Input::Timeout);
    let (role, e) = &room.ended[0];
    assert_eq!((*role, exit_code(e)), (Role::Dial, exit::CONNECTION));
    assert!(e.send_bye);
}

#[test]
fn the_answerer_asks_and_the_dialer_restarts() {
    let mut room = Room::new(AcceptPolicy::Auto);
    room.dial.cfg.duration = None;
    room.answer.cfg.duration = None;
    room.meet();
    room.feed(Role::Answer, Input::IceState(IceState::Disconnected));
    room.now += RESTART_AFTER;
    room.feed(Role::Answer, Input::Timeout);
    assert!(
        room.sent
            .iter()
            .any(|(r, m)| *r == Role::Answer && matches!(m, Say::Restart(_)))
    );
    assert_eq!(offers_sent(&room), 2, "the dialer offered again");
    // A local address change on the dialer while connected restarts too.
    both(&mut room, || Input::IceState(IceState::Connected));
    room.now += Duration::from_secs(5);
    room.dial
        .handle(Input::NetworkChanged("10.0.0.2 gone".into()), room.now);
    // Signaling may be bound to the address that went: it reconnects at once, and the
    // restart offer waits for it (no `offer-sent` for an offer that was not sent).
    let outs = drain(&mut room.dial);
    assert!(outs.contains(&Output::Reconnect), "{outs:?}");
    assert!(
        outs.contains(&Output::Do(Command::RestartOffer)),
        "{outs:?}"
    );
    room.dial
        .handle(Input::OfferMade(Ok("restart".into())), room.now);
    let outs = drain(&mut room.dial);
    assert!(
        !outs
            .iter()
            .any(|o| matches!(o, Output::Send(_) | Output::NoteSent(..))),
        "{outs:?}"
    );
    room.dial.handle(Input::SignalUp, room.now);
    let outs = drain(&mut room.dial);
    assert!(
        matches!(outs[0], Output::Send(Say::Join { .. })),
        "{outs:?}"
    );
    assert_eq!(outs[1], Output::Send(Say::Offer("restart".into())));
    assert!(matches!(
        outs[2],
        Output::NoteSent(SignalingEvent::OfferSent, _)
    ));
    // An offer the front end could not write is kept the same way.
    room.dial
        .handle(Input::Unsent(Say::Offer("restart".into())), room.now);
    room.dial.handle(Input::SignalUp, room.now);
    let outs = drain(&mut room.dial);
    assert_eq!(
        outs[1],
        Output::Send(Say::Offer("restart".into())),
        "{outs:?}"
    );
    // ICE stays connected throughout (the old path still works): the restart is over at
    // its deadline, no retry, the call goes on.
    room.now += RESTART_TIMEOUT;
    room.feed(Role::Dial, Input::Timeout);
    assert_eq!(
        offers_sent(&room),
        2,
        "no retry (the offers above went around the room)"
    );
    assert!(room.ended.is_empty());
    assert_eq!(room.dial.deadline(), None, "no restart deadline left");
}

#[test]
fn glare_the_dialer_keeps_its_own_offer() {
    let t0 = Instant::now();
    let mut d = machine(Role::Dial, AcceptPolicy::Auto, t0);
    d.handle(Input::SignalUp, t0);
    d.handle(joined(Some("unknown"), "t"), t0);
    d.handle(Input::OfferMade(Ok("mine".into())), t0);
    drain(&mut d);
    d.handle(Input::Signal(Heard::Offer("theirs".into())), t0);
    let outs = drain(&mut d);
    assert_eq!(d.phase(), Phase::Offered);
    assert!(outs.contains(&Output::Note(
        SignalingEvent::OfferIgnored,
        Some("an offer crossed ours; the dialer keeps its own".into())
    )));
    assert!(
        !outs
            .iter()
            .any(|o| matches!(o, Output::Do(_) | Output::Send(_)))
    );
    // Its answer still comes through.
    d.handle(Input::Signal(Heard::Answer("a".into())), t0);
    assert!(drain(&mut d).contains(&Output::Do(Command::ApplyAnswer("a".into()))));
}

#[test]
fn a_third_peer_or_a_second_dialer_ends_with_exit_3() {
    let t0 = Instant::now();
    let mut d = machine(Role::Dial, AcceptPolicy::Auto, t0);
    d.handle(Input::SignalUp, t0);
    d.handle(
        Input::Signal(Heard::Refused(
            "room \"r\" already has two peers (room-full)".into(),
        )),
        t0,
    );
    let outs = drain(&mut d);
    assert_eq!(exit_code(ended(&outs).unwrap()), exit::SIGNALING);

    let mut d = machine(Role::Dial, AcceptPolicy::Auto, t0);
    d.handle(Input::SignalUp, t0);
    d.handle(joined(Some("dial"), "t"), t0);
    let outs = drain(&mut d);
    let e = ended(&outs).unwrap();
    assert_eq!(exit_code(e), exit::SIGNALING);
    assert!(
        e.error
            .as_ref()
            .unwrap()
            .to_string()
            .contains("another dialer")
    );
    assert!(!outs.contains(&Output::Do(Command::MakeOffer)));
}

#[test]
fn a_rejected_call_ends_both_sides_with_the_reason() {
    let mut room = Room::new(AcceptPolicy::Reject("busy".into()));
    room.meet();
    let answer = room.ended.iter().find(|(r, _)| *r == Role::Answer).unwrap();
    assert_eq!(
        (answer.1.reason, exit_code(&answer.1)),
        (EndReason::Rejected, exit::OK)
    );
    let dial = room.ended.iter().find(|(r, _)| *r == Role::Dial).unwrap();
    assert_eq!(
        (dial.1.reason, exit_code(&dial.1)),
        (EndReason::Rejected, exit::SIGNALING)
    );
    assert!(dial.1.error.as_ref().unwrap().to_string().contains("busy"));
}

#[test]
fn asking_the_person_declined_rejects() {
    let t0 = Instant::now();
    let mut a = machine(Role::Answer, AcceptPolicy::Ask, t0);
    a.handle(Input::SignalUp, t0);
    a.handle(joined(Some("dial"), "t"), t0);
    a.handle(Input::Signal(Heard::Offer("o".into())), t0);
    assert!(drain(&mut a).contains(&Output::Ask));
    assert_eq!(a.deadline(), None, "no timeout while the person decides");
    a.handle(Input::Decision(Err(String::new())), t0);
    let outs = drain(&mut a);
    assert!(outs.contains(&Output::Send(Say::Reject("declined".into()))));
    assert_eq!(ended(&outs).unwrap().reason, EndReason::Rejected);
}

#[test]
fn bye_before_the_answer_is_a_signaling_failure_after_it_a_normal_end() {
    let t0 = Instant::now();
    let mut d = machine(Role::Dial, AcceptPolicy::Auto, t0);
    d.handle(Input::SignalUp, t0);
    d.handle(joined(Some("answer"), "t"), t0);
    d.handle(Input::OfferMade(Ok("o".into())), t0);
    d.handle(Input::Signal(Heard::Bye(None)), t0);
    let outs = drain(&mut d);
    let e = ended(&outs).unwrap();
    assert_eq!(
        (e.reason, exit_code(e), e.send_bye),
        (EndReason::RemoteBye, exit::SIGNALING, false)
    );

    let mut room = Room::new(AcceptPolicy::Auto);
    room.meet();
    room.feed(Role::Answer, Input::Signal(Heard::Bye(None)));
    let e = &room.ended[0].1;
    assert_eq!((e.reason, exit_code(e)), (EndReason::RemoteBye, exit::OK));
}

#[test]
fn timeouts_name_the_phase() {
    let t0 = Instant::now();
    let mut d = machine(Role::Dial, AcceptPolicy::Auto, t0);
    d.handle(Input::SignalUp, t0);
    d.handle(joined(None, "t"), t0);
    drain(&mut d);
    d.handle(Input::Timeout, t0 + T / 2);
    assert!(
        drain(&mut d).is_empty(),
        "a timeout before the deadline does nothing"
    );
    d.handle(Input::Timeout, t0 + T);
    let outs = drain(&mut d);
    let e = ended(&outs).unwrap();
    assert_eq!(exit_code(e), exit::SIGNALING);
    assert!(
        e.error
            .as_ref()
            .unwrap()
            .to_string()
            .contains("nobody answered")
    );

    // Descriptions exchanged but ICE never connects: a connection failure.
    let mut a = machine(Role::Answer, AcceptPolicy::Auto, t0);
    a.handle(Input::SignalUp, t0);
    a.handle(joined(Some("dial"), "t"), t0);
    a.handle(Input::Signal(Heard::Offer("o".into())), t0);
    let t1 = t0 + Duration::from_secs(3);
    a.handle(Input::AnswerMade(Ok("a".into())), t1);
    a.handle(Input::IceState(IceState::Checking), t1);
    assert_eq!(
        a.deadline(),
        Some(t1 + T),
        "the connect bound starts with the answer"
    );
    a.handle(Input::Timeout, t1 + T);
    let outs = drain(&mut a);
    let e = ended(&outs).unwrap();
    assert_eq!((exit_code(e), e.send_bye), (exit::CONNECTION, true));
    assert!(
        e.error
            .as_ref()
            .unwrap()
            .to_string()
            .contains("ICE state: checking")
    );
}

#[test]
fn losing_signaling_before_connecting_ends_with_exit_3() {
    let t0 = Instant::now();
    let mut d = machine(Role::Dial, AcceptPolicy::Auto, t0);
    d.handle(Input::SignalUp, t0);
    d.handle(joined(Some("answer"), "t"), t0);
    d.handle(Input::OfferMade(Ok("o".into())), t0);
    d.handle(
        Input::SignalLost("the signaling server closed the connection".into()),
        t0,
    );
    let outs = drain(&mut d);
    let e = ended(&outs).unwrap();
    assert_eq!((exit_code(e), e.send_bye), (exit::SIGNALING, false));
    assert!(!outs.contains(&Output::Reconnect));
}

#[test]
fn a_connected_call_outlives_signaling_and_rejoins_its_seat() {
    let mut room = Room::new(AcceptPolicy::Auto);
    room.meet();
    room.feed(
        Role::Dial,
        Input::SignalLost("signaling connection lost".into()),
    );
    room.feed(
        Role::Answer,
        Input::SignalLost("signaling connection lost".into()),
    );
    assert!(room.ended.is_empty());
    assert_eq!(room.dial.phase(), Phase::Connected);
    // The driver reconnects; the machine asks for its seat back with its token.
    let now = room.now;
    room.dial.handle(Input::SignalUp, now);
    let outs = drain(&mut room.dial);
    assert_eq!(
        outs,
        vec![Output::Send(Say::Join {
            resume: Some("td".into())
        })]
    );
    // A new server (no seats kept) lets it in alone: no new offer, the call goes on.
    room.dial.handle(joined(None, "td2"), now);
    let outs = drain(&mut room.dial);
    assert!(
        !outs
            .iter()
            .any(|o| matches!(o, Output::Do(_) | Output::End(_)))
    );
    room.dial
        .handle(Input::Signal(Heard::PeerJoined(Some("answer".into()))), now);
    assert!(
        !drain(&mut room.dial)
            .iter()
            .any(|o| matches!(o, Output::Do(_)))
    );
    // The other side's peer-left is noted only; a later bye still ends it normally.
    room.dial.handle(Input::Signal(Heard::PeerLeft), now);
    assert!(ended(&drain(&mut room.dial)).is_none());
    room.dial.handle(Input::Signal(Heard::Bye(None)), now);
    let outs = drain(&mut room.dial);
    assert_eq!(ended(&outs).unwrap().reason, EndReason::RemoteBye);
}

#[test]
fn without_signaling_the_call_still_ends_at_its_duration_and_on_ctrl_c() {
    let mut room = Room::new(AcceptPolicy::Auto);
    room.meet();
    room.feed(Role::Dial, Input::SignalLost("gone".into()));
    room.feed(Role::Answer, Input::SignalLost("gone".into()));
    room.sent.clear();
    room.now += Duration::from_secs(8);
    room.feed(Role::Dial, Input::Timeout);
    room.feed(Role::Answer, Input::Cancel);
    assert!(
        room.sent.is_empty(),
        "nothing is sent while signaling is down"
    );
    let reasons: Vec<_> = room
        .ended
        .iter()
        .map(|(_, e)| (e.reason, exit_code(e)))
        .collect();
    assert_eq!(
        reasons,
        vec![
            (EndReason::Duration, exit::OK),
            (EndReason::Interrupted, exit::INTERRUPTED)
        ]
    );
}

#[test]
fn ice_failure_ends_the_call_with_exit_4() {
    let mut room = Room::new(AcceptPolicy::Auto);
    room.meet();
    room.feed(Role::Answer, Input::Conn(ConnState::Failed));
    let e = &room.ended[0].1;
    assert_eq!((exit_code(e), e.send_bye), (exit::CONNECTION, true));
}

#[test]
fn the_end_of_a_file_hangs_up_after_a_grace() {
    let mut room = Room::new(AcceptPolicy::Auto);
    room.meet();
    let now = room.now;
    room.dial.handle(Input::MediaEnded(None), now);
    assert_eq!(room.dial.deadline(), Some(now + END_OF_MEDIA_GRACE));
    room.dial.handle(Input::Timeout, now + END_OF_MEDIA_GRACE);
    let outs = drain(&mut room.dial);
    assert_eq!(
        ended(&outs).unwrap(),
        &Ending::ok(EndReason::EndOfMedia, true)
    );
}

#[test]
fn finished_data_work_hangs_up_unless_a_duration_is_set() {
    let mut room = Room::new(AcceptPolicy::Auto);
    room.dial.cfg.duration = None;
    room.meet();
    let now = room.now;
    room.dial.handle(Input::DataDone, now);
    let outs = drain(&mut room.dial);
    assert_eq!(
        ended(&outs).unwrap(),
        &Ending::ok(EndReason::DataDone, true)
    );

    let mut room = Room::new(AcceptPolicy::Auto);
    room.meet();
    let now = room.now;
    room.dial.handle(Input::DataDone, now);
    assert!(ended(&drain(&mut room.dial)).is_none());
}

#[test]
fn negotiation_starts_once_before_the_offer_and_never_for_a_restart() {
    let t0 = Instant::now();
    let mut d = machine(Role::Dial, AcceptPolicy::Auto, t0);
    d.handle(Input::SignalUp, t0);
    d.handle(joined(Some("answer"), "t"), t0);
    let outs = drain(&mut d);
    let started = outs.iter().position(|o| *o == Output::NegotiationStarted);
    let offer = outs
        .iter()
        .position(|o| *o == Output::Do(Command::MakeOffer));
    assert!(started.is_some() && started < offer, "{outs:?}");

    let mut a = machine(Role::Answer, AcceptPolicy::Auto, t0);
    a.handle(Input::SignalUp, t0);
    a.handle(joined(Some("dial"), "t"), t0);
    drain(&mut a);
    a.handle(Input::Signal(Heard::Offer("o".into())), t0);
    let outs = drain(&mut a);
    assert_eq!(
        outs.iter()
            .filter(|o| **o == Output::NegotiationStarted)
            .count(),
        1
    );
    a.handle(Input::AnswerMade(Ok("a".into())), t0);
    a.handle(Input::Conn(ConnState::Connected), t0);
    a.handle(Input::IceState(IceState::Disconnected), t0);
    drain(&mut a);
    // The dialer's ICE restart offer: answered again, but set-up timings are not reset.
    a.handle(Input::Signal(Heard::Offer("restart".into())), t0);
    let outs = drain(&mut a);
    assert!(outs.contains(&Output::Do(Command::AnswerAgain("restart".into()))));
    assert!(!outs.contains(&Output::NegotiationStarted), "{outs:?}");
}

/// `--restart-ice-after` on a working path: the dialer offers again, the answerer asks it to;
/// both note `ice-restarted` once ICE is connected on the new credentials, and the call goes
/// on (no ending, the restart over).
#[test]
fn a_restart_asked_for_on_a_working_path_is_carried_out_by_either_side() {
    for asker in [Role::Dial, Role::Answer] {
        let mut room = Room::new(AcceptPolicy::Auto);
        room.meet();
        room.feed(Role::Dial, Input::IceState(IceState::Connected));
        room.feed(Role::Answer, Input::IceState(IceState::Connected));
        assert_eq!(room.dial.phase(), Phase::Connected);
        assert_eq!(offers_sent(&room), 1);
        room.now += Duration::from_millis(1500);
        room.feed(asker, Input::RestartIce("asked".into()));
        assert_eq!(offers_sent(&room), 2, "{asker:?}: {:?}", room.sent);
        // Asked twice while one is under way: still one restart.
        room.feed(asker, Input::RestartIce("again".into()));
        assert_eq!(offers_sent(&room), 2, "{asker:?}");
        room.now += Duration::from_millis(5);
        room.feed(Role::Dial, Input::IceState(IceState::Connected));
        room.feed(Role::Answer, Input::IceState(IceState::Connected));
        let asked = room
            .restarted
            .iter()
            .find(|(r, _)| *r == asker)
            .map(|(_, d)| *d);
        assert_eq!(
            asked,
            Some(Duration::ZERO),
            "{asker:?}: {:?}",
            room.restarted
        );
        assert!(room.ended.is_empty(), "{asker:?}: {:?}", room.ended);
        assert_eq!(room.dial.phase(), Phase::Connected);
    }
}
