//! Browser interop: a real headless Chromium (fake camera and microphone) on rtccall's own call
//! page, driven through chromedriver (WebDriver), calls a terminal and is called by it, with VP8
//! and with H.264. Everything runs in a network namespace of the test's own, joined to the test
//! by a veth pair: the call uses the namespace's veth address (Chromium does not use loopback
//! for WebRTC), and the test reaches chromedriver through it. Nothing leaves the namespace and
//! its veth.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::tmux::Tmux;
use crate::common::*;
use rtccall::report::schema::Record;
use serde_json::Value;

/// The veth pair: our side and the namespace's side; the call runs on the namespace's side.
const ROOT_IP: &str = "10.204.1.1";
const NS_IP: &str = "10.204.1.2";
const CALL_IP: &str = NS_IP;
const DRIVER_PORT: u16 = 9515;
const SIGNAL_PORT: u16 = 8787;

/// The browser tests share the lab's addresses and ports: one at a time.
static LAB: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The namespace, chromedriver in it, and the scratch directory for Chromium's profile.
struct Lab {
    ns: Netns,
    dir: Scratch,
    driver: Option<Child>,
}

impl Lab {
    fn create() -> Lab {
        let mut ns = Netns::new("web");
        ns.veth_to_root(&format!("{ROOT_IP}/30"), &format!("{NS_IP}/30"));
        Lab {
            ns,
            dir: Scratch::new("browser"),
            driver: None,
        }
    }

    fn wrapper(&self) -> [&str; 4] {
        self.ns.wrapper()
    }

    /// `rtccall ARGS` inside the namespace.
    fn rtccall(&self, args: &[&str]) -> Proc {
        Proc::spawn_wrapped(&self.wrapper(), args, &[])
    }

    /// `rtccall serve` on the namespace's address, listening: it, its ws:// URL and the page's.
    fn serve(&self) -> (Proc, String, String) {
        let mut server = self.rtccall(&[
            "serve",
            "--listen",
            &format!("{CALL_IP}:{SIGNAL_PORT}"),
            "--json",
        ]);
        server.wait_line(Duration::from_secs(10), |l| l.contains("listening"));
        (
            server,
            format!("ws://{CALL_IP}:{SIGNAL_PORT}/"),
            format!("http://{CALL_IP}:{SIGNAL_PORT}/"),
        )
    }

    /// chromedriver inside the namespace, reachable from the test at NS_IP.
    fn start_driver(&mut self) {
        let child = Command::new("ip")
            .args(&self.ns.wrapper()[1..])
            .arg("chromedriver")
            .arg(format!("--port={DRIVER_PORT}"))
            .arg(format!("--allowed-ips={ROOT_IP}"))
            .arg(format!(
                "--log-path={}",
                self.dir.path("chromedriver.log").display()
            ))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver (install chromium-driver: bash .ci/install-deps)");
        self.driver = Some(child);
        let deadline = Instant::now() + Duration::from_secs(15);
        while std::net::TcpStream::connect((NS_IP, DRIVER_PORT)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        // Chromium is chromedriver's child: end the browsers of our profile, then the driver.
        if let Ok(out) = Command::new("pgrep")
            .args(["-f", &self.dir.str("")])
            .output()
        {
            for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                let _ = Command::new("kill").args(["-9", pid]).status();
            }
        }
        if let Some(mut d) = self.driver.take() {
            let _ = d.kill();
            let _ = d.wait();
        }
    }
}

async fn browser(lab: &Lab, extra: &[String]) -> fantoccini::Client {
    let profile = lab.dir.path(&format!("profile{}", extra.len()));
    let mut args = vec![
        "--headless".to_string(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--use-fake-device-for-media-stream".into(),
        "--use-fake-ui-for-media-stream".into(),
        "--no-first-run".into(),
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--disable-sync".into(),
        "--disable-features=WebRtcHideLocalIpsWithMdns".into(),
        "--autoplay-policy=no-user-gesture-required".into(),
        "--window-size=1280,800".into(),
        // getUserMedia needs a secure context; the page is served over plain HTTP on the
        // namespace's address (a person uses http://localhost or an HTTPS proxy).
        format!("--unsafely-treat-insecure-origin-as-secure=http://{CALL_IP}:{SIGNAL_PORT}"),
        format!("--user-data-dir={}", profile.display()),
    ];
    args.extend_from_slice(extra);
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({ "binary": "/usr/bin/chromium", "args": args }),
    );
    fantoccini::ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://{NS_IP}:{DRIVER_PORT}"))
        .await
        .expect("a Chromium session through chromedriver")
}

async fn js(c: &fantoccini::Client, expr: &str) -> Value {
    c.execute(&format!("return ({expr});"), vec![])
        .await
        .unwrap_or_else(|e| panic!("{expr}: {e}"))
}

/// Wait until `expr` is true in the page; on timeout fail with the page's log.
async fn wait_for(c: &fantoccini::Client, expr: &str, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        if js(c, expr).await == Value::Bool(true) {
            return;
        }
        if Instant::now() > deadline {
            let state = js(c, "window.rtccall").await;
            panic!("page: {expr} did not hold within {within:?}; state: {state:#}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn call_args<'a>(role: &'a str, room: &'a str, server: &'a str, codec: &'a str) -> Vec<&'a str> {
    vec![
        role,
        room,
        "--server",
        server,
        "--json",
        "--bind",
        "10.204.1.2:0",
        "--audio",
        "tone",
        "--no-speaker",
        "--video-size",
        "320x240",
        "--video-codec",
        codec,
        "--duration",
        "5",
        "--timeout",
        "30",
    ]
}

/// What a terminal received from the browser: decoded video and audio, the data channel.
fn assert_terminal_got_media(f: &Finished, codec_in: &str) {
    assert_eq!(f.code, 0, "{}", f.stderr);
    let s = f.summary();
    assert!(s.connected, "{s:?}");
    assert!(
        s.video.frames_decoded > 10,
        "video from the browser: {:?}",
        s.video
    );
    assert!(
        s.audio.decoded_ms > 1000,
        "audio from the browser: {:?}",
        s.audio
    );
    let video_in: Vec<String> = f
        .records()
        .into_iter()
        .filter_map(|r| match r {
            Record::Track {
                direction,
                kind,
                codec,
                ..
            } if direction == "receive" && kind == "video" => Some(codec.to_lowercase()),
            _ => None,
        })
        .collect();
    assert_eq!(
        video_in,
        [format!("video/{codec_in}")],
        "the video track from the browser"
    );
}

/// What the page received from the terminal, checked while the call runs.
async fn assert_page_gets_media(c: &fantoccini::Client, codec_mime: &str) {
    wait_for(
        c,
        "window.rtccall.phase === 'connected'",
        Duration::from_secs(20),
    )
    .await;
    wait_for(
        c,
        "(window.rtccall.stats.framesDecoded || 0) > 10",
        Duration::from_secs(15),
    )
    .await;
    let a1 = js(c, "window.rtccall.stats.audioSamplesReceived || 0").await;
    let f1 = js(c, "window.rtccall.stats.framesDecoded || 0").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let a2 = js(c, "window.rtccall.stats.audioSamplesReceived || 0").await;
    let f2 = js(c, "window.rtccall.stats.framesDecoded || 0").await;
    assert!(
        a2.as_f64() > a1.as_f64(),
        "audio samples not growing: {a1} -> {a2}"
    );
    assert!(
        f2.as_f64() > f1.as_f64(),
        "frames decoded not growing: {f1} -> {f2}"
    );
    let codec = js(c, "window.rtccall.stats.videoCodecIn || ''").await;
    assert_eq!(codec.as_str(), Some(codec_mime), "codec the page decodes");
}

#[test]
fn browser_and_terminal_call_each_other_with_vp8_and_h264() {
    let _suite = shared();
    let _lab = LAB.lock().unwrap_or_else(|p| p.into_inner());
    let mut lab = Lab::create();
    let server = lab.rtccall(&[
        "serve",
        "--listen",
        &format!("{CALL_IP}:{SIGNAL_PORT}"),
        "--json",
    ]);
    let mut server = server;
    server.wait_line(Duration::from_secs(10), |l| l.contains("listening"));
    let ws = format!("ws://{CALL_IP}:{SIGNAL_PORT}/");
    let page = format!("http://{CALL_IP}:{SIGNAL_PORT}/");
    lab.start_driver();
    let artifacts = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&artifacts).unwrap();

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let c = browser(&lab, &[]).await;
        for (codec, mime, track) in [("vp8", "video/VP8", "vp8"), ("h264", "video/H264", "h264")] {
            // The terminal dials; the page (opened first, waiting) answers.
            let room = format!("term-dials-{codec}");
            c.goto(&format!("{page}?room={room}&autojoin=1&codec={codec}"))
                .await
                .unwrap();
            wait_for(&c, "window.rtccall.phase === 'waiting'", Duration::from_secs(15)).await;
            let mut args = call_args("dial", &room, &ws, codec);
            if codec == "vp8" {
                // Long enough for the third tab and the screenshot below, mid-call.
                let at = args.iter().position(|a| *a == "--duration").unwrap();
                args[at + 1] = "10";
            }
            let dial = lab.rtccall(&args);
            assert_page_gets_media(&c, mime).await;
            // The same security words on both ends; the page's mute reaches the terminal.
            wait_for(&c, "typeof window.rtccall.sas === 'string'", Duration::from_secs(10)).await;
            let page_words = js(&c, "window.rtccall.sas").await;
            js(&c, "window.rtccallControl.setMute(true) || true").await;
            wait_for(
                &c,
                "document.getElementById('mute').textContent === 'Unmute'",
                Duration::from_secs(5),
            )
            .await;
            if codec == "vp8" {
                // A third tab on the same room is told it is full.
                let first = c.window().await.unwrap();
                let tab = c.new_window(true).await.unwrap();
                c.switch_to_window(tab.handle).await.unwrap();
                c.goto(&format!("{page}?room={room}&autojoin=1")).await.unwrap();
                wait_for(
                    &c,
                    "window.rtccall.error && window.rtccall.error.code === 'room-full'",
                    Duration::from_secs(15),
                )
                .await;
                let shown = js(&c, "document.getElementById('state').textContent").await;
                assert_eq!(shown.as_str(), Some("room is full"));
                c.close_window().await.unwrap();
                c.switch_to_window(first).await.unwrap();
                // The page mid-call, for people to look at.
                let png = c.screenshot().await.unwrap();
                std::fs::write(artifacts.join("call-vp8.png"), png).unwrap();
            }
            js(&c, "window.rtccallControl.setMute(false) || true").await;
            let d = tokio::task::block_in_place(|| dial.finish(Duration::from_secs(40)));
            assert_terminal_got_media(&d, track);
            assert_eq!(d.summary().end_reason, "duration");
            assert_eq!(
                d.summary().sas.as_deref(),
                page_words.as_str(),
                "the terminal's and the page's security words"
            );
            let muted: Vec<_> = d
                .records()
                .into_iter()
                .filter_map(|r| match r {
                    Record::Control {
                        side: rtccall::report::schema::Side::Remote,
                        action: rtccall::report::schema::ControlAction::Mute,
                        state,
                        ..
                    } => Some(state),
                    _ => None,
                })
                .collect();
            assert_eq!(muted, ["on", "off"], "the page's mute as the terminal saw it");
            assert!(d.summary().data.echoes_received > 0, "{:?}", d.summary().data);
            wait_for(
                &c,
                "window.rtccall.phase === 'ended' && window.rtccall.ended.startsWith('remote hang-up')",
                Duration::from_secs(10),
            )
            .await;

            // The page dials; the terminal (waiting first) answers, both sides dumped (vp8).
            let room = format!("page-dials-{codec}");
            let term_dump = lab.dir.path(&format!("terminal-{codec}.rtcstats"));
            let term_dump_arg = term_dump.display().to_string();
            let mut answer = lab.rtccall(&{
                let mut a = call_args("answer", &room, &ws, codec);
                a.push("--auto-accept");
                if codec == "vp8" {
                    a.extend(["--stats-dump", term_dump_arg.as_str()]);
                }
                a
            });
            answer.wait_line(Duration::from_secs(15), |l| l.contains("\"joined\""));
            c.goto(&format!("{page}?room={room}&autojoin=1&codec={codec}"))
                .await
                .unwrap();
            assert_page_gets_media(&c, mime).await;
            let a = tokio::task::block_in_place(|| answer.finish(Duration::from_secs(40)));
            assert_terminal_got_media(&a, track);
            wait_for(
                &c,
                "window.rtccall.phase === 'ended' && window.rtccall.ended.startsWith('remote hang-up')",
                Duration::from_secs(10),
            )
            .await;
            if codec == "vp8" {
                // The page's own dump of the call (its "Stats dump" button's text) and the
                // terminal's open in one report, on one clock.
                let text = js(&c, "window.rtccallStatsDump()").await;
                let page_dump = lab.dir.path("page.rtcstats");
                std::fs::write(&page_dump, text.as_str().unwrap()).unwrap();
                let html = lab.dir.path("both.html");
                let r = Proc::spawn(&[
                    "report",
                    page_dump.to_str().unwrap(),
                    &term_dump_arg,
                    "-o",
                    html.to_str().unwrap(),
                ])
                .finish(Duration::from_secs(30));
                assert_eq!(r.code, 0, "{}", r.stderr);
                let page_html = std::fs::read_to_string(&html).unwrap();
                let open = "id=\"rtccall-data\">";
                let at = page_html.find(open).unwrap() + open.len();
                let end = at + page_html[at..].find("</script>").unwrap();
                let data: Value = serde_json::from_str(&page_html[at..end].replace("<\\/", "</")).unwrap();
                let labels: Vec<&str> = data["sides"].as_array().unwrap().iter()
                    .map(|s| s["label"].as_str().unwrap()).collect();
                assert_eq!(labels, ["dial", "answer"]);
                let fps = data["plots"].as_array().unwrap().iter()
                    .find(|p| p["title"] == "Video frames per second").expect("a frame rate plot");
                for side in [0, 1] {
                    let decoded = fps["lines"].as_array().unwrap().iter()
                        .find(|l| l["side"] == side && l["name"] == "decoded")
                        .unwrap_or_else(|| panic!("side {side}: no decoded frame rate"));
                    assert!(
                        decoded["points"].as_array().unwrap().iter().any(|p| p[1].as_f64() > Some(5.0)),
                        "side {side}: {decoded}"
                    );
                }
                for side in data["sides"].as_array().unwrap() {
                    assert!(
                        side["verdict"].as_str().unwrap().starts_with("connected"),
                        "{side}"
                    );
                }
            }
        }

        // A 5 s outage of every UDP path while the terminal dials the page (Chromium, that is
        // libwebrtc, answering): both restart ICE, and the terminal's media is back within
        // 0.5 s of the path returning.
        let room = "outage";
        c.goto(&format!("{page}?room={room}&autojoin=1")).await.unwrap();
        wait_for(&c, "window.rtccall.phase === 'waiting'", Duration::from_secs(15)).await;
        let mut args = call_args("dial", room, &ws, "vp8");
        let at = args.iter().position(|a| *a == "--duration").unwrap();
        args[at + 1] = "16";
        let started = Instant::now();
        let mut dial = lab.rtccall(&args);
        tokio::task::block_in_place(|| {
            dial.wait_line(Duration::from_secs(20), |l| l.contains("\"type\":\"stats\""))
        });
        tokio::time::sleep(Duration::from_secs(2)).await;
        lab.ns.blackout(true);
        tokio::time::sleep(Duration::from_secs(5)).await;
        lab.ns.blackout(false);
        let back_ms = started.elapsed().as_secs_f64() * 1000.0;
        let d = tokio::task::block_in_place(|| dial.finish(Duration::from_secs(40)));
        assert_eq!(d.code, 0, "{}", d.stderr);
        assert!(d.summary().ice_restarts >= 1, "{:?}", d.summary());
        let restarted: Vec<f64> = d
            .records()
            .into_iter()
            .filter_map(|r| match r {
                Record::Signaling { ms, event, .. } if event.as_str() == "ice-restarted" => {
                    Some(ms)
                }
                _ => None,
            })
            .collect();
        let first = restarted.first().copied().expect("an ice-restarted record");
        eprintln!(
            "outage against Chromium: media back {:.0} ms after the path returned",
            first - back_ms
        );
        assert!(
            first - back_ms <= 500.0,
            "media back {:.0} ms after the path returned (restarted at {first:.0} ms, path back \
             at {back_ms:.0} ms): {}",
            first - back_ms,
            d.stdout.join("\n")
        );

        // A person at the page: an incoming call waits for a click; Reject is sent back.
        let room = "reject-me";
        c.goto(&format!("{page}?room={room}")).await.unwrap();
        c.find(fantoccini::Locator::Id("join"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_for(&c, "window.rtccall.phase === 'waiting'", Duration::from_secs(15)).await;
        let dial = lab.rtccall(&call_args("dial", room, &ws, "vp8"));
        wait_for(&c, "window.rtccall.phase === 'incoming'", Duration::from_secs(15)).await;
        c.find(fantoccini::Locator::Id("reject"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let d = tokio::task::block_in_place(|| dial.finish(Duration::from_secs(30)));
        assert_eq!(d.code, 3, "{}", d.stderr);
        assert_eq!(d.summary().end_reason, "rejected");
        assert!(
            d.summary()
                .error
                .unwrap_or_default()
                .contains("declined in the browser"),
            "{:?}",
            d.summary()
        );

        // Hang up from the page: the terminal ends normally (remote-bye, exit 0).
        let room = "page-hangs-up";
        let mut answer = lab.rtccall(&{
            let mut a = call_args("answer", room, &ws, "vp8");
            a.retain(|x| *x != "--duration" && *x != "5");
            a.push("--auto-accept");
            a
        });
        answer.wait_line(Duration::from_secs(15), |l| l.contains("\"joined\""));
        c.goto(&format!("{page}?room={room}&autojoin=1")).await.unwrap();
        assert_page_gets_media(&c, "video/VP8").await;
        c.find(fantoccini::Locator::Id("hangup"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let a = tokio::task::block_in_place(|| answer.finish(Duration::from_secs(30)));
        assert_eq!(a.code, 0, "{}", a.stderr);
        assert_eq!(a.summary().end_reason, "remote-bye");
        assert!(a.summary().video.frames_decoded > 10);
        wait_for(&c, "window.rtccall.ended === 'hang-up'", Duration::from_secs(5)).await;

        // Chat and files both ways between the page (dialing) and a terminal (answering).
        data_both_ways(&lab, &c, &page, &ws).await;
        c.close().await.unwrap();
    });
    drop(server);

    // Once over TLS, with access tokens: the page over https, signaling over wss, the page's
    // token from ?token= (and then out of the address bar), the terminal's from --token.
    let secret = "browser-test-secret-0123456789";
    let cert = lab.dir.path("cert.pem");
    let cert_s = cert.to_str().unwrap().to_string();
    let listen = format!("{CALL_IP}:{}", SIGNAL_PORT + 1);
    let mut server = lab.rtccall(&[
        "serve",
        "--listen",
        &listen,
        "--json",
        "--tls-self-signed",
        "--tls-cert-out",
        &cert_s,
        "--secret",
        secret,
    ]);
    let line = server.wait_line(Duration::from_secs(10), |l| l.contains("listening"));
    let wss = format!("wss://{listen}/");
    assert!(line.contains(&wss), "{line}");
    let room = "over-tls";
    let now = std::time::SystemTime::now();
    let ttl = Duration::from_secs(600);
    let page_token = rtccall::signal::auth::mint(secret, room, ttl, None, now);
    let term_token = rtccall::signal::auth::mint(secret, room, ttl, None, now);
    rt.block_on(async {
        // A person would check the printed fingerprint and accept the warning.
        let c = browser(&lab, &["--ignore-certificate-errors".to_string()]).await;
        c.goto(&format!(
            "https://{listen}/?room={room}&autojoin=1&token={page_token}"
        ))
        .await
        .unwrap();
        wait_for(
            &c,
            "window.rtccall.phase === 'waiting'",
            Duration::from_secs(15),
        )
        .await;
        assert_eq!(js(&c, "window.isSecureContext").await, Value::Bool(true));
        let shown = js(&c, "location.href").await;
        assert!(!shown.as_str().unwrap().contains("token"), "{shown}");
        let mut args = call_args("dial", room, &wss, "vp8");
        args.extend(["--ca", cert_s.as_str(), "--token", term_token.as_str()]);
        let dial = lab.rtccall(&args);
        assert_page_gets_media(&c, "video/VP8").await;
        let d = tokio::task::block_in_place(|| dial.finish(Duration::from_secs(40)));
        assert_terminal_got_media(&d, "vp8");
        c.close().await.unwrap();
    });
}

/// 1 MiB of bytes the page and the test both know how to make: byte i is (i * 31 + 7) mod 256.
const PAGE_FILE_LEN: usize = 1 << 20;

/// A person in the terminal's call screen (tmux) sees the browser's camera, presses `m` and
/// `v`, and the page shows them muted and with video off; `q` hangs up.
#[test]
fn the_page_shows_what_the_terminal_screen_switches() {
    let _suite = shared();
    let _lab = LAB.lock().unwrap_or_else(|p| p.into_inner());
    let mut lab = Lab::create();
    let (_server, ws, page) = lab.serve();
    lab.start_driver();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let c = browser(&lab, &[]).await;
        c.goto(&format!("{page}?room=screen-page&autojoin=1"))
            .await
            .unwrap();
        wait_for(&c, "window.rtccall.phase === 'waiting'", Duration::from_secs(15)).await;
        let w = lab.wrapper();
        let cmd = format!(
            "{} {BIN} dial screen-page --server {ws} --bind {CALL_IP}:0 --audio tone \
             --no-speaker --video-size 320x240 --timeout 30 --view blocks",
            w.join(" ")
        );
        let t = Tmux::start(&cmd, &[]);
        assert_page_gets_media(&c, "video/VP8").await;
        // The browser's fake camera on the terminal: half-blocks in many colours.
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let screen = t.capture();
            if screen.matches('▀').count() > 500 && screen.matches("38;2;").count() > 50 {
                break;
            }
            assert!(Instant::now() < deadline, "no video on the terminal");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        t.keys("m");
        wait_for(
            &c,
            "window.rtccall.remote.mute === true && document.getElementById('remote-state').textContent.includes('muted')",
            Duration::from_secs(5),
        )
        .await;
        t.keys("v");
        wait_for(
            &c,
            "window.rtccall.remote.video === false && document.getElementById('remote-state').textContent.includes('video off')",
            Duration::from_secs(5),
        )
        .await;
        // Both show the same words.
        wait_for(&c, "typeof window.rtccall.sas === 'string'", Duration::from_secs(5)).await;
        let words = js(&c, "window.rtccall.sas").await;
        let text = t.tmux(&["capture-pane", "-p", "-t", "0"]);
        assert!(
            text.contains(&format!("words: {}", words.as_str().unwrap())),
            "{text}"
        );
        t.keys("q");
        assert_eq!(
            tokio::task::block_in_place(|| t.exit_code(Duration::from_secs(10))),
            0
        );
        wait_for(
            &c,
            "window.rtccall.phase === 'ended' && window.rtccall.ended.startsWith('remote hang-up')",
            Duration::from_secs(10),
        )
        .await;
        c.close().await.unwrap();
    });
}

fn page_file_bytes() -> Vec<u8> {
    (0..PAGE_FILE_LEN).map(|i| (i * 31 + 7) as u8).collect()
}

fn hex_sha256(data: &[u8]) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, data);
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// The page dials a terminal that chats (a piped line) and sends and takes files: a chat line
/// and a 1 MiB file each way. The page's file is offered as `../../page.bin`: the terminal
/// keeps only `page.bin`.
async fn data_both_ways(lab: &Lab, c: &fantoccini::Client, page: &str, ws: &str) {
    let room = "data-both-ways";
    let inbox = lab.dir.path("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    let outgoing = lab.dir.path("from-terminal.bin");
    let term_bytes: Vec<u8> = (0..PAGE_FILE_LEN).map(|i| (i * 7 + 3) as u8).collect();
    std::fs::write(&outgoing, &term_bytes).unwrap();
    let (inbox_s, out_s) = (inbox.display().to_string(), outgoing.display().to_string());
    let mut args = call_args("answer", room, ws, "vp8");
    let at = args.iter().position(|a| *a == "--duration").unwrap();
    args[at + 1] = "16";
    args.extend([
        "--auto-accept",
        "--chat",
        "--send",
        out_s.as_str(),
        "--receive",
        inbox_s.as_str(),
    ]);
    let mut answer = Proc::spawn_stdin(&lab.wrapper(), &args, b"hello from the terminal\n");
    answer.wait_line(Duration::from_secs(15), |l| l.contains("\"joined\""));
    c.goto(&format!("{page}?room={room}&autojoin=1"))
        .await
        .unwrap();
    wait_for(
        c,
        "window.rtccall.phase === 'connected'",
        Duration::from_secs(20),
    )
    .await;
    // Terminal to page: the line and the file.
    wait_for(
        c,
        "window.rtccall.chat.some(m => m.direction === 'receive' && m.text === 'hello from the terminal')",
        Duration::from_secs(10),
    )
    .await;
    wait_for(
        c,
        "window.rtccall.files.some(f => f.direction === 'receive' && f.verified)",
        Duration::from_secs(20),
    )
    .await;
    let got = js(
        c,
        "window.rtccall.files.find(f => f.direction === 'receive').sha256",
    )
    .await;
    assert_eq!(got.as_str(), Some(hex_sha256(&term_bytes).as_str()));
    let shown = js(c, "document.getElementById('chatlog').textContent").await;
    assert!(
        shown
            .as_str()
            .unwrap_or("")
            .contains("peer: hello from the terminal"),
        "{shown}"
    );
    // Page to terminal: typed into the chat box, and a file with a path in its name.
    let input = c.find(fantoccini::Locator::Id("chat-text")).await.unwrap();
    input.send_keys("hello from the page").await.unwrap();
    c.find(fantoccini::Locator::Id("chat-send"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    js(
        c,
        &format!(
            "(() => {{ const b = new Uint8Array({PAGE_FILE_LEN}); \
             for (let i = 0; i < b.length; i++) b[i] = (i * 31 + 7) & 255; \
             window.rtccallData.sendFile(new File([b], '../../page.bin')); return true; }})()"
        ),
    )
    .await;
    wait_for(
        c,
        "window.rtccall.files.some(f => f.direction === 'send' && f.verified)",
        Duration::from_secs(20),
    )
    .await;
    wait_for(
        c,
        "window.rtccall.chat.some(m => m.direction === 'send' && m.acked)",
        Duration::from_secs(10),
    )
    .await;
    // A hostile page: file channels whose first message is no valid offer (malformed, over the
    // 16 KiB bound, binary) are each answered `file-refuse` and closed; of 80 channels that
    // never offer, those beyond the 64 served at once are closed at once.
    js(
        c,
        "(() => { window.hostile = { replies: [], closed: 0 }; \
         const mk = (first) => { const dc = pc.createDataChannel('rtccall-file'); \
           dc.binaryType = 'arraybuffer'; dc.onopen = () => first(dc); \
           dc.onmessage = (e) => window.hostile.replies.push(typeof e.data === 'string' ? e.data : 'binary'); \
           dc.onclose = () => { window.hostile.closed++; }; }; \
         mk(dc => dc.send('{not json')); \
         mk(dc => dc.send(JSON.stringify({ type: 'file-offer', name: 'x'.repeat(20000), size: 1, \
           sha256: '0'.repeat(64) }))); \
         mk(dc => dc.send(new Uint8Array(10))); \
         for (let i = 0; i < 80; i++) mk(() => {}); \
         return true; })()",
    )
    .await;
    let hostile_done = "window.hostile.replies.filter(r => r.includes('file-refuse')).length === 3 \
                        && window.hostile.closed >= 3 + 16";
    let t = Instant::now();
    while js(c, hostile_done).await != Value::Bool(true) {
        if t.elapsed() > Duration::from_secs(10) {
            let seen = js(c, "JSON.stringify(window.hostile)").await;
            let f = tokio::task::block_in_place(|| answer.finish(Duration::from_secs(40)));
            panic!(
                "the hostile channels were not all answered: {seen}\n{}",
                f.stderr
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let a = tokio::task::block_in_place(|| answer.finish(Duration::from_secs(40)));
    assert_eq!(a.code, 0, "{}", a.stderr);
    let texts: Vec<String> = a
        .records()
        .into_iter()
        .filter_map(|r| match r {
            Record::Chat {
                direction, text, ..
            } if direction == "receive" => Some(text),
            _ => None,
        })
        .collect();
    assert_eq!(texts, vec!["hello from the page".to_string()]);
    let s = a.summary();
    let received = s
        .data
        .files
        .iter()
        .find(|f| f.direction == "receive")
        .expect("the page's file");
    assert!(
        received.verified && received.name == "page.bin",
        "{received:?}"
    );
    assert_eq!(
        std::fs::read(inbox.join("page.bin")).unwrap(),
        page_file_bytes(),
        "the page's file, saved under its last name component only"
    );
    assert!(
        s.data
            .files
            .iter()
            .any(|f| f.direction == "send" && f.verified)
    );
}

/// Run `body` (an async function body that may `await`) in the page; its result, or the error
/// it threw as a string.
async fn run_js(c: &fantoccini::Client, body: &str) -> Value {
    let script = format!(
        "const done = arguments[arguments.length - 1];\n\
         (async () => {{ {body} }})().then(done, e => done('error: ' + e));"
    );
    c.execute_async(&script, vec![])
        .await
        .unwrap_or_else(|e| panic!("{body}: {e}"))
}

/// The page's WHIP/WHEP client: a peer connection whose offer (after gathering) is POSTed to
/// `path`; the answer applied; `window.whip` holds the status, Location and when it connected.
const WHIP_CLIENT: &str = r#"
    window.whip = { t0: performance.now() };
    const pc = new RTCPeerConnection();
    window.whipPc = pc;
    if (SEND) {
        const s = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
        for (const t of s.getTracks()) pc.addTransceiver(t, { direction: 'sendonly' });
    } else {
        pc.addTransceiver('audio', { direction: 'recvonly' });
        pc.addTransceiver('video', { direction: 'recvonly' });
        // Chromium decodes received audio only for a sink that plays it.
        pc.ontrack = e => {
            const el = document.createElement(e.track.kind);
            el.srcObject = new MediaStream([e.track]);
            el.muted = e.track.kind === 'video';
            document.body.appendChild(el);
            el.play().catch(() => {});
        };
    }
    pc.onconnectionstatechange = () => {
        if (pc.connectionState === 'connected') window.whip.connectedMs = performance.now() - window.whip.t0;
    };
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise(r => {
        if (pc.iceGatheringState === 'complete') return r();
        pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r();
        setTimeout(r, 2000);
    });
    const res = await fetch(PATH, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: pc.localDescription.sdp });
    window.whip.status = res.status;
    window.whip.location = res.headers.get('Location');
    window.whip.etag = res.headers.get('ETag');
    const answer = await res.text();
    if (res.status !== 201) return 'POST ' + res.status + ': ' + answer;
    await pc.setRemoteDescription({ type: 'answer', sdp: answer });
    return 'ok';
"#;

/// What the page's WHEP player decoded: (video frames, audio samples).
async fn whep_received(c: &fantoccini::Client) -> (f64, f64) {
    let v = run_js(
        c,
        "const st = await window.whipPc.getStats(); let f = 0, a = 0;
         st.forEach(r => { if (r.type === 'inbound-rtp' && r.kind === 'video') f = r.framesDecoded || 0;
                           if (r.type === 'inbound-rtp' && r.kind === 'audio') a = r.totalSamplesReceived || 0; });
         return [f, a];",
    )
    .await;
    (v[0].as_f64().unwrap_or(0.0), v[1].as_f64().unwrap_or(0.0))
}

/// Chromium as a WHIP publisher to `serve` (a page's `fetch` POST; the terminal in the room
/// records what it sends) and as a WHEP player of a terminal (decoded in the page: getStats
/// `framesDecoded` and `totalSamplesReceived` grow); each session ended by the page's DELETE.
#[test]
fn browser_publishes_by_whip_and_plays_by_whep() {
    let _suite = shared();
    let _lab = LAB.lock().unwrap_or_else(|p| p.into_inner());
    let mut lab = Lab::create();
    let (server, ws, page) = lab.serve();
    lab.start_driver();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let c = browser(&lab, &[]).await;
        c.goto(&page).await.unwrap();

        // WHIP: the page publishes its fake camera and microphone to a terminal.
        let mut answer = lab.rtccall(&{
            let mut a = call_args("answer", "whip-in", &ws, "vp8");
            a.retain(|x| *x != "--duration" && *x != "5");
            a.extend(["--auto-accept", "--video", "none"]);
            a
        });
        answer.wait_line(Duration::from_secs(15), |l| l.contains("\"joined\""));
        let started = run_js(
            &c,
            &WHIP_CLIENT.replace("SEND", "true").replace("PATH", "'/whip/whip-in'"),
        )
        .await;
        assert_eq!(started.as_str(), Some("ok"), "{started}");
        wait_for(&c, "window.whipPc.connectionState === 'connected'", Duration::from_secs(15)).await;
        let whip = js(&c, "window.whip").await;
        eprintln!("Chromium WHIP publish to serve: connected {:.0} ms after it began", whip["connectedMs"].as_f64().unwrap_or(-1.0));
        assert!(whip["location"].as_str().is_some_and(|l| l.starts_with("/whip/whip-in/")), "{whip}");
        tokio::time::sleep(Duration::from_secs(4)).await;
        let deleted = run_js(&c, "const r = await fetch(window.whip.location, { method: 'DELETE' }); window.whipPc.close(); return r.status;").await;
        assert_eq!(deleted.as_f64(), Some(200.0), "{deleted}");
        let a = tokio::task::block_in_place(|| answer.finish(Duration::from_secs(20)));
        assert_terminal_got_media(&a, "vp8");
        assert_eq!(a.summary().end_reason, "remote-bye");

        // WHEP: the page plays a terminal's tone and test pattern.
        let mut answer = lab.rtccall(&{
            let mut a = call_args("answer", "whep-out", &ws, "vp8");
            a.retain(|x| *x != "--duration" && *x != "5");
            a.push("--auto-accept");
            a
        });
        answer.wait_line(Duration::from_secs(15), |l| l.contains("\"joined\""));
        let started = run_js(
            &c,
            &WHIP_CLIENT.replace("SEND", "false").replace("PATH", "'/whep/whep-out'"),
        )
        .await;
        assert_eq!(started.as_str(), Some("ok"), "{started}");
        wait_for(&c, "window.whipPc.connectionState === 'connected'", Duration::from_secs(15)).await;
        let whep = js(&c, "window.whip").await;
        eprintln!("Chromium WHEP play from serve: connected {:.0} ms after it began", whep["connectedMs"].as_f64().unwrap_or(-1.0));
        tokio::time::sleep(Duration::from_secs(2)).await;
        let (f1, a1) = whep_received(&c).await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let (f2, a2) = whep_received(&c).await;
        assert!(f1 > 10.0 && f2 > f1, "video frames decoded in the page: {f1} -> {f2}");
        assert!(a1 > 0.0 && a2 > a1, "audio samples received in the page: {a1} -> {a2}");
        let deleted = run_js(&c, "const r = await fetch(window.whip.location, { method: 'DELETE' }); window.whipPc.close(); return r.status;").await;
        assert_eq!(deleted.as_f64(), Some(200.0), "{deleted}");
        let a = tokio::task::block_in_place(|| answer.finish(Duration::from_secs(20)));
        assert_eq!(a.code, 0, "{}", a.stderr);
        assert_eq!(a.summary().end_reason, "remote-bye");
        c.close().await.unwrap();
    });
    drop(server);
}
