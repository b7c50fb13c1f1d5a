//! The WHIP/WHEP sessions a server holds (see [`super::whip`]): each a room seat kept for an
//! HTTP client, found by its resource id.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

use crate::sdpfrag::Cand;

/// The terminal's answer to an ICE restart: its SDP, the candidates it trickled right after,
/// and whether it said it had gathered them all.
pub type Restarted = (String, Vec<Cand>, bool);

/// Where the task holding a seat hands the next answer (an ICE restart's) to.
pub type RestartWaiter = Arc<Mutex<Option<oneshot::Sender<Restarted>>>>;

/// One WHIP/WHEP session: the room seat held for the HTTP client.
pub struct Resource {
    pub room: String,
    pub id: u64,
    pub etag: String,
    /// The offer's ICE credentials: a fragment with others is an ICE restart.
    pub ufrag: String,
    pub pwd: String,
    /// Ends the task that holds the seat.
    pub end: CancellationToken,
    /// The client's offer as last relayed (an ICE restart's offer is rebuilt from it).
    pub offer: String,
    /// Set while an ICE restart waits for the terminal's answer.
    pub restart: RestartWaiter,
}

/// The sessions this server holds.
#[derive(Default)]
pub struct Sessions {
    map: Mutex<HashMap<String, Resource>>,
}

impl Sessions {
    pub fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Resource>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sessions open now.
    pub fn count(&self) -> usize {
        self.lock().len()
    }
}
