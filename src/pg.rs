//! Connections to PostgreSQL, with TLS as libpq's `sslmode` has it (rustls, ring).
//!
//! | `sslmode` | TLS | the server's certificate |
//! |---|---|---|
//! | `disable` | never | — |
//! | `prefer` (default) | when the server offers it | not checked |
//! | `require` | always | not checked (as libpq, when no `sslrootcert` is given) |
//! | `verify-ca` | always | signed by `sslrootcert` (or the system's roots) |
//! | `verify-full` | always | signed, and issued for `host` |
//!
//! `require` with an `sslrootcert` checks the chain, as libpq does. CloudNativePG
//! serves TLS with its own CA (the `<cluster>-ca` secret's `ca.crt`): `verify-full`
//! with that file as `sslrootcert`, and `host` the service name the certificate was
//! issued for (`hostaddr` then says where to connect).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::{CertificateError, DigitallySignedStruct, Error as TlsError, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_postgres::config::SslMode as PgSslMode;

/// libpq's `sslmode`, as far as a client without client certificates goes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) enum SslMode {
    Disable,
    #[default]
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    pub(crate) const NAMES: [&'static str; 5] = ["disable", "prefer", "require", "verify-ca", "verify-full"];

    pub(crate) fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "disable" => Self::Disable,
            "prefer" => Self::Prefer,
            "require" => Self::Require,
            "verify-ca" => Self::VerifyCa,
            "verify-full" => Self::VerifyFull,
            _ => return None,
        })
    }

    pub(crate) fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }
}

/// How to secure a connection: the mode, and the CA certificates (PEM) to trust.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) struct Tls {
    pub mode: SslMode,
    pub root_cert: Option<PathBuf>,
}

/// Connect, and drive the connection on the runtime until the client is dropped.
pub(crate) async fn connect(
    mut config: tokio_postgres::Config,
    tls: &Tls,
) -> Result<tokio_postgres::Client, String> {
    if tls.mode == SslMode::Disable {
        config.ssl_mode(PgSslMode::Disable);
        let (client, connection) = config
            .connect(tokio_postgres::NoTls)
            .await
            .map_err(|e| reason(&e))?;
        tokio::spawn(connection);
        return Ok(client);
    }
    config.ssl_mode(if tls.mode == SslMode::Prefer {
        PgSslMode::Prefer
    } else {
        PgSslMode::Require
    });
    let connector = tokio_postgres_rustls::MakeRustlsConnect::new(client_config(tls)?);
    let (client, connection) = config.connect(connector).await.map_err(|e| {
        let mut text = reason(&e);
        if text.ends_with("UnknownIssuer") {
            text.push_str(if tls.root_cert.is_some() {
                " (not signed by a CA of sslrootcert)"
            } else {
                " (not signed by a CA the system trusts; give sslrootcert)"
            });
        }
        text
    })?;
    tokio::spawn(connection);
    Ok(client)
}

/// The error and its causes, in one line: tokio-postgres says "error performing TLS
/// handshake" and leaves the certificate's fault to its source.
fn reason(error: &tokio_postgres::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(e) = source {
        let more = e.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = e.source();
    }
    text
}

fn client_config(tls: &Tls) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let checks_chain = matches!(tls.mode, SslMode::VerifyCa | SslMode::VerifyFull) || tls.root_cert.is_some();
    let chain = if checks_chain {
        Some(chain_verifier(tls.root_cert.as_deref(), &provider)?)
    } else {
        None
    };
    let verifier: Arc<dyn ServerCertVerifier> = match chain {
        Some(chain) if tls.mode == SslMode::VerifyFull => chain,
        chain => Arc::new(Lenient {
            chain,
            provider: provider.clone(),
        }),
    };
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

/// Certificates signed by the CAs of `root_cert`, or by the system's roots.
fn chain_verifier(
    root_cert: Option<&Path>,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn ServerCertVerifier>, String> {
    let Some(path) = root_cert else {
        let verifier = rustls_platform_verifier::Verifier::new(provider.clone())
            .map_err(|e| format!("cannot read the system's CA certificates: {e}"))?;
        return Ok(Arc::new(verifier));
    };
    let unreadable = |e: &dyn std::fmt::Display| format!("cannot read sslrootcert {}: {e}", path.display());
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(path).map_err(|e| unreadable(&e))? {
        roots
            .add(cert.map_err(|e| unreadable(&e))?)
            .map_err(|e| unreadable(&e))?;
    }
    if roots.is_empty() {
        return Err(unreadable(&"no PEM certificate in it"));
    }
    rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map(|v| v as Arc<dyn ServerCertVerifier>)
        .map_err(|e| unreadable(&e))
}

/// `prefer`, `require` (no `chain`): encrypted, whoever the server is; `verify-ca`
/// (`chain`): the chain is checked, the name it was issued for is not. The handshake
/// signature is checked either way.
#[derive(Debug)]
struct Lenient {
    chain: Option<Arc<dyn ServerCertVerifier>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Lenient {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, TlsError> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        // The name is checked after the chain: a wrong name means the chain is good.
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(TlsError::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
