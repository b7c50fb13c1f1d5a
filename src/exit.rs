//! Exit codes and the error type that carries them: one place, used by the code, the README and
//! the man pages.

use std::fmt;

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
    (INTERRUPTED, "interrupted (Ctrl-C); the call was hung up"),
];

/// What went wrong, with the exit code it maps to. The message is one line, meant for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// Bad arguments or configuration (exit 2).
    Usage(String),
    /// Signaling went wrong (exit 3).
    Signaling(String),
    /// ICE/DTLS connection failed or the peer vanished (exit 4).
    Connection(String),
    /// Local media could not be produced or encoded (exit 5).
    Media(String),
    /// The user interrupted (exit 130).
    Interrupted,
}

impl Error {
    /// The documented exit code for this error.
    pub fn code(&self) -> i32 {
        match self {
            Error::Usage(_) => USAGE,
            Error::Signaling(_) => SIGNALING,
            Error::Connection(_) => CONNECTION,
            Error::Media(_) => MEDIA,
            Error::Interrupted => INTERRUPTED,
        }
    }

    /// A short machine-readable name for the failure class, used in JSON `error` events.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Usage(_) => "usage",
            Error::Signaling(_) => "signaling",
            Error::Connection(_) => "connection",
            Error::Media(_) => "media",
            Error::Interrupted => "interrupted",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(m) | Error::Signaling(m) | Error::Connection(m) | Error::Media(m) => {
                f.write_str(m)
            }
            Error::Interrupted => f.write_str("interrupted"),
        }
    }
}

impl std::error::Error for Error {}

/// Shorthand for results whose error carries an exit code.
pub type Result<T> = std::result::Result<T, Error>;
