//! `rtccall dial` / `rtccall answer` options, grouped (signaling, media, ICE, output), and their
//! validation into a [`CallConfig`].

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, ValueEnum};

use crate::call::peer::{IceServer, PeerSetup};
use crate::call::{AcceptPolicy, CallConfig};
use crate::exit::Error;
use crate::media::{AudioSource, MediaConfig, VideoFormat, VideoSource};
use crate::signal::Role;
use crate::signal::client::validate_url;
use crate::signal::protocol::validate_room;

/// Where and how to meet the other peer.
#[derive(Debug, Args, Clone)]
pub struct SignalingArgs {
    /// Room name: 1 to 64 characters from A-Z a-z 0-9 . _ -
    #[arg(value_name = "ROOM")]
    pub room: String,

    /// Signaling server URL.
    #[arg(
        long,
        value_name = "URL",
        env = "RTCCALL_SERVER",
        default_value = "ws://127.0.0.1:8787/"
    )]
    pub server: String,

    /// Never start a signaling server in this process, even when none runs on a loopback URL.
    #[arg(long)]
    pub no_embedded_server: bool,

    /// Seconds to wait for the other peer, and then for connecting.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    pub timeout: f64,

    /// Hang up after this many seconds connected (default: until Ctrl-C or the other side hangs up).
    #[arg(long, value_name = "SECS")]
    pub duration: Option<f64>,
}

/// Audio sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AudioArg {
    /// A 440 Hz sine, Opus-encoded.
    Tone,
    /// Send no audio (still receive it).
    None,
}

/// Video sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VideoArg {
    /// A moving FFmpeg test pattern, VP8-encoded.
    Testsrc,
    /// Send no video (still receive it).
    None,
}

/// What to send.
#[derive(Debug, Args, Clone)]
pub struct MediaArgs {
    /// Audio to send.
    #[arg(long, value_enum, default_value_t = AudioArg::Tone)]
    pub audio: AudioArg,

    /// Video to send.
    #[arg(long, value_enum, default_value_t = VideoArg::Testsrc)]
    pub video: VideoArg,

    /// Video frame size, WIDTHxHEIGHT (even numbers, 16x16 to 3840x2160).
    #[arg(long, value_name = "WxH", default_value = "640x480")]
    pub video_size: String,

    /// Video frames per second (1 to 60).
    #[arg(long, value_name = "FPS", default_value_t = 30)]
    pub fps: u32,

    /// Video bitrate in bit/s; k and M suffixes work (e.g. 800k, 1.5M).
    #[arg(long, value_name = "BITRATE", default_value = "1M")]
    pub video_bitrate: String,
}

/// ICE: servers, policy, local sockets.
#[derive(Debug, Args, Clone)]
pub struct IceArgs {
    /// STUN or TURN server (repeatable): stun:HOST[:PORT], turn:HOST[:PORT][?transport=udp];
    /// credentials as turn:USER:PASS@HOST:PORT or with --ice-username/--ice-credential.
    #[arg(long = "ice-server", value_name = "URL")]
    pub ice_servers: Vec<String>,

    /// TURN username for --ice-server URLs that carry none.
    #[arg(long, value_name = "USER", env = "RTCCALL_ICE_USERNAME")]
    pub ice_username: Option<String>,

    /// TURN password for --ice-server URLs that carry none.
    #[arg(long, value_name = "PASS", env = "RTCCALL_ICE_CREDENTIAL")]
    pub ice_credential: Option<String>,

    /// Use only relay (TURN) candidates.
    #[arg(long)]
    pub relay_only: bool,

    /// Local UDP address(es) for ICE (repeatable or comma-separated). 0.0.0.0:0 means every
    /// non-loopback interface; add 127.0.0.1:0 for loopback.
    #[arg(
        long,
        value_name = "ADDR",
        env = "RTCCALL_BIND",
        value_delimiter = ',',
        default_value = "0.0.0.0:0,127.0.0.1:0"
    )]
    pub bind: Vec<SocketAddr>,

    /// Local TCP address(es) for ICE-TCP candidates (none by default).
    #[arg(long, value_name = "ADDR", value_delimiter = ',')]
    pub bind_tcp: Vec<SocketAddr>,
}

/// Output.
#[derive(Debug, Args, Clone)]
pub struct OutputArgs {
    /// NDJSON on stdout: one object per line with a "type" field; logs stay on stderr.
    #[arg(long)]
    pub json: bool,

    /// Seconds between stats reports.
    #[arg(long, value_name = "SECS", default_value_t = 1.0)]
    pub stats_interval: f64,
}

/// Options shared by `dial` and `answer`.
#[derive(Debug, Args, Clone)]
pub struct CallArgs {
    #[command(flatten)]
    pub signaling: SignalingArgs,
    #[command(flatten, next_help_heading = "Media")]
    pub media: MediaArgs,
    #[command(flatten, next_help_heading = "ICE")]
    pub ice: IceArgs,
    #[command(flatten, next_help_heading = "Output")]
    pub output: OutputArgs,
}

/// Options of `rtccall dial`.
#[derive(Debug, Args)]
#[command(after_long_help = super::exit_codes_help(), args_override_self = true)]
pub struct DialArgs {
    #[command(flatten)]
    pub call: CallArgs,
}

/// Options of `rtccall answer`.
#[derive(Debug, Args)]
#[command(after_long_help = super::exit_codes_help(), args_override_self = true)]
pub struct AnswerArgs {
    #[command(flatten)]
    pub call: CallArgs,

    /// Take the call without asking (the default when stdin is not a terminal).
    #[arg(long, conflicts_with = "reject")]
    pub auto_accept: bool,

    /// Decline the call; the dialer prints REASON and exits 3.
    #[arg(long, value_name = "REASON", num_args = 0..=1, default_missing_value = "busy")]
    pub reject: Option<String>,
}

fn usage(msg: impl Into<String>) -> Error {
    Error::Usage(msg.into())
}

fn secs(name: &str, v: f64, min: f64) -> Result<Duration, Error> {
    if !v.is_finite() || v < min || v > 86_400.0 * 7.0 {
        return Err(usage(format!(
            "{name} must be a number of seconds between {min} and 604800, not {v}"
        )));
    }
    Ok(Duration::from_secs_f64(v))
}

/// Parse `640x480`.
pub fn parse_size(s: &str) -> Result<(u32, u32), Error> {
    let bad = || {
        usage(format!(
            "--video-size {s:?} is not WIDTHxHEIGHT with even numbers from 16x16 to 3840x2160"
        ))
    };
    let (w, h) = s.split_once(['x', 'X']).ok_or_else(bad)?;
    let (w, h): (u32, u32) = (
        w.trim().parse().map_err(|_| bad())?,
        h.trim().parse().map_err(|_| bad())?,
    );
    if !(16..=3840).contains(&w) || !(16..=2160).contains(&h) || w % 2 != 0 || h % 2 != 0 {
        return Err(bad());
    }
    Ok((w, h))
}

/// Parse `800k`, `1.5M`, `64000`.
pub fn parse_bitrate(s: &str) -> Result<u64, Error> {
    let bad = || {
        usage(format!(
            "--video-bitrate {s:?} is not a bitrate between 50k and 50M (e.g. 800k, 1.5M)"
        ))
    };
    let t = s.trim();
    let (num, mult) = match t.chars().last() {
        Some('k' | 'K') => (&t[..t.len() - 1], 1e3),
        Some('m' | 'M') => (&t[..t.len() - 1], 1e6),
        _ => (t, 1.0),
    };
    let v: f64 = num.parse().map_err(|_| bad())?;
    let bps = v * mult;
    if !(50e3..=50e6).contains(&bps) {
        return Err(bad());
    }
    Ok(bps as u64)
}

/// Split `turn:user:pass@host:port?x` into the URL without credentials and the credentials.
pub fn parse_ice_url(url: &str) -> Result<(String, Option<(String, String)>), Error> {
    let (scheme, rest) = url.split_once(':').ok_or_else(|| {
        usage(format!(
            "--ice-server {url:?} must start with stun:, stuns:, turn: or turns:"
        ))
    })?;
    let scheme_l = scheme.to_ascii_lowercase();
    if !matches!(scheme_l.as_str(), "stun" | "stuns" | "turn" | "turns") {
        return Err(usage(format!(
            "--ice-server {url:?} must start with stun:, stuns:, turn: or turns:"
        )));
    }
    let rest = rest.trim_start_matches("//");
    let (creds, hostpart) = match rest.rsplit_once('@') {
        Some((c, h)) => (Some(c), h),
        None => (None, rest),
    };
    if hostpart.is_empty() || hostpart.starts_with(['?', ':']) {
        return Err(usage(format!("--ice-server {url:?} has no host")));
    }
    let creds = match creds {
        None => None,
        Some(c) => {
            let (u, p) = c.split_once(':').ok_or_else(|| {
                usage(format!(
                    "--ice-server {url:?}: credentials must be USER:PASS before the @"
                ))
            })?;
            Some((u.to_string(), p.to_string()))
        }
    };
    Ok((format!("{scheme_l}:{hostpart}"), creds))
}

impl CallArgs {
    /// Validate into a call configuration (no I/O).
    pub fn to_config(&self, role: Role, accept: AcceptPolicy) -> Result<CallConfig, Error> {
        let s = &self.signaling;
        validate_room(&s.room).map_err(usage)?;
        validate_url(&s.server).map_err(usage)?;
        let timeout = secs("--timeout", s.timeout, 0.1)?;
        let duration = s.duration.map(|d| secs("--duration", d, 0.0)).transpose()?;
        let stats_interval = secs("--stats-interval", self.output.stats_interval, 0.1)?;

        let m = &self.media;
        let (width, height) = parse_size(&m.video_size)?;
        if !(1..=60).contains(&m.fps) {
            return Err(usage(format!(
                "--fps must be between 1 and 60, not {}",
                m.fps
            )));
        }
        let bitrate_bps = parse_bitrate(&m.video_bitrate)?;
        let media = MediaConfig {
            audio: match m.audio {
                AudioArg::Tone => AudioSource::Tone {
                    frequency_hz: 440.0,
                },
                AudioArg::None => AudioSource::None,
            },
            video: match m.video {
                VideoArg::Testsrc => VideoSource::TestSrc,
                VideoArg::None => VideoSource::None,
            },
            format: VideoFormat {
                width,
                height,
                fps: m.fps,
                bitrate_bps,
            },
        };

        let i = &self.ice;
        let mut ice_servers = Vec::new();
        for url in &i.ice_servers {
            let (clean, creds) = parse_ice_url(url)?;
            let (username, credential) = match creds {
                Some(c) => c,
                None => (
                    i.ice_username.clone().unwrap_or_default(),
                    i.ice_credential.clone().unwrap_or_default(),
                ),
            };
            if clean.starts_with("turn") && (username.is_empty() || credential.is_empty()) {
                return Err(usage(format!(
                    "--ice-server {clean} is a TURN server: give credentials as turn:USER:PASS@HOST or with --ice-username and --ice-credential"
                )));
            }
            ice_servers.push(IceServer {
                urls: vec![clean],
                username,
                credential,
            });
        }
        if i.relay_only && !ice_servers.iter().any(|s| s.urls[0].starts_with("turn")) {
            return Err(usage(
                "--relay-only needs at least one TURN server (--ice-server turn:...)",
            ));
        }
        if i.bind.is_empty() && i.bind_tcp.is_empty() {
            return Err(usage("--bind must name at least one local address"));
        }
        Ok(CallConfig {
            role,
            room: s.room.clone(),
            server: s.server.clone(),
            embed_server: !s.no_embedded_server,
            timeout,
            duration,
            accept,
            peer: PeerSetup {
                ice_servers,
                relay_only: i.relay_only,
                udp_bind: i.bind.clone(),
                tcp_bind: i.bind_tcp.clone(),
            },
            media,
            stats_interval,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_bitrates() {
        assert_eq!(parse_size("640x480").unwrap(), (640, 480));
        assert!(parse_size("641x480").is_err());
        assert!(parse_size("big").is_err());
        assert_eq!(parse_bitrate("800k").unwrap(), 800_000);
        assert_eq!(parse_bitrate("1.5M").unwrap(), 1_500_000);
        assert!(parse_bitrate("1").is_err());
    }

    #[test]
    fn ice_urls() {
        assert_eq!(
            parse_ice_url("turn:alice:pw@127.0.0.1:3478?transport=udp").unwrap(),
            (
                "turn:127.0.0.1:3478?transport=udp".to_string(),
                Some(("alice".into(), "pw".into()))
            )
        );
        assert_eq!(parse_ice_url("stun:127.0.0.1:3478").unwrap().1, None);
        assert!(parse_ice_url("http://x").is_err());
        assert!(parse_ice_url("turn:").is_err());
    }
}
