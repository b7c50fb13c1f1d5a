//! The WHIP and WHEP front end (RFC 9725, and WHEP's draft which mirrors it): the offer is
//! POSTed to the endpoint with the candidates gathered by then, the answer comes back in the
//! 201 with the resource's `Location` (and `ETag`), later candidates are PATCHed to the
//! resource as `application/trickle-ice-sdpfrag`, an ICE restart is a PATCH too, and the
//! resource is DELETEd when the call ends. ICE servers come from the endpoint's
//! `Link: <…>; rel="ice-server"` headers, asked for with an OPTIONS request before the offer.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use hyper::Method;
use tokio::sync::{Notify, mpsc};
use url::Url;

use super::{CandidateLine, Event, Heard, Say, Signaling};
use crate::exit::Error;
use crate::httpc::{self, Request, Response};
use crate::ice::IceServer;
use crate::report::schema::SignalingEvent;
use crate::sdpfrag::{self, Cand, ice_of};
use crate::signal::protocol::Token;
use crate::tls::TlsSetup;

/// Which way the media goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhipKind {
    /// WHIP: we send (`rtccall publish`).
    Publish,
    /// WHEP: we receive (`rtccall play`).
    Play,
}

impl WhipKind {
    /// The role shown in records and the summary.
    pub fn as_str(self) -> &'static str {
        match self {
            WhipKind::Publish => "publish",
            WhipKind::Play => "play",
        }
    }

    fn protocol(self) -> &'static str {
        match self {
            WhipKind::Publish => "WHIP",
            WhipKind::Play => "WHEP",
        }
    }
}

/// Where a WHIP or WHEP endpoint is and how to get in.
#[derive(Debug, Clone)]
pub struct WhipConfig {
    pub url: Url,
    pub kind: WhipKind,
    /// Sent as `Authorization: Bearer` (`--token`).
    pub token: Option<Token>,
}

/// What a WHIP/WHEP exchange showed, step by step, for `probe --whip`/`--whep` (see
/// [`WhipSignaling::observed`]).
#[derive(Debug, Clone)]
pub enum Fact {
    /// The OPTIONS request: its status and the ICE servers of its `Link` headers.
    Options {
        status: u16,
        links: Vec<IceServer>,
        skipped: usize,
    },
    /// The POST: how long it took, what came back.
    Posted {
        took: Duration,
        status: u16,
        /// The URL that answered (after redirects).
        url: Url,
        location: Option<Url>,
        content_type: Option<String>,
        etag: Option<String>,
        accept_patch: Option<String>,
        /// The answer, or the first line of an error body.
        body: String,
    },
    /// A trickle PATCH: its status, or why it failed.
    Patched {
        took: Duration,
        result: Result<u16, String>,
    },
    /// An ICE restart's PATCH: its status, or why it failed.
    Restarted {
        took: Duration,
        result: Result<u16, String>,
    },
    /// The DELETE at the end.
    Deleted {
        took: Duration,
        url: Url,
        result: Result<u16, String>,
    },
}

/// How long the offer waits for gathering to finish before it is POSTed anyway (the rest is
/// trickled).
pub const GATHER_WAIT: Duration = Duration::from_secs(1);

/// Bound on the DELETE at the end.
const DELETE_WAIT: Duration = Duration::from_secs(2);

const SDP: &str = "application/sdp";
const SDPFRAG: &str = "application/trickle-ice-sdpfrag";

/// What the front end knows of the exchange so far.
#[derive(Default)]
struct State {
    /// The offer is out (or going out): candidates from now on are PATCHed.
    posted: bool,
    /// Candidates gathered before the POST.
    early: Vec<CandidateLine>,
    /// Candidates gathered while the POST was on its way.
    late: Vec<CandidateLine>,
    gathered: bool,
    /// The resource and its entity tag, from the 201.
    resource: Option<Url>,
    etag: Option<String>,
    /// Our ICE credentials and first mid, from the offer (for PATCH bodies).
    ufrag: String,
    pwd: String,
    mid: String,
    /// The server answered a PATCH with 405/501: no more trickling.
    no_trickle: bool,
    deleted: bool,
    /// The answer as last applied (an ICE restart's answer is rebuilt from it).
    answer: String,
    /// An ICE restart PATCH is on its way: candidates wait for it.
    restarting: bool,
}

/// The WHIP/WHEP front end of one call.
pub struct WhipSignaling {
    cfg: WhipConfig,
    tls: Option<TlsSetup>,
    timeout: Duration,
    tx: mpsc::UnboundedSender<Event>,
    rx: mpsc::UnboundedReceiver<Event>,
    state: Arc<Mutex<State>>,
    gathered: Arc<Notify>,
    /// ICE servers from the endpoint's Link headers (OPTIONS).
    ice_servers: Vec<IceServer>,
    /// Where [`Fact`]s go, for the probe.
    observer: Option<mpsc::UnboundedSender<Fact>>,
}

fn lock(s: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    s.lock().unwrap_or_else(|p| p.into_inner())
}

impl WhipSignaling {
    pub fn new(cfg: WhipConfig, tls: Option<TlsSetup>, timeout: Duration) -> WhipSignaling {
        let (tx, rx) = mpsc::unbounded_channel();
        WhipSignaling {
            cfg,
            tls,
            timeout,
            tx,
            rx,
            state: Arc::default(),
            gathered: Arc::default(),
            ice_servers: Vec::new(),
            observer: None,
        }
    }

    /// Report every request's outcome as a [`Fact`] (for `probe --whip`), and PATCH an
    /// end-of-candidates fragment after the answer even when nothing is left to trickle, so
    /// that the endpoint's PATCH is exercised.
    pub fn observed(mut self, facts: mpsc::UnboundedSender<Fact>) -> WhipSignaling {
        self.observer = Some(facts);
        self
    }

    fn headers(token: Option<&Token>) -> Vec<(&'static str, String)> {
        token
            .map(|t| vec![("authorization", format!("Bearer {}", t.0))])
            .unwrap_or_default()
    }

    fn note(&self, event: SignalingEvent, detail: String) {
        let _ = self.tx.send(Event::Note(event, Some(detail)));
    }
}

/// A copy of what a spawned request needs.
#[derive(Clone)]
struct Http {
    kind: WhipKind,
    token: Option<Token>,
    tls: Option<TlsSetup>,
    timeout: Duration,
    observer: Option<mpsc::UnboundedSender<Fact>>,
}

impl Http {
    fn fact(&self, f: Fact) {
        if let Some(o) = &self.observer {
            let _ = o.send(f);
        }
    }
}

impl Http {
    async fn send(
        &self,
        method: Method,
        url: Url,
        extra: Vec<(&'static str, String)>,
        body: Option<(&'static str, Bytes)>,
    ) -> Result<Response, String> {
        let mut headers = WhipSignaling::headers(self.token.as_ref());
        headers.extend(extra);
        httpc::send(Request {
            method,
            url,
            headers,
            body,
            tls: self.tls.as_ref(),
            timeout: self.timeout,
        })
        .await
    }
}

/// `status first-line-of-body` for an error message.
fn status_line(r: &Response) -> String {
    let line = r.first_line();
    if line.is_empty() {
        format!("{}", r.status)
    } else {
        format!("{} {line}", r.status)
    }
}

/// Parse `Link` header values for `rel="ice-server"` entries (RFC 9725 4.6): `<URL>;
/// rel="ice-server"; username="…"; credential="…"`. Entries that are not ICE servers or do
/// not parse are skipped; the count of skipped ones is returned too.
pub fn ice_servers_from_links(values: &[&str]) -> (Vec<IceServer>, usize) {
    let mut servers = Vec::new();
    let mut skipped = 0;
    for value in values {
        for link in split_links(value) {
            match parse_link(&link) {
                Some(Some(s)) => servers.push(s),
                Some(None) => {}
                None => skipped += 1,
            }
        }
    }
    (servers, skipped)
}

/// Split one header value into its links (commas outside `<…>` and quotes).
fn split_links(value: &str) -> Vec<String> {
    split_outside(value, ',')
}

/// Split on `sep` where it is outside `<…>` and double quotes; empty parts dropped.
fn split_outside(value: &str, sep: char) -> Vec<String> {
    let mut out = Vec::new();
    let (mut cur, mut angle, mut quote) = (String::new(), false, false);
    for ch in value.chars() {
        match ch {
            '<' if !quote => angle = true,
            '>' if !quote => angle = false,
            '"' if !angle => quote = !quote,
            c if c == sep && !angle && !quote => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(ch);
    }
    out.push(cur);
    out.into_iter().filter(|l| !l.trim().is_empty()).collect()
}

/// One link: `None` when it does not parse, `Some(None)` when it is another kind of link.
fn parse_link(link: &str) -> Option<Option<IceServer>> {
    let link = link.trim();
    let rest = link.strip_prefix('<')?;
    let (url, params) = rest.split_once('>')?;
    let (mut rel, mut username, mut credential) = (None, None, None);
    for p in split_outside(params, ';') {
        let (k, v) = p.trim().split_once('=')?;
        let v = v.trim().trim_matches('"').to_string();
        match k.trim().to_ascii_lowercase().as_str() {
            "rel" => rel = Some(v),
            "username" => username = Some(v),
            "credential" => credential = Some(v),
            _ => {}
        }
    }
    if rel.as_deref() != Some("ice-server") {
        return Some(None);
    }
    crate::ice::IceUrl::parse(url, "Link").ok()?;
    let credentials = username.zip(credential);
    Some(Some(IceServer::new(url.to_string(), credentials)))
}

/// The ICE servers as a record shows them: URLs, never credentials.
fn shown(servers: &[IceServer]) -> String {
    servers
        .iter()
        .flat_map(|s| s.urls.iter().cloned())
        .collect::<Vec<_>>()
        .join(" ")
}

impl WhipSignaling {
    /// POST the offer once gathering is over (or after [`GATHER_WAIT`]); then PATCH what was
    /// gathered meanwhile.
    fn post(&self, offer: String) {
        let http = self.http();
        let url = self.cfg.url.clone();
        let state = self.state.clone();
        let gathered = self.gathered.clone();
        let tx = self.tx.clone();
        let configured = !self.ice_servers.is_empty();
        tokio::spawn(async move {
            let _ = tokio::time::timeout(GATHER_WAIT, async {
                if !lock(&state).gathered {
                    gathered.notified().await;
                }
            })
            .await;
            let (candidates, complete) = {
                let mut s = lock(&state);
                s.posted = true;
                (std::mem::take(&mut s.early), s.gathered)
            };
            let body = sdpfrag::with_candidates(&offer, &cands(&candidates), complete);
            let began = std::time::Instant::now();
            let r = match http
                .send(
                    Method::POST,
                    url.clone(),
                    vec![],
                    Some((SDP, Bytes::from(body))),
                )
                .await
            {
                Ok(r) => r,
                Err(e) => {
                    let _ = tx.send(Event::Heard(Heard::Refused(e)));
                    return;
                }
            };
            http.fact(Fact::Posted {
                took: began.elapsed(),
                status: r.status,
                url: r.url.clone(),
                location: r.header("location").and_then(|l| r.url.join(l).ok()),
                content_type: r.header("content-type").map(str::to_string),
                etag: r.header("etag").map(str::to_string),
                accept_patch: r.header("accept-patch").map(str::to_string),
                body: if r.status == 201 {
                    String::from_utf8_lossy(&r.body).to_string()
                } else {
                    r.first_line()
                },
            });
            if r.status != 201 {
                let why = match r.status {
                    401 | 403 => format!(
                        "{}: {} (the endpoint wants a valid --token)",
                        r.url,
                        status_line(&r)
                    ),
                    _ => format!("{}: {}", r.url, status_line(&r)),
                };
                let _ = tx.send(Event::Heard(Heard::Refused(why)));
                return;
            }
            let answer = String::from_utf8_lossy(&r.body).to_string();
            if !answer.trim_start().starts_with("v=0") {
                let _ = tx.send(Event::Heard(Heard::Refused(format!(
                    "{}: 201 without an SDP answer (Content-Type {:?})",
                    r.url,
                    r.header("content-type").unwrap_or("none")
                ))));
                return;
            }
            let resource = match r.header("location") {
                Some(l) => r.url.join(l).ok(),
                None => None,
            };
            if resource.is_none() {
                let _ = tx.send(Event::Note(
                    SignalingEvent::Warning,
                    Some(format!(
                        "{}: the 201 has no usable Location: candidates cannot be trickled nor \
                         the session deleted",
                        r.url
                    )),
                ));
            }
            let (links, skipped) = ice_servers_from_links(&r.headers_all("link"));
            if !links.is_empty() && !configured {
                let _ = tx.send(Event::Note(
                    SignalingEvent::Warning,
                    Some(format!(
                        "the answer's Link headers name ICE servers ({}) that the OPTIONS \
                         request did not: the offer was made without them",
                        shown(&links)
                    )),
                ));
            }
            if skipped > 0 {
                let _ = tx.send(Event::Note(
                    SignalingEvent::Warning,
                    Some(format!(
                        "{skipped} Link header(s) ignored: not a parsable ice-server link"
                    )),
                ));
            }
            let late = {
                let mut s = lock(&state);
                s.resource = resource;
                s.etag = r.header("etag").map(str::to_string);
                s.answer = answer.clone();
                std::mem::take(&mut s.late)
            };
            let _ = tx.send(Event::Heard(Heard::Answer(answer)));
            let end = lock(&state).gathered && !complete;
            if !late.is_empty() || end || http.observer.is_some() {
                patch(&http, &state, &tx, late, end).await;
            }
        });
    }

    /// An ICE restart (RFC 9725 4.4.1): PATCH a fragment with our new credentials and
    /// `If-Match: *`; the 200's fragment carries the server's new ones, from which the answer
    /// is rebuilt. Candidates gathered meanwhile are PATCHed after it.
    fn restart(&self) {
        let http = self.http();
        let state = self.state.clone();
        let tx = self.tx.clone();
        let warn = move |tx: &mpsc::UnboundedSender<Event>, why: String| {
            let _ = tx.send(Event::Note(SignalingEvent::Warning, Some(why)));
        };
        // Set before the next say: the new generation's candidates wait for the restart
        // (a fragment with the new credentials before it would be a second restart).
        let prepared = {
            let mut s = lock(&state);
            s.resource.clone().map(|url| {
                s.restarting = true;
                // The new generation's gathering is yet to end.
                s.gathered = false;
                (url, sdpfrag::build(&s.ufrag, &s.pwd, &s.mid, &[], false))
            })
        };
        tokio::spawn(async move {
            let Some((url, body)) = prepared else {
                warn(
                    &tx,
                    "ICE cannot be restarted: the endpoint gave no Location".into(),
                );
                return;
            };
            let began = std::time::Instant::now();
            let sent = http
                .send(
                    Method::PATCH,
                    url.clone(),
                    vec![("if-match", "*".into())],
                    Some((SDPFRAG, Bytes::from(body))),
                )
                .await;
            http.fact(Fact::Restarted {
                took: began.elapsed(),
                result: sent.as_ref().map(|r| r.status).map_err(Clone::clone),
            });
            let answer = match sent {
                Ok(r) if r.status == 200 => {
                    match sdpfrag::parse(&String::from_utf8_lossy(&r.body)) {
                        Ok(f) => match (f.ufrag, f.pwd) {
                            (Some(u), Some(p)) => {
                                let mut s = lock(&state);
                                let cands = (!f.candidates.is_empty())
                                    .then_some((f.candidates.as_slice(), f.end));
                                s.answer = sdpfrag::restarted(&s.answer, &u, &p, cands);
                                if let Some(e) = r.header("etag") {
                                    s.etag = Some(e.to_string());
                                }
                                Some(s.answer.clone())
                            }
                            _ => {
                                warn(
                                    &tx,
                                    format!("{url}: the ICE restart's 200 has no ICE credentials"),
                                );
                                None
                            }
                        },
                        Err(why) => {
                            warn(
                                &tx,
                                format!("{url}: the ICE restart's 200 is not a fragment: {why}"),
                            );
                            None
                        }
                    }
                }
                Ok(r) => {
                    warn(
                        &tx,
                        format!(
                            "{url}: the {} endpoint does not restart ICE: {}",
                            http.kind.protocol(),
                            status_line(&r)
                        ),
                    );
                    None
                }
                Err(e) => {
                    warn(&tx, format!("ICE restart PATCH: {e}"));
                    None
                }
            };
            let (late, end) = {
                let mut s = lock(&state);
                s.restarting = false;
                (std::mem::take(&mut s.late), s.gathered)
            };
            if let Some(a) = answer {
                let _ = tx.send(Event::Heard(Heard::Answer(a)));
            }
            if !late.is_empty() {
                patch(&http, &state, &tx, late, end).await;
            }
        });
    }

    fn http(&self) -> Http {
        Http {
            kind: self.cfg.kind,
            token: self.cfg.token.clone(),
            tls: self.tls.clone(),
            timeout: self.timeout,
            observer: self.observer.clone(),
        }
    }
}

fn cands(lines: &[CandidateLine]) -> Vec<Cand> {
    lines
        .iter()
        .map(|c| Cand {
            line: c.candidate.clone(),
            mid: c.sdp_mid.clone(),
        })
        .collect()
}

/// PATCH candidates to the resource (nothing once the server said it takes none).
async fn patch(
    http: &Http,
    state: &Mutex<State>,
    tx: &mpsc::UnboundedSender<Event>,
    candidates: Vec<CandidateLine>,
    end: bool,
) {
    let (url, etag, body) = {
        let s = lock(state);
        let Some(url) = s.resource.clone() else {
            return;
        };
        if s.no_trickle {
            return;
        }
        (
            url,
            s.etag.clone(),
            sdpfrag::build(&s.ufrag, &s.pwd, &s.mid, &cands(&candidates), end),
        )
    };
    let extra = etag.map(|e| vec![("if-match", e)]).unwrap_or_default();
    let began = std::time::Instant::now();
    let sent = http
        .send(
            Method::PATCH,
            url.clone(),
            extra,
            Some((SDPFRAG, Bytes::from(body))),
        )
        .await;
    http.fact(Fact::Patched {
        took: began.elapsed(),
        result: sent.as_ref().map(|r| r.status).map_err(Clone::clone),
    });
    match sent {
        Ok(r) if (200..300).contains(&r.status) => {}
        Ok(r) if matches!(r.status, 405 | 501) => {
            lock(state).no_trickle = true;
            let _ = tx.send(Event::Note(
                SignalingEvent::Warning,
                Some(format!(
                    "{url}: {} does not take trickled candidates ({}): it has those of the offer",
                    http.kind.protocol(),
                    r.status
                )),
            ));
        }
        Ok(r) => {
            let _ = tx.send(Event::Note(
                SignalingEvent::Warning,
                Some(format!("{url}: trickle PATCH: {}", status_line(&r))),
            ));
        }
        Err(e) => {
            let _ = tx.send(Event::Note(
                SignalingEvent::Warning,
                Some(format!("trickle PATCH: {e}")),
            ));
        }
    }
}

#[async_trait::async_trait]
impl Signaling for WhipSignaling {
    async fn open(&mut self) -> Result<(), Error> {
        let url = self.cfg.url.clone();
        // OPTIONS tells the ICE servers before the offer is made (servers that do not answer
        // it still take the POST: only a transport failure ends the call here).
        let r = self
            .http()
            .send(Method::OPTIONS, url.clone(), vec![], None)
            .await
            .map_err(|e| {
                Error::signaling(format!(
                    "cannot reach the {} endpoint {e}",
                    self.cfg.kind.protocol()
                ))
            })?;
        let (servers, skipped) = ice_servers_from_links(&r.headers_all("link"));
        self.http().fact(Fact::Options {
            status: r.status,
            links: servers.clone(),
            skipped,
        });
        self.note(
            SignalingEvent::Connected,
            format!("{} {url} (OPTIONS {})", self.cfg.kind.protocol(), r.status),
        );
        if skipped > 0 {
            self.note(
                SignalingEvent::Warning,
                format!("{skipped} Link header(s) ignored: not a parsable ice-server link"),
            );
        }
        self.ice_servers = servers;
        Ok(())
    }

    async fn say(&mut self, say: Say) -> bool {
        match say {
            Say::Join { .. } => {
                let _ = self.tx.send(Event::Heard(Heard::Joined {
                    peer: Some("answer".into()),
                    resume: None,
                    ice_servers: self.ice_servers.clone(),
                }));
                true
            }
            Say::Offer(sdp) => {
                let first = {
                    let mut s = lock(&self.state);
                    let first = !s.posted && s.ufrag.is_empty();
                    (s.ufrag, s.pwd, s.mid) = ice_of(&sdp);
                    first
                };
                if first {
                    self.post(sdp);
                } else {
                    self.restart();
                }
                true
            }
            Say::Candidate(c) => {
                let now = {
                    let mut s = lock(&self.state);
                    // PATCHed now once the session exists and no restart is on its way;
                    // before the POST they go into the offer, meanwhile they wait.
                    let ready = s.posted && s.resource.is_some() && !s.restarting;
                    match &c {
                        _ if ready => Some(c.clone()),
                        Some(c) if s.posted => {
                            s.late.push(c.clone());
                            None
                        }
                        Some(c) => {
                            s.early.push(c.clone());
                            None
                        }
                        None => {
                            s.gathered = true;
                            None
                        }
                    }
                };
                if c.is_none() {
                    self.gathered.notify_one();
                }
                if let Some(c) = now {
                    let http = self.http();
                    let state = self.state.clone();
                    let tx = self.tx.clone();
                    let end = c.is_none();
                    tokio::spawn(async move {
                        patch(&http, &state, &tx, c.into_iter().collect(), end).await;
                    });
                }
                true
            }
            Say::Bye(_) => {
                self.delete().await;
                true
            }
            Say::Answer(_) | Say::Restart(_) | Say::Reject(_) => false,
        }
    }

    async fn next(&mut self) -> Event {
        match self.rx.recv().await {
            Some(e) => e,
            None => std::future::pending().await,
        }
    }

    fn reconnect(&mut self) {
        // Nothing stays connected between requests.
        let _ = self.tx.send(Event::Back);
    }

    async fn close(&mut self) {
        self.delete().await;
    }
}

impl WhipSignaling {
    /// DELETE the resource, once; a failure is a warning.
    async fn delete(&mut self) {
        let url = {
            let mut s = lock(&self.state);
            if s.deleted {
                return;
            }
            s.deleted = true;
            s.resource.clone()
        };
        let Some(url) = url else { return };
        let http = Http {
            timeout: DELETE_WAIT,
            ..self.http()
        };
        let began = std::time::Instant::now();
        let sent = http.send(Method::DELETE, url.clone(), vec![], None).await;
        http.fact(Fact::Deleted {
            took: began.elapsed(),
            url: url.clone(),
            result: sent.as_ref().map(|r| r.status).map_err(Clone::clone),
        });
        match sent {
            Ok(r) if (200..300).contains(&r.status) => {}
            Ok(r) => tracing::warn!("DELETE {url}: {}", status_line(&r)),
            Err(e) => tracing::warn!("DELETE {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_name_ice_servers_with_their_credentials() {
        let (s, skipped) = ice_servers_from_links(&[
            r#"<stun:127.0.0.1:3478>; rel="ice-server""#,
            r#"<turn:127.0.0.1:3478?transport=udp>; rel="ice-server"; username="u;1"; credential="p,2"; credential-type="password", <https://x/>; rel="next""#,
            "garbage",
        ]);
        assert_eq!(skipped, 1);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].urls, vec!["stun:127.0.0.1:3478".to_string()]);
        assert_eq!(
            s[1].urls,
            vec!["turn:127.0.0.1:3478?transport=udp".to_string()]
        );
        assert_eq!(s[1].credential.as_deref(), Some("p,2"));
    }
}
