//! What every part of a running simulator shares: the handle, the HTTP handlers, the SSE
//! writers and the scenario steps all hold an `Arc<Shared>`.

use std::net::{IpAddr, SocketAddr};
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;

use tokio_util::sync::CancellationToken;

use crate::SimConfig;
use crate::bus::{Bus, BusEvent};
use crate::clock::Clock;
use crate::ids::{uuid_node, uuid_v4};
use crate::model::Cluster;
use crate::stream::Streams;

/// The state of one simulator.
pub(crate) struct Shared {
    pub cfg: SimConfig,
    /// The bound address.
    pub addr: SocketAddr,
    /// The base URL clients use (an unspecified listen IP shows as 127.0.0.1).
    pub url: String,
    cluster: Mutex<Cluster>,
    /// Bumped by every mutable use of the cluster: what a cached rendering was made from.
    generation: AtomicU64,
    /// `GET /v2/apps?embed=apps.tasks` as last rendered, with the generation it shows.
    listing: Mutex<Option<(u64, Bytes)>>,
    pub bus: Bus,
    pub clock: Clock,
    /// Fault injection: every `/v2/*` request fails while set.
    pub failing: AtomicBool,
    /// Where `/v2/events` redirects to, if anywhere.
    pub redirect: Mutex<Option<String>>,
    /// Cancelled on shutdown: ends the accept loop, every connection and every stream.
    pub cancel: CancellationToken,
    pub streams: Streams,
    pub framework_id: String,
    /// The UUID node of this "Marathon"'s task ids: one per simulator, as one host's v1 UUIDs.
    pub uuid_node: u64,
}

impl Shared {
    /// The state of a simulator that has bound `addr`.
    pub(crate) fn new(cfg: SimConfig, addr: SocketAddr) -> Arc<Shared> {
        let shown = if addr.ip().is_unspecified() {
            SocketAddr::new(IpAddr::from([127, 0, 0, 1]), addr.port())
        } else {
            addr
        };
        Arc::new(Shared {
            url: format!("http://{shown}"),
            addr,
            cluster: Mutex::new(Cluster::new(cfg.agents.len())),
            generation: AtomicU64::new(0),
            listing: Mutex::new(None),
            bus: Bus::new(&cfg),
            clock: Clock::default(),
            failing: AtomicBool::new(false),
            redirect: Mutex::new(cfg.redirect_to.clone()),
            cancel: CancellationToken::new(),
            streams: Streams::default(),
            framework_id: format!("{}-0000", uuid_v4()),
            uuid_node: uuid_node(),
            cfg,
        })
    }

    /// The cluster, locked. A panic while it was held leaves it as it was; carrying on
    /// beats turning every later request into a panic too.
    pub(crate) fn lock(&self) -> ClusterGuard<'_> {
        let guard = match self.cluster.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        ClusterGuard {
            guard,
            generation: &self.generation,
        }
    }

    /// The whole listing's body (`GET /v2/apps?embed=apps.tasks`): rendered by `render`
    /// once per state of the cluster, then served as rendered (rendering 50,000 tasks takes
    /// the simulator about a second, which a benchmark would otherwise count).
    pub(crate) fn listing(
        &self,
        cluster: &ClusterGuard<'_>,
        render: impl FnOnce(&Cluster) -> Bytes,
    ) -> Bytes {
        let generation = self.generation.load(Ordering::SeqCst);
        let mut cached = self.listing.lock().unwrap_or_else(|p| p.into_inner());
        match &*cached {
            Some((at, body)) if *at == generation => body.clone(),
            _ => {
                let body = render(cluster);
                *cached = Some((generation, body.clone()));
                body
            }
        }
    }

    /// Publishes an event caused by a state change; suppressed while delivery is off, which
    /// is how tests simulate lost events.
    pub(crate) fn emit_state_change(&self, event: Arc<BusEvent>) {
        if self.bus.delivery.load(Ordering::SeqCst) {
            self.bus.publish(event);
        }
    }

    /// Publishes a bookkeeping event (streams, subscriptions): always delivered.
    pub(crate) fn emit_bookkeeping(&self, event: Arc<BusEvent>) {
        self.bus.publish(event);
    }
}

/// The cluster, locked; any mutable use bumps its generation (so cached renderings of the
/// state before it are not served again).
pub(crate) struct ClusterGuard<'a> {
    guard: MutexGuard<'a, Cluster>,
    generation: &'a AtomicU64,
}

impl Deref for ClusterGuard<'_> {
    type Target = Cluster;

    fn deref(&self) -> &Cluster {
        &self.guard
    }
}

impl DerefMut for ClusterGuard<'_> {
    fn deref_mut(&mut self) -> &mut Cluster {
        self.generation.fetch_add(1, Ordering::SeqCst);
        &mut self.guard
    }
}
