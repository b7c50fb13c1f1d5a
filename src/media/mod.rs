//! Media: sources (tone, microphone, test pattern, files, cameras, the screen), encoders and
//! decoders on their own threads, the speaker and the recorder, joined to the network by bounded
//! queues; what falls behind is dropped and counted in [`Counters`].
//!
//! Data flow for sending: source thread → (bounded, drop when full) → encoder thread →
//! (bounded, drop when full) → [`EncodedFrame`]s for the call. For receiving: the call hands
//! [`ReceivedFrame`]s to a bounded queue → decoder thread → speaker (through a jitter buffer) and
//! recorder (bounded queue → recorder thread).

pub mod audio;
pub mod choice;
pub mod controls;
pub mod counting;
pub mod devices;
pub mod input;
pub mod record;
pub mod shared;
mod shared_tone;
pub mod timing;
pub mod video;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::exit::{Error, Result};

/// FFmpeg's one-time set-up (formats, devices, quiet logs), shared by every call in the
/// process; safe to call again.
pub(crate) fn init_ffmpeg() -> std::result::Result<(), String> {
    static DONE: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    DONE.get_or_init(|| {
        ffmpeg_next::init().map_err(|e| format!("cannot initialise FFmpeg: {e}"))?;
        ffmpeg_next::device::register_all();
        ffmpeg_next::util::log::set_level(ffmpeg_next::util::log::Level::Error);
        Ok(())
    })
    .clone()
}

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
    /// Video: the codec it is in (the encoder can change codec when negotiation asks).
    pub codec: Option<VideoCodec>,
    /// When the raw frame was captured.
    pub captured: Instant,
}

/// One encoded frame received from the network (an Opus packet, a whole VP8 frame).
#[derive(Debug, Clone)]
pub struct ReceivedFrame {
    pub data: Bytes,
    /// Video: the codec the frame is in.
    pub codec: Option<VideoCodec>,
    pub rtp_timestamp: u32,
    pub arrived: Instant,
    /// When the other side captured it, µs since the Unix epoch on its clock (from the
    /// `abs-capture-time` header extension; `None` when it sends none).
    pub captured_us: Option<i64>,
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
    /// Audio only: milliseconds of lost packets rebuilt from the next packet's in-band FEC.
    pub fec_recovered_ms: AtomicU64,
    /// Audio only: milliseconds of lost packets filled by the decoder's concealment (PLC).
    pub concealed_ms: AtomicU64,
    pub decode_errors: AtomicU64,
    /// Video frames not encoded because the encoder was over its target bitrate.
    pub rate_skipped: AtomicU64,
    pub plis_sent: AtomicU64,
    pub plis_received: AtomicU64,
    pub width: AtomicU32,
    pub height: AtomicU32,
    /// When the first frame was decoded.
    pub first_decoded: OnceLock<Instant>,
    /// Packets written to the recording.
    pub recorded: AtomicU64,
    /// Packets the recorder could not keep up with.
    pub record_dropped: AtomicU64,
    /// Sum of encode times, in microseconds (with `encoded`, the mean).
    pub encode_us_total: AtomicU64,
    /// Every encode time in microseconds, for percentiles (capped).
    pub encode_times: Mutex<Vec<u32>>,
    /// Audio: level of the last frame sent / played, in tenths of dBFS (-1000 = silence).
    pub level_sent: AtomicI32,
    pub level_received: AtomicI32,
    /// Audio: the speaker had nothing to play (jitter buffer empty).
    pub underruns: AtomicU64,
    /// Audio: packets whose arrival pushed older audio out of a full jitter buffer.
    pub late: AtomicU64,
    /// Audio: milliseconds waiting in the jitter buffer.
    pub buffer_ms: AtomicU64,
    /// Audio: the depth the jitter buffer aims at, ms (grows with the measured jitter).
    pub buffer_target_ms: AtomicU64,
    /// Video: frames the other side sent (from RTP timestamps, see
    /// [`timing::FrameCount`]), and that count when the first frame was decoded.
    pub frames_expected: AtomicU64,
    pub expected_before_first: AtomicU64,
    /// Video: freezes between decoded frames, and their total length in ms.
    pub freezes: AtomicU64,
    pub freeze_ms: AtomicU64,
    /// Capture-to-decode ages of what was decoded.
    pub latency: Mutex<timing::Latencies>,
}

/// Encode times kept for percentiles: a 30 fps call for an hour.
const ENCODE_TIMES_MAX: usize = 108_000;

impl KindCounters {
    pub fn get(v: &AtomicU64) -> u64 {
        v.load(Ordering::Relaxed)
    }

    pub(crate) fn encode_time(&self, d: Duration) {
        let us = d.as_micros().min(u128::from(u32::MAX)) as u32;
        self.encode_us_total
            .fetch_add(u64::from(us), Ordering::Relaxed);
        let mut times = self.encode_times.lock().unwrap_or_else(|p| p.into_inner());
        if times.len() < ENCODE_TIMES_MAX {
            times.push(us);
        }
    }

    /// Encode time percentile `p` (0-100) in ms.
    /// A video frame was decoded (or, without decoding, checked) now: the first one fixes how
    /// many frames came before it (they do not count against it), a long gap before it is a
    /// freeze, and its age is taken.
    pub(crate) fn video_frame_done(
        &self,
        captured_us: Option<i64>,
        clock: &timing::ClockOffset,
        freezes: &mut timing::FreezeDetector,
    ) {
        let now = Instant::now();
        if self.first_decoded.set(now).is_ok() {
            let before = self
                .frames_expected
                .load(Ordering::Relaxed)
                .saturating_sub(1);
            self.expected_before_first.store(before, Ordering::Relaxed);
        }
        if let Some(gap) = freezes.frame(now) {
            self.freezes.fetch_add(1, Ordering::Relaxed);
            self.freeze_ms
                .fetch_add(gap.as_millis() as u64, Ordering::Relaxed);
        }
        self.decoded_at(captured_us, clock);
        self.decoded.fetch_add(1, Ordering::Relaxed);
    }

    /// A frame captured at `captured_us` (the other side's clock) was decoded now.
    pub fn decoded_at(&self, captured_us: Option<i64>, clock: &timing::ClockOffset) {
        if let Some(c) = captured_us {
            let age = timing::unix_us_now() - (c + clock.offset_us());
            self.latency
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(age);
        }
    }

    pub fn encode_ms_percentile(&self, p: f64) -> Option<f64> {
        let mut times = self
            .encode_times
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if times.is_empty() {
            return None;
        }
        times.sort_unstable();
        let i = ((p / 100.0) * (times.len() - 1) as f64).round() as usize;
        Some(f64::from(times[i.min(times.len() - 1)]) / 1000.0)
    }
}

/// Silence, in tenths of dBFS.
pub const LEVEL_SILENT: i32 = -1000;

/// RMS level of 16-bit samples in tenths of dBFS (`LEVEL_SILENT` for digital silence).
pub fn level_dbfs_tenths(samples: &[i16]) -> i32 {
    if samples.is_empty() {
        return LEVEL_SILENT;
    }
    let sum: f64 = samples
        .iter()
        .map(|&s| (f64::from(s) / 32768.0).powi(2))
        .sum();
    let rms = (sum / samples.len() as f64).sqrt();
    if rms <= 1e-5 {
        LEVEL_SILENT
    } else {
        ((20.0 * rms.log10()) * 10.0)
            .round()
            .max(f64::from(LEVEL_SILENT)) as i32
    }
}

/// A gate media threads block on until it opens, once: when the call connects (or when media
/// stops, so a thread waiting for the call is let go).
#[derive(Default)]
pub struct Latch {
    open: Mutex<bool>,
    cv: std::sync::Condvar,
    /// Run once when it opens (a thread that waits on something else is told so).
    hooks: Mutex<Vec<Box<dyn FnOnce() + Send>>>,
}

impl std::fmt::Debug for Latch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Latch")
            .field("open", &self.is_open())
            .finish()
    }
}

impl Latch {
    /// Open it (for good), wake every thread waiting on it and run the hooks.
    pub fn open(&self) {
        *self.open.lock().unwrap_or_else(|p| p.into_inner()) = true;
        self.cv.notify_all();
        let hooks = std::mem::take(&mut *self.hooks.lock().unwrap_or_else(|p| p.into_inner()));
        for hook in hooks {
            hook();
        }
    }

    /// Block until it is open.
    pub fn wait(&self) {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        while !*open {
            open = self.cv.wait(open).unwrap_or_else(|p| p.into_inner());
        }
    }

    pub fn is_open(&self) -> bool {
        *self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Run `hook` when it opens (at once if it is open); it is dropped after running, so
    /// what it holds (a queue's sender) does not outlive the opening.
    pub fn on_open(&self, hook: impl FnOnce() + Send + 'static) {
        let open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if *open {
            drop(open);
            hook();
            return;
        }
        // Registered under the `open` lock, so an `open()` cannot slip in between.
        self.hooks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Box::new(hook));
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
    /// Opens when media first goes live (files start then) or when media stops.
    pub started: Latch,
    /// Files: where the source is and how long it is, in ms (0 when unknown).
    pub source_position_ms: AtomicU64,
    pub source_length_ms: AtomicU64,
    /// Why the recording failed, if it did.
    pub record_error: Mutex<Option<String>>,
    /// Data channel: pings this peer sent and their echoes, pings it echoed for the other.
    pub data_sent: AtomicU64,
    pub data_echoes: AtomicU64,
    pub data_echoed_for_peer: AtomicU64,
    /// The rate controller's target for the video encoder, bit/s (0: `--video-bitrate`).
    pub video_target_bps: AtomicU64,
    /// The link's round-trip time as last measured, µs (0: not yet).
    pub rtt_us: AtomicU64,
    /// The loss the Opus encoder budgets its in-band FEC for, % (see `audio::budget`).
    pub audio_fec_loss_pct: AtomicU32,
    /// The other side's clock against ours, for latencies.
    pub clock: timing::ClockOffset,
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
    /// A capture device through cpal (`None`: the default input).
    Mic {
        device: Option<String>,
    },
    /// The audio of a media file, paced by its timestamps.
    File {
        path: PathBuf,
        looping: bool,
    },
    None,
}

impl AudioSource {
    /// How the summary names it.
    pub fn label(&self) -> String {
        match self {
            AudioSource::Tone { .. } => "tone".into(),
            AudioSource::Mic { device: None } => "mic".into(),
            AudioSource::Mic { device: Some(d) } => format!("mic:{d}"),
            AudioSource::File { path, .. } => format!("file:{}", path.display()),
            AudioSource::None => "none".into(),
        }
    }
}

/// What to send as video.
#[derive(Debug, Clone, PartialEq)]
pub enum VideoSource {
    /// FFmpeg's moving `testsrc` pattern.
    TestSrc,
    /// A file, camera, screen or other FFmpeg input.
    Input(input::InputSpec),
    None,
}

/// The video codecs rtccall sends and receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VideoCodec {
    Vp8,
    Vp9,
    H264,
}

impl VideoCodec {
    /// Every codec rtccall sends and decodes, in its default order of preference.
    pub const ALL: [VideoCodec; 3] = [VideoCodec::Vp8, VideoCodec::Vp9, VideoCodec::H264];

    pub fn label(self) -> &'static str {
        match self {
            VideoCodec::Vp8 => "VP8",
            VideoCodec::Vp9 => "VP9",
            VideoCodec::H264 => "H.264",
        }
    }

    /// The value of `--video-codec` that names it.
    pub fn flag(self) -> &'static str {
        match self {
            VideoCodec::Vp8 => "vp8",
            VideoCodec::Vp9 => "vp9",
            VideoCodec::H264 => "h264",
        }
    }

    pub(crate) fn encoder_name(self) -> &'static str {
        match self {
            VideoCodec::Vp8 => "libvpx",
            VideoCodec::Vp9 => "libvpx-vp9",
            VideoCodec::H264 => "libx264",
        }
    }

    pub(crate) fn ffmpeg_id(self) -> ffmpeg_next::codec::Id {
        match self {
            VideoCodec::Vp8 => ffmpeg_next::codec::Id::VP8,
            VideoCodec::Vp9 => ffmpeg_next::codec::Id::VP9,
            VideoCodec::H264 => ffmpeg_next::codec::Id::H264,
        }
    }
}

/// The codec the video encoder produces, shared between the call (which sets it when the other
/// side takes another codec than ours) and the encoder thread (which reopens itself in it).
#[derive(Debug, Clone)]
pub struct CodecChoice(Arc<std::sync::atomic::AtomicU8>);

impl CodecChoice {
    pub fn new(codec: VideoCodec) -> CodecChoice {
        CodecChoice(Arc::new(std::sync::atomic::AtomicU8::new(codec as u8)))
    }

    pub fn get(&self) -> VideoCodec {
        let i = usize::from(self.0.load(Ordering::SeqCst));
        VideoCodec::ALL
            .into_iter()
            .find(|c| *c as usize == i)
            .unwrap_or(VideoCodec::Vp8)
    }

    pub fn set(&self, codec: VideoCodec) {
        self.0.store(codec as u8, Ordering::SeqCst);
    }
}

/// Where received audio goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Speaker {
    /// Not played.
    Off,
    /// The default output, or the named one.
    On(Option<String>),
}

/// How to encode video.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoFormat {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub bitrate_bps: u64,
    pub codec: VideoCodec,
}

/// The media side of a call.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaConfig {
    pub audio: AudioSource,
    pub video: VideoSource,
    pub format: VideoFormat,
    pub speaker: Speaker,
    /// Record what arrives into this Matroska/WebM file.
    pub record: Option<PathBuf>,
    /// Take the test pattern and the tone from these process-wide shared encoders instead of
    /// encoding them for this call alone (see [`shared`]).
    pub shared: Option<shared::Encoders>,
    /// Decode what arrives (the speaker, the recording and the decoded-frame counts need it);
    /// `false` (`rtccall load`'s calls but one in `--decode`) checks and counts frames
    /// without decoding them (see [`counting`]).
    pub decode: bool,
    /// What the person switches during the call, and the pictures a screen shows.
    pub controls: controls::Controls,
}

/// How a finite source (a file) ended: the driver hangs up when it does.
#[derive(Debug, Clone, Default)]
pub struct SourceEnd {
    token: CancellationToken,
    error: Arc<Mutex<Option<String>>>,
}

impl SourceEnd {
    pub(crate) fn finished(&self) {
        self.token.cancel();
    }

    pub(crate) fn failed(&self, e: String) {
        tracing::error!("{e}");
        *self.error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
        self.token.cancel();
    }

    /// Wait until a source ends; the error, if it failed.
    pub async fn wait(&self) -> Option<String> {
        self.token.cancelled().await;
        self.error.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// The queues the call uses, plus the threads behind them.
pub struct Media {
    pub audio_out: Option<mpsc::Receiver<EncodedFrame>>,
    pub video_out: Option<mpsc::Receiver<EncodedFrame>>,
    pub audio_in: std::sync::mpsc::SyncSender<ReceivedFrame>,
    pub video_in: std::sync::mpsc::SyncSender<ReceivedFrame>,
    pub force_keyframe: Arc<AtomicBool>,
    pub want_keyframe: Arc<AtomicBool>,
    /// The codec video is encoded in.
    pub video_codec: CodecChoice,
    /// Fires when a file source reaches its end (or a source fails).
    pub source_end: SourceEnd,
    stop: Arc<AtomicBool>,
    counters: Arc<Counters>,
    threads: Vec<JoinHandle<()>>,
    /// Joined last, so that everything the decoders hand it is written.
    recorder: Option<JoinHandle<()>>,
}

/// Raw frames queued between a source and its encoder.
pub const RAW_QUEUE: usize = 3;
/// Before the call first connects, the encoders encode one frame this often (the first at
/// once) and let the others go: nobody receives them, and the sending side holds only the
/// newest to send the moment the call connects.
pub(crate) const ENCODE_WHILE_WAITING: Duration = Duration::from_millis(500);

/// An encoder's pace before the call first goes live: one frame in [`ENCODE_WHILE_WAITING`]
/// (the first at once), every frame from the first live one on.
#[derive(Debug, Default)]
pub(crate) struct WaitingPace {
    went_live: bool,
    last: Option<Instant>,
}

impl WaitingPace {
    /// Whether to encode this frame; `live`: the call is live (for good once it was).
    pub(crate) fn encode(&mut self, live: bool) -> bool {
        self.went_live |= live;
        if self.went_live {
            return true;
        }
        if self
            .last
            .is_some_and(|t| t.elapsed() < ENCODE_WHILE_WAITING)
        {
            return false;
        }
        self.last = Some(Instant::now());
        true
    }
}

/// Test support: wait for `captures` frames of `kind` while the call is not live, and check
/// that the encoder kept to [`WaitingPace`]; the frames encoded by then.
#[cfg(test)]
pub(crate) fn assert_waiting_encodes_little(kind: &KindCounters, captures: u64) -> u64 {
    let waited = Instant::now();
    while kind.captured.load(Ordering::Relaxed) < captures {
        assert!(
            waited.elapsed() < Duration::from_secs(20),
            "frames are captured"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let before = kind.encoded.load(Ordering::Relaxed);
    let waited_ms = waited.elapsed().as_millis() as u64;
    assert!(before >= 1, "the first frame is encoded at once");
    assert!(
        before <= 2 + waited_ms / ENCODE_WHILE_WAITING.as_millis() as u64,
        "{before} frames encoded in {waited_ms} ms of waiting"
    );
    before
}
/// Encoded frames queued between an encoder and the network.
pub const ENCODED_QUEUE: usize = 16;
/// Received frames queued between the network and a decoder.
pub const RECEIVED_QUEUE: usize = 64;

impl Drop for Media {
    /// Threads are told to stop even when the call drops its media without joining it.
    fn drop(&mut self) {
        self.stop();
    }
}

impl Media {
    /// Start sources, encoders and decoders. Fails with a media error (exit 5) when an encoder
    /// or source cannot be opened.
    pub fn start(config: &MediaConfig, counters: Arc<Counters>) -> Result<Media> {
        let stop = Arc::new(AtomicBool::new(false));
        let force_keyframe = Arc::new(AtomicBool::new(true));
        let want_keyframe = Arc::new(AtomicBool::new(false));
        let video_codec = CodecChoice::new(config.format.codec);
        let source_end = SourceEnd::default();
        let mut threads = Vec::new();
        // The recorder stops only when the decoders are gone (its queue disconnects).
        let (recorder_tx, recorder) = match &config.record {
            Some(path) => {
                let (tx, t) =
                    record::start(path, counters.clone(), Arc::new(AtomicBool::new(false)))?;
                (Some(tx), Some(t))
            }
            None => (None, None),
        };
        let mut media = Media {
            audio_out: None,
            video_out: None,
            audio_in: std::sync::mpsc::sync_channel(1).0,
            video_in: std::sync::mpsc::sync_channel(1).0,
            force_keyframe: force_keyframe.clone(),
            want_keyframe: want_keyframe.clone(),
            video_codec: video_codec.clone(),
            source_end: source_end.clone(),
            stop: stop.clone(),
            counters: counters.clone(),
            threads: Vec::new(),
            recorder,
        };
        let started = (|| -> Result<()> {
            media.audio_out = match (&config.audio, &config.shared) {
                (AudioSource::Tone { frequency_hz }, Some(encoders)) => {
                    Some(encoders.subscribe_tone(*frequency_hz, counters.clone(), stop.clone())?)
                }
                (source, _) => audio::start_source(
                    source,
                    counters.clone(),
                    stop.clone(),
                    source_end.clone(),
                    config.controls.clone(),
                    &mut threads,
                )?,
            };
            media.video_out = match (&config.video, &config.shared) {
                (VideoSource::None, _) => None,
                (source, Some(encoders)) if shared::Encoders::can_share(source) => {
                    Some(encoders.subscribe(
                        &config.format,
                        video_codec.clone(),
                        force_keyframe.clone(),
                        counters.clone(),
                        stop.clone(),
                    )?)
                }
                (source, _) => {
                    let (rx, mut t) = video::start(
                        source,
                        &config.format,
                        video_codec.clone(),
                        counters.clone(),
                        force_keyframe.clone(),
                        stop.clone(),
                        source_end.clone(),
                        config.controls.clone(),
                    )?;
                    threads.append(&mut t);
                    Some(rx)
                }
            };
            if !config.decode {
                let (tx, t) =
                    counting::start(counters.clone(), want_keyframe.clone(), stop.clone())?;
                threads.push(t);
                media.audio_in = tx.clone();
                media.video_in = tx;
                return Ok(());
            }
            let (audio_in, mut t) = audio::start_receiver(
                &config.speaker,
                counters.clone(),
                recorder_tx.clone(),
                stop.clone(),
                config.controls.clone(),
            )?;
            threads.append(&mut t);
            media.audio_in = audio_in;
            let (video_in, t) = video::start_decoder(
                counters.clone(),
                want_keyframe.clone(),
                recorder_tx.clone(),
                stop.clone(),
                config.controls.clone(),
            )?;
            threads.push(t);
            media.video_in = video_in;
            Ok(())
        })();
        media.threads = threads;
        match started {
            Ok(()) => Ok(media),
            Err(e) => {
                media.join();
                Err(e)
            }
        }
    }

    /// Tell every media thread to stop.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.counters.started.open();
    }

    /// Stop every thread and wait for them; the recording is finalised last.
    pub fn join(mut self) {
        self.stop();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        // The decoders' queues to the recorder are gone now; drop ours so it sees the end.
        let recorder = self.recorder.take();
        drop(self);
        if let Some(t) = recorder {
            let _ = t.join();
        }
    }
}

/// Start a named thread, turning a spawn failure into a media error.
pub(crate) fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name(name.to_string())
        .spawn(f)
        .map_err(|e| Error::media(format!("cannot start the {name} thread: {e}")))
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
            Err(Error::media(e))
        }
        Err(_) => Err(Error::media(format!(
            "the {name} thread died while starting"
        ))),
    }
}

/// Next received item; `None` once the sender is gone or `stop` is set (checked before every
/// item and every 100 ms while waiting, so a busy queue cannot keep a thread from stopping).
pub(crate) fn recv_until_stopped<T>(
    rx: &std::sync::mpsc::Receiver<T>,
    stop: &AtomicBool,
) -> Option<T> {
    use std::sync::mpsc::RecvTimeoutError;
    loop {
        if stop.load(Ordering::Relaxed) {
            return None;
        }
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(v) => return Some(v),
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return None,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_latch_runs_its_hooks_once_and_lets_them_go() {
        let latch = Latch::default();
        let (tx, rx) = std::sync::mpsc::channel::<u32>();
        let early = tx.clone();
        latch.on_open(move || early.send(1).unwrap());
        assert!(
            rx.try_recv().is_err(),
            "a hook runs only when the latch opens"
        );
        latch.open();
        latch.open();
        assert_eq!(rx.try_recv(), Ok(1));
        assert!(rx.try_recv().is_err(), "a hook runs once");
        // Registered once open: at once.
        latch.on_open(move || tx.send(2).unwrap());
        assert_eq!(rx.try_recv(), Ok(2));
        // Every sender went with its hook: nothing the latch keeps holds the queue open.
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(5)),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected)
        );
        latch.wait();
    }
}
