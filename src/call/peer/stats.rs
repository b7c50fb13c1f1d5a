//! Reading the peer connection's stats into rtccall's figures ([`PeerStats`]).

use super::{CandidateInfo, PairInfo, Peer};
use std::sync::atomic::Ordering;
use std::time::Instant;

use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;

use webrtc::peer_connection::StatsSelector;

/// Figures read from the peer connection's stats at one instant.
#[derive(Debug, Clone, Default)]
pub struct PeerStats {
    pub state: String,
    pub selected_pair: Option<PairInfo>,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub audio_packets_received: u64,
    pub audio_packets_lost: i64,
    pub audio_jitter_ms: Option<f64>,
    pub video_packets_received: u64,
    pub video_packets_lost: i64,
    pub video_jitter_ms: Option<f64>,
}

impl Peer {
    /// Read the current stats.
    pub async fn stats(&self) -> PeerStats {
        let report = self.pc.get_stats(Instant::now(), StatsSelector::None).await;
        let mut out = PeerStats::default();
        use rtc::statistics::report::RTCStatsReportEntry as E;
        if let Some(t) = report.transport() {
            out.bytes_sent = t.bytes_sent;
            out.bytes_received = t.bytes_received;
        }
        let pair_id = report
            .transport()
            .map(|t| t.selected_candidate_pair_id.clone())
            .filter(|id| !id.is_empty());
        let pair = pair_id
            .and_then(|id| match report.get(&id) {
                Some(E::IceCandidatePair(p)) => Some(p),
                _ => None,
            })
            .or_else(|| report.candidate_pairs().find(|p| p.nominated));
        if let Some(p) = pair {
            let find = |id: &str, prefix: &str| -> Option<CandidateInfo> {
                let entry = report
                    .get(id)
                    .or_else(|| report.get(&format!("{prefix}{id}")));
                match entry {
                    Some(E::LocalCandidate(c)) | Some(E::RemoteCandidate(c)) => {
                        Some(CandidateInfo {
                            candidate_type: c.candidate_type.to_string(),
                            protocol: c.protocol.to_lowercase(),
                            address: c.address.clone().unwrap_or_default(),
                            port: c.port,
                        })
                    }
                    _ => None,
                }
            };
            let local = find(&p.local_candidate_id, "RTCLocalIceCandidate_");
            let remote = find(&p.remote_candidate_id, "RTCRemoteIceCandidate_");
            let unknown = || CandidateInfo {
                candidate_type: "prflx".into(),
                protocol: "udp".into(),
                address: String::new(),
                port: 0,
            };
            if local.is_some() || remote.is_some() {
                out.selected_pair = Some(PairInfo {
                    local: local.unwrap_or_else(unknown),
                    remote: remote.unwrap_or_else(unknown),
                    rtt_ms: (p.current_round_trip_time > 0.0)
                        .then_some((p.current_round_trip_time * 1_000_000.0).round() / 1000.0),
                });
            }
        }
        for s in report.inbound_rtp_streams() {
            let r = &s.received_rtp_stream_stats;
            let kind = r.rtp_stream_stats.kind;
            let clock = if kind == RtpCodecKind::Audio {
                48_000.0
            } else {
                90_000.0
            };
            let jitter = Some(r.jitter / clock * 1000.0);
            if kind == RtpCodecKind::Audio {
                out.audio_packets_received += r.packets_received;
                out.audio_packets_lost += r.packets_lost;
                out.audio_jitter_ms = jitter;
            } else {
                out.video_packets_received += r.packets_received;
                out.video_packets_lost += r.packets_lost;
                out.video_jitter_ms = jitter;
            }
        }
        out.state = if self.connected.load(Ordering::SeqCst) {
            "connected".into()
        } else {
            "not-connected".into()
        };
        out
    }
}
