//! The binding steps: STUN binding requests over the server's own transport, on the connection
//! TURN will use (with what a failure says: TLS port speaking plain TCP, UDP refused or
//! blocked while TCP answers), and for a `stun:` server over UDP, STUN over TCP too.

use super::*;

/// What the binding step leaves for the allocation: the connection (none when it could not be
/// opened), and "refused"/"blocked" when UDP failed while STUN over TCP on the same port
/// answered.
pub(super) struct Bound {
    pub conn: Option<Conn>,
    pub udp_fallback: Option<&'static str>,
}

/// The `stun-binding` step of `server` at `remote`; its step goes to `out` (and `sink`).
pub(super) async fn binding(
    server: &Server,
    remote: SocketAddr,
    cfg: &ProbeConfig,
    sink: &Sink,
    out: &mut Outcome,
) -> Bound {
    let label = server.label();
    let tr = Some(server.transport);
    let t = Timer::new(&label, "stun-binding", tr);
    let rto = Duration::from_millis(500).min(cfg.step_timeout);
    let tls = Some((&cfg.tls, server.host.as_str()));
    let mut conn = match Conn::open(server.transport, remote, tls, cfg.step_timeout).await {
        Ok(c) => Some(c),
        Err(e) => {
            let mut s = wire_step(&t, "connect", &e, server, false);
            // A TLS handshake that got no TLS back, or nothing at all (coturn with no-tls
            // keeps the connection open and never answers a ClientHello): does the port speak
            // plain STUN over TCP instead?
            let no_tls = matches!(e, WireError::NotTls(_))
                || server.transport == Transport::Tls && matches!(e, WireError::Timeout);
            if no_tls {
                let bound = cfg.step_timeout.min(Duration::from_secs(1));
                if let Ok(mut tc) = Conn::open(Transport::Tcp, remote, None, bound).await
                    && wire::binding(&mut tc, bound).await.is_ok()
                {
                    s.explanation = Some(format!(
                        "this port speaks TURN over TCP, not TLS: plain STUN over TCP to \
                         {remote} answers. Use turn:{}:{}?transport=tcp, or the server's TLS \
                         port (coturn: tls-listening-port, default 5349)",
                        server.host, server.port
                    ));
                }
            }
            out.steps.push(sink.step(s).await);
            None
        }
    };
    // Set when UDP failed and STUN over TCP on the same port answered: "refused" or "blocked".
    let mut udp_fallback: Option<&'static str> = None;
    if let Some(c) = conn.as_mut() {
        let mut rtts = Vec::new();
        let mut last = None;
        let mut first_err = None;
        let per_request = if server.transport == Transport::Udp {
            rto
        } else {
            cfg.step_timeout
        };
        // The step's bound holds: requests it leaves no time for are not sent.
        let deadline = Instant::now() + cfg.step_timeout;
        let mut sent = 0u32;
        for _ in 0..BINDING_REQUESTS {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            sent += 1;
            match wire::binding(c, per_request.min(left)).await {
                Ok(b) => {
                    rtts.push(b.rtt.as_secs_f64() * 1000.0);
                    last = Some(b);
                }
                Err(e) => {
                    let fatal = !matches!(e, WireError::Timeout);
                    first_err.get_or_insert(e);
                    if fatal {
                        break;
                    }
                }
            }
        }
        let received = rtts.len() as u32;
        let mut s = match (&last, &first_err) {
            (Some(b), _) => {
                out.mapped = Some(b.mapped);
                out.binding_ok = true;
                let loss = 100.0 * f64::from(sent - received) / f64::from(sent.max(1));
                let mut s = t.done(
                    if received == sent {
                        Status::Pass
                    } else {
                        Status::Warn
                    },
                    format!("mapped address {}, {received}/{sent} answered", b.mapped),
                );
                if received < sent {
                    s.explanation = Some(format!(
                        "{:.0} % of binding requests got no answer: packet loss on the path \
                         or an overloaded server",
                        loss
                    ));
                }
                s.mapped_address = Some(b.mapped.to_string());
                s.software = b.software.clone();
                s.loss_pct = Some(round1(loss));
                s
            }
            (None, Some(e)) => {
                let mut s = wire_step(&t, "binding", e, server, false);
                let refused = matches!(e, WireError::Io(_));
                if (refused || matches!(e, WireError::Timeout))
                    && server.transport == Transport::Udp
                {
                    // Is it UDP that is blocked or off? Try TCP on the same port.
                    let bound = cfg.step_timeout.min(Duration::from_secs(1));
                    if let Ok(mut tc) = Conn::open(Transport::Tcp, remote, None, bound).await
                        && wire::binding(&mut tc, bound).await.is_ok()
                    {
                        udp_fallback = Some(if refused { "refused" } else { "blocked" });
                        s.explanation = Some(if refused {
                            format!(
                                "UDP to {remote} is refused (ICMP port unreachable) but STUN \
                                 over TCP on the same port works: the server does not listen \
                                 on UDP (coturn: no-udp) or a firewall rejects UDP, so clients \
                                 will need TURN over TCP or TLS"
                            )
                        } else {
                            format!(
                                "UDP to {remote} gets no answer but STUN over TCP on the same \
                                 port works: UDP is blocked on the path (a firewall), so \
                                 clients will need TURN over TCP or TLS"
                            )
                        });
                    }
                }
                s
            }
            (None, None) => t.fail(
                "no binding request was sent",
                "the step's time ran out before the first request",
            ),
        };
        s.sent = Some(sent);
        s.received = Some(received);
        s.rtt_ms = rtt_stats(&rtts);
        out.steps.push(sink.step(s).await);
    }
    Bound { conn, udp_fallback }
}

/// A `stun:` server over TCP (RFC 5389 says servers should answer there too): a warning, not a
/// failure, when it does not.
pub(super) async fn stun_over_tcp(server: &Server, remote: SocketAddr, cfg: &ProbeConfig) -> Step {
    let t = Timer::new(&server.label(), "stun-binding-tcp", Some(Transport::Tcp));
    let tried = async {
        let mut c = Conn::open(Transport::Tcp, remote, None, cfg.step_timeout).await?;
        wire::binding(&mut c, cfg.step_timeout).await
    };
    match tokio::time::timeout(cfg.step_timeout, tried).await {
        Ok(Ok(b)) => {
            let mut s = t.done(
                Status::Pass,
                format!("mapped address {} over TCP", b.mapped),
            );
            s.mapped_address = Some(b.mapped.to_string());
            s.rtt_ms = rtt_stats(&[b.rtt.as_secs_f64() * 1000.0]);
            s
        }
        Ok(Err(e)) => {
            let mut s = t.done(Status::Warn, format!("no STUN over TCP: {e}"));
            s.explanation = Some(
                "the server answers STUN over UDP only (common for public STUN servers): \
                 clients whose UDP is blocked need TURN over TCP or TLS"
                    .into(),
            );
            s
        }
        Err(_) => {
            let mut s = t.done(Status::Warn, "no STUN over TCP: no response");
            s.explanation = Some(
                "nothing answered STUN over TCP in time: clients whose UDP is blocked need \
                 TURN over TCP or TLS"
                    .into(),
            );
            s
        }
    }
}
