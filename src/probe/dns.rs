//! The `dns` step: a server's host name to its addresses, IPv4 first (as clients mostly try
//! it first).

use super::*;

/// Resolve `server`: the step, and the address the other steps use (none when it failed).
pub(super) async fn resolve(server: &Server, cfg: &ProbeConfig) -> (Step, Option<SocketAddr>) {
    let t = Timer::new(&server.label(), "dns", None);
    let lookup = tokio::time::timeout(
        cfg.step_timeout,
        tokio::net::lookup_host((server.host.as_str(), server.port)),
    )
    .await;
    let resolved = match lookup {
        Ok(Ok(a)) => {
            let mut v: Vec<SocketAddr> = a.collect();
            v.dedup();
            // IPv4 first, as clients mostly try it first.
            match v.iter().find(|a| a.is_ipv4()).or(v.first()).copied() {
                Some(remote) => Ok((v, remote)),
                None => Err((
                    format!("{} has no address", server.host),
                    "the name resolved to no A or AAAA record".to_string(),
                )),
            }
        }
        Ok(Err(e)) => Err((
            format!("cannot resolve {}", server.host),
            format!("DNS lookup failed ({e}): check the host name and the resolver"),
        )),
        Err(_) => Err((
            format!("cannot resolve {}: no answer", server.host),
            "the DNS resolver did not answer in time".to_string(),
        )),
    };
    let (addrs, remote) = match resolved {
        Ok(v) => v,
        Err((message, explanation)) => return (t.fail(message, explanation), None),
    };
    let shown: Vec<String> = addrs.iter().map(|a| a.ip().to_string()).collect();
    let mut s = t.done(
        Status::Pass,
        format!("{} resolved to {}", server.host, shown.join(", ")),
    );
    s.addresses = Some(shown);
    (s, Some(remote))
}
