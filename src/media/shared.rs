//! Video encoders that several calls in one process share (`rtccall load`): one test-pattern
//! source and one encoder per codec, size, frame rate and bit rate, whose frames are fanned out
//! to every call that subscribed, each behind its own bounded queue.
//!
//! A shared encoder runs at the configured bit rate: a call's rate controller still measures
//! and reports its target, but cannot lower the rate of frames other calls receive. A keyframe
//! asked for by any call (a new subscriber, a picture-loss report, a dropped frame) is encoded
//! for all; a call whose queue was full skips frames until the next keyframe so that it never
//! sends a frame whose reference it lost. A call whose negotiated codec differs moves to the
//! encoder for that codec. An encoder stops when its last call is gone.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Instant;

use bytes::Bytes;
use ffmpeg_next as ffmpeg;
use tokio::sync::mpsc;

use super::video::{FrameSource, open_encoder};
use super::{
    CodecChoice, Counters, ENCODED_QUEUE, EncodedFrame, RAW_QUEUE, VideoCodec, VideoFormat,
    VideoSource, init_ffmpeg, spawn, spawn_checked,
};
use crate::exit::Result;

/// The least time between two keyframes made on request.
const KEY_GAP: std::time::Duration = std::time::Duration::from_millis(500);

/// What makes two calls' video the same stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    codec: VideoCodec,
    width: u32,
    height: u32,
    fps: u32,
    bitrate_bps: u64,
}

impl Key {
    fn format(self) -> VideoFormat {
        VideoFormat {
            width: self.width,
            height: self.height,
            fps: self.fps,
            bitrate_bps: self.bitrate_bps,
            codec: self.codec,
        }
    }
}

/// One call's subscription.
struct Subscriber {
    tx: mpsc::Sender<EncodedFrame>,
    /// The codec the call negotiated.
    codec: CodecChoice,
    /// Set by the call when it wants a keyframe (picture loss).
    keyframe: Arc<AtomicBool>,
    counters: Arc<Counters>,
    /// The call's media is stopping.
    stop: Arc<AtomicBool>,
    /// Frames are held back until a keyframe (new, or its queue overflowed).
    waiting_for_key: bool,
}

/// One running encoder and the calls it feeds.
struct Hub {
    subscribers: Mutex<Vec<Subscriber>>,
    /// Ask the encoder for a keyframe.
    keyframe: AtomicBool,
}

/// The shared encoders of a process. Cloning gives another handle to the same encoders.
#[derive(Clone, Default)]
pub struct Encoders {
    hubs: Arc<Mutex<HashMap<Key, Arc<Hub>>>>,
    /// The tone and its Opus encoder.
    tone: super::shared_tone::SharedTone,
}

impl std::fmt::Debug for Encoders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Encoders({} running)", self.running())
    }
}

impl PartialEq for Encoders {
    fn eq(&self, other: &Encoders) -> bool {
        Arc::ptr_eq(&self.hubs, &other.hubs)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Encoders {
    pub fn new() -> Encoders {
        Encoders::default()
    }

    /// How many encoders run now (video, and the tone's).
    pub fn running(&self) -> usize {
        lock(&self.hubs).len() + usize::from(self.tone.running())
    }

    /// Subscribe a call to the shared tone (started if none runs).
    pub(crate) fn subscribe_tone(
        &self,
        frequency_hz: f64,
        counters: Arc<Counters>,
        stop: Arc<AtomicBool>,
    ) -> Result<mpsc::Receiver<EncodedFrame>> {
        self.tone.subscribe(frequency_hz, counters, stop)
    }

    /// Whether `source` can come from a shared encoder (the test pattern: a file or a device
    /// plays for one call).
    pub fn can_share(source: &VideoSource) -> bool {
        matches!(source, VideoSource::TestSrc)
    }

    /// Subscribe a call to the encoder for `format` in the codec `codec` holds now, starting
    /// it if none runs; the call's frames arrive on the returned queue from the next keyframe.
    pub(crate) fn subscribe(
        &self,
        format: &VideoFormat,
        codec: CodecChoice,
        keyframe: Arc<AtomicBool>,
        counters: Arc<Counters>,
        stop: Arc<AtomicBool>,
    ) -> Result<mpsc::Receiver<EncodedFrame>> {
        let (tx, rx) = mpsc::channel(ENCODED_QUEUE);
        let key = Key {
            codec: codec.get(),
            width: format.width,
            height: format.height,
            fps: format.fps,
            bitrate_bps: format.bitrate_bps,
        };
        self.join(
            key,
            Subscriber {
                tx,
                codec,
                keyframe,
                counters,
                stop,
                waiting_for_key: true,
            },
        )?;
        Ok(rx)
    }

    /// Add a subscriber to the encoder for `key`, starting it if needed.
    fn join(&self, key: Key, sub: Subscriber) -> Result<()> {
        let mut hubs = lock(&self.hubs);
        if let Some(hub) = hubs.get(&key) {
            lock(&hub.subscribers).push(sub);
            hub.keyframe.store(true, Ordering::SeqCst);
            return Ok(());
        }
        let hub = Arc::new(Hub {
            subscribers: Mutex::new(vec![sub]),
            keyframe: AtomicBool::new(true),
        });
        start(key, hub.clone(), Arc::downgrade(&self.hubs))?;
        hubs.insert(key, hub);
        Ok(())
    }
}

/// Start the source and encoder threads of one shared encoder. They end when the encoder has
/// no subscriber left, removing it from `hubs` under the lock new subscribers take.
fn start(key: Key, hub: Arc<Hub>, hubs: Weak<Mutex<HashMap<Key, Arc<Hub>>>>) -> Result<()> {
    let format = key.format();
    let (raw_tx, raw_rx) = std::sync::mpsc::sync_channel::<ffmpeg::frame::Video>(RAW_QUEUE);
    let done = Arc::new(AtomicBool::new(false));
    let source_done = done.clone();
    let source_format = format.clone();
    spawn_checked(
        "shared-video-source",
        move || FrameSource::open(&VideoSource::TestSrc, &source_format),
        move |mut src| {
            while let Ok(Some((frame, _))) = src.next(&source_done) {
                if let Err(std::sync::mpsc::TrySendError::Disconnected(_)) = raw_tx.try_send(frame)
                {
                    break;
                }
            }
        },
    )?;
    let frame_duration = std::time::Duration::from_secs(1) / format.fps;
    let encoder = spawn("shared-video-encode", move || {
        let mut enc = match init_ffmpeg().and_then(|()| open_encoder(&format)) {
            Ok(e) => e,
            Err(e) => {
                tracing::error!("shared video encoder: {e}");
                done.store(true, Ordering::SeqCst);
                if let Some(hubs) = hubs.upgrade() {
                    lock(&hubs).remove(&key);
                }
                return;
            }
        };
        let mut packet = ffmpeg::Packet::empty();
        let mut pts = 0i64;
        let mut last_key: Option<Instant> = None;
        while let Ok(mut raw) = raw_rx.recv() {
            let began = Instant::now();
            let captured = began;
            // Keyframes asked for are coalesced: at most one per KEY_GAP for every call
            // (with hundreds of calls, someone always wants one; each costs every call).
            let key_asked = hub.keyframe.load(Ordering::SeqCst)
                || lock(&hub.subscribers)
                    .iter()
                    .any(|s| s.keyframe.load(Ordering::SeqCst));
            let key_wanted = key_asked && last_key.is_none_or(|t| t.elapsed() >= KEY_GAP);
            if key_wanted {
                hub.keyframe.store(false, Ordering::SeqCst);
                for s in lock(&hub.subscribers).iter() {
                    s.keyframe.store(false, Ordering::SeqCst);
                }
                last_key = Some(began);
            }
            raw.set_kind(if key_wanted {
                ffmpeg::picture::Type::I
            } else {
                ffmpeg::picture::Type::None
            });
            raw.set_pts(Some(pts));
            pts += 1;
            if let Err(e) = enc.send_frame(&raw) {
                tracing::warn!("shared video encode failed: {e}");
                continue;
            }
            while enc.receive_packet(&mut packet).is_ok() {
                let Some(data) = packet.data() else { continue };
                let frame = EncodedFrame {
                    data: Bytes::copy_from_slice(data),
                    duration: frame_duration,
                    keyframe: packet.is_key(),
                    codec: Some(key.codec),
                    captured,
                };
                hand_out(&hub, &frame, began, key, &hubs);
            }
            // The last subscriber gone: stop, unless one joined meanwhile (checked under the
            // lock `join` takes).
            if lock(&hub.subscribers).is_empty() {
                let Some(hubs) = hubs.upgrade() else { break };
                let mut hubs = lock(&hubs);
                if lock(&hub.subscribers).is_empty() {
                    hubs.remove(&key);
                    break;
                }
            }
        }
        done.store(true, Ordering::SeqCst);
    })?;
    drop(encoder);
    Ok(())
}

/// Give one encoded frame to every subscriber that can take it; drop the ones that are gone
/// and move the ones whose codec changed to that codec's encoder.
fn hand_out(
    hub: &Hub,
    frame: &EncodedFrame,
    began: Instant,
    key: Key,
    hubs: &Weak<Mutex<HashMap<Key, Arc<Hub>>>>,
) {
    let mut moving = Vec::new();
    lock(&hub.subscribers).retain_mut(|s| {
        if s.stop.load(Ordering::Relaxed) || s.tx.is_closed() {
            return false;
        }
        if s.codec.get() != key.codec {
            moving.push(Subscriber {
                tx: s.tx.clone(),
                codec: s.codec.clone(),
                keyframe: s.keyframe.clone(),
                counters: s.counters.clone(),
                stop: s.stop.clone(),
                waiting_for_key: true,
            });
            return false;
        }
        let video = &s.counters.video;
        video.captured.fetch_add(1, Ordering::Relaxed);
        if s.waiting_for_key && !frame.keyframe {
            return true;
        }
        match s.tx.try_send(frame.clone()) {
            Ok(()) => {
                s.waiting_for_key = false;
                video.encoded.fetch_add(1, Ordering::Relaxed);
                video.encode_time(began.elapsed());
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                s.counters.dropped(&video.encode_dropped);
                s.waiting_for_key = true;
                hub.keyframe.store(true, Ordering::SeqCst);
            }
            Err(mpsc::error::TrySendError::Closed(_)) => return false,
        }
        true
    });
    if moving.is_empty() {
        return;
    }
    let Some(hubs) = hubs.upgrade() else { return };
    let encoders = Encoders {
        hubs,
        tone: Default::default(),
    };
    for s in moving {
        let to = Key {
            codec: s.codec.get(),
            ..key
        };
        tracing::info!("shared video: a call moves to {}", to.codec.label());
        if let Err(e) = encoders.join(to, s) {
            tracing::warn!(
                "shared video: cannot start a {} encoder: {e}",
                to.codec.label()
            );
        }
    }
}
