//! Integration tests: the real `rtccall` binary in separate processes, real sockets on loopback,
//! real encoders and decoders. Output is parsed into the library's record types, whose structs
//! deny unknown fields, so schema drift fails here.

use std::io::Write;
use std::time::{Duration, Instant};

use crate::common::*;
use rtccall::report::schema::Record;

/// A WebSocket client for poking the server by hand.
fn ws(
    url: &str,
) -> tungstenite::WebSocket<tungstenite::stream::MaybeTlsStream<std::net::TcpStream>> {
    let (ws, _) = tungstenite::connect(url).expect("connect to the server");
    ws
}

fn ws_read(
    ws: &mut tungstenite::WebSocket<tungstenite::stream::MaybeTlsStream<std::net::TcpStream>>,
) -> serde_json::Value {
    if let tungstenite::stream::MaybeTlsStream::Plain(s) = ws.get_mut() {
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    }
    loop {
        match ws.read().expect("read a frame") {
            tungstenite::Message::Text(t) => return serde_json::from_str(t.as_str()).unwrap(),
            _ => continue,
        }
    }
}

#[test]
fn call_through_serve_survives_bad_clients() {
    let _suite = shared();
    let (_server, url) = serve();

    // Bad input first: each gets an error reply, and the server keeps serving.
    let mut bad = ws(&url);
    bad.send(tungstenite::Message::text("{not json")).unwrap();
    assert_eq!(ws_read(&mut bad)["code"], "bad-message");
    bad.send(tungstenite::Message::text(r#"{"type":"dance"}"#))
        .unwrap();
    assert_eq!(ws_read(&mut bad)["code"], "unknown-type");
    bad.send(tungstenite::Message::text(r#"{"type":"offer","sdp":"x"}"#))
        .unwrap();
    assert_eq!(ws_read(&mut bad)["code"], "not-joined");
    bad.send(tungstenite::Message::text(
        r#"{"type":"join","room":"no spaces"}"#,
    ))
    .unwrap();
    assert_eq!(ws_read(&mut bad)["code"], "bad-room");
    bad.send(tungstenite::Message::text(
        r#"{"type":"join","room":"other"}"#,
    ))
    .unwrap();
    assert_eq!(ws_read(&mut bad)["type"], "joined");
    // Once joined (a stranger may send only 16 KiB before its join).
    let big = format!(r#"{{"type":"offer","sdp":"{}"}}"#, "v".repeat(70 * 1024));
    bad.send(tungstenite::Message::text(big)).unwrap();
    assert_eq!(ws_read(&mut bad)["code"], "too-large");

    let answer = Proc::spawn(&call_args("answer", "main", &url, &["--duration", "4"]));
    let dial = Proc::spawn(&call_args("dial", "main", &url, &["--duration", "4"]));
    let d = dial.finish(Duration::from_secs(60));
    let a = answer.finish(Duration::from_secs(60));
    assert_eq!(d.code, 0, "dial stderr: {}", d.stderr);
    assert_eq!(a.code, 0, "answer stderr: {}", a.stderr);
    let (ds, as_) = (d.summary(), a.summary());
    assert_media_flowed(&ds, &as_);
    assert_media_flowed(&as_, &ds);
    assert_eq!(ds.role, "dial");
    assert_eq!(as_.role, "answer");
    // Both sides saw both local and remote candidates, and the stats ran.
    for f in [&d, &a] {
        let recs = f.records();
        assert!(
            recs.iter()
                .any(|r| matches!(r, Record::Candidate { side, .. } if side == "local"))
        );
        assert!(
            recs.iter()
                .any(|r| matches!(r, Record::Candidate { side, .. } if side == "remote"))
        );
        assert!(recs.iter().any(|r| matches!(r, Record::Stats { .. })));
        assert!(
            recs.iter()
                .any(|r| matches!(r, Record::Track { direction, .. } if direction == "receive"))
        );
    }
    // The server is still there for the client that misbehaved.
    bad.send(tungstenite::Message::text(r#"{"type":"bye"}"#))
        .unwrap();
}

#[test]
fn embedded_server_when_nothing_listens() {
    let _suite = shared();
    let server = format!("ws://127.0.0.1:{}/", free_port());
    let answer = Proc::spawn(&call_args("answer", "demo", &server, &["--duration", "3"]));
    let dial = Proc::spawn(&call_args("dial", "demo", &server, &["--duration", "3"]));
    let d = dial.finish(Duration::from_secs(60));
    let a = answer.finish(Duration::from_secs(60));
    assert_eq!(d.code, 0, "dial stderr: {}", d.stderr);
    assert_eq!(a.code, 0, "answer stderr: {}", a.stderr);
    let hosted = a
        .records()
        .iter()
        .chain(d.records().iter())
        .filter(|r| matches!(r, Record::Signaling { event, .. } if event == "embedded-server"))
        .count();
    assert_eq!(hosted, 1, "exactly one peer hosts the server");
    assert!(d.summary().connected && a.summary().connected);
}

#[test]
fn third_peer_gets_room_full() {
    let _suite = shared();
    let (_server, url) = serve();
    let mut one = ws(&url);
    one.send(tungstenite::Message::text(
        r#"{"type":"join","room":"busy","role":"answer"}"#,
    ))
    .unwrap();
    assert_eq!(ws_read(&mut one)["type"], "joined");
    let mut two = ws(&url);
    two.send(tungstenite::Message::text(
        r#"{"type":"join","room":"busy","role":"dial"}"#,
    ))
    .unwrap();
    assert_eq!(ws_read(&mut two)["type"], "joined");
    assert_eq!(ws_read(&mut one)["type"], "peer-joined");

    let third = Proc::spawn(&call_args("dial", "busy", &url, &[]));
    let f = third.finish(Duration::from_secs(20));
    assert_eq!(f.code, 3, "stderr: {}", f.stderr);
    let s = f.summary();
    assert!(
        s.error
            .as_deref()
            .unwrap_or("")
            .contains("already has two peers"),
        "{s:?}"
    );
    // The two peers in the room still hear each other.
    two.send(tungstenite::Message::text(
        r#"{"type":"bye","reason":"test"}"#,
    ))
    .unwrap();
    assert_eq!(ws_read(&mut one)["type"], "bye");
}

#[test]
fn rejected_call_exits_3_with_the_reason() {
    let _suite = shared();
    let (_server, url) = serve();
    let answer = Proc::spawn(&call_args("answer", "r", &url, &["--reject", "busy today"]));
    let dial = Proc::spawn(&call_args("dial", "r", &url, &[]));
    let d = dial.finish(Duration::from_secs(30));
    let a = answer.finish(Duration::from_secs(30));
    assert_eq!(d.code, 3, "dial stderr: {}", d.stderr);
    let s = d.summary();
    assert_eq!(s.end_reason, "rejected");
    assert!(
        s.error.as_deref().unwrap().contains("rejected: busy today"),
        "{s:?}"
    );
    assert_eq!(a.code, 0, "answer stderr: {}", a.stderr);
    assert_eq!(a.summary().end_reason, "rejected");
}

#[test]
fn rejected_call_is_explained_to_a_person() {
    let _suite = shared();
    let (_server, url) = serve();
    let answer = Proc::spawn(&[
        "answer",
        "h",
        "--server",
        &url,
        "--reject",
        "in a meeting",
        "--video",
        "none",
    ]);
    let dial = Proc::spawn(&[
        "dial",
        "h",
        "--server",
        &url,
        "--video",
        "none",
        "--timeout",
        "20",
    ]);
    let d = dial.finish(Duration::from_secs(30));
    let _ = answer.finish(Duration::from_secs(30));
    assert_eq!(d.code, 3);
    assert!(
        d.stderr
            .contains("rtccall: error: the call was rejected: in a meeting"),
        "{}",
        d.stderr
    );
    assert!(
        d.stdout.iter().any(|l| l.trim() == "exit code  3"),
        "{:?}",
        d.stdout
    );
}

#[test]
fn nothing_listening_and_no_embedding_exits_3() {
    let _suite = shared();
    let server = format!("ws://127.0.0.1:{}/", free_port());
    let started = Instant::now();
    let dial = Proc::spawn(&call_args(
        "dial",
        "x",
        &server,
        &["--no-embedded-server", "--timeout", "5"],
    ));
    let f = dial.finish(Duration::from_secs(15));
    assert_eq!(f.code, 3, "stderr: {}", f.stderr);
    assert!(started.elapsed() < Duration::from_secs(6));
    assert!(f.summary().error.unwrap().contains("connection refused"));
}

#[test]
fn no_peer_before_the_timeout_exits_3() {
    let _suite = shared();
    let (_server, url) = serve();
    let dial = Proc::spawn(&call_args("dial", "alone", &url, &["--timeout", "1"]));
    let f = dial.finish(Duration::from_secs(15));
    assert_eq!(f.code, 3, "stderr: {}", f.stderr);
    assert!(f.summary().error.unwrap().contains("nobody answered"));
}

#[test]
fn killed_peer_ends_the_call_with_exit_4() {
    let _suite = shared();
    let (_server, url) = serve();
    let mut answer = Proc::spawn(&call_args("answer", "k", &url, &[]));
    let mut dial = Proc::spawn(&call_args("dial", "k", &url, &[]));
    dial.wait_line(Duration::from_secs(20), |l| l.contains(r#""type":"stats""#));
    answer.wait_line(Duration::from_secs(20), |l| l.contains(r#""type":"stats""#));
    let killed = Instant::now();
    answer.signal("-KILL");
    let d = dial.finish(Duration::from_secs(20));
    let detected = killed.elapsed();
    eprintln!("vanished peer detected after {detected:?}");
    assert_eq!(d.code, 4, "stderr: {}", d.stderr);
    let s = d.summary();
    assert!(s.connected);
    assert!(s.error.unwrap().contains("vanished"));
}

#[test]
fn relay_only_call_through_coturn() {
    let _suite = shared();
    let turn = Turn::start(&TURN_TEST_USER);
    let ice = format!("turn:test:secret@127.0.0.1:{}", turn.port);
    let (d, a) = relay_only_call("relay", &ice, &[]);
    for s in [d, a] {
        assert_eq!(s.video.frames_dropped, 0, "{s:?}");
        assert_eq!(
            s.selected_pair.unwrap().local.relay_protocol.as_deref(),
            Some("udp")
        );
    }
}

#[test]
fn frozen_peer_is_detected_by_ice_with_exit_4() {
    let _suite = shared();
    // SIGSTOP keeps the peer's signaling socket open: only ICE can notice it is gone.
    let (_server, url) = serve();
    let mut answer = Proc::spawn(&call_args("answer", "f", &url, &[]));
    let mut dial = Proc::spawn(&call_args("dial", "f", &url, &[]));
    dial.wait_line(Duration::from_secs(20), |l| l.contains(r#""type":"stats""#));
    answer.wait_line(Duration::from_secs(20), |l| l.contains(r#""type":"stats""#));
    let frozen = Instant::now();
    answer.signal("-STOP");
    let d = dial.finish(Duration::from_secs(30));
    let detected = frozen.elapsed();
    eprintln!("frozen peer detected by ICE after {detected:?}");
    answer.signal("-CONT");
    assert!(
        detected < Duration::from_millis(3500),
        "a frozen peer took {detected:?} to be noticed"
    );
    assert_eq!(d.code, 4, "stderr: {}", d.stderr);
    let recs = d.records();
    assert!(
        recs.iter()
            .any(|r| matches!(r, Record::IceState { state, .. } if state == "disconnected"))
    );
    assert!(d.summary().error.unwrap().contains("ICE failed"));
}

#[test]
fn ctrl_c_hangs_up_and_the_other_side_ends_normally() {
    let _suite = shared();
    let (_server, url) = serve();
    let mut answer = Proc::spawn(&call_args("answer", "c", &url, &[]));
    let mut dial = Proc::spawn(&call_args("dial", "c", &url, &[]));
    dial.wait_line(Duration::from_secs(20), |l| l.contains(r#""type":"stats""#));
    answer.wait_line(Duration::from_secs(20), |l| l.contains(r#""type":"stats""#));
    dial.signal("-INT");
    let d = dial.finish(Duration::from_secs(15));
    let a = answer.finish(Duration::from_secs(15));
    assert_eq!(d.code, 130, "dial stderr: {}", d.stderr);
    assert_eq!(d.summary().end_reason, "interrupted");
    assert!(
        d.records()
            .iter()
            .any(|r| matches!(r, Record::Signaling { event, .. } if event == "bye-sent"))
    );
    assert_eq!(a.code, 0, "answer stderr: {}", a.stderr);
    assert_eq!(a.summary().end_reason, "remote-bye");
}

#[test]
fn bad_arguments_exit_2_with_one_line() {
    let _suite = shared();
    for args in [
        vec!["dial", "bad room!"],
        vec!["dial", "r", "--video-size", "abc"],
        vec!["dial", "r", "--server", "http://x"],
        vec!["dial", "r", "--ice-server", "turn:127.0.0.1:3478"],
        vec!["answer", "r", "--timeout=-1"],
        vec!["answer", "r", "--timeout", "-1"],
        vec!["dial", "r", "--bogus"],
    ] {
        let f = Proc::spawn(&args).finish(Duration::from_secs(10));
        assert_eq!(f.code, 2, "{args:?}: {}", f.stderr);
        assert_eq!(f.stderr.trim().lines().count(), 1, "{args:?}: {}", f.stderr);
        assert!(f.stderr.starts_with("rtccall: error: "), "{}", f.stderr);
    }
    let f = Proc::spawn(&["dial"]).finish(Duration::from_secs(10));
    assert_eq!(f.code, 2);
}

#[test]
fn serve_prints_its_url_first_and_stops_on_ctrl_c() {
    let _suite = shared();
    let (server, url) = serve();
    let mut c = ws(&url);
    c.send(tungstenite::Message::text(r#"{"type":"join","room":"a"}"#))
        .unwrap();
    assert_eq!(ws_read(&mut c)["type"], "joined");
    server.signal("-INT");
    let f = server.finish(Duration::from_secs(5));
    assert_eq!(f.code, 0, "{}", f.stderr);
}

#[test]
fn completions_and_man_pages_are_current() {
    let _suite = shared();
    let scratch = Scratch::new("gen");
    let dir = scratch.path("out");
    let f =
        Proc::spawn(&["generate", "--dir", dir.to_str().unwrap()]).finish(Duration::from_secs(10));
    assert_eq!(f.code, 0, "{}", f.stderr);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for sub in ["completions", "man"] {
        let mut names: Vec<_> = std::fs::read_dir(dir.join(sub))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        let mut checked_in: Vec<_> = std::fs::read_dir(root.join(sub))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        checked_in.sort();
        assert_eq!(
            names, checked_in,
            "{sub}/ is stale: run `cargo run -- generate`"
        );
        for n in names {
            let fresh = std::fs::read(dir.join(sub).join(&n)).unwrap();
            let old = std::fs::read(root.join(sub).join(&n)).unwrap();
            assert!(
                fresh == old,
                "{sub}/{} is stale: run `cargo run -- generate`",
                n.to_string_lossy()
            );
        }
    }
    let _ = std::io::stdout().flush();
}

/// One HTTP/1.1 request to the server behind `url`; (status line, headers, body).
fn http_get(url: &str, method: &str, path: &str) -> (String, String, String) {
    use std::io::{Read, Write};
    let addr = url
        .trim_start_matches("ws://")
        .trim_end_matches('/')
        .to_string();
    let mut s = std::net::TcpStream::connect(&addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut all = String::new();
    s.read_to_string(&mut all).unwrap();
    let (head, body) = all.split_once("\r\n\r\n").unwrap();
    let (status, headers) = head.split_once("\r\n").unwrap();
    (
        status.to_string(),
        headers.to_ascii_lowercase(),
        body.to_string(),
    )
}

#[test]
fn serve_answers_http_with_the_call_page_and_health() {
    let _suite = shared();
    let (_server, url) = serve();
    let (status, headers, body) = http_get(&url, "GET", "/?room=demo&autojoin=1");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(
        headers.contains("content-type: text/html; charset=utf-8"),
        "{headers}"
    );
    assert!(body.contains("<script src=\"/app.js\">"), "{body}");
    let (status, headers, body) = http_get(&url, "GET", "/app.js");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(
        headers.contains("content-type: text/javascript"),
        "{headers}"
    );
    assert!(body.contains("RTCPeerConnection"));
    let (status, headers, body) = http_get(&url, "GET", "/healthz");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(
        headers.contains("content-type: application/json"),
        "{headers}"
    );
    let health: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["status"], "ok");
    // Nothing else is served: no listing, no files.
    for path in [
        "/web/",
        "/src/signal/web/app.js",
        "/../Cargo.toml",
        "/favicon.ico",
    ] {
        let (status, _, _) = http_get(&url, "GET", path);
        assert_eq!(status, "HTTP/1.1 404 Not Found", "{path}");
    }
    let (status, _, _) = http_get(&url, "POST", "/");
    assert_eq!(status, "HTTP/1.1 405 Method Not Allowed");
    let (status, _, body) = http_get(&url, "HEAD", "/");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(body.is_empty());
    // The same port still serves the WebSocket protocol: a call through it works.
    let answer = Proc::spawn(&call_args("answer", "http-too", &url, &["--auto-accept"]));
    let dial = Proc::spawn(&call_args("dial", "http-too", &url, &["--duration", "1"]));
    let d = dial.finish(Duration::from_secs(20));
    let a = answer.finish(Duration::from_secs(20));
    assert_eq!((d.code, a.code), (0, 0), "{}\n{}", d.stderr, a.stderr);
    assert!(
        d.summary().data.echoes_received > 0,
        "{:?}",
        d.summary().data
    );
}

#[test]
fn serve_hands_its_ice_servers_to_peers_with_minted_turn_credentials() {
    let _suite = shared();
    let turn = Turn::start(&[
        "--use-auth-secret",
        "--static-auth-secret=handout-secret",
        "--realm=rtccall.test",
        "--allow-loopback-peers",
    ]);
    let turn_url = format!("turn:127.0.0.1:{}", turn.port);
    let mut server = Proc::spawn(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--json",
        "--ice-server",
        &turn_url,
        "--turn-secret",
        "handout-secret",
    ]);
    let line = server.wait_line(Duration::from_secs(10), |_| true);
    let Record::Listening { url } = serde_json::from_str(&line).unwrap() else {
        panic!("{line}")
    };
    // The joined message carries the server with fresh REST credentials, browser-shaped.
    let mut probe = ws(&url);
    probe
        .send(tungstenite::Message::text(
            r#"{"type":"join","room":"peek"}"#,
        ))
        .unwrap();
    let joined = ws_read(&mut probe);
    assert_eq!(joined["type"], "joined");
    let ice = &joined["iceServers"][0];
    assert_eq!(ice["urls"][0], turn_url.as_str(), "{joined}");
    let user = ice["username"].as_str().unwrap();
    let (expiry, name) = user.split_once(':').unwrap();
    assert_eq!(name, "rtccall");
    assert!(expiry.parse::<u64>().unwrap() > 1_700_000_000);
    assert_eq!(ice["credential"].as_str().unwrap().len(), 28);
    drop(probe);

    // Peers given no ICE servers use those: relay-only works through the handed-out TURN.
    let extra = ["--relay-only", "--duration", "2"];
    let answer = Proc::spawn(&call_args("answer", "handout", &url, &extra));
    let dial = Proc::spawn(&call_args("dial", "handout", &url, &extra));
    let d = dial.finish(Duration::from_secs(60));
    let a = answer.finish(Duration::from_secs(60));
    assert_eq!((d.code, a.code), (0, 0), "{}\n{}", d.stderr, a.stderr);
    let pair = d.summary().selected_pair.expect("a selected pair");
    assert_eq!(pair.local.candidate_type, "relay");
    assert!(d.records().iter().any(|r| matches!(
        r,
        Record::Signaling { event, .. } if event == "ice-servers"
    )));
    // A TURN server without credentials or secret is a usage error.
    let p = Proc::spawn(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--ice-server",
        &turn_url,
    ]);
    let f = p.finish(Duration::from_secs(10));
    assert_eq!(f.code, 2, "{}", f.stderr);
    assert!(f.stderr.contains("needs credentials"), "{}", f.stderr);
}

#[test]
fn a_call_outlives_its_killed_signaling_server() {
    let _suite = shared();
    let (server, url) = serve();
    let extra = ["--duration", "8"];
    let answer = Proc::spawn(&call_args("answer", "outlive", &url, &extra));
    let mut dial = Proc::spawn(&call_args("dial", "outlive", &url, &extra));
    dial.wait_line(Duration::from_secs(20), |l| l.contains(r#""type":"stats""#));
    std::thread::sleep(Duration::from_secs(2));
    server.signal("-KILL");
    dial.wait_line(Duration::from_secs(5), |l| l.contains(r#""event":"lost""#));
    let (a, d) = (
        answer.finish(Duration::from_secs(20)),
        dial.finish(Duration::from_secs(20)),
    );
    for (who, f) in [("answer", &a), ("dial", &d)] {
        assert_eq!(f.code, 0, "{who} stderr: {}", f.stderr);
        let s = f.summary();
        // Both hang up at 8 s; the side that ends a moment later may hear the other's bye
        // first (on the data channel, signaling being gone).
        assert!(
            s.end_reason == "duration" || s.end_reason == "remote-bye",
            "{who}: {:?}",
            s.end_reason
        );
        assert!(s.duration_s >= 7.9, "{who} lasted {} s", s.duration_s);
        assert!(f.signaling_events().contains(&"lost".to_string()), "{who}");
        // Media went on flowing after the server died: 8 s of 15 fps is 120 frames.
        assert!(s.video.frames_decoded >= 90, "{who}: {:?}", s.video);
    }
}

#[test]
fn a_restarted_signaling_server_carries_the_later_bye() {
    let _suite = shared();
    let (server, url) = serve();
    let listen = url
        .trim_start_matches("ws://")
        .trim_end_matches('/')
        .to_string();
    let mut answer = Proc::spawn(&call_args("answer", "restart", &url, &["--duration", "30"]));
    let mut dial = Proc::spawn(&call_args("dial", "restart", &url, &["--duration", "8"]));
    dial.wait_line(Duration::from_secs(20), |l| l.contains(r#""type":"stats""#));
    answer.wait_line(Duration::from_secs(20), |l| l.contains(r#""type":"stats""#));
    server.signal("-TERM");
    dial.wait_line(Duration::from_secs(5), |l| l.contains(r#""event":"lost""#));
    answer.wait_line(Duration::from_secs(5), |l| l.contains(r#""event":"lost""#));
    let mut again = Proc::spawn(&["serve", "--listen", &listen, "--json"]);
    again.wait_line(Duration::from_secs(10), |l| l.contains("listening"));
    dial.wait_line(Duration::from_secs(10), |l| {
        l.contains(r#""event":"reconnected""#)
    });
    answer.wait_line(Duration::from_secs(10), |l| {
        l.contains(r#""event":"reconnected""#)
    });
    let d = dial.finish(Duration::from_secs(20));
    let a = answer.finish(Duration::from_secs(10));
    assert_eq!(d.code, 0, "dial stderr: {}", d.stderr);
    assert_eq!(d.summary().end_reason, "duration");
    assert_eq!(a.code, 0, "answer stderr: {}", a.stderr);
    let s = a.summary();
    assert_eq!(
        s.end_reason, "remote-bye",
        "the dialer's bye crossed the new server"
    );
    assert!(s.duration_s < 20.0);
    let events = a.signaling_events();
    let lost = events.iter().position(|e| e == "lost").unwrap();
    assert!(
        events[lost..].contains(&"rejoined".to_string()),
        "{events:?}"
    );
    assert!(
        events[lost..].contains(&"bye-received".to_string()),
        "{events:?}"
    );
}

/// A TCP relay on a loopback port that can be cut and started again on the same port: the
/// network between a peer and its signaling server.
struct Relay {
    port: u16,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    conns: std::sync::Arc<std::sync::Mutex<Vec<std::net::TcpStream>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Relay {
    fn start(port: u16, to: std::net::SocketAddr) -> Relay {
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let conns = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (s, c) = (stop.clone(), conns.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((client, _)) => {
                        client.set_nonblocking(false).unwrap();
                        let server = std::net::TcpStream::connect(to).unwrap();
                        for (mut from, mut into) in [
                            (client.try_clone().unwrap(), server.try_clone().unwrap()),
                            (server.try_clone().unwrap(), client.try_clone().unwrap()),
                        ] {
                            std::thread::spawn(move || {
                                let _ = std::io::copy(&mut from, &mut into);
                                let _ = into.shutdown(std::net::Shutdown::Both);
                            });
                        }
                        c.lock().unwrap().extend([client, server]);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Relay {
            port,
            stop,
            conns,
            thread: Some(thread),
        }
    }

    /// Stop listening and cut every connection.
    fn cut(mut self) -> u16 {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
        for c in self.conns.lock().unwrap().drain(..) {
            let _ = c.shutdown(std::net::Shutdown::Both);
        }
        self.port
    }
}

#[test]
fn a_cut_signaling_link_resumes_the_seat_on_the_embedded_server() {
    let _suite = shared();
    // The answerer hosts the signaling server itself; the dialer reaches it through a link
    // that is cut mid-call and comes back.
    let port = free_port();
    let direct = format!("ws://127.0.0.1:{port}/");
    let mut answer = Proc::spawn(&call_args(
        "answer",
        "resume",
        &direct,
        &["--duration", "30"],
    ));
    answer.wait_line(Duration::from_secs(10), |l| {
        l.contains(r#""event":"joined""#)
    });
    let relay = Relay::start(0, ([127, 0, 0, 1], port).into());
    let via = format!("ws://127.0.0.1:{}/", relay.port);
    let mut dial = Proc::spawn(&call_args(
        "dial",
        "resume",
        &via,
        &["--duration", "8", "--no-embedded-server"],
    ));
    dial.wait_line(Duration::from_secs(20), |l| l.contains(r#""type":"stats""#));
    let relay_port = relay.cut();
    dial.wait_line(Duration::from_secs(5), |l| l.contains(r#""event":"lost""#));
    std::thread::sleep(Duration::from_millis(500));
    let _relay = Relay::start(relay_port, ([127, 0, 0, 1], port).into());
    dial.wait_line(Duration::from_secs(10), |l| {
        l.contains(r#""event":"reconnected""#)
    });
    let d = dial.finish(Duration::from_secs(20));
    let a = answer.finish(Duration::from_secs(10));
    assert_eq!(d.code, 0, "dial stderr: {}", d.stderr);
    assert_eq!(a.code, 0, "answer stderr: {}", a.stderr);
    assert_eq!(a.summary().end_reason, "remote-bye");
    // The seat came back: the server did not see a new peer, it saw the same one rejoin.
    let events = d.signaling_events();
    let lost = events.iter().position(|e| e == "lost").unwrap();
    assert!(
        events[lost..].contains(&"rejoined".to_string()),
        "{events:?}"
    );
    let answer_events = a.signaling_events();
    assert!(
        answer_events.contains(&"peer-left".to_string()),
        "{answer_events:?}"
    );
}

#[test]
fn a_bind_address_not_on_this_machine_is_a_usage_error() {
    let _suite = shared();
    // 192.0.2.1 (TEST-NET-1) is on no interface here: binding fails, nothing is sent.
    let (_server, url) = serve();
    let mut args = call_args("dial", "bind", &url, &[]);
    args.extend(["--bind", "192.0.2.1:0"]);
    let f = Proc::spawn(&args).finish(Duration::from_secs(15));
    assert_eq!(f.code, 2, "stderr: {}", f.stderr);
    let s = f.summary();
    assert!(
        s.error.unwrap().contains("--bind 192.0.2.1:0"),
        "{}",
        f.stderr
    );
}

#[test]
fn help_never_shows_the_value_of_a_secret() {
    let _suite = shared();
    for sub in ["dial", "answer", "probe", "serve", "token"] {
        let f = Proc::spawn_env(
            &[sub, "--help"],
            &[
                ("RTCCALL_ICE_CREDENTIAL", "hunter2-credential"),
                ("RTCCALL_TURN_SECRET", "hunter2-secret"),
                ("RTCCALL_SERVE_SECRET", "hunter2-serve-secret"),
                ("RTCCALL_TOKEN", "hunter2-token"),
                ("RTCCALL_REDIS", "redis://:hunter2@127.0.0.1:1"),
            ],
        )
        .finish(Duration::from_secs(10));
        assert_eq!(f.code, 0, "{sub}");
        let all = format!("{}\n{}", f.stdout.join("\n"), f.stderr);
        assert!(
            !all.contains("hunter2"),
            "{sub} --help shows a secret:\n{all}"
        );
    }
}

#[test]
fn trickled_candidates_carry_the_mid_and_ufrag_of_the_offer() {
    let _suite = shared();
    let (_server, url) = serve();
    let mut peer = ws(&url);
    let send = |ws: &mut tungstenite::WebSocket<_>, v: serde_json::Value| {
        ws.send(tungstenite::Message::text(v.to_string())).unwrap()
    };
    send(
        &mut peer,
        serde_json::json!({"type": "join", "room": "trickle", "role": "answer"}),
    );
    let joined = ws_read(&mut peer);
    assert_eq!(joined["type"], "joined");
    assert!(
        joined["resume"].as_str().is_some_and(|t| t.len() == 32),
        "{joined}"
    );
    let dial = Proc::spawn(&call_args("dial", "trickle", &url, &["--timeout", "5"]));
    let offer = loop {
        let m = ws_read(&mut peer);
        if m["type"] == "offer" {
            break m["sdp"].as_str().unwrap().to_string();
        }
    };
    for codec in ["VP8/90000", "VP9/90000", "H264/90000"] {
        assert!(offer.contains(codec), "the offer carries {codec}:\n{offer}");
    }
    let attr = |name: &str| {
        offer
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(str::trim)
            .unwrap()
            .to_string()
    };
    let (mid, ufrag) = (attr("a=mid:"), attr("a=ice-ufrag:"));
    let cand = loop {
        let m = ws_read(&mut peer);
        if m["type"] == "candidate" && m["candidate"].is_string() {
            break m;
        }
    };
    assert_eq!(cand["sdpMid"], mid.as_str(), "{cand}");
    assert_eq!(cand["usernameFragment"], ufrag.as_str(), "{cand}");
    assert_eq!(cand["sdpMLineIndex"], 0, "{cand}");
    drop(peer);
    let f = dial.finish(Duration::from_secs(15));
    assert_eq!(
        f.code, 3,
        "the answerer left before connecting: {}",
        f.stderr
    );
}

#[test]
fn a_resume_token_gives_the_same_seat_back_and_only_to_its_holder() {
    let _suite = shared();
    let (_server, url) = serve();
    let join = |ws: &mut tungstenite::WebSocket<_>, extra: serde_json::Value| {
        let mut m = serde_json::json!({"type": "join", "room": "seat"});
        if let (Some(m), Some(e)) = (m.as_object_mut(), extra.as_object()) {
            m.extend(e.clone());
        }
        ws.send(tungstenite::Message::text(m.to_string())).unwrap();
        ws_read(ws)
    };
    let mut a = ws(&url);
    let mut b = ws(&url);
    let ja = join(&mut a, serde_json::json!({"role": "answer"}));
    let jb = join(&mut b, serde_json::json!({"role": "dial"}));
    assert_eq!(jb["peer"], "answer");
    let token = jb["resume"].as_str().unwrap().to_string();
    assert_ne!(Some(token.as_str()), ja["resume"].as_str());
    assert_eq!(ws_read(&mut a)["type"], "peer-joined");
    // b's connection goes without a bye: a is told, and the seat is kept for b.
    drop(b);
    assert_eq!(ws_read(&mut a)["type"], "peer-left");
    let mut stranger = ws(&url);
    let refused = join(&mut stranger, serde_json::json!({"role": "dial"}));
    assert_eq!(refused["code"], "room-full", "{refused}");
    let wrong = join(
        &mut stranger,
        serde_json::json!({"role": "dial", "resume": "0123456789abcdef0123456789abcdef"}),
    );
    assert_eq!(
        wrong["code"], "room-full",
        "a made-up token gets nothing: {wrong}"
    );
    let mut b2 = ws(&url);
    let back = join(
        &mut b2,
        serde_json::json!({"role": "dial", "resume": token}),
    );
    assert_eq!(back["type"], "joined", "{back}");
    assert_eq!(back["resume"], token.as_str());
    assert_eq!(ws_read(&mut a)["type"], "peer-joined");
    // The same token on yet another connection takes the seat over from b2 (which the server
    // closes): a hears peer-joined, and no peer-left for the connection that was replaced.
    let mut b3 = ws(&url);
    let again = join(
        &mut b3,
        serde_json::json!({"role": "dial", "resume": token}),
    );
    assert_eq!(again["type"], "joined", "{again}");
    assert_eq!(ws_read(&mut a)["type"], "peer-joined");
    // Relaying still works between a and the newest connection.
    b3.send(tungstenite::Message::text(r#"{"type":"bye"}"#))
        .unwrap();
    assert_eq!(ws_read(&mut a)["type"], "bye");
    // After a bye the seat is not kept: a newcomer gets it once b3 is gone.
    drop(b3);
    assert_eq!(ws_read(&mut a)["type"], "peer-left");
    drop(b2);
    let mut c = ws(&url);
    let jc = join(&mut c, serde_json::json!({"role": "dial"}));
    assert_eq!(jc["type"], "joined", "{jc}");
}
