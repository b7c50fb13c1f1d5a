//! The machine-readable contract of `rtccall probe --json`: one `step` record per check as it
//! ends, then one `summary`. Tests parse it back with unknown fields denied.

use serde::{Deserialize, Serialize};

use super::schema::SelectedPair;

/// How a step ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// It worked.
    #[default]
    Pass,
    /// Worked, with something worth fixing (the `explanation` says what).
    Warn,
    /// It failed (the `explanation` says why and what to check).
    Fail,
    /// Not applicable to this server or not possible after an earlier failure.
    Skip,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "fail",
            Status::Skip => "skip",
        }
    }
}

/// Round-trip times over a series of requests or packets, ms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rtt {
    pub min: f64,
    pub p50: f64,
    pub p95: f64,
    pub max: f64,
}

/// One candidate of the ICE gathering report (the Trickle ICE page's columns).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatheredCandidate {
    /// Milliseconds since gathering started.
    pub ms: f64,
    pub component: u16,
    /// `host`, `srflx`, `prflx`, `relay`.
    #[serde(rename = "type")]
    pub candidate_type: String,
    /// `udp` or `tcp`.
    pub protocol: String,
    pub address: String,
    pub port: u16,
    pub priority: u32,
    pub related_address: Option<String>,
    pub related_port: Option<u16>,
    /// The server that produced it (for srflx and relay candidates), when it can be told.
    pub url: Option<String>,
}

/// An in-process call's result (connectivity steps).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallCheck {
    /// From the offer to ICE connected and to DTLS connected, ms (dialing side).
    pub ice_connected_ms: Option<f64>,
    pub connected_ms: Option<f64>,
    pub selected_pair: Option<SelectedPair>,
    /// Audio packets and video frames that made it across, each way.
    pub audio_packets_received: u64,
    pub video_frames_decoded: u64,
    /// Data channel pings the dialing peer sent, and echoes that came back.
    pub data_sent: u64,
    pub data_echoed: u64,
    /// With `--data-throughput`: what the call's data channel carried each way, Mbit/s
    /// (dialing side to answering side, and back), each as its receiver measured it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_send_mbit_s: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_receive_mbit_s: Option<f64>,
}

/// RFC 5780 NAT behaviour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Nat {
    /// `endpoint-independent`, `address-dependent`, `address-and-port-dependent`, `unknown`.
    pub mapping: String,
    pub filtering: String,
    /// Mapped addresses seen from one local socket, by server.
    pub mapped: Vec<String>,
}

/// One ended check. Optional fields appear when the step has them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Milliseconds since the probe started, when the step ended.
    pub ms: f64,
    /// The server URL (credentials removed), or `*` for steps over all servers.
    pub server: String,
    /// `dns`, `stun-binding`, `turn-allocate`, `relay-echo`, `turn-security`, `ice-gathering`,
    /// `call-direct`, `call-relay`, `nat`.
    pub step: String,
    /// `udp`, `tcp` or `tls` where it matters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<String>,
    pub status: Status,
    /// How long the step took, ms.
    pub duration_ms: f64,
    /// What happened, in one line.
    pub message: String,
    /// Why it failed or warned and what to check, in plain words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<String>,
    /// The STUN error code the server answered, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addresses: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mapped_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relayed_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifetime_s: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub software: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtt_ms: Option<Rtt>,
    /// Requests or packets sent and answered, and the loss in percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss_pct: Option<f64>,
    /// `hold` and `hold-refresh`: refreshes made (or the number of this one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refreshes: Option<u32>,
    /// Security check: peer addresses the relay agreed to reach, and those it refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peers_allowed: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peers_refused: Option<Vec<String>>,
    /// Peers whose permission got an answer other than 403, so the policy cannot be told
    /// (address and answer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peers_unknown: Option<Vec<String>>,
    /// ICE gathering: every candidate, and when the first came and gathering completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub candidates: Option<Vec<GatheredCandidate>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_candidate_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gathering_complete_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<CallCheck>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nat: Option<Nat>,
    /// `load`: the figures of `--load`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load: Option<LoadFigures>,
}

/// Round-trip percentiles under load, ms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadRtt {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

/// The allocations of a `--load` run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadAllocations {
    pub asked: u32,
    pub granted: u32,
    /// Failures by STUN error code (`"486"`) or kind (`timeout`, `io`, `tls`, `protocol`).
    pub failed: std::collections::BTreeMap<String, u32>,
    /// Granted allocations over the time until the last one was granted.
    pub per_second: f64,
    /// Time from the first request to the granted allocation (401 round trip included), ms.
    pub p50_ms: Option<f64>,
    pub max_ms: Option<f64>,
}

/// What `probe --load` measured on one TURN server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadFigures {
    pub clients: u32,
    pub duration_s: f64,
    /// Asked for: packets per second per client, and bytes per packet.
    pub rate_pps: u32,
    pub size_bytes: u32,
    pub allocations: LoadAllocations,
    /// Packets sent through the relays, and echoes that came back.
    pub packets_sent: u64,
    pub packets_received: u64,
    /// Echoed packets per second over the duration, all clients together, and the payload
    /// bit rate they carry (each way).
    pub packets_per_second: f64,
    pub mbit_s: f64,
    pub loss_pct: f64,
    pub rtt_ms: Option<LoadRtt>,
}

impl Step {
    /// A step with only the required fields set.
    pub fn new(server: &str, step: &str, transport: Option<&str>, status: Status) -> Step {
        Step {
            server: server.to_string(),
            step: step.to_string(),
            transport: transport.map(str::to_string),
            status,
            ..Step::default()
        }
    }
}

/// The verdict for one server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerVerdict {
    pub server: String,
    /// `pass`, `warn` or `fail`.
    pub verdict: Status,
    /// Steps that failed, and steps that warned.
    pub failed: Vec<String>,
    pub warnings: Vec<String>,
}

/// One `--expect`/`--max-rtt` expectation and whether it held (the same record as a call's).
pub use super::schema::Expectation;

/// The last record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeSummary {
    pub ms: f64,
    pub servers: Vec<ServerVerdict>,
    pub expectations: Vec<Expectation>,
    /// `pass` (exit 0) or `fail` (exit 1); warnings do not fail a probe.
    pub verdict: Status,
    pub exit_code: i32,
}

/// Every NDJSON record of `rtccall probe --json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ProbeRecord {
    Step(Box<Step>),
    Summary(ProbeSummary),
}
