//! The only module that talks to webrtc-rs. This file owns the [`Peer`]: building it, attaching
//! local tracks, offer/answer and candidates; its parts, one concern each, are in the
//! submodules: the types it reports in ([`types`]), the send loop that moves encoded frames onto
//! the tracks ([`send`]), set-up and codecs ([`setup`]), callbacks ([`handler`]), frame assembly and
//! keyframe requests for received video ([`frames`], [`keyframe`]), the data channel protocol
//! ([`data`]), stats ([`stats`]) and the probe's gathering ([`gather`]). Nothing here knows the
//! output schema: it reports in its own types, which the call driver turns into records.

mod capture;
mod codecs;
mod data;
pub mod estimate;
mod frames;
pub mod gather;
mod handler;
mod keyframe;
pub mod netwatch;
mod runtime;
mod send;
mod setup;
mod stats;
mod types;
mod unrouted;
mod w3c;

pub use gather::{GatherReport, Gathered, gather};
pub use stats::PeerStats;
pub use types::*;

use send::{LocalTrack, keyframe_gap, rand_ssrc, write_frames};

use codecs::{codec_from_mime, opus_codec, video_codec, video_mime, video_pt};
use data::{send_pings, wake_driver};
use handler::Handler;
use setup::build_pc;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use rtc::media::Sample;
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::media_engine::{MIME_TYPE_H264, MIME_TYPE_OPUS};

use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodecParameters, RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use rtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit};

use tokio::sync::mpsc;
use tracing::{debug, warn};

use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};

use webrtc::peer_connection::{PeerConnection, RTCIceCandidateInit, RTCSessionDescription};
use webrtc::rtp_transceiver::RtpSender;

use crate::exit::{Error, Kind, Result};
use crate::media::{CodecChoice, Counters, EncodedFrame, MediaKind, ReceivedFrame, VideoCodec};

/// A webrtc-rs peer connection with rtccall's media attached.
pub struct Peer {
    pc: Arc<dyn PeerConnection>,
    /// Our DTLS certificate's fingerprint, when we made the certificate ourselves.
    local_fingerprint: Option<String>,
    connected: Arc<tokio::sync::watch::Sender<bool>>,
    local_ice: Arc<std::sync::Mutex<Option<LocalIce>>>,
    capture_ext: Arc<capture::CaptureExt>,
    liveness: Arc<data::Liveness>,
    events: mpsc::UnboundedSender<PeerEvent>,
    /// Payload types of remote sections without `a=ssrc`, for [`unrouted`].
    routes: unrouted::Routes,
    /// The remote description as last applied, parsed once.
    remote_sdp: std::sync::Mutex<Option<rtc::sdp::SessionDescription>>,
    audio_out: Option<mpsc::Receiver<EncodedFrame>>,
    video_out: Option<mpsc::Receiver<EncodedFrame>>,
    local: Vec<LocalTrack>,
    force_keyframe: Arc<AtomicBool>,
    counters: Arc<Counters>,
    video_codec: CodecChoice,
    pending_candidates: std::sync::Mutex<Vec<CandidateLine>>,
    remote_set: AtomicBool,
    /// The remote offer has a data channel section.
    remote_has_data: AtomicBool,
    /// Whether to open our data channel when offering.
    data_channel: bool,
    /// What `--impair` did so far.
    impaired: Option<Arc<std::sync::Mutex<crate::impair::ImpairCounts>>>,
    /// The send-side bandwidth estimate (when we send video).
    estimate: Option<estimate::EstimateView>,
}

/// A webrtc-rs failure while setting the connection up: a connection error (exit 4) that keeps
/// the webrtc-rs error as its source.
fn wrtc(context: &str, e: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::with_source(Kind::Connection, context, e)
}

impl Peer {
    /// The send-side bandwidth estimate now (None when we send no video).
    pub fn estimate(&self) -> Option<estimate::Estimate> {
        self.estimate
            .as_ref()
            .map(|v| *v.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// What `--impair` does to the datagrams sent, counted as it goes (None without it).
    pub fn impaired(&self) -> Option<Arc<std::sync::Mutex<crate::impair::ImpairCounts>>> {
        self.impaired.clone()
    }

    /// Build the peer connection. Events arrive on `events`.
    pub async fn new(
        setup: &PeerSetup,
        ports: MediaPorts,
        events: mpsc::UnboundedSender<PeerEvent>,
    ) -> Result<Peer> {
        let connected = Arc::new(tokio::sync::watch::channel(false).0);
        let local_ice = Arc::new(std::sync::Mutex::new(None));
        let capture_ext = Arc::new(capture::CaptureExt::default());
        let liveness = Arc::new(data::Liveness::new(ports.controls.clone()));
        let peer_events = events.clone();
        let routes = unrouted::Routes::default();
        let strays = unrouted::Sinks {
            routes: routes.clone(),
            audio_in: ports.audio_in.clone(),
            video_in: ports.video_in.clone(),
            counters: ports.counters.clone(),
            events: events.clone(),
        };
        let handler = Arc::new(Handler {
            events,
            connected: connected.clone(),
            force_keyframe: ports.force_keyframe.clone(),
            want_keyframe: ports.want_keyframe.clone(),
            audio_in: ports.audio_in.clone(),
            video_in: ports.video_in.clone(),
            counters: ports.counters.clone(),
            local_ice: local_ice.clone(),
            capture_ext: capture_ext.clone(),
            liveness: liveness.clone(),
        });
        // mDNS (to resolve browsers' .local candidates) needs a multicast-capable interface;
        // without one (a bare network namespace, some containers) go on without it.
        let runtime = Arc::new(runtime::PeerRuntime::new(setup.impair));
        let impaired = setup.impair.map(|_| runtime.counts());
        let estimate = ports
            .send_ceiling_bps
            .map(|max| (max, estimate::EstimateView::default()));
        let estimate_view = estimate.as_ref().map(|(_, view)| view.clone());
        let (pc, local_fingerprint) = match build_pc(
            setup,
            ports.video_codec.get(),
            handler.clone(),
            true,
            Some(strays.clone()),
            runtime.clone(),
            estimate.clone(),
        )
        .await
        {
            Ok(built) => built,
            Err(e) => {
                if let Some(bad) = unbindable(setup) {
                    return Err(bad);
                }
                warn!("{e}; trying again without mDNS (.local candidates will not resolve)");
                build_pc(
                    setup,
                    ports.video_codec.get(),
                    handler,
                    false,
                    Some(strays),
                    runtime,
                    estimate,
                )
                .await?
            }
        };
        Ok(Peer {
            pc,
            local_fingerprint,
            connected,
            local_ice,
            capture_ext,
            liveness,
            events: peer_events,
            routes,
            remote_sdp: std::sync::Mutex::new(None),
            audio_out: ports.audio_out,
            video_out: ports.video_out,
            local: Vec::new(),
            force_keyframe: ports.force_keyframe,
            counters: ports.counters,
            video_codec: ports.video_codec,
            pending_candidates: std::sync::Mutex::new(Vec::new()),
            remote_set: AtomicBool::new(false),
            remote_has_data: AtomicBool::new(false),
            data_channel: setup.data_channel,
            impaired,
            estimate: estimate_view,
        })
    }

    /// Add our tracks. The dialer calls this before its offer (`offerer`: it then also adds
    /// receive-only transceivers for kinds it does not send); the answerer after applying the
    /// offer, so its tracks attach to the offered transceivers, in a codec the offer carries.
    /// Returns notes for the person (our codec was not taken, nothing to send video on).
    pub async fn attach_media(&mut self, offerer: bool) -> Result<Vec<String>> {
        let mut notes = Vec::new();
        if offerer && self.data_channel {
            // A data channel proves SCTP over DTLS works too: the answerer echoes our pings.
            let channel = self
                .pc
                .create_data_channel("rtccall", None)
                .await
                .map_err(|e| wrtc("creating the data channel", e))?;
            tokio::spawn(wake_driver(channel.clone(), self.connected.subscribe()));
            tokio::spawn(send_pings(
                channel,
                self.counters.clone(),
                self.events.clone(),
                self.liveness.clone(),
            ));
        } else if self.remote_has_data.load(Ordering::SeqCst) {
            // A channel of our own, never opened on the wire (negotiated, unannounced), only
            // to wake the driver while connecting (see wake_driver).
            let init = rtc::data_channel::RTCDataChannelInit {
                negotiated: Some(1022),
                ..Default::default()
            };
            match self
                .pc
                .create_data_channel("rtccall-wake", Some(init))
                .await
            {
                Ok(ch) => {
                    tokio::spawn(wake_driver(ch, self.connected.subscribe()));
                }
                Err(e) => debug!("no wake-up channel: {e}"),
            }
        }
        for kind in [MediaKind::Audio, MediaKind::Video] {
            let frames = match kind {
                MediaKind::Audio => self.audio_out.take(),
                MediaKind::Video => self.video_out.take(),
            };
            let rtp_kind = match kind {
                MediaKind::Audio => RtpCodecKind::Audio,
                MediaKind::Video => RtpCodecKind::Video,
            };
            let Some(frames) = frames else {
                if offerer {
                    self.pc
                        .add_transceiver_from_kind(
                            rtp_kind,
                            Some(RTCRtpTransceiverInit {
                                direction: RTCRtpTransceiverDirection::Recvonly,
                                ..Default::default()
                            }),
                        )
                        .await
                        .map_err(|e| wrtc("adding a receive-only transceiver", e))?;
                }
                continue;
            };
            if !offerer && !self.offer_receives(kind) {
                // A sendonly offer (a WHIP publisher): answering with a track would make the
                // answer's direction one the offerer must refuse.
                notes.push(format!(
                    "the other side receives no {} (its offer is send-only): ours is not sent",
                    kind.as_str()
                ));
                continue;
            }
            if kind == MediaKind::Video && !offerer {
                match self.offered_video_codecs() {
                    None => {
                        notes.push("the offer has no video section: our video is not sent".into());
                        continue;
                    }
                    Some(offered) => {
                        let ours = self.video_codec.get();
                        let Some(&first) = offered.first() else {
                            return Err(Error::signaling(
                                "no common video codec: the offer carries none of VP8, VP9 and \
                                 H.264 (packetization-mode 1), the codecs rtccall sends"
                                    .into(),
                            ));
                        };
                        if !offered.contains(&ours) {
                            notes.push(format!(
                                "the other side does not take {} (--video-codec); sending {} \
                                 instead, the first codec of its offer",
                                ours.label(),
                                first.label()
                            ));
                            self.video_codec.set(first);
                        }
                    }
                }
            }
            let ssrc: u32 = rand_ssrc();
            let codec = match kind {
                MediaKind::Audio => opus_codec(),
                MediaKind::Video => video_codec(self.video_codec.get()),
            };
            let track = Arc::new(
                TrackLocalStaticSample::new(
                    Instant::now(),
                    // Track ids must differ from the other peer's: webrtc-rs routes inbound RTCP
                    // (PLI for our sender) by track id and looks at remote tracks first.
                    MediaStreamTrack::new(
                        format!("rtccall-{ssrc:08x}"),
                        format!("rtccall-{}-{ssrc:08x}", kind.as_str()),
                        format!("rtccall {}", kind.as_str()),
                        rtp_kind,
                        vec![RTCRtpEncodingParameters {
                            rtp_coding_parameters: RTCRtpCodingParameters {
                                ssrc: Some(ssrc),
                                ..Default::default()
                            },
                            codec,
                            ..Default::default()
                        }],
                    ),
                )
                .map_err(|e| wrtc("creating a local track", e))?,
            );
            let sender = self
                .pc
                .add_track(track.clone() as Arc<dyn TrackLocal>)
                .await
                .map_err(|e| wrtc("adding a local track", e))?;
            if offerer && kind == MediaKind::Video {
                self.offer_every_video_codec(&sender).await?;
            }
            self.local.push(LocalTrack {
                kind,
                track,
                sender,
                ssrc,
                frames,
            });
        }
        Ok(notes)
    }

    /// A track added with one codec makes webrtc-rs offer only that codec: offer all we decode
    /// (and can send), ours first, like a browser.
    async fn offer_every_video_codec(&self, sender: &Arc<dyn RtpSender>) -> Result<()> {
        let ours = self.video_codec.get();
        let prefs: Vec<RTCRtpCodecParameters> = std::iter::once(ours)
            .chain(VideoCodec::ALL.into_iter().filter(|c| *c != ours))
            .map(|c| RTCRtpCodecParameters {
                rtp_codec: video_codec(c),
                payload_type: video_pt(c),
            })
            .collect();
        let id: rtc::rtp_transceiver::RTCRtpTransceiverId = sender.id().into();
        for t in self.pc.get_transceivers().await {
            if t.id() == id {
                t.set_codec_preferences(prefs.clone())
                    .await
                    .map_err(|e| wrtc("offering every video codec", e))?;
            }
        }
        Ok(())
    }

    /// The video codecs of the remote offer that rtccall can send, in the offer's order; `None`
    /// when the offer has no (active) video section.
    /// Whether the remote offer takes media of `kind` from us: an active section of that kind
    /// that is not `sendonly` (or `inactive`). True when there is no offer to look at.
    fn offer_receives(&self, kind: MediaKind) -> bool {
        let remote = self.remote_sdp.lock().unwrap_or_else(|p| p.into_inner());
        let Some(sdp) = remote.as_ref() else {
            return true;
        };
        let mut sections = sdp
            .media_descriptions
            .iter()
            .filter(|m| m.media_name.media.eq_ignore_ascii_case(kind.as_str()) && section_active(m))
            .peekable();
        if sections.peek().is_none() {
            // No section of this kind: the video check below says so.
            return true;
        }
        sections.any(|m| !m.has_attribute("sendonly") && !m.has_attribute("inactive"))
    }

    fn offered_video_codecs(&self) -> Option<Vec<VideoCodec>> {
        let remote = self.remote_sdp.lock().unwrap_or_else(|p| p.into_inner());
        let sdp = remote.as_ref()?;
        let mut found = None;
        for m in sdp
            .media_descriptions
            .iter()
            .filter(|m| m.media_name.media.eq_ignore_ascii_case("video") && section_active(m))
        {
            let list: &mut Vec<VideoCodec> = found.get_or_insert_with(Vec::new);
            let codecs = m.codecs();
            for pt in m
                .media_name
                .formats
                .iter()
                .filter_map(|f| f.parse::<u8>().ok())
            {
                let Some(c) = codecs.get(&pt) else { continue };
                let Some(vc) = codec_from_mime(&format!("video/{}", c.name)) else {
                    continue;
                };
                // We packetize H.264 with FU-A only.
                if vc == VideoCodec::H264 && !c.fmtp.contains("packetization-mode=1") {
                    continue;
                }
                if !list.contains(&vc) {
                    list.push(vc);
                }
            }
        }
        found
    }

    /// The kinds the remote description says the other side sends (sections that are
    /// `sendrecv` or `sendonly` from its side).
    pub fn remote_sends(&self) -> Vec<MediaKind> {
        let remote = self.remote_sdp.lock().unwrap_or_else(|p| p.into_inner());
        let Some(sdp) = remote.as_ref() else {
            return Vec::new();
        };
        let mut kinds = Vec::new();
        for m in &sdp.media_descriptions {
            let kind = match m.media_name.media.as_str() {
                "audio" => MediaKind::Audio,
                "video" => MediaKind::Video,
                _ => continue,
            };
            let sends = section_active(m) && m.attribute("recvonly").is_none();
            if sends && !kinds.contains(&kind) {
                kinds.push(kind);
            }
        }
        kinds
    }

    /// Start moving encoded frames onto the negotiated tracks. Call once negotiation is done.
    /// Returns the tracks that will be sent, as `(kind, codec)`, and notes on what will not.
    pub async fn start_sending(&mut self) -> (Vec<(MediaKind, String)>, Vec<String>) {
        let mut started = Vec::new();
        let mut notes = Vec::new();
        for local in self.local.drain(..) {
            let codec = match local.kind {
                MediaKind::Audio => MIME_TYPE_OPUS,
                MediaKind::Video => video_mime(self.video_codec.get()),
            };
            let mut taken = Vec::new();
            let pt = match local.sender.get_parameters().await {
                Ok(p) => {
                    taken = p
                        .rtp_parameters
                        .codecs
                        .iter()
                        .map(|c| c.rtp_codec.mime_type.clone())
                        .collect();
                    let same: Vec<_> = p
                        .rtp_parameters
                        .codecs
                        .iter()
                        .filter(|c| c.rtp_codec.mime_type.eq_ignore_ascii_case(codec))
                        .collect();
                    // H.264 must be packetization-mode 1 (FU-A): that is what we packetize.
                    same.iter()
                        .find(|c| {
                            codec != MIME_TYPE_H264
                                || c.rtp_codec.sdp_fmtp_line.contains("packetization-mode=1")
                        })
                        .or(same.first())
                        .map(|c| c.payload_type)
                }
                Err(e) => {
                    warn!("no parameters for the {} sender: {e}", local.kind.as_str());
                    None
                }
            };
            let Some(pt) = pt else {
                let hint = match taken.iter().find_map(|m| codec_from_mime(m)) {
                    Some(c) => format!(
                        "; it takes {}: dial with --video-codec {}",
                        c.label(),
                        c.flag()
                    ),
                    None => String::new(),
                };
                notes.push(format!(
                    "the other side does not take our {} ({codec}); not sending it{hint}",
                    local.kind.as_str()
                ));
                continue;
            };
            started.push((local.kind, codec.to_string()));
            let connected = self.connected.subscribe();
            let counters = self.counters.clone();
            let force = self.force_keyframe.clone();
            let feedback_track = local.track.clone();
            let feedback_counters = self.counters.clone();
            tokio::spawn(async move {
                // A keyframe per request, but at most one per keyframe_gap: on a narrow link
                // each keyframe costs loss, and the loss more requests (a storm measured at a
                // 500 kbit/s bottleneck: 4 keyframes a second); a request inside the gap is
                // served when it ends.
                let mut last: Option<tokio::time::Instant> = None;
                let mut pending: Option<tokio::time::Instant> = None;
                loop {
                    let wake = pending.unwrap_or_else(tokio::time::Instant::now);
                    tokio::select! {
                        ev = feedback_track.poll() => match ev {
                            None => break,
                            Some(TrackLocalEvent::OnRtcpPacket(_)) => {
                                feedback_counters
                                    .video
                                    .plis_received
                                    .fetch_add(1, Ordering::Relaxed);
                                let gap = keyframe_gap(&feedback_counters);
                                let now = tokio::time::Instant::now();
                                match last {
                                    Some(t) if now < t + gap => {
                                        pending.get_or_insert(t + gap);
                                    }
                                    _ => {
                                        force.store(true, Ordering::SeqCst);
                                        last = Some(now);
                                    }
                                }
                            }
                            Some(_) => {}
                        },
                        _ = tokio::time::sleep_until(wake), if pending.is_some() => {
                            pending = None;
                            force.store(true, Ordering::SeqCst);
                            last = Some(tokio::time::Instant::now());
                        }
                    }
                }
            });
            let codec = (local.kind == MediaKind::Video).then(|| self.video_codec.get());
            let force = self.force_keyframe.clone();
            let capture = self.capture_ext.clone();
            tokio::spawn(write_frames(
                local, pt, codec, connected, force, counters, capture,
            ));
        }
        (started, notes)
    }

    pub async fn create_offer(&self) -> Result<String> {
        self.make_local(true).await
    }

    /// An offer that restarts ICE: new credentials, candidates gathered again (webrtc-rs
    /// rebinds its sockets, so a changed network is picked up).
    pub async fn restart_offer(&self) -> Result<String> {
        self.pc
            .restart_ice()
            .await
            .map_err(|e| wrtc("restarting ICE", e))?;
        self.make_local(true).await
    }

    /// Apply an offer made once connected (an ICE restart) and answer it.
    pub async fn answer_again(&self, sdp: &str) -> Result<String> {
        self.apply_remote(RTCSessionDescription::offer(sdp.to_string()), "offer")
            .await?;
        self.make_local(false).await
    }

    /// Apply the remote offer (tracks must be attached after this, then [`Peer::create_answer`]).
    pub async fn apply_offer(&self, sdp: &str) -> Result<()> {
        self.remote_has_data
            .store(sdp.contains("m=application"), Ordering::SeqCst);
        self.apply_remote(RTCSessionDescription::offer(sdp.to_string()), "offer")
            .await
    }

    pub async fn create_answer(&self) -> Result<String> {
        self.make_local(false).await
    }

    pub async fn apply_answer(&self, sdp: &str) -> Result<()> {
        self.apply_remote(RTCSessionDescription::answer(sdp.to_string()), "answer")
            .await
    }

    /// Create our offer (or answer) and apply it; its SDP.
    async fn make_local(&self, offer: bool) -> Result<String> {
        let what = if offer { "offer" } else { "answer" };
        let desc = if offer {
            self.pc.create_offer(None).await
        } else {
            self.pc.create_answer(None).await
        }
        .map_err(|e| wrtc(&format!("creating the {what}"), e))?;
        let sdp = desc.sdp.clone();
        // Before it is applied: gathering (and our first candidates) start then.
        *self.local_ice.lock().unwrap_or_else(|p| p.into_inner()) =
            desc.unmarshal().ok().and_then(|d| LocalIce::from_sdp(&d));
        self.pc
            .set_local_description(desc)
            .await
            .map_err(|e| wrtc(&format!("applying our {what}"), e))?;
        Ok(sdp)
    }

    /// Apply the other side's offer or answer (a refusal is a signaling failure).
    async fn apply_remote(
        &self,
        desc: std::result::Result<RTCSessionDescription, impl std::fmt::Display>,
        what: &str,
    ) -> Result<()> {
        let desc =
            desc.map_err(|e| Error::signaling(format!("the {what} is not valid SDP: {e}")))?;
        self.pc
            .set_remote_description(desc)
            .await
            .map_err(|e| Error::signaling(format!("the {what} was not accepted: {e}")))?;
        self.remote_applied().await;
        Ok(())
    }

    async fn remote_applied(&self) {
        let sdp = self
            .pc
            .remote_description()
            .await
            .and_then(|d| d.unmarshal().ok());
        if let Some(sdp) = &sdp {
            self.routes.set_from_sdp(sdp);
            self.capture_ext.set_from_sdp(sdp);
        }
        *self.remote_sdp.lock().unwrap_or_else(|p| p.into_inner()) = sdp;
        self.remote_set.store(true, Ordering::SeqCst);
        let pending = std::mem::take(
            &mut *self
                .pending_candidates
                .lock()
                .unwrap_or_else(|p| p.into_inner()),
        );
        for c in pending {
            self.add_candidate_now(c).await;
        }
    }

    /// Add a trickled remote candidate; held back until the remote description is applied.
    pub async fn add_remote_candidate(&self, c: CandidateLine) {
        if !self.remote_set.load(Ordering::SeqCst) {
            self.pending_candidates
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(c);
            return;
        }
        self.add_candidate_now(c).await;
    }

    async fn add_candidate_now(&self, c: CandidateLine) {
        let init = RTCIceCandidateInit {
            candidate: c.candidate.clone(),
            sdp_mid: c.sdp_mid,
            sdp_mline_index: c.sdp_mline_index,
            username_fragment: c.username_fragment,
            url: None,
        };
        if let Err(e) = self.pc.add_ice_candidate(init).await {
            warn!("remote candidate {:?} not usable: {e}", c.candidate);
        }
    }

    /// Close the peer connection (idempotent).
    /// Opens data channels for [`crate::data`] (once connected).
    pub fn opener(&self) -> Arc<dyn crate::data::Opener> {
        Arc::new(data::ChannelOpener(self.pc.clone()))
    }

    /// The connection's security words, from the two descriptions' DTLS fingerprints
    /// ([`crate::sas`]); `None` until both are applied.
    pub async fn sas(&self) -> Option<String> {
        let local = self.pc.local_description().await?;
        let remote = self.pc.remote_description().await?;
        crate::sas::of_descriptions(&local.sdp, &remote.sdp)
    }

    /// The security words an incoming offer would give, before it is answered (our
    /// certificate is known from the start).
    pub fn sas_for_offer(&self, offer: &str) -> Option<String> {
        Some(crate::sas::words(
            self.local_fingerprint.as_deref()?,
            &crate::sas::fingerprint(offer)?,
        ))
    }

    /// Tell the other side we hang up on the liveness channel (when signaling cannot);
    /// whether it went.
    pub async fn say_bye(&self, reason: &str) -> bool {
        self.liveness.say_bye(reason).await
    }

    pub async fn close(&self) {
        if let Err(e) = self.pc.close().await {
            debug!("closing the peer connection: {e}");
        }
    }
}

/// When the peer connection cannot be built, the first `--bind`/`--bind-tcp` address no socket
/// can be bound to: a usage error, not a connection failure.
fn unbindable(setup: &PeerSetup) -> Option<Error> {
    let udp = setup
        .udp_bind
        .iter()
        .find_map(|a| std::net::UdpSocket::bind(a).err().map(|e| ("--bind", a, e)));
    let tcp = || {
        setup.tcp_bind.iter().find_map(|a| {
            std::net::TcpListener::bind(a)
                .err()
                .map(|e| ("--bind-tcp", a, e))
        })
    };
    udp.or_else(tcp)
        .map(|(flag, a, e)| Error::usage(format!("{flag} {a}: cannot open a socket there: {e}")))
}

/// A media section that is not rejected (port 0 without `bundle-only`) nor inactive. Bundled
/// sections of some stacks (webrtcbin) carry port 0 with `a=bundle-only`.
pub(super) fn section_active(m: &rtc::sdp::MediaDescription) -> bool {
    (m.media_name.port.value != 0 || m.attribute("bundle-only").is_some())
        && m.attribute("inactive").is_none()
}
