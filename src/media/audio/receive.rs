//! The receiving side of audio: the Opus decoder thread (in-band FEC, concealment, gaps by
//! timestamp), levels, the speaker's jitter buffer and the recorder.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use super::SAMPLE_RATE;
use super::dsp::JitterBuffer;
use crate::exit::Result;
use crate::media::record::RecordItem;
use crate::media::{
    Counters, LEVEL_SILENT, MediaKind, RECEIVED_QUEUE, ReceivedFrame, Speaker, devices,
    level_dbfs_tenths, recv_until_stopped, spawn_checked,
};

/// Start the Opus decoder thread (and the speaker, when it is on). Returns the queue the network
/// side feeds.
pub fn start_receiver(
    speaker: &Speaker,
    counters: Arc<Counters>,
    recorder: Option<std::sync::mpsc::SyncSender<RecordItem>>,
    stop: Arc<AtomicBool>,
    controls: crate::media::controls::Controls,
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
                        counters
                            .audio
                            .decoded_at(frame.captured_us, &counters.clock);
                        counters.audio.decoded.fetch_add(1, Ordering::Relaxed);
                        counters.audio.decoded_ms.fetch_add(
                            samples as u64 * 1000 / SAMPLE_RATE as u64,
                            Ordering::Relaxed,
                        );
                        let pcm = &mut pcm[..samples];
                        counters
                            .audio
                            .level_received
                            .store(level_dbfs_tenths(pcm), Ordering::Relaxed);
                        crate::media::controls::apply_volume(pcm, controls.switches().volume_pct);
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
pub(super) fn may_carry_fec(packet: &[u8]) -> bool {
    packet.first().is_some_and(|toc| toc >> 3 < 16)
}

/// Longest gap (in packets) filled by concealment; a longer one is a new start.
const MAX_CONCEALED: u32 = 10;

/// Where a received audio packet stands against the ones before it, by RTP timestamp.
#[derive(Default)]
pub(super) struct GapTracker {
    /// Timestamp the next packet should have.
    expected: Option<u32>,
    /// Samples per packet, as last decoded.
    frame_len: usize,
}

#[derive(Debug, PartialEq)]
pub(super) enum Arrival {
    /// Behind what was played: drop it.
    Late,
    /// Next in line, after `lost` missing packets of `frame_len` samples.
    InOrder { lost: u32, frame_len: usize },
}

impl GapTracker {
    pub(super) fn arrived(&mut self, ts: u32) -> Arrival {
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

    pub(super) fn decoded(&mut self, samples: usize) {
        self.frame_len = samples;
        self.expected = self.expected.map(|e| e.wrapping_add(samples as u32));
    }
}
