//! `rtccall probe`: check the servers, report step by step, exit with the verdict.

use std::time::Instant;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::probe::ProbeConfig;
use crate::report;

/// `rtccall probe`: check the servers, report, exit with the verdict.
pub async fn probe(config: ProbeConfig, json: bool, cancel: CancellationToken) -> i32 {
    let start = Instant::now();
    let (tx, rx) = mpsc::channel::<report::probe_schema::ProbeRecord>(256);
    // With --junit the records are kept on their way to the reporter.
    let keep = config.junit.is_some();
    let (mut report_rx, tee) = report::tee(rx, move |_| keep);
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
    report::junit::write_for(
        config.junit.as_deref(),
        || report::junit::probe(&kept),
        code,
    )
}
