//! The one resolve step: a parsed command line becomes the configuration its command runs, with
//! every file it names read (`--ca`, `--ice-config`, `--tls-cert`/`--tls-key`), the environment
//! and the terminal looked at. Nothing after it reads an argument.

use std::io::IsTerminal;

use super::Command;
use super::serve::ServeSetup;
use crate::call::{AcceptPolicy, CallConfig, WhipKind};
use crate::exit::Error;
use crate::probe::ProbeConfig;
use crate::signal::Role;

/// What a command that runs on the async runtime runs.
pub enum Resolved {
    /// `dial` / `answer`.
    Call {
        config: Box<CallConfig>,
        json: bool,
        /// `--view`: the call screen, and how it shows video.
        view: crate::screen::ViewMode,
    },
    Serve(Box<ServeSetup>),
    Probe {
        config: Box<ProbeConfig>,
        json: bool,
    },
    Load {
        config: Box<crate::load::LoadConfig>,
        json: bool,
        junit: Option<std::path::PathBuf>,
    },
}

impl Command {
    /// Resolve `dial`, `answer`, `publish`, `play`, `serve` or `probe` (blocking: a `--ca` that names a FIFO
    /// blocks in open, so run it where it can be abandoned). `None` for the commands that need
    /// no runtime (`devices`, `token`, `generate`), which run straight from their arguments.
    pub fn resolve(self) -> Option<Result<Resolved, Error>> {
        Some(match self {
            Command::Dial(a) => {
                let json = a.call.output.json;
                let view = a.call.output.view;
                a.call
                    .to_config(Role::Dial, AcceptPolicy::Auto, interactive())
                    .map(|c| Resolved::Call {
                        config: Box::new(c),
                        json,
                        view,
                    })
            }
            Command::Answer(a) => {
                let policy = match (a.reject, a.auto_accept) {
                    (Some(reason), _) => AcceptPolicy::Reject(reason),
                    (None, true) => AcceptPolicy::Auto,
                    (None, false) if std::io::stdin().is_terminal() => AcceptPolicy::Ask,
                    (None, false) => AcceptPolicy::Auto,
                };
                let json = a.call.output.json;
                let view = a.call.output.view;
                a.call
                    .to_config(Role::Answer, policy, interactive())
                    .map(|c| Resolved::Call {
                        config: Box::new(c),
                        json,
                        view,
                    })
            }
            Command::Publish(a) => whip(&a, WhipKind::Publish),
            Command::Play(a) => whip(&a, WhipKind::Play),
            Command::Serve(a) => a.resolve().map(|s| Resolved::Serve(Box::new(s))),
            Command::Probe(a) => {
                let json = a.json;
                a.resolve().map(|c| Resolved::Probe {
                    config: Box::new(c),
                    json,
                })
            }
            Command::Load(a) => a.resolve().map(|c| Resolved::Load {
                config: Box::new(c),
                json: a.json,
                junit: a.junit.clone(),
            }),
            Command::Devices(_) | Command::Token(_) | Command::Report(_) | Command::Generate(_) => {
                return None;
            }
        })
    }
}

fn whip(a: &super::whip::WhipArgs, kind: WhipKind) -> Result<Resolved, Error> {
    a.to_config(kind, interactive()).map(|c| Resolved::Call {
        config: Box::new(c),
        json: a.output.json,
        view: a.output.view,
    })
}

/// A person is at the terminal: microphone and speaker by default, a prompt for calls.
fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}
