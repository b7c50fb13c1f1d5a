//! Received video: reassembling frames from RTP packets at their marker bit, and asking the
//! sender for a keyframe (PLI) when a frame is lost or a track starts.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp::codec::h264::H264Packet;
use rtc::rtp::codec::vp8::Vp8Packet;
use rtc::rtp::codec::vp9::Vp9Packet;
use rtc::rtp::packetizer::Depacketizer;

use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};

use crate::media::{Counters, ReceivedFrame, VideoCodec};

pub(super) fn depacketizer(codec: VideoCodec) -> Box<dyn Depacketizer + Send + Sync> {
    match codec {
        VideoCodec::Vp8 => Box::new(Vp8Packet::default()),
        VideoCodec::Vp9 => Box::new(Vp9Packet::default()),
        VideoCodec::H264 => Box::new(H264Packet::default()),
    }
}

/// Reassembles video frames from RTP packets without waiting for the next frame: a frame is
/// done at its marker bit. Frames with a missing packet are dropped (and a keyframe requested).
pub(super) struct FrameAssembler {
    codec: VideoCodec,
    depacketizer: Box<dyn Depacketizer + Send + Sync>,
    timestamp: Option<u32>,
    next_seq: Option<u16>,
    parts: Vec<Bytes>,
    broken: bool,
}

pub(super) enum Assembled {
    Nothing,
    Frame(Bytes, u32),
    Dropped,
}

impl FrameAssembler {
    pub(super) fn new(codec: VideoCodec) -> FrameAssembler {
        FrameAssembler {
            codec,
            depacketizer: depacketizer(codec),
            timestamp: None,
            next_seq: None,
            parts: Vec::new(),
            broken: false,
        }
    }

    pub(super) fn push(
        &mut self,
        seq: u16,
        timestamp: u32,
        marker: bool,
        payload: &Bytes,
    ) -> Assembled {
        let gap = self.next_seq.is_some_and(|n| n != seq);
        self.next_seq = Some(seq.wrapping_add(1));
        let mut dropped = false;
        if self.timestamp != Some(timestamp) {
            if !self.parts.is_empty() {
                dropped = true; // the previous frame never saw its marker
            }
            self.parts.clear();
            // A fresh depacketizer: nothing of a broken frame may leak into this one.
            self.depacketizer = depacketizer(self.codec);
            self.timestamp = Some(timestamp);
            self.broken = !self.depacketizer.is_partition_head(payload);
        } else if gap {
            self.broken = true;
        }
        match self.depacketizer.depacketize(payload) {
            Ok(data) => self.parts.push(data),
            Err(_) => self.broken = true,
        }
        if !marker {
            return if dropped {
                Assembled::Dropped
            } else {
                Assembled::Nothing
            };
        }
        let parts = std::mem::take(&mut self.parts);
        if self.broken || dropped {
            self.broken = false;
            return Assembled::Dropped;
        }
        let data = if parts.len() == 1 {
            parts.into_iter().next().unwrap_or_default()
        } else {
            Bytes::from(parts.concat())
        };
        Assembled::Frame(data, timestamp)
    }
}

pub(super) const PLI_MIN_GAP: Duration = Duration::from_millis(250);

pub(super) async fn read_video(
    track: Arc<dyn TrackRemote>,
    media_ssrc: u32,
    codec: VideoCodec,
    sink: std::sync::mpsc::SyncSender<ReceivedFrame>,
    want_keyframe: Arc<AtomicBool>,
    counters: Arc<Counters>,
) {
    let mut assembler = FrameAssembler::new(codec);
    let mut last_pli: Option<Instant> = None;
    // Ask for a keyframe right away: the first packets of a new track may have been lost
    // before the track was registered.
    let mut need_pli = true;
    loop {
        if need_pli || want_keyframe.swap(false, Ordering::Relaxed) {
            need_pli = false;
            if last_pli.is_none_or(|t| t.elapsed() >= PLI_MIN_GAP) {
                let pli = PictureLossIndication {
                    sender_ssrc: 0,
                    media_ssrc,
                };
                if track.write_rtcp(vec![Box::new(pli)]).await.is_ok() {
                    counters.video.plis_sent.fetch_add(1, Ordering::Relaxed);
                    last_pli = Some(Instant::now());
                }
            }
        }
        let Some(ev) = track.poll().await else { break };
        match ev {
            TrackRemoteEvent::OnRtpPacket(pkt) => {
                counters
                    .video
                    .packets_received
                    .fetch_add(1, Ordering::Relaxed);
                let h = &pkt.header;
                match assembler.push(h.sequence_number, h.timestamp, h.marker, &pkt.payload) {
                    Assembled::Nothing => {}
                    Assembled::Dropped => {
                        counters.video.decode_errors.fetch_add(1, Ordering::Relaxed);
                        need_pli = true;
                    }
                    Assembled::Frame(data, ts) => {
                        let frame = ReceivedFrame {
                            data,
                            codec: Some(codec),
                            rtp_timestamp: ts,
                            arrived: Instant::now(),
                        };
                        if sink.try_send(frame).is_err() {
                            counters
                                .video
                                .receive_dropped
                                .fetch_add(1, Ordering::Relaxed);
                            need_pli = true;
                        }
                    }
                }
            }
            TrackRemoteEvent::OnEnded | TrackRemoteEvent::OnError => break,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vp8_payload(start: bool, body: &[u8]) -> Bytes {
        // Minimal VP8 payload descriptor: X=0, S=start, PID=0.
        let mut v = vec![if start { 0x10 } else { 0x00 }];
        v.extend_from_slice(body);
        Bytes::from(v)
    }

    #[test]
    fn assembles_frames_at_the_marker() {
        let mut a = FrameAssembler::new(VideoCodec::Vp8);
        assert!(matches!(
            a.push(1, 100, false, &vp8_payload(true, b"abcd")),
            Assembled::Nothing
        ));
        match a.push(2, 100, true, &vp8_payload(false, b"efgh")) {
            Assembled::Frame(data, ts) => {
                assert_eq!(&data[..], b"abcdefgh");
                assert_eq!(ts, 100);
            }
            _ => panic!("expected a frame"),
        }
    }

    #[test]
    fn drops_frames_with_a_gap() {
        let mut a = FrameAssembler::new(VideoCodec::Vp8);
        a.push(1, 100, false, &vp8_payload(true, b"abcd"));
        // packet 2 lost
        assert!(matches!(
            a.push(3, 100, true, &vp8_payload(false, b"ijkl")),
            Assembled::Dropped
        ));
        // the next frame is whole again
        assert!(matches!(
            a.push(4, 200, true, &vp8_payload(true, b"mnop")),
            Assembled::Frame(..)
        ));
        // a frame whose first packet is lost
        assert!(matches!(
            a.push(6, 300, true, &vp8_payload(false, b"qrst")),
            Assembled::Dropped
        ));
    }
}
