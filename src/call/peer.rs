//! The only module that talks to webrtc-rs: builds the peer connection (codecs, fast ICE timers,
//! keyframe-request forwarding), turns its callbacks into [`PeerEvent`]s, moves encoded media
//! between rtccall's queues and the RTP tracks, and converts its stats into rtccall's model.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rtc::ice::mdns::MulticastDnsMode;
use rtc::interceptor::{Attribute, Interceptor, Packet, Slot, StreamInfo, TaggedPacket};
use rtc::media::Sample;
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::RTCIceTransportPolicy;
use rtc::peer_connection::configuration::interceptor_registry::register_default_interceptors;
use rtc::peer_connection::configuration::media_engine::{
    MIME_TYPE_H264, MIME_TYPE_OPUS, MIME_TYPE_VP8, MIME_TYPE_VP9, MediaEngine,
};
use rtc::peer_connection::configuration::setting_engine::SettingEngineBuilder;
use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp::codec::h264::H264Packet;
use rtc::rtp::codec::vp8::Vp8Packet;
use rtc::rtp::codec::vp9::Vp9Packet;
use rtc::rtp::packetizer::Depacketizer;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters, RTCRtpEncodingParameters,
    RtpCodecKind,
};
use rtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit};
use rtc::sansio::Protocol;
use std::collections::VecDeque;
use tokio::sync::mpsc;
use tracing::{debug, warn};
use webrtc::data_channel::{DataChannel, DataChannelEvent};
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCConfigurationBuilder,
    RTCIceCandidateInit, RTCIceConnectionState, RTCIceGatheringState, RTCIceServer,
    RTCPeerConnectionIceErrorEvent, RTCPeerConnectionIceEvent, RTCPeerConnectionState,
    RTCSessionDescription, Registry, StatsSelector,
};
use webrtc::rtp_transceiver::RtpSender;

use crate::exit::{Error, Result};
use crate::media::{Counters, EncodedFrame, MediaKind, ReceivedFrame, VideoCodec};
use crate::report::probe_schema::GatheredCandidate;
use crate::report::schema::{Candidate, SelectedPair};

const OPUS_PT: u8 = 111;
const VP8_PT: u8 = 96;
const VP9_PT: u8 = 98;
const H264_PT: u8 = 102;

/// One ICE server as configured by the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IceServer {
    pub urls: Vec<String>,
    pub username: String,
    pub credential: String,
}

/// How to build the peer connection.
#[derive(Debug, Clone)]
pub struct PeerSetup {
    pub ice_servers: Vec<IceServer>,
    pub relay_only: bool,
    pub udp_bind: Vec<SocketAddr>,
    pub tcp_bind: Vec<SocketAddr>,
}

/// A trickled candidate in the flat shape of the signaling protocol.
#[derive(Debug, Clone, PartialEq)]
pub struct CandidateLine {
    pub candidate: String,
    pub sdp_mid: Option<String>,
    pub sdp_mline_index: Option<u16>,
    pub username_fragment: Option<String>,
}

/// What the peer connection reports, in rtccall's terms.
#[derive(Debug)]
pub enum PeerEvent {
    LocalCandidate(CandidateLine, Candidate),
    GatheringComplete,
    Gathering(String),
    CandidateError(String),
    IceState(String),
    ConnectionState(ConnState),
    Track { kind: MediaKind, codec: String },
}

/// Peer connection states that matter to the driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnState {
    Connecting,
    Connected,
    Disconnected,
    Failed,
    Closed,
    Other,
}

impl ConnState {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnState::Connecting => "connecting",
            ConnState::Connected => "connected",
            ConnState::Disconnected => "disconnected",
            ConnState::Failed => "failed",
            ConnState::Closed => "closed",
            ConnState::Other => "new",
        }
    }
}

/// The encoded-media queues a peer moves between the media threads and the network.
pub struct MediaPorts {
    pub audio_out: Option<mpsc::Receiver<EncodedFrame>>,
    pub video_out: Option<mpsc::Receiver<EncodedFrame>>,
    pub audio_in: std::sync::mpsc::SyncSender<ReceivedFrame>,
    pub video_in: std::sync::mpsc::SyncSender<ReceivedFrame>,
    /// Set to make the video encoder produce a keyframe next.
    pub force_keyframe: Arc<AtomicBool>,
    /// Set by the video decoder when it needs a keyframe (decode error).
    pub want_keyframe: Arc<AtomicBool>,
    pub counters: Arc<Counters>,
    /// The codec our video is encoded in (offered first, so the other side prefers it too).
    pub video_codec: VideoCodec,
}

/// Figures read from the peer connection's stats at one instant.
#[derive(Debug, Clone, Default)]
pub struct PeerStats {
    pub state: String,
    pub selected_pair: Option<SelectedPair>,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub audio_packets_received: u64,
    pub audio_packets_lost: i64,
    pub audio_jitter_ms: Option<f64>,
    pub video_packets_received: u64,
    pub video_packets_lost: i64,
    pub video_jitter_ms: Option<f64>,
}

struct LocalTrack {
    kind: MediaKind,
    track: Arc<TrackLocalStaticSample>,
    sender: Arc<dyn RtpSender>,
    ssrc: u32,
    frames: mpsc::Receiver<EncodedFrame>,
}

/// A webrtc-rs peer connection with rtccall's media attached.
pub struct Peer {
    pc: Arc<dyn PeerConnection>,
    connected: Arc<AtomicBool>,
    audio_out: Option<mpsc::Receiver<EncodedFrame>>,
    video_out: Option<mpsc::Receiver<EncodedFrame>>,
    local: Vec<LocalTrack>,
    force_keyframe: Arc<AtomicBool>,
    counters: Arc<Counters>,
    video_codec: VideoCodec,
    pending_candidates: std::sync::Mutex<Vec<CandidateLine>>,
    remote_set: AtomicBool,
    /// The remote offer has a data channel section.
    remote_has_data: AtomicBool,
}

struct Handler {
    events: mpsc::UnboundedSender<PeerEvent>,
    connected: Arc<AtomicBool>,
    force_keyframe: Arc<AtomicBool>,
    want_keyframe: Arc<AtomicBool>,
    audio_in: std::sync::mpsc::SyncSender<ReceivedFrame>,
    video_in: std::sync::mpsc::SyncSender<ReceivedFrame>,
    counters: Arc<Counters>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        let c = &event.candidate;
        let info = Candidate {
            candidate_type: c.typ.to_string(),
            protocol: c.protocol.to_string(),
            address: c.address.clone(),
            port: c.port,
        };
        match c.to_json() {
            Ok(init) => {
                let line = CandidateLine {
                    candidate: init.candidate,
                    sdp_mid: init.sdp_mid,
                    sdp_mline_index: init.sdp_mline_index,
                    username_fragment: init.username_fragment,
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
            let _ = self.events.send(PeerEvent::Gathering(state.to_string()));
        }
    }

    async fn on_ice_connection_state_change(&self, state: RTCIceConnectionState) {
        let _ = self.events.send(PeerEvent::IceState(state.to_string()));
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        let s = match state {
            RTCPeerConnectionState::Connecting => ConnState::Connecting,
            RTCPeerConnectionState::Connected => {
                self.connected.store(true, Ordering::SeqCst);
                self.counters.live.store(true, Ordering::SeqCst);
                // The first frame the other side sees must be decodable.
                self.force_keyframe.store(true, Ordering::SeqCst);
                ConnState::Connected
            }
            RTCPeerConnectionState::Disconnected => ConnState::Disconnected,
            RTCPeerConnectionState::Failed => ConnState::Failed,
            RTCPeerConnectionState::Closed => ConnState::Closed,
            _ => ConnState::Other,
        };
        if s != ConnState::Connected {
            self.connected.store(false, Ordering::SeqCst);
            self.counters.live.store(false, Ordering::SeqCst);
        }
        let _ = self.events.send(PeerEvent::ConnectionState(s));
    }

    async fn on_data_channel(&self, channel: Arc<dyn DataChannel>) {
        tokio::spawn(echo_pings(channel, self.counters.clone()));
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
                tokio::spawn(read_audio(track, sink, counters));
            }
            MediaKind::Video => {
                let Some(video_codec) = codec_from_mime(&codec) else {
                    warn!("remote video codec {codec} is not one rtccall decodes; ignoring it");
                    return;
                };
                let sink = self.video_in.clone();
                let want = self.want_keyframe.clone();
                tokio::spawn(read_video(track, ssrc, video_codec, sink, want, counters));
            }
        }
    }
}

async fn read_audio(
    track: Arc<dyn TrackRemote>,
    sink: std::sync::mpsc::SyncSender<ReceivedFrame>,
    counters: Arc<Counters>,
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

fn codec_from_mime(mime: &str) -> Option<VideoCodec> {
    [VideoCodec::Vp8, VideoCodec::Vp9, VideoCodec::H264]
        .into_iter()
        .find(|c| mime.eq_ignore_ascii_case(video_mime(*c)))
}

fn video_mime(codec: VideoCodec) -> &'static str {
    match codec {
        VideoCodec::Vp8 => MIME_TYPE_VP8,
        VideoCodec::Vp9 => MIME_TYPE_VP9,
        VideoCodec::H264 => MIME_TYPE_H264,
    }
}

fn depacketizer(codec: VideoCodec) -> Box<dyn Depacketizer + Send> {
    match codec {
        VideoCodec::Vp8 => Box::new(Vp8Packet::default()),
        VideoCodec::Vp9 => Box::new(Vp9Packet::default()),
        VideoCodec::H264 => Box::new(H264Packet::default()),
    }
}

/// Reassembles video frames from RTP packets without waiting for the next frame: a frame is
/// done at its marker bit. Frames with a missing packet are dropped (and a keyframe requested).
struct FrameAssembler {
    codec: VideoCodec,
    depacketizer: Box<dyn Depacketizer + Send>,
    timestamp: Option<u32>,
    next_seq: Option<u16>,
    parts: Vec<Bytes>,
    broken: bool,
}

enum Assembled {
    Nothing,
    Frame(Bytes, u32),
    Dropped,
}

impl FrameAssembler {
    fn new(codec: VideoCodec) -> FrameAssembler {
        FrameAssembler {
            codec,
            depacketizer: depacketizer(codec),
            timestamp: None,
            next_seq: None,
            parts: Vec::new(),
            broken: false,
        }
    }

    fn push(&mut self, seq: u16, timestamp: u32, marker: bool, payload: &Bytes) -> Assembled {
        let gap = self.next_seq.is_some_and(|n| n != seq);
        self.next_seq = Some(seq.wrapping_add(1));
        let mut dropped = false;
        if self.timestamp != Some(timestamp) {
            if !self.parts.is_empty() {
                dropped = true; // the previous frame never saw its marker
            }
            self.parts.clear();
            // A fresh depacketizer: nothing of a broken frame may leak into this one.
            self.depacketizer = depacketizer(self.codec);
            self.timestamp = Some(timestamp);
            self.broken = !self.depacketizer.is_partition_head(payload);
        } else if gap {
            self.broken = true;
        }
        match self.depacketizer.depacketize(payload) {
            Ok(data) => self.parts.push(data),
            Err(_) => self.broken = true,
        }
        if !marker {
            return if dropped {
                Assembled::Dropped
            } else {
                Assembled::Nothing
            };
        }
        let parts = std::mem::take(&mut self.parts);
        if self.broken || dropped {
            self.broken = false;
            return Assembled::Dropped;
        }
        let data = if parts.len() == 1 {
            parts.into_iter().next().unwrap_or_default()
        } else {
            Bytes::from(parts.concat())
        };
        Assembled::Frame(data, timestamp)
    }
}

const PLI_MIN_GAP: Duration = Duration::from_millis(250);

async fn read_video(
    track: Arc<dyn TrackRemote>,
    media_ssrc: u32,
    codec: VideoCodec,
    sink: std::sync::mpsc::SyncSender<ReceivedFrame>,
    want_keyframe: Arc<AtomicBool>,
    counters: Arc<Counters>,
) {
    let mut assembler = FrameAssembler::new(codec);
    let mut last_pli: Option<Instant> = None;
    // Ask for a keyframe right away: the first packets of a new track may have been lost
    // before the track was registered.
    let mut need_pli = true;
    loop {
        if need_pli || want_keyframe.swap(false, Ordering::Relaxed) {
            need_pli = false;
            if last_pli.is_none_or(|t| t.elapsed() >= PLI_MIN_GAP) {
                let pli = PictureLossIndication {
                    sender_ssrc: 0,
                    media_ssrc,
                };
                if track.write_rtcp(vec![Box::new(pli)]).await.is_ok() {
                    counters.video.plis_sent.fetch_add(1, Ordering::Relaxed);
                    last_pli = Some(Instant::now());
                }
            }
        }
        let Some(ev) = track.poll().await else { break };
        match ev {
            TrackRemoteEvent::OnRtpPacket(pkt) => {
                counters
                    .video
                    .packets_received
                    .fetch_add(1, Ordering::Relaxed);
                let h = &pkt.header;
                match assembler.push(h.sequence_number, h.timestamp, h.marker, &pkt.payload) {
                    Assembled::Nothing => {}
                    Assembled::Dropped => {
                        counters.video.decode_errors.fetch_add(1, Ordering::Relaxed);
                        need_pli = true;
                    }
                    Assembled::Frame(data, ts) => {
                        let frame = ReceivedFrame {
                            data,
                            codec: Some(codec),
                            rtp_timestamp: ts,
                            arrived: Instant::now(),
                        };
                        if sink.try_send(frame).is_err() {
                            counters
                                .video
                                .receive_dropped
                                .fetch_add(1, Ordering::Relaxed);
                            need_pli = true;
                        }
                    }
                }
            }
            TrackRemoteEvent::OnEnded | TrackRemoteEvent::OnError => break,
            _ => {}
        }
    }
}

/// Passes inbound keyframe requests (PLI, FIR) on to the application, so the sender's track
/// sees them; everything else stays with the other interceptors.
struct KeyframeRequests {
    read: VecDeque<TaggedPacket>,
    write: VecDeque<TaggedPacket>,
}

impl Protocol<TaggedPacket, TaggedPacket, ()> for KeyframeRequests {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = rtc::shared::error::Error;
    type Time = Instant;

    fn handle_read(&mut self, mut msg: TaggedPacket) -> std::result::Result<(), Self::Error> {
        if let Packet::Rtcp(packets) = &msg.message.packet {
            let wanted: Vec<Box<dyn rtc::rtcp::Packet>> = packets
                .iter()
                .filter(|p| {
                    let any = p.as_any();
                    any.is::<PictureLossIndication>() || any.is::<FullIntraRequest>()
                })
                .cloned()
                .collect();
            if wanted.is_empty() {
                return Ok(());
            }
            msg.message.packet = Packet::Rtcp(wanted);
            msg.message.add(Attribute::DeliverToApplication);
        }
        self.read.push_back(msg);
        Ok(())
    }

    fn poll_read(&mut self) -> Option<Self::Rout> {
        self.read.pop_front()
    }

    fn handle_write(&mut self, msg: TaggedPacket) -> std::result::Result<(), Self::Error> {
        self.write.push_back(msg);
        Ok(())
    }

    fn poll_write(&mut self) -> Option<Self::Wout> {
        self.write.pop_front()
    }
}

impl Interceptor for KeyframeRequests {
    fn bind_local_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_local_stream(&mut self, _info: &StreamInfo) {}
    fn bind_remote_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _info: &StreamInfo) {}
}

fn opus_codec() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: MIME_TYPE_OPUS.to_owned(),
        clock_rate: 48000,
        channels: 2,
        sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(),
        rtcp_feedback: vec![],
    }
}

fn video_codec(codec: VideoCodec) -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: video_mime(codec).to_owned(),
        clock_rate: 90000,
        channels: 0,
        sdp_fmtp_line: match codec {
            VideoCodec::Vp8 => String::new(),
            VideoCodec::Vp9 => "profile-id=0".to_owned(),
            // Constrained baseline 3.1 in non-interleaved mode: what every browser takes.
            VideoCodec::H264 => {
                "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f".to_owned()
            }
        },
        rtcp_feedback: vec![],
    }
}

fn video_pt(codec: VideoCodec) -> u8 {
    match codec {
        VideoCodec::Vp8 => VP8_PT,
        VideoCodec::Vp9 => VP9_PT,
        VideoCodec::H264 => H264_PT,
    }
}

fn wrtc(context: &str, e: impl std::fmt::Display) -> Error {
    Error::Connection(format!("{context}: {e}"))
}

/// Build the webrtc-rs peer connection: codecs, interceptors, fast ICE timers, sockets.
async fn build_pc(
    setup: &PeerSetup,
    video_codec_choice: VideoCodec,
    handler: Arc<dyn PeerConnectionEventHandler>,
    mdns: bool,
) -> Result<Arc<dyn PeerConnection>> {
    let mut media_engine = MediaEngine::default();
    media_engine
        .register_codec(
            RTCRtpCodecParameters {
                rtp_codec: opus_codec(),
                payload_type: OPUS_PT,
            },
            RtpCodecKind::Audio,
        )
        .map_err(|e| wrtc("registering Opus", e))?;
    // Every codec rtccall decodes, ours first.
    let mut codecs = vec![video_codec_choice];
    codecs.extend(
        [VideoCodec::Vp8, VideoCodec::Vp9, VideoCodec::H264]
            .into_iter()
            .filter(|c| *c != video_codec_choice),
    );
    for c in codecs {
        media_engine
            .register_codec(
                RTCRtpCodecParameters {
                    rtp_codec: video_codec(c),
                    payload_type: video_pt(c),
                },
                RtpCodecKind::Video,
            )
            .map_err(|e| wrtc(&format!("registering {}", c.label()), e))?;
    }
    let registry = register_default_interceptors(Registry::new(), &mut media_engine)
        .map_err(|e| wrtc("setting up interceptors", e))?
        .with(
            Slot::from(14_000),
            KeyframeRequests {
                read: VecDeque::new(),
                write: VecDeque::new(),
            },
        );

    let ice_servers = setup
        .ice_servers
        .iter()
        .map(|s| RTCIceServer {
            urls: s.urls.clone(),
            username: s.username.clone(),
            credential: s.credential.clone(),
        })
        .collect();
    let mut config = RTCConfigurationBuilder::new().with_ice_servers(ice_servers);
    if setup.relay_only {
        config = config.with_ice_transport_policy(RTCIceTransportPolicy::Relay);
    }
    // The defaults cost 0.2 s to 4 s of setup (see the stack notes): accept pairs at once,
    // check every 20 ms, and notice a vanished peer within seconds.
    let setting_engine = SettingEngineBuilder::new()
        .with_host_acceptance_min_wait(Some(Duration::ZERO))
        .with_srflx_acceptance_min_wait(Some(Duration::ZERO))
        .with_prflx_acceptance_min_wait(Some(Duration::ZERO))
        .with_relay_acceptance_min_wait(Some(Duration::ZERO))
        .with_ice_connection_attempts(Some(Duration::from_millis(20)), None)
        .with_ice_timeouts(
            Some(Duration::from_secs(3)),
            Some(Duration::from_secs(4)),
            // webrtc-rs 0.21 hands a relayed packet to its TURN client after draining that
            // client's queue, so relayed packets leave only at the next driver wake-up (see
            // wake_driver, which covers connecting): keepalives every 20 ms keep waking it
            // afterwards, when little else is sent.
            Some(if setup.relay_only {
                Duration::from_millis(20)
            } else {
                Duration::from_millis(500)
            }),
        )
        .with_include_loopback_candidate(true)
        .with_multicast_dns_mode(if mdns {
            MulticastDnsMode::QueryOnly
        } else {
            MulticastDnsMode::Disabled
        })
        .build();
    let pc = PeerConnectionBuilder::new()
        .with_configuration(config.build())
        .with_media_engine(media_engine)
        .with_interceptor_registry(registry)
        .with_setting_engine(setting_engine)
        .with_handler(handler)
        .with_udp_addrs(setup.udp_bind.clone())
        .with_tcp_addrs(setup.tcp_bind.clone())
        .build()
        .await
        .map_err(|e| wrtc("creating the peer connection", e))?;
    Ok(Arc::new(pc))
}

impl Peer {
    /// Build the peer connection. Events arrive on `events`.
    pub async fn new(
        setup: &PeerSetup,
        ports: MediaPorts,
        events: mpsc::UnboundedSender<PeerEvent>,
    ) -> Result<Peer> {
        let connected = Arc::new(AtomicBool::new(false));
        let handler = Arc::new(Handler {
            events,
            connected: connected.clone(),
            force_keyframe: ports.force_keyframe.clone(),
            want_keyframe: ports.want_keyframe.clone(),
            audio_in: ports.audio_in.clone(),
            video_in: ports.video_in.clone(),
            counters: ports.counters.clone(),
        });
        // mDNS (to resolve browsers' .local candidates) needs a multicast-capable interface;
        // without one (a bare network namespace, some containers) go on without it.
        let pc = match build_pc(setup, ports.video_codec, handler.clone(), true).await {
            Ok(pc) => pc,
            Err(e) => {
                warn!("{e}; trying again without mDNS (.local candidates will not resolve)");
                build_pc(setup, ports.video_codec, handler, false).await?
            }
        };
        Ok(Peer {
            pc,
            connected,
            audio_out: ports.audio_out,
            video_out: ports.video_out,
            local: Vec::new(),
            force_keyframe: ports.force_keyframe,
            counters: ports.counters,
            video_codec: ports.video_codec,
            pending_candidates: std::sync::Mutex::new(Vec::new()),
            remote_set: AtomicBool::new(false),
            remote_has_data: AtomicBool::new(false),
        })
    }

    /// Add our tracks. The dialer calls this before its offer (`offerer`: it then also adds
    /// receive-only transceivers for kinds it does not send); the answerer after applying the
    /// offer, so its tracks attach to the offered transceivers.
    pub async fn attach_media(&mut self, offerer: bool) -> Result<()> {
        if offerer {
            // A data channel proves SCTP over DTLS works too: the answerer echoes our pings.
            let channel = self
                .pc
                .create_data_channel("rtccall", None)
                .await
                .map_err(|e| wrtc("creating the data channel", e))?;
            tokio::spawn(wake_driver(channel.clone(), self.connected.clone()));
            tokio::spawn(send_pings(channel, self.counters.clone()));
        } else if self.remote_has_data.load(Ordering::SeqCst) {
            // A channel of our own, never opened on the wire (negotiated, unannounced), only
            // to wake the driver while connecting (see wake_driver).
            let init = rtc::data_channel::RTCDataChannelInit {
                negotiated: Some(1022),
                ..Default::default()
            };
            match self
                .pc
                .create_data_channel("rtccall-wake", Some(init))
                .await
            {
                Ok(ch) => {
                    tokio::spawn(wake_driver(ch, self.connected.clone()));
                }
                Err(e) => debug!("no wake-up channel: {e}"),
            }
        }
        for kind in [MediaKind::Audio, MediaKind::Video] {
            let frames = match kind {
                MediaKind::Audio => self.audio_out.take(),
                MediaKind::Video => self.video_out.take(),
            };
            let rtp_kind = match kind {
                MediaKind::Audio => RtpCodecKind::Audio,
                MediaKind::Video => RtpCodecKind::Video,
            };
            let Some(frames) = frames else {
                if offerer {
                    self.pc
                        .add_transceiver_from_kind(
                            rtp_kind,
                            Some(RTCRtpTransceiverInit {
                                direction: RTCRtpTransceiverDirection::Recvonly,
                                ..Default::default()
                            }),
                        )
                        .await
                        .map_err(|e| wrtc("adding a receive-only transceiver", e))?;
                }
                continue;
            };
            let ssrc: u32 = rand_ssrc();
            let codec = match kind {
                MediaKind::Audio => opus_codec(),
                MediaKind::Video => video_codec(self.video_codec),
            };
            let track = Arc::new(
                TrackLocalStaticSample::new(
                    Instant::now(),
                    // Track ids must differ from the other peer's: webrtc-rs routes inbound RTCP
                    // (PLI for our sender) by track id and looks at remote tracks first.
                    MediaStreamTrack::new(
                        format!("rtccall-{ssrc:08x}"),
                        format!("rtccall-{}-{ssrc:08x}", kind.as_str()),
                        format!("rtccall {}", kind.as_str()),
                        rtp_kind,
                        vec![RTCRtpEncodingParameters {
                            rtp_coding_parameters: RTCRtpCodingParameters {
                                ssrc: Some(ssrc),
                                ..Default::default()
                            },
                            codec,
                            ..Default::default()
                        }],
                    ),
                )
                .map_err(|e| wrtc("creating a local track", e))?,
            );
            let sender = self
                .pc
                .add_track(track.clone() as Arc<dyn TrackLocal>)
                .await
                .map_err(|e| wrtc("adding a local track", e))?;
            self.local.push(LocalTrack {
                kind,
                track,
                sender,
                ssrc,
                frames,
            });
        }
        Ok(())
    }

    /// Start moving encoded frames onto the negotiated tracks. Call once negotiation is done.
    /// Returns the tracks that will be sent, as `(kind, codec)`.
    pub async fn start_sending(&mut self) -> Vec<(MediaKind, String)> {
        let mut started = Vec::new();
        for local in self.local.drain(..) {
            let codec = match local.kind {
                MediaKind::Audio => MIME_TYPE_OPUS,
                MediaKind::Video => video_mime(self.video_codec),
            };
            let pt = match local.sender.get_parameters().await {
                Ok(p) => {
                    let same: Vec<_> = p
                        .rtp_parameters
                        .codecs
                        .iter()
                        .filter(|c| c.rtp_codec.mime_type.eq_ignore_ascii_case(codec))
                        .collect();
                    // H.264 must be packetization-mode 1 (FU-A): that is what we packetize.
                    same.iter()
                        .find(|c| {
                            codec != MIME_TYPE_H264
                                || c.rtp_codec.sdp_fmtp_line.contains("packetization-mode=1")
                        })
                        .or(same.first())
                        .map(|c| c.payload_type)
                }
                Err(e) => {
                    warn!("no parameters for the {} sender: {e}", local.kind.as_str());
                    None
                }
            };
            let Some(pt) = pt else {
                warn!(
                    "the other side does not take our {} ({codec}); not sending it",
                    local.kind.as_str()
                );
                continue;
            };
            started.push((local.kind, codec.to_string()));
            let connected = self.connected.clone();
            let counters = self.counters.clone();
            let force = self.force_keyframe.clone();
            let feedback_track = local.track.clone();
            let feedback_counters = self.counters.clone();
            tokio::spawn(async move {
                while let Some(ev) = feedback_track.poll().await {
                    if let TrackLocalEvent::OnRtcpPacket(_) = ev {
                        force.store(true, Ordering::SeqCst);
                        feedback_counters
                            .video
                            .plis_received
                            .fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
            tokio::spawn(write_frames(local, pt, connected, counters));
        }
        started
    }

    pub async fn create_offer(&self) -> Result<String> {
        let offer = self
            .pc
            .create_offer(None)
            .await
            .map_err(|e| wrtc("creating the offer", e))?;
        let sdp = offer.sdp.clone();
        self.pc
            .set_local_description(offer)
            .await
            .map_err(|e| wrtc("applying our offer", e))?;
        Ok(sdp)
    }

    /// Apply the remote offer (tracks must be attached after this, then [`Peer::create_answer`]).
    pub async fn apply_offer(&self, sdp: &str) -> Result<()> {
        self.remote_has_data
            .store(sdp.contains("m=application"), Ordering::SeqCst);
        let desc = RTCSessionDescription::offer(sdp.to_string())
            .map_err(|e| Error::Signaling(format!("the offer is not valid SDP: {e}")))?;
        self.pc
            .set_remote_description(desc)
            .await
            .map_err(|e| Error::Signaling(format!("the offer was not accepted: {e}")))?;
        self.remote_applied().await;
        Ok(())
    }

    pub async fn create_answer(&self) -> Result<String> {
        let answer = self
            .pc
            .create_answer(None)
            .await
            .map_err(|e| wrtc("creating the answer", e))?;
        let sdp = answer.sdp.clone();
        self.pc
            .set_local_description(answer)
            .await
            .map_err(|e| wrtc("applying our answer", e))?;
        Ok(sdp)
    }

    pub async fn apply_answer(&self, sdp: &str) -> Result<()> {
        let desc = RTCSessionDescription::answer(sdp.to_string())
            .map_err(|e| Error::Signaling(format!("the answer is not valid SDP: {e}")))?;
        self.pc
            .set_remote_description(desc)
            .await
            .map_err(|e| Error::Signaling(format!("the answer was not accepted: {e}")))?;
        self.remote_applied().await;
        Ok(())
    }

    async fn remote_applied(&self) {
        self.remote_set.store(true, Ordering::SeqCst);
        let pending = std::mem::take(
            &mut *self
                .pending_candidates
                .lock()
                .unwrap_or_else(|p| p.into_inner()),
        );
        for c in pending {
            self.add_candidate_now(c).await;
        }
    }

    /// Add a trickled remote candidate; held back until the remote description is applied.
    pub async fn add_remote_candidate(&self, c: CandidateLine) {
        if !self.remote_set.load(Ordering::SeqCst) {
            self.pending_candidates
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(c);
            return;
        }
        self.add_candidate_now(c).await;
    }

    async fn add_candidate_now(&self, c: CandidateLine) {
        let init = RTCIceCandidateInit {
            candidate: c.candidate.clone(),
            sdp_mid: c.sdp_mid,
            sdp_mline_index: c.sdp_mline_index,
            username_fragment: c.username_fragment,
            url: None,
        };
        if let Err(e) = self.pc.add_ice_candidate(init).await {
            warn!("remote candidate {:?} not usable: {e}", c.candidate);
        }
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
        if let Some(p) = pair {
            let find = |id: &str, prefix: &str| -> Option<Candidate> {
                let entry = report
                    .get(id)
                    .or_else(|| report.get(&format!("{prefix}{id}")));
                match entry {
                    Some(E::LocalCandidate(c)) | Some(E::RemoteCandidate(c)) => Some(Candidate {
                        candidate_type: c.candidate_type.to_string(),
                        protocol: c.protocol.to_lowercase(),
                        address: c.address.clone().unwrap_or_default(),
                        port: c.port,
                    }),
                    _ => None,
                }
            };
            let local = find(&p.local_candidate_id, "RTCLocalIceCandidate_");
            let remote = find(&p.remote_candidate_id, "RTCRemoteIceCandidate_");
            let unknown = || Candidate {
                candidate_type: "prflx".into(),
                protocol: "udp".into(),
                address: String::new(),
                port: 0,
            };
            if local.is_some() || remote.is_some() {
                out.selected_pair = Some(SelectedPair {
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

    /// Close the peer connection (idempotent).
    pub async fn close(&self) {
        if let Err(e) = self.pc.close().await {
            debug!("closing the peer connection: {e}");
        }
    }
}

async fn write_frames(
    mut local: LocalTrack,
    pt: u8,
    connected: Arc<AtomicBool>,
    counters: Arc<Counters>,
) {
    let kind_counters = counters.of(local.kind);
    while let Some(frame) = local.frames.recv().await {
        if !connected.load(Ordering::Relaxed) {
            continue; // nothing can be sent yet; the encoder is told to send a keyframe on connect
        }
        let sample = Sample {
            data: frame.data,
            duration: frame.duration,
            ..Sample::new(frame.captured)
        };
        match local
            .track
            .sample_writer(local.ssrc, pt)
            .write_sample(&sample)
            .await
        {
            Ok(()) => {
                kind_counters.frames_sent.fetch_add(1, Ordering::Relaxed);
                if frame.keyframe {
                    kind_counters.keyframes_sent.fetch_add(1, Ordering::Relaxed);
                }
            }
            Err(e) => {
                debug!("{} frame not sent: {e}", local.kind.as_str());
                kind_counters.send_errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

fn rand_ssrc() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    (h.finish() as u32) | 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vp8_payload(start: bool, body: &[u8]) -> Bytes {
        // Minimal VP8 payload descriptor: X=0, S=start, PID=0.
        let mut v = vec![if start { 0x10 } else { 0x00 }];
        v.extend_from_slice(body);
        Bytes::from(v)
    }

    #[test]
    fn assembles_frames_at_the_marker() {
        let mut a = FrameAssembler::new(VideoCodec::Vp8);
        assert!(matches!(
            a.push(1, 100, false, &vp8_payload(true, b"abcd")),
            Assembled::Nothing
        ));
        match a.push(2, 100, true, &vp8_payload(false, b"efgh")) {
            Assembled::Frame(data, ts) => {
                assert_eq!(&data[..], b"abcdefgh");
                assert_eq!(ts, 100);
            }
            _ => panic!("expected a frame"),
        }
    }

    #[test]
    fn drops_frames_with_a_gap() {
        let mut a = FrameAssembler::new(VideoCodec::Vp8);
        a.push(1, 100, false, &vp8_payload(true, b"abcd"));
        // packet 2 lost
        assert!(matches!(
            a.push(3, 100, true, &vp8_payload(false, b"ijkl")),
            Assembled::Dropped
        ));
        // the next frame is whole again
        assert!(matches!(
            a.push(4, 200, true, &vp8_payload(true, b"mnop")),
            Assembled::Frame(..)
        ));
        // a frame whose first packet is lost
        assert!(matches!(
            a.push(6, 300, true, &vp8_payload(false, b"qrst")),
            Assembled::Dropped
        ));
    }
}

/// webrtc-rs 0.21's driver hands packets bound for a TURN relay to its TURN client after it has
/// drained that client's queue (`poll_writes` in peer_connection/driver.rs), so a relayed ICE
/// check or DTLS flight waits for the driver's next wake-up. Until the connection is up and
/// half a second after (SCTP and the data channel open then; at most 15 s in all), poke the
/// driver every 2 ms through a no-op data channel call that wakes it.
async fn wake_driver(channel: Arc<dyn DataChannel>, connected: Arc<AtomicBool>) {
    let until = Instant::now() + Duration::from_secs(15);
    let mut after_connect: Option<Instant> = None;
    while Instant::now() < until {
        if connected.load(Ordering::SeqCst) {
            let since = *after_connect.get_or_insert_with(Instant::now);
            if since.elapsed() > Duration::from_millis(500) {
                return;
            }
        }
        if channel.set_buffered_amount_low_threshold(0).await.is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// The dialer's side of the data channel: a ping every 100 ms once open; echoes counted.
async fn send_pings(channel: Arc<dyn DataChannel>, counters: Arc<Counters>) {
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut open = false;
    let mut seq = 0u64;
    loop {
        tokio::select! {
            ev = channel.poll() => match ev {
                Some(DataChannelEvent::OnOpen) => open = true,
                Some(DataChannelEvent::OnMessage(m)) => {
                    if m.data.starts_with(b"pong ") {
                        counters.data_echoes.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Some(DataChannelEvent::OnClose) | None => return,
                Some(_) => {}
            },
            _ = tick.tick(), if open => {
                if channel.send_text(&format!("ping {seq}")).await.is_err() {
                    return;
                }
                seq += 1;
                counters.data_sent.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// The answerer's side: echo every ping.
async fn echo_pings(channel: Arc<dyn DataChannel>, counters: Arc<Counters>) {
    while let Some(ev) = channel.poll().await {
        match ev {
            DataChannelEvent::OnMessage(m) => {
                if let Some(rest) = m.data.strip_prefix(b"ping ") {
                    let reply = format!("pong {}", String::from_utf8_lossy(rest));
                    if channel.send_text(&reply).await.is_err() {
                        return;
                    }
                    counters
                        .data_echoed_for_peer
                        .fetch_add(1, Ordering::Relaxed);
                }
            }
            DataChannelEvent::OnClose => return,
            _ => {}
        }
    }
}

/// What ICE gathering produced (`rtccall probe`'s Trickle ICE report).
#[derive(Debug, Clone, Default)]
pub struct GatherReport {
    pub candidates: Vec<GatheredCandidate>,
    /// Milliseconds from the start of gathering to the first candidate and to `complete`.
    pub first_ms: Option<f64>,
    pub complete_ms: Option<f64>,
    /// `on_ice_candidate_error` reports (URL, code, text).
    pub errors: Vec<String>,
}

enum GatherEvent {
    Candidate(GatheredCandidate),
    Error(String),
    Complete,
}

struct GatherHandler {
    events: mpsc::UnboundedSender<GatherEvent>,
    start: Instant,
}

fn ms_since(start: Instant) -> f64 {
    (start.elapsed().as_secs_f64() * 10_000.0).round() / 10.0
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for GatherHandler {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        let c = &event.candidate;
        let related = (!c.related_address.is_empty()).then(|| c.related_address.clone());
        let _ = self.events.send(GatherEvent::Candidate(GatheredCandidate {
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
    let pc = build_pc(setup, VideoCodec::Vp8, handler, false).await?;
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
