//! Calls through TURN over TCP and TLS: webrtc-rs relays over UDP only, so rtccall bridges
//! them (a local UDP endpoint per server, carried over a TCP or TLS connection to coturn).
//! coturn is started with `--no-udp`, so its clients can reach it over TCP/TLS only.

use std::time::Duration;

use crate::common::*;

fn certificate() -> (String, String) {
    let c = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
        .expect("generate a certificate");
    (c.cert.pem(), c.signing_key.serialize_pem())
}

/// A relay-only call whose local relay candidates must ride on `protocol` to the TURN server.
fn relay_call(room: &str, ice: &str, extra: &[&str], protocol: &str) {
    let (d, a) = relay_only_call(room, ice, extra);
    for s in [&d, &a] {
        let pair = s.selected_pair.clone().expect("a selected pair");
        assert_eq!(
            pair.local.relay_protocol.as_deref(),
            Some(protocol),
            "{s:?}"
        );
    }
    assert_media_flowed(&d, &a);
}

#[test]
fn relay_only_calls_over_turn_tcp() {
    let _suite = shared();
    let mut opts = TURN_TEST_USER.to_vec();
    opts.push("--no-udp");
    let turn = Turn::start(&opts);
    let ice = format!("turn:test:secret@127.0.0.1:{}?transport=tcp", turn.port);
    relay_call("turn-tcp", &ice, &[], "tcp");
}

#[test]
fn relay_only_calls_over_turn_tls_with_the_certificate_checked() {
    let _suite = shared();
    let (cert, key) = certificate();
    let mut opts = TURN_TEST_USER.to_vec();
    opts.push("--no-udp");
    let turn = Turn::start_tls(&opts, &cert, &key);
    let tls_port = turn.tls_port.unwrap();
    let ice = format!("turns:test:secret@127.0.0.1:{tls_port}");
    let dir = Scratch::new("turns");
    let ca = dir.write("ca.pem", &cert);
    relay_call("turn-tls", &ice, &["--ca", &ca], "tls");

    // Not trusted: no relay, so a relay-only call cannot connect (exit 4), and the log says
    // why in plain words.
    let server = format!("ws://127.0.0.1:{}/", free_port());
    let args = [
        "--relay-only",
        "--ice-server",
        ice.as_str(),
        "--timeout",
        "4",
        "-v",
    ];
    let answer = Proc::spawn(&call_args("answer", "turn-untrusted", &server, &args));
    let dial = Proc::spawn(&call_args("dial", "turn-untrusted", &server, &args));
    let d = dial.finish(Duration::from_secs(30));
    let _ = answer.finish(Duration::from_secs(30));
    assert_ne!(d.code, 0, "{}", d.stderr);
    assert!(d.stderr.contains("--ca"), "{}", d.stderr);
}
