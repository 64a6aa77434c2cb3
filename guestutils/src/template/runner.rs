//! The template loop: one registry watch over every service (split per service, see
//! `watcher::fanout`) feeding one [`Catalog`]; a render pass once every service is listed,
//! then one per quiet burst of changes.

use registry::{Registry, WatchEvent};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::{Instant, sleep_until};

use super::TemplateSpec;
use super::catalog::Catalog;
use super::hook::Hook;
use super::outputs::Outputs;
use super::status::TemplateStatus;
use crate::env::Env;
use crate::error::{Error, Result};
use crate::service::Service;
use crate::watcher::fanout::Router;
use crate::watcher::quiescence::Debounce;
use crate::watcher::{WatchStatus, WatcherConfig, watch_options};

/// What to render and what to run around it.
#[derive(Clone, Debug, Default)]
pub struct TemplateConfig {
    /// The templates and their destinations.
    pub templates: Vec<TemplateSpec>,
    /// `sh -c` script run on each new file before it replaces the old one; `{}` is the new
    /// file's path. A non-zero exit keeps the old file.
    pub check: Option<String>,
    /// `sh -c` script run after a render that replaced any file.
    pub reload: Option<String>,
    /// Print what would be written (when it changes) instead of writing; no check, no reload.
    pub dry_run: bool,
    /// Render once every service is listed, then return (an error if a template failed).
    pub once: bool,
}

/// Watches services and renders templates over them; see the [module docs](super).
pub struct TemplateWatcher {
    registry: Registry,
    catalog: Catalog,
    watch: WatcherConfig,
    once: bool,
    outputs: Outputs,
    services: WatchStatus,
    templates: TemplateStatus,
}

impl TemplateWatcher {
    /// A watcher of `names` (resolved against the caller's group, as [`crate::watcher::Watcher`]
    /// does) rendering `config.templates`. From `watch` it uses the quiescence, the
    /// membership (which tasks are `instances`) and the handler timeout (the longest a check
    /// or reload may run). `env` is what templates read with `env()`.
    pub fn new(
        registry: Registry,
        env: &Env,
        names: &[String],
        watch: WatcherConfig,
        config: TemplateConfig,
    ) -> Result<Self> {
        let services = Service::resolve_watch_list(env, names)?;
        let hook = |script: &Option<String>| {
            script
                .as_ref()
                .map(|s| Hook::new(s.clone(), watch.handler_timeout))
        };
        let templates = TemplateStatus::default();
        let outputs = Outputs::new(
            &config.templates,
            hook(&config.check),
            hook(&config.reload),
            config.dry_run,
            env.clone(),
            templates.clone(),
        );
        Ok(TemplateWatcher {
            registry,
            catalog: Catalog::new(services),
            watch,
            once: config.once,
            outputs,
            services: WatchStatus::default(),
            templates,
        })
    }

    /// A live view of every service's watch, for `/healthz`.
    pub fn watch_status(&self) -> WatchStatus {
        self.services.clone()
    }

    /// A live view of every template, for `/healthz`.
    pub fn status(&self) -> TemplateStatus {
        self.templates.clone()
    }

    /// Runs until dropped; with `once`, returns after the first render pass (an error when
    /// a template, its check or the reload failed).
    pub async fn run(mut self) -> Result<()> {
        let (sender, mut events) = mpsc::channel(64);
        let services: Vec<Service> = self.catalog.services().cloned().collect();
        let router = Router::new(&services);
        let mut watch = self.registry.watch(router.scope(), watch_options());
        let mut watches = JoinSet::new();
        watches.spawn(async move {
            while let Some(event) = watch.next().await {
                for split in router.split(event) {
                    if sender.send(split).await.is_err() {
                        return;
                    }
                }
            }
        });
        let mut rendered = false;
        let mut debounce = Debounce::default();
        loop {
            let deadline = debounce.deadline();
            tokio::select! {
                received = events.recv() => {
                    let Some((index, event)) = received else { return Ok(()) };
                    self.report(index, &event);
                    let changed = self.catalog.apply(index, event);
                    if !rendered && self.catalog.synced() {
                        rendered = true;
                        let failures = self.render().await;
                        if self.once {
                            return match failures.is_empty() {
                                true => Ok(()),
                                false => Err(Error::TemplatesFailed { reasons: failures.join("; ") }),
                            };
                        }
                    } else if rendered && changed {
                        debounce.touch(self.watch.wait, Instant::now());
                    }
                }
                _ = sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                    debounce.clear();
                    self.render().await;
                }
            }
        }
    }

    /// One render pass over the current records; the failures.
    async fn render(&mut self) -> Vec<String> {
        let context = self.catalog.context(self.watch.membership);
        self.outputs.update(&context, self.catalog.revision()).await
    }

    /// Reports a watch event's connection state.
    fn report(&self, index: usize, event: &WatchEvent) {
        let Some(service) = self.catalog.services().nth(index) else {
            return;
        };
        let name = service.name.as_str();
        match event {
            WatchEvent::Resynced(snapshot) => self.services.connected(name, snapshot.revision),
            WatchEvent::Changes { revision, .. } | WatchEvent::Live { revision } => {
                self.services.connected(name, *revision)
            }
            WatchEvent::Disconnected { error } => {
                tracing::warn!(service = name, %error, "etcd unreachable; the watch resumes when it is back");
                self.services.disconnected(name, error.clone());
            }
        }
    }
}
