//! Where rooms live: in this process ([`LocalRooms`]) or shared by every instance through
//! Redis ([`super::redis::RedisRooms`]). Connections see one interface either way.

use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::redis::RedisRooms;
use super::rooms::{JoinRequest, LocalRooms, Relayed};
use crate::signal::protocol::code;

/// The room store of one server.
#[derive(Clone)]
pub enum Hub {
    Local(LocalRooms),
    Redis(RedisRooms),
}

impl Hub {
    /// Admit a peer: it is sent `joined`, or an `error` whose code is returned.
    pub async fn join(&self, req: JoinRequest<'_>) -> Result<(), &'static str> {
        match self {
            Hub::Local(l) => l.join(req).then_some(()).ok_or(code::ROOM_FULL),
            Hub::Redis(r) => r.join(req).await,
        }
    }

    /// This seat goes with its connection (a WHIP/WHEP session, which has none to resume).
    pub async fn mark_leaving(&self, room: &str, id: u64) {
        match self {
            Hub::Local(l) => l.mark_leaving(room, id),
            Hub::Redis(r) => r.mark_leaving(room, id).await,
        }
    }

    /// A peer said `bye`: the call is over for everyone in the room, so each seat goes with
    /// its connection (the one that heard the `bye` hangs up too; holding its seat for a
    /// resumption would keep the room full for the next call).
    pub async fn call_over(&self, room: &str) {
        match self {
            Hub::Local(l) => l.call_over(room),
            Hub::Redis(r) => r.call_over(room).await,
        }
    }

    /// Pass a message to the other peer of the room.
    pub async fn relay(&self, room: &str, from: u64, text: Utf8Bytes) -> Relayed {
        match self {
            Hub::Local(l) => l.relay(room, from, text),
            Hub::Redis(r) => r.relay(room, from, text).await,
        }
    }

    /// The peer's connection went.
    pub async fn leave(&self, room: &str, id: u64) {
        match self {
            Hub::Local(l) => l.leave(room, id),
            Hub::Redis(r) => r.leave(room, id).await,
        }
    }

    /// Keep a WHIP/WHEP session's record where every instance finds it (Redis; in process the
    /// session map is enough).
    pub async fn store_session(&self, resource: &str, record: &str) {
        if let Hub::Redis(r) = self {
            r.store_session(resource, record).await;
        }
    }

    /// A session record another instance stored.
    pub async fn find_session(&self, resource: &str) -> Option<String> {
        match self {
            Hub::Local(_) => None,
            Hub::Redis(r) => r.find_session(resource).await,
        }
    }

    /// Forget a session's record.
    pub async fn drop_session(&self, resource: &str) {
        if let Hub::Redis(r) = self {
            r.drop_session(resource).await;
        }
    }

    /// Rooms this instance holds a member or a kept seat of.
    pub fn rooms(&self) -> usize {
        match self {
            Hub::Local(l) => l.count(),
            Hub::Redis(r) => r.local_rooms(),
        }
    }
}
