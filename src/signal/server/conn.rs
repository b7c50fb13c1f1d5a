//! One upgraded WebSocket client, on one task: reads its messages (join, then relayed ones),
//! writes what its [`Outbox`] holds, and closes it with the RFC 6455 code that says why.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::error::CapacityError;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message as Frame};
use tracing::debug;

use super::IceHandout;
use super::budget::Budget;
use super::hub::Hub;
use super::limits::{Gate, Permit};
use super::metrics::Metrics;
use super::outbox::{Item, Outbox};
use super::rooms::{JoinRequest, Relayed};
use crate::signal::auth;
use crate::signal::protocol::{Message, code, parse_client, validate_room};

/// Frames larger than this close the connection with 1009. Between
/// [`crate::signal::protocol::MAX_MESSAGE_BYTES`] and this, the server replies `too-large` and keeps
/// the connection.
pub const HARD_FRAME_LIMIT: usize = 1024 * 1024;
/// How often the server pings a client that has been quiet.
pub const PING_EVERY: std::time::Duration = std::time::Duration::from_secs(2);
/// A client from which nothing (a message, a pong) arrived for this long is gone (its network
/// changed, it froze): its connection is closed and its seat held as for any lost connection.
pub const SILENT_DEAD: std::time::Duration = std::time::Duration::from_secs(6);
/// Bytes read from the socket at a time; the buffer grows only for a larger message (an offer
/// of a few KiB takes a few reads; an idle client holds only this).
const READ_BUFFER: usize = 512;

/// What every connection of one server shares.
pub struct Shared {
    pub hub: Hub,
    pub ice: IceHandout,
    /// `--secret`: joins need a token signed with it.
    pub secret: Option<String>,
    pub gate: Arc<Gate>,
    pub metrics: Metrics,
    pub ids: AtomicU64,
    /// Cancelled when the server stops: every client is closed with 1001.
    pub stop: tokio_util::sync::CancellationToken,
    /// WHIP/WHEP sessions: room seats held for HTTP clients.
    pub whip: super::sessions::Sessions,
}

impl Shared {
    fn fail(&self, outbox: &Outbox, code: &'static str, message: impl Into<String>) {
        self.metrics.error(code);
        outbox.send(&Message::error(code, message));
    }
}

/// The WebSocket settings of the server side: small buffers (idle clients cost little), frames
/// written at once.
pub fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        .max_write_buffer_size(HARD_FRAME_LIMIT * 2)
        .max_message_size(Some(HARD_FRAME_LIMIT))
        .max_frame_size(Some(HARD_FRAME_LIMIT))
}

/// Serve one client until it goes; `permit` holds its place in the connection count.
pub async fn run<S>(
    mut ws: WebSocketStream<S>,
    shared: Arc<Shared>,
    peer: SocketAddr,
    permit: Permit,
    budget: Arc<Budget>,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let _permit = permit;
    let id = shared.ids.fetch_add(1, Ordering::Relaxed);
    debug!("client {id} connected from {peer}");
    let outbox = Outbox::default();
    let mut room: Option<String> = None;
    let stall = shared.gate.limits.stall_timeout;
    let join_by = tokio::time::sleep(shared.gate.limits.join_timeout);
    tokio::pin!(join_by);
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut heard = tokio::time::Instant::now();
    let close: Option<(u16, &str)> = loop {
        tokio::select! {
            item = outbox.next() => match item {
                Item::Text(t) => {
                    match tokio::time::timeout(stall, ws.send(Frame::Text(t))).await {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => {
                            debug!("client {id}: write failed: {e}");
                            break None;
                        }
                        Err(_) => {
                            debug!("client {id}: not reading; disconnected");
                            break Some((super::outbox::CLOSE_STALLED, "not reading its messages"));
                        }
                    }
                }
                Item::Close(code, why) => break Some((code, why)),
            },
            _ = shared.stop.cancelled() => break Some((1001, "the server is stopping")),
            _ = ping.tick() => {
                if heard.elapsed() >= SILENT_DEAD {
                    debug!("client {id}: silent for {SILENT_DEAD:?}; disconnected");
                    shared.metrics.refused("silent");
                    break Some((1001, "no answer to pings"));
                }
                if heard.elapsed() >= PING_EVERY {
                    let ping = ws.send(Frame::Ping(Default::default()));
                    if tokio::time::timeout(stall, ping).await.is_err() {
                        break Some((super::outbox::CLOSE_STALLED, "not reading its messages"));
                    }
                }
            }
            _ = &mut join_by, if room.is_none() => {
                shared.metrics.refused("join-timeout");
                break Some((1008, "no join in time (the server's --join-timeout)"));
            }
            frame = ws.next() => {
                heard = tokio::time::Instant::now();
                let text = match frame {
                    Some(Ok(Frame::Text(t))) => t,
                    Some(Ok(Frame::Binary(_))) => {
                        shared.fail(&outbox, code::BAD_MESSAGE,
                            "binary frames are not part of the protocol; send JSON text");
                        continue;
                    }
                    Some(Ok(Frame::Close(_))) => {
                        // tungstenite has queued the reply (the client's code echoed, or 1002
                        // for a code RFC 6455 §7.4 does not allow): send it before going.
                        let _ = tokio::time::timeout(
                            std::time::Duration::from_secs(1), ws.flush()).await;
                        break None;
                    }
                    None => break None,
                    Some(Ok(_)) => continue, // ping/pong are answered by tungstenite
                    Some(Err(WsError::Capacity(CapacityError::MessageTooLong { .. }))) => {
                        shared.metrics.error(code::TOO_LARGE);
                        break Some((1009, "message over 1 MiB"));
                    }
                    Some(Err(WsError::Utf8(_))) => {
                        shared.metrics.error(code::BAD_MESSAGE);
                        break Some((1007, "text frame is not valid UTF-8"));
                    }
                    Some(Err(WsError::Protocol(e))) => {
                        debug!("client {id}: {e}");
                        break Some((1002, "WebSocket protocol error"));
                    }
                    Some(Err(_)) if budget.exceeded() => {
                        shared.metrics.refused("unjoined-too-large");
                        break Some((1009, "too much sent before joining a room"));
                    }
                    Some(Err(e)) => {
                        debug!("client {id}: {e}");
                        break None;
                    }
                };
                // Boxed: its state (a Redis round trip, say) exists only while a message is
                // handled, instead of enlarging every idle connection.
                Box::pin(handle(&shared, &outbox, id, peer, &mut room, text)).await;
                if room.is_some() {
                    budget.lift();
                }
            }
        }
    };
    if let Some(name) = room.take() {
        Box::pin(shared.hub.leave(&name, id)).await;
    }
    match outbox.refused() {
        0 => {}
        n => tracing::warn!(
            "client {id}: {n} message(s) for it were not delivered (it was not reading)"
        ),
    }
    if let Some((code, why)) = close {
        let frame = CloseFrame {
            code: CloseCode::from(code),
            reason: why.into(),
        };
        let _ =
            tokio::time::timeout(std::time::Duration::from_secs(1), ws.close(Some(frame))).await;
    }
    debug!("client {id} gone");
}

/// One text frame from the client.
async fn handle(
    shared: &Shared,
    outbox: &Outbox,
    id: u64,
    peer: SocketAddr,
    room: &mut Option<String>,
    text: tokio_tungstenite::tungstenite::Utf8Bytes,
) {
    let msg = match parse_client(text.as_str()) {
        Ok(m) => m,
        Err((code, message)) => {
            debug!("client {id}: refused: {message}");
            shared.fail(outbox, code, message);
            return;
        }
    };
    match msg {
        Message::Join {
            room: name,
            role,
            resume,
            token,
        } => {
            if room.is_some() {
                shared.fail(
                    outbox,
                    code::ALREADY_JOINED,
                    "this connection already joined a room",
                );
                return;
            }
            if let Err(why) = validate_room(&name) {
                shared.fail(outbox, code::BAD_ROOM, why);
                return;
            }
            if !shared.gate.may_join(peer.ip()) {
                shared.fail(
                    outbox,
                    code::RATE_LIMITED,
                    "too many joins from your address; wait a second and try again",
                );
                return;
            }
            if let Some(secret) = &shared.secret {
                if let Err(why) =
                    auth::verify(secret, token.as_ref().map(|t| t.as_str()), &name, role)
                {
                    debug!("client {id}: unauthorized: {why}");
                    shared.fail(outbox, code::UNAUTHORIZED, why);
                    return;
                }
            }
            let joined = shared
                .hub
                .join(JoinRequest {
                    room: &name,
                    id,
                    role: role.map(|r| r.as_str().to_string()),
                    resume: resume.map(|t| t.0),
                    outbox,
                    ice_servers: shared.ice.for_join(),
                })
                .await;
            match joined {
                Ok(()) => {
                    shared.metrics.joins.fetch_add(1, Ordering::Relaxed);
                    *room = Some(name);
                }
                Err(code) => shared.metrics.error(code),
            }
        }
        other => {
            let Some(name) = room.as_deref() else {
                shared.fail(outbox, code::NOT_JOINED, "send a \"join\" message first");
                return;
            };
            let is_bye = matches!(other, Message::Bye { .. });
            if is_bye {
                shared.hub.call_over(name).await;
            }
            match shared.hub.relay(name, id, text).await {
                Relayed::Sent => {
                    shared.metrics.relayed.fetch_add(1, Ordering::Relaxed);
                }
                Relayed::NoPeer if is_bye => {}
                Relayed::NoPeer => {
                    shared.fail(outbox, code::NO_PEER, "nobody else is in the room");
                }
                Relayed::Unavailable => shared.fail(
                    outbox,
                    code::UNAVAILABLE,
                    "the signaling server cannot reach its room store (Redis) just now; \
                     this message was not delivered",
                ),
                Relayed::Stalled => shared.fail(
                    outbox,
                    code::PEER_STALLED,
                    "the other peer is not reading its messages and is being disconnected; \
                     this message was not delivered",
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    /// An idle joined client costs its task's state: keep it small (what a message or a Redis
    /// round trip needs is boxed while it runs).
    #[tokio::test]
    async fn an_idle_client_task_stays_small() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let s = tokio::net::TcpStream::connect(l.local_addr().unwrap())
            .await
            .unwrap();
        let ws = tokio_tungstenite::WebSocketStream::from_raw_socket(
            s,
            tokio_tungstenite::tungstenite::protocol::Role::Server,
            Some(super::ws_config()),
        )
        .await;
        let shared = std::sync::Arc::new(super::Shared {
            hub: super::Hub::Local(Default::default()),
            ice: Default::default(),
            secret: None,
            gate: super::Gate::new(Default::default()),
            metrics: Default::default(),
            ids: Default::default(),
            stop: Default::default(),
            whip: Default::default(),
        });
        let permit = match shared.gate.admit([127, 0, 0, 1].into()) {
            super::super::limits::Admission::Open(p) => p,
            _ => panic!(),
        };
        let budget = super::Budget::new(Default::default());
        let fut = super::run(ws, shared, "127.0.0.1:1".parse().unwrap(), permit, budget);
        let size = std::mem::size_of_val(&fut);
        assert!(size <= 1536, "the client task's state is {size} bytes");
    }
}
