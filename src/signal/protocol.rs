//! The signaling wire protocol: JSON text frames with a `type` field. This is a public contract
//! (the browser page and scripts speak it), documented message by message in the README.

use serde::{Deserialize, Serialize};

pub use crate::ice::IceServer;

/// Largest text frame the server accepts; bigger ones get a `too-large` error reply.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// Longest room name.
pub const MAX_ROOM_LEN: usize = 64;

/// A peer's role in a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Places the call: sends the offer.
    Dial,
    /// Takes the call: accepts (answers) or rejects the offer.
    Answer,
}

impl Role {
    /// The role's name as used on the wire and in output.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Dial => "dial",
            Role::Answer => "answer",
        }
    }
}

/// A secret token (an access token, a resume token): kept out of `Debug` output, and so out of
/// every log line that shows a message.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Token(pub String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(***)")
    }
}

impl Token {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Token {
    fn from(s: &str) -> Token {
        Token(s.to_string())
    }
}

/// Every message of the protocol. Unknown fields are ignored (forward compatible); an unknown
/// `type` is an error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Message {
    /// Client → server: enter a room. `role` is optional (a browser page may leave it out).
    Join {
        room: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        role: Option<Role>,
        /// The token of an earlier `joined`: asks for the same seat back after a reconnection.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resume: Option<Token>,
        /// An access token (a JWT from `rtccall token`), needed by a server run with `--secret`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token: Option<Token>,
    },
    /// Server → client: you are in the room. `peer` is the role of the peer already there
    /// (`null` when you are alone, `"unknown"` when that peer gave no role).
    /// `iceServers` (browser shape) are the STUN/TURN servers the server hands to its peers.
    Joined {
        room: String,
        peer: Option<String>,
        /// A token that gives this seat back to whoever shows it in a later `join`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resume: Option<Token>,
        #[serde(rename = "iceServers", default, skip_serializing_if = "Vec::is_empty")]
        ice_servers: Vec<IceServer>,
    },
    /// Server → client: another peer entered your room.
    PeerJoined { role: Option<String> },
    /// Server → client: the other peer left your room (closed its connection or sent `bye`).
    PeerLeft {},
    /// Relayed: an SDP offer.
    Offer { sdp: String },
    /// Relayed: an SDP answer; it also means "call accepted".
    Answer { sdp: String },
    /// Relayed: a trickled ICE candidate; `candidate: null` (or "") ends gathering.
    Candidate {
        candidate: Option<String>,
        #[serde(rename = "sdpMid", default)]
        sdp_mid: Option<String>,
        #[serde(rename = "sdpMLineIndex", default)]
        sdp_mline_index: Option<u16>,
        #[serde(
            rename = "usernameFragment",
            default,
            skip_serializing_if = "Option::is_none"
        )]
        username_fragment: Option<String>,
    },
    /// Relayed: the answerer declines the call.
    Reject {
        #[serde(default)]
        reason: Option<String>,
    },
    /// Relayed: the answerer asks the dialer to restart ICE (send a new offer with new ICE
    /// credentials), because its connection went `disconnected` or its addresses changed.
    Restart {
        #[serde(default)]
        reason: Option<String>,
    },
    /// Relayed: hang up.
    Bye {
        #[serde(default)]
        reason: Option<String>,
    },
    /// Server → client: your last message was not accepted, or the room refused you.
    Error { code: String, message: String },
}

/// The `type` values a client may send to the server.
pub const CLIENT_TYPES: &[&str] = &[
    "join",
    "offer",
    "answer",
    "candidate",
    "reject",
    "restart",
    "bye",
];

/// Error codes the server sends in `error` messages.
pub mod code {
    /// Invalid JSON, a binary frame, a missing or mistyped field.
    pub const BAD_MESSAGE: &str = "bad-message";
    /// A `type` the server does not know (or one only the server may send).
    pub const UNKNOWN_TYPE: &str = "unknown-type";
    /// A frame over the size limit.
    pub const TOO_LARGE: &str = "too-large";
    /// A room name that is empty, too long, or has characters outside `[A-Za-z0-9._-]`.
    pub const BAD_ROOM: &str = "bad-room";
    /// The room already has two peers.
    pub const ROOM_FULL: &str = "room-full";
    /// A relayed message before `join`.
    pub const NOT_JOINED: &str = "not-joined";
    /// A second `join` on the same connection.
    pub const ALREADY_JOINED: &str = "already-joined";
    /// A relayed message while alone in the room.
    pub const NO_PEER: &str = "no-peer";
    /// A join without a valid access token on a server run with `--secret` (missing,
    /// expired, for another room or role, or not signed with the server's secret).
    pub const UNAUTHORIZED: &str = "unauthorized";
    /// Too many joins from one address in a short time.
    pub const RATE_LIMITED: &str = "rate-limited";
    /// The other peer does not read its messages: this one was not delivered, and that peer
    /// is being disconnected.
    pub const PEER_STALLED: &str = "peer-stalled";
    /// The room store (Redis, with `serve --redis`) cannot be reached just now.
    pub const UNAVAILABLE: &str = "unavailable";
}

impl Message {
    /// Serialise to the JSON text of one frame.
    pub fn to_text(&self) -> String {
        serde_json::to_string(self).expect("signaling messages always serialise")
    }

    /// Build an `error` message.
    pub fn error(code: &str, message: impl Into<String>) -> Message {
        Message::Error {
            code: code.to_string(),
            message: message.into(),
        }
    }
}

/// Check a room name: 1 to 64 characters from `[A-Za-z0-9._-]`. Returns a one-line reason.
pub fn validate_room(room: &str) -> Result<(), String> {
    if room.is_empty() {
        return Err("room name is empty".into());
    }
    if room.len() > MAX_ROOM_LEN {
        return Err(format!(
            "room name is {} characters long; the limit is {MAX_ROOM_LEN}",
            room.len()
        ));
    }
    if let Some(c) = room
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(format!(
            "room name {room:?} has the character {c:?}; use only letters, digits, '.', '_' and '-'"
        ));
    }
    Ok(())
}

/// Why a client frame was refused, as an `(code, message)` pair.
pub type Refusal = (&'static str, String);

/// Parse a client frame, with the error code the server should reply with when it is refused.
pub fn parse_client(text: &str) -> Result<Message, Refusal> {
    if text.len() > MAX_MESSAGE_BYTES {
        return Err((
            code::TOO_LARGE,
            format!(
                "message is {} bytes; the limit is {MAX_MESSAGE_BYTES}",
                text.len()
            ),
        ));
    }
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| (code::BAD_MESSAGE, format!("message is not valid JSON: {e}")))?;
    let Some(ty) = value
        .get("type")
        .and_then(|t| t.as_str())
        .map(str::to_string)
    else {
        return Err((
            code::BAD_MESSAGE,
            "message has no string \"type\" field".to_string(),
        ));
    };
    if !CLIENT_TYPES.contains(&ty.as_str()) {
        return Err((
            code::UNKNOWN_TYPE,
            format!(
                "unknown message type {ty:?}; expected one of {}",
                CLIENT_TYPES.join(", ")
            ),
        ));
    }
    serde_json::from_value(value)
        .map_err(|e| (code::BAD_MESSAGE, format!("bad {ty:?} message: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_shapes_match_the_browser_samples() {
        let m: Message = serde_json::from_str(
            r#"{"type":"candidate","candidate":"candidate:1 1 udp 1 127.0.0.1 5000 typ host","sdpMid":"0","sdpMLineIndex":0}"#,
        )
        .unwrap();
        assert!(matches!(
            m,
            Message::Candidate {
                sdp_mline_index: Some(0),
                ..
            }
        ));
        let end: Message =
            serde_json::from_str(r#"{"type":"candidate","candidate":null}"#).unwrap();
        assert!(matches!(
            end,
            Message::Candidate {
                candidate: None,
                ..
            }
        ));
        assert_eq!(
            Message::Offer { sdp: "v=0".into() }.to_text(),
            r#"{"type":"offer","sdp":"v=0"}"#
        );
        assert_eq!(Message::PeerLeft {}.to_text(), r#"{"type":"peer-left"}"#);
    }

    #[test]
    fn refusals_carry_codes() {
        assert_eq!(parse_client("{").unwrap_err().0, code::BAD_MESSAGE);
        assert_eq!(
            parse_client(r#"{"type":"dance"}"#).unwrap_err().0,
            code::UNKNOWN_TYPE
        );
        assert_eq!(
            parse_client(r#"{"type":"joined","room":"a","peer":null}"#)
                .unwrap_err()
                .0,
            code::UNKNOWN_TYPE
        );
        assert_eq!(
            parse_client(r#"{"type":"offer"}"#).unwrap_err().0,
            code::BAD_MESSAGE
        );
        let big = format!(r#"{{"type":"offer","sdp":"{}"}}"#, "a".repeat(70_000));
        assert_eq!(parse_client(&big).unwrap_err().0, code::TOO_LARGE);
    }

    #[test]
    fn room_names() {
        assert!(validate_room("demo-1.a_b").is_ok());
        assert!(validate_room("").is_err());
        assert!(validate_room("a b").is_err());
        assert!(validate_room(&"x".repeat(65)).is_err());
    }
}
