//! One tone and one Opus encoder that every call of a process sending a tone can share
//! (`rtccall load`): each 20 ms packet is encoded once and handed to every subscribed call
//! through its own bounded queue; the thread stops when its last call is gone.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::mpsc;

use super::audio::{FRAME_MS, FRAME_SAMPLES, SAMPLE_RATE};
use super::{Counters, ENCODED_QUEUE, EncodedFrame, level_dbfs_tenths, pace, spawn_checked};
use crate::exit::Result;

struct Subscriber {
    tx: mpsc::Sender<EncodedFrame>,
    counters: Arc<Counters>,
    stop: Arc<AtomicBool>,
}

/// The shared tone of a process (one frequency: the first subscriber's).
#[derive(Clone, Default)]
pub(crate) struct SharedTone {
    /// The subscribers of the running thread; `None` when none runs.
    running: Arc<Mutex<Option<Vec<Subscriber>>>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl SharedTone {
    /// Whether the thread runs.
    pub(crate) fn running(&self) -> bool {
        lock(&self.running).is_some()
    }

    /// Subscribe a call: its Opus packets arrive on the returned queue.
    pub(crate) fn subscribe(
        &self,
        frequency_hz: f64,
        counters: Arc<Counters>,
        stop: Arc<AtomicBool>,
    ) -> Result<mpsc::Receiver<EncodedFrame>> {
        let (tx, rx) = mpsc::channel(ENCODED_QUEUE);
        let sub = Subscriber { tx, counters, stop };
        let mut running = lock(&self.running);
        if let Some(subs) = running.as_mut() {
            subs.push(sub);
            return Ok(rx);
        }
        *running = Some(vec![sub]);
        drop(running);
        let state = self.running.clone();
        // One encoder for every call of the process: it cannot follow each call's reports,
        // so it budgets FEC for 10 % loss throughout.
        let started = spawn_checked(
            "shared-tone",
            || super::audio::new_encoder(10),
            move |enc| run(enc, frequency_hz, &state),
        );
        if let Err(e) = started {
            *lock(&self.running) = None;
            return Err(e);
        }
        Ok(rx)
    }
}

/// Make and encode the tone, paced in real time, until no subscriber is left.
fn run(mut enc: opus::Encoder, frequency_hz: f64, state: &Mutex<Option<Vec<Subscriber>>>) {
    let step = 2.0 * std::f64::consts::PI * frequency_hz / f64::from(SAMPLE_RATE);
    let mut phase = 0.0f64;
    let mut out = vec![0u8; 4000];
    let mut samples = vec![0i16; FRAME_SAMPLES];
    let start = Instant::now();
    let never = AtomicBool::new(false);
    let mut n: u64 = 0;
    loop {
        for s in samples.iter_mut() {
            *s = (phase.sin() * 0.3 * f64::from(i16::MAX)) as i16;
            phase = (phase + step) % (2.0 * std::f64::consts::PI);
        }
        let captured = Instant::now();
        let level = level_dbfs_tenths(&samples);
        let encoded = enc.encode(&samples, &mut out);
        let took = captured.elapsed();
        {
            let mut guard = lock(state);
            let Some(subs) = guard.as_mut() else { return };
            subs.retain(|s| !s.stop.load(Ordering::Relaxed) && !s.tx.is_closed());
            if subs.is_empty() {
                *guard = None;
                return;
            }
            if let Ok(len) = encoded {
                let frame = EncodedFrame {
                    data: Bytes::copy_from_slice(&out[..len]),
                    duration: Duration::from_millis(FRAME_MS),
                    codec: None,
                    keyframe: false,
                    captured,
                };
                for s in subs.iter() {
                    let a = &s.counters.audio;
                    a.captured.fetch_add(1, Ordering::Relaxed);
                    a.level_sent.store(level, Ordering::Relaxed);
                    match s.tx.try_send(frame.clone()) {
                        Ok(()) => {
                            a.encoded.fetch_add(1, Ordering::Relaxed);
                            a.encode_time(took);
                        }
                        Err(_) => s.counters.dropped(&a.encode_dropped),
                    }
                }
            }
        }
        n += 1;
        if !pace(start + Duration::from_millis(n * FRAME_MS), &never) {
            return;
        }
    }
}
