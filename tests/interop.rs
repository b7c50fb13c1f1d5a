//! Interop: rtccall against GStreamer's webrtcbin (tests/peers/webrtcbin.py, a peer written
//! from the README's protocol alone), both directions, VP8 and H.264. Both sides must decode at
//! least 80 % of the video the other sent, audio must arrive both ways, and the selected pair
//! must name the real address of the other side.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::*;
use rtccall::report::schema::Summary;

/// Real-time calls take turns: two at once starve each other's encoders on two cores.
fn take_turn() -> std::sync::MutexGuard<'static, ()> {
    static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());
    TURN.lock().unwrap_or_else(|p| p.into_inner())
}

/// What the webrtcbin peer reports on stdout.
#[derive(Debug, serde::Deserialize)]
struct Gst {
    connected: bool,
    video_frames_decoded: u64,
    audio_samples_decoded: u64,
    video_codec_received: Option<String>,
    video_frames_sent: u64,
    pings: u64,
    pongs: u64,
    offer_ssrc: serde_json::Value,
    exit_code: i32,
}

struct GstPeer {
    child: std::process::Child,
}

impl GstPeer {
    fn start(url: &str, room: &str, role: &str, codec: &str, extra: &[&str]) -> GstPeer {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/webrtcbin.py");
        let child = Command::new("/usr/bin/python3")
            .arg(script)
            .args([
                "--server", url, "--room", room, "--role", role, "--codec", codec,
            ])
            .args(["--duration", "5", "--timeout", "30"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the webrtcbin peer (/usr/bin/python3 with python3-gi)");
        GstPeer { child }
    }

    #[track_caller]
    fn finish(mut self) -> (Gst, String) {
        let mut out = String::new();
        let mut err = String::new();
        let mut stdout = self.child.stdout.take().unwrap();
        let mut stderr = self.child.stderr.take().unwrap();
        let e = std::thread::spawn(move || {
            let _ = stderr.read_to_string(&mut err);
            err
        });
        let _ = stdout.read_to_string(&mut out);
        let _ = self.child.wait();
        let err = e.join().unwrap_or_default();
        let report = serde_json::from_str(out.trim())
            .unwrap_or_else(|e| panic!("webrtcbin peer printed {out:?} ({e}); stderr:\n{err}"));
        (report, err)
    }
}

impl GstPeer {
    /// The webrtcbin peer as a WHIP client publishing to `whip` (its own script, `--whip`).
    fn publish(whip: &str, codec: &str) -> GstPeer {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/webrtcbin.py");
        let child = Command::new("/usr/bin/python3")
            .arg(script)
            .args([
                "--whip",
                whip,
                "--codec",
                codec,
                "--duration",
                "5",
                "--timeout",
                "30",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the webrtcbin peer (/usr/bin/python3 with python3-gi)");
        GstPeer { child }
    }
}

impl Drop for GstPeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Run one call: rtccall in `role` with `args`, the webrtcbin peer in the other role.
fn call(
    room: &str,
    role: &str,
    args: &[&str],
    gst_codec: &str,
    gst_extra: &[&str],
) -> (Summary, Gst) {
    let _turn = take_turn();
    let (_server, url) = serve();
    let mut rtc_args = call_args(role, room, &url, &["--duration", "5"]);
    rtc_args.extend_from_slice(args);
    let (rtccall, gst) = if role == "answer" {
        let r = Proc::spawn(&rtc_args);
        std::thread::sleep(Duration::from_millis(300));
        (r, GstPeer::start(&url, room, "dial", gst_codec, gst_extra))
    } else {
        let g = GstPeer::start(&url, room, "answer", gst_codec, gst_extra);
        std::thread::sleep(Duration::from_millis(300));
        (Proc::spawn(&rtc_args), g)
    };
    let f = rtccall.finish(Duration::from_secs(40));
    let (g, gst_log) = gst.finish();
    assert_eq!(
        f.code, 0,
        "rtccall stderr: {}\nwebrtcbin stderr:\n{gst_log}",
        f.stderr
    );
    assert_eq!(g.exit_code, 0, "webrtcbin: {g:?}\n{gst_log}");
    assert!(g.connected);
    (f.summary(), g)
}

#[track_caller]
fn assert_both_ways(s: &Summary, g: &Gst, codec: &str) {
    let v = &s.video;
    eprintln!(
        "webrtcbin decoded {}/{} of rtccall's frames, rtccall {}/{} of webrtcbin's; audio {} packets in, {} samples out",
        g.video_frames_decoded,
        v.frames_sent,
        v.frames_decoded,
        g.video_frames_sent,
        s.audio.packets_received,
        g.audio_samples_decoded
    );
    assert!(v.frames_sent > 60, "{v:?}");
    assert!(
        g.video_frames_decoded * 100 >= v.frames_sent * 80,
        "webrtcbin decoded {} of the {} frames rtccall sent",
        g.video_frames_decoded,
        v.frames_sent
    );
    assert!(g.video_frames_sent > 60, "{g:?}");
    assert!(
        v.frames_decoded * 100 >= g.video_frames_sent * 80,
        "rtccall decoded {} of the {} frames webrtcbin sent",
        v.frames_decoded,
        g.video_frames_sent
    );
    assert_eq!(v.codec, codec, "what rtccall sent");
    let want = if codec == "H.264" { "H264" } else { "VP8" };
    assert_eq!(g.video_codec_received.as_deref(), Some(want));
    // Audio both ways: 5 s of 20 ms Opus frames is 250 packets.
    assert!(s.audio.packets_received >= 200, "{:?}", s.audio);
    assert!(s.audio.decoded_ms >= 4000, "{:?}", s.audio);
    assert!(g.audio_samples_decoded >= 4 * 48_000, "{g:?}");
    let pair = s.selected_pair.as_ref().expect("a selected pair");
    assert_eq!(pair.remote.address, "127.0.0.1", "{pair}");
    assert_ne!(pair.remote.port, 0, "{pair}");
}

#[test]
fn rtccall_dials_webrtcbin_vp8() {
    let _suite = shared();
    let (s, g) = call("gst-dial-vp8", "dial", &[], "vp8", &[]);
    assert_both_ways(&s, &g, "VP8");
    assert!(g.pings > 20, "webrtcbin answered our pings: {g:?}");
    assert!(s.data.echoes_received > 20, "{:?}", s.data);
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
}

#[test]
fn rtccall_dials_webrtcbin_h264() {
    let _suite = shared();
    let (s, g) = call(
        "gst-dial-h264",
        "dial",
        &["--video-codec", "h264"],
        "h264",
        &[],
    );
    assert_both_ways(&s, &g, "H.264");
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
}

#[test]
fn webrtcbin_dials_rtccall_vp8() {
    let _suite = shared();
    let (s, g) = call("gst-answer-vp8", "answer", &["--auto-accept"], "vp8", &[]);
    assert_both_ways(&s, &g, "VP8");
    assert!(
        s.data.pings_echoed > 20 && g.pongs > 20,
        "{:?} {g:?}",
        s.data
    );
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
}

/// Also: webrtcbin opens its liveness channel under a label of its own, and rtccall answers its
/// pings all the same (the README's one rule for labels, as on the call page).
#[test]
fn an_h264_only_offer_to_a_default_answerer_is_answered_in_h264() {
    let _suite = shared();
    let (s, g) = call(
        "gst-answer-h264",
        "answer",
        &["--auto-accept"],
        "h264",
        &["--channel-label", "liveness"],
    );
    assert_both_ways(&s, &g, "H.264");
    assert!(
        s.data.pings_echoed > 20 && g.pongs > 20,
        "pings on a channel labelled \"liveness\": {:?} {g:?}",
        s.data
    );
    assert!(
        s.warnings.iter().any(|w| w.contains("does not take VP8")),
        "{:?}",
        s.warnings
    );
}

#[test]
fn an_offer_without_ssrc_lines_is_routed_by_payload_type() {
    let _suite = shared();
    // webrtcbin offering before its pads have caps: no a=ssrc in any section, no MID header
    // extension. Audio and video still arrive and are decoded.
    let (s, g) = call(
        "gst-no-ssrc",
        "answer",
        &["--auto-accept"],
        "vp8",
        &["--early-offer", "both"],
    );
    assert_eq!(
        g.offer_ssrc,
        serde_json::json!({"audio": false, "video": false, "application": false}),
        "the offer really had no a=ssrc"
    );
    assert_both_ways(&s, &g, "VP8");
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
}

#[test]
fn an_offer_whose_audio_alone_has_no_ssrc_lines_is_routed_by_payload_type() {
    let _suite = shared();
    let (s, g) = call(
        "gst-no-ssrc-audio",
        "answer",
        &["--auto-accept", "--video-codec", "h264"],
        "h264",
        &["--early-offer", "audio"],
    );
    assert_eq!(g.offer_ssrc["audio"], false, "{:?}", g.offer_ssrc);
    assert_eq!(g.offer_ssrc["video"], true, "{:?}", g.offer_ssrc);
    assert_both_ways(&s, &g, "H.264");
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
}

/// GStreamer webrtcbin as a WHIP client of `serve` (its offer POSTed, the terminal in the room
/// answering): the terminal decodes its VP8 and Opus, webrtcbin decodes the terminal's, and its
/// DELETE at the end ends the terminal's call.
#[test]
fn webrtcbin_publishes_to_serve_by_whip() {
    let _suite = shared();
    let _turn = take_turn();
    let (_server, url) = serve();
    let mut answer = Proc::spawn(&call_args("answer", "gst-whip", &url, &["--auto-accept"]));
    answer.wait_line(Duration::from_secs(10), |l| l.contains("\"joined\""));
    let whip = format!(
        "{}/whip/gst-whip",
        url.replacen("ws://", "http://", 1).trim_end_matches('/')
    );
    let (g, gst_log) = GstPeer::publish(&whip, "vp8").finish();
    let a = answer.finish(Duration::from_secs(30));
    assert_eq!(g.exit_code, 0, "webrtcbin: {g:?}\n{gst_log}");
    assert!(gst_log.contains("WHIP DELETE: 200"), "{gst_log}");
    assert_eq!(a.code, 0, "{}", a.stderr);
    let s = a.summary();
    assert_eq!(s.end_reason, "remote-bye", "{s:?}");
    assert_both_ways(&s, &g, "VP8");
}
