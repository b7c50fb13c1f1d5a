//! The TURN security step: does the relay let a client reach loopback, private, link-local
//! or metadata addresses (evidence-bound: only a 403 counts as refused).

use super::*;

/// Peer addresses the TURN security check asks permissions for (nothing is ever sent to them):
/// loopback, the private ranges, link-local (cloud metadata) and the unspecified address.
pub(super) const SECURITY_PEERS: [IpAddr; 9] = [
    IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 1)),
    IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1)),
    IpAddr::V4(std::net::Ipv4Addr::new(172, 16, 0, 1)),
    IpAddr::V4(std::net::Ipv4Addr::new(192, 168, 0, 1)),
    IpAddr::V4(std::net::Ipv4Addr::new(169, 254, 169, 254)),
    IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
    IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
    IpAddr::V6(std::net::Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1)),
    IpAddr::V6(std::net::Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1)),
];

pub(super) fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v) => v.is_private() || v.is_loopback() || v.is_link_local() || is_shared_v4(v),
        IpAddr::V6(v) => v.is_loopback() || v.is_unique_local() || v.is_unicast_link_local(),
    }
}

pub(super) fn is_shared_v4(v: std::net::Ipv4Addr) -> bool {
    // 100.64.0.0/10 (carrier-grade NAT)
    v.octets()[0] == 100 && (v.octets()[1] & 0xC0) == 64
}

/// The `turn-security` verdict from the answers to permission requests for internal peers
/// (`of` asked for in all, `finished` false when the step's time ran out). Only 403 Forbidden
/// is a refusal; any other answer cannot tell.
pub(super) fn security_step(
    t: &Timer,
    answers: &[(IpAddr, Result<(), WireError>)],
    of: usize,
    finished: bool,
) -> Step {
    let mut allowed = Vec::new();
    let mut refused = Vec::new();
    let mut unknown = Vec::new();
    for (ip, r) in answers {
        match r {
            Ok(()) => allowed.push(ip.to_string()),
            Err(WireError::Stun { code: 403, .. }) => refused.push(ip.to_string()),
            Err(e) => unknown.push(format!("{ip} ({e})")),
        }
    }
    let not_asked = of.saturating_sub(answers.len());
    let mut s = if !allowed.is_empty() {
        let mut s = t.done(
            Status::Warn,
            format!("relays to internal addresses: {}", allowed.join(", ")),
        );
        s.explanation = Some(
            "anyone with TURN credentials can reach these addresses through the relay (the \
             CVE-2020-26262 class): deny them (coturn: no-loopback-peers, denied-peer-ip for \
             10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 169.254.0.0/16, fc00::/7, fe80::/10) \
             unless the relay really must reach them"
                .into(),
        );
        s
    } else if !unknown.is_empty() || not_asked > 0 || !finished {
        let mut s = t.done(
            Status::Warn,
            format!(
                "cannot tell: {} of {of} internal addresses refused with 403, {} answered \
                 otherwise, {not_asked} not asked",
                refused.len(),
                unknown.len()
            ),
        );
        s.explanation = Some(format!(
            "only 403 Forbidden means the server refuses a peer; {}{}",
            if unknown.is_empty() {
                String::new()
            } else {
                format!(
                    "the other answers ({}) say nothing about the peer policy (an expired \
                     allocation, a stale nonce or a server error)",
                    unknown.join(", ")
                )
            },
            if not_asked > 0 || !finished {
                format!(
                    "{}the server stopped answering before every address was asked",
                    if unknown.is_empty() { "" } else { "; " }
                )
            } else {
                String::new()
            }
        ));
        s
    } else {
        t.done(
            Status::Pass,
            format!(
                "refuses loopback, private and link-local peers ({} tried, each 403 Forbidden)",
                refused.len()
            ),
        )
    };
    s.peers_allowed = Some(allowed);
    s.peers_refused = Some(refused);
    s.peers_unknown = Some(unknown).filter(|u| !u.is_empty());
    s
}

/// The `turn-security` step: does the relay grant permissions for loopback, private or
/// link-local peers? Asked on a live allocation (an expired one answers 437, or anything, to
/// every request). `false` when the allocation could not be kept alive.
pub(super) async fn security(
    turn: &mut Turn,
    alloc: &mut wire::Allocation,
    server: &Server,
    remote: SocketAddr,
    cfg: &ProbeConfig,
    (user, pass): (&str, &str),
) -> (Step, bool) {
    let t = Timer::new(&server.label(), "turn-security", Some(server.transport));
    if let Err(e) = keep_alive(turn, alloc, server, remote, cfg, (user, pass)).await {
        let mut s = t.done(
            Status::Warn,
            format!("cannot tell: the allocation could not be kept alive ({e})"),
        );
        s.explanation = Some(
            "neither a Refresh nor a new allocation succeeded, so permission answers would \
             say nothing about the peer policy"
                .into(),
        );
        return (s, false);
    }
    let same_family: Vec<IpAddr> = SECURITY_PEERS
        .iter()
        .copied()
        .filter(|ip| ip.is_ipv4() == alloc.relayed.is_ipv4())
        .collect();
    let mut answers: Vec<(IpAddr, Result<(), WireError>)> = Vec::new();
    let asking = async {
        for ip in &same_family {
            // A permission sends nothing to the peer: it only asks whether the server would.
            let peer = SocketAddr::new(*ip, 9);
            let r = turn.create_permission(peer).await;
            let stop = matches!(r, Err(WireError::Timeout | WireError::Io(_)));
            answers.push((*ip, r));
            if stop {
                break;
            }
        }
    };
    let mut finished = tokio::time::timeout(cfg.step_timeout, asking).await.is_ok();
    // 437 says our allocation is gone, nothing about the peer: ask those again once, on a
    // fresh allocation, so the verdict does not depend on a race with the server.
    let mismatched: Vec<usize> = answers
        .iter()
        .enumerate()
        .filter(|(_, (_, r))| matches!(r, Err(WireError::Stun { code: 437, .. })))
        .map(|(i, _)| i)
        .collect();
    if finished && !mismatched.is_empty() {
        if let Ok((t2, a2)) = allocate::fresh_allocation(server, remote, cfg, (user, pass)).await {
            *turn = t2;
            *alloc = a2;
            let again = async {
                for &i in &mismatched {
                    let peer = SocketAddr::new(answers[i].0, 9);
                    answers[i].1 = turn.create_permission(peer).await;
                }
            };
            finished = tokio::time::timeout(cfg.step_timeout, again).await.is_ok();
        }
    }
    (
        security_step(&t, &answers, same_family.len(), finished),
        true,
    )
}
