//! What the Marathon and the Mesos clients share: one way to build an HTTP client (no
//! redirects followed by reqwest, a custom CA, rustls with *ring*), the `Authorization`
//! value from a raw header or `user:password`, and error texts with their causes.

use std::path::Path;
use std::time::Duration;

use base64::Engine;
use reqwest::header::HeaderValue;

/// Installs rustls' *ring* provider as the process default (once; later calls are no-ops).
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// An HTTP client that follows no redirect (the callers follow them, keeping credentials),
/// trusting only the CAs in `ca` when given (`ca_flag` names the flag in errors), or any
/// certificate when `insecure`.
pub fn build(ca: Option<&Path>, ca_flag: &str, insecure: bool) -> Result<reqwest::Client, String> {
    install_crypto_provider();
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(5))
        .tcp_nodelay(true)
        .user_agent(concat!("herald-subscriber/", env!("CARGO_PKG_VERSION")));
    if let Some(ca) = ca {
        let pem = std::fs::read(ca)
            .map_err(|e| format!("cannot read {ca_flag} {}: {e}", ca.display()))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| format!("{ca_flag} {}: {e}", ca.display()))?;
        builder = builder.tls_certs_only(certs);
    }
    if insecure {
        builder = builder.tls_danger_accept_invalid_certs(true);
    }
    builder.build().map_err(|e| error_chain(&e))
}

/// The `Authorization` value: `raw` as given (it wins), else HTTP Basic of
/// `user:password`; marked sensitive so it never reaches a log.
pub fn authorization(
    raw: Option<&str>,
    basic: Option<&str>,
) -> Result<Option<HeaderValue>, String> {
    let value = match (raw, basic) {
        (Some(raw), _) => HeaderValue::from_str(raw.trim())
            .map_err(|_| "the Authorization value holds invalid characters".to_string())?,
        (None, Some(userpass)) => {
            let encoded = base64::engine::general_purpose::STANDARD.encode(userpass);
            HeaderValue::from_str(&format!("Basic {encoded}"))
                .map_err(|_| "bad credentials".to_string())?
        }
        (None, None) => return Ok(None),
    };
    let mut value = value;
    value.set_sensitive(true);
    Ok(Some(value))
}

/// An error and all its sources, `: `-joined.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
