//! JUnit XML for CI systems (`--junit FILE`): a call, a probe or a load as test suites, one
//! test case per step or expectation, failures carrying the explanations (quick-junit).

use std::path::Path;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};

use super::load_schema::{LoadCall, LoadSummary};
use super::probe_schema::{ProbeRecord, Status, Step};
use super::schema::{Expectation, Summary};

fn secs(ms: f64) -> Duration {
    Duration::from_secs_f64((ms / 1000.0).max(0.0))
}

fn failed(kind: NonSuccessKind, message: &str, ty: &str) -> TestCaseStatus {
    let mut s = TestCaseStatus::non_success(kind);
    s.set_message(message).set_type(ty);
    s
}

/// One test case per expectation.
fn expectation_cases(classname: &str, expectations: &[Expectation]) -> Vec<TestCase> {
    expectations
        .iter()
        .map(|e| {
            let status = if e.met {
                TestCaseStatus::success()
            } else {
                failed(NonSuccessKind::Failure, &e.detail, "expectation")
            };
            let mut c = TestCase::new(format!("expect {}", e.expect), status);
            c.set_classname(classname).set_system_out(e.detail.as_str());
            c
        })
        .collect()
}

/// A call as one test suite named `name`: `connected` (fails with the error that ended the
/// call or stopped it connecting), `call` (fails with an error after connecting), then one
/// case per `--expect`; the key figures as properties.
pub fn call_suite(name: &str, s: &Summary) -> TestSuite {
    let classname = format!("rtccall.{}", s.role);
    let mut suite = TestSuite::new(name);
    suite.set_time(Duration::from_secs_f64(s.duration_s.max(0.0)));
    let error = s.error.as_deref().unwrap_or("the call ended with an error");
    let connect_status = if s.connected {
        TestCaseStatus::success()
    } else {
        failed(NonSuccessKind::Error, error, "not-connected")
    };
    let mut connected = TestCase::new("connected", connect_status);
    connected.set_classname(classname.as_str());
    if let Some(ms) = s.timings_ms.dtls_connected {
        connected.set_time(secs(ms));
    }
    if let Some(p) = &s.selected_pair {
        connected.set_system_out(format!("selected pair {p}"));
    }
    suite.add_test_case(connected);
    if s.connected {
        let status = match (&s.error, s.exit_code) {
            (Some(e), code) if code != 0 => failed(NonSuccessKind::Error, e, s.end_reason.as_str()),
            _ => TestCaseStatus::success(),
        };
        let mut call = TestCase::new("call", status);
        call.set_classname(classname.as_str())
            .set_time(Duration::from_secs_f64(s.duration_s.max(0.0)))
            .set_system_out(format!("ended: {}", s.end_reason));
        suite.add_test_case(call);
    }
    suite.add_test_cases(expectation_cases(&classname, &s.expectations));
    let mut props: Vec<Property> = vec![
        Property::new("role", s.role.as_str()),
        Property::new("room", s.room.as_str()),
        Property::new("exit_code", s.exit_code.to_string()),
        Property::new("end_reason", s.end_reason.as_str()),
        Property::new("duration_s", s.duration_s.to_string()),
    ];
    let mut opt = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            props.push(Property::new(k, v));
        }
    };
    opt(
        "dtls_connected_ms",
        s.timings_ms.dtls_connected.map(|v| v.to_string()),
    );
    opt(
        "selected_pair",
        s.selected_pair.as_ref().map(ToString::to_string),
    );
    opt(
        "rtt_ms",
        s.selected_pair
            .as_ref()
            .and_then(|p| p.rtt_ms)
            .map(|v| v.to_string()),
    );
    opt("video_codec", Some(s.video.codec.clone()));
    opt(
        "video_frames_decoded",
        Some(s.video.frames_decoded.to_string()),
    );
    opt("audio_decoded_ms", Some(s.audio.decoded_ms.to_string()));
    let lost = s.audio.packets_lost.max(0) + s.video.packets_lost.max(0);
    opt("packets_lost", Some(lost.to_string()));
    opt(
        "video_latency_p95_ms",
        s.video.latency_ms.as_ref().map(|l| l.p95.to_string()),
    );
    opt(
        "audio_latency_p95_ms",
        s.audio.latency_ms.as_ref().map(|l| l.p95.to_string()),
    );
    suite.add_properties(props);
    suite
}

/// A call as a JUnit report.
pub fn call(s: &Summary) -> Report {
    let mut report = Report::new("rtccall");
    report.add_test_suite(call_suite(&format!("rtccall {} {}", s.role, s.room), s));
    report
}

fn step_case(step: &Step) -> TestCase {
    let name = match &step.transport {
        Some(t) if !step.step.contains(t.as_str()) => format!("{} ({t})", step.step),
        _ => step.step.clone(),
    };
    let why = match &step.explanation {
        Some(e) => format!("{}: {e}", step.message),
        None => step.message.clone(),
    };
    let status = match step.status {
        Status::Fail => failed(NonSuccessKind::Failure, &why, &step.step),
        _ => TestCaseStatus::success(),
    };
    let mut c = TestCase::new(name, status);
    c.set_classname(format!("rtccall.probe.{}", step.step))
        .set_time(secs(step.duration_ms));
    // A warning passes, and says why in its output.
    c.set_system_out(match step.status {
        Status::Warn => format!("warning: {why}"),
        _ => why,
    });
    c
}

/// A probe as a JUnit report: a suite per server (its steps in order), and one for the
/// expectations and verdict.
pub fn probe(records: &[ProbeRecord]) -> Report {
    let mut report = Report::new("rtccall probe");
    let mut order: Vec<String> = Vec::new();
    let mut by_server: std::collections::HashMap<String, Vec<&Step>> = Default::default();
    for r in records {
        if let ProbeRecord::Step(s) = r {
            if !by_server.contains_key(&s.server) {
                order.push(s.server.clone());
            }
            by_server.entry(s.server.clone()).or_default().push(s);
        }
    }
    for server in &order {
        let steps = &by_server[server];
        let name = if server == "*" {
            "this machine".to_string()
        } else {
            server.clone()
        };
        let mut suite = TestSuite::new(format!("probe {name}"));
        suite.add_test_cases(steps.iter().map(|s| step_case(s)));
        let total: f64 = steps.iter().map(|s| s.duration_ms).sum();
        suite.set_time(secs(total));
        suite.add_property(Property::new("server", server.as_str()));
        report.add_test_suite(suite);
    }
    for r in records {
        if let ProbeRecord::Summary(sum) = r {
            let mut suite = TestSuite::new("probe verdict");
            for v in &sum.servers {
                let status = if v.verdict == Status::Fail {
                    failed(
                        NonSuccessKind::Failure,
                        &format!("failed steps: {}", v.failed.join(", ")),
                        "verdict",
                    )
                } else {
                    TestCaseStatus::success()
                };
                let mut c = TestCase::new(format!("verdict {}", v.server), status);
                c.set_classname("rtccall.probe.verdict");
                suite.add_test_case(c);
            }
            suite.add_test_cases(expectation_cases("rtccall.probe.expect", &sum.expectations));
            suite.set_time(secs(sum.ms));
            suite.add_property(Property::new("exit_code", sum.exit_code.to_string()));
            report.add_test_suite(suite);
        }
    }
    report
}

/// A load as a JUnit report: a suite per side of each call (connected, media, each
/// expectation), and one for the load (calls connected, each expectation over all sides).
pub fn load(sides: &[LoadCall], s: &LoadSummary) -> Report {
    let mut report = Report::new("rtccall load");
    for c in sides {
        let classname = format!("rtccall.load.{}", c.role);
        let mut suite = TestSuite::new(format!("load call {} {} {}", c.call, c.role, c.room));
        suite.set_time(Duration::from_secs_f64(c.duration_s.max(0.0)));
        let why = c.reason.as_deref().unwrap_or("failed");
        for (name, ok, time) in [
            ("connected", c.connected, c.dtls_connected_ms),
            (
                "media",
                c.failed.is_none(),
                c.first_video_ms.or(c.first_audio_ms),
            ),
        ] {
            let status = if ok {
                TestCaseStatus::success()
            } else {
                failed(
                    NonSuccessKind::Failure,
                    &format!("failed in {}: {why}", c.failed.as_deref().unwrap_or("?")),
                    c.failed.as_deref().unwrap_or("failed"),
                )
            };
            let mut case = TestCase::new(name, status);
            case.set_classname(classname.as_str());
            if let Some(ms) = time {
                case.set_time(secs(ms));
            }
            suite.add_test_case(case);
        }
        suite.add_test_cases(expectation_cases(&classname, &c.expectations));
        suite.add_properties([
            Property::new("server", c.server.as_str()),
            Property::new("bitrate_in_kbps", c.bitrate_in_kbps.to_string()),
            Property::new("loss_pct", c.loss_pct.to_string()),
            Property::new("exit_code", c.exit_code.to_string()),
        ]);
        report.add_test_suite(suite);
    }
    let mut suite = TestSuite::new("load");
    let status = if s.failed == 0 && s.connected == s.calls {
        TestCaseStatus::success()
    } else {
        let reasons: Vec<String> = s
            .failures
            .iter()
            .map(|f| format!("{} in {}: {}", f.calls, f.phase, f.reason))
            .collect();
        failed(
            NonSuccessKind::Failure,
            &format!(
                "{} of {} calls connected; {}",
                s.connected,
                s.calls,
                reasons.join("; ")
            ),
            "calls",
        )
    };
    let mut all = TestCase::new("all calls connected", status);
    all.set_classname("rtccall.load")
        .set_time(Duration::from_secs_f64(s.duration_s));
    suite.add_test_case(all);
    suite.add_test_cases(expectation_cases("rtccall.load.expect", &s.expectations));
    suite.add_properties([
        Property::new("calls", s.calls.to_string()),
        Property::new("connected", s.connected.to_string()),
        Property::new("failed", s.failed.to_string()),
        Property::new("cpu_pct", s.cpu_pct.to_string()),
        Property::new("rss_mib", s.rss_mib.to_string()),
        Property::new("loss_pct", s.loss_pct.to_string()),
        Property::new("exit_code", s.exit_code.to_string()),
    ]);
    report.add_test_suite(suite);
    report
}

/// Write `report` to `path` when asked (`--junit`): the exit code the command then ends with
/// (`code`, or 2 when the file could not be written and nothing else failed).
pub fn write_for(path: Option<&Path>, report: impl FnOnce() -> Report, code: i32) -> i32 {
    let Some(path) = path else { return code };
    match write(path, &report()) {
        Ok(()) => code,
        Err(e) => {
            eprintln!("rtccall: error: {e}");
            if code == crate::exit::OK {
                crate::exit::USAGE
            } else {
                code
            }
        }
    }
}

/// Write a report to `path` (through a temporary file beside it, so a reader never sees half
/// of one).
fn write(path: &Path, report: &Report) -> Result<(), String> {
    let xml = report
        .to_string()
        .map_err(|e| format!("--junit {}: {e}", path.display()))?;
    let tmp = path.with_extension("xml.part");
    std::fs::write(&tmp, xml)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            format!("--junit {}: {e}", path.display())
        })
}
