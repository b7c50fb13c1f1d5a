//! The call screen in real terminals: tmux (half-blocks, keys, the terminal restored on every
//! way out), xterm's sixel under Xvfb, and the desktop window under Xvfb, each against a real
//! answering rtccall sending FFmpeg's testsrc2 pattern.

use std::process::Command;
use std::time::{Duration, Instant};

use rtccall::report::schema::{ControlAction, Record, Side};

use crate::common::tmux::Tmux;
use crate::common::{self, BIN, Proc, Scratch};

/// testsrc2's six bars, left to right.
const BARS: [[u8; 3]; 6] = [
    [255, 0, 0],
    [0, 255, 0],
    [255, 255, 0],
    [0, 0, 255],
    [255, 0, 255],
    [0, 255, 255],
];

fn near(a: [u8; 3], b: [u8; 3]) -> bool {
    a.iter()
        .zip(b.iter())
        .all(|(x, y)| (i32::from(*x) - i32::from(*y)).abs() <= 70)
}

/// The cells of a `capture-pane -e` screen: per row, (character, foreground, background).
type Cells = Vec<Vec<(char, Option<[u8; 3]>, Option<[u8; 3]>)>>;

fn cells(captured: &str) -> Cells {
    let mut rows = Vec::new();
    let (mut fg, mut bg) = (None, None);
    for line in captured.lines() {
        let mut row = Vec::new();
        let mut chars = line.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\u{1b}' && chars.peek() == Some(&'[') {
                chars.next();
                let mut params = String::new();
                for p in chars.by_ref() {
                    if p.is_ascii_alphabetic() {
                        if p == 'm' {
                            let nums: Vec<u32> =
                                params.split(';').map(|n| n.parse().unwrap_or(0)).collect();
                            let mut i = 0;
                            while i < nums.len() {
                                match nums[i] {
                                    0 => (fg, bg) = (None, None),
                                    38 | 48
                                        if nums.get(i + 1) == Some(&2) && i + 4 < nums.len() =>
                                    {
                                        let rgb = [
                                            nums[i + 2] as u8,
                                            nums[i + 3] as u8,
                                            nums[i + 4] as u8,
                                        ];
                                        if nums[i] == 38 {
                                            fg = Some(rgb);
                                        } else {
                                            bg = Some(rgb);
                                        }
                                        i += 4;
                                    }
                                    39 => fg = None,
                                    49 => bg = None,
                                    _ => {}
                                }
                                i += 1;
                            }
                        }
                        break;
                    }
                    params.push(p);
                }
                continue;
            }
            row.push((c, fg, bg));
        }
        rows.push(row);
    }
    rows
}

/// The share of each testsrc2 bar's middle column, in the largest run of half-blocks (the
/// other side's video), whose pixels have the bar's colour.
fn bar_shares(cells: &Cells) -> Vec<f64> {
    // The remote video: the longest run of half-blocks on any row.
    let mut best = (0usize, 0usize, 0usize); // row, start, len
    for (y, row) in cells.iter().enumerate() {
        let mut x = 0;
        while x < row.len() {
            if row[x].0 == '▀' {
                let start = x;
                while x < row.len() && row[x].0 == '▀' {
                    x += 1;
                }
                if x - start > best.2 {
                    best = (y, start, x - start);
                }
            } else {
                x += 1;
            }
        }
    }
    let (_, x0, w) = best;
    assert!(w >= 24, "no video in half-blocks on the screen");
    BARS.iter()
        .enumerate()
        .map(|(i, want)| {
            let x = x0 + (2 * i + 1) * w / 12;
            let mut pixels = Vec::new();
            for row in cells {
                if let Some(&('▀', fg, bg)) = row.get(x)
                    && row.get(x0).is_some_and(|c| c.0 == '▀')
                {
                    pixels.extend(fg);
                    pixels.extend(bg);
                }
            }
            let hits = pixels.iter().filter(|p| near(**p, *want)).count();
            hits as f64 / pixels.len().max(1) as f64
        })
        .collect()
}

fn stats_records(lines: &[String]) -> Vec<(f64, rtccall::report::schema::Stats)> {
    lines
        .iter()
        .filter_map(|l| match serde_json::from_str::<Record>(l) {
            Ok(Record::Stats { ms, stats }) => Some((ms, stats)),
            _ => None,
        })
        .collect()
}

/// The answering side: testsrc2 and a tone, NDJSON with stats every 250 ms.
fn answerer(room: &str, url: &str) -> Proc {
    answerer_with(room, url, &[])
}

fn answerer_with(room: &str, url: &str, extra: &[&str]) -> Proc {
    let mut args = vec![
        "answer",
        room,
        "--server",
        url,
        "--json",
        "--audio",
        "tone",
        "--no-speaker",
        "--video-size",
        "320x240",
        "--stats-interval",
        "0.25",
        "--timeout",
        "30",
    ];
    args.extend_from_slice(extra);
    Proc::spawn(&args)
}

fn dial_command(room: &str, url: &str, extra: &str) -> String {
    format!(
        "{BIN} dial {room} --server {url} --audio tone --no-speaker --video-size 320x240 --timeout 30 {extra}"
    )
}

/// Wait until the screen shows the pattern in half-blocks; the cells.
fn wait_for_pattern(t: &Tmux) -> Cells {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let c = cells(&t.capture());
        let shown = c.iter().filter(|r| r.iter().any(|x| x.0 == '▀')).count();
        if shown > 10 {
            // Let a few pictures through before looking at colours.
            std::thread::sleep(Duration::from_millis(500));
            return cells(&t.capture());
        }
        assert!(
            Instant::now() < deadline,
            "no video on the screen within 20 s:\n{}",
            t.tmux(&["capture-pane", "-p", "-t", "0"])
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn tmux_shows_the_pattern_and_keys_steer_the_call() {
    let _g = common::shared();
    let (_serve, url) = common::serve();
    let inbox = Scratch::new("screen-inbox");
    let inbox_dir = inbox.str("");
    let mut other = answerer_with("screen-keys", &url, &["--receive", &inbox_dir]);
    let outbox = Scratch::new("screen-outbox");
    let file = outbox.write(
        "notes.txt",
        &"a file typed on the call screen\n".repeat(2000),
    );
    // --view auto inside tmux: blocks.
    let t = Tmux::start(&dial_command("screen-keys", &url, ""), &[]);
    let screen = wait_for_pattern(&t);
    let shares = bar_shares(&screen);
    assert!(
        shares.iter().all(|s| *s >= 0.5),
        "testsrc2's bars not where they belong: {shares:?}"
    );
    let (alt, _) = t.modes();
    assert!(alt, "the call screen is on the alternate screen");
    let text = t.tmux(&["capture-pane", "-p", "-t", "0"]);
    assert!(text.contains("words: "), "{text}");

    // m: the other side hears silence within a second, and its record says so.
    other.wait_line(Duration::from_secs(10), |l| {
        l.contains("\"type\":\"stats\"")
    });
    t.keys("m");
    let muted = Instant::now();
    other.wait_line(Duration::from_secs(5), |l| {
        l.contains("\"type\":\"control\"") && l.contains("\"mute\"") && l.contains("\"on\"")
    });
    let silent = other.wait_line(Duration::from_secs(5), |l| {
        matches!(serde_json::from_str::<Record>(l),
            Ok(Record::Stats { stats, .. }) if stats.audio.level_received_dbfs.is_some_and(|d| d <= -90.0))
    });
    assert!(
        muted.elapsed() < Duration::from_millis(1500),
        "silence took {:?}: {silent}",
        muted.elapsed()
    );
    t.keys("m");
    other.wait_line(Duration::from_secs(5), |l| {
        matches!(serde_json::from_str::<Record>(l),
            Ok(Record::Stats { stats, .. }) if stats.audio.level_received_dbfs.is_some_and(|d| d > -40.0))
    });

    // v: video stops, then comes back.
    t.keys("v");
    other.wait_line(Duration::from_secs(5), |l| {
        l.contains("\"type\":\"control\"") && l.contains("\"video\"") && l.contains("\"off\"")
    });
    std::thread::sleep(Duration::from_millis(1500));
    t.keys("v");
    other.wait_line(Duration::from_secs(5), |l| {
        l.contains("\"type\":\"control\"") && l.contains("\"video\"") && l.contains("\"on\"")
    });
    std::thread::sleep(Duration::from_millis(1500));

    // c: a chat line typed on the screen; f: a file by its path; ?: the keys.
    t.keys("c");
    t.keys("hello from the screen");
    t.tmux(&["send-keys", "-t", "0", "Enter"]);
    other.wait_line(Duration::from_secs(5), |l| {
        l.contains("\"type\":\"chat\"") && l.contains("hello from the screen")
    });
    t.keys("f");
    t.keys(&file);
    t.tmux(&["send-keys", "-t", "0", "Enter"]);
    other.wait_line(Duration::from_secs(10), |l| {
        l.contains("\"type\":\"file\"") && l.contains("\"verified\"")
    });
    assert_eq!(
        std::fs::read(inbox.path("notes.txt")).unwrap(),
        std::fs::read(&file).unwrap()
    );
    t.keys("?");
    std::thread::sleep(Duration::from_millis(300));
    let text = t.tmux(&["capture-pane", "-p", "-t", "0"]);
    assert!(text.contains("mute or unmute the microphone"), "{text}");
    t.tmux(&["send-keys", "-t", "0", "Escape"]);

    // q: hung up, exit 0, the other side told.
    t.keys("q");
    assert_eq!(t.exit_code(Duration::from_secs(10)), 0);
    let (alt, cursor) = t.modes();
    assert!(!alt && cursor, "the terminal is not restored after q");
    let done = other.finish(Duration::from_secs(10));
    let s = done.summary();
    assert_eq!(s.end_reason.as_str(), "remote-bye", "{s:?}");
    let records = done.records();
    let controls: Vec<_> = records
        .iter()
        .filter_map(|r| match r {
            Record::Control {
                side: Side::Remote,
                action,
                state,
                ..
            } => Some((*action, state.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(
        controls,
        [
            (ControlAction::Mute, "on"),
            (ControlAction::Mute, "off"),
            (ControlAction::Video, "off"),
            (ControlAction::Video, "on"),
        ]
    );
    // While the camera was off no frames were decoded; after it, frames again.
    let stats = stats_records(&done.stdout);
    let video_at = |to: &str| {
        records
            .iter()
            .find_map(|r| match r {
                Record::Control {
                    action: ControlAction::Video,
                    state,
                    ms,
                    ..
                } if state == to => Some(*ms),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no video {to} record"))
    };
    let (off_at, on_at) = (video_at("off"), video_at("on"));
    let decoded_at = |t: f64| {
        stats
            .iter()
            .take_while(|(ms, _)| *ms <= t)
            .last()
            .map_or(0, |(_, s)| s.video.frames_decoded)
    };
    let during = decoded_at(on_at - 100.0) - decoded_at(off_at + 400.0);
    assert!(
        during <= 2,
        "{during} frames decoded while the camera was off"
    );
    let after = decoded_at(f64::MAX) - decoded_at(on_at);
    assert!(
        after >= 10,
        "only {after} frames after the camera came back"
    );
    // It came back from a keyframe: no decode errors at all.
    assert_eq!(s.video.decode_errors, 0, "{s:?}");
}

#[test]
fn the_terminal_is_restored_after_sigterm_and_after_a_panic() {
    let _g = common::shared();
    let (_serve, url) = common::serve();
    for (room, panic) in [("screen-term", false), ("screen-panic", true)] {
        let _other = answerer(room, &url);
        let env: &[(&str, &str)] = if panic {
            &[("RTCCALL_TEST_PANIC", "1")]
        } else {
            &[]
        };
        let t = Tmux::start(&dial_command(room, &url, "--view blocks"), env);
        wait_for_pattern(&t);
        if panic {
            assert_eq!(t.exit_code(Duration::from_secs(10)), 101);
        } else {
            let pid = t.rtccall_pid();
            assert!(
                Command::new("kill")
                    .args(["-TERM", &pid])
                    .status()
                    .unwrap()
                    .success()
            );
            assert_eq!(t.exit_code(Duration::from_secs(10)), 130);
        }
        let (alt, cursor) = t.modes();
        assert!(!alt && cursor, "not restored (panic: {panic})");
        let text = t.tmux(&["capture-pane", "-p", "-S", "-2000", "-t", "0"]);
        if panic {
            assert!(text.contains("forced panic"), "{text}");
        } else {
            assert!(text.contains("interrupted"), "{text}");
        }
    }
}

#[test]
fn odd_terminals_get_no_panic_and_no_garbage() {
    let _g = common::shared();
    let (_serve, url) = common::serve();
    // A C locale, then a pane squeezed to one column and one row and back, with the call on.
    let _other = answerer("screen-odd", &url);
    let t = Tmux::start(
        &dial_command("screen-odd", &url, "--view blocks --duration 6"),
        &[("LANG", "C"), ("LC_ALL", "C")],
    );
    wait_for_pattern(&t);
    t.tmux(&["resize-window", "-t", "0", "-x", "1", "-y", "1"]);
    std::thread::sleep(Duration::from_millis(700));
    t.tmux(&["resize-window", "-t", "0", "-x", "1", "-y", "30"]);
    std::thread::sleep(Duration::from_millis(700));
    t.tmux(&["resize-window", "-t", "0", "-x", "100", "-y", "30"]);
    assert_eq!(t.exit_code(Duration::from_secs(20)), 0);
    let (alt, cursor) = t.modes();
    assert!(!alt && cursor);
    let text = t.tmux(&["capture-pane", "-p", "-t", "0"]);
    assert!(
        text.contains("exit code"),
        "the summary follows the screen:\n{text}"
    );
    assert!(
        !text.contains('▀'),
        "video left on the main screen:\n{text}"
    );
}

/// A terminal that never answers the capability query (a pty nobody reads for it): the
/// screen comes up in half-blocks after the 100 ms wait.
#[test]
fn a_terminal_that_does_not_answer_gets_half_blocks() {
    let _g = common::shared();
    let (_serve, url) = common::serve();
    let dir = Scratch::new("pty");
    // script(1) gives rtccall a pty whose output goes to a file and which answers nothing;
    // without a terminal of its own to copy, the pty has 0 rows and 0 columns at first.
    let out = dir.str("typescript");
    let run = |size: &str, room: &str| {
        let _other = answerer(room, &url);
        let cmd = format!("{size}{}", dial_command(room, &url, "--duration 3"));
        let status = Command::new("script")
            .args(["-q", "-e", "-c", &cmd, &out])
            .env_remove("TMUX")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        let typescript = std::fs::read(&out).unwrap();
        let text = String::from_utf8_lossy(&typescript).into_owned();
        assert_eq!(status.code(), Some(0), "{text}");
        assert!(text.contains("exit code  0"), "{text}");
        // It asked, and went on after the wait.
        assert!(text.contains("\u{1b}[c"), "no capability query");
        text
    };
    // 0 x 0: nothing to draw, nothing breaks.
    let text = run("", "screen-zero-tty");
    assert!(!text.contains('▀'));
    // 120 x 40: half-blocks with 24-bit colour.
    let text = run("stty rows 40 cols 120; ", "screen-mute-tty");
    assert!(
        text.contains('▀') && text.contains("\u{1b}[38;2;"),
        "no half-blocks"
    );
}

/// An X display of its own (Xvfb), stopped on drop.
struct Xvfb {
    display: String,
    child: std::process::Child,
}

impl Xvfb {
    fn start() -> Xvfb {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        for _ in 0..50 {
            let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let num = 60 + (std::process::id() as usize * 7 + n) % 400;
            if std::path::Path::new(&format!("/tmp/.X11-unix/X{num}")).exists()
                || std::path::Path::new(&format!("/tmp/.X{num}-lock")).exists()
            {
                continue;
            }
            let display = format!(":{num}");
            let mut child = Command::new("Xvfb")
                .args([&display, "-screen", "0", "1024x768x24", "-nolisten", "tcp"])
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                // Another server took the number meanwhile: ours exits.
                if child.try_wait().unwrap().is_some() {
                    break;
                }
                if std::path::Path::new(&format!("/tmp/.X11-unix/X{num}")).exists() {
                    std::thread::sleep(Duration::from_millis(200));
                    if child.try_wait().unwrap().is_none() {
                        return Xvfb { display, child };
                    }
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("Xvfb did not start");
    }

    /// The root window as RGB rows (ImageMagick's import, as PPM).
    fn screenshot(&self, path: &std::path::Path) -> (usize, usize, Vec<u8>) {
        let ok = Command::new("import")
            .args(["-display", &self.display, "-window", "root", "-depth", "8"])
            .arg(path)
            .status()
            .unwrap()
            .success();
        assert!(ok, "import failed");
        let data = std::fs::read(path).unwrap();
        // P6\nW H\n255\n<rgb>
        let mut fields = Vec::new();
        let mut at = 0;
        while fields.len() < 4 {
            while data[at].is_ascii_whitespace() {
                at += 1;
            }
            let start = at;
            while !data[at].is_ascii_whitespace() {
                at += 1;
            }
            fields.push(String::from_utf8_lossy(&data[start..at]).to_string());
        }
        assert_eq!((fields[0].as_str(), fields[3].as_str()), ("P6", "255"));
        let (w, h) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
        (w, h, data[at + 1..].to_vec())
    }
}

impl Xvfb {
    /// Take screenshots until one shows testsrc2's bars (runs at least `min_run` pixels wide),
    /// for at most `within`; whether one did.
    fn wait_for_bars(&self, path: &std::path::Path, min_run: usize, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        loop {
            let (w, h, rgb) = self.screenshot(path);
            if shows_bars(w, h, &rgb, min_run) {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether a screenshot shows testsrc2's six bars side by side: a row in which the bars'
/// colours come in order, each over a run at least `min_run` pixels wide.
fn shows_bars(w: usize, h: usize, rgb: &[u8], min_run: usize) -> bool {
    (0..h).step_by(4).any(|y| {
        let mut next = 0;
        let mut run = 0;
        for x in 0..w {
            let i = (y * w + x) * 3;
            let p = [rgb[i], rgb[i + 1], rgb[i + 2]];
            if next < BARS.len() && near(p, BARS[next]) {
                run += 1;
                if run >= min_run {
                    next += 1;
                    run = 0;
                }
            } else if next > 0 && near(p, BARS[next - 1]) {
                // Still in the bar just counted.
            } else {
                run = 0;
            }
        }
        next == BARS.len()
    })
}

#[test]
fn xterm_shows_the_pattern_in_sixel() {
    let _g = common::shared();
    let (_serve, url) = common::serve();
    let _other = answerer("screen-sixel", &url);
    let x = Xvfb::start();
    let dir = Scratch::new("sixel");
    let exit = dir.str("exit");
    let cmd = format!(
        "{}; echo $? > {exit}",
        dial_command("screen-sixel", &url, "--view sixel --duration 8")
    );
    let mut xterm = Command::new("xterm")
        .args([
            "-display",
            &x.display,
            "-ti",
            "vt340",
            "-geometry",
            "120x40+0+0",
        ])
        .args(["-xrm", "XTerm*numColorRegisters: 256"])
        .args(["-xrm", "XTerm*maxGraphicSize: 2000x2000"])
        .args(["-e", "sh", "-c", &cmd])
        .env_remove("TMUX")
        .spawn()
        .unwrap();
    let shown = x.wait_for_bars(&dir.path("shot.ppm"), 8, Duration::from_secs(8));
    let status = xterm.wait().unwrap();
    assert!(status.success());
    assert_eq!(std::fs::read_to_string(&exit).unwrap().trim(), "0");
    assert!(shown, "no screenshot showed testsrc2's bars");
}

#[test]
fn a_window_shows_the_pattern() {
    let _g = common::shared();
    let (_serve, url) = common::serve();
    let _other = answerer("screen-window", &url);
    let x = Xvfb::start();
    let dir = Scratch::new("window");
    let mut me = Proc::spawn_env(
        &common::call_args(
            "dial",
            "screen-window",
            &url,
            &[
                "--view",
                "window",
                "--duration",
                "6",
                "--no-speaker",
                "--audio",
                "tone",
            ],
        ),
        &[("DISPLAY", x.display.as_str())],
    );
    me.wait_line(Duration::from_secs(20), |l| {
        l.contains("\"type\":\"stats\"")
    });
    let shown = x.wait_for_bars(&dir.path("shot.ppm"), 20, Duration::from_secs(4));
    let done = me.finish(Duration::from_secs(20));
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert!(shown, "no screenshot showed testsrc2's bars");
    // Without a display it is a usage error naming why.
    let no_display = Proc::spawn_full(
        &[],
        &common::call_args("dial", "screen-window-2", &url, &["--view", "window"]),
        &[],
        &["DISPLAY", "WAYLAND_DISPLAY"],
    )
    .finish(Duration::from_secs(10));
    assert_eq!(no_display.code, 2);
    assert!(
        no_display.stderr.contains("DISPLAY"),
        "{}",
        no_display.stderr
    );
}

/// An incoming call on the screen: the room, the caller's address and the words it would
/// have are shown while it is asked about; `y` takes it (the same words when connected), and
/// `r` with a reason refuses the next one with that reason.
#[test]
fn an_incoming_call_is_asked_about_on_the_screen() {
    let _g = common::shared();
    let (_serve, url) = common::serve();
    let answer = |room: &str| {
        format!(
            "{BIN} answer {room} --server {url} --audio tone --no-speaker --video-size 320x240 --timeout 30 --view blocks"
        )
    };
    let dial = |room: &str| {
        Proc::spawn(&common::call_args(
            "dial",
            room,
            &url,
            &["--duration", "3", "--audio", "tone", "--no-speaker"],
        ))
    };
    let t = Tmux::start(&answer("screen-ask"), &[]);
    // The answerer joins first: the dialer offers once it is there.
    std::thread::sleep(Duration::from_millis(500));
    let caller = dial("screen-ask");
    let deadline = Instant::now() + Duration::from_secs(15);
    let asked = loop {
        let text = t.tmux(&["capture-pane", "-p", "-t", "0"]);
        if let Some(line) = text
            .lines()
            .find(|l| l.contains("incoming call in room screen-ask") && l.contains("words "))
        {
            break line.to_string();
        }
        assert!(
            Instant::now() < deadline,
            "no question on the screen:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(asked.contains(" from 127.0.0.1:"), "{asked}");
    t.keys("y");
    let d = caller.finish(Duration::from_secs(30));
    assert_eq!(d.code, 0, "{}", d.stderr);
    let words = d.summary().sas.expect("the caller's words");
    assert!(
        asked.contains(&format!("words {words}:")),
        "asked with other words than the call has: {asked} / {words}"
    );
    assert_eq!(t.exit_code(Duration::from_secs(10)), 0);

    // Refused with a reason typed on the screen.
    let t = Tmux::start(&answer("screen-refuse"), &[]);
    std::thread::sleep(Duration::from_millis(500));
    let caller = dial("screen-refuse");
    let deadline = Instant::now() + Duration::from_secs(15);
    while !t
        .tmux(&["capture-pane", "-p", "-t", "0"])
        .contains("incoming call in room screen-refuse")
    {
        assert!(Instant::now() < deadline, "no question on the screen");
        std::thread::sleep(Duration::from_millis(100));
    }
    t.keys("r");
    t.keys("in a meeting");
    t.tmux(&["send-keys", "-t", "0", "Enter"]);
    let d = caller.finish(Duration::from_secs(30));
    assert_eq!(d.code, 3, "{}", d.stderr);
    assert!(
        d.stdout
            .iter()
            .any(|l| l.contains("\"rejected\"") && l.contains("in a meeting")),
        "{:?}",
        d.stdout
    );
}
