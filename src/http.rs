//! The HTTP client used by steps that talk HTTP (service checks, the Caddy admin API),
//! and the TLS provider shared with the Kubernetes client.

use std::sync::Once;
use std::time::Duration;

static CRYPTO: Once = Once::new();

/// Make ring the process's TLS provider (for reqwest and kube-rs alike), once.
pub(crate) fn install_crypto() {
    CRYPTO.call_once(|| {
        // Fails only when a provider is already installed, which is what we want.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A client with a per-request timeout; `insecure` accepts any TLS certificate
/// (for self-signed internal endpoints, when a check says so).
pub(crate) fn client(timeout: Duration, insecure: bool) -> Result<reqwest::Client, reqwest::Error> {
    install_crypto();
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .tls_danger_accept_invalid_certs(insecure)
        .user_agent(concat!("ops/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Why a request failed, in a few words: "connection refused", "timed out after 5s".
pub(crate) fn reason(error: &reqwest::Error, timeout: Duration) -> String {
    if error.is_timeout() {
        return format!("timed out after {}", humantime::format_duration(timeout));
    }
    let mut source: Option<&dyn std::error::Error> = Some(error);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return match io.kind() {
                std::io::ErrorKind::ConnectionRefused => "connection refused".to_owned(),
                std::io::ErrorKind::ConnectionReset => "connection reset".to_owned(),
                std::io::ErrorKind::TimedOut => {
                    format!("timed out after {}", humantime::format_duration(timeout))
                }
                _ => io.to_string(),
            };
        }
        source = e.source();
    }
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(e) = source {
        text = format!("{text}: {e}");
        source = e.source();
    }
    text
}
