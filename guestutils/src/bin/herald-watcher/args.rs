//! Flags, and wiring them into a [`Watcher`] with a command handler and the ops endpoints.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use herald_guestutils::watcher::{CommandHandler, Quiescence, WatchStatus, Watcher, WatcherConfig};
use herald_guestutils::{Env, Membership};
use registry::EtcdArgs;
use service::{Health, HealthStatus};

/// Runs a handler when the instances of watched Marathon services change.
///
/// The handler gets WATCH_SERVICE, WATCH_DELTA, WATCH_ADDED, WATCH_REMOVED, WATCH_CHANGED,
/// WATCH_COUNT, WATCH_REVISION, WATCH_INITIAL and the full state as JSON on stdin.
#[derive(clap::Parser)]
#[command(name = "herald-watcher", version)]
pub struct Args {
    /// Services to watch: app or group ids, absolute or relative to this task's group.
    #[arg(
        long = "watch",
        env = "WATCHES",
        value_delimiter = ',',
        required = true
    )]
    watches: Vec<String>,
    /// Debounce window `min:max` (each change restarts `min`; never later than `max`).
    #[arg(long, env = "WATCH_WAIT", default_value = "200ms:1s")]
    wait: Quiescence,
    /// Do not run the handler at start with the current state.
    #[arg(long, env = "WATCH_NO_INITIAL_FIRE")]
    no_initial_fire: bool,
    /// Count only instances whose health checks pass.
    #[arg(long, env = "WATCH_ONLY_HEALTHY")]
    only_healthy: bool,
    /// Longest a handler may run; it is killed after that.
    ///
    /// The handler runs in its own process group; the whole group (everything the handler
    /// started) gets SIGTERM, then SIGKILL 2s later. The same happens to a handler still
    /// running when the watcher stops (SIGTERM, ctrl-c), except that SIGKILL follows at once.
    #[arg(long, env = "WATCH_HANDLER_TIMEOUT", default_value = "30s", value_parser = humantime::parse_duration)]
    handler_timeout: Duration,
    /// Exit (non-zero) when a handler fails, instead of logging and going on.
    #[arg(long, env = "WATCH_EXIT_ON_FAILURE")]
    exit_on_failure: bool,
    /// Handler as a shell command (run with `sh -c`), instead of COMMAND.
    #[arg(long, env = "WATCH_HANDLER", conflicts_with = "command")]
    handler: Option<String>,
    /// Serve /metrics and /healthz on this address.
    #[arg(long, env = "HERALD_HTTP_LISTEN")]
    http_listen: Option<SocketAddr>,
    #[command(flatten)]
    etcd: EtcdArgs,
    #[command(flatten)]
    pub log: service::LogArgs,
    /// The handler command and its arguments (after `--`).
    #[arg(trailing_var_arg = true)]
    command: Vec<String>,
}

impl Args {
    /// Connects, serves the ops endpoints if asked, and watches until a shutdown signal (or
    /// a failed handler with `--exit-on-failure`).
    pub async fn run(self) -> anyhow::Result<()> {
        let handler = match &self.handler {
            Some(script) => CommandHandler::shell(script),
            None => CommandHandler::argv(&self.command)
                .context("no handler: give a command after `--` or --handler")?,
        };
        let config = WatcherConfig {
            wait: self.wait,
            initial_fire: !self.no_initial_fire,
            membership: Membership::from_flag(self.only_healthy),
            handler_timeout: self.handler_timeout,
            exit_on_failure: self.exit_on_failure,
        };
        let registry = self.etcd.connect().await?;
        let watcher = Watcher::new(registry, &Env::from_process(), &self.watches, config)?;
        if let Some(addr) = self.http_listen {
            serve_ops(addr, watcher.status()).await?;
        }
        tokio::select! {
            outcome = watcher.run(handler) => Ok(outcome?),
            () = service::shutdown_signal() => Ok(()),
        }
    }
}

async fn serve_ops(addr: SocketAddr, status: WatchStatus) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    tracing::info!(%addr, "serving /metrics and /healthz");
    let routes = service::ops_routes(move || {
        let status = status.clone();
        async move {
            Health {
                status: if status.all_connected() {
                    HealthStatus::Ok
                } else {
                    HealthStatus::Degraded
                },
                checks: serde_json::to_value(status.snapshot()).unwrap_or_default(),
            }
        }
    });
    tokio::spawn(async move {
        if let Err(e) = service::serve(listener, routes, service::shutdown_signal()).await {
            tracing::error!(error = %e, "the ops endpoint stopped");
        }
    });
    Ok(())
}
