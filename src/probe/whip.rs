//! `probe --whip URL` / `--whep URL`: a WHIP or WHEP endpoint checked step by step through a
//! real session (the call engine's WHIP front end, observed): `auth` (with `--token`: refused
//! without it), `link-ice-servers` (each then probed like a `--ice-server`), `post`, `answer`,
//! `trickle`, `call`, `ice-restart`, `delete`.

use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::Method;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use url::Url;

use super::servers::Server;
use super::{Outcome, ProbeConfig, Sink, Timer, probe_server, round1};
use crate::call::peer::PeerSetup;
use crate::call::signaling::whip::Fact;
use crate::call::{AcceptPolicy, Call, CallConfig, Place, WhipConfig, WhipKind, WhipSignaling};
use crate::httpc;
use crate::media::{AudioSource, MediaConfig, VideoSource};
use crate::report::probe_schema::{Status, Step};
use crate::report::schema::Summary;
use crate::signal::Role;
use crate::signal::protocol::Token;

/// One endpoint to check.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub url: Url,
    pub kind: WhipKind,
}

impl Endpoint {
    pub fn label(&self) -> String {
        self.url.to_string()
    }

    fn protocol(&self) -> &'static str {
        match self.kind {
            WhipKind::Publish => "WHIP",
            WhipKind::Play => "WHEP",
        }
    }
}

/// Steps an endpoint reports when nothing stops early (Link servers not counted).
pub fn expected_steps(cfg: &ProbeConfig) -> u64 {
    cfg.endpoints.len() as u64 * (7 + u64::from(cfg.whip_token.is_some()))
}

/// A complete offer (audio and video, BUNDLE, DTLS fingerprint) for the `auth` step: enough
/// for a server to get as far as checking the token.
const AUTH_OFFER: &str = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
a=group:BUNDLE 0 1\r\na=msid-semantic: WMS\r\n\
m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n\
a=ice-ufrag:rtcp\r\na=ice-pwd:rtccallprobeauthcheck0000\r\na=ice-options:trickle\r\n\
a=fingerprint:sha-256 7B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08\r\n\
a=setup:actpass\r\na=mid:0\r\na=sendonly\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\n\
a=fmtp:111 minptime=10;useinbandfec=1\r\na=ssrc:1001 cname:rtccall\r\n\
m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n\
a=ice-ufrag:rtcp\r\na=ice-pwd:rtccallprobeauthcheck0000\r\na=ice-options:trickle\r\n\
a=fingerprint:sha-256 7B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08\r\n\
a=setup:actpass\r\na=mid:1\r\na=sendonly\r\na=rtcp-mux\r\na=rtcp-rsize\r\na=rtpmap:96 VP8/90000\r\n\
a=rtcp-fb:96 nack\r\na=rtcp-fb:96 nack pli\r\na=ssrc:1002 cname:rtccall\r\n";

/// Check one endpoint; its steps (sent to the sink as they end) and what the servers its
/// `Link` headers named showed.
pub async fn probe_endpoint(
    e: &Endpoint,
    cfg: &ProbeConfig,
    sink: &Sink,
) -> (Vec<Step>, Vec<(Server, Outcome)>) {
    let label = e.label();
    let mut steps = Vec::new();
    if cfg.whip_token.is_some() {
        steps.push(sink.step(auth(e, cfg).await).await);
    }
    let (facts_tx, mut facts_rx) = mpsc::unbounded_channel();
    let token = cfg.whip_token.clone().map(Token);
    let timeout = cfg.step_timeout.max(Duration::from_secs(5));
    let signaling = WhipSignaling::new(
        WhipConfig {
            url: e.url.clone(),
            kind: e.kind,
            token: token.clone(),
        },
        Some(cfg.tls.clone()),
        timeout,
    )
    .observed(facts_tx);
    let config = CallConfig {
        role: Role::Dial,
        place: Place::Whip(WhipConfig {
            url: e.url.clone(),
            kind: e.kind,
            token,
        }),
        tls: Some(cfg.tls.clone()),
        timeout,
        duration: Some(cfg.call_media),
        accept: AcceptPolicy::Auto,
        // WHIP/WHEP endpoints take media only: no data channel.
        peer: PeerSetup {
            data_channel: false,
            ..super::connect::setup(cfg, Vec::new(), false)
        },
        media: match e.kind {
            WhipKind::Publish => super::connect::media(),
            WhipKind::Play => MediaConfig {
                audio: AudioSource::None,
                video: VideoSource::None,
                ..super::connect::media()
            },
        },
        stats_interval: Duration::from_secs(1),
        data: Default::default(),
        stdin_terminal: false,
    };
    let call_timer = Timer::new(&label, "call", None);
    let (call, mut records) = Call::start(
        config,
        Some(Box::new(signaling)),
        &CancellationToken::new(),
        None,
    );
    let drain = tokio::spawn(async move { while records.recv().await.is_some() {} });
    let summary = call.wait().await;
    let _ = drain.await;
    let mut facts = Vec::new();
    while let Ok(f) = facts_rx.try_recv() {
        facts.push(f);
    }

    let mut linked = Vec::new();
    let (link_step, servers) = links(e, &facts);
    steps.push(sink.step(link_step).await);
    for s in servers {
        let o = probe_server(&s, cfg, sink).await;
        linked.push((s, o));
    }
    let posted = facts.iter().find_map(|f| match f {
        Fact::Posted {
            took,
            status,
            url,
            location,
            content_type,
            etag,
            accept_patch,
            body,
        } => Some((
            *took,
            *status,
            url,
            location,
            content_type,
            etag,
            accept_patch,
            body,
        )),
        _ => None,
    });
    let t = |step: &'static str| Timer::new(&label, step, None);
    let error = summary
        .as_ref()
        .and_then(|s| s.error.clone())
        .unwrap_or_else(|| "the probe was interrupted".into());
    let Some((took, status, answered, location, content_type, etag, accept_patch, body)) = posted
    else {
        steps.push(
            sink.step(t("post").fail(
                format!("no answer to the POST: {error}"),
                format!(
                    "the {} endpoint could not be reached or did not answer: check the URL, \
                     that the server runs and listens there, and --ca for https",
                    e.protocol()
                ),
            ))
            .await,
        );
        return (steps, linked);
    };
    let ms = took.as_secs_f64() * 1000.0;
    let post = if status != 201 {
        t("post").fail(
            format!("{status} {body} ({ms:.1} ms)"),
            explain_status(status, e),
        )
    } else {
        let mut missing = Vec::new();
        if location.is_none() {
            missing.push("no Location header (RFC 9725 4.2: the 201 must name the session resource, or it can be neither trickled to nor deleted)");
        }
        if content_type
            .as_deref()
            .is_none_or(|c| !c.trim().to_ascii_lowercase().starts_with("application/sdp"))
        {
            missing.push("the answer's Content-Type is not application/sdp");
        }
        let what = format!(
            "201 in {ms:.1} ms{}{}{}",
            location
                .as_ref()
                .map(|l| format!(", Location {l}"))
                .unwrap_or_default(),
            etag.as_ref()
                .map(|e| format!(", ETag {e}"))
                .unwrap_or_default(),
            if answered != &e.url {
                format!(" (redirected to {answered})")
            } else {
                String::new()
            }
        );
        if missing.is_empty() {
            t("post").done(Status::Pass, what)
        } else {
            let mut s = t("post").done(Status::Warn, what);
            s.explanation = Some(missing.join("; "));
            s
        }
    };
    let mut post = post;
    post.duration_ms = round1(ms);
    steps.push(sink.step(post).await);
    if status != 201 {
        return (steps, linked);
    }
    steps.push(sink.step(answer(&label, body)).await);
    let patched = facts.iter().find_map(|f| match f {
        Fact::Patched { took, result } => Some((*took, result.clone())),
        _ => None,
    });
    let patch_ms = patched
        .as_ref()
        .map(|(took, _)| took.as_secs_f64() * 1000.0);
    let mut trickle = match patched {
        None => t("trickle").done(
            Status::Skip,
            "not tried: no session resource to PATCH (no Location)",
        ),
        Some((took, Ok(s))) if (200..300).contains(&s) => t("trickle").done(
            Status::Pass,
            format!(
                "PATCH {s} in {:.1} ms{}",
                took.as_secs_f64() * 1000.0,
                match (&etag, &accept_patch) {
                    (Some(_), _) => ", If-Match with the ETag honoured",
                    (None, None) => ", though the 201 had no Accept-Patch",
                    _ => "",
                }
            ),
        ),
        Some((_, Ok(s))) if matches!(s, 405 | 501) => {
            let mut st = t("trickle").done(
                Status::Warn,
                format!("PATCH {s}: the endpoint takes no trickled candidates"),
            );
            st.explanation = Some(
                "clients must then put every candidate in the offer (wait for gathering to \
                 end before the POST); browsers trickle by default"
                    .into(),
            );
            st
        }
        Some((_, Ok(s))) => t("trickle").fail(
            format!("PATCH {s}"),
            match s {
                412 => "the endpoint refused the If-Match it gave as ETag".to_string(),
                428 => "the endpoint wants If-Match but gave no ETag to match".to_string(),
                415 => "the endpoint does not take application/trickle-ice-sdpfrag".to_string(),
                _ => format!(
                    "a trickle PATCH should get 204 (or 405/501 when not supported), not {s}"
                ),
            },
        ),
        Some((_, Err(why))) => t("trickle").fail(
            format!("PATCH failed: {why}"),
            "the endpoint did not answer the PATCH",
        ),
    };
    if let Some(ms) = patch_ms {
        trickle.duration_ms = round1(ms);
    }
    steps.push(sink.step(trickle).await);
    steps.push(
        sink.step(call_step(e, call_timer, summary.as_ref(), &error))
            .await,
    );
    steps.push(
        sink.step(t("ice-restart").done(
            Status::Skip,
            "not tried: the probe does not force an ICE restart (publish and play restart ICE with a PATCH when the path fails)",
        ))
        .await,
    );
    let deleted = facts.iter().find_map(|f| match f {
        Fact::Deleted { took, url, result } => Some((*took, url.clone(), result.clone())),
        _ => None,
    });
    let delete_ms = deleted
        .as_ref()
        .map(|(took, _, _)| took.as_secs_f64() * 1000.0);
    let mut delete = match deleted {
        None => t("delete").done(Status::Skip, "not tried: no session resource (no Location)"),
        Some((took, url, Ok(s))) if (200..300).contains(&s) => {
            let again = again(cfg, &url).await;
            let first = format!("DELETE {s} in {:.1} ms", took.as_secs_f64() * 1000.0);
            match again {
                Ok(404) => t("delete").done(
                    Status::Pass,
                    format!("{first}; a second DELETE got 404"),
                ),
                Ok(n) => {
                    let mut st = t("delete").done(
                        Status::Warn,
                        format!("{first}; a second DELETE got {n}"),
                    );
                    st.explanation =
                        Some("a deleted session resource should answer 404".into());
                    st
                }
                Err(why) => t("delete").done(
                    Status::Warn,
                    format!("{first}; a second DELETE failed: {why}"),
                ),
            }
        }
        Some((_, _, Ok(s))) => t("delete").fail(
            format!("DELETE {s}"),
            "ending a session is a DELETE of its resource, answered 200 (RFC 9725 4.2); the server may keep the session (and its media ports) until it times out",
        ),
        Some((_, _, Err(why))) => t("delete").fail(
            format!("DELETE failed: {why}"),
            "the endpoint did not answer the DELETE",
        ),
    };
    if let Some(ms) = delete_ms {
        delete.duration_ms = round1(ms);
    }
    steps.push(sink.step(delete).await);
    (steps, linked)
}

/// A second DELETE of a deleted resource (its status).
async fn again(cfg: &ProbeConfig, url: &Url) -> Result<u16, String> {
    let mut headers = Vec::new();
    if let Some(t) = &cfg.whip_token {
        headers.push(("authorization", format!("Bearer {t}")));
    }
    httpc::send(httpc::Request {
        method: Method::DELETE,
        url: url.clone(),
        headers,
        body: None,
        tls: Some(&cfg.tls),
        timeout: cfg.step_timeout,
    })
    .await
    .map(|r| r.status)
}

/// Why a POST got this status, in plain words.
fn explain_status(status: u16, e: &Endpoint) -> String {
    match status {
        401 | 403 => "the endpoint wants a valid Bearer token: give --token".into(),
        404 => format!(
            "no {} endpoint at this URL (or nothing to play or publish there)",
            e.protocol()
        ),
        405 => "the URL does not take POST: is it the endpoint's URL?".into(),
        409 => "the endpoint is busy with another session".into(),
        415 | 406 => "the endpoint did not take the offer as application/sdp".into(),
        400 => "the endpoint refused the offer as malformed".into(),
        s if s >= 500 => "the server failed: look at its log".into(),
        s => format!("a WHIP/WHEP POST is answered 201 Created, not {s}"),
    }
}

/// The `link-ice-servers` step and the servers to probe.
fn links(e: &Endpoint, facts: &[Fact]) -> (Step, Vec<Server>) {
    let t = Timer::new(&e.label(), "link-ice-servers", None);
    let Some((status, links, skipped)) = facts.iter().find_map(|f| match f {
        Fact::Options {
            status,
            links,
            skipped,
        } => Some((*status, links, *skipped)),
        _ => None,
    }) else {
        return (
            t.done(Status::Skip, "not tried: OPTIONS got no answer"),
            Vec::new(),
        );
    };
    let mut servers = Vec::new();
    for s in links {
        for u in &s.urls {
            if let Ok(mut parsed) = Server::parse(u, "Link") {
                if parsed.username.is_none() {
                    parsed.username = s.username.clone();
                    parsed.credential = s.credential.clone();
                }
                servers.push(parsed);
            }
        }
    }
    let names: Vec<String> = servers.iter().map(Server::label).collect();
    let what = if names.is_empty() {
        format!("OPTIONS {status}: no ICE servers in Link headers")
    } else {
        format!("OPTIONS {status}: {} (each probed below)", names.join(", "))
    };
    let step = if skipped > 0 {
        let mut s = t.done(Status::Warn, what);
        s.explanation = Some(format!(
            "{skipped} Link header(s) are not `<URL>; rel=\"ice-server\"` links with a \
             stun:/turn:/turns: URL (RFC 9725 4.6)"
        ));
        s
    } else {
        t.done(Status::Pass, what)
    };
    (step, servers)
}

/// The `answer` step: the SDP the 201 carried.
fn answer(label: &str, sdp: &str) -> Step {
    let t = Timer::new(label, "answer", None);
    let parsed = rtc::sdp::SessionDescription::unmarshal(&mut std::io::Cursor::new(sdp.as_bytes()));
    if parsed.is_err() {
        return t.fail(
            "the 201's body does not parse as SDP",
            "a WHIP/WHEP answer is an SDP answer (application/sdp)",
        );
    }
    let has = |key: &str| sdp.lines().any(|l| l.trim().starts_with(key));
    let mut missing = Vec::new();
    for (key, what) in [
        ("a=ice-ufrag:", "ICE username fragment"),
        ("a=ice-pwd:", "ICE password"),
        ("a=fingerprint:", "DTLS fingerprint"),
    ] {
        if !has(key) {
            missing.push(what);
        }
    }
    let candidates: Vec<&str> = sdp
        .lines()
        .filter_map(|l| l.trim().strip_prefix("a=candidate:"))
        .collect();
    let lite = has("a=ice-lite");
    let what = format!(
        "{} candidate(s){}{}",
        candidates.len(),
        if has("a=end-of-candidates") {
            ", end-of-candidates"
        } else {
            ""
        },
        if lite { ", ICE lite" } else { "" }
    );
    if !missing.is_empty() {
        return t.fail(
            format!("{what}; missing: {}", missing.join(", ")),
            "an answer needs ICE credentials and a DTLS fingerprint to connect",
        );
    }
    if candidates.is_empty() {
        let mut s = t.done(Status::Warn, what);
        s.explanation = Some(
            "the answer carries no candidates: the client can only reach the server through \
             candidates it learns otherwise"
                .into(),
        );
        return s;
    }
    t.done(Status::Pass, what)
}

/// The `call` step: ICE and DTLS connected, and what flowed.
fn call_step(e: &Endpoint, t: Timer, summary: Option<&Summary>, error: &str) -> Step {
    let Some(s) = summary.filter(|s| s.connected) else {
        return t.fail(
            format!("the session did not connect: {error}"),
            "the answer was taken but ICE or DTLS did not complete: the server's candidates \
             may be unreachable from here (check its public address / NAT settings, and \
             whether it needs a TURN server)",
        );
    };
    let pair = s
        .selected_pair
        .as_ref()
        .map(|p| format!(" ({p})"))
        .unwrap_or_default();
    let connected = format!(
        "connected in {} ms{pair}",
        s.timings_ms.dtls_connected.unwrap_or(0.0)
    );
    match e.kind {
        WhipKind::Publish => {
            let sent = s.audio.packets_sent + s.video.frames_sent;
            if sent == 0 {
                return t.fail(
                    format!("{connected}, but nothing was sent"),
                    "the media tracks did not start: look at the answer's directions",
                );
            }
            t.done(
                Status::Pass,
                format!(
                    "{connected}; sent {} audio packets and {} video frames in {:.1} s; the \
                     server reported {} video packets lost, {} keyframe requests",
                    s.audio.packets_sent,
                    s.video.frames_sent,
                    s.duration_s,
                    s.video.packets_lost.max(0),
                    s.video.plis_received
                ),
            )
        }
        WhipKind::Play => {
            if s.audio.packets_received == 0 && s.video.frames_decoded == 0 {
                return t.fail(
                    format!("{connected}, but no media arrived"),
                    "the endpoint sent nothing to play: is a stream being published there?",
                );
            }
            t.done(
                Status::Pass,
                format!(
                    "{connected}; received {} audio packets and decoded {} video frames in \
                     {:.1} s ({} packets lost)",
                    s.audio.packets_received,
                    s.video.frames_decoded,
                    s.duration_s,
                    s.video.packets_lost.max(0) + s.audio.packets_lost.max(0)
                ),
            )
        }
    }
}

/// The `auth` step: the same POST without the token must be refused.
async fn auth(e: &Endpoint, cfg: &ProbeConfig) -> Step {
    let t = Timer::new(&e.label(), "auth", None);
    let began = Instant::now();
    let r = httpc::send(httpc::Request {
        method: Method::POST,
        url: e.url.clone(),
        headers: Vec::new(),
        body: Some(("application/sdp", Bytes::from_static(AUTH_OFFER.as_bytes()))),
        tls: Some(&cfg.tls),
        timeout: cfg.step_timeout,
    })
    .await;
    let ms = began.elapsed().as_secs_f64() * 1000.0;
    match r {
        Ok(r) if matches!(r.status, 401 | 403) => t.done(
            Status::Pass,
            format!("without the token: {} in {ms:.1} ms", r.status),
        ),
        Ok(r) if r.status == 201 => {
            // Give the session it should not have made back.
            if let Some(loc) = r.header("location").and_then(|l| r.url.join(l).ok()) {
                let _ = httpc::send(httpc::Request {
                    method: Method::DELETE,
                    url: loc,
                    headers: Vec::new(),
                    body: None,
                    tls: Some(&cfg.tls),
                    timeout: cfg.step_timeout,
                })
                .await;
            }
            t.fail(
                "without the token: 201 Created",
                "the endpoint takes offers from anyone: it does not check the Bearer token",
            )
        }
        Ok(r) => {
            let mut s = t.done(
                Status::Warn,
                format!("without the token: {} {}", r.status, r.first_line()),
            );
            s.explanation = Some(
                "an offer without a token should get 401 (or 403); this status does not tell \
                 whether the token is checked"
                    .into(),
            );
            s
        }
        Err(why) => t.fail(
            format!("without the token: {why}"),
            "the endpoint did not answer",
        ),
    }
}
