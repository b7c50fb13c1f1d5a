//! `rtccall probe`: check the servers, report step by step, exit with the verdict.

use std::time::Instant;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::fail_usage;
use crate::{cli, report};

/// `rtccall probe`: check the servers, report, exit with the verdict.
pub async fn probe(args: cli::probe::ProbeArgs, cancel: CancellationToken) -> i32 {
    let start = Instant::now();
    // Read where a FIFO that never opens or never ends can be abandoned on Ctrl-C/SIGTERM.
    let ice_config = match args.ice_config.clone() {
        None => None,
        Some(path) => {
            let reading = tokio::task::spawn_blocking(move || cli::probe::read_ice_config(&path));
            tokio::select! {
                r = reading => match r {
                    Ok(Ok(text)) => Some(text),
                    Ok(Err(e)) => return fail_usage(&e),
                    Err(_) => return fail_usage(&crate::exit::Error::usage("--ice-config: the read failed".to_string())),
                },
                _ = cancel.cancelled() => return crate::exit::INTERRUPTED,
            }
        }
    };
    let config = match args.to_config(ice_config.as_deref()) {
        Ok(c) => c,
        Err(e) => return fail_usage(&e),
    };
    let (tx, mut rx) = mpsc::channel(256);
    let reporter = if args.json {
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
