//! Access tokens for `rtccall serve --secret`: HS256 JWTs that name a room, an expiry and
//! optionally a role (in the style of LiveKit's access tokens), minted by `rtccall token`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::protocol::Role;

/// Who minted the token (the `iss` claim).
pub const ISSUER: &str = "rtccall";
/// Clock skew tolerated between the machine that minted a token and the server, in seconds.
pub const LEEWAY_S: u64 = 5;

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The one room the token lets its holder join.
    pub room: String,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
    /// Issued at, seconds since the Unix epoch.
    pub iat: u64,
    /// When present, the holder may only join with this role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// Issuer: always [`ISSUER`]; a token without it or from another is refused.
    pub iss: String,
    /// Not before, seconds since the Unix epoch (optional; checked when present).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
}

fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Mint a token for `room`, valid for `ttl` from `now`.
pub fn mint(
    secret: &str,
    room: &str,
    ttl: Duration,
    role: Option<Role>,
    now: SystemTime,
) -> String {
    let claims = Claims {
        room: room.to_string(),
        exp: unix(now) + ttl.as_secs(),
        iat: unix(now),
        role,
        iss: ISSUER.to_string(),
        nbf: None,
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("HS256 signing with a byte key cannot fail")
}

/// Check a join's token: signed with `secret`, not expired, for `room`, and for `role` when it
/// names one. The error says why in one line (never echoing the token).
pub fn verify(
    secret: &str,
    token: Option<&str>,
    room: &str,
    role: Option<Role>,
) -> Result<Claims, String> {
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Err("this server needs an access token: join with a \"token\" \
                    (rtccall token ROOM --secret S mints one; dial/answer take --token)"
            .into());
    };
    let mut v = Validation::new(Algorithm::HS256);
    v.leeway = LEEWAY_S;
    v.set_required_spec_claims(&["exp", "iss"]);
    v.set_issuer(&[ISSUER]);
    v.validate_nbf = true;
    let data =
        jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_secret(secret.as_bytes()), &v)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => "the access token has expired".to_string(),
                ErrorKind::InvalidSignature => {
                    "the access token was not signed with this server's secret".to_string()
                }
                ErrorKind::InvalidAlgorithm => {
                    "the access token is not signed with HS256".to_string()
                }
                ErrorKind::ImmatureSignature => {
                    "the access token is not valid yet (its nbf is in the future)".to_string()
                }
                ErrorKind::InvalidIssuer => {
                    format!("the access token was not issued by {ISSUER:?} (its iss)")
                }
                ErrorKind::MissingRequiredClaim(c) => {
                    format!("the access token lacks its {c:?} claim")
                }
                ErrorKind::Json(_) => {
                    "the access token lacks a room, an expiry or an issue time".to_string()
                }
                _ => "the access token is not a valid JWT".to_string(),
            })?;
    let claims = data.claims;
    if claims.iat > unix(SystemTime::now()) + LEEWAY_S {
        return Err("the access token was issued in the future (its iat)".into());
    }
    if claims.room != room {
        return Err(format!(
            "the access token is for another room, not {room:?}"
        ));
    }
    if let Some(want) = claims.role {
        if role != Some(want) {
            return Err(format!(
                "the access token only admits the {} role",
                want.as_str()
            ));
        }
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: &str = "s3cret";

    fn now() -> SystemTime {
        SystemTime::now()
    }

    #[test]
    fn a_minted_token_admits_its_room_only() {
        let t = mint(S, "demo", Duration::from_secs(60), None, now());
        assert!(verify(S, Some(&t), "demo", Some(Role::Dial)).is_ok());
        assert!(verify(S, Some(&t), "demo", None).is_ok());
        let e = verify(S, Some(&t), "other", None).unwrap_err();
        assert!(e.contains("another room"), "{e}");
        assert!(!e.contains(&t));
    }

    #[test]
    fn wrong_secret_expired_missing_and_garbage_are_refused() {
        let t = mint(S, "demo", Duration::from_secs(60), None, now());
        assert!(
            verify("other", Some(&t), "demo", None)
                .unwrap_err()
                .contains("secret")
        );
        let old = now() - Duration::from_secs(3600);
        let t = mint(S, "demo", Duration::from_secs(60), None, old);
        assert!(
            verify(S, Some(&t), "demo", None)
                .unwrap_err()
                .contains("expired")
        );
        assert!(
            verify(S, None, "demo", None)
                .unwrap_err()
                .contains("needs an access token")
        );
        assert!(verify(S, Some("abc.def.ghi"), "demo", None).is_err());
    }

    /// A token signed with the right secret whose claims are `claims` (raw JSON).
    fn signed(claims: serde_json::Value) -> String {
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(S.as_bytes()),
        )
        .unwrap()
    }

    #[test]
    fn issuer_not_before_and_issued_at_are_checked() {
        let t = unix(now());
        let ok = serde_json::json!({"room": "demo", "exp": t + 60, "iat": t, "iss": "rtccall"});
        assert!(verify(S, Some(&signed(ok.clone())), "demo", None).is_ok());
        let with = |k: &str, v: serde_json::Value| {
            let mut c = ok.clone();
            c[k] = v;
            verify(S, Some(&signed(c)), "demo", None)
        };
        let without = |k: &str| {
            let mut c = ok.clone();
            c.as_object_mut().unwrap().remove(k);
            verify(S, Some(&signed(c)), "demo", None)
        };
        let e = without("iss").unwrap_err();
        assert!(e.contains("iss"), "{e}");
        let e = with("iss", "evil".into()).unwrap_err();
        assert!(e.contains("iss"), "{e}");
        let e = with("nbf", (t + 600).into()).unwrap_err();
        assert!(e.contains("nbf"), "{e}");
        let e = with("iat", (t + 600).into()).unwrap_err();
        assert!(e.contains("iat"), "{e}");
        assert!(without("iat").is_err());
        // Within the leeway, and in the past, they are fine.
        assert!(with("nbf", (t + 2).into()).is_ok());
        assert!(with("iat", (t + 2).into()).is_ok());
        assert!(with("nbf", (t - 60).into()).is_ok());
    }

    #[test]
    fn a_role_token_admits_that_role_only() {
        let t = mint(
            S,
            "demo",
            Duration::from_secs(60),
            Some(Role::Answer),
            now(),
        );
        assert!(verify(S, Some(&t), "demo", Some(Role::Answer)).is_ok());
        assert!(verify(S, Some(&t), "demo", Some(Role::Dial)).is_err());
        assert!(verify(S, Some(&t), "demo", None).is_err());
    }
}
