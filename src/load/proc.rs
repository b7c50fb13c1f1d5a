//! What this process spends, from /proc: CPU time (as a share of one core over an interval)
//! and peak resident memory, so a load generator that saturates itself shows it.

use std::time::Instant;

/// CPU time this process used so far, in seconds (user + system), from /proc/self/stat.
pub fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) in parentheses.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line: 12 and 13 after the name.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    let hz = rustix::param::clock_ticks_per_second() as f64;
    Some((utime + stime) / hz)
}

/// Peak resident memory of this process (VmHWM), MiB.
pub fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| (kb / 1024.0 * 10.0).round() / 10.0)
}

/// CPU shares over successive intervals.
pub struct CpuClock {
    first: (Instant, f64),
    last: (Instant, f64),
}

impl CpuClock {
    pub fn start() -> CpuClock {
        let now = (Instant::now(), cpu_seconds().unwrap_or(0.0));
        CpuClock {
            first: now,
            last: now,
        }
    }

    /// The share of one core used since the last lap, %.
    pub fn lap(&mut self) -> f64 {
        let now = (Instant::now(), cpu_seconds().unwrap_or(self.last.1));
        let share = share(self.last, now);
        self.last = now;
        share
    }

    /// The share of one core used since the start, %.
    pub fn overall(&self) -> f64 {
        share(
            self.first,
            (Instant::now(), cpu_seconds().unwrap_or(self.last.1)),
        )
    }
}

fn share(a: (Instant, f64), b: (Instant, f64)) -> f64 {
    let wall = b.0.duration_since(a.0).as_secs_f64();
    if wall <= 0.0 {
        return 0.0;
    }
    ((b.1 - a.1) / wall * 1000.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_and_memory_are_read() {
        let before = cpu_seconds().expect("/proc/self/stat");
        let mut x = 0u64;
        let t = Instant::now();
        while t.elapsed().as_millis() < 100 {
            x = x.wrapping_mul(31).wrapping_add(7);
        }
        assert!(x != 1);
        assert!(cpu_seconds().unwrap() - before >= 0.05);
        assert!(peak_rss_mib() > 1.0);
    }
}
