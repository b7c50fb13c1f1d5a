//! WHIP and WHEP: `rtccall publish` against a real WHIP media server (Janus 1.1.2 VideoRoom
//! behind meetecho's simple-whip-server, both started here on loopback ports, installed by
//! `.ci/install-janus`, see tests/peers/janus/README.md, and stopped by PID), and `rtccall
//! serve`'s own WHIP and WHEP endpoints between `publish`/`play` and a terminal in a room.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rtccall::httpc;
use rtccall::report::schema::Record;
use serde_json::{Value, json};

use crate::common::{
    LossyNetns, Proc, Scratch, Turn, alone, call_args, free_port, serve, serve_with, serve_wrapped,
    shared,
};
use crate::media::{assert_tone_at_440, decode_audio, decoded_over_time, probe, stream};

const SHIM: &str = "/usr/local/lib/rtccall-janus/janus-loopback.so";
const WHIP_DIR: &str = "/usr/local/lib/rtccall-whip";
const ADMIN_SECRET: &str = "rtccall-admin";

/// Janus and simple-whip-server on loopback.
struct Janus {
    janus: Child,
    whip: Child,
    admin: u16,
    /// Janus's own HTTP API (`/janus`).
    http_port: u16,
    whip_port: u16,
    _dir: Scratch,
}

impl Drop for Janus {
    fn drop(&mut self) {
        for c in [&mut self.whip, &mut self.janus] {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// One HTTP request through rtccall's own client (a runtime of its own).
fn http(method: &str, url: &str, body: Option<(&'static str, String)>) -> httpc::Response {
    http_with(method, url, vec![], body)
}

fn http_with(
    method: &str,
    url: &str,
    headers: Vec<(&'static str, String)>,
    body: Option<(&'static str, String)>,
) -> httpc::Response {
    try_http(method, url, headers, body, Duration::from_secs(5))
        .unwrap_or_else(|e| panic!("{method} {url}: {e}"))
}

fn try_http(
    method: &str,
    url: &str,
    headers: Vec<(&'static str, String)>,
    body: Option<(&'static str, String)>,
    timeout: Duration,
) -> Result<httpc::Response, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(httpc::send(httpc::Request {
        method: method.parse().unwrap(),
        url: url.parse().unwrap(),
        headers,
        body: body.map(|(t, b)| (t, b.into())),
        tls: None,
        timeout,
    }))
}

/// Wait until `url` answers GET with 200 (a server started by the test is up).
fn wait_for(url: &str, what: &str) {
    let start = Instant::now();
    while !try_http("GET", url, vec![], None, Duration::from_secs(1)).is_ok_and(|r| r.status == 200)
    {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "{what} did not answer {url}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Janus {
    fn start() -> Janus {
        let dir = Scratch::new("janus");
        let (http_port, admin, ws, whip_port) =
            (free_port(), free_port(), free_port(), free_port());
        let templates = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/janus");
        for entry in std::fs::read_dir(templates).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "jcfg") {
                let text = std::fs::read_to_string(&path)
                    .unwrap()
                    .replace("@HTTP_PORT@", &http_port.to_string())
                    .replace("@ADMIN_PORT@", &admin.to_string())
                    .replace("@WS_PORT@", &ws.to_string());
                dir.write(path.file_name().unwrap().to_str().unwrap(), &text);
            }
        }
        let (janus_log, whip_log) = (dir.path("janus.log"), dir.path("whip.log"));
        let log = |path: &std::path::Path| std::fs::File::create(path).unwrap();
        let janus = Command::new("janus")
            .args(["-F", &dir.str("")])
            .env("LD_PRELOAD", SHIM)
            .stdout(log(&janus_log))
            .stderr(Stdio::null())
            .spawn()
            .expect("janus runs (bash .ci/install-janus)");
        let mut j = Janus {
            janus,
            whip: Command::new("true").spawn().unwrap(),
            admin,
            http_port,
            whip_port,
            _dir: dir,
        };
        wait_for(&format!("http://127.0.0.1:{http_port}/janus/info"), "Janus");
        j.whip = Command::new("node")
            .arg("src/server.js")
            .current_dir(WHIP_DIR)
            .env("WHIP_PORT", whip_port.to_string())
            .env("WHIP_JANUS_WS", format!("ws://127.0.0.1:{ws}"))
            .stdout(log(&whip_log))
            .stderr(Stdio::null())
            .spawn()
            .expect("simple-whip-server runs (bash .ci/install-janus)");
        wait_for(
            &format!("http://127.0.0.1:{whip_port}/whip/healthcheck"),
            "simple-whip-server",
        );
        j
    }

    /// Create a WHIP endpoint publishing into VideoRoom 1234; its URL.
    fn endpoint(&self, id: &str, token: &str, label: &str) -> String {
        self.endpoint_with(id, token, label, json!([]))
    }

    /// As [`Janus::endpoint`], handing out these ICE servers (`[{"uri": ...}]`) in Link headers.
    fn endpoint_with(&self, id: &str, token: &str, label: &str, ice: Value) -> String {
        let r = http(
            "POST",
            &format!("http://127.0.0.1:{}/whip/create", self.whip_port),
            Some((
                "application/json",
                json!({"id": id, "room": 1234, "token": token, "label": label, "iceServers": ice})
                    .to_string(),
            )),
        );
        assert_eq!(r.status, 200, "create: {}", r.first_line());
        format!("http://127.0.0.1:{}/whip/endpoint/{id}", self.whip_port)
    }

    fn admin(&self, path: &str, request: &str) -> Value {
        let r = http(
            "POST",
            &format!("http://127.0.0.1:{}/admin{path}", self.admin),
            Some((
                "application/json",
                json!({"janus": request, "transaction": "t", "admin_secret": ADMIN_SECRET})
                    .to_string(),
            )),
        );
        serde_json::from_slice(&r.body).unwrap()
    }

    /// A second subscriber of the VideoRoom publisher named `label`: the webrtcbin peer over
    /// Janus's HTTP API (`--janus-subscribe`) for `secs` seconds; its report.
    fn subscribe(&self, label: &str, secs: &str) -> Value {
        let out = Command::new("/usr/bin/python3")
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/peers/webrtcbin.py"
            ))
            .args([
                "--janus-subscribe",
                &format!("http://127.0.0.1:{}/janus", self.http_port),
                "--janus-room",
                "1234",
                "--janus-display",
                label,
                "--duration",
                secs,
                "--timeout",
                "15",
            ])
            .stdin(Stdio::null())
            .output()
            .expect("start the webrtcbin peer (/usr/bin/python3 with python3-gi)");
        let stdout = String::from_utf8_lossy(&out.stdout);
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
            panic!(
                "the subscriber printed {stdout:?} ({e}); stderr:\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        })
    }

    /// Packets Janus received from the publisher named `label`, per media type.
    fn packets_in(&self, label: &str) -> Vec<(String, u64)> {
        let ids = |v: &Value, key: &str| -> Vec<u64> {
            v[key]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_u64).collect())
                .unwrap_or_default()
        };
        for session in ids(&self.admin("", "list_sessions"), "sessions") {
            let handles = self.admin(&format!("/{session}"), "list_handles");
            for handle in ids(&handles, "handles") {
                let info = self.admin(&format!("/{session}/{handle}"), "handle_info");
                let info = &info["info"];
                if info["plugin_specific"]["display"] != label {
                    continue;
                }
                return info["webrtc"]["media"]
                    .as_object()
                    .map(|m| {
                        m.values()
                            .map(|v| {
                                (
                                    v["type"].as_str().unwrap_or("?").to_string(),
                                    v["stats"]["in"]["packets"].as_u64().unwrap_or(0),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default();
            }
        }
        Vec::new()
    }

    /// Whether the endpoint has a session published (simple-whip-server's `enabled`).
    fn published(&self, id: &str) -> bool {
        let r = http(
            "GET",
            &format!("http://127.0.0.1:{}/whip/endpoints", self.whip_port),
            None,
        );
        let list: Value = serde_json::from_slice(&r.body).unwrap();
        list.as_array()
            .unwrap()
            .iter()
            .any(|e| e["id"] == id && e["enabled"] == true)
    }
}

/// `rtccall publish` to Janus: refused without the Bearer token (one line, exit 3), then with
/// it the call connects, Janus counts audio and video packets coming in (its Admin API), a
/// second subscriber of the VideoRoom (webrtcbin over Janus's HTTP API) decodes the video and
/// the audio, the summary says role `publish`, and the session is DELETEd at the end (the
/// endpoint is free).
#[test]
fn publish_to_janus_with_a_bearer_token() {
    let _suite = shared();
    let janus = Janus::start();
    let url = janus.endpoint("rtc1", "s3cret-token", "pub-rtc1");
    let base = [
        "publish",
        url.as_str(),
        "--audio",
        "tone",
        "--no-speaker",
        "--bind",
        "127.0.0.1:0",
        "--video-size",
        "320x240",
        "--timeout",
        "10",
    ];

    let refused = Proc::spawn(&base).finish(Duration::from_secs(15));
    assert_eq!(refused.code, 3, "{}", refused.stderr);
    let err: Vec<&str> = refused
        .stderr
        .lines()
        .filter(|l| l.starts_with("rtccall: error:"))
        .collect();
    assert_eq!(err.len(), 1, "{}", refused.stderr);
    assert!(
        err[0].contains("403") && err[0].contains(&url),
        "{}",
        err[0]
    );
    assert!(!janus.published("rtc1"));

    let mut args = base.to_vec();
    args.extend(["--token", "s3cret-token", "--duration", "8", "--json"]);
    let mut p = Proc::spawn(&args);
    p.wait_line(Duration::from_secs(10), |l| {
        l.contains(r#""type":"connection-state""#) && l.contains(r#""state":"connected""#)
    });
    assert!(janus.published("rtc1"));
    std::thread::sleep(Duration::from_secs(2));
    let counts = janus.packets_in("pub-rtc1");
    for kind in ["audio", "video"] {
        let n = counts.iter().find(|(k, _)| k == kind).map_or(0, |c| c.1);
        assert!(n > 20, "Janus received {n} {kind} packets: {counts:?}");
    }
    // A second subscriber of the room gets what rtccall publishes: decoded video and audio.
    let sub = janus.subscribe("pub-rtc1", "2.5");
    assert_eq!(sub["exit_code"], 0, "{sub}");
    assert_eq!(sub["video_codec_received"], "VP8", "{sub}");
    assert!(sub["video_frames_decoded"].as_u64() > Some(20), "{sub}");
    assert!(
        sub["audio_samples_decoded"].as_u64() > Some(48_000),
        "{sub}"
    );
    let done = p.finish(Duration::from_secs(15));
    assert_eq!(done.code, 0, "{}", done.stderr);
    let s = done.summary();
    assert_eq!(s.role, "publish");
    assert_eq!(s.end_reason, "duration");
    assert!(
        s.connected && s.audio.packets_sent > 100 && s.video.frames_sent > 50,
        "{s:?}"
    );
    assert!(!janus.published("rtc1"), "the session was not deleted");
    // The endpoint is free again: a second publish gets in.
    let again = Proc::spawn(&[&args[..args.len() - 3], &["--duration", "1"]].concat())
        .finish(Duration::from_secs(15));
    assert_eq!(again.code, 0, "{}", again.stderr);
}

/// The http:// base of a `serve` whose WebSocket URL is `ws`.
fn http_base(ws: &str) -> String {
    ws.replacen("ws://", "http://", 1)
        .trim_end_matches('/')
        .to_string()
}

/// `rtccall publish` → `serve`'s WHIP endpoint → `rtccall answer --record`: the terminal takes
/// the publisher as a dialer, records the 440 Hz tone and the test pattern, and sees the
/// publisher's DELETE as a hang-up.
#[test]
fn publish_through_serve_to_a_recording_terminal() {
    let _suite = shared();
    let dir = Scratch::new("whip-serve");
    let rec = dir.str("published.mkv");
    let (_server, url) = serve();
    let mut answer = Proc::spawn(&call_args(
        "answer",
        "whipin",
        &url,
        &[
            "--auto-accept",
            "--audio",
            "none",
            "--video",
            "none",
            "--record",
            &rec,
        ],
    ));
    answer.wait_line(Duration::from_secs(10), |l| l.contains("\"joined\""));
    let endpoint = format!("{}/whip/whipin", http_base(&url));
    let publish = Proc::spawn(&[
        "publish",
        &endpoint,
        "--json",
        "--audio",
        "tone",
        "--video-size",
        "320x240",
        "--fps",
        "15",
        "--duration",
        "3",
        "--timeout",
        "10",
    ])
    .finish(Duration::from_secs(20));
    let a = answer.finish(Duration::from_secs(20));
    assert_eq!(publish.code, 0, "{}", publish.stderr);
    assert_eq!(a.code, 0, "{}", a.stderr);
    let (ps, as_) = (publish.summary(), a.summary());
    assert_eq!(
        (ps.role.as_str(), ps.room.as_str()),
        ("publish", endpoint.as_str())
    );
    assert_eq!(
        as_.end_reason, "remote-bye",
        "the DELETE ends the terminal's call: {as_:?}"
    );
    assert!(ps.video.frames_sent >= 30, "{:?}", ps.video);
    assert!(
        as_.video.frames_decoded as f64 >= 0.8 * ps.video.frames_sent as f64,
        "decoded {} of {}",
        as_.video.frames_decoded,
        ps.video.frames_sent
    );
    assert_eq!((as_.video.width, as_.video.height), (320, 240));
    assert!(as_.audio.decoded_ms >= 2000, "{:?}", as_.audio);
    assert!(!publish.stderr.contains("DELETE"), "{}", publish.stderr);
    let rec = std::path::Path::new(&rec);
    assert_eq!(stream(&probe(rec), "video")["codec_name"], "vp8");
    assert_tone_at_440("the published tone", &decode_audio(rec));
}

/// `rtccall answer` → `serve`'s WHEP endpoint → `rtccall play --record`: a receive-only offer,
/// the terminal's tone and test pattern decoded and recorded by the player.
#[test]
fn play_a_terminal_through_serve() {
    let _suite = shared();
    let dir = Scratch::new("whep-serve");
    let rec = dir.str("played.mkv");
    let (_server, url) = serve();
    let mut answer = Proc::spawn(&call_args(
        "answer",
        "whepout",
        &url,
        &["--auto-accept", "--audio", "tone", "--duration", "20"],
    ));
    answer.wait_line(Duration::from_secs(10), |l| l.contains("\"joined\""));
    let endpoint = format!("{}/whep/whepout", http_base(&url));
    let play = Proc::spawn(&[
        "play",
        &endpoint,
        "--json",
        "--record",
        &rec,
        "--duration",
        "3",
        "--timeout",
        "10",
    ])
    .finish(Duration::from_secs(20));
    let a = answer.finish(Duration::from_secs(20));
    assert_eq!(play.code, 0, "{}", play.stderr);
    let (ps, as_) = (play.summary(), a.summary());
    assert_eq!(ps.role, "play");
    assert_eq!(
        (ps.audio.packets_sent, ps.video.frames_sent),
        (0, 0),
        "play sends nothing"
    );
    assert_eq!(as_.end_reason, "remote-bye", "{as_:?}");
    assert!(
        ps.video.frames_decoded as f64 >= 0.7 * as_.video.frames_sent as f64
            && ps.video.frames_decoded >= 30,
        "decoded {} of {}",
        ps.video.frames_decoded,
        as_.video.frames_sent
    );
    let rec = std::path::Path::new(&rec);
    assert_eq!(stream(&probe(rec), "video")["codec_name"], "vp8");
    assert_tone_at_440("the played tone", &decode_audio(rec));
}

/// `serve`'s WHIP endpoint refuses what is not a WHIP exchange with the status that says why,
/// and keeps serving.
#[test]
fn serve_whip_endpoint_refuses_bad_requests() {
    let _suite = shared();
    let (_server, url) = serve_with(&["--secret", "0123456789abcdef0123"]);
    let base = http_base(&url);
    let whip = format!("{base}/whip/bad");
    let offer = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n".to_string();
    let token = Command::new(crate::common::BIN)
        .args(["token", "bad", "--secret", "0123456789abcdef0123"])
        .output()
        .unwrap();
    let bearer = format!("Bearer {}", String::from_utf8(token.stdout).unwrap().trim());
    let auth = || vec![("authorization", bearer.clone())];
    let status = |r: httpc::Response| (r.status, r.first_line());

    let (s, why) = status(http(
        "POST",
        &whip,
        Some(("application/sdp", offer.clone())),
    ));
    assert_eq!(s, 401, "{why}");
    let (s, why) = status(http_with(
        "POST",
        &whip,
        auth(),
        Some(("text/plain", offer.clone())),
    ));
    assert_eq!(s, 415, "{why}");
    let (s, why) = status(http_with(
        "POST",
        &whip,
        auth(),
        Some(("application/sdp", "x".repeat(200 * 1024))),
    ));
    assert_eq!(s, 413, "{why}");
    let (s, why) = status(http_with(
        "POST",
        &whip,
        auth(),
        Some(("application/sdp", "hello".into())),
    ));
    assert_eq!(s, 400, "{why}");
    let (s, why) = status(http_with(
        "POST",
        &whip,
        auth(),
        Some(("application/sdp", offer)),
    ));
    assert_eq!(s, 404, "nobody waits in the room: {why}");
    assert!(why.contains("rtccall answer bad"), "{why}");
    let frag = "a=ice-ufrag:x\r\na=ice-pwd:y\r\n".to_string();
    let (s, _) = status(http_with(
        "PATCH",
        &format!("{whip}/nosuch"),
        vec![("authorization", bearer.clone()), ("if-match", "*".into())],
        Some(("application/trickle-ice-sdpfrag", frag)),
    ));
    assert_eq!(s, 404);
    let (s, _) = status(http_with("DELETE", &format!("{whip}/nosuch"), auth(), None));
    assert_eq!(s, 404);
    let (s, _) = status(http_with("GET", &whip, auth(), None));
    assert_eq!(s, 405);
    let r = http("OPTIONS", &whip, None);
    assert_eq!(r.status, 204);
    assert!(
        r.header("allow").is_some_and(|a| a.contains("POST")),
        "{:?}",
        r.headers
    );
    // Still serving: the health check answers.
    assert_eq!(http("GET", &format!("{base}/healthz"), None).status, 200);
}

/// `tests/peers/bad-whip.py` on a free loopback port, stopped by PID.
struct BadWhip {
    child: Child,
    base: String,
}

impl Drop for BadWhip {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl BadWhip {
    fn start() -> BadWhip {
        let port = free_port();
        let mut child = Command::new("python3")
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/peers/bad-whip.py"
            ))
            .arg(port.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 runs");
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        assert_eq!(line.trim(), "ready");
        BadWhip {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }
}

/// A misbehaving endpoint: every way ends in one `error` record naming the URL and the exit code
/// the README gives, within the timeout; what does not end the call is a `warning` record.
#[test]
fn publish_reports_a_misbehaving_endpoint_in_one_line() {
    let _suite = shared();
    let bad = BadWhip::start();
    let cases: [(&str, i32, &str); 7] = [
        ("loop", 3, "/loop: more than 5 redirects"),
        ("hop", 3, "/err: 400 bad offer: no ICE"),
        ("notsdp", 3, "/notsdp: 201 without an SDP answer"),
        ("huge", 3, "/huge: the response body is over 256 KiB"),
        ("silent", 3, "/silent: no response within 2 s"),
        ("garbage-link", 3, "/garbage-link: 404 not here"),
        ("nolocation", 4, "could not connect"),
    ];
    let runs: Vec<_> = cases
        .iter()
        .map(|(path, _, _)| {
            let url = format!("{}/{path}", bad.base);
            Proc::spawn(&[
                "publish",
                &url,
                "--json",
                "--audio",
                "tone",
                "--video-size",
                "320x240",
                "--timeout",
                "2",
            ])
        })
        .collect();
    for ((path, code, says), p) in cases.iter().zip(runs) {
        let f = p.finish(Duration::from_secs(15));
        assert_eq!(f.code, *code, "{path}: {}", f.stderr);
        let errors: Vec<String> = f
            .records()
            .into_iter()
            .filter_map(|r| match r {
                Record::Error { message, .. } => Some(message),
                _ => None,
            })
            .collect();
        assert_eq!(errors.len(), 1, "{path}: {:?}", f.stdout);
        assert!(errors[0].contains(says), "{path}: {}", errors[0]);
        assert_eq!(f.summary().error.as_deref(), Some(errors[0].as_str()));
        let warnings = f
            .signaling_events()
            .iter()
            .filter(|e| *e == "warning")
            .count();
        let expected = matches!(*path, "garbage-link" | "nolocation") as usize;
        assert_eq!(warnings, expected, "{path}: {:?}", f.stdout);
    }
}

/// `rtccall probe --json` with these arguments: (exit code, every step as (server, step,
/// status)).
fn probe_steps(args: &[&str]) -> (i32, Vec<(String, String, String)>, String) {
    let mut all = vec!["probe", "--json"];
    all.extend_from_slice(args);
    let f = Proc::spawn(&all).finish(Duration::from_secs(60));
    let steps = f
        .stdout
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["type"] == "step")
        .map(|v| {
            (
                v["server"].as_str().unwrap_or("").to_string(),
                v["step"].as_str().unwrap_or("").to_string(),
                v["status"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    (f.code, steps, f.stdout.join("\n"))
}

/// `probe --whip` against Janus with its token: the token is checked (403 without it), the
/// Link header's STUN server (a real coturn) is probed, POST, answer, trickle, a publishing
/// session, an ICE restart halfway (PATCH 200, media on) and DELETE (then 404) all pass;
/// exit 0.
#[test]
fn probe_checks_a_janus_whip_endpoint() {
    let _suite = shared();
    let turn = Turn::start(&[]);
    let stun = format!("stun:127.0.0.1:{}", turn.port);
    let janus = Janus::start();
    let url = janus.endpoint_with("prb", "probe-token", "pub-prb", json!([{"uri": stun}]));
    let (code, steps, out) = probe_steps(&[
        "--whip",
        &url,
        "--token",
        "probe-token",
        "--call-media",
        "2",
    ]);
    assert_eq!(code, 0, "{out}");
    let of = |server: &str| -> Vec<(String, String)> {
        steps
            .iter()
            .filter(|s| s.0 == server)
            .map(|s| (s.1.clone(), s.2.clone()))
            .collect()
    };
    let want: Vec<(String, String)> = [
        ("auth", "pass"),
        ("link-ice-servers", "pass"),
        ("post", "pass"),
        ("answer", "pass"),
        ("trickle", "pass"),
        ("call", "pass"),
        ("ice-restart", "pass"),
        ("delete", "pass"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(of(&url), want, "{out}");
    assert!(
        of(&stun)
            .iter()
            .any(|(step, status)| step == "stun-binding" && status == "pass"),
        "the Link server was not probed: {out}"
    );
    // Without the token, the same probe fails at the POST, and says why.
    let (code, steps, out) = probe_steps(&["--whip", &url, "--call-media", "1"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        steps
            .iter()
            .any(|s| s.0 == url && s.1 == "post" && s.2 == "fail"),
        "{out}"
    );
    assert!(out.contains("give --token"), "{out}");
}

/// `probe --whep` against `serve`'s endpoint with a terminal in the room: every step passes,
/// the forced ICE restart too, and no machine-wide step (NAT, gathering, direct call) is run for an endpoint alone.
#[test]
fn probe_checks_a_serve_whep_endpoint() {
    let _suite = shared();
    let (_server, url) = serve();
    let mut answer = Proc::spawn(&call_args(
        "answer",
        "probed",
        &url,
        &["--auto-accept", "--audio", "tone", "--duration", "20"],
    ));
    answer.wait_line(Duration::from_secs(10), |l| l.contains("\"joined\""));
    let endpoint = format!("{}/whep/probed", http_base(&url));
    let (code, steps, out) = probe_steps(&["--whep", &endpoint, "--call-media", "2"]);
    assert_eq!(code, 0, "{out}");
    let names: Vec<&str> = steps.iter().map(|s| s.1.as_str()).collect();
    assert_eq!(
        names,
        [
            "link-ice-servers",
            "post",
            "answer",
            "trickle",
            "call",
            "ice-restart",
            "delete"
        ],
        "{out}"
    );
    // Every step passes: the ICE restart forced halfway is PATCHed, relayed to the terminal
    // as a new offer, and the media goes on.
    assert!(steps.iter().all(|s| s.2 == "pass"), "{out}");
    assert!(out.contains("PATCH 200"), "{out}");
    let a = answer.finish(Duration::from_secs(20));
    assert_eq!(a.summary().end_reason, "remote-bye");
}

/// A 5 s outage of every UDP path in the middle of a WHIP session (`publish` → `serve` →
/// `answer`, all in a namespace of the test's own): the publisher restarts ICE with a PATCH
/// (`If-Match: *`), `serve` relays it to the terminal as a new offer and returns its answer as
/// a fragment, and the video goes on after the outage; both exit 0.
#[test]
fn an_outage_is_survived_by_an_ice_restart_over_whip() {
    let _alone = alone();
    let ns = LossyNetns::create(0);
    let w = ns.wrapper();
    let (_server, url) = serve_wrapped(&w);
    let mut answer = Proc::spawn_wrapped(
        &w,
        &call_args(
            "answer",
            "whip-outage",
            &url,
            &["--auto-accept", "--audio", "none", "--video", "none"],
        ),
        &[],
    );
    answer.wait_line(Duration::from_secs(10), |l| l.contains("\"joined\""));
    let endpoint = format!("{}/whip/whip-outage", http_base(&url));
    let mut publish = Proc::spawn_wrapped(
        &w,
        &[
            "publish",
            &endpoint,
            "--json",
            "--audio",
            "tone",
            "--video-size",
            "320x240",
            "--fps",
            "15",
            "--duration",
            "14",
            "--timeout",
            "10",
        ],
        &[],
    );
    publish.wait_line(Duration::from_secs(20), |l| {
        l.contains("\"type\":\"stats\"")
    });
    std::thread::sleep(Duration::from_secs(2));
    ns.blackout(true);
    std::thread::sleep(Duration::from_secs(5));
    ns.blackout(false);
    let p = publish.finish(Duration::from_secs(40));
    let a = answer.finish(Duration::from_secs(40));
    assert_eq!((p.code, a.code), (0, 0), "{}\n{}", p.stderr, a.stderr);
    let ps = p.summary();
    assert!(
        ps.ice_restarts >= 1,
        "{:?} {:?}",
        ps.ice_recovery_ms,
        p.signaling_events()
    );
    let events = p.signaling_events();
    assert!(events.iter().any(|e| e == "ice-restarted"), "{events:?}");
    assert!(
        !events.iter().any(|e| e == "warning"),
        "{}",
        p.stdout.join("\n")
    );
    let decoded: Vec<u64> = decoded_over_time(&a).iter().map(|d| d.1).collect();
    let n = decoded.len();
    assert!(
        n >= 4 && decoded[n - 1] > decoded[n - 3] + 10,
        "{decoded:?}"
    );
}

/// A complete static offer (audio, BUNDLE, DTLS fingerprint): enough for a terminal to answer,
/// for tests of the exchange rather than of media.
pub(crate) const STATIC_OFFER: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n\
m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:abcd\r\n\
a=ice-pwd:abcdabcdabcdabcdabcdabcd\r\n\
a=fingerprint:sha-256 7B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08\r\n\
a=setup:actpass\r\na=mid:0\r\na=sendonly\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\n";

/// With `--redis`, a WHIP session created on one instance takes its trickle PATCH and its
/// DELETE through another: the candidate reaches the terminal, the DELETE ends its call, and
/// the session is gone on both instances (404).
#[test]
fn a_whip_session_is_patched_and_deleted_through_another_instance() {
    let _suite = shared();
    let redis = crate::serve::Redis::start_on(free_port());
    let r = redis.url();
    let prefix = format!("whip{}", std::process::id());
    let instance = || serve_with(&["--redis", &r, "--redis-prefix", &prefix]);
    let (_one, url1) = instance();
    let (_two, url2) = instance();
    let mut answer = Proc::spawn(&call_args(
        "answer",
        "xwhip",
        &url1,
        &["--auto-accept", "--audio", "tone", "--video", "none"],
    ));
    answer.wait_line(Duration::from_secs(10), |l| l.contains("\"joined\""));
    let (base1, base2) = (http_base(&url1), http_base(&url2));
    let created = http(
        "POST",
        &format!("{base1}/whip/xwhip"),
        Some(("application/sdp", STATIC_OFFER.to_string())),
    );
    assert_eq!(created.status, 201, "{}", created.first_line());
    let location = created.header("location").unwrap().to_string();
    let etag = created.header("etag").unwrap().to_string();
    let frag = "a=ice-ufrag:abcd\r\na=ice-pwd:abcdabcdabcdabcdabcdabcd\r\nm=audio 9 RTP/AVP 0\r\na=mid:0\r\na=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host\r\n";
    let patched = http_with(
        "PATCH",
        &format!("{base2}{location}"),
        vec![("if-match", etag.clone())],
        Some(("application/trickle-ice-sdpfrag", frag.to_string())),
    );
    assert_eq!(patched.status, 204, "{}", patched.first_line());
    let wrong = http_with(
        "PATCH",
        &format!("{base2}{location}"),
        vec![("if-match", "\"nope\"".into())],
        Some(("application/trickle-ice-sdpfrag", frag.to_string())),
    );
    assert_eq!(wrong.status, 412);
    let deleted = http("DELETE", &format!("{base2}{location}"), None);
    assert_eq!(deleted.status, 200, "{}", deleted.first_line());
    let a = answer.finish(Duration::from_secs(20));
    assert!(
        a.records().iter().any(|r| matches!(
            r,
            Record::Candidate {
                side: rtccall::report::schema::Side::Remote,
                port: 9,
                ..
            }
        )),
        "the PATCHed candidate did not reach the terminal: {}",
        a.stdout.join("\n")
    );
    assert!(
        a.signaling_events().iter().any(|e| e == "bye-received"),
        "{:?}",
        a.signaling_events()
    );
    // Gone on both instances.
    let deadline = Instant::now() + Duration::from_secs(5);
    for base in [&base1, &base2] {
        loop {
            let again = http("DELETE", &format!("{base}{location}"), None);
            if again.status == 404 {
                break;
            }
            assert!(Instant::now() < deadline, "{base}: {}", again.status);
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
