//! Signaling: the wire protocol, the room server and the client side of it.

pub mod auth;
pub mod client;
pub mod conn;
pub mod http;
pub mod hub;
pub mod limits;
pub mod metrics;
pub mod outbox;
pub mod protocol;
pub mod redis;
pub mod rooms;
pub mod server;

pub use client::{Channel, Embedded, Incoming, connect_or_host};
pub use protocol::{Message, Role};
pub use server::Server;
