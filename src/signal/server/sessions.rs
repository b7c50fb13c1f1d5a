//! The WHIP/WHEP sessions a server holds (see [`super::whip`]): each a room seat kept for an
//! HTTP client, found by its resource id.

use std::collections::HashMap;
use std::sync::Mutex;

use tokio_util::sync::CancellationToken;

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
