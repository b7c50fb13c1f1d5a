//! Exit codes and the error type that carries them: one place, used by the code, the README and
//! the man pages.

use std::fmt;
use std::sync::Arc;

/// The call (or command) did what was asked.
pub const OK: i32 = 0;
/// A check or expectation failed (`rtccall probe`).
pub const CHECK_FAILED: i32 = 1;
/// Usage or configuration error: bad flags, bad values, unreadable config.
pub const USAGE: i32 = 2;
/// Signaling failure: server unreachable, room full, call rejected, no peer before the timeout,
/// signaling lost before the call connected, no common codec.
pub const SIGNALING: i32 = 3;
/// ICE or connection failure, including a peer that vanished mid-call.
pub const CONNECTION: i32 = 4;
/// Local media failure: device, file or encoder.
pub const MEDIA: i32 = 5;
/// Data failure: a file refused, cut off or not verified; chat lines not acknowledged; a
/// throughput test that did not finish.
pub const DATA: i32 = 6;
/// The call went through but an `--expect` condition did not hold (dial, answer, publish,
/// play, load).
pub const EXPECTATION_FAILED: i32 = 7;
/// Interrupted by Ctrl-C (SIGINT) or SIGTERM; the call was hung up cleanly.
pub const INTERRUPTED: i32 = 130;

/// Every exit code with its meaning, in the order the README and man pages list them.
pub const TABLE: &[(i32, &str)] = &[
    (OK, "call ok (or the command succeeded)"),
    (CHECK_FAILED, "a check or expectation failed (probe)"),
    (USAGE, "usage or configuration error"),
    (
        SIGNALING,
        "signaling failure: server unreachable, room full, rejected, no peer before the timeout, \
         signaling lost or the other peer gone before the call connected, no common video codec",
    ),
    (
        CONNECTION,
        "ICE/connection failure, including the peer vanishing mid-call (it stops answering ICE \
         consent checks)",
    ),
    (MEDIA, "local media failure (device, file, encoder)"),
    (
        DATA,
        "data failure: a file refused, cut off or failing its SHA-256 check, chat lines not \
         acknowledged, a throughput test unfinished",
    ),
    (
        EXPECTATION_FAILED,
        "an --expect condition of a call did not hold (dial, answer, publish, play, load); \
         the summary's expectations say which and what was measured",
    ),
    (INTERRUPTED, "interrupted (Ctrl-C); the call was hung up"),
];

/// The class of a failure: it decides the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Bad arguments or configuration (exit 2).
    Usage,
    /// Signaling went wrong (exit 3).
    Signaling,
    /// ICE/DTLS connection failed or the peer vanished (exit 4).
    Connection,
    /// Local media could not be produced or encoded (exit 5).
    Media,
    /// Chat, a file or the throughput test did not go through (exit 6).
    Data,
    /// The user interrupted (exit 130).
    Interrupted,
}

impl Kind {
    /// The documented exit code.
    pub fn code(self) -> i32 {
        match self {
            Kind::Usage => USAGE,
            Kind::Signaling => SIGNALING,
            Kind::Connection => CONNECTION,
            Kind::Media => MEDIA,
            Kind::Data => DATA,
            Kind::Interrupted => INTERRUPTED,
        }
    }

    /// A short machine-readable name, used in JSON `error` events.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Usage => "usage",
            Kind::Signaling => "signaling",
            Kind::Connection => "connection",
            Kind::Media => "media",
            Kind::Data => "data",
            Kind::Interrupted => "interrupted",
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for Kind {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// What went wrong: a kind (which maps to the exit code), a one-line message meant for people,
/// and the underlying error when there is one (kept for `source()` and debug logs).
#[derive(Debug, Clone)]
pub struct Error {
    kind: Kind,
    message: String,
    source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

/// Errors are equal when kind and message are (the source is detail).
impl PartialEq for Error {
    fn eq(&self, other: &Error) -> bool {
        self.kind == other.kind && self.message == other.message
    }
}

impl Eq for Error {}

impl Error {
    pub fn new(kind: Kind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// `context: source`, keeping the source.
    pub fn with_source(
        kind: Kind,
        context: &str,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Error {
        Error {
            kind,
            message: format!("{context}: {source}"),
            source: Some(Arc::new(source)),
        }
    }

    /// Bad arguments or configuration (exit 2).
    pub fn usage(message: String) -> Error {
        Error::new(Kind::Usage, message)
    }

    /// Signaling went wrong (exit 3).
    pub fn signaling(message: String) -> Error {
        Error::new(Kind::Signaling, message)
    }

    /// ICE/DTLS connection failed or the peer vanished (exit 4).
    pub fn connection(message: String) -> Error {
        Error::new(Kind::Connection, message)
    }

    /// Local media could not be produced or encoded (exit 5).
    pub fn media(message: String) -> Error {
        Error::new(Kind::Media, message)
    }

    /// Chat, a file or the throughput test did not go through (exit 6).
    pub fn data(message: String) -> Error {
        Error::new(Kind::Data, message)
    }

    /// The user interrupted (exit 130).
    pub fn interrupted() -> Error {
        Error::new(Kind::Interrupted, "interrupted")
    }

    /// The class of the failure.
    pub fn class(&self) -> Kind {
        self.kind
    }

    /// The documented exit code for this error.
    pub fn code(&self) -> i32 {
        self.kind.code()
    }

    /// A short machine-readable name for the failure class, used in JSON `error` events.
    pub fn kind(&self) -> &'static str {
        self.kind.as_str()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// Shorthand for results whose error carries an exit code.
pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_map_to_the_documented_codes_and_sources_are_kept() {
        let io = std::io::Error::new(std::io::ErrorKind::AddrNotAvailable, "no such address");
        let e = Error::with_source(Kind::Usage, "--bind 192.0.2.1:0", io);
        assert_eq!((e.code(), e.kind()), (USAGE, "usage"));
        assert_eq!(e.to_string(), "--bind 192.0.2.1:0: no such address");
        let source = std::error::Error::source(&e).expect("the io error is kept");
        assert_eq!(source.to_string(), "no such address");
        assert_eq!(Error::interrupted().code(), INTERRUPTED);
        assert_eq!(Error::signaling("x".into()).code(), SIGNALING);
        assert_eq!(Error::connection("x".into()).code(), CONNECTION);
        assert_eq!(Error::media("x".into()).code(), MEDIA);
    }
}
