//! ICE server credentials shared by every command: TURN REST credentials minted from a shared
//! secret (`probe --turn-secret`, `serve --turn-secret`) and URLs shown without their password.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use hmac::{Hmac, Mac};

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
    fn passwords_in_urls_are_redacted() {
        assert_eq!(redact_url("turn:u:hunter2@h:1"), "turn:u:***@h:1");
        assert_eq!(redact_url("stun:h"), "stun:h");
    }
}
