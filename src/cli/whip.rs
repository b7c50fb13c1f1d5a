//! `rtccall publish` (WHIP) and `rtccall play` (WHEP) options, resolved into a call config.

use std::time::Duration;

use clap::Args;

use super::call::{IceArgs, MediaArgs, OutputArgs};
use crate::call::{AcceptPolicy, CallConfig, Place, WhipConfig, WhipKind};
use crate::exit::Error;
use crate::media::{AudioSource, VideoSource};
use crate::signal::Role;

/// Options of `rtccall publish` and `rtccall play`.
#[derive(Debug, Args, Clone)]
#[command(after_long_help = super::exit_codes_help(), args_override_self = true)]
pub struct WhipArgs {
    /// The endpoint: a WHIP URL (publish) or a WHEP URL (play), http:// or https://.
    #[arg(value_name = "URL")]
    pub url: String,

    /// Bearer token the endpoint wants (sent as `Authorization: Bearer TOKEN`).
    #[arg(
        long,
        value_name = "TOKEN",
        env = "RTCCALL_WHIP_TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,

    #[command(flatten)]
    pub trust: super::TrustArgs,

    /// Seconds to wait for the endpoint's answer, and then for connecting.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    pub timeout: f64,

    /// Hang up (DELETE the session) after this many seconds connected (default: until Ctrl-C
    /// or the server ends it).
    #[arg(long, value_name = "SECS")]
    pub duration: Option<f64>,

    #[command(flatten, next_help_heading = "Media")]
    pub media: MediaArgs,
    #[command(flatten, next_help_heading = "ICE")]
    pub ice: IceArgs,
    #[command(flatten, next_help_heading = "Output")]
    pub output: OutputArgs,
}

fn secs(name: &str, v: f64) -> Result<Duration, Error> {
    if !v.is_finite() || !(0.0..=604_800.0).contains(&v) {
        return Err(Error::usage(format!(
            "{name} must be a number of seconds between 0 and 604800, not {v}"
        )));
    }
    Ok(Duration::from_secs_f64(v))
}

impl WhipArgs {
    /// Resolve into a call config (reads `--ca`, `$DISPLAY` for the screen). `play` sends
    /// nothing: its offer is receive-only whatever the media options say.
    pub fn to_config(&self, kind: WhipKind, interactive: bool) -> Result<CallConfig, Error> {
        let url = url::Url::parse(&self.url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
            .ok_or_else(|| {
                Error::usage(format!(
                    "{:?} is not an http:// or https:// endpoint URL",
                    self.url
                ))
            })?;
        let timeout = secs("--timeout", self.timeout)?.max(Duration::from_millis(100));
        let duration = self.duration.map(|d| secs("--duration", d)).transpose()?;
        let stats_interval = secs("--stats-interval", self.output.stats_interval)?;
        if stats_interval < Duration::from_millis(100) {
            return Err(Error::usage(
                "--stats-interval must be at least 0.1 seconds".into(),
            ));
        }
        let mut media = self.media.to_config(interactive)?;
        if kind == WhipKind::Play {
            media.audio = AudioSource::None;
            media.video = VideoSource::None;
        }
        let mut peer = self.ice.to_setup()?;
        peer.data_channel = false;
        Ok(CallConfig {
            role: Role::Dial,
            place: Place::Whip(WhipConfig {
                url,
                kind,
                token: self
                    .token
                    .as_ref()
                    .filter(|t| !t.is_empty())
                    .map(|t| crate::signal::protocol::Token(t.clone())),
            }),
            tls: if self.trust.given() {
                Some(self.trust.setup()?)
            } else {
                None
            },
            timeout,
            duration,
            accept: AcceptPolicy::Auto,
            peer,
            media,
            stats_interval,
            stats_dump: self.output.stats_dump.clone(),
            expect: self.output.expect.clone(),
            junit: self.output.junit.clone(),
            data: Default::default(),
            stdin_terminal: false,
        })
    }
}
