//! Integration tests of `rtccall probe` against a real coturn (`turnserver`) on 127.0.0.1: each
//! test starts its own servers on free ports and stops them on drop. Every `--json` line is
//! parsed into the library's probe records, whose structs deny unknown fields, so schema drift
//! fails here.

use std::fmt;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant, SystemTime};

use crate::common::*;
use rtccall::report::probe_schema::{ProbeRecord, ProbeSummary, ServerVerdict, Status, Step};

/// Variables that would change what the probe does behind a test's back (credentials taken
/// from the environment, a log filter overriding `-v`).
const ENV_REMOVED: [&str; 4] = [
    "RTCCALL_ICE_USERNAME",
    "RTCCALL_ICE_CREDENTIAL",
    "RTCCALL_TURN_SECRET",
    "RUST_LOG",
];

/// The steps of one TURN server, in order.
const TURN_STEPS: [&str; 5] = [
    "dns",
    "stun-binding",
    "turn-allocate",
    "relay-echo",
    "turn-security",
];

/// The steps only a TURN server has.
const TURN_ONLY_STEPS: [&str; 3] = ["turn-allocate", "relay-echo", "turn-security"];

/// Kills a probe that takes longer than this (the probe's own default bound is 20 s).
const DEADLINE: Duration = Duration::from_secs(40);

/// A finished `rtccall probe`.
struct Probe {
    args: Vec<String>,
    code: i32,
    stdout: Vec<String>,
    stderr: String,
    took: Duration,
}

impl fmt::Display for Probe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "rtccall {}", self.args.join(" "))?;
        writeln!(f, "exit {} after {:?}; stdout:", self.code, self.took)?;
        for l in &self.stdout {
            writeln!(f, "  {l}")?;
        }
        write!(f, "stderr:\n{}", self.stderr)
    }
}

impl Probe {
    /// Every stdout line as a probe record (strict: unknown fields fail).
    fn records(&self) -> Vec<ProbeRecord> {
        self.stdout
            .iter()
            .map(|l| {
                serde_json::from_str(l)
                    .unwrap_or_else(|e| panic!("bad NDJSON line {l}: {e}\n{self}"))
            })
            .collect()
    }

    fn steps(&self) -> Vec<Step> {
        let records = self.records();
        let (last, steps) = records
            .split_last()
            .unwrap_or_else(|| panic!("no output\n{self}"));
        assert!(
            matches!(last, ProbeRecord::Summary(_)),
            "the last record is not the summary\n{self}"
        );
        steps
            .iter()
            .map(|r| match r {
                ProbeRecord::Step(s) => (**s).clone(),
                ProbeRecord::Summary(_) => panic!("a summary before the last line\n{self}"),
            })
            .collect()
    }

    /// Steps of one server (by its label).
    fn steps_of(&self, server: &str) -> Vec<Step> {
        self.steps()
            .into_iter()
            .filter(|s| s.server == server)
            .collect()
    }

    /// The one step `name` of `server`.
    #[track_caller]
    fn step(&self, server: &str, name: &str) -> Step {
        let found: Vec<Step> = self
            .steps_of(server)
            .into_iter()
            .filter(|s| s.step == name)
            .collect();
        assert_eq!(
            found.len(),
            1,
            "expected one {name} step for {server}\n{self}"
        );
        found.into_iter().next().unwrap()
    }

    #[track_caller]
    fn summary(&self) -> ProbeSummary {
        match self.records().pop() {
            Some(ProbeRecord::Summary(s)) => s,
            _ => panic!("the last record is not the summary\n{self}"),
        }
    }

    /// The summary's verdicts of the servers given (not those of the `*` steps over all).
    #[track_caller]
    fn server_verdicts(&self) -> Vec<ServerVerdict> {
        self.summary()
            .servers
            .into_iter()
            .filter(|v| v.server != "*")
            .collect()
    }

    /// The expectation `name` of the summary.
    #[track_caller]
    fn expectation(&self, name: &str) -> rtccall::report::probe_schema::Expectation {
        self.summary()
            .expectations
            .into_iter()
            .find(|e| e.expect == name)
            .unwrap_or_else(|| panic!("no {name} expectation\n{self}"))
    }

    fn all_output(&self) -> String {
        format!("{}\n{}", self.stdout.join("\n"), self.stderr)
    }
}

/// A probe started, not yet finished (to run several at once).
struct Running {
    args: Vec<String>,
    proc: Proc,
    started: Instant,
}

impl Running {
    fn finish(self) -> Probe {
        let f = self.proc.finish(DEADLINE);
        Probe {
            args: self.args,
            code: f.code,
            stdout: f.stdout,
            stderr: f.stderr,
            took: self.started.elapsed(),
        }
    }
}

/// Start `rtccall [global...] probe ARGS` without the in-process calls.
fn start(global: &[&str], args: &[&str], env: &[(&str, &str)]) -> Running {
    let mut all: Vec<&str> = global.to_vec();
    all.push("probe");
    all.extend_from_slice(args);
    all.push("--no-call");
    start_raw(&all, env)
}

fn start_raw(all: &[&str], env: &[(&str, &str)]) -> Running {
    Running {
        args: all.iter().map(|s| s.to_string()).collect(),
        started: Instant::now(),
        proc: Proc::spawn_full(&[], all, env, &ENV_REMOVED),
    }
}

/// `rtccall probe ARGS` (without the in-process calls), to the end.
fn probe(args: &[&str]) -> Probe {
    start(&[], args, &[]).finish()
}

/// A self-signed certificate for localhost and 127.0.0.1: (certificate PEM, key PEM).
fn certificate() -> (String, String) {
    let c = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
        .expect("generate a certificate");
    (c.cert.pem(), c.signing_key.serialize_pem())
}

fn udp_label(port: u16) -> String {
    format!("turn:127.0.0.1:{port}?transport=udp")
}

fn tcp_label(port: u16) -> String {
    format!("turn:127.0.0.1:{port}?transport=tcp")
}

fn tls_label(port: u16) -> String {
    format!("turns:127.0.0.1:{port}?transport=tcp")
}

#[test]
fn long_term_credentials_relay_over_udp_tcp_and_tls() {
    let _suite = shared();
    let (cert, key) = certificate();
    let turn = Turn::start_tls(&TURN_TEST_USER, &cert, &key);
    let tls_port = turn.tls_port.unwrap();
    let dir = Scratch::new("ca");
    let ca = dir.write("ca.pem", &cert);
    let udp = format!("turn:test:secret@127.0.0.1:{}", turn.port);
    let tcp = format!("turn:test:secret@127.0.0.1:{}?transport=tcp", turn.port);
    let tls = format!("turns:test:secret@127.0.0.1:{tls_port}");
    let p = probe(&[
        "--ice-server",
        &udp,
        "--ice-server",
        &tcp,
        "--ice-server",
        &tls,
        "--ca",
        &ca,
        "--expect",
        "relay",
        "--expect",
        "tcp",
        "--expect",
        "tls",
        "--expect",
        "srflx",
        "--json",
    ]);
    assert_eq!(p.code, 0, "{p}");

    let servers = [
        (udp_label(turn.port), "udp"),
        (tcp_label(turn.port), "tcp"),
        (tls_label(tls_port), "tls"),
    ];
    for (label, transport) in &servers {
        let names: Vec<String> = p.steps_of(label).into_iter().map(|s| s.step).collect();
        assert_eq!(names.len(), TURN_STEPS.len(), "{label}: {names:?}\n{p}");
        for name in TURN_STEPS {
            let s = p.step(label, name);
            let want = (name != "dns").then_some(*transport);
            assert_eq!(s.transport.as_deref(), want, "{s:?}");
        }
        let binding = p.step(label, "stun-binding");
        assert_eq!(
            (binding.sent, binding.received),
            (Some(5), Some(5)),
            "{binding:?}"
        );
        let mapped: SocketAddr = binding.mapped_address.as_deref().unwrap().parse().unwrap();
        assert_eq!(mapped.ip().to_string(), "127.0.0.1", "{binding:?}");

        let alloc = p.step(label, "turn-allocate");
        let relayed: SocketAddr = alloc
            .relayed_address
            .as_deref()
            .unwrap_or_else(|| panic!("no relayed address: {alloc:?}"))
            .parse()
            .unwrap();
        assert_eq!(relayed.ip().to_string(), "127.0.0.1", "{alloc:?}");
        assert!(alloc.lifetime_s.unwrap_or(0) > 0, "{alloc:?}");

        let echo = p.step(label, "relay-echo");
        assert_eq!(echo.sent, Some(100), "{echo:?}");
        assert_eq!(echo.received, Some(100), "{echo:?}");
        assert_eq!(echo.loss_pct, Some(0.0), "{echo:?}");
        assert!(echo.rtt_ms.is_some(), "{echo:?}");
    }
    for s in p.steps().into_iter().filter(|s| s.server != "*") {
        let ok =
            s.status == Status::Pass || (s.step == "turn-security" && s.status == Status::Warn);
        assert!(
            ok,
            "{} {}: {:?}: {}\n{p}",
            s.server, s.step, s.status, s.message
        );
    }

    let sum = p.summary();
    assert_eq!(sum.verdict, Status::Pass, "{p}");
    assert_eq!(sum.exit_code, 0);
    let verdicts = p.server_verdicts();
    let verdict_servers: Vec<&str> = verdicts.iter().map(|v| v.server.as_str()).collect();
    assert_eq!(
        verdict_servers,
        servers.iter().map(|(l, _)| l.as_str()).collect::<Vec<_>>()
    );
    for v in &verdicts {
        assert!(v.failed.is_empty(), "{v:?}");
        assert_ne!(v.verdict, Status::Fail, "{v:?}");
    }
    let mut expected: Vec<&str> = sum.expectations.iter().map(|e| e.expect.as_str()).collect();
    expected.sort();
    assert_eq!(expected, ["relay", "srflx", "tcp", "tls"]);
    for e in &sum.expectations {
        assert!(e.met, "{e:?}");
    }
}

#[test]
fn wrong_password_fails_the_allocation_with_401_explained() {
    let _suite = shared();
    let turn = Turn::start(&TURN_TEST_USER);
    let udp = format!("turn:test:not-the-password-42@127.0.0.1:{}", turn.port);
    let tcp = format!("turn:127.0.0.1:{}?transport=tcp", turn.port);
    let args = [
        "--ice-server",
        udp.as_str(),
        "--ice-server",
        tcp.as_str(),
        "--username",
        "test",
        "--credential",
        "not-the-password-42",
    ];
    let json = start(&[], &[&args[..], &["--json"]].concat(), &[]);
    let human = start(&[], &args, &[]);
    let (json, human) = (json.finish(), human.finish());

    assert_eq!(json.code, 1, "{json}");
    assert!(json.took < Duration::from_secs(5), "{json}");
    let mut explanations = Vec::new();
    for label in [udp_label(turn.port), tcp_label(turn.port)] {
        assert_eq!(json.step(&label, "stun-binding").status, Status::Pass);
        let alloc = json.step(&label, "turn-allocate");
        assert_eq!(alloc.status, Status::Fail, "{alloc:?}");
        assert_eq!(alloc.error_code, Some(401), "{alloc:?}");
        assert!(alloc.message.contains("401"), "{alloc:?}");
        let explanation = alloc.explanation.clone().unwrap_or_default();
        assert!(explanation.contains("password is wrong"), "{explanation}");
        explanations.push(explanation);
        let v = json
            .summary()
            .servers
            .into_iter()
            .find(|v| v.server == label)
            .unwrap();
        assert_eq!(v.verdict, Status::Fail);
        assert!(v.failed.contains(&"turn-allocate".to_string()), "{v:?}");
    }
    assert_eq!(json.summary().verdict, Status::Fail);
    assert_eq!(json.summary().exit_code, 1);

    assert_eq!(human.code, 1, "{human}");
    assert!(human.took < Duration::from_secs(5), "{human}");
    let out = human.stdout.join("\n");
    assert!(out.contains("401"), "{human}");
    for e in &explanations {
        assert!(
            out.contains(e.as_str()),
            "explanation {e:?} not shown\n{human}"
        );
    }
    assert!(out.contains("FAIL"), "{human}");
}

#[test]
fn turn_rest_credentials_minted_from_the_shared_secret() {
    let _suite = shared();
    let turn = Turn::start(&[
        "--use-auth-secret",
        "--static-auth-secret=rest-secret-5d1c",
        "--realm=rtccall.test",
        "--allow-loopback-peers",
    ]);
    let url = format!("turn:127.0.0.1:{}", turn.port);
    let label = udp_label(turn.port);
    let good = start(
        &[],
        &[
            "--ice-server",
            &url,
            "--turn-secret",
            "rest-secret-5d1c",
            "--json",
        ],
        &[],
    );
    let named = start(
        &[],
        &[
            "--ice-server",
            &url,
            "--turn-secret",
            "rest-secret-5d1c",
            "--turn-user",
            "alice",
            "--ttl",
            "600",
            "--json",
        ],
        &[],
    );
    let wrong = start(
        &[],
        &[
            "--ice-server",
            &url,
            "--turn-secret",
            "not-the-secret-77",
            "--json",
        ],
        &[],
    );
    let (good, named, wrong) = (good.finish(), named.finish(), wrong.finish());

    for p in [&good, &named] {
        assert_eq!(p.code, 0, "{p}");
        assert_eq!(p.step(&label, "turn-allocate").status, Status::Pass, "{p}");
        assert_eq!(p.step(&label, "relay-echo").status, Status::Pass, "{p}");
        assert_eq!(p.summary().verdict, Status::Pass);
    }

    assert_eq!(wrong.code, 1, "{wrong}");
    let alloc = wrong.step(&label, "turn-allocate");
    assert_eq!(alloc.status, Status::Fail, "{alloc:?}");
    assert_eq!(alloc.error_code, Some(401), "{alloc:?}");
    let explanation = alloc.explanation.unwrap_or_default();
    assert!(explanation.contains("password is wrong"), "{explanation}");
    assert!(explanation.contains("shared secret"), "{explanation}");
}

#[test]
fn unreachable_servers_fail_the_binding_step() {
    let _suite = shared();
    // Nothing listens on `closed` (UDP or TCP); `silent` is a UDP socket that never answers.
    let closed = free_port();
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let stun_closed = format!("stun:127.0.0.1:{closed}");
    let tcp_closed = format!("turn:test:secret@127.0.0.1:{closed}?transport=tcp");
    let stun_silent = format!("stun:127.0.0.1:{silent_port}");
    let p = probe(&[
        "--ice-server",
        &stun_closed,
        "--ice-server",
        &tcp_closed,
        "--ice-server",
        &stun_silent,
        "--step-timeout",
        "1",
        "--json",
    ]);
    assert_eq!(p.code, 1, "{p}");
    assert!(p.took < Duration::from_secs(8), "{p}");

    // A closed UDP port on loopback answers with ICMP port unreachable: refused at once.
    let s = p.step(&stun_closed, "stun-binding");
    assert_eq!(s.status, Status::Fail, "{s:?}");
    assert_eq!(s.transport.as_deref(), Some("udp"));
    assert!(s.message.contains("refused"), "{s:?}");
    assert!(s.explanation.is_some(), "{s:?}");

    let label = tcp_label(closed);
    let s = p.step(&label, "stun-binding");
    assert_eq!(s.status, Status::Fail, "{s:?}");
    assert_eq!(s.transport.as_deref(), Some("tcp"));
    assert!(s.message.contains("refused"), "{s:?}");
    assert!(
        s.explanation
            .as_deref()
            .unwrap_or("")
            .contains("nothing listens"),
        "{s:?}"
    );
    for name in TURN_ONLY_STEPS {
        for s in p.steps_of(&label).iter().filter(|s| s.step == name) {
            assert_eq!(s.status, Status::Skip, "{s:?}");
        }
    }

    // Nothing listens on TCP there: STUN over TCP is a warning, not a second failure.
    assert_eq!(
        p.step(&stun_silent, "stun-binding-tcp").status,
        Status::Warn,
        "{p}"
    );
    let s = p.step(&stun_silent, "stun-binding");
    assert_eq!(s.status, Status::Fail, "{s:?}");
    assert!(s.message.contains("no response"), "{s:?}");
    assert!(
        s.explanation
            .as_deref()
            .unwrap_or("")
            .contains("nothing answered on UDP"),
        "{s:?}"
    );
    assert_eq!(s.received, Some(0), "{s:?}");

    let sum = p.summary();
    assert_eq!(sum.verdict, Status::Fail);
    assert!(
        p.server_verdicts()
            .iter()
            .all(|v| v.verdict == Status::Fail),
        "{sum:?}"
    );
    drop(silent);
}

#[test]
fn stun_only_server_passes_as_stun_and_fails_as_turn() {
    let _suite = shared();
    let turn = Turn::start(&["--stun-only"]);
    let stun = format!("stun:127.0.0.1:{}", turn.port);
    let as_turn = format!("turn:test:secret@127.0.0.1:{}", turn.port);
    let plain = start(&[], &["--ice-server", &stun, "--json"], &[]);
    let relay = start(
        &[],
        &["--ice-server", &stun, "--expect", "relay", "--json"],
        &[],
    );
    let turned = start(
        &[],
        &["--ice-server", &as_turn, "--step-timeout", "1", "--json"],
        &[],
    );
    let (plain, relay, turned) = (plain.finish(), relay.finish(), turned.finish());

    assert_eq!(plain.code, 0, "{plain}");
    let b = plain.step(&stun, "stun-binding");
    assert_eq!(b.status, Status::Pass, "{b:?}");
    assert_eq!(b.transport.as_deref(), Some("udp"));
    assert!(b.mapped_address.is_some(), "{b:?}");
    // A stun: server is also asked over TCP (coturn answers there too).
    let t = plain.step(&stun, "stun-binding-tcp");
    assert_eq!(t.status, Status::Pass, "{t:?}");
    assert_eq!(t.transport.as_deref(), Some("tcp"));
    assert_eq!(plain.summary().verdict, Status::Pass);
    for s in plain.steps_of(&stun) {
        if TURN_ONLY_STEPS.contains(&s.step.as_str()) {
            assert_eq!(s.status, Status::Skip, "{s:?}");
        } else {
            assert_eq!(s.status, Status::Pass, "{s:?}");
        }
    }

    assert_eq!(relay.code, 1, "{relay}");
    let e = relay.expectation("relay");
    assert!(!e.met, "{e:?}");
    assert_eq!(relay.summary().verdict, Status::Fail);
    assert_eq!(relay.step(&stun, "stun-binding").status, Status::Pass);

    assert_eq!(turned.code, 1, "{turned}");
    let label = udp_label(turn.port);
    assert_eq!(turned.step(&label, "stun-binding").status, Status::Pass);
    let alloc = turned.step(&label, "turn-allocate");
    assert_eq!(alloc.status, Status::Fail, "{alloc:?}");
    assert!(
        alloc
            .explanation
            .as_deref()
            .unwrap_or("")
            .contains("STUN-only"),
        "{alloc:?}"
    );

    // For a stun: URL the TURN allocation is reported as not applicable (and the steps after
    // it, when reported, too: checked above).
    let s = plain.step(&stun, "turn-allocate");
    assert_eq!(s.status, Status::Skip, "{s:?}");
    assert!(s.message.contains("not applicable"), "{s:?}");
}

#[test]
fn turn_security_flags_relays_to_internal_addresses() {
    let _suite = shared();
    let open = Turn::start(&TURN_TEST_USER);
    let closed = Turn::start(&[
        "--lt-cred-mech",
        "--user=test:secret",
        "--realm=rtccall.test",
        "--denied-peer-ip=10.0.0.0-10.255.255.255",
        "--denied-peer-ip=172.16.0.0-172.31.255.255",
        "--denied-peer-ip=192.168.0.0-192.168.255.255",
        "--denied-peer-ip=169.254.0.0-169.254.255.255",
    ]);
    let p = probe(&[
        "--ice-server",
        &format!("turn:test:secret@127.0.0.1:{}", open.port),
        "--ice-server",
        &format!("turn:test:secret@127.0.0.1:{}", closed.port),
        "--json",
    ]);

    let s = p.step(&udp_label(open.port), "turn-security");
    assert_eq!(s.status, Status::Warn, "{s:?}");
    let allowed = s.peers_allowed.clone().unwrap_or_default();
    assert!(allowed.contains(&"127.0.0.1".to_string()), "{s:?}");
    assert!(s.explanation.is_some(), "{s:?}");

    let s = p.step(&udp_label(closed.port), "turn-security");
    assert_eq!(s.status, Status::Pass, "{s:?}\n{p}");
    assert_eq!(s.peers_allowed, Some(Vec::new()), "{s:?}");
    let refused = s.peers_refused.clone().unwrap_or_default();
    for ip in [
        "127.0.0.1",
        "10.0.0.1",
        "172.16.0.1",
        "192.168.0.1",
        "169.254.169.254",
    ] {
        assert!(refused.contains(&ip.to_string()), "{ip} not refused: {s:?}");
    }
}

#[test]
fn secrets_never_appear_in_any_output() {
    let _suite = shared();
    const PASSWORD: &str = "Pw-7fQ2-zX9k";
    const WRONG: &str = "WrongPw-93hd";
    const SECRET: &str = "Rest-Sekr1t-48xq";
    let lt = Turn::start(&[
        "--lt-cred-mech",
        &format!("--user=alice:{PASSWORD}"),
        "--realm=rtccall.test",
        "--allow-loopback-peers",
    ]);
    let rest = Turn::start(&[
        "--use-auth-secret",
        &format!("--static-auth-secret={SECRET}"),
        "--realm=rtccall.test",
        "--allow-loopback-peers",
    ]);
    let in_url = format!("turn:alice:{PASSWORD}@127.0.0.1:{}", lt.port);
    let wrong_in_url = format!("turn:alice:{WRONG}@127.0.0.1:{}?transport=tcp", lt.port);
    let bare_tcp = format!("turn:127.0.0.1:{}?transport=tcp", lt.port);
    let bare_rest = format!("turn:127.0.0.1:{}", rest.port);
    /// One way of giving the probe a secret, and the exit code it should end with.
    struct Case<'a> {
        args: Vec<&'a str>,
        env: Vec<(&'a str, &'a str)>,
        code: i32,
    }
    let cases = vec![
        Case {
            args: vec!["--ice-server", &in_url],
            env: vec![],
            code: 0,
        },
        Case {
            args: vec![
                "--ice-server",
                &bare_tcp,
                "--username",
                "alice",
                "--credential",
                PASSWORD,
            ],
            env: vec![],
            code: 0,
        },
        Case {
            args: vec!["--ice-server", &bare_tcp],
            env: vec![
                ("RTCCALL_ICE_USERNAME", "alice"),
                ("RTCCALL_ICE_CREDENTIAL", PASSWORD),
            ],
            code: 0,
        },
        Case {
            args: vec!["--ice-server", &wrong_in_url],
            env: vec![],
            code: 1,
        },
        Case {
            args: vec!["--ice-server", &bare_rest, "--turn-secret", SECRET],
            env: vec![],
            code: 0,
        },
        Case {
            args: vec!["--ice-server", &bare_rest],
            env: vec![("RTCCALL_TURN_SECRET", SECRET)],
            code: 0,
        },
    ];
    let started = SystemTime::now();
    let mut runs = Vec::new();
    for c in &cases {
        for verbose in [&[][..], &["-vv"][..]] {
            for json in [false, true] {
                let mut a = c.args.clone();
                if json {
                    a.push("--json");
                }
                runs.push((start(verbose, &a, &c.env), c.code));
            }
        }
    }
    let runs: Vec<(Probe, i32)> = runs.into_iter().map(|(r, c)| (r.finish(), c)).collect();
    let ended = SystemTime::now();

    // The minted TURN REST passwords (EXPIRY:rtccall, default ttl) of the seconds the runs took.
    let mut secrets = vec![PASSWORD.to_string(), WRONG.to_string(), SECRET.to_string()];
    let mut t = started - Duration::from_secs(2);
    while t <= ended + Duration::from_secs(2) {
        secrets.push(rtccall::ice::rest_credentials(SECRET, "rtccall", 3600, t).1);
        t += Duration::from_secs(1);
    }
    for (p, code) in &runs {
        assert_eq!(p.code, *code, "{p}");
        let out = p.all_output();
        for s in &secrets {
            assert!(!out.contains(s.as_str()), "secret {s:?} shown\n{p}");
        }
        if p.args.iter().any(|a| a == "--json") {
            p.summary();
        }
    }
}

#[test]
fn usage_errors_exit_2_with_one_line() {
    let _suite = shared();
    let dir = Scratch::new("usage");
    let bad_json = dir.write("bad.json", "[{\"urls\": ");
    let not_a_list = dir.write("object.json", r#"{"urls":"stun:127.0.0.1"}"#);
    let cases: Vec<Vec<&str>> = vec![
        vec![],
        vec!["--ice-server", "http://x"],
        vec![
            "--ice-server",
            "stun:127.0.0.1:9",
            "--ca",
            "/nonexistent/ca.pem",
        ],
        vec!["--ice-server", "turn:127.0.0.1:9", "--username", "u"],
        vec!["--ice-config", &bad_json],
        vec!["--ice-config", &not_a_list],
        vec!["--ice-config", "/nonexistent/ice.json"],
    ];
    let runs: Vec<Running> = cases.iter().map(|a| start(&[], a, &[])).collect();
    for p in runs.into_iter().map(Running::finish) {
        assert_eq!(p.code, 2, "{p}");
        assert!(p.stdout.is_empty(), "{p}");
        let lines: Vec<&str> = p.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{p}");
        assert!(lines[0].starts_with("rtccall: error: "), "{p}");
    }
}

#[test]
fn browser_style_ice_config_file_is_probed() {
    let _suite = shared();
    let turn = Turn::start(&TURN_TEST_USER);
    let dir = Scratch::new("ice-config");
    let file = dir.write(
        "ice.json",
        &format!(
            r#"[{{"urls":["turn:127.0.0.1:{}"],"username":"test","credential":"secret"}}]"#,
            turn.port
        ),
    );
    let p = probe(&["--ice-config", &file, "--json"]);
    assert_eq!(p.code, 0, "{p}");
    let label = udp_label(turn.port);
    assert_eq!(p.step(&label, "turn-allocate").status, Status::Pass, "{p}");
    assert_eq!(p.step(&label, "relay-echo").status, Status::Pass, "{p}");
    assert_eq!(p.server_verdicts().len(), 1, "{p}");
    assert_eq!(p.summary().verdict, Status::Pass);
}

#[test]
fn max_rtt_expectation() {
    let _suite = shared();
    let turn = Turn::start(&TURN_TEST_USER);
    let udp = format!("turn:test:secret@127.0.0.1:{}", turn.port);
    let tcp = format!("turn:test:secret@127.0.0.1:{}?transport=tcp", turn.port);
    let servers = ["--ice-server", udp.as_str(), "--ice-server", tcp.as_str()];
    let tight = start(
        &[],
        &[&servers[..], &["--max-rtt", "0.001", "--json"]].concat(),
        &[],
    );
    let loose = start(
        &[],
        &[&servers[..], &["--max-rtt", "1000", "--json"]].concat(),
        &[],
    );
    let (tight, loose) = (tight.finish(), loose.finish());

    assert_eq!(tight.code, 1, "{tight}");
    let e = tight.expectation("max-rtt");
    assert!(!e.met, "{e:?}\n{tight}");
    assert_eq!(tight.summary().verdict, Status::Fail);
    // Only the expectation failed: every server itself is fine.
    for v in tight.server_verdicts() {
        assert!(v.failed.is_empty(), "{v:?}");
    }

    assert_eq!(loose.code, 0, "{loose}");
    assert!(loose.expectation("max-rtt").met, "{loose}");
    assert_eq!(loose.summary().verdict, Status::Pass);
}

/// The in-process relay-only call (a `call-relay` step per UDP TURN server).
#[test]
fn relay_only_call_connects_through_each_turn_server() {
    let _suite = shared();
    let a = Turn::start(&TURN_TEST_USER);
    let b = Turn::start(&TURN_TEST_USER);
    let url_a = format!("turn:test:secret@127.0.0.1:{}", a.port);
    let url_b = format!("turn:test:secret@127.0.0.1:{}", b.port);
    let p = start_raw(
        &[
            "probe",
            "--ice-server",
            &url_a,
            "--ice-server",
            &url_b,
            "--json",
        ],
        &[],
    )
    .finish();
    for label in [udp_label(a.port), udp_label(b.port)] {
        let s = p.step(&label, "call-relay");
        assert_eq!(s.status, Status::Pass, "{s:?}\n{p}");
        let call = s.call.clone().unwrap_or_else(|| panic!("no call: {s:?}"));
        assert!(call.connected_ms.is_some(), "{call:?}");
        let pair = call
            .selected_pair
            .clone()
            .unwrap_or_else(|| panic!("no pair: {call:?}"));
        assert_eq!(pair.local.candidate_type, "relay", "{call:?}");
        assert!(call.audio_packets_received > 0, "{call:?}");
    }
    assert_eq!(p.code, 0, "{p}");
}

/// TURN over TCP and TLS carry the relay-only call too (rtccall bridges them for webrtc-rs),
/// with coturn reachable over TCP/TLS only; gathering gets their relay candidates.
#[test]
fn relay_only_calls_run_over_turn_tcp_and_tls() {
    let _suite = shared();
    let (cert, key) = certificate();
    let mut opts = TURN_TEST_USER.to_vec();
    opts.push("--no-udp");
    let turn = Turn::start_tls(&opts, &cert, &key);
    let tls_port = turn.tls_port.unwrap();
    let dir = Scratch::new("ca-calls");
    let ca = dir.write("ca.pem", &cert);
    let tcp = format!("turn:test:secret@127.0.0.1:{}?transport=tcp", turn.port);
    let tls = format!("turns:test:secret@127.0.0.1:{tls_port}");
    let p = start_raw(
        &[
            "probe",
            "--ice-server",
            &tcp,
            "--ice-server",
            &tls,
            "--ca",
            &ca,
            "--json",
        ],
        &[],
    )
    .finish();
    for (label, protocol) in [(tcp_label(turn.port), "tcp"), (tls_label(tls_port), "tls")] {
        let s = p.step(&label, "call-relay");
        assert_eq!(s.status, Status::Pass, "{s:?}\n{p}");
        let call = s.call.clone().unwrap_or_else(|| panic!("no call: {s:?}"));
        let pair = call
            .selected_pair
            .clone()
            .unwrap_or_else(|| panic!("no pair: {call:?}"));
        assert_eq!(pair.local.candidate_type, "relay", "{call:?}");
        assert_eq!(
            pair.local.relay_protocol.as_deref(),
            Some(protocol),
            "{call:?}"
        );
        assert!(
            call.video_frames_decoded > 0 && call.data_echoed > 0,
            "{call:?}"
        );
    }
    let g = p.step("*", "ice-gathering");
    let relays = g
        .candidates
        .clone()
        .unwrap_or_default()
        .into_iter()
        .filter(|c| c.candidate_type == "relay")
        .count();
    assert!(relays >= 2, "{g:?}\n{p}");
    assert_eq!(g.status, Status::Pass, "{g:?}\n{p}");
}

#[test]
fn nat_behaviour_through_an_rfc5780_server_on_loopback() {
    let _suite = shared();
    // Two listening addresses make coturn answer with OTHER-ADDRESS and honour CHANGE-REQUEST.
    let mut opts = vec!["--listening-ip=127.0.0.2"];
    opts.extend(TURN_TEST_USER);
    let turn = Turn::start(&opts);
    let p = probe(&[
        "--json",
        "--ice-server",
        &format!("stun:127.0.0.1:{}", turn.port),
    ]);
    assert_eq!(p.code, 0, "{p}");
    let nat = p.step("*", "nat");
    assert_eq!(nat.status, Status::Pass, "{p}");
    assert!(nat.message.contains("RFC 5780"), "{p}");
    let n = nat.nat.expect("nat details");
    // No NAT between two loopback sockets: both behaviours are endpoint-independent.
    assert_eq!(n.mapping, "endpoint-independent", "{p}");
    assert_eq!(n.filtering, "endpoint-independent", "{p}");

    // A server without RFC 5780 is named as such, and one server cannot tell the mapping.
    let plain = Turn::start(&TURN_TEST_USER);
    let p = probe(&[
        "--json",
        "--ice-server",
        &format!("stun:127.0.0.1:{}", plain.port),
    ]);
    let nat = p.step("*", "nat");
    assert!(nat.message.contains("does not support RFC 5780"), "{p}");
    assert_eq!(nat.nat.expect("nat details").mapping, "unknown", "{p}");
}

/// Wait (at most 10 s) until a STUN server at `stun_url` answers binding requests, asked by a
/// bounded probe run through `wrapper` (a namespace, or none): coturn's own stunclient waits
/// forever for a server that is not up. `what` names the server in the failure.
fn wait_until_it_answers(wrapper: &[&str], stun_url: &str, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let args = ["probe", "--json", "--no-call", "--step-timeout", "0.3"];
        let f = Proc::spawn_full(
            wrapper,
            &[&args[..], &["--ice-server", stun_url]].concat(),
            &[],
            &ENV_REMOVED,
        )
        .finish(DEADLINE);
        let p = Probe {
            args: vec![],
            code: f.code,
            stdout: f.stdout,
            stderr: f.stderr,
            took: Duration::ZERO,
        };
        let label = stun_url.to_string();
        let up = p
            .records()
            .into_iter()
            .any(|r| matches!(r, ProbeRecord::Step(s) if s.server == label && s.step == "stun-binding" && s.status == Status::Pass));
        if up {
            return;
        }
        assert!(Instant::now() < deadline, "{what} did not start\n{p}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A client behind a real NAT: two network namespaces of the test's own joined by a veth pair,
/// the client's side masquerading with fully random ports (a symmetric NAT), coturn listening
/// on two addresses on the server's side. Nothing leaves the namespaces.
struct NatLab {
    /// First, so it stops before its namespace goes (fields drop in order).
    coturn: Option<NsCoturn>,
    client: Netns,
    server: Netns,
}

impl NatLab {
    fn create() -> NatLab {
        let lab = NatLab {
            client: Netns::new("natc"),
            server: Netns::new("nats"),
            coturn: None,
        };
        let (veth_c, _) = lab.client.veth_to(
            &["10.201.0.2/24"],
            &lab.server,
            &["10.201.0.1/24", "10.201.0.3/24"],
        );
        lab.client.nft("add table ip nat");
        lab.client
            .nft("add chain ip nat post { type nat hook postrouting priority 100; }");
        lab.client.nft(&format!(
            "add rule ip nat post oifname {veth_c} masquerade fully-random"
        ));
        lab
    }

    /// coturn in the server namespace on 10.201.0.1 and 10.201.0.3, port 3478.
    fn start_coturn(&mut self, dir: &Scratch) {
        self.coturn = Some(NsCoturn::start(
            &self.server,
            &["10.201.0.1", "10.201.0.3"],
            &[],
            dir,
        ));
    }
}

/// coturn on port 3478 inside a namespace, listening on `ips` and relaying on the first, with
/// the test credentials and `extra` options; started once it answers, stopped by its PID on drop.
struct NsCoturn(std::process::Child);

impl NsCoturn {
    fn start(ns: &Netns, ips: &[&str], extra: &[&str], dir: &Scratch) -> NsCoturn {
        let child = std::process::Command::new("ip")
            .args(&ns.wrapper()[1..])
            .args(["turnserver", "-n", "--listening-port=3478"])
            .args(ips.iter().map(|ip| format!("--listening-ip={ip}")))
            .arg(format!("--relay-ip={}", ips[0]))
            .args(extra)
            .args(["--no-cli", "--no-tls", "--no-dtls", "--fingerprint"])
            .args(TURN_TEST_USER)
            .arg(format!("--log-file={}", dir.path("log").display()))
            .arg(format!("--pidfile={}", dir.path("pid").display()))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start turnserver (install coturn: bash .ci/install-deps)");
        let coturn = NsCoturn(child);
        wait_until_it_answers(
            &ns.wrapper(),
            &format!("stun:{}:3478", ips[0]),
            "coturn in its namespace",
        );
        coturn
    }
}

impl Drop for NsCoturn {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn nat_behaviour_behind_a_symmetric_nat_in_network_namespaces() {
    let _suite = shared();
    let dir = Scratch::new("nat");
    let mut lab = NatLab::create();
    lab.start_coturn(&dir);
    let proc = Proc::spawn_full(
        &lab.client.wrapper(),
        &[
            "probe",
            "--json",
            "--no-call",
            "--step-timeout",
            "1",
            "--ice-server",
            "stun:10.201.0.1:3478",
        ],
        &[],
        &ENV_REMOVED,
    );
    let f = proc.finish(DEADLINE);
    let p = Probe {
        args: vec!["(in the client namespace)".into()],
        code: f.code,
        stdout: f.stdout,
        stderr: f.stderr,
        took: Duration::ZERO,
    };
    let binding = p.step("stun:10.201.0.1:3478", "stun-binding");
    assert_eq!(binding.status, Status::Pass, "{p}");
    let nat = p.step("*", "nat");
    let n = nat.nat.clone().expect("nat details");
    // Fully random ports: every destination gets its own mapping, and only the destination a
    // packet went to may answer.
    assert_eq!(n.mapping, "address-and-port-dependent", "{p}");
    assert_eq!(n.filtering, "address-and-port-dependent", "{p}");
    assert_eq!(nat.status, Status::Warn, "{p}");
    assert!(
        nat.explanation.as_deref().unwrap_or("").contains("TURN"),
        "{p}"
    );
    // The mapped address is the NAT's, not the socket's.
    assert!(
        nat.mapped_address
            .as_deref()
            .unwrap_or("")
            .starts_with("10.201.0.2:"),
        "{p}"
    );
}

#[test]
fn tls_certificates_are_verified_unless_trusted_or_skipped() {
    let _suite = shared();
    let (cert, key) = certificate();
    let turn = Turn::start_tls(&TURN_TEST_USER, &cert, &key);
    let tls_port = turn.tls_port.unwrap();
    let url = format!("turns:test:secret@127.0.0.1:{tls_port}");
    let label = tls_label(tls_port);

    // Not trusted: the handshake fails and the explanation says how to trust it.
    let p = probe(&["--json", "--ice-server", &url]);
    assert_eq!(p.code, 1, "{p}");
    let s = p.step(&label, "stun-binding");
    assert_eq!(s.status, Status::Fail, "{p}");
    assert!(s.message.contains("TLS"), "{p}");
    let why = s.explanation.unwrap_or_default();
    assert!(why.contains("--ca") && why.contains("--insecure"), "{p}");

    // --insecure skips verification: the relay works.
    let p = probe(&["--json", "--insecure", "--ice-server", &url]);
    assert_eq!(p.code, 0, "{p}");
    assert_eq!(p.step(&label, "relay-echo").status, Status::Pass, "{p}");

    // A certificate for another name is refused even when its CA is trusted.
    let other = rcgen::generate_simple_self_signed(vec!["other.example".into()]).unwrap();
    let turn2 = Turn::start_tls(
        &TURN_TEST_USER,
        &other.cert.pem(),
        &other.signing_key.serialize_pem(),
    );
    let dir = Scratch::new("other-ca");
    let ca = dir.write("other.pem", &other.cert.pem());
    let port2 = turn2.tls_port.unwrap();
    let p = probe(&[
        "--json",
        "--ca",
        &ca,
        "--ice-server",
        &format!("turns:test:secret@localhost:{port2}"),
    ]);
    assert_eq!(p.code, 1, "{p}");
    let s = p.step(
        &format!("turns:localhost:{port2}?transport=tcp"),
        "stun-binding",
    );
    assert_eq!(s.status, Status::Fail, "{p}");
}

#[test]
fn an_ipv6_only_relay_works_and_is_flagged() {
    let _suite = shared();
    let t = Turn::start_on("::1".parse().unwrap(), &TURN_TEST_USER);
    let udp = format!("turn:test:secret@[::1]:{}", t.port);
    let tcp = format!("turn:test:secret@[::1]:{}?transport=tcp", t.port);
    let p = start_raw(
        &[
            "probe",
            "--json",
            "--bind",
            "[::1]:0",
            "--ice-server",
            &udp,
            "--ice-server",
            &tcp,
        ],
        &[],
    )
    .finish();
    for label in [
        format!("turn:[::1]:{}?transport=udp", t.port),
        format!("turn:[::1]:{}?transport=tcp", t.port),
    ] {
        let a = p.step(&label, "turn-allocate");
        // The IPv4 request is refused (440), the IPv6 one granted: a warning, with the reason.
        assert_eq!(a.status, Status::Warn, "{p}");
        assert!(
            a.relayed_address
                .as_deref()
                .unwrap_or("")
                .starts_with("[::1]:"),
            "{p}"
        );
        assert!(
            a.explanation.as_deref().unwrap_or("").contains("IPv4"),
            "{p}"
        );
        let e = p.step(&label, "relay-echo");
        assert_eq!(e.status, Status::Pass, "{p}");
        assert_eq!(e.received, Some(100), "{p}");
        let sec = p.step(&label, "turn-security");
        assert!(
            sec.peers_allowed
                .unwrap_or_default()
                .contains(&"::1".to_string()),
            "{p}"
        );
    }
    let c = p.step(
        &format!("turn:[::1]:{}?transport=udp", t.port),
        "call-relay",
    );
    assert_eq!(c.status, Status::Skip, "{p}");
    // Warnings do not fail the probe.
    assert_eq!(p.code, 0, "{p}");
}

/// Servers of the test's own, in threads of this process, stopped when dropped: what answers
/// when a STUN/TURN URL points at something else.
struct Fake {
    port: u16,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Fake {
    /// A UDP server that answers every datagram with a line of text (not STUN).
    fn udp_text() -> Fake {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let fake = Fake {
            port: sock.local_addr().unwrap().port(),
            stop: Default::default(),
        };
        let stop = fake.stop.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                if let Ok((_, from)) = sock.recv_from(&mut buf) {
                    let _ = sock.send_to(b"hello from a game server\n", from);
                }
            }
        });
        fake
    }

    /// A TCP server that answers whatever comes with an HTTP/1.1 400 response and closes.
    fn http() -> Fake {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let fake = Fake {
            port: listener.local_addr().unwrap().port(),
            stop: Default::default(),
        };
        let stop = fake.stop.clone();
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                match listener.accept() {
                    Ok((mut conn, _)) => {
                        use std::io::{Read, Write};
                        let _ = conn.set_nonblocking(false);
                        let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
                        let mut buf = [0u8; 1024];
                        let _ = conn.read(&mut buf);
                        let _ = conn.write_all(
                            b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                        );
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        fake
    }

    /// A UDP proxy in front of a TURN server that drops what clients send as ChannelData
    /// (first byte 0x40-0x7F) and passes everything else both ways: a relay that takes Send
    /// indications only.
    fn channel_data_dropper(turn_port: u16) -> Fake {
        let listen = UdpSocket::bind("127.0.0.1:0").unwrap();
        listen
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let fake = Fake {
            port: listen.local_addr().unwrap().port(),
            stop: Default::default(),
        };
        let stop = fake.stop.clone();
        std::thread::spawn(move || {
            let mut upstreams: std::collections::HashMap<SocketAddr, UdpSocket> =
                Default::default();
            let mut buf = [0u8; 2048];
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let Ok((n, client)) = listen.recv_from(&mut buf) else {
                    continue;
                };
                if n > 0 && (0x40..=0x7F).contains(&buf[0]) {
                    continue;
                }
                let up = upstreams.entry(client).or_insert_with(|| {
                    let up = UdpSocket::bind("127.0.0.1:0").unwrap();
                    up.connect(("127.0.0.1", turn_port)).unwrap();
                    up.set_read_timeout(Some(Duration::from_millis(50)))
                        .unwrap();
                    let (back, down, stop) = (
                        up.try_clone().unwrap(),
                        listen.try_clone().unwrap(),
                        stop.clone(),
                    );
                    std::thread::spawn(move || {
                        let mut buf = [0u8; 2048];
                        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                            if let Ok(n) = back.recv(&mut buf) {
                                let _ = down.send_to(&buf[..n], client);
                            }
                        }
                    });
                    up
                });
                let _ = up.send(&buf[..n]);
            }
        });
        fake
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// A TURN REST username that expired `ago` seconds ago, and its password under `secret`.
fn expired_rest_credentials(secret: &str, user: &str, ago: u64) -> (String, String) {
    use base64::Engine;
    use hmac::Mac;
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let username = format!("{}:{user}", now - ago);
    let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(username.as_bytes());
    let password = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    (username, password)
}

/// A probe of a coturn that allows each user `quota` allocations at once; its run and the
/// UDP server's label.
fn probe_with_user_quota(quota: u32) -> (Probe, String) {
    let mut opts = TURN_TEST_USER.to_vec();
    let quota = format!("--user-quota={quota}");
    opts.push(&quota);
    let turn = Turn::start(&opts);
    let p = start_raw(
        &[
            "probe",
            "--ice-server",
            &format!("turn:test:secret@127.0.0.1:{}", turn.port),
            "--json",
        ],
        &[],
    )
    .finish();
    (p, udp_label(turn.port))
}

/// With a user quota of 1, a call's second allocation is refused: the call step says the
/// server answered 486 and what the code can mean, not "look at a firewall".
#[test]
fn a_quota_refusal_is_reported_with_the_servers_code() {
    let _suite = shared();
    let (p, label) = probe_with_user_quota(1);
    assert_eq!(p.code, 1, "{p}");
    assert_eq!(p.step(&label, "turn-allocate").status, Status::Pass, "{p}");
    assert_eq!(p.step(&label, "relay-echo").status, Status::Pass, "{p}");
    let call = p.step(&label, "call-relay");
    assert_eq!(call.status, Status::Fail, "{call:?}\n{p}");
    assert_eq!(call.error_code, Some(486), "{call:?}");
    let why = call.explanation.unwrap_or_default();
    assert!(why.contains("486"), "{why}");
    assert!(
        why.contains("user-quota") && why.contains("total-quota"),
        "{why}"
    );
    assert!(!why.contains("firewall"), "{why}");
    assert_eq!(p.summary().verdict, Status::Fail, "{p}");
}

/// With a user quota of 2 a call (two allocations) fits, but not while the probe's own
/// allocations, given back just before, still count: the probe does not wait for them up
/// front, and when the call misses its relays it waits for them to settle and tries again,
/// rather than blaming the server.
#[test]
fn the_probes_own_allocations_do_not_fail_its_calls_under_a_quota() {
    let _suite = shared();
    let (p, label) = probe_with_user_quota(2);
    let call = p.step(&label, "call-relay");
    assert_eq!(call.status, Status::Pass, "{call:?}\n{p}");
    let gathering = p.step("*", "ice-gathering");
    assert_eq!(gathering.status, Status::Pass, "{gathering:?}\n{p}");
    assert!(gathering.message.contains("1 relay"), "{gathering:?}");
}

/// A short granted lifetime is a warning, and the security step still runs on a live
/// allocation (refreshed first), so a server that relays to loopback is flagged rather than
/// passed; a server with stale nonces every second passes what it should.
#[test]
fn short_lifetimes_and_stale_nonces_do_not_fake_a_verdict() {
    let _suite = shared();
    let mut short = TURN_TEST_USER.to_vec();
    short.push("--max-allocate-lifetime=2");
    let short = Turn::start(&short);
    let mut stale = TURN_TEST_USER.to_vec();
    stale.push("--stale-nonce=1");
    let stale = Turn::start(&stale);
    let p = probe(&[
        "--ice-server",
        &format!("turn:test:secret@127.0.0.1:{}", short.port),
        "--ice-server",
        &format!("turn:test:secret@127.0.0.1:{}", stale.port),
        "--hold",
        "3",
        "--json",
    ]);

    let label = udp_label(short.port);
    let alloc = p.step(&label, "turn-allocate");
    assert_eq!(alloc.status, Status::Warn, "{alloc:?}\n{p}");
    assert_eq!(alloc.lifetime_s, Some(2), "{alloc:?}");
    assert!(
        alloc
            .explanation
            .unwrap_or_default()
            .contains("max-allocate-lifetime"),
        "{p}"
    );
    for label in [udp_label(short.port), udp_label(stale.port)] {
        let s = p.step(&label, "turn-security");
        assert_eq!(s.status, Status::Warn, "{s:?}\n{p}");
        assert!(
            s.peers_allowed
                .clone()
                .unwrap_or_default()
                .contains(&"127.0.0.1".to_string()),
            "{s:?}"
        );
        assert!(s.peers_unknown.is_none(), "{s:?}");
        assert_eq!(p.step(&label, "relay-echo").status, Status::Pass, "{p}");
        let hold = p.step(&label, "hold");
        assert_eq!(hold.status, Status::Pass, "{hold:?}\n{p}");
        assert!(hold.refreshes.unwrap_or(0) >= 1, "{hold:?}");
        assert!(hold.received.unwrap_or(0) > 0, "{hold:?}");
    }
    // Each refresh of the hold is a step of its own.
    assert!(
        p.steps_of(&udp_label(short.port))
            .iter()
            .filter(|s| s.step == "hold-refresh")
            .all(|s| s.status == Status::Pass),
        "{p}"
    );
}

/// coturn with no-udp: UDP is refused (ICMP port unreachable on loopback), the probe tries
/// STUN over TCP on the same port and says that clients need TURN over TCP or TLS.
#[test]
fn udp_off_is_explained_from_the_tcp_fallback() {
    let _suite = shared();
    let mut opts = TURN_TEST_USER.to_vec();
    opts.push("--no-udp");
    let turn = Turn::start(&opts);
    let p = probe(&[
        "--ice-server",
        &format!("turn:test:secret@127.0.0.1:{}", turn.port),
        "--json",
    ]);
    assert_eq!(p.code, 1, "{p}");
    let s = p.step(&udp_label(turn.port), "stun-binding");
    assert_eq!(s.status, Status::Fail, "{s:?}\n{p}");
    assert!(s.message.contains("ICMP port unreachable"), "{s:?}");
    let why = s.explanation.unwrap_or_default();
    assert!(
        why.contains("STUN over TCP on the same port works"),
        "{why}"
    );
    assert!(why.contains("TURN over TCP or TLS"), "{why}");
}

/// Expired TURN REST credentials: 401 with the realm and how long ago EXPIRY passed.
#[test]
fn expired_rest_credentials_are_decoded() {
    let _suite = shared();
    let turn = Turn::start(&[
        "--use-auth-secret",
        "--static-auth-secret=rest-secret-91ab",
        "--realm=expiry.test",
        "--allow-loopback-peers",
    ]);
    let (user, pass) = expired_rest_credentials("rest-secret-91ab", "alice", 30);
    let url = format!("turn:127.0.0.1:{}", turn.port);
    // Credentials minted for 1 s expire during the 3 s hold, before the calls: their
    // allocations get 401.
    let minted = start_raw(
        &[
            "probe",
            "--ice-server",
            &url,
            "--turn-secret",
            "rest-secret-91ab",
            "--ttl",
            "1",
            "--hold",
            "3",
            "--json",
        ],
        &[],
    );
    let p = probe(&[
        "--ice-server",
        &url,
        "--username",
        &user,
        "--credential",
        &pass,
        "--json",
    ]);
    assert_eq!(p.code, 1, "{p}");
    let s = p.step(&udp_label(turn.port), "turn-allocate");
    assert_eq!(s.status, Status::Fail, "{s:?}\n{p}");
    assert_eq!(s.error_code, Some(401), "{s:?}");
    let why = s.explanation.unwrap_or_default();
    assert!(why.contains("\"expiry.test\""), "{why}");
    assert!(why.contains("expired 3") && why.contains(" s ago"), "{why}");
    assert!(
        !p.all_output().contains(&pass),
        "the password was shown\n{p}"
    );

    let p = minted.finish();
    assert_eq!(p.code, 1, "{p}");
    let call = p.step(&udp_label(turn.port), "call-relay");
    assert_eq!(call.status, Status::Fail, "{call:?}\n{p}");
    assert_eq!(call.error_code, Some(401), "{call:?}");
    let why = call.explanation.unwrap_or_default();
    assert!(
        why.contains("expired") && !why.contains("firewall"),
        "{why}"
    );
    let gathering = p.step("*", "ice-gathering");
    assert_eq!(gathering.status, Status::Warn, "{gathering:?}\n{p}");
    assert!(
        gathering
            .explanation
            .clone()
            .unwrap_or_default()
            .contains("401"),
        "{gathering:?}"
    );
}

/// `--ttl` shorter than `--hold`: the hold reports the moment the minted credentials expire.
#[test]
fn a_hold_reports_when_rest_credentials_expire() {
    let _suite = shared();
    let turn = Turn::start(&[
        "--use-auth-secret",
        "--static-auth-secret=rest-secret-hold",
        "--realm=rtccall.test",
        "--allow-loopback-peers",
        "--max-allocate-lifetime=4",
    ]);
    let label = udp_label(turn.port);
    let p = probe(&[
        "--ice-server",
        &format!("turn:127.0.0.1:{}", turn.port),
        "--turn-secret",
        "rest-secret-hold",
        "--ttl",
        "3",
        "--hold",
        "6",
        "--json",
    ]);
    let expiry = p.step(&label, "hold-expiry");
    assert!(
        expiry.message.contains("expire") || expiry.message.contains("EXPIRY"),
        "{expiry:?}\n{p}"
    );
    let hold = p.step(&label, "hold");
    assert!(hold.refreshes.unwrap_or(0) >= 1, "{hold:?}\n{p}");
    assert!(hold.sent.unwrap_or(0) > 0, "{hold:?}");
}

/// A `turns:` URL on coturn's plain port (no TLS there): said in those words.
#[test]
fn turns_on_a_plain_tcp_port_is_named() {
    let _suite = shared();
    let turn = Turn::start(&TURN_TEST_USER);
    let p = probe(&[
        "--ice-server",
        &format!("turns:test:secret@127.0.0.1:{}", turn.port),
        "--step-timeout",
        "2",
        "--json",
    ]);
    assert_eq!(p.code, 1, "{p}");
    let s = p.step(&tls_label(turn.port), "stun-binding");
    assert_eq!(s.status, Status::Fail, "{s:?}\n{p}");
    let why = s.explanation.unwrap_or_default();
    assert!(
        why.contains("this port speaks TURN over TCP, not TLS"),
        "{why}\n{p}"
    );
    assert!(why.contains("?transport=tcp"), "{why}");
}

/// A UDP service that answers with text and an HTTP server on a TCP port: the probe says what
/// came back rather than "nothing answered" or "nothing listens there".
#[test]
fn answers_that_are_not_stun_are_described() {
    let _suite = shared();
    let udp = Fake::udp_text();
    let http = Fake::http();
    let p = probe(&[
        "--ice-server",
        &format!("stun:127.0.0.1:{}", udp.port),
        "--ice-server",
        &format!("turn:u:p@127.0.0.1:{}?transport=tcp", http.port),
        "--step-timeout",
        "2",
        "--json",
    ]);
    assert_eq!(p.code, 1, "{p}");
    let s = p.step(&format!("stun:127.0.0.1:{}", udp.port), "stun-binding");
    assert_eq!(s.status, Status::Fail, "{s:?}\n{p}");
    let said = format!(
        "{} {}",
        s.message,
        s.explanation.clone().unwrap_or_default()
    );
    assert!(said.contains("not STUN"), "{said}");
    assert!(said.contains("hello from a game server"), "{said}");
    assert!(!said.contains("server is down"), "{said}");

    let s = p.step(&tcp_label(http.port), "stun-binding");
    assert_eq!(s.status, Status::Fail, "{s:?}\n{p}");
    let said = format!(
        "{} {}",
        s.message,
        s.explanation.clone().unwrap_or_default()
    );
    assert!(said.contains("HTTP"), "{said}");
    assert!(!said.contains("nothing listens"), "{said}");
}

/// A relay that takes Send indications but not ChannelData: relay-echo warns and names what
/// works, rather than "the relay drops data".
#[test]
fn a_relay_without_channel_data_is_told_apart() {
    let _suite = shared();
    let turn = Turn::start(&TURN_TEST_USER);
    let proxy = Fake::channel_data_dropper(turn.port);
    let label = udp_label(proxy.port);
    let p = probe(&[
        "--ice-server",
        &format!("turn:test:secret@127.0.0.1:{}", proxy.port),
        "--json",
    ]);
    assert_eq!(p.step(&label, "turn-allocate").status, Status::Pass, "{p}");
    let s = p.step(&label, "relay-echo");
    assert_eq!(s.status, Status::Warn, "{s:?}\n{p}");
    assert!(s.message.contains("Send indications"), "{s:?}");
    assert!(s.message.contains("0/"), "{s:?}");
    assert!(
        s.explanation.unwrap_or_default().contains("ChannelData"),
        "{p}"
    );
}

/// `--load` with `--no-call`: a `load` step with the figures of N clients.
#[test]
fn load_mode_reports_allocations_and_relayed_packets() {
    let _suite = shared();
    let turn = Turn::start(&TURN_TEST_USER);
    let p = probe(&[
        "--ice-server",
        &format!("turn:test:secret@127.0.0.1:{}", turn.port),
        "--load",
        "20",
        "--duration",
        "2",
        "--rate",
        "20",
        "--json",
    ]);
    assert_eq!(p.code, 0, "{p}");
    let s = p.step(&udp_label(turn.port), "load");
    assert_eq!(s.status, Status::Pass, "{s:?}\n{p}");
    let f = s
        .load
        .clone()
        .unwrap_or_else(|| panic!("no figures: {s:?}"));
    assert_eq!(f.clients, 20);
    assert_eq!(f.allocations.asked, 20);
    assert_eq!(f.allocations.granted, 20, "{f:?}");
    assert!(f.allocations.failed.is_empty(), "{f:?}");
    assert!(f.packets_sent > 0 && f.packets_received > 0, "{f:?}");
    assert!(f.packets_received <= f.packets_sent, "{f:?}");
    let rtt = f.rtt_ms.clone().unwrap_or_else(|| panic!("no rtt: {f:?}"));
    assert!(
        rtt.p50 <= rtt.p95 && rtt.p95 <= rtt.p99 && rtt.p99 <= rtt.max,
        "{rtt:?}"
    );
}

/// Bad inputs of the kinds operators meet: one line naming what was wrong, exit 2.
#[test]
fn bad_inputs_name_what_was_wrong() {
    let _suite = shared();
    let dir = Scratch::new("inputs");
    let long_user = format!("turn:{}:p@127.0.0.1:3478", "u".repeat(600));
    let big = dir.write(
        "big.json",
        &format!(
            "[{{\"urls\": \"stun:127.0.0.1:3478\", \"pad\": \"{}\"}}]",
            "x".repeat(1_100_000)
        ),
    );
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--ice-server", &long_user], "513"),
        (
            vec![
                "--ice-server",
                "turn:127.0.0.1:3478?transport=tcp&transport=udp",
            ],
            "transport",
        ),
        (
            vec![
                "--ice-server",
                "turn:127.0.0.1:3478",
                "--turn-user",
                "alice",
            ],
            "--turn-secret",
        ),
        (vec!["--ice-config", &big], "larger than 1024 KiB"),
    ];
    let runs: Vec<(Running, &str)> = cases
        .iter()
        .map(|(a, want)| (start(&[], a, &[]), *want))
        .collect();
    for (r, want) in runs {
        let p = r.finish();
        assert_eq!(p.code, 2, "{p}");
        assert!(p.stdout.is_empty(), "{p}");
        let lines: Vec<&str> = p.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{p}");
        assert!(lines[0].starts_with("rtccall: error: "), "{p}");
        assert!(lines[0].contains(want), "{want} not named\n{p}");
    }
}

/// `--ice-config` or `--ca` on a FIFO nobody writes: SIGINT ends the probe at once, exit 130.
#[test]
fn sigint_ends_a_probe_blocked_on_its_input() {
    let _suite = shared();
    let dir = Scratch::new("fifo");
    let fifo = dir.path("input");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let fifo = fifo.display().to_string();
    for args in [
        vec!["--ice-config", &fifo, "--json"],
        vec!["--ice-server", "turns:127.0.0.1:9", "--ca", &fifo, "--json"],
    ] {
        let mut r = start(&[], &args, &[]);
        std::thread::sleep(Duration::from_millis(500));
        assert!(
            r.proc.child.try_wait().unwrap().is_none(),
            "the probe must still be waiting on the FIFO: {args:?}"
        );
        r.proc.signal("-INT");
        let signalled = Instant::now();
        let p = r.finish();
        assert_eq!(p.code, 130, "{p}");
        assert!(
            signalled.elapsed() < Duration::from_secs(1),
            "took {:?} after SIGINT\n{p}",
            signalled.elapsed()
        );
    }
}

/// `--data-throughput` measures the data channel of the direct and the relay-only call.
#[test]
fn the_call_steps_measure_data_throughput_when_asked() {
    let _suite = shared();
    let turn = Turn::start(&TURN_TEST_USER);
    let url = format!("turn:test:secret@127.0.0.1:{}", turn.port);
    let p = start_raw(
        &[
            "probe",
            "--ice-server",
            &url,
            "--data-throughput",
            "1",
            "--json",
        ],
        &[],
    )
    .finish();
    for (server, step) in [
        ("*".to_string(), "call-direct"),
        (udp_label(turn.port), "call-relay"),
    ] {
        let s = p.step(&server, step);
        assert_eq!(s.status, Status::Pass, "{s:?}\n{p}");
        let call = s.call.clone().unwrap_or_else(|| panic!("no call: {s:?}"));
        for v in [call.data_send_mbit_s, call.data_receive_mbit_s] {
            assert!(v.is_some_and(|v| v > 0.0), "{call:?}");
        }
        assert!(s.message.contains("Mbit/s out"), "{s:?}");
    }
    let bad = start_raw(&["probe", "--data-throughput", "0"], &[]).finish();
    assert_eq!(bad.code, 2, "{bad}");
}

/// A relay that drops ChannelData from clients but relays Send indications (as node-turn
/// does): coturn in a namespace of the test's own, with nftables dropping UDP datagrams to it
/// whose payload starts with the bits 01 (ChannelData, RFC 8656 §12.4). `relay-echo` warns, the
/// relay does not meet `--expect relay` (the detail says which clients would still work), and
/// the relay-only call that fails through it is explained by the ChannelData finding.
#[test]
fn a_relay_that_drops_channel_data_does_not_meet_expect_relay() {
    let _suite = shared();
    let dir = Scratch::new("chdata");
    let ns = Netns::new("chdata");
    ns.nft("add table inet turnfilter");
    ns.nft("add chain inet turnfilter input { type filter hook input priority 0; }");
    ns.nft("add rule inet turnfilter input udp dport 3478 @th,64,2 1 drop");
    let _coturn = NsCoturn::start(
        &ns,
        &["127.0.0.1"],
        &["--min-port=49152", "--max-port=49400"],
        &dir,
    );
    let in_ns = |args: &[&str]| {
        let f = Proc::spawn_full(&ns.wrapper(), args, &[], &ENV_REMOVED).finish(DEADLINE);
        Probe {
            args: args.iter().map(|s| s.to_string()).collect(),
            code: f.code,
            stdout: f.stdout,
            stderr: f.stderr,
            took: Duration::ZERO,
        }
    };
    wait_until_it_answers(
        &ns.wrapper(),
        "stun:127.0.0.1:3478",
        "coturn in its namespace",
    );
    let url = "turn:test:secret@127.0.0.1:3478";
    let p = in_ns(&["probe", "--json", "--expect", "relay", "--ice-server", url]);
    let label = "turn:127.0.0.1:3478?transport=udp";
    let echo = p.step(label, "relay-echo");
    assert_eq!(echo.status, Status::Warn, "{p}");
    assert!(echo.message.contains("Send indications"), "{p}");
    let e = p.expectation("relay");
    assert!(!e.met, "{p}");
    assert!(
        e.detail.contains("Send indications") && e.detail.contains("ChannelData"),
        "{}",
        e.detail
    );
    assert_ne!(p.code, 0, "{p}");
    let call = p.step(label, "call-relay");
    assert_eq!(call.status, Status::Fail, "{p}");
    let why = call.explanation.unwrap_or_default();
    assert!(why.contains("ChannelData"), "{why}");
    assert!(!why.contains("firewall"), "{why}");
}

/// node-turn (an npm TURN server) on loopback, stopped by its PID on drop.
struct NodeTurn {
    port: u16,
    child: std::process::Child,
}

impl NodeTurn {
    fn start() -> NodeTurn {
        let port = free_port();
        let min = 40_000 + (port % 100) * 200;
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/node-turn.js");
        let child = std::process::Command::new("node")
            .arg(script)
            .args([port, min, min + 199].map(|p| p.to_string()))
            .env("NODE_PATH", "/usr/local/lib/rtccall-node/node_modules")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start node-turn (node and node-turn: bash .ci/install-deps)");
        let t = NodeTurn { port, child };
        wait_until_it_answers(
            &[],
            &format!("stun:127.0.0.1:{port}"),
            "node-turn (is it installed? bash .ci/install-deps)",
        );
        t
    }
}

impl Drop for NodeTurn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// node-turn drops an allocation on every Refresh (its refresh handler reads two settings it
/// never sets). The probe once refreshed before `turn-security`, so its permission requests
/// raced the deletion: the verdict changed from run to run ("relays to internal addresses:
/// 127.0.0.1, 10.0.0.1" in one, "cannot tell" with 437 Allocation Mismatch in another). Now
/// five runs give one verdict, reached without a 437, and it is the same relay-echo finding
/// each time.
#[test]
fn the_security_verdict_on_node_turn_is_the_same_every_run() {
    let _suite = shared();
    let t = NodeTurn::start();
    let url = format!("turn:test:secret@127.0.0.1:{}", t.port);
    let label = format!("turn:127.0.0.1:{}?transport=udp", t.port);
    let mut verdicts = Vec::new();
    for _ in 0..5 {
        let p = probe(&["--json", "--ice-server", &url]);
        let s = p.step(&label, "turn-security");
        assert!(!s.message.contains("437"), "{p}");
        verdicts.push((s.status, s.message));
    }
    verdicts.dedup();
    assert_eq!(verdicts.len(), 1, "{verdicts:?}");
    // node-turn has no peer policy: it relays to internal addresses, and says so every time.
    assert!(
        verdicts[0].1.contains("relays to internal addresses"),
        "{verdicts:?}"
    );
}
