//! What every part of a running simulator shares: the handle, the HTTP handlers, the stream
//! writers and the scenario steps all hold an `Arc<Shared>`. Events are applied to the
//! cluster and published while the cluster is locked, so a new stream's snapshot and the
//! events after it never overlap nor leave a gap.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::masters::Masters;
use crate::model::Cluster;
use crate::proto::Event;
use crate::recordio;
use crate::streams::{Opened, Streams};
use crate::zk::ZkMasters;
use crate::{SimConfig, SimError, SlowConsumer};

/// The state of one simulator.
pub(crate) struct Shared {
    pub cfg: SimConfig,
    cluster: Mutex<Cluster>,
    pub masters: Masters,
    pub streams: Arc<Streams>,
    pub clock: Clock,
    /// Cancelled on shutdown: ends the accept loops, every connection and every stream.
    pub cancel: CancellationToken,
    /// Prefix of generated agent and framework ids.
    pub cluster_id: String,
    /// The "node" of generated v1 UUIDs (one per simulated Marathon).
    pub uuid_node: u64,
    /// When off, state changes are not published (lost events).
    pub delivery: AtomicBool,
    slow_consumer: Mutex<SlowConsumer>,
    pub next_agent: AtomicU32,
    pub next_framework: AtomicU32,
    /// The masters' ZooKeeper sessions, when configured.
    pub zk: tokio::sync::Mutex<Option<ZkMasters>>,
}

impl Shared {
    /// The state of a simulator whose masters are `masters`.
    pub(crate) fn new(cfg: SimConfig, masters: Masters) -> Shared {
        Shared {
            cluster_id: cfg.cluster_id.clone().unwrap_or_else(crate::ids::uuid_v4),
            cluster: Mutex::new(Cluster::default()),
            masters,
            streams: Arc::new(Streams::default()),
            clock: Clock::default(),
            cancel: CancellationToken::new(),
            uuid_node: rand::random::<u64>() & 0xffff_ffff_ffff,
            delivery: AtomicBool::new(true),
            slow_consumer: Mutex::new(cfg.slow_consumer),
            next_agent: AtomicU32::new(0),
            next_framework: AtomicU32::new(0),
            zk: tokio::sync::Mutex::new(None),
            cfg,
        }
    }

    /// The cluster, locked. A panic while it was held leaves it as it was; carrying on beats
    /// turning every later request into a panic too.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Cluster> {
        self.cluster.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The slow-consumer policy now.
    pub(crate) fn slow_consumer(&self) -> SlowConsumer {
        *self.slow_consumer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Changes the slow-consumer policy.
    pub(crate) fn set_slow_consumer(&self, policy: SlowConsumer) {
        *self.slow_consumer.lock().unwrap_or_else(|p| p.into_inner()) = policy;
    }

    /// Applies `events` to `cluster` (which the caller has locked) and publishes each one.
    pub(crate) fn commit(&self, cluster: &mut Cluster, events: Vec<Event>) -> Result<(), SimError> {
        for event in events {
            cluster.apply(&event).map_err(SimError::Invalid)?;
            if self.delivery.load(Ordering::SeqCst) {
                self.publish_json(&event.to_json());
            }
        }
        Ok(())
    }

    /// Publishes one record's JSON text, as is, to every stream.
    pub(crate) fn publish_json(&self, json: &str) {
        self.publish_bytes(recordio::encode(json.as_bytes()));
    }

    /// Publishes bytes, as they are (no framing added), to every stream.
    pub(crate) fn publish_bytes(&self, bytes: Bytes) {
        self.streams.publish(&bytes, self.slow_consumer());
    }

    /// A new stream on master `master`: its first bytes (SUBSCRIBED with the snapshot, then
    /// one HEARTBEAT) and its registration, made while the cluster is locked; `None` if the
    /// master does not lead (any more: leadership changes under the same lock).
    pub(crate) fn subscribe(&self, master: usize) -> Option<(Bytes, Opened)> {
        let cluster = self.lock();
        if self.masters.role(master) != crate::masters::Role::Leader {
            return None;
        }
        let subscribed = Event::Subscribed {
            get_state: cluster.snapshot(),
            heartbeat_interval_seconds: self.cfg.heartbeat.as_secs_f64(),
        };
        let mut first = recordio::encode(subscribed.to_json().as_bytes()).to_vec();
        first.extend_from_slice(&recordio::encode(Event::Heartbeat.to_json().as_bytes()));
        let opened = self.streams.open(self.cfg.max_subscribers);
        drop(cluster);
        Some((Bytes::from(first), opened))
    }

    /// Changes the leadership and breaks every open stream, under the cluster lock (so no
    /// stream can open on the old leader meanwhile). `recovered` also makes the new leader
    /// start from its registry (see `fail_over`).
    pub(crate) fn change_leader(&self, leader: Option<usize>, recovered: bool) {
        let mut cluster = self.lock();
        self.masters.set_leader(leader, self.clock.seconds());
        self.streams.close_all(true);
        if recovered {
            for a in &mut cluster.agents {
                a.status = crate::model::AgentStatus::Recovered;
            }
            for f in &mut cluster.frameworks {
                f.known = false;
            }
        }
    }
}
