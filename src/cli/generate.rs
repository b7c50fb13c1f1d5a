//! `rtccall generate`: shell completions and man pages from the clap definitions, so the
//! checked-in copies in completions/ and man/ can be regenerated and verified.

use std::path::{Path, PathBuf};

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use super::Cli;

/// Options of `rtccall generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Directory that receives completions/ and man/.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
}

/// Write completions/rtccall.{bash,zsh,fish,ps1,elv} and man/rtccall*.1 under `dir`.
pub fn generate(dir: &Path) -> std::io::Result<()> {
    let completions = dir.join("completions");
    let man = dir.join("man");
    std::fs::create_dir_all(&completions)?;
    std::fs::create_dir_all(&man)?;
    for shell in [
        Shell::Bash,
        Shell::Zsh,
        Shell::Fish,
        Shell::PowerShell,
        Shell::Elvish,
    ] {
        let mut cmd = Cli::command();
        clap_complete::generate_to(shell, &mut cmd, "rtccall", &completions)?;
    }
    let cmd = Cli::command().mut_subcommand("generate", |c| c.hide(true));
    write_man(&cmd, "rtccall", &man)?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("rtccall-{}", sub.get_name());
        let page = sub
            .clone()
            .name(name.clone())
            .display_name(name.clone())
            .bin_name(name.clone());
        write_man(&page, &name, &man)?;
    }
    Ok(())
}

fn write_man(cmd: &clap::Command, name: &str, dir: &Path) -> std::io::Result<()> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut buf)?;
    std::fs::write(dir.join(format!("{name}.1")), buf)
}
