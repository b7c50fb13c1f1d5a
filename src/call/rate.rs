//! The video send-rate controller: from the other side's RTCP receiver reports (fraction lost,
//! round-trip time) to the encoder's target bitrate, between `--video-bitrate` and a floor.
//! Pure: the driver feeds it each new report with the time.
//!
//! Loss-based as in GCC (draft-ietf-rmcat-gcc §6): over 10 % lost, cut by half the loss; under
//! 2 %, grow 8 % a report; in between, hold. Delay-based on top, from the RTT's rise over the
//! smallest seen: a rise of 40 ms (or a quarter of the base) means a queue is building at a
//! bottleneck: cut to 85 %; growth only while the RTT is within 20 ms of the base. The encoder
//! is reopened on each change (FFmpeg's libvpx does not follow a bit-rate change on an open
//! encoder), so the published target moves only in steps worth a keyframe: at least 15 %, and
//! upward at most every 2 s.

use std::time::{Duration, Instant};

/// The lowest target: below it video is not worth sending.
pub const FLOOR_BPS: u64 = 100_000;
/// Smallest relative change worth reopening the encoder for.
const STEP: f64 = 0.15;
/// Least time between two increases of the published target.
const RAISE_GAP: Duration = Duration::from_secs(2);

/// One RTCP receiver report's view of our video stream.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Report {
    /// Share of packets lost since the previous report, 0..=1.
    pub fraction_lost: f64,
    /// Round-trip time from the report, if it carried one.
    pub rtt: Option<Duration>,
}

#[derive(Debug, Clone)]
pub struct RateController {
    ceiling: f64,
    floor: f64,
    /// The controller's running estimate.
    estimate: f64,
    /// What the encoder is told (changes in steps).
    published: u64,
    last_raise: Option<Instant>,
    base_rtt: Option<Duration>,
    /// Reports seen, and cuts made.
    pub reports: u64,
    pub cuts: u64,
}

impl RateController {
    pub fn new(ceiling_bps: u64) -> RateController {
        let ceiling = ceiling_bps as f64;
        RateController {
            ceiling,
            floor: (FLOOR_BPS as f64).min(ceiling),
            estimate: ceiling,
            published: ceiling_bps,
            last_raise: None,
            base_rtt: None,
            reports: 0,
            cuts: 0,
        }
    }

    /// The target the encoder should use, in bit/s.
    pub fn target_bps(&self) -> u64 {
        self.published
    }

    /// Take one report; returns the new target when the encoder should change.
    pub fn on_report(&mut self, r: Report, now: Instant) -> Option<u64> {
        self.reports += 1;
        let rise = match (r.rtt, self.base_rtt) {
            (Some(rtt), Some(base)) => {
                self.base_rtt = Some(base.min(rtt));
                Some(rtt.saturating_sub(base.min(rtt)))
            }
            (Some(rtt), None) => {
                self.base_rtt = Some(rtt);
                Some(Duration::ZERO)
            }
            (None, _) => None,
        };
        let base = self.base_rtt.unwrap_or_default();
        let queueing = rise.is_some_and(|d| d >= Duration::from_millis(40).max(base / 4));
        let calm = rise.is_none_or(|d| d <= Duration::from_millis(20));
        let loss = r.fraction_lost.clamp(0.0, 1.0);
        if loss > 0.10 {
            self.estimate *= 1.0 - 0.5 * loss;
            self.cuts += 1;
        } else if queueing {
            self.estimate *= 0.85;
            self.cuts += 1;
        } else if loss < 0.02 && calm {
            self.estimate *= 1.08;
        }
        self.estimate = self.estimate.clamp(self.floor, self.ceiling);
        let published = self.published as f64;
        let change = (self.estimate - published) / published;
        let at_bound = (self.estimate == self.ceiling || self.estimate == self.floor)
            && self.estimate != published;
        if change <= -STEP || (change < 0.0 && at_bound) {
            self.published = self.estimate as u64;
            return Some(self.published);
        }
        if (change >= STEP || (change > 0.0 && at_bound))
            && self
                .last_raise
                .is_none_or(|t| now.duration_since(t) >= RAISE_GAP)
        {
            self.last_raise = Some(now);
            self.published = self.estimate as u64;
            return Some(self.published);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(loss: f64, rtt_ms: u64) -> Report {
        Report {
            fraction_lost: loss,
            rtt: Some(Duration::from_millis(rtt_ms)),
        }
    }

    #[test]
    fn a_clean_link_keeps_the_ceiling() {
        let mut c = RateController::new(1_000_000);
        let t0 = Instant::now();
        for i in 0..20 {
            assert_eq!(
                c.on_report(report(0.0, 2), t0 + Duration::from_secs(i)),
                None
            );
        }
        assert_eq!(c.target_bps(), 1_000_000);
    }

    #[test]
    fn heavy_loss_cuts_moderate_loss_holds() {
        let mut c = RateController::new(1_000_000);
        let t0 = Instant::now();
        // 5 % random loss: the hold band, no cut.
        for i in 0..10 {
            assert_eq!(
                c.on_report(report(0.05, 200), t0 + Duration::from_secs(i)),
                None
            );
        }
        // 30 % loss: cut by 15 % a report, published in steps.
        let cut = c.on_report(report(0.30, 200), t0 + Duration::from_secs(11));
        assert_eq!(cut, Some(850_000));
        for i in 12..40 {
            c.on_report(report(0.30, 200), t0 + Duration::from_secs(i));
        }
        assert_eq!(c.target_bps(), FLOOR_BPS);
    }

    #[test]
    fn a_queue_building_at_a_bottleneck_cuts_and_growth_waits_for_calm() {
        let mut c = RateController::new(1_000_000);
        let t0 = Instant::now();
        c.on_report(report(0.0, 10), t0);
        // RTT up 60 ms: cut.
        assert_eq!(
            c.on_report(report(0.0, 70), t0 + Duration::from_secs(1)),
            Some(850_000)
        );
        // Still queued: keeps cutting (published once the step is worth it).
        let mut t = t0 + Duration::from_secs(2);
        for _ in 0..3 {
            c.on_report(report(0.0, 70), t);
            t += Duration::from_secs(1);
        }
        let low = c.target_bps();
        assert!(low < 650_000, "{low}");
        // RTT 30 ms over the base: neither a queue nor calm: hold.
        for _ in 0..5 {
            assert_eq!(c.on_report(report(0.0, 40), t), None);
            t += Duration::from_secs(1);
        }
        // Calm again: grows back, raises at most every 2 s, up to the ceiling.
        let mut raises = Vec::new();
        for _ in 0..40 {
            if let Some(v) = c.on_report(report(0.0, 10), t) {
                raises.push((t, v));
            }
            t += Duration::from_secs(1);
        }
        assert_eq!(c.target_bps(), 1_000_000);
        assert!(raises.windows(2).all(|w| w[1].0 - w[0].0 >= RAISE_GAP));
        assert!(raises.windows(2).all(|w| w[1].1 > w[0].1));
    }

    #[test]
    fn a_fixed_delay_is_not_a_queue() {
        // 200 ms RTT from the start (a long path, --impair delay=100ms): no cut.
        let mut c = RateController::new(800_000);
        let t0 = Instant::now();
        for i in 0..10u64 {
            let jitter = (i % 3) * 10;
            assert_eq!(
                c.on_report(report(0.0, 200 + jitter), t0 + Duration::from_secs(i)),
                None
            );
        }
        assert_eq!(c.target_bps(), 800_000);
    }
}
