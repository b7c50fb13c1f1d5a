//! rtccall: WebRTC calls and diagnostics from the terminal.
//!
//! # Architecture
//!
//! - [`cli`] parses arguments (clap) and resolves them, in one step ([`cli::resolve`]), into
//!   the configs the commands run: every file read and environment and terminal check is
//!   there; [`commands`] holds the body of each command (reporter, work, exit code).
//! - [`signal`] is the signaling protocol, the room server (`rtccall serve`, or embedded in the
//!   first peer), the client side that turns a WebSocket into a channel of messages, and the
//!   browser call page served on the same port.
//! - [`call`] is a call: [`call::session`] the negotiation as a state machine without I/O, a
//!   thin driver loop around it that runs media, signaling (reconnecting once connected) and
//!   stats and emits typed [`report::schema::Record`]s. [`call::peer`] is the only module that
//!   talks to webrtc-rs.
//! - [`data`] is what rides on the data channels: chat, files, the throughput test — their
//!   protocol and logic, over the channel seam ([`data::Link`]) the peer implements.
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

pub mod argfile;
pub mod call;
pub mod cli;
pub mod commands;
pub mod data;
pub mod dump;
pub mod exit;
pub mod expect;
pub mod httpc;
pub mod ice;
pub mod impair;
pub mod load;
pub mod media;
pub mod plot;
pub mod probe;
pub mod report;
pub mod sas;
pub mod screen;
pub mod sdpfrag;
pub mod signal;
pub mod tls;
pub mod turnframe;

use tokio_util::sync::CancellationToken;

use cli::resolve::Resolved;
use cli::{Cli, Command};
use commands::{call, devices, probe, serve};

/// Run the parsed command line; returns the process exit code.
pub fn run(cli: Cli) -> i32 {
    init_logging(cli.verbose);
    let command = match cli.command {
        Command::Devices(args) => return devices(args.json),
        Command::Report(args) => return commands::report(&args),
        Command::Token(args) => {
            return match args.resolve() {
                Ok(request) => commands::token(&request),
                Err(e) => commands::fail_usage(&e),
            };
        }
        Command::Generate(args) => {
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
        c => c,
    };
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
        let resolved = commands::prepare(&cancel, move || {
            command
                .resolve()
                .unwrap_or_else(|| Err(exit::Error::usage("not a runtime command".into())))
        })
        .await;
        match resolved {
            Err(code) => code,
            Ok(Resolved::Call { config, json, view }) => call(*config, json, view, cancel).await,
            Ok(Resolved::Serve(setup)) => serve(*setup, cancel).await,
            Ok(Resolved::Probe { config, json }) => probe(*config, json, cancel).await,
            Ok(Resolved::Load {
                config,
                json,
                junit,
            }) => commands::load(*config, json, junit, cancel).await,
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
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::{Layer, filter::FilterExt};
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_filter(filter.and(tracing_subscriber::filter::filter_fn(no_frame_dumps)));
    let _ = tracing_subscriber::registry().with(layer).try_init();
}

/// Whether a log event may be shown at all: tungstenite's TRACE events print every WebSocket
/// frame verbatim, access and resume tokens and TURN credentials included, so no verbosity and
/// no `RUST_LOG` shows them (our own events print secrets through types that redact them).
fn no_frame_dumps(meta: &tracing::Metadata<'_>) -> bool {
    let frames =
        meta.target().starts_with("tungstenite") || meta.target().starts_with("tokio_tungstenite");
    !(frames && *meta.level() == tracing::Level::TRACE)
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
