//! Pictures of a call: the time plots `rtccall report` draws from the sides it read (bit
//! rates with the encoder target, RTT, loss, jitter, frames, audio, jitter buffer, data
//! channel), with event markers, as SVG (for the HTML report) or PNG/SVG files.

pub mod html;

use std::path::Path;
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::dump::read::{Sample, Side};
use crate::exit::Error;

/// One line of a plot: its name and how to read it from a sample.
pub struct Line {
    pub name: &'static str,
    pub get: fn(&Sample) -> Option<f64>,
}

/// One plot.
pub struct Plot {
    pub title: &'static str,
    pub lines: Vec<Line>,
}

macro_rules! line {
    ($name:expr, $field:ident) => {
        Line {
            name: $name,
            get: |s: &Sample| s.$field,
        }
    };
}

/// Every plot, in the report's order.
pub fn plots() -> Vec<Plot> {
    vec![
        Plot {
            title: "Bit rate (kbit/s)",
            lines: vec![
                line!("out", out_kbps),
                line!("in", in_kbps),
                line!("video target", target_kbps),
            ],
        },
        Plot {
            title: "Round-trip time (ms)",
            lines: vec![line!("RTT", rtt_ms)],
        },
        Plot {
            title: "Loss received (%)",
            lines: vec![line!("loss", loss_pct)],
        },
        Plot {
            title: "Jitter received (ms)",
            lines: vec![
                line!("audio", jitter_audio_ms),
                line!("video", jitter_video_ms),
            ],
        },
        Plot {
            title: "Video frames per second",
            lines: vec![line!("decoded", fps_in), line!("sent", fps_out)],
        },
        Plot {
            title: "Video frame size received (px)",
            lines: vec![line!("width", width), line!("height", height)],
        },
        Plot {
            title: "Audio per interval (ms)",
            lines: vec![
                line!("decoded", audio_decoded_ms),
                line!("FEC", audio_fec_ms),
                line!("concealed", audio_concealed_ms),
            ],
        },
        Plot {
            title: "Jitter buffer (ms)",
            lines: vec![line!("depth", buffer_ms), line!("target", buffer_target_ms)],
        },
        Plot {
            title: "Data channel throughput (Mbit/s)",
            lines: vec![line!("received", data_mbps)],
        },
    ]
}

/// The plots that have data in any side.
pub fn with_data(sides: &[Side]) -> Vec<Plot> {
    plots()
        .into_iter()
        .filter(|p| {
            sides.iter().any(|s| {
                s.samples
                    .iter()
                    .any(|x| p.lines.iter().any(|l| (l.get)(x).is_some()))
            })
        })
        .collect()
}

/// Where a drawn plot put its data: the plotting area in pixels and the time and value
/// ranges it shows (for the HTML report's hover read-out).
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Geometry {
    pub x_px: (i32, i32),
    pub y_px: (i32, i32),
    pub t: (f64, f64),
    pub v: (f64, f64),
}

const PALETTE: [RGBColor; 3] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
];
const PALETTE_B: [RGBColor; 3] = [
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// The time span of every side together.
pub fn span(sides: &[Side]) -> (f64, f64) {
    let ts = sides.iter().flat_map(|s| s.samples.iter().map(|x| x.t));
    let (lo, hi) = ts.fold((f64::MAX, f64::MIN), |(lo, hi), t| (lo.min(t), hi.max(t)));
    if lo > hi {
        (0.0, 1.0)
    } else if hi - lo < 1.0 {
        (lo, lo + 1.0)
    } else {
        (lo, hi)
    }
}

/// Draw one plot on `area`.
pub fn draw<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    plot: &Plot,
    sides: &[Side],
    t: (f64, f64),
) -> Result<Geometry, String> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    area.fill(&WHITE).map_err(err)?;
    let values = sides.iter().flat_map(|s| {
        s.samples
            .iter()
            .flat_map(|x| plot.lines.iter().filter_map(move |l| (l.get)(x)))
    });
    let top = values.fold(0.0_f64, f64::max);
    let top = if top <= 0.0 { 1.0 } else { top * 1.1 };
    let mut chart = ChartBuilder::on(area)
        .caption(plot.title, ("sans-serif", 16))
        .margin(8)
        .x_label_area_size(28)
        .y_label_area_size(52)
        .build_cartesian_2d(t.0..t.1, 0.0..top)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("s")
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(err)?;
    for (si, side) in sides.iter().enumerate() {
        for (li, line) in plot.lines.iter().enumerate() {
            let color = if si == 0 {
                PALETTE[li % 3]
            } else {
                PALETTE_B[li % 3]
            };
            let points: Vec<(f64, f64)> = side
                .samples
                .iter()
                .filter_map(|x| (line.get)(x).map(|v| (x.t, v)))
                .collect();
            if points.is_empty() {
                continue;
            }
            let label = if sides.len() > 1 {
                format!("{} ({})", line.name, side_label(side, si))
            } else {
                line.name.to_string()
            };
            chart
                .draw_series(LineSeries::new(points, color.stroke_width(2)))
                .map_err(err)?
                .label(label)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
                });
        }
        // Event markers: a thin grey line at each.
        for m in &side.marks {
            chart
                .draw_series(LineSeries::new(
                    vec![(m.t, 0.0), (m.t, top)],
                    RGBColor(120, 120, 120).mix(0.6),
                ))
                .map_err(err)?;
        }
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK.mix(0.3))
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(err)?;
    let (xr, yr) = chart.plotting_area().get_pixel_range();
    Ok(Geometry {
        x_px: (xr.start, xr.end),
        y_px: (yr.start, yr.end),
        t,
        v: (0.0, top),
    })
}

/// How a side is named in legends: its role, or A/B.
pub fn side_label(side: &Side, i: usize) -> String {
    if side.role.is_empty() {
        ["A", "B"][i.min(1)].to_string()
    } else {
        side.role.clone()
    }
}

/// Width of the pictures, px; each plot's height.
pub const WIDTH: u32 = 1000;
pub const PLOT_HEIGHT: u32 = 240;

/// Every plot with data, stacked, into a PNG (`svg` false) or an SVG file.
pub fn picture(path: &Path, sides: &[Side], svg: bool) -> Result<(), Error> {
    font()?;
    let plots = with_data(sides);
    let t = span(sides);
    let size = (WIDTH, PLOT_HEIGHT * plots.len().max(1) as u32);
    let fail = |e: String| Error::usage(format!("{}: {e}", path.display()));
    if svg {
        draw_all(
            SVGBackend::new(path, size).into_drawing_area(),
            &plots,
            sides,
            t,
        )
        .map_err(fail)
    } else {
        draw_all(
            BitMapBackend::new(path, size).into_drawing_area(),
            &plots,
            sides,
            t,
        )
        .map_err(fail)
    }
}

/// Every plot stacked on `root`.
fn draw_all<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    plots: &[Plot],
    sides: &[Side],
    t: (f64, f64),
) -> Result<(), String> {
    let areas = root.split_evenly((plots.len().max(1), 1));
    for (area, plot) in areas.iter().zip(plots) {
        draw(area, plot, sides, t)?;
    }
    root.present().map_err(|e| e.to_string())
}

/// One plot as an SVG document (for the HTML report).
pub fn svg(plot: &Plot, sides: &[Side], t: (f64, f64)) -> Result<(String, Geometry), Error> {
    font()?;
    let mut out = String::new();
    let g = {
        let root = SVGBackend::with_string(&mut out, (WIDTH, PLOT_HEIGHT)).into_drawing_area();
        let g = draw(&root, plot, sides, t).map_err(|e| Error::usage(format!("drawing: {e}")))?;
        root.present()
            .map_err(|e| Error::usage(format!("drawing: {e}")))?;
        g
    };
    Ok((out, g))
}

/// Fonts the plots' text may use: `$RTCCALL_FONT`, else DejaVu Sans where Debian, Fedora and
/// Arch put it.
const FONTS: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
];

/// Register the plots' font once (plotters draws text with it).
fn font() -> Result<(), Error> {
    static FONT: OnceLock<Result<(), String>> = OnceLock::new();
    FONT.get_or_init(|| {
        let given = std::env::var("RTCCALL_FONT").ok();
        let paths: Vec<String> = given
            .iter()
            .cloned()
            .chain(FONTS.iter().map(|s| s.to_string()))
            .collect();
        for p in &paths {
            if let Ok(bytes) = std::fs::read(p) {
                let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                return plotters::style::register_font("sans-serif", FontStyle::Normal, bytes)
                    .map_err(|_| format!("{p} is not a TrueType font"));
            }
        }
        Err(
            "no TrueType font for the plots' text: install fonts-dejavu-core, or set \
             RTCCALL_FONT to a .ttf file"
                .to_string(),
        )
    })
    .clone()
    .map_err(Error::usage)
}
