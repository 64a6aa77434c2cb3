//! Runs a handler when a watched service's set of instances changes.
//!
//! One task per service keeps the service's members (serving instances) up to date from the
//! watcher's one registry watch (over the services' nearest common group, its events split
//! per service in memory: see `fanout`), and fires the handler:
//! - once at start with the current state (unless [`WatcherConfig::initial_fire`] is off);
//! - after a burst of changes has been quiet for [`Quiescence::min`] (at most
//!   [`Quiescence::max`] after its first change), and only when the members differ from what
//!   the previous run saw: rewrites that change nothing, repeated removals and changes that
//!   cancel out never fire.
//!
//! Handlers of one service run one at a time, each within [`WatcherConfig::handler_timeout`].
//! A [`CommandHandler`] runs in its own process group: one that overruns its timeout, or is
//! still running when the watcher is dropped, is stopped with everything it started.
//! The registry watch resumes from the last delivered revision after disconnects, so a
//! change made while etcd was unreachable fires once it is back.

pub(crate) mod command;
mod delta;
pub(crate) mod fanout;
pub(crate) mod quiescence;
mod status;

use std::future::Future;
use std::time::Duration;

use registry::{Change, Registry, WatchEvent, WatchOptions};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::{Instant, sleep_until};

pub use command::{CommandHandler, KILL_GRACE, variables};
pub use delta::{Delta, Update};
pub use quiescence::Quiescence;
pub use status::{ServiceStatus, WatchStatus};

use crate::env::Env;
use crate::error::{Error, Result};
use crate::instance::Instance;
use crate::service::{Membership, Service};
use delta::Members;
use fanout::Router;
use quiescence::Debounce;

/// What a handler may fail with.
pub type HandlerError = Box<dyn std::error::Error + Send + Sync>;

/// Something to run for each [`Update`]. Implemented by closures
/// `FnMut(Update) -> impl Future<Output = Result<(), HandlerError>>` and by
/// [`CommandHandler`]. Each watched service gets its own clone.
pub trait Handler: Clone + Send + 'static {
    /// Handles one update.
    fn handle(&mut self, update: Update) -> impl Future<Output = Result<(), HandlerError>> + Send;
}

impl<F, Fut> Handler for F
where
    F: FnMut(Update) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<(), HandlerError>> + Send,
{
    fn handle(&mut self, update: Update) -> impl Future<Output = Result<(), HandlerError>> + Send {
        self(update)
    }
}

impl Handler for CommandHandler {
    async fn handle(&mut self, update: Update) -> Result<(), HandlerError> {
        self.run(&update).await
    }
}

/// How the watcher behaves.
#[derive(Clone, Debug)]
pub struct WatcherConfig {
    /// The debounce window.
    pub wait: Quiescence,
    /// Fire once at start with the current state.
    pub initial_fire: bool,
    /// Which instances count as members.
    pub membership: Membership,
    /// Longest a handler may run before it is abandoned and counts as failed. Abandoning a
    /// [`CommandHandler`] stops its whole process group: SIGTERM, then SIGKILL
    /// [`KILL_GRACE`] later.
    pub handler_timeout: Duration,
    /// Stop the watcher when a handler fails, instead of logging and going on.
    pub exit_on_failure: bool,
}

impl Default for WatcherConfig {
    fn default() -> Self {
        WatcherConfig {
            wait: Quiescence::default(),
            initial_fire: true,
            membership: Membership::Serving,
            handler_timeout: Duration::from_secs(30),
            exit_on_failure: false,
        }
    }
}

/// Watches services and runs a handler on their changes.
pub struct Watcher {
    registry: Registry,
    services: Vec<Service>,
    config: WatcherConfig,
    status: WatchStatus,
}

impl Watcher {
    /// A watcher of `names` (resolved against the caller's group; blanks are ignored and
    /// duplicates dropped). Fails on an invalid name or an empty list.
    pub fn new(
        registry: Registry,
        env: &Env,
        names: &[String],
        config: WatcherConfig,
    ) -> Result<Self> {
        Ok(Watcher {
            registry,
            services: Service::resolve_watch_list(env, names)?,
            config,
            status: WatchStatus::default(),
        })
    }

    /// A live view of every service's watch, for `/healthz`.
    pub fn status(&self) -> WatchStatus {
        self.status.clone()
    }

    /// Runs until a handler fails with [`WatcherConfig::exit_on_failure`] set (otherwise
    /// forever; drop the future to stop).
    pub async fn run<H: Handler>(self, handler: H) -> Result<()> {
        let router = Router::new(&self.services);
        let mut tasks = JoinSet::new();
        let mut senders = Vec::with_capacity(self.services.len());
        for service in self.services {
            // Unbounded: a service whose handler is running must not hold up the others.
            let (sender, events) = mpsc::unbounded_channel();
            senders.push(sender);
            let watch = ServiceWatch {
                config: self.config.clone(),
                status: self.status.clone(),
                service,
            };
            tasks.spawn(watch.run(events, handler.clone()));
        }
        let mut watch = self.registry.watch(router.scope(), watch_options());
        tasks.spawn(async move {
            while let Some(event) = watch.next().await {
                for (index, event) in router.split(event) {
                    // A service that stopped (only on a handler failure, which ends the
                    // watcher) takes no more events.
                    let _ = senders[index].send(event);
                }
            }
            Ok(())
        });
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(Ok(())) => {}
                Ok(Err(e)) => return Err(e),
                Err(e) => tracing::error!(error = %e, "a service watch panicked"),
            }
        }
        Ok(())
    }
}

/// Watches `services` and runs `handler` on their changes; see [`Watcher`].
pub async fn watch<H: Handler>(
    registry: Registry,
    env: &Env,
    services: &[String],
    config: WatcherConfig,
    handler: H,
) -> Result<()> {
    Watcher::new(registry, env, services, config)?
        .run(handler)
        .await
}

/// The watch of one service, fed with its share of the watcher's registry watch.
struct ServiceWatch {
    config: WatcherConfig,
    status: WatchStatus,
    service: Service,
}

/// A watcher needs no second-by-second proof of freshness (herald-dns does, for its
/// staleness report): progress requests every 10 s keep 1,000 watchers on one etcd at 100
/// requests/s, and a dead connection is still caught in seconds by the HTTP/2 keepalive.
pub(crate) fn watch_options() -> WatchOptions {
    WatchOptions {
        progress_interval: std::time::Duration::from_secs(10),
        hung_after: std::time::Duration::from_secs(30),
        ..WatchOptions::default()
    }
}

impl ServiceWatch {
    async fn run<H: Handler>(
        self,
        mut events: mpsc::UnboundedReceiver<WatchEvent>,
        mut handler: H,
    ) -> Result<()> {
        let mut members = Members::new();
        // What the last handler run saw; `None` until the first listing arrived.
        let mut fired: Option<Members> = None;
        let mut revision = 0;
        let mut debounce = Debounce::default();
        loop {
            let deadline = debounce.deadline();
            tokio::select! {
                event = events.recv() => {
                    let Some(event) = event else { return Ok(()) };
                    let changed = self.apply(event, &mut members, &mut revision);
                    if fired.is_none() && revision > 0 {
                        if self.config.initial_fire {
                            self.fire(&mut handler, &Members::new(), &members, revision, true).await?;
                        }
                        fired = Some(members.clone());
                    } else if changed {
                        debounce.touch(self.config.wait, Instant::now());
                    }
                }
                _ = sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                    debounce.clear();
                    if let Some(previous) = &fired && *previous != members {
                        self.fire(&mut handler, previous, &members, revision, false).await?;
                        fired = Some(members.clone());
                    }
                }
            }
        }
    }

    /// Applies one watch event to the members; true when they changed.
    fn apply(&self, event: WatchEvent, members: &mut Members, revision: &mut i64) -> bool {
        let name = self.service.name.as_str();
        match event {
            WatchEvent::Resynced(snapshot) => {
                *revision = snapshot.revision;
                self.status.connected(name, *revision);
                let fresh: Members = snapshot
                    .tasks
                    .iter()
                    .map(|v| &v.record)
                    .filter(|t| self.service.covers(&t.app_id) && self.config.membership.admits(t))
                    .map(|t| (t.task_id.clone(), Instance::from_record(t)))
                    .collect();
                let changed = fresh != *members;
                *members = fresh;
                changed
            }
            WatchEvent::Changes {
                revision: at,
                changes,
            } => {
                *revision = at;
                self.status.connected(name, at);
                let mut changed = false;
                for change in changes {
                    changed |= self.apply_change(change, members);
                }
                changed
            }
            WatchEvent::Live { revision: at } => {
                *revision = (*revision).max(at);
                self.status.connected(name, *revision);
                false
            }
            WatchEvent::Disconnected { error } => {
                tracing::warn!(service = name, %error, "etcd unreachable; the watch resumes when it is back");
                self.status.disconnected(name, error);
                false
            }
        }
    }

    fn apply_change(&self, change: Change, members: &mut Members) -> bool {
        match change {
            Change::Task(task) if self.service.covers(&task.app_id) => {
                if self.config.membership.admits(&task) {
                    let instance = Instance::from_record(&task);
                    members.insert(task.task_id, instance.clone()) != Some(instance)
                } else {
                    members.remove(&task.task_id).is_some()
                }
            }
            Change::TaskRemoved { app_id, task_id } if self.service.covers(&app_id) => {
                members.remove(&task_id).is_some()
            }
            _ => false,
        }
    }

    /// Runs the handler once; an error only when it failed and the watcher must stop.
    async fn fire<H: Handler>(
        &self,
        handler: &mut H,
        before: &Members,
        after: &Members,
        revision: i64,
        initial: bool,
    ) -> Result<()> {
        let update = Update {
            service: self.service.name.clone(),
            app_id: self.service.id.clone(),
            revision,
            initial,
            delta: delta::Delta::between(before, after),
            instances: after.values().cloned().collect(),
        };
        let name = self.service.name.clone();
        tracing::info!(service = %name, revision, delta = update.delta.count, "running the handler");
        let outcome =
            tokio::time::timeout(self.config.handler_timeout, handler.handle(update)).await;
        let failure = match outcome {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e.to_string()),
            Err(_) => Some(format!(
                "did not finish within {}",
                humantime::format_duration(self.config.handler_timeout)
            )),
        };
        let label = if failure.is_some() { "failed" } else { "ok" };
        metrics::counter!("herald_watcher_handler_runs_total", "service" => name.clone(), "outcome" => label)
            .increment(1);
        self.status.fired(&name, revision, failure.clone());
        match failure {
            None => Ok(()),
            Some(reason) if self.config.exit_on_failure => Err(Error::HandlerFailed {
                service: name,
                reason,
            }),
            Some(reason) => {
                tracing::error!(service = %name, %reason, "the handler failed; going on");
                Ok(())
            }
        }
    }
}
