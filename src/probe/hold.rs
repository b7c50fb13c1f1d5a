//! `probe --hold SECS`: keeps one allocation, its permission and its channel alive for SECS
//! with Refresh, CreatePermission and ChannelBind every half lifetime (at least three times in
//! the hold) and a slow echo through the channel, reporting each refresh (`hold-refresh`
//! steps), the moment TURN REST credentials expire (`hold-expiry`), and a `hold` step with the
//! echo's figures. Catches servers that work for one lifetime and break on the first refresh.

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use super::relay::EchoPath;
use super::wire::{Allocation, Frame, Turn, WireError};
use super::{ProbeConfig, Sink, Timer, explain_with_auth, ms, round1, rtt_stats};
use crate::report::probe_schema::{Status, Step};

/// The channel the hold binds (the relay echo's is 0x4000).
const CHANNEL: u16 = 0x4001;

/// One echo packet this often.
const ECHO_EVERY: Duration = Duration::from_millis(200);

/// An echo that has not come back for this long means the relay stopped.
const ECHO_SILENT: Duration = Duration::from_secs(2);

/// Refresh every half lifetime and at least every quarter of the hold (so that a short hold
/// still shows three answers to refreshes), at least every second and at most every 120 s (so
/// that permissions, which last 300 s, and channels, 600 s, never lapse).
fn refresh_period(lifetime_s: u32, hold: Duration) -> Duration {
    Duration::from_millis(u64::from(lifetime_s) * 500)
        .min(hold / 4)
        .clamp(Duration::from_secs(1), Duration::from_secs(120))
}

/// The slow echo's tally: when each packet left, which came back, their round trips, and when
/// the last came back.
struct Echo {
    sent_at: Vec<Duration>,
    answered: std::collections::BTreeSet<usize>,
    rtts: Vec<f64>,
    last: Instant,
}

impl Echo {
    /// Count `f` if it is the echo of a packet sent and not yet counted.
    fn take(&mut self, f: &Frame, start: Instant) {
        if let Frame::Channel { number, data } = f
            && *number == CHANNEL
            && data.len() >= 4
        {
            let seq = u32::from_be_bytes([data[0], data[1], data[2], data[3]]) as usize;
            if let Some(at) = self.sent_at.get(seq)
                && self.answered.insert(seq)
            {
                self.rtts
                    .push((start.elapsed() - *at).as_secs_f64() * 1000.0);
                self.last = Instant::now();
            }
        }
    }
}

/// Hold `turn`'s allocation for `hold`; emits the `hold-refresh` and `hold-expiry` steps as they
/// happen (and keeps them in `steps`) and returns the `hold` step.
pub(super) async fn hold(
    turn: &mut Turn,
    alloc: &mut Allocation,
    client_mapped: Option<SocketAddr>,
    cfg: &ProbeConfig,
    (sink, steps): (&Sink, &mut Vec<Step>),
    (label, tr): (&str, Option<super::servers::Transport>),
    hold: Duration,
) -> Step {
    let t = Timer::new(label, "hold", tr);
    let path = match EchoPath::open(turn, alloc.relayed, client_mapped, cfg, &t, CHANNEL).await {
        Ok(p) => p,
        Err(s) => return *s,
    };
    let start = Instant::now();
    let end = start + hold;
    let period = refresh_period(alloc.lifetime_s, hold);
    let mut next_refresh = start + period;
    let expiry = crate::ice::rest_expiry(turn.username()).map(|at| {
        let left = at
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO);
        start + left
    });
    let mut expiry_told = false;
    let mut refreshes = 0u32;
    let mut after_expiry = 0u32;
    let mut failed_refresh: Option<String> = None;
    let mut echo = Echo {
        sent_at: Vec::new(),
        answered: std::collections::BTreeSet::new(),
        rtts: Vec::new(),
        last: start,
    };
    let mut next_echo = start;
    loop {
        let now = Instant::now();
        if now >= end {
            break;
        }
        if let Some(at) = expiry
            && !expiry_told
            && now >= at
        {
            expiry_told = true;
            let mut s = t.done(
                Status::Warn,
                format!(
                    "the TURN REST credentials expired {:.1} s into the hold",
                    at.saturating_duration_since(start).as_secs_f64()
                ),
            );
            s.step = "hold-expiry".into();
            s.explanation = Some(
                "from now on the server may refuse refreshes made with them (coturn answers \
                 401): clients must fetch new credentials before EXPIRY"
                    .into(),
            );
            steps.push(sink.step(s).await);
        }
        if failed_refresh.is_none() && now >= next_refresh {
            refreshes += 1;
            let s = refresh_once(turn, alloc, &path, refreshes, start, label, tr).await;
            if s.status == Status::Fail {
                failed_refresh = Some(s.message.clone());
            } else if expiry_told {
                after_expiry += 1;
            }
            steps.push(sink.step(s).await);
            next_refresh = Instant::now() + refresh_period(alloc.lifetime_s, hold);
            continue;
        }
        if now >= next_echo {
            let seq = echo.sent_at.len() as u32;
            let mut payload = [0u8; 100];
            payload[..4].copy_from_slice(&seq.to_be_bytes());
            if turn.conn.send_channel(CHANNEL, &payload).await.is_ok() {
                echo.sent_at.push(start.elapsed());
            }
            next_echo = now + ECHO_EVERY;
            continue;
        }
        let wake = [next_echo, end]
            .into_iter()
            .chain(failed_refresh.is_none().then_some(next_refresh))
            .chain(expiry.filter(|_| !expiry_told))
            .min()
            .unwrap_or(end);
        match turn.conn.recv(wake.saturating_duration_since(now)).await {
            Ok(f) => echo.take(&f, start),
            Err(WireError::Timeout) => {}
            Err(e) => {
                failed_refresh.get_or_insert(format!("the connection failed: {e}"));
                break;
            }
        }
    }
    // Echoes still on their way.
    let grace = Instant::now() + Duration::from_millis(300);
    while echo.answered.len() < echo.sent_at.len() {
        let left = grace.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        match turn.conn.recv(left).await {
            Ok(f) => echo.take(&f, start),
            Err(_) => break,
        }
    }
    path.close().await;
    let Echo {
        sent_at,
        answered,
        rtts,
        last: last_echo,
    } = echo;
    let sent = sent_at.len() as u32;
    let received = answered.len() as u32;
    let loss = 100.0 * f64::from(sent - received) / f64::from(sent.max(1));
    let rtt = rtt_stats(&rtts);
    let held = start.elapsed();
    let stopped = held.saturating_sub(last_echo - start) > ECHO_SILENT;
    let summary = format!(
        "held {:.0} s: {refreshes} refresh{}{}, {received}/{sent} echoes came back{}",
        held.as_secs_f64(),
        if refreshes == 1 { "" } else { "es" },
        if after_expiry > 0 {
            format!(" ({after_expiry} accepted after the REST credentials expired)")
        } else {
            String::new()
        },
        rtt.as_ref()
            .map(|r| format!(", rtt p50 {} ms p95 {} ms", r.p50, r.p95))
            .unwrap_or_default()
    );
    let mut s = match (&failed_refresh, stopped) {
        (Some(why), _) => t.fail(
            summary,
            format!(
                "{why}; the echo {}",
                if stopped {
                    format!(
                        "stopped {:.1} s into the hold",
                        (last_echo - start).as_secs_f64()
                    )
                } else {
                    "still came back until the end".to_string()
                }
            ),
        ),
        (None, true) => t.fail(
            summary,
            format!(
                "every refresh succeeded, but the echo stopped {:.1} s into the hold: the \
                 server dropped the relay, permission or channel it had just renewed",
                (last_echo - start).as_secs_f64()
            ),
        ),
        (None, false) if loss > 5.0 => {
            let mut s = t.done(Status::Warn, summary);
            s.explanation = Some(format!(
                "{loss:.0} % of the slow echo was lost while the allocation was held"
            ));
            s
        }
        (None, false) => t.done(Status::Pass, summary),
    };
    s.duration_ms = ms(held);
    s.sent = Some(sent);
    s.received = Some(received);
    s.loss_pct = Some(round1(loss));
    s.rtt_ms = rtt;
    s.refreshes = Some(refreshes);
    s.lifetime_s = Some(alloc.lifetime_s);
    s
}

/// One round of refreshes: the allocation, the permission, the channel.
async fn refresh_once(
    turn: &mut Turn,
    alloc: &mut Allocation,
    path: &EchoPath,
    n: u32,
    start: Instant,
    label: &str,
    tr: Option<super::servers::Transport>,
) -> Step {
    let t = Timer::new(label, "hold-refresh", tr);
    let at = start.elapsed().as_secs_f64();
    // The lifetime the server granted last (what a client keeps asking for).
    let asked = Duration::from_secs(u64::from(alloc.lifetime_s.max(1)));
    let result: Result<u32, (&str, WireError)> = async {
        let l = turn.refresh(asked).await.map_err(|e| ("Refresh", e))?;
        turn.create_permission(SocketAddr::new(path.permit_ip, 0))
            .await
            .map_err(|e| ("CreatePermission", e))?;
        turn.channel_bind(path.channel, path.peer)
            .await
            .map_err(|e| ("ChannelBind", e))?;
        Ok(l)
    }
    .await;
    let mut s = match result {
        Ok(l) => {
            alloc.lifetime_s = l;
            let mut s = t.done(
                Status::Pass,
                format!(
                    "refresh {n} at {at:.1} s: allocation (lifetime {l} s), permission and \
                     channel renewed"
                ),
            );
            s.lifetime_s = Some(l);
            s
        }
        Err((what, e)) => {
            let mut s = t.fail(
                format!("refresh {n} at {at:.1} s: {what} failed: {e}"),
                match &e {
                    WireError::Stun { code, .. } => {
                        explain_with_auth(*code, Some(turn.realm()), Some(turn.username()))
                    }
                    _ => format!("the server did not answer the {what} request"),
                },
            );
            if let WireError::Stun { code, .. } = e {
                s.error_code = Some(code);
            }
            s
        }
    };
    s.refreshes = Some(n);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refreshes_every_half_lifetime_within_bounds() {
        let long = Duration::from_secs(3600);
        assert_eq!(refresh_period(600, long), Duration::from_secs(120));
        assert_eq!(refresh_period(60, long), Duration::from_secs(30));
        assert_eq!(refresh_period(4, long), Duration::from_secs(2));
        assert_eq!(refresh_period(1, long), Duration::from_secs(1));
        assert_eq!(refresh_period(0, long), Duration::from_secs(1));
        // A short hold refreshes every quarter of it.
        assert_eq!(
            refresh_period(600, Duration::from_secs(20)),
            Duration::from_secs(5)
        );
    }
}
