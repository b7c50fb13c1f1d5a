//! `rtccall report` arguments.

use std::path::PathBuf;

use clap::Args;

/// Options of `rtccall report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// One or two files: rtcstats dumps (`--stats-dump`) or rtccall NDJSON (`--json`); two are
    /// the two sides of one call, drawn together (aligned on the clock for two dumps, else on
    /// the moment each connected).
    #[arg(value_name = "FILE", required = true, num_args = 1..=2)]
    pub inputs: Vec<PathBuf>,

    /// Write the self-contained HTML report here.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Write every plot, stacked, as a PNG picture here.
    #[arg(long, value_name = "FILE")]
    pub png: Option<PathBuf>,

    /// Write every plot, stacked, as an SVG picture here.
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,

    /// Write the call in the webrtc-internals dump format (Chrome's "Create dump") here;
    /// from rtcstats dumps only (two sides: two peer connections in one dump).
    #[arg(long, value_name = "FILE")]
    pub webrtc_internals: Option<PathBuf>,
}
