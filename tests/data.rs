//! Chat, files and the throughput test between two real `rtccall` processes: piped chat in
//! order both ways, a 50 MB file verified by SHA-256 (directly, relay-only through coturn, and
//! with 5 % loss in a network namespace), refusals, a file changed mid-transfer, bad options.

use std::path::Path;
use std::time::Duration;

use crate::common::*;
use rtccall::report::schema::{Record, Summary};

/// No media: these calls are about the data channels.
const NO_MEDIA: [&str; 4] = ["--audio", "none", "--video", "none"];

/// A scratch directory with an empty `in/` for received files.
fn scratch(name: &str) -> Scratch {
    let s = Scratch::new(&format!("data-{name}"));
    std::fs::create_dir_all(s.path("in")).unwrap();
    s
}

/// `len` random bytes in `path`.
fn random_file(path: &Path, len: usize) {
    let mut data = vec![0u8; len];
    let mut state = 0x9e37_79b9_7f4a_7c15u64 ^ len as u64;
    for chunk in data.chunks_mut(8) {
        // xorshift64*: fast, and not compressible
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        let v = state.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes();
        chunk.copy_from_slice(&v[..chunk.len()]);
    }
    std::fs::write(path, data).unwrap();
}

fn sha256(path: &Path) -> String {
    let data = std::fs::read(path).unwrap();
    let d = ring::digest::digest(&ring::digest::SHA256, &data);
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

fn args<'a>(role: &'a str, room: &'a str, url: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = call_args(role, room, url, &NO_MEDIA);
    v.extend_from_slice(extra);
    v
}

/// The chat records of a call: (direction, id, text).
fn chats(f: &Finished) -> Vec<(String, u64, String)> {
    f.records()
        .into_iter()
        .filter_map(|r| match r {
            Record::Chat {
                direction,
                id,
                text,
                ..
            } => Some((direction.to_string(), id, text)),
            _ => None,
        })
        .collect()
}

fn received(f: &Finished) -> Vec<String> {
    chats(f)
        .into_iter()
        .filter(|(d, _, _)| d == "receive")
        .map(|(_, _, t)| t)
        .collect()
}

#[test]
fn piped_chat_arrives_in_order_and_the_dialer_hangs_up_once_it_is_acknowledged() {
    let _suite = shared();
    let (_serve, url) = serve();
    let answer = Proc::spawn(&args("answer", "chat1", &url, &[]));
    let lines = "first\nsecond ✓\r\nbell\x07 and \x1b[2J\n";
    let dial = Proc::spawn_stdin(
        &[],
        &args("dial", "chat1", &url, &["--chat"]),
        lines.as_bytes(),
    );
    let d = dial.finish(Duration::from_secs(30));
    let a = answer.finish(Duration::from_secs(30));
    assert_eq!((d.code, a.code), (0, 0), "{}\n{}", d.stderr, a.stderr);
    let (ds, as_) = (d.summary(), a.summary());
    assert_eq!(ds.end_reason, "data-done", "{ds:?}");
    assert_eq!(as_.end_reason, "remote-bye");
    let texts = vec![
        "first".to_string(),
        "second ✓".to_string(),
        "bell\x07 and \x1b[2J".to_string(),
    ];
    assert_eq!(received(&a), texts, "in order, exactly as sent");
    let ids: Vec<u64> = chats(&a).iter().map(|c| c.1).collect();
    assert_eq!(ids, vec![0, 1, 2]);
    let c = ds.data.chat.expect("chat totals");
    assert_eq!((c.sent, c.acked, c.received), (3, 3, 0));
    assert_eq!(as_.data.chat.expect("chat totals").received, 3);
}

#[test]
fn chat_goes_both_ways_and_a_person_sees_control_characters_escaped() {
    let _suite = shared();
    let (_serve, url) = serve();
    let answer = Proc::spawn_stdin(
        &[],
        &args("answer", "chat2", &url, &["--chat", "--duration", "2.5"]),
        b"x\ny\n",
    );
    // The dialer reports for people (no --json): chat lines are notes on stderr.
    let mut human: Vec<&str> = args("dial", "chat2", &url, &["--chat", "--duration", "2.5"]);
    human.retain(|a| *a != "--json");
    let dial = Proc::spawn_stdin(&[], &human, b"a\x1b[31mred\n");
    let d = dial.finish(Duration::from_secs(30));
    let a = answer.finish(Duration::from_secs(30));
    assert_eq!((d.code, a.code), (0, 0), "{}\n{}", d.stderr, a.stderr);
    assert_eq!(received(&a), vec!["a\x1b[31mred".to_string()]);
    let peer_lines: Vec<&str> = d
        .stderr
        .lines()
        .filter(|l| l.contains("] peer: "))
        .collect();
    assert_eq!(peer_lines.len(), 2, "{}", d.stderr);
    assert!(peer_lines[0].ends_with("peer: x") && peer_lines[1].ends_with("peer: y"));
    let mine = d
        .stderr
        .lines()
        .find(|l| l.contains("] you: "))
        .expect("our own line shown");
    assert!(mine.ends_with("you: a\\u{1b}[31mred"), "{mine}");
    assert!(!d.stderr.contains('\x1b'), "an escape reached the terminal");
}

#[test]
fn a_chat_line_over_the_bound_is_not_sent_and_the_call_exits_6() {
    let _suite = shared();
    let (_serve, url) = serve();
    let answer = Proc::spawn(&args("answer", "chat3", &url, &[]));
    let input = format!("ok\n{}\n", "x".repeat(5000));
    let dial = Proc::spawn_stdin(
        &[],
        &args("dial", "chat3", &url, &["--chat"]),
        input.as_bytes(),
    );
    let d = dial.finish(Duration::from_secs(30));
    let a = answer.finish(Duration::from_secs(30));
    assert_eq!(d.code, 6, "{}", d.stderr);
    assert!(
        d.stderr
            .contains("chat line 2 is 5000 bytes; a chat message carries at most 4096"),
        "{}",
        d.stderr
    );
    assert_eq!(received(&a), vec!["ok".to_string()]);
    assert_eq!(a.code, 0);
}

/// One file from the dialer to the answerer's inbox; both summaries.
fn send_file(
    wrapper: &[&str],
    url: &str,
    room: &str,
    file: &Path,
    inbox: &str,
    extra: &[&str],
    answer_only: &[&str],
) -> (Finished, Finished) {
    let path = file.display().to_string();
    let mut a_extra = vec!["--receive", inbox];
    a_extra.extend_from_slice(extra);
    a_extra.extend_from_slice(answer_only);
    let mut d_extra = vec!["--send", path.as_str()];
    d_extra.extend_from_slice(extra);
    let answer = Proc::spawn_wrapped(wrapper, &args("answer", room, url, &a_extra), &[]);
    let dial = Proc::spawn_wrapped(wrapper, &args("dial", room, url, &d_extra), &[]);
    let d = dial.finish(Duration::from_secs(300));
    let a = answer.finish(Duration::from_secs(60));
    (d, a)
}

#[track_caller]
fn assert_verified(d: &Finished, a: &Finished, file: &Path, inbox: &Path) {
    assert_eq!((d.code, a.code), (0, 0), "{}\n{}", d.stderr, a.stderr);
    let (ds, as_): (Summary, Summary) = (d.summary(), a.summary());
    assert_eq!(ds.end_reason, "data-done");
    let name = file.file_name().unwrap().to_str().unwrap();
    let hash = sha256(file);
    let got = inbox.join(name);
    assert_eq!(sha256(&got), hash, "the received file differs");
    for f in [&ds.data.files[0], &as_.data.files[0]] {
        assert!(f.verified && f.error.is_none(), "{f:?}");
        assert_eq!(f.sha256.as_deref(), Some(hash.as_str()));
        assert_eq!(
            (f.bytes, f.size),
            (f.size, std::fs::metadata(file).unwrap().len())
        );
        assert!(f.mbit_s > 0.0);
    }
    // Nothing left behind but the file.
    let left: Vec<_> = std::fs::read_dir(inbox)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from(name)]);
}

#[test]
fn a_50_mb_file_arrives_with_its_sha256_and_progress() {
    let _suite = shared();
    let dir = scratch("big");
    let file = dir.path("random.bin");
    random_file(&file, 50 << 20);
    let (_serve, url) = serve();
    let (d, a) = send_file(&[], &url, "file1", &file, &dir.str("in"), &[], &[]);
    assert_verified(&d, &a, &file, &dir.path("in"));
    let events: Vec<String> = a
        .records()
        .into_iter()
        .filter_map(|r| match r {
            Record::File { event, .. } => Some(event.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(events.first().map(String::as_str), Some("offer"));
    assert_eq!(events.last().map(String::as_str), Some("verified"));
}

#[test]
fn a_50_mb_file_arrives_over_a_relay_only_call_through_coturn() {
    let _suite = shared();
    let dir = scratch("relay");
    let file = dir.path("relayed.bin");
    random_file(&file, 50 << 20);
    let turn = Turn::start(&TURN_TEST_USER);
    let ice = format!("turn:test:secret@127.0.0.1:{}", turn.port);
    let (_serve, url) = serve();
    let extra = ["--relay-only", "--ice-server", ice.as_str()];
    let (d, a) = send_file(&[], &url, "file2", &file, &dir.str("in"), &extra, &[]);
    assert_verified(&d, &a, &file, &dir.path("in"));
    let pair = d.summary().selected_pair.expect("a pair");
    assert_eq!(
        (
            pair.local.candidate_type.as_str(),
            pair.remote.candidate_type.as_str()
        ),
        ("relay", "relay")
    );
}

#[test]
fn a_50_mb_file_arrives_through_5_percent_loss() {
    let _suite = shared();
    let dir = scratch("loss");
    let file = dir.path("lossy.bin");
    random_file(&file, 50 << 20);
    let ns = LossyNetns::create(5);
    let w = ns.wrapper();
    let (_serve, url) = serve_wrapped(&w);
    let (d, a) = send_file(&w, &url, "file3", &file, &dir.str("in"), &[], &[]);
    assert_verified(&d, &a, &file, &dir.path("in"));
}

#[test]
fn offers_are_refused_without_receive_and_over_an_existing_file() {
    let _suite = shared();
    let dir = scratch("refuse");
    let file = dir.path("doc.txt");
    std::fs::write(&file, b"hello").unwrap();
    let (_serve, url) = serve();
    let path = file.display().to_string();
    // No --receive: refused, the sender exits 6, the receiver (its own policy) 0.
    let answer = Proc::spawn(&args("answer", "refuse1", &url, &[]));
    let dial = Proc::spawn(&args("dial", "refuse1", &url, &["--send", &path]));
    let (d, a) = (
        dial.finish(Duration::from_secs(30)),
        answer.finish(Duration::from_secs(30)),
    );
    assert_eq!((d.code, a.code), (6, 0), "{}\n{}", d.stderr, a.stderr);
    let e = d.summary().data.files[0].error.clone().unwrap();
    assert!(e.contains("refused") && e.contains("--receive"), "{e}");
    let error = d.summary().error.unwrap_or_default();
    assert!(error.contains("refused"), "{error}");

    // Already there: refused unless --overwrite; the old file is untouched.
    let inbox = dir.path("in");
    std::fs::write(inbox.join("doc.txt"), b"old").unwrap();
    let (d, a) = send_file(&[], &url, "refuse2", &file, &dir.str("in"), &[], &[]);
    assert_eq!((d.code, a.code), (6, 0), "{}\n{}", d.stderr, a.stderr);
    let e = d.summary().data.files[0].error.clone().unwrap();
    assert!(
        e.contains("already exists") && e.contains("--overwrite"),
        "{e}"
    );
    assert_eq!(std::fs::read(inbox.join("doc.txt")).unwrap(), b"old");

    let (d, a) = send_file(
        &[],
        &url,
        "refuse3",
        &file,
        &dir.str("in"),
        &[],
        &["--overwrite"],
    );
    assert_eq!((d.code, a.code), (0, 0), "{}\n{}", d.stderr, a.stderr);
    assert_eq!(std::fs::read(inbox.join("doc.txt")).unwrap(), b"hello");
}

/// A name with a bidi override (`evil\u{202e}txt.exe` reads "evilexe.txt") is saved without it,
/// and no terminal line on either side carries the raw character.
#[test]
fn bidi_controls_are_dropped_from_saved_names_and_escaped_where_shown() {
    let _suite = shared();
    let dir = scratch("bidi");
    let file = dir.path("evil\u{202e}txt.exe");
    std::fs::write(&file, b"not what it seems").unwrap();
    let (_serve, url) = serve();
    let path = file.display().to_string();
    let inbox = dir.str("in");
    let human = |role: &str, extra: [&str; 2]| {
        let v: Vec<String> = args(role, "bidi", &url, &extra)
            .into_iter()
            .filter(|a| *a != "--json")
            .map(String::from)
            .collect();
        v
    };
    let a_args = human("answer", ["--receive", inbox.as_str()]);
    let d_args = human("dial", ["--send", path.as_str()]);
    let answer = Proc::spawn(&a_args.iter().map(String::as_str).collect::<Vec<_>>());
    let dial = Proc::spawn(&d_args.iter().map(String::as_str).collect::<Vec<_>>());
    let d = dial.finish(Duration::from_secs(30));
    let a = answer.finish(Duration::from_secs(30));
    assert_eq!((d.code, a.code), (0, 0), "{}\n{}", d.stderr, a.stderr);
    let saved: Vec<String> = std::fs::read_dir(dir.path("in"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(saved, vec!["eviltxt.exe".to_string()]);
    for (who, f) in [("dialer", &d), ("answerer", &a)] {
        let all = format!("{}\n{}", f.stdout.join("\n"), f.stderr);
        assert!(
            !all.contains('\u{202e}'),
            "the {who} printed a raw U+202E:\n{all}"
        );
    }
    // The sender shows its own name escaped.
    assert!(d.stderr.contains("evil\\u{202e}txt.exe"), "{}", d.stderr);
}

#[test]
fn a_file_changed_during_the_transfer_fails_its_sha256_check_and_is_discarded() {
    let _suite = shared();
    let dir = scratch("changed");
    let file = dir.path("moving.bin");
    random_file(&file, 8 << 20);
    let (_serve, url) = serve();
    let path = file.display().to_string();
    let inbox = dir.str("in");
    let answer = Proc::spawn(&args("answer", "changed", &url, &["--receive", &inbox]));
    // 8 MiB at 20 Mbit/s: over 3 s, time enough to change the end of the file after the offer.
    let mut dial = Proc::spawn(&args(
        "dial",
        "changed",
        &url,
        &["--send", &path, "--impair", "rate=20mbit"],
    ));
    dial.wait_line(Duration::from_secs(20), |l| {
        l.contains(r#""type":"file""#) && l.contains(r#""event":"accepted""#)
    });
    {
        use std::io::{Seek, SeekFrom, Write};
        let mut f = std::fs::OpenOptions::new().write(true).open(&file).unwrap();
        f.seek(SeekFrom::End(-4)).unwrap();
        f.write_all(b"EDIT").unwrap();
    }
    let d = dial.finish(Duration::from_secs(60));
    let a = answer.finish(Duration::from_secs(30));
    assert_eq!((d.code, a.code), (6, 6), "{}\n{}", d.stderr, a.stderr);
    let theirs = a.summary().data.files[0].error.clone().unwrap();
    assert!(theirs.contains("SHA-256 mismatch"), "{theirs}");
    let ours = d.summary().data.files[0].error.clone().unwrap();
    assert!(
        ours.contains("changed while it was being sent") && ours.contains("SHA-256 mismatch"),
        "{ours}"
    );
    assert_eq!(
        std::fs::read_dir(dir.path("in")).unwrap().count(),
        0,
        "nothing kept"
    );
}

#[test]
fn the_throughput_test_reports_both_directions_each_second() {
    let _suite = shared();
    let (_serve, url) = serve();
    let answer = Proc::spawn(&args("answer", "tput", &url, &[]));
    let dial = Proc::spawn(&args("dial", "tput", &url, &["--data-throughput", "1.5"]));
    let d = dial.finish(Duration::from_secs(60));
    let a = answer.finish(Duration::from_secs(30));
    assert_eq!((d.code, a.code), (0, 0), "{}\n{}", d.stderr, a.stderr);
    let t = d.summary().data.throughput.expect("throughput");
    assert!(t.ordered && t.secs == 1.5);
    let (send, receive) = (t.send_mbit_s.unwrap(), t.receive_mbit_s.unwrap());
    assert!(send > 0.0 && receive > 0.0, "{t:?}");
    // The other side measured what it received: the same figure.
    let theirs = a.summary().data.throughput.expect("the answerer's view");
    assert_eq!(theirs.receive_mbit_s, Some(send));
    assert_eq!(theirs.send_mbit_s, Some(receive));
    let seconds: Vec<(String, u32)> = d
        .records()
        .into_iter()
        .filter_map(|r| match r {
            Record::Throughput {
                direction, second, ..
            } => Some((direction.to_string(), second)),
            _ => None,
        })
        .collect();
    assert!(seconds.contains(&("send".into(), 1)), "{seconds:?}");
    assert!(seconds.contains(&("receive".into(), 1)), "{seconds:?}");
    println!("loopback data throughput (not a benchmark): send {send} / receive {receive} Mbit/s");
}

#[test]
fn bad_data_options_exit_2_naming_the_problem() {
    let _suite = shared();
    let dir = scratch("bad");
    let missing = dir.path("missing.bin").display().to_string();
    let not_dir = dir.path("plain");
    std::fs::write(&not_dir, b"x").unwrap();
    let not_dir = not_dir.display().to_string();
    let inbox = dir.str("in");
    for (extra, expect) in [
        (vec!["--send", missing.as_str()], "--send"),
        (vec!["--send", inbox.as_str()], "not a regular file"),
        (vec!["--receive", not_dir.as_str()], "not a directory"),
        (vec!["--data-throughput", "0"], "--data-throughput"),
        (vec!["--data-throughput", "nan"], "--data-throughput"),
        (vec!["--overwrite"], "--receive"),
    ] {
        let mut a = vec!["dial", "bad", "--server", "ws://127.0.0.1:9/"];
        a.extend_from_slice(&extra);
        let f = Proc::spawn(&a).finish(Duration::from_secs(10));
        assert_eq!(f.code, 2, "{extra:?}: {}", f.stderr);
        assert!(f.stderr.contains(expect), "{extra:?}: {}", f.stderr);
        assert!(!f.stderr.contains("panicked"), "{}", f.stderr);
    }
}
