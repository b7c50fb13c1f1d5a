//! Helpers shared by the integration tests: the real `rtccall` binary in child processes whose
//! NDJSON output is parsed into the library's record types as it arrives.
#![allow(dead_code)] // each test binary uses a different part

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rtccall::report::schema::{Record, Summary};

pub const BIN: &str = env!("CARGO_BIN_EXE_rtccall");

/// A child process whose stdout lines are parsed as NDJSON records as they arrive.
pub struct Proc {
    pub child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl Proc {
    pub fn spawn(args: &[&str]) -> Proc {
        Proc::spawn_env(args, &[])
    }

    /// Start rtccall with extra environment variables.
    pub fn spawn_env(args: &[&str], env: &[(&str, &str)]) -> Proc {
        Proc::spawn_wrapped(&[], args, env)
    }

    /// Start rtccall through a wrapper command (e.g. `ip netns exec NAME`).
    pub fn spawn_wrapped(wrapper: &[&str], args: &[&str], env: &[(&str, &str)]) -> Proc {
        let mut cmd = match wrapper.split_first() {
            Some((program, rest)) => {
                let mut c = Command::new(program);
                c.args(rest).arg(BIN);
                c
            }
            None => Command::new(BIN),
        };
        let mut child = cmd
            .args(args)
            .envs(env.iter().copied())
            .env("RTCCALL_BIND", "127.0.0.1:0")
            .env_remove("RTCCALL_SERVER")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start rtccall");
        let out = child.stdout.take().unwrap();
        let mut err = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        });
        Proc {
            child,
            lines,
            seen: Vec::new(),
            stderr: Some(stderr),
        }
    }

    /// Wait for a stdout line matching `pred`, returning it.
    #[track_caller]
    pub fn wait_line(&mut self, within: Duration, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    self.seen.push(l.clone());
                    if pred(&l) {
                        return l;
                    }
                }
                Err(_) => panic!(
                    "no matching line within {within:?}; saw:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// Wait for the process to exit; kill it and fail when it takes longer than `within`.
    #[track_caller]
    pub fn finish(mut self, within: Duration) -> Finished {
        let deadline = Instant::now() + within;
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "rtccall did not exit within {within:?}; stdout so far:\n{}",
                    self.seen.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        while let Ok(l) = self.lines.recv_timeout(Duration::from_secs(2)) {
            self.seen.push(l);
        }
        let stderr = self
            .stderr
            .take()
            .map(|h| h.join().unwrap_or_default())
            .unwrap_or_default();
        Finished {
            code: status.code().unwrap_or(-1),
            stdout: std::mem::take(&mut self.seen),
            stderr,
        }
    }

    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill {sig} failed");
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct Finished {
    pub code: i32,
    pub stdout: Vec<String>,
    pub stderr: String,
}

impl Finished {
    /// Every stdout line as a record (strict: unknown fields fail).
    pub fn records(&self) -> Vec<Record> {
        self.stdout
            .iter()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad NDJSON line {l}: {e}")))
            .collect()
    }

    pub fn summary(&self) -> Summary {
        match self.records().pop() {
            Some(Record::Summary(s)) => s,
            other => panic!(
                "last record is not a summary: {other:?}\nstderr: {}",
                self.stderr
            ),
        }
    }
}

/// `rtccall serve` on a free loopback port.
pub fn serve() -> (Proc, String) {
    let mut p = Proc::spawn(&["serve", "--listen", "127.0.0.1:0", "--json"]);
    let line = p.wait_line(Duration::from_secs(10), |_| true);
    let rec: Record = serde_json::from_str(&line).unwrap();
    let Record::Listening { url } = rec else {
        panic!("first line of serve --json is not listening: {line}")
    };
    assert!(url.starts_with("ws://127.0.0.1:"), "{url}");
    (p, url)
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Arguments for a small, cheap call.
pub fn call_args<'a>(
    role: &'a str,
    room: &'a str,
    server: &'a str,
    extra: &[&'a str],
) -> Vec<&'a str> {
    let mut v = vec![
        role,
        room,
        "--server",
        server,
        "--json",
        "--video-size",
        "320x240",
        "--fps",
        "15",
        "--video-bitrate",
        "300k",
        "--timeout",
        "20",
    ];
    v.extend_from_slice(extra);
    v
}

#[track_caller]
pub fn assert_media_flowed(me: &Summary, other: &Summary) {
    assert!(me.connected, "{me:?}");
    assert!(me.selected_pair.is_some(), "no selected pair: {me:?}");
    let sent = other.video.frames_sent as f64;
    assert!(sent > 0.0, "the other side sent no video: {other:?}");
    assert!(
        me.video.frames_decoded as f64 >= 0.8 * sent,
        "decoded {} of {} video frames",
        me.video.frames_decoded,
        sent
    );
    assert_eq!((me.video.width, me.video.height), (320, 240));
    let expect_ms = me.duration_s.min(other.duration_s) * 1000.0;
    assert!(
        me.audio.decoded_ms as f64 >= 0.8 * expect_ms,
        "decoded {} ms of audio in a {expect_ms} ms call",
        me.audio.decoded_ms
    );
    assert!(me.timings_ms.dtls_connected.is_some());
    assert!(me.timings_ms.first_video_frame.is_some());
    assert!(me.timings_ms.first_audio.is_some());
    assert_eq!(me.exit_code, 0);
}
