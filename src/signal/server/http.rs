//! HTTP on the signaling port, on hyper: the browser call page (`/`, `/app.js`), `/healthz`,
//! `/metrics`, and the WebSocket upgrade (Origin checked, then handed to [`super::conn`]).
//! Everything else gets the status that says why (400, 403, 404, 405, 413, 426, 429, 431, 503).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role as WsRole;
use tracing::debug;

use super::budget::{Budget, Budgeted};
use super::conn::{self, Shared};
use super::limits::Permit;
use super::metrics::Gauges;

/// The call page and its script, compiled into the binary (no build step, no CDN).
const INDEX_HTML: &str = include_str!("web/index.html");
const APP_JS: &str = include_str!("web/app.js");

/// Largest request head hyper reads (its floor); over it the answer is 431.
pub const MAX_HEAD: usize = 8 * 1024;

/// How one connection was admitted (see [`super::limits::Admission`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    Open,
    /// Over `--max-connections`.
    Busy,
    /// Over the per-address cap.
    TooMany,
}

/// What the server's HTTP side needs to know about itself.
pub struct Site {
    /// `https`/`wss` (TLS) or `http`/`ws`.
    pub tls: bool,
    /// Origins allowed besides the server's own (`--allow-origin`), normalised.
    pub allow_origins: Vec<String>,
    /// The listening address is on loopback: only loopback host names are the server's own
    /// (a DNS-rebinding page cannot pass as it).
    pub loopback: bool,
    /// Otherwise: the names (besides IP addresses and `localhost`) a Host may give, lower case;
    /// `*` admits any.
    pub hosts: Vec<String>,
}

/// One connection's facts, shared by its requests.
pub struct ConnInfo {
    pub peer: SocketAddr,
    pub standing: Standing,
    /// Its place in the connection count: moved into the WebSocket task on upgrade.
    pub permit: std::sync::Mutex<Option<Permit>>,
}

pub type Resp = Response<Full<Bytes>>;

pub fn plain(status: StatusCode, body: &str) -> Resp {
    let mut r = Response::new(Full::new(Bytes::from(format!("{body}\n"))));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

fn with_type(body: impl Into<Bytes>, content_type: &'static str) -> Resp {
    let mut r = Response::new(Full::new(body.into()));
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

fn harden(r: &mut Resp) {
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; connect-src 'self' ws: wss:; media-src 'self' blob: \
             mediastream:; img-src 'self' data:; style-src 'self' 'unsafe-inline'",
        ),
    );
}

/// Answer one request.
pub async fn handle(
    req: Request<Incoming>,
    shared: Arc<Shared>,
    site: Arc<Site>,
    info: Arc<ConnInfo>,
) -> Result<Resp, Infallible> {
    let path = req.uri().path();
    if info.standing == Standing::Open && (path.starts_with("/whip/") || path.starts_with("/whep/"))
    {
        let origin = origin_allowed(&req, &site);
        let mut resp = super::whip::handle(req, &shared, origin, info.peer).await;
        harden(&mut resp);
        return Ok(resp);
    }
    let mut resp = route(req, &shared, &site, &info);
    if resp.status() != StatusCode::SWITCHING_PROTOCOLS {
        harden(&mut resp);
        if info.standing != Standing::Open {
            resp.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
    }
    Ok(resp)
}

fn route(mut req: Request<Incoming>, shared: &Arc<Shared>, site: &Site, info: &ConnInfo) -> Resp {
    let path = req.uri().path().to_string();
    let monitoring = path == "/healthz" || path == "/metrics";
    let refusal = match info.standing {
        Standing::Busy => Some((
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "the server is at its connection limit (--max-connections); try again later",
        )),
        Standing::TooMany => Some((
            StatusCode::TOO_MANY_REQUESTS,
            "per-address",
            "too many connections from your address (--max-per-ip)",
        )),
        Standing::Open => None,
    };
    if let Some((status, reason, why)) = refusal.filter(|_| !monitoring) {
        shared.metrics.refused(reason);
        let mut r = plain(status, why);
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        return r;
    }
    let has_body = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .is_some_and(|v| v.as_bytes() != b"0")
        || req.headers().contains_key(header::TRANSFER_ENCODING);
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = plain(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD");
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    if has_body {
        return plain(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request bodies are not accepted",
        );
    }
    if is_upgrade(&req) {
        return upgrade(&mut req, shared, site, info);
    }
    let resp = match path.as_str() {
        "/" | "/index.html" => with_type(INDEX_HTML, "text/html; charset=utf-8"),
        "/app.js" => with_type(APP_JS, "text/javascript; charset=utf-8"),
        "/sas-words.txt" => with_type(crate::sas::WORDS, "text/plain; charset=utf-8"),
        "/healthz" => with_type(health(&req, shared), "application/json"),
        "/metrics" => match authorized(&req, shared) {
            Ok(()) => with_type(
                shared.metrics.render(&gauges(shared)),
                "text/plain; version=0.0.4; charset=utf-8",
            ),
            Err(why) => {
                let mut r = plain(StatusCode::UNAUTHORIZED, why);
                r.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                r
            }
        },
        _ => plain(StatusCode::NOT_FOUND, "not found"),
    };
    // For HEAD, hyper sends the head only (with the length a GET would get).
    resp
}

fn gauges(shared: &Shared) -> Gauges {
    Gauges {
        connections: shared.gate.open(),
        rooms: shared.hub.rooms(),
        whip_sessions: shared.whip.count(),
    }
}

/// With `--secret`, monitoring figures need `Authorization: Bearer <secret>`.
fn authorized(req: &Request<Incoming>, shared: &Shared) -> Result<(), &'static str> {
    let Some(secret) = &shared.secret else {
        return Ok(());
    };
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match given {
        Some(g) if constant_time_eq(g.as_bytes(), secret.as_bytes()) => Ok(()),
        Some(_) => Err("the bearer token is not this server's --secret"),
        None => Err("this server has a --secret: send it as `Authorization: Bearer <secret>`"),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `/healthz`: the server is up; how many connections and rooms it holds (with `--secret`,
/// only for a request that carries it).
fn health(req: &Request<Incoming>, shared: &Shared) -> String {
    match authorized(req, shared) {
        Ok(()) => {
            let g = gauges(shared);
            serde_json::json!({"status": "ok", "connections": g.connections, "rooms": g.rooms})
        }
        Err(why) => serde_json::json!({"status": "ok", "counts": why}),
    }
    .to_string()
}

fn header_has(req: &Request<Incoming>, name: header::HeaderName, token: &str) -> bool {
    req.headers().get_all(name).iter().any(|v| {
        v.to_str()
            .is_ok_and(|s| s.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    })
}

fn is_upgrade(req: &Request<Incoming>) -> bool {
    header_has(req, header::UPGRADE, "websocket")
}

/// The origin a browser page of this server has, for this request's `Host`.
fn own_origins(req: &Request<Incoming>, site: &Site) -> Option<Vec<String>> {
    let host = req
        .headers()
        .get(header::HOST)?
        .to_str()
        .ok()?
        .to_ascii_lowercase();
    let name = host.rsplit_once(':').map_or(host.as_str(), |(h, p)| {
        if p.chars().all(|c| c.is_ascii_digit()) {
            h
        } else {
            host.as_str()
        }
    });
    let name = name
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.');
    let ip = name.parse::<std::net::IpAddr>().ok();
    // A DNS-rebinding page names the server by a domain of the attacker's: only names the
    // server is known by make a page "its own". An address is safe (no DNS is involved).
    let known = if site.loopback {
        name == "localhost" || ip.is_some_and(|ip| ip.is_loopback())
    } else {
        name == "localhost" || ip.is_some() || site.hosts.iter().any(|h| h == "*" || h == name)
    };
    if !known {
        return None;
    }
    let scheme = if site.tls { "https" } else { "http" };
    Some(vec![format!("{scheme}://{host}")])
}

/// Whether the page that sent this request may use the server: `Ok(None)` without an `Origin`
/// (browsers always send one; rtccall and scripts need not), `Ok(Some(origin))` for the
/// server's own origin or one of `--allow-origin`, `Err(origin)` otherwise.
pub fn origin_allowed(req: &Request<Incoming>, site: &Site) -> Result<Option<String>, String> {
    let Some(origin) = req.headers().get(header::ORIGIN) else {
        return Ok(None);
    };
    let origin = normalise_origin(origin.to_str().unwrap_or("null"));
    let own = own_origins(req, site).unwrap_or_default();
    let allowed = own.iter().any(|o| normalise_origin(o) == origin)
        || site.allow_origins.iter().any(|a| a == &origin || a == "*");
    if allowed {
        Ok(Some(origin))
    } else {
        Err(origin)
    }
}

/// Lower-case an origin and drop a default port, so `https://A:443` matches `https://a`.
pub fn normalise_origin(o: &str) -> String {
    let o = o.trim().trim_end_matches('/').to_ascii_lowercase();
    if let Some(rest) = o.strip_suffix(":443").filter(|_| o.starts_with("https://")) {
        return rest.to_string();
    }
    if let Some(rest) = o.strip_suffix(":80").filter(|_| o.starts_with("http://")) {
        return rest.to_string();
    }
    o
}

fn upgrade(
    req: &mut Request<Incoming>,
    shared: &Arc<Shared>,
    site: &Site,
    info: &ConnInfo,
) -> Resp {
    if !header_has(req, header::CONNECTION, "upgrade") {
        return plain(
            StatusCode::BAD_REQUEST,
            "WebSocket upgrade without Connection: Upgrade",
        );
    }
    if req
        .headers()
        .get(header::SEC_WEBSOCKET_VERSION)
        .map(|v| v.as_bytes())
        != Some(b"13")
    {
        let mut r = plain(
            StatusCode::UPGRADE_REQUIRED,
            "only WebSocket version 13 is spoken",
        );
        r.headers_mut().insert(
            header::SEC_WEBSOCKET_VERSION,
            HeaderValue::from_static("13"),
        );
        return r;
    }
    let Some(key) = req.headers().get(header::SEC_WEBSOCKET_KEY).cloned() else {
        return plain(
            StatusCode::BAD_REQUEST,
            "WebSocket upgrade without Sec-WebSocket-Key",
        );
    };
    if let Err(origin) = origin_allowed(req, site) {
        shared.metrics.refused("origin");
        debug!("refused a WebSocket handshake from origin {origin:?}");
        return plain(
            StatusCode::FORBIDDEN,
            "this page's origin may not use this signaling server (see --allow-origin)",
        );
    }
    let Some(permit) = info.permit.lock().unwrap_or_else(|p| p.into_inner()).take() else {
        return plain(StatusCode::BAD_REQUEST, "one WebSocket per connection");
    };
    let on_upgrade = hyper::upgrade::on(req);
    let (shared, peer) = (shared.clone(), info.peer);
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => {
                let budget = Budget::new(shared.metrics.unjoined_bytes.clone());
                let ws = WebSocketStream::from_raw_socket(
                    Budgeted::new(TokioIo::new(upgraded), budget.clone()),
                    WsRole::Server,
                    Some(conn::ws_config()),
                )
                .await;
                conn::run(ws, shared, peer, permit, budget).await;
            }
            Err(e) => debug!("upgrade from {peer} failed: {e}"),
        }
    });
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = r.headers_mut();
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    if let Ok(v) = HeaderValue::from_str(&derive_accept_key(key.as_bytes())) {
        h.insert(header::SEC_WEBSOCKET_ACCEPT, v);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_normalised() {
        assert_eq!(
            normalise_origin("HTTPS://Example.com:443/"),
            "https://example.com"
        );
        assert_eq!(normalise_origin("http://a:80"), "http://a");
        assert_eq!(normalise_origin("http://a:8787"), "http://a:8787");
    }

    #[test]
    fn comparison_is_exact() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
