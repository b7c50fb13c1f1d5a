//! The NDJSON reporter: one record per line on stdout, flushed at once.

use std::io::Write;

/// Write one record (a call's [`super::schema::Record`] or a probe's
/// [`super::probe_schema::ProbeRecord`]) as a line on stdout. A closed stdout is not an error
/// worth dying for.
pub fn write(record: &impl serde::Serialize) {
    let line = serde_json::to_string(record).expect("records always serialise");
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}
