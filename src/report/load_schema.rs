//! The records of `rtccall load --json`: one `load-call` per side of each call as it ends, a
//! `load-progress` every second while calls run, and the `load-summary` last.

use serde::{Deserialize, Serialize};

use super::schema::{Expectation, Percentiles};

/// Percentiles over calls (or sides).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spread {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    /// How many values they are taken over.
    pub n: u64,
}

impl Spread {
    /// Nearest-rank percentiles, rounded to 0.1; `None` without values.
    pub fn of(values: &[f64]) -> Option<Spread> {
        if values.is_empty() {
            return None;
        }
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        let at = |p: f64| {
            let i = ((p / 100.0) * (v.len() - 1) as f64).round() as usize;
            (v[i.min(v.len() - 1)] * 10.0).round() / 10.0
        };
        Some(Spread {
            p50: at(50.0),
            p95: at(95.0),
            p99: at(99.0),
            n: v.len() as u64,
        })
    }
}

/// One side of one call, when it ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadCall {
    /// The call's number (0-based) and its room.
    pub call: u32,
    pub room: String,
    pub role: String,
    pub server: String,
    /// Whether this side's media is decoded (`--decode`) or checked and counted.
    pub decoded: bool,
    pub connected: bool,
    /// How far it got: `signaling`, `ice`, `dtls`, `media` (connected, media flowing).
    pub reached: String,
    /// Where it failed (`signaling`, `ice`, `dtls`, `media`) and why; absent when it did not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// ms from the start of negotiation.
    pub ice_connected_ms: Option<f64>,
    pub dtls_connected_ms: Option<f64>,
    pub first_audio_ms: Option<f64>,
    pub first_video_ms: Option<f64>,
    pub duration_s: f64,
    /// Mean received and sent bitrate while connected, kbit/s.
    pub bitrate_in_kbps: f64,
    pub bitrate_out_kbps: f64,
    /// Received packets lost, %.
    pub loss_pct: f64,
    pub jitter_ms: Option<f64>,
    pub rtt_ms: Option<f64>,
    pub audio_ms: u64,
    pub video_frames: u64,
    pub fps: Option<f64>,
    pub freezes: u64,
    /// Capture-to-receive age of video (audio without video), ms.
    pub latency_ms: Option<Percentiles>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expectations: Vec<Expectation>,
    pub exit_code: i32,
}

/// Calls so far, every second while they run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadProgress {
    pub ms: f64,
    pub started: u32,
    pub connecting: u32,
    pub connected: u32,
    pub ended: u32,
    pub failed: u32,
    /// Over every connected side, the last second, Mbit/s.
    pub bitrate_in_mbit_s: f64,
    pub bitrate_out_mbit_s: f64,
    pub loss_pct: f64,
}

/// Failed calls by phase and reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Failure {
    pub phase: String,
    pub reason: String,
    pub calls: u32,
}

/// The last record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadSummary {
    pub calls: u32,
    /// Calls started (all asked, unless interrupted), all of whose sides here connected, and
    /// any of whose sides failed.
    pub started: u32,
    pub connected: u32,
    pub failed: u32,
    pub failures: Vec<Failure>,
    /// Sides (`both`: two per call) and how many decoded their media.
    pub sides: u32,
    pub decoded_sides: u32,
    /// Set-up over every side, ms from the start of negotiation.
    pub ice_connected_ms: Option<Spread>,
    pub dtls_connected_ms: Option<Spread>,
    pub first_audio_ms: Option<Spread>,
    pub first_video_ms: Option<Spread>,
    /// Per-side mean received bitrate, and all sides' together, kbit/s.
    pub bitrate_in_kbps: Option<Spread>,
    pub total_bitrate_in_mbit_s: f64,
    /// Received packets lost over every side, %.
    pub loss_pct: f64,
    pub jitter_ms: Option<Spread>,
    pub rtt_ms: Option<Spread>,
    pub video_frames: u64,
    pub fps: Option<Spread>,
    pub freezes: u64,
    /// Per-side p95 of the capture-to-receive age, ms.
    pub latency_ms: Option<Spread>,
    /// The process: CPU while calls were connected, in % of one core, and per call; the
    /// peak resident memory, MiB, and per call.
    pub cpu_pct: f64,
    pub cpu_pct_per_call: f64,
    pub rss_mib: f64,
    pub rss_mib_per_call: f64,
    pub duration_s: f64,
    /// Each `--expect` over every side: met when every side met it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expectations: Vec<Expectation>,
    pub exit_code: i32,
}

/// Every NDJSON record of `rtccall load --json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
#[allow(clippy::large_enum_variant)]
pub enum LoadRecord {
    LoadCall(LoadCall),
    LoadProgress(LoadProgress),
    LoadSummary(LoadSummary),
}
