//! `rtccall serve` options.

use std::net::SocketAddr;

use clap::Args;

/// Options of `rtccall serve`.
#[derive(Debug, Args)]
#[command(after_long_help = super::exit_codes_help())]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(
        long,
        value_name = "ADDR",
        default_value = "127.0.0.1:8787",
        env = "RTCCALL_LISTEN"
    )]
    pub listen: SocketAddr,

    /// Print `{"type":"listening","url":...}` instead of the bare URL.
    #[arg(long)]
    pub json: bool,
}
