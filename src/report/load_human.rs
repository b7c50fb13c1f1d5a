//! `rtccall load` for people: a progress bar while calls ramp up and hold, failed sides as
//! they end, and the final table (calls by outcome, failures by phase and reason, set-up
//! percentiles, media per call and in total, what the process spent).

use std::fmt::Write as _;

use tokio::sync::mpsc;

use super::load_schema::{LoadRecord, LoadSummary, Spread};

/// Render the records until the summary; it is returned for the caller.
pub async fn run(mut rx: mpsc::Receiver<LoadRecord>, calls: u32) -> Option<LoadSummary> {
    let bar = indicatif::ProgressBar::new(u64::from(calls));
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} {elapsed:>4} [{bar:24}] {pos}/{len} started  {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    let mut summary = None;
    while let Some(r) = rx.recv().await {
        match r {
            LoadRecord::LoadProgress(p) => {
                bar.set_position(u64::from(p.started));
                bar.set_message(format!(
                    "{} connecting, {} connected, {} ended, {} failed | in {:.1} Mbit/s, out {:.1} Mbit/s, loss {:.2} %",
                    p.connecting,
                    p.connected,
                    p.ended,
                    p.failed,
                    p.bitrate_in_mbit_s,
                    p.bitrate_out_mbit_s,
                    p.loss_pct
                ));
            }
            LoadRecord::LoadCall(c) => {
                if let Some(phase) = &c.failed {
                    bar.println(format!(
                        "call {} {} ({}) failed in {phase}: {}",
                        c.call,
                        c.role,
                        c.room,
                        c.reason.as_deref().unwrap_or("unknown")
                    ));
                }
            }
            LoadRecord::LoadSummary(s) => summary = Some(s),
        }
    }
    bar.finish_and_clear();
    if let Some(s) = &summary {
        print!("{}", table(s));
    }
    summary
}

fn ms(v: f64) -> String {
    format!("{v:.1}")
}

fn spread_row(out: &mut String, name: &str, s: &Option<Spread>, unit: &str) {
    match s {
        Some(s) => {
            let _ = writeln!(
                out,
                "  {name:<18} {:>9} {:>9} {:>9}  {unit} (of {})",
                ms(s.p50),
                ms(s.p95),
                ms(s.p99),
                s.n
            );
        }
        None => {
            let _ = writeln!(out, "  {name:<18} {:>9}", "-");
        }
    }
}

/// The final table.
pub fn table(s: &LoadSummary) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "calls      {} asked, {} started, {} connected, {} failed  ({} sides here, {} decoding)",
        s.calls, s.started, s.connected, s.failed, s.sides, s.decoded_sides
    );
    for f in &s.failures {
        let _ = writeln!(
            out,
            "  failed in {:<9} {:>5} × {}",
            f.phase, f.calls, f.reason
        );
    }
    let _ = writeln!(out, "set-up {:>21} {:>9} {:>9}", "p50", "p95", "p99");
    spread_row(&mut out, "ICE connected", &s.ice_connected_ms, "ms");
    spread_row(&mut out, "DTLS connected", &s.dtls_connected_ms, "ms");
    spread_row(&mut out, "first audio", &s.first_audio_ms, "ms");
    spread_row(&mut out, "first video", &s.first_video_ms, "ms");
    let _ = writeln!(out, "media per side");
    spread_row(&mut out, "bitrate in", &s.bitrate_in_kbps, "kbit/s");
    spread_row(&mut out, "rtt", &s.rtt_ms, "ms");
    spread_row(&mut out, "jitter", &s.jitter_ms, "ms");
    spread_row(&mut out, "fps", &s.fps, "frames/s");
    spread_row(
        &mut out,
        "latency p95",
        &s.latency_ms,
        "ms, capture to receive",
    );
    let _ = writeln!(
        out,
        "media in all  {:.2} Mbit/s received, {:.2} % lost, {} video frames, {} freezes",
        s.total_bitrate_in_mbit_s, s.loss_pct, s.video_frames, s.freezes
    );
    let _ = writeln!(
        out,
        "process    CPU {:.1} % of a core ({:.2} % per call), peak RSS {:.1} MiB ({:.2} MiB per call), {:.1} s",
        s.cpu_pct, s.cpu_pct_per_call, s.rss_mib, s.rss_mib_per_call, s.duration_s
    );
    for e in &s.expectations {
        let _ = writeln!(
            out,
            "expect     {} {}: {}",
            if e.met { "met" } else { "NOT MET" },
            e.expect,
            e.detail
        );
    }
    let _ = writeln!(out, "exit code  {}", s.exit_code);
    out
}
