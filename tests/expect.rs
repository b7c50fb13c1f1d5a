//! Calls and probes as CI checks: every `--expect` condition held or failed against a real
//! call (relay-only through coturn over TLS, impaired, in H.264, with a data-channel
//! throughput test), exit 7, and the `--junit` files read back by a real JUnit consumer
//! (junitparser, from Debian).

use std::process::Command;
use std::time::Duration;

use crate::common::*;

/// A JUnit test case: suite, name, and its results (kind, message); none when it passed.
pub type JunitCase = (String, String, Vec<(String, String)>);

/// Every test case of a JUnit file as junitparser reads it: (suite, case, [(result kind,
/// message)]).
pub fn junit_cases(path: &str) -> Vec<JunitCase> {
    let script = r#"
import json, sys
from junitparser import JUnitXml
xml = JUnitXml.fromfile(sys.argv[1])
suites = [xml] if xml._tag == "testsuite" else list(xml)
out = []
for suite in suites:
    for case in suite:
        out.append([suite.name, case.name,
                    [[type(r).__name__, r.message or ""] for r in case.result]])
print(json.dumps(out))
"#;
    let out = Command::new("/usr/bin/python3")
        .args(["-c", script, path])
        .output()
        .expect("run /usr/bin/python3 with python3-junitparser");
    assert!(
        out.status.success(),
        "junitparser could not read {path}: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(path).unwrap_or_default()
    );
    serde_json::from_slice(&out.stdout).expect("the script's JSON")
}

fn certificate() -> (String, String) {
    let c = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
        .expect("generate a certificate");
    (c.cert.pem(), c.signing_key.serialize_pem())
}

#[test]
fn a_call_is_judged_by_its_expectations_and_written_as_junit() {
    let _suite = shared();
    let (cert, key) = certificate();
    let mut opts = TURN_TEST_USER.to_vec();
    opts.push("--no-udp");
    let turn = Turn::start_tls(&opts, &cert, &key);
    let ice = format!("turns:test:secret@127.0.0.1:{}", turn.tls_port.unwrap());
    let dir = Scratch::new("expect");
    let ca = dir.write("ca.pem", &cert);
    let junit = dir.str("dial.xml");
    let server = format!("ws://127.0.0.1:{}/", free_port());
    let common = [
        "--relay-only",
        "--ice-server",
        ice.as_str(),
        "--ca",
        ca.as_str(),
        "--video-codec",
        "h264",
        "--impair",
        "delay=100ms,loss=3%",
        "--audio",
        "tone",
        "--no-speaker",
        "--duration",
        "5",
    ];
    let answer = Proc::spawn(&call_args("answer", "expect", &server, &common));
    let mut args = common.to_vec();
    let pass = [
        "connected<5s",
        "path=relay",
        "relay=tls",
        "codec=h264",
        "loss<20",
        "latency<1000",
        "fps>=5",
        "rtt<1000",
        "jitter<100",
        "video-decoded>=50",
        "audio-decoded>=50",
        "bitrate>=50",
        "freezes<=1000",
        "restarts<=0",
    ];
    let fail = [
        "relay=udp",
        "codec=vp8",
        "loss<0.5",
        "latency<100",
        "rtt<1",
        "bitrate>=100000",
    ];
    for e in pass.iter().chain(fail.iter()) {
        args.extend(["--expect", e]);
    }
    args.extend(["--junit", junit.as_str()]);
    let dial = Proc::spawn(&call_args("dial", "expect", &server, &args));
    let d = dial.finish(Duration::from_secs(60));
    let a = answer.finish(Duration::from_secs(60));
    assert_eq!(a.code, 0, "answer: {}", a.stderr);
    assert_eq!(d.code, 7, "dial: {}\n{}", d.stderr, d.stdout.join("\n"));
    let s = d.summary();
    assert_eq!(s.exit_code, 7);
    assert!(s.error.is_none(), "{s:?}");
    let met: Vec<(&str, bool)> = s
        .expectations
        .iter()
        .map(|e| (e.expect.as_str(), e.met))
        .collect();
    let want: Vec<(&str, bool)> = pass
        .iter()
        .map(|p| (*p, true))
        .chain(fail.iter().map(|f| (*f, false)))
        .collect();
    assert_eq!(met, want, "{:#?}", s.expectations);
    // 100 ms each way: the video is at least that old when decoded, and not much older
    // (the frames that waited for a retransmission, a round trip more, are in the p95).
    let v = s.video.latency_ms.clone().expect("video latency measured");
    assert!(v.p50 >= 100.0 && v.p50 < 200.0 && v.p95 < 1000.0, "{v:?}");
    let detail = |name: &str| {
        s.expectations
            .iter()
            .find(|e| e.expect == name)
            .map(|e| e.detail.clone())
            .unwrap()
    };
    assert!(
        detail("relay=udp").contains("tls"),
        "{}",
        detail("relay=udp")
    );
    assert!(
        detail("codec=vp8").contains("H.264"),
        "{}",
        detail("codec=vp8")
    );

    // The same as JUnit: a case per expectation (the failures with what was measured), and
    // `connected` and `call` passing.
    let cases = junit_cases(&junit);
    let failures: Vec<(String, String)> = cases
        .iter()
        .filter(|(_, _, r)| !r.is_empty())
        .map(|(_, name, r)| (name.clone(), r[0].1.clone()))
        .collect();
    let failed_names: Vec<&str> = failures.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        failed_names,
        fail.iter()
            .map(|f| format!("expect {f}"))
            .collect::<Vec<_>>(),
        "{cases:?}"
    );
    for (name, message) in &failures {
        let e = name.trim_start_matches("expect ");
        assert_eq!(message, &detail(e), "{name}");
    }
    let names: Vec<&str> = cases.iter().map(|(_, n, _)| n.as_str()).collect();
    assert!(names.starts_with(&["connected", "call"]), "{names:?}");
    assert!(
        cases
            .iter()
            .all(|(suite, _, _)| suite == "rtccall dial expect")
    );
}

/// The conditions on a data-channel throughput test and ICE restarts, on a direct call.
#[test]
fn data_and_restart_conditions_hold_or_fail() {
    let _suite = shared();
    let server = format!("ws://127.0.0.1:{}/", free_port());
    let common = ["--bind", "127.0.0.1:0", "--audio", "tone", "--no-speaker"];
    let mut a_args = common.to_vec();
    a_args.extend(["--duration", "8"]);
    let answer = Proc::spawn(&call_args("answer", "expect-data", &server, &a_args));
    let mut args = common.to_vec();
    args.extend([
        "--duration",
        "5",
        "--data-throughput",
        "1",
        "--restart-ice-after",
        "1",
    ]);
    for e in ["data>=1", "restarts>=1", "data>=1000000", "restarts<=0"] {
        args.extend(["--expect", e]);
    }
    let d = Proc::spawn(&call_args("dial", "expect-data", &server, &args))
        .finish(Duration::from_secs(60));
    let _ = answer.finish(Duration::from_secs(60));
    assert_eq!(d.code, 7, "{}\n{}", d.stderr, d.stdout.join("\n"));
    let met: Vec<(String, bool)> = d
        .summary()
        .expectations
        .iter()
        .map(|e| (e.expect.clone(), e.met))
        .collect();
    assert_eq!(
        met,
        [
            ("data>=1".to_string(), true),
            ("restarts>=1".to_string(), true),
            ("data>=1000000".to_string(), false),
            ("restarts<=0".to_string(), false)
        ],
        "{:?}",
        d.summary().expectations
    );
}

#[test]
fn a_bad_condition_is_a_usage_error_naming_it() {
    let f = Proc::spawn(&["dial", "x", "--expect", "speed>3"]).finish(Duration::from_secs(10));
    assert_eq!(f.code, 2, "{}", f.stderr);
    assert!(f.stderr.contains("speed>3"), "{}", f.stderr);
    let f = Proc::spawn(&["answer", "x", "--expect", "loss<lots"]).finish(Duration::from_secs(10));
    assert_eq!(f.code, 2, "{}", f.stderr);
    assert!(f.stderr.contains("loss<lots"), "{}", f.stderr);
}

#[test]
fn a_probe_writes_its_steps_as_junit() {
    let _suite = shared();
    let turn = Turn::start(&TURN_TEST_USER);
    let dir = Scratch::new("probe-junit");
    let junit = dir.str("probe.xml");
    let good = format!("turn:test:secret@127.0.0.1:{}", turn.port);
    // Nothing listens there: its steps fail.
    let bad = format!("stun:127.0.0.1:{}", free_port());
    let f = Proc::spawn(&[
        "probe",
        "--ice-server",
        &good,
        "--ice-server",
        &bad,
        "--no-call",
        "--expect",
        "relay",
        "--expect",
        "tls",
        "--step-timeout",
        "1",
        "--json",
        "--junit",
        &junit,
    ])
    .finish(Duration::from_secs(60));
    assert_eq!(f.code, 1, "{}", f.stderr);
    let cases = junit_cases(&junit);
    let suites: Vec<&str> = cases.iter().map(|(s, _, _)| s.as_str()).collect();
    assert!(
        suites
            .iter()
            .any(|s| s.contains(&format!("127.0.0.1:{}", turn.port))),
        "{suites:?}"
    );
    let failing: Vec<&JunitCase> = cases.iter().filter(|(_, _, r)| !r.is_empty()).collect();
    // The TURN server passes every step; the dead STUN server fails with an explanation;
    // `tls` is not met.
    assert!(
        failing
            .iter()
            .all(|(s, n, _)| !s.contains("turn:") || n.starts_with("verdict")),
        "{failing:?}"
    );
    assert!(
        failing.iter().any(|(s, n, r)| s.contains("stun:")
            && n.starts_with("stun-binding")
            && !r[0].1.is_empty()),
        "{failing:?}"
    );
    assert!(
        failing
            .iter()
            .any(|(_, n, r)| n == "expect tls" && r[0].1.contains("TLS")),
        "{failing:?}"
    );
    assert!(
        cases
            .iter()
            .any(|(_, n, r)| n == "expect relay" && r.is_empty()),
        "{cases:?}"
    );
}
