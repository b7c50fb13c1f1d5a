//! Files: `--send` offers each file (name, size, SHA-256) on a channel of its own and streams
//! it in chunks under the channel's back-pressure; `--receive DIR` takes offers into a
//! temporary file in DIR, checks length and hash, and only then gives it its (sanitised) name.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ring::digest::{Context, SHA256};

use super::{CHUNK, Channel, FILE_LABEL, LinkEvent, Msg, Opener, Reporter, mbit_s};
use crate::report::schema::{Direction, FileEvent, FileSummary, Record};

/// How often a transfer reports its progress.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);
/// The longest file name kept, in bytes.
const MAX_NAME: usize = 200;

/// The name a received file gets: the last component of what was offered (no directories,
/// either separator), control characters dropped, at most 200 bytes. `.`/`..`/empty are
/// refused.
pub fn sanitize(offered: &str) -> Result<String, String> {
    let last = offered
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .collect::<String>();
    let mut name = last.trim().to_string();
    if name.len() > MAX_NAME {
        let mut cut = MAX_NAME;
        while !name.is_char_boundary(cut) {
            cut -= 1;
        }
        name.truncate(cut);
    }
    if name.is_empty() || name == "." || name == ".." {
        return Err(format!(
            "the offered name {:?} has no usable file name",
            super::chat::printable(offered)
        ));
    }
    Ok(name)
}

/// Size and SHA-256 of a file, read in full.
fn hash_file(path: &Path) -> std::io::Result<(u64, String)> {
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
struct Transfer {
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

/// Send every `--send` file, one after the other.
pub async fn send_all(paths: Vec<PathBuf>, opener: Arc<dyn Opener>, report: Reporter) {
    for path in paths {
        send_one(&path, opener.as_ref(), &report).await;
    }
}

async fn send_one(path: &Path, opener: &dyn Opener, report: &Reporter) {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    let p = path.to_path_buf();
    let hashed = tokio::task::spawn_blocking(move || hash_file(&p)).await;
    let (size, sha256) = match hashed {
        Ok(Ok(h)) => h,
        Ok(Err(e)) => {
            let t = Transfer::begin(report, Direction::Send, &name, 0);
            t.end(
                report,
                None,
                Some(format!("cannot read {}: {e}", path.display())),
            )
            .await;
            return;
        }
        Err(_) => return,
    };
    let mut t = Transfer::begin(report, Direction::Send, &name, size);
    let mut ch = match opener.open(FILE_LABEL).await {
        Ok(ch) => ch,
        Err(e) => return t.end(report, None, Some(e)).await,
    };
    if !ch.opened().await {
        return t
            .end(
                report,
                None,
                Some("the file channel did not open (within 10 s)".into()),
            )
            .await;
    }
    let offer = Msg::FileOffer {
        name: name.clone(),
        size,
        sha256: sha256.clone(),
    };
    if ch.link.send_text(&offer.to_text()).await.is_err() {
        return t.end(report, None, Some("the channel closed".into())).await;
    }
    t.event(report, FileEvent::Offer, Some(format!("sha256 {sha256}")))
        .await;
    match reply(&mut ch).await {
        Some(Msg::FileAccept) => t.event(report, FileEvent::Accepted, None).await,
        Some(Msg::FileRefuse { reason }) => {
            ch.link.close().await;
            return t
                .end(
                    report,
                    None,
                    Some(format!("refused by the other side: {reason}")),
                )
                .await;
        }
        other => {
            ch.link.close().await;
            return t.end(report, None, Some(unexpected(other))).await;
        }
    }
    t.started = Some(Instant::now());
    // Read on a thread (files block), a few chunks ahead, hashing what is actually sent.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<std::io::Result<Vec<u8>>>(8);
    let p = path.to_path_buf();
    let reader = tokio::task::spawn_blocking(move || -> Option<String> {
        let mut f = match std::fs::File::open(&p) {
            Ok(f) => f,
            Err(e) => {
                let _ = tx.blocking_send(Err(e));
                return None;
            }
        };
        let mut ctx = Context::new(&SHA256);
        loop {
            let mut buf = vec![0u8; CHUNK];
            match f.read(&mut buf) {
                Ok(0) => return Some(hex::encode(ctx.finish())),
                Ok(n) => {
                    buf.truncate(n);
                    ctx.update(&buf);
                    if tx.blocking_send(Ok(buf)).is_err() {
                        return None;
                    }
                }
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    return None;
                }
            }
        }
    });
    let mut failure = None;
    while let Some(chunk) = rx.recv().await {
        let chunk = match chunk {
            Ok(c) => c,
            Err(e) => {
                failure = Some(format!("reading {}: {e}", path.display()));
                break;
            }
        };
        if t.bytes + chunk.len() as u64 > size {
            failure = Some(format!("{} grew while it was being sent", path.display()));
            break;
        }
        if ch.link.send_binary(&chunk).await.is_err() {
            failure = Some("the channel closed during the transfer".into());
            break;
        }
        t.bytes += chunk.len() as u64;
        let delivered = t.bytes.saturating_sub(ch.link.outstanding().await as u64);
        t.progress(report, delivered).await;
    }
    drop(rx);
    let sent_hash = reader.await.ok().flatten();
    if failure.is_none() && t.bytes < size {
        failure = Some(format!("{} shrank while it was being sent", path.display()));
    }
    // Changed in place (same length): the receiver's check will say so; it is told of the
    // end as usual, and its verdict goes with ours.
    let changed = (failure.is_none() && sent_hash.as_deref() != Some(sha256.as_str())).then(|| {
        format!(
            "{} changed while it was being sent (its SHA-256 is no longer the one offered)",
            path.display()
        )
    });
    if let Some(f) = failure {
        // The receiver discards what it has when the channel closes early.
        ch.link.close().await;
        return t.end(report, None, Some(f)).await;
    }
    if ch.link.send_text(&Msg::FileEnd.to_text()).await.is_err() {
        return t.end(report, None, Some("the channel closed".into())).await;
    }
    let verdict = reply(&mut ch).await;
    ch.link.close().await;
    let theirs = match verdict {
        Some(Msg::FileVerified { sha256: got }) if got == sha256 => None,
        Some(Msg::FileFailed { reason }) => Some(format!("the other side discarded it: {reason}")),
        other => Some(unexpected(other)),
    };
    match (changed, theirs) {
        (None, None) => t.end(report, Some(sha256), None).await,
        (Some(a), Some(b)) => t.end(report, None, Some(format!("{a}; {b}"))).await,
        (a, b) => t.end(report, None, a.or(b)).await,
    }
}

/// The next rtccall message on a channel (binary and unparsable ones skipped with a warning).
async fn reply(ch: &mut Channel) -> Option<Msg> {
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

fn unexpected(m: Option<Msg>) -> String {
    match m {
        None => "the channel closed before the other side answered".into(),
        Some(m) => format!("the other side answered {}", m.to_text()),
    }
}

/// Why an offer is refused, or where the file goes.
fn decide(offered: &str, config: &super::DataConfig) -> Result<(String, PathBuf), String> {
    let Some(dir) = &config.receive else {
        return Err("this side takes no files (it was started without --receive DIR)".into());
    };
    let name = sanitize(offered)?;
    let target = dir.join(&name);
    if !config.overwrite && std::fs::symlink_metadata(&target).is_ok() {
        return Err(format!(
            "{name} already exists there (--overwrite replaces it)"
        ));
    }
    Ok((name, target))
}

/// Tell the sender we do not take its file.
async fn refuse(ch: &Channel, reason: &str) {
    let refusal = Msg::FileRefuse {
        reason: reason.to_string(),
    };
    let _ = ch.link.send_text(&refusal.to_text()).await;
}

/// At most this many files arrive at once; further offers are refused.
pub const MAX_RECEIVING: usize = 4;

/// One incoming transfer counted in `receiving` while it lives.
struct Slot<'a>(&'a AtomicUsize);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Take (or refuse) the file offered on a channel the other side opened. `receiving` counts
/// the transfers under way.
pub async fn receive(
    mut ch: Channel,
    config: &super::DataConfig,
    report: Reporter,
    receiving: &AtomicUsize,
) {
    let (offered, size, sha256) = match reply(&mut ch).await {
        Some(Msg::FileOffer { name, size, sha256 }) => (name, size, sha256.to_ascii_lowercase()),
        other => {
            tracing::warn!("file channel without an offer: {}", unexpected(other));
            return;
        }
    };
    let shown = super::chat::printable(&offered);
    let _slot = Slot(receiving);
    let busy = receiving.fetch_add(1, Ordering::SeqCst) >= MAX_RECEIVING;
    let decided = if busy {
        Err(format!(
            "this side already takes {MAX_RECEIVING} files at once"
        ))
    } else {
        decide(&offered, config)
    };
    let (name, target) = match decided {
        Ok(d) => d,
        Err(reason) => {
            let t = Transfer::begin(&report, Direction::Receive, &shown, size);
            refuse(&ch, &reason).await;
            t.event(&report, FileEvent::Refused, Some(reason.clone()))
                .await;
            report.update(|d| {
                if let Some(f) = d.files.get_mut(t.index) {
                    f.error = Some(format!("refused: {reason}"));
                    f.refused_here = true;
                }
            });
            return;
        }
    };
    let mut t = Transfer::begin(&report, Direction::Receive, &name, size);
    let dir = config.receive.clone().expect("decided");
    let prefix = format!(".{name}.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".rtccall-part");
    // As any new file (the process umask applies), not tempfile's private 0600.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let mut file = match builder.tempfile_in(&dir) {
        Ok(f) => f,
        Err(e) => {
            let reason = format!("cannot write in {}: {e}", dir.display());
            refuse(&ch, &reason).await;
            return t.end(&report, None, Some(reason)).await;
        }
    };
    t.event(&report, FileEvent::Offer, Some(format!("sha256 {sha256}")))
        .await;
    if ch.link.send_text(&Msg::FileAccept.to_text()).await.is_err() {
        return t
            .end(&report, None, Some("the channel closed".into()))
            .await;
    }
    t.started = Some(Instant::now());
    let mut ctx = Context::new(&SHA256);
    let mut failure: Option<String> = None;
    let mut ended = false;
    while let Some(ev) = ch.next().await {
        match ev {
            LinkEvent::Binary(chunk) => {
                if failure.is_some() {
                    continue;
                }
                if t.bytes + chunk.len() as u64 > size {
                    failure = Some(format!("more than the {size} bytes offered arrived"));
                    continue;
                }
                // Page-cache writes of at most 64 KiB: short enough for a runtime thread.
                if let Err(e) = file.write_all(&chunk) {
                    failure = Some(format!("writing {}: {e}", file.path().display()));
                    continue;
                }
                ctx.update(&chunk);
                t.bytes += chunk.len() as u64;
                let b = t.bytes;
                t.progress(&report, b).await;
            }
            LinkEvent::Text(text) => match Msg::parse(&text) {
                Ok(Msg::FileEnd) => {
                    ended = true;
                    break;
                }
                Ok(m) => tracing::warn!("file channel: unexpected {}", m.to_text()),
                Err(e) => tracing::warn!("file channel: {e}"),
            },
            _ => {}
        }
    }
    if !ended {
        // The temporary file goes with `file`.
        return t
            .end(
                &report,
                None,
                Some("the sender stopped before the end of the file".into()),
            )
            .await;
    }
    let got = hex::encode(ctx.finish());
    if failure.is_none() && t.bytes != size {
        failure = Some(format!("{} of the {size} bytes offered arrived", t.bytes));
    }
    if failure.is_none() && got != sha256 {
        failure = Some(format!(
            "SHA-256 mismatch: {got} arrived, {sha256} was offered"
        ));
    }
    if failure.is_none() {
        let placed = file
            .as_file()
            .sync_all()
            .map_err(|e| e.to_string())
            .and_then(|_| {
                if config.overwrite {
                    file.persist(&target)
                        .map(|_| ())
                        .map_err(|e| e.error.to_string())
                } else {
                    file.persist_noclobber(&target)
                        .map(|_| ())
                        .map_err(|e| e.error.to_string())
                }
            });
        if let Err(e) = placed {
            failure = Some(format!("cannot put it at {}: {e}", target.display()));
        } else {
            // Tallied first: the sender hangs up as soon as it reads this.
            t.end(&report, Some(got.clone()), None).await;
            let _ = ch
                .link
                .send_text(&Msg::FileVerified { sha256: got }.to_text())
                .await;
            return;
        }
    }
    let reason = failure.expect("set");
    t.end(&report, None, Some(reason.clone())).await;
    let _ = ch
        .link
        .send_text(&Msg::FileFailed { reason }.to_text())
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_their_directories_and_control_characters() {
        assert_eq!(sanitize("report.pdf").unwrap(), "report.pdf");
        assert_eq!(sanitize("../../etc/passwd").unwrap(), "passwd");
        assert_eq!(sanitize("C:\\Users\\x\\a.txt").unwrap(), "a.txt");
        assert_eq!(sanitize("/abs/b").unwrap(), "b");
        assert_eq!(sanitize("evil\x1b[31m.txt").unwrap(), "evil[31m.txt");
        assert!(sanitize("..").is_err());
        assert!(sanitize("dir/").is_err());
        assert!(sanitize("").is_err());
        assert!(sanitize(" . ").is_err());
        let long = "é".repeat(150);
        let s = sanitize(&long).unwrap();
        assert!(s.len() <= MAX_NAME && s.chars().all(|c| c == 'é'));
    }

    #[test]
    fn offers_are_refused_without_receive_and_over_existing_files() {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = super::super::DataConfig::default();
        assert!(decide("a", &cfg).unwrap_err().contains("--receive"));
        cfg.receive = Some(dir.path().to_path_buf());
        let (name, target) = decide("x/../a.bin", &cfg).unwrap();
        assert_eq!((name.as_str(), target), ("a.bin", dir.path().join("a.bin")));
        std::fs::write(dir.path().join("a.bin"), b"old").unwrap();
        assert!(decide("a.bin", &cfg).unwrap_err().contains("--overwrite"));
        cfg.overwrite = true;
        assert!(decide("a.bin", &cfg).is_ok());
    }

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
