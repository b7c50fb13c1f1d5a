//! The command bodies, one module per command: each turns a resolved configuration (see
//! [`crate::cli::resolve`]) into work and reporters, and returns the exit code.

mod call;
mod devices;
mod load;
mod probe;
mod report;
mod serve;
mod token;

pub use call::call;
pub use devices::devices;
pub use load::load;
pub use probe::probe;
pub use report::report;
pub use serve::serve;
pub use token::token;

use crate::exit::Error;

/// Resolve the arguments (see [`crate::cli::resolve`]) where reading their files (`--ca`, `--ice-config`, `--tls-cert`...)
/// can be abandoned: a FIFO that never opens or never ends blocks a thread, not the command,
/// so Ctrl-C/SIGTERM still end it (exit 130). `Err` carries the exit code.
pub(crate) async fn prepare<T: Send + 'static>(
    cancel: &tokio_util::sync::CancellationToken,
    build: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, i32> {
    let building = tokio::task::spawn_blocking(build);
    tokio::select! {
        r = building => match r {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(fail_usage(&e)),
            Err(_) => Err(fail_usage(&Error::usage("reading the arguments' files failed".to_string()))),
        },
        _ = cancel.cancelled() => Err(crate::exit::INTERRUPTED),
    }
}

pub(crate) fn fail_usage(e: &Error) -> i32 {
    eprintln!("rtccall: error: {e}");
    e.code()
}
