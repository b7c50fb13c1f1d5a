//! FFmpeg inputs as video sources: files (paced by their timestamps, optionally looped), cameras
//! (v4l2), the screen (x11grab) and any other avdevice input, decoded and scaled to the size the
//! encoder wants.

use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use ffmpeg_next as ffmpeg;

use super::{VideoFormat, pace};

/// How far a device's timestamps may drift from the wall clock before pacing follows them.
const DEVICE_SLACK: Duration = Duration::from_millis(100);

/// An FFmpeg input to send as video.
#[derive(Debug, Clone, PartialEq)]
pub struct InputSpec {
    /// How to name the input in messages ("camera /dev/video0", "file clip.mp4").
    pub what: String,
    /// The avdevice input format (`v4l2`, `x11grab`, `lavfi`, ...); `None` lets FFmpeg probe.
    pub format: Option<String>,
    /// What FFmpeg opens: a path, a device node, a display, a filter graph.
    pub url: String,
    /// Options for the input (capture hints such as `video_size`, `framerate`).
    pub options: Vec<(String, String)>,
    /// A device (camera, screen): failures to open it are reported as an absent or busy device.
    pub device: bool,
    /// Start again at the end (files).
    pub looping: bool,
}

/// Find an avdevice input format by name (`v4l2` also matches `video4linux2,v4l2`).
fn find_device_format(name: &str) -> Option<ffmpeg::Format> {
    ffmpeg::device::input::video()
        .chain(ffmpeg::device::input::audio())
        .find(|f| f.name().split(',').any(|n| n == name))
}

/// Names of the avdevice video inputs this FFmpeg has.
pub fn device_formats() -> Vec<String> {
    ffmpeg::device::input::video()
        .map(|f| f.name().to_string())
        .collect()
}

fn describe_open_error(spec: &InputSpec, e: ffmpeg::Error) -> String {
    let errno = match e {
        ffmpeg::Error::Other { errno } => Some(errno),
        _ => None,
    };
    if spec.device {
        match errno {
            Some(2) => return format!("{} does not exist (no such device)", spec.what),
            Some(16) => return format!("{} is busy: another program is using it", spec.what),
            Some(13) => return format!("{}: permission denied", spec.what),
            Some(19) | Some(6) => return format!("{} is not a capture device", spec.what),
            _ => {}
        }
    } else if errno == Some(2) {
        return format!("{}: no such file", spec.what);
    }
    format!("cannot open {}: {e}", spec.what)
}

/// An open FFmpeg input with its video decoder.
pub(crate) struct VideoInput {
    spec: InputSpec,
    ictx: ffmpeg::format::context::Input,
    stream: usize,
    tick: f64,
    decoder: ffmpeg::decoder::Video,
    scaler: Option<(
        ffmpeg::software::scaling::Context,
        ffmpeg::format::Pixel,
        u32,
        u32,
    )>,
    width: u32,
    height: u32,
    frame_duration: Duration,
    /// Length of the input, when it has one (files).
    pub length: Option<Duration>,
    eof_sent: bool,
    start: Option<Instant>,
    first_pts: Option<f64>,
    last_pts: f64,
    loop_offset: f64,
}

fn open_input(spec: &InputSpec) -> Result<ffmpeg::format::context::Input, String> {
    let mut opts = ffmpeg::Dictionary::new();
    for (k, v) in &spec.options {
        opts.set(k, v);
    }
    match &spec.format {
        None => ffmpeg::format::input_with_dictionary(&spec.url, opts)
            .map_err(|e| describe_open_error(spec, e)),
        Some(name) => {
            let format = find_device_format(name).ok_or_else(|| {
                format!(
                    "FFmpeg has no input device {name:?} (it has: {})",
                    device_formats().join(", ")
                )
            })?;
            match ffmpeg::format::open_with(&spec.url, &format, opts) {
                Ok(ffmpeg::format::context::Context::Input(i)) => Ok(i),
                Ok(_) => Err(format!("{name} is not an input format")),
                Err(e) => Err(describe_open_error(spec, e)),
            }
        }
    }
}

impl VideoInput {
    pub fn open(spec: &InputSpec, format: &VideoFormat) -> Result<VideoInput, String> {
        let ictx = open_input(spec)?;
        let stream = ictx
            .streams()
            .best(ffmpeg::media::Type::Video)
            .ok_or_else(|| format!("{} has no video stream", spec.what))?;
        let index = stream.index();
        let tb = stream.time_base();
        let tick = if tb.denominator() != 0 {
            f64::from(tb.numerator()) / f64::from(tb.denominator())
        } else {
            1.0 / 90_000.0
        };
        let rate = stream.avg_frame_rate();
        let frame_duration = if rate.numerator() > 0 && rate.denominator() > 0 {
            Duration::from_secs_f64(f64::from(rate.denominator()) / f64::from(rate.numerator()))
        } else {
            Duration::from_secs_f64(1.0 / f64::from(format.fps))
        };
        let decoder = ffmpeg::codec::context::Context::from_parameters(stream.parameters())
            .and_then(|c| c.decoder().video())
            .map_err(|e| format!("cannot decode the video of {}: {e}", spec.what))?;
        // A progress bar needs an end: files that are not looped.
        let length = (ictx.duration() > 0 && !spec.device && !spec.looping)
            .then(|| Duration::from_micros(ictx.duration() as u64));
        Ok(VideoInput {
            spec: spec.clone(),
            ictx,
            stream: index,
            tick,
            decoder,
            scaler: None,
            width: format.width,
            height: format.height,
            frame_duration,
            length,
            eof_sent: false,
            start: None,
            first_pts: None,
            last_pts: 0.0,
            loop_offset: 0.0,
        })
    }

    pub fn is_device(&self) -> bool {
        self.spec.device
    }

    /// Where the input is, in seconds from its start (loops included).
    pub fn position(&self) -> f64 {
        self.loop_offset + self.last_pts - self.first_pts.unwrap_or(0.0)
    }

    /// Start the input again from the beginning (for `--loop`).
    fn rewind(&mut self) -> Result<(), String> {
        let again = VideoInput::open(
            &self.spec,
            &VideoFormat {
                width: self.width,
                height: self.height,
                fps: 30,
                bitrate_bps: 0,
                codec: super::VideoCodec::Vp8,
            },
        )?;
        self.loop_offset +=
            self.last_pts - self.first_pts.unwrap_or(0.0) + self.frame_duration.as_secs_f64();
        self.ictx = again.ictx;
        self.decoder = again.decoder;
        self.stream = again.stream;
        self.tick = again.tick;
        self.eof_sent = false;
        self.first_pts = None;
        self.last_pts = 0.0;
        Ok(())
    }

    fn scale(&mut self, decoded: &ffmpeg::frame::Video) -> Result<ffmpeg::frame::Video, String> {
        let (fmt, w, h) = (decoded.format(), decoded.width(), decoded.height());
        let stale = self
            .scaler
            .as_ref()
            .is_none_or(|(_, f, sw, sh)| (*f, *sw, *sh) != (fmt, w, h));
        if stale {
            let ctx = ffmpeg::software::scaling::Context::get(
                fmt,
                w,
                h,
                ffmpeg::format::Pixel::YUV420P,
                self.width,
                self.height,
                ffmpeg::software::scaling::Flags::BILINEAR,
            )
            .map_err(|e| format!("cannot scale {w}x{h} {fmt:?} video: {e}"))?;
            self.scaler = Some((ctx, fmt, w, h));
        }
        let mut out = ffmpeg::frame::Video::empty();
        if let Some((ctx, ..)) = self.scaler.as_mut() {
            ctx.run(decoded, &mut out)
                .map_err(|e| format!("scaling a frame of {} failed: {e}", self.spec.what))?;
        }
        Ok(out)
    }

    /// The next frame, in yuv420p at the encoder's size, once it is due (by the input's
    /// timestamps); `None` at the end of the input (unless looping) or when `stop` is set.
    pub fn next(
        &mut self,
        stop: &AtomicBool,
    ) -> Result<Option<(ffmpeg::frame::Video, Duration)>, String> {
        let mut decoded = ffmpeg::frame::Video::empty();
        loop {
            if self.decoder.receive_frame(&mut decoded).is_ok() {
                let pts = decoded
                    .timestamp()
                    .or(decoded.pts())
                    .map(|t| t as f64 * self.tick)
                    .unwrap_or(self.last_pts + self.frame_duration.as_secs_f64());
                let first = *self.first_pts.get_or_insert(pts);
                if pts < self.last_pts && self.last_pts > first {
                    continue; // out of order: skip rather than go back in time
                }
                self.last_pts = pts;
                let at = self.loop_offset + (pts - first).max(0.0);
                tracing::trace!("{}: frame at {at:.3} s", self.spec.what);
                let start = *self.start.get_or_insert_with(Instant::now);
                let due = start + Duration::from_secs_f64(at);
                let now = Instant::now();
                let off = if due > now { due - now } else { now - due };
                if self.spec.device && off > DEVICE_SLACK {
                    // A live device keeps its own time: when its clock and ours part (a stall,
                    // a jump in its timestamps), follow it instead of waiting or rushing.
                    self.start = now.checked_sub(Duration::from_secs_f64(at));
                } else if !pace(due, stop) {
                    return Ok(None);
                }
                let out = self.scale(&decoded)?;
                return Ok(Some((out, self.frame_duration)));
            }
            if self.eof_sent {
                if self.spec.looping && self.first_pts.is_some() {
                    self.rewind()?;
                    continue;
                }
                return Ok(None);
            }
            if stop.load(std::sync::atomic::Ordering::Relaxed) {
                return Ok(None);
            }
            self.eof_sent = feed_decoder(
                &mut self.ictx,
                self.stream,
                &mut self.decoder,
                &self.spec.what,
            )?;
        }
    }
}

/// Read the next packet of `ictx` and hand it to `decoder` if it belongs to `stream`. Returns
/// true at the end of the input (the decoder was told to drain).
pub(crate) fn feed_decoder(
    ictx: &mut ffmpeg::format::context::Input,
    stream: usize,
    decoder: &mut ffmpeg::decoder::Opened,
    what: &str,
) -> Result<bool, String> {
    let mut packet = ffmpeg::Packet::empty();
    match packet.read(ictx) {
        Ok(()) => {
            if packet.stream() == stream
                && let Err(e) = decoder.send_packet(&packet)
            {
                tracing::debug!("decoding {what} failed: {e}");
            }
            Ok(false)
        }
        Err(ffmpeg::Error::Eof) => {
            let _ = decoder.send_eof();
            Ok(true)
        }
        // A device with nothing ready yet.
        Err(ffmpeg::Error::Other { errno: 11 }) => {
            std::thread::sleep(Duration::from_millis(2));
            Ok(false)
        }
        Err(e) => Err(format!("reading {what} failed: {e}")),
    }
}
