//! HTTPS (issue 10, item 3; RELIABILITY.md §6 row 1), with certificates made
//! here: TLS 1.3 only; with a client CA, a connection without a certificate,
//! with another CA's, or with an expired one fails at the handshake; a valid
//! certificate of another institution is refused with 403; only the
//! institution's own certificate with its own token gets its data.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use common::start;
use onshi_web::tls::{TlsFiles, serve_tls};
use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, date_time_ymd,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore, SupportedProtocolVersion};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Ca {
    cert: Certificate,
    key: KeyPair,
}

fn ca(name: &str) -> Ca {
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name.push(DnType::CommonName, name);
    Ca {
        cert: p.self_signed(&key).unwrap(),
        key,
    }
}

/// A certificate and key issued by `ca`.
struct Issued {
    cert: Certificate,
    key: KeyPair,
}

impl Issued {
    fn identity(&self) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
        (
            vec![self.cert.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key.serialize_der())),
        )
    }
}

fn server_cert(ca: &Ca) -> Issued {
    let key = KeyPair::generate().unwrap();
    let p = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    Issued {
        cert: p.signed_by(&key, &ca.cert, &ca.key).unwrap(),
        key,
    }
}

fn client_cert(ca: &Ca, institution: &str, expired: bool) -> Issued {
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name.push(DnType::CommonName, institution);
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    if expired {
        p.not_before = date_time_ymd(2020, 1, 1);
        p.not_after = date_time_ymd(2021, 1, 1);
    }
    Issued {
        cert: p.signed_by(&key, &ca.cert, &ca.key).unwrap(),
        key,
    }
}

/// Serves the test server's store over TLS with these files.
async fn serve(
    store: Arc<dyn onshi_store::Store>,
    dir: &Path,
    server: &Issued,
    client_ca: Option<&Ca>,
) -> SocketAddr {
    let cert = dir.join("server.pem");
    let key = dir.join("server.key");
    std::fs::write(&cert, server.cert.pem()).unwrap();
    std::fs::write(&key, server.key.serialize_pem()).unwrap();
    let ca = client_ca.map(|c| {
        let p = dir.join("client-ca.pem");
        std::fs::write(&p, c.cert.pem()).unwrap();
        p
    });
    let files = TlsFiles {
        cert,
        key,
        client_ca: ca,
    };
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let state = onshi_web::AppState::new(store);
    tokio::spawn(async move { serve_tls(listener, state, &files).await });
    addr
}

/// One GET over TLS; the status and body, or the TLS failure's text.
async fn get(
    addr: SocketAddr,
    trust: &Ca,
    versions: &[&'static SupportedProtocolVersion],
    identity: Option<&Issued>,
    token: &str,
) -> Result<(u16, String), String> {
    let mut roots = RootCertStore::empty();
    roots.add(trust.cert.der().clone()).unwrap();
    let builder =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_protocol_versions(versions)
            .unwrap()
            .with_root_certificates(roots);
    let config = match identity {
        Some(i) => {
            let (certs, key) = i.identity();
            builder.with_client_auth_cert(certs, key).unwrap()
        }
        None => builder.with_no_client_auth(),
    };
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    let name = ServerName::try_from("localhost").unwrap();
    let mut tls = connector
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())?;
    // In TLS 1.3 the server judges the client's certificate after the
    // client's side of the handshake is done: a refusal arrives on read.
    let request = format!(
        "GET /api/v1/visits?date=2026-11-25 HTTP/1.1\r\nHost: localhost\r\n\
         Authorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    );
    tls.write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    tls.read_to_end(&mut buf).await.map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no HTTP answer: {text:?}"))?;
    Ok((status, text))
}

const TLS13: &[&SupportedProtocolVersion] = &[&rustls::version::TLS13];
const TLS12: &[&SupportedProtocolVersion] = &[&rustls::version::TLS12];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_13_only_and_client_certificates_bind_the_institution() {
    let s = start().await;
    let dir = tempfile::tempdir().unwrap();
    let ours = ca("onshi test CA");
    let theirs = ca("some other CA");
    let server = server_cert(&ours);
    let own = client_cert(&ours, onshi_registry::demo::CLINIC_CODE, false);
    let other_institution = client_cert(&ours, onshi_registry::demo::OTHER_CLINIC_CODE, false);
    let expired = client_cert(&ours, onshi_registry::demo::CLINIC_CODE, true);
    let foreign = client_cert(&theirs, onshi_registry::demo::CLINIC_CODE, false);

    // Without a client CA: TLS 1.3 answers, TLS 1.2 fails the handshake.
    let plain = serve(
        s.store.clone(),
        &dir.path().join("plain").tap_mkdir(),
        &server,
        None,
    )
    .await;
    let (status, body) = get(plain, &ours, TLS13, None, &s.clinic).await.unwrap();
    assert_eq!(status, 200, "{body}");
    let e = get(plain, &ours, TLS12, None, &s.clinic).await.unwrap_err();
    assert!(
        e.to_lowercase().contains("version") || e.contains("alert"),
        "TLS 1.2: {e}"
    );

    // With the client CA.
    let mutual = serve(
        s.store.clone(),
        &dir.path().join("mutual").tap_mkdir(),
        &server,
        Some(&ours),
    )
    .await;
    let (status, body) = get(mutual, &ours, TLS13, Some(&own), &s.clinic)
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"visits\"") || body.contains('['), "{body}");

    for (what, identity) in [
        ("no certificate", None),
        ("another CA's certificate", Some(&foreign)),
        ("an expired certificate", Some(&expired)),
    ] {
        let refused = get(mutual, &ours, TLS13, identity, &s.clinic).await;
        assert!(refused.is_err(), "{what} got through: {refused:?}");
    }
    let e = get(mutual, &ours, TLS12, Some(&own), &s.clinic)
        .await
        .unwrap_err();
    assert!(!e.is_empty());

    // A valid certificate of the other institution, with this clinic's
    // token: refused, and the other clinic's own token on it works.
    let (status, body) = get(mutual, &ours, TLS13, Some(&other_institution), &s.clinic)
        .await
        .unwrap();
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("client_certificate_mismatch"), "{body}");
    let (status, body) = get(
        mutual,
        &ours,
        TLS13,
        Some(&other_institution),
        &s.other_clinic,
    )
    .await
    .unwrap();
    assert_eq!(status, 200, "{body}");
    // Other roles need a certificate of the CA, whatever it names.
    let (status, body) = get(mutual, &ours, TLS13, Some(&own), &s.insurer)
        .await
        .unwrap();
    assert_eq!(status, 403, "{body}");
    assert!(
        body.contains("\"forbidden\""),
        "an insurer is refused the visits for its role, not its certificate: {body}"
    );
}

trait TapMkdir {
    fn tap_mkdir(self) -> Self;
}
impl TapMkdir for std::path::PathBuf {
    fn tap_mkdir(self) -> Self {
        std::fs::create_dir_all(&self).unwrap();
        self
    }
}
