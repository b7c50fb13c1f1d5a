//! `rtccall serve` options.

use std::net::SocketAddr;

use clap::Args;

use crate::exit::Error;
use crate::ice::{IceUrl, Scheme};
use crate::signal::protocol::IceServerJson;
use crate::signal::server::{IceHandout, RestSecret};

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

    /// STUN/TURN server handed to every peer in `joined` (repeatable): the page and the CLI use
    /// them unless given their own. Credentials as turn:USER:PASS@HOST[:PORT].
    #[arg(long = "ice-server", value_name = "URL")]
    pub ice_servers: Vec<String>,

    #[command(flatten)]
    pub turn: super::TurnSecretArgs,
}

impl ServeArgs {
    /// The ICE servers to hand out, validated.
    pub fn ice_handout(&self) -> Result<IceHandout, Error> {
        let mut out = IceHandout::default();
        let mut rest_urls = Vec::new();
        for u in &self.ice_servers {
            let url = IceUrl::parse(u, "--ice-server")?;
            let turn = url.scheme == Scheme::Turn;
            let bare = url.given.clone();
            match url.credentials() {
                Some((user, pass)) => out.servers.push(IceServerJson {
                    urls: vec![bare],
                    username: Some(user.to_string()),
                    credential: Some(pass.to_string()),
                }),
                None if turn && self.turn.turn_secret.is_some() => rest_urls.push(bare),
                None if turn => {
                    return Err(Error::usage(format!(
                        "--ice-server {bare}: a TURN server needs credentials \
                         (turn:USER:PASS@HOST) or --turn-secret"
                    )));
                }
                None => out.servers.push(IceServerJson {
                    urls: vec![bare],
                    username: None,
                    credential: None,
                }),
            }
        }
        if let Some(secret) = &self.turn.turn_secret {
            if rest_urls.is_empty() {
                return Err(Error::usage(
                    "--turn-secret needs a TURN --ice-server without credentials".into(),
                ));
            }
            out.rest = Some(RestSecret {
                secret: secret.clone(),
                user: self.turn.turn_user.clone(),
                ttl_s: self.turn.ttl,
                urls: rest_urls,
            });
        }
        Ok(out)
    }
}
