//! The send-side bandwidth estimate: webrtc-rs's Google Congestion Control fed by
//! transport-wide congestion feedback (TWCC), wrapped so rtccall can read its figures.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use rtc::interceptor::{BandwidthEstimator, EstimatorStats, Gcc, PacketReport};

/// GCC's floor for the whole transport, bit/s.
pub const MIN_BPS: f64 = 150_000.0;

/// What the estimator says now.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Estimate {
    /// The whole transport's target, bit/s.
    pub target_bps: f64,
    /// Share of packets the other side reported lost (GCC's window), 0..=1.
    pub loss: Option<f64>,
    /// Whether any feedback arrived yet (a peer without TWCC never sends any).
    pub fed: bool,
}

/// Shared view of the estimate, written by the interceptor chain, read by the driver.
pub type EstimateView = Arc<Mutex<Estimate>>;

/// GCC, publishing its target after every update.
pub(super) struct Reporting {
    inner: Gcc,
    view: EstimateView,
}

impl Reporting {
    /// GCC between `min` and `max` bit/s, starting at `max` (the link is assumed good until the
    /// feedback says otherwise).
    pub(super) fn new(min: f64, max: f64, view: EstimateView) -> Reporting {
        let inner = Gcc::new(max, min, max);
        *view.lock().unwrap_or_else(|e| e.into_inner()) = Estimate {
            target_bps: inner.target_bitrate(),
            loss: None,
            fed: false,
        };
        Reporting { inner, view }
    }

    fn publish(&self, fed: bool) {
        let stats = self.inner.stats();
        let mut v = self.view.lock().unwrap_or_else(|e| e.into_inner());
        v.target_bps = self.inner.target_bitrate();
        v.loss = stats.packet_loss;
        v.fed |= fed;
    }
}

impl BandwidthEstimator for Reporting {
    fn on_reports(&mut self, now: Instant, reports: &[PacketReport]) {
        self.inner.on_reports(now, reports);
        self.publish(!reports.is_empty());
    }

    fn target_bitrate(&self) -> f64 {
        self.inner.target_bitrate()
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.inner.handle_timeout(now);
        self.publish(false);
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.inner.poll_timeout()
    }

    fn stats(&self) -> EstimatorStats {
        self.inner.stats()
    }
}
