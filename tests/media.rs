//! Media integration tests: the real audio stack (PulseAudio in user mode with a null sink as the
//! speaker and a sine played into another null sink as the microphone), files made with the
//! FFmpeg CLI, FFmpeg devices, Xvfb for the screen, and recordings checked with ffprobe/ffmpeg:
//! the content that arrives must be the content that was sent.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;
use rtccall::media::devices::DeviceList;
use rtccall::report::schema::{Record, Summary};

/// Media tests hold real-time audio and video calls: on a 2-core machine another test beside
/// them starves PulseAudio and the encoders, so each has the suite to itself.
fn take_turn() -> SuiteGuard {
    alone()
}

/// A child process killed (by PID) on drop.
struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[track_caller]
fn wait_for(what: &str, within: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !ok() {
        assert!(
            Instant::now() < deadline,
            "{what} did not happen within {within:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// PulseAudio in user mode on a private socket: `spk` (a null sink) is the speaker, and a
/// 440 Hz sine played by the ffmpeg CLI into the null sink `micsink` is the microphone
/// (`micsink.monitor` is the default source).
struct Pulse {
    server: String,
    _player: Daemon,
    _daemon: Daemon,
    dir: Scratch,
}

impl Pulse {
    fn start() -> Pulse {
        let dir = Scratch::new("pulse");
        for d in ["home", "run"] {
            std::fs::create_dir_all(dir.path(d)).unwrap();
        }
        let socket = dir.path("native");
        std::fs::write(
            dir.path("default.pa"),
            format!(
                "load-module module-native-protocol-unix auth-anonymous=1 socket={}\n\
                 load-module module-null-sink sink_name=spk rate=48000 channels=2\n\
                 load-module module-null-sink sink_name=micsink rate=48000 channels=1\n\
                 set-default-sink spk\n\
                 set-default-source micsink.monitor\n",
                socket.display()
            ),
        )
        .unwrap();
        let daemon = Command::new("pulseaudio")
            .args(["-n", "-F"])
            .arg(dir.path("default.pa"))
            .args(["--exit-idle-time=-1", "--daemonize=no"])
            .env("HOME", dir.path("home"))
            .env("XDG_RUNTIME_DIR", dir.path("run"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start pulseaudio (install it: bash .ci/install-deps)");
        let daemon = Daemon(daemon);
        wait_for("PulseAudio's socket", Duration::from_secs(10), || {
            socket.exists()
        });
        let server = format!("unix:{}", socket.display());
        let player = Command::new("ffmpeg")
            .args(["-loglevel", "error", "-f", "lavfi", "-i"])
            .arg("sine=frequency=440:sample_rate=48000")
            .args([
                "-f",
                "pulse",
                "-buffer_duration",
                "20",
                "-device",
                "micsink",
                "mic",
            ])
            .env("PULSE_SERVER", &server)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the ffmpeg CLI");
        std::thread::sleep(Duration::from_millis(300));
        Pulse {
            server,
            _player: Daemon(player),
            _daemon: daemon,
            dir,
        }
    }

    /// Record what the speaker plays (the `spk` monitor) into a WAV file until dropped.
    fn record_speaker(&self, path: &Path) -> Daemon {
        let child = Command::new("parecord")
            .args(["--device=spk.monitor", "--file-format=wav"])
            .arg(path)
            .env("PULSE_SERVER", &self.server)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start parecord");
        Daemon(child)
    }
}

/// Xvfb on a free display number, killed on drop.
struct Xvfb {
    display: String,
    _daemon: Daemon,
}

impl Xvfb {
    fn start() -> Xvfb {
        let n = (90..200)
            .find(|n| {
                !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
                    && !Path::new(&format!("/tmp/.X{n}-lock")).exists()
            })
            .expect("a free X display number");
        let child = Command::new("Xvfb")
            .arg(format!(":{n}"))
            .args(["-screen", "0", "640x480x24", "-nolisten", "tcp"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start Xvfb (install xvfb: bash .ci/install-deps)");
        let daemon = Daemon(child);
        wait_for("Xvfb's socket", Duration::from_secs(10), || {
            Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
        });
        Xvfb {
            display: format!(":{n}"),
            _daemon: daemon,
        }
    }
}

/// The audio of a media file as 48 kHz mono samples (decoded by the ffmpeg CLI).
pub(crate) fn decode_audio(path: &Path) -> Vec<i16> {
    let out = Command::new("ffmpeg")
        .args(["-loglevel", "error", "-i"])
        .arg(path)
        .args([
            "-map", "0:a:0", "-ac", "1", "-ar", "48000", "-f", "s16le", "-",
        ])
        .output()
        .expect("run ffmpeg");
    assert!(
        out.status.success(),
        "ffmpeg could not decode the audio of {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect()
}

/// Energy of `samples` at `freq` Hz (Goertzel).
fn energy_at(samples: &[i16], freq: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * freq / 48_000.0;
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &x in samples {
        let s = f64::from(x) + coeff * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    s1 * s1 + s2 * s2 - coeff * s1 * s2
}

/// The audio's energy is at 440 Hz: the strongest of 100..2000 Hz in 20 Hz steps, and far
/// above the typical bin.
#[track_caller]
pub(crate) fn assert_tone_at_440(what: &str, samples: &[i16]) {
    assert_tone_near_440(what, samples, 0.0)
}

/// As [`assert_tone_at_440`], with the strongest 20 Hz bin allowed `tolerance_hz` away.
#[track_caller]
fn assert_tone_near_440(what: &str, samples: &[i16], tolerance_hz: f64) {
    assert!(
        samples.len() > 48_000,
        "{what}: only {} samples",
        samples.len()
    );
    let bins: Vec<(f64, f64)> = (5..=100)
        .map(|i| f64::from(i) * 20.0)
        .map(|f| (f, energy_at(samples, f)))
        .collect();
    let (peak, peak_e) = bins
        .iter()
        .copied()
        .fold((0.0, 0.0), |a, b| if b.1 > a.1 { b } else { a });
    let mut energies: Vec<f64> = bins.iter().map(|b| b.1).collect();
    energies.sort_by(|a, b| a.total_cmp(b));
    let median = energies[energies.len() / 2];
    assert!(
        (peak - 440.0).abs() <= tolerance_hz,
        "{what}: the strongest frequency is {peak} Hz"
    );
    assert!(
        peak_e > 100.0 * median.max(1.0),
        "{what}: 440 Hz is not clearly above the rest ({peak_e:.3e} vs median {median:.3e})"
    );
}

/// ffprobe's view of a file.
pub(crate) fn probe(path: &Path) -> serde_json::Value {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-print_format",
            "json",
            "-show_streams",
            "-show_format",
        ])
        .arg(path)
        .output()
        .expect("run ffprobe");
    assert!(
        out.status.success(),
        "ffprobe rejects {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

pub(crate) fn stream<'a>(probe: &'a serde_json::Value, kind: &str) -> &'a serde_json::Value {
    probe["streams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["codec_type"] == kind)
        .unwrap_or_else(|| panic!("no {kind} stream in {probe}"))
}

fn duration_s(probe: &serde_json::Value) -> f64 {
    probe["format"]["duration"]
        .as_str()
        .and_then(|d| d.parse().ok())
        .unwrap_or_else(|| panic!("no duration in {probe}"))
}

#[test]
fn microphone_to_speaker_and_recording_through_pulseaudio() {
    let _turn = take_turn();
    let pulse = Pulse::start();
    let env = [("PULSE_SERVER", pulse.server.as_str())];
    let (_server, url) = serve();
    let rec = pulse.dir.path("received.mkv");
    let rec_s = rec.display().to_string();
    // Record the speaker before anything else connects: a new PulseAudio stream can hold up the
    // ones created just after it.
    let monitor = pulse.dir.path("speaker.wav");
    let speaker = pulse.record_speaker(&monitor);
    std::thread::sleep(Duration::from_millis(500));
    let mut answer = Proc::spawn_env(
        &call_args(
            "answer",
            "pulse",
            &url,
            &[
                "--auto-accept",
                "--audio",
                "none",
                "--video",
                "none",
                "--speaker",
                "--record",
                &rec_s,
            ],
        ),
        &env,
    );
    answer.wait_line(Duration::from_secs(10), |l| l.contains("\"joined\""));
    let dial = Proc::spawn_env(
        &call_args(
            "dial",
            "pulse",
            &url,
            &["--audio", "mic", "--video", "none", "--duration", "4"],
        ),
        &env,
    );
    let d = dial.finish(Duration::from_secs(30));
    let a = answer.finish(Duration::from_secs(30));
    std::thread::sleep(Duration::from_millis(300));
    drop(speaker);
    let (ds, as_) = (d.summary(), a.summary());
    assert_eq!(d.code, 0, "dial: {}\n{ds:?}", d.stderr);
    assert_eq!(a.code, 0, "answer: {}\n{as_:?}", a.stderr);
    assert_eq!(ds.audio.source, "mic");
    // The microphone needs a moment to start (PulseAudio fills its first buffer); from then
    // on it delivers in real time: 50 frames of 20 ms per second at 48 kHz.
    assert!(
        ds.audio.packets_sent >= 120,
        "{:?}\n{}\n{}",
        ds.audio,
        d.stdout.join("\n"),
        d.stderr
    );
    assert!(
        as_.audio.decoded_ms as f64 >= 0.9 * ds.audio.packets_sent as f64 * 20.0,
        "{:?} of {:?}",
        as_.audio,
        ds.audio
    );
    let sent: Vec<(f64, u64)> = d
        .records()
        .into_iter()
        .filter_map(|r| match r {
            Record::Stats { ms, stats } => Some((ms, stats.audio.packets_sent)),
            _ => None,
        })
        .collect();
    assert!(sent.len() >= 3, "{sent:?}");
    // Over the last two seconds or more, so that a late chunk does not decide.
    let ((t1, n1), (t2, n2)) = (sent[0], sent[sent.len() - 1]);
    let rate = (n2 - n1) as f64 / ((t2 - t1) / 1000.0);
    assert!(
        (45.0..=55.0).contains(&rate),
        "{rate:.1} frames/s from the microphone"
    );
    // The microphone is not silent, and the level reaches the other side.
    let levels: Vec<(Option<f64>, Option<f64>)> = d
        .records()
        .into_iter()
        .chain(a.records())
        .filter_map(|r| match r {
            Record::Stats { stats, .. } => {
                Some((stats.audio.level_sent_dbfs, stats.audio.level_received_dbfs))
            }
            _ => None,
        })
        .collect();
    assert!(
        levels.iter().any(|(s, _)| s.is_some_and(|l| l > -40.0)),
        "no sent level above -40 dBFS: {levels:?}"
    );
    assert!(
        levels.iter().any(|(_, r)| r.is_some_and(|l| l > -40.0)),
        "no received level above -40 dBFS: {levels:?}"
    );
    // A device may start with a burst (PulseAudio's first buffer); past the jitter buffer's
    // 300 ms those packets are late, but never more than a few.
    assert!(
        as_.audio.late_packets * 10 <= as_.audio.packets_received,
        "{:?}\n{}",
        as_.audio,
        a.stderr
    );

    // The recording holds the tone, for about as long as the call.
    assert_eq!(as_.recording.as_deref(), Some(rec_s.as_str()));
    assert!(as_.recording_error.is_none(), "{as_:?}");
    let p = probe(&rec);
    assert_eq!(stream(&p, "audio")["codec_name"], "opus");
    let dur = duration_s(&p);
    assert!((2.5..=4.6).contains(&dur), "recorded {dur} s of a 4 s call");
    assert_tone_at_440("the recording", &decode_audio(&rec));

    // What the answerer played reached the speaker.
    assert_tone_at_440("the speaker output", &decode_audio(&monitor));
}

#[test]
fn devices_json_lists_the_pulseaudio_devices() {
    let _turn = take_turn();
    let pulse = Pulse::start();
    let out = Command::new(BIN)
        .args(["devices", "--json"])
        .env("PULSE_SERVER", &pulse.server)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let list: DeviceList = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&out.stdout));
    });
    for (what, devs) in [
        ("inputs", &list.audio_inputs),
        ("outputs", &list.audio_outputs),
    ] {
        let pulse_dev = devs
            .iter()
            .find(|d| d.name == "pulse")
            .unwrap_or_else(|| panic!("no pulse device among the audio {what}: {devs:?}"));
        assert!(
            pulse_dev
                .config
                .as_deref()
                .is_some_and(|c| c.contains("Hz")),
            "the PulseAudio {what} device has no usable configuration: {pulse_dev:?}"
        );
        assert!(devs.iter().any(|d| d.default), "no default audio {what}");
    }
    assert!(list.ffmpeg_inputs.iter().any(|f| f == "lavfi"));
}

/// Make a clip with the ffmpeg CLI from two lavfi graphs (video, audio), `secs` long.
fn make_clip(path: &Path, video: &str, audio: &str, secs: u32) {
    let made = Command::new("ffmpeg")
        .args([
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            video,
            "-f",
            "lavfi",
            "-i",
            audio,
        ])
        .args([
            "-t",
            &secs.to_string(),
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
        ])
        .args(["-c:a", "aac"])
        .arg(path)
        .status()
        .expect("run ffmpeg");
    assert!(made.success(), "ffmpeg could not make {}", path.display());
}

/// Send `clip` with `--media` to an answerer that records into `rec`; both must exit 0.
fn send_file_and_record(room: &str, clip: &Path, rec: &str) -> (Finished, Finished) {
    let (_server, url) = serve();
    let mut answer = Proc::spawn(&call_args(
        "answer",
        room,
        &url,
        &[
            "--auto-accept",
            "--audio",
            "none",
            "--video",
            "none",
            "--record",
            rec,
        ],
    ));
    answer.wait_line(Duration::from_secs(10), |l| l.contains("\"joined\""));
    let clip_s = clip.display().to_string();
    let dial = Proc::spawn(&call_args(
        "dial",
        room,
        &url,
        &["--media", &clip_s, "--video-bitrate", "1M"],
    ));
    let d = dial.finish(Duration::from_secs(30));
    let a = answer.finish(Duration::from_secs(30));
    assert_eq!(d.code, 0, "{}", d.stderr);
    assert_eq!(a.code, 0, "{}", a.stderr);
    (d, a)
}

#[test]
fn a_file_arrives_intact_in_the_recording() {
    let _turn = take_turn();
    let dir = Scratch::new("file");
    let clip = dir.path("clip.mp4");
    // 3 s of a moving pattern at 25 fps with a 440 Hz tone, in codecs rtccall must transcode.
    make_clip(
        &clip,
        "testsrc2=size=320x240:rate=25",
        "sine=frequency=440:sample_rate=44100",
        3,
    );
    let rec = dir.str("received.webm");
    let (d, a) = send_file_and_record("file", &clip, &rec);
    let (ds, as_) = (d.summary(), a.summary());
    assert_eq!(ds.end_reason, "end-of-media", "the call ends with the file");
    assert_eq!(as_.video.recorded, as_.video.frames_decoded, "{as_:?}");
    // The dialer showed its position in the file.
    assert!(
        d.records()
            .iter()
            .any(|r| matches!(r, Record::Stats { stats, .. }
            if stats.video.source_length_s.is_some_and(|l| (l - 3.0).abs() < 0.1)
            && stats.video.source_position_s.is_some())),
        "no stats record with the file position"
    );

    let rec = PathBuf::from(&rec);
    let p = probe(&rec);
    let v = stream(&p, "video");
    assert_eq!(v["codec_name"], "vp8");
    assert_eq!(
        (v["width"].as_u64(), v["height"].as_u64()),
        (Some(320), Some(240))
    );
    assert_eq!(stream(&p, "audio")["codec_name"], "opus");
    let dur = duration_s(&p);
    assert!((dur - 3.0).abs() <= 0.15, "recorded {dur} s of a 3 s file");

    // Frame by frame, the pictures are the ones sent.
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-i"])
        .arg(&rec)
        .arg("-i")
        .arg(&clip)
        .args([
            "-lavfi",
            "[0:v]setpts=N/25/TB[a];[1:v]setpts=N/25/TB[b];[a][b]psnr",
            "-f",
            "null",
            "-",
        ])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    let psnr: f64 = log
        .lines()
        .find_map(|l| l.split("average:").nth(1))
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no PSNR in ffmpeg's output:\n{log}"));
    assert!(psnr >= 30.0, "PSNR {psnr:.1} dB is below 30 dB");
    assert_tone_at_440("the recorded file audio", &decode_audio(&rec));
}

#[test]
fn ffmpeg_inputs_and_the_screen_deliver_frames() {
    let _turn = take_turn();
    let x = Xvfb::start();
    let (_server, url) = serve();
    let screen = format!("screen:{}", x.display);
    for (room, source) in [
        ("lavfi", "ffmpeg:lavfi:testsrc2=size=640x360:rate=15"),
        ("screen", screen.as_str()),
    ] {
        let mut answer = Proc::spawn(&call_args(
            "answer",
            room,
            &url,
            &["--auto-accept", "--video", "none"],
        ));
        answer.wait_line(Duration::from_secs(10), |l| l.contains("\"joined\""));
        let dial = Proc::spawn(&call_args(
            "dial",
            room,
            &url,
            &["--video", source, "--duration", "2"],
        ));
        let d = dial.finish(Duration::from_secs(30));
        let a = answer.finish(Duration::from_secs(30));
        assert_eq!(d.code, 0, "{source}: {}", d.stderr);
        let s = a.summary();
        assert!(
            s.video.frames_decoded >= 15,
            "{source}: only {} frames decoded: {s:?}",
            s.video.frames_decoded
        );
        // Scaled to --video-size whatever the source's own size.
        assert_eq!((s.video.width, s.video.height), (320, 240), "{source}");
        assert_eq!(d.summary().video.source, source);
    }
}

#[test]
fn a_missing_camera_or_microphone_exits_5_naming_it() {
    let _turn = take_turn();
    let port = free_port().to_string();
    let server = format!("ws://127.0.0.1:{port}/");
    let p = Proc::spawn(&[
        "dial",
        "cam",
        "--server",
        &server,
        "--video",
        "camera:/dev/video-rtccall-missing",
        "--audio",
        "none",
    ]);
    let f = p.finish(Duration::from_secs(20));
    assert_eq!(f.code, 5, "{}", f.stderr);
    assert!(
        f.stderr.contains("/dev/video-rtccall-missing") && f.stderr.contains("no such device"),
        "{}",
        f.stderr
    );

    let p = Proc::spawn_env(
        &[
            "dial", "mic", "--server", &server, "--audio", "mic", "--video", "none",
        ],
        &[("PULSE_SERVER", "unix:/nonexistent/rtccall-no-pulse")],
    );
    let f = p.finish(Duration::from_secs(20));
    assert_eq!(f.code, 5, "{}", f.stderr);
    let last = f
        .stderr
        .lines()
        .rev()
        .find(|l| l.starts_with("rtccall: error:"));
    assert!(
        last.is_some_and(|l| l.contains("microphone") && l.contains("--audio tone")),
        "{}",
        f.stderr
    );
}

#[test]
fn h264_and_vp9_calls_decode_and_record() {
    let _turn = take_turn();
    let dir = Scratch::new("codecs");
    let (_server, url) = serve();
    for (codec, mime, probe_name) in [("h264", "video/H264", "h264"), ("vp9", "video/VP9", "vp9")] {
        let rec = dir.str(&format!("{codec}.mkv"));
        let mut answer = Proc::spawn(&call_args(
            "answer",
            codec,
            &url,
            &["--auto-accept", "--video", "none", "--record", &rec],
        ));
        answer.wait_line(Duration::from_secs(10), |l| l.contains("\"joined\""));
        let dial = Proc::spawn(&call_args(
            "dial",
            codec,
            &url,
            &["--video-codec", codec, "--duration", "3"],
        ));
        let d = dial.finish(Duration::from_secs(30));
        let a = answer.finish(Duration::from_secs(30));
        assert_eq!(d.code, 0, "{codec}: {}", d.stderr);
        let (ds, as_) = (d.summary(), a.summary());
        assert!(
            a.records()
                .iter()
                .any(|r| matches!(r, Record::Track { direction, codec: c, .. }
                if direction == "receive" && c.eq_ignore_ascii_case(mime))),
            "{codec}: no {mime} track received"
        );
        assert!(ds.video.frames_sent >= 30, "{codec}: {:?}", ds.video);
        assert!(
            as_.video.frames_decoded as f64 >= 0.8 * ds.video.frames_sent as f64,
            "{codec}: decoded {} of {}",
            as_.video.frames_decoded,
            ds.video.frames_sent
        );
        assert_eq!((as_.video.width, as_.video.height), (320, 240));
        let p = probe(Path::new(&rec));
        assert_eq!(stream(&p, "video")["codec_name"], probe_name, "{codec}");
    }
}

#[test]
fn recording_survives_packet_loss() {
    let _turn = take_turn();
    let ns = LossyNetns::create(5);
    let w = ns.wrapper();
    let dir = Scratch::new("loss");
    let rec = dir.str("lossy.mkv");
    let (_server, url) = serve_wrapped(&w);
    let mut answer = Proc::spawn_wrapped(
        &w,
        &call_args(
            "answer",
            "loss",
            &url,
            &["--auto-accept", "--video", "none", "--record", &rec],
        ),
        &[],
    );
    answer.wait_line(Duration::from_secs(10), |l| l.contains("\"joined\""));
    let dial = Proc::spawn_wrapped(
        &w,
        &call_args("dial", "loss", &url, &["--duration", "5"]),
        &[],
    );
    let d = dial.finish(Duration::from_secs(40));
    let a = answer.finish(Duration::from_secs(40));
    assert_eq!(d.code, 0, "{}", d.stderr);
    assert_eq!(a.code, 0, "{}", a.stderr);
    let (ds, as_) = (d.summary(), a.summary());
    // Audio shows the loss; video's lost packets are mostly repaired by NACK retransmission.
    assert!(as_.audio.packets_lost > 0, "no loss happened: {as_:?}");
    assert!(
        as_.video.frames_decoded as f64 >= 0.85 * ds.video.frames_sent as f64,
        "decoded {} of {} frames under 5 % loss",
        as_.video.frames_decoded,
        ds.video.frames_sent
    );
    assert!(as_.video.recorded > 0 && as_.audio.recorded > 0, "{as_:?}");
    let path = PathBuf::from(&rec);
    let p = probe(&path);
    assert_eq!(stream(&p, "video")["codec_name"], "vp8");
    assert_eq!(stream(&p, "audio")["codec_name"], "opus");
    let dur = duration_s(&p);
    assert!((4.0..=5.5).contains(&dur), "recorded {dur} s of a 5 s call");
    // Every frame in the file decodes: broken frames were left out, not written.
    let check = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(&path)
        .args(["-f", "null", "-"])
        .output()
        .unwrap();
    assert!(check.status.success());
    // The recording keeps the packets as received; FFmpeg's decoder conceals the lost ones
    // (with FEC on, Opus codes a tone in SILK, whose concealment may drift a bin).
    assert_tone_near_440("the lossy recording", &decode_audio(&path), 20.0);
}

/// Share of the call the audio of `r` covered once it started (decoded, rebuilt from FEC,
/// concealed): from the first decoded frame to the end. Over a 100 ms path the first audio
/// decodes up to ~1.3 s after DTLS connects (packets before the receiving track exists are
/// not counted by anyone), which is a setup matter, not loss.
fn audio_covered(r: &Summary) -> f64 {
    let t = &r.timings_ms;
    let startup = match (t.first_audio, t.dtls_connected) {
        (Some(a), Some(d)) => (a - d).max(0.0),
        _ => 0.0,
    };
    (r.audio.decoded_ms + r.audio.fec_recovered_ms + r.audio.concealed_ms) as f64
        / (r.duration_s * 1000.0 - startup).max(1.0)
}

/// An impaired link both ways: 5 % random UDP loss (nftables in a namespace) plus
/// `--impair delay=100ms,jitter=20ms` on both peers, for 20 s. The RTT shows the delay; NACK
/// retransmissions, the RTT-sized reorder window, Opus FEC (budgeted once the loss is reported)
/// and concealment keep at least 90 % of the video frames and 95 % of the audio; and the ~3 s
/// frozen-peer detection never makes this lossy but live link flap (`disconnected`).
#[test]
fn an_impaired_link_holds_up_and_never_looks_like_a_vanished_peer() {
    let _turn = take_turn();
    let ns = LossyNetns::create(5);
    let w = ns.wrapper();
    let (_server, url) = serve_wrapped(&w);
    let a_extra = [
        "--duration",
        "20",
        "--impair",
        "delay=100ms,jitter=20ms,seed=1",
    ];
    let d_extra = [
        "--duration",
        "20",
        "--impair",
        "delay=100ms,jitter=20ms,seed=2",
    ];
    let answer = Proc::spawn_wrapped(&w, &call_args("answer", "flap", &url, &a_extra), &[]);
    let dial = Proc::spawn_wrapped(&w, &call_args("dial", "flap", &url, &d_extra), &[]);
    let d = dial.finish(Duration::from_secs(60));
    let a = answer.finish(Duration::from_secs(60));
    assert_eq!((d.code, a.code), (0, 0), "{}\n{}", d.stderr, a.stderr);
    for f in [&d, &a] {
        let states: Vec<String> = f
            .records()
            .into_iter()
            .filter_map(|r| match r {
                Record::IceState { state, .. } => Some(state.to_string()),
                _ => None,
            })
            .collect();
        assert!(
            !states.iter().any(|s| s == "disconnected" || s == "failed"),
            "{states:?}"
        );
        let s = f.summary();
        assert!(s.audio.packets_lost > 0, "no loss happened");
        // The other side's encoder budgets FEC for the loss it is told of (none at first).
        assert!(
            s.audio.fec_recovered_ms > 0,
            "no lost audio rebuilt from FEC: {:?}",
            s.audio
        );
        let rtt = s
            .selected_pair
            .as_ref()
            .and_then(|p| p.rtt_ms)
            .unwrap_or(0.0);
        assert!(
            (170.0..400.0).contains(&rtt),
            "RTT {rtt} ms with 100 ms each way"
        );
        let imp = s.impair.as_ref().expect("impair summary");
        assert!(
            imp.spec.contains("delay=100ms") && imp.sent > 1000,
            "{imp:?}"
        );
    }
    for (from, to) in [(&d, &a), (&a, &d)] {
        let (sent, decoded) = (
            from.summary().video.frames_sent,
            to.summary().video.frames_decoded,
        );
        assert!(
            decoded as f64 >= 0.9 * sent as f64,
            "{decoded} of {sent} frames decoded under 5 % loss and 100±20 ms"
        );
        let covered = audio_covered(&to.summary());
        assert!(
            covered >= 0.95,
            "audio covered {covered:.3}: {:?}",
            to.summary().audio
        );
    }
}

/// A 5 s outage of every UDP path (nftables in a namespace) in the middle of a call: ICE goes
/// `disconnected` then `failed`, the peers restart ICE over signaling (which survives on TCP)
/// until a restart connects once the outage is over, and the call goes on to its end: exit 0,
/// `ice_restarts` and the time to recover in the summary, video decoding again afterwards.
#[test]
fn an_outage_is_survived_by_restarting_ice() {
    let _turn = take_turn();
    let ns = LossyNetns::create(0);
    let w = ns.wrapper();
    let (_server, url) = serve_wrapped(&w);
    let extra = ["--duration", "16"];
    let answer = Proc::spawn_wrapped(&w, &call_args("answer", "outage", &url, &extra), &[]);
    let mut dial = Proc::spawn_wrapped(&w, &call_args("dial", "outage", &url, &extra), &[]);
    dial.wait_line(Duration::from_secs(20), |l| {
        l.contains("\"type\":\"stats\"")
    });
    std::thread::sleep(Duration::from_secs(2));
    ns.blackout(true);
    std::thread::sleep(Duration::from_secs(5));
    ns.blackout(false);
    let d = dial.finish(Duration::from_secs(60));
    let a = answer.finish(Duration::from_secs(60));
    assert_eq!((d.code, a.code), (0, 0), "{}\n{}", d.stderr, a.stderr);
    for f in [&d, &a] {
        let s = f.summary();
        assert!(s.ice_restarts >= 1, "{:?}", s.ice_recovery_ms);
        let events = f.signaling_events();
        assert!(events.iter().any(|e| e == "ice-restart"), "{events:?}");
        assert!(events.iter().any(|e| e == "ice-restarted"), "{events:?}");
        // The README: a restart gathers again on freshly bound sockets (new local ports).
        let (mut before, mut after) = (Vec::new(), Vec::new());
        let mut restarted = false;
        for r in f.records() {
            match r {
                Record::Signaling { event, .. } if event.as_str() == "ice-restart" => {
                    restarted = true
                }
                Record::Candidate {
                    side: rtccall::report::schema::Side::Local,
                    candidate_type,
                    port,
                    ..
                } if candidate_type == "host" => {
                    if restarted { &mut after } else { &mut before }.push(port)
                }
                _ => {}
            }
        }
        assert!(!after.is_empty(), "no local candidates after the restart");
        assert!(
            after.iter().all(|p| !before.contains(p)),
            "ports before {before:?}, after the restart {after:?}"
        );
        // Cut for the outage and the detection, back within a restart attempt after it.
        let down = s.ice_recovery_ms.last().copied().unwrap_or(0.0);
        assert!((3000.0..7500.0).contains(&down), "{down} ms");
        // Video after the outage: the last stats records still count new frames.
        let decoded: Vec<u64> = f
            .records()
            .into_iter()
            .filter_map(|r| match r {
                Record::Stats { stats, .. } => Some(stats.video.frames_decoded),
                _ => None,
            })
            .collect();
        let n = decoded.len();
        assert!(
            n >= 4 && decoded[n - 1] > decoded[n - 3] + 10,
            "{decoded:?}"
        );
    }
}

/// `--restart-ice-after`: a restart asked for while the path works, by the dialer (it offers
/// again) and by the answerer (it asks the dialer to, over signaling). Each time both sides
/// record `ice-restart` and `ice-restarted`, gather again, and video is decoded on both sides
/// after the restart; both exit 0.
#[test]
fn a_restart_asked_for_on_a_working_path_keeps_the_call() {
    let _suite = shared();
    let (_server, url) = serve();
    for (who, room) in [("dial", "forced-d"), ("answer", "forced-a")] {
        let plain: &[&str] = &["--duration", "4"];
        let forced: &[&str] = &["--duration", "4", "--restart-ice-after", "1.5"];
        let (a_extra, d_extra) = if who == "dial" {
            (plain, forced)
        } else {
            (forced, plain)
        };
        let answer = Proc::spawn(&call_args("answer", room, &url, a_extra));
        let dial = Proc::spawn(&call_args("dial", room, &url, d_extra));
        let d = dial.finish(Duration::from_secs(30));
        let a = answer.finish(Duration::from_secs(30));
        assert_eq!(
            (d.code, a.code),
            (0, 0),
            "{who}: {}\n{}",
            d.stderr,
            a.stderr
        );
        for f in [&d, &a] {
            let events = f.signaling_events();
            assert!(
                events.iter().any(|e| e == "ice-restart"),
                "{who}: {events:?}"
            );
            assert!(
                events.iter().any(|e| e == "ice-restarted"),
                "{who}: {events:?}"
            );
            let restart_ms = f
                .records()
                .into_iter()
                .find_map(|r| match r {
                    Record::Signaling { ms, event, .. } if event.as_str() == "ice-restart" => {
                        Some(ms)
                    }
                    _ => None,
                })
                .unwrap();
            let over = decoded_over_time(f);
            let at_restart = over
                .iter()
                .rev()
                .find(|(ms, ..)| *ms <= restart_ms)
                .map_or(0, |x| x.1);
            let last = over.last().map_or(0, |x| x.1);
            assert!(
                last > at_restart + 20,
                "{who}: video decoded {at_restart} frames at the restart, {last} at the end"
            );
        }
    }
}

/// The cumulative (video frames, audio ms) decoded in a call's stats records: (ms, video, audio).
pub(crate) fn decoded_over_time(f: &Finished) -> Vec<(f64, u64, u64)> {
    f.records()
        .into_iter()
        .filter_map(|r| match r {
            Record::Stats { ms, stats, .. } => {
                Some((ms, stats.video.frames_decoded, stats.audio.decoded_ms))
            }
            _ => None,
        })
        .collect()
}

/// The dialer's address changes mid-call (two namespaces of the test's own joined by a veth
/// pair; 10.206.1.2 deleted, 10.206.1.3 added on the dialer's side, `serve` and the answerer on
/// the other): its WebSocket to `serve` was bound to the address that went. The dialer notices
/// the change, reconnects signaling at once and restarts ICE over it; both exit 0 and media
/// flows both ways again within 2 s of the change.
#[test]
fn a_changed_address_mid_call_reconnects_signaling_and_restarts_ice() {
    let _turn = take_turn();
    let a = Netns::new("moved");
    let b = Netns::new("stays");
    let (dev_a, _) = a.veth_to(&["10.206.1.2/24"], &b, &["10.206.1.1/24"]);
    // Deleting the primary address must not take the new secondary one with it.
    a.exec(&[
        "sysctl",
        "-qw",
        &format!("net.ipv4.conf.{dev_a}.promote_secondaries=1"),
    ]);
    let mut server = Proc::spawn_wrapped(
        &b.wrapper(),
        &["serve", "--listen", "10.206.1.1:0", "--json"],
        &[],
    );
    let line = server.wait_line(Duration::from_secs(10), |_| true);
    let Ok(Record::Listening { url }) = serde_json::from_str::<Record>(&line) else {
        panic!("{line}")
    };
    // Every interface of the namespace, as a user's default (the suite otherwise binds
    // loopback only).
    let extra = [
        "--duration",
        "14",
        "--stats-interval",
        "0.5",
        "--bind",
        "0.0.0.0:0",
    ];
    let answer_started = Instant::now();
    let answer = Proc::spawn_wrapped(
        &b.wrapper(),
        &call_args("answer", "moving", &url, &extra),
        &[],
    );
    let dial_started = Instant::now();
    let mut dial = Proc::spawn_wrapped(
        &a.wrapper(),
        &call_args("dial", "moving", &url, &extra),
        &[],
    );
    dial.wait_line(Duration::from_secs(20), |l| {
        l.contains("\"type\":\"stats\"")
    });
    std::thread::sleep(Duration::from_secs(3));
    a.ip(&["addr", "add", "10.206.1.3/24", "dev", &dev_a]);
    a.ip(&["addr", "del", "10.206.1.2/24", "dev", &dev_a]);
    let swapped = Instant::now();
    let d = dial.finish(Duration::from_secs(60));
    let an = answer.finish(Duration::from_secs(60));
    assert_eq!(
        (d.code, an.code),
        (0, 0),
        "dialer:\n{}\nanswerer:\n{}",
        d.stderr,
        an.stderr
    );
    let ds = d.summary();
    assert!(ds.ice_restarts >= 1, "{:?}", ds.ice_recovery_ms);
    let events = d.signaling_events();
    assert!(events.iter().any(|e| e == "reconnected"), "{events:?}");
    for (who, f, started) in [
        ("dialer", &d, dial_started),
        ("answerer", &an, answer_started),
    ] {
        let change_ms = swapped.duration_since(started).as_secs_f64() * 1000.0;
        let series = decoded_over_time(f);
        // The first report from 2 s after the change on, and the one after it: both kinds of
        // media were decoded between them.
        let i = series
            .iter()
            .position(|(ms, _, _)| *ms >= change_ms + 2000.0)
            .unwrap_or_else(|| panic!("{who}: no stats 2 s after the change: {series:?}"));
        let (later, earlier) = (series.get(i + 1).copied(), series[i]);
        let later = later.unwrap_or_else(|| panic!("{who}: {series:?}"));
        assert!(
            later.1 > earlier.1 + 2 && later.2 > earlier.2 + 200,
            "{who}: media not flowing 2 s after the change at {change_ms:.0} ms: {series:?}"
        );
    }
    drop(server);
}

/// 1 % of the datagrams each way overtaken by later ones (`--impair reorder=1%`): the frame
/// assembler puts them back in order and no frame is lost for it.
#[test]
fn reordered_packets_cost_no_frames() {
    let _turn = take_turn();
    let (_server, url) = serve();
    let a_extra = ["--duration", "8", "--impair", "reorder=1%,seed=3"];
    let d_extra = ["--duration", "8", "--impair", "reorder=1%,seed=4"];
    let answer = Proc::spawn(&call_args("answer", "reorder", &url, &a_extra));
    let dial = Proc::spawn(&call_args("dial", "reorder", &url, &d_extra));
    let d = dial.finish(Duration::from_secs(40));
    let a = answer.finish(Duration::from_secs(40));
    assert_eq!((d.code, a.code), (0, 0), "{}\n{}", d.stderr, a.stderr);
    for (from, to) in [(&d, &a), (&a, &d)] {
        let imp = from.summary().impair.clone().expect("impair summary");
        assert!(imp.reordered > 5, "{imp:?}");
        let (sent, decoded) = (
            from.summary().video.frames_sent,
            to.summary().video.frames_decoded,
        );
        assert!(
            decoded as f64 >= 0.95 * sent as f64,
            "{decoded} of {sent} frames decoded with 1 % reordering"
        );
        assert!(
            audio_covered(&to.summary()) >= 0.95,
            "{:?}",
            to.summary().audio
        );
    }
}

/// A 500 kbit/s bottleneck (tbf in a namespace of our own) under a sender asked for 1 Mbit/s of
/// 640x480 video: the rate controller brings its target under the cap, the link stops dropping
/// after the first seconds (under 2 % of packets after 5 s), and frames keep decoding.
#[test]
fn a_narrow_link_gets_smooth_low_rate_video() {
    let _turn = take_turn();
    let ns = LossyNetns::create(0).tbf("500kbit");
    let w = ns.wrapper();
    let (_server, url) = serve_wrapped(&w);
    let answer = Proc::spawn_wrapped(
        &w,
        &call_args(
            "answer",
            "narrow",
            &url,
            &["--duration", "22", "--video", "none"],
        ),
        &[],
    );
    let mut dial = Proc::spawn_wrapped(
        &w,
        &call_args(
            "dial",
            "narrow",
            &url,
            &[
                "--duration",
                "20",
                "--video-size",
                "640x480",
                "--fps",
                "30",
                "--video-bitrate",
                "1M",
            ],
        ),
        &[],
    );
    // Five seconds into the call (stats every second once connected).
    dial.wait_line(Duration::from_secs(30), |l| {
        l.contains("\"type\":\"stats\"")
    });
    let first = Instant::now();
    while first.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let (sent0, dropped0) = ns.tbf_counts();
    let d = dial.finish(Duration::from_secs(60));
    let (sent1, dropped1) = ns.tbf_counts();
    let a = answer.finish(Duration::from_secs(60));
    assert_eq!((d.code, a.code), (0, 0), "{}\n{}", d.stderr, a.stderr);
    let s = d.summary();
    let target = s.video.target_kbps.expect("target");
    assert!(
        target <= 450.0,
        "target {target} kbit/s at a 500 kbit/s link: {:?}",
        s.video
    );
    assert!(s.video.rate_cuts >= 1, "{:?}", s.video);
    let late_targets: Vec<f64> = d
        .records()
        .into_iter()
        .filter_map(|r| match r {
            Record::Stats { ms, stats } if ms > 10_000.0 => stats.video.target_kbps,
            _ => None,
        })
        .collect();
    assert!(
        !late_targets.is_empty() && late_targets.iter().all(|t| *t <= 500.0),
        "{late_targets:?}"
    );
    let (sent, dropped) = (sent1 - sent0, dropped1 - dropped0);
    let loss = dropped as f64 / (sent + dropped).max(1) as f64;
    assert!(
        loss < 0.02,
        "{dropped} of {} packets dropped after 5 s",
        sent + dropped
    );
    let decoded = a.summary().video.frames_decoded;
    assert!(
        decoded >= 100,
        "{decoded} frames decoded: {:?}",
        a.summary().video
    );
}

#[test]
fn ctrl_c_finalises_the_recording() {
    let _turn = take_turn();
    let dir = Scratch::new("ctrlc");
    let (_server, url) = serve();
    let rec = dir.str("interrupted.webm");
    let mut answer = Proc::spawn(&call_args(
        "answer",
        "ctrlc",
        &url,
        &["--auto-accept", "--video", "none", "--record", &rec],
    ));
    answer.wait_line(Duration::from_secs(10), |l| l.contains("\"joined\""));
    let mut dial = Proc::spawn(&call_args("dial", "ctrlc", &url, &[]));
    dial.wait_line(Duration::from_secs(10), |l| l.contains("\"stats\""));
    answer.wait_line(Duration::from_secs(10), |l| {
        l.contains("\"stats\"") && l.contains("\"ms\":3")
    });
    answer.signal("-INT");
    let a = answer.finish(Duration::from_secs(10));
    let d = dial.finish(Duration::from_secs(10));
    assert_eq!(a.code, 130, "{}", a.stderr);
    assert_eq!(d.code, 0, "{}", d.stderr);
    let s = a.summary();
    assert!(s.video.recorded > 0, "{s:?}");
    let p = probe(Path::new(&rec));
    assert_eq!(stream(&p, "video")["codec_name"], "vp8");
    let dur = duration_s(&p);
    assert!(
        (dur - s.duration_s).abs() < 0.6,
        "the file says {dur} s, the call lasted {} s",
        s.duration_s
    );
}

/// Times (s) at which the video of `path` turns bright (a white frame on black).
fn flash_times(path: &Path) -> Vec<f64> {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-i"])
        .arg(path)
        .args([
            "-vf",
            "signalstats,metadata=print:key=lavfi.signalstats.YAVG",
            "-an",
            "-f",
            "null",
            "-",
        ])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    let mut times = Vec::new();
    let mut pts = None;
    let mut bright_before = false;
    for line in log.lines() {
        if let Some(t) = line.split("pts_time:").nth(1) {
            pts = t
                .split_whitespace()
                .next()
                .and_then(|t| t.parse::<f64>().ok());
        }
        if let Some(y) = line.split("YAVG=").nth(1) {
            let bright = y.trim().parse::<f64>().is_ok_and(|y| y > 100.0);
            if bright && !bright_before {
                times.extend(pts);
            }
            bright_before = bright;
        }
    }
    times
}

/// Times (s) at which the audio of `path` starts a beep after silence, on the file's timeline.
fn beep_times(path: &Path) -> Vec<f64> {
    let out = Command::new("ffmpeg")
        .args(["-loglevel", "error", "-i"])
        .arg(path)
        .args([
            "-af",
            "aresample=async=1:first_pts=0",
            "-ac",
            "1",
            "-ar",
            "48000",
        ])
        .args(["-f", "s16le", "-"])
        .output()
        .unwrap();
    let mut times = Vec::new();
    let mut last_loud: Option<usize> = None;
    for (i, b) in out.stdout.chunks_exact(2).enumerate() {
        if i16::from_le_bytes([b[0], b[1]]).unsigned_abs() > 3000 {
            if last_loud.is_none_or(|l| i - l > 4800) {
                times.push(i as f64 / 48_000.0);
            }
            last_loud = Some(i);
        }
    }
    times
}

#[test]
fn a_file_s_audio_and_video_stay_in_sync() {
    let _turn = take_turn();
    let dir = Scratch::new("sync");
    let clip = dir.path("sync.mp4");
    // A white frame and a beep together at 1 s and at 2 s.
    make_clip(
        &clip,
        "color=black:size=320x240:rate=25,drawbox=enable='between(t,1,1.039)+between(t,2,2.039)':color=white:t=fill",
        "sine=frequency=440:sample_rate=48000,volume=enable='not(between(t,1,1.1)+between(t,2,2.1))':volume=0",
        3,
    );
    let rec = dir.str("sync.mkv");
    send_file_and_record("sync", &clip, &rec);
    let rec = PathBuf::from(rec);
    let (flashes, beeps) = (flash_times(&rec), beep_times(&rec));
    assert_eq!(flashes.len(), 2, "flashes at {flashes:?}");
    assert_eq!(beeps.len(), 2, "beeps at {beeps:?}");
    for (f, b) in flashes.iter().zip(&beeps) {
        assert!(
            (f - b).abs() <= 0.08,
            "picture at {f:.3} s, sound at {b:.3} s: out of sync"
        );
    }
    assert!((flashes[1] - flashes[0] - 1.0).abs() <= 0.05, "{flashes:?}");
}
