//! The sending side of a file: hash it, offer it on a channel of its own, stream it under the
//! channel's back-pressure, and wait for the receiver's verdict.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use ring::digest::{Context, SHA256};

use super::{CHUNK, FILE_LABEL, Msg, Opener, Reporter, Transfer, hash_file, reply, unexpected};
use crate::report::schema::{Direction, FileEvent};

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
    if let Err(why) = ch.opened().await {
        return t
            .end(report, None, Some(format!("the file channel {why}")))
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
