//! Video: the FFmpeg `testsrc` pattern source and the VP8 (libvpx, realtime) encoder, each on its
//! own thread, and the VP8 decoder thread that counts frames and their size.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ffmpeg_next as ffmpeg;
use tokio::sync::mpsc;

use super::{
    Counters, ENCODED_QUEUE, EncodedFrame, RAW_QUEUE, RECEIVED_QUEUE, ReceivedFrame, VideoFormat,
    pace, recv_until_stopped, spawn_checked,
};
use crate::exit::Result;

fn init_ffmpeg() -> std::result::Result<(), String> {
    ffmpeg::init().map_err(|e| format!("cannot initialise FFmpeg: {e}"))?;
    ffmpeg::util::log::set_level(ffmpeg::util::log::Level::Error);
    Ok(())
}

struct RawVideo {
    frame: ffmpeg::frame::Video,
    captured: Instant,
}

/// A filter graph producing the moving `testsrc` pattern in yuv420p.
struct TestSrc {
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
            "testsrc=size={}x{}:rate={},format=yuv420p",
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

fn open_vp8_encoder(format: &VideoFormat) -> std::result::Result<ffmpeg::encoder::Video, String> {
    let codec = ffmpeg::encoder::find_by_name("libvpx")
        .ok_or("FFmpeg has no libvpx encoder: install an FFmpeg built with libvpx (Debian's is)")?;
    let ctx = ffmpeg::codec::context::Context::new_with_codec(codec);
    let mut enc = ctx
        .encoder()
        .video()
        .map_err(|e| format!("cannot create the VP8 encoder: {e}"))?;
    enc.set_width(format.width);
    enc.set_height(format.height);
    enc.set_format(ffmpeg::format::Pixel::YUV420P);
    enc.set_time_base((1, format.fps as i32));
    enc.set_frame_rate(Some((format.fps as i32, 1)));
    enc.set_bit_rate(format.bitrate_bps as usize);
    // A keyframe at least every 3 s; more on request (PLI) and at connect.
    enc.set_gop(format.fps * 3);
    enc.set_threading(ffmpeg::codec::threading::Config {
        kind: ffmpeg::codec::threading::Type::Slice,
        count: 2,
        ..Default::default()
    });
    let mut opts = ffmpeg::Dictionary::new();
    opts.set("deadline", "realtime");
    opts.set("cpu-used", "8");
    opts.set("lag-in-frames", "0");
    opts.set("error-resilient", "1");
    opts.set("static-thresh", "0");
    opts.set("max-intra-rate", "300");
    enc.open_with(opts).map_err(|e| {
        format!(
            "cannot open the VP8 encoder at {}x{}: {e}",
            format.width, format.height
        )
    })
}

/// Start the test pattern source and its VP8 encoder.
pub fn start_testsrc(
    format: &VideoFormat,
    counters: Arc<Counters>,
    force_keyframe: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
) -> Result<(mpsc::Receiver<EncodedFrame>, Vec<JoinHandle<()>>)> {
    let (raw_tx, raw_rx) = std::sync::mpsc::sync_channel::<RawVideo>(RAW_QUEUE);
    let (enc_tx, enc_rx) = mpsc::channel::<EncodedFrame>(ENCODED_QUEUE);
    let frame_duration = Duration::from_secs_f64(1.0 / format.fps as f64);

    let enc_format = format.clone();
    let enc_counters = counters.clone();
    let encoder = spawn_checked(
        "vp8-encode",
        move || {
            init_ffmpeg()?;
            open_vp8_encoder(&enc_format)
        },
        move |mut enc| {
            let mut pts: i64 = 0;
            let mut packet = ffmpeg::Packet::empty();
            while let Ok(mut raw) = raw_rx.recv() {
                if force_keyframe.swap(false, Ordering::SeqCst) {
                    raw.frame.set_kind(ffmpeg::picture::Type::I);
                } else {
                    raw.frame.set_kind(ffmpeg::picture::Type::None);
                }
                raw.frame.set_pts(Some(pts));
                pts += 1;
                if let Err(e) = enc.send_frame(&raw.frame) {
                    tracing::warn!("VP8 encode failed: {e}");
                    continue;
                }
                while enc.receive_packet(&mut packet).is_ok() {
                    let Some(data) = packet.data() else { continue };
                    enc_counters.video.encoded.fetch_add(1, Ordering::Relaxed);
                    let frame = EncodedFrame {
                        data: Bytes::copy_from_slice(data),
                        duration: frame_duration,
                        keyframe: packet.is_key(),
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
    let source = spawn_checked(
        "testsrc",
        move || {
            init_ffmpeg()?;
            TestSrc::open(&src_format)
        },
        move |mut src| {
            let start = Instant::now();
            let mut n: u32 = 0;
            loop {
                let frame = match src.next() {
                    Ok(f) => f,
                    Err(e) => {
                        tracing::error!("{e}");
                        break;
                    }
                };
                counters.video.captured.fetch_add(1, Ordering::Relaxed);
                match raw_tx.try_send(RawVideo {
                    frame,
                    captured: Instant::now(),
                }) {
                    Ok(()) => {}
                    Err(std::sync::mpsc::TrySendError::Full(_)) => {
                        counters.dropped(&counters.video.capture_dropped);
                    }
                    Err(std::sync::mpsc::TrySendError::Disconnected(_)) => break,
                }
                n += 1;
                if !pace(start + frame_duration * n, &stop) {
                    break;
                }
            }
        },
    )?;
    Ok((enc_rx, vec![source, encoder]))
}

/// Start the VP8 decoder thread. Sets `want_keyframe` when a frame fails to decode.
pub fn start_decoder(
    counters: Arc<Counters>,
    want_keyframe: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
) -> Result<(std::sync::mpsc::SyncSender<ReceivedFrame>, JoinHandle<()>)> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<ReceivedFrame>(RECEIVED_QUEUE);
    let handle = spawn_checked(
        "vp8-decode",
        || {
            init_ffmpeg()?;
            let codec =
                ffmpeg::decoder::find(ffmpeg::codec::Id::VP8).ok_or("FFmpeg has no VP8 decoder")?;
            ffmpeg::codec::context::Context::new_with_codec(codec)
                .decoder()
                .video()
                .map_err(|e| format!("cannot open the VP8 decoder: {e}"))
        },
        move |mut dec| {
            let mut frame = ffmpeg::frame::Video::empty();
            while let Some(received) = recv_until_stopped(&rx, &stop) {
                let packet = ffmpeg::Packet::copy(&received.data);
                if let Err(e) = dec.send_packet(&packet) {
                    tracing::debug!("VP8 decode failed: {e}");
                    counters.video.decode_errors.fetch_add(1, Ordering::Relaxed);
                    want_keyframe.store(true, Ordering::Relaxed);
                    continue;
                }
                while dec.receive_frame(&mut frame).is_ok() {
                    let _ = counters.video.first_decoded.set(Instant::now());
                    counters.video.decoded.fetch_add(1, Ordering::Relaxed);
                    counters.video.width.store(frame.width(), Ordering::Relaxed);
                    counters
                        .video
                        .height
                        .store(frame.height(), Ordering::Relaxed);
                    // The sink: counting today; a window or recorder plugs in here.
                }
            }
        },
    )?;
    Ok((tx, handle))
}
