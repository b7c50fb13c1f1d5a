//! What the peer reports and is built from, in rtccall's terms: candidates and the selected
//! pair, the set-up, the local ICE facts trickled candidates carry, peer events, the media
//! queues, and the payload types offered.

use super::*;

/// One ICE candidate as the driver reports it (local, remote, or an end of the selected pair).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandidateInfo {
    /// `host`, `srflx`, `prflx` or `relay`.
    pub candidate_type: String,
    /// `udp` or `tcp`.
    pub protocol: String,
    pub address: String,
    pub port: u16,
    /// For a local relay candidate: the transport to the TURN server (`udp`, `tcp`, `tls`).
    pub relay_protocol: Option<String>,
}

/// The candidate pair ICE selected, and its STUN round-trip time.
#[derive(Debug, Clone, PartialEq)]
pub struct PairInfo {
    pub local: CandidateInfo,
    pub remote: CandidateInfo,
    pub rtt_ms: Option<f64>,
}

pub(crate) const OPUS_PT: u8 = 111;
pub(crate) const VP8_PT: u8 = 96;
pub(crate) const VP9_PT: u8 = 98;
pub(crate) const H264_PT: u8 = 102;

pub use crate::ice::IceServer;

/// How to build the peer connection.
#[derive(Debug, Clone)]
pub struct PeerSetup {
    pub ice_servers: Vec<IceServer>,
    pub relay_only: bool,
    pub udp_bind: Vec<SocketAddr>,
    pub tcp_bind: Vec<SocketAddr>,
    /// `--impair`: what this peer does to everything it sends.
    pub impair: Option<crate::impair::ImpairSpec>,
    /// The offerer opens the `rtccall` data channel (ping echoes, chat, files); not towards
    /// WHIP/WHEP endpoints, which take media only.
    pub data_channel: bool,
    /// `--restart-ice-after`: restart ICE this long after the call first connects, whether
    /// or not the path failed (to check that the other side or the server takes a restart).
    pub restart_ice_after: Option<std::time::Duration>,
}

/// What trickled candidates must carry besides the candidate line: the mid of the first media
/// section (the BUNDLE tag) and our ICE username fragment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalIce {
    pub mid: String,
    pub ufrag: String,
}

impl LocalIce {
    /// From our own SDP: the `a=mid` of the first media section, and `a=ice-ufrag` (session
    /// level, or that section's).
    pub(super) fn from_sdp(sdp: &rtc::sdp::SessionDescription) -> Option<LocalIce> {
        let first = sdp.media_descriptions.first()?;
        let ufrag = sdp
            .attribute("ice-ufrag")
            .map(String::as_str)
            .or_else(|| first.attribute("ice-ufrag").flatten())?;
        Some(LocalIce {
            mid: first.attribute("mid").flatten()?.trim().to_string(),
            ufrag: ufrag.trim().to_string(),
        })
    }
}

pub use crate::call::signaling::CandidateLine;

/// What the peer connection reports, in rtccall's terms.
#[derive(Debug)]
pub enum PeerEvent {
    LocalCandidate(CandidateLine, CandidateInfo),
    GatheringComplete,
    Gathering(GatheringState),
    CandidateError(String),
    IceState(IceState),
    ConnectionState(ConnState),
    Track {
        kind: MediaKind,
        codec: String,
    },
    /// The other side opened a data channel (chat, a file, a throughput test).
    DataChannel(crate::data::Channel),
    /// The other side said `bye` on the liveness channel (its signaling was down).
    Bye(Option<String>),
    /// The other side switched its microphone (`Mute`, `true` = muted) or camera (`Video`,
    /// `true` = on) (a `control` message on the liveness channel).
    Control(crate::report::schema::ControlAction, bool),
}

pub use crate::report::schema::{ConnState, GatheringState, IceState};

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
    /// The codec our video is encoded in (offered first, so the other side prefers it too); the
    /// answerer changes it when the offer does not carry it.
    pub video_codec: CodecChoice,
    /// The whole transport's ceiling for the bandwidth estimate when we send video, bit/s.
    pub send_ceiling_bps: Option<f64>,
    /// Our switches (mute, camera), told to the other side on the liveness channel.
    pub controls: crate::media::controls::Controls,
}
