//! Flags, and wiring them into a [`Watcher`] with a command handler, a [`TemplateWatcher`],
//! or both, and the ops endpoints.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use herald_guestutils::template::{TemplateConfig, TemplateSpec, TemplateStatus, TemplateWatcher};
use herald_guestutils::watcher::{CommandHandler, Quiescence, WatchStatus, Watcher, WatcherConfig};
use herald_guestutils::{Env, Membership};
use registry::EtcdArgs;
use service::{Health, HealthStatus};

/// Runs a handler, or renders templates, when the instances of watched Marathon services
/// change.
///
/// The handler gets WATCH_SERVICE, WATCH_DELTA, WATCH_ADDED, WATCH_REMOVED, WATCH_CHANGED,
/// WATCH_COUNT, WATCH_REVISION, WATCH_INITIAL and the full state as JSON on stdin. Templates
/// (minijinja, Jinja2 syntax) see every watched service's apps, labels and tasks.
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
    /// Count only instances whose health checks pass (the handler's members, the templates'
    /// `instances`).
    #[arg(long, env = "WATCH_ONLY_HEALTHY")]
    only_healthy: bool,
    /// Longest a handler (or a template's check or reload) may run; it is killed after that.
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
    /// Render the template SRC to the file DEST (`SRC:DEST`), repeatable (comma-separated in
    /// the variable). DEST is replaced atomically, only when its bytes change.
    #[arg(long = "template", env = "WATCH_TEMPLATES", value_delimiter = ',')]
    templates: Vec<TemplateSpec>,
    /// Shell command run on each new file before it replaces the old one; `{}` is the new
    /// file's path (`haproxy -c -f {}`). A non-zero exit keeps the old file.
    #[arg(long, env = "WATCH_CHECK", requires = "templates")]
    check: Option<String>,
    /// Shell command run after a render that replaced any file (`kill -USR2 $(cat /run/haproxy.pid)`).
    #[arg(long, env = "WATCH_RELOAD", requires = "templates")]
    reload: Option<String>,
    /// Render the templates once every service is listed, then exit (non-zero when one failed).
    #[arg(long, env = "WATCH_ONCE", requires = "templates", conflicts_with_all = ["handler", "command"])]
    once: bool,
    /// Print rendered templates (when they change) instead of writing them; no check, no reload.
    #[arg(long, env = "WATCH_DRY_RUN", requires = "templates")]
    dry_run: bool,
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
    /// a failed handler with `--exit-on-failure`, or the end of a `--once` render).
    pub async fn run(self) -> anyhow::Result<()> {
        let handler = match &self.handler {
            Some(script) => Some(CommandHandler::shell(script)),
            None => CommandHandler::argv(&self.command),
        };
        anyhow::ensure!(
            handler.is_some() || !self.templates.is_empty(),
            "nothing to do: give a handler (a command after `--`, or --handler) or --template"
        );
        let config = WatcherConfig {
            wait: self.wait,
            initial_fire: !self.no_initial_fire,
            membership: Membership::from_flag(self.only_healthy),
            handler_timeout: self.handler_timeout,
            exit_on_failure: self.exit_on_failure,
        };
        let registry = self.etcd.connect().await?;
        let env = Env::from_process();
        let watcher = handler
            .map(|handler| {
                Watcher::new(registry.clone(), &env, &self.watches, config.clone())
                    .map(|w| (w, handler))
            })
            .transpose()?;
        let templates = (!self.templates.is_empty())
            .then(|| {
                let templates = TemplateConfig {
                    templates: self.templates.clone(),
                    check: self.check.clone(),
                    reload: self.reload.clone(),
                    dry_run: self.dry_run,
                    once: self.once,
                };
                TemplateWatcher::new(registry, &env, &self.watches, config, templates)
            })
            .transpose()?;
        if let Some(addr) = self.http_listen {
            let board = Board {
                handler: watcher.as_ref().map(|(w, _)| w.status()),
                template_watches: templates.as_ref().map(|t| t.watch_status()),
                templates: templates.as_ref().map(|t| t.status()),
            };
            serve_ops(addr, board).await?;
        }
        let handled = async {
            match watcher {
                Some((watcher, handler)) => watcher.run(handler).await,
                None => std::future::pending().await,
            }
        };
        let rendered = async {
            match templates {
                Some(templates) => templates.run().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            outcome = handled => Ok(outcome?),
            outcome = rendered => Ok(outcome?),
            () = service::shutdown_signal() => Ok(()),
        }
    }
}

/// Everything `/healthz` reports.
#[derive(Clone)]
struct Board {
    handler: Option<WatchStatus>,
    template_watches: Option<WatchStatus>,
    templates: Option<TemplateStatus>,
}

impl Board {
    fn health(&self) -> Health {
        let watches = [&self.handler, &self.template_watches]
            .into_iter()
            .flatten();
        let connected = watches.clone().all(WatchStatus::all_connected);
        let rendered = self.templates.as_ref().is_none_or(TemplateStatus::all_ok);
        // One entry per service: the handler's watch when there is one, else the templates'.
        let mut services = std::collections::BTreeMap::new();
        for board in watches.rev() {
            services.extend(board.snapshot());
        }
        let mut checks = serde_json::json!({ "services": services });
        if let Some(templates) = &self.templates {
            checks["templates"] = serde_json::to_value(templates.snapshot()).unwrap_or_default();
        }
        Health {
            status: if connected && rendered {
                HealthStatus::Ok
            } else {
                HealthStatus::Degraded
            },
            checks,
        }
    }
}

async fn serve_ops(addr: SocketAddr, board: Board) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    tracing::info!(%addr, "serving /metrics and /healthz");
    let routes = service::ops_routes(move || {
        let board = board.clone();
        async move { board.health() }
    });
    tokio::spawn(async move {
        if let Err(e) = service::serve(listener, routes, service::shutdown_signal()).await {
            tracing::error!(error = %e, "the ops endpoint stopped");
        }
    });
    Ok(())
}
