//! The queue of frames waiting to be written to one client: bounded in bytes and in count, so
//! a client that stops reading is found out (and disconnected) instead of costing the server
//! memory; the sender learns of it.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// Most frames queued for one client.
pub const MAX_FRAMES: usize = 64;
/// Most bytes queued for one client.
pub const MAX_BYTES: usize = 256 * 1024;

/// RFC 6455 close code sent to a client that does not read what it is sent: 1008, policy
/// violation.
pub const CLOSE_STALLED: u16 = 1008;

/// What a connection's writer takes next.
pub enum Item {
    Text(Utf8Bytes),
    /// Close the connection with this code and reason (after what was queued before it).
    Close(u16, &'static str),
}

/// The client is not reading: the frame was not queued, and the client is being disconnected.
#[derive(Debug, PartialEq, Eq)]
pub struct Stalled;

#[derive(Default)]
struct Queue {
    frames: VecDeque<Utf8Bytes>,
    bytes: usize,
    close: Option<(u16, &'static str)>,
    /// Frames refused since the client was found stalled (or closed).
    refused: u64,
}

#[derive(Default)]
struct Inner {
    queue: Mutex<Queue>,
    notify: Notify,
}

/// A handle to one client's queue; clones share it.
#[derive(Clone, Default)]
pub struct Outbox {
    inner: Arc<Inner>,
}

impl Outbox {
    /// Queue a text frame. Over the bounds the client is marked stalled (it is closed with
    /// [`CLOSE_STALLED`] once what it already has is written) and `Err(Stalled)` is returned.
    pub fn push(&self, text: Utf8Bytes) -> Result<(), Stalled> {
        let mut q = self.inner.queue.lock().unwrap_or_else(|p| p.into_inner());
        if q.close.is_some() {
            q.refused += 1;
            return Err(Stalled);
        }
        if q.frames.len() >= MAX_FRAMES || q.bytes + text.len() > MAX_BYTES {
            q.close = Some((CLOSE_STALLED, "not reading its messages"));
            q.refused += 1;
            drop(q);
            self.inner.notify.notify_one();
            return Err(Stalled);
        }
        q.bytes += text.len();
        q.frames.push_back(text);
        drop(q);
        self.inner.notify.notify_one();
        Ok(())
    }

    /// Queue a message of the protocol (replies and notices: a stalled client just misses it).
    pub fn send(&self, msg: &crate::signal::protocol::Message) {
        let _ = self.push(msg.to_text().into());
    }

    /// Close the connection after what is queued. The first close asked for wins.
    pub fn close(&self, code: u16, reason: &'static str) {
        let mut q = self.inner.queue.lock().unwrap_or_else(|p| p.into_inner());
        if q.close.is_none() {
            q.close = Some((code, reason));
        }
        drop(q);
        self.inner.notify.notify_one();
    }

    /// How many frames were refused so far (the client was stalled or closing): log the first
    /// and the count, not every one.
    pub fn refused(&self) -> u64 {
        self.inner
            .queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .refused
    }

    /// Whether the two handles are the same queue.
    pub fn same(&self, other: &Outbox) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// The next thing to write; waits until there is one. Cancel-safe.
    pub async fn next(&self) -> Item {
        loop {
            {
                let mut q = self.inner.queue.lock().unwrap_or_else(|p| p.into_inner());
                if let Some(t) = q.frames.pop_front() {
                    q.bytes -= t.len();
                    if q.frames.is_empty() {
                        // Give the memory of a burst back.
                        q.frames = VecDeque::new();
                    }
                    return Item::Text(t);
                }
                if let Some((code, why)) = q.close {
                    return Item::Close(code, why);
                }
            }
            self.inner.notify.notified().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_client_that_does_not_read_is_marked_stalled() {
        let o = Outbox::default();
        for i in 0..MAX_FRAMES {
            assert_eq!(o.push(format!("m{i}").into()), Ok(()));
        }
        assert_eq!(o.push("one too many".into()), Err(Stalled));
        // What was queued is still written, then the close.
        for i in 0..MAX_FRAMES {
            assert!(matches!(o.next().await, Item::Text(t) if t.as_str() == format!("m{i}")));
        }
        assert!(matches!(o.next().await, Item::Close(CLOSE_STALLED, _)));
        assert_eq!(o.push("later".into()), Err(Stalled));
        assert_eq!(o.refused(), 2);
    }

    #[tokio::test]
    async fn bytes_are_bounded_too() {
        let o = Outbox::default();
        let big: String = "x".repeat(MAX_BYTES / 2);
        assert!(o.push(big.clone().into()).is_ok());
        assert!(o.push(big.clone().into()).is_ok());
        assert_eq!(o.push("y".into()), Err(Stalled));
    }

    #[tokio::test]
    async fn next_waits_for_a_push() {
        let o = Outbox::default();
        let o2 = o.clone();
        let t = tokio::spawn(async move { matches!(o2.next().await, Item::Text(_)) });
        tokio::task::yield_now().await;
        o.push("hi".into()).unwrap();
        assert!(t.await.unwrap());
    }
}
