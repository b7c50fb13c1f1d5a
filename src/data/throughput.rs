//! The data-channel throughput test (`--data-throughput SECS`): on a reliable, ordered channel
//! of its own, the tester sends for SECS, then asks the other side to send for SECS; each
//! phase's receiver measures and reports what arrived.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{CHUNK, Channel, LinkEvent, Msg, Opener, Reporter, THROUGHPUT_LABEL, mbit_s};
use crate::report::schema::{Direction, Record, ThroughputSummary};

/// The longest phase the other side may ask us to send for.
pub const MAX_SECS: f64 = 300.0;

/// Send binary messages for `secs`, a `throughput` record each second (bytes acknowledged in
/// that second), then `throughput-end`. Returns the bytes handed to the channel.
async fn send_phase(ch: &Channel, secs: f64, report: &Reporter) -> Option<u64> {
    let payload = vec![0x5au8; CHUNK];
    let start = Instant::now();
    let until = start + Duration::from_secs_f64(secs);
    let mut sent = 0u64;
    let mut second = 1u32;
    let mut last_delivered = 0u64;
    while Instant::now() < until {
        ch.link.send_binary(&payload).await.ok()?;
        sent += CHUNK as u64;
        if start.elapsed() >= Duration::from_secs(second as u64) {
            let delivered = sent.saturating_sub(ch.link.outstanding().await as u64);
            report
                .emit(|ms| Record::Throughput {
                    ms,
                    direction: Direction::Send,
                    second,
                    mbit_s: mbit_s(delivered.saturating_sub(last_delivered), 1.0),
                })
                .await;
            last_delivered = delivered;
            second += 1;
        }
    }
    ch.link
        .send_text(&Msg::ThroughputEnd { bytes: sent }.to_text())
        .await
        .ok()?;
    Some(sent)
}

/// Receive a phase until `throughput-end`, a `throughput` record each second; returns bytes
/// and seconds from the first byte to the end.
async fn receive_phase(ch: &mut Channel, report: &Reporter) -> Option<(u64, f64)> {
    let mut first: Option<Instant> = None;
    let mut bytes = 0u64;
    let mut second = 1u32;
    let mut at_last_second = 0u64;
    while let Some(ev) = ch.next().await {
        match ev {
            LinkEvent::Binary(b) => {
                let f = *first.get_or_insert_with(Instant::now);
                bytes += b.len() as u64;
                if f.elapsed() >= Duration::from_secs(second as u64) {
                    report
                        .emit(|ms| Record::Throughput {
                            ms,
                            direction: Direction::Receive,
                            second,
                            mbit_s: mbit_s(bytes - at_last_second, 1.0),
                        })
                        .await;
                    at_last_second = bytes;
                    second += 1;
                }
            }
            LinkEvent::Text(t) => match Msg::parse(&t) {
                Ok(Msg::ThroughputEnd { .. }) => {
                    let secs = first.map_or(0.0, |f| f.elapsed().as_secs_f64());
                    return Some((bytes, secs));
                }
                Ok(m) => tracing::warn!("throughput channel: unexpected {}", m.to_text()),
                Err(e) => tracing::warn!("throughput channel: {e}"),
            },
            _ => {}
        }
    }
    None
}

/// Wait for the other side's `throughput-result`.
async fn result(ch: &mut Channel) -> Option<(u64, f64)> {
    while let Some(ev) = ch.next().await {
        if let LinkEvent::Text(t) = ev
            && let Ok(Msg::ThroughputResult { bytes, ms }) = Msg::parse(&t)
        {
            return Some((bytes, ms / 1000.0));
        }
    }
    None
}

/// Run the test from this side: send, then receive; the figures go to the summary.
pub async fn test(secs: Duration, opener: Arc<dyn Opener>, report: Reporter) {
    // Counted as a failure until it ends: a call that ends first leaves it there.
    const UNFINISHED: &str = "throughput test: the call ended before it finished";
    report.update(|d| d.errors.push(UNFINISHED.into()));
    let settle = |why: Option<String>| {
        report.update(|d| {
            d.errors.retain(|e| e != UNFINISHED);
            d.errors
                .extend(why.map(|w| format!("throughput test: {w}")));
        });
    };
    let fail = |why: String| settle(Some(why));
    let mut ch = match opener.open(THROUGHPUT_LABEL).await {
        Ok(ch) => ch,
        Err(e) => return fail(e),
    };
    if let Err(why) = ch.opened().await {
        return fail(format!("the channel {why}"));
    }
    let secs = secs.as_secs_f64();
    let mut summary = ThroughputSummary {
        secs,
        ordered: true,
        send_mbit_s: None,
        receive_mbit_s: None,
    };
    if send_phase(&ch, secs, &report).await.is_none() {
        return fail("the channel closed while sending".into());
    }
    match result(&mut ch).await {
        Some((bytes, s)) => summary.send_mbit_s = Some(mbit_s(bytes, s)),
        None => return fail("the other side sent no result".into()),
    }
    report.update(|d| d.throughput = Some(summary.clone()));
    let ask = Msg::ThroughputRequest { secs }.to_text();
    if ch.link.send_text(&ask).await.is_err() {
        return fail("the channel closed".into());
    }
    match receive_phase(&mut ch, &report).await {
        Some((bytes, s)) => {
            summary.receive_mbit_s = Some(mbit_s(bytes, s));
            let r = Msg::ThroughputResult {
                bytes,
                ms: s * 1000.0,
            };
            let _ = ch.link.send_text(&r.to_text()).await;
        }
        None => return fail("the other side's phase never ended".into()),
    }
    report.update(|d| d.throughput = Some(summary));
    settle(None);
    // The other side closes the channel once it has our result: hanging up before would
    // leave its summary without its send figure.
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while ch.next().await.is_some() {}
    })
    .await;
    ch.link.close().await;
}

/// Serve a test the other side runs: receive its phase and report it, then send when asked.
/// The figures go to the summary unless this side runs a test of its own (`own_test`).
pub async fn serve(mut ch: Channel, report: Reporter, own_test: bool) {
    let tally = |t: &ThroughputSummary| {
        if !own_test {
            report.update(|d| d.throughput = Some(t.clone()));
        }
    };
    let mut summary = ThroughputSummary {
        secs: 0.0,
        ordered: true,
        send_mbit_s: None,
        receive_mbit_s: None,
    };
    let Some((bytes, s)) = receive_phase(&mut ch, &report).await else {
        return;
    };
    summary.receive_mbit_s = Some(mbit_s(bytes, s));
    summary.secs = (s * 10.0).round() / 10.0;
    tally(&summary);
    let r = Msg::ThroughputResult {
        bytes,
        ms: s * 1000.0,
    };
    if ch.link.send_text(&r.to_text()).await.is_err() {
        return;
    }
    while let Some(ev) = ch.next().await {
        let LinkEvent::Text(t) = ev else { continue };
        if let Ok(Msg::ThroughputRequest { secs }) = Msg::parse(&t) {
            if !(secs > 0.0 && secs <= MAX_SECS) {
                tracing::warn!(
                    "throughput request for {secs} s refused (more than 0, at most {MAX_SECS})"
                );
                return;
            }
            if send_phase(&ch, secs, &report).await.is_none() {
                return;
            }
            if let Some((bytes, s)) = result(&mut ch).await {
                summary.send_mbit_s = Some(mbit_s(bytes, s));
                tally(&summary);
            }
            ch.link.close().await;
            return;
        }
    }
}
