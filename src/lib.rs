//! rtccall: WebRTC calls and diagnostics from the terminal.
//!
//! # Architecture
//!
//! - [`cli`] parses arguments (clap) and validates them into configs without doing I/O.
//! - [`signal`] is the signaling protocol, the room server (`rtccall serve`, or embedded in the
//!   first peer), the client side that turns a WebSocket into a channel of messages, and the
//!   browser call page served on the same port.
//! - [`call`] is the driver: it meets the other peer, negotiates, runs media and stats, and
//!   emits typed [`report::schema::Record`]s. [`call::peer`] is the only module that talks to
//!   webrtc-rs.
//! - [`media`] runs sources, encoders and decoders on their own threads, joined to the network
//!   by bounded queues; drops are counted.
//! - [`probe`] is `rtccall probe`: its own STUN/TURN client, the checks, their verdicts; its
//!   calls and ICE gathering go through [`call`].
//! - [`report`] renders records for people (indicatif, summary table) or scripts (NDJSON).
//! - [`exit`] holds the exit codes and the error type that carries them; [`ice`] the ICE
//!   server credentials every command shares (TURN REST minting, redacted URLs).
//!
//! Invariants: stdout carries output only (URL, NDJSON, summary table); logs and progress go
//! to stderr. Every failure maps to one documented exit code.

pub mod call;
pub mod cli;
pub mod exit;
pub mod ice;
pub mod media;
pub mod probe;
pub mod report;
pub mod signal;

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use call::{AcceptPolicy, Prompter};
use cli::{Cli, Command};
use exit::Error;
use report::schema::Record;
use signal::Role;

/// Run the parsed command line; returns the process exit code.
pub fn run(cli: Cli) -> i32 {
    init_logging(cli.verbose);
    if let Command::Devices(args) = &cli.command {
        return devices(args.json);
    }
    if let Command::Generate(args) = &cli.command {
        return match cli::generate::generate(&args.dir) {
            Ok(()) => exit::OK,
            Err(e) => {
                eprintln!(
                    "rtccall: error: cannot write to {}: {e}",
                    args.dir.display()
                );
                exit::USAGE
            }
        };
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("rtccall: error: cannot start the async runtime: {e}");
            return exit::USAGE;
        }
    };
    let code = runtime.block_on(async move {
        let cancel = CancellationToken::new();
        tokio::spawn(watch_signals(cancel.clone()));
        match cli.command {
            Command::Serve(args) => serve(args, cancel).await,
            Command::Dial(args) => call(args.call, Role::Dial, AcceptPolicy::Auto, cancel).await,
            Command::Answer(args) => {
                let policy = match (args.reject, args.auto_accept) {
                    (Some(reason), _) => AcceptPolicy::Reject(reason),
                    (None, true) => AcceptPolicy::Auto,
                    (None, false) if std::io::stdin().is_terminal() => AcceptPolicy::Ask,
                    (None, false) => AcceptPolicy::Auto,
                };
                call(args.call, Role::Answer, policy, cancel).await
            }
            Command::Probe(args) => probe(args, cancel).await,
            Command::Generate(_) | Command::Devices(_) => exit::OK,
        }
    });
    // Threads blocked on stdin (an unanswered prompt) must not keep the process alive.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    code
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        // webrtc-rs logs expected conditions (packets before a track is registered) as errors.
        0 => "rtccall=warn,webrtc=off,rtc=off",
        1 => "rtccall=info,webrtc=warn,rtc=warn",
        2 => "rtccall=debug,webrtc=info,rtc=info",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

async fn watch_signals(cancel: CancellationToken) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                cancel.cancel();
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    cancel.cancel();
}

async fn serve(args: cli::serve::ServeArgs, cancel: CancellationToken) -> i32 {
    let ice = match args.ice_handout() {
        Ok(i) => i,
        Err(e) => return fail_usage(&e),
    };
    let server = match signal::Server::bind(args.listen).await {
        Ok(s) => s.with_ice(ice),
        Err(e) => {
            eprintln!("rtccall: error: cannot listen on {}: {e}", args.listen);
            return exit::USAGE;
        }
    };
    let url = server.url();
    if args.json {
        report::json::write(&Record::Listening { url });
    } else {
        println!("{url}");
        let _ = std::io::stdout().flush();
    }
    server.run(cancel).await;
    exit::OK
}

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

async fn call(
    args: cli::call::CallArgs,
    role: Role,
    accept: AcceptPolicy,
    cancel: CancellationToken,
) -> i32 {
    let start = Instant::now();
    let json = args.output.json;
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let config = match args.to_config(role, accept, interactive) {
        Ok(c) => c,
        Err(e) => return fail_usage(&e),
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

/// `rtccall probe`: check the servers, report, exit with the verdict.
async fn probe(args: cli::probe::ProbeArgs, cancel: CancellationToken) -> i32 {
    let start = Instant::now();
    let config = match args.to_config() {
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
        let expected = probe::expected_steps(&config);
        tokio::spawn(report::probe_human::run(rx, expected))
    };
    let sink = probe::Sink::new(tx, start);
    let code = probe::run(&config, &sink, cancel).await;
    drop(sink);
    let _ = reporter.await;
    code
}

/// `rtccall devices`: what can be captured and played here.
fn devices(json: bool) -> i32 {
    let list = {
        // ALSA's plugins (JACK, OSS) print their probing failures on stderr: not ours to show.
        let _quiet = gag::Gag::stderr().ok();
        media::devices::list()
    };
    if json {
        match serde_json::to_string(&list) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("rtccall: error: {e}");
                return exit::USAGE;
            }
        }
        return exit::OK;
    }
    report::human::print_devices(&list);
    exit::OK
}

fn fail_usage(e: &Error) -> i32 {
    eprintln!("rtccall: error: {e}");
    e.code()
}
