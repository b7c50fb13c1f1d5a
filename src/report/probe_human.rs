//! The probe's human reporter: an indicatif progress bar through the steps on stderr, then a
//! table per server on stdout (a mark per step, its time, what happened, and the explanation
//! of every failure or warning), the expectations and the verdict.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use tokio::sync::mpsc;

use super::probe_schema::{LoadFigures, ProbeRecord, ProbeSummary, Status, Step};

fn mark(s: Status) -> &'static str {
    match s {
        Status::Pass => "ok  ",
        Status::Warn => "WARN",
        Status::Fail => "FAIL",
        Status::Skip => "n/a ",
    }
}

/// Render records until the channel closes. `expected_steps` sizes the progress bar.
pub async fn run(mut rx: mpsc::Receiver<ProbeRecord>, expected_steps: u64) {
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new(expected_steps);
        bar.set_style(
            ProgressStyle::with_template("{spinner:.cyan} [{bar:20}] {pos}/{len} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.enable_steady_tick(Duration::from_millis(100));
        bar.set_message("probing");
        bar
    });
    let mut steps: Vec<Step> = Vec::new();
    let mut summary = None;
    while let Some(r) = rx.recv().await {
        match r {
            ProbeRecord::Step(s) => {
                let line = format!("{} {} {}: {}", mark(s.status), s.server, s.step, s.message);
                match &bar {
                    Some(b) => {
                        b.inc(1);
                        b.set_message(line);
                    }
                    None => eprintln!("{line}"),
                }
                steps.push(*s);
            }
            ProbeRecord::Summary(s) => summary = Some(s),
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(render(&steps, summary.as_ref()).as_bytes());
    let _ = out.flush();
}

/// The report as text: one block per server in the order they were given, then the verdict.
/// The `--load` figures as an indented table.
fn load_table(l: &LoadFigures) -> String {
    let a = &l.allocations;
    let failed = if a.failed.is_empty() {
        "none".to_string()
    } else {
        a.failed
            .iter()
            .map(|(k, n)| format!("{n}× {k}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let opt = |v: Option<f64>| v.map(|v| format!("{v} ms")).unwrap_or_else(|| "-".into());
    let mut t = String::new();
    let mut row = |k: &str, v: String| t.push_str(&format!("         {k:<14} {v}\n"));
    row(
        "load",
        format!(
            "{} clients x {} pps x {} B for {} s",
            l.clients, l.rate_pps, l.size_bytes, l.duration_s
        ),
    );
    row(
        "allocations",
        format!(
            "{}/{} granted, {}/s, p50 {} max {}, failed: {failed}",
            a.granted,
            a.asked,
            a.per_second,
            opt(a.p50_ms),
            opt(a.max_ms)
        ),
    );
    row(
        "packets",
        format!(
            "{}/{} echoed, {} pps, {} Mbit/s each way, loss {} %",
            l.packets_received, l.packets_sent, l.packets_per_second, l.mbit_s, l.loss_pct
        ),
    );
    if let Some(r) = &l.rtt_ms {
        row(
            "rtt",
            format!("p50 {} p95 {} p99 {} max {} ms", r.p50, r.p95, r.p99, r.max),
        );
    }
    t
}

pub fn render(steps: &[Step], summary: Option<&ProbeSummary>) -> String {
    let mut order: Vec<&str> = Vec::new();
    let mut by_server: BTreeMap<&str, Vec<&Step>> = BTreeMap::new();
    for s in steps {
        if !by_server.contains_key(s.server.as_str()) {
            order.push(&s.server);
        }
        by_server.entry(&s.server).or_default().push(s);
    }
    if let Some(sum) = summary {
        // Summary order is the order the servers were given.
        order.sort_by_key(|name| {
            sum.servers
                .iter()
                .position(|v| v.server == *name)
                .unwrap_or(usize::MAX)
        });
    }
    let mut t = String::new();
    for server in order {
        let verdict = summary
            .and_then(|s| s.servers.iter().find(|v| v.server == server))
            .map(|v| v.verdict.as_str().to_uppercase())
            .unwrap_or_default();
        t.push_str(&format!("{server}  {verdict}\n"));
        for s in &by_server[server] {
            let step = match &s.transport {
                Some(tr) => format!("{} ({tr})", s.step),
                None => s.step.clone(),
            };
            let mut line = format!(
                "  {} {:<24} {:>8.1} ms  {}",
                mark(s.status),
                step,
                s.duration_ms,
                s.message
            );
            if let Some(r) = &s.rtt_ms
                && !s.message.contains("rtt")
            {
                line.push_str(&format!(", rtt p50 {} ms p95 {} ms", r.p50, r.p95));
            }
            t.push_str(&line);
            t.push('\n');
            if let Some(e) = &s.explanation {
                t.push_str(&format!("         -> {e}\n"));
            }
            if let Some(l) = &s.load {
                t.push_str(&load_table(l));
            }
            if let Some(c) = &s.candidates {
                for c in c {
                    t.push_str(&format!(
                        "         {:>7.1} ms  {} {:<5} {:<3} {}:{} prio {}{}{}\n",
                        c.ms,
                        c.component,
                        c.candidate_type,
                        c.protocol,
                        c.address,
                        c.port,
                        c.priority,
                        match (&c.related_address, c.related_port) {
                            (Some(a), Some(p)) => format!(" raddr {a}:{p}"),
                            _ => String::new(),
                        },
                        c.url
                            .as_ref()
                            .map(|u| format!(" via {u}"))
                            .unwrap_or_default()
                    ));
                }
            }
        }
        t.push('\n');
    }
    if let Some(sum) = summary {
        if !sum.expectations.is_empty() {
            t.push_str("expectations\n");
            for e in &sum.expectations {
                t.push_str(&format!(
                    "  {} {:<8} {}\n",
                    if e.met { "ok  " } else { "FAIL" },
                    e.expect,
                    e.detail
                ));
            }
            t.push('\n');
        }
        t.push_str(&format!(
            "verdict: {} in {:.0} ms (exit {})\n",
            sum.verdict.as_str().to_uppercase(),
            sum.ms,
            sum.exit_code
        ));
    }
    t
}
