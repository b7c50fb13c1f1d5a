//! Signaling: the wire protocol, the room server and the client side of it.

pub mod client;
pub mod http;
pub mod protocol;
pub mod server;

pub use client::{Channel, Embedded, Incoming, connect_or_host};
pub use protocol::{Message, Role};
pub use server::Server;
