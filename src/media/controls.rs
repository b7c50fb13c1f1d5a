//! What a person switches during a call (microphone muted, camera off, speaker volume) and
//! the pictures a call screen shows (the other side's video and the self-view): one
//! [`Controls`] per call, set by the screen, read by the media threads, watched by the peer
//! (which tells the other side) and by the driver (which records each change).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ffmpeg_next as ffmpeg;
use tokio::sync::watch;

/// The switches of one side of a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Switches {
    /// The microphone is muted: Opus keeps sending, silence.
    pub muted: bool,
    /// The camera is off: no video is sent until it is on again (from a keyframe).
    pub camera_off: bool,
    /// Speaker volume, percent of what arrives (0–200).
    pub volume_pct: u16,
}

impl Default for Switches {
    fn default() -> Self {
        Switches {
            muted: false,
            camera_off: false,
            volume_pct: 100,
        }
    }
}

/// The largest speaker volume, percent.
pub const MAX_VOLUME_PCT: u16 = 200;

/// A call's switches and views (cheap to clone: one shared state).
#[derive(Clone)]
pub struct Controls(Arc<Inner>);

struct Inner {
    switches: watch::Sender<Switches>,
    /// The other side's video, as the screen wants it.
    remote: View,
    /// What this side sends, as the screen wants it.
    local: View,
}

impl Default for Controls {
    fn default() -> Self {
        Controls(Arc::new(Inner {
            switches: watch::Sender::new(Switches::default()),
            remote: View::default(),
            local: View::default(),
        }))
    }
}

impl std::fmt::Debug for Controls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Controls").field(&self.switches()).finish()
    }
}

impl PartialEq for Controls {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Controls {
    pub fn switches(&self) -> Switches {
        *self.0.switches.borrow()
    }

    /// Change the switches; whether anything changed.
    pub fn update(&self, f: impl FnOnce(&mut Switches)) -> bool {
        self.0.switches.send_if_modified(|s| {
            let before = *s;
            f(s);
            s.volume_pct = s.volume_pct.min(MAX_VOLUME_PCT);
            *s != before
        })
    }

    /// Wakes on every change.
    pub fn watch(&self) -> watch::Receiver<Switches> {
        self.0.switches.subscribe()
    }

    pub fn remote_view(&self) -> &View {
        &self.0.remote
    }

    pub fn local_view(&self) -> &View {
        &self.0.local
    }
}

/// A picture at the size a renderer asked for, 24-bit RGB, rows packed.
#[derive(Debug, Clone)]
pub struct Picture {
    pub width: u32,
    pub height: u32,
    pub rgb: Vec<u8>,
    /// Counts the pictures put into the view: a renderer redraws when it changes.
    pub seq: u64,
}

impl Picture {
    /// The colour at (x, y), black outside.
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        if x >= self.width || y >= self.height {
            return [0, 0, 0];
        }
        let i = (y as usize * self.width as usize + x as usize) * 3;
        [self.rgb[i], self.rgb[i + 1], self.rgb[i + 2]]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Want {
    width: u32,
    height: u32,
    every: Duration,
}

/// The newest picture of one video, scaled by the thread that has the frame (decoder or
/// source) to the size the renderer wants, no more often than it wants: older pictures are
/// replaced, never queued. Nothing is scaled while no renderer wants a size.
#[derive(Default)]
pub struct View {
    want: Mutex<Want>,
    newest: Mutex<Option<Picture>>,
    seq: AtomicU64,
    /// The video stopped (camera off): the renderer shows it as such.
    paused: std::sync::atomic::AtomicBool,
    /// The size of the frames offered (width << 32 | height), for the renderer's aspect.
    source: AtomicU64,
}

impl View {
    /// Ask for pictures of this size, at most `max_fps` a second (0 by 0: none).
    pub fn want(&self, width: u32, height: u32, max_fps: u32) {
        let every = Duration::from_secs_f64(1.0 / f64::from(max_fps.max(1)));
        *self.want.lock().unwrap_or_else(|p| p.into_inner()) = Want {
            width,
            height,
            every,
        };
    }

    /// The newest picture, if one came after `seen` (a sequence number).
    pub fn newer_than(&self, seen: u64) -> Option<Picture> {
        if self.seq.load(Ordering::Acquire) <= seen {
            return None;
        }
        self.newest
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// How many pictures came so far.
    pub fn seq(&self) -> u64 {
        self.seq.load(Ordering::Acquire)
    }

    /// The size of the video's frames (0 by 0 before the first).
    pub fn source_size(&self) -> (u32, u32) {
        let v = self.source.load(Ordering::Relaxed);
        ((v >> 32) as u32, v as u32)
    }

    pub fn set_paused(&self, paused: bool) {
        self.paused.store(paused, Ordering::Relaxed);
    }

    pub fn paused(&self) -> bool {
        self.paused.load(Ordering::Relaxed)
    }

    fn put(&self, picture: Picture) {
        *self.newest.lock().unwrap_or_else(|p| p.into_inner()) = Some(picture);
        self.seq.fetch_add(1, Ordering::AcqRel);
    }
}

/// The scaler a media thread keeps for one view: turns its frames into the view's pictures.
#[derive(Default)]
pub(crate) struct Feeder {
    scaler: Option<(ScalerKey, ffmpeg::software::scaling::Context)>,
    last: Option<Instant>,
    out: Option<ffmpeg::frame::Video>,
}

#[derive(PartialEq, Eq, Clone, Copy)]
struct ScalerKey {
    format: ffmpeg::format::Pixel,
    width: u32,
    height: u32,
    out_width: u32,
    out_height: u32,
}

impl Feeder {
    /// Offer a frame to the view: scaled into it if the renderer wants one now.
    pub(crate) fn offer(&mut self, view: &View, frame: &ffmpeg::frame::Video) {
        view.source.store(
            (u64::from(frame.width()) << 32) | u64::from(frame.height()),
            Ordering::Relaxed,
        );
        let want = *view.want.lock().unwrap_or_else(|p| p.into_inner());
        if want.width == 0 || want.height == 0 || frame.width() == 0 || frame.height() == 0 {
            return;
        }
        let now = Instant::now();
        if self
            .last
            .is_some_and(|l| now.duration_since(l) < want.every)
        {
            return;
        }
        self.last = Some(now);
        let key = ScalerKey {
            format: frame.format(),
            width: frame.width(),
            height: frame.height(),
            out_width: want.width,
            out_height: want.height,
        };
        if self.scaler.as_ref().is_none_or(|(k, _)| *k != key) {
            match ffmpeg::software::scaling::Context::get(
                key.format,
                key.width,
                key.height,
                ffmpeg::format::Pixel::RGB24,
                key.out_width,
                key.out_height,
                ffmpeg::software::scaling::Flags::FAST_BILINEAR,
            ) {
                Ok(s) => self.scaler = Some((key, s)),
                Err(e) => {
                    tracing::debug!("no scaler for the view: {e}");
                    return;
                }
            }
            self.out = None;
        }
        let Some((_, scaler)) = self.scaler.as_mut() else {
            return;
        };
        let out = self.out.get_or_insert_with(ffmpeg::frame::Video::empty);
        if let Err(e) = scaler.run(frame, out) {
            tracing::debug!("scaling for the view failed: {e}");
            return;
        }
        let (w, h) = (out.width() as usize, out.height() as usize);
        let stride = out.stride(0);
        let data = out.data(0);
        let mut rgb = Vec::with_capacity(w * h * 3);
        for row in 0..h {
            rgb.extend_from_slice(&data[row * stride..row * stride + w * 3]);
        }
        let seq = view.seq() + 1;
        view.put(Picture {
            width: w as u32,
            height: h as u32,
            rgb,
            seq,
        });
    }
}

/// Scale 16-bit PCM by a volume in percent, saturating.
pub fn apply_volume(pcm: &mut [i16], volume_pct: u16) {
    if volume_pct == 100 {
        return;
    }
    let v = i32::from(volume_pct);
    for s in pcm.iter_mut() {
        *s = (i32::from(*s) * v / 100).clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn switches_change_once_and_volume_is_bounded() {
        let c = Controls::default();
        let mut w = c.watch();
        assert!(c.update(|s| s.muted = true));
        assert!(w.has_changed().unwrap());
        w.mark_unchanged();
        assert!(!c.update(|s| s.muted = true));
        assert!(!w.has_changed().unwrap());
        c.update(|s| s.volume_pct = 500);
        assert_eq!(c.switches().volume_pct, MAX_VOLUME_PCT);
    }

    #[test]
    fn volume_scales_and_saturates() {
        let mut pcm = [1000i16, -1000, 30000, -30000];
        apply_volume(&mut pcm, 50);
        assert_eq!(pcm, [500, -500, 15000, -15000]);
        apply_volume(&mut pcm, 200);
        assert_eq!(pcm, [1000, -1000, 30000, -30000]);
        apply_volume(&mut pcm, 200);
        assert_eq!(pcm, [2000, -2000, i16::MAX, i16::MIN]);
        apply_volume(&mut pcm, 0);
        assert_eq!(pcm, [0; 4]);
    }

    #[test]
    fn a_view_keeps_only_the_newest_picture() {
        let v = View::default();
        assert!(v.newer_than(0).is_none());
        v.put(Picture {
            width: 1,
            height: 1,
            rgb: vec![1, 2, 3],
            seq: 1,
        });
        v.put(Picture {
            width: 1,
            height: 1,
            rgb: vec![4, 5, 6],
            seq: 2,
        });
        let p = v.newer_than(0).unwrap();
        assert_eq!((p.seq, p.pixel(0, 0)), (2, [4, 5, 6]));
        assert!(v.newer_than(2).is_none());
        assert_eq!(p.pixel(5, 5), [0, 0, 0]);
    }
}
