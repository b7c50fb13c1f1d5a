//! rtcstats dump files (file format 3, JSON Lines): the writer a call feeds as it goes (API
//! events with their SDP, state changes, and W3C stats delta-compressed), and the reader
//! `rtccall report` opens them with.

pub mod internals;
pub mod read;
pub mod w3c;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};
use tracing::warn;

use crate::exit::Error;

/// The one peer connection of a call, as the dump names it.
pub const PC_ID: &str = "PC_0";

/// The first line of every dump.
pub const MAGIC: &str = "RTCStatsDump";

/// Milliseconds since the UNIX epoch, now.
pub fn epoch_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0)
}

/// A dump being written: every line is flushed as it is written, so a crash loses at most the
/// line being written.
pub struct Writer {
    out: Option<BufWriter<File>>,
    path: PathBuf,
    /// The time of the last line (ms since the epoch): each line carries the delta to it.
    last_ms: f64,
    /// The stats as last written in full (after decompression), for the next delta.
    base: Map<String, Value>,
}

impl Writer {
    /// Create (or truncate) `path` and write the header: the magic line and the metadata
    /// (`fileFormat` 3 added).
    pub fn create(path: &Path, mut meta: Map<String, Value>) -> Result<Writer, Error> {
        let file = File::create(path).map_err(|e| {
            Error::usage(format!(
                "--stats-dump {}: cannot create it: {e}",
                path.display()
            ))
        })?;
        let mut w = Writer {
            out: Some(BufWriter::new(file)),
            path: path.to_path_buf(),
            last_ms: 0.0,
            base: Map::new(),
        };
        meta.insert("fileFormat".into(), json!(3));
        let head = format!("{MAGIC}\n{}\n", Value::Object(meta));
        w.write(&head);
        Ok(w)
    }

    fn write(&mut self, text: &str) {
        let Some(out) = self.out.as_mut() else {
            return;
        };
        if let Err(e) = out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
            warn!(
                "--stats-dump {}: {e}; no more is written to it",
                self.path.display()
            );
            self.out = None;
        }
    }

    /// One event line: `[method, "PC_0", value, timestampDelta]`.
    pub fn event(&mut self, method: &str, value: Value) {
        let now = epoch_ms();
        let delta = ((now - self.last_ms) * 1000.0).round() / 1000.0;
        self.last_ms = now;
        let line = Value::Array(vec![method.into(), PC_ID.into(), value, json!(delta)]);
        self.write(&format!("{line}\n"));
    }

    /// A `getStats` line: only what changed since the last one (each object's changed members,
    /// `timestamp` always; new objects whole; objects gone as `null`), as the format's
    /// delta compression has it (ids and member names are not compressed).
    pub fn stats(&mut self, now: Map<String, Value>) {
        let delta = delta(&self.base, &now);
        self.base = now;
        self.event("getStats", Value::Object(delta));
    }

    /// End of the call.
    pub fn close(&mut self) {
        self.event("close", Value::Null);
        self.out = None;
    }
}

/// The delta of `now` against `base`.
pub fn delta(base: &Map<String, Value>, now: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    for (id, report) in now {
        let (Some(Value::Object(old)), Value::Object(new)) = (base.get(id), report) else {
            out.insert(id.clone(), report.clone());
            continue;
        };
        let mut changed = Map::new();
        for (k, v) in new {
            if k == "id" {
                continue;
            }
            if k == "timestamp" || old.get(k) != Some(v) {
                changed.insert(k.clone(), v.clone());
            }
        }
        out.insert(id.clone(), Value::Object(changed));
    }
    for id in base.keys() {
        if !now.contains_key(id) {
            out.insert(id.clone(), Value::Null);
        }
    }
    out
}

/// Undo [`delta`]: `base` (the stats so far) updated by one `getStats` value.
pub fn apply_delta(base: &mut Map<String, Value>, delta: &Map<String, Value>) {
    for (id, v) in delta {
        match v {
            Value::Null => {
                base.remove(id);
            }
            Value::Object(changed) => {
                let entry = base
                    .entry(id.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(o) = entry {
                    for (k, v) in changed {
                        o.insert(k.clone(), v.clone());
                    }
                    o.entry("id").or_insert_with(|| Value::String(id.clone()));
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(o) => o,
            _ => unreachable!(),
        }
    }

    #[test]
    fn deltas_carry_changes_timestamps_new_and_gone_objects_and_undo_exactly() {
        let a = obj(json!({
            "T": {"id": "T", "type": "transport", "timestamp": 1.0, "bytesSent": 10, "dtlsState": "connected"},
            "P": {"id": "P", "type": "candidate-pair", "timestamp": 1.0, "state": "succeeded"},
        }));
        let b = obj(json!({
            "T": {"id": "T", "type": "transport", "timestamp": 2.0, "bytesSent": 25, "dtlsState": "connected"},
            "Q": {"id": "Q", "type": "candidate-pair", "timestamp": 2.0, "state": "in-progress"},
        }));
        let d = delta(&a, &b);
        assert_eq!(
            Value::Object(d.clone()),
            json!({
                "T": {"timestamp": 2.0, "bytesSent": 25},
                "Q": {"id": "Q", "type": "candidate-pair", "timestamp": 2.0, "state": "in-progress"},
                "P": null,
            })
        );
        let mut base = a.clone();
        apply_delta(&mut base, &d);
        assert_eq!(base, b);
        // The first one is the whole report.
        let mut empty = Map::new();
        apply_delta(&mut empty, &delta(&Map::new(), &a));
        assert_eq!(empty, a);
    }
}
