//! Plumbing shared by Herald's binaries, so that each `main` stays a few lines:
//! logging (text or JSON), the Prometheus recorder, the `/healthz` + `/metrics` routes every
//! server exposes, and the shutdown signal.
//!
//! This crate knows nothing of Marathon, etcd or DNS.

use std::sync::OnceLock;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

/// The log filter when none is given: hickory's per-response INFO lines cost ~1 µs a query.
pub const DEFAULT_LOG_FILTER: &str =
    "info,hickory_server=warn,hickory_proto=warn,h2=warn,tower=warn,hyper=warn";

/// Log output format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Logging flags, for `#[command(flatten)]`.
#[derive(Clone, Debug, clap::Args)]
pub struct LogArgs {
    /// Log format.
    #[arg(long = "log-format", env = "HERALD_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub format: LogFormat,
    /// Log filter (tracing `EnvFilter` syntax, e.g. `info,herald_dns=debug`).
    #[arg(long = "log", env = "HERALD_LOG", default_value = DEFAULT_LOG_FILTER)]
    pub filter: String,
}

impl LogArgs {
    /// Installs the global tracing subscriber (logs go to stderr). Safe to call twice.
    pub fn init(&self) {
        let filter =
            EnvFilter::try_new(&self.filter).unwrap_or_else(|_| EnvFilter::new(DEFAULT_LOG_FILTER));
        let builder = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr);
        let _ = match self.format {
            LogFormat::Text => builder.try_init(),
            LogFormat::Json => builder.json().flatten_event(true).try_init(),
        };
    }
}

static PROMETHEUS: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide Prometheus recorder for the `metrics` macros (once) and
/// returns the handle that renders it.
pub fn prometheus() -> PrometheusHandle {
    PROMETHEUS
        .get_or_init(|| match PrometheusBuilder::new().install_recorder() {
            Ok(handle) => handle,
            // Another recorder is installed (e.g. two servers in one test binary): render
            // an empty, private one rather than fail.
            Err(_) => PrometheusBuilder::new().build_recorder().handle(),
        })
        .clone()
}

/// A health verdict for `/healthz`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Health {
    /// `ok`, `degraded` (serving, but something is wrong) or `down` (not serving).
    pub status: HealthStatus,
    /// Component details (reachability, staleness, ...).
    pub checks: serde_json::Value,
}

/// Overall health.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    /// Everything works.
    Ok,
    /// Serving, with a dependency failing.
    Degraded,
    /// Not serving.
    Down,
}

impl IntoResponse for Health {
    fn into_response(self) -> Response {
        let code = match self.status {
            HealthStatus::Ok | HealthStatus::Degraded => StatusCode::OK,
            HealthStatus::Down => StatusCode::SERVICE_UNAVAILABLE,
        };
        (code, axum::Json(self)).into_response()
    }
}

/// `/metrics` (Prometheus text format) and `/healthz` (JSON from `health`; 503 when down).
pub fn ops_routes<F, Fut>(health: F) -> Router
where
    F: Fn() -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Health> + Send + 'static,
{
    let handle = prometheus();
    Router::new()
        .route(
            "/metrics",
            get(move || {
                let handle = handle.clone();
                async move {
                    (
                        [(
                            axum::http::header::CONTENT_TYPE,
                            "text/plain; version=0.0.4",
                        )],
                        handle.render(),
                    )
                }
            }),
        )
        .route("/healthz", get(health))
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown requested");
}

/// How long a client may take to send a request's headers before the connection is closed
/// (slow-header clients must not hold connections open forever).
pub const HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Serves `router` on `listener` until `shutdown` resolves, then lets open requests finish.
/// HTTP/1 connections that do not send their headers within [`HEADER_READ_TIMEOUT`] are
/// closed.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use hyper_util::server::conn::auto::Builder;
    use hyper_util::service::TowerToHyperService;

    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little, keep serving.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = TowerToHyperService::new(router.clone());
        let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
        let connection = graceful.watch(connection.into_owned());
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "HTTP connection ended with an error");
            }
        });
    }
    // Give open requests a moment; connections idle in keep-alive are closed at once.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), graceful.shutdown()).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[tokio::test]
    async fn serves_then_shuts_down_and_drops_slow_header_clients() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let router = Router::new().route("/ping", get(|| async { "pong" }));
        let server = tokio::spawn(serve(listener, router, async {
            let _ = stopped.await;
        }));

        let mut client = tokio::net::TcpStream::connect(addr).await.unwrap();
        client
            .write_all(b"GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut reply = String::new();
        client.read_to_string(&mut reply).await.unwrap();
        assert!(
            reply.starts_with("HTTP/1.1 200") && reply.ends_with("pong"),
            "{reply}"
        );

        // A client that never finishes its headers is cut off (within the timeout plus slack).
        let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
        slow.write_all(b"GET /ping HTTP/1.1\r\nHost:")
            .await
            .unwrap();
        let mut buf = Vec::new();
        let closed = tokio::time::timeout(
            HEADER_READ_TIMEOUT + Duration::from_secs(5),
            slow.read_to_end(&mut buf),
        )
        .await;
        assert!(closed.is_ok(), "a slow-header connection stayed open");

        stop.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(10), server)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert!(
            tokio::net::TcpStream::connect(addr).await.is_err(),
            "still listening after shutdown"
        );
    }
}
