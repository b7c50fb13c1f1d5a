//! Incoming RTP that webrtc-rs cannot route: a peer that declares no `a=ssrc` and sends no MID
//! header extension (GStreamer webrtcbin offering before its pads have caps) next to another
//! media section. webrtc-rs 0.21 only routes such a stream when there is a single media
//! section, and drops it otherwise; RFC 8843 §9.2 lets the payload type decide, so this
//! interceptor does: a packet of a stream webrtc-rs never bound, whose payload type belongs to
//! exactly one media section without `a=ssrc`, goes to our audio decoder or video assembler.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rtc::interceptor::{Interceptor, Packet, StreamInfo, TaggedPacket};
use rtc::sansio::Protocol;
use tokio::sync::mpsc;
use tracing::info;

use super::PeerEvent;
use super::frames::{Assembled, FrameAssembler};
use crate::media::{Counters, MediaKind, ReceivedFrame, VideoCodec};

/// Where packets of one payload type go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Route {
    Audio,
    Video(VideoCodec),
}

/// Payload types of the remote sections that declare no SSRC, shared between the peer (which
/// fills them in when a remote description is applied) and the interceptor.
#[derive(Debug, Clone, Default)]
pub(super) struct Routes(Arc<Mutex<HashMap<u8, Route>>>);

impl Routes {
    /// Read them from a remote description; payload types that two sections share route
    /// nowhere.
    pub(super) fn set_from_sdp(&self, sdp: &rtc::sdp::SessionDescription) {
        let mut routes: HashMap<u8, Option<Route>> = HashMap::new();
        for m in &sdp.media_descriptions {
            let audio = match m.media_name.media.as_str() {
                "audio" => true,
                "video" => false,
                _ => continue,
            };
            if m.attribute("ssrc").is_some() || !super::section_active(m) {
                continue;
            }
            let codecs = m.codecs();
            for pt in m
                .media_name
                .formats
                .iter()
                .filter_map(|f| f.parse::<u8>().ok())
            {
                let route = if audio {
                    Some(Route::Audio)
                } else {
                    codecs
                        .get(&pt)
                        .and_then(|c| super::codecs::codec_from_mime(&format!("video/{}", c.name)))
                        .map(Route::Video)
                };
                let Some(route) = route else { continue };
                routes
                    .entry(pt)
                    .and_modify(|r| {
                        if *r != Some(route) {
                            *r = None;
                        }
                    })
                    .or_insert(Some(route));
            }
        }
        let routes = routes
            .into_iter()
            .filter_map(|(pt, r)| r.map(|r| (pt, r)))
            .collect();
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = routes;
    }

    fn get(&self, pt: u8) -> Option<Route> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&pt)
            .copied()
    }
}

/// What the interceptor hands packets to (cloned into each peer connection built).
#[derive(Clone)]
pub(super) struct Sinks {
    pub(super) routes: Routes,
    pub(super) audio_in: std::sync::mpsc::SyncSender<ReceivedFrame>,
    pub(super) video_in: std::sync::mpsc::SyncSender<ReceivedFrame>,
    pub(super) counters: Arc<Counters>,
    pub(super) events: mpsc::UnboundedSender<PeerEvent>,
}

/// The interceptor: passes everything on unchanged, and delivers stray streams by payload type.
pub(super) struct Unrouted {
    sinks: Sinks,
    /// Streams webrtc-rs bound (it routes those itself).
    bound: HashSet<u32>,
    /// Stray streams seen, with the video assembler of each.
    strays: HashMap<u32, Option<FrameAssembler>>,
    read: VecDeque<TaggedPacket>,
    write: VecDeque<TaggedPacket>,
}

impl Unrouted {
    pub(super) fn new(sinks: Sinks) -> Unrouted {
        Unrouted {
            sinks,
            bound: HashSet::new(),
            strays: HashMap::new(),
            read: VecDeque::new(),
            write: VecDeque::new(),
        }
    }

    fn deliver(&mut self, pkt: &rtc::rtp::Packet) {
        let h = &pkt.header;
        let Some(route) = self.sinks.routes.get(h.payload_type) else {
            return;
        };
        let s = &self.sinks;
        let stray = self.strays.entry(h.ssrc).or_insert_with(|| {
            let (kind, codec) = match route {
                Route::Audio => (MediaKind::Audio, "audio/opus".to_string()),
                Route::Video(c) => (MediaKind::Video, c.label().to_string()),
            };
            info!(
                "stream {:#010x} (payload type {}) declared no SSRC: routed as {} by its payload type",
                h.ssrc,
                h.payload_type,
                kind.as_str()
            );
            let _ = s.events.send(PeerEvent::Track { kind, codec });
            match route {
                Route::Audio => None,
                Route::Video(c) => Some(FrameAssembler::new(c)),
            }
        });
        let frame = |data, codec| ReceivedFrame {
            data,
            codec,
            rtp_timestamp: h.timestamp,
            arrived: Instant::now(),
            captured_us: None,
        };
        match (route, stray) {
            (Route::Audio, _) => {
                let k = &s.counters.audio;
                k.packets_received.fetch_add(1, Ordering::Relaxed);
                if s.audio_in
                    .try_send(frame(pkt.payload.clone(), None))
                    .is_err()
                {
                    k.receive_dropped.fetch_add(1, Ordering::Relaxed);
                }
            }
            (Route::Video(codec), Some(assembler)) => {
                let k = &s.counters.video;
                assembler.set_rtt(std::time::Duration::from_micros(
                    s.counters.rtt_us.load(Ordering::Relaxed),
                ));
                k.packets_received.fetch_add(1, Ordering::Relaxed);
                let now = Instant::now();
                for out in
                    assembler.push(h.sequence_number, h.timestamp, h.marker, &pkt.payload, now)
                {
                    match out {
                        Assembled::Dropped => {
                            k.decode_errors.fetch_add(1, Ordering::Relaxed);
                        }
                        Assembled::Frame(data, _) => {
                            if s.video_in.try_send(frame(data, Some(codec))).is_err() {
                                k.receive_dropped.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                }
            }
            (Route::Video(_), None) => {}
        }
    }
}

impl Protocol<TaggedPacket, TaggedPacket, ()> for Unrouted {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = rtc::shared::error::Error;
    type Time = Instant;

    fn handle_read(&mut self, msg: TaggedPacket) -> std::result::Result<(), Self::Error> {
        if let Packet::Rtp(pkt) = &msg.message.packet
            && !self.bound.contains(&pkt.header.ssrc)
        {
            self.deliver(pkt);
        }
        self.read.push_back(msg);
        Ok(())
    }

    fn poll_read(&mut self) -> Option<Self::Rout> {
        self.read.pop_front()
    }

    fn handle_write(&mut self, msg: TaggedPacket) -> std::result::Result<(), Self::Error> {
        self.write.push_back(msg);
        Ok(())
    }

    fn poll_write(&mut self) -> Option<Self::Wout> {
        self.write.pop_front()
    }
}

impl Interceptor for Unrouted {
    fn bind_local_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_local_stream(&mut self, _info: &StreamInfo) {}
    fn bind_remote_stream(&mut self, info: &StreamInfo) {
        self.bound.insert(info.ssrc);
        self.strays.remove(&info.ssrc);
    }
    fn unbind_remote_stream(&mut self, info: &StreamInfo) {
        self.bound.remove(&info.ssrc);
    }
}
