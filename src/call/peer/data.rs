//! The data channel protocol of a call: the dialer opens `rtccall` and pings, the answerer
//! answers `ping N` with `pong N`; plus the driver wake-up that rides on a data channel.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use webrtc::data_channel::{DataChannel, DataChannelEvent};

use crate::media::Counters;

/// webrtc-rs 0.21's driver hands packets bound for a TURN relay to its TURN client after it has
/// drained that client's queue (`poll_writes` in peer_connection/driver.rs), so a relayed ICE
/// check or DTLS flight waits for the driver's next wake-up. Until the connection is up and
/// half a second after (SCTP and the data channel open then; at most 15 s in all), poke the
/// driver every 2 ms through a no-op data channel call that wakes it.
pub(super) async fn wake_driver(channel: Arc<dyn DataChannel>, connected: Arc<AtomicBool>) {
    let until = Instant::now() + Duration::from_secs(15);
    let mut after_connect: Option<Instant> = None;
    while Instant::now() < until {
        if connected.load(Ordering::SeqCst) {
            let since = *after_connect.get_or_insert_with(Instant::now);
            if since.elapsed() > Duration::from_millis(500) {
                return;
            }
        }
        if channel.set_buffered_amount_low_threshold(0).await.is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// The dialer's side of the data channel: a ping every 100 ms once open; echoes counted.
pub(super) async fn send_pings(channel: Arc<dyn DataChannel>, counters: Arc<Counters>) {
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut open = false;
    let mut seq = 0u64;
    loop {
        tokio::select! {
            ev = channel.poll() => match ev {
                Some(DataChannelEvent::OnOpen) => open = true,
                Some(DataChannelEvent::OnMessage(m)) => {
                    if m.data.starts_with(b"pong ") {
                        counters.data_echoes.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Some(DataChannelEvent::OnClose) | None => return,
                Some(_) => {}
            },
            _ = tick.tick(), if open => {
                if channel.send_text(&format!("ping {seq}")).await.is_err() {
                    return;
                }
                seq += 1;
                counters.data_sent.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// The answerer's side: echo every ping.
pub(super) async fn echo_pings(channel: Arc<dyn DataChannel>, counters: Arc<Counters>) {
    while let Some(ev) = channel.poll().await {
        match ev {
            DataChannelEvent::OnMessage(m) => {
                if let Some(rest) = m.data.strip_prefix(b"ping ") {
                    let reply = format!("pong {}", String::from_utf8_lossy(rest));
                    if channel.send_text(&reply).await.is_err() {
                        return;
                    }
                    counters
                        .data_echoed_for_peer
                        .fetch_add(1, Ordering::Relaxed);
                }
            }
            DataChannelEvent::OnClose => return,
            _ => {}
        }
    }
}
