//! The machine-readable output contract: every NDJSON record `--json` prints. The call driver
//! emits these as events; the JSON reporter serialises them unchanged and the human reporter
//! renders them. Tests parse them back with unknown fields denied, so drift fails a test.

use serde::{Deserialize, Serialize};

/// An enum whose values go on the wire as fixed names: serialised, parsed, shown and compared
/// with those names (so `state == "connected"` reads as it did when it was a string).
macro_rules! wire_names {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vm])* #[serde(rename = $s)] $v),+
        }

        impl $name {
            /// The name on the wire.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$v => $s),+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }
    };
}

wire_names! {
    /// Which way something goes: media, chat lines, files, throughput.
    Direction { Send = "send", Receive = "receive" }
}

wire_names! {
    /// Whose candidate: gathered here, or received from the other side.
    Side { Local = "local", Remote = "remote" }
}

wire_names! {
    /// ICE gathering states (W3C `RTCIceGatheringState`).
    GatheringState { New = "new", Gathering = "gathering", Complete = "complete" }
}

wire_names! {
    /// ICE connection states (W3C `RTCIceConnectionState`).
    IceState {
        New = "new",
        Checking = "checking",
        Connected = "connected",
        Completed = "completed",
        Disconnected = "disconnected",
        Failed = "failed",
        Closed = "closed",
    }
}

wire_names! {
    /// Peer connection states (W3C `RTCPeerConnectionState`); `new` for any other.
    ConnState {
        Connecting = "connecting",
        Connected = "connected",
        Disconnected = "disconnected",
        Failed = "failed",
        Closed = "closed",
        Other = "new",
    }
}

wire_names! {
    /// Whether the peer connection is connected, as `stats` records say.
    LinkState { Connected = "connected", NotConnected = "not-connected" }
}

// The enum is made by `wire_names!`, which derives no `Default`.
#[allow(clippy::derivable_impls)]
impl Default for LinkState {
    fn default() -> LinkState {
        LinkState::NotConnected
    }
}

wire_names! {
    /// A step of a file transfer.
    FileEvent {
        Offer = "offer",
        Accepted = "accepted",
        Refused = "refused",
        /// Every 250 ms while bytes move.
        Progress = "progress",
        Verified = "verified",
        Failed = "failed",
    }
}

wire_names! {
    /// Why a call ended.
    EndReason {
        /// `--duration` elapsed.
        Duration = "duration",
        /// The file source ended.
        EndOfMedia = "end-of-media",
        /// Chat, files and the throughput test are done (piped input).
        DataDone = "data-done",
        /// The other side hung up.
        RemoteBye = "remote-bye",
        /// The person hung up from the call screen (`q`).
        HangUp = "hang-up",
        /// Ctrl-C, SIGTERM, or the call's handle.
        Interrupted = "interrupted",
        /// The call was declined.
        Rejected = "rejected",
        /// An error ended it (see `error`).
        Error = "error",
    }
}

/// What kind of error ended a call: one per exit code.
pub use crate::exit::Kind as ErrorKind;

/// One candidate as seen in a pair or trickled over signaling.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Candidate {
    /// `host`, `srflx`, `prflx` or `relay`.
    #[serde(rename = "type")]
    pub candidate_type: String,
    /// `udp` or `tcp`.
    pub protocol: String,
    pub address: String,
    pub port: u16,
    /// Local relay candidates only: the transport between this peer and its TURN server
    /// (`udp`, `tcp` or `tls`), as W3C stats' `relayProtocol`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relay_protocol: Option<String>,
}

/// The candidate pair ICE selected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SelectedPair {
    pub local: Candidate,
    pub remote: Candidate,
    /// STUN round-trip time on the pair (W3C `currentRoundTripTime`), in ms.
    pub rtt_ms: Option<f64>,
}

/// `host udp 127.0.0.1:5000 <-> relay udp 10.0.0.1:6000`.
impl std::fmt::Display for SelectedPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (l, r) = (&self.local, &self.remote);
        write!(
            f,
            "{} {} {}:{} <-> {} {} {}:{}",
            l.candidate_type,
            l.protocol,
            l.address,
            l.port,
            r.candidate_type,
            r.protocol,
            r.address,
            r.port
        )
    }
}

/// Per-interval audio figures in a `stats` record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AudioInterval {
    pub packets_sent: u64,
    pub packets_received: u64,
    /// Cumulative packets lost as the receiver counts them (W3C `packetsLost`).
    pub packets_lost: i64,
    /// Interarrival jitter in ms (W3C `jitter`, converted from RTP clock units).
    pub jitter_ms: Option<f64>,
    /// Milliseconds of audio decoded so far.
    pub decoded_ms: u64,
    /// Milliseconds of lost audio rebuilt from in-band FEC / filled by concealment, so far.
    pub fec_recovered_ms: u64,
    pub concealed_ms: u64,
    /// Level of the audio sent / received just now, in dBFS (-100 is silence; `null` when none
    /// flows). A silent microphone shows here.
    pub level_sent_dbfs: Option<f64>,
    pub level_received_dbfs: Option<f64>,
    /// Frames dropped so far because capture, encoder or network fell behind.
    pub frames_dropped: u64,
    /// Mean Opus encode time per frame over the interval, ms.
    pub encode_ms: Option<f64>,
    /// Audio waiting in the speaker's jitter buffer, ms (`null` without a speaker).
    pub buffer_ms: Option<u64>,
    /// The depth the jitter buffer aims at, ms: 60 on a calm link, more under jitter (`null`
    /// without a speaker).
    pub buffer_target_ms: Option<u64>,
    /// Times the speaker ran dry, and packets dropped for arriving too late, so far.
    pub underruns: u64,
    pub late_packets: u64,
    /// Capture-to-decode age of the audio decoded over the interval, ms (median; `null` when
    /// the other side sends no capture times: see "End-to-end latency").
    #[serde(default)]
    pub latency_ms: Option<f64>,
}

/// Per-interval video figures in a `stats` record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VideoInterval {
    pub frames_sent: u64,
    pub frames_decoded: u64,
    /// Frames decoded per second over the last interval.
    pub fps_received: f64,
    pub packets_lost: i64,
    pub jitter_ms: Option<f64>,
    pub width: u32,
    pub height: u32,
    /// Frames dropped so far because capture, encoder or network fell behind.
    pub frames_dropped: u64,
    /// Mean encode time per frame over the interval, ms.
    pub encode_ms: Option<f64>,
    /// Files: position and length of the source, seconds.
    pub source_position_s: Option<f64>,
    pub source_length_s: Option<f64>,
    /// The encoder's bitrate target now, kbit/s (`null` when no video is sent).
    #[serde(default)]
    pub target_kbps: Option<f64>,
    /// Freezes so far: a gap between decoded frames over 3 times the mean frame interval (or
    /// that plus 150 ms), as webrtc-internals' `freezeCount`.
    #[serde(default)]
    pub freezes: u64,
    /// Capture-to-decode age of the frames decoded over the interval, ms (median; `null`
    /// without capture times).
    #[serde(default)]
    pub latency_ms: Option<f64>,
}

/// Milestones of a call, in ms from the moment this peer starts negotiating (the dialer creates
/// the offer; the answerer receives it). `null` when the milestone was never reached.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Timings {
    /// ICE connection state reached `connected`.
    pub ice_connected: Option<f64>,
    /// DTLS handshake done: the peer connection state reached `connected`.
    pub dtls_connected: Option<f64>,
    /// First audio frame decoded.
    pub first_audio: Option<f64>,
    /// First video frame decoded.
    pub first_video_frame: Option<f64>,
}

/// Audio totals in the `summary`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AudioSummary {
    /// What was sent: `tone`, `mic`, `mic:DEVICE`, `file:PATH` or `none`.
    pub source: String,
    pub packets_sent: u64,
    pub packets_received: u64,
    pub packets_lost: i64,
    /// Received packets that decoded.
    #[serde(default)]
    pub packets_decoded: u64,
    /// Milliseconds of audio decoded.
    pub decoded_ms: u64,
    /// Milliseconds of lost audio rebuilt from the next packet's in-band FEC.
    pub fec_recovered_ms: u64,
    /// Milliseconds of lost audio filled by the decoder's concealment (PLC).
    pub concealed_ms: u64,
    /// Captured frames dropped because the encoder or the network fell behind.
    pub frames_dropped: u64,
    /// Received packets the decoder rejected.
    pub decode_errors: u64,
    /// Times the speaker ran dry; packets dropped for arriving too late.
    pub underruns: u64,
    pub late_packets: u64,
    /// Packets written to the recording.
    pub recorded: u64,
    /// Capture-to-decode age of the decoded audio, ms (`null` without capture times).
    #[serde(default)]
    pub latency_ms: Option<Percentiles>,
}

/// Video totals in the `summary`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VideoSummary {
    /// What was sent: `testsrc`, `file:PATH`, `camera:DEVICE`, `screen:DISPLAY`,
    /// `ffmpeg:FORMAT:INPUT` or `none`.
    pub source: String,
    /// Codec sent: `VP8`, `VP9` or `H.264`.
    pub codec: String,
    pub frames_sent: u64,
    pub keyframes_sent: u64,
    pub frames_decoded: u64,
    /// RTP packets of video received.
    #[serde(default)]
    pub packets_received: u64,
    /// Size of the last decoded frame (0 when none was decoded).
    pub width: u32,
    pub height: u32,
    pub packets_lost: i64,
    /// Captured or encoded frames dropped because a queue was full.
    pub frames_dropped: u64,
    /// Frames that failed to decode or arrived incomplete.
    pub decode_errors: u64,
    /// Keyframe requests (PLI) this side sent.
    pub plis_sent: u64,
    /// Keyframe requests (PLI/FIR) the other side sent us and we honoured.
    pub plis_received: u64,
    /// Encode time per frame, ms (50th and 95th percentile).
    pub encode_ms_p50: Option<f64>,
    pub encode_ms_p95: Option<f64>,
    /// Frames written to the recording.
    pub recorded: u64,
    /// The encoder's bitrate target at the end, kbit/s (it follows the link: see the rate
    /// controller), and how many times the controller cut it.
    #[serde(default)]
    pub target_kbps: Option<f64>,
    #[serde(default)]
    pub rate_cuts: u64,
    /// Frames not encoded to keep to the target (the encoder cannot go lower otherwise).
    #[serde(default)]
    pub rate_skipped: u64,
    /// Frames the other side sent from the first one decoded here (counted from the RTP
    /// timestamps that arrived: frames lost whole are counted too).
    #[serde(default)]
    pub frames_expected: u64,
    /// Freezes (see the `stats` record) and their total length, ms.
    #[serde(default)]
    pub freezes: u64,
    #[serde(default)]
    pub freeze_ms: u64,
    /// Capture-to-decode age of the decoded frames, ms (`null` without capture times).
    #[serde(default)]
    pub latency_ms: Option<Percentiles>,
}

/// Data channel totals in the `summary`: the dialer opens a channel and sends a ping every
/// 100 ms; the answerer echoes each one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSummary {
    /// Pings this peer sent, and echoes of them that came back.
    pub pings_sent: u64,
    pub echoes_received: u64,
    /// Pings from the other peer this peer echoed.
    pub pings_echoed: u64,
    /// Chat lines (summary only; absent when no chat channel was used).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat: Option<ChatSummary>,
    /// Files sent and received (summary only), in the order they were offered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FileSummary>,
    /// The data-channel throughput test (summary only; absent when none ran).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throughput: Option<ThroughputSummary>,
    /// What went wrong on the data channels without a file to pin it on (a chat line not
    /// sent, a test that did not finish).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

/// Chat totals in the `summary`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatSummary {
    /// Lines this side sent, and how many the other side acknowledged.
    pub sent: u64,
    pub acked: u64,
    /// Lines from the other side.
    pub received: u64,
}

/// One file transfer in the `summary`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSummary {
    pub direction: Direction,
    /// The name sent (the receiver: the sanitised name it was saved under).
    pub name: String,
    /// Bytes offered, bytes that went (sent) or arrived (received).
    pub size: u64,
    pub bytes: u64,
    /// From acceptance to verification, and the rate over it.
    pub duration_s: f64,
    pub mbit_s: f64,
    /// The SHA-256 both sides agree on (only when verified).
    pub sha256: Option<String>,
    /// The receiver checked length and hash and the file is in place.
    pub verified: bool,
    /// Why it did not arrive: refused, cut off, hash mismatch, ...
    pub error: Option<String>,
    /// This side refused the offer (its policy, not a failure). Not on the wire.
    #[serde(skip)]
    pub refused_here: bool,
}

/// The throughput test in the `summary`: each direction's rate as its receiver measured it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThroughputSummary {
    /// Length of each phase, seconds.
    pub secs: f64,
    /// The channel is reliable and ordered.
    pub ordered: bool,
    pub send_mbit_s: Option<f64>,
    pub receive_mbit_s: Option<f64>,
}

/// One `--expect` condition and whether it held, with what was measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    /// The condition as given (probe: `relay`, `srflx`, `tcp`, `tls` or `max-rtt`; calls: see
    /// `rtccall dial --help`).
    pub expect: String,
    pub met: bool,
    /// The measured value, or why nothing could be measured.
    pub detail: String,
}

/// Percentiles of a measured value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Percentiles {
    pub p50: f64,
    pub p95: f64,
}

/// The last record of a call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    pub role: String,
    pub room: String,
    /// The peer connection reached `connected`.
    pub connected: bool,
    /// Seconds spent connected.
    pub duration_s: f64,
    pub timings_ms: Timings,
    pub selected_pair: Option<SelectedPair>,
    pub audio: AudioSummary,
    pub video: VideoSummary,
    pub data: DataSummary,
    /// The file the received media was recorded into, and why recording failed if it did.
    pub recording: Option<String>,
    pub recording_error: Option<String>,
    /// How the call ended: `duration`, `end-of-media`, `remote-bye`, `interrupted`, `rejected`,
    /// `error`.
    pub end_reason: EndReason,
    /// The error that ended the call, if any.
    pub error: Option<String>,
    /// What went differently than asked without ending the call: our codec not taken, a
    /// negotiated stream that never arrived.
    #[serde(default)]
    pub warnings: Vec<String>,
    /// ICE restarts that brought the call back, and for each how long ICE was down (from
    /// `disconnected` to connected again), ms.
    #[serde(default)]
    pub ice_restarts: u64,
    #[serde(default)]
    pub ice_recovery_ms: Vec<f64>,
    /// With `--impair`: what it did to the datagrams this peer sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impair: Option<Box<ImpairSummary>>,
    /// The `--expect` conditions, each with what was measured (absent without any).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expectations: Vec<Expectation>,
    /// The connection's four security words (absent when it never connected).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sas: Option<String>,
    pub exit_code: i32,
}

impl Summary {
    /// Received audio and video packets lost, and those the other side sent from the first
    /// that arrived (received + lost).
    pub fn packets_lost_of_sent(&self) -> (u64, u64) {
        let lost = (self.audio.packets_lost.max(0) + self.video.packets_lost.max(0)) as u64;
        (
            lost,
            self.audio.packets_received + self.video.packets_received + lost,
        )
    }

    /// Seconds from the first decoded video frame to the end of the call (`None` without
    /// one).
    pub fn secs_from_first_video(&self) -> Option<f64> {
        let t = &self.timings_ms;
        let first = t.first_video_frame?;
        let connected = t.dtls_connected.unwrap_or(first);
        Some(self.duration_s - (first - connected).max(0.0) / 1000.0)
    }
}

/// What `--impair` did: the spec in full (defaults filled in) and datagram counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImpairSummary {
    pub spec: String,
    /// Datagrams that left (after their delay), dropped at random, dropped by the rate
    /// limiter's full queue, and held back so that later ones overtook them.
    pub sent: u64,
    pub lost: u64,
    pub overflow: u64,
    pub reordered: u64,
}

/// A `stats` record, emitted once per interval while connected.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stats {
    /// Peer connection state.
    pub state: LinkState,
    pub selected_pair: Option<SelectedPair>,
    /// Bitrate of everything sent/received on the transport over the last interval, kbit/s.
    pub bitrate_out_kbps: f64,
    pub bitrate_in_kbps: f64,
    /// Receiver-side loss over the whole call: lost / (received + lost), in percent.
    pub loss_pct: f64,
    pub audio: AudioInterval,
    pub video: VideoInterval,
    /// Data channel pings and echoes so far.
    pub data: DataSummary,
}

/// Every NDJSON record. `ms` is milliseconds since the command started.
/// What happened on the signaling side (the `event` of a `signaling` record).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignalingEvent {
    /// No server was running on the loopback URL: this process serves it.
    EmbeddedServer,
    /// Connected to the signaling server (detail: its URL).
    Connected,
    /// ICE servers handed out by the server are used.
    IceServers,
    /// In the room.
    Joined,
    /// Back in the room after a reconnection (the call went on meanwhile).
    Rejoined,
    PeerJoined,
    PeerLeft,
    OfferSent,
    OfferReceived,
    /// An offer that was not taken (glare, or renegotiation).
    OfferIgnored,
    AnswerSent,
    AnswerReceived,
    Rejected,
    ByeSent,
    ByeReceived,
    /// The signaling connection went while the call is connected: the call goes on.
    Lost,
    /// Connected to the signaling server again after losing it.
    Reconnected,
    /// ICE is being restarted (detail: why, and which attempt): the dialer sends a new offer
    /// with new ICE credentials, the answerer asks for one with `restart`.
    IceRestart,
    /// ICE connected again after a restart (detail: how long the media was cut).
    IceRestarted,
    /// The signaling side did something other than asked without ending the call (detail:
    /// what; e.g. a WHIP/WHEP endpoint that takes no trickled candidates or gave no Location).
    Warning,
}

impl PartialEq<str> for SignalingEvent {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl SignalingEvent {
    /// The name used on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            SignalingEvent::EmbeddedServer => "embedded-server",
            SignalingEvent::Connected => "connected",
            SignalingEvent::IceServers => "ice-servers",
            SignalingEvent::Joined => "joined",
            SignalingEvent::Rejoined => "rejoined",
            SignalingEvent::PeerJoined => "peer-joined",
            SignalingEvent::PeerLeft => "peer-left",
            SignalingEvent::OfferSent => "offer-sent",
            SignalingEvent::OfferReceived => "offer-received",
            SignalingEvent::OfferIgnored => "offer-ignored",
            SignalingEvent::AnswerSent => "answer-sent",
            SignalingEvent::AnswerReceived => "answer-received",
            SignalingEvent::Rejected => "rejected",
            SignalingEvent::ByeSent => "bye-sent",
            SignalingEvent::ByeReceived => "bye-received",
            SignalingEvent::Lost => "lost",
            SignalingEvent::Reconnected => "reconnected",
            SignalingEvent::IceRestart => "ice-restart",
            SignalingEvent::IceRestarted => "ice-restarted",
            SignalingEvent::Warning => "warning",
        }
    }
}

/// What a `control` record switched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ControlAction {
    /// The microphone (`on` = muted).
    Mute,
    /// The camera (`off` = no video sent).
    Video,
    /// The speaker volume, percent.
    Volume,
}

impl ControlAction {
    pub fn as_str(self) -> &'static str {
        match self {
            ControlAction::Mute => "mute",
            ControlAction::Video => "video",
            ControlAction::Volume => "volume",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
// A summary is made once per call and a stats record once per interval, both moved through one
// channel: boxing them would add allocations and save nothing that matters.
#[allow(clippy::large_enum_variant)]
pub enum Record {
    /// The signaling server `rtccall serve` listens on (first line of `serve --json`).
    Listening { url: String },
    /// A signaling step (see [`SignalingEvent`]).
    Signaling {
        ms: f64,
        event: SignalingEvent,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
    /// A local candidate gathered, or a remote one received.
    Candidate {
        ms: f64,
        side: Side,
        /// `host`, `srflx`, `prflx` or `relay`.
        candidate_type: String,
        /// `udp` or `tcp`.
        protocol: String,
        address: String,
        port: u16,
    },
    /// ICE gathering state.
    IceGathering { ms: f64, state: GatheringState },
    /// ICE connection state.
    IceState { ms: f64, state: IceState },
    /// Peer connection state.
    ConnectionState { ms: f64, state: ConnState },
    /// A media track sent or received.
    Track {
        ms: f64,
        direction: Direction,
        kind: String,
        codec: String,
    },
    /// Live figures for one interval.
    Stats {
        ms: f64,
        #[serde(flatten)]
        stats: Stats,
    },
    /// A chat line sent (`direction` `send`) or received (`receive`); `id` counts from 0 per
    /// direction.
    Chat {
        ms: f64,
        direction: Direction,
        id: u64,
        text: String,
    },
    /// A file transfer step.
    File {
        ms: f64,
        direction: Direction,
        name: String,
        event: FileEvent,
        size: u64,
        /// Bytes so far (a sender counts what the other side acknowledged).
        bytes: u64,
        /// Rate since the transfer started, Mbit/s.
        mbit_s: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
    /// One second of the throughput test: `direction` `send` (bytes acknowledged in that
    /// second) or `receive`.
    Throughput {
        ms: f64,
        direction: Direction,
        second: u32,
        mbit_s: f64,
    },
    /// A switch turned during the call: by the person here (`side` `local`: a key on the call
    /// screen) or by the other side (`remote`: its control message). `action` `mute` (`state`
    /// `on`/`off`), `video` (`on`/`off`) or `volume` (`state` the percent, local only).
    Control {
        ms: f64,
        side: Side,
        action: ControlAction,
        state: String,
    },
    /// The short authentication string of the connection, once connected (see the README's
    /// "Security words").
    Sas { ms: f64, words: String },
    /// The error that ends the call (also summarised in `summary`).
    Error {
        ms: f64,
        kind: ErrorKind,
        message: String,
        exit_code: i32,
    },
    /// Last record of a call.
    Summary(Summary),
}
