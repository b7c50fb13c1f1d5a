//! `serve` as a WHIP and WHEP endpoint for its rooms: `POST /whip/ROOM` (or `/whep/ROOM`) joins
//! ROOM as the dialer on the HTTP client's behalf, hands its offer to the terminal waiting
//! there and returns that terminal's answer (with the candidates it gathered) in a 201;
//! `PATCH` on the resource relays trickled candidates, `DELETE` says `bye`. The terminal sees
//! an ordinary call.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use tokio_util::sync::CancellationToken;
use tracing::debug;

use super::conn::Shared;
use super::outbox::{Item, Outbox};
use super::rooms::{JoinRequest, Relayed, new_token};
use super::sessions::{Resource, RestartWaiter};
use crate::sdpfrag::{self, Cand};
use crate::signal::Role;
use crate::signal::auth;
use crate::signal::protocol::{Message, validate_room};

type Resp = Response<Full<Bytes>>;

/// The largest offer or trickle body taken (an offer is a few kilobytes).
pub const BODY_LIMIT: usize = 64 * 1024;
/// How long the terminal in the room has to answer.
pub const ANSWER_WAIT: Duration = Duration::from_secs(15);
/// After the answer, how long its trickled candidates are waited for (to go into the 201).
pub const CANDIDATE_WAIT: Duration = Duration::from_secs(1);

const SDP: &str = "application/sdp";
const SDPFRAG: &str = "application/trickle-ice-sdpfrag";
const METHODS: &str = "POST, PATCH, DELETE, OPTIONS";

fn text(status: StatusCode, body: &str) -> Resp {
    let mut r = Response::new(Full::new(Bytes::from(format!("{body}\n"))));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

fn set(r: &mut Resp, name: header::HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        r.headers_mut().append(name, v);
    }
}

/// Which protocol a path speaks, the room, and the resource if named.
fn parse_path(path: &str) -> Option<(&'static str, &str, Option<&str>)> {
    let (kind, rest) = if let Some(r) = path.strip_prefix("/whip/") {
        ("whip", r)
    } else {
        ("whep", path.strip_prefix("/whep/")?)
    };
    let mut parts = rest.split('/');
    let room = parts.next()?;
    let resource = parts.next().filter(|r| !r.is_empty());
    if parts.next().is_some() {
        return None;
    }
    Some((kind, room, resource))
}

/// Answer a request under `/whip/` or `/whep/`. `origin`: the page's origin when it may use
/// the server, `Err` when it may not.
pub async fn handle(
    req: Request<Incoming>,
    shared: &Arc<Shared>,
    origin: Result<Option<String>, String>,
    peer: SocketAddr,
) -> Resp {
    let mut resp = match &origin {
        Err(o) => {
            shared.metrics.refused("origin");
            debug!("refused a WHIP/WHEP request from origin {o:?}");
            text(
                StatusCode::FORBIDDEN,
                "this page's origin may not use this server (see --allow-origin)",
            )
        }
        Ok(_) => route(req, shared, peer).await,
    };
    if let Ok(Some(o)) = &origin {
        set(&mut resp, header::ACCESS_CONTROL_ALLOW_ORIGIN, o);
        set(&mut resp, header::VARY, "Origin");
        set(
            &mut resp,
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            "Location, ETag, Link, Accept-Patch",
        );
    }
    resp
}

async fn route(req: Request<Incoming>, shared: &Arc<Shared>, peer: SocketAddr) -> Resp {
    let path = req.uri().path().to_string();
    let Some((kind, room, resource)) = parse_path(&path) else {
        return text(
            StatusCode::NOT_FOUND,
            "not found: use /whip/ROOM or /whep/ROOM",
        );
    };
    if let Err(why) = validate_room(room) {
        return text(StatusCode::NOT_FOUND, &why);
    }
    if req.method() == Method::OPTIONS {
        let mut r = text(StatusCode::NO_CONTENT, "");
        *r.body_mut() = Full::new(Bytes::new());
        set(&mut r, header::ALLOW, METHODS);
        set(&mut r, header::ACCESS_CONTROL_ALLOW_METHODS, METHODS);
        set(
            &mut r,
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            "Authorization, Content-Type, If-Match",
        );
        if resource.is_none() {
            set(&mut r, header::HeaderName::from_static("accept-post"), SDP);
            links(&mut r, shared);
        }
        return r;
    }
    if let Err(r) = authorize(&req, shared, room) {
        return *r;
    }
    match (req.method().clone(), resource) {
        (Method::POST, None) => post(req, shared, kind, room, peer).await,
        (Method::PATCH, Some(id)) => patch(req, shared, room, id).await,
        (Method::DELETE, Some(id)) => delete(shared, room, id).await,
        _ => {
            let mut r = text(
                StatusCode::METHOD_NOT_ALLOWED,
                "POST an offer to /whip/ROOM or /whep/ROOM; PATCH or DELETE the Location it gave",
            );
            set(&mut r, header::ALLOW, METHODS);
            r
        }
    }
}

/// The server's ICE servers as `Link` headers (RFC 9725 4.6), REST credentials minted.
fn links(r: &mut Resp, shared: &Shared) {
    for s in shared.ice.for_join() {
        for url in &s.urls {
            let mut link = format!("<{url}>; rel=\"ice-server\"");
            if let (Some(u), Some(c)) = (&s.username, &s.credential) {
                link.push_str(&format!(
                    "; username=\"{u}\"; credential=\"{c}\"; credential-type=\"password\""
                ));
            }
            set(r, header::LINK, &link);
        }
    }
}

/// With `--secret`, a Bearer access token for the room (as `rtccall token` mints).
fn authorize(req: &Request<Incoming>, shared: &Shared, room: &str) -> Result<(), Box<Resp>> {
    let Some(secret) = &shared.secret else {
        return Ok(());
    };
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    auth::verify(secret, token, room, Some(Role::Dial))
        .map(|_| ())
        .map_err(|why| {
            shared
                .metrics
                .error(crate::signal::protocol::code::UNAUTHORIZED);
            let mut r = text(StatusCode::UNAUTHORIZED, &why);
            set(&mut r, header::WWW_AUTHENTICATE, "Bearer");
            Box::new(r)
        })
}

/// The body, if it has the content type and fits.
async fn body(req: Request<Incoming>, content_type: &str) -> Result<String, Box<Resp>> {
    let given = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
    if given.as_deref() != Some(content_type) {
        let mut r = text(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            &format!("the body must be {content_type}"),
        );
        set(&mut r, header::ACCEPT, content_type);
        return Err(Box::new(r));
    }
    let bytes = match Limited::new(req.into_body(), BODY_LIMIT).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            return Err(Box::new(text(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("the body is over {} KiB", BODY_LIMIT / 1024),
            )));
        }
        Err(_) => {
            return Err(Box::new(text(
                StatusCode::BAD_REQUEST,
                "the body could not be read",
            )));
        }
    };
    String::from_utf8(bytes.to_vec())
        .map_err(|_| Box::new(text(StatusCode::BAD_REQUEST, "the body is not UTF-8 text")))
}

fn parse(item: Item) -> Option<Message> {
    match item {
        Item::Text(t) => serde_json::from_str(t.as_str()).ok(),
        Item::Close(..) => None,
    }
}

async fn relay(shared: &Shared, room: &str, id: u64, m: &Message) -> Relayed {
    let Ok(json) = serde_json::to_string(m) else {
        return Relayed::NoPeer;
    };
    let r = shared.hub.relay(room, id, json.into()).await;
    if r == Relayed::Sent {
        shared.metrics.relayed.fetch_add(1, Ordering::Relaxed);
    }
    r
}

async fn post(
    req: Request<Incoming>,
    shared: &Arc<Shared>,
    kind: &'static str,
    room: &str,
    peer: SocketAddr,
) -> Resp {
    let offer = match body(req, SDP).await {
        Ok(b) => b,
        Err(r) => return *r,
    };
    if !offer.trim_start().starts_with("v=0")
        || rtc::sdp::SessionDescription::unmarshal(&mut std::io::Cursor::new(offer.as_bytes()))
            .is_err()
    {
        return text(StatusCode::BAD_REQUEST, "the body is not an SDP offer");
    }
    if !shared.gate.may_join(peer.ip()) {
        return text(
            StatusCode::TOO_MANY_REQUESTS,
            "too many joins from your address; wait a second and try again",
        );
    }
    let id = shared.ids.fetch_add(1, Ordering::Relaxed);
    let outbox = Outbox::default();
    let joined = shared
        .hub
        .join(JoinRequest {
            room,
            id,
            role: Some(Role::Dial.as_str().to_string()),
            resume: None,
            outbox: &outbox,
            ice_servers: Vec::new(),
        })
        .await;
    if let Err(code) = joined {
        shared.metrics.error(code);
        return text(
            StatusCode::CONFLICT,
            &format!("room {room} is taken ({code}): a call is already there"),
        );
    }
    shared.metrics.joins.fetch_add(1, Ordering::Relaxed);
    // A client that goes away while it waits (the request's future is dropped) must not keep
    // the seat: the guard gives it back unless the session takes it over.
    let mut seat = Seat {
        shared: shared.clone(),
        room: room.to_string(),
        id,
        held: true,
    };
    let waiting = match parse(outbox.next().await) {
        Some(Message::Joined { peer, .. }) => peer.is_some(),
        _ => false,
    };
    if !waiting {
        return text(
            StatusCode::NOT_FOUND,
            &format!("nobody is waiting in room {room}: start `rtccall answer {room}` first"),
        );
    }
    let (ufrag, pwd, _) = sdpfrag::ice_of(&offer);
    let stored = offer.clone();
    if relay(shared, room, id, &Message::Offer { sdp: offer }).await != Relayed::Sent {
        return text(
            StatusCode::NOT_FOUND,
            &format!("nobody is in room {room} any more"),
        );
    }
    let answer = match tokio::time::timeout(ANSWER_WAIT, answer_of(&outbox)).await {
        Ok(Ok(a)) => a,
        Ok(Err(resp)) => {
            return *resp;
        }
        Err(_) => {
            let _ = relay(shared, room, id, &bye("the WHIP client gave up waiting")).await;
            return text(
                StatusCode::GATEWAY_TIMEOUT,
                &format!("the terminal in room {room} did not answer within 15 s"),
            );
        }
    };
    seat.held = false;
    let resource = new_token();
    let etag = format!("\"{}\"", &new_token()[..16]);
    let end = CancellationToken::new();
    let restart = RestartWaiter::default();
    shared.whip.lock().insert(
        resource.clone(),
        Resource {
            room: room.to_string(),
            id,
            etag: etag.clone(),
            ufrag,
            pwd,
            end: end.clone(),
            offer: stored,
            restart: restart.clone(),
        },
    );
    // With Redis, another instance can take the session's PATCH and DELETE.
    let record = serde_json::json!({"room": room, "member": id, "etag": etag}).to_string();
    shared.hub.store_session(&resource, &record).await;
    tokio::spawn(hold(
        shared.clone(),
        room.to_string(),
        id,
        resource.clone(),
        outbox,
        (end, restart),
    ));
    let mut r = Response::new(Full::new(Bytes::from(answer)));
    *r.status_mut() = StatusCode::CREATED;
    set(&mut r, header::CONTENT_TYPE, SDP);
    set(
        &mut r,
        header::LOCATION,
        &format!("/{kind}/{room}/{resource}"),
    );
    set(&mut r, header::ETAG, &etag);
    set(
        &mut r,
        header::HeaderName::from_static("accept-patch"),
        SDPFRAG,
    );
    links(&mut r, shared);
    r
}

/// Leave the room for good: an HTTP client has no connection to resume, so its seat is not
/// kept for it as a dropped WebSocket's is.
async fn give_back(shared: &Shared, room: &str, id: u64) {
    shared.hub.mark_leaving(room, id).await;
    shared.hub.leave(room, id).await;
}

/// The room seat a POST holds while it waits for the terminal's answer.
struct Seat {
    shared: Arc<Shared>,
    room: String,
    id: u64,
    /// Still the POST's to give back (false once left, or handed to the session).
    held: bool,
}

impl Drop for Seat {
    fn drop(&mut self) {
        if self.held {
            let (shared, room, id) = (self.shared.clone(), std::mem::take(&mut self.room), self.id);
            tokio::spawn(async move { give_back(&shared, &room, id).await });
        }
    }
}

fn bye(reason: &str) -> Message {
    Message::Bye {
        reason: Some(reason.to_string()),
    }
}

/// The terminal's answer, with the candidates it trickles within [`CANDIDATE_WAIT`] after.
async fn answer_of(outbox: &Outbox) -> Result<String, Box<Resp>> {
    let sdp = loop {
        match parse(outbox.next().await) {
            Some(Message::Answer { sdp }) => break sdp,
            Some(Message::Reject { reason }) => {
                return Err(Box::new(text(
                    StatusCode::FORBIDDEN,
                    &format!(
                        "the terminal declined the call: {}",
                        reason.unwrap_or_else(|| "no reason given".into())
                    ),
                )));
            }
            Some(Message::Bye { .. }) | Some(Message::PeerLeft {}) | None => {
                return Err(Box::new(text(
                    StatusCode::NOT_FOUND,
                    "the terminal left the room before answering",
                )));
            }
            _ => {}
        }
    };
    let (cands, complete) = trickled(outbox).await;
    Ok(sdpfrag::with_candidates(&sdp, &cands, complete))
}

/// The candidates the terminal trickles within [`CANDIDATE_WAIT`], and whether it ended them.
async fn trickled(outbox: &Outbox) -> (Vec<Cand>, bool) {
    let mut cands = Vec::new();
    let mut complete = false;
    let _ = tokio::time::timeout(CANDIDATE_WAIT, async {
        loop {
            match parse(outbox.next().await) {
                Some(Message::Candidate {
                    candidate: Some(c),
                    sdp_mid,
                    ..
                }) if !c.is_empty() => cands.push(Cand {
                    line: c,
                    mid: sdp_mid,
                }),
                Some(Message::Candidate { .. }) => {
                    complete = true;
                    return;
                }
                None => return,
                _ => {}
            }
        }
    })
    .await;
    (cands, complete)
}

/// Hold the seat until the session is deleted, the terminal hangs up or the server stops.
async fn hold(
    shared: Arc<Shared>,
    room: String,
    id: u64,
    resource: String,
    outbox: Outbox,
    (end, restart): (CancellationToken, RestartWaiter),
) {
    loop {
        tokio::select! {
            _ = end.cancelled() => break,
            _ = shared.stop.cancelled() => break,
            item = outbox.next() => match parse(item) {
                Some(Message::Bye { .. }) | Some(Message::PeerLeft {}) | None => break,
                // An ICE restart's answer, for the PATCH that waits for it.
                Some(Message::Answer { sdp }) => {
                    let waiter = restart.lock().unwrap_or_else(|p| p.into_inner()).take();
                    if let Some(w) = waiter {
                        let (cands, complete) = trickled(&outbox).await;
                        let _ = w.send((sdp, cands, complete));
                    }
                }
                // Later candidates have nowhere to go: WHIP has no way to the client.
                _ => {}
            },
        }
    }
    shared.whip.lock().remove(&resource);
    shared.hub.drop_session(&resource).await;
    give_back(&shared, &room, id).await;
}

async fn patch(req: Request<Incoming>, shared: &Arc<Shared>, room: &str, id: &str) -> Resp {
    let held = match shared.whip.lock().get(id) {
        Some(r) if r.room == room => Some((
            r.id,
            r.etag.clone(),
            r.ufrag.clone(),
            r.pwd.clone(),
            r.offer.clone(),
            r.restart.clone(),
        )),
        _ => None,
    };
    let Some((seat, etag, ufrag, pwd, offer, waiter)) = held else {
        return remote_patch(req, shared, room, id).await;
    };
    let frag = match fragment(req, &etag).await {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let restart = frag.ufrag.as_deref().is_some_and(|u| u != ufrag)
        || frag.pwd.as_deref().is_some_and(|p| p != pwd);
    if restart {
        return ice_restart(shared, (room, id, seat), &offer, frag, waiter).await;
    }
    for c in frag.candidates {
        let m = Message::Candidate {
            candidate: Some(c.line),
            sdp_mid: c.mid,
            sdp_mline_index: None,
            username_fragment: Some(ufrag.clone()),
        };
        if relay(shared, room, seat, &m).await != Relayed::Sent {
            return text(StatusCode::NOT_FOUND, "the terminal has left the room");
        }
    }
    if frag.end {
        let m = Message::Candidate {
            candidate: None,
            sdp_mid: None,
            sdp_mline_index: None,
            username_fragment: None,
        };
        let _ = relay(shared, room, seat, &m).await;
    }
    let mut r = text(StatusCode::NO_CONTENT, "");
    *r.body_mut() = Full::new(Bytes::new());
    set(&mut r, header::ETAG, &etag);
    r
}

/// An ICE restart (RFC 9725 4.4.1): the client's offer with its new credentials and
/// candidates goes to the terminal as a new offer; the terminal's answer comes back as a
/// fragment with its new credentials and the candidates it trickled, under a new ETag.
async fn ice_restart(
    shared: &Arc<Shared>,
    (room, id, seat): (&str, &str, u64),
    offer: &str,
    frag: sdpfrag::Frag,
    waiter: RestartWaiter,
) -> Resp {
    let (Some(ufrag), Some(pwd)) = (frag.ufrag.clone(), frag.pwd.clone()) else {
        return text(
            StatusCode::BAD_REQUEST,
            "an ICE restart fragment needs both a=ice-ufrag and a=ice-pwd",
        );
    };
    let sdp = sdpfrag::restarted(offer, &ufrag, &pwd, Some((&frag.candidates, frag.end)));
    let (tx, rx) = tokio::sync::oneshot::channel();
    {
        let mut w = waiter.lock().unwrap_or_else(|p| p.into_inner());
        if w.as_ref().is_some_and(|t| !t.is_closed()) {
            return text(
                StatusCode::CONFLICT,
                "an ICE restart of this session is still waiting for the terminal's answer",
            );
        }
        *w = Some(tx);
    }
    if relay(shared, room, seat, &Message::Offer { sdp: sdp.clone() }).await != Relayed::Sent {
        return text(StatusCode::NOT_FOUND, "the terminal has left the room");
    }
    let (answer, cands, complete) = match tokio::time::timeout(ANSWER_WAIT, rx).await {
        Ok(Ok(a)) => a,
        Ok(Err(_)) => {
            return text(
                StatusCode::NOT_FOUND,
                "the session ended during the ICE restart",
            );
        }
        Err(_) => {
            return text(
                StatusCode::GATEWAY_TIMEOUT,
                &format!("the terminal in room {room} did not answer the ICE restart within 15 s"),
            );
        }
    };
    let (a_ufrag, a_pwd, a_mid) = sdpfrag::ice_of(&answer);
    let mut all = cands;
    all.extend(
        answer
            .lines()
            .filter_map(|l| l.trim().strip_prefix("a=candidate:"))
            .map(|c| Cand {
                line: format!("candidate:{c}"),
                mid: None,
            }),
    );
    let etag = format!("\"{}\"", &new_token()[..16]);
    if let Some(r) = shared.whip.lock().get_mut(id) {
        r.ufrag = ufrag;
        r.pwd = pwd;
        r.offer = sdp;
        r.etag = etag.clone();
    }
    let body = sdpfrag::build(&a_ufrag, &a_pwd, &a_mid, &all, complete);
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = StatusCode::OK;
    set(&mut r, header::CONTENT_TYPE, SDPFRAG);
    set(&mut r, header::ETAG, &etag);
    r
}

/// A PATCH's precondition and body: `If-Match` with the session's `etag` (or `*`), and the
/// trickle fragment it carries.
async fn fragment(req: Request<Incoming>, etag: &str) -> Result<sdpfrag::Frag, Box<Resp>> {
    match req
        .headers()
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        None => {
            return Err(Box::new(text(
                StatusCode::PRECONDITION_REQUIRED,
                "send If-Match with the ETag the 201 gave",
            )));
        }
        Some(m) if m.trim() == etag || m.trim() == "*" => {}
        Some(_) => {
            return Err(Box::new(text(
                StatusCode::PRECONDITION_FAILED,
                "If-Match is not this session's ETag",
            )));
        }
    }
    let frag = body(req, SDPFRAG).await?;
    sdpfrag::parse(&frag).map_err(|why| Box::new(text(StatusCode::BAD_REQUEST, &why)))
}

async fn delete(shared: &Arc<Shared>, room: &str, id: &str) -> Resp {
    let found = {
        let mut map = shared.whip.lock();
        match map.get(id) {
            Some(r) if r.room == room => map.remove(id),
            _ => None,
        }
    };
    let Some(r) = found else {
        return remote_delete(shared, room, id).await;
    };
    shared.hub.call_over(room).await;
    let _ = relay(
        shared,
        room,
        r.id,
        &bye("the WHIP/WHEP client ended the session"),
    )
    .await;
    r.end.cancel();
    text(StatusCode::OK, "deleted")
}

/// A session another instance holds (with `--redis`): the seat's connection id and its ETag.
async fn remote(shared: &Shared, room: &str, resource: &str) -> Option<(u64, String)> {
    let record: serde_json::Value =
        serde_json::from_str(&shared.hub.find_session(resource).await?).ok()?;
    (record["room"] == room).then_some((
        record["member"].as_u64()?,
        record["etag"].as_str()?.to_string(),
    ))
}

/// Relay as the room's server, not as a member (connection ids start at 1): both the seat, on
/// the instance that holds the session, and the terminal get it.
const AS_SERVER: u64 = 0;

/// PATCH through an instance that does not hold the session: trickled candidates are relayed
/// to the room (the seat's task ignores them); an ICE restart must reach the holder.
async fn remote_patch(req: Request<Incoming>, shared: &Shared, room: &str, id: &str) -> Resp {
    let Some((_, etag)) = remote(shared, room, id).await else {
        return text(StatusCode::NOT_FOUND, "no such session");
    };
    let frag = match fragment(req, &etag).await {
        Ok(f) => f,
        Err(r) => return *r,
    };
    if frag.candidates.is_empty() && frag.ufrag.is_some() && !frag.end {
        return text(
            StatusCode::CONFLICT,
            "an ICE restart must reach the instance that created the session",
        );
    }
    for c in frag.candidates {
        let m = Message::Candidate {
            candidate: Some(c.line),
            sdp_mid: c.mid,
            sdp_mline_index: None,
            username_fragment: frag.ufrag.clone(),
        };
        let _ = relay(shared, room, AS_SERVER, &m).await;
    }
    let mut r = text(StatusCode::NO_CONTENT, "");
    *r.body_mut() = Full::new(Bytes::new());
    set(&mut r, header::ETAG, &etag);
    r
}

/// DELETE through an instance that does not hold the session: `bye` to the room ends the
/// terminal's call and the holder's seat.
async fn remote_delete(shared: &Shared, room: &str, id: &str) -> Resp {
    if remote(shared, room, id).await.is_none() {
        return text(StatusCode::NOT_FOUND, "no such session");
    }
    shared.hub.drop_session(id).await;
    shared.hub.call_over(room).await;
    let _ = relay(
        shared,
        room,
        AS_SERVER,
        &bye("the WHIP/WHEP client ended the session"),
    )
    .await;
    text(StatusCode::OK, "deleted")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_the_protocol_room_and_resource() {
        assert_eq!(parse_path("/whip/demo"), Some(("whip", "demo", None)));
        assert_eq!(
            parse_path("/whep/demo/abc"),
            Some(("whep", "demo", Some("abc")))
        );
        assert_eq!(parse_path("/whip/demo/"), Some(("whip", "demo", None)));
        assert_eq!(parse_path("/whip/a/b/c"), None);
        assert_eq!(parse_path("/other"), None);
    }
}
