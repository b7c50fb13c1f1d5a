//! Where a call's records go: [`Events`] stamps each with the milliseconds since the call
//! started and hands it to the reporter's queue.

use std::time::Instant;

use tokio::sync::mpsc;

use super::schema::Record;

/// The sending end of one call's records (cheap to clone: every task of the call holds one).
#[derive(Clone)]
pub struct Events {
    tx: mpsc::Sender<Record>,
    start: Instant,
}

impl Events {
    pub fn new(tx: mpsc::Sender<Record>, start: Instant) -> Events {
        Events { tx, start }
    }

    /// Milliseconds since the call started, to 0.1 ms.
    pub fn ms(&self) -> f64 {
        ms_between(self.start, Instant::now())
    }

    /// Hand a record to the reporter (waits while its queue is full; dropped once it is gone).
    pub async fn send(&self, r: Record) {
        let _ = self.tx.send(r).await;
    }
}

/// Milliseconds from `a` to `b`, to 0.1 ms (0 when `b` is earlier).
pub fn ms_between(a: Instant, b: Instant) -> f64 {
    (b.saturating_duration_since(a).as_secs_f64() * 10_000.0).round() / 10.0
}
