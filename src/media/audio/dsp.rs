//! Audio signal processing without threads or devices: 20 ms framing, resampling and
//! down-mixing, sample conversion, the speaker's jitter buffer.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use ffmpeg_next as ffmpeg;

use crate::media::Counters;

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

pub(crate) fn layout(channels: u16) -> ffmpeg::ChannelLayout {
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
pub(super) const TRIM_ABOVE_MS: usize = 40;
/// More than this waiting means the packets are late: drop them.
pub const MAX_MS: usize = 300;
pub(super) const PER_MS: usize = SAMPLE_RATE as usize / 1000;

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
