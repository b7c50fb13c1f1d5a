//! The ICE restart policy of a connected call: when to restart (ICE down for
//! [`RESTART_AFTER`](super::RESTART_AFTER), or our addresses changed), who acts (the dialer
//! offers again, the answerer asks it to), how long an attempt may take, how many there may be,
//! and when the other peer counts as vanished (silent on signaling through an outage).

use std::time::Instant;

use super::{
    Command, Ending, IceState, MAX_RESTARTS, Output, RESTART_AFTER, RESTART_TIMEOUT, Role,
    SILENT_PEER, Session,
};
use crate::call::signaling::Say;
use crate::exit::Error;
use crate::report::schema::{EndReason, SignalingEvent};

/// An ICE restart under way.
#[derive(Debug, Clone, Copy)]
pub(super) struct Restart {
    pub(super) started: Instant,
    /// 1 for the first attempt of this outage.
    pub(super) attempt: u32,
    /// The other peer spoke on signaling since the outage began: it is alive, so `failed`
    /// does not end the call while the restart goes on.
    pub(super) peer_heard: bool,
    /// Our own addresses changed: the old path is gone for a known reason.
    pub(super) local_change: bool,
}

impl Session {
    /// Start (or retry) an ICE restart: the dialer offers with new ICE credentials, the
    /// answerer asks the dialer to.
    pub(super) fn begin_restart(
        &mut self,
        now: Instant,
        attempt: u32,
        why: String,
        local_change: bool,
    ) {
        let prev = self.restart;
        self.restart = Some(Restart {
            started: now,
            attempt,
            peer_heard: prev.is_some_and(|r| r.peer_heard),
            local_change: local_change || prev.is_some_and(|r| r.local_change),
        });
        self.note(
            SignalingEvent::IceRestart,
            Some(format!("attempt {attempt} of {MAX_RESTARTS}: {why}")),
        );
        match self.cfg.role {
            Role::Dial => self.emit(Output::Do(Command::RestartOffer)),
            Role::Answer => {
                self.send(Say::Restart(why));
            }
        }
    }

    /// The other peer said something on signaling: it is alive.
    pub(super) fn heard_peer(&mut self) {
        if let Some(r) = self.restart.as_mut() {
            r.peer_heard = true;
        }
    }

    /// Restart deadlines, while connected: `true` if the call ended.
    pub(super) fn restart_timeout(&mut self, now: Instant) -> bool {
        // A restart whose ICE never left `connected` (an address appeared, the old path
        // stayed) reports no transition: it is done.
        if self.restart.is_some()
            && matches!(self.ice_state, IceState::Connected | IceState::Completed)
        {
            self.restart = None;
            self.outage_since = None;
            return false;
        }
        if let (Some(r), Some(t)) = (self.restart, self.outage_since)
            && !r.peer_heard
            && !r.local_change
            && now >= t + SILENT_PEER
        {
            self.end(Ending::err(
                EndReason::Error,
                Error::connection(
                    "the other peer vanished: it stopped answering ICE consent checks (ICE failed) and did not answer the ICE restart on signaling"
                        .into(),
                ),
                true,
            ));
            return true;
        }
        match (self.restart, self.outage_since) {
            (Some(r), _) if now >= r.started + RESTART_TIMEOUT => {
                if r.attempt >= MAX_RESTARTS {
                    self.end(Ending::err(
                        EndReason::Error,
                        Error::connection(format!(
                            "the connection was lost and {MAX_RESTARTS} ICE restarts did not bring it back"
                        )),
                        true,
                    ));
                    return true;
                }
                self.begin_restart(
                    now,
                    r.attempt + 1,
                    format!(
                        "attempt {} did not connect within {} s",
                        r.attempt,
                        RESTART_TIMEOUT.as_secs_f64()
                    ),
                    false,
                );
            }
            (None, Some(t)) if now >= t + RESTART_AFTER => {
                self.begin_restart(
                    now,
                    1,
                    format!(
                        "ICE {} for {} ms",
                        self.ice_state.as_str(),
                        RESTART_AFTER.as_millis()
                    ),
                    false,
                );
            }
            _ => {}
        }
        false
    }
}
