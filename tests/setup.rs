//! Call set-up against a peer that checks early: a test peer of its own, written from the
//! README's signaling protocol, sends its first ICE Binding request to `rtccall dial` before
//! its answer (as aiortc does), and that request must be answered once the answer is in,
//! without the peer retransmitting it.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use crate::common::*;
use rtc::stun::attributes::{ATTR_PRIORITY, ATTR_USERNAME, AttrType};
use rtc::stun::fingerprint::FINGERPRINT;
use rtc::stun::integrity::MessageIntegrity;
use rtc::stun::message::{BINDING_REQUEST, CLASS_SUCCESS_RESPONSE, Message, Setter, TransactionId};
use rtc::stun::textattrs::TextAttribute;
use rtc::stun::xoraddr::XorMappedAddress;
use tungstenite::Message as Ws;

/// ICE-CONTROLLED (RFC 8445 16.1): a 64-bit tie-breaker.
const ATTR_ICE_CONTROLLED: u16 = 0x8029;

struct Raw(u16, Vec<u8>);

impl Setter for Raw {
    fn add_to(&self, m: &mut Message) -> rtc::shared::error::Result<()> {
        m.add(AttrType(self.0), &self.1);
        Ok(())
    }
}

/// The value of the SDP attribute `name` (first occurrence).
fn sdp_attr<'a>(sdp: &'a str, name: &str) -> &'a str {
    sdp.lines()
        .find_map(|l| l.trim_end().strip_prefix(&format!("a={name}:")))
        .unwrap_or_else(|| panic!("no a={name} in the offer:\n{sdp}"))
}

/// An answer to `offer` that accepts every section with nothing to send or receive: enough
/// for the offerer to set it and start ICE with these credentials.
fn inactive_answer(offer: &str, ufrag: &str, pwd: &str) -> String {
    let fingerprint = (0..32)
        .map(|i| format!("{:02X}", i * 7 % 256))
        .collect::<Vec<_>>()
        .join(":");
    let mut out = Vec::new();
    for line in offer.lines().map(str::trim_end) {
        let keep = !(line.starts_with("a=ice-ufrag:")
            || line.starts_with("a=ice-pwd:")
            || line.starts_with("a=fingerprint:")
            || line.starts_with("a=setup:")
            || line.starts_with("a=candidate:")
            || line.starts_with("a=end-of-candidates")
            || line.starts_with("a=ssrc")
            || line.starts_with("a=msid")
            || line.starts_with("a=ice-options")
            || matches!(
                line,
                "a=sendrecv" | "a=sendonly" | "a=recvonly" | "a=inactive"
            ));
        if keep {
            out.push(line.to_string());
        }
        if line.starts_with("m=") {
            out.push(format!("a=ice-ufrag:{ufrag}"));
            out.push(format!("a=ice-pwd:{pwd}"));
            out.push(format!("a=fingerprint:sha-256 {fingerprint}"));
            out.push("a=setup:active".into());
            if !line.starts_with("m=application") {
                out.push("a=inactive".into());
            }
        }
    }
    out.join("\r\n") + "\r\n"
}

#[test]
fn a_binding_request_before_the_answer_is_answered() {
    let _suite = shared();
    let (_serve, url) = serve();
    let room = format!("early-{}", std::process::id());
    // The answer comes 150 ms after the check has arrived; the response within 400 ms of the
    // answer, less than any peer's first retransmission (500 ms).
    let took = early_check(
        &url,
        &room,
        Duration::from_millis(150),
        Duration::from_millis(400),
    );
    assert!(took < Duration::from_millis(400), "{took:?}");
}

/// The early-checking benchmark of `.ci/bench-connect`: 50 calls in which the peer's one
/// Binding request reaches `rtccall dial` 2 ms before the answer; prints how long after the
/// answer each got its response (a peer like aiortc would otherwise wait 500 ms to retransmit).
/// `cargo test --release --test setup -- --ignored --nocapture`
#[test]
#[ignore = "benchmark: prints figures"]
fn bench_early_checks() {
    let _suite = shared();
    let (_serve, url) = serve();
    let mut took: Vec<f64> = (0..50)
        .map(|i| {
            let room = format!("early-bench-{}-{i}", std::process::id());
            let d = early_check(
                &url,
                &room,
                Duration::from_millis(2),
                Duration::from_secs(2),
            );
            d.as_secs_f64() * 1000.0
        })
        .collect();
    took.sort_by(f64::total_cmp);
    let pct = |p: usize| took[(took.len() - 1) * p / 100];
    println!(
        "early-checking peer: {} calls, response after the answer p50={:.1} ms p95={:.1} ms \
         max={:.1} ms, over 50 ms: {}",
        took.len(),
        pct(50),
        pct(95),
        took[took.len() - 1],
        took.iter().filter(|&&t| t > 50.0).count()
    );
}

/// One call with an early-checking peer: joins `room` as the answerer, sends one Binding
/// request to the dialer's host candidate, waits `gap`, sends its answer, and returns how long
/// after the answer the response came (failing the test if none came within `within`).
fn early_check(url: &str, room: &str, gap: Duration, within: Duration) -> Duration {
    let dial = Proc::spawn(&call_args("dial", room, url, &["--duration", "3"]));

    // The answering peer: joins, takes the offer and the dialer's first host candidate.
    let (mut ws, _) = tungstenite::connect(url).expect("connect to rtccall serve");
    let send = |ws: &mut tungstenite::WebSocket<_>, v: serde_json::Value| {
        ws.send(Ws::text(v.to_string())).expect("send");
    };
    send(
        &mut ws,
        serde_json::json!({"type": "join", "room": room, "role": "answer"}),
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut offer = None;
    let mut target: Option<SocketAddr> = None;
    while offer.is_none() || target.is_none() {
        assert!(Instant::now() < deadline, "no offer and host candidate");
        let Ws::Text(t) = ws.read().expect("read signaling") else {
            continue;
        };
        let m: serde_json::Value = serde_json::from_str(&t).unwrap();
        match m["type"].as_str() {
            Some("offer") => offer = Some(m["sdp"].as_str().unwrap().to_string()),
            Some("candidate") => {
                let c = m["candidate"].as_str().unwrap_or("");
                let f: Vec<&str> = c.trim_start_matches("candidate:").split(' ').collect();
                // foundation component protocol priority address port typ host
                if f.len() >= 8 && f[2].eq_ignore_ascii_case("udp") && f[7] == "host" {
                    target.get_or_insert(format!("{}:{}", f[4], f[5]).parse().unwrap());
                }
            }
            _ => {}
        }
    }
    let offer = offer.unwrap();
    let target = target.unwrap();
    let (their_ufrag, their_pwd) = (sdp_attr(&offer, "ice-ufrag"), sdp_attr(&offer, "ice-pwd"));
    let (ufrag, pwd) = ("earlyPeer", "earlyPeerPasswordOf22ch");

    // The check, sent once, before the answer.
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let crypto = rtc::crypto::default_provider().expect("crypto provider");
    let tid = TransactionId::new();
    let mut req = Message::new();
    req.build(&[
        Box::new(BINDING_REQUEST),
        Box::new(tid),
        Box::new(TextAttribute::new(
            ATTR_USERNAME,
            format!("{their_ufrag}:{ufrag}"),
        )),
        Box::new(Raw(
            ATTR_ICE_CONTROLLED,
            0x1234_5678_9abc_def0u64.to_be_bytes().to_vec(),
        )),
        Box::new(Raw(ATTR_PRIORITY.0, 0x6e00_01ffu32.to_be_bytes().to_vec())),
        Box::new(MessageIntegrity::new_short_term_integrity_with_provider(
            their_pwd.to_string(),
            crypto.crypto(),
        )),
        Box::new(FINGERPRINT),
    ])
    .expect("build the binding request");
    sock.send_to(&req.raw, target).unwrap();
    std::thread::sleep(gap);
    send(
        &mut ws,
        serde_json::json!({"type": "answer", "sdp": inactive_answer(&offer, ufrag, pwd)}),
    );
    let answered = Instant::now();

    // Its response, without a retransmission: the dialer's own checks come too, and are
    // skipped.
    sock.set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    let answered_by = answered + within;
    let mut buf = [0u8; 1500];
    let response = loop {
        assert!(
            Instant::now() < answered_by,
            "the Binding request sent before the answer got no response"
        );
        let Ok((n, from)) = sock.recv_from(&mut buf) else {
            continue;
        };
        let mut m = Message {
            raw: buf[..n].to_vec(),
            ..Message::default()
        };
        if m.decode().is_ok() && m.transaction_id == tid {
            assert_eq!(from, target, "the response came from elsewhere");
            break (m, answered.elapsed());
        }
    };
    let (response, took) = response;
    assert_eq!(response.typ.class, CLASS_SUCCESS_RESPONSE, "{response:?}");
    MessageIntegrity::check(&mut response.clone(), their_pwd.as_bytes(), crypto.crypto())
        .expect("the response carries the dialer's MESSAGE-INTEGRITY");
    let mut mapped = XorMappedAddress::default();
    use rtc::stun::message::Getter;
    mapped.get_from(&response).expect("XOR-MAPPED-ADDRESS");
    assert_eq!(
        SocketAddr::new(mapped.ip, mapped.port),
        sock.local_addr().unwrap()
    );
    let _ = ws.close(None);
    drop(dial);
    took
}
