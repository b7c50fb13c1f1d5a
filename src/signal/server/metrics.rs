//! Counters of the signaling server and their Prometheus text rendering (`/metrics`).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Counters shared by every connection of one server.
#[derive(Default)]
pub struct Metrics {
    pub joins: AtomicU64,
    pub relayed: AtomicU64,
    /// Bytes read from connections that have not joined a room yet (each bounded by
    /// [`super::budget::UNJOINED_LIMIT`]).
    pub unjoined_bytes: Arc<AtomicU64>,
    errors: Mutex<BTreeMap<&'static str, u64>>,
    refused: Mutex<BTreeMap<&'static str, u64>>,
}

/// Gauges read when rendering.
pub struct Gauges {
    pub connections: usize,
    pub rooms: usize,
    /// WHIP/WHEP sessions open on this instance.
    pub whip_sessions: usize,
}

fn bump(m: &Mutex<BTreeMap<&'static str, u64>>, key: &'static str) {
    *m.lock()
        .unwrap_or_else(|p| p.into_inner())
        .entry(key)
        .or_default() += 1;
}

impl Metrics {
    /// An `error` message with this code was sent.
    pub fn error(&self, code: &'static str) {
        bump(&self.errors, code);
    }

    /// A connection or handshake was refused for this reason.
    pub fn refused(&self, reason: &'static str) {
        bump(&self.refused, reason);
    }

    /// The Prometheus text exposition format (version 0.0.4).
    pub fn render(&self, g: &Gauges) -> String {
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, lines: Vec<(String, u64)>| {
            out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n"));
            for (labels, v) in lines {
                out.push_str(&format!("{name}{labels} {v}\n"));
            }
        };
        metric(
            "rtccall_connections",
            "gauge",
            "Open client connections.",
            vec![(String::new(), g.connections as u64)],
        );
        metric(
            "rtccall_rooms",
            "gauge",
            "Rooms with a member or a kept seat on this instance.",
            vec![(String::new(), g.rooms as u64)],
        );
        metric(
            "rtccall_whip_sessions",
            "gauge",
            "WHIP/WHEP sessions (room seats held for HTTP clients) open on this instance.",
            vec![(String::new(), g.whip_sessions as u64)],
        );
        metric(
            "rtccall_unjoined_bytes",
            "gauge",
            "Bytes read from connections that have not joined a room (at most 16 KiB each).",
            vec![(String::new(), self.unjoined_bytes.load(Ordering::Relaxed))],
        );
        metric(
            "rtccall_joins_total",
            "counter",
            "Joins admitted to a room.",
            vec![(String::new(), self.joins.load(Ordering::Relaxed))],
        );
        metric(
            "rtccall_messages_relayed_total",
            "counter",
            "Messages relayed from one peer to the other.",
            vec![(String::new(), self.relayed.load(Ordering::Relaxed))],
        );
        let labelled = |m: &Mutex<BTreeMap<&'static str, u64>>, label: &str| {
            m.lock()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .map(|(k, v)| (format!("{{{label}=\"{k}\"}}"), *v))
                .collect::<Vec<_>>()
        };
        metric(
            "rtccall_errors_total",
            "counter",
            "Error messages sent to clients, by code.",
            labelled(&self.errors, "code"),
        );
        metric(
            "rtccall_refused_total",
            "counter",
            "Connections and handshakes refused, by reason.",
            labelled(&self.refused, "reason"),
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_text_format() {
        let m = Metrics::default();
        m.error("room-full");
        m.error("room-full");
        m.refused("origin");
        m.joins.fetch_add(3, Ordering::Relaxed);
        let t = m.render(&Gauges {
            connections: 4,
            rooms: 2,
            whip_sessions: 1,
        });
        assert!(t.contains("# TYPE rtccall_connections gauge\nrtccall_connections 4\n"));
        assert!(t.contains("rtccall_joins_total 3\n"));
        assert!(t.contains("rtccall_whip_sessions 1\n"));
        assert!(t.contains("rtccall_errors_total{code=\"room-full\"} 2\n"));
        assert!(t.contains("rtccall_refused_total{reason=\"origin\"} 1\n"));
    }
}
