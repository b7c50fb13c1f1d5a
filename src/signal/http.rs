//! Plain HTTP on the signaling port: the embedded browser call page (`/`, `/app.js`) and
//! `/healthz`; every other request is refused. WebSocket upgrades are told apart before any
//! byte is consumed, so they go to the room server untouched.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The call page and its script, compiled into the binary (no build step, no CDN).
const INDEX_HTML: &str = include_str!("web/index.html");
const APP_JS: &str = include_str!("web/app.js");

/// Request heads larger than this are refused.
const MAX_HEAD: usize = 8 * 1024;
/// How long a client may take to send its request head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// What the first bytes of a connection are.
#[derive(Debug, PartialEq, Eq)]
pub enum Kind {
    /// A WebSocket upgrade request: hand the untouched stream to the WebSocket server.
    WebSocket,
    /// Any other HTTP request.
    Http,
    /// Nothing usable arrived in time (or the head is too large).
    Bad,
}

/// Look at the request head without consuming it.
pub async fn classify(stream: &TcpStream) -> Kind {
    let mut buf = vec![0u8; MAX_HEAD];
    let peeked = tokio::time::timeout(HEAD_TIMEOUT, async {
        loop {
            let n = stream.peek(&mut buf).await?;
            if n == 0 {
                return Ok::<_, std::io::Error>(None);
            }
            if let Some(end) = find_head_end(&buf[..n]) {
                return Ok(Some(end));
            }
            if n == buf.len() {
                return Ok(None);
            }
            // The head has not arrived whole yet.
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    let Ok(Ok(Some(end))) = peeked else {
        return Kind::Bad;
    };
    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
    let upgrade = head.lines().any(|l| {
        l.split_once(':')
            .is_some_and(|(k, v)| k.trim() == "upgrade" && v.trim() == "websocket")
    });
    if upgrade { Kind::WebSocket } else { Kind::Http }
}

fn find_head_end(b: &[u8]) -> Option<usize> {
    b.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4)
}

/// A response: status line, content type and body.
pub struct Response {
    pub status: &'static str,
    pub content_type: &'static str,
    pub body: String,
}

fn text(status: &'static str, body: &str) -> Response {
    Response {
        status,
        content_type: "text/plain; charset=utf-8",
        body: format!("{body}\n"),
    }
}

/// Route one request line (`METHOD TARGET VERSION`). `health` renders `/healthz`.
pub fn route(request_line: &str, health: impl Fn() -> String) -> Response {
    let mut parts = request_line.split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return text("400 Bad Request", "bad request");
    };
    if method != "GET" && method != "HEAD" {
        return text("405 Method Not Allowed", "only GET and HEAD");
    }
    let path = target.split(['?', '#']).next().unwrap_or("");
    match path {
        "/" | "/index.html" => Response {
            status: "200 OK",
            content_type: "text/html; charset=utf-8",
            body: INDEX_HTML.to_string(),
        },
        "/app.js" => Response {
            status: "200 OK",
            content_type: "text/javascript; charset=utf-8",
            body: APP_JS.to_string(),
        },
        "/healthz" => Response {
            status: "200 OK",
            content_type: "application/json",
            body: health(),
        },
        _ => text("404 Not Found", "not found"),
    }
}

/// Serve one HTTP request on `stream` and close it.
pub async fn serve(mut stream: TcpStream, health: impl Fn() -> String) {
    let mut buf = vec![0u8; MAX_HEAD];
    let mut len = 0;
    let head_end = loop {
        let read = tokio::time::timeout(HEAD_TIMEOUT, stream.read(&mut buf[len..])).await;
        match read {
            Ok(Ok(n)) if n > 0 => len += n,
            _ => return,
        }
        if let Some(end) = find_head_end(&buf[..len]) {
            break end;
        }
        if len == buf.len() {
            return;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]);
    let line = head.lines().next().unwrap_or("");
    let resp = route(line, health);
    let head_only = line.starts_with("HEAD ");
    let mut out = format!(
        "HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\n\
         X-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\n\
         Content-Security-Policy: default-src 'self'; connect-src 'self' ws: wss:; \
         media-src 'self' blob: mediastream:; img-src 'self' data:; style-src 'self' \
         'unsafe-inline'\r\nConnection: close\r\n\r\n",
        resp.status,
        resp.content_type,
        resp.body.len()
    )
    .into_bytes();
    if !head_only {
        out.extend_from_slice(resp.body.as_bytes());
    }
    let _ = tokio::time::timeout(HEAD_TIMEOUT, stream.write_all(&out)).await;
    let _ = stream.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        let h = || "{\"status\":\"ok\"}".to_string();
        let r = route("GET / HTTP/1.1", h);
        assert_eq!(r.status, "200 OK");
        assert!(r.content_type.starts_with("text/html"));
        assert!(r.body.contains("app.js"));
        assert_eq!(
            route("GET /?room=a&autojoin=1 HTTP/1.1", h).status,
            "200 OK"
        );
        assert!(
            route("GET /app.js HTTP/1.1", h)
                .content_type
                .starts_with("text/javascript")
        );
        assert_eq!(
            route("GET /healthz HTTP/1.1", h).content_type,
            "application/json"
        );
        assert_eq!(
            route("GET /../etc/passwd HTTP/1.1", h).status,
            "404 Not Found"
        );
        assert_eq!(route("GET /web/ HTTP/1.1", h).status, "404 Not Found");
        assert_eq!(route("POST / HTTP/1.1", h).status, "405 Method Not Allowed");
        assert_eq!(route("", h).status, "400 Bad Request");
    }

    #[test]
    fn head_end() {
        assert_eq!(find_head_end(b"GET / HTTP/1.1\r\n\r\nrest"), Some(18));
        assert_eq!(find_head_end(b"GET / HTTP/1.1\r\n"), None);
    }
}
