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
    let (tx, mut rx) = mpsc::channel::<LoadRecord>(1024);
    let (report_tx, report_rx) = mpsc::channel::<LoadRecord>(1024);
    // The sides are kept for the JUnit file on their way to the reporter.
    let keep = junit.is_some();
    let tee = tokio::spawn(async move {
        let mut sides = Vec::new();
        while let Some(r) = rx.recv().await {
            if keep && let LoadRecord::LoadCall(c) = &r {
                sides.push(c.clone());
            }
            if report_tx.send(r).await.is_err() {
                break;
            }
        }
        sides
    });
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
    let sides = tee.await.unwrap_or_default();
    let _ = reporter.await;
    if let Some(path) = junit
        && let Err(e) = report::junit::write(&path, &report::junit::load(&sides, &summary))
    {
        eprintln!("rtccall: error: {e}");
        if summary.exit_code == crate::exit::OK {
            return crate::exit::USAGE;
        }
    }
    summary.exit_code
}
