//! `rtccall load` options and their validation into a [`LoadConfig`].

use std::time::Duration;

use clap::{Args, ValueEnum};

use super::call::{CodecArg, IceArgs, parse_bitrate, parse_size};
use crate::exit::Error;
use crate::load::{LoadConfig, LoadMedia, Sides};
use crate::media::{VideoCodec, VideoFormat};

/// What each call sends (`--media`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MediaArg {
    /// A tone (Opus), both ways.
    Audio,
    /// The test pattern, both ways.
    Video,
    /// Both.
    Both,
    /// Nothing but the data channel.
    None,
}

/// Which ends of each call this process holds (`--side`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SideArg {
    /// Both ends: the dialer and the answerer of each call run here.
    Both,
    /// Dialers only (another `rtccall load --side answer` answers, with the same --rooms).
    Dial,
    /// Answerers only.
    Answer,
}

/// Options of `rtccall load`.
#[derive(Debug, Args)]
#[command(after_long_help = super::exit_codes_help())]
pub struct LoadArgs {
    /// Signaling server (repeatable: calls are spread over them in turn, e.g. `serve`
    /// instances sharing rooms through Redis).
    #[arg(
        long,
        value_name = "URL",
        env = "RTCCALL_SERVER",
        value_delimiter = ',',
        default_value = "ws://127.0.0.1:8787/"
    )]
    pub server: Vec<String>,

    /// Access token for servers run with --secret, the same for every call (a token admits to
    /// one room: see --serve-secret for many).
    #[arg(
        long,
        value_name = "TOKEN",
        env = "RTCCALL_TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,

    /// The servers' --secret: each side mints its own token for its room and role (as
    /// `rtccall token` does), valid for the run.
    #[arg(
        long,
        value_name = "SECRET",
        env = "RTCCALL_SERVE_SECRET",
        hide_env_values = true,
        conflicts_with = "token"
    )]
    pub serve_secret: Option<String>,

    #[command(flatten)]
    pub trust: super::TrustArgs,

    /// How many calls.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub calls: u32,

    /// Calls started per second.
    #[arg(long, value_name = "R", default_value_t = 10.0)]
    pub rate: f64,

    /// Seconds each call is held once connected.
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    pub duration: f64,

    /// Seconds a side waits for its peer, and then to connect.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    pub timeout: f64,

    /// Which ends of each call run in this process.
    #[arg(long, value_enum, default_value = "both")]
    pub side: SideArg,

    /// Room names: PREFIX-0 .. PREFIX-(N-1) (give both machines the same one with --side).
    #[arg(long, value_name = "PREFIX", default_value = "load")]
    pub rooms: String,

    /// What each call sends both ways.
    #[arg(long, value_enum, default_value = "both")]
    pub media: MediaArg,

    /// Video codec of the test pattern (one encoder per codec and size, shared by every call).
    #[arg(long, value_enum, default_value = "vp8")]
    pub video_codec: CodecArg,

    /// Video size, WIDTHxHEIGHT.
    #[arg(long, value_name = "WxH", default_value = "320x240")]
    pub video_size: String,

    /// Video frame rate.
    #[arg(long, value_name = "FPS", default_value_t = 15)]
    pub fps: u32,

    /// Video bitrate, e.g. 300k or 1.5M.
    #[arg(long, value_name = "RATE", default_value = "300k")]
    pub video_bitrate: String,

    /// Decode the media of one call in K (the others check, count and time frames without
    /// decoding them); 0 decodes none.
    #[arg(long, value_name = "K", default_value_t = 10)]
    pub decode: u32,

    /// Each dialer also measures its data channel: SECS of bulk data each way.
    #[arg(long, value_name = "SECS")]
    pub data_throughput: Option<f64>,

    #[command(flatten, next_help_heading = "ICE")]
    pub ice: IceArgs,

    /// Require this of every side of every call (repeatable; the conditions of `dial
    /// --expect`); exit 7 when one side misses one.
    #[arg(long, value_name = "COND")]
    pub expect: Vec<crate::expect::Expect>,

    /// Write the load as JUnit XML to FILE: a testsuite per side of each call, one for the
    /// load.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<std::path::PathBuf>,

    /// NDJSON on stdout: load-progress every second, load-call per side, load-summary.
    #[arg(long)]
    pub json: bool,
}

fn usage(msg: impl Into<String>) -> Error {
    Error::usage(msg.into())
}

impl LoadArgs {
    /// Validate into a load configuration (reads the --ca file).
    pub fn resolve(&self) -> Result<LoadConfig, Error> {
        if self.calls == 0 || self.calls > 10_000 {
            return Err(usage(format!(
                "--calls must be between 1 and 10000, not {}",
                self.calls
            )));
        }
        if !self.rate.is_finite() || self.rate <= 0.0 || self.rate > 1000.0 {
            return Err(usage(format!(
                "--rate must be a number of calls per second above 0 and at most 1000, not {}",
                self.rate
            )));
        }
        let secs = |name: &str, v: f64| {
            if v.is_finite() && v > 0.0 && v <= 86_400.0 {
                Ok(Duration::from_secs_f64(v))
            } else {
                Err(usage(format!(
                    "{name} must be a number of seconds above 0 and at most 86400, not {v}"
                )))
            }
        };
        for s in &self.server {
            crate::signal::client::validate_url(s).map_err(usage)?;
        }
        if self.server.is_empty() {
            return Err(usage("--server must name at least one signaling server"));
        }
        crate::signal::protocol::validate_room(&format!("{}-{}", self.rooms, self.calls - 1))
            .map_err(|e| usage(format!("--rooms {}: {e}", self.rooms)))?;
        let (width, height) = parse_size(&self.video_size)?;
        if self.fps == 0 || self.fps > 60 {
            return Err(usage(format!("--fps must be 1 to 60, not {}", self.fps)));
        }
        if self.serve_secret.as_ref().is_some_and(|s| s.len() < 16) {
            return Err(usage(
                "--serve-secret must be at least 16 characters (the server's --secret)",
            ));
        }
        let mut peer = self.ice.to_setup()?;
        peer.data_channel = true;
        Ok(LoadConfig {
            servers: self.server.clone(),
            token: self
                .token
                .as_ref()
                .filter(|t| !t.is_empty())
                .map(|t| crate::signal::protocol::Token(t.clone())),
            secret: self.serve_secret.clone(),
            tls: if self.trust.given() {
                Some(self.trust.setup()?)
            } else {
                None
            },
            calls: self.calls,
            rate: self.rate,
            duration: secs("--duration", self.duration)?,
            timeout: secs("--timeout", self.timeout)?,
            sides: match self.side {
                SideArg::Both => Sides::Both,
                SideArg::Dial => Sides::Dial,
                SideArg::Answer => Sides::Answer,
            },
            room_prefix: self.rooms.clone(),
            media: match self.media {
                MediaArg::Audio => LoadMedia::Audio,
                MediaArg::Video => LoadMedia::Video,
                MediaArg::Both => LoadMedia::Both,
                MediaArg::None => LoadMedia::None,
            },
            format: VideoFormat {
                width,
                height,
                fps: self.fps,
                bitrate_bps: parse_bitrate(&self.video_bitrate)?,
                codec: match self.video_codec {
                    CodecArg::Vp8 => VideoCodec::Vp8,
                    CodecArg::Vp9 => VideoCodec::Vp9,
                    CodecArg::H264 => VideoCodec::H264,
                },
            },
            decode_every: self.decode,
            peer,
            data_throughput: self
                .data_throughput
                .map(|v| secs("--data-throughput", v))
                .transpose()?,
            expect: self.expect.clone(),
            stats_interval: Duration::from_secs(1),
        })
    }
}
