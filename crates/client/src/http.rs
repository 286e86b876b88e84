//! The HTTP client every part of Rampart builds its requests with: alert
//! sinks, Prometheus scrapes, the agent and the CLI. TLS is rustls with the
//! ring provider (no C build of aws-lc); certificates are checked against
//! the platform's roots, or only a given CA's.

use crate::ClientError;

/// A client that trusts the platform's roots.
pub fn http_client() -> Result<reqwest::Client, ClientError> {
    // Installing twice is harmless: the first provider stays.
    let _ = rustls::crypto::ring::default_provider().install_default();
    builder().build().map_err(|e| ClientError::Build(e.to_string()))
}

/// A client that trusts only the CA certificates in `ca_file` (PEM), for
/// agents and the CLI talking to a Rampart server with its own CA.
pub fn http_client_trusting(ca_file: &std::path::Path) -> Result<reqwest::Client, ClientError> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let ca = |reason: String| ClientError::CaFile { path: ca_file.to_owned(), reason };
    let pem = std::fs::read(ca_file).map_err(|e| ca(format!("cannot read it: {e}")))?;
    let certs =
        reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| ca(format!("holds no usable PEM certificate: {e}")))?;
    if certs.is_empty() {
        return Err(ca("holds no PEM certificate".into()));
    }
    builder().tls_certs_only(certs).build().map_err(|e| ClientError::Build(e.to_string()))
}

fn builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder().user_agent(concat!("rampart/", env!("CARGO_PKG_VERSION")))
}
