//! `rtccall serve`: bind, print the URL, serve rooms until Ctrl-C.

use std::io::Write;

use tokio_util::sync::CancellationToken;

use super::fail_usage;
use crate::report::schema::Record;
use crate::{cli, exit, report, signal};

pub async fn serve(args: cli::serve::ServeArgs, cancel: CancellationToken) -> i32 {
    let ice = match args.ice_handout() {
        Ok(i) => i,
        Err(e) => return fail_usage(&e),
    };
    let server = match signal::Server::bind(args.listen).await {
        Ok(s) => s.with_ice(ice),
        Err(e) => {
            eprintln!("rtccall: error: cannot listen on {}: {e}", args.listen);
            return exit::USAGE;
        }
    };
    let url = server.url();
    if args.json {
        report::json::write(&Record::Listening { url });
    } else {
        println!("{url}");
        let _ = std::io::stdout().flush();
    }
    server.run(cancel).await;
    exit::OK
}
