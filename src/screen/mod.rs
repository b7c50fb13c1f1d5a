//! The call screen (`dial`/`answer`/`publish`/`play` on a terminal): the other side's video,
//! the self-view, stats, chat and transfers in one ratatui screen, keys that mute, stop the
//! camera, chat, send files and hang up, and the question whether to take an incoming call.
//! The terminal is restored on every way out (hang-up, Ctrl-C, SIGTERM, errors, panics).

pub mod draw;
pub mod graphics;
pub mod state;
pub mod window;

use std::io::{IsTerminal, Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::{cursor, event, execute, terminal};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::call::{self, CallConfig, Prompter};
use crate::data::Typed;
use crate::media::controls::{Controls, Picture};
use crate::report::schema::Record;
use draw::{Scene, Video};
use state::{Action, Key, State};

/// How the other side's video is shown (`--view`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ViewMode {
    /// The best the terminal supports: kitty graphics, sixel, else blocks.
    Auto,
    /// Unicode half-blocks in 24-bit colour (any terminal, tmux included).
    Blocks,
    /// Sixel graphics (xterm -ti vt340, foot, WezTerm, mlterm).
    Sixel,
    /// The kitty graphics protocol (kitty, WezTerm, Ghostty).
    Kitty,
    /// A desktop window (X11 or Wayland); the terminal keeps the rest of the screen.
    Window,
    /// No call screen: the status line as without a terminal.
    None,
}

/// The most pictures a second drawn as half-blocks (and as sixel or kitty pictures).
const TERMINAL_FPS: u32 = 15;
/// The self-view's pictures a second.
const SELF_FPS: u32 = 5;

/// Whether a call gets the screen: `--view` is not `none`, no `--json`, and stdin and stdout
/// are terminals.
pub fn wanted(view: ViewMode, json: bool) -> bool {
    view != ViewMode::None
        && !json
        && std::io::stdin().is_terminal()
        && std::io::stdout().is_terminal()
}

/// Where stderr went while the screen is up (logs would scribble over it): replayed on the
/// terminal once it is restored, also by the panic hook.
static STDERR: Mutex<Option<gag::BufferRedirect>> = Mutex::new(None);

/// Put the terminal back: raw mode off, the main screen back, the cursor shown; then what was
/// written to stderr meanwhile. Safe to call more than once.
fn restore() {
    let _ = terminal::disable_raw_mode();
    let mut out = std::io::stdout();
    let _ = execute!(
        out,
        event::DisableBracketedPaste,
        terminal::LeaveAlternateScreen,
        cursor::Show
    );
    let _ = out.flush();
    let held = STDERR.lock().unwrap_or_else(|p| p.into_inner()).take();
    if let Some(mut held) = held {
        let mut text = Vec::new();
        let _ = held.read_to_end(&mut text);
        drop(held);
        let _ = std::io::stderr().write_all(&text);
    }
}

/// The terminal, set up for the screen until dropped.
struct Terminal {
    inner: ratatui::Terminal<CrosstermBackend<std::io::Stdout>>,
}

impl Terminal {
    fn enter() -> std::io::Result<Terminal> {
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            hook(info);
        }));
        terminal::enable_raw_mode()?;
        let mut out = std::io::stdout();
        execute!(
            out,
            terminal::EnterAlternateScreen,
            event::EnableBracketedPaste,
            cursor::Hide
        )?;
        let inner = ratatui::Terminal::new(CrosstermBackend::new(std::io::stdout()))?;
        Ok(Terminal { inner })
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        restore();
    }
}

/// Asks on the screen whether to take a call.
struct ScreenPrompter(std::sync::mpsc::Sender<(String, oneshot::Sender<Result<(), String>>)>);

#[async_trait::async_trait]
impl Prompter for ScreenPrompter {
    async fn accept(&self, room: &str) -> Result<(), String> {
        let (tx, rx) = oneshot::channel();
        if self.0.send((room.to_string(), tx)).is_err() {
            return Err("declined".into());
        }
        rx.await.unwrap_or_else(|_| Err("declined".into()))
    }
}

/// Run a call with the screen; its exit code. The terminal is back to normal, and the summary
/// printed, when this returns.
pub async fn run_call(mut config: CallConfig, view: ViewMode, cancel: CancellationToken) -> i32 {
    let controls = config.media.controls.clone();
    let (keyboard, typed) = crate::data::Keyboard::new();
    config.data.keyboard = Some(keyboard);
    // The screen reads the keys: chat lines are typed there, not read from stdin.
    config.data.chat = false;
    let junit = config.junit.clone();
    let role = config.role_label().to_string();
    let room = config.place.label();
    let term = match Terminal::enter() {
        Ok(t) => t,
        Err(e) => {
            restore();
            eprintln!("rtccall: error: cannot set up the terminal for the call screen: {e}");
            return crate::exit::USAGE;
        }
    };
    if let Ok(held) = gag::BufferRedirect::stderr() {
        *STDERR.lock().unwrap_or_else(|p| p.into_inner()) = Some(held);
    }
    let video = match view {
        ViewMode::Auto => match graphics::query() {
            graphics::Answered::Kitty => Shown::Kitty,
            graphics::Answered::Sixel => Shown::Sixel,
            graphics::Answered::Plain => Shown::Blocks,
        },
        ViewMode::Sixel => Shown::Sixel,
        ViewMode::Kitty => Shown::Kitty,
        ViewMode::Window => Shown::Window,
        ViewMode::Blocks | ViewMode::None => Shown::Blocks,
    };
    let (ask_tx, ask_rx) = std::sync::mpsc::channel();
    let prompter: Arc<dyn Prompter> = Arc::new(ScreenPrompter(ask_tx));
    let (run, rx) = call::Call::start(config, None, &cancel, Some(prompter));
    let screen = Screen {
        state: State::new(&role, &room),
        controls,
        typed,
        hang_up: run.person_hang_up(),
        questions: ask_rx,
        pending: None,
        shown: video,
        auto: view == ViewMode::Auto,
        reply: None,
        window: None,
        view_label: String::new(),
    };
    // A screen that fails or panics ends the call (as Ctrl-C would), then the panic goes on.
    let ended = cancel.clone();
    let ui = tokio::task::spawn_blocking(move || {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| screen.run(term, rx)));
        if !matches!(r, Ok(Ok(()))) {
            ended.cancel();
        }
        r
    });
    let summary = run.wait().await;
    let ui = ui.await;
    restore();
    match ui {
        Ok(Ok(Err(e))) => eprintln!("rtccall: warning: the call screen failed: {e}"),
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        _ => {}
    }
    let Some(summary) = summary else {
        return crate::exit::INTERRUPTED;
    };
    crate::report::human::print_summary(&summary);
    crate::report::junit::write_for(
        junit.as_deref(),
        || crate::report::junit::call(&summary),
        summary.exit_code,
    )
}

/// How the other side's video is shown on this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shown {
    Blocks,
    Sixel,
    Kitty,
    Window,
}

struct Screen {
    state: State,
    controls: Controls,
    typed: mpsc::Sender<Typed>,
    hang_up: CancellationToken,
    questions: std::sync::mpsc::Receiver<(String, oneshot::Sender<Result<(), String>>)>,
    pending: Option<oneshot::Sender<Result<(), String>>>,
    shown: Shown,
    /// `--view auto`: the terminal's answer picked `shown`.
    auto: bool,
    /// A capability reply being swallowed (what it said so far).
    reply: Option<String>,
    window: Option<window::VideoWindow>,
    view_label: String,
}

/// A picture written over the screen (sixel, kitty): what and where, to write it only anew.
#[derive(Default, PartialEq)]
struct Written {
    seq: u64,
    area: ratatui::layout::Rect,
}

impl Screen {
    /// Draw and read keys until the call's records end.
    fn run(
        mut self,
        mut term: Terminal,
        mut records: mpsc::Receiver<Record>,
    ) -> std::io::Result<()> {
        if self.shown == Shown::Window {
            match window::VideoWindow::open(
                self.controls.clone(),
                format!("rtccall: {} in room {}", self.state.role, self.state.room),
            ) {
                Ok(w) => {
                    self.window = Some(w);
                    self.view_label = "the video is in its window".into();
                }
                Err(e) => {
                    self.state.line(format!("{e}; showing it here instead"));
                    self.shown = Shown::Blocks;
                }
            }
        }
        let panic_after =
            std::env::var_os("RTCCALL_TEST_PANIC").map(|_| Instant::now() + Duration::from_secs(1));
        let tick = Duration::from_millis(1000 / u64::from(TERMINAL_FPS));
        let mut remote: Option<Picture> = None;
        let mut local: Option<Picture> = None;
        let mut written = Written::default();
        let mut dirty = true;
        let mut last_draw = Instant::now();
        loop {
            loop {
                match records.try_recv() {
                    Ok(r) => {
                        self.state.record(&r);
                        dirty = true;
                    }
                    Err(mpsc::error::TryRecvError::Empty) => break,
                    Err(mpsc::error::TryRecvError::Disconnected) => return Ok(()),
                }
            }
            while let Ok((room, reply)) = self.questions.try_recv() {
                self.state.ask(&room);
                self.pending = Some(reply);
                dirty = true;
            }
            if let Some(p) = self
                .controls
                .remote_view()
                .newer_than(remote.as_ref().map_or(0, |p| p.seq))
                && self.shown != Shown::Window
            {
                remote = Some(p);
                dirty = true;
            }
            if let Some(p) = self
                .controls
                .local_view()
                .newer_than(local.as_ref().map_or(0, |p| p.seq))
            {
                local = Some(p);
                dirty = true;
            }
            if panic_after.is_some_and(|t| Instant::now() >= t) {
                panic!("RTCCALL_TEST_PANIC: a forced panic in the call screen");
            }
            if dirty || last_draw.elapsed() > Duration::from_millis(500) {
                self.draw(&mut term, remote.as_ref(), local.as_ref(), &mut written)?;
                dirty = false;
                last_draw = Instant::now();
            }
            if event::poll(tick)? {
                match event::read()? {
                    event::Event::Key(k) if k.kind != event::KeyEventKind::Release => {
                        if self.late_reply(&k) {
                            dirty = true;
                        } else if let Some(key) = key_of(k) {
                            self.act(key);
                            dirty = true;
                        }
                    }
                    event::Event::Paste(text) => {
                        for c in text.chars().filter(|c| !c.is_control()) {
                            self.act(Key::Char(c));
                        }
                        dirty = true;
                    }
                    event::Event::Resize(..) => {
                        term.inner.autoresize()?;
                        term.inner.clear()?;
                        written = Written::default();
                        dirty = true;
                    }
                    _ => {}
                }
            }
        }
    }

    fn draw(
        &mut self,
        term: &mut Terminal,
        remote: Option<&Picture>,
        local: Option<&Picture>,
        written: &mut Written,
    ) -> std::io::Result<()> {
        let switches = self.controls.switches();
        let scene = Scene {
            state: &self.state,
            switches,
            remote,
            local,
            local_paused: self.controls.local_view().paused(),
            video: match self.shown {
                Shown::Blocks => Video::Blocks,
                Shown::Sixel | Shown::Kitty => Video::Picture,
                Shown::Window => Video::Elsewhere,
            },
            view_label: &self.view_label,
        };
        let mut areas = draw::Areas::default();
        term.inner.draw(|f| areas = draw::draw(f, &scene))?;
        // Ask the decoder (and the source) for pictures the size the areas now have.
        let source = self.controls.remote_view().source_size();
        match self.shown {
            Shown::Blocks => {
                let (w, h) = draw::fit(areas.remote.width, areas.remote.height, source);
                self.controls.remote_view().want(w, h, TERMINAL_FPS);
            }
            Shown::Sixel | Shown::Kitty => {
                let (cw, ch) = cell_pixels();
                let (w, h) = draw::fit_pixels(
                    u32::from(areas.remote.width) * cw,
                    u32::from(areas.remote.height) * ch,
                    source,
                );
                // Where the picture goes, in cells.
                let cells = (w.div_ceil(cw) as u16, h.div_ceil(ch) as u16);
                let (w, h) = if self.shown == Shown::Sixel {
                    // Sixel rows are six pixels: a height that is not a multiple would spill.
                    (w, h / 6 * 6)
                } else {
                    // The terminal scales a kitty picture to its cells: never send more pixels
                    // than the video has (a full-size picture is megabytes of base64 each time).
                    draw::fit_pixels(w.min(source.0.max(1)), h.min(source.1.max(1)), source)
                };
                self.controls.remote_view().want(w, h, TERMINAL_FPS);
                if let Some(p) = remote
                    && !self.state.remote_video_off
                {
                    let now = Written {
                        seq: p.seq,
                        area: areas.remote,
                    };
                    if *written != now && p.width > 0 && p.height > 0 {
                        self.picture(p, areas.remote, cells)?;
                        *written = now;
                    }
                }
            }
            Shown::Window => {}
        }
        let (w, h) = draw::fit(
            areas.local.width,
            areas.local.height,
            self.controls.local_view().source_size(),
        );
        self.controls.local_view().want(w, h, SELF_FPS);
        Ok(())
    }

    /// Write a sixel or kitty picture over `cols` x `rows` cells centred in `area`.
    fn picture(
        &self,
        p: &Picture,
        area: ratatui::layout::Rect,
        (cols, rows): (u16, u16),
    ) -> std::io::Result<()> {
        let x = area.x + area.width.saturating_sub(cols) / 2;
        let y = area.y + area.height.saturating_sub(rows) / 2;
        let mut out = std::io::stdout().lock();
        execute!(out, cursor::MoveTo(x, y))?;
        match self.shown {
            Shown::Sixel => {
                if let Some(s) = graphics::sixel(p) {
                    out.write_all(s.as_bytes())?;
                }
            }
            _ => out.write_all(&graphics::kitty(p, cols, rows))?,
        }
        out.flush()
    }

    /// Whether a key is part of the terminal's answer to the capability query arriving after
    /// the wait (`ESC _ G i=31;OK ESC \`, read as Alt+_, letters, Alt+\): swallowed, never
    /// taken for keys; a late kitty OK still switches `auto` to kitty graphics.
    fn late_reply(&mut self, k: &event::KeyEvent) -> bool {
        let alt = k.modifiers.contains(event::KeyModifiers::ALT);
        match (&mut self.reply, k.code) {
            (None, event::KeyCode::Char('_')) if alt => {
                self.reply = Some(String::new());
                true
            }
            (Some(text), event::KeyCode::Char('\\')) if alt => {
                if self.auto && self.shown == Shown::Blocks && text.starts_with("Gi=31;OK") {
                    self.shown = Shown::Kitty;
                }
                self.reply = None;
                true
            }
            (Some(text), event::KeyCode::Char(c)) => {
                if text.len() < 64 {
                    text.push(c);
                    true
                } else {
                    // Not a reply after all: let keys through again.
                    self.reply = None;
                    false
                }
            }
            (Some(_), _) => true,
            _ => false,
        }
    }

    /// Carry out a key.
    fn act(&mut self, key: Key) {
        match self.state.key(key, self.controls.switches()) {
            Action::None => {}
            Action::Switch(s) => {
                self.controls.update(|now| *now = s);
            }
            Action::Chat(text) => {
                if self.typed.try_send(Typed::Chat(text)).is_err() {
                    self.state
                        .line("chat: too many lines waiting; not sent".into());
                }
            }
            Action::SendFile(path) => {
                let path = expand_home(&path);
                if !path.is_file() {
                    self.state
                        .line(format!("{} is not a file: not sent", path.display()));
                } else if self.typed.try_send(Typed::File(path)).is_err() {
                    self.state.line("too many files waiting; not sent".into());
                }
            }
            Action::HangUp => {
                if let Some(reply) = self.pending.take() {
                    let _ = reply.send(Err("declined".into()));
                }
                self.hang_up.cancel();
            }
            Action::Accept => {
                if let Some(reply) = self.pending.take() {
                    let _ = reply.send(Ok(()));
                }
            }
            Action::Reject(why) => {
                if let Some(reply) = self.pending.take() {
                    let _ = reply.send(Err(why));
                }
            }
        }
    }
}

/// `~/x` as a path under $HOME.
fn expand_home(path: &str) -> std::path::PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => std::path::Path::new(&home).join(rest),
        _ => std::path::PathBuf::from(path),
    }
}

/// The size of a character cell in pixels, as the terminal reports it (10x20 when it does
/// not).
fn cell_pixels() -> (u32, u32) {
    match terminal::window_size() {
        Ok(s) if s.columns > 0 && s.rows > 0 && s.width > 0 && s.height > 0 => (
            (u32::from(s.width) / u32::from(s.columns)).max(1),
            (u32::from(s.height) / u32::from(s.rows)).max(1),
        ),
        _ => (10, 20),
    }
}

/// A crossterm key as the screen's.
fn key_of(k: event::KeyEvent) -> Option<Key> {
    use event::{KeyCode, KeyModifiers};
    if k.modifiers.contains(KeyModifiers::CONTROL) {
        return matches!(k.code, KeyCode::Char('c') | KeyCode::Char('d')).then_some(Key::CtrlC);
    }
    Some(match k.code {
        KeyCode::Char(c) => Key::Char(c),
        KeyCode::Enter => Key::Enter,
        KeyCode::Backspace => Key::Backspace,
        KeyCode::Esc => Key::Esc,
        _ => return None,
    })
}
