//! `rtccall report`: read one or two sides of a call and write the HTML report and pictures.

use crate::cli::report::ReportArgs;
use crate::dump::read::{self, Side};
use crate::exit::{self, Error};
use crate::plot;

pub fn report(args: &ReportArgs) -> i32 {
    match run(args) {
        Ok(()) => exit::OK,
        Err(e) => super::fail_usage(&e),
    }
}

fn run(args: &ReportArgs) -> Result<(), Error> {
    if args.output.is_none()
        && args.png.is_none()
        && args.svg.is_none()
        && args.webrtc_internals.is_none()
    {
        return Err(Error::usage(
            "nothing to write: give -o FILE.html, --png FILE, --svg FILE or --webrtc-internals FILE"
                .into(),
        ));
    }
    let mut sides = args
        .inputs
        .iter()
        .map(|p| read::read(p, args.webrtc_internals.is_some()))
        .collect::<Result<Vec<Side>, Error>>()?;
    align(&mut sides);
    if let Some(path) = &args.output {
        let html = plot::html::render(&sides)?;
        write(path, html.as_bytes())?;
    }
    if let Some(path) = &args.png {
        plot::picture(path, &sides, false)?;
    }
    if let Some(path) = &args.svg {
        plot::picture(path, &sides, true)?;
    }
    if let Some(path) = &args.webrtc_internals {
        write(
            path,
            internals(&args.inputs, &sides)?.to_string().as_bytes(),
        )?;
    }
    Ok(())
}

/// The sides as one webrtc-internals dump: one peer connection per side.
fn internals(inputs: &[std::path::PathBuf], sides: &[Side]) -> Result<serde_json::Value, Error> {
    let mut out: Option<serde_json::Value> = None;
    for (side, path) in sides.iter().zip(inputs) {
        let Some(mut one) = crate::dump::internals::from_side(side) else {
            return Err(Error::usage(format!(
                "{}: --webrtc-internals needs rtcstats dumps (--stats-dump), not NDJSON",
                path.display()
            )));
        };
        match out.as_mut() {
            None => out = Some(one),
            Some(all) => {
                // The second side's connection under a key of its own.
                if let (Some(to), Some(from)) = (
                    all["PeerConnections"].as_object_mut(),
                    one["PeerConnections"].as_object_mut(),
                ) {
                    for (_, v) in std::mem::take(from) {
                        to.insert("1-2".into(), v);
                    }
                }
            }
        }
    }
    out.ok_or_else(|| Error::usage("no input".into()))
}

/// Put two sides on one time axis: dumps by their clocks, otherwise by when each connected.
fn align(sides: &mut [Side]) {
    let [a, b] = sides else { return };
    let by = match (a.start_ms, b.start_ms, a.connected_s, b.connected_s) {
        (Some(sa), Some(sb), _, _) => (sb - sa) / 1000.0,
        (_, _, Some(ca), Some(cb)) => ca - cb,
        _ => 0.0,
    };
    b.shift(by);
}

fn write(path: &std::path::Path, bytes: &[u8]) -> Result<(), Error> {
    std::fs::write(path, bytes)
        .map_err(|e| Error::usage(format!("{}: cannot write it: {e}", path.display())))
}
