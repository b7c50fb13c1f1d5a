//! The receiving side of a file: decide on the offer, write it to a temporary file in the
//! `--receive` directory, check length and hash, and only then give it its name.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use ring::digest::{Context, SHA256};

use super::names::sanitize;
use super::{Channel, DataConfig, LinkEvent, Msg, Reporter, Transfer};
use crate::report::schema::{Direction, FileEvent};

/// Why an offer is refused, or where the file goes.
fn decide(offered: &str, config: &DataConfig) -> Result<(String, PathBuf), String> {
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

/// How long a file channel the other side opened may take to send its offer.
pub const OFFER_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// The first message of a file channel, which must be a `file-offer` within [`OFFER_WAIT`]:
/// (name, size, sha256), `Err(Some(why))` to refuse, `Err(None)` when the channel closed first.
async fn first_offer(ch: &mut Channel) -> Result<(String, u64, String), Option<String>> {
    let first = match tokio::time::timeout(OFFER_WAIT, ch.next()).await {
        Err(_) => {
            return Err(Some(format!(
                "no file-offer within {} s of opening the channel",
                OFFER_WAIT.as_secs()
            )));
        }
        Ok(None) => return Err(None),
        Ok(Some(ev)) => ev,
    };
    match first {
        LinkEvent::Text(t) => match Msg::parse(&t) {
            Ok(Msg::FileOffer { name, size, sha256 }) => {
                if sha256.len() != 64 || !sha256.chars().all(|c| c.is_ascii_hexdigit()) {
                    return Err(Some("the offer's sha256 is not 64 hex digits".into()));
                }
                Ok((name, size, sha256.to_ascii_lowercase()))
            }
            Ok(other) => Err(Some(format!(
                "a file channel starts with a file-offer, not {}",
                other.to_text()
            ))),
            Err(e) => Err(Some(format!("the file-offer is not valid: {e}"))),
        },
        _ => Err(Some(
            "a file channel starts with a file-offer (text), not binary data".into(),
        )),
    }
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
    config: &DataConfig,
    report: Reporter,
    receiving: &AtomicUsize,
) {
    let (offered, size, sha256) = match first_offer(&mut ch).await {
        Ok(o) => o,
        Err(None) => return,
        Err(Some(why)) => {
            // Answered, logged once, and the channel closed: nothing of it stays.
            tracing::warn!(
                "file channel refused: {}",
                crate::report::text::printable(&why)
            );
            refuse(&ch, &why).await;
            super::close_when_sent(&*ch.link).await;
            return;
        }
    };
    let shown = crate::report::text::printable(&offered);
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
    fn offers_are_refused_without_receive_and_over_existing_files() {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = DataConfig::default();
        assert!(decide("a", &cfg).unwrap_err().contains("--receive"));
        cfg.receive = Some(dir.path().to_path_buf());
        let (name, target) = decide("x/../a.bin", &cfg).unwrap();
        assert_eq!((name.as_str(), target), ("a.bin", dir.path().join("a.bin")));
        std::fs::write(dir.path().join("a.bin"), b"old").unwrap();
        assert!(decide("a.bin", &cfg).unwrap_err().contains("--overwrite"));
        cfg.overwrite = true;
        assert!(decide("a.bin", &cfg).is_ok());
    }
}
