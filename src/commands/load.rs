//! `rtccall load`: run the calls, report them (progress and table, or NDJSON), write JUnit.

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::load::LoadConfig;
use crate::report::{self, load_schema::LoadRecord};

pub async fn load(
    config: LoadConfig,
    json: bool,
    junit: Option<std::path::PathBuf>,
    cancel: CancellationToken,
) -> i32 {
    let (tx, rx) = mpsc::channel::<LoadRecord>(1024);
    // The sides are kept for the JUnit file on their way to the reporter.
    let keep = junit.is_some();
    let (report_rx, tee) = report::tee(rx, move |r| keep && matches!(r, LoadRecord::LoadCall(_)));
    let reporter = if json {
        let mut rx = report_rx;
        tokio::spawn(async move {
            while let Some(r) = rx.recv().await {
                report::json::write(&r);
            }
            None
        })
    } else {
        tokio::spawn(report::load_human::run(report_rx, config.calls))
    };
    let summary = crate::load::run(config, tx.clone(), cancel).await;
    let _ = tx.send(LoadRecord::LoadSummary(summary.clone())).await;
    drop(tx);
    let sides: Vec<_> = tee
        .await
        .unwrap_or_default()
        .into_iter()
        .filter_map(|r| match r {
            LoadRecord::LoadCall(c) => Some(c),
            _ => None,
        })
        .collect();
    let _ = reporter.await;
    report::junit::write_for(
        junit.as_deref(),
        || report::junit::load(&sides, &summary),
        summary.exit_code,
    )
}
