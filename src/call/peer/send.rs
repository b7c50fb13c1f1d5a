//! The send loop: encoded frames from the media threads onto the local tracks, the newest
//! keyframe held until the call connects, and what it counts.

use super::*;

/// One local track and the queue of frames it sends.
pub(super) struct LocalTrack {
    pub(super) kind: MediaKind,
    pub(super) track: Arc<TrackLocalStaticSample>,
    pub(super) sender: Arc<dyn RtpSender>,
    pub(super) ssrc: u32,
    pub(super) frames: mpsc::Receiver<EncodedFrame>,
}

/// Least time between two keyframes made on request: twice the RTT, from 300 ms to 1.5 s.
pub(super) fn keyframe_gap(counters: &Counters) -> std::time::Duration {
    let rtt = std::time::Duration::from_micros(counters.rtt_us.load(Ordering::Relaxed));
    (rtt * 2).clamp(
        std::time::Duration::from_millis(300),
        std::time::Duration::from_millis(1500),
    )
}

/// Move encoded frames onto a track; video frames in another codec than the negotiated one
/// (left from before the encoder switched) are dropped.
pub(super) async fn write_frames(
    mut local: LocalTrack,
    pt: u8,
    codec: Option<VideoCodec>,
    mut connected: tokio::sync::watch::Receiver<bool>,
    force_keyframe: Arc<AtomicBool>,
    counters: Arc<Counters>,
    capture: Arc<super::capture::CaptureExt>,
) {
    let kind_counters = counters.of(local.kind);
    // The newest keyframe (video) or frame (audio) encoded before the call connected, sent the
    // moment it does rather than after the next capture and encode (up to a frame interval
    // plus an encode).
    let mut held: Option<EncodedFrame> = None;
    loop {
        let live = *connected.borrow();
        let frame = match held.take() {
            Some(h) if live => h,
            waiting => {
                held = waiting;
                // Holding one, it goes the moment the call connects; otherwise wait.
                let next = if held.is_some() {
                    tokio::select! {
                        biased;
                        up = connected.wait_for(|c| *c) => {
                            if up.is_err() {
                                break;
                            }
                            continue;
                        }
                        next = local.frames.recv() => next,
                    }
                } else {
                    local.frames.recv().await
                };
                let Some(frame) = next else { break };
                if frame.codec != codec {
                    continue;
                }
                if !*connected.borrow() {
                    // Nothing can be sent yet. Keep the newest keyframe, and ask for the next
                    // frame to be one too, so the one held stays fresh and nothing encoded after
                    // it depends on a frame that was not sent (the encoder is also told to make
                    // a keyframe on connect).
                    // (Every Opus frame decodes on its own: audio keeps the newest.)
                    if frame.keyframe || codec.is_none() {
                        held = Some(frame);
                    }
                    if codec.is_some() {
                        force_keyframe.store(true, Ordering::Relaxed);
                    }
                    continue;
                }
                frame
            }
        };
        let sample = Sample {
            data: frame.data,
            duration: frame.duration,
            ..Sample::new(frame.captured)
        };
        let mut writer = local.track.sample_writer(local.ssrc, pt);
        // The capture instant on the wall clock, for the other side's latency: only to a peer
        // whose description carries the extension (webrtc-rs would otherwise send it under our
        // own id, which the other side may have given to another extension).
        if capture.negotiated(local.kind) {
            let wall = std::time::SystemTime::now()
                .checked_sub(frame.captured.elapsed())
                .unwrap_or_else(std::time::SystemTime::now);
            writer = writer.with_extension(rtc::rtp::extension::HeaderExtension::Custom {
                uri: crate::media::timing::ABS_CAPTURE_TIME_URI.into(),
                extension: Box::new(crate::media::timing::AbsCaptureTime(
                    crate::media::timing::ntp(wall),
                )),
            });
        }
        match writer.write_sample(&sample).await {
            Ok(()) => {
                kind_counters.frames_sent.fetch_add(1, Ordering::Relaxed);
                if frame.keyframe {
                    kind_counters.keyframes_sent.fetch_add(1, Ordering::Relaxed);
                }
            }
            Err(e) => {
                debug!("{} frame not sent: {e}", local.kind.as_str());
                kind_counters.send_errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// A random SSRC (never 0).
pub(super) fn rand_ssrc() -> u32 {
    use rand::RngExt;
    let mut rng: rand::rngs::SmallRng = rand::make_rng();
    rng.random::<u32>() | 1
}
