//! `rtccall serve`: bind, print the URL, serve rooms until Ctrl-C.

use std::io::Write;

use tokio_util::sync::CancellationToken;

use super::fail_usage;
use crate::report::schema::Record;
use crate::{cli, exit, report, signal};

pub async fn serve(setup: cli::serve::ServeSetup, cancel: CancellationToken) -> i32 {
    let cli::serve::ServeSetup {
        listen,
        config,
        self_signed,
        cert_out,
        json,
    } = setup;
    let tls = config.tls.clone();
    let open = config.secret.is_none();
    let server = match signal::Server::bind_with(listen, config).await {
        Ok(s) => s,
        Err(e) => return fail_usage(&e),
    };
    if let Some(tls) = &tls {
        if self_signed {
            eprintln!(
                "rtccall: serving a self-signed certificate, SHA-256 fingerprint {}",
                tls.fingerprint
            );
            eprintln!(
                "rtccall: browsers warn about it: accept it only if the fingerprint they show \
                 matches; terminals: --ca FILE (write it with --tls-cert-out) or --insecure"
            );
        }
        if let Some(out) = &cert_out {
            if let Err(e) = std::fs::write(out, &tls.cert_pem) {
                return fail_usage(&exit::Error::usage(format!(
                    "--tls-cert-out {}: cannot write it ({e})",
                    out.display()
                )));
            }
        }
    }
    if open && !listen.ip().is_loopback() {
        eprintln!(
            "rtccall: warning: serving on {} without --secret: anyone who can reach it can join \
             any room and receive the other peer's offer",
            server.local_addr()
        );
    }
    let url = server.url();
    if json {
        report::json::write(&Record::Listening { url });
    } else {
        println!("{url}");
        let _ = std::io::stdout().flush();
    }
    server.run(cancel).await;
    exit::OK
}
