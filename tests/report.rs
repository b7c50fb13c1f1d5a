//! `--stats-dump` and `rtccall report`: a real call dumped on both sides, the dumps read by a
//! reader written here from the rtcstats file format's documentation (rtcstats-server
//! README, "RTCStats dump file format", version 3) rather than with rtccall's own types, and
//! the report rendered by headless Chromium.

use std::process::Command;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::common::*;

/// A dump as the format describes it: `RTCStatsDump`, a metadata object, then one JSON array
/// per line `[method, peerConnectionId, value, ..., timestampDelta]`; the first delta is the
/// time since the epoch; `getStats` values are deltas against the previous report (members
/// left out are unchanged, `null` removes an object).
struct Dump {
    meta: Value,
    /// (method, value, ms since the epoch)
    events: Vec<(String, Value, f64)>,
    /// Full reports, in order, with their time.
    stats: Vec<(f64, Map<String, Value>)>,
}

fn read_dump(text: &str) -> Dump {
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("RTCStatsDump"), "the first line");
    let meta: Value = serde_json::from_str(lines.next().expect("a metadata line")).unwrap();
    assert!(meta.is_object());
    let mut time = 0.0;
    let mut report: Map<String, Value> = Map::new();
    let mut dump = Dump {
        meta,
        events: Vec::new(),
        stats: Vec::new(),
    };
    for line in lines.filter(|l| !l.is_empty()) {
        let a: Vec<Value> = serde_json::from_str(line).unwrap();
        assert!(a.len() >= 4, "{line}");
        assert_eq!(a[1], "PC_0", "{line}");
        time += a.last().unwrap().as_f64().expect("a numeric delta");
        let method = a[0].as_str().expect("a method name").to_string();
        if method == "getStats" {
            for (id, v) in a[2].as_object().expect("an object").clone() {
                if v.is_null() {
                    report.remove(&id);
                    continue;
                }
                let o = report
                    .entry(id)
                    .or_insert_with(|| Value::Object(Map::new()));
                for (k, x) in v.as_object().unwrap() {
                    o[k] = x.clone();
                }
            }
            dump.stats.push((time, report.clone()));
        }
        dump.events.push((method, a[2].clone(), time));
    }
    dump
}

/// Cumulative W3C members: they never go down.
const COUNTERS: &[&str] = &[
    "packetsSent",
    "packetsReceived",
    "bytesSent",
    "bytesReceived",
    "headerBytesSent",
    "headerBytesReceived",
    "framesDecoded",
    "framesEncoded",
    "framesSent",
    "keyFramesEncoded",
    "totalSamplesReceived",
    "concealedSamples",
    "jitterBufferEmittedCount",
    "jitterBufferDelay",
    "totalEncodeTime",
    "totalRoundTripTime",
    "messagesSent",
    "messagesReceived",
    "nackCount",
    "pliCount",
    "requestsSent",
    "responsesReceived",
];

fn check_w3c(who: &str, d: &Dump) {
    assert_eq!(d.meta["fileFormat"], 3, "{who}");
    assert!(
        d.meta["userAgent"]
            .as_str()
            .unwrap()
            .starts_with("rtccall/"),
        "{who}"
    );
    assert_eq!(d.meta["role"], who);
    let methods: Vec<&str> = d.events.iter().map(|e| e.0.as_str()).collect();
    for m in [
        "create",
        "setLocalDescription",
        "setRemoteDescription",
        "onicecandidate",
        "addIceCandidate",
        "oniceconnectionstatechange",
        "onconnectionstatechange",
        "onsignalingstatechange",
    ] {
        assert!(methods.contains(&m), "{who}: no {m} in {methods:?}");
    }
    assert_eq!(methods.last(), Some(&"close"), "{who}");
    let create = &d.events[0];
    assert_eq!(create.0, "create", "{who}");
    assert!(!create.1.to_string().contains("credential"), "{who}");
    assert!(d.stats.len() >= 6, "{who}: {} reports", d.stats.len());
    let mut last: Map<String, Value> = Map::new();
    for (at, report) in &d.stats {
        for (id, o) in report {
            assert_eq!(o["id"], id.as_str(), "{who}: {o}");
            let ty = o["type"]
                .as_str()
                .unwrap_or_else(|| panic!("{who}: no type in {o}"));
            let ts = o["timestamp"]
                .as_f64()
                .unwrap_or_else(|| panic!("{who}: {o}"));
            // Milliseconds since the epoch, close to the line's own time.
            assert!(
                (ts - at).abs() < 5_000.0,
                "{who}: {ty} timestamp {ts} at {at}"
            );
            if let Some(prev) = last.get(id) {
                for c in COUNTERS {
                    if let (Some(a), Some(b)) = (prev[c].as_f64(), o[c].as_f64()) {
                        assert!(b >= a, "{who}: {id} {c} went from {a} to {b}");
                    }
                }
            }
            // References point at objects of the same report.
            for (k, v) in o.as_object().unwrap() {
                if k.ends_with("Id")
                    && let Some(r) = v.as_str()
                {
                    assert!(
                        report.contains_key(r),
                        "{who}: {id}.{k} = {r} is not in the report"
                    );
                }
            }
            if let Some(j) = o["jitter"].as_f64() {
                assert!(j < 0.5, "{who}: {ty} jitter {j} is not in seconds");
            }
            if let Some(r) = o["currentRoundTripTime"].as_f64() {
                assert!(
                    (0.02..0.5).contains(&r),
                    "{who}: RTT {r} s (50 ms of delay)"
                );
            }
        }
        last = report.clone();
    }
    let end = &d.stats.last().unwrap().1;
    let find = |ty: &str, kind: &str| -> &Value {
        end.values()
            .find(|o| o["type"] == ty && o["kind"] == kind)
            .unwrap_or_else(|| panic!("{who}: no {kind} {ty}"))
    };
    assert!(
        find("inbound-rtp", "video")["framesDecoded"].as_u64() > Some(30),
        "{who}"
    );
    assert_eq!(find("inbound-rtp", "video")["frameWidth"], 320, "{who}");
    assert!(
        find("outbound-rtp", "video")["framesEncoded"].as_u64() > Some(30),
        "{who}"
    );
    assert!(
        find("outbound-rtp", "video")["targetBitrate"].as_f64() > Some(0.0),
        "{who}"
    );
    assert!(
        find("inbound-rtp", "audio")["totalSamplesReceived"].as_u64() > Some(48_000),
        "{who}"
    );
    for ty in [
        "transport",
        "candidate-pair",
        "local-candidate",
        "remote-candidate",
        "codec",
        "certificate",
        "data-channel",
        "peer-connection",
    ] {
        assert!(end.values().any(|o| o["type"] == ty), "{who}: no {ty}");
    }
}

/// The PNG's width and height (its IHDR).
fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    let be = |i: usize| u32::from_be_bytes(bytes[i..i + 4].try_into().unwrap());
    (be(16), be(20))
}

/// A call over an impaired link (5 % loss, 50 ms delay from the dialer) dumped on both
/// sides: every dump reads as the format says, its W3C objects have ids, types and
/// millisecond timestamps, counters never go back, jitter and RTT are in seconds; `report`
/// draws both into HTML whose embedded data are the dump's values, a PNG of the right size
/// and an SVG with the lines; Chromium renders the HTML with every plot.
#[test]
fn a_dumped_call_reads_as_w3c_stats_and_its_report_renders() {
    let _suite = shared();
    let (_server, url) = serve();
    let dir = Scratch::new("report");
    let (ad, dd) = (dir.path("answer.rtcstats"), dir.path("dial.rtcstats"));
    let (a_s, d_s) = (ad.to_str().unwrap(), dd.to_str().unwrap());
    let common = [
        "--duration",
        "5",
        "--stats-interval",
        "0.5",
        "--audio",
        "tone",
    ];
    let answer = Proc::spawn(&call_args(
        "answer",
        "dumped",
        &url,
        &[&common[..], &["--stats-dump", a_s]].concat(),
    ));
    let dial = Proc::spawn(&call_args(
        "dial",
        "dumped",
        &url,
        &[
            &common[..],
            &["--stats-dump", d_s, "--impair", "loss=5%,delay=50ms"],
        ]
        .concat(),
    ));
    let d = dial.finish(Duration::from_secs(30));
    let a = answer.finish(Duration::from_secs(30));
    assert_eq!((d.code, a.code), (0, 0), "{}\n{}", d.stderr, a.stderr);
    let dump_a = read_dump(&std::fs::read_to_string(&ad).unwrap());
    let dump_d = read_dump(&std::fs::read_to_string(&dd).unwrap());
    check_w3c("answer", &dump_a);
    check_w3c("dial", &dump_d);
    // The dialer's loss shows at the answerer.
    let lost: i64 = dump_a
        .stats
        .last()
        .unwrap()
        .1
        .values()
        .filter(|o| o["type"] == "inbound-rtp")
        .filter_map(|o| o["packetsLost"].as_i64())
        .sum();
    assert!(lost > 0, "no loss counted at the answerer");

    let (html, png, svg) = (
        dir.path("call.html"),
        dir.path("call.png"),
        dir.path("call.svg"),
    );
    let r = Proc::spawn(&[
        "report",
        d_s,
        a_s,
        "-o",
        html.to_str().unwrap(),
        "--png",
        png.to_str().unwrap(),
        "--svg",
        svg.to_str().unwrap(),
    ])
    .finish(Duration::from_secs(30));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let page = std::fs::read_to_string(&html).unwrap();
    // Self-contained: nothing is fetched.
    for fetch in ["src=\"http", "href=\"http", "fetch(", "@import", "<link"] {
        assert!(!page.contains(fetch), "the report fetches: {fetch}");
    }
    let data_at = page.find("id=\"rtccall-data\">").unwrap() + "id=\"rtccall-data\">".len();
    let data_end = data_at + page[data_at..].find("</script>").unwrap();
    let data: Value = serde_json::from_str(&page[data_at..data_end].replace("<\\/", "</")).unwrap();
    let plots = data["plots"].as_array().unwrap();
    assert!(plots.len() >= 7, "{} plots", plots.len());
    for p in plots {
        assert!(
            p["lines"]
                .as_array()
                .unwrap()
                .iter()
                .any(|l| l["points"].as_array().unwrap().len() >= 5),
            "a plot without data: {}",
            p["title"]
        );
    }
    // The dialer's decoded frame rate, point by point, is the dump's framesPerSecond.
    let fps = plots
        .iter()
        .find(|p| p["title"] == "Video frames per second")
        .unwrap();
    let line = fps["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["side"] == 0 && l["name"] == "decoded")
        .unwrap();
    let drawn: Vec<f64> = line["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[1].as_f64().unwrap())
        .collect();
    let dumped: Vec<f64> = dump_d
        .stats
        .iter()
        .filter_map(|(_, r)| {
            r.values()
                .find(|o| o["type"] == "inbound-rtp" && o["kind"] == "video")
        })
        .filter_map(|o| o["framesPerSecond"].as_f64())
        .collect();
    assert_eq!(drawn, dumped);

    let (w, h) = png_size(&std::fs::read(&png).unwrap());
    assert_eq!((w, h), (1000, 240 * plots.len() as u32));
    let svg_text = std::fs::read_to_string(&svg).unwrap();
    assert!(
        svg_text.matches("<polyline").count() >= plots.len(),
        "lines in the SVG"
    );

    // Chromium: every plot is in the DOM, and the page is not blank.
    let shot = dir.path("shot.png");
    let run = |extra: &str| {
        Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--window-size=1100,2400",
            ])
            .arg(extra)
            .arg(format!("file://{}", html.display()))
            .output()
            .expect("chromium runs")
    };
    let dom = String::from_utf8_lossy(&run("--dump-dom").stdout).into_owned();
    // Every plot, and a state timeline per side.
    assert_eq!(
        dom.matches("<div class=\"plot\"").count(),
        plots.len(),
        "plots in the DOM"
    );
    assert_eq!(
        dom.matches("<svg").count(),
        plots.len() + 2,
        "plots and timelines in the DOM"
    );
    assert_eq!(dom.matches("class=\"timeline\"").count(), 2);
    assert!(
        dom.contains("class=\"verdict\""),
        "{}",
        &dom[..dom.len().min(500)]
    );
    let _ = run(&format!("--screenshot={}", shot.display()));
    let bytes = std::fs::read(&shot).expect("a screenshot");
    assert_eq!(png_size(&bytes), (1100, 2400));
    assert!(
        bytes.len() > 40_000,
        "a blank screenshot ({} bytes)",
        bytes.len()
    );
}

/// Bad input: one line naming the file and what is wrong, exit 2, quickly (a 1 GB file is
/// not read).
#[test]
fn report_refuses_bad_input_in_one_line() {
    let _suite = shared();
    let dir = Scratch::new("report-bad");
    let write = |name: &str, text: &str| {
        let p = dir.path(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let huge = dir.path("huge.rtcstats");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    let cases = [
        (
            write("magic-only.rtcstats", "RTCStatsDump\n"),
            "no metadata",
        ),
        (
            write("v2.rtcstats", "RTCStatsDump\n{\"fileFormat\":2}\n"),
            "file format 2",
        ),
        (
            write(
                "garbage.rtcstats",
                "RTCStatsDump\n{\"fileFormat\":3}\nnot json\n[\"close\",\"PC_0\",null,1]\n",
            ),
            "line 3 is not JSON",
        ),
        (
            write(
                "foreign.ndjson",
                "{\"type\":\"stats\",\"ms\":1}\n{\"hello\":1}\n",
            ),
            "not an rtccall record",
        ),
        (write("text.txt", "hello\n"), "neither an rtcstats dump"),
        (
            write(
                "compressed.rtcstats",
                "RTCStatsDump\n{\"fileFormat\":3}\n[\"g\",\"PC_0\",{\"0\":{\"type\":5,\"b\":10}},1796428405428]\n",
            ),
            "stats are compressed",
        ),
        (write("empty.rtcstats", ""), "it is empty"),
        (huge.clone(), "more than report reads"),
    ];
    let out = dir.path("out.html");
    for (path, says) in &cases {
        let started = std::time::Instant::now();
        let f = Proc::spawn(&[
            "report",
            path.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ])
        .finish(Duration::from_secs(20));
        assert_eq!(f.code, 2, "{}: {}", path.display(), f.stderr);
        let lines: Vec<&str> = f.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{}", f.stderr);
        assert!(
            lines[0].contains(says) && lines[0].contains(path.to_str().unwrap()),
            "{}",
            lines[0]
        );
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    }
    // A dump cut in the middle of its last line (the call was killed) is still drawn.
    let cut = write(
        "cut.rtcstats",
        "RTCStatsDump\n{\"fileFormat\":3}\n[\"create\",\"PC_0\",{},1796428405428]\n[\"getStats\",\"PC_0\",{\"T\":{\"type\":\"tran",
    );
    let f = Proc::spawn(&["report", cut.to_str().unwrap(), "-o", out.to_str().unwrap()])
        .finish(Duration::from_secs(20));
    assert_eq!(f.code, 0, "{}", f.stderr);
    assert!(std::fs::read_to_string(&out).unwrap().contains("cut short"));
    // Nothing to write.
    let f = Proc::spawn(&["report", cut.to_str().unwrap()]).finish(Duration::from_secs(20));
    assert_eq!(f.code, 2, "{}", f.stderr);
}

/// The JSON type of a value, by name.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Every `<id>-<member>` series of one connection, by id: (statsType, member, values).
fn series(pc: &Value) -> std::collections::BTreeMap<String, Vec<(String, String, Vec<Value>)>> {
    let mut by_id: std::collections::BTreeMap<String, Vec<(String, String, Vec<Value>)>> =
        Default::default();
    for (key, s) in pc["stats"].as_object().unwrap() {
        let (id, member) = key.rsplit_once('-').unwrap_or_else(|| panic!("{key}"));
        let values: Vec<Value> = serde_json::from_str(s["values"].as_str().unwrap())
            .unwrap_or_else(|e| panic!("{key}: values {e}"));
        by_id.entry(id.to_string()).or_default().push((
            s["statsType"].as_str().unwrap_or("").to_string(),
            member.to_string(),
            values,
        ));
    }
    by_id
}

/// `report --webrtc-internals` has the structure of a dump Chromium itself made
/// (`tests/peers/internals-dump.js` clicks chrome://webrtc-internals' own dump button during a
/// loopback call): the same top-level, connection, update-log and stats-entry members with
/// the same JSON types, values as JSON arrays in strings, ISO times, a `-timestamp` series per
/// object as long as its members'. And parity: for every stats type both report, the W3C
/// members rtccall fills are among the ones Chromium fills.
#[test]
fn webrtc_internals_output_has_chromiums_structure_and_names() {
    let _suite = shared();
    let dir = Scratch::new("internals");
    let chromium = dir.path("chromium.json");
    let out = Command::new("node")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/peers/internals-dump.js"
        ))
        .arg(&chromium)
        .arg("4")
        .output()
        .expect("node runs (bash .ci/install-deps)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: Value = serde_json::from_str(&std::fs::read_to_string(&chromium).unwrap()).unwrap();

    let (_server, url) = serve();
    let (ad, dd) = (dir.path("a.rtcstats"), dir.path("d.rtcstats"));
    let extra = |p: &std::path::Path| {
        vec![
            "--duration".to_string(),
            "3".into(),
            "--audio".into(),
            "tone".into(),
            "--stats-dump".into(),
            p.display().to_string(),
        ]
    };
    let (ea, ed) = (extra(&ad), extra(&dd));
    let ea: Vec<&str> = ea.iter().map(String::as_str).collect();
    let ed: Vec<&str> = ed.iter().map(String::as_str).collect();
    let answer = Proc::spawn(&call_args("answer", "internals", &url, &ea));
    let dial = Proc::spawn(&call_args("dial", "internals", &url, &ed));
    assert_eq!(dial.finish(Duration::from_secs(30)).code, 0);
    assert_eq!(answer.finish(Duration::from_secs(30)).code, 0);
    let ours_path = dir.path("ours.json");
    let r = Proc::spawn(&[
        "report",
        dd.to_str().unwrap(),
        ad.to_str().unwrap(),
        "--webrtc-internals",
        ours_path.to_str().unwrap(),
    ])
    .finish(Duration::from_secs(30));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let ours: Value = serde_json::from_str(&std::fs::read_to_string(&ours_path).unwrap()).unwrap();

    let same_members = |what: &str, o: &Value, t: &Value| {
        for (k, v) in o.as_object().unwrap() {
            let theirs = t
                .get(k)
                .unwrap_or_else(|| panic!("{what}: Chromium has no {k}"));
            assert_eq!(kind(v), kind(theirs), "{what}: {k}");
        }
    };
    same_members("top level", &ours, &theirs);
    let pcs = ours["PeerConnections"].as_object().unwrap();
    assert_eq!(pcs.len(), 2, "both sides");
    let their_pc = theirs["PeerConnections"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap();
    let iso = |s: &str| s.len() == 24 && s.ends_with('Z') && &s[10..11] == "T";
    for (key, pc) in pcs {
        let (a, b) = key.split_once('-').unwrap();
        assert!(
            a.parse::<u32>().is_ok() && b.parse::<u32>().is_ok(),
            "{key}"
        );
        same_members("connection", pc, their_pc);
        for e in pc["updateLog"].as_array().unwrap() {
            same_members("updateLog entry", e, &their_pc["updateLog"][0]);
        }
        let their_entry = their_pc["stats"]
            .as_object()
            .unwrap()
            .values()
            .next()
            .unwrap();
        for (k, s) in pc["stats"].as_object().unwrap() {
            same_members(k, s, their_entry);
            assert!(
                iso(s["startTime"].as_str().unwrap()) && iso(s["endTime"].as_str().unwrap()),
                "{k}: {s}"
            );
        }
        for (id, members) in series(pc) {
            let stamps = members
                .iter()
                .find(|m| m.1 == "timestamp")
                .unwrap_or_else(|| panic!("{id}: no -timestamp series"));
            for m in &members {
                assert_eq!(m.2.len(), stamps.2.len(), "{id}-{}", m.1);
            }
        }
    }

    // Parity of member names, type by type.
    let names = |pc: &Value| {
        let mut by_type: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> =
            Default::default();
        for members in series(pc).into_values() {
            for (ty, member, _) in members {
                if !member.contains('[') && !member.contains(']') {
                    by_type.entry(ty).or_default().insert(member);
                }
            }
        }
        by_type
    };
    // Chromium's two connections: one sends, the other receives.
    let mut chromium_names: std::collections::BTreeMap<_, std::collections::BTreeSet<_>> =
        Default::default();
    for pc in theirs["PeerConnections"].as_object().unwrap().values() {
        for (ty, n) in names(pc) {
            chromium_names.entry(ty).or_default().extend(n);
        }
    }
    let mut missing = Vec::new();
    let mut foreign = Vec::new();
    for pc in pcs.values() {
        for (ty, ours) in names(pc) {
            let Some(theirs) = chromium_names.get(&ty) else {
                continue;
            };
            for m in ours.difference(theirs) {
                foreign.push(format!("{ty}.{m}"));
            }
            for m in theirs.difference(&ours) {
                missing.push(format!("{ty}.{m}"));
            }
        }
    }
    foreign.sort();
    foreign.dedup();
    assert!(
        foreign.is_empty(),
        "names Chromium does not use: {foreign:?}"
    );
    missing.sort();
    missing.dedup();
    eprintln!(
        "members Chromium fills and rtccall does not: {}",
        missing.join(", ")
    );
}

/// `probe --stats-dump DIR`: each side of the direct and the relay-only call through a real
/// coturn is dumped there, each a complete dump; the relay call's selected pair is a relay.
#[test]
fn probe_dumps_each_side_of_its_calls() {
    let _suite = shared();
    let turn = Turn::start(&TURN_TEST_USER);
    let dir = Scratch::new("probe-dump");
    let out = dir.path("dumps");
    let udp = format!("turn:test:secret@127.0.0.1:{}", turn.port);
    let f = Proc::spawn(&[
        "probe",
        "--ice-server",
        &udp,
        "--call-media",
        "1",
        "--bind",
        "127.0.0.1:0",
        "--stats-dump",
        out.to_str().unwrap(),
    ])
    .finish(Duration::from_secs(60));
    assert_eq!(f.code, 0, "{}", f.stderr);
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let relay = format!("relay-turn-127.0.0.1-{}-transport-udp", turn.port);
    assert_eq!(
        names,
        [
            "direct-answer.rtcstats".to_string(),
            "direct-dial.rtcstats".into(),
            format!("{relay}-answer.rtcstats"),
            format!("{relay}-dial.rtcstats"),
        ]
    );
    for n in &names {
        let d = read_dump(&std::fs::read_to_string(out.join(n)).unwrap());
        assert_eq!(d.events.last().unwrap().0, "close", "{n}");
        assert!(!d.stats.is_empty(), "{n}: no stats");
        let end = &d.stats.last().unwrap().1;
        let t = end.values().find(|o| o["type"] == "transport").unwrap();
        let pair = &end[t["selectedCandidatePairId"].as_str().unwrap()];
        let local = &end[pair["localCandidateId"].as_str().unwrap()];
        let want = if n.starts_with("relay") {
            "relay"
        } else {
            "host"
        };
        assert_eq!(local["candidateType"], want, "{n}");
    }
}
