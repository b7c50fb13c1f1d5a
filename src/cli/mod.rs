//! Command-line definitions (clap derive) and their resolution into configs: every file the
//! arguments name is read, and every environment and terminal check made, here (called through
//! `commands::prepare`, on a thread Ctrl-C can abandon), so the commands get finished configs.

pub mod call;
pub mod generate;
pub mod load;
pub mod probe;
pub mod report;
pub mod resolve;
pub mod serve;
pub mod whip;

use clap::{Parser, Subcommand};

use crate::exit;

/// The exit-code table as help text (shown by `--help` and in the man pages).
pub fn exit_codes_help() -> String {
    let mut s = String::from("Exit codes:\n");
    for (code, what) in exit::TABLE {
        s.push_str(&format!("  {code:>3}  {what}\n"));
    }
    s
}

/// A clap error as one line: its lines joined, without the `error:` prefix, the usage block
/// and the pointer to `--help` (so `requires` errors name the missing argument).
pub fn one_line(text: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for l in text.lines() {
        let l = l.trim();
        if l.starts_with("Usage:") || l.starts_with("For more information") {
            break;
        }
        if !l.is_empty() {
            parts.push(l.strip_prefix("error: ").unwrap_or(l));
        }
    }
    if parts.is_empty() {
        "invalid arguments".to_string()
    } else {
        parts.join(" ")
    }
}

/// WebRTC calls and diagnostics from the terminal.
#[derive(Debug, Parser)]
#[command(
    name = "rtccall",
    version,
    about = "WebRTC calls and diagnostics from the terminal",
    long_about = "WebRTC calls and diagnostics from the terminal.\n\n\
        Two peers meet in a named room on a WebSocket signaling server and hold a real WebRTC \
        call (Opus audio; VP8, VP9 or H.264 video) from a microphone, a file, a camera or the screen. `rtccall answer demo` in one terminal and `rtccall dial \
        demo` in another work with nothing else running: the first peer hosts the signaling \
        server itself.",
    after_long_help = exit_codes_help(),
    propagate_version = true
)]
pub struct Cli {
    /// More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

/// How TLS servers (a `wss://` signaling server, `turns:` TURN servers) are trusted, for every
/// command that reaches them (`dial`/`answer` and `probe`).
#[derive(Debug, Clone, clap::Args)]
pub struct TrustArgs {
    /// Also trust the certificate(s) in this PEM file for wss:// signaling servers and turns:
    /// TURN servers (a private CA, or the certificate itself, e.g. from `serve
    /// --tls-self-signed --tls-cert-out FILE`).
    #[arg(long, value_name = "FILE")]
    pub ca: Option<std::path::PathBuf>,

    /// Do not check the certificates of wss:// and turns: servers at all (testing only).
    #[arg(long, conflicts_with = "ca")]
    pub insecure: bool,
}

impl TrustArgs {
    /// The TLS set-up these options ask for (reads the --ca file).
    pub fn setup(&self) -> Result<crate::tls::TlsSetup, crate::exit::Error> {
        crate::tls::TlsSetup::new(self.ca.as_deref(), self.insecure)
    }

    /// Whether anything other than the system's roots was asked for.
    pub fn given(&self) -> bool {
        self.ca.is_some() || self.insecure
    }
}

/// TURN credentials for servers given without them, for every command that reaches TURN
/// servers (`dial`/`answer` and `probe`): one definition, one pair of environment variables.
#[derive(Debug, Clone, clap::Args)]
pub struct TurnCredentialArgs {
    /// TURN username for --ice-server URLs that carry none.
    #[arg(
        long,
        visible_alias = "username",
        value_name = "USER",
        env = "RTCCALL_ICE_USERNAME",
        requires = "ice_credential"
    )]
    pub ice_username: Option<String>,

    /// TURN password for --ice-server URLs that carry none (never shown in output).
    #[arg(
        long,
        visible_alias = "credential",
        value_name = "PASS",
        env = "RTCCALL_ICE_CREDENTIAL",
        hide_env_values = true,
        requires = "ice_username"
    )]
    pub ice_credential: Option<String>,
}

impl TurnCredentialArgs {
    /// The username and password, when given (clap has checked they come together).
    pub fn pair(&self) -> Option<(String, String)> {
        self.ice_username.clone().zip(self.ice_credential.clone())
    }
}

/// TURN REST credentials minted from a shared secret (`probe` and `serve`).
#[derive(Debug, Clone, clap::Args)]
pub struct TurnSecretArgs {
    /// Mint time-limited TURN REST credentials from this shared secret (coturn
    /// use-auth-secret / static-auth-secret) for TURN servers given without credentials
    /// (never shown in output).
    #[arg(
        long,
        value_name = "SECRET",
        env = "RTCCALL_TURN_SECRET",
        hide_env_values = true
    )]
    pub turn_secret: Option<String>,

    /// User part of minted usernames (EXPIRY:USER).
    #[arg(
        long,
        value_name = "NAME",
        default_value = "rtccall",
        requires = "turn_secret"
    )]
    pub turn_user: String,

    /// Lifetime of minted credentials, seconds (a call refreshes its allocation with them).
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 86_400,
        requires = "turn_secret"
    )]
    pub ttl: u64,
}

/// Options of `rtccall devices`.
/// Options of `rtccall token`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = exit_codes_help())]
pub struct TokenArgs {
    /// The room the token admits to.
    #[arg(value_name = "ROOM")]
    pub room: String,

    /// The server's --secret.
    #[arg(
        long,
        value_name = "SECRET",
        env = "RTCCALL_SERVE_SECRET",
        hide_env_values = true
    )]
    pub secret: String,

    /// Seconds the token stays valid.
    #[arg(long, value_name = "SECS", default_value_t = 3600)]
    pub ttl: u64,

    /// Admit only a peer joining with this role.
    #[arg(long, value_enum)]
    pub role: Option<TokenRole>,
}

/// `rtccall token` resolved: what to mint.
pub struct TokenRequest {
    pub secret: String,
    pub room: String,
    pub ttl: std::time::Duration,
    pub role: Option<crate::signal::Role>,
}

impl TokenArgs {
    /// Check the room, the secret and the lifetime.
    pub fn resolve(self) -> Result<TokenRequest, crate::exit::Error> {
        use crate::exit::Error;
        crate::signal::protocol::validate_room(&self.room).map_err(Error::usage)?;
        if self.secret.len() < 16 {
            return Err(Error::usage(
                "--secret must be at least 16 characters (the server's --secret)".into(),
            ));
        }
        if self.ttl == 0 || self.ttl > 366 * 86_400 {
            return Err(Error::usage(
                "--ttl must be between 1 second and a year".into(),
            ));
        }
        Ok(TokenRequest {
            secret: self.secret,
            room: self.room,
            ttl: std::time::Duration::from_secs(self.ttl),
            role: self.role.map(|r| match r {
                TokenRole::Dial => crate::signal::Role::Dial,
                TokenRole::Answer => crate::signal::Role::Answer,
            }),
        })
    }
}

/// The role a token may be limited to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TokenRole {
    Dial,
    Answer,
}

#[derive(Debug, clap::Args)]
pub struct DevicesArgs {
    /// One JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the signaling server (rooms of two peers, WebSocket, JSON messages).
    Serve(serve::ServeArgs),
    /// Call the peer waiting in ROOM: join, send the offer, hold the call.
    Dial(call::DialArgs),
    /// Wait in ROOM for a call and take it (or reject it).
    Answer(call::AnswerArgs),
    /// Publish to a WHIP endpoint (a media server's ingest): send what `dial` sends, report
    /// like a call, DELETE the session at the end.
    Publish(whip::WhipArgs),
    /// Play from a WHEP endpoint: a receive-only call; play, decode or record what arrives.
    Play(whip::WhipArgs),
    /// Hold many calls at once (both ends of each in this process, or one side for two
    /// machines) through signaling servers and TURN, and report set-up, media and cost.
    Load(load::LoadArgs),
    /// Check STUN/TURN servers step by step (DNS, binding, allocation over UDP/TCP/TLS, relay
    /// echo, security), explain every failure, and exit 0 only when everything holds.
    Probe(probe::ProbeArgs),
    /// List audio inputs and outputs (cpal) and video capture devices (FFmpeg).
    Devices(DevicesArgs),
    /// Mint an access token for a room on a `serve --secret` server (printed on stdout).
    Token(TokenArgs),
    /// Draw a call: rtcstats dumps (--stats-dump) or NDJSON (--json) of one or both sides
    /// into a self-contained HTML report and PNG/SVG pictures.
    Report(report::ReportArgs),
    /// Write shell completions and man pages generated from these definitions.
    #[command(hide = true)]
    Generate(generate::GenerateArgs),
}
