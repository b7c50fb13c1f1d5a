//! The signaling seam: what a call says to the other side and hears from it ([`Say`],
//! [`Heard`]), and the [`Signaling`] front end that carries it. The session machine speaks only
//! these types; the room protocol over WebSocket ([`room`]) is one front end, and others (WHIP
//! and WHEP over HTTP) plug in beside it without touching the machine.

pub mod room;
pub mod whip;

use crate::exit::Error;
use crate::ice::IceServer;
use crate::report::schema::SignalingEvent;

/// A trickled ICE candidate, in the flat shape browsers use (`RTCIceCandidateInit`).
#[derive(Debug, Clone, PartialEq)]
pub struct CandidateLine {
    pub candidate: String,
    pub sdp_mid: Option<String>,
    pub sdp_mline_index: Option<u16>,
    pub username_fragment: Option<String>,
}

/// What the call says to the other side (through whatever server is in between).
#[derive(Debug, Clone, PartialEq)]
pub enum Say {
    /// Ask to meet the other side; `resume` asks for the seat an earlier join was given.
    Join {
        resume: Option<crate::signal::protocol::Token>,
    },
    /// An SDP offer (the first one, or an ICE restart).
    Offer(String),
    /// An SDP answer: the call is accepted.
    Answer(String),
    /// A local candidate; `None` when gathering is complete.
    Candidate(Option<CandidateLine>),
    /// Ask the dialer for an ICE restart (the answerer's side of a restart).
    Restart(String),
    /// The call is declined, with a reason.
    Reject(String),
    /// Hang up, with a reason.
    Bye(String),
}

/// What the call hears from the other side or the server between.
#[derive(Debug, Clone, PartialEq)]
pub enum Heard {
    /// We are in: `peer` is the role of the peer already there (`"unknown"` when it gave
    /// none), `resume` gives our seat back after a reconnection, `ice_servers` are what the
    /// server hands out (used when none were configured).
    Joined {
        peer: Option<String>,
        resume: Option<crate::signal::protocol::Token>,
        ice_servers: Vec<IceServer>,
    },
    /// The other peer arrived, with its role if it gave one.
    PeerJoined(Option<String>),
    /// The other peer's signaling went (the call may go on peer to peer).
    PeerLeft,
    Offer(String),
    Answer(String),
    /// A remote candidate; `None` when the other side finished gathering.
    Candidate(Option<CandidateLine>),
    /// The answerer asks for an ICE restart.
    Restart(Option<String>),
    Reject(Option<String>),
    Bye(Option<String>),
    /// The server will not let us in (a full room, a bad token...): the text says why.
    Refused(String),
    /// The server reports a problem that does not end the call (logged).
    Problem(String),
}

/// What happens on the signaling side, as the driver sees it.
#[derive(Debug)]
pub enum Event {
    /// Something the other side (or the server) said.
    Heard(Heard),
    /// Something worth a `signaling` record (a hosted server, a reconnection).
    Note(SignalingEvent, Option<String>),
    /// The connection is gone; the text says why. Nothing more arrives until
    /// [`Signaling::reconnect`] brings it [`Event::Back`].
    Lost(String),
    /// After [`Signaling::reconnect`]: the connection is back.
    Back,
}

/// A signaling front end: it carries one call's [`Say`]s and [`Heard`]s over some transport.
#[async_trait::async_trait]
pub trait Signaling: Send {
    /// Reach the signaling side for the first time (within the call's timeout). Notes for the
    /// records come out of [`Signaling::next`].
    async fn open(&mut self) -> Result<(), Error>;
    /// Say something. `false` when it could not be handed to a live connection.
    async fn say(&mut self, say: Say) -> bool;
    /// The next event. Cancel-safe (it may be dropped in a `select!` and called again); it
    /// waits for ever when nothing can come.
    async fn next(&mut self) -> Event;
    /// The connection was lost while the call goes on: get it back in the background;
    /// [`Signaling::next`] yields [`Event::Back`] once it is.
    fn reconnect(&mut self);
    /// Close everything (sending what is queued first), within about a second.
    async fn close(&mut self);
}
