//! Media: sources (tone, test pattern), encoders and decoders on their own threads, joined to the
//! network by bounded queues; what falls behind is dropped and counted in [`Counters`].
//!
//! Data flow for sending: source thread → (bounded, drop when full) → encoder thread →
//! (bounded, drop when full) → [`EncodedFrame`]s for the call. For receiving: the call hands
//! [`ReceivedFrame`]s to a bounded queue → decoder thread → sink (a counter today; speaker and
//! recorder plug in at the same seam).

pub mod audio;
pub mod video;

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::exit::{Error, Result};

/// Audio or video.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaKind {
    Audio,
    Video,
}

impl MediaKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Audio => "audio",
            MediaKind::Video => "video",
        }
    }
}

/// One encoded frame on its way to the network.
#[derive(Debug, Clone)]
pub struct EncodedFrame {
    pub data: Bytes,
    pub duration: Duration,
    pub keyframe: bool,
    /// When the raw frame was captured.
    pub captured: Instant,
}

/// One encoded frame received from the network (an Opus packet, a whole VP8 frame).
#[derive(Debug, Clone)]
pub struct ReceivedFrame {
    pub data: Bytes,
    pub rtp_timestamp: u32,
    pub arrived: Instant,
}

/// Counters of one media kind, shared by the media threads, the network side and the reports.
#[derive(Debug, Default)]
pub struct KindCounters {
    pub captured: AtomicU64,
    /// Raw frames dropped because the encoder was behind.
    pub capture_dropped: AtomicU64,
    pub encoded: AtomicU64,
    /// Encoded frames dropped because the network side was behind.
    pub encode_dropped: AtomicU64,
    /// Frames (audio: packets) handed to the RTP track.
    pub frames_sent: AtomicU64,
    pub keyframes_sent: AtomicU64,
    pub send_errors: AtomicU64,
    pub packets_received: AtomicU64,
    /// Received frames dropped because the decoder was behind.
    pub receive_dropped: AtomicU64,
    pub decoded: AtomicU64,
    /// Audio only: milliseconds decoded.
    pub decoded_ms: AtomicU64,
    pub decode_errors: AtomicU64,
    pub plis_sent: AtomicU64,
    pub plis_received: AtomicU64,
    pub width: AtomicU32,
    pub height: AtomicU32,
    /// When the first frame was decoded.
    pub first_decoded: OnceLock<Instant>,
}

impl KindCounters {
    pub fn get(v: &AtomicU64) -> u64 {
        v.load(Ordering::Relaxed)
    }
}

/// All media counters of a call.
#[derive(Debug, Default)]
pub struct Counters {
    pub audio: KindCounters,
    pub video: KindCounters,
    /// Media flows to the other peer. Frames that queue up before then (or after) are not
    /// counted as drops: nothing is behind, there is just nowhere to send them yet.
    pub live: AtomicBool,
}

impl Counters {
    /// Count a drop, if media is live.
    pub fn dropped(&self, counter: &AtomicU64) {
        if self.live.load(Ordering::Relaxed) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn of(&self, kind: MediaKind) -> &KindCounters {
        match kind {
            MediaKind::Audio => &self.audio,
            MediaKind::Video => &self.video,
        }
    }
}

/// What to send as audio.
#[derive(Debug, Clone, PartialEq)]
pub enum AudioSource {
    /// A sine tone, Opus-encoded at 48 kHz in 20 ms frames.
    Tone {
        frequency_hz: f64,
    },
    None,
}

/// What to send as video.
#[derive(Debug, Clone, PartialEq)]
pub enum VideoSource {
    /// FFmpeg's moving `testsrc` pattern.
    TestSrc,
    None,
}

/// How to encode video.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoFormat {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub bitrate_bps: u64,
}

/// The media side of a call.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaConfig {
    pub audio: AudioSource,
    pub video: VideoSource,
    pub format: VideoFormat,
}

/// The queues the call uses, plus the threads behind them.
pub struct Media {
    pub audio_out: Option<mpsc::Receiver<EncodedFrame>>,
    pub video_out: Option<mpsc::Receiver<EncodedFrame>>,
    pub audio_in: std::sync::mpsc::SyncSender<ReceivedFrame>,
    pub video_in: std::sync::mpsc::SyncSender<ReceivedFrame>,
    pub force_keyframe: Arc<AtomicBool>,
    pub want_keyframe: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

/// Raw frames queued between a source and its encoder.
pub const RAW_QUEUE: usize = 3;
/// Encoded frames queued between an encoder and the network.
pub const ENCODED_QUEUE: usize = 16;
/// Received frames queued between the network and a decoder.
pub const RECEIVED_QUEUE: usize = 64;

impl Media {
    /// Start sources, encoders and decoders. Fails with a media error (exit 5) when an encoder
    /// or source cannot be opened.
    pub fn start(config: &MediaConfig, counters: Arc<Counters>) -> Result<Media> {
        let stop = Arc::new(AtomicBool::new(false));
        let force_keyframe = Arc::new(AtomicBool::new(true));
        let want_keyframe = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();

        let audio_out = match &config.audio {
            AudioSource::None => None,
            AudioSource::Tone { frequency_hz } => {
                let (rx, mut t) = audio::start_tone(*frequency_hz, counters.clone(), stop.clone())?;
                threads.append(&mut t);
                Some(rx)
            }
        };
        let video_out = match &config.video {
            VideoSource::None => None,
            VideoSource::TestSrc => {
                let (rx, mut t) = video::start_testsrc(
                    &config.format,
                    counters.clone(),
                    force_keyframe.clone(),
                    stop.clone(),
                )?;
                threads.append(&mut t);
                Some(rx)
            }
        };
        let (audio_in, t) = audio::start_decoder(counters.clone(), stop.clone())?;
        threads.push(t);
        let (video_in, t) = video::start_decoder(counters, want_keyframe.clone(), stop.clone())?;
        threads.push(t);
        Ok(Media {
            audio_out,
            video_out,
            audio_in,
            video_in,
            force_keyframe,
            want_keyframe,
            stop,
            threads,
        })
    }

    /// Tell every media thread to stop.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    /// Stop every thread and wait for them.
    pub fn join(mut self) {
        self.stop();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Start a named thread, turning a spawn failure into a media error.
pub(crate) fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name(name.to_string())
        .spawn(f)
        .map_err(|e| Error::Media(format!("cannot start the {name} thread: {e}")))
}

/// Run `init` on a new thread and wait for it to report whether it could open its resources.
pub(crate) fn spawn_checked<S>(
    name: &str,
    init: impl FnOnce() -> std::result::Result<S, String> + Send + 'static,
    run: impl FnOnce(S) + Send + 'static,
) -> Result<JoinHandle<()>> {
    let (ready_tx, ready_rx) = std::sync::mpsc::sync_channel::<std::result::Result<(), String>>(1);
    let handle = spawn(name, move || match init() {
        Ok(state) => {
            let _ = ready_tx.send(Ok(()));
            run(state);
        }
        Err(e) => {
            let _ = ready_tx.send(Err(e));
        }
    })?;
    match ready_rx.recv() {
        Ok(Ok(())) => Ok(handle),
        Ok(Err(e)) => {
            let _ = handle.join();
            Err(Error::Media(e))
        }
        Err(_) => Err(Error::Media(format!(
            "the {name} thread died while starting"
        ))),
    }
}

/// Next received frame; `None` once the sender is gone or `stop` is set (checked every 100 ms).
pub(crate) fn recv_until_stopped<T>(
    rx: &std::sync::mpsc::Receiver<T>,
    stop: &AtomicBool,
) -> Option<T> {
    use std::sync::mpsc::RecvTimeoutError;
    loop {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(v) => return Some(v),
            Err(RecvTimeoutError::Timeout) if !stop.load(Ordering::Relaxed) => continue,
            Err(_) => return None,
        }
    }
}

/// Sleep until `deadline` unless `stop` is set first; returns false when stopped.
pub(crate) fn pace(deadline: Instant, stop: &AtomicBool) -> bool {
    loop {
        if stop.load(Ordering::Relaxed) {
            return false;
        }
        let now = Instant::now();
        if now >= deadline {
            return true;
        }
        std::thread::sleep((deadline - now).min(Duration::from_millis(50)));
    }
}
