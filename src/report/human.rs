//! The human reporter: indicatif spinners through the phases on stderr, then a live status line
//! each interval, and a summary table on stdout at the end. Without a terminal on stderr it
//! prints the same progress as plain lines.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use super::schema::{ConnState, ControlAction, Direction, FileEvent, Record, Side, Stats, Summary};

/// Render records until the channel closes.
pub async fn run(mut human: Human, mut rx: tokio::sync::mpsc::Receiver<Record>) {
    while let Some(r) = rx.recv().await {
        human.record(&r);
    }
    human.finish();
}

/// Renders records for people.
pub struct Human {
    bar: Option<ProgressBar>,
    /// Holds the status line and one bar per file transfer under way (on a terminal).
    multi: Option<MultiProgress>,
    transfers: std::collections::HashMap<(String, String), ProgressBar>,
    /// The call has been connected once: later `connected` states follow an ICE restart.
    was_connected: bool,
    /// The security words, kept on the status line once known.
    sas: Option<String>,
}

fn opt_ms(v: Option<f64>) -> String {
    v.map_or("-".to_string(), |v| format!("{v:.1} ms"))
}

impl Default for Human {
    fn default() -> Self {
        Self::new()
    }
}

impl Human {
    pub fn new() -> Human {
        let multi = std::io::stderr().is_terminal().then(MultiProgress::new);
        let bar = multi.as_ref().map(|m| {
            let bar = m.add(ProgressBar::new_spinner());
            bar.set_style(
                ProgressStyle::with_template("{spinner:.cyan} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(100));
            bar.set_message("signaling: connecting to the server");
            bar
        });
        Human {
            bar,
            multi,
            transfers: Default::default(),
            was_connected: false,
            sas: None,
        }
    }

    /// A bar that a terminal prompt can suspend.
    pub fn bar(&self) -> Option<ProgressBar> {
        self.bar.clone()
    }

    fn status(&self, text: String) {
        match &self.bar {
            Some(b) => b.set_message(text),
            None => eprintln!("{text}"),
        }
    }

    fn note(&self, text: String) {
        match (&self.multi, &self.bar) {
            (Some(m), Some(_)) => {
                let _ = m.println(text);
            }
            _ => eprintln!("{text}"),
        }
    }

    /// A file transfer step: a bar with rate and ETA while it goes, a line when it ends.
    fn file(&mut self, r: &Record) {
        let Record::File {
            direction,
            name,
            event,
            size,
            bytes,
            mbit_s,
            detail,
            ..
        } = r
        else {
            return;
        };
        // Names and details may come from the other peer: shown escaped, never raw.
        let name = super::text::printable(name);
        let (direction, event) = (*direction, *event);
        let detail = detail.as_deref().map(super::text::printable);
        let detail = detail.as_deref();
        let (size, bytes, mbit_s) = (*size, *bytes, *mbit_s);
        let key = (direction.to_string(), name.to_string());
        let verb = if direction == Direction::Send {
            "sending"
        } else {
            "receiving"
        };
        match event {
            FileEvent::Offer | FileEvent::Accepted => {
                if let (Some(m), None) = (&self.multi, self.transfers.get(&key)) {
                    let bar = m.add(ProgressBar::new(size));
                    bar.set_style(
                        ProgressStyle::with_template(
                            "{prefix} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
                        )
                        .unwrap_or_else(|_| ProgressStyle::default_bar())
                        .progress_chars("=> "),
                    );
                    bar.set_prefix(format!("{verb} {name}"));
                    self.transfers.insert(key, bar);
                } else if self.multi.is_none() && event == FileEvent::Offer {
                    eprintln!("{verb} {name} ({size} bytes)");
                }
            }
            FileEvent::Progress => {
                if let Some(b) = self.transfers.get(&key) {
                    b.set_position(bytes);
                }
            }
            _ => {
                if let Some(b) = self.transfers.remove(&key) {
                    b.finish_and_clear();
                }
                self.note(file_end_text(
                    direction, &name, event, bytes, mbit_s, detail,
                ));
            }
        }
    }

    pub fn record(&mut self, r: &Record) {
        match r {
            Record::Listening { url } => println!("{url}"),
            Record::Signaling { event, detail, .. } => {
                use super::schema::SignalingEvent as S;
                let text = match (event, detail) {
                    (S::EmbeddedServer, Some(d)) => d.clone(),
                    (S::Connected, Some(url)) => format!("signaling: connected to {url}"),
                    (S::Rejoined, Some(d)) => {
                        format!("signaling: back in {d}; the call went on meanwhile")
                    }
                    (S::Joined, Some(d)) if d.starts_with("room ") => {
                        format!("signaling: joined {d}, waiting for the other peer")
                    }
                    (S::Joined, Some(d)) => format!("signaling: offering to the {d}"),
                    (S::PeerJoined, d) => format!(
                        "signaling: the other peer joined ({})",
                        d.as_deref().unwrap_or("unknown role")
                    ),
                    (S::OfferSent, _) => "signaling: offer sent, waiting for the answer".into(),
                    (S::OfferReceived, _) => "signaling: incoming call".into(),
                    (S::AnswerSent, _) | (S::AnswerReceived, _) => {
                        "connecting: gathering candidates and checking pairs".into()
                    }
                    (S::Rejected, Some(d)) => format!("signaling: call rejected ({d})"),
                    (S::ByeReceived, _) => "the other side hung up".into(),
                    (S::ByeSent, _) => "hung up".into(),
                    (S::PeerLeft, None) => "signaling: the other peer left the room".into(),
                    (S::Lost, Some(d)) => format!("signaling lost: {d}"),
                    (S::Reconnected, Some(url)) => format!("signaling: reconnected to {url}"),
                    (S::Warning, Some(d)) => format!("warning: {d}"),
                    (e, Some(d)) => format!("signaling: {} ({d})", e.as_str()),
                    (e, None) => format!("signaling: {}", e.as_str()),
                };
                let note = matches!(
                    event,
                    S::EmbeddedServer
                        | S::ByeSent
                        | S::ByeReceived
                        | S::Rejected
                        | S::Lost
                        | S::Reconnected
                        | S::Rejoined
                        | S::OfferIgnored
                        | S::Warning
                ) || (*event == S::PeerLeft && detail.is_some());
                if note {
                    self.note(text);
                } else {
                    self.status(text);
                }
            }
            Record::Candidate {
                side,
                candidate_type,
                protocol,
                address,
                port,
                ..
            } => {
                self.status(format!(
                    "gathering: {side} candidate {candidate_type} {protocol} {address}:{port}"
                ));
            }
            Record::IceGathering { .. } => {}
            Record::IceState { state, .. } => self.status(format!("connecting: ICE {state}")),
            Record::ConnectionState { state, ms } => {
                if *state == ConnState::Connected && self.was_connected {
                    self.status("connected again".to_string());
                } else if *state == ConnState::Connected {
                    self.was_connected = true;
                    self.note(format!("connected after {:.0} ms", ms));
                } else {
                    self.status(format!("connecting: peer connection {state}"));
                }
            }
            Record::Track {
                direction,
                kind,
                codec,
                ..
            } => self.note(format!("{direction} {kind} ({codec})")),
            Record::Stats { stats, ms } => {
                let mut line = stats_line(*ms, stats);
                if let Some(words) = &self.sas {
                    line.push_str(&format!("  words: {words}"));
                }
                self.status(line)
            }
            Record::Chat {
                direction, text, ..
            } => {
                self.note(format!(
                    "[{}] {}: {}",
                    clock(),
                    speaker(*direction),
                    super::text::printable(text)
                ));
            }
            Record::File { .. } => self.file(r),
            Record::Throughput {
                direction,
                second,
                mbit_s,
                ..
            } => self.note(format!(
                "throughput {direction} second {second}: {mbit_s:.1} Mbit/s"
            )),
            Record::Control {
                side,
                action,
                state,
                ..
            } => self.note(control_text(*side, *action, state)),
            Record::Sas { words, .. } => {
                self.sas = Some(words.clone());
                self.note(format!(
                    "security words: {words} (the other side must see the same four words)"
                ))
            }
            Record::Error { message, .. } => {
                if let Some(b) = &self.bar {
                    b.finish_and_clear();
                }
                self.bar = None;
                eprintln!("rtccall: error: {message}");
            }
            Record::Summary(s) => {
                if let Some(b) = self.bar.take() {
                    b.finish_and_clear();
                }
                print_summary(s);
            }
        }
    }

    pub fn finish(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
        for (_, b) in self.transfers.drain() {
            b.finish_and_clear();
        }
    }
}

/// Who wrote a chat line, as people read it.
pub fn speaker(direction: Direction) -> &'static str {
    if direction == Direction::Send {
        "you"
    } else {
        "peer"
    }
}

/// How a file transfer ended, in one line (`name` and `detail` already escaped).
pub fn file_end_text(
    direction: Direction,
    name: &str,
    event: FileEvent,
    bytes: u64,
    mbit_s: Option<f64>,
    detail: Option<&str>,
) -> String {
    let done = if direction == Direction::Send {
        "sent"
    } else {
        "received"
    };
    match event {
        FileEvent::Verified => format!(
            "{done} {name}: {bytes} bytes, {}, SHA-256 verified",
            mbit_s.map_or("-".into(), |r| format!("{r:.1} Mbit/s"))
        ),
        FileEvent::Refused => format!("{name}: refused ({})", detail.unwrap_or("-")),
        _ => format!("{name} ({direction}): failed — {}", detail.unwrap_or("-")),
    }
}

/// A switch turned, in words.
pub fn control_text(side: Side, action: ControlAction, state: &str) -> String {
    let who = if side == Side::Local {
        "you"
    } else {
        "the other side"
    };
    match (action, state) {
        (ControlAction::Mute, "on") => format!("{who}: microphone muted"),
        (ControlAction::Mute, _) => format!("{who}: microphone on"),
        (ControlAction::Video, "off") => format!("{who}: video off"),
        (ControlAction::Video, _) => format!("{who}: video on"),
        (ControlAction::Volume, v) => format!("{who}: speaker volume {v} %"),
    }
}

/// The time of day, UTC, as HH:MM:SS.
fn clock() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!(
        "{:02}:{:02}:{:02}Z",
        secs / 3600 % 24,
        secs / 60 % 60,
        secs % 60
    )
}

fn stats_line(ms: f64, s: &Stats) -> String {
    let pair = s
        .selected_pair
        .as_ref()
        .map(|p| format!("{}/{}", p.local.candidate_type, p.local.protocol))
        .unwrap_or_else(|| "-".into());
    let rtt = s
        .selected_pair
        .as_ref()
        .and_then(|p| p.rtt_ms)
        .map_or("-".into(), |r| format!("{r:.1} ms"));
    let levels = match (s.audio.level_sent_dbfs, s.audio.level_received_dbfs) {
        (None, None) => String::new(),
        (a, b) => format!(
            "  level {} / {} dB",
            a.map_or("-".into(), |v| format!("{v:.0}")),
            b.map_or("-".into(), |v| format!("{v:.0}"))
        ),
    };
    let file = match (s.video.source_position_s, s.video.source_length_s) {
        (Some(p), Some(l)) if l > 0.0 => {
            let done = ((p / l).clamp(0.0, 1.0) * 20.0).round() as usize;
            format!(
                "  file [{}{}] {p:.1}/{l:.1} s",
                "#".repeat(done),
                "-".repeat(20 - done)
            )
        }
        _ => String::new(),
    };
    format!(
        "{:>5.0} s  {}  pair {}  rtt {}  out {:.0} kbps  in {:.0} kbps  {:.0} fps  loss {:.1} %  jitter {} / {}{levels}{file}",
        ms / 1000.0,
        s.state,
        pair,
        rtt,
        s.bitrate_out_kbps,
        s.bitrate_in_kbps,
        s.video.fps_received,
        s.loss_pct,
        s.audio
            .jitter_ms
            .map_or("-".into(), |j| format!("{j:.1} ms")),
        s.video
            .jitter_ms
            .map_or("-".into(), |j| format!("{j:.1} ms")),
    )
}

/// Print the end-of-call table on stdout.
pub fn print_summary(s: &Summary) {
    let mut out = std::io::stdout().lock();
    let t = &s.timings_ms;
    let rows: Vec<(&str, String)> = vec![
        (
            "role",
            match s.role.as_str() {
                "publish" => format!("publish to {}", s.room),
                "play" => format!("play from {}", s.room),
                _ => format!("{} in room {}", s.role, s.room),
            },
        ),
        (
            "result",
            match &s.error {
                None => format!("ok ({})", s.end_reason),
                Some(e) => format!("{} — {e}", s.end_reason),
            },
        ),
        (
            "connected",
            if s.connected {
                format!("yes, {:.1} s", s.duration_s)
            } else {
                "no".into()
            },
        ),
        (
            "selected pair",
            s.selected_pair
                .as_ref()
                .map_or("-".into(), ToString::to_string),
        ),
        (
            "rtt",
            opt_ms(s.selected_pair.as_ref().and_then(|p| p.rtt_ms)),
        ),
        ("ice connected", opt_ms(t.ice_connected)),
        ("dtls connected", opt_ms(t.dtls_connected)),
        ("first audio", opt_ms(t.first_audio)),
        ("first video frame", opt_ms(t.first_video_frame)),
        (
            "audio",
            format!(
                "{} packets sent, {} received, {} lost, {} ms decoded, {} ms FEC, {} ms concealed",
                s.audio.packets_sent,
                s.audio.packets_received,
                s.audio.packets_lost,
                s.audio.decoded_ms,
                s.audio.fec_recovered_ms,
                s.audio.concealed_ms
            ),
        ),
        (
            "video",
            format!(
                "{} frames sent ({} key), {} decoded at {}x{}, {} lost packets, {} PLI sent / {} received",
                s.video.frames_sent,
                s.video.keyframes_sent,
                s.video.frames_decoded,
                s.video.width,
                s.video.height,
                s.video.packets_lost,
                s.video.plis_sent,
                s.video.plis_received
            ),
        ),
        (
            "media",
            format!(
                "{} sent ({}), {} dropped; video encode p50 {} / p95 {}; speaker underruns {}, late packets {}",
                s.video.source,
                s.video.codec,
                s.audio.frames_dropped + s.video.frames_dropped,
                opt_ms(s.video.encode_ms_p50),
                opt_ms(s.video.encode_ms_p95),
                s.audio.underruns,
                s.audio.late_packets
            ),
        ),
    ];
    let mut rows = rows;
    if s.data.pings_sent + s.data.pings_echoed > 0 {
        rows.push((
            "data channel",
            if s.data.pings_sent > 0 {
                format!(
                    "{} pings sent, {} echoed back",
                    s.data.pings_sent, s.data.echoes_received
                )
            } else {
                format!("{} pings echoed", s.data.pings_echoed)
            },
        ));
    }
    if let Some(c) = &s.data.chat {
        rows.push((
            "chat",
            format!(
                "{} lines sent ({} acknowledged), {} received",
                c.sent, c.acked, c.received
            ),
        ));
    }
    for f in &s.data.files {
        let verb = if f.direction == Direction::Send {
            "sent"
        } else {
            "received"
        };
        let name = super::text::printable(&f.name);
        rows.push((
            "file",
            match &f.error {
                None => format!(
                    "{verb} {name}: {} bytes in {:.2} s, {:.1} Mbit/s, SHA-256 verified",
                    f.bytes, f.duration_s, f.mbit_s
                ),
                Some(e) => format!("{name} ({}): {}", f.direction, super::text::printable(e)),
            },
        ));
    }
    if let Some(t) = &s.data.throughput {
        let r = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.1} Mbit/s"));
        rows.push((
            "throughput",
            format!(
                "send {}, receive {} ({} s each, reliable ordered channel)",
                r(t.send_mbit_s),
                r(t.receive_mbit_s),
                t.secs
            ),
        ));
    }
    for e in &s.data.errors {
        rows.push(("data error", e.clone()));
    }
    if let Some(path) = &s.recording {
        rows.push((
            "recording",
            match &s.recording_error {
                Some(e) => format!("{path}: failed — {e}"),
                None => format!(
                    "{path}: {} audio packets, {} video frames",
                    s.audio.recorded, s.video.recorded
                ),
            },
        ));
    }
    if s.video.freezes > 0 {
        rows.push((
            "freezes",
            format!("{} ({} ms frozen)", s.video.freezes, s.video.freeze_ms),
        ));
    }
    for (kind, l) in [
        ("audio", &s.audio.latency_ms),
        ("video", &s.video.latency_ms),
    ] {
        if let Some(l) = l {
            rows.push((
                "latency",
                format!(
                    "{kind} capture to decode p50 {} ms, p95 {} ms",
                    l.p50, l.p95
                ),
            ));
        }
    }
    if let Some(words) = &s.sas {
        rows.push(("security words", words.clone()));
    }
    for w in &s.warnings {
        rows.push(("warning", w.clone()));
    }
    for e in &s.expectations {
        rows.push((
            "expect",
            format!(
                "{} {}: {}",
                if e.met { "met" } else { "NOT MET" },
                e.expect,
                e.detail
            ),
        ));
    }
    rows.push(("exit code", s.exit_code.to_string()));
    for (k, v) in rows {
        let _ = writeln!(out, "{k:>18}  {v}");
    }
    let _ = out.flush();
}

/// Print `rtccall devices` as a table on stdout.
pub fn print_devices(list: &crate::media::devices::DeviceList) {
    let mut out = std::io::stdout().lock();
    let audio = |out: &mut std::io::StdoutLock,
                 title: &str,
                 devs: &[crate::media::devices::AudioDevice],
                 flag: &str| {
        let _ = writeln!(out, "{title}:");
        if devs.is_empty() {
            let _ = writeln!(out, "  (none)");
        }
        for d in devs {
            let _ = writeln!(
                out,
                "  {}{:<24} {}{}",
                if d.default { "* " } else { "  " },
                d.name,
                d.description,
                d.config
                    .as_ref()
                    .map_or(String::new(), |c| format!(" [{c}]"))
            );
        }
        let _ = writeln!(out, "  (use with {flag}; * marks the default)");
    };
    audio(
        &mut out,
        "Audio inputs",
        &list.audio_inputs,
        "--audio mic:NAME",
    );
    audio(
        &mut out,
        "Audio outputs",
        &list.audio_outputs,
        "--speaker NAME",
    );
    let _ = writeln!(out, "Video inputs:");
    if list.video_inputs.is_empty() {
        let _ = writeln!(out, "  (no camera, no X display)");
    }
    for v in &list.video_inputs {
        let _ = writeln!(out, "    {:<24} {}", v.name, v.description);
    }
    let _ = writeln!(
        out,
        "FFmpeg input devices (--video ffmpeg:FORMAT:INPUT): {}",
        list.ffmpeg_inputs.join(", ")
    );
    let _ = out.flush();
}
