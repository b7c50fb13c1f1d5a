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
