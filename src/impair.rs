//! `--impair SPEC`: what a peer does to the datagrams it sends (loss, delay, jitter, rate,
//! reorder), as a pure, seeded decision per datagram; the socket that applies it lives in
//! `call::peer::runtime`.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};

/// A parsed `--impair` specification. Every field is optional; the default impairs nothing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ImpairSpec {
    /// Share of datagrams dropped at random, 0..=1.
    pub loss: f64,
    /// Fixed one-way delay added to every datagram.
    pub delay: Duration,
    /// Each datagram's delay varies uniformly within ±jitter (order is kept, as in a queue).
    pub jitter: Duration,
    /// Link rate in bits per second (0 = unlimited): datagrams are serialised at this rate.
    pub rate_bps: u64,
    /// How much the rate limiter may queue before it drops (tail drop), as time at the rate.
    pub queue: Duration,
    /// Share of datagrams held back (by `max(20 ms, 2 × jitter)`), so later ones overtake them.
    pub reorder: f64,
    /// Seed of the random choices; the same seed gives the same choices for the same traffic.
    pub seed: u64,
}

impl Default for ImpairSpec {
    fn default() -> Self {
        ImpairSpec {
            loss: 0.0,
            delay: Duration::ZERO,
            jitter: Duration::ZERO,
            rate_bps: 0,
            queue: Duration::from_millis(200),
            reorder: 0.0,
            seed: 1,
        }
    }
}

impl ImpairSpec {
    /// Whether datagrams ever wait (otherwise they are only dropped or sent at once).
    pub fn delays(&self) -> bool {
        !self.delay.is_zero() || !self.jitter.is_zero() || self.rate_bps > 0 || self.reorder > 0.0
    }

    /// How far a reordered datagram is held back.
    pub fn reorder_hold(&self) -> Duration {
        (self.jitter * 2).max(Duration::from_millis(20))
    }
}

fn percent(key: &str, v: &str) -> Result<f64, String> {
    let n = v
        .strip_suffix('%')
        .ok_or_else(|| format!("{key}={v}: give a percentage such as {key}=5%"))?;
    let p: f64 = n
        .parse()
        .map_err(|_| format!("{key}={v}: not a number of percent"))?;
    if !(0.0..=100.0).contains(&p) {
        return Err(format!("{key}={v}: must be between 0% and 100%"));
    }
    Ok(p / 100.0)
}

fn duration(key: &str, v: &str) -> Result<Duration, String> {
    let (n, scale) = if let Some(n) = v.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = v.strip_suffix("us") {
        (n, 1e-6)
    } else if let Some(n) = v.strip_suffix('s') {
        (n, 1.0)
    } else {
        return Err(format!(
            "{key}={v}: give a duration with its unit, such as {key}=100ms"
        ));
    };
    let x: f64 = n.parse().map_err(|_| format!("{key}={v}: not a number"))?;
    if !(0.0..=60.0).contains(&(x * scale)) {
        return Err(format!("{key}={v}: must be between 0 and 60 s"));
    }
    Ok(Duration::from_secs_f64(x * scale))
}

fn rate(key: &str, v: &str) -> Result<u64, String> {
    let lower = v.to_ascii_lowercase();
    let units = [
        ("gbit", 1e9),
        ("mbit", 1e6),
        ("kbit", 1e3),
        ("bit", 1.0),
        ("mbps", 8e6),
        ("kbps", 8e3),
    ];
    let (n, scale) = units
        .iter()
        .find_map(|(u, s)| lower.strip_suffix(u).map(|n| (n, *s)))
        .ok_or_else(|| {
            format!("{key}={v}: give a rate with its unit: bit, kbit, mbit, gbit (or kbps, mbps)")
        })?;
    let x: f64 = n.parse().map_err(|_| format!("{key}={v}: not a number"))?;
    let bps = x * scale;
    if !(1000.0..=1e11).contains(&bps) {
        return Err(format!("{key}={v}: must be between 1kbit and 100gbit"));
    }
    Ok(bps as u64)
}

impl FromStr for ImpairSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let mut spec = ImpairSpec::default();
        let mut seen: Vec<&str> = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, v) = part.split_once('=').ok_or_else(|| {
                format!(
                    "{part}: expected KEY=VALUE (loss, delay, jitter, rate, queue, reorder, seed)"
                )
            })?;
            if seen.contains(&key) {
                return Err(format!("{key} is given twice"));
            }
            seen.push(key);
            match key {
                "loss" => spec.loss = percent(key, v)?,
                "reorder" => spec.reorder = percent(key, v)?,
                "delay" => spec.delay = duration(key, v)?,
                "jitter" => spec.jitter = duration(key, v)?,
                "queue" => spec.queue = duration(key, v)?,
                "rate" => spec.rate_bps = rate(key, v)?,
                "seed" => {
                    spec.seed = v
                        .parse()
                        .map_err(|_| format!("seed={v}: not a whole number"))?
                }
                _ => {
                    return Err(format!(
                        "unknown impairment {key:?} (loss, delay, jitter, rate, queue, reorder, seed)"
                    ));
                }
            }
        }
        if seen.is_empty() {
            return Err("empty: give e.g. loss=5%,delay=100ms,jitter=20ms".into());
        }
        if spec.jitter > spec.delay {
            return Err(format!(
                "jitter={}ms needs a delay of at least as much (delay={}ms): a delay cannot go below zero",
                spec.jitter.as_secs_f64() * 1e3,
                spec.delay.as_secs_f64() * 1e3
            ));
        }
        Ok(spec)
    }
}

impl fmt::Display for ImpairSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if self.loss > 0.0 {
            parts.push(format!("loss={}%", self.loss * 100.0));
        }
        if !self.delay.is_zero() {
            parts.push(format!("delay={}ms", self.delay.as_secs_f64() * 1e3));
        }
        if !self.jitter.is_zero() {
            parts.push(format!("jitter={}ms", self.jitter.as_secs_f64() * 1e3));
        }
        if self.rate_bps > 0 {
            parts.push(format!("rate={}kbit", self.rate_bps as f64 / 1e3));
            parts.push(format!("queue={}ms", self.queue.as_secs_f64() * 1e3));
        }
        if self.reorder > 0.0 {
            parts.push(format!("reorder={}%", self.reorder * 100.0));
        }
        parts.push(format!("seed={}", self.seed));
        write!(f, "{}", parts.join(","))
    }
}

/// What happens to one datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Dropped at random (`loss`).
    Lost,
    /// Dropped because the rate limiter's queue is full.
    Overflow,
    /// Leaves at this instant (which may be now).
    SendAt(Instant),
}

/// Counts of what the shaper did, for the summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImpairCounts {
    pub sent: u64,
    pub lost: u64,
    pub overflow: u64,
    pub reordered: u64,
}

/// The per-socket decision maker: one random stream, the rate limiter's clock and the last
/// departure (so that jitter keeps order).
#[derive(Debug)]
pub struct Shaper {
    spec: ImpairSpec,
    rng: SmallRng,
    /// When the rate limiter has finished serialising what it accepted.
    busy_until: Option<Instant>,
    /// The latest departure given to an in-order datagram.
    last_departure: Option<Instant>,
    pub counts: ImpairCounts,
}

impl Shaper {
    /// `stream` separates the random streams of several sockets under one seed.
    pub fn new(spec: ImpairSpec, stream: u64) -> Shaper {
        Shaper {
            spec,
            rng: SmallRng::seed_from_u64(spec.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ stream),
            busy_until: None,
            last_departure: None,
            counts: ImpairCounts::default(),
        }
    }

    /// Decide the fate of a datagram of `len` bytes handed over at `now`.
    pub fn decide(&mut self, len: usize, now: Instant) -> Fate {
        let s = self.spec;
        if s.loss > 0.0 && self.rng.random::<f64>() < s.loss {
            self.counts.lost += 1;
            return Fate::Lost;
        }
        // Serialisation at the link rate, behind what is already queued.
        let mut at = now;
        if s.rate_bps > 0 {
            let start = self.busy_until.filter(|b| *b > now).unwrap_or(now);
            if start.duration_since(now) > s.queue {
                self.counts.overflow += 1;
                return Fate::Overflow;
            }
            let done = start + Duration::from_secs_f64((len as f64 * 8.0) / s.rate_bps as f64);
            self.busy_until = Some(done);
            at = done;
        }
        // Propagation delay, varied by jitter.
        let mut delay = s.delay.as_secs_f64();
        if !s.jitter.is_zero() {
            let j = s.jitter.as_secs_f64();
            delay += self.rng.random_range(-j..=j);
        }
        at += Duration::from_secs_f64(delay.max(0.0));
        if s.reorder > 0.0 && self.rng.random::<f64>() < s.reorder {
            self.counts.reordered += 1;
            self.counts.sent += 1;
            return Fate::SendAt(at + s.reorder_hold());
        }
        // A queue keeps order: never leave before the datagram sent before.
        if let Some(last) = self.last_departure {
            at = at.max(last);
        }
        self.last_departure = Some(at);
        self.counts.sent += 1;
        Fate::SendAt(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_specs() {
        let s: ImpairSpec = "loss=5%,delay=100ms,jitter=20ms,rate=1mbit,reorder=1%,seed=7"
            .parse()
            .unwrap();
        assert_eq!(s.loss, 0.05);
        assert_eq!(s.delay, Duration::from_millis(100));
        assert_eq!(s.jitter, Duration::from_millis(20));
        assert_eq!(s.rate_bps, 1_000_000);
        assert_eq!(s.reorder, 0.01);
        assert_eq!(s.seed, 7);
        assert_eq!(s, s.to_string().parse().unwrap());
        assert_eq!(
            "rate=500kbit".parse::<ImpairSpec>().unwrap().rate_bps,
            500_000
        );
        assert_eq!(
            "delay=1.5s".parse::<ImpairSpec>().unwrap().delay,
            Duration::from_millis(1500)
        );
        for bad in [
            "",
            "loss=5",
            "loss=120%",
            "delay=100",
            "delay=-1ms",
            "rate=1",
            "rate=fastmbit",
            "wobble=1%",
            "loss=1%,loss=2%",
            "delay=10ms,jitter=20ms",
            "seed=x",
            "loss",
        ] {
            let e = bad.parse::<ImpairSpec>().unwrap_err();
            assert!(!e.contains('\n'), "{bad}: {e}");
        }
    }

    #[test]
    fn loss_is_seeded_and_near_its_rate() {
        let spec: ImpairSpec = "loss=10%,seed=3".parse().unwrap();
        let now = Instant::now();
        let run = || {
            let mut s = Shaper::new(spec, 0);
            (0..10_000)
                .map(|_| s.decide(100, now) == Fate::Lost)
                .collect::<Vec<_>>()
        };
        let a = run();
        assert_eq!(a, run(), "same seed, same choices");
        let lost = a.iter().filter(|l| **l).count();
        assert!((900..1100).contains(&lost), "{lost}");
        let other: ImpairSpec = "loss=10%,seed=4".parse().unwrap();
        let mut s = Shaper::new(other, 0);
        let b: Vec<_> = (0..10_000)
            .map(|_| s.decide(100, now) == Fate::Lost)
            .collect();
        assert_ne!(a, b);
    }

    #[test]
    fn delay_and_jitter_keep_order_within_bounds() {
        let spec: ImpairSpec = "delay=100ms,jitter=20ms".parse().unwrap();
        let t0 = Instant::now();
        let mut s = Shaper::new(spec, 0);
        let mut last = t0;
        let mut spread = (Duration::MAX, Duration::ZERO);
        for i in 0..1000u32 {
            let now = t0 + Duration::from_millis(i as u64);
            let Fate::SendAt(at) = s.decide(1000, now) else {
                panic!("nothing is lost")
            };
            assert!(at >= last, "order kept");
            last = at;
            let d = at - now;
            spread = (spread.0.min(d), spread.1.max(d));
        }
        assert!(spread.0 >= Duration::from_millis(80), "{spread:?}");
        assert!(spread.1 <= Duration::from_millis(121), "{spread:?}");
        assert!(
            spread.1 - spread.0 > Duration::from_millis(25),
            "{spread:?}"
        );
    }

    #[test]
    fn rate_serialises_and_tail_drops() {
        // 1 Mbit/s: a 1250-byte datagram takes 10 ms; the queue holds 50 ms.
        let spec: ImpairSpec = "rate=1mbit,queue=50ms".parse().unwrap();
        let now = Instant::now();
        let mut s = Shaper::new(spec, 0);
        let fates: Vec<_> = (0..10).map(|_| s.decide(1250, now)).collect();
        assert_eq!(fates[0], Fate::SendAt(now + Duration::from_millis(10)));
        assert_eq!(fates[4], Fate::SendAt(now + Duration::from_millis(50)));
        assert_eq!(fates[5], Fate::SendAt(now + Duration::from_millis(60)));
        assert!(fates[6..].iter().all(|f| *f == Fate::Overflow), "{fates:?}");
        assert_eq!(s.counts.overflow, 4);
        // Once drained, it accepts again.
        let later = now + Duration::from_millis(100);
        assert_eq!(
            s.decide(1250, later),
            Fate::SendAt(later + Duration::from_millis(10))
        );
    }

    #[test]
    fn reorder_holds_some_back_so_later_ones_overtake() {
        let spec: ImpairSpec = "reorder=10%,seed=9".parse().unwrap();
        let t0 = Instant::now();
        let mut s = Shaper::new(spec, 0);
        let departures: Vec<Instant> = (0..1000u64)
            .map(|i| match s.decide(100, t0 + Duration::from_millis(i)) {
                Fate::SendAt(at) => at,
                f => panic!("{f:?}"),
            })
            .collect();
        let overtaken = departures.windows(2).filter(|w| w[1] < w[0]).count();
        assert!((60..140).contains(&overtaken), "{overtaken}");
        // Each held datagram is overtaken, unless the one after it was held too.
        let held = s.counts.reordered as usize;
        assert!(
            overtaken <= held && held - overtaken <= 15,
            "{held} {overtaken}"
        );
    }
}
