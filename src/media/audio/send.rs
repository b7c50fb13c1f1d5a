//! The sending side of audio: the source (tone, microphone, file) and its Opus encoder thread.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ffmpeg_next as ffmpeg;
use tokio::sync::mpsc;

use super::dsp::{Framer, RawAudio, Resampler, f32_to_i16, layout};
use super::{FRAME_MS, FRAME_SAMPLES, SAMPLE_RATE};
use crate::exit::Result;
use crate::media::controls::Controls;
use crate::media::{
    AudioSource, Counters, ENCODED_QUEUE, EncodedFrame, RAW_QUEUE, SourceEnd, WaitingPace, devices,
    level_dbfs_tenths, pace, spawn_checked,
};

/// Start the audio source and its Opus encoder; `None` when no audio is sent.
pub fn start_source(
    source: &AudioSource,
    counters: Arc<Counters>,
    stop: Arc<AtomicBool>,
    end: SourceEnd,
    controls: Controls,
    threads: &mut Vec<JoinHandle<()>>,
) -> Result<Option<mpsc::Receiver<EncodedFrame>>> {
    if *source == AudioSource::None {
        return Ok(None);
    }
    let (raw_tx, raw_rx) = std::sync::mpsc::sync_channel::<RawAudio>(RAW_QUEUE);
    let (enc_rx, encoder) = start_encoder(raw_rx, counters.clone(), controls)?;
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
    controls: Controls,
) -> Result<(mpsc::Receiver<EncodedFrame>, JoinHandle<()>)> {
    let (enc_tx, enc_rx) = mpsc::channel::<EncodedFrame>(ENCODED_QUEUE);
    let encoder = spawn_checked(
        "opus-encode",
        || new_encoder(0),
        move |mut enc| {
            let mut out = vec![0u8; 4000];
            let mut budget = 0;
            // Until the call first goes live, one frame in ENCODE_WHILE_WAITING is encoded (every
            // Opus frame decodes on its own; the send loop holds the newest for the connect): a
            // waiting peer does not encode 50 frames a second for nobody.
            let mut waiting = WaitingPace::default();
            while let Ok(mut raw) = raw_rx.recv() {
                // Muted: the stream goes on, silent (as browsers do), so the other side's jitter
                // buffer and statistics stay as they were.
                if controls.switches().muted {
                    raw.samples.fill(0);
                }
                counters
                    .audio
                    .level_sent
                    .store(level_dbfs_tenths(&raw.samples), Ordering::Relaxed);
                if !waiting.encode(counters.live.load(Ordering::Relaxed)) {
                    continue;
                }
                let wanted = counters.audio_fec_loss_pct.load(Ordering::Relaxed) as i32;
                if wanted != budget {
                    match enc.set_packet_loss_perc(wanted) {
                        Ok(()) => budget = wanted,
                        Err(e) => tracing::warn!("Opus FEC budget {wanted} % not set: {e}"),
                    }
                }
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
        },
    )?;
    Ok((enc_rx, encoder))
}

/// The Opus encoder of every call: mono, 48 kHz, 32 kbit/s, VoIP, with in-band FEC (each
/// packet carries a coarse copy of the one before, which the receiver uses when that one is
/// lost), budgeted for `loss_pct` % loss: none at 0 (a call's encoder follows what the other
/// side reports, see `budget`).
pub(crate) fn new_encoder(loss_pct: i32) -> std::result::Result<opus::Encoder, String> {
    let mut enc = opus::Encoder::new(SAMPLE_RATE, opus::Channels::Mono, opus::Application::Voip)
        .map_err(|e| format!("cannot open the Opus encoder: {e}"))?;
    enc.set_bitrate(opus::Bitrate::Bits(32_000))
        .and_then(|()| enc.set_inband_fec(true))
        .and_then(|()| enc.set_packet_loss_perc(loss_pct))
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
        crate::media::init_ffmpeg()?;
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
            self.eof_sent = crate::media::input::feed_decoder(
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
            counters.started.wait();
            if stop.load(Ordering::Relaxed) {
                return;
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
