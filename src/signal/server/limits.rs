//! What one client may cost the server: connection caps (in all and per address), the join
//! rate per address, and the timeouts on request heads, joins and stalled writes.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Connections past `max_connections` that still get an answer (503, or `/healthz`) before
/// new ones are closed unanswered.
pub const BUSY_RESERVE: usize = 64;
/// File descriptors kept back from `max_connections` for the listener, logs and the like.
const FD_RESERVE: u64 = 128;

/// The limits of one server.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Open connections served normally; over it, requests get 503 (and `/healthz` still
    /// answers).
    pub max_connections: usize,
    /// Open connections per client address (IPv6: per /64); 0 for no cap.
    pub max_per_ip: usize,
    /// Joins per second per client address (bursts of twice that); 0 for no limit.
    pub join_rate: u32,
    /// Time allowed to send a request head (and to finish a TLS handshake).
    pub head_timeout: Duration,
    /// An upgraded socket that has not joined a room by then is closed.
    pub join_timeout: Duration,
    /// A write to a client that takes longer than this disconnects it.
    pub stall_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_connections: default_max_connections(),
            max_per_ip: 64,
            join_rate: 10,
            head_timeout: Duration::from_secs(10),
            join_timeout: Duration::from_secs(10),
            stall_timeout: Duration::from_secs(10),
        }
    }
}

/// Raise this process's open-file limit to its hard limit; returns the (new) soft limit.
pub fn raise_fd_limit() -> u64 {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut l = getrlimit(Resource::Nofile);
    if l.current != l.maximum {
        l.current = l.maximum;
        let _ = setrlimit(Resource::Nofile, l);
    }
    getrlimit(Resource::Nofile).current.unwrap_or(1 << 20)
}

/// As many connections as the open-file limit allows, less a reserve.
pub fn default_max_connections() -> usize {
    let fds = rustix::process::getrlimit(rustix::process::Resource::Nofile)
        .current
        .unwrap_or(1 << 20);
    fds.saturating_sub(FD_RESERVE + BUSY_RESERVE as u64).max(16) as usize
}

/// The key a client address is counted under: IPv6 clients by their /64.
fn key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::from([s[0], s[1], s[2], s[3], 0, 0, 0, 0])
            }
        },
    }
}

#[derive(Default)]
struct PerIp {
    conns: usize,
    tokens: f64,
    last: Option<Instant>,
}

/// How a new connection is admitted.
pub enum Admission {
    /// Served normally.
    Open(Permit),
    /// Over `--max-connections`: answered 503 (except `/healthz` and `/metrics`).
    Busy(Permit),
    /// Over the per-address cap: answered 429.
    TooManyFromAddress(Permit),
    /// Over even the busy reserve: closed unanswered.
    Drop,
}

/// Counts connections and joins against [`Limits`].
pub struct Gate {
    pub limits: Limits,
    open: AtomicUsize,
    /// Told whenever a connection closes (see [`Gate::until_idle`]).
    closed: tokio::sync::Notify,
    per_ip: Mutex<HashMap<IpAddr, PerIp>>,
}

/// One admitted connection; dropping it gives its place back.
pub struct Permit {
    gate: Arc<Gate>,
    ip: IpAddr,
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.gate.open.fetch_sub(1, Ordering::SeqCst);
        self.gate.closed.notify_waiters();
        let mut m = self.gate.per_ip.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = m.get_mut(&self.ip) {
            e.conns = e.conns.saturating_sub(1);
            if e.conns == 0 {
                m.remove(&self.ip);
            }
        }
    }
}

impl Gate {
    pub fn new(limits: Limits) -> Arc<Gate> {
        Arc::new(Gate {
            limits,
            open: AtomicUsize::new(0),
            closed: tokio::sync::Notify::new(),
            per_ip: Mutex::new(HashMap::new()),
        })
    }

    /// Open connections (all kinds).
    pub fn open(&self) -> usize {
        self.open.load(Ordering::SeqCst)
    }

    /// Wait until no connection is open.
    pub async fn until_idle(&self) {
        loop {
            let closed = self.closed.notified();
            tokio::pin!(closed);
            // Registered before looking, so a close in between is not missed.
            closed.as_mut().enable();
            if self.open() == 0 {
                return;
            }
            closed.await;
        }
    }

    /// Count a new connection from `ip`.
    pub fn admit(self: &Arc<Gate>, ip: IpAddr) -> Admission {
        let open = self.open.fetch_add(1, Ordering::SeqCst) + 1;
        let k = key(ip);
        let conns = {
            let mut m = self.per_ip.lock().unwrap_or_else(|p| p.into_inner());
            let e = m.entry(k).or_default();
            e.conns += 1;
            e.conns
        };
        let permit = Permit {
            gate: self.clone(),
            ip: k,
        };
        if open > self.limits.max_connections + BUSY_RESERVE {
            return Admission::Drop;
        }
        if open > self.limits.max_connections {
            return Admission::Busy(permit);
        }
        if self.limits.max_per_ip > 0 && conns > self.limits.max_per_ip {
            return Admission::TooManyFromAddress(permit);
        }
        Admission::Open(permit)
    }

    /// Whether `ip` may join now (a token bucket of `join_rate` per second, bursts of twice
    /// that).
    pub fn may_join(&self, ip: IpAddr) -> bool {
        let rate = self.limits.join_rate;
        if rate == 0 {
            return true;
        }
        let burst = f64::from(rate) * 2.0;
        let now = Instant::now();
        let mut m = self.per_ip.lock().unwrap_or_else(|p| p.into_inner());
        let e = m.entry(key(ip)).or_default();
        let elapsed = e.last.map(|l| now - l).unwrap_or(Duration::from_secs(3600));
        e.tokens = (e.tokens + elapsed.as_secs_f64() * f64::from(rate)).min(burst);
        e.last = Some(now);
        if e.tokens >= 1.0 {
            e.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max: usize, per_ip: usize, rate: u32) -> Limits {
        Limits {
            max_connections: max,
            max_per_ip: per_ip,
            join_rate: rate,
            ..Limits::default()
        }
    }

    #[test]
    fn connections_over_the_caps_are_told_apart_and_given_back() {
        let g = Gate::new(limits(2, 0, 0));
        let ip: IpAddr = [10, 0, 0, 1].into();
        let a = g.admit(ip);
        let b = g.admit(ip);
        assert!(matches!(a, Admission::Open(_)) && matches!(b, Admission::Open(_)));
        assert!(matches!(g.admit(ip), Admission::Busy(_)));
        // The busy one was dropped at once; two are open.
        assert_eq!(g.open(), 2);
        drop(a);
        let c = g.admit(ip);
        assert!(matches!(c, Admission::Open(_)));
        let held: Vec<_> = (0..BUSY_RESERVE).map(|_| g.admit(ip)).collect();
        assert!(matches!(g.admit(ip), Admission::Drop));
        drop((held, b, c));
        assert_eq!(g.open(), 0);
    }

    #[test]
    fn per_address_cap_counts_ipv6_by_its_64() {
        let g = Gate::new(limits(100, 1, 0));
        let a: IpAddr = "2001:db8::1".parse().unwrap();
        let b: IpAddr = "2001:db8::2".parse().unwrap();
        let c: IpAddr = "2001:db9::2".parse().unwrap();
        let _p = g.admit(a);
        assert!(matches!(g.admit(b), Admission::TooManyFromAddress(_)));
        assert!(matches!(g.admit(c), Admission::Open(_)));
    }

    #[test]
    fn join_rate_is_a_token_bucket() {
        let g = Gate::new(limits(100, 0, 2));
        let ip: IpAddr = [10, 0, 0, 1].into();
        let allowed = (0..10).filter(|_| g.may_join(ip)).count();
        assert_eq!(allowed, 4, "a burst of twice the rate");
        assert!(g.may_join([10, 0, 0, 2].into()));
    }
}
