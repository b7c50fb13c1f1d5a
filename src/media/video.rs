//! Video: the source thread (FFmpeg's `testsrc` pattern or an FFmpeg input), the encoder thread
//! (VP8/VP9 through libvpx, H.264 through libx264, all tuned for real time), and the decoder
//! thread that decodes what arrives and hands it on to the recorder.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ffmpeg_next as ffmpeg;
use tokio::sync::mpsc;

use super::controls::{Controls, Feeder};
use super::input::VideoInput;
use super::record::RecordItem;
use super::{
    CodecChoice, Counters, ENCODED_QUEUE, EncodedFrame, MediaKind, RAW_QUEUE, RECEIVED_QUEUE,
    ReceivedFrame, SourceEnd, VideoCodec, VideoFormat, VideoSource, WaitingPace, init_ffmpeg, pace,
    recv_until_stopped, spawn_checked,
};
use crate::exit::Result;

struct RawVideo {
    frame: ffmpeg::frame::Video,
    duration: Duration,
    captured: Instant,
}

/// A filter graph producing FFmpeg's moving `testsrc2` pattern in yuv420p (seven times cheaper
/// to draw than `testsrc`).
pub(crate) struct TestSrc {
    graph: ffmpeg::filter::Graph,
}

impl TestSrc {
    fn open(format: &VideoFormat) -> std::result::Result<TestSrc, String> {
        let mut graph = ffmpeg::filter::Graph::new();
        let sink = ffmpeg::filter::find("buffersink")
            .ok_or("FFmpeg has no buffersink filter (libavfilter incomplete)")?;
        graph
            .add(&sink, "out", "")
            .map_err(|e| format!("cannot create the video sink: {e}"))?;
        let spec = format!(
            "testsrc2=size={}x{}:rate={},format=yuv420p",
            format.width, format.height, format.fps
        );
        graph
            .input("out", 0)
            .and_then(|p| p.parse(&spec))
            .map_err(|e| format!("cannot build the test pattern ({spec}): {e}"))?;
        graph
            .validate()
            .map_err(|e| format!("cannot start the test pattern: {e}"))?;
        Ok(TestSrc { graph })
    }

    fn next(&mut self) -> std::result::Result<ffmpeg::frame::Video, String> {
        let mut frame = ffmpeg::frame::Video::empty();
        let mut ctx = self.graph.get("out").ok_or("test pattern sink vanished")?;
        ctx.sink()
            .frame(&mut frame)
            .map_err(|e| format!("test pattern produced no frame: {e}"))?;
        Ok(frame)
    }
}

/// What the video source thread reads frames from.
pub(crate) enum FrameSource {
    TestSrc(TestSrc, Duration, Option<Instant>, u32),
    Input(Box<VideoInput>),
}

impl FrameSource {
    pub(crate) fn open(
        source: &VideoSource,
        format: &VideoFormat,
    ) -> std::result::Result<FrameSource, String> {
        init_ffmpeg()?;
        match source {
            VideoSource::TestSrc | VideoSource::None => Ok(FrameSource::TestSrc(
                TestSrc::open(format)?,
                Duration::from_secs_f64(1.0 / format.fps as f64),
                None,
                0,
            )),
            VideoSource::Input(spec) => Ok(FrameSource::Input(Box::new(VideoInput::open(
                spec, format,
            )?))),
        }
    }

    /// The next frame once it is due, and how long it lasts; `None` at the end or on `stop`.
    pub(crate) fn next(
        &mut self,
        stop: &AtomicBool,
    ) -> std::result::Result<Option<(ffmpeg::frame::Video, Duration)>, String> {
        match self {
            FrameSource::TestSrc(src, frame_duration, start, n) => {
                let start = *start.get_or_insert_with(Instant::now);
                if !pace(start + *frame_duration * *n, stop) {
                    return Ok(None);
                }
                *n += 1;
                Ok(Some((src.next()?, *frame_duration)))
            }
            FrameSource::Input(input) => input.next(stop),
        }
    }

    /// Position and length of a file source.
    fn progress(&self) -> Option<(f64, Option<Duration>)> {
        match self {
            FrameSource::TestSrc(..) => None,
            FrameSource::Input(input) => Some((input.position(), input.length)),
        }
    }
}

pub(crate) fn open_encoder(
    format: &VideoFormat,
) -> std::result::Result<ffmpeg::encoder::Video, String> {
    let name = format.codec.encoder_name();
    let codec = ffmpeg::encoder::find_by_name(name).ok_or_else(|| {
        format!(
            "FFmpeg has no {name} encoder for {}: install an FFmpeg built with it (Debian's is)",
            format.codec.label()
        )
    })?;
    let ctx = ffmpeg::codec::context::Context::new_with_codec(codec);
    let mut enc = ctx
        .encoder()
        .video()
        .map_err(|e| format!("cannot create the {} encoder: {e}", format.codec.label()))?;
    enc.set_width(format.width);
    enc.set_height(format.height);
    enc.set_format(ffmpeg::format::Pixel::YUV420P);
    // libvpx tunes its real-time speed to the time base: keep it at the frame rate, and place
    // frames of other durations (files) at the nearest tick.
    enc.set_time_base((1, format.fps as i32));
    enc.set_frame_rate(Some((format.fps as i32, 1)));
    enc.set_bit_rate(format.bitrate_bps as usize);
    // A keyframe at least every 3 s; more on request (PLI) and at connect.
    enc.set_gop(format.fps * 3);
    enc.set_max_b_frames(0);
    let mut opts = ffmpeg::Dictionary::new();
    match format.codec {
        VideoCodec::Vp8 | VideoCodec::Vp9 => {
            // Measured at 720p30 (bench-media): a second libvpx thread costs about 50 % more CPU
            // for 3 ms less encode time; keep one up to 720p.
            let pixels = format.width * format.height;
            enc.set_threading(ffmpeg::codec::threading::Config {
                kind: ffmpeg::codec::threading::Type::Slice,
                count: if pixels > 1280 * 720 { 2 } else { 1 },
                ..Default::default()
            });
            opts.set("deadline", "realtime");
            // The fastest real-time speed from 720p up (a third less CPU than 8).
            opts.set("cpu-used", if pixels >= 1280 * 720 { "16" } else { "8" });
            opts.set("lag-in-frames", "0");
            opts.set("error-resilient", "1");
            // Skip encoding blocks that barely changed: measured at 720p30 about a quarter less
            // CPU per peer, with the same PSNR on the test clip (34.3 dB at 320x240, 1 Mbit/s).
            opts.set("static-thresh", "100");
            opts.set("max-intra-rate", "300");
            if format.codec == VideoCodec::Vp9 {
                opts.set("row-mt", "1");
                opts.set("tile-columns", "1");
            }
        }
        VideoCodec::H264 => {
            enc.set_threading(ffmpeg::codec::threading::Config {
                kind: ffmpeg::codec::threading::Type::Slice,
                count: 2,
                ..Default::default()
            });
            // Constrained baseline (what browsers accept as 42e01f), SPS/PPS in band before
            // every keyframe, no lookahead.
            opts.set("preset", "ultrafast");
            opts.set("tune", "zerolatency");
            opts.set("profile", "baseline");
            opts.set("level", "3.1");
            opts.set("x264-params", "repeat-headers=1:aud=0:sliced-threads=1");
        }
    }
    enc.open_with(opts).map_err(|e| {
        format!(
            "cannot open the {} encoder at {}x{}: {e}",
            format.codec.label(),
            format.width,
            format.height
        )
    })
}

/// Start the video source and its encoder.
// Each argument is a separate handle the two threads share with the call; bundling them would
// only rename them.
#[allow(clippy::too_many_arguments)]
pub fn start(
    source: &VideoSource,
    format: &VideoFormat,
    codec: CodecChoice,
    counters: Arc<Counters>,
    force_keyframe: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    end: SourceEnd,
    controls: Controls,
) -> Result<(mpsc::Receiver<EncodedFrame>, Vec<JoinHandle<()>>)> {
    // `None`: the call has gone live (or media stops), see the encoder's loop.
    let (raw_tx, raw_rx) = std::sync::mpsc::sync_channel::<Option<RawVideo>>(RAW_QUEUE);
    let (enc_tx, enc_rx) = mpsc::channel::<EncodedFrame>(ENCODED_QUEUE);
    let wake = raw_tx.clone();
    counters.started.on_open(move || {
        // A full queue needs no wake-up: the encoder is about to look at its frames.
        let _ = wake.try_send(None);
    });

    let enc_format = format.clone();
    let open_format = format.clone();
    let enc_counters = counters.clone();
    let encoder = spawn_checked(
        "video-encode",
        move || {
            init_ffmpeg()?;
            open_encoder(&open_format)
        },
        move |mut enc| {
            let mut current = enc_format.codec;
            let mut bitrate = enc_format.bitrate_bps;
            // The encoder's output against its target, in bits (a token bucket holding at most
            // a second, starting full): libvpx at its coarsest quantizer cannot go under a floor
            // that depends on the picture (measured 640 kbit/s for 640x480 testsrc2 at 30 fps),
            // so when the rate controller has cut the target below --video-bitrate, frames are
            // skipped while the encoder is over it: a lower frame rate instead of an overrun
            // link. At --video-bitrate the encoder's own rate control is trusted.
            let mut budget = bitrate as f64;
            let mut last_frame: Option<Instant> = None;
            let fps = f64::from(enc_format.fps);
            let mut elapsed = Duration::ZERO;
            let mut last_pts: Option<i64> = None;
            let mut packet = ffmpeg::Packet::empty();
            let mut self_view = Feeder::default();
            let mut camera_was_off = false;
            // Until the call first goes live, one frame in ENCODE_WHILE_WAITING is encoded (the
            // first at once; each a keyframe, see write_frames, which holds the newest to send
            // the moment the call connects); the newest of the others is kept and encoded when
            // the call goes live (the wake-up is `None`), without waiting for the next capture.
            // A waiting peer does not encode 30 keyframes a second that nobody receives (17 %
            // of a core at 640x480 VP8).
            let mut waiting = WaitingPace::default();
            let mut newest: Option<RawVideo> = None;
            while let Ok(next) = raw_rx.recv() {
                let began = Instant::now();
                let (mut raw, held) = match next {
                    Some(raw) => (raw, false),
                    None => match newest.take() {
                        Some(raw) => (raw, true),
                        None => {
                            waiting.encode(true);
                            continue;
                        }
                    },
                };
                // Camera off: nothing is encoded or sent; on again, from a keyframe.
                let camera_off = controls.switches().camera_off;
                controls.local_view().set_paused(camera_off);
                if camera_off {
                    camera_was_off = true;
                    elapsed += raw.duration;
                    continue;
                }
                if std::mem::take(&mut camera_was_off) {
                    force_keyframe.store(true, Ordering::SeqCst);
                }
                if !held {
                    self_view.offer(controls.local_view(), &raw.frame);
                }
                // The frame kept back goes when the call has gone live (the wake-up).
                if !waiting.encode(held || enc_counters.live.load(Ordering::Relaxed)) {
                    if let Some(older) = newest.replace(raw) {
                        elapsed += older.duration;
                    }
                    continue;
                }
                if let Some(older) = newest.take() {
                    elapsed += older.duration;
                }
                let wanted = codec.get();
                // FFmpeg's libvpx does not follow a bit-rate change on an open encoder: a new
                // target (the rate controller changes it in steps) reopens it, from a keyframe.
                let wanted_rate = match enc_counters.video_target_bps.load(Ordering::Relaxed) {
                    0 => enc_format.bitrate_bps,
                    t => t.min(enc_format.bitrate_bps),
                };
                if wanted != current || wanted_rate != bitrate {
                    let format = VideoFormat {
                        codec: wanted,
                        bitrate_bps: wanted_rate,
                        ..enc_format.clone()
                    };
                    match open_encoder(&format) {
                        Ok(e) => {
                            tracing::info!(
                                "video encoder now {} at {} kbit/s",
                                wanted.label(),
                                wanted_rate / 1000
                            );
                            enc = e;
                            current = wanted;
                            bitrate = wanted_rate;
                            force_keyframe.store(true, Ordering::SeqCst);
                        }
                        Err(e) => {
                            tracing::warn!("{e}");
                            bitrate = wanted_rate;
                        }
                    }
                }
                let now = Instant::now();
                let dt = last_frame.map_or(0.0, |t| now.duration_since(t).as_secs_f64());
                last_frame = Some(now);
                budget = (budget + bitrate as f64 * dt).min(bitrate as f64);
                if budget < 0.0 && bitrate < enc_format.bitrate_bps {
                    enc_counters
                        .video
                        .rate_skipped
                        .fetch_add(1, Ordering::Relaxed);
                    elapsed += raw.duration;
                    continue;
                }
                if force_keyframe.swap(false, Ordering::SeqCst) {
                    raw.frame.set_kind(ffmpeg::picture::Type::I);
                } else {
                    raw.frame.set_kind(ffmpeg::picture::Type::None);
                }
                let mut pts = (elapsed.as_secs_f64() * fps).round() as i64;
                if last_pts.is_some_and(|l| pts <= l) {
                    pts = last_pts.unwrap_or(0) + 1;
                }
                last_pts = Some(pts);
                elapsed += raw.duration;
                raw.frame.set_pts(Some(pts));
                if let Err(e) = enc.send_frame(&raw.frame) {
                    tracing::warn!("video encode failed: {e}");
                    continue;
                }
                while enc.receive_packet(&mut packet).is_ok() {
                    let Some(data) = packet.data() else { continue };
                    budget -= data.len() as f64 * 8.0;
                    enc_counters.video.encoded.fetch_add(1, Ordering::Relaxed);
                    enc_counters.video.encode_time(began.elapsed());
                    let frame = EncodedFrame {
                        data: Bytes::copy_from_slice(data),
                        duration: raw.duration,
                        keyframe: packet.is_key(),
                        codec: Some(current),
                        captured: raw.captured,
                    };
                    if enc_tx.try_send(frame).is_err() {
                        if enc_tx.is_closed() {
                            return;
                        }
                        enc_counters.dropped(&enc_counters.video.encode_dropped);
                        // The receiver now misses a reference: start again from a keyframe.
                        force_keyframe.store(true, Ordering::SeqCst);
                    }
                }
            }
        },
    )?;

    let src_format = format.clone();
    let src = source.clone();
    let source = spawn_checked(
        "video-source",
        move || FrameSource::open(&src, &src_format),
        move |mut src| {
            // A file starts when the call does: nothing of it is lost before connecting.
            if matches!(&src, FrameSource::Input(i) if !i.is_device()) {
                counters.started.wait();
                if stop.load(Ordering::Relaxed) {
                    return;
                }
            }
            if let Some((_, Some(length))) = src.progress() {
                counters
                    .source_length_ms
                    .store(length.as_millis() as u64, Ordering::Relaxed);
            }
            loop {
                let (frame, duration) = match src.next(&stop) {
                    Ok(Some(f)) => f,
                    Ok(None) => {
                        if !stop.load(Ordering::Relaxed) {
                            end.finished();
                        }
                        break;
                    }
                    Err(e) => {
                        end.failed(e);
                        break;
                    }
                };
                if let Some((position, _)) = src.progress() {
                    counters
                        .source_position_ms
                        .store((position * 1000.0) as u64, Ordering::Relaxed);
                }
                counters.video.captured.fetch_add(1, Ordering::Relaxed);
                match raw_tx.try_send(Some(RawVideo {
                    frame,
                    duration,
                    captured: Instant::now(),
                })) {
                    Ok(()) => {}
                    Err(std::sync::mpsc::TrySendError::Full(_)) => {
                        counters.dropped(&counters.video.capture_dropped);
                    }
                    Err(std::sync::mpsc::TrySendError::Disconnected(_)) => break,
                }
            }
        },
    )?;
    Ok((enc_rx, vec![source, encoder]))
}

fn open_decoder(codec: VideoCodec) -> std::result::Result<ffmpeg::decoder::Video, String> {
    let found = ffmpeg::decoder::find(codec.ffmpeg_id())
        .ok_or_else(|| format!("FFmpeg has no {} decoder", codec.label()))?;
    ffmpeg::codec::context::Context::new_with_codec(found)
        .decoder()
        .video()
        .map_err(|e| format!("cannot open the {} decoder: {e}", codec.label()))
}

/// Start the video decoder thread: it decodes whatever codec the frames say, passes them on to
/// the recorder once decodable, and sets `want_keyframe` when a frame fails to decode.
pub fn start_decoder(
    counters: Arc<Counters>,
    want_keyframe: Arc<AtomicBool>,
    recorder: Option<std::sync::mpsc::SyncSender<RecordItem>>,
    stop: Arc<AtomicBool>,
    controls: Controls,
) -> Result<(std::sync::mpsc::SyncSender<ReceivedFrame>, JoinHandle<()>)> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<ReceivedFrame>(RECEIVED_QUEUE);
    let handle = spawn_checked("video-decode", init_ffmpeg, move |()| {
        let mut decoder: Option<(VideoCodec, ffmpeg::decoder::Video)> = None;
        let mut frame = ffmpeg::frame::Video::empty();
        let mut freezes = super::timing::FreezeDetector::default();
        let mut view = Feeder::default();
        while let Some(received) = recv_until_stopped(&rx, &stop) {
            let codec = received.codec.unwrap_or(VideoCodec::Vp8);
            if decoder.as_ref().is_none_or(|(c, _)| *c != codec) {
                match open_decoder(codec) {
                    Ok(d) => decoder = Some((codec, d)),
                    Err(e) => {
                        tracing::error!("{e}");
                        counters.video.decode_errors.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                }
            }
            let Some((_, dec)) = decoder.as_mut() else {
                continue;
            };
            let packet = ffmpeg::Packet::copy(&received.data);
            if let Err(e) = dec.send_packet(&packet) {
                tracing::debug!("{} decode failed: {e}", codec.label());
                counters.video.decode_errors.fetch_add(1, Ordering::Relaxed);
                want_keyframe.store(true, Ordering::Relaxed);
                continue;
            }
            let mut key = false;
            while dec.receive_frame(&mut frame).is_ok() {
                counters.video.video_frame_done(
                    received.captured_us,
                    &counters.clock,
                    &mut freezes,
                );
                counters.video.width.store(frame.width(), Ordering::Relaxed);
                counters
                    .video
                    .height
                    .store(frame.height(), Ordering::Relaxed);
                key |= frame.is_key();
                view.offer(controls.remote_view(), &frame);
            }
            if let Some(rec) = &recorder {
                let item = RecordItem {
                    kind: MediaKind::Video,
                    data: received.data,
                    rtp_timestamp: received.rtp_timestamp,
                    arrived: received.arrived,
                    keyframe: key,
                    video: Some((codec, dec.width(), dec.height())),
                };
                if rec.try_send(item).is_err() {
                    counters
                        .video
                        .record_dropped
                        .fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    })?;
    Ok((tx, handle))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A peer waiting for its call encodes a keyframe every ENCODE_WHILE_WAITING, not every
    /// frame; once the call goes live, its newest frame is encoded without waiting for more.
    #[test]
    fn a_waiting_encoder_encodes_little_and_wakes_when_the_call_goes_live() {
        let counters = Arc::new(Counters::default());
        let stop = Arc::new(AtomicBool::new(false));
        let format = VideoFormat {
            width: 320,
            height: 240,
            fps: 30,
            bitrate_bps: 300_000,
            codec: VideoCodec::Vp8,
        };
        let (mut rx, threads) = start(
            &VideoSource::TestSrc,
            &format,
            CodecChoice::new(VideoCodec::Vp8),
            counters.clone(),
            Arc::new(AtomicBool::new(true)),
            stop.clone(),
            SourceEnd::default(),
            Controls::default(),
        )
        .expect("the test pattern and VP8 encoder start");
        // 30 frames captured (a second at 30 fps) while waiting.
        let before = crate::media::assert_waiting_encodes_little(&counters.video, 30);
        let mut first = rx.blocking_recv().expect("the first encoded frame");
        assert!(first.keyframe);
        // Go live while a frame is kept back: frames were captured since the last encode.
        loop {
            while let Ok(f) = rx.try_recv() {
                first = f;
            }
            let (encoded, captured) = (
                counters.video.encoded.load(Ordering::Relaxed),
                counters.video.captured.load(Ordering::Relaxed),
            );
            std::thread::sleep(Duration::from_millis(100));
            if counters.video.encoded.load(Ordering::Relaxed) == encoded
                && counters.video.captured.load(Ordering::Relaxed) > captured
            {
                break;
            }
        }
        // The call goes live: the frame kept back is encoded at once, one captured before then
        // (waiting for the next capture would give one captured after).
        let live_at = Instant::now();
        counters.live.store(true, Ordering::SeqCst);
        counters.started.open();
        let next = rx.blocking_recv().expect("a frame once live");
        assert!(next.captured >= first.captured);
        assert!(
            next.captured < live_at,
            "the frame kept back is encoded when the call goes live"
        );
        let encoded = counters.video.encoded.load(Ordering::Relaxed);
        assert!(encoded > before);
        stop.store(true, Ordering::SeqCst);
        drop(rx);
        for t in threads {
            t.join().unwrap();
        }
    }
}
