//! Helpers shared by the integration tests: the real `rtccall` binary in child processes whose
//! NDJSON output is parsed into the library's record types as it arrives.

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use rtccall::report::schema::{Record, Summary};

pub mod netns;
pub mod tmux;
pub use netns::Netns;

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
        Proc::spawn_full(wrapper, args, env, &[])
    }

    /// Start rtccall with extra environment variables, and without those named in `remove`.
    pub fn spawn_full(
        wrapper: &[&str],
        args: &[&str],
        env: &[(&str, &str)],
        remove: &[&str],
    ) -> Proc {
        Proc::launch(wrapper, args, env, remove, None)
    }

    /// Start rtccall (through `wrapper`, if any) with `input` on its stdin (then closed).
    pub fn spawn_stdin(wrapper: &[&str], args: &[&str], input: &[u8]) -> Proc {
        Proc::launch(wrapper, args, &[], &[], Some(input.to_vec()))
    }

    fn launch(
        wrapper: &[&str],
        args: &[&str],
        env: &[(&str, &str)],
        remove: &[&str],
        input: Option<Vec<u8>>,
    ) -> Proc {
        let mut cmd = match wrapper.split_first() {
            Some((program, rest)) => {
                let mut c = Command::new(program);
                c.args(rest).arg(BIN);
                c
            }
            None => Command::new(BIN),
        };
        for name in remove {
            cmd.env_remove(name);
        }
        let mut child = cmd
            .args(args)
            .envs(env.iter().copied())
            .env("RTCCALL_BIND", "127.0.0.1:0")
            .env_remove("RTCCALL_SERVER")
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start rtccall");
        if let (Some(input), Some(mut stdin)) = (input, child.stdin.take()) {
            std::thread::spawn(move || {
                use std::io::Write;
                let _ = stdin.write_all(&input);
            });
        }
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

    /// The first stdout line within `within`, if one comes.
    pub fn first_line(&mut self, within: Duration) -> Option<String> {
        let l = self.lines.recv_timeout(within).ok()?;
        self.seen.push(l.clone());
        Some(l)
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
    /// The `signaling` events the call recorded, in order.
    pub fn signaling_events(&self) -> Vec<String> {
        self.records()
            .into_iter()
            .filter_map(|r| match r {
                Record::Signaling { event, .. } => Some(event.as_str().to_string()),
                _ => None,
            })
            .collect()
    }

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
    serve_with(&[])
}

/// `rtccall serve` on a free loopback port with these options; (process, ws:// or wss:// URL).
pub fn serve_with(extra: &[&str]) -> (Proc, String) {
    let mut args = vec!["serve", "--listen", "127.0.0.1:0", "--json"];
    args.extend_from_slice(extra);
    serve_args(&args)
}

/// `rtccall` with these arguments, which must make it serve; (process, URL).
pub fn serve_args(args: &[&str]) -> (Proc, String) {
    let mut p = Proc::spawn(args);
    let Some(line) = p.first_line(Duration::from_secs(20)) else {
        let f = p.finish(Duration::from_secs(5));
        panic!(
            "rtccall serve printed nothing (exit {}); stderr:\n{}",
            f.code, f.stderr
        );
    };
    let rec: Record = serde_json::from_str(&line).unwrap();
    let Record::Listening { url } = rec else {
        panic!("first line of serve --json is not listening: {line}")
    };
    assert!(
        url.starts_with("ws://127.0.0.1:") || url.starts_with("wss://127.0.0.1:"),
        "{url}"
    );
    (p, url)
}

const LOCALHOST_V4: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

/// A loopback port free for TCP and UDP that no other caller in this process gets, taken below
/// the kernel's ephemeral range (32768 and up on Linux), so sockets bound to port 0 (ours or
/// anyone's) never race a test for it between this check and the bind that follows. The
/// process id spreads concurrent test processes over the range.
pub fn free_port() -> u16 {
    const LOW: u32 = 20_000;
    const SPAN: u32 = 12_000;
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let base = std::process::id().wrapping_mul(211) % SPAN;
    for _ in 0..SPAN {
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let port = (LOW + (base + n) % SPAN) as u16;
        let tcp = TcpListener::bind(("127.0.0.1", port));
        let udp = std::net::UdpSocket::bind(("127.0.0.1", port));
        if tcp.is_ok() && udp.is_ok() {
            return port;
        }
    }
    panic!(
        "no port free for TCP and UDP on 127.0.0.1 in {LOW}..{}",
        LOW + SPAN
    );
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

/// coturn options for long-term credentials `test:secret` in realm `rtccall.test`, relaying to
/// loopback peers (so a relay can be tested on one host).
pub const TURN_TEST_USER: [&str; 4] = [
    "--lt-cred-mech",
    "--user=test:secret",
    "--realm=rtccall.test",
    "--allow-loopback-peers",
];

/// A relay port range of 200 ports in 40000-59999, different for each server of this process.
fn relay_range() -> (u16, u16) {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let slot = (std::process::id().wrapping_mul(7).wrapping_add(n) % 100) as u16;
    let min = 40000 + slot * 200;
    (min, min + 199)
}

/// coturn (`turnserver`) listening on 127.0.0.1 only, as a child process stopped by its PID on
/// drop. The listening port is free for UDP and TCP; `tls_port` is set when started with a
/// certificate.
pub struct Turn {
    /// The address it listens and relays on (127.0.0.1 or ::1).
    pub host: std::net::IpAddr,
    pub port: u16,
    pub tls_port: Option<u16>,
    dir: Scratch,
    child: Child,
}

impl Turn {
    /// coturn with these options (authentication, peer policy...) added to the fixed ones:
    /// loopback only, no CLI, no DTLS, no TLS, fingerprints.
    pub fn start(options: &[&str]) -> Turn {
        Turn::launch(LOCALHOST_V4, options, None)
    }

    /// As [`Turn::start`], listening and relaying on `host` (`::1` for IPv6 loopback).
    pub fn start_on(host: std::net::IpAddr, options: &[&str]) -> Turn {
        Turn::launch(host, options, None)
    }

    /// As [`Turn::start`], plus TLS on `tls_port` with this certificate and key (PEM).
    pub fn start_tls(options: &[&str], cert_pem: &str, key_pem: &str) -> Turn {
        Turn::launch(LOCALHOST_V4, options, Some((cert_pem, key_pem)))
    }

    fn launch(host: std::net::IpAddr, options: &[&str], tls: Option<(&str, &str)>) -> Turn {
        // Another process may take a free port before coturn binds it: try again on new ports.
        let mut last_log = String::new();
        for _ in 0..3 {
            match Turn::try_launch(host, options, tls) {
                Ok(t) => return t,
                Err(log) => last_log = log,
            }
        }
        panic!("coturn did not start; its last log:\n{last_log}");
    }

    fn try_launch(
        host: std::net::IpAddr,
        options: &[&str],
        tls: Option<(&str, &str)>,
    ) -> Result<Turn, String> {
        let port = free_port();
        let dir = Scratch::new("turn");
        let (min_port, max_port) = relay_range();
        let mut args: Vec<String> = vec![
            "-n".into(),
            format!("--listening-ip={host}"),
            format!("--relay-ip={host}"),
            format!("--listening-port={port}"),
            format!("--min-port={min_port}"),
            format!("--max-port={max_port}"),
            "--no-cli".into(),
            "--no-dtls".into(),
            "--fingerprint".into(),
            "--simple-log".into(),
            format!("--pidfile={}", dir.path("pid").display()),
            format!("--log-file={}", dir.path("log").display()),
        ];
        let mut tls_port = None;
        match tls {
            Some((cert, key)) => {
                let p = loop {
                    let p = free_port();
                    if p != port {
                        break p;
                    }
                };
                std::fs::write(dir.path("cert.pem"), cert).unwrap();
                std::fs::write(dir.path("key.pem"), key).unwrap();
                args.push(format!("--tls-listening-port={p}"));
                args.push(format!("--cert={}", dir.path("cert.pem").display()));
                args.push(format!("--pkey={}", dir.path("key.pem").display()));
                tls_port = Some(p);
            }
            None => args.push("--no-tls".into()),
        }
        args.extend(options.iter().map(|s| s.to_string()));
        let child = Command::new("turnserver")
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start turnserver (install coturn: bash .ci/install-deps)");
        let mut turn = Turn {
            host,
            port,
            tls_port,
            dir,
            child,
        };
        let udp = !options.contains(&"--no-udp");
        match turn.wait_ready(Duration::from_secs(5), udp) {
            Ok(()) => Ok(turn),
            Err(why) => Err(format!("{why}\n{}", turn.log())),
        }
    }

    /// Ready when it answers a STUN binding request over UDP (unless `udp` is false: started
    /// with `--no-udp`) and accepts TCP (and TLS) connections.
    fn wait_ready(&mut self, within: Duration, udp_listens: bool) -> Result<(), String> {
        let deadline = Instant::now() + within;
        let udp = std::net::UdpSocket::bind((self.host, 0)).unwrap();
        udp.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        // Binding request: type 0x0001, length 0, magic cookie, transaction id.
        let mut request = vec![0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42];
        request.extend_from_slice(b"rtccall-test");
        let mut ports = vec![self.port];
        ports.extend(self.tls_port);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Err(format!("coturn exited with {status}"));
            }
            if Instant::now() > deadline {
                return Err(format!("coturn not ready within {within:?}"));
            }
            let tcp_ok = ports.iter().all(|p| {
                std::net::TcpStream::connect_timeout(
                    &std::net::SocketAddr::from((self.host, *p)),
                    Duration::from_millis(200),
                )
                .is_ok()
            });
            let mut buf = [0u8; 512];
            let udp_ok = !udp_listens
                || udp.send_to(&request, (self.host, self.port)).is_ok()
                    && matches!(udp.recv_from(&mut buf), Ok((n, _)) if n >= 20 && buf[8..20] == request[8..20]);
            if tcp_ok && udp_ok {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// coturn's log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path("log")).unwrap_or_default()
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        // Stopped by its PID: the child's, which is the server itself (no --daemon).
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A relay-only call through `ice` (dial and answer, `--duration 4`, `extra` on both) on an
/// embedded signaling server: both must exit 0 on a relay pair with audio and video at least
/// 80 % of the call both ways. Returns (dialer, answerer) summaries.
pub fn relay_only_call(room: &str, ice: &str, extra: &[&str]) -> (Summary, Summary) {
    let server = format!("ws://127.0.0.1:{}/", free_port());
    let mut args = vec!["--relay-only", "--ice-server", ice, "--duration", "4"];
    args.extend_from_slice(extra);
    let answer = Proc::spawn(&call_args("answer", room, &server, &args));
    let dial = Proc::spawn(&call_args("dial", room, &server, &args));
    let d = dial.finish(Duration::from_secs(60));
    let a = answer.finish(Duration::from_secs(60));
    assert_eq!(d.code, 0, "dial: {}\n{}", d.stderr, d.stdout.join("\n"));
    assert_eq!(a.code, 0, "answer: {}\n{}", a.stderr, a.stdout.join("\n"));
    for s in [d.summary(), a.summary()] {
        let pair = s.selected_pair.clone().expect("a selected pair");
        assert_eq!(pair.local.candidate_type, "relay", "{s:?}");
        assert_eq!(pair.remote.candidate_type, "relay", "{s:?}");
        assert!(
            s.audio.decoded_ms as f64 >= 0.8 * 1000.0 * (s.duration_s - 0.5),
            "{s:?}"
        );
        // Video keeps up through the relay too (15 fps in these calls).
        assert!(
            s.video.frames_decoded as f64 >= 0.8 * 15.0 * (s.duration_s - 0.5),
            "{s:?}"
        );
    }
    (d.summary(), a.summary())
}

/// A network namespace of our own whose loopback drops `percent` % of incoming UDP (nftables):
/// media loses packets, signaling (TCP) does not. Deleted on drop.
pub struct LossyNetns(pub Netns);

impl LossyNetns {
    pub fn create(percent: u32) -> LossyNetns {
        let ns = Netns::new("loss");
        ns.nft("add table inet loss");
        ns.nft("add chain inet loss input { type filter hook input priority 0; }");
        if percent > 0 {
            ns.nft(&format!(
                "add rule inet loss input meta l4proto udp numgen random mod 100 lt {percent} drop"
            ));
        }
        LossyNetns(ns)
    }

    /// Also a tbf bottleneck of `rate` on the namespace's loopback (both directions share it).
    pub fn tbf(self, rate: &str) -> LossyNetns {
        self.0.exec(&[
            "tc", "qdisc", "add", "dev", "lo", "root", "tbf", "rate", rate, "burst", "16kb",
            "latency", "200ms",
        ]);
        self
    }

    /// Drop every UDP datagram in the namespace (`true`) or stop (`false`).
    pub fn blackout(&self, on: bool) {
        self.0.blackout(on)
    }

    /// Packets the tbf sent and dropped so far.
    pub fn tbf_counts(&self) -> (u64, u64) {
        let text = self.0.exec(&["tc", "-s", "qdisc", "show", "dev", "lo"]);
        // " Sent 945613 bytes 3681 pkt (dropped 977, overlimits ..."
        let word_after = |key: &str| -> u64 {
            let i = text
                .find(key)
                .unwrap_or_else(|| panic!("no {key:?} in {text}"));
            text[i + key.len()..]
                .split(|c: char| !c.is_ascii_digit())
                .find(|w| !w.is_empty())
                .and_then(|w| w.parse().ok())
                .unwrap_or_else(|| panic!("{text}"))
        };
        (word_after(" bytes "), word_after("dropped "))
    }

    pub fn wrapper(&self) -> [&str; 4] {
        self.0.wrapper()
    }
}

/// `rtccall serve` inside a namespace (`w` wraps the command); the process and its URL.
pub fn serve_wrapped(w: &[&str]) -> (Proc, String) {
    let mut server = Proc::spawn_wrapped(w, &["serve", "--listen", "127.0.0.1:0", "--json"], &[]);
    let line = server.wait_line(Duration::from_secs(10), |_| true);
    let Ok(Record::Listening { url }) = serde_json::from_str::<Record>(&line) else {
        panic!("{line}")
    };
    (server, url)
}

/// Tests share the machine: most run two at a time, but a test that holds real-time media
/// ([`alone`]) runs with no other beside it.
static SUITE: RwLock<()> = RwLock::new(());

/// What [`alone`] holds.
pub type SuiteGuard = RwLockWriteGuard<'static, ()>;

/// Run beside other tests (but never beside one that must be [`alone`]).
pub fn shared() -> RwLockReadGuard<'static, ()> {
    SUITE.read().unwrap_or_else(|p| p.into_inner())
}

/// Run with no other test beside this one.
pub fn alone() -> SuiteGuard {
    SUITE.write().unwrap_or_else(|p| p.into_inner())
}

/// A scratch directory of its own (tempfile), removed on drop.
pub struct Scratch(tempfile::TempDir);

impl Scratch {
    /// A new directory whose name starts with `rtccall-NAME-`.
    pub fn new(name: &str) -> Scratch {
        Scratch(
            tempfile::Builder::new()
                .prefix(&format!("rtccall-{name}-"))
                .tempdir()
                .expect("a scratch directory"),
        )
    }

    pub fn path(&self, name: &str) -> std::path::PathBuf {
        self.0.path().join(name)
    }

    pub fn str(&self, name: &str) -> String {
        self.path(name).display().to_string()
    }

    /// Write `name` in the directory; its path as a string.
    pub fn write(&self, name: &str, contents: &str) -> String {
        std::fs::write(self.path(name), contents).unwrap();
        self.str(name)
    }
}
