//! The recorder: writes the received audio and video, as they arrived and without re-encoding,
//! into one Matroska or WebM file with timestamps from RTP, on its own thread, and finalises the
//! file when the call ends.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ffmpeg_next as ffmpeg;

use super::init_ffmpeg;
use super::{Counters, MediaKind, VideoCodec, spawn_checked};
use crate::exit::{Error, Result};

/// Packets queued between the decoders and the recorder.
pub const RECORD_QUEUE: usize = 256;
/// How long to wait for video before writing an audio-only file.
const VIDEO_GRACE: Duration = Duration::from_secs(3);
/// Packets held while waiting for the streams to be known.
const PENDING_MAX: usize = 1024;

/// One received packet for the recorder.
#[derive(Debug, Clone)]
pub struct RecordItem {
    pub kind: MediaKind,
    pub data: Bytes,
    pub rtp_timestamp: u32,
    pub arrived: Instant,
    /// Video: the packet holds a keyframe.
    pub keyframe: bool,
    /// Video: codec and decoded size.
    pub video: Option<(VideoCodec, u32, u32)>,
}

/// The container, by file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    Matroska,
    WebM,
}

impl Container {
    /// The container for `path`, or a usage error naming the extensions that work.
    pub fn for_path(path: &Path) -> std::result::Result<Container, String> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(|e| e.to_ascii_lowercase())
            .as_deref()
        {
            Some("mkv") | Some("mka") => Ok(Container::Matroska),
            Some("webm") => Ok(Container::WebM),
            _ => Err(format!(
                "cannot record to {}: the file name must end in .mkv or .webm",
                path.display()
            )),
        }
    }

    fn muxer(self) -> &'static str {
        match self {
            Container::Matroska => "matroska",
            Container::WebM => "webm",
        }
    }
}

/// Timeline of one stream: RTP timestamps unwrapped and placed on the recording's clock.
struct Track {
    index: usize,
    clock: f64,
    /// Milliseconds from the recording's start to this stream's first packet.
    offset_ms: i64,
    unwrapped_base: i64,
    last_rtp: u32,
    last_pts: Option<i64>,
    time_base: ffmpeg::Rational,
}

impl Track {
    fn pts_ms(&mut self, rtp: u32) -> i64 {
        // Unwrap the 32-bit RTP clock.
        let delta = rtp.wrapping_sub(self.last_rtp) as i32;
        self.unwrapped_base += i64::from(delta);
        self.last_rtp = rtp;
        self.offset_ms + (self.unwrapped_base as f64 * 1000.0 / self.clock).round() as i64
    }
}

struct Writer {
    path: PathBuf,
    container: Container,
    octx: Option<ffmpeg::format::context::Output>,
    start: Option<Instant>,
    audio: Option<Track>,
    video: Option<Track>,
    pending: Vec<RecordItem>,
    failed: bool,
    counters: Arc<Counters>,
}

fn opus_stream_context() -> std::result::Result<ffmpeg::codec::Context, String> {
    // An opened libopus encoder context carries the OpusHead the container needs.
    let codec = ffmpeg::encoder::find_by_name("libopus")
        .or_else(|| ffmpeg::encoder::find(ffmpeg::codec::Id::OPUS))
        .ok_or("FFmpeg has no Opus encoder to describe the recorded audio")?;
    let mut enc = ffmpeg::codec::context::Context::new_with_codec(codec)
        .encoder()
        .audio()
        .map_err(|e| format!("cannot describe the recorded audio: {e}"))?;
    enc.set_rate(48_000);
    enc.set_channel_layout(ffmpeg::ChannelLayout::STEREO);
    enc.set_format(ffmpeg::format::Sample::I16(
        ffmpeg::format::sample::Type::Packed,
    ));
    enc.set_time_base((1, 48_000));
    let opened = enc
        .open()
        .map_err(|e| format!("cannot describe the recorded audio: {e}"))?;
    Ok(opened.0.0.0)
}

/// H.264 in Matroska needs its SPS/PPS as codec private data: let FFmpeg's raw H.264 demuxer
/// read them from the first keyframe (Annex B, parameter sets in band) and describe the stream.
fn h264_stream_context(keyframe: &Bytes) -> std::result::Result<ffmpeg::codec::Context, String> {
    let io = ffmpeg::format::context::StreamIo::from_read(std::io::Cursor::new(keyframe.to_vec()))
        .map_err(|e| format!("cannot read the first H.264 keyframe: {e}"))?;
    let ictx = ffmpeg::format::input_from_stream(io, Some("keyframe.h264"), None)
        .map_err(|e| format!("cannot parse the first H.264 keyframe: {e}"))?;
    let stream = ictx
        .streams()
        .best(ffmpeg::media::Type::Video)
        .ok_or("the first H.264 keyframe holds no video")?;
    ffmpeg::codec::Context::from_parameters(stream.parameters())
        .map_err(|e| format!("cannot describe the recorded H.264 video: {e}"))
}

fn video_stream_context(
    codec: VideoCodec,
    width: u32,
    height: u32,
    keyframe: Option<&Bytes>,
) -> std::result::Result<ffmpeg::codec::Context, String> {
    if let (VideoCodec::H264, Some(key)) = (codec, keyframe) {
        return h264_stream_context(key);
    }
    let found = ffmpeg::encoder::find(codec.ffmpeg_id())
        .or_else(|| ffmpeg::encoder::find_by_name(codec.encoder_name()))
        .ok_or_else(|| format!("FFmpeg cannot describe {} video", codec.label()))?;
    let mut enc = ffmpeg::codec::context::Context::new_with_codec(found)
        .encoder()
        .video()
        .map_err(|e| format!("cannot describe the recorded video: {e}"))?;
    enc.set_width(width);
    enc.set_height(height);
    enc.set_format(ffmpeg::format::Pixel::YUV420P);
    enc.set_time_base((1, 1000));
    Ok(enc.0.0)
}

impl Writer {
    fn ready(&self, now: Instant) -> bool {
        let video_key = self
            .pending
            .iter()
            .any(|i| i.kind == MediaKind::Video && i.keyframe && i.video.is_some());
        let audio = self.pending.iter().any(|i| i.kind == MediaKind::Audio);
        let waited = self
            .pending
            .first()
            .is_some_and(|i| now.duration_since(i.arrived) >= VIDEO_GRACE);
        (video_key && audio) || waited || self.pending.len() >= PENDING_MAX
    }

    /// Open the file with the streams seen so far and write its header.
    fn open(&mut self) -> std::result::Result<(), String> {
        let key = self
            .pending
            .iter()
            .position(|i| i.kind == MediaKind::Video && i.keyframe && i.video.is_some());
        // Video before the first keyframe cannot be decoded: leave it out.
        let pending: Vec<RecordItem> = std::mem::take(&mut self.pending)
            .into_iter()
            .enumerate()
            .filter(|(n, i)| i.kind == MediaKind::Audio || key.is_some_and(|k| *n >= k))
            .map(|(_, i)| i)
            .collect();
        let has_audio = pending.iter().any(|i| i.kind == MediaKind::Audio);
        let video = key.and_then(|_| pending.iter().find_map(|i| i.video));
        if !has_audio && video.is_none() {
            return Ok(()); // nothing recordable yet
        }
        if let (Container::WebM, Some((VideoCodec::H264, ..))) = (self.container, video) {
            return Err(format!(
                "cannot record H.264 video into WebM ({}): use a .mkv file",
                self.path.display()
            ));
        }
        let mut octx = ffmpeg::format::output_as(&self.path, self.container.muxer())
            .map_err(|e| format!("cannot create {}: {e}", self.path.display()))?;
        let mut audio_index = None;
        let mut video_index = None;
        if let Some((codec, w, h)) = video {
            let keyframe = pending
                .iter()
                .find(|i| i.kind == MediaKind::Video && i.keyframe)
                .map(|i| &i.data);
            let ctx = video_stream_context(codec, w, h, keyframe)?;
            let mut st = octx
                .add_stream_with(&ctx)
                .map_err(|e| format!("cannot add the video stream: {e}"))?;
            st.set_time_base((1, 1000));
            video_index = Some(st.index());
        }
        if has_audio {
            let ctx = opus_stream_context()?;
            let mut st = octx
                .add_stream_with(&ctx)
                .map_err(|e| format!("cannot add the audio stream: {e}"))?;
            st.set_time_base((1, 1000));
            audio_index = Some(st.index());
        }
        octx.write_header()
            .map_err(|e| format!("cannot write the header of {}: {e}", self.path.display()))?;
        let start = pending
            .first()
            .map(|i| i.arrived)
            .unwrap_or_else(Instant::now);
        self.start = Some(start);
        let mk = |index: usize, clock: f64, first: Option<&RecordItem>| {
            let first = first?;
            Some(Track {
                index,
                clock,
                offset_ms: first.arrived.saturating_duration_since(start).as_millis() as i64,
                unwrapped_base: 0,
                last_rtp: first.rtp_timestamp,
                last_pts: None,
                time_base: octx
                    .stream(index)
                    .map(|s| s.time_base())
                    .unwrap_or((1, 1000).into()),
            })
        };
        self.audio = audio_index.and_then(|i| {
            mk(
                i,
                48_000.0,
                pending.iter().find(|p| p.kind == MediaKind::Audio),
            )
        });
        self.video = video_index.and_then(|i| {
            mk(
                i,
                90_000.0,
                pending.iter().find(|p| p.kind == MediaKind::Video),
            )
        });
        self.octx = Some(octx);
        for item in pending {
            self.write(item);
        }
        Ok(())
    }

    fn write(&mut self, item: RecordItem) {
        let Some(octx) = self.octx.as_mut() else {
            return;
        };
        let track = match item.kind {
            MediaKind::Audio => self.audio.as_mut(),
            MediaKind::Video => self.video.as_mut(),
        };
        let Some(track) = track else {
            return; // a stream that was not there when the file was started
        };
        let pts = track.pts_ms(item.rtp_timestamp);
        if track.last_pts.is_some_and(|last| pts <= last) {
            return; // late or repeated: the file's timeline only goes forward
        }
        track.last_pts = Some(pts);
        let mut packet = ffmpeg::Packet::copy(&item.data);
        packet.set_stream(track.index);
        packet.set_pts(Some(pts));
        packet.set_dts(Some(pts));
        if item.kind == MediaKind::Audio {
            let samples = opus::packet::get_nb_samples(&item.data, 48_000).unwrap_or(960);
            packet.set_duration((samples as i64 * 1000) / 48_000);
        }
        if item.keyframe {
            packet.set_flags(ffmpeg::codec::packet::Flags::KEY);
        }
        packet.rescale_ts((1, 1000), track.time_base);
        match packet.write_interleaved(octx) {
            Ok(()) => {
                self.counters
                    .of(item.kind)
                    .recorded
                    .fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => tracing::debug!("recording a packet failed: {e}"),
        }
    }

    fn push(&mut self, item: RecordItem) {
        if self.failed {
            return;
        }
        if self.octx.is_some() {
            self.write(item);
            return;
        }
        self.pending.push(item);
        if self.ready(Instant::now()) {
            self.start_file();
        }
    }

    fn start_file(&mut self) {
        if let Err(e) = self.open() {
            tracing::error!("{e}");
            *self
                .counters
                .record_error
                .lock()
                .unwrap_or_else(|p| p.into_inner()) = Some(e);
            self.failed = true;
        }
    }

    fn finish(&mut self) {
        if self.octx.is_none() && !self.pending.is_empty() && !self.failed {
            self.start_file();
        }
        if let Some(mut octx) = self.octx.take()
            && let Err(e) = octx.write_trailer()
        {
            tracing::error!("cannot finalise {}: {e}", self.path.display());
        }
    }
}

/// Start the recorder thread. Fails (exit 5) when the file cannot be created.
pub fn start(
    path: &Path,
    counters: Arc<Counters>,
    stop: Arc<AtomicBool>,
) -> Result<(std::sync::mpsc::SyncSender<RecordItem>, JoinHandle<()>)> {
    let container = Container::for_path(path).map_err(Error::usage)?;
    // Fail now, not when the first packet arrives, if the file cannot be written.
    std::fs::File::create(path)
        .map_err(|e| Error::media(format!("cannot create {}: {e}", path.display())))?;
    let (tx, rx) = std::sync::mpsc::sync_channel::<RecordItem>(RECORD_QUEUE);
    let path = path.to_path_buf();
    let handle = spawn_checked("recorder", init_ffmpeg, move |()| {
        let mut w = Writer {
            path,
            container,
            octx: None,
            start: None,
            audio: None,
            video: None,
            pending: Vec::new(),
            failed: false,
            counters,
        };
        loop {
            match rx.recv_timeout(Duration::from_millis(200)) {
                Ok(item) => w.push(item),
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    if w.octx.is_none() && !w.pending.is_empty() && w.ready(Instant::now()) {
                        w.start_file();
                    }
                }
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        // Whatever is still queued belongs in the file too.
        while let Ok(item) = rx.try_recv() {
            w.push(item);
        }
        w.finish();
    })?;
    Ok((tx, handle))
}
