//! The `rtccall` binary: parse the command line, run it, exit with its code.

use clap::Parser;

fn main() {
    let cli = rtccall::cli::Cli::parse();
    std::process::exit(rtccall::run(cli));
}
