//! What the probe checks: ICE server URLs (flags, a browser-style `iceServers` file) and their
//! credentials.

use crate::exit::Error;

pub use crate::ice::{IceUrl as Server, Scheme, Transport};

fn usage(msg: impl Into<String>) -> Error {
    Error::usage(msg.into())
}

/// Parse one URL for the probe (see [`crate::ice::IceUrl::parse`]).
pub fn parse_url(url: &str, what: &str) -> Result<Server, Error> {
    Server::parse(url, what)
}

/// Parse the text of an `--ice-config` file: a JSON `iceServers` array as a browser takes it
/// (`[{"urls": ..., "username": ..., "credential": ...}]`), or an object holding one as
/// `iceServers`; each entry is an [`crate::ice::IceServer`], each of its URLs one server to
/// check.
pub fn parse_ice_config(text: &str, file: &str) -> Result<Vec<Server>, Error> {
    let entries = crate::ice::IceServer::parse_list(text)
        .map_err(|e| usage(format!("--ice-config {file}: {e}")))?;
    let mut out = Vec::new();
    for (i, e) in entries.into_iter().enumerate() {
        for u in e.urls {
            let mut s = parse_url(&u, &format!("--ice-config {file}: entry {i}"))?;
            if s.username.is_none() {
                s.username = e.username.clone();
                s.credential = e.credential.clone();
            }
            out.push(s);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_with_defaults_and_transports() {
        let s = parse_url("stun:stun.example.org", "x").unwrap();
        assert_eq!(
            (s.scheme, s.transport, s.port),
            (Scheme::Stun, Transport::Udp, 3478)
        );
        let t = parse_url("turn:u:p@127.0.0.1:4000?transport=tcp", "x").unwrap();
        assert_eq!(
            (t.scheme, t.transport, t.port),
            (Scheme::Turn, Transport::Tcp, 4000)
        );
        assert_eq!(t.credentials(), Some(("u", "p")));
        assert_eq!(t.label(), "turn:127.0.0.1:4000?transport=tcp");
        let s = parse_url("turns:[::1]", "x").unwrap();
        assert_eq!(
            (s.host.as_str(), s.port, s.transport),
            ("::1", 5349, Transport::Tls)
        );
        assert_eq!(s.label(), "turns:[::1]:5349?transport=tcp");
        for bad in [
            "http://x",
            "turn:",
            "turn:host:0",
            "turn:host:99999",
            "turn:host?transport=sctp",
            "stun:host?transport=tcp",
            "turn:ho st",
            "turns:host?transport=udp",
            "turn:host?transport=tcp&transport=udp",
            "turn:host?transport=udp&transport=udp",
        ] {
            assert!(parse_url(bad, "x").is_err(), "{bad}");
        }
    }

    #[test]
    fn ice_config_takes_the_browser_shape() {
        let servers = parse_ice_config(
            r#"[{"urls":"stun:127.0.0.1:1"},
                {"urls":["turn:127.0.0.1:2","turns:localhost:3"],"username":"u","credential":"p"}]"#,
            "f",
        )
        .unwrap();
        assert_eq!(servers.len(), 3);
        assert_eq!(servers[2].credentials(), Some(("u", "p")));
        assert!(parse_ice_config(r#"{"iceServers":[{"urls":"stun:a"}]}"#, "f").is_ok());
        assert!(parse_ice_config(r#"[{"url":"stun:a"}]"#, "f").is_err());
        assert!(parse_ice_config("nope", "f").is_err());
        let e = parse_ice_config(r#"[{"urls":"turn:a","credentialType":"oauth"}]"#, "f");
        assert!(
            e.unwrap_err()
                .to_string()
                .contains("entry 0: credentialType")
        );
        assert!(parse_ice_config(r#"[{"urls":[]}]"#, "f").is_err());
        assert!(parse_ice_config(r#"[{"urls":"stun:a","username":1}]"#, "f").is_err());
        // A whole RTCConfiguration: its other members are left alone.
        let c = r#"{"iceServers":[{"urls":"stun:a","credentialType":"password"}],"iceTransportPolicy":"relay"}"#;
        assert_eq!(parse_ice_config(c, "f").unwrap().len(), 1);
    }

    #[test]
    fn passwords_in_urls_are_redacted() {
        let e = parse_url("turn:u:hunter2@h?transport=x", "x").unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
        let e = parse_url("turn:u:hunter2@", "x").unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }
}
