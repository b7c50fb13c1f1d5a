//! Files named on the command line (`--ca`, `--ice-config`, PEM files), read with a bound.

use crate::exit::Error;

/// The bytes of a file named by `flag`, at most `limit` of them (over it: a usage error saying
/// what such a file usually holds, `typical`). Blocking, and a FIFO blocks in open: call it
/// where it can be abandoned (`commands::prepare`).
pub fn read_arg_file(
    path: &std::path::Path,
    flag: &str,
    limit: u64,
    typical: &str,
) -> Result<Vec<u8>, Error> {
    use std::io::Read;
    let shown = path.display();
    let cannot = |e: std::io::Error| Error::usage(format!("{flag} {shown}: cannot read it ({e})"));
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(cannot)?
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() as u64 > limit {
        return Err(Error::usage(format!(
            "{flag} {shown}: larger than {} KiB ({typical})",
            limit / 1024
        )));
    }
    Ok(bytes)
}
