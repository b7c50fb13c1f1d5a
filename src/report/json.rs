//! The NDJSON reporter: one record per line on stdout, flushed at once.

use std::io::Write;

use super::schema::Record;

/// Write one record as a line on stdout. A closed stdout is not an error worth dying for.
pub fn write(record: &Record) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", record.to_line());
    let _ = out.flush();
}

/// Write one probe record as a line on stdout.
pub fn write_probe(record: &super::probe_schema::ProbeRecord) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", record.to_line());
    let _ = out.flush();
}
