//! Reading the peer connection's stats into rtccall's figures ([`PeerStats`]).

use super::{CandidateInfo, PairInfo, Peer};
use std::sync::Arc;
use std::time::Instant;

use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;

use webrtc::peer_connection::StatsSelector;
use webrtc::peer_connection::transport::IceTransport;

/// Figures read from the peer connection's stats at one instant.
#[derive(Debug, Clone, Default)]
pub struct PeerStats {
    pub state: crate::report::schema::LinkState,
    pub selected_pair: Option<PairInfo>,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub audio_packets_received: u64,
    pub audio_packets_lost: i64,
    pub audio_jitter_ms: Option<f64>,
    pub video_packets_received: u64,
    pub video_packets_lost: i64,
    pub video_jitter_ms: Option<f64>,
    /// Share of our audio the other side last reported lost (RTCP receiver report), 0..=1.
    pub audio_reported_lost: Option<f64>,
}

impl Peer {
    /// The ICE transport, through the data channel's SCTP transport or a sender's.
    async fn ice_transport(&self) -> Option<Arc<dyn IceTransport>> {
        if let Some(sctp) = self.pc.sctp().await {
            return Some(sctp.transport().ice_transport());
        }
        for s in self.pc.get_senders().await {
            if let Ok(Some(dtls)) = s.transport().await {
                return Some(dtls.ice_transport());
            }
        }
        None
    }

    /// Both ends of the selected pair as the ICE agent has them (real addresses and ports).
    async fn selected_candidates(&self) -> Option<(CandidateInfo, CandidateInfo)> {
        let pair = self
            .ice_transport()
            .await?
            .get_selected_candidate_pair()
            .await
            .ok()??;
        let info = |c: &rtc::peer_connection::transport::RTCIceCandidate| CandidateInfo {
            candidate_type: c.typ.to_string(),
            protocol: c.protocol.to_string().to_lowercase(),
            address: c.address.clone(),
            port: c.port,
            relay_protocol: None,
        };
        Some((info(pair.local()), info(pair.remote())))
    }

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
        let rtt_ms = pair
            .filter(|p| p.current_round_trip_time > 0.0)
            .map(|p| (p.current_round_trip_time * 1_000_000.0).round() / 1000.0);
        // The ICE agent's own view first: the stats know only trickled remote candidates, not
        // those of the remote SDP nor peer-reflexive ones learnt from the checks.
        if let Some((local, remote)) = self.selected_candidates().await {
            out.selected_pair = Some(PairInfo {
                local,
                remote,
                rtt_ms,
            });
        } else if let Some(p) = pair {
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
                            relay_protocol: None,
                        })
                    }
                    _ => None,
                }
            };
            let local = find(&p.local_candidate_id, "RTCLocalIceCandidate_");
            let remote = find(&p.remote_candidate_id, "RTCRemoteIceCandidate_");
            if let (Some(local), Some(remote)) = (local, remote) {
                out.selected_pair = Some(PairInfo {
                    local,
                    remote,
                    rtt_ms,
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
        for e in report.iter() {
            if let E::RemoteInboundRtp(r) = e
                && r.received_rtp_stream_stats.rtp_stream_stats.kind == RtpCodecKind::Audio
            {
                out.audio_reported_lost = Some(r.fraction_lost);
            }
        }
        out.state = if *self.connected.borrow() {
            crate::report::schema::LinkState::Connected
        } else {
            crate::report::schema::LinkState::NotConnected
        };
        out
    }
}
