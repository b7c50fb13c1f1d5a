//! `rtccall serve` options.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

use crate::exit::Error;
use crate::ice::{IceUrl, Scheme};
use crate::signal::protocol::IceServer;
use crate::signal::server::limits::Limits;
use crate::signal::server::redis::RedisConfig;
use crate::signal::server::{Config, IceHandout, RestSecret};
use crate::tls::ServerTls;

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

    /// Serve https:// and wss:// with this PEM certificate (chain); needs --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key", help_heading = "TLS")]
    pub tls_cert: Option<PathBuf>,

    /// The PEM private key of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert", help_heading = "TLS")]
    pub tls_key: Option<PathBuf>,

    /// Serve https:// and wss:// with a certificate made in memory for localhost, 127.0.0.1,
    /// ::1, the listening address and each --tls-name; its SHA-256 fingerprint is printed.
    #[arg(long, conflicts_with = "tls_cert", help_heading = "TLS")]
    pub tls_self_signed: bool,

    /// Another DNS name or IP address for the --tls-self-signed certificate (repeatable).
    #[arg(
        long,
        value_name = "NAME",
        requires = "tls_self_signed",
        help_heading = "TLS"
    )]
    pub tls_name: Vec<String>,

    /// Write the --tls-self-signed certificate (PEM) to FILE, for clients' --ca.
    #[arg(
        long,
        value_name = "FILE",
        requires = "tls_self_signed",
        help_heading = "TLS"
    )]
    pub tls_cert_out: Option<PathBuf>,

    /// Require every join to carry an access token signed with this secret (`rtccall token`
    /// mints them); /healthz and /metrics then show counts only to `Authorization: Bearer
    /// <secret>`.
    #[arg(
        long,
        value_name = "SECRET",
        env = "RTCCALL_SERVE_SECRET",
        hide_env_values = true,
        help_heading = "Access"
    )]
    pub secret: Option<String>,

    /// A web origin (scheme://host[:port]) whose pages may use this server besides its own
    /// (repeatable; `*` for any). Browser handshakes from other origins get 403.
    #[arg(long, value_name = "ORIGIN", help_heading = "Access")]
    pub allow_origin: Vec<String>,

    /// A host name this server is known by (repeatable; `*` for any). A browser handshake
    /// whose Host is not one of the server's names (an IP address, `localhost`, the machine's
    /// name, --tls-name, these) is refused with 403 unless its Origin is allowed by
    /// --allow-origin: a DNS-rebinding page cannot join rooms of a LAN server.
    #[arg(long, value_name = "NAME", help_heading = "Access")]
    pub allow_host: Vec<String>,

    /// Connections served at once (default: the open-file limit less a reserve); over it,
    /// requests get 503 while /healthz keeps answering.
    #[arg(long, value_name = "N", help_heading = "Limits")]
    pub max_connections: Option<usize>,

    /// Connections per client address (IPv6: per /64); over it, 429. 0: no cap.
    #[arg(long, value_name = "N", default_value_t = 64, help_heading = "Limits")]
    pub max_per_ip: usize,

    /// Joins per second per client address (bursts of twice that); over it, the join gets
    /// `rate-limited`. 0: no limit.
    #[arg(long, value_name = "N", default_value_t = 10, help_heading = "Limits")]
    pub join_rate: u32,

    /// Seconds a client may take to send a request head (and to finish a TLS handshake).
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 10.0,
        help_heading = "Limits"
    )]
    pub head_timeout: f64,

    /// Seconds an upgraded WebSocket may stay without joining a room before it is closed.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 10.0,
        help_heading = "Limits"
    )]
    pub join_timeout: f64,

    /// Seconds a write to a client may block (it does not read) before it is disconnected.
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 10.0,
        help_heading = "Limits"
    )]
    pub stall_timeout: f64,

    /// Share rooms with every `rtccall serve` on this Redis (redis://[:PASSWORD@]HOST[:PORT][/DB]).
    #[arg(
        long,
        value_name = "URL",
        env = "RTCCALL_REDIS",
        hide_env_values = true,
        help_heading = "Scale-out"
    )]
    pub redis: Option<String>,

    /// Namespace of this deployment's keys and channels in Redis.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "rtccall",
        requires = "redis",
        help_heading = "Scale-out"
    )]
    pub redis_prefix: String,
}

/// `rtccall serve` resolved: the server's configuration and what the command does around it.
pub struct ServeSetup {
    pub listen: SocketAddr,
    pub config: Config,
    /// Say that the certificate is self-signed, with its fingerprint.
    pub self_signed: bool,
    /// Write the certificate here (`--tls-cert-out`).
    pub cert_out: Option<PathBuf>,
    pub json: bool,
}

impl ServeArgs {
    /// Resolve: raises the open-files limit first (the server's limits are worked out from
    /// it), then reads the certificate files.
    pub fn resolve(&self) -> Result<ServeSetup, Error> {
        crate::signal::server::limits::raise_fd_limit();
        Ok(ServeSetup {
            listen: self.listen,
            config: self.to_config()?,
            self_signed: self.tls_self_signed,
            cert_out: self.tls_cert_out.clone(),
            json: self.json,
        })
    }

    /// The server's configuration (reads the certificate files).
    pub fn to_config(&self) -> Result<Config, Error> {
        let tls = match (&self.tls_cert, &self.tls_key) {
            (Some(c), Some(k)) => Some(ServerTls::from_files(c, k)?),
            _ if self.tls_self_signed => {
                let mut names = vec!["localhost".to_string(), "127.0.0.1".into(), "::1".into()];
                let ip = self.listen.ip();
                if !ip.is_unspecified() && !ip.is_loopback() {
                    names.push(ip.to_string());
                }
                names.extend(self.tls_name.iter().cloned());
                Some(ServerTls::self_signed(names)?)
            }
            _ => None,
        };
        if let Some(s) = &self.secret {
            if s.len() < 16 {
                return Err(Error::usage(
                    "--secret must be at least 16 characters (it signs access tokens)".into(),
                ));
            }
        }
        for h in &self.allow_host {
            let ok = h == "*"
                || (!h.is_empty()
                    && h.len() <= 253
                    && h.chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-')));
            if !ok {
                return Err(Error::usage(format!(
                    "--allow-host {h:?}: give a host name like calls.example.com (no port), or *"
                )));
            }
        }
        for o in &self.allow_origin {
            let ok = o == "*"
                || url::Url::parse(o).is_ok_and(|u| {
                    matches!(u.scheme(), "http" | "https")
                        && u.host().is_some()
                        && u.path() == "/"
                        && u.query().is_none()
                });
            if !ok {
                return Err(Error::usage(format!(
                    "--allow-origin {o:?}: give an origin like https://example.com[:PORT] (or *)"
                )));
            }
        }
        if let Some(r) = &self.redis {
            let shown = crate::signal::server::redis::redact(r);
            if r.starts_with("rediss:") {
                return Err(Error::usage(format!(
                    "--redis {shown}: Redis over TLS is not built in; use redis:// on a private \
                     network or through a TLS tunnel"
                )));
            }
            if !url::Url::parse(r)
                .is_ok_and(|u| matches!(u.scheme(), "redis" | "redis+unix" | "unix"))
            {
                return Err(Error::usage(format!(
                    "--redis {shown}: give a URL like redis://127.0.0.1:6379"
                )));
            }
        }
        if self.redis_prefix.is_empty()
            || !self
                .redis_prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            return Err(Error::usage(format!(
                "--redis-prefix {:?}: use letters, digits, '.', '_' and '-'",
                self.redis_prefix
            )));
        }
        let secs = |name: &str, v: f64| {
            if v.is_finite() && (0.1..=3600.0).contains(&v) {
                Ok(std::time::Duration::from_secs_f64(v))
            } else {
                Err(Error::usage(format!(
                    "{name} must be between 0.1 and 3600 seconds"
                )))
            }
        };
        let mut limits = Limits {
            max_per_ip: self.max_per_ip,
            join_rate: self.join_rate,
            head_timeout: secs("--head-timeout", self.head_timeout)?,
            join_timeout: secs("--join-timeout", self.join_timeout)?,
            stall_timeout: secs("--stall-timeout", self.stall_timeout)?,
            ..Limits::default()
        };
        if let Some(n) = self.max_connections {
            if n == 0 {
                return Err(Error::usage("--max-connections must be at least 1".into()));
            }
            limits.max_connections = n;
        }
        Ok(Config {
            ice: self.ice_handout()?,
            tls,
            secret: self.secret.clone(),
            allow_origins: self.allow_origin.clone(),
            allow_hosts: self
                .allow_host
                .iter()
                .chain(&self.tls_name)
                .map(|h| h.to_ascii_lowercase())
                .collect(),
            limits,
            redis: self.redis.as_ref().map(|url| RedisConfig {
                url: url.clone(),
                prefix: self.redis_prefix.clone(),
            }),
        })
    }

    /// The ICE servers to hand out, validated.
    pub fn ice_handout(&self) -> Result<IceHandout, Error> {
        let mut out = IceHandout::default();
        let mut rest_urls = Vec::new();
        for u in &self.ice_servers {
            let url = IceUrl::parse(u, "--ice-server")?;
            let turn = url.scheme == Scheme::Turn;
            let bare = url.given.clone();
            match url.credentials() {
                Some((user, pass)) => out.servers.push(IceServer {
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
                None => out.servers.push(IceServer {
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
