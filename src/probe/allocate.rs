//! Allocations the probe asks for itself: a fresh one (retried on 437), the ones a call
//! needs (to explain why a call could not get them), and keeping one alive.

use super::*;

/// Why our own client could not allocate now: the error and the realm announced.
#[derive(Debug)]
pub struct Refusal {
    pub error: WireError,
    pub realm: Option<String>,
}

impl Refusal {
    /// One line: "486 Allocation Quota Reached: …" with the 401 notes.
    pub fn explain(&self, server: &Server) -> String {
        match &self.error {
            WireError::Stun { code, .. } => {
                explain_with_auth(*code, self.realm.as_deref(), server.username.as_deref())
            }
            e => e.to_string(),
        }
    }

    pub fn code(&self) -> Option<u16> {
        match self.error {
            WireError::Stun { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// New 5-tuples tried after 437 Allocation Mismatch before the 437 counts.
pub(super) const MISMATCH_RETRIES: u32 = 3;

/// A new connection to `server` and an allocation on it with these credentials, within one
/// step bound.
pub(crate) async fn fresh_allocation(
    server: &Server,
    remote: SocketAddr,
    cfg: &ProbeConfig,
    (user, pass): (&str, &str),
) -> Result<(Turn, wire::Allocation), Refusal> {
    let rto = Duration::from_millis(500).min(cfg.step_timeout);
    let tls = Some((&cfg.tls, server.host.as_str()));
    let one = async {
        // 437 Allocation Mismatch: the server still holds an allocation for this 5-tuple
        // (another process's, from a local port the OS handed out again); RFC 8656 7.2 says
        // to try another 5-tuple, which a new connection is (ephemeral ports are random).
        let mut mismatched = 0;
        loop {
            let conn = Conn::open(server.transport, remote, tls, cfg.step_timeout)
                .await
                .map_err(|error| Refusal { error, realm: None })?;
            match Turn::allocate(conn, user, pass, rto).await {
                Err(wire::AllocateFailure {
                    error: WireError::Stun { code: 437, .. },
                    ..
                }) if mismatched < MISMATCH_RETRIES => mismatched += 1,
                r => {
                    return r.map_err(|f| Refusal {
                        error: f.error,
                        realm: f.realm,
                    });
                }
            }
        }
    };
    tokio::time::timeout(cfg.step_timeout, one)
        .await
        .unwrap_or(Err(Refusal {
            error: WireError::Timeout,
            realm: None,
        }))
}

/// `count` allocations held at once with `server`'s credentials, as webrtc-rs's own
/// allocations would ask for them now (each on its own connection), then given back. One
/// result per allocation, in order.
pub async fn allocations_now(
    server: &Server,
    remote: SocketAddr,
    cfg: &ProbeConfig,
    count: usize,
) -> Vec<Result<(), Refusal>> {
    let Some(creds) = server.credentials() else {
        return Vec::new();
    };
    let mut held = Vec::new();
    let mut results = Vec::new();
    // One after the other, each kept: the second sees the first, as a quota would.
    for _ in 0..count {
        match fresh_allocation(server, remote, cfg, creds).await {
            Ok((turn, _)) => {
                held.push(turn);
                results.push(Ok(()));
            }
            Err(r) => results.push(Err(r)),
        }
    }
    let any = !held.is_empty();
    for mut t in held {
        t.release().await;
    }
    if any {
        cfg.releases.mark();
    }
    results
}

/// An allocation with more than this left is not refreshed before the steps that use it.
const KEEP_ALIVE_MARGIN: Duration = Duration::from_secs(60);

/// Refresh the allocation when it is near its end (or, when it is gone, allocate again on a
/// new connection) so that the next step asks a live allocation.
pub(super) async fn keep_alive(
    turn: &mut Turn,
    alloc: &mut wire::Allocation,
    server: &Server,
    remote: SocketAddr,
    cfg: &ProbeConfig,
    (user, pass): (&str, &str),
) -> Result<(), WireError> {
    // Refresh only an allocation near its end: a young one needs none, and a Refresh is not
    // harmless everywhere (node-turn 0.0.6 drops the allocation on every Refresh, so the
    // permission requests that follow raced its deletion and met 437 Allocation Mismatch).
    let left =
        Duration::from_secs(u64::from(alloc.lifetime_s)).saturating_sub(alloc.granted_at.elapsed());
    if left > KEEP_ALIVE_MARGIN {
        return Ok(());
    }
    let refreshed = tokio::time::timeout(
        cfg.step_timeout,
        turn.refresh(Duration::from_secs(u64::from(alloc.lifetime_s.max(1)))),
    )
    .await
    .unwrap_or(Err(WireError::Timeout));
    match refreshed {
        Ok(l) => {
            alloc.lifetime_s = l;
            alloc.granted_at = std::time::Instant::now();
            Ok(())
        }
        Err(_) => {
            let (t, a) = fresh_allocation(server, remote, cfg, (user, pass))
                .await
                .map_err(|r| r.error)?;
            *turn = t;
            *alloc = a;
            Ok(())
        }
    }
}

/// The `turn-allocate` step of `server` at `remote`, on the binding step's connection: its step
/// goes to `out` (and `sink`); the allocation when there is one.
pub(super) async fn allocation(
    server: &Server,
    remote: SocketAddr,
    cfg: &ProbeConfig,
    sink: &Sink,
    out: &mut Outcome,
    bound: binding::Bound,
) -> Option<(Turn, wire::Allocation)> {
    let label = server.label();
    let tr = Some(server.transport);
    let rto = Duration::from_millis(500).min(cfg.step_timeout);
    let binding::Bound { conn, udp_fallback } = bound;
    let t = Timer::new(&label, "turn-allocate", tr);
    let Some((user, pass)) = server.credentials() else {
        let s = t.fail(
            "no credentials for this TURN server",
            "TURN needs a username and password: give --ice-username/--ice-credential, put them in \
             the URL (turn:USER:PASS@host), or mint them with --turn-secret",
        );
        out.steps.push(sink.step(s).await);
        return None;
    };
    let conn = match conn {
        Some(c) => c,
        None => {
            let s = t.done(Status::Skip, "not tried: the server cannot be reached");
            out.steps.push(sink.step(s).await);
            return None;
        }
    };
    let allocated = tokio::time::timeout(cfg.step_timeout, Turn::allocate(conn, user, pass, rto))
        .await
        .unwrap_or_else(|_| {
            Err(wire::AllocateFailure {
                error: WireError::Timeout,
                authenticated: false,
                realm: None,
            })
        });
    let (turn, alloc) = match allocated {
        Ok(v) => v,
        Err(f) => {
            let mut s = wire_step(&t, "allocation refused", &f.error, server, f.authenticated);
            if f.authenticated
                && let WireError::Stun { code: 401, .. } = f.error
                && let Some(e) = s.explanation.as_mut()
            {
                e.push_str(&auth_notes(f.realm.as_deref(), Some(user)));
            }
            if let Some(how) = udp_fallback
                && matches!(f.error, WireError::Timeout | WireError::Io(_))
            {
                s.explanation = Some(format!(
                    "the allocation over UDP fails as the binding requests did (UDP {how}, see \
                     stun-binding) while STUN over TCP on the same port answers: test \
                     turn:{}:{}?transport=tcp, which clients without UDP will use",
                    server.host, server.port
                ));
            }
            if matches!(f.error, WireError::Timeout) && out.binding_ok {
                s.message = "allocation: no response".into();
                s.explanation = Some(
                    "the server answers STUN binding requests but not TURN allocations: it is \
                     a STUN-only server, or TURN is disabled on this port"
                        .into(),
                );
            }
            out.steps.push(sink.step(s).await);
            return None;
        }
    };
    let mut s = t.done(
        Status::Pass,
        format!(
            "relayed address {}, lifetime {} s{}",
            alloc.relayed,
            alloc.lifetime_s,
            match (alloc.stale_nonce_retried, alloc.ipv6_requested) {
                (true, _) => " (retried once after 438 stale nonce)",
                (false, true) => " (IPv6: the server has no IPv4 relay address)",
                _ => "",
            }
        ),
    );
    if is_private(alloc.relayed.ip()) && !is_private(remote.ip()) {
        s.status = Status::Warn;
        s.explanation = Some(format!(
            "the relayed address {} is private while the server {} is public: peers on the \
             internet cannot reach it (coturn: set external-ip)",
            alloc.relayed.ip(),
            remote.ip()
        ));
    }
    if alloc.lifetime_s < SHORT_LIFETIME_S {
        s.status = Status::Warn;
        s.explanation = Some(format!(
            "the server granted a lifetime of only {} s (RFC 8656 asks for at least 600 s by \
             default): clients must refresh that often or lose the relay mid-call (coturn: \
             max-allocate-lifetime)",
            alloc.lifetime_s
        ));
    }
    if alloc.ipv6_requested {
        out.ipv6_only_relay = true;
        s.status = Status::Warn;
        s.explanation = Some(
            "the server refused an IPv4 relay (440) and gave an IPv6 one when asked: clients \
             that ask for the default IPv4 relay (webrtc-rs, most browsers) get no relay \
             candidate from it (coturn: add an IPv4 relay-ip)"
                .into(),
        );
    }
    s.relayed_address = Some(alloc.relayed.to_string());
    s.mapped_address = alloc.mapped.map(|m| m.to_string());
    s.lifetime_s = Some(alloc.lifetime_s);
    s.software = alloc.software.clone();
    out.steps.push(sink.step(s).await);
    Some((turn, alloc))
}
