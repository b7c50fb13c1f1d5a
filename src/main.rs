//! The `rtccall` binary: parse the command line, run it, exit with its code.

use clap::Parser;
use clap::error::ErrorKind;

fn main() {
    let cli = match rtccall::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => match e.kind() {
            ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => e.exit(),
            _ => {
                // One line, naming what was wrong; `--help` has the rest.
                eprintln!(
                    "rtccall: error: {} (see --help)",
                    rtccall::cli::one_line(&e.to_string())
                );
                std::process::exit(rtccall::exit::USAGE);
            }
        },
    };
    std::process::exit(rtccall::run(cli));
}
