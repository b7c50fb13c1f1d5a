//! Firefox ESR in the interop grid: headless Firefox (Debian's firefox-esr, driven by
//! `tests/peers/firefox.js` over WebDriver BiDi) publishes to `serve`'s WHIP endpoint, plays a
//! terminal from its WHEP endpoint, and calls a terminal through the call page both ways.
//! Firefox offers no loopback candidates, so everything runs in a network namespace of the
//! test's own with a veth address and a default route through it; nftables in the namespace
//! drops whatever would leave for anywhere but the veth's /30.

use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::common::*;

const ROOT_IP: &str = "10.205.1.1";
const NS_IP: &str = "10.205.1.2";
const PORT: u16 = 8797;

/// The namespace, shaped as tests/peers/firefox.md says.
fn lab() -> Netns {
    let mut ns = Netns::new("ffx");
    ns.veth_to_root(&format!("{ROOT_IP}/30"), &format!("{NS_IP}/30"));
    ns.ip(&["route", "add", "default", "via", ROOT_IP]);
    ns.nft("add table inet rtccall_ffx");
    ns.nft(
        "add chain inet rtccall_ffx output { type filter hook output priority 0 ; policy drop ; }",
    );
    ns.nft("add rule inet rtccall_ffx output oifname lo accept");
    ns.nft(&format!(
        "add rule inet rtccall_ffx output ip daddr {ROOT_IP}/30 accept"
    ));
    ns
}

/// `node tests/peers/firefox.js MODE URL --seconds N` in the namespace: its JSON report (and
/// its log, for failures).
fn firefox(ns: &Netns, mode: &str, url: &str, seconds: &str) -> (Value, String) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/firefox.js");
    let out = Command::new("ip")
        .args(&ns.wrapper()[1..])
        .args(["node", script, mode, url, "--seconds", seconds])
        .stdin(Stdio::null())
        .output()
        .expect("node runs (bash .ci/install-firefox)");
    let log = String::from_utf8_lossy(&out.stderr).to_string();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report = serde_json::from_str(stdout.lines().last().unwrap_or(""))
        .unwrap_or_else(|e| panic!("firefox.js printed {stdout:?} ({e}); log:\n{log}"));
    (report, log)
}

/// A terminal in `room` inside the namespace, joined.
fn terminal(ns: &Netns, role: &str, room: &str, extra: &[&str]) -> Proc {
    let server = format!("ws://{NS_IP}:{PORT}/");
    let bind = format!("{NS_IP}:0");
    let mut args = vec![
        role,
        room,
        "--server",
        &server,
        "--json",
        "--bind",
        &bind,
        "--audio",
        "tone",
        "--no-speaker",
        "--video-size",
        "320x240",
        "--timeout",
        "40",
    ];
    args.extend_from_slice(extra);
    let mut p = Proc::spawn_wrapped(&ns.wrapper(), &args, &[]);
    if role == "answer" {
        p.wait_line(Duration::from_secs(15), |l| l.contains("\"joined\""));
    }
    p
}

#[track_caller]
fn assert_got_media(f: &Finished) {
    assert_eq!(f.code, 0, "{}", f.stderr);
    let s = f.summary();
    assert!(
        s.video.frames_decoded > 10,
        "video from Firefox: {:?}",
        s.video
    );
    assert!(
        s.audio.decoded_ms > 1000,
        "audio from Firefox: {:?}",
        s.audio
    );
}

/// Firefox publishes by WHIP and plays by WHEP through `serve`, and the call page in Firefox
/// dials a terminal and is dialed by one; media both ways where there are two ways.
#[test]
fn firefox_publishes_plays_and_calls() {
    let _alone = alone();
    let ns = lab();
    let mut server = Proc::spawn_wrapped(
        &ns.wrapper(),
        &["serve", "--listen", &format!("{NS_IP}:{PORT}"), "--json"],
        &[],
    );
    server.wait_line(Duration::from_secs(10), |l| l.contains("listening"));
    let base = format!("http://{NS_IP}:{PORT}");

    // WHIP: Firefox's fake camera and microphone to a terminal; the DELETE ends its call.
    let t = terminal(
        &ns,
        "answer",
        "ffx-whip",
        &["--auto-accept", "--video", "none"],
    );
    let (r, log) = firefox(&ns, "whip", &format!("{base}/whip/ffx-whip"), "4");
    assert_eq!(r["ok"], true, "{r}\n{log}");
    assert_eq!(r["status"], 201, "{r}");
    eprintln!(
        "Firefox WHIP publish to serve: connected {} ms after its offer",
        r["connected_ms"]
    );
    let f = t.finish(Duration::from_secs(30));
    assert_got_media(&f);
    assert_eq!(f.summary().end_reason, "remote-bye");

    // WHEP: Firefox plays a terminal's tone and test pattern.
    let t = terminal(&ns, "answer", "ffx-whep", &["--auto-accept"]);
    let (r, log) = firefox(&ns, "whep", &format!("{base}/whep/ffx-whep"), "4");
    assert_eq!(r["ok"], true, "{r}\n{log}");
    assert!(r["frames_decoded"].as_u64().unwrap_or(0) > 10, "{r}");
    assert!(r["audio_samples"].as_u64().unwrap_or(0) > 48_000, "{r}");
    eprintln!(
        "Firefox WHEP play from serve: connected {} ms after its offer",
        r["connected_ms"]
    );
    let f = t.finish(Duration::from_secs(30));
    assert_eq!(f.code, 0, "{}", f.stderr);
    assert_eq!(f.summary().end_reason, "remote-bye");

    // The call page in Firefox dials a waiting terminal.
    let t = terminal(
        &ns,
        "answer",
        "ffx-page",
        &["--auto-accept", "--duration", "5"],
    );
    let (r, log) = firefox(
        &ns,
        "page",
        &format!("{base}/?room=ffx-page&autojoin=1"),
        "3",
    );
    assert_eq!(r["ok"], true, "{r}\n{log}");
    assert!(r["frames_decoded"].as_u64().unwrap_or(0) > 10, "{r}");
    assert_got_media(&t.finish(Duration::from_secs(30)));

    // A terminal dials the call page in Firefox.
    let page = std::thread::spawn({
        let url = format!("{base}/?room=ffx-term&autojoin=1");
        let ns_name = ns.wrapper()[3].to_string();
        move || {
            let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/firefox.js");
            Command::new("ip")
                .args([
                    "netns",
                    "exec",
                    &ns_name,
                    "node",
                    script,
                    "page",
                    &url,
                    "--seconds",
                    "3",
                ])
                .stdin(Stdio::null())
                .output()
                .expect("node runs")
        }
    });
    // The page joins first (a dialer alone in the room waits for it anyway).
    let d = terminal(&ns, "dial", "ffx-term", &["--duration", "5"]);
    let f = d.finish(Duration::from_secs(40));
    let out = page.join().unwrap();
    let report: Value = serde_json::from_slice(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .unwrap_or("")
            .as_bytes(),
    )
    .unwrap_or(Value::Null);
    assert_eq!(
        report["ok"],
        true,
        "{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_got_media(&f);
}
