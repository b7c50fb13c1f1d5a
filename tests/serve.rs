//! `rtccall serve` for the internet: TLS, access tokens, Origin, limits and close codes, and
//! rooms shared between instances through a real `redis-server`. Every server is a real
//! process on a free loopback port, stopped by its PID.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use crate::common::*;
use tungstenite::Message as Frame;
use tungstenite::stream::MaybeTlsStream;

type Ws = tungstenite::WebSocket<MaybeTlsStream<TcpStream>>;

const SECRET: &str = "a-test-secret-of-some-length";

fn addr_of(url: &str) -> String {
    url.trim_start_matches("wss://")
        .trim_start_matches("ws://")
        .trim_end_matches('/')
        .to_string()
}

fn ws(url: &str) -> Ws {
    let (ws, _) = tungstenite::connect(url).expect("connect to the server");
    if let MaybeTlsStream::Plain(s) = ws.get_ref() {
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    }
    ws
}

fn send(ws: &mut Ws, v: serde_json::Value) {
    ws.send(Frame::text(v.to_string())).unwrap();
}

/// The next protocol message.
#[track_caller]
fn read(ws: &mut Ws) -> serde_json::Value {
    loop {
        match ws.read() {
            Ok(Frame::Text(t)) => return serde_json::from_str(t.as_str()).unwrap(),
            Ok(_) => continue,
            Err(e) => panic!("no message: {e}"),
        }
    }
}

/// Read until the server closes; the close code it sent (None when it just went).
fn close_code(ws: &mut Ws) -> Option<u16> {
    loop {
        match ws.read() {
            Ok(Frame::Close(f)) => return f.map(|f| f.code.into()),
            Ok(_) => continue,
            Err(_) => return None,
        }
    }
}

/// One HTTP/1.1 request over plain TCP; (status code, body).
fn http(url: &str, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let addr = addr_of(url);
    let mut s = TcpStream::connect(&addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut req = format!("GET {path} HTTP/1.1\r\nConnection: close\r\n");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        req.push_str(&format!("Host: {addr}\r\n"));
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    // To the end, except after a 101: the upgraded connection stays open, so only its head.
    let mut all = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => all.extend_from_slice(&buf[..n]),
        }
        if all.starts_with(b"HTTP/1.1 101") && all.windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    parse_response(&String::from_utf8_lossy(&all))
}

fn parse_response(all: &str) -> (u16, String) {
    let code = all
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = all.split_once("\r\n\r\n").map(|x| x.1).unwrap_or("");
    (code, body.to_string())
}

fn mint(room: &str, ttl: Duration, issued: SystemTime) -> String {
    rtccall::signal::auth::mint(SECRET, room, ttl, None, issued)
}

// ------------------------------------------------------------------------------------------
// TLS

#[test]
fn wss_with_a_self_signed_certificate_trusted_through_ca() {
    let _suite = shared();
    let dir = Scratch::new("tls");
    let cert = dir.path("cert.pem");
    let cert_s = cert.to_str().unwrap();
    let (server, url) = serve_with(&[
        "--tls-self-signed",
        "--tls-cert-out",
        cert_s,
        "--max-per-ip",
        "0",
    ]);
    assert!(url.starts_with("wss://127.0.0.1:"), "{url}");

    // Untrusted: refused, naming the ways out.
    let p = Proc::spawn(&call_args("dial", "tls", &url, &["--no-embedded-server"]));
    let f = p.finish(Duration::from_secs(20));
    let out = f.stdout.join("\n");
    assert_eq!(f.code, 3, "{out}");
    assert!(out.contains("--ca") && out.contains("--insecure"), "{out}");

    // Trusted through --ca: a whole call over wss://.
    let extra = ["--ca", cert_s, "--duration", "1"];
    let answer = Proc::spawn(&call_args("answer", "tls", &url, &extra));
    let dial = Proc::spawn(&call_args("dial", "tls", &url, &extra));
    let d = dial.finish(Duration::from_secs(30));
    let a = answer.finish(Duration::from_secs(30));
    assert_eq!((d.code, a.code), (0, 0), "{}\n{}", d.stderr, a.stderr);
    assert!(d.summary().connected);

    // The page over https, checked against the same certificate.
    let setup = rtccall::tls::TlsSetup::new(Some(&cert), false).unwrap();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let conn = rustls::ClientConnection::new(setup.config(), name).unwrap();
    let tcp = TcpStream::connect(addr_of(&url)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    write!(
        tls,
        "GET / HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        addr_of(&url)
    )
    .unwrap();
    let mut page = Vec::new();
    let _ = tls.read_to_end(&mut page);
    let (code, body) = parse_response(&String::from_utf8_lossy(&page));
    assert_eq!(code, 200);
    assert!(body.contains("app.js"), "{body}");

    // The fingerprint was printed for people to check.
    server.signal("-INT");
    let f = server.finish(Duration::from_secs(10));
    assert!(f.stderr.contains("SHA-256 fingerprint"), "{}", f.stderr);
}

// ------------------------------------------------------------------------------------------
// Access tokens

#[test]
fn joins_need_a_valid_token_and_only_then_get_turn_credentials() {
    let _suite = shared();
    // At the most verbose log level: secrets must stay out of the log all the same.
    let (server, url) = serve_with(&[
        "--secret",
        SECRET,
        "--ice-server",
        "turn:127.0.0.1:3478",
        "--turn-secret",
        "turn-secret",
        "-vvv",
    ]);
    let now = SystemTime::now();
    let expired = mint(
        "vault",
        Duration::from_secs(60),
        now - Duration::from_secs(7200),
    );
    let other_room = mint("elsewhere", Duration::from_secs(60), now);
    let forged = rtccall::signal::auth::mint(
        "not-the-secret-at-all",
        "vault",
        Duration::from_secs(60),
        None,
        now,
    );
    let cases: [(&str, Option<&str>); 4] = [
        ("no token", None),
        ("expired", Some(&expired)),
        ("another room", Some(&other_room)),
        ("wrong secret", Some(&forged)),
    ];
    for (what, token) in cases {
        let mut c = ws(&url);
        let mut join = serde_json::json!({"type": "join", "room": "vault", "role": "dial"});
        if let Some(t) = token {
            join["token"] = t.into();
        }
        send(&mut c, join);
        let m = read(&mut c);
        assert_eq!(m["type"], "error", "{what}: {m}");
        assert_eq!(m["code"], "unauthorized", "{what}: {m}");
        assert!(m.get("iceServers").is_none(), "{what}: {m}");
        if let Some(t) = token {
            assert!(!m.to_string().contains(t), "{what}: the token is echoed");
        }
        // Still not in a room.
        send(&mut c, serde_json::json!({"type": "bye"}));
        assert_eq!(read(&mut c)["code"], "not-joined", "{what}");
    }

    // A valid token (from `rtccall token`): joined, with TURN credentials.
    let minted = Proc::spawn_env(
        &["token", "vault", "--ttl", "600"],
        &[("RTCCALL_SERVE_SECRET", SECRET)],
    )
    .finish(Duration::from_secs(10));
    assert_eq!(minted.code, 0, "{}", minted.stderr);
    let token = minted.stdout[0].trim().to_string();
    let mut holder = ws(&url);
    send(
        &mut holder,
        serde_json::json!({"type": "join", "room": "vault", "role": "answer", "token": token}),
    );
    let joined = read(&mut holder);
    assert_eq!(joined["type"], "joined", "{joined}");
    let credential = joined["iceServers"][0]["credential"]
        .as_str()
        .unwrap_or_else(|| panic!("{joined}"))
        .to_string();
    let resume = joined["resume"].as_str().unwrap().to_string();
    // A squatter without a token cannot take the second seat next to it.
    let mut squatter = ws(&url);
    send(
        &mut squatter,
        serde_json::json!({"type": "join", "room": "vault", "role": "dial"}),
    );
    assert_eq!(read(&mut squatter)["code"], "unauthorized");
    drop(holder);

    // A call with tokens connects; without one, the client exits 3 saying why.
    let call_token = mint("with-token", Duration::from_secs(600), now);
    let extra = ["--token", call_token.as_str(), "--duration", "1", "-vvv"];
    let trace = [("RUST_LOG", "trace")];
    let answer = Proc::spawn_env(&call_args("answer", "with-token", &url, &extra), &trace);
    let dial = Proc::spawn_env(&call_args("dial", "with-token", &url, &extra), &trace);
    let d = dial.finish(Duration::from_secs(30));
    let a = answer.finish(Duration::from_secs(30));
    assert_eq!((d.code, a.code), (0, 0), "{}\n{}", d.stderr, a.stderr);
    for (who, log) in [("dialer", &d.stderr), ("answerer", &a.stderr)] {
        assert!(log.lines().count() > 100, "{who}: not a trace log");
        assert_secret_free(who, log, &[&call_token]);
    }
    let f =
        Proc::spawn(&call_args("dial", "with-token", &url, &[])).finish(Duration::from_secs(20));
    let out = f.stdout.join("\n");
    assert_eq!(f.code, 3, "{out}");
    assert!(out.contains("unauthorized"), "{out}");
    assert!(!out.contains(&call_token) && !f.stderr.contains(&call_token));

    // Monitoring counts only with the secret as a bearer token.
    let (code, body) = http(&url, "/healthz", &[]);
    assert_eq!(code, 200);
    assert!(!body.contains("connections"), "{body}");
    let bearer = format!("Bearer {SECRET}");
    let (code, body) = http(&url, "/healthz", &[("Authorization", &bearer)]);
    assert_eq!(code, 200);
    assert!(body.contains("\"connections\""), "{body}");
    assert_eq!(http(&url, "/metrics", &[]).0, 401);
    let (code, metrics) = http(&url, "/metrics", &[("Authorization", &bearer)]);
    assert_eq!(code, 200);
    assert!(
        metrics.contains("rtccall_errors_total{code=\"unauthorized\"}"),
        "{metrics}"
    );
    assert!(metrics.contains("rtccall_joins_total"), "{metrics}");
    server.signal("-TERM");
    let s = server.finish(Duration::from_secs(10));
    assert_secret_free(
        "serve",
        &s.stderr,
        &[&token, &call_token, &credential, &resume, SECRET],
    );
}

/// No access token, resume token or TURN credential in a log: neither the given ones nor any
/// `resume`/`credential` field with a value.
#[track_caller]
fn assert_secret_free(who: &str, log: &str, secrets: &[&str]) {
    for s in secrets {
        let at = log.find(s);
        assert!(
            at.is_none(),
            "{who} logged a secret: …{}…",
            &log[at.unwrap().saturating_sub(200)..at.unwrap()]
        );
    }
    for field in ["\"resume\":\"", "\"credential\":\"", "resume: Some(\""] {
        assert!(!log.contains(field), "{who} logged {field}");
    }
}

// ------------------------------------------------------------------------------------------
// Origin, limits, close codes

fn upgrade_with_origin(url: &str, origin: &str) -> u16 {
    http(
        url,
        "/",
        &[
            ("Connection", "Upgrade"),
            ("Upgrade", "websocket"),
            ("Sec-WebSocket-Version", "13"),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
            ("Origin", origin),
        ],
    )
    .0
}

#[test]
fn browser_handshakes_from_other_origins_are_refused() {
    let _suite = shared();
    let (_server, url) = serve_with(&["--allow-origin", "https://app.example.com"]);
    let own = format!("http://{}", addr_of(&url));
    assert_eq!(upgrade_with_origin(&url, &own), 101);
    assert_eq!(upgrade_with_origin(&url, "https://app.example.com"), 101);
    assert_eq!(upgrade_with_origin(&url, "https://evil.example"), 403);
    assert_eq!(upgrade_with_origin(&url, "null"), 403);
    let upgrade = [
        ("Connection", "Upgrade"),
        ("Upgrade", "websocket"),
        ("Sec-WebSocket-Version", "13"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];
    // Clients without Origin are not browsers (rtccall, scripts): admitted.
    assert_eq!(http(&url, "/", &upgrade).0, 101);
    // A DNS-rebinding page (evil.example resolving to 127.0.0.1) is "same origin" with the
    // Host it sends, but a loopback server only owns loopback names: refused.
    let port = addr_of(&url).rsplit_once(':').unwrap().1.to_string();
    let host = format!("evil.example:{port}");
    let origin = format!("http://{host}");
    let mut h = upgrade.to_vec();
    h.push(("Host", &host));
    h.push(("Origin", &origin));
    assert_eq!(http(&url, "/", &h).0, 403);
}

/// `serve --listen 0.0.0.0:0` (the README's LAN example) in a namespace of the test's own, reached
/// over a veth pair at 10.205.7.2: a DNS-rebinding page (Host and Origin `evil.example`) is
/// refused, while pages that name the server by an address, `localhost` or a name given with
/// `--allow-host` are its own.
#[test]
fn a_lan_server_refuses_dns_rebinding_pages() {
    let _suite = shared();
    let mut ns = Netns::new("lan");
    ns.veth_to_root("10.205.7.1/30", "10.205.7.2/30");
    let mut server = Proc::spawn_wrapped(
        &ns.wrapper(),
        &[
            "serve",
            "--listen",
            "0.0.0.0:0",
            "--json",
            "--allow-host",
            "Calls.Example",
        ],
        &[],
    );
    let line = server.wait_line(Duration::from_secs(10), |_| true);
    let port = line
        .rsplit(':')
        .next()
        .unwrap()
        .trim_end_matches(|c: char| !c.is_ascii_digit())
        .to_string();
    let url = format!("ws://10.205.7.2:{port}/");
    let upgrade = [
        ("Connection", "Upgrade"),
        ("Upgrade", "websocket"),
        ("Sec-WebSocket-Version", "13"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];
    let try_host = |host: &str| {
        let host = format!("{host}:{port}");
        let origin = format!("http://{host}");
        let mut h = upgrade.to_vec();
        h.push(("Host", &host));
        h.push(("Origin", &origin));
        http(&url, "/", &h).0
    };
    assert_eq!(try_host("evil.example"), 403, "a rebinding page");
    assert_eq!(try_host("10.205.7.2"), 101, "the server's address");
    assert_eq!(try_host("localhost"), 101);
    assert_eq!(try_host("calls.example"), 101, "--allow-host");
    // Clients without Origin are not browsers: any Host.
    let mut h = upgrade.to_vec();
    let host = format!("evil.example:{port}");
    h.push(("Host", &host));
    assert_eq!(http(&url, "/", &h).0, 101);
}

/// CPU time (user + system) of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

#[test]
fn half_sent_heads_cost_nothing_and_are_closed_by_the_head_timeout() {
    let _suite = shared();
    let (server, url) = serve_with(&["--head-timeout", "2", "--max-per-ip", "0"]);
    let addr = addr_of(&url);
    let mut socks: Vec<TcpStream> = (0..500)
        .map(|_| {
            let mut s = TcpStream::connect(&addr).unwrap();
            s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                .unwrap();
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let pid = server.child.id();
    let t0 = cpu_ticks(pid);
    std::thread::sleep(Duration::from_millis(1500));
    let used = (cpu_ticks(pid) - t0) as f64 / 100.0 / 1.5;
    assert!(
        used < 0.02,
        "500 partial heads cost {:.1} % of a core",
        used * 100.0
    );
    // The head timeout closes every one of them.
    let deadline = Instant::now() + Duration::from_secs(6);
    for s in socks.iter_mut() {
        s.set_read_timeout(Some(
            deadline
                .saturating_duration_since(Instant::now())
                .max(Duration::from_millis(10)),
        ))
        .unwrap();
        let mut buf = [0u8; 512];
        loop {
            match s.read(&mut buf) {
                Ok(0) => break,
                Ok(_) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
                Err(e) => panic!("a partial head was not closed by the head timeout: {e}"),
            }
        }
    }
    // The server still serves.
    assert_eq!(http(&url, "/healthz", &[]).0, 200);
}

#[test]
fn limits_close_idle_sockets_refuse_extra_connections_and_answer_health() {
    let _suite = shared();
    let (_server, url) = serve_with(&["--join-timeout", "1", "--max-connections", "3"]);
    // An upgraded socket that never joins is closed with 1008.
    let mut idle = ws(&url);
    let t = Instant::now();
    assert_eq!(close_code(&mut idle), Some(1008));
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());

    // At --max-connections the next client gets 503 and /healthz still answers.
    let mut held: Vec<Ws> = (0..3).map(|_| ws(&url)).collect();
    for (i, c) in held.iter_mut().enumerate() {
        send(
            c,
            serde_json::json!({"type": "join", "room": format!("cap{i}")}),
        );
        assert_eq!(read(c)["type"], "joined");
    }
    let (code, body) = http(&url, "/", &[]);
    assert_eq!(code, 503, "{body}");
    assert!(body.contains("--max-connections"), "{body}");
    let (code, body) = http(&url, "/healthz", &[]);
    assert_eq!(code, 200);
    let health: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(health["rooms"], 3, "{health}");
    drop(held);
}

#[test]
fn per_address_caps_and_join_rates_hold() {
    let _suite = shared();
    let (_server, url) = serve_with(&["--max-per-ip", "2", "--join-rate", "1"]);
    let mut a = ws(&url);
    let mut b = ws(&url);
    // A third connection from the same address: 429, and the server still answers health.
    assert_eq!(http(&url, "/", &[]).0, 429);
    // Joins: a burst of two, then rate-limited.
    send(
        &mut a,
        serde_json::json!({"type": "join", "room": "bad room"}),
    );
    assert_eq!(read(&mut a)["code"], "bad-room");
    send(&mut a, serde_json::json!({"type": "join", "room": "r1"}));
    assert_eq!(read(&mut a)["type"], "joined");
    send(&mut b, serde_json::json!({"type": "join", "room": "r2"}));
    assert_eq!(read(&mut b)["type"], "joined");
    // The burst is spent: a new connection's join within the second is refused.
    drop(a);
    // Connect again once the server has counted `a` gone (until then: 429).
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut c = loop {
        match tungstenite::connect(url.as_str()) {
            Ok((c, _)) => break c,
            Err(e) => assert!(
                Instant::now() < deadline,
                "no connection after one closed: {e}"
            ),
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    send(&mut c, serde_json::json!({"type": "join", "room": "r3"}));
    assert_eq!(read(&mut c)["code"], "rate-limited");
    drop(b);
}

#[test]
fn bad_serve_options_exit_2_and_an_unreachable_redis_exits_3_in_one_line() {
    let _suite = shared();
    let cases: [&[&str]; 6] = [
        &["--secret", "short"],
        &[
            "--tls-cert",
            "/nonexistent.pem",
            "--tls-key",
            "/nonexistent.key",
        ],
        &["--allow-origin", "example.com"],
        &["--max-connections", "0"],
        &["--redis", "http://127.0.0.1:1"],
        &["--join-timeout", "0"],
    ];
    for extra in cases {
        let mut args = vec!["serve", "--listen", "127.0.0.1:0"];
        args.extend_from_slice(extra);
        let f = Proc::spawn(&args).finish(Duration::from_secs(10));
        assert_eq!(f.code, 2, "{extra:?}: {}", f.stderr);
        assert_eq!(
            f.stderr.trim().lines().count(),
            1,
            "{extra:?}: {}",
            f.stderr
        );
        assert!(f.stderr.starts_with("rtccall: error: "), "{}", f.stderr);
    }
    let port = free_port().to_string();
    let url = format!("redis://:hunter2@127.0.0.1:{port}");
    let f = Proc::spawn(&["serve", "--listen", "127.0.0.1:0", "--redis", &url])
        .finish(Duration::from_secs(15));
    assert_eq!(f.code, 3, "{}", f.stderr);
    assert_eq!(f.stderr.trim().lines().count(), 1, "{}", f.stderr);
    assert!(f.stderr.contains("cannot reach Redis"), "{}", f.stderr);
    assert!(!f.stderr.contains("hunter2"), "{}", f.stderr);
}

/// A WebSocket handshake by hand, so that frames no library would send can be written.
fn raw_ws(url: &str) -> TcpStream {
    let addr = addr_of(url);
    let mut s = TcpStream::connect(&addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        s,
        "GET / HTTP/1.1\r\nHost: {addr}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    )
    .unwrap();
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut b).unwrap();
        head.push(b[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    s
}

/// A masked client frame.
fn frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0x80 | opcode];
    let n = payload.len();
    if n < 126 {
        f.push(0x80 | n as u8);
    } else if n < 65536 {
        f.push(0x80 | 126);
        f.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        f.push(0x80 | 127);
        f.extend_from_slice(&(n as u64).to_be_bytes());
    }
    let mask = [1u8, 2, 3, 4];
    f.extend_from_slice(&mask);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    f
}

/// The close code of the server's close frame.
fn server_close(s: &mut TcpStream) -> u16 {
    let mut h = [0u8; 2];
    s.read_exact(&mut h).unwrap();
    assert_eq!(h[0], 0x88, "not a close frame: {h:?}");
    let mut code = [0u8; 2];
    s.read_exact(&mut code).unwrap();
    u16::from_be_bytes(code)
}

#[test]
fn oversized_frames_and_bad_utf8_get_their_close_codes() {
    let _suite = shared();
    let (_server, url) = serve();
    let mut s = raw_ws(&url);
    s.write_all(&frame(0x1, &[b'"', 0xff, 0xfe, b'"'])).unwrap();
    assert_eq!(server_close(&mut s), 1007);

    let mut s = raw_ws(&url);
    let big = vec![b'a'; 2 * 1024 * 1024];
    let _ = s.write_all(&frame(0x1, &big));
    assert_eq!(server_close(&mut s), 1009);

    // Between the protocol limit and the frame limit, from a joined peer: a reply, and the
    // connection stays.
    let mut c = ws(&url);
    send(&mut c, serde_json::json!({"type": "join", "room": "after"}));
    assert_eq!(read(&mut c)["type"], "joined");
    let offer = format!(r#"{{"type":"offer","sdp":"{}"}}"#, "a".repeat(100_000));
    c.send(Frame::text(offer)).unwrap();
    assert_eq!(read(&mut c)["code"], "too-large");
    // The connection is still up and answers (nobody else is in the room).
    send(&mut c, serde_json::json!({"type": "offer", "sdp": "v=0"}));
    assert_eq!(read(&mut c)["code"], "no-peer");
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Strangers that never join may not make the server buffer their unfinished frames: 100
/// connections each sending most of a 1 MiB frame cost the server little, each is closed
/// with 1009 once it has sent 16 KiB without joining, and `/metrics` counts them.
#[test]
fn unfinished_frames_before_a_join_are_bounded() {
    let _suite = shared();
    let (server, url) = serve_with(&["--max-per-ip", "0", "--max-connections", "1000"]);
    let pid = server.child.id();
    let before = rss_kib(pid);
    let mut header = vec![0x81u8, 0x80 | 127];
    header.extend_from_slice(&(1u64 << 20).to_be_bytes());
    header.extend_from_slice(&[1, 2, 3, 4]);
    let body = vec![b'x'; 900 * 1024];
    let mut socks = Vec::new();
    for _ in 0..100 {
        let mut s = raw_ws(&url);
        s.write_all(&header).unwrap();
        // The server may close it part way: that is the point.
        let _ = s.write_all(&body);
        socks.push(s);
    }
    std::thread::sleep(Duration::from_millis(500));
    let grown_mib = rss_kib(pid).saturating_sub(before) / 1024;
    assert!(
        grown_mib < 30,
        "serve grew by {grown_mib} MiB holding 100 unfinished frames"
    );
    // Each was told why.
    for s in socks.iter_mut().take(3) {
        let mut all = Vec::new();
        let _ = s.read_to_end(&mut all);
        // Nothing else was sent to a stranger: the first frame is the close.
        assert!(all.len() >= 4 && all[0] == 0x88, "{all:?}");
        assert_eq!(u16::from_be_bytes([all[2], all[3]]), 1009);
    }
    let (_, metrics) = http(&url, "/metrics", &[]);
    let line = metrics
        .lines()
        .find(|l| l.starts_with("rtccall_refused_total{reason=\"unjoined-too-large\"}"))
        .unwrap_or_else(|| panic!("{metrics}"));
    let n: u64 = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(n >= 100, "{line}");
    assert!(metrics.contains("rtccall_unjoined_bytes "), "{metrics}");
    // A joined peer still sends big frames (an SDP): that is bounded by the 1 MiB limit only.
    let mut c = ws(&url);
    send(
        &mut c,
        serde_json::json!({"type": "join", "room": "big-after-join"}),
    );
    assert_eq!(read(&mut c)["type"], "joined");
    let offer = format!(r#"{{"type":"offer","sdp":"{}"}}"#, "a".repeat(50_000));
    c.send(Frame::text(offer)).unwrap();
    assert_eq!(read(&mut c)["code"], "no-peer");
}

#[test]
fn a_client_close_gets_the_close_handshake_and_bad_codes_get_1002() {
    let _suite = shared();
    let (_server, url) = serve();
    // RFC 6455 §5.5.1: the endpoint answers a close with a close (echoing the code); §7.4: a
    // code outside the allowed ranges is a protocol error (1002).
    for (sent, expected) in [
        (1000u16, 1000u16),
        (3000, 3000),
        (4321, 4321),
        (999, 1002),
        (5000, 1002),
    ] {
        let mut s = raw_ws(&url);
        s.write_all(&frame(0x1, br#"{"type":"join","room":"closing"}"#))
            .unwrap();
        let mut payload = sent.to_be_bytes().to_vec();
        payload.extend_from_slice(b"bye");
        s.write_all(&frame(0x8, &payload)).unwrap();
        // Skip the `joined` text frame (if it came first), then the close frame.
        let code = loop {
            let mut h = [0u8; 2];
            s.read_exact(&mut h)
                .unwrap_or_else(|e| panic!("close {sent}: no close frame back ({e})"));
            let len = match h[1] & 0x7f {
                126 => {
                    let mut l = [0u8; 2];
                    s.read_exact(&mut l).unwrap();
                    u16::from_be_bytes(l) as usize
                }
                n => n as usize,
            };
            let mut body = vec![0u8; len];
            s.read_exact(&mut body).unwrap();
            if h[0] == 0x88 {
                break u16::from_be_bytes([body[0], body[1]]);
            }
        };
        assert_eq!(code, expected, "close {sent}");
    }
}

#[test]
fn a_peer_that_does_not_read_is_disconnected_and_its_sender_told() {
    let _suite = shared();
    let (server, url) = serve_with(&["--stall-timeout", "2"]);
    let mut reader_that_stops = ws(&url);
    send(
        &mut reader_that_stops,
        serde_json::json!({"type": "join", "room": "stall"}),
    );
    assert_eq!(read(&mut reader_that_stops)["type"], "joined");
    let mut sender = ws(&url);
    send(
        &mut sender,
        serde_json::json!({"type": "join", "room": "stall"}),
    );
    assert_eq!(read(&mut sender)["type"], "joined");
    // 60 KB offers until the server says the other side does not read (kernel buffers on
    // loopback hold a few MB first).
    let offer = format!(r#"{{"type":"offer","sdp":"{}"}}"#, "v".repeat(60_000));
    let mut told = false;
    if let MaybeTlsStream::Plain(s) = sender.get_ref() {
        s.set_nonblocking(false).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(1))).unwrap();
    }
    for _ in 0..2000 {
        sender.send(Frame::text(offer.clone())).unwrap();
        if let Ok(Frame::Text(t)) = sender.read() {
            let m: serde_json::Value = serde_json::from_str(t.as_str()).unwrap();
            if m["code"] == "peer-stalled" {
                told = true;
                break;
            }
        }
    }
    assert!(
        told,
        "the sender was never told that its peer does not read"
    );
    // Then the stalled peer is disconnected (after --stall-timeout) and the sender told.
    if let MaybeTlsStream::Plain(s) = sender.get_ref() {
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    }
    let t = Instant::now();
    loop {
        let m = read(&mut sender);
        if m["type"] == "peer-left" {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(10), "no peer-left: {m}");
    }
    drop(reader_that_stops);
    drop(sender);
    // The server said so once for the stalled client, with the count when it went, not once
    // per refused message.
    server.signal("-TERM");
    let f = server.finish(Duration::from_secs(10));
    let lines = f
        .stderr
        .lines()
        .filter(|l| l.contains("not reading") || l.contains("not delivered"))
        .count();
    assert!(
        (1..=2).contains(&lines),
        "{lines} log lines about the stalled client:\n{}",
        f.stderr
    );
}

// ------------------------------------------------------------------------------------------
// Scale-out through Redis

/// Whether a message from a peer on `a` reaches a peer on `b` (same room) before `within`;
/// retried with fresh rooms until then.
fn relays_between(a: &str, b: &str, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    let mut n = 0;
    while Instant::now() < deadline {
        n += 1;
        let room = format!("relay-check-{n}");
        let attempt = || -> Option<()> {
            let (mut x, _) = tungstenite::connect(a).ok()?;
            let (mut y, _) = tungstenite::connect(b).ok()?;
            for ws in [&mut x, &mut y] {
                if let MaybeTlsStream::Plain(s) = ws.get_ref() {
                    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
                }
            }
            x.send(Frame::text(format!(r#"{{"type":"join","room":"{room}"}}"#)))
                .ok()?;
            (read_opt(&mut x)?["type"] == "joined").then_some(())?;
            y.send(Frame::text(format!(r#"{{"type":"join","room":"{room}"}}"#)))
                .ok()?;
            (read_opt(&mut y)?["type"] == "joined").then_some(())?;
            x.send(Frame::text(r#"{"type":"offer","sdp":"v=0"}"#))
                .ok()?;
            loop {
                let m = read_opt(&mut y)?;
                if m["type"] == "offer" {
                    return Some(());
                }
            }
        };
        if attempt().is_some() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// The next protocol message, or None when none comes (error or timeout).
fn read_opt(ws: &mut Ws) -> Option<serde_json::Value> {
    loop {
        match ws.read().ok()? {
            Frame::Text(t) => return serde_json::from_str(t.as_str()).ok(),
            _ => continue,
        }
    }
}

/// `redis-server` on a free loopback port, without persistence, stopped by its PID.
pub(crate) struct Redis {
    port: u16,
    child: Child,
}

impl Redis {
    pub(crate) fn start_on(port: u16) -> Redis {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server (Debian package redis-server) must be installed");
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Redis { port, child }
    }

    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn rooms_are_shared_by_instances_on_one_redis() {
    let _suite = shared();
    let mut redis = Redis::start_on(free_port());
    let r = redis.url();
    let prefix = format!("test{}", std::process::id());
    let instance = || serve_with(&["--redis", &r, "--redis-prefix", &prefix]);
    let (one, url1) = instance();
    let (_two, url2) = instance();
    let (_three, url3) = instance();

    // A on instance 1 and B on instance 2 hold a call; a third peer on instance 3 is refused.
    let extra = ["--duration", "3"];
    let mut answer = Proc::spawn(&call_args("answer", "shared", &url1, &extra));
    answer.wait_line(Duration::from_secs(15), |l| l.contains("\"joined\""));
    let mut dial = Proc::spawn(&call_args("dial", "shared", &url2, &extra));
    // Both are in the room once the dialer is told its peer is there.
    dial.wait_line(Duration::from_secs(15), |l| l.contains("\"joined\""));
    let mut third = ws(&url3);
    send(
        &mut third,
        serde_json::json!({"type": "join", "room": "shared"}),
    );
    assert_eq!(read(&mut third)["code"], "room-full");
    let d = dial.finish(Duration::from_secs(30));
    let a = answer.finish(Duration::from_secs(30));
    assert_eq!((d.code, a.code), (0, 0), "{}\n{}", d.stderr, a.stderr);
    assert_media_flowed(&d.summary(), &a.summary());

    // Instance 1 dies: the peer on instance 2 is told within 5 s.
    let mut on_one = ws(&url1);
    send(
        &mut on_one,
        serde_json::json!({"type": "join", "room": "orphan"}),
    );
    assert_eq!(read(&mut on_one)["type"], "joined");
    let mut on_two = ws(&url2);
    send(
        &mut on_two,
        serde_json::json!({"type": "join", "room": "orphan"}),
    );
    assert_eq!(read(&mut on_two)["type"], "joined");
    assert_eq!(read(&mut on_one)["type"], "peer-joined");
    one.signal("-KILL");
    let t = Instant::now();
    assert_eq!(read(&mut on_two)["type"], "peer-left");
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    drop((one, on_one, on_two));

    // Redis restarts (empty): a call between two instances works again.
    let port = redis.port;
    let _ = redis.child.kill();
    let _ = redis.child.wait();
    redis = Redis::start_on(port);
    // Wait until the instances are back: a message relayed from instance 2 to instance 3.
    assert!(
        relays_between(&url2, &url3, Duration::from_secs(15)),
        "instances 2 and 3 never relayed again after Redis restarted"
    );
    let extra = ["--duration", "1"];
    let answer = Proc::spawn(&call_args("answer", "after-restart", &url2, &extra));
    let dial = Proc::spawn(&call_args("dial", "after-restart", &url3, &extra));
    let d = dial.finish(Duration::from_secs(30));
    let a = answer.finish(Duration::from_secs(30));
    assert_eq!((d.code, a.code), (0, 0), "{}\n{}", d.stderr, a.stderr);
    drop(redis);
}

/// Two instances on one Redis; a member joined through instance 1, then instance 1 is killed
/// (and its client with it). A newcomer through instance 2 is not told that the dead member is
/// there: it is alone (`peer: null`, no `peer-left` after), the dead member's seat is held as
/// on one instance (a stranger gets `room-full`), and the hold ends on its own after the 30 s
/// grace, so a new peer then joins.
#[test]
fn a_dead_instances_members_are_released_not_shown_to_newcomers() {
    let _suite = shared();
    let redis = Redis::start_on(free_port());
    let r = redis.url();
    let prefix = format!("phantom{}", std::process::id());
    let instance = || serve_with(&["--redis", &r, "--redis-prefix", &prefix]);
    let (one, url1) = instance();
    let (_two, url2) = instance();
    let mut answerer = ws(&url1);
    send(
        &mut answerer,
        serde_json::json!({"type": "join", "room": "phantom", "role": "answer"}),
    );
    assert_eq!(read(&mut answerer)["type"], "joined");
    one.signal("-KILL");
    drop((one, answerer));
    // Past the instance's heartbeat (3 s): it is dead to the others.
    std::thread::sleep(Duration::from_secs(5));
    let mut dialer = ws(&url2);
    send(
        &mut dialer,
        serde_json::json!({"type": "join", "room": "phantom", "role": "dial"}),
    );
    let joined = read(&mut dialer);
    assert_eq!(joined["type"], "joined", "{joined}");
    assert!(joined["peer"].is_null(), "a dead member shown: {joined}");
    if let MaybeTlsStream::Plain(s) = dialer.get_ref() {
        s.set_read_timeout(Some(Duration::from_millis(1500)))
            .unwrap();
    }
    assert!(
        read_opt(&mut dialer).is_none(),
        "nothing should follow the join"
    );
    let mut stranger = ws(&url2);
    send(
        &mut stranger,
        serde_json::json!({"type": "join", "room": "phantom", "role": "answer"}),
    );
    assert_eq!(read(&mut stranger)["code"], "room-full", "the seat is held");
    // The hold ends on its own (30 s after it began): a new answerer gets in. Meanwhile the
    // dialer reads (so it answers the server's pings) and hears nothing.
    let held = Instant::now();
    while held.elapsed() < Duration::from_secs(30) {
        if let Some(m) = read_opt(&mut dialer) {
            panic!("the dialer was told {m}");
        }
    }
    let mut later = ws(&url2);
    send(
        &mut later,
        serde_json::json!({"type": "join", "room": "phantom", "role": "answer"}),
    );
    let m = read(&mut later);
    assert_eq!(m["type"], "joined", "{m}");
    assert_eq!(m["peer"], "dial", "{m}");
    if let MaybeTlsStream::Plain(s) = dialer.get_ref() {
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    }
    // The dialer (which kept reading: it answers the server's pings) is told.
    loop {
        let m = read(&mut dialer);
        if m["type"] == "peer-joined" {
            break;
        }
    }
}

/// A WHIP client that goes away while `serve` waits for the terminal's answer does not keep the
/// seat it took: the terminal hears `peer-left`, and a dialer gets into the room after it.
#[test]
fn a_whip_client_gone_before_the_answer_gives_its_seat_back() {
    let _suite = shared();
    let (_server, url) = serve();
    let mut terminal = ws(&url);
    send(
        &mut terminal,
        serde_json::json!({"type": "join", "room": "seat", "role": "answer"}),
    );
    assert_eq!(read(&mut terminal)["type"], "joined");
    let offer = crate::whip::STATIC_OFFER;
    let mut post = TcpStream::connect(addr_of(&url)).unwrap();
    write!(
        post,
        "POST /whip/seat HTTP/1.1\r\nHost: {}\r\nContent-Type: application/sdp\r\n\
         Content-Length: {}\r\n\r\n{offer}",
        addr_of(&url),
        offer.len()
    )
    .unwrap();
    // The offer reaches the terminal, which never answers; the client goes.
    let mut seen = Vec::new();
    while !seen.iter().any(|t| t == "offer") {
        seen.push(
            read(&mut terminal)["type"]
                .as_str()
                .unwrap_or("")
                .to_string(),
        );
    }
    drop(post);
    let left = read(&mut terminal);
    assert_eq!(left["type"], "peer-left", "{seen:?} then {left}");
    let mut dialer = ws(&url);
    send(
        &mut dialer,
        serde_json::json!({"type": "join", "room": "seat", "role": "dial"}),
    );
    let joined = read(&mut dialer);
    assert_eq!(joined["type"], "joined", "{joined}");
    assert_eq!(joined["peer"], "answer", "{joined}");
}

/// After `bye`, both seats go with their connections: the peer that heard the `bye` and then
/// disconnected is not held for a resumption, so the next pair gets the room at once (on one
/// instance, and across two instances on one Redis).
#[test]
fn a_room_takes_the_next_call_as_soon_as_bye_ended_the_last() {
    let _suite = shared();
    let redis = Redis::start_on(free_port());
    let r = redis.url();
    let prefix = format!("bye{}", std::process::id());
    let (_local, local) = serve();
    let (_one, url1) = serve_with(&["--redis", &r, "--redis-prefix", &prefix]);
    let (_two, url2) = serve_with(&["--redis", &r, "--redis-prefix", &prefix]);
    let join = |url: &str, room: &str| {
        let mut w = ws(url);
        send(&mut w, serde_json::json!({"type": "join", "room": room}));
        let reply = read(&mut w);
        (w, reply)
    };
    for (a_url, b_url, what) in [
        (&local, &local, "one instance"),
        (&url1, &url2, "two instances on Redis"),
    ] {
        for round in 0..3 {
            let (mut a, ra) = join(a_url, "again");
            assert_eq!(ra["type"], "joined", "{what}, round {round}: {ra}");
            let (mut b, rb) = join(b_url, "again");
            assert_eq!(rb["type"], "joined", "{what}, round {round}: {rb}");
            assert_eq!(read(&mut a)["type"], "peer-joined", "{what}");
            send(&mut b, serde_json::json!({"type": "bye", "reason": "done"}));
            assert_eq!(read(&mut a)["type"], "bye", "{what}");
            // Both go, the one that heard the bye first.
            drop(a);
            drop(b);
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    drop(redis);
}
