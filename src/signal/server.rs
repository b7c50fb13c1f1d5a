//! The room server behind `rtccall serve` (and the embedded server a peer starts for itself):
//! accepts WebSocket clients, admits at most two per room, relays messages to the other peer of
//! the same room, and answers bad input with an `error` message without ever dropping others.
//! Plain HTTP requests on the same port get the browser call page ([`super::http`]).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as Frame;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::http;
use super::protocol::{IceServerJson, Message, code, parse_client, validate_room};

/// Frames larger than this are refused by the WebSocket layer itself (the connection closes).
/// Between [`super::protocol::MAX_MESSAGE_BYTES`] and this, the server replies `too-large` and
/// keeps the connection.
const HARD_FRAME_LIMIT: usize = 1024 * 1024;
/// Frames queued towards one client before it is considered stuck and disconnected.
const CLIENT_QUEUE: usize = 256;

type Outbox = mpsc::Sender<Frame>;

/// How long the seat of a peer whose connection went (without `bye`) is kept for it: a `join`
/// with its resume token within this time gets it back.
pub const RESUME_GRACE: Duration = Duration::from_secs(30);

struct Member {
    id: u64,
    role: Option<String>,
    outbox: Outbox,
    /// Shown back in a later `join` to get this seat again.
    token: String,
    /// It sent `bye`: its seat is not kept when it goes.
    leaving: bool,
}

/// A seat kept for a peer whose connection went.
struct Reserved {
    token: String,
    /// Tells this reservation from a later one with the same token.
    id: u64,
}

#[derive(Default)]
struct Room {
    members: Vec<Member>,
    reserved: Vec<Reserved>,
}

#[derive(Default)]
struct Rooms {
    rooms: HashMap<String, Room>,
}

/// A fresh, unguessable resume token (128 random bits, hex).
fn new_token() -> String {
    let mut b = [0u8; 16];
    if getrandom::fill(&mut b).is_err() {
        // No OS randomness: a token that at least differs per process and call.
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        b = (t ^ (u128::from(std::process::id()) << 64)).to_le_bytes();
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The ICE servers a signaling server hands to every peer in `joined`.
#[derive(Debug, Clone, Default)]
pub struct IceHandout {
    /// Given as they are (credentials included).
    pub servers: Vec<IceServerJson>,
    /// TURN URLs that get fresh TURN REST credentials minted per join from this secret.
    pub rest: Option<RestSecret>,
}

/// A coturn `static-auth-secret` and the lifetime of the credentials minted from it.
#[derive(Debug, Clone)]
pub struct RestSecret {
    pub secret: String,
    pub user: String,
    pub ttl_s: u64,
    pub urls: Vec<String>,
}

impl IceHandout {
    /// The list for one join.
    fn for_join(&self) -> Vec<IceServerJson> {
        let mut v = self.servers.clone();
        if let Some(r) = &self.rest {
            let (username, credential) = crate::ice::rest_credentials(
                &r.secret,
                &r.user,
                r.ttl_s,
                std::time::SystemTime::now(),
            );
            v.push(IceServerJson {
                urls: r.urls.clone(),
                username: Some(username),
                credential: Some(credential),
            });
        }
        v
    }
}

/// A bound signaling server; call [`Server::run`] to serve.
pub struct Server {
    listener: TcpListener,
    addr: SocketAddr,
    clients: Arc<AtomicUsize>,
    ice: Arc<IceHandout>,
}

impl Server {
    /// Bind the listening socket (port 0 picks a free port).
    pub async fn bind(addr: SocketAddr) -> std::io::Result<Server> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        Ok(Server {
            listener,
            addr,
            clients: Arc::new(AtomicUsize::new(0)),
            ice: Arc::new(IceHandout::default()),
        })
    }

    /// Hand these ICE servers to every peer that joins.
    pub fn with_ice(mut self, ice: IceHandout) -> Server {
        self.ice = Arc::new(ice);
        self
    }

    /// A live count of connected clients.
    pub fn clients(&self) -> Arc<AtomicUsize> {
        self.clients.clone()
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The `ws://` URL clients connect to.
    pub fn url(&self) -> String {
        format!("ws://{}/", self.addr)
    }

    /// Serve until `shutdown` is cancelled. Never returns an error for a client's fault.
    pub async fn run(self, shutdown: CancellationToken) {
        let rooms = Arc::new(Mutex::new(Rooms::default()));
        let ids = Arc::new(AtomicU64::new(1));
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        let rooms = rooms.clone();
                        let id = ids.fetch_add(1, Ordering::Relaxed);
                        let shutdown = shutdown.clone();
                        let clients = self.clients.clone();
                        clients.fetch_add(1, Ordering::SeqCst);
                        let ice = self.ice.clone();
                        let ids = ids.clone();
                        tokio::spawn(async move {
                            tokio::select! {
                                _ = shutdown.cancelled() => {}
                                _ = async {
                                    match http::classify(&stream).await {
                                        http::Kind::WebSocket => {
                                            serve_client(stream, peer, id, rooms, ice, ids).await
                                        }
                                        http::Kind::Http => {
                                            let health = || health_json(&rooms, &clients);
                                            http::serve(stream, health).await
                                        }
                                        http::Kind::Bad => {}
                                    }
                                } => {}
                            }
                            clients.fetch_sub(1, Ordering::SeqCst);
                        });
                    }
                    Err(e) => {
                        // Out of file descriptors and the like: wait a moment, keep serving.
                        warn!("accept failed: {e}");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    }
                },
            }
        }
        info!("signaling server on {} stopped", self.addr);
    }
}

/// `/healthz`: the server is up; how many connections and rooms it holds.
fn health_json(rooms: &Mutex<Rooms>, clients: &AtomicUsize) -> String {
    let rooms = rooms.lock().map(|r| r.rooms.len()).unwrap_or(0);
    serde_json::json!({
        "status": "ok",
        "connections": clients.load(Ordering::SeqCst),
        "rooms": rooms,
    })
    .to_string()
}

fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(HARD_FRAME_LIMIT))
        .max_frame_size(Some(HARD_FRAME_LIMIT))
}

async fn serve_client(
    stream: TcpStream,
    peer: SocketAddr,
    id: u64,
    rooms: Arc<Mutex<Rooms>>,
    ice: Arc<IceHandout>,
    ids: Arc<AtomicU64>,
) {
    let _ = stream.set_nodelay(true);
    let ws = match tokio_tungstenite::accept_async_with_config(stream, Some(ws_config())).await {
        Ok(ws) => ws,
        Err(e) => {
            debug!("client {peer}: handshake failed: {e}");
            return;
        }
    };
    debug!("client {id} connected from {peer}");
    let (mut sink, mut source) = ws.split();
    let (outbox, mut queue) = mpsc::channel::<Frame>(CLIENT_QUEUE);
    let writer = tokio::spawn(async move {
        while let Some(frame) = queue.recv().await {
            let close = matches!(frame, Frame::Close(_));
            if sink.send(frame).await.is_err() || close {
                break;
            }
        }
        let _ = sink.close().await;
    });

    let mut room: Option<String> = None;
    while let Some(frame) = source.next().await {
        let text = match frame {
            Ok(Frame::Text(t)) => t,
            Ok(Frame::Binary(_)) => {
                reply(
                    &outbox,
                    Message::error(
                        code::BAD_MESSAGE,
                        "binary frames are not part of the protocol; send JSON text",
                    ),
                );
                continue;
            }
            Ok(Frame::Close(_)) => break,
            Ok(_) => continue, // ping/pong are answered by tungstenite
            Err(e) => {
                debug!("client {id}: {e}");
                break;
            }
        };
        let msg = match parse_client(text.as_str()) {
            Ok(m) => m,
            Err((code, message)) => {
                debug!("client {id}: refused: {message}");
                reply(&outbox, Message::error(code, message));
                continue;
            }
        };
        match msg {
            Message::Join {
                room: name,
                role,
                resume,
            } => {
                if room.is_some() {
                    reply(
                        &outbox,
                        Message::error(
                            code::ALREADY_JOINED,
                            "this connection already joined a room",
                        ),
                    );
                    continue;
                }
                if let Err(why) = validate_room(&name) {
                    reply(&outbox, Message::error(code::BAD_ROOM, why));
                    continue;
                }
                let role = role.map(|r| r.as_str().to_string());
                if join(&rooms, &name, id, role, resume, &outbox, ice.for_join()) {
                    room = Some(name);
                }
            }
            other => {
                let Some(name) = room.as_deref() else {
                    reply(
                        &outbox,
                        Message::error(code::NOT_JOINED, "send a \"join\" message first"),
                    );
                    continue;
                };
                let is_bye = matches!(other, Message::Bye { .. });
                if is_bye {
                    mark_leaving(&rooms, name, id);
                }
                if !relay(&rooms, name, id, Frame::text(text.as_str())) && !is_bye {
                    reply(
                        &outbox,
                        Message::error(code::NO_PEER, "nobody else is in the room"),
                    );
                }
            }
        }
    }
    if let Some(name) = room {
        leave(&rooms, &name, id, ids);
    }
    drop(outbox);
    let _ = writer.await;
    debug!("client {id} gone");
}

fn reply(outbox: &Outbox, msg: Message) {
    let _ = outbox.try_send(Frame::text(msg.to_text()));
}

/// Admit `id` to `name`; tells it and the other peer. Returns false when the room is full.
/// A `resume` token of a seat in the room (kept for a peer whose connection went, or still
/// held by a connection of its own that has not noticed it is gone) gives that seat back.
fn join(
    rooms: &Mutex<Rooms>,
    name: &str,
    id: u64,
    role: Option<String>,
    resume: Option<String>,
    outbox: &Outbox,
    ice_servers: Vec<IceServerJson>,
) -> bool {
    let mut rooms = rooms.lock().unwrap_or_else(|p| p.into_inner());
    let room = rooms.rooms.entry(name.to_string()).or_default();
    let mut token = None;
    if let Some(t) = resume.filter(|t| !t.is_empty()) {
        if let Some(i) = room.reserved.iter().position(|r| r.token == t) {
            room.reserved.remove(i);
            token = Some(t);
        } else if let Some(i) = room.members.iter().position(|m| m.token == t) {
            // The same peer on a new connection: the old one is closed, silently.
            let old = room.members.remove(i);
            let _ = old.outbox.try_send(Frame::Close(None));
            token = Some(t);
        }
    }
    if room.members.len() + room.reserved.len() >= 2 {
        if room.members.is_empty() && room.reserved.is_empty() {
            rooms.rooms.remove(name);
        }
        reply(
            outbox,
            Message::error(
                code::ROOM_FULL,
                format!("room {name:?} already has two peers"),
            ),
        );
        return false;
    }
    let token = token.unwrap_or_else(new_token);
    let peer = room
        .members
        .first()
        .map(|m| m.role.clone().unwrap_or_else(|| "unknown".into()));
    for m in room.members.iter() {
        reply(&m.outbox, Message::PeerJoined { role: role.clone() });
    }
    reply(
        outbox,
        Message::Joined {
            room: name.to_string(),
            peer,
            resume: Some(token.clone()),
            ice_servers,
        },
    );
    info!(
        "room {name}: client {id} joined ({} now)",
        room.members.len() + 1
    );
    room.members.push(Member {
        id,
        role,
        outbox: outbox.clone(),
        token,
        leaving: false,
    });
    true
}

/// `id` said `bye`: its seat goes with its connection.
fn mark_leaving(rooms: &Mutex<Rooms>, name: &str, id: u64) {
    let mut rooms = rooms.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(m) = rooms
        .rooms
        .get_mut(name)
        .and_then(|r| r.members.iter_mut().find(|m| m.id == id))
    {
        m.leaving = true;
    }
}

/// Pass a frame to the other member of the room. False when there is none.
fn relay(rooms: &Mutex<Rooms>, name: &str, from: u64, frame: Frame) -> bool {
    let rooms = rooms.lock().unwrap_or_else(|p| p.into_inner());
    let Some(room) = rooms.rooms.get(name) else {
        return false;
    };
    let mut sent = false;
    for m in room.members.iter().filter(|m| m.id != from) {
        if m.outbox.try_send(frame.clone()).is_err() {
            warn!(
                "room {name}: client {} is not reading; message dropped",
                m.id
            );
        }
        sent = true;
    }
    sent
}

/// `id`'s connection went: the other peer is told, and unless it said `bye` its seat is kept
/// for [`RESUME_GRACE`].
fn leave(rooms_lock: &Arc<Mutex<Rooms>>, name: &str, id: u64, ids: Arc<AtomicU64>) {
    let mut rooms = rooms_lock.lock().unwrap_or_else(|p| p.into_inner());
    let Some(room) = rooms.rooms.get_mut(name) else {
        return;
    };
    // A connection replaced by a resumed one is no longer a member: nothing to tell.
    let Some(i) = room.members.iter().position(|m| m.id == id) else {
        return;
    };
    let gone = room.members.remove(i);
    for m in room.members.iter() {
        reply(&m.outbox, Message::PeerLeft {});
    }
    info!("room {name}: client {id} left ({} now)", room.members.len());
    if !gone.leaving {
        let rid = ids.fetch_add(1, Ordering::Relaxed);
        room.reserved.push(Reserved {
            token: gone.token,
            id: rid,
        });
        let (rooms_lock, name) = (rooms_lock.clone(), name.to_string());
        tokio::spawn(async move {
            tokio::time::sleep(RESUME_GRACE).await;
            let mut rooms = rooms_lock.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(room) = rooms.rooms.get_mut(&name) {
                room.reserved.retain(|r| r.id != rid);
                if room.members.is_empty() && room.reserved.is_empty() {
                    rooms.rooms.remove(&name);
                }
            }
        });
    }
    if room.members.is_empty() && room.reserved.is_empty() {
        rooms.rooms.remove(name);
    }
}
