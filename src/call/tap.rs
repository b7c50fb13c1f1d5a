//! The call's `--stats-dump` tap: what the driver does to the peer connection and what it
//! hears from it, as the rtcstats dump records it (API calls with their SDP and outcome, state
//! changes, candidates), and the W3C stats with rtccall's own members filled in.

use serde_json::{Map, Value, json};

use super::CallConfig;
use super::peer::PeerSetup;
use super::signaling::CandidateLine;
use crate::dump::Writer;
use crate::dump::w3c::{Fill, Own, clean};
use crate::exit::Error;

/// The dump of one call, or nothing when the call has no `--stats-dump`.
#[derive(Default)]
pub(super) struct Tap {
    writer: Option<Writer>,
    fill: Fill,
}

impl Tap {
    /// Open the call's dump (its header written), if it has one.
    pub(super) fn open(cfg: &CallConfig) -> Result<Tap, Error> {
        let Some(path) = &cfg.stats_dump else {
            return Ok(Tap::default());
        };
        let mut meta = Map::new();
        meta.insert("startTime".into(), crate::dump::epoch_ms().round().into());
        meta.insert(
            "userAgent".into(),
            format!("rtccall/{}", env!("CARGO_PKG_VERSION")).into(),
        );
        meta.insert("room".into(), cfg.place.label().into());
        meta.insert("role".into(), cfg.role_label().into());
        Ok(Tap {
            writer: Some(Writer::create(path, meta)?),
            fill: Fill::default(),
        })
    }

    /// A dump is being written.
    pub(super) fn on(&self) -> bool {
        self.writer.is_some()
    }

    /// One event.
    pub(super) fn event(&mut self, method: &str, value: Value) {
        if let Some(w) = self.writer.as_mut() {
            w.event(method, value);
        }
    }

    /// `create`: the configuration (server URLs and user names, never credentials).
    pub(super) fn created(&mut self, setup: &PeerSetup) {
        if !self.on() {
            return;
        }
        let servers: Vec<Value> = setup
            .ice_servers
            .iter()
            .map(|s| {
                let urls: Vec<String> = s.urls.iter().map(|u| crate::ice::redact_url(u)).collect();
                match &s.username {
                    Some(u) => json!({"urls": urls, "username": u}),
                    None => json!({"urls": urls}),
                }
            })
            .collect();
        self.event(
            "create",
            json!({
                "iceServers": servers,
                "iceTransportPolicy": if setup.relay_only { "relay" } else { "all" },
                "bundlePolicy": "max-bundle",
                "rtcpMuxPolicy": "require",
            }),
        );
    }

    /// A local description made (`createOffer`/`createAnswer`) and set: its `OnSuccess` with
    /// the description, `setLocalDescription` and the new signaling state; or `OnFailure`.
    pub(super) fn made(&mut self, method: &str, kind: &str, made: &Result<String, Error>) {
        if !self.on() {
            return;
        }
        match made {
            Ok(sdp) => {
                let desc = json!({"type": kind, "sdp": sdp});
                self.event(&format!("{method}OnSuccess"), desc.clone());
                self.event("setLocalDescription", desc);
                self.event("setLocalDescriptionOnSuccess", Value::Null);
                let state = if kind == "offer" {
                    "have-local-offer"
                } else {
                    "stable"
                };
                self.event("onsignalingstatechange", state.into());
            }
            Err(e) => self.event(&format!("{method}OnFailure"), e.to_string().into()),
        }
    }

    /// A remote description handed to the peer connection.
    pub(super) fn remote(&mut self, kind: &str, sdp: &str) {
        self.event("setRemoteDescription", json!({"type": kind, "sdp": sdp}));
    }

    /// An answer to a remote offer: the offer applied, then the answer made and set.
    pub(super) fn answered(&mut self, made: &Result<String, Error>) {
        if made.is_ok() {
            self.event("setRemoteDescriptionOnSuccess", Value::Null);
            self.event("onsignalingstatechange", "have-remote-offer".into());
            self.event("createAnswer", Value::Null);
        }
        self.made("createAnswer", "answer", made);
    }

    /// The remote answer applied (or not).
    pub(super) fn applied(&mut self, applied: &Result<(), Error>) {
        match applied {
            Ok(()) => {
                self.event("setRemoteDescriptionOnSuccess", Value::Null);
                self.event("onsignalingstatechange", "stable".into());
            }
            Err(e) => self.event("setRemoteDescriptionOnFailure", e.to_string().into()),
        }
    }

    /// A candidate gathered here (`onicecandidate`) or received (`addIceCandidate`).
    pub(super) fn candidate(&mut self, method: &str, line: &CandidateLine) {
        self.event(
            method,
            json!({
                "candidate": line.candidate,
                "sdpMid": line.sdp_mid,
                "sdpMLineIndex": line.sdp_mline_index,
                "usernameFragment": line.username_fragment,
            }),
        );
    }

    /// webrtc-rs's stats put right, rtccall's own members added, as one `getStats`.
    pub(super) fn stats(&mut self, mut stats: Map<String, Value>, own: &Own) {
        clean(&mut stats);
        self.fill.fill(&mut stats, own);
        if let Some(w) = self.writer.as_mut() {
            w.stats(stats);
        }
    }

    /// The call is over.
    pub(super) fn close(&mut self) {
        if let Some(w) = self.writer.as_mut() {
            w.close();
        }
    }
}
