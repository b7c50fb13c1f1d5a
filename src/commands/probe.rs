//! `rtccall probe`: check the servers, report step by step, exit with the verdict.

use std::time::Instant;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::{cli, report};

/// `rtccall probe`: check the servers, report, exit with the verdict.
pub async fn probe(args: cli::probe::ProbeArgs, cancel: CancellationToken) -> i32 {
    let start = Instant::now();
    let json = args.json;
    let config = match super::prepare(&cancel, move || {
        let ice_config = match &args.ice_config {
            Some(path) => Some(cli::probe::read_ice_config(path)?),
            None => None,
        };
        args.to_config(ice_config.as_deref())
    })
    .await
    {
        Ok(c) => c,
        Err(code) => return code,
    };
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
