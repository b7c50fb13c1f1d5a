//! Reporters: turn the call driver's [`schema::Record`]s into NDJSON for scripts
//! ([`json`]) or spinners, a live status line and a summary table for people ([`human`]).

pub mod events;
pub mod human;
pub mod json;
pub mod junit;
pub mod load_human;
pub mod load_schema;
pub mod probe_human;
pub mod probe_schema;
pub mod schema;
pub mod text;

use tokio::sync::mpsc;

pub use events::{Events, ms_between};
use schema::Record;

/// Which reporter renders a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
}

/// Pass records on to a reporter, keeping a copy of those `keep` picks (for a JUnit file
/// written at the end): the reporter's queue and the task that returns what was kept.
pub fn tee<T: Clone + Send + 'static>(
    mut rx: mpsc::Receiver<T>,
    keep: impl Fn(&T) -> bool + Send + 'static,
) -> (mpsc::Receiver<T>, tokio::task::JoinHandle<Vec<T>>) {
    let (tx, out) = mpsc::channel(256);
    let task = tokio::spawn(async move {
        let mut kept = Vec::new();
        while let Some(r) = rx.recv().await {
            if keep(&r) {
                kept.push(r.clone());
            }
            if tx.send(r).await.is_err() {
                break;
            }
        }
        kept
    });
    (out, task)
}

/// Consume records until the channel closes.
pub async fn run(format: Format, mut rx: mpsc::Receiver<Record>) {
    match format {
        Format::Json => {
            while let Some(r) = rx.recv().await {
                json::write(&r);
            }
        }
        Format::Human => human::run(human::Human::new(), rx).await,
    }
}
