//! `rtccall dial` / `rtccall answer` options, grouped (signaling, media, ICE, output), and their
//! validation into a [`CallConfig`].

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, ValueEnum};

use crate::call::peer::{IceServer, PeerSetup};
use crate::call::{AcceptPolicy, CallConfig, Place, RoomConfig};
use crate::exit::Error;
use crate::ice::{IceUrl, Scheme};
use crate::media::choice::{AudioChoice, VideoChoice, file_source};
use crate::media::record::Container;
use crate::media::{AudioSource, MediaConfig, Speaker, VideoCodec, VideoFormat};
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

    /// Access token for a signaling server run with --secret (`rtccall token` mints one).
    #[arg(
        long,
        value_name = "TOKEN",
        env = "RTCCALL_TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,

    #[command(flatten)]
    pub trust: super::TrustArgs,

    /// Seconds to wait for the other peer, and then for connecting.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    pub timeout: f64,

    /// Hang up after this many seconds connected (default: until Ctrl-C or the other side hangs up).
    #[arg(long, value_name = "SECS")]
    pub duration: Option<f64>,
}

/// Video codecs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CodecArg {
    /// VP8 (libvpx, real-time).
    Vp8,
    /// VP9 (libvpx-vp9, real-time).
    Vp9,
    /// H.264 constrained baseline (libx264, zero latency), packetization-mode 1.
    H264,
}

/// What to send and what to do with what arrives.
#[derive(Debug, Args, Clone)]
pub struct MediaArgs {
    /// Audio to send: mic[:DEVICE], tone (440 Hz), file:PATH, or none [default: mic on a
    /// terminal, tone otherwise].
    #[arg(long, value_name = "SOURCE")]
    pub audio: Option<String>,

    /// Video to send: testsrc, file:PATH, camera[:DEVICE] (default /dev/video0),
    /// screen[:DISPLAY] (X11), ffmpeg:FORMAT:INPUT (any FFmpeg input device), or none.
    #[arg(long, value_name = "SOURCE", default_value = "testsrc")]
    pub video: String,

    /// Send the audio and video of this media file (as --audio file:PATH --video file:PATH).
    #[arg(long, value_name = "PATH", conflicts_with_all = ["audio", "video"])]
    pub media: Option<std::path::PathBuf>,

    /// Start files again when they end (otherwise the call hangs up at the end of the file).
    #[arg(long = "loop")]
    pub looping: bool,

    /// Video codec to send (the other side's video is decoded whatever it is).
    #[arg(long, value_enum, default_value_t = CodecArg::Vp8)]
    pub video_codec: CodecArg,

    /// Video frame size, WIDTHxHEIGHT (even numbers, 16x16 to 3840x2160); sources are scaled to
    /// it, and cameras are asked for it.
    #[arg(long, value_name = "WxH", default_value = "640x480")]
    pub video_size: String,

    /// Video frames per second (1 to 60) for the test pattern, cameras and the screen.
    #[arg(long, value_name = "FPS", default_value_t = 30)]
    pub fps: u32,

    /// Video bitrate in bit/s; k and M suffixes work (e.g. 800k, 1.5M).
    #[arg(long, value_name = "BITRATE", default_value = "1M")]
    pub video_bitrate: String,

    /// Play the other side's audio on this output device (see rtccall devices) [default: the
    /// default output on a terminal, none otherwise].
    #[arg(long, value_name = "DEVICE", num_args = 0..=1, default_missing_value = "default")]
    pub speaker: Option<String>,

    /// Do not play the other side's audio.
    #[arg(long, conflicts_with = "speaker")]
    pub no_speaker: bool,

    /// Record the received audio and video, without re-encoding, into PATH (.mkv or .webm).
    #[arg(long, value_name = "PATH")]
    pub record: Option<std::path::PathBuf>,
}

/// ICE: servers, policy, local sockets.
#[derive(Debug, Args, Clone)]
pub struct IceArgs {
    /// STUN or TURN server (repeatable): stun:HOST[:PORT], turn:HOST[:PORT][?transport=udp|tcp],
    /// turns:HOST[:PORT] (TURN over TLS);
    /// credentials as turn:USER:PASS@HOST:PORT or with --ice-username/--ice-credential.
    #[arg(long = "ice-server", value_name = "URL")]
    pub ice_servers: Vec<String>,

    #[command(flatten)]
    pub credentials: super::TurnCredentialArgs,

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

    /// Impair everything this peer sends (ICE, DTLS, media, data), without root:
    /// comma-separated loss=P%, delay=DUR, jitter=DUR (order kept), rate=N{bit,kbit,mbit,gbit},
    /// queue=DUR (rate limiter's tail-drop point, default 200ms), reorder=P%, seed=N; DUR
    /// takes us, ms or s. Example: loss=5%,delay=100ms,jitter=20ms,rate=1mbit.
    #[arg(long, value_name = "SPEC", value_parser = parse_impair)]
    pub impair: Option<crate::impair::ImpairSpec>,

    /// Restart ICE SECS after the call first connects, though the path works (new ICE
    /// credentials, candidates gathered again): checks that the other peer or the WHIP/WHEP
    /// server takes a restart. Shown as ice-restart / ice-restarted records.
    #[arg(long, value_name = "SECS")]
    pub restart_ice_after: Option<f64>,
}

fn parse_impair(s: &str) -> Result<crate::impair::ImpairSpec, String> {
    s.parse()
}

/// Chat, files and the throughput test over the call's data channels.
#[derive(Debug, Args, Clone)]
pub struct DataArgs {
    /// Send the lines typed on stdin as chat messages (the other side's lines show whether or
    /// not it is given). With stdin not a terminal, the call hangs up once every line is
    /// acknowledged (unless --duration).
    #[arg(long)]
    pub chat: bool,

    /// Send FILE to the other side (repeatable; one after the other). Without --duration the
    /// call hangs up once every file is verified by the receiver.
    #[arg(long, value_name = "FILE")]
    pub send: Vec<std::path::PathBuf>,

    /// Take files the other side sends into DIR (without it, offers are refused).
    #[arg(long, value_name = "DIR")]
    pub receive: Option<std::path::PathBuf>,

    /// A received file may replace a file of the same name in the --receive directory.
    #[arg(long, requires = "receive")]
    pub overwrite: bool,

    /// Measure what the data channel carries: send for SECS, then receive for SECS (reliable,
    /// ordered channel); Mbit/s each second and in the summary.
    #[arg(long, value_name = "SECS")]
    pub data_throughput: Option<f64>,
}

impl DataArgs {
    /// Validate into a [`crate::data::DataConfig`]; files and directories are looked at here
    /// (called on the argument-reading thread, see `commands::prepare`).
    pub fn to_config(&self) -> Result<crate::data::DataConfig, Error> {
        for f in &self.send {
            crate::data::files::check_send_path(f).map_err(usage)?;
        }
        if let Some(d) = &self.receive {
            crate::data::files::check_receive_dir(d).map_err(usage)?;
        }
        let throughput = match self.data_throughput {
            None => None,
            Some(v) if v.is_finite() && v > 0.0 && v <= crate::data::throughput::MAX_SECS => {
                Some(Duration::from_secs_f64(v))
            }
            Some(v) => {
                return Err(usage(format!(
                    "--data-throughput must be more than 0 and at most {} seconds, not {v}",
                    crate::data::throughput::MAX_SECS
                )));
            }
        };
        Ok(crate::data::DataConfig {
            chat: self.chat,
            send: self.send.clone(),
            receive: self.receive.clone(),
            overwrite: self.overwrite,
            throughput,
            keyboard: None,
        })
    }
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

    /// Write the call as an rtcstats dump (file format 3, JSON Lines) to FILE as it goes: API
    /// calls with their SDP, state changes, and W3C stats every --stats-interval; opened by
    /// `rtccall report` and the rtcstats dump importer.
    #[arg(long, value_name = "FILE")]
    pub stats_dump: Option<std::path::PathBuf>,

    /// Require this of the call (repeatable), checked on its summary; exit 7 when one does not
    /// hold: connected[<SECS s], path=host|srflx|prflx|relay, relay=udp|tcp|tls,
    /// codec=vp8|vp9|h264, rtt<MS, loss<PCT, jitter<MS, fps>=N, video-decoded>=PCT,
    /// audio-decoded>=PCT, bitrate>=KBPS, freezes<=N, restarts<=N, data>=MBIT, latency<MS
    /// (also audio-latency, video-latency). Any of <, <=, >, >= works with a number.
    #[arg(long, value_name = "COND")]
    pub expect: Vec<crate::expect::Expect>,

    /// Write the call as JUnit XML to FILE when it ends: one testsuite, a testcase for
    /// connecting and one per --expect, failures with what was measured.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<std::path::PathBuf>,

    /// The call screen when stdin and stdout are terminals (not with --json): the other
    /// side's video as half-blocks (blocks), sixel or kitty graphics, or in a desktop window
    /// (window, also without a terminal); auto asks the terminal what it shows (within
    /// 100 ms) and falls back to blocks; none keeps the status line.
    #[arg(long, value_enum, value_name = "HOW", default_value = "auto")]
    pub view: crate::screen::ViewMode,
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
    #[command(flatten, next_help_heading = "Data")]
    pub data: DataArgs,
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
    Error::usage(msg.into())
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

impl MediaArgs {
    /// What to send and what to do with what arrives (reads `$DISPLAY` for the screen).
    /// `interactive`: a person is at the terminal (microphone and speaker by default).
    pub fn to_config(&self, interactive: bool) -> Result<MediaConfig, Error> {
        let m = self;
        let (width, height) = parse_size(&m.video_size)?;
        if !(1..=60).contains(&m.fps) {
            return Err(usage(format!(
                "--fps must be between 1 and 60, not {}",
                m.fps
            )));
        }
        let bitrate_bps = parse_bitrate(&m.video_bitrate)?;
        let (audio, video) = match &m.media {
            Some(path) => (
                AudioSource::File {
                    path: path.clone(),
                    looping: m.looping,
                },
                file_source(&path.to_string_lossy(), m.looping),
            ),
            None => (
                match m.audio.as_deref() {
                    Some(a) => a.parse::<AudioChoice>().map_err(usage)?.source(m.looping),
                    None if interactive => AudioSource::Mic { device: None },
                    None => AudioSource::Tone {
                        frequency_hz: 440.0,
                    },
                },
                m.video
                    .parse::<VideoChoice>()
                    .and_then(|v| {
                        v.source(
                            (width, height),
                            m.fps,
                            m.looping,
                            std::env::var("DISPLAY").ok(),
                        )
                    })
                    .map_err(usage)?,
            ),
        };
        if let Some(path) = &m.record {
            Container::for_path(path).map_err(usage)?;
        }
        let speaker = match (&m.speaker, m.no_speaker) {
            (_, true) => Speaker::Off,
            (Some(d), false) if d == "default" => Speaker::On(None),
            (Some(d), false) => Speaker::On(Some(d.clone())),
            (None, false) if interactive => Speaker::On(None),
            (None, false) => Speaker::Off,
        };
        Ok(MediaConfig {
            audio,
            video,
            format: VideoFormat {
                width,
                height,
                fps: m.fps,
                bitrate_bps,
                codec: match m.video_codec {
                    CodecArg::Vp8 => VideoCodec::Vp8,
                    CodecArg::Vp9 => VideoCodec::Vp9,
                    CodecArg::H264 => VideoCodec::H264,
                },
            },
            speaker,
            record: m.record.clone(),
            shared: None,
            decode: true,
            controls: Default::default(),
        })
    }
}

impl IceArgs {
    /// The peer's ICE servers, policy and sockets.
    pub fn to_setup(&self) -> Result<PeerSetup, Error> {
        let i = self;
        let mut ice_servers = Vec::new();
        for url in &i.ice_servers {
            let u = IceUrl::parse(url, "--ice-server")?;
            let (username, credential) = match u.credentials() {
                Some((user, pass)) => (user.to_string(), pass.to_string()),
                None => i.credentials.pair().unwrap_or_default(),
            };
            if u.scheme == Scheme::Turn && (username.is_empty() || credential.is_empty()) {
                return Err(usage(format!(
                    "--ice-server {} is a TURN server: give credentials as turn:USER:PASS@HOST or with --ice-username and --ice-credential",
                    u.given
                )));
            }
            let credentials = (!username.is_empty()).then_some((username, credential));
            ice_servers.push(IceServer::new(u.given, credentials));
        }
        // With no --ice-server at all, the signaling server may hand TURN servers out (the
        // driver checks once it has joined).
        if i.relay_only
            && !ice_servers.is_empty()
            && !ice_servers.iter().any(|s| s.urls[0].starts_with("turn"))
        {
            return Err(usage(
                "--relay-only needs at least one TURN server (--ice-server turn:...)",
            ));
        }
        if i.bind.is_empty() && i.bind_tcp.is_empty() {
            return Err(usage("--bind must name at least one local address"));
        }
        let restart_ice_after = match i.restart_ice_after {
            None => None,
            Some(v) if v.is_finite() && (0.0..=86_400.0).contains(&v) => {
                Some(Duration::from_secs_f64(v))
            }
            Some(v) => {
                return Err(usage(format!(
                    "--restart-ice-after must be between 0 and 86400 seconds, not {v}"
                )));
            }
        };
        Ok(PeerSetup {
            ice_servers,
            relay_only: i.relay_only,
            udp_bind: i.bind.clone(),
            tcp_bind: i.bind_tcp.clone(),
            impair: i.impair,
            data_channel: true,
            restart_ice_after,
        })
    }
}

impl CallArgs {
    /// Validate into a call configuration (no I/O).
    /// `interactive`: a person is at the terminal (microphone and speaker by default).
    pub fn to_config(
        &self,
        role: Role,
        accept: AcceptPolicy,
        interactive: bool,
    ) -> Result<CallConfig, Error> {
        let s = &self.signaling;
        validate_room(&s.room).map_err(usage)?;
        validate_url(&s.server).map_err(usage)?;
        let timeout = secs("--timeout", s.timeout, 0.1)?;
        let duration = s.duration.map(|d| secs("--duration", d, 0.0)).transpose()?;
        let stats_interval = secs("--stats-interval", self.output.stats_interval, 0.1)?;

        let media = self.media.to_config(interactive)?;
        let peer = self.ice.to_setup()?;
        Ok(CallConfig {
            role,
            place: Place::Room(RoomConfig {
                server: s.server.clone(),
                name: s.room.clone(),
                token: s
                    .token
                    .as_ref()
                    .filter(|t| !t.is_empty())
                    .map(|t| crate::signal::protocol::Token(t.clone())),
                embed_server: !s.no_embedded_server,
            }),
            tls: if s.trust.given() {
                Some(s.trust.setup()?)
            } else {
                None
            },
            timeout,
            duration,
            accept,
            peer,
            media,
            stats_interval,
            stats_dump: self.output.stats_dump.clone(),
            expect: self.output.expect.clone(),
            junit: self.output.junit.clone(),
            data: self.data.to_config()?,
            stdin_terminal: std::io::IsTerminal::is_terminal(&std::io::stdin()),
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
}
