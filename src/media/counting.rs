//! The receive side of a call that does not decode (`rtccall load`): one thread that checks,
//! counts and times what arrives — each Opus packet's TOC (its duration), each video frame's
//! codec header (a VP8/VP9 keyframe's size) — and keeps the same counters, latencies and
//! freezes a decoding call keeps, at a small share of the cost.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Instant;

use super::timing::FreezeDetector;
use super::{Counters, RECEIVED_QUEUE, ReceivedFrame, VideoCodec, recv_until_stopped, spawn};
use crate::exit::Result;

/// The duration of an Opus packet in ms (RFC 6716 §3.1: the TOC byte's configuration and
/// frame count), or `None` when it is not a valid packet.
pub fn opus_packet_ms(data: &[u8]) -> Option<f64> {
    let toc = *data.first()?;
    let config = toc >> 3;
    let frame_ms = match config {
        0..=11 => [10.0, 20.0, 40.0, 60.0][usize::from(config % 4)],
        12..=15 => [10.0, 20.0][usize::from(config % 2)],
        _ => [2.5, 5.0, 10.0, 20.0][usize::from(config % 4)],
    };
    let frames = match toc & 3 {
        0 => 1,
        1 | 2 => 2,
        _ => u32::from(*data.get(1)? & 0x3f),
    };
    let ms = frame_ms * f64::from(frames);
    (frames > 0 && ms <= 120.0).then_some(ms)
}

/// What a video frame's first bytes say: `Some(Some((w, h)))` a keyframe of that size,
/// `Some(None)` a valid frame, `None` not a frame of this codec.
pub fn check_video(codec: VideoCodec, data: &[u8]) -> Option<Option<(u32, u32)>> {
    match codec {
        VideoCodec::Vp8 => {
            // RFC 6386 §9.1: a 3-byte frame tag; a keyframe then has the start code 9d 01 2a
            // and 14-bit width and height.
            if data.len() < 3 {
                return None;
            }
            if data[0] & 1 != 0 {
                return Some(None);
            }
            let header = data.get(3..10)?;
            if header[..3] != [0x9d, 0x01, 0x2a] {
                return None;
            }
            let w = u32::from(u16::from_le_bytes([header[3], header[4]]) & 0x3fff);
            let h = u32::from(u16::from_le_bytes([header[5], header[6]]) & 0x3fff);
            Some(Some((w, h)))
        }
        VideoCodec::Vp9 => {
            // The frame marker (2 bits, 0b10) of an uncompressed header; a superframe index
            // ends in one too.
            let b = *data.first()?;
            (b >> 6 == 0b10).then_some(None)
        }
        VideoCodec::H264 => {
            // Annex B: NAL units after start codes.
            let starts = data.starts_with(&[0, 0, 0, 1]) || data.starts_with(&[0, 0, 1]);
            starts.then_some(None)
        }
    }
}

/// Start the counting thread; both media kinds arrive on the one queue it returns (video
/// frames carry their codec, audio none).
pub fn start(
    counters: Arc<Counters>,
    want_keyframe: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
) -> Result<(std::sync::mpsc::SyncSender<ReceivedFrame>, JoinHandle<()>)> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<ReceivedFrame>(RECEIVED_QUEUE * 2);
    let handle = spawn("media-count", move || {
        let mut freezes = FreezeDetector::default();
        let mut audio_ms = 0.0f64;
        while let Some(frame) = recv_until_stopped(&rx, &stop) {
            let now = Instant::now();
            match frame.codec {
                None => {
                    let a = &counters.audio;
                    let Some(ms) = opus_packet_ms(&frame.data) else {
                        a.decode_errors.fetch_add(1, Ordering::Relaxed);
                        continue;
                    };
                    let _ = a.first_decoded.set(now);
                    a.decoded.fetch_add(1, Ordering::Relaxed);
                    audio_ms += ms;
                    a.decoded_ms.store(audio_ms as u64, Ordering::Relaxed);
                    a.decoded_at(frame.captured_us, &counters.clock);
                }
                Some(codec) => {
                    let v = &counters.video;
                    let Some(key) = check_video(codec, &frame.data) else {
                        v.decode_errors.fetch_add(1, Ordering::Relaxed);
                        want_keyframe.store(true, Ordering::Relaxed);
                        continue;
                    };
                    if v.first_decoded.get().is_none() && key.is_none() && codec == VideoCodec::Vp8
                    {
                        // Nothing decodes before the first keyframe.
                        continue;
                    }
                    if let Some((w, h)) = key {
                        v.width.store(w, Ordering::Relaxed);
                        v.height.store(h, Ordering::Relaxed);
                    }
                    v.video_frame_done(frame.captured_us, &counters.clock, &mut freezes);
                }
            }
        }
    })?;
    Ok((tx, handle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opus_durations_come_from_the_toc() {
        // CELT fullband 20 ms, one frame (config 31, code 0).
        assert_eq!(opus_packet_ms(&[31 << 3, 0xaa]), Some(20.0));
        // SILK NB 60 ms, two frames (config 3, code 1).
        assert_eq!(opus_packet_ms(&[(3 << 3) | 1]), Some(120.0));
        // Code 3 with 3 frames of 10 ms hybrid (config 12).
        assert_eq!(opus_packet_ms(&[(12 << 3) | 3, 3]), Some(30.0));
        assert_eq!(opus_packet_ms(&[]), None);
        assert_eq!(opus_packet_ms(&[(12 << 3) | 3, 0]), None);
    }

    #[test]
    fn video_headers_are_checked() {
        let key = [0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00];
        assert_eq!(check_video(VideoCodec::Vp8, &key), Some(Some((320, 240))));
        assert_eq!(check_video(VideoCodec::Vp8, &[0x11, 0, 0]), Some(None));
        assert_eq!(
            check_video(VideoCodec::Vp8, &[0x10, 0, 0, 1, 2, 3, 4, 5, 6, 7]),
            None
        );
        assert_eq!(
            check_video(VideoCodec::H264, &[0, 0, 0, 1, 0x67]),
            Some(None)
        );
        assert_eq!(check_video(VideoCodec::H264, &[0x67]), None);
        assert_eq!(check_video(VideoCodec::Vp9, &[0x82]), Some(None));
    }
}
