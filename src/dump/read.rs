//! Reading what `rtccall report` draws: an rtcstats dump (format 3: ours, or any whose stats
//! are whole or delta-compressed objects without renamed ids or members) or rtccall's own
//! NDJSON (`--json`), into one side of a call: time series, marks, states, summary.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use serde_json::{Map, Value};

use super::{MAGIC, apply_delta};
use crate::exit::Error;

/// Dumps larger than this are refused (an hour-long call is about 12 MB).
pub const MAX_FILE: u64 = 256 << 20;
/// Lines longer than this are refused (a stats line of a call is a few KB, an SDP a few).
const MAX_LINE: u64 = 8 << 20;

/// One interval's figures (whatever the file had; `None` where it had nothing).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sample {
    /// Seconds since the side's start.
    pub t: f64,
    pub out_kbps: Option<f64>,
    pub in_kbps: Option<f64>,
    pub target_kbps: Option<f64>,
    pub rtt_ms: Option<f64>,
    pub loss_pct: Option<f64>,
    pub jitter_audio_ms: Option<f64>,
    pub jitter_video_ms: Option<f64>,
    pub fps_in: Option<f64>,
    pub fps_out: Option<f64>,
    pub width: Option<f64>,
    pub height: Option<f64>,
    /// Audio over the interval, ms: decoded from packets, rebuilt from FEC, concealed.
    pub audio_decoded_ms: Option<f64>,
    pub audio_fec_ms: Option<f64>,
    pub audio_concealed_ms: Option<f64>,
    pub buffer_ms: Option<f64>,
    pub buffer_target_ms: Option<f64>,
    /// Data channel throughput test, Mbit/s.
    pub data_mbps: Option<f64>,
}

/// Something that happened, drawn as a marker.
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    pub t: f64,
    pub label: String,
}

/// One side of a call as a file told it.
#[derive(Debug, Clone, Default)]
pub struct Side {
    /// The file's name.
    pub name: String,
    /// `rtcstats` or `ndjson`.
    pub format: &'static str,
    pub role: String,
    pub place: String,
    /// Milliseconds since the epoch at t = 0 (rtcstats dumps only).
    pub start_ms: Option<f64>,
    /// When the peer connection first connected, s.
    pub connected_s: Option<f64>,
    pub samples: Vec<Sample>,
    pub marks: Vec<Mark>,
    /// State changes: (t, machine `signaling`/`ice`/`connection`, state).
    pub states: Vec<(f64, String, String)>,
    /// Candidates seen (local and remote), and the selected pair.
    pub candidates: Vec<String>,
    pub selected: Option<String>,
    /// One line: did the call work.
    pub verdict: String,
    /// What the side's summary said, as (name, value) lines.
    pub summary: Vec<(String, String)>,
    /// rtcstats only: every full stats snapshot (t, objects by id), for webrtc-internals.
    pub stats: Vec<(f64, Map<String, Value>)>,
    /// rtcstats only: the events, for webrtc-internals (t, method, value).
    pub events: Vec<(f64, String, Value)>,
    /// rtcstats only: the RTCConfiguration of `create`.
    pub configuration: Option<Value>,
}

impl Side {
    /// Shift every time by `by` seconds (to align two sides).
    pub fn shift(&mut self, by: f64) {
        for s in &mut self.samples {
            s.t += by;
        }
        for m in &mut self.marks {
            m.t += by;
        }
        for s in &mut self.states {
            s.0 += by;
        }
        for s in &mut self.stats {
            s.0 += by;
        }
        for e in &mut self.events {
            e.0 += by;
        }
        if let Some(c) = self.connected_s.as_mut() {
            *c += by;
        }
    }
}

fn bad(path: &Path, why: impl std::fmt::Display) -> Error {
    Error::usage(format!("{}: {why}", path.display()))
}

/// Read one file: an rtcstats dump or rtccall's NDJSON, told apart by the first line.
/// `keep_stats`: keep every full stats report (for webrtc-internals; an hour costs ~150 MB).
pub fn read(path: &Path, keep_stats: bool) -> Result<Side, Error> {
    let file = std::fs::File::open(path).map_err(|e| bad(path, format!("cannot open it: {e}")))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    if size > MAX_FILE {
        return Err(bad(
            path,
            format!(
                "{} MB is more than report reads ({} MB; an hour-long call is about 12 MB)",
                size >> 20,
                MAX_FILE >> 20
            ),
        ));
    }
    let mut lines = Lines {
        inner: BufReader::new(file),
        n: 0,
    };
    let first = lines.next(path)?.ok_or_else(|| bad(path, "it is empty"))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if first.trim_end() == MAGIC {
        rtcstats(path, lines, name, keep_stats)
    } else if first.trim_start().starts_with('{') {
        ndjson(path, first, lines, name)
    } else {
        Err(bad(
            path,
            "neither an rtcstats dump (first line RTCStatsDump) nor rtccall NDJSON (--json)",
        ))
    }
}

/// Lines of at most [`MAX_LINE`] bytes.
struct Lines<R> {
    inner: BufReader<R>,
    n: usize,
}

impl<R: Read> Lines<R> {
    fn next(&mut self, path: &Path) -> Result<Option<String>, Error> {
        let mut buf = Vec::new();
        let read = (&mut self.inner)
            .take(MAX_LINE + 1)
            .read_until(b'\n', &mut buf)
            .map_err(|e| bad(path, format!("cannot read it: {e}")))?;
        if read == 0 {
            return Ok(None);
        }
        self.n += 1;
        if buf.len() as u64 > MAX_LINE {
            return Err(bad(
                path,
                format!("line {} is longer than {} MB", self.n, MAX_LINE >> 20),
            ));
        }
        String::from_utf8(buf)
            .map(Some)
            .map_err(|_| bad(path, format!("line {} is not UTF-8", self.n)))
    }
}

fn f(v: &Value) -> Option<f64> {
    v.as_f64()
}

fn rtcstats<R: Read>(
    path: &Path,
    mut lines: Lines<R>,
    name: String,
    keep_stats: bool,
) -> Result<Side, Error> {
    let meta: Value = match lines.next(path)? {
        Some(l) => serde_json::from_str(&l)
            .map_err(|e| bad(path, format!("line 2 (the metadata) is not JSON: {e}")))?,
        None => return Err(bad(path, "it ends after its first line (no metadata)")),
    };
    match meta["fileFormat"].as_u64() {
        Some(3) => {}
        Some(v) => {
            return Err(bad(
                path,
                format!("file format {v}: report reads rtcstats file format 3"),
            ));
        }
        None => return Err(bad(path, "the metadata has no fileFormat")),
    }
    let mut side = Side {
        name,
        format: "rtcstats",
        role: meta["role"].as_str().unwrap_or("").to_string(),
        place: meta["room"].as_str().unwrap_or("").to_string(),
        ..Default::default()
    };
    let mut now_ms = 0.0;
    let mut base = Map::new();
    let mut prev: Option<(f64, Map<String, Value>)> = None;
    let mut complete = true;
    while let Some(line) = lines.next(path)? {
        let line = line.trim_end();
        if line.is_empty() {
            continue;
        }
        let v: Value = match serde_json::from_str(line) {
            Ok(v) => v,
            // A dump cut short (the call was killed): the last line may be half written.
            Err(_) if lines.peek_end() => {
                complete = false;
                break;
            }
            Err(e) => return Err(bad(path, format!("line {} is not JSON: {e}", lines.n))),
        };
        let Some(a) = v.as_array() else { continue };
        if a.len() < 4 {
            return Err(bad(
                path,
                format!("line {}: an event has 4 elements or more", lines.n),
            ));
        }
        let method = a[0]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| a[0].to_string());
        let delta = a[a.len() - 1].as_f64().ok_or_else(|| {
            bad(
                path,
                format!("line {}: the timestamp delta is not a number", lines.n),
            )
        })?;
        now_ms += delta;
        let start = *side.start_ms.get_or_insert(now_ms);
        let t = (now_ms - start) / 1000.0;
        let value = a[2].clone();
        match method.as_str() {
            "getStats" | "g" | "1" => {
                let Value::Object(d) = &value else {
                    return Err(bad(
                        path,
                        format!("line {}: getStats value must be an object", lines.n),
                    ));
                };
                // rtcstats-js may rename ids and members and number the types: not read.
                if d.values()
                    .any(|o| o.get("type").is_some_and(|t| !t.is_string()))
                {
                    return Err(bad(
                        path,
                        format!(
                            "line {}: its stats are compressed (numbered types, short names); \
                             report reads W3C stats with their own names",
                            lines.n
                        ),
                    ));
                }
                apply_delta(&mut base, d);
                side.samples
                    .push(sample(t, &base, prev.as_ref(), &mut side.marks));
                if keep_stats {
                    side.stats.push((t, base.clone()));
                }
                prev = Some((t, base.clone()));
            }
            "create" => side.configuration = Some(value.clone()),
            "restartIce" => side.marks.push(Mark {
                t,
                label: "ICE restart".into(),
            }),
            // A browser restarts with an offer option.
            "createOffer" if value["iceRestart"] == true => side.marks.push(Mark {
                t,
                label: "ICE restart".into(),
            }),
            "onsignalingstatechange" | "oniceconnectionstatechange" | "onconnectionstatechange" => {
                let machine = match method.as_str() {
                    "onsignalingstatechange" => "signaling",
                    "oniceconnectionstatechange" => "ice",
                    _ => "connection",
                };
                let state = value.as_str().unwrap_or("").to_string();
                if machine == "connection" && state == "connected" && side.connected_s.is_none() {
                    side.connected_s = Some(t);
                }
                side.states.push((t, machine.into(), state));
            }
            "onicecandidate" | "addIceCandidate" => {
                if let Some(c) = value["candidate"].as_str() {
                    let who = if method == "onicecandidate" {
                        "local"
                    } else {
                        "remote"
                    };
                    side.candidates
                        .push(format!("{who} {}", short_candidate(c)));
                }
            }
            _ => {}
        }
        if method != "getStats" {
            side.events.push((t, method, value));
        }
    }
    if let Some(pair) = selected_pair(&base) {
        side.selected = Some(pair);
    }
    freezes(&mut side);
    let connected = side.connected_s.is_some();
    let failed = side
        .states
        .iter()
        .any(|(_, m, s)| m == "connection" && s == "failed");
    let secs = side
        .samples
        .last()
        .map_or(0.0, |s| s.t - side.connected_s.unwrap_or(0.0));
    side.verdict = match (connected, failed) {
        (true, false) => format!("connected, {secs:.0} s of stats"),
        (true, true) => "connected, then the connection failed".into(),
        (false, _) => "never connected".into(),
    };
    if !complete {
        side.verdict.push_str(" (the dump is cut short)");
    }
    side.summary = vec![
        ("format".into(), "rtcstats dump (file format 3)".into()),
        ("role".into(), side.role.clone()),
        ("room".into(), side.place.clone()),
        (
            "user agent".into(),
            meta["userAgent"].as_str().unwrap_or("-").to_string(),
        ),
    ];
    Ok(side)
}

impl<R: Read> Lines<R> {
    /// Nothing follows (the current line was the last).
    fn peek_end(&mut self) -> bool {
        self.inner.fill_buf().map(|b| b.is_empty()).unwrap_or(true)
    }
}

/// `candidate:... 1 udp 2130706431 127.0.0.1 5000 typ host` → `host udp 127.0.0.1:5000`.
fn short_candidate(c: &str) -> String {
    let p: Vec<&str> = c.split_whitespace().collect();
    match p.as_slice() {
        [_, _, proto, _, addr, port, _, typ, ..] => {
            format!("{typ} {} {addr}:{port}", proto.to_lowercase())
        }
        _ => c.to_string(),
    }
}

fn selected_pair(stats: &Map<String, Value>) -> Option<String> {
    let transport = stats.values().find(|v| v["type"] == "transport")?;
    let pair = stats.get(transport["selectedCandidatePairId"].as_str()?)?;
    let end = |id: &Value| -> Option<String> {
        let c = stats.get(id.as_str()?)?;
        Some(format!(
            "{} {} {}:{}",
            c["candidateType"].as_str().unwrap_or("?"),
            c["protocol"].as_str().unwrap_or("?"),
            c["address"].as_str().unwrap_or("?"),
            c["port"]
        ))
    };
    Some(format!(
        "{} <-> {}",
        end(&pair["localCandidateId"])?,
        end(&pair["remoteCandidateId"])?
    ))
}

/// The figures of one getStats interval.
fn sample(
    t: f64,
    now: &Map<String, Value>,
    prev: Option<&(f64, Map<String, Value>)>,
    marks: &mut Vec<Mark>,
) -> Sample {
    let of_type = |m: &'_ Map<String, Value>, ty: &str, kind: Option<&str>| -> Vec<Value> {
        m.values()
            .filter(|v| v["type"] == ty && kind.is_none_or(|k| v["kind"] == k))
            .cloned()
            .collect()
    };
    let sum = |m: &Map<String, Value>, ty: &str, kind: Option<&str>, field: &str| -> Option<f64> {
        let objs = of_type(m, ty, kind);
        let vals: Vec<f64> = objs.iter().filter_map(|o| f(&o[field])).collect();
        (!vals.is_empty()).then(|| vals.iter().sum())
    };
    let mut s = Sample {
        t,
        ..Default::default()
    };
    let rate = |field: &str, ty: &str| -> Option<f64> {
        let (pt, p) = prev?;
        let dt = t - pt;
        (dt > 0.0).then_some(())?;
        let d = sum(now, ty, None, field)? - sum(p, ty, None, field)?;
        Some(d.max(0.0) * 8.0 / dt / 1000.0)
    };
    s.out_kbps = rate("bytesSent", "transport");
    s.in_kbps = rate("bytesReceived", "transport");
    // What the data channels brought in, when they brought anything.
    s.data_mbps = rate("bytesReceived", "data-channel")
        .map(|kbps| kbps / 1000.0)
        .filter(|m| *m > 0.01);
    s.target_kbps = sum(now, "outbound-rtp", Some("video"), "targetBitrate").map(|b| b / 1000.0);
    s.rtt_ms = now
        .values()
        .find(|v| v["type"] == "transport")
        .and_then(|t| now.get(t["selectedCandidatePairId"].as_str()?))
        .and_then(|p| f(&p["currentRoundTripTime"]))
        .map(|r| r * 1000.0);
    let lost = sum(now, "inbound-rtp", None, "packetsLost");
    let got = sum(now, "inbound-rtp", None, "packetsReceived");
    if let (Some(l), Some(g)) = (lost, got)
        && l + g > 0.0
    {
        s.loss_pct = Some(l.max(0.0) * 100.0 / (l.max(0.0) + g));
    }
    let first = |ty: &str, kind: &str, field: &str| -> Option<f64> {
        of_type(now, ty, Some(kind))
            .iter()
            .find_map(|o| f(&o[field]))
    };
    s.jitter_audio_ms = first("inbound-rtp", "audio", "jitter").map(|j| j * 1000.0);
    s.jitter_video_ms = first("inbound-rtp", "video", "jitter").map(|j| j * 1000.0);
    s.fps_in = first("inbound-rtp", "video", "framesPerSecond");
    s.fps_out = first("outbound-rtp", "video", "framesPerSecond");
    s.width = first("inbound-rtp", "video", "frameWidth");
    s.height = first("inbound-rtp", "video", "frameHeight");
    if let Some((_, p)) = prev {
        let was = |ty: &str, kind: &str, field: &str| -> Option<f64> {
            of_type(p, ty, Some(kind)).iter().find_map(|o| f(&o[field]))
        };
        let d = |field: &str| -> Option<f64> {
            Some(
                first("inbound-rtp", "audio", field)?
                    - was("inbound-rtp", "audio", field).unwrap_or(0.0),
            )
        };
        let total = d("totalSamplesReceived");
        let concealed = d("concealedSamples");
        s.audio_concealed_ms = concealed.map(|c| c / 48.0);
        s.audio_decoded_ms = total.map(|t| (t - concealed.unwrap_or(0.0)) / 48.0);
        if let (Some(dd), Some(dn), Some(dt)) = (
            d("jitterBufferDelay"),
            d("jitterBufferEmittedCount"),
            d("jitterBufferTargetDelay"),
        ) && dn > 0.0
        {
            s.buffer_ms = Some(dd / dn * 1000.0);
            s.buffer_target_ms = Some(dt / dn * 1000.0);
        }
        let target =
            |m: &Map<String, Value>| sum(m, "outbound-rtp", Some("video"), "targetBitrate");
        if let (Some(a), Some(b)) = (target(now), target(p))
            && a < b
        {
            marks.push(Mark {
                t,
                label: format!("rate cut to {:.0} kbit/s", a / 1000.0),
            });
        }
        let plis = |m: &Map<String, Value>| sum(m, "outbound-rtp", Some("video"), "pliCount");
        if let (Some(a), Some(b)) = (plis(now), plis(p))
            && a > b
        {
            marks.push(Mark {
                t,
                label: format!("keyframe asked ({} PLI)", a - b),
            });
        }
    }
    s
}

/// Freezes: video decoding stopped (under 1 fps) after it ran (over 5 fps).
fn freezes(side: &mut Side) {
    let mut running = false;
    for s in &side.samples {
        match s.fps_in {
            Some(f) if f > 5.0 => running = true,
            Some(f) if f < 1.0 && running => {
                side.marks.push(Mark {
                    t: s.t,
                    label: "video frozen".into(),
                });
                running = false;
            }
            _ => {}
        }
    }
    side.marks.sort_by(|a, b| a.t.total_cmp(&b.t));
}

fn ndjson<R: Read>(
    path: &Path,
    first: String,
    mut lines: Lines<R>,
    name: String,
) -> Result<Side, Error> {
    let mut side = Side {
        name,
        format: "ndjson",
        ..Default::default()
    };
    let mut line = Some(first);
    let mut prev_audio: Option<(f64, f64, f64)> = None;
    let mut last_target: Option<f64> = None;
    let mut summary: Option<Value> = None;
    let mut records = 0;
    while let Some(l) = line.take() {
        let text = l.trim_end();
        if !text.is_empty() {
            let v: Value = match serde_json::from_str(text) {
                Ok(v) => v,
                Err(_) if lines.peek_end() => break,
                Err(e) => {
                    return Err(bad(
                        path,
                        format!("line {} is not JSON: {e}", lines.n.max(1)),
                    ));
                }
            };
            let Some(ty) = v["type"].as_str() else {
                return Err(bad(
                    path,
                    format!(
                        "line {}: not an rtccall record (no \"type\")",
                        lines.n.max(1)
                    ),
                ));
            };
            records += 1;
            let t = f(&v["ms"]).unwrap_or(0.0) / 1000.0;
            match ty {
                "stats" => {
                    let a = &v["audio"];
                    let vi = &v["video"];
                    let mut s = Sample {
                        t,
                        out_kbps: f(&v["bitrate_out_kbps"]),
                        in_kbps: f(&v["bitrate_in_kbps"]),
                        target_kbps: f(&vi["target_kbps"]),
                        rtt_ms: f(&v["selected_pair"]["rtt_ms"]),
                        loss_pct: f(&v["loss_pct"]),
                        jitter_audio_ms: f(&a["jitter_ms"]),
                        jitter_video_ms: f(&vi["jitter_ms"]),
                        fps_in: f(&vi["fps_received"]),
                        width: f(&vi["width"]).filter(|w| *w > 0.0),
                        height: f(&vi["height"]).filter(|h| *h > 0.0),
                        buffer_ms: f(&a["buffer_ms"]),
                        buffer_target_ms: f(&a["buffer_target_ms"]),
                        ..Default::default()
                    };
                    let now = (
                        f(&a["decoded_ms"]).unwrap_or(0.0),
                        f(&a["fec_recovered_ms"]).unwrap_or(0.0),
                        f(&a["concealed_ms"]).unwrap_or(0.0),
                    );
                    if let Some(p) = prev_audio {
                        s.audio_decoded_ms = Some(now.0 - p.0);
                        s.audio_fec_ms = Some(now.1 - p.1);
                        s.audio_concealed_ms = Some(now.2 - p.2);
                    }
                    prev_audio = Some(now);
                    if let (Some(was), Some(is)) = (last_target, s.target_kbps)
                        && is < was
                    {
                        side.marks.push(Mark {
                            t,
                            label: format!("rate cut to {is:.0} kbit/s"),
                        });
                    }
                    last_target = s.target_kbps.or(last_target);
                    if let Some(p) = v["selected_pair"].as_object() {
                        side.selected = Some(pair_text(p));
                    }
                    side.samples.push(s);
                }
                "throughput" if v["direction"] == "receive" => {
                    side.samples.push(Sample {
                        t,
                        data_mbps: f(&v["mbit_s"]),
                        ..Default::default()
                    });
                }
                "signaling" => {
                    let event = v["event"].as_str().unwrap_or("");
                    if event == "joined" {
                        side.place = v["detail"].as_str().unwrap_or("").to_string();
                    }
                    let label = match event {
                        "lost" => Some("signaling lost"),
                        "reconnected" => Some("signaling back"),
                        "rejoined" => Some("rejoined"),
                        "ice-restart" => Some("ICE restart"),
                        "ice-restarted" => Some("ICE back"),
                        "warning" => Some("warning"),
                        _ => None,
                    };
                    if let Some(label) = label {
                        side.marks.push(Mark {
                            t,
                            label: label.into(),
                        });
                    }
                    side.states.push((t, "signaling".into(), event.into()));
                }
                "ice-state" | "connection-state" => {
                    let state = v["state"].as_str().unwrap_or("").to_string();
                    let machine = if ty == "ice-state" {
                        "ice"
                    } else {
                        "connection"
                    };
                    if machine == "connection" && state == "connected" && side.connected_s.is_none()
                    {
                        side.connected_s = Some(t);
                    }
                    side.states.push((t, machine.into(), state));
                }
                "candidate" => side.candidates.push(format!(
                    "{} {} {} {}:{}",
                    v["side"].as_str().unwrap_or("?"),
                    v["candidate_type"].as_str().unwrap_or("?"),
                    v["protocol"].as_str().unwrap_or("?"),
                    v["address"].as_str().unwrap_or("?"),
                    v["port"]
                )),
                "summary" => summary = Some(v.clone()),
                _ => {}
            }
        }
        line = lines.next(path)?;
    }
    if records == 0 {
        return Err(bad(path, "no rtccall records in it"));
    }
    // Throughput samples went in as their own; keep time order.
    side.samples.sort_by(|a, b| a.t.total_cmp(&b.t));
    freezes(&mut side);
    match summary {
        Some(s) => {
            side.role = s["role"].as_str().unwrap_or("").to_string();
            side.place = s["room"].as_str().unwrap_or(&side.place).to_string();
            let code = s["exit_code"].as_i64().unwrap_or(-1);
            side.verdict = match (s["connected"].as_bool(), s["error"].as_str()) {
                (_, Some(e)) => format!("exit {code}: {e}"),
                (Some(true), None) => format!(
                    "connected for {:.1} s, ended by {} (exit {code})",
                    f(&s["duration_s"]).unwrap_or(0.0),
                    s["end_reason"].as_str().unwrap_or("?")
                ),
                _ => format!("did not connect (exit {code})"),
            };
            let a = &s["audio"];
            let vi = &s["video"];
            side.summary = vec![
                ("role".into(), side.role.clone()),
                ("room".into(), side.place.clone()),
                (
                    "connected".into(),
                    format!(
                        "ICE {} ms, DTLS {} ms",
                        s["timings_ms"]["ice_connected"], s["timings_ms"]["dtls_connected"]
                    ),
                ),
                (
                    "audio".into(),
                    format!(
                        "{} packets sent, {} received, {} lost; {} ms decoded, {} ms FEC, {} ms concealed",
                        a["packets_sent"],
                        a["packets_received"],
                        a["packets_lost"],
                        a["decoded_ms"],
                        a["fec_recovered_ms"],
                        a["concealed_ms"]
                    ),
                ),
                (
                    "video".into(),
                    format!(
                        "{} {} frames sent, {} decoded at {}x{}, {} packets lost, {} rate cuts",
                        vi["codec"].as_str().unwrap_or(""),
                        vi["frames_sent"],
                        vi["frames_decoded"],
                        vi["width"],
                        vi["height"],
                        vi["packets_lost"],
                        vi["rate_cuts"]
                    ),
                ),
                (
                    "ICE restarts".into(),
                    format!("{} {}", s["ice_restarts"], s["ice_recovery_ms"]),
                ),
            ];
        }
        None => {
            side.verdict = "no summary (the call was cut short)".into();
            side.summary = vec![("place".into(), side.place.clone())];
        }
    }
    Ok(side)
}

fn pair_text(p: &Map<String, Value>) -> String {
    let end = |e: &Value| {
        format!(
            "{} {} {}:{}",
            e["type"].as_str().unwrap_or("?"),
            e["protocol"].as_str().unwrap_or("?"),
            e["address"].as_str().unwrap_or("?"),
            e["port"]
        )
    };
    format!("{} <-> {}", end(&p["local"]), end(&p["remote"]))
}
