//! Audio: sources (tone, microphone, file) feeding the Opus encoder thread in 20 ms frames at
//! 48 kHz mono; the Opus decoder thread that measures what arrives and hands it to the speaker's
//! jitter buffer and the recorder; and the resampler both directions share.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ffmpeg_next as ffmpeg;
use tokio::sync::mpsc;

use super::record::RecordItem;
use super::{
    AudioSource, Counters, ENCODED_QUEUE, EncodedFrame, LEVEL_SILENT, MediaKind, RAW_QUEUE,
    RECEIVED_QUEUE, ReceivedFrame, SourceEnd, Speaker, devices, level_dbfs_tenths, pace,
    recv_until_stopped, spawn_checked,
};
use crate::exit::Result;

/// Opus runs at 48 kHz here.
pub const SAMPLE_RATE: u32 = 48_000;
/// 20 ms frames.
pub const FRAME_MS: u64 = 20;
pub const FRAME_SAMPLES: usize = (SAMPLE_RATE as usize / 1000) * FRAME_MS as usize;

/// One 20 ms frame of 48 kHz mono audio for the encoder.
pub(crate) struct RawAudio {
    pub samples: Vec<i16>,
    pub captured: Instant,
}

/// Cuts a stream of 48 kHz mono samples into 20 ms frames and queues them for the encoder.
pub(crate) struct Framer {
    buf: Vec<i16>,
    tx: std::sync::mpsc::SyncSender<RawAudio>,
    counters: Arc<Counters>,
}

impl Framer {
    pub fn new(tx: std::sync::mpsc::SyncSender<RawAudio>, counters: Arc<Counters>) -> Framer {
        Framer {
            buf: Vec::with_capacity(FRAME_SAMPLES * 2),
            tx,
            counters,
        }
    }

    /// Queue samples; false once the encoder is gone.
    pub fn push(&mut self, samples: &[i16]) -> bool {
        self.buf.extend_from_slice(samples);
        while self.buf.len() >= FRAME_SAMPLES {
            let rest = self.buf.split_off(FRAME_SAMPLES);
            let frame = std::mem::replace(&mut self.buf, rest);
            self.counters.audio.captured.fetch_add(1, Ordering::Relaxed);
            // The encoder takes a fraction of a millisecond per frame and never waits on the
            // network, so waiting for it is short, and a burst from the device is not lost.
            let raw = RawAudio {
                samples: frame,
                captured: Instant::now(),
            };
            if self.tx.send(raw).is_err() {
                return false;
            }
        }
        true
    }
}

/// Converts interleaved f32 audio of any rate and channel count to another rate and channel
/// count (FFmpeg's resampler; down-mixing included).
pub(crate) struct Resampler {
    ctx: ffmpeg::software::resampling::Context,
    in_rate: u32,
    in_channels: u16,
    out_rate: u32,
    out_channels: u16,
}

fn layout(channels: u16) -> ffmpeg::ChannelLayout {
    match channels {
        1 => ffmpeg::ChannelLayout::MONO,
        2 => ffmpeg::ChannelLayout::STEREO,
        n => ffmpeg::ChannelLayout::default(i32::from(n)),
    }
}

impl Resampler {
    pub fn new(
        in_rate: u32,
        in_channels: u16,
        out_rate: u32,
        out_channels: u16,
    ) -> std::result::Result<Resampler, String> {
        let f32p = ffmpeg::format::Sample::F32(ffmpeg::format::sample::Type::Packed);
        let ctx = ffmpeg::software::resampling::Context::get(
            f32p,
            layout(in_channels),
            in_rate,
            f32p,
            layout(out_channels),
            out_rate,
        )
        .map_err(|e| {
            format!(
                "cannot convert {in_channels}-channel {in_rate} Hz audio to {out_channels}-channel {out_rate} Hz: {e}"
            )
        })?;
        Ok(Resampler {
            ctx,
            in_rate,
            in_channels,
            out_rate,
            out_channels,
        })
    }

    /// Convert interleaved samples; the output may lag the input by the resampler's delay.
    pub fn run(&mut self, input: &[f32]) -> Vec<f32> {
        let f32p = ffmpeg::format::Sample::F32(ffmpeg::format::sample::Type::Packed);
        let frames = input.len() / usize::from(self.in_channels);
        if frames == 0 {
            return Vec::new();
        }
        let mut inf = ffmpeg::frame::Audio::new(f32p, frames, layout(self.in_channels));
        inf.set_rate(self.in_rate);
        {
            let bytes = inf.data_mut(0);
            for (dst, s) in bytes.chunks_exact_mut(4).zip(input.iter()) {
                dst.copy_from_slice(&s.to_ne_bytes());
            }
        }
        // Room for the rate change plus what the resampler holds back.
        let capacity = frames * self.out_rate as usize / self.in_rate as usize
            + 256
            + self.in_rate as usize / 100;
        let mut out = ffmpeg::frame::Audio::new(f32p, capacity, layout(self.out_channels));
        if let Err(e) = self.ctx.run(&inf, &mut out) {
            tracing::debug!("resampling failed: {e}");
            return Vec::new();
        }
        let n = out.samples() * usize::from(self.out_channels);
        out.data(0)
            .chunks_exact(4)
            .take(n)
            .map(|b| f32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
            .collect()
    }
}

pub(crate) fn f32_to_i16(s: f32) -> i16 {
    (s.clamp(-1.0, 1.0) * 32767.0) as i16
}

/// Start the audio source and its Opus encoder; `None` when no audio is sent.
pub fn start_source(
    source: &AudioSource,
    counters: Arc<Counters>,
    stop: Arc<AtomicBool>,
    end: SourceEnd,
    threads: &mut Vec<JoinHandle<()>>,
) -> Result<Option<mpsc::Receiver<EncodedFrame>>> {
    if *source == AudioSource::None {
        return Ok(None);
    }
    let (raw_tx, raw_rx) = std::sync::mpsc::sync_channel::<RawAudio>(RAW_QUEUE);
    let (enc_rx, encoder) = start_encoder(raw_rx, counters.clone())?;
    threads.push(encoder);
    let framer = Framer::new(raw_tx, counters.clone());
    let source = match source {
        AudioSource::Tone { frequency_hz } => start_tone(*frequency_hz, framer, stop)?,
        AudioSource::Mic { device } => {
            devices::start_mic(device.as_deref(), framer, counters, stop)?
        }
        AudioSource::File { path, looping } => {
            start_file(path, *looping, framer, counters, stop, end)?
        }
        AudioSource::None => return Ok(None),
    };
    threads.push(source);
    Ok(Some(enc_rx))
}

fn start_encoder(
    raw_rx: std::sync::mpsc::Receiver<RawAudio>,
    counters: Arc<Counters>,
) -> Result<(mpsc::Receiver<EncodedFrame>, JoinHandle<()>)> {
    let (enc_tx, enc_rx) = mpsc::channel::<EncodedFrame>(ENCODED_QUEUE);
    let encoder = spawn_checked("opus-encode", new_encoder, move |mut enc| {
        let mut out = vec![0u8; 4000];
        while let Ok(raw) = raw_rx.recv() {
            counters
                .audio
                .level_sent
                .store(level_dbfs_tenths(&raw.samples), Ordering::Relaxed);
            let began = Instant::now();
            match enc.encode(&raw.samples, &mut out) {
                Ok(n) => {
                    counters.audio.encoded.fetch_add(1, Ordering::Relaxed);
                    counters.audio.encode_time(began.elapsed());
                    let frame = EncodedFrame {
                        data: Bytes::copy_from_slice(&out[..n]),
                        duration: Duration::from_millis(FRAME_MS),
                        codec: None,
                        keyframe: false,
                        captured: raw.captured,
                    };
                    if enc_tx.try_send(frame).is_err() {
                        if enc_tx.is_closed() {
                            break;
                        }
                        counters.dropped(&counters.audio.encode_dropped);
                    }
                }
                Err(e) => tracing::warn!("Opus encode failed: {e}"),
            }
        }
    })?;
    Ok((enc_rx, encoder))
}

/// The Opus encoder of every call: mono, 48 kHz, 32 kbit/s, VoIP, with in-band FEC (each
/// packet carries a coarse copy of the one before, which the receiver uses when that one is
/// lost; the encoder spends bits on it as for 10 % loss).
fn new_encoder() -> std::result::Result<opus::Encoder, String> {
    let mut enc = opus::Encoder::new(SAMPLE_RATE, opus::Channels::Mono, opus::Application::Voip)
        .map_err(|e| format!("cannot open the Opus encoder: {e}"))?;
    enc.set_bitrate(opus::Bitrate::Bits(32_000))
        .and_then(|()| enc.set_inband_fec(true))
        .and_then(|()| enc.set_packet_loss_perc(10))
        .map_err(|e| format!("cannot configure the Opus encoder: {e}"))?;
    Ok(enc)
}

fn start_tone(
    frequency_hz: f64,
    mut framer: Framer,
    stop: Arc<AtomicBool>,
) -> Result<JoinHandle<()>> {
    spawn_checked(
        "tone-source",
        || Ok(()),
        move |()| {
            let step = 2.0 * std::f64::consts::PI * frequency_hz / SAMPLE_RATE as f64;
            let mut phase = 0.0f64;
            let start = Instant::now();
            let mut n: u64 = 0;
            loop {
                let mut samples = Vec::with_capacity(FRAME_SAMPLES);
                for _ in 0..FRAME_SAMPLES {
                    samples.push((phase.sin() * 0.3 * i16::MAX as f64) as i16);
                    phase = (phase + step) % (2.0 * std::f64::consts::PI);
                }
                if !framer.push(&samples) {
                    break;
                }
                n += 1;
                if !pace(start + Duration::from_millis(n * FRAME_MS), &stop) {
                    break;
                }
            }
        },
    )
}

/// The audio of a media file, decoded, resampled to 48 kHz mono and paced by its timestamps.
struct AudioFile {
    what: String,
    path: std::path::PathBuf,
    ictx: ffmpeg::format::context::Input,
    stream: usize,
    decoder: ffmpeg::decoder::Audio,
    resampler: Option<(Resampler, u32, u16)>,
    eof_sent: bool,
}

impl AudioFile {
    fn open(path: &Path) -> std::result::Result<AudioFile, String> {
        super::video::init_ffmpeg()?;
        let what = format!("file {}", path.display());
        let ictx = ffmpeg::format::input(&path).map_err(|e| match e {
            ffmpeg::Error::Other { errno: 2 } => format!("{what}: no such file"),
            e => format!("cannot open {what}: {e}"),
        })?;
        let stream = ictx
            .streams()
            .best(ffmpeg::media::Type::Audio)
            .ok_or_else(|| format!("{what} has no audio stream"))?;
        let index = stream.index();
        let decoder = ffmpeg::codec::context::Context::from_parameters(stream.parameters())
            .and_then(|c| c.decoder().audio())
            .map_err(|e| format!("cannot decode the audio of {what}: {e}"))?;
        Ok(AudioFile {
            what,
            path: path.to_path_buf(),
            ictx,
            stream: index,
            decoder,
            resampler: None,
            eof_sent: false,
        })
    }

    /// Decoded audio as 48 kHz mono f32; `None` at the end.
    fn next(&mut self) -> std::result::Result<Option<Vec<f32>>, String> {
        let mut decoded = ffmpeg::frame::Audio::empty();
        loop {
            if self.decoder.receive_frame(&mut decoded).is_ok() {
                let rate = decoded.rate();
                let channels = decoded.channels().max(1);
                // Convert whatever the file has to packed f32 first.
                let mut packed = ffmpeg::frame::Audio::empty();
                let mut conv = ffmpeg::software::resampling::Context::get(
                    decoded.format(),
                    layout(channels),
                    rate,
                    ffmpeg::format::Sample::F32(ffmpeg::format::sample::Type::Packed),
                    layout(channels),
                    rate,
                )
                .map_err(|e| format!("cannot convert the audio of {}: {e}", self.what))?;
                decoded.set_channel_layout(layout(channels));
                conv.run(&decoded, &mut packed)
                    .map_err(|e| format!("cannot convert the audio of {}: {e}", self.what))?;
                let n = packed.samples() * usize::from(channels);
                let interleaved: Vec<f32> = packed
                    .data(0)
                    .chunks_exact(4)
                    .take(n)
                    .map(|b| f32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
                    .collect();
                let stale = self
                    .resampler
                    .as_ref()
                    .is_none_or(|(_, r, c)| (*r, *c) != (rate, channels));
                if stale {
                    self.resampler = Some((
                        Resampler::new(rate, channels, SAMPLE_RATE, 1)?,
                        rate,
                        channels,
                    ));
                }
                let Some((r, ..)) = self.resampler.as_mut() else {
                    continue;
                };
                return Ok(Some(r.run(&interleaved)));
            }
            if self.eof_sent {
                return Ok(None);
            }
            self.eof_sent = super::input::feed_decoder(
                &mut self.ictx,
                self.stream,
                &mut self.decoder,
                &self.what,
            )?;
        }
    }
}

fn start_file(
    path: &Path,
    looping: bool,
    mut framer: Framer,
    counters: Arc<Counters>,
    stop: Arc<AtomicBool>,
    end: SourceEnd,
) -> Result<JoinHandle<()>> {
    let path = path.to_path_buf();
    spawn_checked(
        "audio-file",
        move || AudioFile::open(&path),
        move |mut file| {
            // A file starts when the call does, like its video.
            while !counters.live.load(Ordering::Relaxed) {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            let start = Instant::now();
            let mut sent: u64 = 0; // samples at 48 kHz
            loop {
                match file.next() {
                    Ok(Some(samples)) => {
                        let pcm: Vec<i16> = samples.iter().map(|&s| f32_to_i16(s)).collect();
                        sent += pcm.len() as u64;
                        if !framer.push(&pcm) {
                            return;
                        }
                        // Pace by the audio itself: keep at most one frame ahead of real time.
                        let due = start
                            + Duration::from_micros(sent * 1_000_000 / u64::from(SAMPLE_RATE))
                            - Duration::from_millis(FRAME_MS);
                        if !pace(due, &stop) {
                            return;
                        }
                    }
                    Ok(None) if looping => match AudioFile::open(&file.path) {
                        Ok(f) => file = f,
                        Err(e) => return end.failed(e),
                    },
                    Ok(None) => {
                        if !stop.load(Ordering::Relaxed) {
                            end.finished();
                        }
                        return;
                    }
                    Err(e) => return end.failed(e),
                }
            }
        },
    )
}

/// The speaker's jitter buffer: decoded 48 kHz mono samples waiting to be played. Playback
/// starts once its target is buffered (again after every underrun); packets that would push it
/// past `MAX_MS` are late and dropped. The target follows the measured interarrival jitter
/// (RFC 3550's estimator): [`TARGET_MS`] on a calm link, up to [`MAX_TARGET_MS`] under jitter,
/// back down as the link calms; while playing, audio well above the target is trimmed.
#[derive(Debug, Default)]
pub struct JitterBuffer {
    samples: VecDeque<i16>,
    playing: bool,
    /// Smoothed interarrival jitter, ms.
    jitter_ms: f64,
    last_arrival: Option<Instant>,
}

/// What the speaker got from the jitter buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pull {
    Played,
    /// Still filling up (before the first audio, or after an underrun).
    Silent,
    /// Playing ran dry: the packets came too late.
    Underrun,
}

/// Audio buffered before playback starts, on a calm link.
pub const TARGET_MS: usize = 60;
/// The most the target grows to under jitter.
pub const MAX_TARGET_MS: usize = 200;
/// Audio this far above the target while playing is trimmed (10 ms per packet).
const TRIM_ABOVE_MS: usize = 40;
/// More than this waiting means the packets are late: drop them.
pub const MAX_MS: usize = 300;
const PER_MS: usize = SAMPLE_RATE as usize / 1000;

impl JitterBuffer {
    /// Add decoded samples; false when older samples had to be dropped to make room (they
    /// waited too long: the speaker is behind or has not started yet). Keeping the newest audio
    /// keeps the delay bounded.
    pub fn push(&mut self, pcm: &[i16]) -> bool {
        if self.playing && self.samples.len() > (self.target_ms() + TRIM_ABOVE_MS) * PER_MS {
            self.samples.drain(..10 * PER_MS);
        }
        let room = MAX_MS * PER_MS;
        let overflow = (self.samples.len() + pcm.len()).saturating_sub(room);
        self.samples.drain(..overflow.min(self.samples.len()));
        let pcm = &pcm[pcm.len().saturating_sub(room)..];
        self.samples.extend(pcm.iter().copied());
        if self.samples.len() >= self.target_ms() * PER_MS {
            self.playing = true;
        }
        overflow == 0
    }

    /// Take `out.len()` samples for the device (silence when there are not enough).
    pub fn pull(&mut self, out: &mut [i16]) -> Pull {
        if !self.playing || self.samples.len() < out.len() {
            out.fill(0);
            let was = std::mem::replace(&mut self.playing, false);
            return if was { Pull::Underrun } else { Pull::Silent };
        }
        for s in out.iter_mut() {
            *s = self.samples.pop_front().unwrap_or(0);
        }
        Pull::Played
    }

    pub fn depth_ms(&self) -> usize {
        self.samples.len() / PER_MS
    }

    /// A packet's audio that arrived at `now`: its spacing from the one before updates the
    /// jitter estimate (concealed audio goes through [`JitterBuffer::push`] alone).
    pub fn push_arrived(&mut self, pcm: &[i16], now: Instant) -> bool {
        if let Some(last) = self.last_arrival {
            let spacing = now.saturating_duration_since(last).as_secs_f64() * 1000.0;
            let expected = pcm.len() as f64 / PER_MS as f64;
            let d = (spacing - expected).abs().min(1000.0);
            self.jitter_ms += (d - self.jitter_ms) / 16.0;
        }
        self.last_arrival = Some(now);
        self.push(pcm)
    }

    /// The depth playback starts at (and is trimmed back towards), ms.
    pub fn target_ms(&self) -> usize {
        (TARGET_MS + (3.0 * self.jitter_ms).round() as usize).min(MAX_TARGET_MS)
    }
}

/// Start the Opus decoder thread (and the speaker, when it is on). Returns the queue the network
/// side feeds.
pub fn start_receiver(
    speaker: &Speaker,
    counters: Arc<Counters>,
    recorder: Option<std::sync::mpsc::SyncSender<RecordItem>>,
    stop: Arc<AtomicBool>,
) -> Result<(
    std::sync::mpsc::SyncSender<ReceivedFrame>,
    Vec<JoinHandle<()>>,
)> {
    let mut threads = Vec::new();
    let jitter = match speaker {
        Speaker::Off => None,
        Speaker::On(device) => {
            let jitter = Arc::new(Mutex::new(JitterBuffer::default()));
            threads.push(devices::start_speaker(
                device.as_deref(),
                jitter.clone(),
                counters.clone(),
                stop.clone(),
            )?);
            Some(jitter)
        }
    };
    let (tx, rx) = std::sync::mpsc::sync_channel::<ReceivedFrame>(RECEIVED_QUEUE);
    let handle = spawn_checked(
        "opus-decode",
        || {
            opus::Decoder::new(SAMPLE_RATE, opus::Channels::Mono)
                .map_err(|e| format!("cannot open the Opus decoder: {e}"))
        },
        move |mut dec| {
            // Up to 120 ms at 48 kHz.
            let mut pcm = vec![0i16; 5760];
            counters
                .audio
                .level_received
                .store(LEVEL_SILENT, Ordering::Relaxed);
            let mut gaps = GapTracker::default();
            while let Some(frame) = recv_until_stopped(&rx, &stop) {
                let (lost, frame_len) = match gaps.arrived(frame.rtp_timestamp) {
                    Arrival::Late => {
                        // Already concealed (or far behind): playing it now would only add delay.
                        counters.audio.late.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    Arrival::InOrder { lost, frame_len } => (lost, frame_len),
                };
                // Lost packets before this one: all but the last concealed by the decoder, the
                // last rebuilt from this packet's FEC (concealed too when it carries none).
                for i in 0..lost {
                    let fec = i + 1 == lost && may_carry_fec(&frame.data);
                    let input: &[u8] = if fec { &frame.data } else { &[] };
                    if let Ok(n) = dec.decode(input, &mut pcm[..frame_len], fec) {
                        let ms = n as u64 * 1000 / SAMPLE_RATE as u64;
                        let counter = if fec {
                            &counters.audio.fec_recovered_ms
                        } else {
                            &counters.audio.concealed_ms
                        };
                        counter.fetch_add(ms, Ordering::Relaxed);
                        if let Some(jitter) = &jitter {
                            let mut j = jitter.lock().unwrap_or_else(|p| p.into_inner());
                            j.push(&pcm[..n]);
                        }
                    }
                }
                match dec.decode(&frame.data, &mut pcm, false) {
                    Ok(samples) => {
                        gaps.decoded(samples);
                        let _ = counters.audio.first_decoded.set(Instant::now());
                        counters.audio.decoded.fetch_add(1, Ordering::Relaxed);
                        counters.audio.decoded_ms.fetch_add(
                            samples as u64 * 1000 / SAMPLE_RATE as u64,
                            Ordering::Relaxed,
                        );
                        let pcm = &pcm[..samples];
                        counters
                            .audio
                            .level_received
                            .store(level_dbfs_tenths(pcm), Ordering::Relaxed);
                        if let Some(jitter) = &jitter {
                            let mut j = jitter.lock().unwrap_or_else(|p| p.into_inner());
                            if !j.push_arrived(pcm, frame.arrived) {
                                counters.audio.late.fetch_add(1, Ordering::Relaxed);
                            }
                            counters
                                .audio
                                .buffer_ms
                                .store(j.depth_ms() as u64, Ordering::Relaxed);
                            counters
                                .audio
                                .buffer_target_ms
                                .store(j.target_ms() as u64, Ordering::Relaxed);
                        }
                    }
                    Err(e) => {
                        tracing::debug!("Opus decode failed: {e}");
                        counters.audio.decode_errors.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                }
                if let Some(rec) = &recorder {
                    let item = RecordItem {
                        kind: MediaKind::Audio,
                        data: frame.data,
                        rtp_timestamp: frame.rtp_timestamp,
                        arrived: frame.arrived,
                        keyframe: true,
                        video: None,
                    };
                    if rec.try_send(item).is_err() {
                        counters
                            .audio
                            .record_dropped
                            .fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        },
    )?;
    threads.push(handle);
    Ok((tx, threads))
}

/// Whether an Opus packet can carry in-band FEC: only SILK and hybrid packets do (TOC
/// configurations 0–15); for a CELT-only packet the decoder would just conceal.
fn may_carry_fec(packet: &[u8]) -> bool {
    packet.first().is_some_and(|toc| toc >> 3 < 16)
}

/// Longest gap (in packets) filled by concealment; a longer one is a new start.
const MAX_CONCEALED: u32 = 10;

/// Where a received audio packet stands against the ones before it, by RTP timestamp.
#[derive(Default)]
struct GapTracker {
    /// Timestamp the next packet should have.
    expected: Option<u32>,
    /// Samples per packet, as last decoded.
    frame_len: usize,
}

#[derive(Debug, PartialEq)]
enum Arrival {
    /// Behind what was played: drop it.
    Late,
    /// Next in line, after `lost` missing packets of `frame_len` samples.
    InOrder { lost: u32, frame_len: usize },
}

impl GapTracker {
    fn arrived(&mut self, ts: u32) -> Arrival {
        let frame_len = if self.frame_len == 0 {
            960
        } else {
            self.frame_len
        };
        let Some(expected) = self.expected else {
            self.expected = Some(ts);
            return Arrival::InOrder { lost: 0, frame_len };
        };
        let ahead = ts.wrapping_sub(expected);
        if ahead == 0 {
            return Arrival::InOrder { lost: 0, frame_len };
        }
        if ahead > u32::MAX / 2 {
            // Behind: late, unless far behind (a new stream).
            if expected.wrapping_sub(ts) < SAMPLE_RATE {
                return Arrival::Late;
            }
            self.expected = Some(ts);
            return Arrival::InOrder { lost: 0, frame_len };
        }
        let lost = ahead / frame_len as u32;
        self.expected = Some(ts);
        if ahead % frame_len as u32 != 0 || lost > MAX_CONCEALED {
            return Arrival::InOrder { lost: 0, frame_len };
        }
        Arrival::InOrder { lost, frame_len }
    }

    fn decoded(&mut self, samples: usize) {
        self.frame_len = samples;
        self.expected = self.expected.map(|e| e.wrapping_add(samples as u32));
    }
}

#[cfg(test)]
mod tests {
    /// A lost packet rebuilt from the next packet's FEC is closer to what was sent than the
    /// decoder's plain concealment: the encoder really puts FEC in its packets.
    #[test]
    fn fec_rebuilds_a_lost_packet_better_than_concealment() {
        let mut enc = super::new_encoder().unwrap();
        let packets: Vec<Vec<u8>> = (0..50)
            .map(|f| {
                let pcm: Vec<i16> = (0..960)
                    .map(|i| {
                        let t = f64::from(f * 960 + i) / 48_000.0;
                        // A voice-like mix: it changes, so plain concealment cannot guess it.
                        let a = (t * 3.0).sin().abs();
                        (8000.0
                            * a
                            * ((2.0 * std::f64::consts::PI * 220.0 * t).sin()
                                + 0.5 * (2.0 * std::f64::consts::PI * 660.0 * t * (1.0 + t)).sin()))
                            as i16
                    })
                    .collect();
                let mut out = vec![0u8; 4000];
                let n = enc.encode(&pcm, &mut out).unwrap();
                out.truncate(n);
                out
            })
            .collect();
        let lost = 30;
        let decode = |how: &str| {
            let mut dec = opus::Decoder::new(48_000, opus::Channels::Mono).unwrap();
            let mut frame = vec![0i16; 960];
            let mut kept = Vec::new();
            for (i, p) in packets.iter().enumerate() {
                if i == lost {
                    match how {
                        "fec" => dec.decode(&packets[i + 1], &mut frame, true).unwrap(),
                        "plc" => dec.decode(&[], &mut frame, false).unwrap(),
                        _ => dec.decode(p, &mut frame, false).unwrap(),
                    };
                    kept = frame.clone();
                } else {
                    dec.decode(p, &mut frame, false).unwrap();
                }
            }
            kept
        };
        let reference = decode("all");
        let error = |v: Vec<i16>| -> f64 {
            v.iter()
                .zip(&reference)
                .map(|(a, b)| (f64::from(*a) - f64::from(*b)).powi(2))
                .sum()
        };
        let (fec, plc) = (error(decode("fec")), error(decode("plc")));
        assert!(
            fec < 0.5 * plc,
            "FEC error {fec:.3e}, concealment error {plc:.3e}"
        );
    }

    #[test]
    fn only_silk_and_hybrid_packets_carry_fec() {
        assert!(super::may_carry_fec(&[0x08 << 3]));
        assert!(super::may_carry_fec(&[15 << 3 | 1]));
        assert!(!super::may_carry_fec(&[16 << 3]));
        assert!(!super::may_carry_fec(&[]));
    }

    #[test]
    fn gaps_are_found_by_timestamp() {
        use super::{Arrival, GapTracker};
        let mut g = GapTracker::default();
        let step = |g: &mut GapTracker, ts: u32| {
            let a = g.arrived(ts);
            if a != Arrival::Late {
                g.decoded(960);
            }
            a
        };
        let lost = |n| Arrival::InOrder {
            lost: n,
            frame_len: 960,
        };
        assert_eq!(step(&mut g, 1000), lost(0));
        assert_eq!(step(&mut g, 1960), lost(0));
        // One lost, then two lost.
        assert_eq!(step(&mut g, 3880), lost(1));
        assert_eq!(step(&mut g, 6760), lost(2));
        // The lost one arriving late is dropped.
        assert_eq!(step(&mut g, 5800), Arrival::Late);
        // Wrapping timestamps, and a jump too long to conceal (a new start).
        let mut g = GapTracker::default();
        assert_eq!(step(&mut g, u32::MAX - 959), lost(0));
        assert_eq!(step(&mut g, 0), lost(0));
        assert_eq!(step(&mut g, 960 * 100), lost(0));
    }

    use super::*;

    #[test]
    fn the_target_grows_under_jitter_and_shrinks_back() {
        let mut j = JitterBuffer::default();
        let t0 = Instant::now();
        let mut out = vec![0i16; 960];
        let mut at = t0;
        for _ in 0..50 {
            at += Duration::from_millis(20);
            j.push_arrived(&[0i16; 960], at);
            j.pull(&mut out);
        }
        assert_eq!(
            j.target_ms(),
            TARGET_MS,
            "a calm link keeps the base target"
        );
        // ±30 ms of jitter.
        for i in 0..100 {
            at += Duration::from_millis(if i % 2 == 0 { 50 } else { 1 });
            j.push_arrived(&[0i16; 960], at);
        }
        let grown = j.target_ms();
        assert!(grown >= TARGET_MS + 40, "target {grown} ms under jitter");
        for _ in 0..150 {
            at += Duration::from_millis(20);
            j.push_arrived(&[0i16; 960], at);
            j.pull(&mut out);
        }
        assert!(
            j.target_ms() < TARGET_MS + 5,
            "target {} ms once calm",
            j.target_ms()
        );
        assert!(
            j.depth_ms() <= j.target_ms() + TRIM_ABOVE_MS + 20,
            "{} ms held",
            j.depth_ms()
        );
    }

    #[test]
    fn jitter_buffer_waits_for_its_target_then_plays_and_counts_underruns() {
        let mut j = JitterBuffer::default();
        let mut out = vec![0i16; 480];
        assert!(j.push(&vec![1i16; 960])); // 20 ms: below the target
        assert_eq!(
            j.pull(&mut out),
            Pull::Silent,
            "must not play before the target"
        );
        assert!(j.push(&vec![1i16; 960 * 2])); // 60 ms now
        assert_eq!(j.pull(&mut out), Pull::Played);
        assert!(out.iter().all(|&s| s == 1));
        assert_eq!(j.depth_ms(), 50);
        // Too much: the oldest goes, the newest stays.
        assert!(!j.push(&vec![2i16; MAX_MS * PER_MS]));
        assert_eq!(j.depth_ms(), MAX_MS);
        let mut first = vec![0i16; 10];
        assert_eq!(j.pull(&mut first), Pull::Played);
        assert!(first.iter().all(|&s| s == 2), "the newest audio is kept");
        let mut rest = vec![0i16; MAX_MS * PER_MS - 10];
        assert_eq!(j.pull(&mut rest), Pull::Played);
        assert!(j.push(&vec![1i16; 60 * PER_MS]));
        assert_eq!(j.pull(&mut out), Pull::Played);
        // Drain, then an underrun plays silence.
        let mut big = vec![0i16; 50 * PER_MS];
        assert_eq!(j.pull(&mut big), Pull::Played);
        assert_eq!(j.pull(&mut out), Pull::Underrun);
        assert!(out.iter().all(|&s| s == 0));
        assert_eq!(j.pull(&mut out), Pull::Silent);
    }

    #[test]
    fn levels_in_dbfs() {
        assert_eq!(level_dbfs_tenths(&[0; 960]), LEVEL_SILENT);
        // A full-scale square wave is 0 dBFS.
        let square: Vec<i16> = (0..960)
            .map(|i| if i % 2 == 0 { 32767 } else { -32767 })
            .collect();
        assert_eq!(level_dbfs_tenths(&square), 0);
    }

    #[test]
    fn resampler_changes_rate_and_downmixes() {
        ffmpeg::init().unwrap();
        let mut r = Resampler::new(44_100, 2, SAMPLE_RATE, 1).unwrap();
        let mut total = 0;
        for _ in 0..10 {
            // 10 ms of stereo at 44.1 kHz.
            let input = vec![0.5f32; 441 * 2];
            let out = r.run(&input);
            assert!(out.iter().all(|s| s.abs() <= 1.0));
            total += out.len();
        }
        // 100 ms at 48 kHz mono, less what the filter holds back.
        assert!((4_600..=4_800).contains(&total), "{total} samples");
    }
}
