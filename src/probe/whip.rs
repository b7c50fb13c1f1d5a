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
use crate::report::schema::{Record, SignalingEvent, Summary};
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
        // Halfway through, ICE is restarted on purpose (the `ice-restart` step).
        peer: PeerSetup {
            data_channel: false,
            restart_ice_after: Some(cfg.call_media / 2),
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
        // Fine enough to see the media go on after the ICE restart in a short call.
        stats_interval: Duration::from_millis(250),
        stats_dump: super::connect::dump_path(cfg, &format!("whip-{}", e.url), e.kind.as_str()),
        data: Default::default(),
        stdin_terminal: false,
        expect: Vec::new(),
        junit: None,
    };
    let call_timer = Timer::new(&label, "call", None);
    let e_kind = e.kind;
    let (call, mut records) = Call::start(
        config,
        Some(Box::new(signaling)),
        &CancellationToken::new(),
        None,
    );
    let drain = tokio::spawn(async move {
        let mut seen = Restart::default();
        while let Some(r) = records.recv().await {
            seen.see(&r, e_kind);
        }
        seen
    });
    let summary = call.wait().await;
    let restart = drain.await.unwrap_or_default();
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
    let restarted = facts.iter().find_map(|f| match f {
        Fact::Restarted { took, result } => Some((*took, result.clone())),
        _ => None,
    });
    steps.push(
        sink.step(restart_step(
            t("ice-restart"),
            cfg.call_media,
            summary.as_ref(),
            restarted,
            &restart,
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
/// What the call's records showed of the forced ICE restart.
#[derive(Debug, Default)]
struct Restart {
    /// When the restart began (ms since the call started).
    began_ms: Option<f64>,
    /// The `ice-restarted` record's detail.
    connected: Option<String>,
    /// A warning the front end gave about the restart.
    warning: Option<String>,
    /// Stats intervals after the restart that carried media (the probe's direction), and
    /// how many there were.
    flowing_after: u32,
    intervals_after: u32,
    /// Intervals after the restart in which anything came back from the server (RTCP, ICE
    /// consent answers): the new path works both ways.
    heard_after: u32,
}

impl Restart {
    fn see(&mut self, r: &Record, kind: WhipKind) {
        match r {
            Record::Signaling {
                ms,
                event: SignalingEvent::IceRestart,
                ..
            } => {
                self.began_ms.get_or_insert(*ms);
            }
            Record::Signaling {
                event: SignalingEvent::IceRestarted,
                detail,
                ..
            } if self.began_ms.is_some() => {
                self.connected
                    .get_or_insert(detail.clone().unwrap_or_default());
            }
            Record::Signaling {
                event: SignalingEvent::Warning,
                detail: Some(d),
                ..
            } if self.began_ms.is_some() && d.contains("restart") => {
                self.warning.get_or_insert(d.clone());
            }
            Record::Stats { ms, stats } if self.began_ms.is_some_and(|b| *ms > b + 250.0) => {
                self.intervals_after += 1;
                let rate = match kind {
                    WhipKind::Publish => stats.bitrate_out_kbps,
                    WhipKind::Play => stats.bitrate_in_kbps,
                };
                if rate > 8.0 {
                    self.flowing_after += 1;
                }
                if stats.bitrate_in_kbps > 0.0 {
                    self.heard_after += 1;
                }
            }
            _ => {}
        }
    }
}

/// The `ice-restart` step: a PATCH with new ICE credentials halfway through the call
/// (RFC 9725 4.4.1), then whether the media went on.
fn restart_step(
    t: Timer,
    call_media: Duration,
    summary: Option<&Summary>,
    patched: Option<(Duration, Result<u16, String>)>,
    seen: &Restart,
) -> Step {
    let Some((took, result)) = patched else {
        let why = match (summary.is_some_and(|s| s.connected), &seen.warning) {
            (false, _) => "not tried: the session did not connect".to_string(),
            (true, Some(w)) => format!("not tried: {w}"),
            (true, None) => format!(
                "not tried: the call ended within {:.1} s of connecting (raise --call-media)",
                call_media.as_secs_f64() / 2.0
            ),
        };
        return t.done(Status::Skip, why);
    };
    let ms = took.as_secs_f64() * 1000.0;
    let mut step = match result {
        Ok(200) => {
            let flowing = format!(
                "media flowed in {} of the {} intervals after it",
                seen.flowing_after, seen.intervals_after
            );
            // Something must also come back over the new path (for WHEP that is the media).
            let flowing_both = if seen.heard_after == 0 {
                0
            } else {
                seen.flowing_after
            };
            match (&seen.warning, flowing_both) {
                (Some(w), _) => t.fail(
                    format!("PATCH 200 in {ms:.1} ms, but {w}"),
                    "an ICE restart's 200 must carry the server's new ice-ufrag and ice-pwd (RFC 9725 4.4.1)",
                ),
                (None, 0) => t.fail(
                    format!(
                        "PATCH 200 in {ms:.1} ms, but the path did not carry media both ways \
                         after it ({flowing}, something came back in {})",
                        seen.heard_after
                    ),
                    "the server took the new ICE credentials but the path did not come back on them: its ICE agent may not restart",
                ),
                (None, _) => t.done(
                    Status::Pass,
                    format!(
                        "PATCH 200 in {ms:.1} ms with new ICE credentials; {}{flowing}",
                        seen.connected
                            .as_ref()
                            .map(|c| format!("{c}; "))
                            .unwrap_or_default()
                    ),
                ),
            }
        }
        Ok(s) if matches!(s, 405 | 501) => {
            let mut st = t.done(
                Status::Warn,
                format!("PATCH {s}: the endpoint does not restart ICE"),
            );
            st.explanation = Some(
                "a session whose path fails (a network change, a NAT rebinding) then ends instead of recovering: clients must POST again"
                    .into(),
            );
            st
        }
        Ok(s) => t.fail(
            format!("PATCH {s}"),
            match s {
                412 => "the endpoint refused If-Match: * (RFC 9725 4.4.1: an ICE restart PATCH carries If-Match: *)"
                    .to_string(),
                415 => "the endpoint does not take application/trickle-ice-sdpfrag".to_string(),
                _ => format!(
                    "an ICE restart PATCH should get 200 with the new credentials (or 405/501 when not supported), not {s}"
                ),
            },
        ),
        Err(why) => t.fail(
            format!("PATCH failed: {why}"),
            "the endpoint did not answer the ICE restart PATCH",
        ),
    };
    step.duration_ms = round1(ms);
    step
}

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

#[cfg(test)]
mod tests {
    use super::*;

    /// A stats record as `--json` prints it, with these bit rates.
    fn stats(ms: f64, out: f64, inn: f64) -> Record {
        let mut r: Record = serde_json::from_str(STATS).expect("a stats record");
        if let Record::Stats { ms: m, stats } = &mut r {
            *m = ms;
            stats.bitrate_out_kbps = out;
            stats.bitrate_in_kbps = inn;
        }
        r
    }

    const STATS: &str = r#"{"type":"stats","ms":0,"state":"connected","selected_pair":null,"bitrate_out_kbps":0,"bitrate_in_kbps":0,"loss_pct":0.0,"audio":{"packets_sent":51,"packets_received":51,"packets_lost":0,"jitter_ms":0.42,"decoded_ms":1020,"fec_recovered_ms":0,"concealed_ms":0,"level_sent_dbfs":-13.5,"level_received_dbfs":-13.4,"frames_dropped":0,"encode_ms":0.42,"buffer_ms":null,"buffer_target_ms":null,"underruns":0,"late_packets":0},"video":{"frames_sent":31,"frames_decoded":31,"fps_received":31.0,"packets_lost":0,"jitter_ms":0.08,"width":640,"height":480,"frames_dropped":0,"encode_ms":3.56,"source_position_s":null,"source_length_s":null,"target_kbps":1000.0},"data":{"pings_sent":0,"echoes_received":0,"pings_echoed":0}}"#;

    fn restart_at(ms: f64) -> Record {
        Record::Signaling {
            ms,
            event: SignalingEvent::IceRestart,
            detail: None,
        }
    }

    fn judge(seen: &Restart, patched: Option<Result<u16, String>>) -> Step {
        restart_step(
            Timer::new("http://x/whip", "ice-restart", None),
            Duration::from_secs(2),
            None,
            patched.map(|r| (Duration::from_millis(3), r)),
            seen,
        )
    }

    #[test]
    fn a_restart_passes_only_when_media_goes_on_both_ways() {
        let mut seen = Restart::default();
        // Before the restart nothing counts.
        for r in [
            stats(250.0, 900.0, 5.0),
            restart_at(1000.0),
            stats(1100.0, 900.0, 5.0),
        ] {
            seen.see(&r, WhipKind::Publish);
        }
        assert_eq!(seen.intervals_after, 0);
        // Sent, but nothing came back over the new path: fail.
        seen.see(&stats(1500.0, 900.0, 0.0), WhipKind::Publish);
        assert_eq!(judge(&seen, Some(Ok(200))).status, Status::Fail);
        seen.see(&stats(1750.0, 900.0, 3.0), WhipKind::Publish);
        assert_eq!(judge(&seen, Some(Ok(200))).status, Status::Pass);
        // A player counts what came in.
        let mut play = Restart::default();
        for r in [restart_at(1000.0), stats(1500.0, 2.0, 0.0)] {
            play.see(&r, WhipKind::Play);
        }
        assert_eq!(judge(&play, Some(Ok(200))).status, Status::Fail);
        play.see(&stats(1750.0, 2.0, 600.0), WhipKind::Play);
        assert_eq!(judge(&play, Some(Ok(200))).status, Status::Pass);
    }

    #[test]
    fn refusals_are_a_warning_or_a_failure_and_no_patch_a_skip() {
        let seen = Restart::default();
        assert_eq!(judge(&seen, Some(Ok(405))).status, Status::Warn);
        assert_eq!(judge(&seen, Some(Ok(501))).status, Status::Warn);
        let s = judge(&seen, Some(Ok(412)));
        assert_eq!(s.status, Status::Fail);
        assert!(s.explanation.unwrap().contains("If-Match: *"));
        assert_eq!(
            judge(&seen, Some(Err("timed out".into()))).status,
            Status::Fail
        );
        let s = judge(&seen, None);
        assert_eq!(s.status, Status::Skip);
        assert!(s.message.contains("did not connect"), "{}", s.message);
        // A 200 without new credentials is a failure, whatever flowed.
        let mut warned = Restart::default();
        for r in [
            restart_at(1000.0),
            Record::Signaling {
                ms: 1001.0,
                event: SignalingEvent::Warning,
                detail: Some("x: the ICE restart's 200 has no ICE credentials".into()),
            },
            stats(1500.0, 900.0, 3.0),
        ] {
            warned.see(&r, WhipKind::Publish);
        }
        assert_eq!(judge(&warned, Some(Ok(200))).status, Status::Fail);
    }
}
