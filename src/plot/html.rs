//! The self-contained HTML report: a verdict line and each side's summary, then every plot
//! (inline SVG) with its data in an embedded JSON block that a small inline script reads to
//! show the values under the pointer, the state timeline and the candidates. No network.

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::{Geometry, side_label, span, svg, with_data};
use crate::dump::read::Side;
use crate::exit::Error;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The report as one HTML document.
pub fn render(sides: &[Side]) -> Result<String, Error> {
    let plots = with_data(sides);
    let t = span(sides);
    let mut body = String::new();
    let verdict = sides
        .iter()
        .enumerate()
        .map(|(i, s)| format!("{}: {}", side_label(s, i), s.verdict))
        .collect::<Vec<_>>()
        .join(" · ");
    let _ = write!(
        body,
        "<h1>rtccall report</h1>\n<p class=\"verdict\" id=\"verdict\">{}</p>\n",
        esc(&verdict)
    );
    body.push_str("<div class=\"sides\">\n");
    for (i, s) in sides.iter().enumerate() {
        let _ = writeln!(
            body,
            "<table class=\"side\"><caption>{} — {} ({})</caption>",
            esc(&side_label(s, i)),
            esc(&s.name),
            s.format
        );
        for (k, v) in &s.summary {
            let _ = writeln!(body, "<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(v));
        }
        let _ = writeln!(
            body,
            "<tr><th>selected pair</th><td>{}</td></tr>",
            esc(s.selected.as_deref().unwrap_or("-"))
        );
        body.push_str("</table>\n");
    }
    body.push_str("</div>\n");

    let mut data_plots = Vec::new();
    for (i, p) in plots.iter().enumerate() {
        let (svg_text, g): (String, Geometry) = svg(p, sides, t)?;
        let _ = writeln!(
            body,
            "<div class=\"plot\" data-plot=\"{i}\"><div class=\"readout\"></div>{}</div>",
            strip_xml_head(&svg_text)
        );
        let mut lines = Vec::new();
        for (si, side) in sides.iter().enumerate() {
            for l in &p.lines {
                let points: Vec<Value> = side
                    .samples
                    .iter()
                    .filter_map(|x| (l.get)(x).map(|v| json!([round3(x.t), round3(v)])))
                    .collect();
                if !points.is_empty() {
                    lines.push(json!({"side": si, "name": l.name, "points": points}));
                }
            }
        }
        data_plots.push(json!({"title": p.title, "geometry": g, "lines": lines}));
    }

    body.push_str(
        "<h2>Events</h2>\n<table class=\"events\"><tr><th>s</th><th>side</th><th>what</th></tr>\n",
    );
    let mut marks: Vec<(f64, String, String)> = sides
        .iter()
        .enumerate()
        .flat_map(|(i, s)| {
            let who = side_label(s, i);
            s.marks
                .iter()
                .map(move |m| (m.t, who.clone(), m.label.clone()))
        })
        .collect();
    marks.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (t, who, what) in &marks {
        let _ = writeln!(
            body,
            "<tr><td>{t:.1}</td><td>{}</td><td>{}</td></tr>",
            esc(who),
            esc(what)
        );
    }
    body.push_str("</table>\n<h2>States</h2>\n");
    for (i, s) in sides.iter().enumerate() {
        let _ = write!(
            body,
            "<h3>{}</h3>\n{}\n<table class=\"states\"><tr><th>s</th><th>machine</th><th>state</th></tr>\n",
            esc(&side_label(s, i)),
            timeline(s, t)
        );
        for (t, m, st) in &s.states {
            let _ = writeln!(
                body,
                "<tr><td>{t:.3}</td><td>{}</td><td>{}</td></tr>",
                esc(m),
                esc(st)
            );
        }
        body.push_str("</table>\n<h3>Candidates</h3>\n<ul>\n");
        for c in &s.candidates {
            let _ = writeln!(body, "<li>{}</li>", esc(c));
        }
        body.push_str("</ul>\n");
    }

    let data = json!({
        "sides": sides.iter().enumerate().map(|(i, s)| json!({
            "label": side_label(s, i),
            "name": s.name,
            "verdict": s.verdict,
            "marks": s.marks.iter().map(|m| json!([round3(m.t), m.label])).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "plots": data_plots,
    });
    // `</` cannot close the script element early.
    let data = data.to_string().replace("</", "<\\/");
    Ok(format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n\
         <title>rtccall report</title>\n<style>{STYLE}</style></head><body>\n{body}\
         <script type=\"application/json\" id=\"rtccall-data\">{data}</script>\n\
         <script>{SCRIPT}</script>\n</body></html>\n"
    ))
}

/// The side's state machines as coloured bars over the plots' time axis (signaling, ICE,
/// connection), each segment named and titled with its state.
fn timeline(side: &Side, t: (f64, f64)) -> String {
    const LEFT: f64 = 110.0;
    const RIGHT: f64 = 990.0;
    const ROW: f64 = 22.0;
    let x = |v: f64| LEFT + (v.clamp(t.0, t.1) - t.0) / (t.1 - t.0) * (RIGHT - LEFT);
    let color = |state: &str| match state {
        "connected" | "completed" | "stable" | "joined" | "answer-received" | "answer-sent"
        | "ice-restarted" | "rejoined" | "reconnected" => "#8fd18f",
        "checking"
        | "connecting"
        | "have-local-offer"
        | "have-remote-offer"
        | "offer-sent"
        | "offer-received"
        | "ice-restart"
        | "new"
        | "connected-to-server" => "#f4d06f",
        "disconnected" | "lost" | "warning" => "#f4a259",
        "failed" | "closed" | "bye-sent" | "bye-received" | "peer-left" | "rejected" => "#e07070",
        _ => "#cccccc",
    };
    let mut out = format!(
        "<svg class=\"timeline\" width=\"1000\" height=\"{}\" viewBox=\"0 0 1000 {}\">",
        ROW * 3.0 + 4.0,
        ROW * 3.0 + 4.0
    );
    for (row, machine) in ["signaling", "ice", "connection"].iter().enumerate() {
        let y = row as f64 * ROW + 2.0;
        let _ = write!(
            out,
            "<text x=\"4\" y=\"{:.0}\" font-size=\"12\">{machine}</text>",
            y + 15.0
        );
        let states: Vec<&(f64, String, String)> =
            side.states.iter().filter(|s| s.1 == *machine).collect();
        for (k, (at, _, state)) in states.iter().enumerate() {
            let end = states.get(k + 1).map_or(t.1, |n| n.0);
            let (x0, x1) = (x(*at), x(end));
            let w = (x1 - x0).max(1.0);
            let _ = write!(
                out,
                "<rect x=\"{x0:.1}\" y=\"{y:.0}\" width=\"{w:.1}\" height=\"{:.0}\" fill=\"{}\" stroke=\"#fff\"><title>{} {:.3} s: {}</title></rect>",
                ROW - 4.0,
                color(state),
                machine,
                at,
                esc(state)
            );
            if w > 7.0 * state.len() as f64 {
                let _ = write!(
                    out,
                    "<text x=\"{:.1}\" y=\"{:.0}\" font-size=\"11\">{}</text>",
                    x0 + 3.0,
                    y + 13.0,
                    esc(state)
                );
            }
        }
    }
    out.push_str("</svg>");
    out
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

fn strip_xml_head(svg: &str) -> &str {
    match svg.find("<svg") {
        Some(i) => &svg[i..],
        None => svg,
    }
}

const STYLE: &str = "body{font-family:sans-serif;margin:1em 2em;color:#222}\
.verdict{font-size:1.2em;font-weight:bold}\
.sides{display:flex;gap:2em;flex-wrap:wrap}\
table{border-collapse:collapse;margin:.5em 0}\
th,td{border:1px solid #ccc;padding:2px 6px;text-align:left;font-size:.9em}\
caption{font-weight:bold;text-align:left}\
.plot{position:relative;width:1000px;margin:1em 0}\
.readout{position:absolute;right:8px;top:24px;background:#fffe;font-size:.8em;\
pointer-events:none;white-space:pre}";

/// Hover read-out: the values of every line at the time under the pointer.
const SCRIPT: &str = r#"(function(){
const data = JSON.parse(document.getElementById('rtccall-data').textContent);
document.querySelectorAll('.plot').forEach(function(div){
  const p = data.plots[+div.dataset.plot];
  const out = div.querySelector('.readout');
  const svg = div.querySelector('svg');
  svg.addEventListener('mousemove', function(ev){
    const r = svg.getBoundingClientRect();
    const x = (ev.clientX - r.left) * (svg.viewBox.baseVal.width || r.width) / r.width;
    const g = p.geometry;
    if (x < g.x_px[0] || x > g.x_px[1]) { out.textContent = ''; return; }
    const t = g.t[0] + (x - g.x_px[0]) / (g.x_px[1] - g.x_px[0]) * (g.t[1] - g.t[0]);
    const rows = ['t = ' + t.toFixed(1) + ' s'];
    p.lines.forEach(function(l){
      let best = null;
      l.points.forEach(function(pt){ if (best === null || Math.abs(pt[0]-t) < Math.abs(best[0]-t)) best = pt; });
      if (best) rows.push(data.sides[l.side].label + ' ' + l.name + ': ' + best[1]);
    });
    out.textContent = rows.join('\n');
  });
  svg.addEventListener('mouseleave', function(){ out.textContent = ''; });
});
})();"#;
