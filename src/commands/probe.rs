//! `rtccall probe`: check the servers, report step by step, exit with the verdict.

use std::time::Instant;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::probe::ProbeConfig;
use crate::report;

/// `rtccall probe`: check the servers, report, exit with the verdict.
pub async fn probe(config: ProbeConfig, json: bool, cancel: CancellationToken) -> i32 {
    let start = Instant::now();
    let (tx, mut rx) = mpsc::channel(256);
    let reporter = if json {
        tokio::spawn(async move {
            while let Some(r) = rx.recv().await {
                report::json::write(&r);
            }
        })
    } else {
        let expected = crate::probe::expected_steps(&config);
        tokio::spawn(report::probe_human::run(rx, expected))
    };
    let sink = crate::probe::Sink::new(tx, start);
    let code = crate::probe::run(&config, &sink, cancel).await;
    drop(sink);
    let _ = reporter.await;
    code
}
