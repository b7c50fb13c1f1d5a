//! Chat: stdin's lines sent as `chat` messages on a channel of our own, each acknowledged with
//! `chat-ack`; lines from the other side shown (control characters escaped) and acknowledged.

use std::io::BufRead;
use std::sync::Arc;

use tokio::sync::mpsc;

use super::{CHAT_LABEL, Channel, LinkEvent, Msg, Opener, Reporter};
use crate::report::schema::{Direction, Record};

/// The most bytes of UTF-8 one chat message carries.
pub const MAX_TEXT: usize = 4096;

/// Whether a line may be sent: UTF-8 within the bound. `Err` is the one-line reason.
pub fn check_line(line: &[u8]) -> Result<String, String> {
    let text = std::str::from_utf8(line)
        .map_err(|e| format!("is not UTF-8 (byte {})", e.valid_up_to()))?;
    if text.len() > MAX_TEXT {
        return Err(format!(
            "is {} bytes; a chat message carries at most {MAX_TEXT}",
            text.len()
        ));
    }
    Ok(text.to_string())
}

/// Lines of stdin, read on a thread of their own (stdin blocks), into a bounded queue. The
/// line ending (`\n` or `\r\n`) is not part of the line.
fn stdin_lines() -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel(64);
    std::thread::Builder::new()
        .name("rtccall-chat-stdin".into())
        .spawn(move || {
            let mut stdin = std::io::stdin().lock();
            loop {
                let mut line = Vec::new();
                match stdin.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {
                        if line.last() == Some(&b'\n') {
                            line.pop();
                            if line.last() == Some(&b'\r') {
                                line.pop();
                            }
                        }
                        if tx.blocking_send(line).is_err() {
                            return;
                        }
                    }
                }
            }
        })
        .expect("spawn the stdin reader");
    rx
}

/// Send stdin's lines on a chat channel of our own until stdin ends, then wait for every line
/// to be acknowledged (when stdin is a terminal it ends only with the call).
pub async fn send_stdin(opener: Arc<dyn Opener>, report: Reporter) {
    send_lines(opener, report, stdin_lines()).await
}

/// Send these lines on a chat channel of our own until they end, then wait for every line to
/// be acknowledged.
pub async fn send_lines(
    opener: Arc<dyn Opener>,
    report: Reporter,
    mut lines: mpsc::Receiver<Vec<u8>>,
) {
    let mut ch = match opener.open(CHAT_LABEL).await {
        Ok(ch) => ch,
        Err(e) => {
            report.update(|d| d.errors.push(format!("chat: {e}")));
            return;
        }
    };
    if let Err(why) = ch.opened().await {
        report.update(|d| d.errors.push(format!("chat: the channel {why}")));
        return;
    }
    report.update(|d| {
        d.chat.get_or_insert_with(Default::default);
    });
    let mut next_id = 0u64;
    let mut unacked = 0u64;
    let mut line_no = 0u64;
    let mut stdin_open = true;
    while stdin_open || unacked > 0 {
        tokio::select! {
            line = lines.recv(), if stdin_open => match line {
                None => stdin_open = false,
                Some(line) => {
                    line_no += 1;
                    let text = match check_line(&line) {
                        Ok(t) => t,
                        Err(why) => {
                            let e = format!("chat line {line_no} {why}: not sent");
                            tracing::error!("{e}");
                            report.update(|d| d.errors.push(e));
                            continue;
                        }
                    };
                    let id = next_id;
                    next_id += 1;
                    if ch.link.send_text(&Msg::Chat { id, text: text.clone() }.to_text()).await.is_err() {
                        break;
                    }
                    unacked += 1;
                    report.update(|d| d.chat.get_or_insert_with(Default::default).sent += 1);
                    report.emit(|ms| Record::Chat { ms, direction: Direction::Send, id, text }).await;
                }
            },
            ev = ch.next() => match ev {
                Some(LinkEvent::Text(t)) => {
                    if let Ok(Msg::ChatAck { id }) = Msg::parse(&t)
                        && id < next_id
                    {
                        unacked = unacked.saturating_sub(1);
                        report.update(|d| d.chat.get_or_insert_with(Default::default).acked += 1);
                    }
                }
                Some(_) => {}
                None => break,
            },
        }
    }
    // Lines still unacknowledged (here, or when the call ends first) are a failure: see
    // `data::failure`, which compares `sent` and `acked`.
}

/// Show and acknowledge the lines that arrive on a chat channel the other side opened.
pub async fn receive(mut ch: Channel, report: Reporter) {
    report.update(|d| {
        d.chat.get_or_insert_with(Default::default);
    });
    while let Some(ev) = ch.next().await {
        let LinkEvent::Text(t) = ev else {
            return violated(&ch, "a binary message on the chat channel".into()).await;
        };
        match Msg::parse(&t) {
            Ok(Msg::Chat { id, text }) => {
                if text.len() > MAX_TEXT {
                    let why = format!("a {}-byte chat line (the bound is {MAX_TEXT})", text.len());
                    return violated(&ch, why).await;
                }
                report.update(|d| d.chat.get_or_insert_with(Default::default).received += 1);
                report
                    .emit(|ms| Record::Chat {
                        ms,
                        direction: Direction::Receive,
                        id,
                        text,
                    })
                    .await;
                if ch
                    .link
                    .send_text(&Msg::ChatAck { id }.to_text())
                    .await
                    .is_err()
                {
                    return;
                }
            }
            Ok(other) => {
                let why = format!(
                    "unexpected message on the chat channel: {}",
                    other.to_text()
                );
                return violated(&ch, why).await;
            }
            Err(_) if super::unknown_type(&t) => {
                // A message type of a later version: ignored, as the README says.
                tracing::debug!("chat channel: a message of an unknown type ignored");
            }
            Err(e) => return violated(&ch, format!("chat channel: {e}")).await,
        }
    }
}

/// The other side broke the chat protocol: say so once and close the channel (its answer: no
/// acknowledgement can name a line that was not one).
async fn violated(ch: &Channel, why: String) {
    tracing::warn!(
        "{}; closing the chat channel",
        crate::report::text::printable(&why)
    );
    super::close_when_sent(&*ch.link).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_must_be_utf8_within_the_bound() {
        assert_eq!(check_line(b"hello").unwrap(), "hello");
        assert!(check_line(b"\xff\xfe").unwrap_err().contains("not UTF-8"));
        let long = vec![b'x'; MAX_TEXT + 1];
        assert!(check_line(&long).unwrap_err().contains("at most 4096"));
        assert!(check_line(&vec![b'x'; MAX_TEXT]).is_ok());
    }
}
