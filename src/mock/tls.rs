//! TLS for the mock: a given certificate chain and key (PEM), or a generated CA plus a server
//! certificate for `localhost` and 127.0.0.1 signed by it. The two must differ: rustls refuses
//! a self-signed certificate that is its own CA, and the Azure SDKs check the host name.

use std::path::Path;
use std::sync::Arc;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error("{0}: no usable PEM {1} in it")]
    Pem(String, &'static str),
    #[error("certificate generation failed: {0}")]
    Gen(#[from] rcgen::Error),
    #[error("TLS configuration refused: {0}")]
    Rustls(#[from] tokio_rustls::rustls::Error),
}

/// A server configuration from PEM files.
pub fn from_files(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let name = |p: &Path| p.display().to_string();
    for p in [cert, key] {
        if let Err(e) = std::fs::File::open(p) {
            return Err(TlsError::Io(name(p), e));
        }
    }
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|_| TlsError::Pem(name(cert), "certificate"))?
        .collect::<Result<_, _>>()
        .map_err(|_| TlsError::Pem(name(cert), "certificate"))?;
    if certs.is_empty() {
        return Err(TlsError::Pem(name(cert), "certificate"));
    }
    let key =
        PrivateKeyDer::from_pem_file(key).map_err(|_| TlsError::Pem(name(key), "private key"))?;
    config(certs, key)
}

fn config(
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let cfg = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    Ok(Arc::new(cfg))
}

/// What `--tls-self-signed DIR` produces.
pub struct SelfSigned {
    pub config: Arc<ServerConfig>,
    /// The CA certificate clients should trust, PEM.
    pub ca_pem: String,
    /// Where `ca.pem` was written.
    pub ca_path: std::path::PathBuf,
}

/// Generates a CA and a server certificate for `localhost` / 127.0.0.1 / ::1, writes the CA
/// to `dir/ca.pem` (and the server chain to `dir/server.pem`), and returns the server config.
pub fn self_signed(dir: &Path) -> Result<SelfSigned, TlsError> {
    use rcgen::{
        BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
        KeyUsagePurpose,
    };
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "fleetsim mock CA");
    ca.distinguished_name = dn;
    let ca_key = KeyPair::generate()?;
    let ca_cert = ca.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca, ca_key);

    let mut srv = CertificateParams::new(vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ])?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "localhost");
    srv.distinguished_name = dn;
    let srv_key = KeyPair::generate()?;
    let srv_cert = srv.signed_by(&srv_key, &issuer)?;

    let io = |p: &Path, e| TlsError::Io(p.display().to_string(), e);
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let ca_path = dir.join("ca.pem");
    let ca_pem = ca_cert.pem();
    std::fs::write(&ca_path, &ca_pem).map_err(|e| io(&ca_path, e))?;
    let srv_path = dir.join("server.pem");
    std::fs::write(&srv_path, srv_cert.pem()).map_err(|e| io(&srv_path, e))?;

    let key = PrivateKeyDer::try_from(srv_key.serialize_der())
        .map_err(|_| TlsError::Pem("generated key".into(), "private key"))?;
    let config = config(vec![srv_cert.der().clone(), ca_cert.der().clone()], key)?;
    Ok(SelfSigned {
        config,
        ca_pem,
        ca_path,
    })
}
