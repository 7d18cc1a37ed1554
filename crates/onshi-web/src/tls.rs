//! HTTPS: TLS 1.3 only, and optionally client certificates.
//!
//! MHLW 医療情報システムの安全管理に関するガイドライン 第6.0版 (システム運用編
//! §13, via 総務省 別紙2): where TLS is used, TLS 1.3 with client-certificate
//! authentication. `onshi serve --tls-cert --tls-key` serves TLS 1.3 only (a
//! TLS 1.2 client fails the handshake); with `--client-ca` every connection
//! must present a certificate that CA issued and that is in its validity
//! period (rustls' WebPKI verifier; no certificate, another CA's or an
//! expired one fail the handshake). The certificate's subject CN then binds
//! the connection to an institution: an institution's token is refused (403
//! `client_certificate_mismatch`) on a connection whose certificate names
//! another 医療機関コード ([`ClientCertificate::admits`]).
//!
//! Revocation (CRLs, OCSP) is not checked yet: a revoked institution is cut
//! off by revoking its tokens.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum_server::accept::Accept;
use axum_server::tls_rustls::{RustlsAcceptor, RustlsConfig};
use onshi_registry::access::ClientCertificate;
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::server::TlsStream;
use tower::Layer;
use tower_http::add_extension::AddExtensionLayer;

use crate::AppState;

/// Where the server's certificate, key and the client CA are.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// PEM: the server certificate, then its chain.
    pub cert: PathBuf,
    /// PEM: the server's private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// PEM: the CA whose client certificates are accepted; `None`: no
    /// client certificate is asked for.
    pub client_ca: Option<PathBuf>,
}

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{path}: {source}")]
    Read { path: String, source: io::Error },
    #[error("{0}: PEM の証明書がありません")]
    NoCertificate(String),
    #[error("{0}: PEM の秘密鍵がありません")]
    NoKey(String),
    #[error("TLS の設定が不正です: {0}")]
    Config(String),
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    fs::read(path).map_err(|source| TlsError::Read {
        path: path.display().to_string(),
        source,
    })
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read(path)?;
    let certs = rustls_pemfile::certs(&mut pem.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| TlsError::Read {
            path: path.display().to_string(),
            source,
        })?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate(path.display().to_string()));
    }
    Ok(certs)
}

fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let pem = read(path)?;
    rustls_pemfile::private_key(&mut pem.as_slice())
        .map_err(|source| TlsError::Read {
            path: path.display().to_string(),
            source,
        })?
        .ok_or_else(|| TlsError::NoKey(path.display().to_string()))
}

/// The server's rustls configuration: TLS 1.3 only, HTTP/1.1, and the
/// client verifier when a client CA is given.
pub fn server_config(files: &TlsFiles) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| TlsError::Config(e.to_string()))?;
    let builder = match &files.client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for c in certificates(ca)? {
                roots
                    .add(c)
                    .map_err(|e| TlsError::Config(format!("{}: {e}", ca.display())))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| TlsError::Config(e.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder
        .with_single_cert(certificates(&files.cert)?, private_key(&files.key)?)
        .map_err(|e| TlsError::Config(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The subject CN of a DER certificate.
fn common_name(der: &[u8]) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let cn = cert
        .subject()
        .iter_common_name()
        .next()?
        .as_str()
        .ok()?
        .to_owned();
    Some(cn)
}

/// The TLS acceptor that also hands each request its connection's client
/// certificate ([`ClientCertificate`]), when client certificates are asked for.
#[derive(Clone)]
struct PeerAcceptor {
    inner: RustlsAcceptor,
    client_auth: bool,
}

type Admitted<S> = tower_http::add_extension::AddExtension<S, Option<ClientCertificate>>;

impl<I, S> Accept<I, S> for PeerAcceptor
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: Send + 'static,
{
    type Stream = TlsStream<I>;
    type Service = Admitted<S>;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = io::Result<(Self::Stream, Self::Service)>> + Send>,
    >;

    fn accept(&self, stream: I, service: S) -> Self::Future {
        let inner = self.inner.clone();
        let client_auth = self.client_auth;
        Box::pin(async move {
            let (stream, service) = inner.accept(stream, service).await?;
            let peer = client_auth.then(|| ClientCertificate {
                common_name: stream
                    .get_ref()
                    .1
                    .peer_certificates()
                    .and_then(|c| c.first())
                    .and_then(|c| common_name(c)),
            });
            Ok((stream, AddExtensionLayer::new(peer).layer(service)))
        })
    }
}

/// Serves the application over TLS on an already bound listener.
pub async fn serve_tls(
    listener: std::net::TcpListener,
    state: AppState,
    files: &TlsFiles,
) -> Result<(), TlsError> {
    let config = server_config(files)?;
    let acceptor = PeerAcceptor {
        inner: RustlsAcceptor::new(RustlsConfig::from_config(config)),
        client_auth: files.client_ca.is_some(),
    };
    listener
        .set_nonblocking(true)
        .map_err(|e| TlsError::Config(e.to_string()))?;
    axum_server::from_tcp(listener)
        .acceptor(acceptor)
        .serve(crate::router(state).into_make_service())
        .await
        .map_err(|e| TlsError::Config(e.to_string()))
}
