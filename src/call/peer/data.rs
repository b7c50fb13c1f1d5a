//! The data channels of a call on webrtc-rs: the liveness channel (the dialer opens `rtccall`
//! and pings, the answerer answers `ping N` with `pong N`), the driver wake-up that rides on a
//! data channel, and the [`crate::data`] seam (links, opening channels) for chat and files.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use tokio::sync::mpsc;
use webrtc::data_channel::{DataChannel, DataChannelEvent};
use webrtc::peer_connection::PeerConnection;

use crate::data::{Channel, Closed, Link, LinkEvent, Opener};

use crate::media::Counters;
use crate::media::controls::{Controls, Switches};
use crate::report::schema::ControlAction;

/// webrtc-rs 0.21's driver hands packets bound for a TURN relay to its TURN client after it has
/// drained that client's queue (`poll_writes` in peer_connection/driver.rs), so a relayed ICE
/// check or DTLS flight waits for the driver's next wake-up. Until the connection is up and
/// half a second after (SCTP and the data channel open then; at most 15 s in all), poke the
/// driver every 2 ms through a no-op data channel call that wakes it. It still pays with the
/// relayer patches: without it (`.ci/bench-connect 20`, 2026-12-04, same build) relay-only DTLS
/// connected p50 went 12.8 -> 35.2 ms and direct DTLS connected p95 10.2 -> 28.6 ms.
pub(super) async fn wake_driver(
    channel: Arc<dyn DataChannel>,
    connected: tokio::sync::watch::Receiver<bool>,
) {
    let until = Instant::now() + Duration::from_secs(15);
    let mut after_connect: Option<Instant> = None;
    while Instant::now() < until {
        if *connected.borrow() {
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

/// The liveness channel once it is known (ours as dialer, the other side's as answerer): a
/// side hanging up while its signaling is down says `bye` on it instead; our switches (mute,
/// camera) go over it as `control` messages.
pub(super) struct Liveness {
    channel: std::sync::Mutex<Option<Arc<dyn DataChannel>>>,
    controls: Controls,
}

impl Liveness {
    pub(super) fn new(controls: Controls) -> Liveness {
        Liveness {
            channel: Default::default(),
            controls,
        }
    }

    fn set(&self, channel: &Arc<dyn DataChannel>) {
        *self.channel.lock().unwrap_or_else(|p| p.into_inner()) = Some(channel.clone());
    }

    /// Send `bye REASON`; whether it went.
    pub(super) async fn say_bye(&self, reason: &str) -> bool {
        let channel = self
            .channel
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        match channel {
            Some(c) => c.send_text(&format!("bye {reason}")).await.is_ok(),
            None => false,
        }
    }
}

/// A `bye [REASON]` on the liveness channel, as a peer event.
fn heard_bye(data: &[u8], events: &mpsc::UnboundedSender<super::PeerEvent>) -> bool {
    let Some(rest) = data.strip_prefix(b"bye") else {
        return false;
    };
    if !(rest.is_empty() || rest.starts_with(b" ")) {
        return false;
    }
    let reason = String::from_utf8_lossy(rest).trim().to_string();
    let _ = events.send(super::PeerEvent::Bye(
        (!reason.is_empty()).then_some(reason),
    ));
    true
}

fn on_off(on: bool) -> &'static str {
    if on { "on" } else { "off" }
}

/// Our switches as `control` messages: both at first (`before` none), then what changed.
fn control_messages(now: Switches, before: Option<Switches>) -> Vec<String> {
    let mut out = Vec::new();
    if before.is_none_or(|b| b.muted != now.muted) {
        out.push(format!("control mute {}", on_off(now.muted)));
    }
    if before.is_none_or(|b| b.camera_off != now.camera_off) {
        out.push(format!("control video {}", on_off(!now.camera_off)));
    }
    out
}

/// A `control mute|video on|off` from the other side, as a peer event (anything else that
/// starts with `control` is ignored).
fn heard_control(data: &[u8], events: &mpsc::UnboundedSender<super::PeerEvent>) -> bool {
    let Some(rest) = data.strip_prefix(b"control ") else {
        return false;
    };
    let action = match rest.split(|&b| b == b' ').collect::<Vec<_>>()[..] {
        [b"mute", state] => (ControlAction::Mute, state),
        [b"video", state] => (ControlAction::Video, state),
        _ => return true,
    };
    let on = match action.1 {
        b"on" => true,
        b"off" => false,
        _ => return true,
    };
    let _ = events.send(super::PeerEvent::Control(action.0, on));
    true
}

/// Tell the other side our switches: all of them when `sent` is none, else what changed.
async fn tell_switches(
    channel: &Arc<dyn DataChannel>,
    liveness: &Liveness,
    sent: &mut Option<Switches>,
) -> bool {
    let now = liveness.controls.switches();
    for m in control_messages(now, *sent) {
        if channel.send_text(&m).await.is_err() {
            return false;
        }
    }
    *sent = Some(now);
    true
}

/// How often each side asks the other for its clock.
const CLOCK_EVERY: Duration = Duration::from_secs(1);

/// The clock exchange on the liveness channel (both sides): `clock T1` (the asker's Unix time,
/// µs) is answered `clock T1 T2` (the answerer's at receipt), and the asker turns that into
/// the offset between the clocks (for capture-to-decode latency). The reply to send, if any.
fn clock_message(data: &[u8], counters: &Counters) -> Option<String> {
    let text = std::str::from_utf8(data.strip_prefix(b"clock ")?).ok()?;
    let mut parts = text.split(' ').map(|p| p.parse::<i64>());
    match (parts.next(), parts.next(), parts.next()) {
        (Some(Ok(t1)), None, None) => Some(format!(
            "clock {t1} {}",
            crate::media::timing::unix_us_now()
        )),
        (Some(Ok(t1)), Some(Ok(t2)), None) => {
            counters
                .clock
                .sample(t1, t2, crate::media::timing::unix_us_now());
            None
        }
        _ => None,
    }
}

fn ask_clock() -> String {
    format!("clock {}", crate::media::timing::unix_us_now())
}

/// The dialer's side of the data channel: a ping every 100 ms once open; echoes counted;
/// the clock asked for every second.
pub(super) async fn send_pings(
    channel: Arc<dyn DataChannel>,
    counters: Arc<Counters>,
    events: mpsc::UnboundedSender<super::PeerEvent>,
    liveness: Arc<Liveness>,
) {
    liveness.set(&channel);
    let mut switches = liveness.controls.watch();
    let mut told = None;
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut open = false;
    let mut seq = 0u64;
    loop {
        tokio::select! {
            ev = channel.poll() => match ev {
                Some(DataChannelEvent::OnOpen) => {
                    open = true;
                    if !tell_switches(&channel, &liveness, &mut told).await {
                        return;
                    }
                }
                Some(DataChannelEvent::OnMessage(m)) => {
                    if m.data.starts_with(b"pong ") {
                        counters.data_echoes.fetch_add(1, Ordering::Relaxed);
                    } else if !heard_bye(&m.data, &events)
                        && !heard_control(&m.data, &events)
                        && let Some(reply) = clock_message(&m.data, &counters)
                        && channel.send_text(&reply).await.is_err()
                    {
                        return;
                    }
                }
                Some(DataChannelEvent::OnClose) | None => return,
                Some(_) => {}
            },
            Ok(()) = switches.changed(), if open => {
                if !tell_switches(&channel, &liveness, &mut told).await {
                    return;
                }
            }
            _ = tick.tick(), if open => {
                if channel.send_text(&format!("ping {seq}")).await.is_err() {
                    return;
                }
                if seq % (CLOCK_EVERY.as_millis() as u64 / 100) == 0
                    && channel.send_text(&ask_clock()).await.is_err()
                {
                    return;
                }
                seq += 1;
                counters.data_sent.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// The answerer's side: echo every ping, answer clock questions, and ask for the clock every
/// second.
pub(super) async fn echo_pings(
    channel: Arc<dyn DataChannel>,
    counters: Arc<Counters>,
    events: mpsc::UnboundedSender<super::PeerEvent>,
    liveness: Arc<Liveness>,
) {
    liveness.set(&channel);
    let mut switches = liveness.controls.watch();
    // A channel the other side opened arrives open.
    let mut told = None;
    if !tell_switches(&channel, &liveness, &mut told).await {
        return;
    }
    let mut tick = tokio::time::interval(CLOCK_EVERY);
    loop {
        tokio::select! {
            ev = channel.poll() => match ev {
                Some(DataChannelEvent::OnMessage(m)) => {
                    let reply = if let Some(rest) = m.data.strip_prefix(b"ping ") {
                        counters
                            .data_echoed_for_peer
                            .fetch_add(1, Ordering::Relaxed);
                        Some(format!("pong {}", String::from_utf8_lossy(rest)))
                    } else if heard_bye(&m.data, &events) || heard_control(&m.data, &events) {
                        None
                    } else {
                        clock_message(&m.data, &counters)
                    };
                    if let Some(r) = reply
                        && channel.send_text(&r).await.is_err()
                    {
                        return;
                    }
                }
                Some(DataChannelEvent::OnClose) | None => return,
                Some(_) => {}
            },
            Ok(()) = switches.changed() => {
                if !tell_switches(&channel, &liveness, &mut told).await {
                    return;
                }
            }
            _ = tick.tick() => {
                if channel.send_text(&ask_clock()).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// How many received messages wait for the data task before the channel stops reading (and
/// SCTP's window closes on the sender).
const RECEIVE_QUEUE: usize = 64;

/// A webrtc-rs data channel as a [`Link`].
struct WebrtcLink(Arc<dyn DataChannel>);

#[async_trait::async_trait]
impl Link for WebrtcLink {
    async fn send_text(&self, text: &str) -> Result<(), Closed> {
        self.0.send_text(text).await.map_err(|_| Closed)
    }

    async fn send_binary(&self, data: &[u8]) -> Result<(), Closed> {
        self.0.send(BytesMut::from(data)).await.map_err(|_| Closed)
    }

    async fn outstanding(&self) -> usize {
        self.0.outstanding_bytes().await.unwrap_or(0)
    }

    async fn close(&self) {
        let _ = self.0.close().await;
    }
}

/// Wrap a webrtc-rs channel: a task moves its events into a bounded queue. `open` says the
/// channel is open already (one the other side opened arrives open).
pub(super) fn channel(label: String, dc: Arc<dyn DataChannel>, open: bool) -> Channel {
    let (tx, rx) = mpsc::channel(RECEIVE_QUEUE);
    let reader = dc.clone();
    tokio::spawn(async move {
        if open && tx.send(LinkEvent::Open).await.is_err() {
            return;
        }
        while let Some(ev) = reader.poll().await {
            let ev = match ev {
                DataChannelEvent::OnOpen => LinkEvent::Open,
                DataChannelEvent::OnMessage(m) if m.is_string => {
                    LinkEvent::Text(String::from_utf8_lossy(&m.data).into_owned())
                }
                DataChannelEvent::OnMessage(m) => LinkEvent::Binary(Bytes::from(m.data)),
                DataChannelEvent::OnClose => {
                    let _ = tx.send(LinkEvent::Closed).await;
                    return;
                }
                _ => continue,
            };
            if tx.send(ev).await.is_err() {
                return;
            }
        }
        let _ = tx.send(LinkEvent::Closed).await;
    });
    Channel {
        label,
        link: Arc::new(WebrtcLink(dc)),
        events: rx,
    }
}

/// Opens reliable, ordered channels on the peer connection.
pub(super) struct ChannelOpener(pub(super) Arc<dyn PeerConnection>);

#[async_trait::async_trait]
impl Opener for ChannelOpener {
    async fn open(&self, label: &str) -> Result<Channel, String> {
        let dc = self
            .0
            .create_data_channel(label, None)
            .await
            .map_err(|e| format!("cannot open a data channel: {e}"))?;
        Ok(channel(label.to_string(), dc, false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn switches_are_told_all_at_first_then_as_they_change() {
        let off = Switches::default();
        assert_eq!(
            control_messages(off, None),
            ["control mute off", "control video on"]
        );
        let muted = Switches { muted: true, ..off };
        assert_eq!(control_messages(muted, Some(off)), ["control mute on"]);
        let dark = Switches {
            camera_off: true,
            ..muted
        };
        assert_eq!(control_messages(dark, Some(muted)), ["control video off"]);
        let louder = Switches {
            volume_pct: 150,
            ..dark
        };
        assert!(control_messages(louder, Some(dark)).is_empty());
    }

    #[test]
    fn control_messages_from_the_other_side_are_read_strictly() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        assert!(heard_control(b"control mute on", &tx));
        assert!(heard_control(b"control video off", &tx));
        assert!(heard_control(b"control video sideways", &tx));
        assert!(heard_control(b"control volume 50", &tx));
        assert!(!heard_control(b"ping 3", &tx));
        let got: Vec<_> = std::iter::from_fn(|| rx.try_recv().ok())
            .map(|e| match e {
                super::super::PeerEvent::Control(a, on) => (a, on),
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(
            got,
            [(ControlAction::Mute, true), (ControlAction::Video, false)]
        );
    }
}
