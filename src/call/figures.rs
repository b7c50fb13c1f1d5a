//! The call's figures: peer connection stats and media counters sampled into `stats` records
//! while connected, and the `summary` at the end.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use super::peer::{CandidateInfo, PairInfo, Peer, PeerStats};
use super::rate::RateController;
use super::session::Ending;
use super::{CallConfig, Events, ms_between};
use crate::exit::{self, Error};
use crate::media::{
    CodecChoice, Counters, KindCounters, LEVEL_SILENT, MediaKind, Speaker, VideoSource,
};
use crate::report::schema::EndReason;
use crate::report::schema::{
    AudioInterval, AudioSummary, Candidate, DataSummary, ImpairSummary, Record, SelectedPair,
    Stats, Summary, Timings, VideoInterval, VideoSummary,
};

/// Frames dropped because capture, encoder or network fell behind.
fn dropped(k: &KindCounters) -> u64 {
    KindCounters::get(&k.capture_dropped) + KindCounters::get(&k.encode_dropped)
}

impl From<CandidateInfo> for Candidate {
    fn from(c: CandidateInfo) -> Candidate {
        Candidate {
            candidate_type: c.candidate_type,
            protocol: c.protocol,
            address: c.address,
            port: c.port,
            relay_protocol: c.relay_protocol,
        }
    }
}

impl From<Candidate> for CandidateInfo {
    fn from(c: Candidate) -> CandidateInfo {
        CandidateInfo {
            candidate_type: c.candidate_type,
            protocol: c.protocol,
            address: c.address,
            port: c.port,
            relay_protocol: c.relay_protocol,
        }
    }
}

impl From<PairInfo> for SelectedPair {
    fn from(p: PairInfo) -> SelectedPair {
        SelectedPair {
            local: p.local.into(),
            remote: p.remote.into(),
            rtt_ms: p.rtt_ms,
        }
    }
}

/// What the driver keeps to compute rates and the summary.
pub(super) struct Figures {
    pub counters: Arc<Counters>,
    pub timings: Timings,
    /// When this peer started negotiating (dialer: made its offer; answerer: got the offer).
    pub negotiation_start: Option<Instant>,
    pub connected_at: Option<Instant>,
    last_pair: Option<SelectedPair>,
    last_stats: Option<(Instant, PeerStats)>,
    last_video_decoded: u64,
    /// Video frames decoded per second over the last stats interval.
    fps_in: f64,
    /// Video frames sent at the last W3C sample, and when.
    w3c_sent: Option<(Instant, u64)>,
    /// Encode time totals and frame counts (audio, video) at the last stats record.
    last_encode: ((u64, u64), (u64, u64)),
    /// The codec our video went out in.
    pub video_codec: Option<CodecChoice>,
    /// What the summary warns about.
    pub warnings: Vec<String>,
    /// Relayed addresses allocated over TURN/TCP or TURN/TLS bridges.
    pub relays: super::bridge::RelayTransports,
    /// What `--impair` did to what we sent.
    pub impaired: Option<Arc<std::sync::Mutex<crate::impair::ImpairCounts>>>,
    /// How long ICE was down before each restart brought it back, ms.
    pub ice_recovery_ms: Vec<f64>,
    /// The video send-rate controller (made on the first tick with video to send).
    rate: Option<RateController>,
    /// The loss the Opus encoder budgets its FEC for, from the reports.
    fec: crate::media::audio::budget::FecBudget,
    /// Chat, files and the throughput test, as the data task ([`crate::data`]) keeps them.
    pub data_tally: Arc<std::sync::Mutex<DataSummary>>,
    /// What the stats records showed, for `--expect`.
    observed: crate::expect::Observed,
    /// The connection's security words ([`crate::sas`]).
    pub sas: Option<String>,
    /// The other side's switches as its control messages said (mute: on = muted; video: on
    /// = sending).
    pub remote_switches: std::collections::HashMap<crate::report::schema::ControlAction, bool>,
}

impl Figures {
    pub fn new(counters: Arc<Counters>) -> Figures {
        Figures {
            counters,
            timings: Timings::default(),
            negotiation_start: None,
            relays: Default::default(),
            connected_at: None,
            last_pair: None,
            last_stats: None,
            last_video_decoded: 0,
            fps_in: 0.0,
            w3c_sent: None,
            last_encode: ((0, 0), (0, 0)),
            video_codec: None,
            warnings: Vec::new(),
            impaired: None,
            rate: None,
            fec: Default::default(),
            ice_recovery_ms: Vec::new(),
            data_tally: Default::default(),
            observed: Default::default(),
            sas: None,
            remote_switches: Default::default(),
        }
    }

    /// Once a second: the link RTT for the frame assembler, the loss the Opus encoder budgets
    /// FEC for, and the bandwidth estimate for the video encoder's target.
    pub async fn rate_tick(&mut self, peer: &Peer, cfg: &CallConfig) {
        let stats = peer.stats().await;
        let rtt_ms = stats.selected_pair.and_then(|p| p.rtt_ms);
        if let Some(rtt) = rtt_ms {
            self.counters
                .rtt_us
                .store((rtt * 1000.0) as u64, Ordering::Relaxed);
        }
        let estimate = peer.estimate();
        tracing::trace!("bandwidth estimate {estimate:?}");
        // A peer without transport-wide feedback never feeds the estimator.
        let fed = estimate.filter(|e| e.fed);
        // The audio's own receiver reports, and the transport's loss when the other side sends
        // transport-wide feedback: whichever is higher.
        let transport_lost = fed.and_then(|e| e.loss);
        let lost = stats
            .audio_reported_lost
            .into_iter()
            .chain(transport_lost)
            .fold(0.0, f64::max);
        let budget = self.fec.on_report(lost);
        if self
            .counters
            .audio_fec_loss_pct
            .swap(budget as u32, Ordering::Relaxed)
            != budget as u32
        {
            tracing::debug!(
                "Opus FEC budget {budget} % (reported loss {:.1} %)",
                lost * 100.0
            );
        }
        // Without that feedback the video keeps its ceiling.
        let Some(e) = fed else {
            return;
        };
        let rate = self
            .rate
            .get_or_insert_with(|| RateController::new(cfg.media.format.bitrate_bps));
        let rtt = rtt_ms.map(|ms| std::time::Duration::from_secs_f64(ms / 1000.0));
        if let Some(t) = rate.on_estimate(e.target_bps, rtt, Instant::now()) {
            tracing::debug!(
                "video target {} kbit/s (estimate {} kbit/s, loss {:?})",
                t / 1000,
                e.target_bps as u64 / 1000,
                e.loss
            );
            self.counters.video_target_bps.store(t, Ordering::Relaxed);
        }
    }

    /// After an ICE restart the path (and its RTT) may be new.
    pub fn path_changed(&mut self) {
        if let Some(r) = self.rate.as_mut() {
            r.path_changed();
        }
    }

    /// What rtccall measured itself, for the W3C stats of `--stats-dump`.
    pub fn own_w3c(&mut self, cfg: &CallConfig) -> crate::dump::w3c::Own {
        let c = &self.counters;
        let v = &c.video;
        let a = &c.audio;
        let now = Instant::now();
        let sent = KindCounters::get(&v.frames_sent);
        let (interval_s, sent_fps) = match self.w3c_sent {
            Some((t, n)) => {
                let dt = now.duration_since(t).as_secs_f64().max(1e-3);
                (dt, (sent.saturating_sub(n)) as f64 / dt)
            }
            None => (0.0, 0.0),
        };
        self.w3c_sent = Some((now, sent));
        let samples = |ms: &std::sync::atomic::AtomicU64| KindCounters::get(ms) * 48;
        let target = self
            .rate
            .as_ref()
            .map_or(cfg.media.format.bitrate_bps, RateController::target_bps);
        crate::dump::w3c::Own {
            interval_s,
            frames_decoded: KindCounters::get(&v.decoded),
            frames_dropped: KindCounters::get(&v.receive_dropped),
            decoded_size: (
                v.width.load(Ordering::Relaxed),
                v.height.load(Ordering::Relaxed),
            ),
            decoded_fps: (self.fps_in * 10.0).round() / 10.0,
            samples_decoded: samples(&a.decoded_ms),
            samples_fec: samples(&a.fec_recovered_ms),
            samples_concealed: samples(&a.concealed_ms),
            buffer_ms: (cfg.media.speaker != Speaker::Off).then(|| {
                (
                    KindCounters::get(&a.buffer_ms),
                    KindCounters::get(&a.buffer_target_ms),
                )
            }),
            frames_encoded: KindCounters::get(&v.encoded),
            key_frames_encoded: KindCounters::get(&v.keyframes_sent),
            frames_sent: sent,
            sent_size: (cfg.media.format.width, cfg.media.format.height),
            sent_fps: (sent_fps * 10.0).round() / 10.0,
            encode_s: KindCounters::get(&v.encode_us_total) as f64 / 1e6,
            target_bps: target as f64,
            configured_bps: cfg.media.format.bitrate_bps as f64,
        }
    }

    fn target_kbps(&self, cfg: &CallConfig) -> Option<f64> {
        (cfg.media.video != VideoSource::None).then(|| {
            let t = self
                .rate
                .as_ref()
                .map_or(cfg.media.format.bitrate_bps, RateController::target_bps);
            (t as f64 / 100.0).round() / 10.0
        })
    }

    /// Warn about streams the other side said it sends that never arrived (a call of at least
    /// two seconds).
    pub fn check_arrivals(&mut self, sent_by_peer: &[MediaKind]) {
        let Some(t) = self.connected_at else { return };
        let secs = t.elapsed().as_secs_f64();
        if secs < 2.0 {
            return;
        }
        for kind in sent_by_peer {
            let received = KindCounters::get(&self.counters.of(*kind).packets_received);
            if received == 0 {
                self.warnings.push(format!(
                    "the other side's {} was negotiated but not one packet of it arrived in \
                     {secs:.1} s",
                    kind.as_str()
                ));
            }
        }
    }

    pub fn since_negotiation(&self) -> Option<f64> {
        self.negotiation_start
            .map(|t| ms_between(t, Instant::now()))
    }

    fn data_summary(&self) -> DataSummary {
        let c = &self.counters;
        DataSummary {
            pings_sent: KindCounters::get(&c.data_sent),
            echoes_received: KindCounters::get(&c.data_echoes),
            pings_echoed: KindCounters::get(&c.data_echoed_for_peer),
            ..Default::default()
        }
    }

    pub async fn sample_stats(&mut self, peer: &Peer) -> (PeerStats, f64, f64, f64) {
        let now = Instant::now();
        let mut s = peer.stats().await;
        if let Some(local) = s.selected_pair.as_mut().map(|p| &mut p.local)
            && local.candidate_type == "relay"
        {
            let bridged = format!("{}:{}", local.address, local.port)
                .parse()
                .ok()
                .and_then(|a| self.relays.lookup(&a));
            local.relay_protocol = Some(bridged.unwrap_or("udp").to_string());
        }
        let (out_kbps, in_kbps, fps) = match &self.last_stats {
            Some((t, prev)) => {
                let dt = now.duration_since(*t).as_secs_f64().max(1e-3);
                let decoded = KindCounters::get(&self.counters.video.decoded);
                let fps = (decoded - self.last_video_decoded) as f64 / dt;
                (
                    s.bytes_sent.saturating_sub(prev.bytes_sent) as f64 * 8.0 / dt / 1000.0,
                    s.bytes_received.saturating_sub(prev.bytes_received) as f64 * 8.0 / dt / 1000.0,
                    fps,
                )
            }
            None => (0.0, 0.0, 0.0),
        };
        self.last_video_decoded = KindCounters::get(&self.counters.video.decoded);
        self.fps_in = fps;
        if let Some(p) = &s.selected_pair {
            self.last_pair = Some(p.clone().into());
        }
        self.last_stats = Some((now, s.clone()));
        (s, out_kbps, in_kbps, fps)
    }

    pub async fn emit_stats(&mut self, peer: &Peer, events: &Events, cfg: &CallConfig) {
        let (s, out_kbps, in_kbps, fps) = self.sample_stats(peer).await;
        let c = &self.counters;
        let received = s.audio_packets_received + s.video_packets_received;
        let lost = (s.audio_packets_lost + s.video_packets_lost).max(0) as f64;
        let loss_pct = if received as f64 + lost > 0.0 {
            lost * 100.0 / (received as f64 + lost)
        } else {
            0.0
        };
        let round = |v: f64| (v * 10.0).round() / 10.0;
        let level = |v: &std::sync::atomic::AtomicI32| {
            f64::from(v.load(Ordering::Relaxed).max(LEVEL_SILENT)) / 10.0
        };
        let (audio_encode, video_encode) = {
            let mean = |k: &KindCounters, last: &mut (u64, u64)| {
                let total = KindCounters::get(&k.encode_us_total);
                let n = KindCounters::get(&k.encoded);
                let (dt, dn) = (total - last.0, n - last.1);
                *last = (total, n);
                (dn > 0).then(|| (dt as f64 / dn as f64 / 10.0).round() / 100.0)
            };
            (
                mean(&c.audio, &mut self.last_encode.0),
                mean(&c.video, &mut self.last_encode.1),
            )
        };
        let source_length = match KindCounters::get(&c.source_length_ms) {
            0 => None,
            l => Some(l as f64 / 1000.0),
        };
        let stats = Stats {
            state: s.state,
            selected_pair: self.last_pair.clone(),
            bitrate_out_kbps: round(out_kbps),
            bitrate_in_kbps: round(in_kbps),
            loss_pct: (loss_pct * 100.0).round() / 100.0,
            audio: AudioInterval {
                packets_sent: KindCounters::get(&c.audio.frames_sent),
                packets_received: KindCounters::get(&c.audio.packets_received),
                packets_lost: s.audio_packets_lost,
                jitter_ms: s.audio_jitter_ms.map(|j| (j * 100.0).round() / 100.0),
                decoded_ms: KindCounters::get(&c.audio.decoded_ms),
                fec_recovered_ms: KindCounters::get(&c.audio.fec_recovered_ms),
                concealed_ms: KindCounters::get(&c.audio.concealed_ms),
                level_sent_dbfs: (KindCounters::get(&c.audio.encoded) > 0)
                    .then(|| level(&c.audio.level_sent)),
                level_received_dbfs: c
                    .audio
                    .first_decoded
                    .get()
                    .map(|_| level(&c.audio.level_received)),
                frames_dropped: dropped(&c.audio),
                encode_ms: audio_encode,
                buffer_ms: (cfg.media.speaker != Speaker::Off)
                    .then(|| KindCounters::get(&c.audio.buffer_ms)),
                buffer_target_ms: (cfg.media.speaker != Speaker::Off)
                    .then(|| KindCounters::get(&c.audio.buffer_target_ms)),
                underruns: KindCounters::get(&c.audio.underruns),
                late_packets: KindCounters::get(&c.audio.late),
                latency_ms: interval_latency(&c.audio),
            },
            video: VideoInterval {
                frames_sent: KindCounters::get(&c.video.frames_sent),
                frames_decoded: KindCounters::get(&c.video.decoded),
                fps_received: round(fps),
                packets_lost: s.video_packets_lost,
                jitter_ms: s.video_jitter_ms.map(|j| (j * 100.0).round() / 100.0),
                width: c.video.width.load(Ordering::Relaxed),
                height: c.video.height.load(Ordering::Relaxed),
                frames_dropped: dropped(&c.video),
                encode_ms: video_encode,
                source_position_s: source_length
                    .map(|_| KindCounters::get(&c.source_position_ms) as f64 / 1000.0),
                source_length_s: source_length,
                target_kbps: self.target_kbps(cfg),
                freezes: KindCounters::get(&c.video.freezes),
                latency_ms: interval_latency(&c.video),
            },
            data: self.data_summary(),
        };
        self.observed.add(&stats);
        let ms = events.ms();
        events.send(Record::Stats { ms, stats }).await;
    }

    pub async fn summary(&mut self, ending: Ending, events: &Events, cfg: &CallConfig) -> Summary {
        let c = &self.counters;
        if let Some(neg) = self.negotiation_start {
            for (slot, first) in [
                (&mut self.timings.first_audio, c.audio.first_decoded.get()),
                (
                    &mut self.timings.first_video_frame,
                    c.video.first_decoded.get(),
                ),
            ] {
                if let Some(t) = first {
                    *slot = Some(ms_between(neg, *t));
                }
            }
        }
        let duration_s = match self.connected_at {
            Some(t) => (t.elapsed().as_secs_f64() * 1000.0).round() / 1000.0,
            None => 0.0,
        };
        let (audio_lost, video_lost) = self
            .last_stats
            .as_ref()
            .map(|(_, s)| (s.audio_packets_lost, s.video_packets_lost))
            .unwrap_or((0, 0));
        let data = {
            let tally = self.data_tally.lock().unwrap_or_else(|p| p.into_inner());
            DataSummary {
                chat: tally.chat.clone(),
                files: tally.files.clone(),
                throughput: tally.throughput.clone(),
                errors: tally.errors.clone(),
                ..self.data_summary()
            }
        };
        // A call that otherwise went well fails with the data it was asked to move.
        let mut ending = ending;
        if ending.error.is_none()
            && let Some(why) = crate::data::failure(&data)
        {
            ending.error = Some(Error::data(why));
        }
        let exit_code = ending.error.as_ref().map_or(exit::OK, Error::code);
        if let Some(e) = &ending.error {
            let ms = events.ms();
            events
                .send(Record::Error {
                    ms,
                    kind: e.class(),
                    message: e.to_string(),
                    exit_code,
                })
                .await;
        }
        Summary {
            role: cfg.role_label().into(),
            room: cfg.place.label(),
            connected: self.connected_at.is_some(),
            duration_s,
            timings_ms: self.timings.clone(),
            selected_pair: self.last_pair.clone(),
            audio: AudioSummary {
                source: cfg.media.audio.label(),
                packets_sent: KindCounters::get(&c.audio.frames_sent),
                packets_received: KindCounters::get(&c.audio.packets_received),
                packets_lost: audio_lost,
                packets_decoded: KindCounters::get(&c.audio.decoded),
                decoded_ms: KindCounters::get(&c.audio.decoded_ms),
                fec_recovered_ms: KindCounters::get(&c.audio.fec_recovered_ms),
                concealed_ms: KindCounters::get(&c.audio.concealed_ms),
                frames_dropped: dropped(&c.audio),
                decode_errors: KindCounters::get(&c.audio.decode_errors),
                underruns: KindCounters::get(&c.audio.underruns),
                late_packets: KindCounters::get(&c.audio.late),
                recorded: KindCounters::get(&c.audio.recorded),
                latency_ms: total_latency(&c.audio),
            },
            video: VideoSummary {
                source: video_label(&cfg.media.video),
                codec: self
                    .video_codec
                    .as_ref()
                    .map_or(cfg.media.format.codec, CodecChoice::get)
                    .label()
                    .into(),
                frames_sent: KindCounters::get(&c.video.frames_sent),
                keyframes_sent: KindCounters::get(&c.video.keyframes_sent),
                frames_decoded: KindCounters::get(&c.video.decoded),
                packets_received: KindCounters::get(&c.video.packets_received),
                width: c.video.width.load(Ordering::Relaxed),
                height: c.video.height.load(Ordering::Relaxed),
                packets_lost: video_lost,
                frames_dropped: dropped(&c.video),
                decode_errors: KindCounters::get(&c.video.decode_errors),
                plis_sent: KindCounters::get(&c.video.plis_sent),
                plis_received: KindCounters::get(&c.video.plis_received),
                encode_ms_p50: c.video.encode_ms_percentile(50.0),
                encode_ms_p95: c.video.encode_ms_percentile(95.0),
                recorded: KindCounters::get(&c.video.recorded),
                target_kbps: self.target_kbps(cfg),
                rate_cuts: self.rate.as_ref().map_or(0, |r| r.cuts),
                rate_skipped: KindCounters::get(&c.video.rate_skipped),
                frames_expected: KindCounters::get(&c.video.frames_expected)
                    .saturating_sub(KindCounters::get(&c.video.expected_before_first)),
                freezes: KindCounters::get(&c.video.freezes),
                freeze_ms: KindCounters::get(&c.video.freeze_ms),
                latency_ms: total_latency(&c.video),
            },
            data,
            recording: cfg.media.record.as_ref().map(|p| p.display().to_string()),
            recording_error: c
                .record_error
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
            end_reason: match ending.reason {
                EndReason::Rejected | EndReason::Interrupted | EndReason::RemoteBye => {
                    ending.reason
                }
                _ if ending.error.is_some() => EndReason::Error,
                r => r,
            },
            error: ending.error.as_ref().map(|e| e.to_string()),
            warnings: self.warnings.clone(),
            ice_restarts: self.ice_recovery_ms.len() as u64,
            ice_recovery_ms: self.ice_recovery_ms.clone(),
            impair: cfg.peer.impair.map(|spec| {
                let c = self
                    .impaired
                    .as_ref()
                    .map(|c| *c.lock().unwrap_or_else(|e| e.into_inner()))
                    .unwrap_or_default();
                Box::new(ImpairSummary {
                    spec: spec.to_string(),
                    sent: c.sent,
                    lost: c.lost,
                    overflow: c.overflow,
                    reordered: c.reordered,
                })
            }),
            expectations: Vec::new(),
            sas: self.sas.clone(),
            exit_code,
        }
    }

    /// Check `--expect` on the summary: an unmet condition fails a call that otherwise went
    /// through.
    pub fn check_expectations(&self, sum: &mut Summary, cfg: &CallConfig) {
        sum.expectations = crate::expect::check(&cfg.expect, sum, &self.observed);
        if sum.exit_code == exit::OK && sum.expectations.iter().any(|e| !e.met) {
            sum.exit_code = exit::EXPECTATION_FAILED;
        }
    }
}

/// The median capture-to-decode age since the last stats record, ms.
fn interval_latency(k: &KindCounters) -> Option<f64> {
    k.latency
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take_interval_median()
}

/// p50/p95 of every capture-to-decode age, ms.
fn total_latency(k: &KindCounters) -> Option<crate::report::schema::Percentiles> {
    k.latency
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .p50_p95()
        .map(|(p50, p95)| crate::report::schema::Percentiles { p50, p95 })
}

fn video_label(v: &VideoSource) -> String {
    match v {
        VideoSource::TestSrc => "testsrc".into(),
        VideoSource::None => "none".into(),
        VideoSource::Input(i) => match (i.format.as_deref(), i.device) {
            (None, _) => format!("file:{}", i.url),
            (Some("v4l2"), true) => format!("camera:{}", i.url),
            (Some("x11grab"), true) => format!("screen:{}", i.url),
            (Some(f), _) => format!("ffmpeg:{f}:{}", i.url),
        },
    }
}
