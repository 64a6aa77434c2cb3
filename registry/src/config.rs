//! Connection settings shared by every Herald binary (`--etcd-*` flags and `HERALD_*`
//! environment variables), and turning them into a connected [`Registry`].

use std::time::Duration;

use etcd_client::{Certificate, ConnectOptions, Identity, TlsOptions};

use crate::endpoints::Endpoints;
use crate::error::{Error, Result};
use crate::keys::{DEFAULT_PREFIX, KeyLayout};
use crate::store::Registry;

/// etcd connection flags. Flatten into a binary's clap parser with `#[command(flatten)]`.
#[derive(Clone, clap::Args)]
pub struct EtcdArgs {
    /// etcd endpoints, comma-separated (http:// or https://).
    #[arg(
        long = "etcd-endpoints",
        env = "HERALD_ETCD_ENDPOINTS",
        value_delimiter = ',',
        default_value = "http://127.0.0.1:2379"
    )]
    pub endpoints: Vec<String>,
    /// Key prefix under which Herald keeps its records.
    #[arg(long = "prefix", env = "HERALD_PREFIX", default_value = DEFAULT_PREFIX)]
    pub prefix: String,
    /// CA certificate (PEM) that signed etcd's server certificate.
    #[arg(long = "etcd-ca", env = "HERALD_ETCD_CA")]
    pub ca: Option<std::path::PathBuf>,
    /// Client certificate (PEM) for etcd's client-certificate auth.
    #[arg(long = "etcd-cert", env = "HERALD_ETCD_CERT", requires = "key")]
    pub cert: Option<std::path::PathBuf>,
    /// Private key (PEM) of the client certificate.
    #[arg(long = "etcd-key", env = "HERALD_ETCD_KEY", requires = "cert")]
    pub key: Option<std::path::PathBuf>,
    /// etcd user name (password auth).
    #[arg(long = "etcd-user", env = "HERALD_ETCD_USER", requires = "password")]
    pub user: Option<String>,
    /// etcd password; prefer the environment variable over the flag.
    #[arg(
        long = "etcd-password",
        env = "HERALD_ETCD_PASSWORD",
        hide_env_values = true
    )]
    pub password: Option<String>,
    /// Deadline of one etcd request.
    #[arg(long = "etcd-timeout", env = "HERALD_ETCD_TIMEOUT", default_value = "5s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// Deadline of a connection attempt.
    #[arg(long = "etcd-connect-timeout", env = "HERALD_ETCD_CONNECT_TIMEOUT", default_value = "3s", value_parser = humantime::parse_duration)]
    pub connect_timeout: Duration,
    /// HTTP/2 keepalive ping interval; a server that misses a ping is declared hung.
    /// etcd refuses pings more frequent than 5s by default.
    #[arg(long = "etcd-keepalive", env = "HERALD_ETCD_KEEPALIVE", default_value = "5s", value_parser = humantime::parse_duration)]
    pub keepalive: Duration,
}

impl std::fmt::Debug for EtcdArgs {
    // Hand-written so that the password never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdArgs")
            .field("endpoints", &self.endpoints)
            .field("prefix", &self.prefix)
            .field("ca", &self.ca)
            .field("cert", &self.cert)
            .field("key", &self.key.as_ref().map(|_| "<set>"))
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl EtcdArgs {
    /// Settings for `endpoints` with every other value at its default.
    pub fn for_endpoints<S: Into<String>>(endpoints: impl IntoIterator<Item = S>) -> Self {
        EtcdArgs {
            endpoints: endpoints.into_iter().map(Into::into).collect(),
            prefix: DEFAULT_PREFIX.to_string(),
            ca: None,
            cert: None,
            key: None,
            user: None,
            password: None,
            timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(3),
            keepalive: Duration::from_secs(5),
        }
    }

    /// Replaces the key prefix.
    pub fn with_prefix(mut self, prefix: &str) -> Self {
        self.prefix = prefix.to_string();
        self
    }

    /// The key layout these settings name.
    pub fn layout(&self) -> Result<KeyLayout> {
        KeyLayout::new(&self.prefix)
    }

    /// etcd-client options built from these settings (reads the TLS files).
    pub fn connect_options(&self) -> Result<ConnectOptions> {
        let mut options = ConnectOptions::new()
            .with_timeout(self.timeout)
            .with_connect_timeout(self.connect_timeout)
            .with_keep_alive(self.keepalive, self.keepalive.min(Duration::from_secs(3)))
            .with_keep_alive_while_idle(true);
        if let (Some(user), Some(password)) = (&self.user, &self.password) {
            options = options.with_user(user.clone(), password.clone());
        }
        if self.ca.is_some() || self.cert.is_some() {
            let mut tls = TlsOptions::new();
            if let Some(ca) = &self.ca {
                tls = tls.ca_certificate(Certificate::from_pem(read(ca)?));
            }
            if let (Some(cert), Some(key)) = (&self.cert, &self.key) {
                tls = tls.identity(Identity::from_pem(read(cert)?, read(key)?));
            }
            options = options.with_tls(tls);
        }
        Ok(options)
    }

    /// Connects. etcd-client connects lazily, so this succeeds while etcd is down (unless
    /// password auth is on, which needs a token first).
    pub async fn connect(&self) -> Result<Registry> {
        if self.endpoints.is_empty() {
            return Err(Error::Config("no etcd endpoints".to_string()));
        }
        let endpoints = self.endpoints_with(self.connect_options()?).await?;
        Ok(Registry::with_endpoints(
            endpoints,
            self.layout()?,
            self.timeout,
        ))
    }

    /// Endpoints with failover, connected with these settings altered by the caller (e.g. a
    /// longer deadline for an election client).
    pub async fn endpoints_with(&self, options: ConnectOptions) -> Result<Endpoints> {
        Endpoints::connect(self.endpoints.clone(), Some(options)).await
    }
}

fn read(path: &std::path::Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::Config(format!("cannot read {}: {e}", path.display())))
}
