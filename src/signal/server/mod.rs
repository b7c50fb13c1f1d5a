//! `rtccall serve` (and the embedded server a peer starts for itself): binds, accepts
//! connections under the [`self::limits`], speaks TLS when given a certificate, and hands
//! each connection to hyper ([`self::http`]); rooms live in a [`Hub`].

pub mod budget;
pub mod conn;
pub mod http;
pub mod hub;
pub mod limits;
pub mod metrics;
pub mod outbox;
pub mod redis;
pub mod rooms;
pub mod sessions;
pub mod whip;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use self::conn::Shared;
use self::http::{ConnInfo, Site, Standing};
use self::hub::Hub;
use self::limits::{Admission, Gate, Limits};
use self::metrics::Metrics;
use self::redis::{RedisConfig, RedisRooms};
use self::rooms::LocalRooms;
use crate::exit::Error;
use crate::signal::protocol::IceServer;
use crate::tls::ServerTls;

pub use self::rooms::RESUME_GRACE;

/// The ICE servers a signaling server hands to every peer in `joined`.
#[derive(Debug, Clone, Default)]
pub struct IceHandout {
    /// Given as they are (credentials included).
    pub servers: Vec<IceServer>,
    /// TURN URLs that get fresh TURN REST credentials minted per join from this secret.
    pub rest: Option<RestSecret>,
}

/// A coturn `static-auth-secret` and the lifetime of the credentials minted from it.
#[derive(Debug, Clone)]
pub struct RestSecret {
    pub secret: String,
    pub user: String,
    pub ttl_s: u64,
    pub urls: Vec<String>,
}

impl IceHandout {
    /// The list for one join.
    pub fn for_join(&self) -> Vec<IceServer> {
        let mut v = self.servers.clone();
        if let Some(r) = &self.rest {
            let (username, credential) = crate::ice::rest_credentials(
                &r.secret,
                &r.user,
                r.ttl_s,
                std::time::SystemTime::now(),
            );
            v.push(IceServer {
                urls: r.urls.clone(),
                username: Some(username),
                credential: Some(credential),
            });
        }
        v
    }
}

/// How a server is run; the default is what the embedded server uses.
#[derive(Clone, Default)]
pub struct Config {
    pub ice: IceHandout,
    /// Serve `https://` and `wss://`.
    pub tls: Option<ServerTls>,
    /// Joins need an access token signed with this (`--secret`).
    pub secret: Option<String>,
    /// Page origins allowed besides the server's own (`--allow-origin`).
    pub allow_origins: Vec<String>,
    /// Host names the server is known by besides its addresses, `localhost` and the machine's
    /// name (`--allow-host`, `--tls-name`), lower case; `*` for any.
    pub allow_hosts: Vec<String>,
    pub limits: Limits,
    /// Share rooms with other instances through Redis.
    pub redis: Option<RedisConfig>,
}

/// A bound signaling server; call [`Server::run`] to serve.
pub struct Server {
    listener: TcpListener,
    addr: SocketAddr,
    shared: Arc<Shared>,
    site: Arc<Site>,
    tls: Option<ServerTls>,
}

impl Server {
    /// Bind with the defaults (port 0 picks a free port).
    pub async fn bind(addr: SocketAddr) -> std::io::Result<Server> {
        let listener = TcpListener::bind(addr).await?;
        Ok(Server::assemble(
            listener,
            Config::default(),
            Hub::Local(LocalRooms::default()),
        ))
    }

    /// Bind and set up as `config` says (connects to Redis when asked to).
    pub async fn bind_with(addr: SocketAddr, config: Config) -> Result<Server, Error> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| Error::usage(format!("cannot listen on {addr}: {e}")))?;
        let hub = match &config.redis {
            Some(r) => Hub::Redis(RedisRooms::connect(r.clone()).await?),
            None => Hub::Local(LocalRooms::default()),
        };
        Ok(Server::assemble(listener, config, hub))
    }

    fn assemble(listener: TcpListener, config: Config, hub: Hub) -> Server {
        let addr = listener
            .local_addr()
            .unwrap_or_else(|_| ([0, 0, 0, 0], 0).into());
        let site = Site {
            tls: config.tls.is_some(),
            allow_origins: config
                .allow_origins
                .iter()
                .map(|o| http::normalise_origin(o))
                .collect(),
            loopback: addr.ip().is_loopback(),
            hosts: {
                let mut h = config.allow_hosts.clone();
                let name = rustix::system::uname()
                    .nodename()
                    .to_string_lossy()
                    .to_ascii_lowercase();
                if !name.is_empty() {
                    h.push(format!("{name}.local"));
                    h.push(name);
                }
                h
            },
        };
        let shared = Shared {
            hub,
            ice: config.ice,
            secret: config.secret,
            gate: Gate::new(config.limits),
            metrics: Metrics::default(),
            ids: AtomicU64::new(1),
            stop: CancellationToken::new(),
            whip: Default::default(),
        };
        Server {
            listener,
            addr,
            shared: Arc::new(shared),
            site: Arc::new(site),
            tls: config.tls,
        }
    }

    /// Open connections, as a live count (for a peer's embedded server to wait on).
    pub fn clients(&self) -> Arc<Gate> {
        self.shared.gate.clone()
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The URL clients connect to: `ws://` or, with TLS, `wss://`.
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "wss" } else { "ws" };
        format!("{scheme}://{}/", self.addr)
    }

    /// Serve until `shutdown` is cancelled. Never returns an error for a client's fault.
    pub async fn run(self, shutdown: CancellationToken) {
        if let Hub::Redis(r) = &self.shared.hub {
            r.start(shutdown.clone());
        }
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        let admission = self.shared.gate.admit(peer.ip());
                        let (permit, standing) = match admission {
                            Admission::Open(p) => (p, Standing::Open),
                            Admission::Busy(p) => (p, Standing::Busy),
                            Admission::TooManyFromAddress(p) => (p, Standing::TooMany),
                            Admission::Drop => {
                                self.shared.metrics.refused("overloaded");
                                continue;
                            }
                        };
                        let _ = stream.set_nodelay(true);
                        let info = Arc::new(ConnInfo {
                            peer,
                            standing,
                            permit: std::sync::Mutex::new(Some(permit)),
                        });
                        let (shared, site, tls) =
                            (self.shared.clone(), self.site.clone(), self.tls.clone());
                        let shutdown = shutdown.clone();
                        tokio::spawn(async move {
                            let head = shared.gate.limits.head_timeout;
                            tokio::select! {
                                _ = shutdown.cancelled() => {}
                                _ = async {
                                    match tls {
                                        None => serve_http(stream, shared, site, info).await,
                                        Some(tls) => {
                                            let accepted = tokio::time::timeout(
                                                head,
                                                tls.acceptor.accept(stream),
                                            ).await;
                                            match accepted {
                                                Ok(Ok(s)) => serve_http(s, shared, site, info).await,
                                                Ok(Err(e)) => {
                                                    shared.metrics.refused("tls");
                                                    debug!("TLS handshake from {peer} failed: {e}");
                                                }
                                                Err(_) => shared.metrics.refused("tls-timeout"),
                                            }
                                        }
                                    }
                                } => {}
                            }
                        });
                    }
                    Err(e) => {
                        // Out of file descriptors and the like: wait a moment, keep serving.
                        warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
            }
        }
        self.shared.stop.cancel();
        info!("signaling server on {} stopped", self.addr);
    }
}

/// Most time one plain HTTP connection is kept (keep-alive included); an upgrade leaves it.
const HTTP_CONNECTION_LIFETIME: Duration = Duration::from_secs(60);

/// Serve HTTP requests on one connection until it closes or upgrades.
async fn serve_http<S>(io: S, shared: Arc<Shared>, site: Arc<Site>, info: Arc<ConnInfo>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let head = shared.gate.limits.head_timeout;
    let lifetime = if info.standing == Standing::Open {
        HTTP_CONNECTION_LIFETIME
    } else {
        head
    };
    let peer = info.peer;
    let svc = {
        let shared = shared.clone();
        hyper::service::service_fn(move |req| {
            http::handle(req, shared.clone(), site.clone(), info.clone())
        })
    };
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(head)
        .max_buf_size(http::MAX_HEAD)
        .max_headers(64)
        .serve_connection(TokioIo::new(io), svc)
        .with_upgrades();
    match tokio::time::timeout(lifetime, conn).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            if e.is_timeout() {
                shared.metrics.refused("head-timeout");
            } else if e.is_parse_too_large() {
                shared.metrics.refused("head-too-large");
            } else if e.is_parse() {
                shared.metrics.refused("bad-request");
            }
            debug!("HTTP connection from {peer}: {e}");
        }
        Err(_) => debug!("HTTP connection from {peer} held too long; closed"),
    }
}
