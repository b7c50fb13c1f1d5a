//! Signaling: the wire protocol ([`protocol`]), access tokens ([`auth`]), the client side of
//! it ([`client`]) and the room server ([`server`]: HTTP, WebSocket connections, rooms, limits,
//! metrics, Redis scale-out and the call page).

pub mod auth;
pub mod client;
pub mod protocol;
pub mod server;

pub use client::{Channel, Embedded, Incoming, connect_or_host};
pub use protocol::{Message, Role};
pub use server::Server;
