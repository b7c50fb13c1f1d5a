//! W3C stats objects for the dump: what webrtc-rs reports cleaned up (its timestamps in
//! seconds put in milliseconds, RTP jitter in seconds, members it never fills left out), and
//! the members it cannot know filled from what rtccall measures itself (decoding, encoding,
//! the jitter buffer, the rate controller). Pure: JSON in, JSON out.

use serde_json::{Map, Value, json};

/// Members of the RTP stream objects that webrtc-rs really counts (every other member it
/// reports is a constant it never updates, left out rather than shown as a measurement).
const INBOUND: &[&str] = &[
    "id",
    "type",
    "timestamp",
    "ssrc",
    "kind",
    "transportId",
    "codecId",
    "mid",
    "remoteId",
    "packetsReceived",
    "packetsLost",
    "jitter",
    "bytesReceived",
    "headerBytesReceived",
    "lastPacketReceivedTimestamp",
    "nackCount",
    "pliCount",
    "firCount",
];
const OUTBOUND: &[&str] = &[
    "id",
    "type",
    "timestamp",
    "ssrc",
    "kind",
    "transportId",
    "codecId",
    "mid",
    "remoteId",
    "packetsSent",
    "bytesSent",
    "headerBytesSent",
    "nackCount",
    "pliCount",
    "firCount",
    "active",
];
const REMOTE_INBOUND: &[&str] = &[
    "id",
    "type",
    "timestamp",
    "ssrc",
    "kind",
    "transportId",
    "codecId",
    "localId",
    "packetsLost",
    "fractionLost",
    "jitter",
    "roundTripTime",
    "totalRoundTripTime",
    "roundTripTimeMeasurements",
];
const REMOTE_OUTBOUND: &[&str] = &[
    "id",
    "type",
    "timestamp",
    "ssrc",
    "kind",
    "transportId",
    "codecId",
    "localId",
    "packetsSent",
    "bytesSent",
    "remoteTimestamp",
    "reportsSent",
    "roundTripTime",
    "totalRoundTripTime",
    "roundTripTimeMeasurements",
];
/// Members holding a time (webrtc-rs: seconds since the epoch; W3C: milliseconds).
const TIMES: &[&str] = &[
    "timestamp",
    "lastPacketReceivedTimestamp",
    "lastPacketSentTimestamp",
    "remoteTimestamp",
];

/// Put webrtc-rs's report right, in place.
pub fn clean(stats: &mut Map<String, Value>) {
    let clocks: Map<String, Value> = stats
        .iter()
        .filter(|(_, v)| v["type"] == "codec")
        .map(|(id, v)| (id.clone(), v["clockRate"].clone()))
        .collect();
    // webrtc-rs names a pair's candidates without the prefix of their own ids: point the
    // references at the objects.
    let ids: Vec<String> = stats.keys().cloned().collect();
    for v in stats.values_mut() {
        if v["type"] != "candidate-pair" {
            continue;
        }
        for (member, prefix) in [
            ("localCandidateId", "RTCLocalIceCandidate_"),
            ("remoteCandidateId", "RTCRemoteIceCandidate_"),
        ] {
            if let Some(id) = v[member].as_str()
                && !ids.iter().any(|i| i == id)
            {
                let full = format!("{prefix}{id}");
                if ids.contains(&full) {
                    v[member] = Value::String(full);
                }
            }
        }
    }
    stats.retain(|_, v| match v["type"].as_str() {
        // No receiver report (with a round trip) or sender report yet: the object would
        // only hold zeros.
        Some("remote-inbound-rtp") => v["roundTripTimeMeasurements"].as_u64() > Some(0),
        Some("remote-outbound-rtp") => v["reportsSent"].as_u64() > Some(0),
        _ => true,
    });
    // References to objects not in the report (a remote stream with no RTCP report yet) go.
    let ids: Vec<String> = stats.keys().cloned().collect();
    for v in stats.values_mut() {
        if let Value::Object(o) = v {
            o.retain(|k, v| {
                !(k.ends_with("Id")
                    && k != "playoutId"
                    && v.as_str()
                        .is_some_and(|r| !r.is_empty() && !ids.iter().any(|i| i == r)))
            });
        }
    }
    for v in stats.values_mut() {
        let Value::Object(o) = v else { continue };
        let keep: Option<&[&str]> = match o.get("type").and_then(Value::as_str) {
            Some("inbound-rtp") => Some(INBOUND),
            Some("outbound-rtp") => Some(OUTBOUND),
            Some("remote-inbound-rtp") => Some(REMOTE_INBOUND),
            Some("remote-outbound-rtp") => Some(REMOTE_OUTBOUND),
            _ => None,
        };
        if let Some(keep) = keep {
            o.retain(|k, _| keep.contains(&k.as_str()));
        }
        for k in TIMES {
            if let Some(t) = o.get(*k).and_then(Value::as_f64) {
                o.insert((*k).to_string(), json!((t * 1_000_000.0).round() / 1000.0));
            }
        }
        // RTP jitter is in timestamp units: seconds need the codec's clock.
        if matches!(
            o.get("type").and_then(Value::as_str),
            Some("inbound-rtp" | "remote-inbound-rtp")
        ) && let (Some(j), Some(clock)) = (
            o.get("jitter").and_then(Value::as_f64),
            o.get("codecId")
                .and_then(Value::as_str)
                .and_then(|c| clocks.get(c))
                .and_then(Value::as_f64)
                .filter(|c| *c > 0.0),
        ) {
            o.insert("jitter".into(), json!(j / clock));
        }
        // Defaults standing for "not known".
        o.retain(|k, v| match v {
            Value::String(s) => !s.is_empty() && s != "Unspecified",
            Value::Object(m) => !m.is_empty(),
            Value::Number(n) => {
                let zero = n.as_f64() == Some(0.0);
                let unknown_when_zero = matches!(
                    k.as_str(),
                    "availableIncomingBitrate"
                        | "availableOutgoingBitrate"
                        | "relatedPort"
                        | "channels"
                        // RFC 8888 feedback is not negotiated: webrtc-rs counts none.
                        | "ccfbMessagesReceived"
                        | "ccfbMessagesSent"
                );
                !(zero && unknown_when_zero)
            }
            _ => true,
        });
    }
}

/// What rtccall measured itself, now: cumulative counters, and the figures of the interval.
#[derive(Debug, Clone, Default)]
pub struct Own {
    /// Seconds since the last stats.
    pub interval_s: f64,
    /// Video received: frames decoded, dropped before decoding, size, frames per second.
    pub frames_decoded: u64,
    pub frames_dropped: u64,
    pub decoded_size: (u32, u32),
    pub decoded_fps: f64,
    /// Audio received, in 48 kHz samples: decoded from packets, rebuilt from FEC, concealed.
    pub samples_decoded: u64,
    pub samples_fec: u64,
    pub samples_concealed: u64,
    /// The speaker's jitter buffer, ms (None: no speaker).
    pub buffer_ms: Option<(u64, u64)>,
    /// Video sent.
    pub frames_encoded: u64,
    pub key_frames_encoded: u64,
    pub frames_sent: u64,
    pub sent_size: (u32, u32),
    pub sent_fps: f64,
    pub encode_s: f64,
    /// The encoder's target and the configured bit rate, bit/s.
    pub target_bps: f64,
    pub configured_bps: f64,
}

/// Members rtccall adds from its own measurements; the jitter-buffer sums run across calls
/// of [`Fill::fill`].
#[derive(Debug, Default)]
pub struct Fill {
    buffer_delay_s: f64,
    buffer_target_s: f64,
    emitted: u64,
    last_samples: u64,
}

impl Fill {
    pub fn fill(&mut self, stats: &mut Map<String, Value>, own: &Own) {
        let samples = own.samples_decoded + own.samples_fec + own.samples_concealed;
        let emitted = samples.saturating_sub(self.last_samples);
        self.last_samples = samples;
        if let Some((depth, target)) = own.buffer_ms {
            self.emitted += emitted;
            self.buffer_delay_s += depth as f64 / 1000.0 * emitted as f64;
            self.buffer_target_s += target as f64 / 1000.0 * emitted as f64;
        }
        for v in stats.values_mut() {
            let Value::Object(o) = v else { continue };
            let kind = o.get("kind").and_then(Value::as_str).unwrap_or("");
            match (o.get("type").and_then(Value::as_str), kind) {
                (Some("inbound-rtp"), "video") => {
                    o.insert("framesDecoded".into(), json!(own.frames_decoded));
                    o.insert("framesDropped".into(), json!(own.frames_dropped));
                    o.insert("framesPerSecond".into(), json!(own.decoded_fps));
                    if own.decoded_size.0 > 0 {
                        o.insert("frameWidth".into(), json!(own.decoded_size.0));
                        o.insert("frameHeight".into(), json!(own.decoded_size.1));
                    }
                }
                (Some("inbound-rtp"), "audio") => {
                    o.insert("totalSamplesReceived".into(), json!(samples));
                    o.insert("concealedSamples".into(), json!(own.samples_concealed));
                    if own.buffer_ms.is_some() {
                        o.insert("jitterBufferDelay".into(), json!(self.buffer_delay_s));
                        o.insert(
                            "jitterBufferTargetDelay".into(),
                            json!(self.buffer_target_s),
                        );
                        o.insert("jitterBufferEmittedCount".into(), json!(self.emitted));
                    }
                }
                (Some("outbound-rtp"), "video") => {
                    o.insert("framesEncoded".into(), json!(own.frames_encoded));
                    o.insert("keyFramesEncoded".into(), json!(own.key_frames_encoded));
                    o.insert("framesSent".into(), json!(own.frames_sent));
                    // The first report has no interval to count frames over.
                    if own.interval_s > 0.0 {
                        o.insert("framesPerSecond".into(), json!(own.sent_fps));
                    }
                    o.insert("frameWidth".into(), json!(own.sent_size.0));
                    o.insert("frameHeight".into(), json!(own.sent_size.1));
                    o.insert("totalEncodeTime".into(), json!(own.encode_s));
                    o.insert("targetBitrate".into(), json!(own.target_bps));
                    let limited = own.target_bps > 0.0 && own.target_bps < own.configured_bps;
                    o.insert(
                        "qualityLimitationReason".into(),
                        json!(if limited { "bandwidth" } else { "none" }),
                    );
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_are_w3c_and_unfilled_members_go() {
        let mut m = match json!({
            "C": {"id": "C", "type": "codec", "timestamp": 1796428168.29, "clockRate": 90000, "channels": 0, "sdpFmtpLine": ""},
            "I": {"id": "I", "type": "inbound-rtp", "kind": "video", "timestamp": 1796428168.29,
                  "codecId": "C", "jitter": 900.0, "framesDecoded": 0, "audioLevel": 0.0,
                  "lastPacketReceivedTimestamp": 1796428168.25, "packetsReceived": 10},
            "R": {"id": "R", "type": "remote-inbound-rtp", "roundTripTimeMeasurements": 0},
            "L": {"id": "L", "type": "local-candidate", "relayProtocol": "Unspecified", "relatedPort": 0, "port": 5},
            "RTCLocalIceCandidate_candidate:a": {"type": "local-candidate"},
            "P": {"id": "P", "type": "candidate-pair", "localCandidateId": "candidate:a", "remoteCandidateId": "candidate:b"},
        }) {
            Value::Object(o) => o,
            _ => unreachable!(),
        };
        clean(&mut m);
        assert_eq!(m["I"]["timestamp"], json!(1796428168290.0));
        assert_eq!(
            m["I"]["lastPacketReceivedTimestamp"],
            json!(1796428168250.0)
        );
        assert_eq!(m["I"]["jitter"], json!(0.01));
        assert!(m["I"].get("framesDecoded").is_none() && m["I"].get("audioLevel").is_none());
        assert_eq!(m["I"]["packetsReceived"], 10);
        assert!(!m.contains_key("R"));
        assert_eq!(
            m["L"],
            json!({"id": "L", "type": "local-candidate", "port": 5})
        );
        assert!(m["C"].get("channels").is_none() && m["C"].get("sdpFmtpLine").is_none());
        // A pair points at its candidates' real ids.
        assert_eq!(
            m["P"]["localCandidateId"],
            "RTCLocalIceCandidate_candidate:a"
        );
        // A reference to nothing in the report goes.
        assert!(m["P"].get("remoteCandidateId").is_none());

        let mut fill = Fill::default();
        let own = Own {
            frames_decoded: 30,
            decoded_size: (320, 240),
            ..Default::default()
        };
        fill.fill(&mut m, &own);
        assert_eq!(m["I"]["framesDecoded"], 30);
        assert_eq!(m["I"]["frameWidth"], 320);
    }

    #[test]
    fn jitter_buffer_sums_grow_with_the_samples_played() {
        let mut m = match json!({"A": {"id": "A", "type": "inbound-rtp", "kind": "audio"}}) {
            Value::Object(o) => o,
            _ => unreachable!(),
        };
        let mut fill = Fill::default();
        let mut own = Own {
            samples_decoded: 48_000,
            buffer_ms: Some((40, 60)),
            ..Default::default()
        };
        fill.fill(&mut m, &own);
        own.samples_decoded = 96_000;
        own.samples_concealed = 480;
        own.buffer_ms = Some((20, 60));
        fill.fill(&mut m, &own);
        let a = &m["A"];
        assert_eq!(a["totalSamplesReceived"], 96_480);
        assert_eq!(a["concealedSamples"], 480);
        assert_eq!(a["jitterBufferEmittedCount"], 96_480);
        let delay = a["jitterBufferDelay"].as_f64().unwrap();
        // 48000 samples at 40 ms, then 48480 at 20 ms.
        assert!(
            (delay - (48_000.0 * 0.04 + 48_480.0 * 0.02)).abs() < 1e-6,
            "{delay}"
        );
    }
}
