//! `rtccall dial` / `rtccall answer`: a call with its reporter (human or NDJSON) and, on a
//! terminal, the prompt that asks whether to take it.

use std::io::{BufRead, Write};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

use crate::call::{self, CallConfig, Prompter};
use crate::report;

struct TerminalPrompter {
    bar: Option<indicatif::ProgressBar>,
}

#[async_trait::async_trait]
impl Prompter for TerminalPrompter {
    async fn accept(&self, room: &str) -> Result<(), String> {
        let bar = self.bar.clone();
        let question = format!("Incoming call in room {room}. Accept? [Y/n] ");
        let ask = move || {
            let mut line = String::new();
            eprint!("{question}");
            let _ = std::io::stderr().flush();
            match std::io::stdin().lock().read_line(&mut line) {
                Ok(0) | Err(_) => false,
                Ok(_) => !matches!(line.trim().to_ascii_lowercase().as_str(), "n" | "no"),
            }
        };
        let answer = tokio::task::spawn_blocking(move || match bar {
            Some(b) => b.suspend(ask),
            None => ask(),
        });
        if answer.await.unwrap_or(false) {
            Ok(())
        } else {
            Err("declined".into())
        }
    }
}

pub async fn call(
    config: CallConfig,
    json: bool,
    view: crate::screen::ViewMode,
    cancel: CancellationToken,
) -> i32 {
    if crate::screen::wanted(view, json) {
        return crate::screen::run_call(config, view, cancel).await;
    }
    // `--view window` without a call screen: the window, and the usual reporter.
    let _window = if view == crate::screen::ViewMode::Window {
        match crate::screen::window::VideoWindow::open(
            config.media.controls.clone(),
            format!("rtccall: {} {}", config.role_label(), config.place.label()),
        ) {
            Ok(w) => Some(w),
            Err(e) => {
                eprintln!("rtccall: error: {e}");
                return crate::exit::USAGE;
            }
        }
    } else {
        None
    };
    let human = (!json).then(report::human::Human::new);
    let prompter: Arc<dyn Prompter> = Arc::new(TerminalPrompter {
        bar: human.as_ref().and_then(|h| h.bar()),
    });
    let junit = config.junit.clone();
    let (run, rx) = call::Call::start(config, None, &cancel, Some(prompter));
    let reporter = match human {
        Some(h) => tokio::spawn(report::human::run(h, rx)),
        None => tokio::spawn(report::run(report::Format::Json, rx)),
    };
    let summary = run.wait().await;
    let _ = reporter.await;
    let Some(summary) = summary else {
        return crate::exit::INTERRUPTED;
    };
    report::junit::write_for(
        junit.as_deref(),
        || report::junit::call(&summary),
        summary.exit_code,
    )
}
