//! The end of a probe: the `--expect` checks, the verdict per server, and how many steps a
//! configuration runs.

use super::*;

/// Check the expectations against what the steps established.
pub fn expectations(cfg: &ProbeConfig, outcomes: &[(Server, Outcome)]) -> Vec<Expectation> {
    let mut out = Vec::new();
    for e in &cfg.expect {
        let (met, detail) = match e {
            Expect::Relay => {
                let turns: Vec<_> = outcomes
                    .iter()
                    .filter(|(s, _)| s.scheme == Scheme::Turn)
                    .collect();
                if turns.is_empty() {
                    (false, "no TURN server was given".to_string())
                } else {
                    let bad: Vec<String> = turns
                        .iter()
                        .filter(|(_, o)| !o.relay_ok)
                        .map(|(s, _)| s.label())
                        .collect();
                    let sends_only: Vec<String> = turns
                        .iter()
                        .filter(|(_, o)| o.relay_ok && o.send_indications_only)
                        .map(|(s, _)| s.label())
                        .collect();
                    if !bad.is_empty() {
                        (false, format!("no working relay from {}", bad.join(", ")))
                    } else if !sends_only.is_empty() {
                        (
                            false,
                            format!(
                                "{} relay(s) only Send indications and drop ChannelData: \
                                 browsers and webrtc-rs (which bind channels) get no media \
                                 through; only clients that never bind a channel would",
                                sends_only.join(", ")
                            ),
                        )
                    } else {
                        (true, format!("{} TURN server(s) relay", turns.len()))
                    }
                }
            }
            Expect::Srflx => match outcomes.iter().find_map(|(_, o)| o.mapped) {
                Some(m) => (true, format!("mapped address {m}")),
                None => (false, "no server returned a mapped address".to_string()),
            },
            Expect::Tcp | Expect::Tls => {
                let want = if *e == Expect::Tcp {
                    Transport::Tcp
                } else {
                    Transport::Tls
                };
                let ok: Vec<String> = outcomes
                    .iter()
                    .filter(|(s, o)| {
                        // A STUN server works when it answers, a TURN server when it relays.
                        let works = match s.scheme {
                            Scheme::Stun => o.binding_ok,
                            Scheme::Turn => o.relay_ok,
                        };
                        (s.transport == want && works) || (want == Transport::Tcp && o.stun_tcp_ok)
                    })
                    .map(|(s, _)| s.label())
                    .collect();
                if ok.is_empty() {
                    (
                        false,
                        format!("no server works over {}", want.as_str().to_uppercase()),
                    )
                } else {
                    (
                        true,
                        format!("works over {}: {}", want.as_str(), ok.join(", ")),
                    )
                }
            }
        };
        out.push(Expectation {
            expect: e.as_str().to_string(),
            met,
            detail,
        });
    }
    if let Some(max) = cfg.max_rtt_ms {
        let worst = outcomes
            .iter()
            .flat_map(|(_, o)| o.steps.iter())
            .filter(|s| s.step == "stun-binding" || s.step == "relay-echo")
            .filter_map(|s| {
                s.rtt_ms
                    .as_ref()
                    .map(|r| (r.p50, s.server.clone(), s.step.clone()))
            })
            .max_by(|a, b| a.0.total_cmp(&b.0));
        let (met, detail) = match worst {
            Some((p50, server, step)) if p50 > max => (
                false,
                format!("{step} to {server}: rtt p50 {p50} ms over {max} ms"),
            ),
            Some((p50, _, _)) => (true, format!("worst rtt p50 {p50} ms")),
            None => (false, "no round-trip time was measured".to_string()),
        };
        out.push(Expectation {
            expect: "max-rtt".into(),
            met,
            detail,
        });
    }
    out
}

/// The verdict of one server from its steps.
pub fn verdict(label: &str, steps: &[Step]) -> ServerVerdict {
    let failed: Vec<String> = steps
        .iter()
        .filter(|s| s.status == Status::Fail)
        .map(|s| s.step.clone())
        .collect();
    let warnings: Vec<String> = steps
        .iter()
        .filter(|s| s.status == Status::Warn)
        .map(|s| s.step.clone())
        .collect();
    let verdict = if !failed.is_empty() {
        Status::Fail
    } else if !warnings.is_empty() {
        Status::Warn
    } else {
        Status::Pass
    };
    ServerVerdict {
        server: label.to_string(),
        verdict,
        failed,
        warnings,
    }
}

/// How many steps a probe reports when nothing fails early (sizes the progress bar).
pub fn expected_steps(cfg: &ProbeConfig) -> u64 {
    let per_server: u64 = cfg
        .servers
        .iter()
        .map(|s| match (s.scheme, s.transport) {
            // dns, binding, allocation, echo, security (+ relay call)
            (Scheme::Turn, _) => 5 + u64::from(cfg.calls),
            // dns, binding, binding over TCP, allocation (n/a)
            (Scheme::Stun, Transport::Udp) => 4,
            (Scheme::Stun, _) => 3,
        })
        .sum();
    // nat (+ gathering and the direct call), and the WHIP/WHEP endpoints' steps
    let machine = if cfg.servers.is_empty() {
        0
    } else {
        1 + 2 * u64::from(cfg.calls)
    };
    per_server + machine + super::whip::expected_steps(cfg)
}
