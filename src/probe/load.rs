//! `probe --load N --duration S`: N concurrent clients against one TURN server, each with its
//! own allocation, permission, channel and local echo peer, sending `--rate` packets of
//! `--size` bytes a second through the relay for the duration. Reports the `load` step:
//! allocations per second and their failures by code, relayed packets per second and Mbit/s,
//! loss and round-trip percentiles under load.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::relay::{CHANNEL, EchoPath};
use super::servers::Server;
use super::wire::{Frame, WireError};
use super::{ProbeConfig, Timer, explain_code, ms, round1, round3};
use crate::report::probe_schema::{LoadAllocations, LoadFigures, LoadRtt, Status, Step};

/// What `--load` asks for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoadConfig {
    /// Concurrent clients (allocations).
    pub clients: u32,
    /// How long each client sends.
    pub duration: Duration,
    /// Packets per second per client.
    pub rate_pps: u32,
    /// Bytes per packet (ChannelData payload).
    pub size: usize,
}

/// The smallest packet: a sequence number and a send time.
pub const MIN_SIZE: usize = 12;

/// What one client saw.
#[derive(Debug, Default)]
struct ClientResult {
    /// Time to the granted allocation, or why there was none.
    allocated: Option<Result<Duration, String>>,
    /// Why the echo path could not be set up, when it could not.
    path_error: Option<String>,
    sent: u64,
    rtts_us: Vec<u32>,
}

/// A failure as the key of the failure table: the STUN code, or what happened.
fn failure_key(e: &WireError) -> String {
    match e {
        WireError::Stun { code, .. } => code.to_string(),
        WireError::Timeout => "timeout".into(),
        WireError::Io(_) => "io".into(),
        WireError::Tls(_) | WireError::NotTls(_) => "tls".into(),
        WireError::Protocol(_) | WireError::NotStun(_) => "protocol".into(),
    }
}

async fn client(
    server: &Server,
    remote: SocketAddr,
    mapped: Option<SocketAddr>,
    cfg: &ProbeConfig,
    load: LoadConfig,
    t: &Timer,
) -> ClientResult {
    let mut r = ClientResult::default();
    let Some((user, pass)) = server.credentials() else {
        r.allocated = Some(Err("credentials".into()));
        return r;
    };
    let began = Instant::now();
    let (mut turn, alloc) = match super::fresh_allocation(server, remote, cfg, (user, pass)).await {
        Ok(v) => v,
        Err(refusal) => {
            r.allocated = Some(Err(failure_key(&refusal.error)));
            return r;
        }
    };
    r.allocated = Some(Ok(began.elapsed()));
    let path = match EchoPath::open(&mut turn, alloc.relayed, mapped, cfg, t, CHANNEL).await {
        Ok(p) => p,
        Err(s) => {
            r.path_error = Some(s.message);
            turn.release().await;
            return r;
        }
    };
    let base = Instant::now();
    let end = base + load.duration;
    let spacing = Duration::from_secs_f64(1.0 / f64::from(load.rate_pps));
    let mut next = base;
    let mut payload = vec![0u8; load.size];
    let mut seen =
        vec![false; (load.duration.as_secs_f64() * f64::from(load.rate_pps)) as usize + 2];
    let mut finish = end;
    loop {
        let now = Instant::now();
        if now < end && now >= next {
            let seq = r.sent as u32;
            payload[..4].copy_from_slice(&seq.to_be_bytes());
            payload[4..12].copy_from_slice(&(base.elapsed().as_micros() as u64).to_be_bytes());
            if turn.conn.send_channel(CHANNEL, &payload).await.is_err() {
                break;
            }
            r.sent += 1;
            next += spacing;
            if next >= end {
                // Echoes still on their way get half a second.
                finish = end.max(Instant::now()) + Duration::from_millis(500);
            }
            continue;
        }
        if now >= finish || (now >= end && r.rtts_us.len() as u64 == r.sent) {
            break;
        }
        let wake = if now < end { next } else { finish };
        match turn
            .conn
            .recv(
                wake.saturating_duration_since(now)
                    .max(Duration::from_micros(50)),
            )
            .await
        {
            Ok(Frame::Channel { number, data }) if number == CHANNEL && data.len() >= MIN_SIZE => {
                let seq = u32::from_be_bytes([data[0], data[1], data[2], data[3]]) as usize;
                let at = u64::from_be_bytes(data[4..12].try_into().expect("8 bytes"));
                if let Some(s) = seen.get_mut(seq)
                    && !*s
                {
                    *s = true;
                    let rtt = (base.elapsed().as_micros() as u64).saturating_sub(at);
                    r.rtts_us.push(rtt.min(u64::from(u32::MAX)) as u32);
                }
            }
            Ok(_) | Err(WireError::Timeout) => {}
            Err(_) => break,
        }
    }
    path.close().await;
    turn.release().await;
    r
}

/// p-th percentile (0..=1) of sorted values.
fn pick(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// The `load` step of TURN server `server` (reached at `remote`; `mapped` is our address as
/// the server sees it).
pub(super) async fn run(
    server: &Server,
    remote: SocketAddr,
    mapped: Option<SocketAddr>,
    cfg: &ProbeConfig,
    load: LoadConfig,
) -> Step {
    let label = server.label();
    let t = Timer::new(&label, "load", Some(server.transport));
    cfg.releases.settle().await;
    let started = Instant::now();
    let clients = (0..load.clients).map(|_| client(server, remote, mapped, cfg, load, &t));
    let results = futures_util::future::join_all(clients).await;
    cfg.releases.mark();
    let wall = started.elapsed();

    let mut failed: BTreeMap<String, u32> = BTreeMap::new();
    let mut alloc_ms = Vec::new();
    let mut path_errors = Vec::new();
    let (mut sent, mut received) = (0u64, 0u64);
    let mut rtts: Vec<f64> = Vec::new();
    for r in &results {
        match &r.allocated {
            Some(Ok(d)) => alloc_ms.push(d.as_secs_f64() * 1000.0),
            Some(Err(k)) => *failed.entry(k.clone()).or_default() += 1,
            None => {}
        }
        if let Some(e) = &r.path_error {
            path_errors.push(e.clone());
        }
        sent += r.sent;
        received += r.rtts_us.len() as u64;
        rtts.extend(r.rtts_us.iter().map(|u| f64::from(*u) / 1000.0));
    }
    alloc_ms.sort_by(f64::total_cmp);
    rtts.sort_by(f64::total_cmp);
    let granted = alloc_ms.len() as u32;
    // Allocations per second: those granted over the time until the last was granted.
    let per_second = alloc_ms
        .last()
        .map(|last| round1(f64::from(granted) / (last / 1000.0).max(1e-3)))
        .unwrap_or(0.0);
    let secs = load.duration.as_secs_f64();
    let pps = received as f64 / secs;
    let mbit = received as f64 * load.size as f64 * 8.0 / secs / 1e6;
    let loss = if sent == 0 {
        100.0
    } else {
        100.0 * (sent - received) as f64 / sent as f64
    };
    let rtt = (!rtts.is_empty()).then(|| LoadRtt {
        p50: round3(pick(&rtts, 0.5)),
        p95: round3(pick(&rtts, 0.95)),
        p99: round3(pick(&rtts, 0.99)),
        max: round3(pick(&rtts, 1.0)),
    });
    let figures = LoadFigures {
        clients: load.clients,
        duration_s: round1(secs),
        rate_pps: load.rate_pps,
        size_bytes: load.size as u32,
        allocations: LoadAllocations {
            asked: load.clients,
            granted,
            failed: failed.clone(),
            per_second,
            p50_ms: alloc_ms.get(alloc_ms.len() / 2).map(|v| round3(*v)),
            max_ms: alloc_ms.last().map(|v| round3(*v)),
        },
        packets_sent: sent,
        packets_received: received,
        packets_per_second: round1(pps),
        mbit_s: round3(mbit),
        loss_pct: round3(loss),
        rtt_ms: rtt.clone(),
    };
    let message = format!(
        "{granted}/{} allocations ({per_second}/s), {received}/{sent} packets echoed ({:.0} \
         pps, {:.2} Mbit/s each way), loss {:.2} %{}",
        load.clients,
        pps,
        mbit,
        loss,
        rtt.as_ref()
            .map(|r| format!(", rtt p50 {} p95 {} p99 {} ms", r.p50, r.p95, r.p99))
            .unwrap_or_default()
    );
    let failures = failed
        .iter()
        .map(|(k, n)| format!("{n}× {k}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut why = Vec::new();
    if !failed.is_empty() {
        let (worst, _) = failed.iter().max_by_key(|(_, n)| **n).expect("not empty");
        why.push(format!(
            "allocations refused or lost: {failures}{}",
            match worst.parse::<u16>() {
                Ok(code) => format!(" ({})", explain_code(code, true)),
                Err(_) => String::new(),
            }
        ));
    }
    if !path_errors.is_empty() {
        why.push(format!(
            "{} allocations could not relay to their echo peer (the first: {})",
            path_errors.len(),
            path_errors[0]
        ));
    }
    if loss > 1.0 && received > 0 {
        why.push(format!(
            "{loss:.1} % of the packets were lost under load: the relay, its rate limits \
             (coturn max-bps, bps-capacity) or this host's CPU cannot keep up"
        ));
    }
    let mut s = if granted == 0 || received == 0 {
        if why.is_empty() {
            why.push("no packet came back through any allocation".into());
        }
        t.done(Status::Fail, message)
    } else if !why.is_empty() {
        t.done(Status::Warn, message)
    } else {
        t.done(Status::Pass, message)
    };
    if !why.is_empty() {
        s.explanation = Some(why.join("; "));
    }
    s.duration_ms = ms(wall);
    s.sent = Some(sent.min(u64::from(u32::MAX)) as u32);
    s.received = Some(received.min(u64::from(u32::MAX)) as u32);
    s.loss_pct = Some(round1(loss));
    s.load = Some(figures);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_keyed_by_code_or_kind() {
        let stun = WireError::Stun {
            code: 486,
            reason: "Allocation Quota Reached".into(),
        };
        assert_eq!(failure_key(&stun), "486");
        assert_eq!(failure_key(&WireError::Timeout), "timeout");
        assert_eq!(failure_key(&WireError::Io("x".into())), "io");
    }

    #[test]
    fn percentiles_pick_from_sorted_values() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(pick(&v, 0.5), 51.0);
        assert_eq!(pick(&v, 0.99), 99.0);
        assert_eq!(pick(&v, 1.0), 100.0);
        assert_eq!(pick(&[7.0], 0.99), 7.0);
    }
}
