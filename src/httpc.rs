//! A small HTTP/1.1 client on hyper for WHIP and WHEP: one request per connection (plain or
//! TLS with the command's trust), 307/308 redirects followed with the same method and body,
//! bodies read up to a bound, every failure one line naming the URL.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use tokio::net::TcpStream;
use url::Url;

use crate::tls::TlsSetup;

/// Redirects followed before giving up (a loop ends here).
pub const MAX_REDIRECTS: usize = 5;

/// The most of a response body read (an SDP answer is a few kilobytes).
pub const BODY_LIMIT: usize = 256 * 1024;

/// A response, with the URL that gave it (after redirects).
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub url: Url,
}

impl Response {
    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Every value of a header (`Link` comes once per server).
    pub fn headers_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect()
    }

    /// The first line of the body, for error messages (at most 200 characters, printable).
    pub fn first_line(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        line.chars().filter(|c| !c.is_control()).take(200).collect()
    }
}

/// One request to send.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub method: hyper::Method,
    pub url: Url,
    pub headers: Vec<(&'static str, String)>,
    pub body: Option<(&'static str, Bytes)>,
    pub tls: Option<&'a TlsSetup>,
    /// Bound on the whole exchange, redirects included.
    pub timeout: Duration,
}

/// Send a request, following 307/308 redirects (at most [`MAX_REDIRECTS`]).
pub async fn send(req: Request<'_>) -> Result<Response, String> {
    let shown = req.url.to_string();
    let req_timeout = req.timeout;
    match tokio::time::timeout(req.timeout, follow(req)).await {
        Ok(r) => r,
        Err(_) => Err(format!(
            "{shown}: no response within {} s",
            req_timeout.as_secs_f64()
        )),
    }
}

async fn follow(mut req: Request<'_>) -> Result<Response, String> {
    for _ in 0..=MAX_REDIRECTS {
        let r = once(&req).await?;
        if !matches!(r.status, 307 | 308) {
            return Ok(r);
        }
        let Some(to) = r.header("location") else {
            return Err(format!(
                "{}: {} redirect without a Location",
                req.url, r.status
            ));
        };
        req.url = req
            .url
            .join(to)
            .map_err(|e| format!("{}: redirect to {to:?}: {e}", req.url))?;
    }
    Err(format!(
        "{}: more than {MAX_REDIRECTS} redirects (a loop?)",
        req.url
    ))
}

async fn once(req: &Request<'_>) -> Result<Response, String> {
    let url = &req.url;
    let https = match url.scheme() {
        "http" => false,
        "https" => true,
        s => return Err(format!("{url}: {s}: is not http: or https:")),
    };
    let host = url
        .host_str()
        .ok_or_else(|| format!("{url}: no host"))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = url
        .port_or_known_default()
        .ok_or_else(|| format!("{url}: no port"))?;
    let tcp = TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| format!("{url}: cannot connect: {e}"))?;
    let _ = tcp.set_nodelay(true);
    let request = build(req)?;
    if https {
        let default;
        let tls = match req.tls {
            Some(t) => t,
            None => {
                default = TlsSetup::new(None, false).map_err(|e| e.to_string())?;
                &default
            }
        };
        let name = rustls::pki_types::ServerName::try_from(host.clone())
            .map_err(|e| format!("{url}: {e}"))?;
        let stream = tls
            .connector()
            .connect(name, tcp)
            .await
            .map_err(|e| format!("{url}: {}", crate::tls::explain(&e, &host)))?;
        exchange(stream, request, url).await
    } else {
        exchange(tcp, request, url).await
    }
}

fn build(req: &Request<'_>) -> Result<hyper::Request<Full<Bytes>>, String> {
    let url = &req.url;
    let mut target = url.path().to_string();
    if let Some(q) = url.query() {
        target.push('?');
        target.push_str(q);
    }
    let authority = match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        _ => return Err(format!("{url}: no host")),
    };
    let mut b = hyper::Request::builder()
        .method(req.method.clone())
        .uri(target)
        .header(hyper::header::HOST, authority)
        .header(
            hyper::header::USER_AGENT,
            concat!("rtccall/", env!("CARGO_PKG_VERSION")),
        );
    let headers = b.headers_mut().ok_or("bad request")?;
    for (k, v) in &req.headers {
        let value = HeaderValue::from_str(v).map_err(|_| format!("{url}: bad {k} header"))?;
        headers.append(HeaderName::from_static(k), value);
    }
    let body = match &req.body {
        Some((content_type, body)) => {
            headers.insert(
                hyper::header::CONTENT_TYPE,
                HeaderValue::from_static(content_type),
            );
            body.clone()
        }
        None => Bytes::new(),
    };
    b.body(Full::new(body)).map_err(|e| format!("{url}: {e}"))
}

async fn exchange<S>(
    stream: S,
    request: hyper::Request<Full<Bytes>>,
    url: &Url,
) -> Result<Response, String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| format!("{url}: {e}"))?;
    let driving = tokio::spawn(conn);
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    let (parts, body) = response.into_parts();
    let body = Limited::new(body, BODY_LIMIT)
        .collect()
        .await
        .map_err(|e| {
            if e.is::<http_body_util::LengthLimitError>() {
                format!("{url}: the response body is over {} KiB", BODY_LIMIT / 1024)
            } else {
                format!("{url}: reading the response: {e}")
            }
        })?
        .to_bytes();
    driving.abort();
    Ok(Response {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body,
        url: url.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_line_of_a_body_is_printable_and_short() {
        let r = Response {
            status: 400,
            headers: HeaderMap::new(),
            body: Bytes::from_static(b"\n  bad offer\x1b[31m: no ICE\nmore"),
            url: Url::parse("http://127.0.0.1/").unwrap(),
        };
        assert_eq!(r.first_line(), "  bad offer[31m: no ICE");
    }
}
