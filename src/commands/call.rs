//! `rtccall dial` / `rtccall answer`: a call with its reporter (human or NDJSON) and, on a
//! terminal, the prompt that asks whether to take it.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::call::{self, AcceptPolicy, Prompter};
use crate::report::schema::Record;
use crate::signal::Role;
use crate::{cli, report};

struct TerminalPrompter {
    bar: Option<indicatif::ProgressBar>,
}

#[async_trait::async_trait]
impl Prompter for TerminalPrompter {
    async fn accept(&self, room: &str) -> bool {
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
        answer.await.unwrap_or(false)
    }
}

pub async fn call(
    args: cli::call::CallArgs,
    role: Role,
    accept: AcceptPolicy,
    cancel: CancellationToken,
) -> i32 {
    let start = Instant::now();
    let json = args.output.json;
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let config =
        match super::prepare(&cancel, move || args.to_config(role, accept, interactive)).await {
            Ok(c) => c,
            Err(code) => return code,
        };
    let (tx, rx) = mpsc::channel::<Record>(256);
    let (reporter, prompter): (tokio::task::JoinHandle<()>, Option<Arc<dyn Prompter>>) = if json {
        let prompter: Arc<dyn Prompter> = Arc::new(TerminalPrompter { bar: None });
        (
            tokio::spawn(report::run(report::Format::Json, rx)),
            Some(prompter),
        )
    } else {
        let human = report::human::Human::new();
        let prompter = Arc::new(TerminalPrompter { bar: human.bar() });
        (tokio::spawn(report::human::run(human, rx)), Some(prompter))
    };
    let events = call::Events::new(tx, start);
    let summary = call::run(&config, &events, cancel, prompter).await;
    drop(events);
    let _ = reporter.await;
    summary.exit_code
}
