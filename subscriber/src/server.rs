//! Wiring: build every part from a [`Config`], run them as tasks, stop them in order.
//!
//! [`Subscriber::start_on`] reads top-down: the shared `Parts`, the event handler, then
//! the intake: who leads (`leadership`), the reconcile loop, where events come from
//! (`event_source`), and the HTTP API (`serve_api`).
//!
//! Shutdown is two-phase: first the intake stops (the HTTP server finishes its requests,
//! the SSE stream closes, the election resigns, the callback registration is removed),
//! then the handler writes what was already accepted, for up to `--drain-timeout`, and
//! exits (counting what it could not write).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use registry::Registry;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::agents::AgentResolver;
use crate::api::{self, ApiAuth, ApiState, MarathonApi, MesosApi};
use crate::catalog::Catalog;
use crate::config::{Config, Source};
use crate::ingest::Handler;
use crate::leader::{self, ElectionConfig};
use crate::marathon::{MarathonClient, MarathonError};
use crate::mesos::source::MesosSource;
use crate::queue::{IngestQueue, QueueReceiver};
use crate::reconcile::{self, Reconciler};
use crate::resync::Resync;
use crate::status::{self, SourceLink, StatusInputs};
use crate::stream::{self, StreamConfig};
use crate::telemetry;
use crate::writes::Writer;

/// A running subscriber.
pub struct Subscriber {
    addr: SocketAddr,
    intake: Intake,
    handler_stop: CancellationToken,
    handler_task: Option<JoinHandle<()>>,
    leader: watch::Receiver<bool>,
    resync: Resync,
}

impl Subscriber {
    /// Connects, binds `config.listen` (port 0 picks one) and starts every part.
    pub async fn start(config: Config) -> anyhow::Result<Subscriber> {
        let listener = TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        Self::start_on(config, listener).await
    }

    /// Like [`Subscriber::start`], on an already bound listener.
    pub async fn start_on(config: Config, listener: TcpListener) -> anyhow::Result<Subscriber> {
        // Install the metrics recorder before anything records.
        let _ = service::prometheus();
        let addr = listener.local_addr()?;
        let (mut parts, events) = Parts::connect(&config).await?;
        let handler_stop = CancellationToken::new();
        let handler_task = parts
            .marathon
            .as_ref()
            .map(|m| tokio::spawn(m.handler(&parts, &config).run(events, handler_stop.clone())));

        let mut intake = Intake::default();
        let id = format!("{}:{}:{}", leader::host_name(), std::process::id(), addr);
        let leader = leadership(&config, id.clone(), &mut intake).await?;
        let sse_link = SourceLink::default();
        if let Some(marathon) = &parts.marathon {
            intake.spawn(reconcile::run_loop(
                marathon.reconciler.clone(),
                parts.resync.clone(),
                leader.clone(),
                (!config.reconcile_interval.is_zero()).then_some(config.reconcile_interval),
                intake.stop.clone(),
            ));
            event_source(&config, &parts, marathon, &leader, &sse_link, &mut intake);
        }
        let mesos = parts.mesos.take().map(|source| {
            let api = MesosApi {
                status: source.status(),
                resync: source.resync(),
            };
            intake.spawn(source.run(leader.clone(), intake.stop.clone()));
            api
        });
        intake.spawn(status::publish(
            parts.registry.clone(),
            StatusInputs {
                id,
                marathon: parts.marathon.as_ref().map(|_| (config.source, sse_link)),
                mesos: mesos.as_ref().map(|m| m.status.clone()),
                queue: parts.queue.clone(),
            },
            leader.clone(),
            intake.stop.clone(),
        ));
        let resync = parts.resync.clone();
        serve_api(
            listener,
            parts.api_state(&config, leader.clone(), mesos),
            &mut intake,
        );

        tracing::info!(%addr, marathon = config.marathon.is_some(), source = ?config.source, mesos = config.mesos.is_some(), election = config.election, "herald-subscriber started");
        Ok(Subscriber {
            addr,
            intake,
            handler_stop,
            handler_task,
            leader,
            resync,
        })
    }

    /// The HTTP API's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// True while this instance is the elected leader.
    pub fn is_leader(&self) -> bool {
        *self.leader.borrow()
    }

    /// Leadership changes.
    pub fn leadership(&self) -> watch::Receiver<bool> {
        self.leader.clone()
    }

    /// Asks for a resync (as a full queue or an SSE reconnect would).
    pub fn request_resync(&self, reason: &str) {
        self.resync.request(reason);
    }

    /// Stops gracefully: intake first, then the handler writes what was accepted (for up to
    /// `--drain-timeout`).
    pub async fn stop(self) {
        self.intake.stop.cancel();
        for task in self.intake.tasks {
            let _ = task.await;
        }
        self.handler_stop.cancel();
        if let Some(handler) = self.handler_task {
            let _ = handler.await;
        }
        tracing::info!("herald-subscriber stopped");
    }

    /// Stops abruptly, as a crash would (nothing resigned, nothing drained).
    pub fn abort(self) {
        for task in self.intake.tasks {
            task.abort();
        }
        if let Some(handler) = self.handler_task {
            handler.abort();
        }
    }
}

/// What the handler, the reconcile, the event sources and the API share.
struct Parts {
    registry: Registry,
    writer: Writer,
    resync: Resync,
    queue: IngestQueue,
    /// The Marathon side, when `--marathon` is set.
    marathon: Option<MarathonParts>,
    /// The Mesos source, when `--mesos` is set (taken when it starts).
    mesos: Option<MesosSource>,
}

/// What only the Marathon source needs.
struct MarathonParts {
    client: MarathonClient,
    catalog: Catalog,
    agents: AgentResolver,
    reconciler: Arc<Reconciler>,
}

impl Parts {
    /// Sets up the etcd client, the sources' clients, the caches, the writer and the queue
    /// (and returns its receiving end, for the handler).
    async fn connect(config: &Config) -> anyhow::Result<(Parts, QueueReceiver)> {
        let registry = config
            .etcd
            .connect()
            .await
            .context("cannot set up the etcd client")?
            .with_tombstone_ttl(config.tombstone_ttl);
        let (queue, events) = IngestQueue::new(config.queue_capacity);
        let writer = Writer::new(
            registry.clone(),
            config.max_record_size,
            config.write_concurrency,
        );
        let marathon = match config.marathon_config() {
            None => None,
            Some(marathon_config) => {
                let client = MarathonClient::new(&marathon_config)?;
                let catalog = Catalog::new(client.clone());
                let agents = AgentResolver::new(config.agent_dns_ttl);
                let reconciler = Reconciler::new(
                    writer.clone(),
                    client.clone(),
                    catalog.clone(),
                    agents.clone(),
                    config.max_delete_share,
                )
                .with_max_clock_skew(config.max_clock_skew)
                .after_queue(queue.clone());
                Some(MarathonParts {
                    client,
                    catalog,
                    agents,
                    reconciler: Arc::new(reconciler),
                })
            }
        };
        let mesos = match config.mesos_config().map_err(anyhow::Error::msg)? {
            None => None,
            Some(mesos_config) => Some(MesosSource::new(mesos_config, registry.clone())?),
        };
        let parts = Parts {
            registry,
            writer,
            resync: Resync::default(),
            queue,
            marathon,
            mesos,
        };
        Ok((parts, events))
    }

    /// What the HTTP handlers share.
    fn api_state(
        self,
        config: &Config,
        leader: watch::Receiver<bool>,
        mesos: Option<MesosApi>,
    ) -> ApiState {
        ApiState {
            queue: self.queue,
            resync: self.resync,
            registry: self.registry,
            writer: self.writer,
            marathon: self.marathon.map(|m| MarathonApi {
                client: m.client,
                reconciler: m.reconciler,
            }),
            mesos,
            auth: ApiAuth::new(config.api_token.clone(), config.api_credentials.clone()),
            max_body: config.max_body,
            leader,
            source: config.source,
            max_clock_skew: config.max_clock_skew,
        }
    }
}

impl MarathonParts {
    /// The one event handler.
    fn handler(&self, parts: &Parts, config: &Config) -> Handler {
        Handler::new(
            parts.writer.clone(),
            self.catalog.clone(),
            self.agents.clone(),
            parts.resync.clone(),
            config.drain_timeout,
        )
    }
}

/// The tasks that take events in, stopped first at shutdown.
#[derive(Default)]
struct Intake {
    stop: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl Intake {
    fn spawn(&mut self, task: impl Future<Output = ()> + Send + 'static) {
        self.tasks.push(tokio::spawn(task));
    }
}

/// Who leads: the winner of an etcd election (`--election`), or else this instance alone.
/// Returns the leadership, which the leader gauge follows.
async fn leadership(
    config: &Config,
    id: String,
    intake: &mut Intake,
) -> anyhow::Result<watch::Receiver<bool>> {
    let (leader_tx, leader_rx) = watch::channel(!config.election);
    if config.election {
        let options = config
            .etcd
            .connect_options()?
            // `campaign` waits as long as another instance leads; the election code
            // puts its own deadlines on everything else.
            .with_timeout(Duration::from_secs(3600));
        let client = config
            .etcd
            .endpoints_with(options)
            .await
            .context("cannot set up the etcd election client")?;
        let election = ElectionConfig {
            name: config.election_name(),
            id,
            ttl: config.election_ttl,
        };
        intake.spawn(leader::run(
            client,
            election,
            leader_tx,
            intake.stop.clone(),
        ));
    } else {
        // Keep the sender alive for as long as the subscriber runs.
        let stop = intake.stop.clone();
        intake.spawn(async move {
            stop.cancelled().await;
            drop(leader_tx);
        });
    }
    let mut rx = leader_rx.clone();
    intake.spawn(async move {
        loop {
            telemetry::leader(*rx.borrow_and_update());
            if rx.changed().await.is_err() {
                telemetry::leader(false);
                return;
            }
        }
    });
    Ok(leader_rx)
}

/// Where events come from: the SSE stream (read by the leader), or callbacks (every
/// instance; registered with Marathon when `--callback-url` is set).
fn event_source(
    config: &Config,
    parts: &Parts,
    marathon: &MarathonParts,
    leader: &watch::Receiver<bool>,
    sse_link: &SourceLink,
    intake: &mut Intake,
) {
    match config.source {
        Source::Sse => intake.spawn(stream::run(
            marathon.client.clone(),
            parts.queue.clone(),
            parts.resync.clone(),
            leader.clone(),
            StreamConfig {
                idle_timeout: config.sse_idle_timeout,
                max_clock_skew: config.max_clock_skew,
                link: sse_link.clone(),
                ..StreamConfig::default()
            },
            intake.stop.clone(),
        )),
        Source::Callback => {
            if let Some(url) = config.callback_url.clone() {
                intake.spawn(callback_registration(
                    marathon.client.clone(),
                    url,
                    parts.resync.clone(),
                    intake.stop.clone(),
                ));
            }
        }
    }
}

/// Serves the HTTP API on `listener` until the intake stops.
fn serve_api(listener: TcpListener, state: ApiState, intake: &mut Intake) {
    let router = api::router(Arc::new(state));
    let stop = intake.stop.clone();
    intake.spawn(async move {
        if let Err(e) = service::serve(listener, router, stop.cancelled_owned()).await {
            tracing::error!(error = %e, "HTTP server failed");
        }
    });
}

/// Registers the callback URL with Marathon (retrying until it works), and removes it at
/// shutdown. Marathon ≤1.4 only; a 1.5+ Marathon answers 404.
async fn callback_registration(
    marathon: MarathonClient,
    url: String,
    resync: Resync,
    shutdown: CancellationToken,
) {
    let mut delay = Duration::from_secs(1);
    let mut registered = false;
    while !shutdown.is_cancelled() {
        match marathon.subscribe(&url).await {
            Ok(()) => {
                tracing::info!(callback = %url, "registered with Marathon's event subscriptions");
                registered = true;
                // Events before the registration were missed.
                resync.request("callback registered");
                break;
            }
            Err(MarathonError::Status { status, .. })
                if status == reqwest::StatusCode::NOT_FOUND =>
            {
                tracing::error!(
                    callback = %url,
                    "Marathon has no /v2/eventSubscriptions (removed in 1.5): use --source sse"
                );
                break;
            }
            Err(e) => {
                tracing::warn!(callback = %url, error = %e, retry_in = ?delay, "cannot register the callback URL");
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = shutdown.cancelled() => {}
                }
                delay = (delay * 2).min(Duration::from_secs(60));
            }
        }
    }
    shutdown.cancelled().await;
    if registered {
        match tokio::time::timeout(Duration::from_secs(5), marathon.unsubscribe(&url)).await {
            Ok(Ok(())) => {
                tracing::info!(callback = %url, "removed from Marathon's event subscriptions")
            }
            Ok(Err(e)) => {
                tracing::warn!(callback = %url, error = %e, "cannot remove the callback URL")
            }
            Err(_) => tracing::warn!(callback = %url, "removing the callback URL timed out"),
        }
    }
}

/// Runs until Ctrl-C / SIGTERM, then stops gracefully.
pub async fn run(config: Config) -> anyhow::Result<()> {
    tracing::info!(config = ?config, "starting");
    let subscriber = Subscriber::start(config).await?;
    service::shutdown_signal().await;
    subscriber.stop().await;
    Ok(())
}
