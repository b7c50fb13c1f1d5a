//! `rtccall probe`: check the servers, report step by step, exit with the verdict.

use std::time::Instant;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::probe::ProbeConfig;
use crate::report;

/// `rtccall probe`: check the servers, report, exit with the verdict.
pub async fn probe(config: ProbeConfig, json: bool, cancel: CancellationToken) -> i32 {
    let start = Instant::now();
    let (tx, mut rx) = mpsc::channel::<report::probe_schema::ProbeRecord>(256);
    // With --junit the records are kept on their way to the reporter.
    let (report_tx, report_rx) = mpsc::channel(256);
    let keep = config.junit.is_some();
    let tee = tokio::spawn(async move {
        let mut kept = Vec::new();
        while let Some(r) = rx.recv().await {
            if keep {
                kept.push(r.clone());
            }
            if report_tx.send(r).await.is_err() {
                break;
            }
        }
        kept
    });
    let mut report_rx = report_rx;
    let reporter = if json {
        tokio::spawn(async move {
            while let Some(r) = report_rx.recv().await {
                report::json::write(&r);
            }
        })
    } else {
        let expected = crate::probe::expected_steps(&config);
        tokio::spawn(report::probe_human::run(report_rx, expected))
    };
    let sink = crate::probe::Sink::new(tx, start);
    let code = crate::probe::run(&config, &sink, cancel).await;
    drop(sink);
    let kept = tee.await.unwrap_or_default();
    let _ = reporter.await;
    if let Some(path) = &config.junit
        && let Err(e) = report::junit::write(path, &report::junit::probe(&kept))
    {
        eprintln!("rtccall: error: {e}");
        if code == crate::exit::OK {
            return crate::exit::USAGE;
        }
    }
    code
}
