//! The `abs-capture-time` RTP header extension ids the other side negotiated (from its
//! description), and the capture times read off its packets.

use std::sync::atomic::Ordering;

use crate::media::MediaKind;

/// The RTP header extension id of `abs-capture-time` per media kind, from the other side's
/// description (0: not negotiated).
#[derive(Debug, Default)]
pub(super) struct CaptureExt {
    audio: std::sync::atomic::AtomicU8,
    video: std::sync::atomic::AtomicU8,
}

impl CaptureExt {
    /// Read the ids from the other side's description (`a=extmap:N[/dir] URI`).
    pub(super) fn set_from_sdp(&self, sdp: &rtc::sdp::description::session::SessionDescription) {
        for m in &sdp.media_descriptions {
            let slot = match m.media_name.media.as_str() {
                "audio" => &self.audio,
                "video" => &self.video,
                _ => continue,
            };
            let id = m
                .attributes
                .iter()
                .filter(|a| a.key == "extmap")
                .filter_map(|a| a.value.as_deref())
                .find_map(|v| {
                    let (id, uri) = v.split_once(' ')?;
                    let id = id.split('/').next()?.parse::<u8>().ok()?;
                    (uri.trim() == crate::media::timing::ABS_CAPTURE_TIME_URI).then_some(id)
                })
                .unwrap_or(0);
            slot.store(id, Ordering::Relaxed);
        }
    }

    /// Whether the other side's description carries the extension for `kind`.
    pub(super) fn negotiated(&self, kind: MediaKind) -> bool {
        match kind {
            MediaKind::Audio => &self.audio,
            MediaKind::Video => &self.video,
        }
        .load(Ordering::Relaxed)
            != 0
    }

    /// The capture time a packet carries, µs since the Unix epoch on the sender's clock.
    pub(super) fn captured_us(&self, kind: MediaKind, pkt: &rtc::rtp::Packet) -> Option<i64> {
        let id = match kind {
            MediaKind::Audio => &self.audio,
            MediaKind::Video => &self.video,
        }
        .load(Ordering::Relaxed);
        if id == 0 {
            return None;
        }
        let ext = pkt.header.get_extension(id)?;
        let t = crate::media::timing::AbsCaptureTime::parse(&ext)?;
        Some(crate::media::timing::ntp_to_unix_us(t.0))
    }
}
