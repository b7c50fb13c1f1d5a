//! What the probe checks: ICE server URLs (flags, a browser-style `iceServers` file) and their
//! credentials.

use serde::Deserialize;

use crate::exit::Error;
use crate::ice::redact_url;

/// The kind of server a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Stun,
    Turn,
}

/// How the probe talks to a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    Udp,
    Tcp,
    Tls,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
            Transport::Tls => "tls",
        }
    }
}

/// One server to probe: one URL with one transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    pub scheme: Scheme,
    pub transport: Transport,
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
    pub credential: Option<String>,
}

impl Server {
    /// The URL as reports show it: no credentials, transport explicit for TURN.
    pub fn label(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        match (self.scheme, self.transport) {
            (Scheme::Stun, Transport::Tls) => format!("stuns:{host}:{}", self.port),
            (Scheme::Stun, _) => format!("stun:{host}:{}", self.port),
            (Scheme::Turn, Transport::Tls) => format!("turns:{host}:{}?transport=tcp", self.port),
            (Scheme::Turn, t) => format!("turn:{host}:{}?transport={}", self.port, t.as_str()),
        }
    }

    /// The URL in the form webrtc-rs takes (no credentials).
    pub fn ice_url(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        match self.scheme {
            Scheme::Stun => format!("stun:{host}:{}", self.port),
            Scheme::Turn => format!("turn:{host}:{}?transport=udp", self.port),
        }
    }

    /// TURN with credentials.
    pub fn credentials(&self) -> Option<(&str, &str)> {
        Some((self.username.as_deref()?, self.credential.as_deref()?))
    }
}

fn usage(msg: impl Into<String>) -> Error {
    Error::Usage(msg.into())
}

/// Parse one URL (`stun:`, `stuns:`, `turn:`, `turns:`, credentials optionally as
/// `USER:PASS@`). `what` names where it came from, for errors.
pub fn parse_url(url: &str, what: &str) -> Result<Server, Error> {
    let (bare, creds) = crate::cli::call::parse_ice_url(url).map_err(|e| {
        usage(format!(
            "{what}: {}",
            e.to_string().replace("--ice-server ", "")
        ))
    })?;
    let shown = redact_url(url);
    let url = shown.as_str();
    let (scheme, rest) = bare.split_once(':').unwrap_or(("", ""));
    let (hostport, query) = match rest.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (rest, None),
    };
    let mut transport = None;
    if let Some(q) = query {
        for kv in q.split('&') {
            match kv.split_once('=') {
                Some(("transport", "udp")) => transport = Some(Transport::Udp),
                Some(("transport", "tcp")) => transport = Some(Transport::Tcp),
                _ => {
                    return Err(usage(format!(
                        "{what}: {url:?} has an unknown query {kv:?} (only transport=udp|tcp)"
                    )));
                }
            }
        }
    }
    let (host, port) = split_host_port(hostport)
        .ok_or_else(|| usage(format!("{what}: {url:?} has no valid HOST[:PORT]")))?;
    let (scheme, transport, default_port) = match (scheme, transport) {
        ("stun", None) => (Scheme::Stun, Transport::Udp, 3478),
        ("stuns", None) => (Scheme::Stun, Transport::Tls, 5349),
        ("turn", t) => (Scheme::Turn, t.unwrap_or(Transport::Udp), 3478),
        ("turns", None | Some(Transport::Tcp)) => (Scheme::Turn, Transport::Tls, 5349),
        _ => {
            return Err(usage(format!(
                "{what}: {url:?}: transport= applies to turn: (udp, tcp) and turns: (tcp) only"
            )));
        }
    };
    let (username, credential) = match creds {
        Some((u, p)) => (Some(u), Some(p)),
        None => (None, None),
    };
    Ok(Server {
        scheme,
        transport,
        host,
        port: port.unwrap_or(default_port),
        username,
        credential,
    })
}

/// `host`, `host:port`, `[v6]`, `[v6]:port`.
fn split_host_port(s: &str) -> Option<(String, Option<u16>)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (h, after) = rest.split_once(']')?;
        h.parse::<std::net::Ipv6Addr>().ok()?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p.parse().ok().filter(|&p| p != 0)?),
            None if after.is_empty() => None,
            None => return None,
        };
        return Some((h.to_string(), port));
    }
    let (h, port) = match s.rsplit_once(':') {
        Some((h, p)) => (h, Some(p.parse::<u16>().ok().filter(|&p| p != 0)?)),
        None => (s, None),
    };
    let valid = !h.is_empty()
        && h.len() <= 253
        && h.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_');
    valid.then(|| (h.to_string(), port))
}

/// A browser-style `iceServers` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct IceServerEntry {
    urls: UrlList,
    username: Option<String>,
    credential: Option<String>,
    credential_type: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum UrlList {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum IceConfig {
    Bare(Vec<IceServerEntry>),
    Wrapped {
        #[serde(rename = "iceServers")]
        ice_servers: Vec<IceServerEntry>,
    },
}

/// Parse the text of an `--ice-config` file: a JSON `iceServers` array as a browser takes it
/// (`[{"urls": ..., "username": ..., "credential": ...}]`), or an object holding one as
/// `iceServers`.
pub fn parse_ice_config(text: &str, file: &str) -> Result<Vec<Server>, Error> {
    let config: IceConfig = serde_json::from_str(text).map_err(|e| {
        usage(format!(
            "--ice-config {file}: not a JSON iceServers array ({e})"
        ))
    })?;
    let entries = match config {
        IceConfig::Bare(v) | IceConfig::Wrapped { ice_servers: v } => v,
    };
    let mut out = Vec::new();
    for (i, e) in entries.into_iter().enumerate() {
        if let Some(t) = &e.credential_type
            && t != "password"
        {
            return Err(usage(format!(
                "--ice-config {file}: entry {i}: credentialType {t:?} is not supported (only \"password\")"
            )));
        }
        let urls = match e.urls {
            UrlList::One(u) => vec![u],
            UrlList::Many(v) => v,
        };
        if urls.is_empty() {
            return Err(usage(format!("--ice-config {file}: entry {i} has no urls")));
        }
        for u in urls {
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
    }

    #[test]
    fn passwords_in_urls_are_redacted() {
        let e = parse_url("turn:u:hunter2@h?transport=x", "x").unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
        let e = parse_url("turn:u:hunter2@", "x").unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }
}
