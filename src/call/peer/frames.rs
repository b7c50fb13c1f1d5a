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

/// How long an incomplete frame waits for late packets (reordered, or retransmitted after a
/// NACK) before it is given up as lost, on a short path; longer paths wait longer (see
/// [`window_for_rtt`]).
pub(super) const REORDER_WINDOW: Duration = Duration::from_millis(150);
/// The longest wait, whatever the RTT.
const MAX_WINDOW: Duration = Duration::from_millis(1000);

/// A retransmission comes one RTT after the NACK, and the NACK leaves up to ~100 ms after the
/// gap is seen: wait 1.5 RTT + 100 ms, at least [`REORDER_WINDOW`], at most 1 s.
fn window_for_rtt(rtt: Duration) -> Duration {
    (rtt * 3 / 2 + Duration::from_millis(100)).clamp(REORDER_WINDOW, MAX_WINDOW)
}
/// Packets held at most while waiting; past it the oldest incomplete frame is given up.
const MAX_HELD: usize = 1024;

struct Held {
    timestamp: u32,
    marker: bool,
    head: bool,
    payload: Bytes,
    arrived: Instant,
}

/// Reassembles video frames from RTP packets in sequence order: a frame is the run of packets
/// from its first (a partition head) to its marker bit. Packets that arrive out of order, or
/// late after a retransmission, complete their frame within [`REORDER_WINDOW`]; a frame still
/// missing a packet after that is lost (`Dropped`: the caller asks for a keyframe), and the
/// frames after it go on. Frames come out in order.
pub(super) struct FrameAssembler {
    codec: VideoCodec,
    /// Tells frame starts apart (`is_partition_head` keeps no state).
    heads: Box<dyn Depacketizer + Send + Sync>,
    /// Packets by extended sequence number.
    held: std::collections::BTreeMap<u64, Held>,
    /// Extended sequence number of the first packet of the next frame to come out; `None`
    /// until a frame start is known.
    next: Option<u64>,
    /// Highest extended sequence number seen.
    highest: Option<u64>,
    /// A frame given up on: its late packets are discarded.
    abandoned: Option<u32>,
    /// How long an incomplete frame waits.
    window: Duration,
}

pub(super) enum Assembled {
    Frame(Bytes, u32),
    Dropped,
}

impl FrameAssembler {
    pub(super) fn new(codec: VideoCodec) -> FrameAssembler {
        FrameAssembler {
            codec,
            heads: depacketizer(codec),
            held: Default::default(),
            next: None,
            highest: None,
            abandoned: None,
            window: REORDER_WINDOW,
        }
    }

    /// How long an incomplete frame waits now.
    pub(super) fn window(&self) -> Duration {
        self.window
    }

    /// Wait for late packets as long as the path's RTT calls for.
    pub(super) fn set_rtt(&mut self, rtt: Duration) {
        self.window = window_for_rtt(rtt);
    }

    /// The 64-bit sequence number of `seq`, the one nearest the highest seen.
    fn extend(&mut self, seq: u16) -> u64 {
        let ext = match self.highest {
            None => (1u64 << 32) + u64::from(seq),
            Some(h) => {
                let base = h & !0xffff;
                let candidates = [base.wrapping_sub(1 << 16), base, base + (1 << 16)];
                candidates
                    .iter()
                    .map(|b| b + u64::from(seq))
                    .min_by_key(|c| c.abs_diff(h))
                    .unwrap_or(base + u64::from(seq))
            }
        };
        self.highest = Some(self.highest.map_or(ext, |h| h.max(ext)));
        ext
    }

    /// Take one packet that arrived at `now`; returns the frames (and losses) it completes.
    pub(super) fn push(
        &mut self,
        seq: u16,
        timestamp: u32,
        marker: bool,
        payload: &Bytes,
        now: Instant,
    ) -> Vec<Assembled> {
        let ext = self.extend(seq);
        if self.next.is_some_and(|n| ext < n) || self.abandoned == Some(timestamp) {
            return Vec::new(); // too late, or a duplicate
        }
        let head = self.heads.is_partition_head(payload);
        self.held.insert(
            ext,
            Held {
                timestamp,
                marker,
                head,
                payload: payload.clone(),
                arrived: now,
            },
        );
        let mut out = Vec::new();
        while let Some(a) = self.step(now) {
            out.push(a);
        }
        out
    }

    /// Emit the next frame if it is complete, or give it up if it waited too long.
    fn step(&mut self, now: Instant) -> Option<Assembled> {
        let next = match self.next {
            Some(n) => n,
            None => {
                // Start at the first frame start held.
                let start = self
                    .held
                    .iter()
                    .find(|(_, p)| p.head && Some(p.timestamp) != self.abandoned)
                    .map(|(k, _)| *k)?;
                self.held = self.held.split_off(&start);
                self.next = Some(start);
                start
            }
        };
        // Is the frame at `next` whole: consecutive packets of one timestamp up to a marker?
        if let Some(first) = self.held.get(&next)
            && first.head
        {
            let ts = first.timestamp;
            let mut k = next;
            loop {
                match self.held.get(&k) {
                    Some(p) if p.timestamp == ts && p.marker => {
                        return Some(self.emit(next, k, ts));
                    }
                    Some(p) if p.timestamp == ts => k += 1,
                    _ => break,
                }
            }
        }
        // Incomplete: wait for late packets, within bounds.
        let oldest = self.held.values().map(|p| p.arrived).min()?;
        if now.saturating_duration_since(oldest) < self.window && self.held.len() < MAX_HELD {
            return None;
        }
        self.give_up(next);
        Some(Assembled::Dropped)
    }

    fn emit(&mut self, from: u64, to: u64, ts: u32) -> Assembled {
        let mut rest = self.held.split_off(&(to + 1));
        std::mem::swap(&mut rest, &mut self.held);
        self.next = Some(to + 1);
        self.abandoned = None;
        // A fresh depacketizer per frame: nothing of another frame may leak into it.
        let mut d = depacketizer(self.codec);
        let mut parts = Vec::with_capacity(rest.len());
        for (_, p) in rest.range(from..=to) {
            match d.depacketize(&p.payload) {
                Ok(b) => parts.push(b),
                Err(_) => return Assembled::Dropped,
            }
        }
        let data = if parts.len() == 1 {
            parts.pop().unwrap_or_default()
        } else {
            Bytes::from(parts.concat())
        };
        Assembled::Frame(data, ts)
    }

    /// The frame starting at `next` is lost: drop what is held of it and resume at the next
    /// frame start.
    fn give_up(&mut self, next: u64) {
        let lost_ts = match self.held.get(&next) {
            Some(p) => Some(p.timestamp),
            None => {
                // Its first packet is missing. If the first packet held starts a frame, only
                // the packets before it are lost; otherwise it is part of the lost frame.
                match self.held.iter().next() {
                    Some((k, p)) if p.head => {
                        self.next = Some(*k);
                        return;
                    }
                    Some((_, p)) => Some(p.timestamp),
                    None => None,
                }
            }
        };
        if let Some(ts) = lost_ts {
            self.held.retain(|_, p| p.timestamp != ts);
            self.abandoned = Some(ts);
        }
        self.next = None;
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
    capture_ext: Arc<super::capture::CaptureExt>,
) {
    let mut assembler = FrameAssembler::new(codec);
    let mut frames_sent = crate::media::timing::FrameCount::default();
    // Capture times of the frames being assembled, by RTP timestamp (the newest few).
    let mut captured: std::collections::VecDeque<(u32, i64)> = Default::default();
    let mut last_pli: Option<Instant> = None;
    // Ask for a keyframe right away: the first packets of a new track may have been lost
    // before the track was registered.
    let mut need_pli = true;
    loop {
        if need_pli || want_keyframe.swap(false, Ordering::Relaxed) {
            need_pli = false;
            // A keyframe takes a round trip to come: do not ask again before it can.
            let gap = PLI_MIN_GAP.max(assembler.window());
            if last_pli.is_none_or(|t| t.elapsed() >= gap) {
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
                let now = Instant::now();
                if frames_sent.packet(h.timestamp) {
                    counters
                        .video
                        .frames_expected
                        .store(frames_sent.expected(), Ordering::Relaxed);
                }
                if let Some(c) = capture_ext.captured_us(crate::media::MediaKind::Video, &pkt)
                    && captured.back().is_none_or(|(ts, _)| *ts != h.timestamp)
                {
                    if captured.len() >= 64 {
                        captured.pop_front();
                    }
                    captured.push_back((h.timestamp, c));
                }
                assembler.set_rtt(Duration::from_micros(
                    counters.rtt_us.load(Ordering::Relaxed),
                ));
                for out in
                    assembler.push(h.sequence_number, h.timestamp, h.marker, &pkt.payload, now)
                {
                    match out {
                        Assembled::Dropped => {
                            counters.video.decode_errors.fetch_add(1, Ordering::Relaxed);
                            need_pli = true;
                        }
                        Assembled::Frame(data, ts) => {
                            let frame = ReceivedFrame {
                                data,
                                codec: Some(codec),
                                rtp_timestamp: ts,
                                arrived: now,
                                captured_us: captured
                                    .iter()
                                    .rev()
                                    .find(|(t, _)| *t == ts)
                                    .map(|(_, c)| *c),
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

    fn frame(out: Vec<Assembled>) -> Vec<String> {
        out.into_iter()
            .map(|a| match a {
                Assembled::Frame(d, ts) => format!("{ts}:{}", String::from_utf8_lossy(&d)),
                Assembled::Dropped => "lost".into(),
            })
            .collect()
    }

    #[test]
    fn assembles_frames_at_the_marker() {
        let mut a = FrameAssembler::new(VideoCodec::Vp8);
        let t = Instant::now();
        assert!(
            a.push(1, 100, false, &vp8_payload(true, b"abcd"), t)
                .is_empty()
        );
        assert_eq!(
            frame(a.push(2, 100, true, &vp8_payload(false, b"efgh"), t)),
            ["100:abcdefgh"]
        );
    }

    #[test]
    fn reordered_and_late_packets_complete_their_frame_in_order() {
        let mut a = FrameAssembler::new(VideoCodec::Vp8);
        let t = Instant::now();
        a.push(1, 100, false, &vp8_payload(true, b"abab"), t);
        // 2 is late; the next frame (3) is whole but waits for frame 100.
        assert!(
            a.push(3, 200, true, &vp8_payload(true, b"cdcd"), t)
                .is_empty()
        );
        // 2 arrives (a retransmission) within the window: both frames, in order.
        let later = t + Duration::from_millis(40);
        assert_eq!(
            frame(a.push(2, 100, true, &vp8_payload(false, b"xyxy"), later)),
            ["100:ababxyxy", "200:cdcd"]
        );
        // A duplicate of an emitted packet is ignored.
        assert!(
            a.push(2, 100, true, &vp8_payload(false, b"xyxy"), later)
                .is_empty()
        );
    }

    #[test]
    fn a_packet_missing_past_the_window_loses_only_its_frame() {
        let mut a = FrameAssembler::new(VideoCodec::Vp8);
        let t = Instant::now();
        a.push(1, 100, false, &vp8_payload(true, b"abcd"), t);
        // packet 2 lost for good
        assert!(
            a.push(3, 100, true, &vp8_payload(false, b"ijkl"), t)
                .is_empty()
        );
        assert!(
            a.push(4, 200, true, &vp8_payload(true, b"mnop"), t)
                .is_empty()
        );
        let late = t + REORDER_WINDOW + Duration::from_millis(1);
        assert_eq!(
            frame(a.push(5, 300, true, &vp8_payload(true, b"qrst"), late)),
            ["lost", "200:mnop", "300:qrst"]
        );
        // The lost packet arriving now is discarded.
        assert!(
            a.push(2, 100, false, &vp8_payload(false, b"efgh"), late)
                .is_empty()
        );
        // A frame whose first packet is lost: given up, the next one goes on.
        assert!(
            a.push(7, 400, true, &vp8_payload(false, b"uvwx"), late)
                .is_empty()
        );
        let later = late + REORDER_WINDOW + Duration::from_millis(1);
        assert_eq!(
            frame(a.push(8, 500, true, &vp8_payload(true, b"yzyz"), later)),
            ["lost", "500:yzyz"]
        );
    }

    #[test]
    fn sequence_numbers_wrap() {
        let mut a = FrameAssembler::new(VideoCodec::Vp8);
        let t = Instant::now();
        a.push(65535, 100, false, &vp8_payload(true, b"abab"), t);
        assert_eq!(
            frame(a.push(0, 100, true, &vp8_payload(false, b"cdcd"), t)),
            ["100:ababcdcd"]
        );
        assert_eq!(
            frame(a.push(1, 200, true, &vp8_payload(true, b"efef"), t)),
            ["200:efef"]
        );
    }
}
