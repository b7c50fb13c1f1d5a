//! `--view window`: the other side's video in a desktop window (minifb: X11 or Wayland), on a
//! thread of its own, scaled by the decoder to the window's size, at most 30 pictures a second.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::media::controls::Controls;

/// The most pictures a second the window shows.
const WINDOW_FPS: u32 = 30;

/// An open window; closed when dropped.
pub struct VideoWindow {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl VideoWindow {
    /// Open the window (640x480 to start). Fails with why, in one line, when there is no
    /// display to open it on.
    pub fn open(controls: Controls, title: String) -> Result<VideoWindow, String> {
        if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
            return Err(
                "--view window needs a desktop: neither DISPLAY nor WAYLAND_DISPLAY is set".into(),
            );
        }
        let stop = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let running = stop.clone();
        let thread = std::thread::Builder::new()
            .name("video-window".into())
            .spawn(move || {
                let opts = minifb::WindowOptions {
                    resize: true,
                    ..Default::default()
                };
                let mut window = match minifb::Window::new(&title, 640, 480, opts) {
                    Ok(w) => {
                        let _ = ready_tx.send(Ok(()));
                        w
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(format!("cannot open a window: {e}")));
                        return;
                    }
                };
                window.set_target_fps(WINDOW_FPS as usize);
                show(&mut window, &controls, &running);
                controls.remote_view().want(0, 0, 1);
            })
            .map_err(|e| format!("cannot start the window thread: {e}"))?;
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(VideoWindow {
                stop,
                thread: Some(thread),
            }),
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(e)
            }
            Err(_) => Err("the window thread ended before opening".into()),
        }
    }
}

fn show(window: &mut minifb::Window, controls: &Controls, stop: &AtomicBool) {
    let view = controls.remote_view();
    let mut seen = 0;
    let mut buffer: Vec<u32> = Vec::new();
    let (mut w, mut h) = (0usize, 0usize);
    while window.is_open() && !stop.load(Ordering::Relaxed) {
        let (ww, wh) = window.get_size();
        view.want(ww as u32, wh as u32, WINDOW_FPS);
        if let Some(p) = view.newer_than(seen) {
            seen = p.seq;
            (w, h) = (p.width as usize, p.height as usize);
            buffer.clear();
            buffer.extend(
                p.rgb
                    .chunks_exact(3)
                    .map(|c| (u32::from(c[0]) << 16) | (u32::from(c[1]) << 8) | u32::from(c[2])),
            );
        }
        let shown = if w > 0 && buffer.len() == w * h {
            window.update_with_buffer(&buffer, w, h)
        } else {
            window.update();
            Ok(())
        };
        if let Err(e) = shown {
            tracing::warn!("the video window: {e}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for VideoWindow {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
