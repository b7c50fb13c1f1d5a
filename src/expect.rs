//! `--expect` on calls: the conditions (parsed from `name[op value]`), what a call measured
//! for them ([`Observed`], from its `stats` records), and the check against the summary.

use std::fmt;
use std::str::FromStr;

use crate::report::schema::{Expectation, Stats, Summary};

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Lt,
    Le,
    Gt,
    Ge,
}

impl Op {
    fn holds(self, measured: f64, bound: f64) -> bool {
        match self {
            Op::Lt => measured < bound,
            Op::Le => measured <= bound,
            Op::Gt => measured > bound,
            Op::Ge => measured >= bound,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        }
    }
}

/// A figure compared against a bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Median STUN round-trip time on the selected pair, ms.
    Rtt,
    /// Received packets lost, % (audio and video, from the first packet that arrived).
    Loss,
    /// The worse of the audio and video interarrival jitter medians, ms.
    Jitter,
    /// Video frames decoded per second, from the first decoded frame to the end.
    Fps,
    /// Video frames decoded of those the other side sent, %.
    VideoDecoded,
    /// Audio packets decoded of those the other side sent, %.
    AudioDecoded,
    /// Mean received bitrate, kbit/s.
    Bitrate,
    Freezes,
    Restarts,
    /// The slower direction of the throughput test, Mbit/s.
    Data,
    /// Capture-to-decode p95 of every kind that carries capture times, ms.
    Latency,
    AudioLatency,
    VideoLatency,
}

const METRICS: &[(&str, Metric, &str)] = &[
    ("rtt", Metric::Rtt, "ms"),
    ("loss", Metric::Loss, "%"),
    ("jitter", Metric::Jitter, "ms"),
    ("fps", Metric::Fps, ""),
    ("video-decoded", Metric::VideoDecoded, "%"),
    ("audio-decoded", Metric::AudioDecoded, "%"),
    ("bitrate", Metric::Bitrate, "kbps"),
    ("freezes", Metric::Freezes, ""),
    ("restarts", Metric::Restarts, ""),
    ("data", Metric::Data, "mbit"),
    ("latency", Metric::Latency, "ms"),
    ("audio-latency", Metric::AudioLatency, "ms"),
    ("video-latency", Metric::VideoLatency, "ms"),
];

/// One `--expect` condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    /// The call connected (DTLS), within `within_ms` of the start of negotiation if given.
    Connected {
        within_ms: Option<(Op, f64)>,
    },
    /// The selected path's type: relay when either end is a relay candidate, otherwise this
    /// side's candidate type.
    Path(String),
    /// This side's relay transport to its TURN server.
    Relay(String),
    /// The video codec sent.
    Codec(String),
    Compare(Metric, Op, f64),
}

/// A condition as given, kept for the report.
#[derive(Debug, Clone, PartialEq)]
pub struct Expect {
    pub text: String,
    pub cond: Cond,
}

impl fmt::Display for Expect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Every condition name, for error messages and help.
pub const NAMES: &str = "connected[<SECS s], path=host|srflx|prflx|relay, relay=udp|tcp|tls, \
    codec=vp8|vp9|h264, rtt<MS, loss<PCT, jitter<MS, fps>=N, video-decoded>=PCT, \
    audio-decoded>=PCT, bitrate>=KBPS, freezes<=N, restarts<=N, data>=MBIT, latency<MS, \
    audio-latency<MS, video-latency<MS";

fn split_op(s: &str) -> Option<(&str, Op, &str)> {
    let i = s.find(['<', '>', '='])?;
    let (name, rest) = s.split_at(i);
    let (op, value) = if let Some(v) = rest.strip_prefix("<=") {
        (Op::Le, v)
    } else if let Some(v) = rest.strip_prefix(">=") {
        (Op::Ge, v)
    } else if let Some(v) = rest.strip_prefix('<') {
        (Op::Lt, v)
    } else if let Some(v) = rest.strip_prefix('>') {
        (Op::Gt, v)
    } else {
        return None;
    };
    Some((name.trim(), op, value.trim()))
}

/// A number with an optional unit suffix (`ms`, `s`, `%`, `kbps`, `mbit`, ...).
fn number(value: &str, units: &[(&str, f64)]) -> Option<f64> {
    let v = value.trim().to_ascii_lowercase();
    for (unit, scale) in units {
        if let Some(n) = v.strip_suffix(unit)
            && let Ok(x) = n.trim().parse::<f64>()
        {
            return (x.is_finite() && x >= 0.0).then_some(x * scale);
        }
    }
    v.parse::<f64>().ok().filter(|x| x.is_finite() && *x >= 0.0)
}

fn one_of(name: &str, value: &str, allowed: &[&str]) -> Result<String, String> {
    let v = value.trim().to_ascii_lowercase().replace('.', "");
    if allowed.contains(&v.as_str()) {
        Ok(v)
    } else {
        Err(format!(
            "{name}= takes {}, not {value:?}",
            allowed.join(", ")
        ))
    }
}

impl FromStr for Expect {
    type Err = String;

    fn from_str(s: &str) -> Result<Expect, String> {
        let text = s.trim().to_string();
        let bad = || format!("unknown condition {text:?}: expected one of {NAMES}");
        if text == "connected" {
            return Ok(Expect {
                text,
                cond: Cond::Connected { within_ms: None },
            });
        }
        if let Some(v) = text.strip_prefix("path=") {
            let v = one_of("path", v, &["host", "srflx", "prflx", "relay"])?;
            return Ok(Expect {
                text,
                cond: Cond::Path(v),
            });
        }
        if let Some(v) = text.strip_prefix("relay=") {
            let v = one_of("relay", v, &["udp", "tcp", "tls"])?;
            return Ok(Expect {
                text,
                cond: Cond::Relay(v),
            });
        }
        if let Some(v) = text.strip_prefix("codec=") {
            let v = one_of("codec", v, &["vp8", "vp9", "h264"])?;
            return Ok(Expect {
                text,
                cond: Cond::Codec(v),
            });
        }
        let (name, op, value) = split_op(&text).ok_or_else(bad)?;
        if name == "connected" {
            if !matches!(op, Op::Lt | Op::Le) {
                return Err(format!(
                    "{text:?}: connected takes < or <= a time, as connected<2s"
                ));
            }
            let ms = number(value, &[("ms", 1.0), ("s", 1000.0)])
                .ok_or_else(|| format!("{text:?}: {value:?} is not a time (2s, 1500ms)"))?;
            return Ok(Expect {
                text,
                cond: Cond::Connected {
                    within_ms: Some((op, ms)),
                },
            });
        }
        let (_, metric, unit) = METRICS
            .iter()
            .find(|(n, _, _)| *n == name)
            .ok_or_else(bad)?;
        let units: &[(&str, f64)] = match *unit {
            "ms" => &[("ms", 1.0), ("s", 1000.0)],
            "%" => &[("%", 1.0)],
            "kbps" => &[("kbps", 1.0), ("kbit/s", 1.0), ("mbps", 1000.0)],
            "mbit" => &[("mbit/s", 1.0), ("mbps", 1.0), ("mbit", 1.0)],
            _ => &[],
        };
        let bound = number(value, units).ok_or_else(|| {
            format!(
                "{text:?}: {value:?} is not a number{}",
                match *unit {
                    "" => String::new(),
                    u => format!(" (in {u})"),
                }
            )
        })?;
        Ok(Expect {
            text,
            cond: Cond::Compare(*metric, op, bound),
        })
    }
}

/// What a call's `stats` records showed, for the conditions the summary alone cannot answer.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    rtt_ms: Vec<f64>,
    audio_jitter_ms: Vec<f64>,
    video_jitter_ms: Vec<f64>,
    /// Received bitrate of each record from the first one in which something arrived.
    bitrate_in_kbps: Vec<f64>,
}

impl Observed {
    pub fn add(&mut self, s: &Stats) {
        if let Some(r) = s.selected_pair.as_ref().and_then(|p| p.rtt_ms) {
            self.rtt_ms.push(r);
        }
        if let Some(j) = s.audio.jitter_ms {
            self.audio_jitter_ms.push(j);
        }
        if let Some(j) = s.video.jitter_ms {
            self.video_jitter_ms.push(j);
        }
        if s.bitrate_in_kbps > 0.0 || !self.bitrate_in_kbps.is_empty() {
            self.bitrate_in_kbps.push(s.bitrate_in_kbps);
        }
    }
}

fn median(v: &[f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    Some(v[v.len() / 2])
}

fn r1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// What `path=` compares: relay when either end of the pair is a relay, else our type.
fn path_type(sum: &Summary) -> Option<&str> {
    let p = sum.selected_pair.as_ref()?;
    if p.local.candidate_type == "relay" || p.remote.candidate_type == "relay" {
        Some("relay")
    } else {
        Some(&p.local.candidate_type)
    }
}

/// The measured value of a metric and how to say it, or why there is none.
fn measure(m: Metric, sum: &Summary, obs: &Observed) -> Result<(f64, String), String> {
    let a = &sum.audio;
    let v = &sum.video;
    match m {
        Metric::Rtt => {
            let p50 = median(&obs.rtt_ms).ok_or("no round-trip time was measured")?;
            let max = obs.rtt_ms.iter().copied().fold(0.0, f64::max);
            Ok((
                p50,
                format!(
                    "rtt p50 {} ms (max {} ms, {} samples)",
                    r1(p50),
                    r1(max),
                    obs.rtt_ms.len()
                ),
            ))
        }
        Metric::Loss => {
            let (lost, sent) = sum.packets_lost_of_sent();
            if sent == 0 {
                return Err("no media arrived".into());
            }
            let pct = lost as f64 * 100.0 / sent as f64;
            Ok((pct, format!("{pct:.2} % lost ({lost} of {sent} packets)")))
        }
        Metric::Jitter => {
            let (aj, vj) = (median(&obs.audio_jitter_ms), median(&obs.video_jitter_ms));
            let worst = match (aj, vj) {
                (None, None) => return Err("no jitter was measured".into()),
                (x, y) => x.unwrap_or(0.0).max(y.unwrap_or(0.0)),
            };
            let part = |k: &str, x: Option<f64>| x.map(|x| format!("{k} {} ms", r1(x)));
            let parts: Vec<String> = [part("audio", aj), part("video", vj)]
                .into_iter()
                .flatten()
                .collect();
            Ok((worst, format!("jitter p50 {}", parts.join(", "))))
        }
        Metric::Fps => {
            let secs = sum
                .secs_from_first_video()
                .ok_or("no video frame was decoded")?;
            let fps = v.frames_decoded as f64 / secs.max(1e-3);
            Ok((
                fps,
                format!(
                    "{} fps ({} frames in {:.1} s from the first)",
                    r1(fps),
                    v.frames_decoded,
                    secs
                ),
            ))
        }
        Metric::VideoDecoded => {
            if v.frames_expected == 0 {
                return Err("no video arrived".into());
            }
            let pct = (v.frames_decoded as f64 * 100.0 / v.frames_expected as f64).min(100.0);
            Ok((
                pct,
                format!(
                    "{:.1} % ({} of {} frames sent from the first decoded)",
                    pct, v.frames_decoded, v.frames_expected
                ),
            ))
        }
        Metric::AudioDecoded => {
            let sent = a.packets_received as f64 + a.packets_lost.max(0) as f64;
            if sent == 0.0 {
                return Err("no audio arrived".into());
            }
            let decoded = a.packets_decoded;
            let pct = (decoded as f64 * 100.0 / sent).min(100.0);
            Ok((
                pct,
                format!(
                    "{:.1} % ({} of {} packets sent from the first that arrived)",
                    pct, decoded, sent as u64
                ),
            ))
        }
        Metric::Bitrate => {
            if obs.bitrate_in_kbps.is_empty() {
                return Err("nothing was received".into());
            }
            let mean = obs.bitrate_in_kbps.iter().sum::<f64>() / obs.bitrate_in_kbps.len() as f64;
            Ok((
                mean,
                format!(
                    "{} kbit/s received (mean of {} intervals)",
                    r1(mean),
                    obs.bitrate_in_kbps.len()
                ),
            ))
        }
        Metric::Freezes => Ok((
            v.freezes as f64,
            format!("{} freezes ({} ms frozen)", v.freezes, v.freeze_ms),
        )),
        Metric::Restarts => Ok((
            sum.ice_restarts as f64,
            format!("{} ICE restarts", sum.ice_restarts),
        )),
        Metric::Data => {
            let t = sum
                .data
                .throughput
                .as_ref()
                .ok_or("no throughput test ran (--data-throughput)")?;
            let (s, r) = (t.send_mbit_s, t.receive_mbit_s);
            let worst = match (s, r) {
                (Some(s), Some(r)) => s.min(r),
                (Some(x), None) | (None, Some(x)) => x,
                (None, None) => return Err("the throughput test measured nothing".into()),
            };
            let say = |x: Option<f64>| x.map_or("-".to_string(), |x| format!("{x:.1}"));
            Ok((
                worst,
                format!("send {} Mbit/s, receive {} Mbit/s", say(s), say(r)),
            ))
        }
        Metric::Latency | Metric::AudioLatency | Metric::VideoLatency => {
            let kinds: Vec<(&str, &Option<crate::report::schema::Percentiles>)> = match m {
                Metric::AudioLatency => vec![("audio", &a.latency_ms)],
                Metric::VideoLatency => vec![("video", &v.latency_ms)],
                _ => vec![("audio", &a.latency_ms), ("video", &v.latency_ms)],
            };
            let got: Vec<(&str, f64, f64)> = kinds
                .iter()
                .filter_map(|(k, p)| p.as_ref().map(|p| (*k, p.p50, p.p95)))
                .collect();
            if got.is_empty() {
                return Err("no capture times arrived (the other side sends no \
                            abs-capture-time)"
                    .into());
            }
            let worst = got.iter().map(|g| g.2).fold(0.0, f64::max);
            let parts: Vec<String> = got
                .iter()
                .map(|(k, p50, p95)| format!("{k} p50 {p50} ms, p95 {p95} ms"))
                .collect();
            Ok((worst, format!("latency {}", parts.join("; "))))
        }
    }
}

/// Check every condition against a call's summary and stats.
pub fn check(expect: &[Expect], sum: &Summary, obs: &Observed) -> Vec<Expectation> {
    expect
        .iter()
        .map(|e| {
            let (met, detail) = match &e.cond {
                Cond::Connected { within_ms } => match (sum.connected, within_ms) {
                    (false, _) => (false, "the call did not connect".to_string()),
                    (true, None) => (
                        true,
                        sum.timings_ms
                            .dtls_connected
                            .map_or("connected".into(), |ms| format!("connected in {ms:.1} ms")),
                    ),
                    (true, Some((op, bound))) => match sum.timings_ms.dtls_connected {
                        Some(ms) => (
                            op.holds(ms, *bound),
                            format!("connected in {ms:.1} ms (bound {}{bound} ms)", op.as_str()),
                        ),
                        None => (false, "no connection time was measured".into()),
                    },
                },
                Cond::Path(want) => match path_type(sum) {
                    Some(t) => (
                        t == want,
                        format!(
                            "path {t}: {}",
                            sum.selected_pair
                                .as_ref()
                                .map(ToString::to_string)
                                .unwrap_or_default()
                        ),
                    ),
                    None => (false, "no candidate pair was selected".into()),
                },
                Cond::Relay(want) => match sum.selected_pair.as_ref() {
                    Some(p) if p.local.candidate_type == "relay" => {
                        let got = p.local.relay_protocol.as_deref().unwrap_or("udp");
                        (
                            got == want,
                            format!("relayed over {got} to the TURN server"),
                        )
                    }
                    Some(p) => (
                        false,
                        format!(
                            "not relayed here: the local candidate is {}",
                            p.local.candidate_type
                        ),
                    ),
                    None => (false, "no candidate pair was selected".into()),
                },
                Cond::Codec(want) => {
                    let got = sum.video.codec.to_ascii_lowercase().replace('.', "");
                    if sum.video.source == "none" {
                        (false, "no video was sent".into())
                    } else {
                        (&got == want, format!("video sent in {}", sum.video.codec))
                    }
                }
                Cond::Compare(m, op, bound) => match measure(*m, sum, obs) {
                    Ok((value, detail)) => (op.holds(value, *bound), detail),
                    Err(why) => (false, why),
                },
            };
            Expectation {
                expect: e.text.clone(),
                met,
                detail,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::schema::{Candidate, SelectedPair};

    fn e(s: &str) -> Expect {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn conditions_parse_with_units_and_bad_ones_are_named() {
        assert_eq!(
            e("connected<2s").cond,
            Cond::Connected {
                within_ms: Some((Op::Lt, 2000.0))
            }
        );
        assert_eq!(e("loss<1%").cond, Cond::Compare(Metric::Loss, Op::Lt, 1.0));
        assert_eq!(
            e("bitrate>=1.5mbps").cond,
            Cond::Compare(Metric::Bitrate, Op::Ge, 1500.0)
        );
        assert_eq!(e("codec=H.264").cond, Cond::Codec("h264".into()));
        assert_eq!(
            e("rtt<=0.1s").cond,
            Cond::Compare(Metric::Rtt, Op::Le, 100.0)
        );
        for bad in [
            "speed>3",
            "loss<lots",
            "path=carrier-pigeon",
            "connected>2s",
            "fps",
            "",
        ] {
            let err = bad.parse::<Expect>().expect_err(bad);
            assert!(!err.contains('\n'), "{err}");
        }
        assert!(
            "speed>3"
                .parse::<Expect>()
                .unwrap_err()
                .contains("unknown condition \"speed>3\"")
        );
    }

    fn summary() -> Summary {
        let c = |t: &str| Candidate {
            candidate_type: t.into(),
            protocol: "udp".into(),
            address: "127.0.0.1".into(),
            port: 1,
            relay_protocol: (t == "relay").then(|| "tls".into()),
        };
        let json = serde_json::json!({
            "role": "dial", "room": "r", "connected": true, "duration_s": 10.0,
            "timings_ms": {"ice_connected": 5.0, "dtls_connected": 8.0, "first_audio": 20.0,
                           "first_video_frame": 1008.0},
            "selected_pair": null,
            "audio": {"source": "tone", "packets_sent": 500, "packets_received": 490,
                      "packets_lost": 10, "packets_decoded": 490, "decoded_ms": 9800,
                      "fec_recovered_ms": 0, "concealed_ms": 0, "frames_dropped": 0,
                      "decode_errors": 0, "underruns": 0, "late_packets": 0, "recorded": 0,
                      "latency_ms": {"p50": 101.0, "p95": 110.0}},
            "video": {"source": "testsrc", "codec": "VP8", "frames_sent": 150,
                      "keyframes_sent": 2, "frames_decoded": 135, "packets_received": 290,
                      "width": 320, "height": 240, "packets_lost": 0, "frames_dropped": 0,
                      "decode_errors": 0, "plis_sent": 0, "plis_received": 0,
                      "encode_ms_p50": null, "encode_ms_p95": null, "recorded": 0,
                      "frames_expected": 150, "freezes": 2, "freeze_ms": 900},
            "data": {"pings_sent": 0, "echoes_received": 0, "pings_echoed": 0},
            "recording": null, "recording_error": null, "end_reason": "duration",
            "error": null, "exit_code": 0
        });
        let mut s: Summary = serde_json::from_value(json).expect("a summary");
        s.selected_pair = Some(SelectedPair {
            local: c("relay"),
            remote: c("host"),
            rtt_ms: Some(3.0),
        });
        s
    }

    #[test]
    fn conditions_hold_or_fail_on_what_was_measured() {
        let sum = summary();
        let mut obs = Observed::default();
        let check1 = |text: &str, obs: &Observed| {
            let r = check(&[e(text)], &sum, obs).remove(0);
            (r.met, r.detail)
        };
        assert!(check1("path=relay", &obs).0);
        assert!(check1("relay=tls", &obs).0);
        assert!(!check1("relay=udp", &obs).0);
        assert!(check1("connected<10ms", &obs).0);
        assert!(!check1("connected<5ms", &obs).0);
        // 10 of 790 packets lost: 1.27 %.
        let (met, detail) = check1("loss<1", &obs);
        assert!(!met && detail.contains("1.27 %"), "{detail}");
        assert!(check1("loss<2", &obs).0);
        // 135 frames in the 9 s from the first one.
        let (met, detail) = check1("fps>=15", &obs);
        assert!(met && detail.contains("15 fps"), "{detail}");
        assert!(!check1("video-decoded>=95", &obs).0);
        assert!(check1("video-decoded>=90", &obs).0);
        assert!(check1("audio-decoded>=98", &obs).0);
        assert!(!check1("freezes<=1", &obs).0);
        assert!(check1("latency<120", &obs).0);
        assert!(!check1("latency<105", &obs).0);
        let (met, detail) = check1("video-latency<500", &obs);
        assert!(!met && detail.contains("no capture times"), "{detail}");
        // Nothing measured yet: unmet, with why.
        let (met, detail) = check1("rtt<50", &obs);
        assert!(!met && detail.contains("no round-trip"), "{detail}");
        let (met, _) = check1("data>=1", &obs);
        assert!(!met);
        let stats = Stats {
            selected_pair: sum.selected_pair.clone(),
            bitrate_in_kbps: 400.0,
            ..Default::default()
        };
        obs.add(&stats);
        assert!(check1("rtt<50", &obs).0);
        assert!(check1("bitrate>=400", &obs).0);
        assert!(!check1("bitrate>400", &obs).0);
    }
}
