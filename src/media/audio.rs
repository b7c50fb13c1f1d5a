//! Audio: the tone source and the Opus encoder (each on its own thread), and the Opus decoder
//! thread that counts what it decodes.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::mpsc;

use super::{
    Counters, ENCODED_QUEUE, EncodedFrame, RAW_QUEUE, RECEIVED_QUEUE, ReceivedFrame, pace,
    recv_until_stopped, spawn_checked,
};
use crate::exit::Result;

/// Opus runs at 48 kHz here.
pub const SAMPLE_RATE: u32 = 48_000;
/// 20 ms frames.
pub const FRAME_MS: u64 = 20;
const FRAME_SAMPLES: usize = (SAMPLE_RATE as usize / 1000) * FRAME_MS as usize;

struct RawAudio {
    samples: Vec<i16>,
    captured: Instant,
}

/// Start the tone source and its encoder. Returns the queue of encoded Opus packets.
pub fn start_tone(
    frequency_hz: f64,
    counters: Arc<Counters>,
    stop: Arc<AtomicBool>,
) -> Result<(mpsc::Receiver<EncodedFrame>, Vec<JoinHandle<()>>)> {
    let (raw_tx, raw_rx) = std::sync::mpsc::sync_channel::<RawAudio>(RAW_QUEUE);
    let (enc_tx, enc_rx) = mpsc::channel::<EncodedFrame>(ENCODED_QUEUE);

    let enc_counters = counters.clone();
    let encoder = spawn_checked(
        "opus-encode",
        || {
            let mut enc =
                opus::Encoder::new(SAMPLE_RATE, opus::Channels::Mono, opus::Application::Voip)
                    .map_err(|e| format!("cannot open the Opus encoder: {e}"))?;
            enc.set_bitrate(opus::Bitrate::Bits(32_000))
                .map_err(|e| format!("cannot configure the Opus encoder: {e}"))?;
            Ok(enc)
        },
        move |mut enc| {
            let mut out = vec![0u8; 4000];
            while let Ok(raw) = raw_rx.recv() {
                match enc.encode(&raw.samples, &mut out) {
                    Ok(n) => {
                        enc_counters.audio.encoded.fetch_add(1, Ordering::Relaxed);
                        let frame = EncodedFrame {
                            data: Bytes::copy_from_slice(&out[..n]),
                            duration: Duration::from_millis(FRAME_MS),
                            keyframe: false,
                            captured: raw.captured,
                        };
                        if enc_tx.try_send(frame).is_err() {
                            if enc_tx.is_closed() {
                                break;
                            }
                            enc_counters.dropped(&enc_counters.audio.encode_dropped);
                        }
                    }
                    Err(e) => tracing::warn!("Opus encode failed: {e}"),
                }
            }
        },
    )?;

    let source = spawn_checked(
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
                counters.audio.captured.fetch_add(1, Ordering::Relaxed);
                let raw = RawAudio {
                    samples,
                    captured: Instant::now(),
                };
                match raw_tx.try_send(raw) {
                    Ok(()) => {}
                    Err(std::sync::mpsc::TrySendError::Full(_)) => {
                        counters.dropped(&counters.audio.capture_dropped);
                    }
                    Err(std::sync::mpsc::TrySendError::Disconnected(_)) => break,
                }
                n += 1;
                if !pace(start + Duration::from_millis(n * FRAME_MS), &stop) {
                    break;
                }
            }
        },
    )?;
    Ok((enc_rx, vec![source, encoder]))
}

/// Start the Opus decoder thread. Returns the queue the network side feeds.
pub fn start_decoder(
    counters: Arc<Counters>,
    stop: Arc<AtomicBool>,
) -> Result<(std::sync::mpsc::SyncSender<ReceivedFrame>, JoinHandle<()>)> {
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
            while let Some(frame) = recv_until_stopped(&rx, &stop) {
                match dec.decode(&frame.data, &mut pcm, false) {
                    Ok(samples) => {
                        let _ = counters.audio.first_decoded.set(Instant::now());
                        counters.audio.decoded.fetch_add(1, Ordering::Relaxed);
                        counters.audio.decoded_ms.fetch_add(
                            samples as u64 * 1000 / SAMPLE_RATE as u64,
                            Ordering::Relaxed,
                        );
                        // The sink: counting today; the speaker plugs in here.
                    }
                    Err(e) => {
                        tracing::debug!("Opus decode failed: {e}");
                        counters.audio.decode_errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        },
    )?;
    Ok((tx, handle))
}
