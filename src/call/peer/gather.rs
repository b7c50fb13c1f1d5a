//! ICE gathering on its own, as a browser's Trickle ICE page does it (`rtccall probe`).

use super::{PeerSetup, wrtc};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use rtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit};

use tokio::sync::mpsc;

use webrtc::peer_connection::{
    PeerConnectionEventHandler, RTCIceGatheringState, RTCPeerConnectionIceErrorEvent,
    RTCPeerConnectionIceEvent,
};

use super::setup::build_pc;
use crate::exit::{Error, Result};
use crate::media::VideoCodec;

/// One gathered candidate, with everything the Trickle ICE page shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Gathered {
    /// Milliseconds since gathering started.
    pub ms: f64,
    pub component: u16,
    pub candidate_type: String,
    pub protocol: String,
    pub address: String,
    pub port: u16,
    pub priority: u32,
    pub related_address: Option<String>,
    pub related_port: Option<u16>,
    /// The server that produced it, when it can be told.
    pub url: Option<String>,
}

/// What ICE gathering produced (`rtccall probe`'s Trickle ICE report).
#[derive(Debug, Clone, Default)]
pub struct GatherReport {
    pub candidates: Vec<Gathered>,
    /// Milliseconds from the start of gathering to the first candidate and to `complete`.
    pub first_ms: Option<f64>,
    pub complete_ms: Option<f64>,
    /// `on_ice_candidate_error` reports (URL, code, text).
    pub errors: Vec<String>,
}

pub(super) enum GatherEvent {
    Candidate(Gathered),
    Error(String),
    Complete,
}

pub(super) struct GatherHandler {
    events: mpsc::UnboundedSender<GatherEvent>,
    start: Instant,
}

pub(super) fn ms_since(start: Instant) -> f64 {
    (start.elapsed().as_secs_f64() * 10_000.0).round() / 10.0
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for GatherHandler {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        let c = &event.candidate;
        let related = (!c.related_address.is_empty()).then(|| c.related_address.clone());
        let _ = self.events.send(GatherEvent::Candidate(Gathered {
            ms: ms_since(self.start),
            component: c.component,
            candidate_type: c.typ.to_string(),
            protocol: c.protocol.to_string().to_lowercase(),
            address: c.address.clone(),
            port: c.port,
            priority: c.priority,
            related_port: related.as_ref().map(|_| c.related_port),
            related_address: related,
            url: c.url.clone().filter(|u| !u.is_empty()),
        }));
    }

    async fn on_ice_candidate_error(&self, event: RTCPeerConnectionIceErrorEvent) {
        let _ = self.events.send(GatherEvent::Error(format!(
            "{} (code {}): {}",
            event.url, event.error_code, event.error_text
        )));
    }

    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            let _ = self.events.send(GatherEvent::Complete);
        }
    }
}

/// Gather candidates with `setup`'s servers as a browser would (one audio m-line), for at most
/// `bound`; the report says whether gathering completed.
pub async fn gather(setup: &PeerSetup, bound: Duration) -> Result<GatherReport> {
    let start = Instant::now();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let handler = Arc::new(GatherHandler { events: tx, start });
    let (pc, _) = build_pc(
        setup,
        VideoCodec::Vp8,
        handler,
        false,
        None,
        std::sync::Arc::new(super::runtime::PeerRuntime::new(None)),
        None,
    )
    .await?;
    let mut report = GatherReport::default();
    let gathered = async {
        pc.add_transceiver_from_kind(
            RtpCodecKind::Audio,
            Some(RTCRtpTransceiverInit {
                direction: RTCRtpTransceiverDirection::Recvonly,
                ..Default::default()
            }),
        )
        .await
        .map_err(|e| wrtc("adding a transceiver", e))?;
        let offer = pc
            .create_offer(None)
            .await
            .map_err(|e| wrtc("creating an offer", e))?;
        pc.set_local_description(offer)
            .await
            .map_err(|e| wrtc("applying the offer", e))?;
        Ok::<(), Error>(())
    };
    let outcome = tokio::time::timeout(bound, async {
        gathered.await?;
        while let Some(ev) = rx.recv().await {
            match ev {
                GatherEvent::Candidate(c) => {
                    report.first_ms.get_or_insert(c.ms);
                    report.candidates.push(c);
                }
                GatherEvent::Error(e) => report.errors.push(e),
                GatherEvent::Complete => {
                    report.complete_ms = Some(ms_since(start));
                    break;
                }
            }
        }
        Ok::<(), Error>(())
    })
    .await;
    let _ = pc.close().await;
    match outcome {
        Ok(Err(e)) => Err(e),
        _ => Ok(report),
    }
}
