//! The call engine as a library: several calls in one process, each with its own records and
//! its own end, through one in-process signaling server.

use clap::Parser;
use rtccall::call::{AcceptPolicy, Call, CallConfig};
use rtccall::cli::{Cli, Command};
use rtccall::media::shared::Encoders;
use rtccall::report::schema::{Record, Summary};
use rtccall::signal::{Role, Server};
use tokio_util::sync::CancellationToken;

use crate::common::{call_args, shared};

/// A call config resolved from command-line words, as `rtccall` itself resolves them.
fn config(words: &[&str]) -> CallConfig {
    let cli = Cli::try_parse_from(std::iter::once("rtccall").chain(words.iter().copied()))
        .expect("arguments parse");
    match cli.command {
        Command::Dial(a) => a.call.to_config(Role::Dial, AcceptPolicy::Auto, false),
        Command::Answer(a) => a.call.to_config(Role::Answer, AcceptPolicy::Auto, false),
        _ => unreachable!("dial or answer"),
    }
    .expect("a valid call")
}

/// A small call's arguments (the suite's usual ones) with a tone for audio, no speaker, and
/// loopback sockets.
fn words<'a>(role: &'a str, room: &'a str, url: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut more = vec!["--bind", "127.0.0.1:0", "--audio", "tone", "--no-speaker"];
    more.extend_from_slice(extra);
    call_args(role, room, url, &more)
}

/// Read a call's records until it ends; its summary and every record.
async fn collect(
    call: Call,
    mut rx: tokio::sync::mpsc::Receiver<Record>,
) -> (Summary, Vec<Record>) {
    let reader = tokio::spawn(async move {
        let mut all = Vec::new();
        while let Some(r) = rx.recv().await {
            all.push(r);
        }
        all
    });
    let summary = call.wait().await.expect("the runtime is up");
    (summary, reader.await.unwrap())
}

/// Run `body` on a runtime of its own with an in-process signaling server on loopback (its
/// URL given), stopped afterwards.
fn with_server<F: std::future::Future<Output = ()>>(body: impl FnOnce(String) -> F) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let server = Server::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let url = server.url();
        let stop_server = CancellationToken::new();
        let served = tokio::spawn(server.run(stop_server.clone()));
        body(url).await;
        stop_server.cancel();
        let _ = served.await;
    });
}

#[track_caller]
fn assert_flowed(me: &Summary, other: &Summary) {
    assert!(me.connected, "{me:?}");
    assert!(other.video.frames_sent > 0, "{other:?}");
    assert!(
        me.video.frames_decoded as f64 >= 0.7 * other.video.frames_sent as f64,
        "decoded {} of {} frames",
        me.video.frames_decoded,
        other.video.frames_sent
    );
    assert!(me.audio.packets_received > 0, "no audio arrived: {me:?}");
}

/// Two calls (four peers) in one process at once: both connect, media flows both ways in each,
/// and each ends on its own: one by its duration, the other hung up through its handle.
#[test]
fn two_calls_in_one_process_each_end_on_their_own() {
    let _suite = shared();
    with_server(|url| async move {
        let stop = CancellationToken::new();

        let (a1, a1_rx) = Call::start(
            config(&words("answer", "one", &url, &["--duration", "6"])),
            None,
            &stop,
            None,
        );
        let (d1, d1_rx) = Call::start(config(&words("dial", "one", &url, &[])), None, &stop, None);
        let (a2, a2_rx) = Call::start(
            config(&words("answer", "two", &url, &[])),
            None,
            &stop,
            None,
        );
        let (d2, d2_rx) = Call::start(config(&words("dial", "two", &url, &[])), None, &stop, None);

        // Call one ends by its answerer's --duration; call two is hung up through its handle
        // once call one is over, so each end is its own.
        let one = tokio::spawn(async move { tokio::join!(collect(a1, a1_rx), collect(d1, d1_rx)) });
        let ((a1s, _), (d1s, _)) = one.await.unwrap();
        assert_eq!(a1s.end_reason, "duration", "{a1s:?}");
        assert_eq!(d1s.end_reason, "remote-bye", "{d1s:?}");
        assert_eq!((a1s.exit_code, d1s.exit_code), (0, 0));
        assert_flowed(&a1s, &d1s);
        assert_flowed(&d1s, &a1s);

        d2.hang_up();
        let ((a2s, a2_records), (d2s, _)) = tokio::join!(collect(a2, a2_rx), collect(d2, d2_rx));
        assert_eq!(d2s.end_reason, "interrupted", "{d2s:?}");
        assert_eq!(a2s.end_reason, "remote-bye", "{a2s:?}");
        assert!(a2s.duration_s > 4.0, "call two outlived call one: {a2s:?}");
        assert_flowed(&a2s, &d2s);
        assert_flowed(&d2s, &a2s);
        // Each call's records are its own: call two's answerer heard only room two.
        assert!(
            a2_records
                .iter()
                .all(|r| !matches!(r, Record::Summary(s) if s.room != "two")),
            "records crossed between calls"
        );
        assert!(!stop.is_cancelled(), "one hang-up must not end the others");
    });
}

/// Calls that share encoders: four peers sending the test pattern take it from one VP8
/// encoder, a peer asking for VP9 from a second one, and their tone from one Opus encoder;
/// every call still gets video both ways, and the encoders stop with their last call.
#[test]
fn calls_share_one_encoder_per_codec() {
    let _suite = shared();
    with_server(|url| async move {
        let stop = CancellationToken::new();
        let encoders = Encoders::new();
        let start = |words: Vec<&str>| {
            let mut c = config(&words);
            c.media.shared = Some(encoders.clone());
            Call::start(c, None, &stop, None)
        };
        let (a1, a1_rx) = start(words("answer", "one", &url, &["--duration", "5"]));
        let (d1, d1_rx) = start(words("dial", "one", &url, &[]));
        let (a2, a2_rx) = start(words("answer", "two", &url, &["--duration", "5"]));
        let (d2, d2_rx) = start(words("dial", "two", &url, &["--video-codec", "vp9"]));

        let watching = encoders.clone();
        let most = tokio::spawn(async move {
            let mut most = 0;
            for _ in 0..50 {
                most = most.max(watching.running());
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            most
        });
        let ((a1s, _), (d1s, _), (a2s, _), (d2s, _)) = tokio::join!(
            collect(a1, a1_rx),
            collect(d1, d1_rx),
            collect(a2, a2_rx),
            collect(d2, d2_rx)
        );
        for (me, other) in [(&a1s, &d1s), (&d1s, &a1s), (&a2s, &d2s), (&d2s, &a2s)] {
            assert_eq!(me.exit_code, 0, "{me:?}");
            assert_flowed(me, other);
        }
        assert_eq!(d2s.video.codec, "VP9", "{d2s:?}");
        assert_eq!(
            most.await.unwrap(),
            3,
            "one VP8 and one VP9 encoder, and one tone"
        );
        let stopped = std::time::Instant::now();
        while encoders.running() > 0 {
            assert!(
                stopped.elapsed() < std::time::Duration::from_secs(2),
                "the shared encoders outlived their calls"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    });
}

/// Security words: the two ends of a direct call show the same; a relay in the middle that
/// holds one peer connection towards each end (each with a certificate of its own, as a man in
/// the middle holds) leaves its two ends with different words, each the words of the relay's
/// leg facing it.
#[test]
fn security_words_match_directly_and_differ_through_a_man_in_the_middle() {
    let _suite = shared();
    with_server(|url| async move {
        let stop = CancellationToken::new();
        let start = |w: Vec<&str>| Call::start(config(&w), None, &stop, None);
        let (a, a_rx) = start(words("answer", "sas-direct", &url, &["--duration", "2"]));
        let (d, d_rx) = start(words("dial", "sas-direct", &url, &[]));
        let ((answer, _), (dial, records)) = tokio::join!(collect(a, a_rx), collect(d, d_rx));
        assert_flowed(&dial, &answer);
        let words_record = records.iter().find_map(|r| match r {
            Record::Sas { words, .. } => Some(words.clone()),
            _ => None,
        });
        assert!(dial.sas.is_some(), "{dial:?}");
        assert_eq!(dial.sas, answer.sas);
        assert_eq!(words_record, dial.sas);
        assert_eq!(dial.sas.as_deref().unwrap().split(' ').count(), 4);

        // Alice dials room "left" where the relay answers; the relay dials room "right" where
        // Bob answers. Each leg is a DTLS connection of its own.
        let (alice, alice_rx) = start(words("dial", "left", &url, &["--duration", "3"]));
        let (relay_l, relay_l_rx) = start(words("answer", "left", &url, &[]));
        let (relay_r, relay_r_rx) = start(words("dial", "right", &url, &["--duration", "3"]));
        let (bob, bob_rx) = start(words("answer", "right", &url, &[]));
        let ((alice, _), (relay_l, _), (relay_r, _), (bob, _)) = tokio::join!(
            collect(alice, alice_rx),
            collect(relay_l, relay_l_rx),
            collect(relay_r, relay_r_rx),
            collect(bob, bob_rx)
        );
        for s in [&alice, &relay_l, &relay_r, &bob] {
            assert!(s.connected && s.sas.is_some(), "{s:?}");
        }
        assert_eq!(alice.sas, relay_l.sas);
        assert_eq!(bob.sas, relay_r.sas);
        assert_ne!(
            alice.sas, bob.sas,
            "the two ends of a bridged call must read different words"
        );
    });
}
