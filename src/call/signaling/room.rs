//! The room front end: the call's signaling over rtccall's room protocol on a WebSocket
//! ([`crate::signal::protocol`]), hosting a server in this process when none runs on a loopback
//! URL, and reconnecting (never hosting then) when a connected call loses it.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use super::{CandidateLine, Event, Heard, Say, Signaling};
use crate::exit::Error;
use crate::report::schema::SignalingEvent;
use crate::signal::protocol::{Message, Token, code};
use crate::signal::{Channel, Embedded, Incoming, Role, connect_or_host};
use crate::tls::TlsSetup;

/// Where a room is and how to get in: the room-protocol half of a call's configuration (the
/// call's role, trust and time bound are the call's own).
#[derive(Debug, Clone)]
pub struct RoomConfig {
    /// The signaling server's `ws://` or `wss://` URL.
    pub server: String,
    /// The room's name.
    pub name: String,
    /// Access token for a `serve --secret` server (`--token`).
    pub token: Option<Token>,
    /// Host a server in this process when none runs on a loopback URL.
    pub embed_server: bool,
}

type Reconnecting = Pin<Box<dyn Future<Output = (Channel, Option<Embedded>)> + Send>>;

/// The room protocol front end of one call.
pub struct RoomSignaling {
    cfg: RoomConfig,
    role: Role,
    /// How a `wss://` server's certificate is checked (`--ca`, `--insecure`).
    tls: Option<TlsSetup>,
    /// Bound on the first connection.
    timeout: Duration,
    /// The connection, while it is up.
    channel: Option<Channel>,
    /// Servers this process hosts (the first one, and any started on reconnection).
    embedded: Vec<Embedded>,
    reconnecting: Option<Reconnecting>,
    /// Events to hand out before reading the connection again.
    queued: VecDeque<Event>,
}

impl RoomSignaling {
    pub fn new(
        cfg: RoomConfig,
        role: Role,
        tls: Option<TlsSetup>,
        timeout: Duration,
    ) -> RoomSignaling {
        RoomSignaling {
            cfg,
            role,
            tls,
            timeout,
            channel: None,
            embedded: Vec::new(),
            reconnecting: None,
            queued: VecDeque::new(),
        }
    }

    fn up(&mut self, (channel, embedded): (Channel, Option<Embedded>), event: SignalingEvent) {
        if let Some(e) = embedded {
            self.queued.push_back(Event::Note(
                SignalingEvent::EmbeddedServer,
                Some(format!(
                    "no signaling server was running; serving {} from this process",
                    e.url
                )),
            ));
            self.embedded.push(e);
        }
        self.queued
            .push_back(Event::Note(event, Some(self.cfg.server.clone())));
        self.channel = Some(channel);
    }

    fn message(&self, say: Say) -> Message {
        match say {
            Say::Join { resume } => Message::Join {
                room: self.cfg.name.clone(),
                role: Some(self.role),
                resume,
                token: self.cfg.token.clone(),
            },
            Say::Offer(sdp) => Message::Offer { sdp },
            Say::Answer(sdp) => Message::Answer { sdp },
            Say::Candidate(Some(c)) => Message::Candidate {
                candidate: Some(c.candidate),
                sdp_mid: c.sdp_mid,
                sdp_mline_index: c.sdp_mline_index,
                username_fragment: c.username_fragment,
            },
            Say::Candidate(None) => Message::Candidate {
                candidate: None,
                sdp_mid: None,
                sdp_mline_index: None,
                username_fragment: None,
            },
            Say::Restart(reason) => Message::Restart {
                reason: Some(reason),
            },
            Say::Reject(reason) => Message::Reject {
                reason: Some(reason),
            },
            Say::Bye(reason) => Message::Bye {
                reason: Some(reason),
            },
        }
    }
}

/// What a room protocol message means to the call (`None`: nothing a client acts on).
pub fn heard(m: Message) -> Option<Heard> {
    Some(match m {
        Message::Joined {
            peer,
            resume,
            ice_servers,
            ..
        } => Heard::Joined {
            peer,
            resume,
            ice_servers: ice_servers
                .into_iter()
                .filter(|s| !s.urls.is_empty())
                .collect(),
        },
        Message::PeerJoined { role } => Heard::PeerJoined(role),
        Message::PeerLeft {} => Heard::PeerLeft,
        Message::Offer { sdp } => Heard::Offer(sdp),
        Message::Answer { sdp } => Heard::Answer(sdp),
        Message::Candidate {
            candidate,
            sdp_mid,
            sdp_mline_index,
            username_fragment,
        } => Heard::Candidate(candidate.filter(|c| !c.trim().is_empty()).map(|candidate| {
            CandidateLine {
                candidate,
                sdp_mid,
                sdp_mline_index,
                username_fragment,
            }
        })),
        Message::Restart { reason } => Heard::Restart(reason),
        Message::Reject { reason } => Heard::Reject(reason),
        Message::Bye { reason } => Heard::Bye(reason),
        Message::Error { code: c, message } => {
            let refusals = [
                code::ROOM_FULL,
                code::BAD_ROOM,
                code::ALREADY_JOINED,
                code::UNAUTHORIZED,
                code::RATE_LIMITED,
                code::UNAVAILABLE,
            ];
            if refusals.contains(&c.as_str()) {
                Heard::Refused(format!("{message} ({c})"))
            } else {
                Heard::Problem(format!("{message} ({c})"))
            }
        }
        Message::Join { .. } => return None,
    })
}

/// How long to wait before the next reconnection attempt.
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(250u64 << attempt.min(4))
}

/// Connect again after losing signaling, with backoff, until it works. It never hosts a server
/// itself: the one that went was someone else's (a `serve` that may be restarting, or the
/// other peer's embedded one), and its address must stay free for it.
async fn reconnect(url: String, tls: Option<TlsSetup>) -> (Channel, Option<Embedded>) {
    let mut attempt = 0;
    loop {
        match connect_or_host(&url, tls.as_ref(), false, Duration::from_secs(3)).await {
            Ok(c) => return c,
            Err(e) => {
                tracing::info!("signaling reconnection failed: {e}");
                tokio::time::sleep(backoff(attempt)).await;
                attempt += 1;
            }
        }
    }
}

#[async_trait::async_trait]
impl Signaling for RoomSignaling {
    async fn open(&mut self) -> Result<(), Error> {
        let c = connect_or_host(
            &self.cfg.server,
            self.tls.as_ref(),
            self.cfg.embed_server,
            self.timeout,
        )
        .await?;
        self.up(c, SignalingEvent::Connected);
        Ok(())
    }

    async fn say(&mut self, say: Say) -> bool {
        let m = self.message(say);
        match &self.channel {
            Some(ch) => ch.send(m).await,
            None => false,
        }
    }

    async fn next(&mut self) -> Event {
        loop {
            if let Some(e) = self.queued.pop_front() {
                return e;
            }
            if let Some(r) = self.reconnecting.as_mut() {
                let back = r.await;
                self.reconnecting = None;
                self.up(back, SignalingEvent::Reconnected);
                self.queued.push_back(Event::Back);
                continue;
            }
            let Some(ch) = self.channel.as_mut() else {
                return std::future::pending().await;
            };
            match ch.rx.recv().await {
                Some(Incoming::Message(m)) => {
                    if let Some(h) = heard(m) {
                        return Event::Heard(h);
                    }
                }
                Some(Incoming::Closed(why)) => {
                    self.channel = None;
                    return Event::Lost(why);
                }
                None => {
                    self.channel = None;
                    return Event::Lost("signaling closed".into());
                }
            }
        }
    }

    fn reconnect(&mut self) {
        if let Some(old) = self.channel.take() {
            tokio::spawn(old.finish());
        }
        self.reconnecting = Some(Box::pin(reconnect(
            self.cfg.server.clone(),
            self.tls.clone(),
        )));
    }

    async fn close(&mut self) {
        self.reconnecting = None;
        if let Some(ch) = self.channel.take() {
            ch.finish().await;
        }
        for e in self.embedded.drain(..) {
            e.finish().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_end_the_call_other_errors_do_not() {
        assert!(matches!(
            heard(Message::error(code::ROOM_FULL, "full")),
            Some(Heard::Refused(_))
        ));
        assert!(matches!(
            heard(Message::error(code::PEER_STALLED, "slow")),
            Some(Heard::Problem(_))
        ));
    }

    #[test]
    fn an_empty_candidate_ends_gathering() {
        let m = Message::Candidate {
            candidate: Some(" ".into()),
            sdp_mid: None,
            sdp_mline_index: None,
            username_fragment: None,
        };
        assert_eq!(heard(m), Some(Heard::Candidate(None)));
    }
}
