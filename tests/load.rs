//! `rtccall load`: many calls in one process through real `serve` instances (one, two on a
//! real Redis, one stopped mid-run) and relay-only through coturn; the summary checked
//! against the per-call records, and the JUnit file read back by junitparser.

use std::time::Duration;

use rtccall::report::load_schema::{LoadCall, LoadRecord, LoadSummary};

use crate::common::*;
use crate::expect::junit_cases;
use crate::serve::Redis;

/// Run a load with `--json`; (exit code, side records, summary, stderr).
fn load(args: &[&str], wait: Duration) -> (i32, Vec<LoadCall>, LoadSummary, String) {
    let mut all = vec!["load", "--json", "--bind", "127.0.0.1:0"];
    all.extend_from_slice(args);
    let f = Proc::spawn(&all).finish(wait);
    let mut sides = Vec::new();
    let mut summary = None;
    for l in &f.stdout {
        let r: LoadRecord =
            serde_json::from_str(l).unwrap_or_else(|e| panic!("bad load record {l}: {e}"));
        match r {
            LoadRecord::LoadCall(c) => sides.push(c),
            LoadRecord::LoadSummary(s) => summary = Some(s),
            LoadRecord::LoadProgress(_) => {}
        }
    }
    let summary =
        summary.unwrap_or_else(|| panic!("no load-summary (exit {}): {}", f.code, f.stderr));
    (f.code, sides, summary, f.stderr)
}

/// A serve that takes many joins from one address.
fn busy_serve(extra: &[&str]) -> (Proc, String) {
    let mut args = vec!["--max-per-ip", "0", "--join-rate", "0"];
    args.extend_from_slice(extra);
    serve_with(&args)
}

#[test]
fn twenty_calls_through_serve_add_up_and_write_junit() {
    let _suite = shared();
    let (_serve, url) = busy_serve(&[]);
    let dir = Scratch::new("load");
    let junit = dir.str("load.xml");
    let (code, sides, s, stderr) = load(
        &[
            "--server",
            &url,
            "--calls",
            "20",
            "--rate",
            "20",
            "--duration",
            "4",
            "--expect",
            "loss<1",
            "--expect",
            "fps>=10",
            "--junit",
            &junit,
        ],
        Duration::from_secs(90),
    );
    assert_eq!(code, 0, "{stderr}\n{s:?}");
    assert_eq!((s.calls, s.started, s.connected, s.failed), (20, 20, 20, 0));
    assert_eq!((s.sides as usize, sides.len()), (40, 40));
    // One call in ten (the default --decode) decodes; the others count.
    assert_eq!(s.decoded_sides, 4);
    assert_eq!(sides.iter().filter(|c| c.decoded).count(), 4);
    // The table adds up to the records.
    let frames: u64 = sides.iter().map(|c| c.video_frames).sum();
    assert_eq!(s.video_frames, frames);
    let total: f64 = sides.iter().map(|c| c.bitrate_in_kbps).sum::<f64>() / 1000.0;
    assert!((s.total_bitrate_in_mbit_s - total).abs() < 0.05, "{s:?}");
    assert_eq!(s.dtls_connected_ms.as_ref().map(|d| d.n), Some(40));
    let mut dtls: Vec<f64> = sides.iter().filter_map(|c| c.dtls_connected_ms).collect();
    dtls.sort_by(f64::total_cmp);
    assert_eq!(
        s.dtls_connected_ms.as_ref().unwrap().p50,
        (dtls[20] * 10.0).round() / 10.0
    );
    for c in &sides {
        assert!(c.connected && c.failed.is_none(), "{c:?}");
        // 4 s of 320x240 at 15 fps and a tone, checked whether decoded or counted.
        assert!(c.video_frames >= 45, "{c:?}");
        assert!(c.audio_ms >= 3000, "{c:?}");
        assert!(c.bitrate_in_kbps > 100.0, "{c:?}");
        assert!(c.latency_ms.is_some(), "{c:?}");
    }
    assert!(s.cpu_pct > 0.0 && s.rss_mib > 10.0, "{s:?}");
    assert!(s.expectations.iter().all(|e| e.met), "{:?}", s.expectations);
    // The JUnit file: a suite per side and one for the load, nothing failed.
    let cases = junit_cases(&junit);
    assert!(cases.iter().all(|(_, _, r)| r.is_empty()), "{cases:?}");
    let suites: std::collections::BTreeSet<&str> =
        cases.iter().map(|(s, _, _)| s.as_str()).collect();
    assert_eq!(suites.len(), 41, "{suites:?}");
    assert!(
        cases
            .iter()
            .any(|(s, n, _)| s == "load" && n == "all calls connected")
    );
}

#[test]
fn calls_relay_only_through_coturn() {
    let _suite = shared();
    let (_serve, url) = busy_serve(&[]);
    let turn = Turn::start(&TURN_TEST_USER);
    let ice = format!("turn:test:secret@127.0.0.1:{}", turn.port);
    let (code, sides, s, stderr) = load(
        &[
            "--server",
            &url,
            "--calls",
            "20",
            "--rate",
            "20",
            "--duration",
            "3",
            "--relay-only",
            "--ice-server",
            &ice,
            "--media",
            "audio",
            "--expect",
            "path=relay",
        ],
        Duration::from_secs(90),
    );
    assert_eq!(code, 0, "{stderr}\n{s:?}\n{}", turn.log());
    assert_eq!((s.connected, s.failed), (20, 0), "{s:?}");
    assert!(
        sides
            .iter()
            .all(|c| c.expectations.iter().all(|e| e.met) && c.audio_ms >= 2000),
        "{sides:?}"
    );
}

#[test]
fn a_server_stopped_mid_run_fails_the_later_calls_in_signaling() {
    let _suite = shared();
    let (mut serve, url) = busy_serve(&[]);
    let mut p = Proc::spawn(&[
        "load",
        "--json",
        "--bind",
        "127.0.0.1:0",
        "--server",
        &url,
        "--calls",
        "12",
        "--rate",
        "4",
        "--duration",
        "3",
        "--timeout",
        "5",
        "--media",
        "audio",
    ]);
    // Stop the server once a few calls are up.
    p.wait_line(Duration::from_secs(30), |l| {
        l.contains("load-progress") && !l.contains("\"connected\":0,")
    });
    let _ = serve.child.kill();
    let _ = serve.child.wait();
    let f = p.finish(Duration::from_secs(90));
    let s = match serde_json::from_str::<LoadRecord>(f.stdout.last().expect("records")) {
        Ok(LoadRecord::LoadSummary(s)) => s,
        other => panic!("last record is not the summary: {other:?}\n{}", f.stderr),
    };
    assert_eq!(f.code, 3, "{s:?}\n{}", f.stderr);
    assert_eq!(s.started, 12);
    // The calls up before the stop went on; the others failed in signaling, and why.
    assert!(s.connected >= 1 && s.failed >= 1, "{s:?}");
    assert_eq!(s.connected + s.failed, 12, "{s:?}");
    assert!(
        s.failures
            .iter()
            .all(|x| x.phase == "signaling" && !x.reason.is_empty()),
        "{:?}",
        s.failures
    );
}

#[test]
fn calls_spread_over_two_servers_on_redis_all_connect() {
    let _suite = shared();
    let redis = Redis::start_on(free_port());
    let prefix = format!("load{}", std::process::id());
    let r = redis.url();
    let (_one, url1) = busy_serve(&["--redis", &r, "--redis-prefix", &prefix]);
    let (_two, url2) = busy_serve(&["--redis", &r, "--redis-prefix", &prefix]);
    let (code, sides, s, stderr) = load(
        &[
            "--server",
            &url1,
            "--server",
            &url2,
            "--calls",
            "10",
            "--rate",
            "10",
            "--duration",
            "3",
            "--media",
            "audio",
        ],
        Duration::from_secs(90),
    );
    assert_eq!(code, 0, "{stderr}\n{s:?}");
    assert_eq!((s.connected, s.failed), (10, 0), "{s:?}");
    // Each call's two sides met across the two servers.
    for c in &sides {
        let other = sides
            .iter()
            .find(|o| o.call == c.call && o.role != c.role)
            .expect("both sides");
        assert_ne!(c.server, other.server, "{c:?}");
    }
    let on_one = sides.iter().filter(|c| c.server == url1).count();
    assert_eq!(on_one, 10);
}

#[test]
fn two_processes_share_the_calls_by_side() {
    let _suite = shared();
    let (_serve, url) = busy_serve(&[]);
    let rooms = format!("sides{}", std::process::id());
    let side = |which: &'static str| {
        Proc::spawn(&[
            "load",
            "--json",
            "--bind",
            "127.0.0.1:0",
            "--server",
            &url,
            "--calls",
            "5",
            "--rate",
            "10",
            "--duration",
            "3",
            "--media",
            "audio",
            "--rooms",
            &rooms,
            "--side",
            which,
        ])
    };
    let answers = side("answer");
    let dials = side("dial");
    for (name, p) in [("dial", dials), ("answer", answers)] {
        let f = p.finish(Duration::from_secs(90));
        let s = match serde_json::from_str::<LoadRecord>(f.stdout.last().expect("records")) {
            Ok(LoadRecord::LoadSummary(s)) => s,
            other => panic!(
                "{name}: last record is not the summary: {other:?}\n{}",
                f.stderr
            ),
        };
        assert_eq!(f.code, 0, "{name}: {s:?}\n{}", f.stderr);
        assert_eq!((s.sides, s.connected, s.failed), (5, 5, 0), "{name}: {s:?}");
    }
}

#[test]
fn a_server_with_a_secret_takes_the_tokens_load_mints() {
    let _suite = shared();
    let secret = "load-test-secret-0123456789";
    let (_serve, url) = busy_serve(&["--secret", secret]);
    let (code, _, s, stderr) = load(
        &[
            "--server",
            &url,
            "--calls",
            "3",
            "--rate",
            "10",
            "--duration",
            "2",
            "--media",
            "audio",
            "--serve-secret",
            secret,
        ],
        Duration::from_secs(60),
    );
    assert_eq!(code, 0, "{stderr}\n{s:?}");
    assert_eq!((s.connected, s.failed), (3, 0), "{s:?}");
    // Without it, every call is refused in signaling, and says why.
    let (code, _, s, _) = load(
        &[
            "--server",
            &url,
            "--calls",
            "2",
            "--rate",
            "10",
            "--duration",
            "2",
            "--media",
            "audio",
            "--timeout",
            "5",
        ],
        Duration::from_secs(60),
    );
    assert_eq!(code, 3, "{s:?}");
    assert!(
        s.failures
            .iter()
            .all(|f| f.phase == "signaling" && f.reason.contains("access token")),
        "{:?}",
        s.failures
    );
}
