//! The call screen's layout on ratatui: the other side's video (half-blocks, or room left for
//! a sixel or kitty picture), the self-view, the stats pane with level meters, chat and notes,
//! transfers, the input line, the status line and the key help.

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Gauge, Paragraph, Wrap};

use super::state::{State, Typing};
use crate::media::controls::{Picture, Switches};

/// Where the screen's parts went on the last draw.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Areas {
    /// The other side's video (inside its border).
    pub remote: Rect,
    /// The self-view (inside its border).
    pub local: Rect,
}

/// How the remote video is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Video {
    /// Half-block cells (the picture given).
    Blocks,
    /// Left empty for a picture written after the draw.
    Picture,
    /// Shown elsewhere (a window), or not at all.
    Elsewhere,
}

/// What one draw needs.
pub struct Scene<'a> {
    pub state: &'a State,
    pub switches: Switches,
    pub remote: Option<&'a Picture>,
    pub local: Option<&'a Picture>,
    pub local_paused: bool,
    pub video: Video,
    pub view_label: &'a str,
}

const HELP: &str = "m mute  v video  +/- volume  c chat  f file  s stats  q hang up  ? help";

/// Draw the screen; where the videos went.
pub fn draw(f: &mut Frame, scene: &Scene) -> Areas {
    let area = f.area();
    if area.width < 2 || area.height < 2 {
        return Areas::default();
    }
    let s = scene.state;
    let chat_rows = if area.height >= 20 { 6 } else { 2 };
    let transfer_rows = s.transfers.len().min(3) as u16;
    let [top, transfers, chat, input, status, help] = Layout::vertical([
        Constraint::Min(1),
        Constraint::Length(transfer_rows),
        Constraint::Length(chat_rows),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let side_width = if s.show_stats && top.width >= 60 {
        34
    } else {
        0
    };
    let [video_area, side] =
        Layout::horizontal([Constraint::Min(1), Constraint::Length(side_width)]).areas(top);
    let mut areas = Areas::default();

    let title = if s.remote_video_off {
        " the other side: video off ".to_string()
    } else if s.remote_muted {
        " the other side (muted) ".to_string()
    } else {
        format!(" {} in room {} ", s.role, s.room)
    };
    let block = Block::default().borders(Borders::ALL).title(title);
    let inner = block.inner(video_area);
    f.render_widget(block, video_area);
    areas.remote = inner;
    match scene.video {
        Video::Blocks => match scene.remote {
            Some(p) if !s.remote_video_off => half_blocks(f.buffer_mut(), inner, p),
            _ => placeholder(f, inner, waiting_text(s)),
        },
        Video::Picture => {
            f.render_widget(Clear, inner);
            if scene.remote.is_none() || s.remote_video_off {
                placeholder(f, inner, waiting_text(s));
            }
        }
        Video::Elsewhere => placeholder(f, inner, scene.view_label.to_string()),
    }

    if side_width > 0 {
        let self_rows = (side.height / 2).clamp(3, 12);
        let [self_area, stats_area] =
            Layout::vertical([Constraint::Length(self_rows), Constraint::Min(1)]).areas(side);
        let block = Block::default().borders(Borders::ALL).title(" you ");
        let inner = block.inner(self_area);
        f.render_widget(block, self_area);
        areas.local = inner;
        match scene.local {
            _ if scene.local_paused || scene.switches.camera_off => {
                placeholder(f, inner, "camera off".into())
            }
            Some(p) => half_blocks(f.buffer_mut(), inner, p),
            None => placeholder(f, inner, "no video sent".into()),
        }
        stats(f, stats_area, s, scene.switches);
    }

    for (i, t) in s.transfers.iter().take(3).enumerate() {
        let row = Rect {
            y: transfers.y + i as u16,
            height: 1,
            ..transfers
        };
        let ratio = if t.size > 0 {
            (t.bytes as f64 / t.size as f64).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let verb = if t.direction == crate::report::schema::Direction::Send {
            "sending"
        } else {
            "receiving"
        };
        f.render_widget(
            Gauge::default()
                .ratio(ratio)
                .label(format!(
                    "{verb} {} {}/{} bytes",
                    crate::report::text::printable(&t.name),
                    t.bytes,
                    t.size
                ))
                .gauge_style(Style::default().fg(Color::Cyan)),
            row,
        );
    }

    let lines: Vec<Line> = s
        .lines
        .iter()
        .rev()
        .take(chat.height as usize)
        .rev()
        .map(|l| Line::raw(l.as_str()))
        .collect();
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), chat);

    let prompt = match (s.typing, &s.asking) {
        (Some(Typing::Chat), _) => format!("chat> {}", s.input),
        (Some(Typing::File), _) => format!("file to send> {}", s.input),
        (Some(Typing::Reason), _) => format!("refuse because> {}", s.input),
        (None, Some(q)) => format!(
            "incoming call in room {}{}{}: y take, n refuse, r refuse with a reason",
            q.room,
            s.remote_address
                .as_ref()
                .map_or(String::new(), |a| format!(" from {a}")),
            s.sas
                .as_ref()
                .map_or(String::new(), |w| format!(", words {w}"))
        ),
        (None, None) => String::new(),
    };
    f.render_widget(
        Paragraph::new(prompt).style(Style::default().add_modifier(Modifier::BOLD)),
        input,
    );

    let mut flags = Vec::new();
    if scene.switches.muted {
        flags.push("MUTED".to_string());
    }
    if scene.switches.camera_off {
        flags.push("CAMERA OFF".to_string());
    }
    if scene.switches.volume_pct != 100 {
        flags.push(format!("volume {} %", scene.switches.volume_pct));
    }
    let status_line = Line::from(vec![
        Span::styled(
            format!(" {} ", s.phase),
            Style::default().fg(Color::Black).bg(Color::Cyan),
        ),
        Span::raw(" "),
        Span::styled(
            s.sas
                .as_ref()
                .map_or("words: -".to_string(), |w| format!("words: {w}")),
            Style::default().add_modifier(Modifier::BOLD),
        ),
        Span::raw("  "),
        Span::styled(flags.join("  "), Style::default().fg(Color::Red)),
    ]);
    f.render_widget(Paragraph::new(status_line), status);
    f.render_widget(
        Paragraph::new(HELP).style(Style::default().fg(Color::DarkGray)),
        help,
    );

    if s.show_help {
        help_box(f, area);
    }
    areas
}

fn waiting_text(s: &State) -> String {
    if s.remote_video_off {
        "the other side turned its video off".into()
    } else {
        "waiting for video".into()
    }
}

fn placeholder(f: &mut Frame, area: Rect, text: String) {
    if area.height == 0 || area.width == 0 {
        return;
    }
    let row = Rect {
        y: area.y + area.height / 2,
        height: 1,
        ..area
    };
    f.render_widget(
        Paragraph::new(text)
            .alignment(ratatui::layout::Alignment::Center)
            .style(Style::default().fg(Color::DarkGray)),
        row,
    );
}

fn stats(f: &mut Frame, area: Rect, s: &State, switches: Switches) {
    let block = Block::default().borders(Borders::ALL).title(" stats ");
    let inner = block.inner(area);
    f.render_widget(block, area);
    let Some(st) = &s.stats else {
        f.render_widget(Paragraph::new("no figures yet"), inner);
        return;
    };
    let pair = st.selected_pair.as_ref().map_or("-".to_string(), |p| {
        format!(
            "{}/{} → {}",
            p.local.candidate_type, p.local.protocol, p.remote.candidate_type
        )
    });
    let ms = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.1} ms"));
    let mut lines = vec![
        Line::raw(format!("pair   {pair}")),
        Line::raw(format!(
            "rtt    {}",
            ms(st.selected_pair.as_ref().and_then(|p| p.rtt_ms))
        )),
        Line::raw(format!("loss   {:.1} %", st.loss_pct)),
        Line::raw(format!(
            "out    {:.0} kbit/s  in {:.0}",
            st.bitrate_out_kbps, st.bitrate_in_kbps
        )),
        Line::raw(format!(
            "video  {:.0} fps {}x{}",
            st.video.fps_received, st.video.width, st.video.height
        )),
        Line::raw(format!(
            "jitter {} / {}",
            ms(st.audio.jitter_ms),
            ms(st.video.jitter_ms)
        )),
        Line::raw(format!(
            "delay  {} / {}",
            ms(st.audio.latency_ms),
            ms(st.video.latency_ms)
        )),
        Line::raw(format!("volume {} %", switches.volume_pct)),
    ];
    let meters = 2u16;
    let text_rows = inner.height.saturating_sub(meters) as usize;
    lines.truncate(text_rows);
    let rows = lines.len() as u16;
    f.render_widget(
        Paragraph::new(lines),
        Rect {
            height: rows,
            ..inner
        },
    );
    for (i, (label, level)) in [
        ("mic", st.audio.level_sent_dbfs),
        ("spk", st.audio.level_received_dbfs),
    ]
    .into_iter()
    .enumerate()
    {
        let y = inner.y + rows + i as u16;
        if y >= inner.y + inner.height {
            break;
        }
        // -60 dBFS (and silence) to 0 dBFS.
        let ratio = level.map_or(0.0, |d| ((d + 60.0) / 60.0).clamp(0.0, 1.0));
        f.render_widget(
            Gauge::default()
                .ratio(ratio)
                .label(format!(
                    "{label} {}",
                    level.map_or("silent".to_string(), |d| format!("{d:.0} dB"))
                ))
                .gauge_style(Style::default().fg(Color::Green)),
            Rect {
                y,
                height: 1,
                ..inner
            },
        );
    }
}

fn help_box(f: &mut Frame, area: Rect) {
    let text = vec![
        Line::raw("m      mute or unmute the microphone"),
        Line::raw("v      turn the camera off or on"),
        Line::raw("+ -    speaker volume"),
        Line::raw("c, ⏎   type a chat line (⏎ sends, Esc drops it)"),
        Line::raw("f      send a file (its path)"),
        Line::raw("s      show or hide the stats"),
        Line::raw("q      hang up (Ctrl-C too)"),
        Line::raw("?      this help"),
    ];
    let w = 52.min(area.width);
    let h = (text.len() as u16 + 2).min(area.height);
    let r = Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    };
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(text).block(Block::default().borders(Borders::ALL).title(" keys ")),
        r,
    );
}

/// The picture size (pixels) that fills `cells` (columns x rows, each row two pixels high)
/// keeping a `source` aspect ratio.
pub fn fit(cols: u16, rows: u16, source: (u32, u32)) -> (u32, u32) {
    fit_pixels(u32::from(cols), u32::from(rows) * 2, source)
}

/// The picture size that fills `pw` x `ph` pixels keeping a `source` aspect ratio (4:3
/// before the first frame tells it).
pub fn fit_pixels(pw: u32, ph: u32, source: (u32, u32)) -> (u32, u32) {
    let source = if source.0 == 0 || source.1 == 0 {
        (4, 3)
    } else {
        source
    };
    if pw == 0 || ph == 0 {
        return (0, 0);
    }
    let (sw, sh) = (source.0.max(1), source.1.max(1));
    if u64::from(pw) * u64::from(sh) > u64::from(ph) * u64::from(sw) {
        ((ph * sw / sh).max(1), ph)
    } else {
        (pw, (pw * sh / sw).max(1))
    }
}

/// A picture as Unicode upper half-blocks: each cell two pixels, the top one its foreground
/// and the bottom one its background, 24-bit colour; centred in the area.
pub fn half_blocks(buf: &mut Buffer, area: Rect, p: &Picture) {
    let cols = (p.width as u16).min(area.width);
    let rows = (p.height.div_ceil(2) as u16).min(area.height);
    let x0 = area.x + (area.width - cols) / 2;
    let y0 = area.y + (area.height - rows) / 2;
    for row in 0..rows {
        for col in 0..cols {
            let top = p.pixel(u32::from(col), u32::from(row) * 2);
            let bottom = p.pixel(u32::from(col), u32::from(row) * 2 + 1);
            if let Some(cell) = buf.cell_mut((x0 + col, y0 + row)) {
                cell.set_char('▀')
                    .set_fg(Color::Rgb(top[0], top[1], top[2]))
                    .set_bg(Color::Rgb(bottom[0], bottom[1], bottom[2]));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pictures_fit_the_cells_keeping_their_shape() {
        // 80x24 cells = 80x48 pixels; 4:3 fits the height.
        assert_eq!(fit(80, 24, (640, 480)), (64, 48));
        // A narrow area: the width decides.
        assert_eq!(fit(20, 24, (640, 480)), (20, 15));
        assert_eq!(fit(0, 24, (640, 480)), (0, 0));
        assert_eq!(fit(1, 1, (640, 480)), (1, 1));
    }

    #[test]
    fn half_blocks_carry_two_pixels_per_cell() {
        let p = Picture {
            width: 2,
            height: 2,
            rgb: vec![255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9],
            seq: 1,
        };
        let area = Rect::new(0, 0, 2, 1);
        let mut buf = Buffer::empty(area);
        half_blocks(&mut buf, area, &p);
        let c = &buf[(0, 0)];
        assert_eq!(c.symbol(), "▀");
        assert_eq!((c.fg, c.bg), (Color::Rgb(255, 0, 0), Color::Rgb(0, 0, 255)));
        assert_eq!(buf[(1, 0)].bg, Color::Rgb(9, 9, 9));
    }
}
