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
    if args.output.is_none() && args.png.is_none() && args.svg.is_none() {
        return Err(Error::usage(
            "nothing to write: give -o FILE.html, --png FILE or --svg FILE".into(),
        ));
    }
    let mut sides = args
        .inputs
        .iter()
        .map(|p| read::read(p))
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
    Ok(())
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
