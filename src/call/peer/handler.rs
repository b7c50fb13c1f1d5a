//! The webrtc-rs event handler: its callbacks become [`super::PeerEvent`]s, remote tracks are
//! read on tasks of their own (audio packets to the decoder queue, video through [`super::frames`]).

use super::{
    CandidateInfo, CandidateLine, ConnState, GatheringState, IceState, LocalIce, PeerEvent,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use tokio::sync::mpsc;
use tracing::warn;
use webrtc::data_channel::DataChannel;

use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    PeerConnectionEventHandler, RTCIceConnectionState, RTCIceGatheringState,
    RTCPeerConnectionIceErrorEvent, RTCPeerConnectionIceEvent, RTCPeerConnectionState,
};

use super::capture::CaptureExt;
use super::codecs::codec_from_mime;
use super::data::echo_pings;
use super::frames::read_video;
use crate::media::{Counters, MediaKind, ReceivedFrame};

pub(super) struct Handler {
    pub(super) events: mpsc::UnboundedSender<PeerEvent>,
    /// Whether the peer connection is connected, for the send loops that await it.
    pub(super) connected: Arc<tokio::sync::watch::Sender<bool>>,
    pub(super) force_keyframe: Arc<AtomicBool>,
    pub(super) want_keyframe: Arc<AtomicBool>,
    pub(super) audio_in: std::sync::mpsc::SyncSender<ReceivedFrame>,
    pub(super) video_in: std::sync::mpsc::SyncSender<ReceivedFrame>,
    pub(super) counters: Arc<Counters>,
    /// The first media section's mid and our ICE username fragment, from our description:
    /// webrtc-rs leaves them empty in the candidates it gives us.
    pub(super) local_ice: Arc<std::sync::Mutex<Option<LocalIce>>>,
    /// The `abs-capture-time` extension ids the other side sends with.
    pub(super) capture_ext: Arc<CaptureExt>,
    pub(super) liveness: Arc<super::data::Liveness>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        let c = &event.candidate;
        let info = CandidateInfo {
            candidate_type: c.typ.to_string(),
            protocol: c.protocol.to_string(),
            address: c.address.clone(),
            port: c.port,
            relay_protocol: None,
        };
        match c.to_json() {
            Ok(init) => {
                let ice = self
                    .local_ice
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .clone();
                let line = CandidateLine {
                    candidate: init.candidate,
                    sdp_mid: ice
                        .as_ref()
                        .map(|i| i.mid.clone())
                        .or(init.sdp_mid)
                        .filter(|m| !m.is_empty()),
                    sdp_mline_index: init.sdp_mline_index,
                    username_fragment: ice.map(|i| i.ufrag).or(init.username_fragment),
                };
                let _ = self.events.send(PeerEvent::LocalCandidate(line, info));
            }
            Err(e) => warn!("cannot serialise a local candidate: {e}"),
        }
    }

    async fn on_ice_candidate_error(&self, event: RTCPeerConnectionIceErrorEvent) {
        let _ = self.events.send(PeerEvent::CandidateError(format!(
            "{} (code {}): {}",
            event.url, event.error_code, event.error_text
        )));
    }

    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            let _ = self.events.send(PeerEvent::GatheringComplete);
        } else {
            let state = match state {
                RTCIceGatheringState::New => GatheringState::New,
                RTCIceGatheringState::Gathering => GatheringState::Gathering,
                _ => return,
            };
            let _ = self.events.send(PeerEvent::Gathering(state));
        }
    }

    async fn on_ice_connection_state_change(&self, state: RTCIceConnectionState) {
        let s = match state {
            RTCIceConnectionState::Checking => IceState::Checking,
            RTCIceConnectionState::Connected => IceState::Connected,
            RTCIceConnectionState::Completed => IceState::Completed,
            RTCIceConnectionState::Disconnected => IceState::Disconnected,
            RTCIceConnectionState::Failed => IceState::Failed,
            RTCIceConnectionState::Closed => IceState::Closed,
            _ => IceState::New,
        };
        let _ = self.events.send(PeerEvent::IceState(s));
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        let s = match state {
            RTCPeerConnectionState::Connecting => ConnState::Connecting,
            RTCPeerConnectionState::Connected => {
                // The first frame the other side sees must be decodable (asked for before the
                // encoder is woken, so that the frame it encodes then is that keyframe).
                self.force_keyframe.store(true, Ordering::SeqCst);
                self.connected.send_replace(true);
                self.counters.live.store(true, Ordering::SeqCst);
                self.counters.started.open();
                ConnState::Connected
            }
            RTCPeerConnectionState::Disconnected => ConnState::Disconnected,
            RTCPeerConnectionState::Failed => ConnState::Failed,
            RTCPeerConnectionState::Closed => ConnState::Closed,
            _ => ConnState::Other,
        };
        if s != ConnState::Connected {
            self.connected.send_replace(false);
            self.counters.live.store(false, Ordering::SeqCst);
        }
        let _ = self.events.send(PeerEvent::ConnectionState(s));
    }

    async fn on_data_channel(&self, channel: Arc<dyn DataChannel>) {
        let label = channel.label().await.unwrap_or_default();
        if crate::data::is_data_label(&label) {
            let ch = super::data::channel(label, channel, true);
            let _ = self.events.send(PeerEvent::DataChannel(ch));
        } else {
            // Any other label (ours is `rtccall`) is a liveness channel, as on the call page.
            tokio::spawn(echo_pings(
                channel,
                self.counters.clone(),
                self.events.clone(),
                self.liveness.clone(),
            ));
        }
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let Some(ssrc) = track.ssrcs().await.first().copied() else {
            warn!("remote track without SSRC ignored");
            return;
        };
        let codec = track
            .codec(ssrc)
            .await
            .map(|c| c.mime_type)
            .unwrap_or_default();
        let kind = match track.kind().await {
            RtpCodecKind::Audio => MediaKind::Audio,
            _ => MediaKind::Video,
        };
        let _ = self.events.send(PeerEvent::Track {
            kind,
            codec: codec.clone(),
        });
        let counters = self.counters.clone();
        match kind {
            MediaKind::Audio => {
                let sink = self.audio_in.clone();
                tokio::spawn(read_audio(track, sink, counters, self.capture_ext.clone()));
            }
            MediaKind::Video => {
                let Some(video_codec) = codec_from_mime(&codec) else {
                    warn!("remote video codec {codec} is not one rtccall decodes; ignoring it");
                    return;
                };
                let sink = self.video_in.clone();
                let want = self.want_keyframe.clone();
                let ext = self.capture_ext.clone();
                tokio::spawn(read_video(
                    track,
                    ssrc,
                    video_codec,
                    sink,
                    want,
                    counters,
                    ext,
                ));
            }
        }
    }
}

pub(super) async fn read_audio(
    track: Arc<dyn TrackRemote>,
    sink: std::sync::mpsc::SyncSender<ReceivedFrame>,
    counters: Arc<Counters>,
    capture_ext: Arc<CaptureExt>,
) {
    while let Some(ev) = track.poll().await {
        match ev {
            TrackRemoteEvent::OnRtpPacket(pkt) => {
                counters
                    .audio
                    .packets_received
                    .fetch_add(1, Ordering::Relaxed);
                let frame = ReceivedFrame {
                    data: pkt.payload.clone(),
                    codec: None,
                    rtp_timestamp: pkt.header.timestamp,
                    arrived: Instant::now(),
                    captured_us: capture_ext.captured_us(MediaKind::Audio, &pkt),
                };
                if sink.try_send(frame).is_err() {
                    counters
                        .audio
                        .receive_dropped
                        .fetch_add(1, Ordering::Relaxed);
                }
            }
            TrackRemoteEvent::OnEnded | TrackRemoteEvent::OnError => break,
            _ => {}
        }
    }
}
