//! Data through a TURN allocation: the echo path (a local peer socket that echoes what the
//! relay delivers, its permission, the address the relay sees it from, a bound channel), the
//! `relay-echo` measurement over ChannelData with a Send-indication fallback.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;

use super::wire::{self, Frame, Turn, WireError};
use super::{ProbeConfig, Timer, explain_code, round1, rtt_stats};
use crate::report::probe_schema::Status;
use crate::report::probe_schema::Step;

/// The channel the echo path binds.
pub const CHANNEL: u16 = 0x4000;

/// A local peer that echoes what the relay delivers, reachable through a bound channel.
pub struct EchoPath {
    /// The peer's address as the relay sees it (learned from its hello).
    pub peer: SocketAddr,
    /// The address permissions are asked for.
    pub permit_ip: IpAddr,
    pub channel: u16,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl EchoPath {
    /// Open a peer socket, ask a permission for it, let it speak first (so the relay tells
    /// us the address it really comes from, NATs included), bind `channel` to it. A failure
    /// is the step `t` ends with.
    pub(super) async fn open(
        turn: &mut Turn,
        relayed: SocketAddr,
        client_mapped: Option<SocketAddr>,
        cfg: &ProbeConfig,
        t: &Timer,
        channel: u16,
    ) -> Result<EchoPath, Box<Step>> {
        let bind: SocketAddr = match relayed.ip() {
            ip if ip.is_loopback() => SocketAddr::new(ip, 0),
            IpAddr::V4(_) => "0.0.0.0:0".parse().expect("literal"),
            IpAddr::V6(_) => "[::]:0".parse().expect("literal"),
        };
        let sock = match UdpSocket::bind(bind).await {
            Ok(p) => Arc::new(p),
            Err(e) => {
                return Err(Box::new(
                    t.fail("cannot open a local peer socket", e.to_string()),
                ));
            }
        };
        // The peer socket is on this host, so the server sees it from our own (mapped)
        // address.
        let permit_ip = client_mapped
            .map(|m| m.ip())
            .unwrap_or_else(|| sock.local_addr().map(|a| a.ip()).unwrap_or(bind.ip()));
        if let Err(e) = turn.create_permission(SocketAddr::new(permit_ip, 0)).await {
            let mut s = t.fail(
                format!("permission for {permit_ip} refused: {e}"),
                match &e {
                    WireError::Stun { code: 403, .. } => format!(
                        "the server will not relay to {permit_ip} (a denied peer range; coturn \
                         refuses loopback peers unless allow-loopback-peers is set), so the \
                         echo cannot be measured from this host"
                    ),
                    WireError::Stun { code, .. } => explain_code(*code, true),
                    _ => "the server did not answer the CreatePermission request".into(),
                },
            );
            if let WireError::Stun { code, .. } = e {
                s.error_code = Some(code);
            }
            return Err(Box::new(s));
        }
        let stop = CancellationToken::new();
        let task = tokio::spawn(echo_peer(sock.clone(), relayed, stop.clone()));
        let fail = |s: Step, stop: &CancellationToken| {
            stop.cancel();
            Err(Box::new(s))
        };
        let mut learned = None;
        let deadline = Instant::now() + cfg.step_timeout;
        'hello: for _ in 0..5 {
            let _ = sock.send_to(b"rtccall-hello", relayed).await;
            let wait = Instant::now() + Duration::from_millis(200);
            while Instant::now() < wait.min(deadline) {
                match turn
                    .conn
                    .recv(wait.saturating_duration_since(Instant::now()))
                    .await
                {
                    Ok(Frame::Stun(m)) => {
                        if let Some(p) = wire::data_indication_peer(&m) {
                            learned = Some(p);
                            break 'hello;
                        }
                    }
                    Ok(Frame::Channel { .. }) => {}
                    Err(WireError::Timeout) => break,
                    Err(_) => break 'hello,
                }
            }
        }
        let Some(peer) = learned else {
            return fail(
                t.fail(
                    "nothing came back through the relay",
                    format!(
                        "the relay at {relayed} did not deliver packets from a local socket to \
                         us: relay ports blocked by a firewall, or the server cannot reach \
                         {permit_ip}"
                    ),
                ),
                &stop,
            );
        };
        if let Err(e) = turn.channel_bind(channel, peer).await {
            let mut s = t.fail(format!("channel bind refused: {e}"), "ChannelBind failed");
            if let WireError::Stun { code, .. } = e {
                s.error_code = Some(code);
                s.explanation = Some(explain_code(code, true));
            }
            return fail(s, &stop);
        }
        Ok(EchoPath {
            peer,
            permit_ip,
            channel,
            stop,
            task,
        })
    }

    /// Stop the peer.
    pub async fn close(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}

/// Send packets from the client through the relay to a local socket, which echoes them back.
pub(super) async fn echo(
    turn: &mut Turn,
    alloc: &wire::Allocation,
    client_mapped: Option<SocketAddr>,
    cfg: &ProbeConfig,
    t: &Timer,
) -> Step {
    let path = match EchoPath::open(turn, alloc.relayed, client_mapped, cfg, t, CHANNEL).await {
        Ok(p) => p,
        Err(s) => return *s,
    };
    let peer_addr = path.peer;
    let n = cfg.echo_packets;
    let base = Instant::now();
    // When each packet left; taken when its echo comes back, so a duplicate counts once.
    let mut sent_at = vec![None::<Duration>; n as usize];
    let mut rtts = Vec::with_capacity(n as usize);
    // One 100-byte packet per millisecond: under 1 Mbit/s, like a media stream, so that a
    // relay's rate limit or a queue does not turn a burst into loss. Each packet is due at its
    // place on that schedule, not a millisecond after the previous one left (the timer's
    // granularity made that 1.5 to 2 ms): 100 packets take 0.1 s.
    let spacing = Duration::from_millis(1);
    let mut next = 0u32;
    let schedule = Instant::now();
    let mut next_at = schedule;
    let mut finish_by = None;
    loop {
        let now = Instant::now();
        if next < n && now >= next_at {
            let mut payload = [0u8; 100];
            payload[..4].copy_from_slice(&next.to_be_bytes());
            if turn.conn.send_channel(CHANNEL, &payload).await.is_err() {
                break;
            }
            sent_at[next as usize] = Some(base.elapsed());
            next += 1;
            next_at = schedule + spacing * next;
            if next == n {
                finish_by = Some(Instant::now() + Duration::from_millis(500));
            }
            continue;
        }
        if rtts.len() as u32 == n {
            break;
        }
        if let Some(f) = finish_by
            && now >= f
        {
            break;
        }
        let wait = if next < n {
            next_at.saturating_duration_since(now)
        } else {
            finish_by
                .map(|f| f.saturating_duration_since(now))
                .unwrap_or_default()
        };
        match turn.conn.recv(wait.max(Duration::from_micros(100))).await {
            Ok(Frame::Channel { number, data }) if number == CHANNEL && data.len() >= 4 => {
                let seq = u32::from_be_bytes([data[0], data[1], data[2], data[3]]) as usize;
                if let Some(at) = sent_at.get_mut(seq).and_then(Option::take) {
                    rtts.push((base.elapsed() - at).as_secs_f64() * 1000.0);
                }
            }
            Ok(_) | Err(WireError::Timeout) => {}
            Err(_) => break,
        }
    }
    let received = rtts.len() as u32;
    // Nothing came back as channel data: does the relay take Send indications instead?
    let by_send = if received == 0 {
        Some(send_indication_echo(turn, peer_addr, CHANNEL, cfg).await)
    } else {
        None
    };
    path.close().await;
    let loss = 100.0 * f64::from(n - received) / f64::from(n.max(1));
    let rtt = rtt_stats(&rtts);
    let mut s = if let Some((sent, back)) = by_send {
        if back == 0 {
            t.fail(
                format!(
                    "0/{n} packets came back, as ChannelData or as Send indications ({sent} tried)"
                ),
                format!(
                    "the relay delivers packets from peers to us (the peer's hello came back) \
                     but relays nothing we send to {peer_addr}: the relay drops data from \
                     clients"
                ),
            )
        } else {
            let mut s = t.done(
                Status::Warn,
                format!(
                    "0/{n} ChannelData packets came back, but {back}/{sent} Send indications \
                     did"
                ),
            );
            s.explanation = Some(
                "the relay (or something in front of it) drops ChannelData and relays only \
                 Send indications: browsers and webrtc-rs send ChannelData once a channel is \
                 bound, so their media will not get through"
                    .into(),
            );
            s
        }
    } else {
        let mut s = t.done(
            if loss > 5.0 {
                Status::Warn
            } else {
                Status::Pass
            },
            format!(
                "{received}/{n} packets echoed through {}, rtt p50 {} ms p95 {} ms",
                alloc.relayed,
                rtt.as_ref().map(|r| r.p50).unwrap_or(0.0),
                rtt.as_ref().map(|r| r.p95).unwrap_or(0.0)
            ),
        );
        if loss > 5.0 {
            s.explanation = Some(format!(
                "{loss:.0} % of packets were lost through the relay: congestion, rate limits \
                 (coturn max-bps) or an overloaded server"
            ));
        }
        s
    };
    s.relayed_address = Some(alloc.relayed.to_string());
    s.sent = Some(n);
    s.received = Some(received);
    s.loss_pct = Some(round1(loss));
    s.rtt_ms = rtt;
    s
}

/// Send indications to `peer` (numbered like the channel echo); returns (sent, echoed). The
/// echo comes back as channel data or as Data indications.
async fn send_indication_echo(
    turn: &mut Turn,
    peer: SocketAddr,
    channel: u16,
    cfg: &ProbeConfig,
) -> (u32, u32) {
    const TRIES: u32 = 20;
    let mut back = std::collections::BTreeSet::new();
    let mut sent = 0;
    let deadline = Instant::now() + cfg.step_timeout.min(Duration::from_secs(1));
    for i in 0..TRIES {
        let mut payload = [0u8; 100];
        payload[..4].copy_from_slice(&(0x8000_0000u32 | i).to_be_bytes());
        if turn.send_indication(peer, &payload).await.is_err() {
            break;
        }
        sent += 1;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    while Instant::now() < deadline && (back.len() as u32) < sent {
        let left = deadline.saturating_duration_since(Instant::now());
        let data = match turn.conn.recv(left).await {
            Ok(Frame::Channel { number, data }) if number == channel => data,
            Ok(Frame::Stun(m)) => match wire::data_indication_payload(&m) {
                Some(d) => d,
                None => continue,
            },
            Ok(_) => continue,
            Err(_) => break,
        };
        if data.len() >= 4 {
            let seq = u32::from_be_bytes([data[0], data[1], data[2], data[3]]);
            if seq & 0x8000_0000 != 0 {
                back.insert(seq);
            }
        }
    }
    (sent, back.len() as u32)
}

/// The local end of the echo: send back what the relay delivers.
async fn echo_peer(sock: Arc<UdpSocket>, relay: SocketAddr, stop: CancellationToken) {
    let mut buf = [0u8; 1500];
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            r = sock.recv_from(&mut buf) => {
                let Ok((n, from)) = r else { return };
                if from == relay {
                    let _ = sock.send_to(&buf[..n], relay).await;
                }
            }
        }
    }
}

/// The `relay-echo` step through `alloc` (bounded by the step timeout); what it found goes to
/// `out`'s relay facts.
pub(super) async fn echo_step(
    turn: &mut Turn,
    alloc: &wire::Allocation,
    label: &str,
    tr: Option<super::servers::Transport>,
    cfg: &super::ProbeConfig,
    out: &mut super::Outcome,
) -> super::Step {
    let t = super::Timer::new(label, "relay-echo", tr);
    let echo = echo(turn, alloc, out.mapped.or(alloc.mapped), cfg, &t);
    let s = match tokio::time::timeout(cfg.step_timeout, echo).await {
        Ok(s) => s,
        Err(_) => t.fail(
            format!("the echo did not finish within {:?}", cfg.step_timeout),
            "the relay answers too slowly (or --step-timeout is too short for --echo-packets)",
        ),
    };
    out.relay_ok = s.status == Status::Pass || s.status == Status::Warn;
    out.send_indications_only = s.received == Some(0) && s.status == Status::Warn;
    s
}
