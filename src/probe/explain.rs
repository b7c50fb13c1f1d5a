//! Failures in plain words: what a STUN/TURN error code, a wire error or a 401 means for the
//! server being probed.

use super::*;

/// Plain words for a STUN/TURN error code.
pub fn explain_code(code: u16, authenticated: bool) -> String {
    match code {
        400 => "400 Bad Request: the server could not parse the request (a STUN/TURN \
                implementation mismatch)"
            .into(),
        401 if authenticated => "401 Unauthorized: the username or password is wrong, or \
                                 they belong to another realm (check the server's users, \
                                 realm and, for TURN REST credentials, the shared secret and \
                                 the clocks)"
            .into(),
        401 => "401 Unauthorized: the server needs credentials".into(),
        403 => "403 Forbidden: the server refuses this request (peer address in a denied \
                range, or the user is not allowed)"
            .into(),
        420 => "420 Unknown Attribute: the server does not understand a required attribute".into(),
        437 => "437 Allocation Mismatch: an allocation already exists for this address and \
                port"
            .into(),
        438 => "438 Stale Nonce: the nonce expired again after one retry (server clock or \
                nonce lifetime too short)"
            .into(),
        440 => "440 Address Family not Supported".into(),
        441 => "441 Wrong Credentials: the credentials differ from those the allocation was \
                made with"
            .into(),
        442 => "442 Unsupported Transport Protocol: the server does not relay this protocol".into(),
        486 => "486 Allocation Quota Reached: the server allows no more allocations, for this \
                user (coturn user-quota) or for all users together (coturn total-quota sends \
                486 too); wait for old allocations to expire, or raise the quota"
            .into(),
        500 => "500 Server Error: the server failed internally".into(),
        508 => "508 Insufficient Capacity: the server has no relay ports left (coturn: the \
                min-port/max-port range is used up)"
            .into(),
        c => format!("{c}: see RFC 5389/5766 for this code"),
    }
}

pub(super) fn wire_step(
    t: &Timer,
    what: &str,
    e: &WireError,
    server: &Server,
    authenticated: bool,
) -> Step {
    let (message, explanation, code) = match e {
        WireError::Timeout => (
            format!("{what}: no response"),
            match server.transport {
                Transport::Udp => format!(
                    "nothing answered on UDP {}:{} within the step's time: the server is down, \
                     the port is wrong, or a firewall drops UDP",
                    server.host, server.port
                ),
                _ => format!(
                    "the connection to {}:{} opened but the server did not answer: is it a \
                     STUN/TURN server{}?",
                    server.host,
                    server.port,
                    if server.transport == Transport::Tcp {
                        " (a TLS port needs turns:)"
                    } else {
                        ""
                    }
                ),
            },
            None,
        ),
        WireError::Io(m) if server.transport == Transport::Udp && m.contains("refused") => (
            format!("{what}: refused (ICMP port unreachable)"),
            format!(
                "{}:{} answered ICMP port unreachable: nothing listens on UDP port {} there \
                 (or a firewall rejects UDP)",
                server.host, server.port, server.port
            ),
            None,
        ),
        WireError::Io(m) => (
            format!("{what}: {m}"),
            format!(
                "could not reach {}:{} over {}: nothing listens there or a firewall rejects it",
                server.host,
                server.port,
                server.transport.as_str()
            ),
            None,
        ),
        WireError::NotStun(m) => (
            format!("{what}: the answer is not STUN"),
            format!(
                "something answers on {}:{} over {}, but not STUN/TURN: {m}. Another service \
                 holds this port, or the URL names the wrong port{}",
                server.host,
                server.port,
                server.transport.as_str(),
                if m.contains("TLS") && server.transport != Transport::Tls {
                    " (a TLS port needs turns:)"
                } else {
                    ""
                }
            ),
            None,
        ),
        WireError::Tls(m) | WireError::NotTls(m) => {
            (format!("{what}: TLS failed"), m.clone(), None)
        }
        WireError::Stun { code, reason } => (
            format!("{what}: error {code} {reason}"),
            explain_code(*code, authenticated),
            Some(*code),
        ),
        WireError::Protocol(m) => (
            format!("{what}: unexpected answer"),
            format!("the server's answer was not usable STUN/TURN: {m}"),
            None,
        ),
    };
    let mut s = t.fail(message, explanation);
    s.error_code = code;
    s
}

/// What a 401 to authenticated requests adds to its explanation: the realm the server
/// announced, and what a TURN REST username says about its expiry.
pub(super) fn auth_notes(realm: Option<&str>, username: Option<&str>) -> String {
    let mut notes = String::new();
    if let Some(r) = realm {
        notes.push_str(&format!("; the server's realm is {r:?}"));
    }
    if let Some(n) = username.and_then(|u| crate::ice::rest_expiry_note(u, SystemTime::now())) {
        notes.push_str("; ");
        notes.push_str(&n);
    }
    notes
}

/// The explanation of an error code seen by authenticated requests, with the 401 notes.
pub(super) fn explain_with_auth(code: u16, realm: Option<&str>, username: Option<&str>) -> String {
    let mut e = explain_code(code, true);
    if code == 401 {
        e.push_str(&auth_notes(realm, username));
    }
    e
}
