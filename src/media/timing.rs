//! What the receive side measures about time: capture-to-decode latency (the sender's capture
//! time rides in the `abs-capture-time` RTP header extension), freezes between decoded frames,
//! and how many frames the other side sent, counted from their RTP timestamps.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rtc::shared::error::{Error as MarshalError, Result as MarshalResult};
use rtc::shared::marshal::{Marshal, MarshalSize};

/// The header extension's URI (libwebrtc's `abs-capture-time`).
pub const ABS_CAPTURE_TIME_URI: &str =
    "http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time";

/// Seconds from the NTP epoch (1900) to the Unix epoch (1970).
const NTP_UNIX_OFFSET_S: u64 = 2_208_988_800;

/// A wall-clock instant as a 64-bit NTP timestamp (UQ32.32 seconds since 1900).
pub fn ntp(t: SystemTime) -> u64 {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    let secs = d.as_secs() + NTP_UNIX_OFFSET_S;
    let frac = (u64::from(d.subsec_nanos()) << 32) / 1_000_000_000;
    (secs << 32) | frac
}

/// An NTP timestamp as microseconds since the Unix epoch (0 before it).
pub fn ntp_to_unix_us(ntp: u64) -> i64 {
    let secs = (ntp >> 32).saturating_sub(NTP_UNIX_OFFSET_S);
    let frac_us = ((ntp & 0xffff_ffff) * 1_000_000) >> 32;
    (secs * 1_000_000 + frac_us) as i64
}

/// Now, in microseconds since the Unix epoch.
pub fn unix_us_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

/// The `abs-capture-time` payload rtccall sends: the 8-byte capture timestamp alone (the
/// optional clock-offset field is for mixers, which rtccall is not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbsCaptureTime(pub u64);

impl MarshalSize for AbsCaptureTime {
    fn marshal_size(&self) -> usize {
        8
    }
}

impl Marshal for AbsCaptureTime {
    fn marshal_to(&self, buf: &mut [u8]) -> MarshalResult<usize> {
        let Some(out) = buf.get_mut(..8) else {
            return Err(MarshalError::ErrBufferTooSmall);
        };
        out.copy_from_slice(&self.0.to_be_bytes());
        Ok(8)
    }
}

impl AbsCaptureTime {
    /// Parse a received payload: 8 bytes, or 16 with the clock offset (ignored).
    pub fn parse(payload: &[u8]) -> Option<AbsCaptureTime> {
        if payload.len() != 8 && payload.len() != 16 {
            return None;
        }
        let t = u64::from_be_bytes(payload[..8].try_into().ok()?);
        (t != 0).then_some(AbsCaptureTime(t))
    }
}

/// The other side's clock against ours, for turning its capture times into ages: receiver
/// clock minus sender clock, µs, as estimated over the data channel (0 until estimated: the
/// clocks are taken to agree).
#[derive(Debug, Default)]
pub struct ClockOffset {
    offset_us: AtomicI64,
    known: AtomicBool,
    /// The round trip of the sample the estimate came from, µs (the smallest seen wins).
    best_rtt_us: AtomicI64,
}

impl ClockOffset {
    /// One exchange: we sent at `t1`, the other side stamped `t2` on receipt, we got the reply
    /// at `t3` (each µs on its own clock). Kept when its round trip is the shortest so far
    /// (or the estimate is old news: within 2 ms of the best, newer samples win).
    pub fn sample(&self, t1: i64, t2: i64, t3: i64) {
        let rtt = t3 - t1;
        if rtt < 0 {
            return;
        }
        let best = self.best_rtt_us.load(Ordering::Relaxed);
        if self.known.load(Ordering::Relaxed) && rtt > best + 2_000 {
            return;
        }
        // Our clock minus theirs: we were at (t1 + t3) / 2 when they were at t2.
        let offset = (t1 + t3) / 2 - t2;
        self.offset_us.store(offset, Ordering::Relaxed);
        self.best_rtt_us.store(
            if self.known.load(Ordering::Relaxed) {
                best.min(rtt)
            } else {
                rtt
            },
            Ordering::Relaxed,
        );
        self.known.store(true, Ordering::Relaxed);
    }

    /// Receiver clock minus sender clock, µs (0 until estimated).
    pub fn offset_us(&self) -> i64 {
        self.offset_us.load(Ordering::Relaxed)
    }

    pub fn known(&self) -> bool {
        self.known.load(Ordering::Relaxed)
    }
}

/// Capture-to-decode ages, µs: every one for the summary's percentiles (capped), and those
/// since the last stats record for its median.
#[derive(Debug, Default)]
pub struct Latencies {
    all: Vec<u32>,
    recent: Vec<u32>,
}

/// Ages kept for percentiles: 30 fps for an hour.
const LATENCIES_MAX: usize = 108_000;

impl Latencies {
    pub fn push(&mut self, age_us: i64) {
        let us = age_us.clamp(0, i64::from(u32::MAX)) as u32;
        if self.all.len() < LATENCIES_MAX {
            self.all.push(us);
        }
        if self.recent.len() < LATENCIES_MAX {
            self.recent.push(us);
        }
    }

    /// The median of the ages since the last call, ms (`None` when none came).
    pub fn take_interval_median(&mut self) -> Option<f64> {
        let v = percentiles_ms(&mut self.recent, &[50.0]);
        self.recent.clear();
        v.map(|p| p[0])
    }

    /// p50 and p95 of every age, ms.
    pub fn p50_p95(&self) -> Option<(f64, f64)> {
        let mut all = self.all.clone();
        percentiles_ms(&mut all, &[50.0, 95.0]).map(|p| (p[0], p[1]))
    }
}

/// Percentiles (nearest rank) of µs values, in ms rounded to 0.1.
fn percentiles_ms(v: &mut [u32], ps: &[f64]) -> Option<Vec<f64>> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    Some(
        ps.iter()
            .map(|p| {
                let i = ((p / 100.0) * (v.len() - 1) as f64).round() as usize;
                (f64::from(v[i.min(v.len() - 1)]) / 100.0).round() / 10.0
            })
            .collect(),
    )
}

/// Counts freezes as webrtc-internals does (`freezeCount`): a gap between two decoded frames
/// longer than 3 times the mean of the last 30 gaps, or than that mean plus 150 ms, whichever
/// is longer.
#[derive(Debug, Default)]
pub struct FreezeDetector {
    last: Option<std::time::Instant>,
    gaps_ms: VecDeque<f64>,
    sum_ms: f64,
}

/// Gaps the mean is taken over.
const FREEZE_WINDOW: usize = 30;

impl FreezeDetector {
    /// A frame was decoded at `now`: the length of the freeze it ends, if it ends one.
    pub fn frame(&mut self, now: std::time::Instant) -> Option<Duration> {
        let last = self.last.replace(now)?;
        let gap = now.duration_since(last);
        let gap_ms = gap.as_secs_f64() * 1000.0;
        let freeze = if self.gaps_ms.len() >= 5 {
            let mean = self.sum_ms / self.gaps_ms.len() as f64;
            gap_ms > (3.0 * mean).max(mean + 150.0)
        } else {
            false
        };
        self.gaps_ms.push_back(gap_ms);
        self.sum_ms += gap_ms;
        if self.gaps_ms.len() > FREEZE_WINDOW {
            self.sum_ms -= self.gaps_ms.pop_front().unwrap_or(0.0);
        }
        freeze.then_some(gap)
    }
}

/// How many frames the other side sent, from the RTP timestamps of the packets that arrived:
/// the span from the first to the newest timestamp divided by the usual step between frames
/// (the most common one), plus one, and never fewer than the distinct timestamps seen. So a
/// frame lost whole, every packet of it, is counted; a frame the sender skipped (its rate
/// controller, or a file's variable rate) makes a longer step and is not.
#[derive(Debug, Default)]
pub struct FrameCount {
    /// The first and the newest timestamp, unwrapped to 64 bits.
    first: Option<u64>,
    newest: u64,
    /// The newest timestamp as it came.
    last_raw: u32,
    /// Timestamps seen, each once.
    distinct: u64,
    /// How often each step between consecutive new timestamps came (at most 256 steps
    /// kept), and the most common one with its count.
    steps: HashMap<u64, u32>,
    usual: Option<(u64, u32)>,
}

impl FrameCount {
    /// A packet with RTP timestamp `ts` arrived; whether it starts a new frame (the count
    /// can change only then).
    pub fn packet(&mut self, ts: u32) -> bool {
        if self.first.is_none() {
            self.first = Some(u64::from(ts));
            self.newest = u64::from(ts);
            self.last_raw = ts;
            self.distinct = 1;
            return true;
        }
        // Unwrap against the newest: a step of under half the range either way.
        let delta = ts.wrapping_sub(self.last_raw) as i32;
        if delta <= 0 {
            return false; // same frame, or an older one arriving late
        }
        let ext = self.newest + delta as u64;
        let step = ext - self.newest;
        self.newest = ext;
        self.last_raw = ts;
        self.distinct += 1;
        if self.steps.len() < 256 || self.steps.contains_key(&step) {
            let n = self.steps.entry(step).or_insert(0);
            *n += 1;
            if self.usual.is_none_or(|(_, m)| *n > m) {
                self.usual = Some((step, *n));
            }
        }
        true
    }

    /// Frames sent from the first timestamp seen to the newest.
    pub fn expected(&self) -> u64 {
        let (Some(first), Some((step, _))) = (self.first, self.usual) else {
            return self.distinct;
        };
        let span = self.newest - first;
        let by_step = (span as f64 / step as f64).round() as u64 + 1;
        by_step.max(self.distinct)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn ntp_round_trips_and_capture_times_parse() {
        let t = UNIX_EPOCH + Duration::from_micros(1_765_000_000_123_456);
        let n = ntp(t);
        assert_eq!(n >> 32, 1_765_000_000 + NTP_UNIX_OFFSET_S);
        assert!((ntp_to_unix_us(n) - 1_765_000_000_123_456).abs() <= 1);
        let mut buf = [0u8; 8];
        assert_eq!(AbsCaptureTime(n).marshal_to(&mut buf).unwrap(), 8);
        assert_eq!(AbsCaptureTime::parse(&buf), Some(AbsCaptureTime(n)));
        let mut with_offset = buf.to_vec();
        with_offset.extend_from_slice(&[0; 8]);
        assert_eq!(AbsCaptureTime::parse(&with_offset), Some(AbsCaptureTime(n)));
        assert_eq!(AbsCaptureTime::parse(&buf[..3]), None);
        assert_eq!(AbsCaptureTime::parse(&[0; 8]), None);
    }

    #[test]
    fn clock_offset_comes_from_the_shortest_round_trip() {
        let c = ClockOffset::default();
        assert!(!c.known());
        // Their clock is 5 s behind ours; one-way 10 ms each way.
        c.sample(1_000_000, 1_000_000 - 5_000_000 + 10_000, 1_020_000);
        assert_eq!(c.offset_us(), 5_000_000);
        // A slow exchange (queued one way) does not move it.
        c.sample(2_000_000, 2_000_000 - 5_000_000 + 300_000, 2_320_000);
        assert_eq!(c.offset_us(), 5_000_000);
        assert!(c.known());
    }

    #[test]
    fn freezes_are_long_gaps_against_the_recent_mean() {
        let mut f = FreezeDetector::default();
        let mut t = Instant::now();
        let mut freezes = 0;
        for _ in 0..20 {
            t += Duration::from_millis(66);
            freezes += usize::from(f.frame(t).is_some());
        }
        assert_eq!(freezes, 0);
        // 200 ms: over 3 × 66 but not over 66 + 150: no freeze.
        t += Duration::from_millis(200);
        assert!(f.frame(t).is_none());
        t += Duration::from_millis(600);
        assert_eq!(f.frame(t), Some(Duration::from_millis(600)));
    }

    #[test]
    fn frames_lost_whole_are_counted_from_the_timestamps() {
        let mut c = FrameCount::default();
        // 15 fps at 90 kHz, starting near the wrap; frames 3 and 7 lost whole, frame 5 in two
        // packets, one packet of frame 2 arriving late.
        let base = u32::MAX - 10_000;
        let new: Vec<bool> = [0u32, 1, 2, 4, 5, 5, 6, 2, 8, 9]
            .iter()
            .map(|i| c.packet(base.wrapping_add(i * 6000)))
            .collect();
        assert_eq!(
            new,
            [true, true, true, true, true, false, true, false, true, true]
        );
        assert_eq!(c.expected(), 10);
        assert_eq!(FrameCount::default().expected(), 0);
    }
}
