//! TLS for everything rtccall speaks it on: how clients check servers (Web PKI roots, `--ca`,
//! `--insecure`), failures in plain words, and the certificate `rtccall serve` presents
//! (`--tls-cert`/`--tls-key` files, or one made in memory with `--tls-self-signed`).

use std::path::Path;
use std::sync::Arc;

use crate::exit::Error;

/// How a client checks the servers it speaks TLS to (TURN over TLS, `wss://` signaling).
#[derive(Clone)]
pub struct TlsSetup {
    config: Arc<rustls::ClientConfig>,
    connector: tokio_rustls::TlsConnector,
}

/// The most a PEM file given on the command line may hold (a long chain is a few tens of KiB).
pub const PEM_LIMIT: u64 = 1 << 20;

/// The bytes of the PEM file given as `flag`, at most [`PEM_LIMIT`] of them.
pub fn read_pem(path: &Path, flag: &str) -> Result<Vec<u8>, Error> {
    crate::argfile::read_arg_file(
        path,
        flag,
        PEM_LIMIT,
        "a PEM certificate or key is a few KiB",
    )
}

impl TlsSetup {
    /// Web PKI roots, plus the certificates of `ca` (PEM); `insecure` skips verification.
    pub fn new(ca: Option<&Path>, insecure: bool) -> Result<TlsSetup, Error> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::usage(format!("TLS set-up failed: {e}")))?;
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let mut pinned = Vec::new();
        if let Some(ca) = ca {
            use rustls::pki_types::CertificateDer;
            use rustls::pki_types::pem::PemObject;
            let what = ca.display();
            let pem = read_pem(ca, "--ca")?;
            for cert in CertificateDer::pem_slice_iter(&pem) {
                let cert = cert.map_err(|e| {
                    Error::usage(format!("--ca {what}: not a PEM certificate ({e})"))
                })?;
                roots.add(cert.clone()).map_err(|e| {
                    Error::usage(format!("--ca {what}: unusable certificate ({e})"))
                })?;
                pinned.push(cert);
            }
            if pinned.is_empty() {
                return Err(Error::usage(format!(
                    "--ca {what}: no PEM certificate in it"
                )));
            }
        }
        let webpki =
            rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| Error::usage(format!("TLS set-up failed: {e}")))?;
        let config = builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Verifier {
                webpki,
                pinned,
                insecure,
            }))
            .with_no_client_auth();
        let config = Arc::new(config);
        Ok(TlsSetup {
            connector: tokio_rustls::TlsConnector::from(config.clone()),
            config,
        })
    }

    /// A connector for TLS streams.
    pub fn connector(&self) -> &tokio_rustls::TlsConnector {
        &self.connector
    }

    /// The client configuration (for libraries that take one, like tokio-tungstenite).
    pub fn config(&self) -> Arc<rustls::ClientConfig> {
        self.config.clone()
    }
}

impl std::fmt::Debug for TlsSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TlsSetup")
    }
}

/// Web PKI verification, except that a certificate given with `--ca` is also trusted as the
/// server's own certificate: a self-signed certificate made with `openssl req -x509` is marked
/// as a CA, which Web PKI refuses as a server certificate even when it is the trust anchor.
/// With `insecure` (`--insecure`) any certificate is accepted; handshake signatures are still
/// checked.
#[derive(Debug)]
struct Verifier {
    webpki: Arc<rustls::client::WebPkiServerVerifier>,
    pinned: Vec<rustls::pki_types::CertificateDer<'static>>,
    insecure: bool,
}

impl rustls::client::danger::ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &rustls::pki_types::CertificateDer<'_>,
        intermediates: &[rustls::pki_types::CertificateDer<'_>],
        name: &rustls::pki_types::ServerName<'_>,
        ocsp: &[u8],
        now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        if self.insecure {
            return Ok(rustls::client::danger::ServerCertVerified::assertion());
        }
        match self
            .webpki
            .verify_server_cert(end_entity, intermediates, name, ocsp, now)
        {
            Ok(v) => Ok(v),
            Err(_)
                if self
                    .pinned
                    .iter()
                    .any(|p| p.as_ref() == end_entity.as_ref()) =>
            {
                // The very certificate the user trusts: its name must still match the server.
                let cert = webpki::EndEntityCert::try_from(end_entity).map_err(|e| {
                    rustls::Error::InvalidCertificate(rustls::CertificateError::Other(
                        rustls::OtherError(Arc::new(e)),
                    ))
                })?;
                cert.verify_is_valid_for_subject_name(name).map_err(|_| {
                    rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForName)
                })?;
                Ok(rustls::client::danger::ServerCertVerified::assertion())
            }
            Err(e) => Err(e),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// A TLS failure of a connection to `host`, in plain words.
pub fn explain(e: &std::io::Error, host: &str) -> String {
    match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        Some(inner) => explain_rustls(inner, host),
        None => format!("handshake failed: {e}"),
    }
}

/// Whether a failed handshake got TLS back from the server (a certificate, an alert) rather
/// than something else or nothing (a closed connection, bytes that are not TLS).
pub fn server_spoke_tls(e: &std::io::Error) -> bool {
    match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        Some(rustls::Error::InvalidMessage(_)) | None => false,
        Some(_) => true,
    }
}

/// A rustls error in plain words.
pub fn explain_rustls(e: &rustls::Error, host: &str) -> String {
    use rustls::CertificateError as C;
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            C::UnknownIssuer | C::BadSignature => "the certificate is not signed by a trusted \
                authority (self-signed or a private CA?): trust it with --ca FILE, or skip the \
                check with --insecure"
                .to_string(),
            C::NotValidForName | C::NotValidForNameContext { .. } => {
                format!("the certificate is not valid for {host:?} (name mismatch): {c:?}")
            }
            C::Expired | C::ExpiredContext { .. } => "the certificate has expired".to_string(),
            C::NotValidYet | C::NotValidYetContext { .. } => {
                "the certificate is not valid yet (clock skew?)".to_string()
            }
            C::Other(o) if format!("{o:?}").contains("CaUsedAsEndEntity") => {
                "the server presents a CA certificate as its own (as `openssl req -x509` makes): \
                 trust that exact certificate with --ca FILE, or issue a server certificate"
                    .to_string()
            }
            other => format!("the certificate was refused: {other:?}"),
        },
        other => format!("handshake failed: {other}"),
    }
}

/// The certificate and key `rtccall serve` presents.
#[derive(Clone)]
pub struct ServerTls {
    /// The acceptor for incoming connections.
    pub acceptor: tokio_rustls::TlsAcceptor,
    /// SHA-256 of the leaf certificate (DER), as `AB:CD:...`.
    pub fingerprint: String,
    /// The leaf certificate as PEM (to hand to clients as `--ca`).
    pub cert_pem: String,
}

impl ServerTls {
    /// Load a PEM certificate chain and its PEM private key.
    pub fn from_files(cert: &Path, key: &Path) -> Result<ServerTls, Error> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let cert_pem = read_pem(cert, "--tls-cert")?;
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
            .collect::<Result<_, _>>()
            .map_err(|e| {
                Error::usage(format!(
                    "--tls-cert {}: not a PEM certificate ({e})",
                    cert.display()
                ))
            })?;
        if chain.is_empty() {
            return Err(Error::usage(format!(
                "--tls-cert {}: no PEM certificate in it",
                cert.display()
            )));
        }
        let key_pem = read_pem(key, "--tls-key")?;
        let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
            Error::usage(format!(
                "--tls-key {}: no usable PEM private key in it ({e})",
                key.display()
            ))
        })?;
        let pem = String::from_utf8_lossy(&cert_pem).into_owned();
        ServerTls::new(chain, key, pem)
    }

    /// A self-signed certificate made in memory for `names` (DNS names or IP addresses).
    pub fn self_signed(names: Vec<String>) -> Result<ServerTls, Error> {
        let made = rcgen::generate_simple_self_signed(names)
            .map_err(|e| Error::usage(format!("--tls-self-signed: cannot make one: {e}")))?;
        let pem = made.cert.pem();
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(made.signing_key.serialize_der().into());
        ServerTls::new(vec![made.cert.der().clone()], key, pem)
    }

    fn new(
        chain: Vec<rustls::pki_types::CertificateDer<'static>>,
        key: rustls::pki_types::PrivateKeyDer<'static>,
        cert_pem: String,
    ) -> Result<ServerTls, Error> {
        let fingerprint = ring::digest::digest(&ring::digest::SHA256, chain[0].as_ref())
            .as_ref()
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(":");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::usage(format!("TLS set-up failed: {e}")))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| {
                Error::usage(format!(
                    "--tls-cert/--tls-key: the key does not fit the certificate or is unusable ({e})"
                ))
            })?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(ServerTls {
            acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
            fingerprint,
            cert_pem,
        })
    }
}
