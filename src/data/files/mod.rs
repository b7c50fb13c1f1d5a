//! Files: `--send` offers each file (name, size, SHA-256) on a channel of its own and streams
//! it in chunks under the channel's back-pressure ([`send`]); `--receive DIR` takes offers into
//! a temporary file in DIR, checks length and hash, and only then gives it its (sanitised) name
//! ([`receive`], [`names`]). Here: what both sides share (a transfer's figures and records,
//! hashing, the checks made before a call).

pub mod names;
pub mod receive;
pub mod send;

use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant};

use ring::digest::{Context, SHA256};

use super::close_when_sent;
use super::{CHUNK, Channel, DataConfig, FILE_LABEL, LinkEvent, Msg, Opener, Reporter, mbit_s};
use crate::report::schema::{Direction, FileEvent, FileSummary, Record};

pub use receive::{MAX_RECEIVING, receive};
pub use send::send_all;

/// How often a transfer reports its progress.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// Size and SHA-256 of a file, read in full.
pub(super) fn hash_file(path: &Path) -> std::io::Result<(u64, String)> {
    let mut f = std::fs::File::open(path)?;
    let mut ctx = Context::new(&SHA256);
    let mut buf = vec![0u8; 256 * 1024];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            return Ok((size, hex::encode(ctx.finish())));
        }
        ctx.update(&buf[..n]);
        size += n as u64;
    }
}

/// Check `--send` paths before the call: each must be a readable regular file.
pub fn check_send_path(path: &Path) -> Result<(), String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("--send {}: {e}", path.display()))?;
    if !meta.is_file() {
        return Err(format!("--send {}: not a regular file", path.display()));
    }
    std::fs::File::open(path).map_err(|e| format!("--send {}: {e}", path.display()))?;
    Ok(())
}

/// Check `--receive DIR` before the call: an existing, writable directory.
pub fn check_receive_dir(dir: &Path) -> Result<(), String> {
    let meta = std::fs::metadata(dir).map_err(|e| format!("--receive {}: {e}", dir.display()))?;
    if !meta.is_dir() {
        return Err(format!("--receive {}: not a directory", dir.display()));
    }
    tempfile::Builder::new()
        .prefix(".rtccall-check-")
        .tempfile_in(dir)
        .map_err(|e| format!("--receive {}: cannot write there ({e})", dir.display()))?;
    Ok(())
}

/// One transfer's figures as it goes; it becomes a [`FileSummary`].
pub(super) struct Transfer {
    index: usize,
    direction: Direction,
    name: String,
    size: u64,
    started: Option<Instant>,
    bytes: u64,
    last_report: Instant,
}

impl Transfer {
    /// Register a transfer in the tally, as cut off until it ends otherwise.
    fn begin(report: &Reporter, direction: Direction, name: &str, size: u64) -> Transfer {
        let mut index = 0;
        report.update(|d| {
            index = d.files.len();
            d.files.push(FileSummary {
                direction,
                name: name.into(),
                refused_here: false,
                size,
                bytes: 0,
                duration_s: 0.0,
                mbit_s: 0.0,
                sha256: None,
                verified: false,
                error: Some("the call ended before the transfer finished".into()),
            });
        });
        Transfer {
            index,
            direction,
            name: name.into(),
            size,
            started: None,
            bytes: 0,
            last_report: Instant::now(),
        }
    }

    fn secs(&self) -> f64 {
        self.started.map_or(0.0, |s| s.elapsed().as_secs_f64())
    }

    async fn event(&self, report: &Reporter, event: FileEvent, detail: Option<String>) {
        report
            .emit(|ms| Record::File {
                ms,
                direction: self.direction,
                name: self.name.clone(),
                event,
                size: self.size,
                bytes: self.bytes,
                mbit_s: self.started.map(|_| mbit_s(self.bytes, self.secs())),
                detail,
            })
            .await;
    }

    /// A progress record at most every 250 ms.
    async fn progress(&mut self, report: &Reporter, delivered: u64) {
        if self.last_report.elapsed() >= PROGRESS_EVERY {
            self.last_report = Instant::now();
            let bytes = std::mem::replace(&mut self.bytes, delivered);
            self.event(report, FileEvent::Progress, None).await;
            self.bytes = bytes;
        }
    }

    /// The transfer is over: verified, or failed with `error`.
    async fn end(&self, report: &Reporter, sha256: Option<String>, error: Option<String>) {
        let (secs, bytes, i) = (self.secs(), self.bytes, self.index);
        let verified = error.is_none();
        report.update(|d| {
            if let Some(f) = d.files.get_mut(i) {
                f.bytes = bytes;
                f.duration_s = (secs * 1000.0).round() / 1000.0;
                f.mbit_s = mbit_s(bytes, secs);
                f.sha256 = sha256;
                f.verified = verified;
                f.error = error.clone();
            }
        });
        match error {
            None => self.event(report, FileEvent::Verified, None).await,
            Some(e) => self.event(report, FileEvent::Failed, Some(e)).await,
        }
    }
}

/// The next rtccall message on a channel (binary and unparsable ones skipped with a warning).
pub(super) async fn reply(ch: &mut Channel) -> Option<Msg> {
    while let Some(ev) = ch.next().await {
        match ev {
            LinkEvent::Text(t) => match Msg::parse(&t) {
                Ok(m) => return Some(m),
                Err(e) => tracing::warn!("file channel: {e}"),
            },
            _ => tracing::warn!("file channel: an unexpected binary message"),
        }
    }
    None
}

pub(super) fn unexpected(m: Option<Msg>) -> String {
    match m {
        None => "the channel closed before the other side answered".into(),
        Some(m) => format!("the other side answered {}", m.to_text()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_hash_to_their_sha256() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"abc").unwrap();
        assert_eq!(
            hash_file(&p).unwrap(),
            (
                3,
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad".to_string()
            )
        );
        assert!(
            check_send_path(dir.path())
                .unwrap_err()
                .contains("not a regular file")
        );
        assert!(
            check_receive_dir(&p)
                .unwrap_err()
                .contains("not a directory")
        );
        assert!(check_receive_dir(dir.path()).is_ok());
    }
}
