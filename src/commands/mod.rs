//! The command bodies, one module per command: each turns validated arguments into work and
//! reporters, and returns the exit code.

mod call;
mod devices;
mod probe;
mod serve;
mod token;

pub use call::call;
pub use devices::devices;
pub use probe::probe;
pub use serve::serve;
pub use token::token;

use crate::exit::Error;

pub(crate) fn fail_usage(e: &Error) -> i32 {
    eprintln!("rtccall: error: {e}");
    e.code()
}
