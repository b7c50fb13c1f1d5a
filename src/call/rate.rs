//! The video encoder's target bitrate, from the transport's send-side bandwidth estimate
//! (webrtc-rs's Google Congestion Control on transport-wide feedback, see `peer::estimate`):
//! what is left for video after audio and overheads, between a floor and `--video-bitrate`,
//! changed in steps. Pure: the driver feeds it the estimate with the time.
//!
//! A delay guard on top: GCC's delay-based half, as webrtc-rs 0.21 runs it, lets a queue build
//! at a narrow link until the loss-based half crashes the rate (measured: 100 → 900 → 100 kbit/s
//! cycles at a 500 kbit/s bottleneck). So the round-trip time is watched too: a rise of 40 ms
//! (or a quarter of the smallest RTT seen) over the smallest means a queue is building, and caps
//! video at 85 % of its target; the cap grows back 10 % a second while the RTT stays within
//! 20 ms of the base.
//!
//! Steps, because the encoder is reopened on each change (FFmpeg's libvpx does not follow a
//! bit-rate change on an open encoder) and so each change costs a keyframe: at least 15 %, down
//! at once, up at most every 2 s and by at most 20 %.

use std::time::{Duration, Instant};

/// The lowest video target: below it video is not worth sending.
pub const FLOOR_BPS: u64 = 100_000;
/// Kept for audio (Opus at 32 kbit/s with FEC), RTP/SRTP/UDP overheads and RTCP.
const AUDIO_ALLOWANCE_BPS: f64 = 64_000.0;
/// Share of the rest given to video: headroom for retransmissions and keyframes.
const VIDEO_SHARE: f64 = 0.85;
/// Smallest relative change worth reopening the encoder for.
const STEP: f64 = 0.15;
/// The largest increase of the published target in one step.
const MAX_RAISE: f64 = 0.2;
/// Least time between two increases of the published target.
const RAISE_GAP: Duration = Duration::from_secs(2);

#[derive(Debug, Clone)]
pub struct RateController {
    ceiling: u64,
    floor: u64,
    /// The delay guard's cap on the video target, bit/s.
    cap: f64,
    /// The smallest RTT seen on this path.
    base_rtt: Option<Duration>,
    /// What the encoder is told (changes in steps).
    published: u64,
    last_raise: Option<Instant>,
    /// Published decreases.
    pub cuts: u64,
}

impl RateController {
    pub fn new(ceiling_bps: u64) -> RateController {
        RateController {
            ceiling: ceiling_bps,
            floor: FLOOR_BPS.min(ceiling_bps),
            cap: ceiling_bps as f64,
            base_rtt: None,
            published: ceiling_bps,
            last_raise: None,
            cuts: 0,
        }
    }

    /// The whole transport's estimate that lets video have its ceiling.
    pub fn transport_ceiling_bps(ceiling_bps: u64) -> f64 {
        ceiling_bps as f64 / VIDEO_SHARE + AUDIO_ALLOWANCE_BPS
    }

    /// The target the encoder should use, in bit/s.
    pub fn target_bps(&self) -> u64 {
        self.published
    }

    /// A new path (ICE restart): its RTT has a new base.
    pub fn path_changed(&mut self) {
        self.base_rtt = None;
    }

    /// The delay guard: one RTT sample a tick.
    fn guard(&mut self, rtt: Duration) {
        let base = self.base_rtt.map_or(rtt, |b| b.min(rtt));
        self.base_rtt = Some(base);
        let rise = rtt.saturating_sub(base);
        if rise >= Duration::from_millis(40).max(base / 4) {
            self.cap = self.cap.min(self.published as f64 * 0.85);
        } else if rise <= Duration::from_millis(20) {
            self.cap = (self.cap * 1.10).max(self.published as f64);
        }
        self.cap = self.cap.clamp(self.floor as f64, self.ceiling as f64);
    }

    /// Take the transport estimate (bit/s) and the path's RTT now; returns the new target when
    /// the encoder should change.
    pub fn on_estimate(
        &mut self,
        estimate_bps: f64,
        rtt: Option<Duration>,
        now: Instant,
    ) -> Option<u64> {
        if let Some(rtt) = rtt {
            self.guard(rtt);
        }
        let want = ((estimate_bps - AUDIO_ALLOWANCE_BPS) * VIDEO_SHARE)
            .min(self.cap)
            .clamp(self.floor as f64, self.ceiling as f64) as u64;
        if want == self.published {
            return None;
        }
        let change = (want as f64 - self.published as f64) / self.published as f64;
        let at_bound = want == self.ceiling || want == self.floor;
        if change < 0.0 && (change <= -STEP || at_bound) {
            self.published = want;
            self.cuts += 1;
            return Some(want);
        }
        if change > 0.0
            && (change >= STEP || at_bound)
            && self
                .last_raise
                .is_none_or(|t| now.duration_since(t) >= RAISE_GAP)
        {
            // Probe upward gently: a step over the link's rate fills its queue at once.
            let want = want.min((self.published as f64 * (1.0 + MAX_RAISE)) as u64);
            self.last_raise = Some(now);
            self.published = want;
            return Some(want);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_estimate_at_the_ceiling_keeps_it() {
        let mut c = RateController::new(1_000_000);
        let full = RateController::transport_ceiling_bps(1_000_000);
        let t0 = Instant::now();
        for i in 0..10 {
            let e = full * (1.0 + i as f64 / 10.0);
            assert_eq!(c.on_estimate(e, None, t0 + Duration::from_secs(i)), None);
        }
        assert_eq!(c.target_bps(), 1_000_000);
    }

    #[test]
    fn small_moves_wait_big_cuts_apply_at_once() {
        let mut c = RateController::new(1_000_000);
        let t0 = Instant::now();
        let full = RateController::transport_ceiling_bps(1_000_000);
        // 5 % below: not worth a keyframe.
        assert_eq!(c.on_estimate(full * 0.95, None, t0), None);
        // A 500 kbit/s link: video gets what is left after audio, at once.
        let cut = c.on_estimate(500_000.0, None, t0).unwrap();
        assert_eq!(cut, ((500_000.0 - 64_000.0) * 0.85) as u64);
        assert_eq!(c.cuts, 1);
        // Never under the floor.
        assert_eq!(c.on_estimate(50_000.0, None, t0), Some(FLOOR_BPS));
    }

    #[test]
    fn raises_come_in_steps_at_most_every_two_seconds() {
        let mut c = RateController::new(2_000_000);
        let t0 = Instant::now();
        c.on_estimate(300_000.0, None, t0);
        let mut raises = Vec::new();
        let mut estimate = 300_000.0;
        for i in 1..60u64 {
            estimate *= 1.08;
            let t = t0 + Duration::from_millis(500 * i);
            if let Some(v) = c.on_estimate(estimate, None, t) {
                raises.push((t, v));
            }
        }
        assert_eq!(c.target_bps(), 2_000_000);
        assert!(raises.len() >= 3, "{raises:?}");
        assert!(raises.windows(2).all(|w| w[1].0 - w[0].0 >= RAISE_GAP));
        assert!(raises.windows(2).all(|w| w[1].1 > w[0].1));
    }

    #[test]
    fn a_queue_building_caps_video_until_the_rtt_is_calm() {
        let mut c = RateController::new(1_000_000);
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let plenty = 10_000_000.0;
        assert_eq!(c.on_estimate(plenty, Some(ms(10)), t0), None);
        // The RTT rises 60 ms while the estimate still says plenty: cut anyway.
        assert_eq!(
            c.on_estimate(plenty, Some(ms(70)), t0 + Duration::from_secs(1)),
            Some(850_000)
        );
        let mut t = t0 + Duration::from_secs(2);
        for _ in 0..3 {
            c.on_estimate(plenty, Some(ms(70)), t);
            t += Duration::from_secs(1);
        }
        let low = c.target_bps();
        assert!(low < 650_000, "{low}");
        // 30 ms over the base: neither a queue nor calm: hold.
        for _ in 0..5 {
            assert_eq!(c.on_estimate(plenty, Some(ms(40)), t), None);
            t += Duration::from_secs(1);
        }
        // Calm: the cap grows back to the ceiling, raises at most every 2 s.
        let mut raises = Vec::new();
        for _ in 0..60 {
            if let Some(v) = c.on_estimate(plenty, Some(ms(10)), t) {
                raises.push((t, v));
            }
            t += Duration::from_secs(1);
        }
        assert_eq!(c.target_bps(), 1_000_000);
        assert!(raises.windows(2).all(|w| w[1].0 - w[0].0 >= RAISE_GAP));
    }

    #[test]
    fn a_long_path_is_not_a_queue() {
        // 200 ms RTT from the start (--impair delay=100ms both ways) with ±20 ms wobble.
        let mut c = RateController::new(800_000);
        let t0 = Instant::now();
        for i in 0..20u64 {
            let rtt = Duration::from_millis(200 + (i % 3) * 20);
            assert_eq!(
                c.on_estimate(10_000_000.0, Some(rtt), t0 + Duration::from_secs(i)),
                None
            );
        }
        assert_eq!(c.target_bps(), 800_000);
    }
}
