//! NAT behaviour: RFC 5780 mapping and filtering tests against a server that returns
//! OTHER-ADDRESS, or else a comparison of the mapped addresses several servers see from one
//! local socket.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::UdpSocket;

use super::wire::{self, Binding, WireError};
use super::{ProbeConfig, Timer};
use crate::report::probe_schema::{Nat, Status, Step};

const EIM: &str = "endpoint-independent";
const ADM: &str = "address-dependent";
const APDM: &str = "address-and-port-dependent";
const UNKNOWN: &str = "unknown";

fn local_for(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        ip if ip.is_loopback() => SocketAddr::new(ip, 0),
        std::net::IpAddr::V4(_) => "0.0.0.0:0".parse().expect("literal"),
        std::net::IpAddr::V6(_) => "[::]:0".parse().expect("literal"),
    }
}

/// The `nat` step, through the UDP servers (label, address as the DNS step resolved it).
pub async fn behaviour(cfg: &ProbeConfig, targets: &[(String, SocketAddr)]) -> Step {
    let t = Timer::new("*", "nat", None);
    let Some(&(_, first)) = targets.first() else {
        return t.done(Status::Skip, "not applicable: no STUN/TURN server over UDP");
    };
    let sock = match UdpSocket::bind(local_for(first)).await {
        Ok(s) => s,
        Err(e) => return t.fail("cannot open a local socket", e.to_string()),
    };
    let rto = (cfg.step_timeout / 6).max(Duration::from_millis(100));
    // One binding to each server from the same socket.
    let mut seen: Vec<(String, Binding)> = Vec::new();
    for (label, addr) in targets {
        if let Ok(b) = wire::binding_from(&sock, *addr, None, rto, 2).await {
            seen.push((label.clone(), b));
        }
    }
    let mapped: Vec<String> = seen
        .iter()
        .map(|(l, b)| format!("{l} -> {}", b.mapped))
        .collect();
    let Some((label, with_other, other)) = seen
        .iter()
        .find_map(|(l, b)| b.other.map(|o| (l.clone(), b.clone(), o)))
    else {
        // No RFC 5780 server: compare what different servers saw.
        let distinct: std::collections::BTreeSet<SocketAddr> =
            seen.iter().map(|(_, b)| b.mapped).collect();
        let (mapping, message) = match (seen.len(), distinct.len()) {
            (0, _) => {
                return t.done(
                    Status::Skip,
                    "not measured: no server answered a binding request (see its steps)",
                );
            }
            (1, _) => (
                UNKNOWN,
                "the server does not support RFC 5780 (no OTHER-ADDRESS) and one server cannot \
                 tell the mapping behaviour"
                    .to_string(),
            ),
            (_, 1) => (
                EIM,
                format!(
                    "no RFC 5780 server; {} servers saw the same mapped address: the mapping \
                     looks endpoint-independent",
                    seen.len()
                ),
            ),
            _ => (
                APDM,
                "no RFC 5780 server; servers saw different mapped addresses from one socket: \
                 the mapping is endpoint-dependent (a symmetric NAT)"
                    .to_string(),
            ),
        };
        let mut s = t.done(
            if mapping == APDM {
                Status::Warn
            } else {
                Status::Pass
            },
            message,
        );
        if mapping == APDM {
            s.explanation = Some(
                "behind an endpoint-dependent NAT, server-reflexive candidates rarely connect: \
                 calls will need a TURN relay"
                    .into(),
            );
        }
        s.nat = Some(Nat {
            mapping: mapping.into(),
            filtering: UNKNOWN.into(),
            mapped,
        });
        return s;
    };
    let primary = targets
        .iter()
        .find(|(l, _)| *l == label)
        .map(|(_, a)| *a)
        .unwrap_or(first);
    let m1 = with_other.mapped;
    // Mapping: test II (other IP, primary port), then test III (other IP and port).
    let mapping = if other.ip() == primary.ip() {
        UNKNOWN
    } else {
        match wire::binding_from(
            &sock,
            SocketAddr::new(other.ip(), primary.port()),
            None,
            rto,
            2,
        )
        .await
        {
            Ok(b2) if b2.mapped == m1 => EIM,
            Ok(b2) => match wire::binding_from(&sock, other, None, rto, 2).await {
                Ok(b3) if b3.mapped == b2.mapped => ADM,
                Ok(_) => APDM,
                Err(_) => UNKNOWN,
            },
            Err(_) => UNKNOWN,
        }
    };
    // Filtering: a response from the other IP and port (test II), then from the other port
    // only (test III). A fresh socket, so that the mapping tests opened no extra filters.
    let fsock = match UdpSocket::bind(local_for(primary)).await {
        Ok(s) => s,
        Err(e) => return t.fail("cannot open a local socket", e.to_string()),
    };
    let filtering = match wire::binding_from(&fsock, primary, None, rto, 2).await {
        Err(_) => UNKNOWN,
        Ok(_) => match wire::binding_from(&fsock, primary, Some((true, true)), rto, 2).await {
            Ok(_) => EIM,
            Err(WireError::Timeout) => {
                match wire::binding_from(&fsock, primary, Some((false, true)), rto, 2).await {
                    Ok(_) => ADM,
                    Err(WireError::Timeout) => APDM,
                    Err(_) => UNKNOWN,
                }
            }
            Err(_) => UNKNOWN,
        },
    };
    let mut s = t.done(
        if mapping == APDM || mapping == ADM {
            Status::Warn
        } else {
            Status::Pass
        },
        format!("RFC 5780 through {label}: mapping {mapping}, filtering {filtering}"),
    );
    if mapping == APDM || mapping == ADM {
        s.explanation = Some(format!(
            "a NAT with {mapping} mapping gives each peer a different address: \
             server-reflexive candidates rarely connect, so calls will need a TURN relay"
        ));
    }
    s.mapped_address = Some(m1.to_string());
    s.nat = Some(Nat {
        mapping: mapping.into(),
        filtering: filtering.into(),
        mapped,
    });
    s
}
