//! `rtccall serve`: bind, print the URL, serve rooms until Ctrl-C.

use std::io::Write;

use tokio_util::sync::CancellationToken;

use super::fail_usage;
use crate::report::schema::Record;
use crate::{cli, exit, report, signal};

pub async fn serve(args: cli::serve::ServeArgs, cancel: CancellationToken) -> i32 {
    // Before the limits are worked out from it.
    signal::server::limits::raise_fd_limit();
    let (config, args) = match super::prepare(&cancel, move || {
        let config = args.to_config()?;
        Ok((config, args))
    })
    .await
    {
        Ok(v) => v,
        Err(code) => return code,
    };
    let tls = config.tls.clone();
    let open = config.secret.is_none();
    let server = match signal::Server::bind_with(args.listen, config).await {
        Ok(s) => s,
        Err(e) => return fail_usage(&e),
    };
    if let Some(tls) = &tls {
        if args.tls_self_signed {
            eprintln!(
                "rtccall: serving a self-signed certificate, SHA-256 fingerprint {}",
                tls.fingerprint
            );
            eprintln!(
                "rtccall: browsers warn about it: accept it only if the fingerprint they show \
                 matches; terminals: --ca FILE (write it with --tls-cert-out) or --insecure"
            );
        }
        if let Some(out) = &args.tls_cert_out {
            if let Err(e) = std::fs::write(out, &tls.cert_pem) {
                return fail_usage(&exit::Error::usage(format!(
                    "--tls-cert-out {}: cannot write it ({e})",
                    out.display()
                )));
            }
        }
    }
    if open && !args.listen.ip().is_loopback() {
        eprintln!(
            "rtccall: warning: serving on {} without --secret: anyone who can reach it can join \
             any room and receive the other peer's offer",
            server.local_addr()
        );
    }
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
