//! The peer connection's stats as W3C `RTCStats` objects (JSON, keyed by id), for the
//! rtcstats dump: what webrtc-rs reports, with its units put right.

use std::time::Instant;

use rtc::statistics::report::RTCStatsReportEntry as E;
use serde_json::{Map, Value};
use webrtc::peer_connection::StatsSelector;

use super::Peer;

impl Peer {
    /// Every stats object webrtc-rs has now, serialized with the W3C member names.
    pub async fn w3c_stats(&self) -> Map<String, Value> {
        let report = self.pc.get_stats(Instant::now(), StatsSelector::None).await;
        let mut out = Map::new();
        for entry in report.iter() {
            let v = match entry {
                E::PeerConnection(s) => serde_json::to_value(s),
                E::Transport(s) => serde_json::to_value(s),
                E::IceCandidatePair(s) => serde_json::to_value(s),
                E::LocalCandidate(s) | E::RemoteCandidate(s) => serde_json::to_value(s),
                E::Certificate(s) => serde_json::to_value(s),
                E::Codec(s) => serde_json::to_value(s),
                E::DataChannel(s) => serde_json::to_value(s),
                E::InboundRtp(s) => serde_json::to_value(s),
                E::OutboundRtp(s) => serde_json::to_value(s),
                E::RemoteInboundRtp(s) => serde_json::to_value(s),
                E::RemoteOutboundRtp(s) => serde_json::to_value(s),
                E::AudioSource(s) => serde_json::to_value(s),
                E::VideoSource(s) => serde_json::to_value(s),
                E::AudioPlayout(s) => serde_json::to_value(s),
                _ => continue,
            };
            if let Ok(Value::Object(o)) = v {
                out.insert(entry.id().to_string(), Value::Object(o));
            }
        }
        out
    }
}
