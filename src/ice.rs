//! ICE server URLs and credentials, one type for every command (`dial`/`answer`, `serve`,
//! `probe`): [`IceUrl`] parses a STUN/TURN URL with its credentials, TURN REST credentials are
//! minted from a shared secret (`--turn-secret`), and URLs are shown without their password.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use hmac::{Hmac, Mac};

use crate::exit::Error;

/// One ICE server in the shape browsers take in `RTCConfiguration.iceServers` (`urls` one URL
/// or a list, `username` and `credential` when it has them): what a call hands to webrtc-rs,
/// what `serve` hands out in `joined`, what the page and other peers read. The URLs carry no
/// credentials. `Debug` never shows the credential.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IceServer {
    #[serde(deserialize_with = "one_or_many")]
    pub urls: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

impl IceServer {
    /// One URL with the credentials it needs (`None` for STUN).
    pub fn new(url: String, credentials: Option<(String, String)>) -> IceServer {
        let (username, credential) = credentials.unzip();
        IceServer {
            urls: vec![url],
            username,
            credential,
        }
    }
}

/// The members of an `RTCIceServer` dictionary that a list may carry.
const ICE_SERVER_MEMBERS: [&str; 4] = ["urls", "username", "credential", "credentialType"];

impl IceServer {
    /// Parse a JSON `iceServers` list as a browser takes it (`[{"urls": ..., "username": ...,
    /// "credential": ...}]`, or an object holding one as `iceServers`, as an `RTCConfiguration` does). Stricter than a
    /// browser, to catch typos: a member other than `urls`, `username`, `credential` and
    /// `credentialType` is an error, `credentialType` must be `"password"`, and every entry
    /// needs a URL. The error names the entry.
    pub fn parse_list(text: &str) -> Result<Vec<IceServer>, String> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("not a JSON iceServers array ({e})"))?;
        let list = match value {
            serde_json::Value::Array(v) => v,
            // An RTCConfiguration: its other members are not ours to check.
            serde_json::Value::Object(mut o) => match o.remove("iceServers") {
                Some(serde_json::Value::Array(v)) => v,
                _ => {
                    return Err(
                        "not a JSON iceServers array (nor an object with one as iceServers)".into(),
                    );
                }
            },
            _ => return Err("not a JSON iceServers array".into()),
        };
        let mut out = Vec::with_capacity(list.len());
        for (i, entry) in list.into_iter().enumerate() {
            let serde_json::Value::Object(members) = &entry else {
                return Err(format!("entry {i} is not an object"));
            };
            if let Some(k) = members
                .keys()
                .find(|k| !ICE_SERVER_MEMBERS.contains(&k.as_str()))
            {
                return Err(format!("entry {i}: unknown member {k:?}"));
            }
            match members.get("credentialType") {
                None => {}
                Some(serde_json::Value::String(t)) if t == "password" => {}
                Some(t) => {
                    return Err(format!(
                        "entry {i}: credentialType {t} is not supported (only \"password\")"
                    ));
                }
            }
            let server: IceServer =
                serde_json::from_value(entry).map_err(|e| format!("entry {i}: {e}"))?;
            if server.urls.is_empty() {
                return Err(format!("entry {i} has no urls"));
            }
            out.push(server);
        }
        Ok(out)
    }
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    use serde::Deserialize;
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Urls {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Urls::deserialize(d)? {
        Urls::One(u) => vec![u],
        Urls::Many(v) => v,
    })
}

impl std::fmt::Debug for IceServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IceServer")
            .field("urls", &self.urls)
            .field("username", &self.username)
            .field("credential", &"***")
            .finish()
    }
}

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

/// One ICE server URL, parsed: one scheme, one transport, one host and port, and the
/// credentials it carried (`turn:USER:PASS@HOST`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IceUrl {
    pub scheme: Scheme,
    pub transport: Transport,
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
    pub credential: Option<String>,
    /// The URL as it was given, without its credentials (scheme in lower case): what calls
    /// hand to webrtc-rs and `serve` hands to browsers.
    pub given: String,
}

impl IceUrl {
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
    Error::usage(msg.into())
}

impl IceUrl {
    /// Parse one URL (`stun:`, `stuns:`, `turn:`, `turns:`, credentials optionally as
    /// `USER:PASS@`). `what` names where it came from, for errors, which never show a
    /// password.
    pub fn parse(url: &str, what: &str) -> Result<IceUrl, Error> {
        let shown = redact_url(url);
        let (bare, creds) = split_credentials(url, &shown, what)?;
        let url = shown.as_str();
        let (scheme, rest) = bare.split_once(':').unwrap_or(("", ""));
        let (hostport, query) = match rest.split_once('?') {
            Some((h, q)) => (h, Some(q)),
            None => (rest, None),
        };
        let mut transport = None;
        if let Some(q) = query {
            for kv in q.split('&') {
                let t = match kv.split_once('=') {
                    Some(("transport", "udp")) => Transport::Udp,
                    Some(("transport", "tcp")) => Transport::Tcp,
                    _ => {
                        return Err(usage(format!(
                            "{what}: {url:?} has an unknown query {kv:?} (only transport=udp|tcp)"
                        )));
                    }
                };
                if transport.replace(t).is_some() {
                    return Err(usage(format!(
                        "{what}: {url:?} gives transport= more than once"
                    )));
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
        Ok(IceUrl {
            scheme,
            transport,
            host,
            port: port.unwrap_or(default_port),
            username,
            credential,
            given: bare,
        })
    }
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

/// Split `turn:user:pass@host:port?x` into the URL without credentials (scheme in lower case)
/// and the credentials.
fn split_credentials(
    url: &str,
    shown: &str,
    what: &str,
) -> Result<(String, Option<(String, String)>), Error> {
    let bad_scheme = || {
        usage(format!(
            "{what}: {shown:?} must start with stun:, stuns:, turn: or turns:"
        ))
    };
    let (scheme, rest) = url.split_once(':').ok_or_else(bad_scheme)?;
    let scheme = scheme.to_ascii_lowercase();
    if !matches!(scheme.as_str(), "stun" | "stuns" | "turn" | "turns") {
        return Err(bad_scheme());
    }
    let rest = rest.trim_start_matches("//");
    let (creds, hostpart) = match rest.rsplit_once('@') {
        Some((c, h)) => (Some(c), h),
        None => (None, rest),
    };
    if hostpart.is_empty() || hostpart.starts_with(['?', ':']) {
        return Err(usage(format!("{what}: {shown:?} has no host")));
    }
    let creds = match creds {
        None => None,
        Some(c) => {
            let (u, p) = c.split_once(':').ok_or_else(|| {
                usage(format!(
                    "{what}: {shown:?}: credentials must be USER:PASS before the @"
                ))
            })?;
            Some((u.to_string(), p.to_string()))
        }
    };
    Ok((format!("{scheme}:{hostpart}"), creds))
}

/// TURN REST credentials (draft-uberti-behave-turn-rest, coturn `use-auth-secret`): the
/// username is `EXPIRY:USER` (EXPIRY in Unix seconds) and the password
/// base64(HMAC-SHA1(secret, username)).
pub fn rest_credentials(secret: &str, user: &str, ttl_s: u64, now: SystemTime) -> (String, String) {
    let expiry = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs() + ttl_s;
    let username = if user.is_empty() {
        expiry.to_string()
    } else {
        format!("{expiry}:{user}")
    };
    let mut mac =
        Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(username.as_bytes());
    let password = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    (username, password)
}

/// `url` as errors show it: a password before the `@` becomes `***`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once(':') else {
        return url.to_string();
    };
    match rest.rsplit_once('@') {
        Some((creds, host)) => {
            let user = creds.split_once(':').map_or(creds, |(u, _)| u);
            format!("{scheme}:{user}:***@{host}")
        }
        None => url.to_string(),
    }
}

/// When a TURN REST username (`EXPIRY:USER`) expires; None for a username that does not start
/// with a Unix time.
pub fn rest_expiry(username: &str) -> Option<SystemTime> {
    let (e, _) = username.split_once(':')?;
    if e.is_empty() || e.len() > 12 || !e.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(UNIX_EPOCH + std::time::Duration::from_secs(e.parse().ok()?))
}

/// What a TURN REST username (`EXPIRY:USER`, RFC draft-uberti-behave-turn-rest) says about its
/// expiry at `now`, in words: "expired 3 s ago" or "valid for another 600 s"; None for a
/// username that does not start with a Unix time.
pub fn rest_expiry_note(username: &str, now: SystemTime) -> Option<String> {
    let expiry = rest_expiry(username)?
        .duration_since(UNIX_EPOCH)
        .ok()?
        .as_secs() as i64;
    let now = now.duration_since(UNIX_EPOCH).ok()?.as_secs() as i64;
    Some(if expiry <= now {
        format!(
            "the REST username's EXPIRY {expiry} expired {} s ago (credentials minted with too \
             short a TTL, or the clocks of the minting host and the server differ)",
            now - expiry
        )
    } else {
        format!(
            "the REST username's EXPIRY {expiry} is valid for another {} s, so time is not the \
             problem: check the shared secret (coturn static-auth-secret)",
            expiry - now
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rest_credentials_match_coturn() {
        let now = UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        let (u, p) = rest_credentials("secret", "alice", 600, now);
        assert_eq!(u, "1700000600:alice");
        // Computed independently (Python hmac/hashlib).
        assert_eq!(p, "5PrY1fcLQr5jls8N4ZU7fEnmVNE=");
        assert_eq!(p.len(), 28);
    }

    #[test]
    fn rest_usernames_tell_their_expiry() {
        let now = UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        let past = rest_expiry_note("1699999997:alice", now).unwrap();
        assert!(past.contains("expired 3 s ago"), "{past}");
        let future = rest_expiry_note("1700000600:alice", now).unwrap();
        assert!(future.contains("another 600 s"), "{future}");
        for plain in ["alice", "12ab:alice", ":alice", "99999999999999999:x"] {
            assert!(rest_expiry_note(plain, now).is_none(), "{plain}");
        }
    }

    #[test]
    fn urls_keep_their_given_form_without_credentials() {
        let u = IceUrl::parse("TURN:alice:pw@127.0.0.1:3478?transport=udp", "x").unwrap();
        assert_eq!(u.given, "turn:127.0.0.1:3478?transport=udp");
        assert_eq!(u.credentials(), Some(("alice", "pw")));
        let s = IceUrl::parse("stun:127.0.0.1", "x").unwrap();
        assert_eq!(
            (s.given.as_str(), s.port, s.credentials()),
            ("stun:127.0.0.1", 3478, None)
        );
        for bad in ["http://x", "turn:", "turn:u@h", "stun::1"] {
            let e = IceUrl::parse(bad, "--ice-server").unwrap_err();
            assert_eq!(e.code(), crate::exit::USAGE, "{bad}");
            assert!(e.to_string().starts_with("--ice-server: "), "{e}");
        }
    }

    #[test]
    fn passwords_in_urls_are_redacted() {
        assert_eq!(redact_url("turn:u:hunter2@h:1"), "turn:u:***@h:1");
        assert_eq!(redact_url("stun:h"), "stun:h");
    }
}
