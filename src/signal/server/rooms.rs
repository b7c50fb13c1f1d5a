//! Rooms held in this process's memory (the default, and the embedded server): at most two
//! peers per room, messages passed to the other peer's [`Outbox`], seats kept for
//! [`RESUME_GRACE`] for a peer whose connection went while its call was on (no `bye` either way).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_tungstenite::tungstenite::Utf8Bytes;
use tracing::{info, warn};

use super::outbox::Outbox;
use crate::signal::protocol::{IceServer, Message, code};

/// How long the seat of a peer whose connection went (without `bye`) is kept for it: a `join`
/// with its resume token within this time gets it back.
pub const RESUME_GRACE: Duration = Duration::from_secs(30);

/// What became of a relayed message.
#[derive(Debug, PartialEq, Eq)]
pub enum Relayed {
    Sent,
    /// Nobody else is in the room.
    NoPeer,
    /// The other peer does not read; it is being disconnected.
    Stalled,
    /// The room store (Redis) cannot be reached.
    Unavailable,
}

/// A join as the room logic sees it.
pub struct JoinRequest<'a> {
    pub room: &'a str,
    pub id: u64,
    pub role: Option<String>,
    pub resume: Option<String>,
    pub outbox: &'a Outbox,
    pub ice_servers: Vec<IceServer>,
}

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

impl Room {
    fn is_empty(&self) -> bool {
        self.members.is_empty() && self.reserved.is_empty()
    }
}

/// A fresh, unguessable token (128 random bits, hex).
pub fn new_token() -> String {
    let mut b = [0u8; 16];
    if getrandom::fill(&mut b).is_err() {
        // No OS randomness: a token that at least differs per process and call.
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        b = (t ^ (u128::from(std::process::id()) << 64)).to_le_bytes();
    }
    hex::encode(b)
}

/// The rooms of this process.
#[derive(Clone, Default)]
pub struct LocalRooms {
    rooms: Arc<Mutex<HashMap<String, Room>>>,
    ids: Arc<AtomicU64>,
}

impl LocalRooms {
    /// Rooms with a member or a kept seat.
    pub fn count(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Room>> {
        self.rooms.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Admit a peer; tells it (`joined`) and the other peer (`peer-joined`). Returns false
    /// (after sending `room-full`) when the room has two peers. A `resume` token of a seat in
    /// the room (kept for a peer whose connection went, or still held by a connection of its
    /// own that has not noticed it is gone) gives that seat back.
    pub fn join(&self, req: JoinRequest<'_>) -> bool {
        let name = req.room;
        let mut rooms = self.lock();
        let room = rooms.entry(name.to_string()).or_default();
        let mut token = None;
        if let Some(t) = req.resume.filter(|t| !t.is_empty()) {
            if let Some(i) = room.reserved.iter().position(|r| r.token == t) {
                room.reserved.remove(i);
                token = Some(t);
            } else if let Some(i) = room.members.iter().position(|m| m.token == t) {
                // The same peer on a new connection: the old one is closed, silently.
                let old = room.members.remove(i);
                old.outbox.close(1000, "replaced by a resumed connection");
                token = Some(t);
            }
        }
        if room.members.len() + room.reserved.len() >= 2 {
            if room.is_empty() {
                rooms.remove(name);
            }
            req.outbox.send(&Message::error(
                code::ROOM_FULL,
                format!("room {name:?} already has two peers"),
            ));
            return false;
        }
        let token = token.unwrap_or_else(new_token);
        let peer = room
            .members
            .first()
            .map(|m| m.role.clone().unwrap_or_else(|| "unknown".into()));
        for m in room.members.iter() {
            m.outbox.send(&Message::PeerJoined {
                role: req.role.clone(),
            });
        }
        req.outbox.send(&Message::Joined {
            room: name.to_string(),
            peer,
            resume: Some(crate::signal::protocol::Token(token.clone())),
            ice_servers: req.ice_servers,
        });
        info!(
            "room {name}: client {} joined ({} now)",
            req.id,
            room.members.len() + 1
        );
        room.members.push(Member {
            id: req.id,
            role: req.role,
            outbox: req.outbox.clone(),
            token,
            leaving: false,
        });
        true
    }

    /// `id`'s seat goes with its connection.
    pub fn mark_leaving(&self, name: &str, id: u64) {
        if let Some(m) = self
            .lock()
            .get_mut(name)
            .and_then(|r| r.members.iter_mut().find(|m| m.id == id))
        {
            m.leaving = true;
        }
    }

    /// Someone in `name` said `bye`: every seat there goes with its connection.
    pub fn call_over(&self, name: &str) {
        if let Some(r) = self.lock().get_mut(name) {
            for m in &mut r.members {
                m.leaving = true;
            }
        }
    }

    /// Pass a frame to the other member of the room.
    pub fn relay(&self, name: &str, from: u64, text: Utf8Bytes) -> Relayed {
        let rooms = self.lock();
        let Some(room) = rooms.get(name) else {
            return Relayed::NoPeer;
        };
        let mut out = Relayed::NoPeer;
        for m in room.members.iter().filter(|m| m.id != from) {
            out = match m.outbox.push(text.clone()) {
                Ok(()) => Relayed::Sent,
                Err(_) => {
                    // Once per connection; conn.rs logs the count when it goes.
                    if m.outbox.refused() == 1 {
                        warn!(
                            "room {name}: client {} is not reading; disconnecting it",
                            m.id
                        );
                    }
                    Relayed::Stalled
                }
            };
        }
        out
    }

    /// `id`'s connection went: the other peer is told, and unless it said `bye` its seat is
    /// kept for [`RESUME_GRACE`].
    pub fn leave(&self, name: &str, id: u64) {
        let mut rooms = self.lock();
        let Some(room) = rooms.get_mut(name) else {
            return;
        };
        // A connection replaced by a resumed one is no longer a member: nothing to tell.
        let Some(i) = room.members.iter().position(|m| m.id == id) else {
            return;
        };
        let gone = room.members.remove(i);
        for m in room.members.iter() {
            m.outbox.send(&Message::PeerLeft {});
        }
        info!("room {name}: client {id} left ({} now)", room.members.len());
        if !gone.leaving {
            let rid = self.ids.fetch_add(1, Ordering::Relaxed);
            room.reserved.push(Reserved {
                token: gone.token,
                id: rid,
            });
            let (this, name) = (self.clone(), name.to_string());
            tokio::spawn(async move {
                tokio::time::sleep(RESUME_GRACE).await;
                let mut rooms = this.lock();
                if let Some(room) = rooms.get_mut(&name) {
                    room.reserved.retain(|r| r.id != rid);
                    if room.is_empty() {
                        rooms.remove(&name);
                    }
                }
            });
        }
        if room.is_empty() {
            rooms.remove(name);
        }
    }
}
