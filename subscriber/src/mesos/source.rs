//! The Mesos source: while this subscriber leads, find the leading master, `SUBSCRIBE`,
//! resync etcd from the snapshot, then write every event; resubscribe when the stream ends,
//! goes silent past the heartbeat timeout, the leader changes or a resync is asked for.
//!
//! ```text
//! masters list / ZooKeeper ──> leader ──POST SUBSCRIBE──> RecordIO ──> events::decode
//!        │                                                               │
//!        └─ master + leader records ──> etcd <── writes <── Cluster::apply ┘
//!                                         ^
//!         SUBSCRIBED ──> Cluster::from_snapshot ──> plan (diff vs etcd, capped)
//! ```
//!
//! Nothing is removed while the master is unreachable: records stay as they were until a
//! new snapshot is in (their age shows in `/healthz`).

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use registry::{LeaderRecord, MesosScope, MesosWrite, MesosWriteOp, Registry, Stamp};
use reqwest::Url;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::AbortOnDropHandle;

use super::client::{MesosClient, MesosConfig, MesosError, Subscribed};
use super::cluster::Cluster;
use super::convert::SchedulerPid;
use super::events::{self, MesosEvent};
use super::masters::{self, Masters, member_base};
use super::plan::{self, Rules, Wanted};
use super::recordio::RecordIoParser;
use super::writes::{self, Tally};
use super::zookeeper::{self, Members};
use crate::resync::Resync;
use crate::telemetry;

/// The Mesos source's settings.
#[derive(Clone, Debug)]
pub struct SourceConfig {
    /// Where the masters are.
    pub masters: Masters,
    /// How to reach them.
    pub client: MesosConfig,
    /// Names of the frameworks whose tasks the Marathon source writes (empty without it).
    pub covered_frameworks: BTreeSet<String>,
    /// A stream silent this long is reconnected; `None`: 3× the master's heartbeat
    /// interval (no limit from masters older than 1.5, which send no heartbeats).
    pub idle_timeout: Option<Duration>,
    /// The largest share of the stored Mesos records one resync may delete.
    pub max_delete_share: f64,
    /// Records larger than this are not written.
    pub max_record_size: usize,
    /// The largest stream record read (the `SUBSCRIBED` snapshot is the largest); a larger
    /// one ends the stream with an error naming both sizes.
    pub max_stream_record: usize,
    /// Resubscribe (and so resync) this often; zero: never on a timer.
    pub resync_interval: Duration,
}

/// What `/healthz` and the status record show of the source.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MesosView {
    /// A stream is open.
    pub connected: bool,
    /// The leading master's base URL, when found.
    pub leader: Option<String>,
    /// When the last record arrived.
    pub last_event_at: Option<Stamp>,
    /// When the last resync finished, and its counts.
    pub last_resync: Option<(Stamp, Tally)>,
    /// Removals the last resync withheld (over `--max-delete-share`).
    pub withheld: usize,
    /// The last error, while not connected.
    pub last_error: Option<String>,
}

/// The shared view. Cheap to clone.
#[derive(Clone, Default)]
pub struct MesosStatus(Arc<Mutex<MesosView>>);

impl MesosStatus {
    /// The current view.
    pub fn view(&self) -> MesosView {
        self.0.lock().map(|v| v.clone()).unwrap_or_default()
    }

    fn update(&self, f: impl FnOnce(&mut MesosView)) {
        if let Ok(mut v) = self.0.lock() {
            f(&mut v);
        }
    }
}

/// Why a session ended without an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ended {
    /// The master closed the stream.
    Closed,
    /// Nothing arrived within the idle timeout.
    Idle,
    /// ZooKeeper names another leader.
    LeaderChanged,
    /// A resync was asked for.
    Resync,
}

/// The source.
pub struct MesosSource {
    config: SourceConfig,
    client: MesosClient,
    registry: Registry,
    status: MesosStatus,
    resync: Resync,
}

impl MesosSource {
    /// Builds the source; fails on bad client settings.
    pub fn new(config: SourceConfig, registry: Registry) -> Result<Self, MesosError> {
        let client = MesosClient::new(&config.client)?;
        Ok(MesosSource {
            config,
            client,
            registry,
            status: MesosStatus::default(),
            resync: Resync::default(),
        })
    }

    /// The shared status.
    pub fn status(&self) -> MesosStatus {
        self.status.clone()
    }

    /// Where to ask for a resync (a resubscribe).
    pub fn resync(&self) -> Resync {
        self.resync.clone()
    }

    /// Runs while this instance leads, until `stop`.
    pub async fn run(self, mut leader: watch::Receiver<bool>, stop: CancellationToken) {
        let (members_tx, members) = watch::channel::<Members>(None);
        let _zookeeper = match &self.config.masters {
            Masters::ZooKeeper { servers, path } => {
                Some(AbortOnDropHandle::new(tokio::spawn(zookeeper::follow(
                    servers.clone(),
                    path.clone(),
                    members_tx,
                    stop.child_token(),
                ))))
            }
            Masters::List(_) => None,
        };
        let mut delay = Duration::from_millis(200);
        let mut preferred: Option<Url> = None;
        loop {
            while !*leader.borrow_and_update() {
                tokio::select! {
                    r = leader.changed() => if r.is_err() { return },
                    _ = stop.cancelled() => return,
                }
            }
            let outcome = tokio::select! {
                o = self.session(members.clone(), &mut preferred) => o,
                _ = lost(&mut leader) => Ok(Ended::Closed),
                _ = stop.cancelled() => return,
            };
            self.status.update(|v| v.connected = false);
            telemetry::mesos_connected(false);
            match outcome {
                Ok(ended) => {
                    telemetry::mesos_reconnect(match ended {
                        Ended::Closed => "ended",
                        Ended::Idle => "idle",
                        Ended::LeaderChanged => "leader_changed",
                        Ended::Resync => "resync",
                    });
                    tracing::info!(?ended, "Mesos stream ended; subscribing again");
                    delay = Duration::from_millis(200);
                    if ended == Ended::Closed {
                        // A master that closes at once must not be hammered.
                        sleep_or_stop(delay, &stop).await;
                    }
                }
                Err(e) => {
                    telemetry::mesos_reconnect("error");
                    tracing::warn!(error = %e, retry_in = ?delay, "Mesos source: no stream");
                    self.status.update(|v| v.last_error = Some(e.clone()));
                    // Re-run leader detection from the start of the list.
                    preferred = None;
                    sleep_or_stop(jitter(delay), &stop).await;
                    delay = (delay * 2).min(Duration::from_secs(30));
                }
            }
            if stop.is_cancelled() {
                return;
            }
        }
    }

    /// One subscription: connect, resync, follow.
    async fn session(
        &self,
        mut members: watch::Receiver<Members>,
        preferred: &mut Option<Url>,
    ) -> Result<Ended, String> {
        let (leader, stream) = self.connect(&mut members, preferred).await?;
        // The stream is read by its own task, so that its end is seen at once, also while
        // a big snapshot is being resynced (a leader change must not wait for that).
        let (mut chunks, ended, _reader) = read_stream(stream);
        *preferred = Some(leader.clone());
        let (masters, leader_record) = self.masters_now(&leader, &members).await;
        // A new leader shows at once, before the snapshot (which may take a while on a
        // big cluster) is read; an unchanged one writes nothing (the resync that follows
        // the snapshot checks the masters too).
        self.publish_leader(&leader_record).await?;
        self.status.update(|v| {
            v.leader = Some(leader.to_string());
            v.last_error = None;
        });
        tracing::info!(%leader, "subscribed to the leading Mesos master");

        // The scheduler PIDs (only `/master/state` has them) are fetched while the
        // snapshot streams in.
        let mut first_pids = Some(self.fetch_pids(&leader));
        let mut parser = RecordIoParser::new(self.config.max_stream_record);
        let mut records = Vec::new();
        let mut cluster: Option<Cluster> = None;
        let mut idle = self.config.idle_timeout.unwrap_or(Duration::from_secs(60));
        // A later fetch, for a framework that appeared without a known PID.
        let mut pid_fetch: Option<AbortOnDropHandle<HashMap<String, SchedulerPid>>> = None;
        let timer = async {
            if self.config.resync_interval.is_zero() {
                std::future::pending::<()>().await
            } else {
                tokio::time::sleep(self.config.resync_interval).await
            }
        };
        tokio::pin!(timer);
        let zookeeper = matches!(self.config.masters, Masters::ZooKeeper { .. });
        let mut known_masters: BTreeSet<String> = masters
            .iter()
            .flatten()
            .map(|m| m.master_id.clone())
            .collect();
        loop {
            let chunk = tokio::select! {
                c = tokio::time::timeout(idle, chunks.recv()) => match c {
                    Err(_) => return Ok(Ended::Idle),
                    Ok(None) => return Ok(Ended::Closed),
                    // A stream that broke once open (a leader change: the old leader
                    // drops its streams) is followed at once, starting with the same master
                    // (its 307 names the new one), not after the error backoff.
                    Ok(Some(Err(e))) => {
                        tracing::info!(error = %e, "the Mesos stream broke");
                        return Ok(Ended::Closed);
                    }
                    Ok(Some(Ok(chunk))) => chunk,
                },
                changed = members.changed(), if zookeeper => {
                    if changed.is_err() {
                        return Err("the ZooKeeper watch stopped".into());
                    }
                    // Publish the masters at once (a leader change shows in etcd before
                    // the new subscription), then follow the new leader.
                    let now_leader = members
                        .borrow_and_update()
                        .as_ref()
                        .and_then(|m| m.first().and_then(|m| member_base(self.client.scheme(), &m.info)));
                    if let Some((masters, record)) = self.zookeeper_records(&members) {
                        let ids: BTreeSet<String> = masters.iter().map(|m| m.master_id.clone()).collect();
                        let now = Stamp::now();
                        let mut ops: Vec<MesosWriteOp> = known_masters
                            .difference(&ids)
                            .map(|id| MesosWriteOp::newer(MesosWrite::RemoveMaster {
                                master_id: id.clone(),
                                reason: "left ZooKeeper".into(),
                                at: now.clone(),
                            }))
                            .collect();
                        ops.extend(masters.into_iter().map(|m| MesosWriteOp::newer(MesosWrite::PutMaster(m))));
                        ops.push(MesosWriteOp::newer(MesosWrite::PutLeader(record)));
                        self.write(ops).await?;
                        known_masters = ids;
                    }
                    if now_leader.as_ref() != Some(&leader) {
                        return Ok(Ended::LeaderChanged);
                    }
                    continue;
                }
                fetched = async {
                    match pid_fetch.as_mut() {
                        Some(fetch) => fetch.await,
                        None => std::future::pending().await,
                    }
                } => {
                    pid_fetch = None;
                    let pids = fetched.unwrap_or_default();
                    if let Some(c) = cluster.as_mut() {
                        let ops = c.learn_scheduler_pids(pids, &Stamp::now());
                        self.write(ops).await?;
                    }
                    continue;
                }
                _ = self.resync.requested() => return Ok(Ended::Resync),
                _ = &mut timer => return Ok(Ended::Resync),
            };
            records.clear();
            let parsed = parser.push(&chunk, &mut records);
            let now = Stamp::now();
            self.status.update(|v| v.last_event_at = Some(now.clone()));
            let mut ops = Vec::new();
            // Each record's bytes go as soon as it is decoded (a snapshot's are tens of MB).
            for record in records.drain(..) {
                let event = if record.len() >= BLOCKING_DECODE_BYTES {
                    // A snapshot takes a while to decode: off the runtime, and given up
                    // when the stream ends meanwhile.
                    let decoding = tokio::task::spawn_blocking(move || events::decode(&record));
                    tokio::select! {
                        r = decoding => r.map_err(|e| format!("decoding a Mesos record failed: {e}"))?,
                        _ = ended.cancelled() => return Ok(Ended::Closed),
                    }
                } else {
                    events::decode(&record)
                };
                let event = match event {
                    Ok(event) => event,
                    Err(e) => {
                        telemetry::mesos_event("invalid");
                        tracing::warn!(error = %e, "skipping a Mesos record that does not decode");
                        continue;
                    }
                };
                telemetry::mesos_event(kind(&event));
                let event = match event {
                    MesosEvent::Subscribed {
                        state,
                        heartbeat_interval_seconds,
                    } => {
                        if self.config.idle_timeout.is_none()
                            && let Some(seconds) =
                                heartbeat_interval_seconds.filter(|s| s.is_finite() && *s > 0.0)
                        {
                            idle = Duration::from_secs_f64(seconds * 3.0);
                        }
                        // Writes pending from before the snapshot are replaced by it.
                        ops.clear();
                        // The previous subscription's state goes before the new one is built.
                        drop(cluster.take());
                        let pids = match first_pids.take() {
                            Some(fetch) => tokio::select! {
                                r = fetch => r.unwrap_or_default(),
                                _ = ended.cancelled() => return Ok(Ended::Closed),
                            },
                            None => HashMap::new(),
                        };
                        let snapshot = Cluster::from_snapshot(
                            *state,
                            &self.config.covered_frameworks,
                            pids,
                            &now,
                        );
                        tokio::select! {
                            r = self.resync_from(&snapshot, masters.as_deref(), leader_record.clone()) => r?,
                            // The stream ended meanwhile (a leader change): the next
                            // subscription resyncs from its own snapshot.
                            _ = ended.cancelled() => return Ok(Ended::Closed),
                        }
                        self.status.update(|v| v.connected = true);
                        telemetry::mesos_connected(true);
                        cluster = Some(snapshot);
                        continue;
                    }
                    event => event,
                };
                let Some(c) = cluster.as_mut() else {
                    return Err(format!(
                        "the Mesos stream began with {} instead of SUBSCRIBED",
                        kind(&event)
                    ));
                };
                let applied = c.apply(&event, &now);
                if applied.unknown_task {
                    telemetry::mesos_event("unknown_task");
                    tracing::info!(
                        "a TASK_UPDATED for a task this subscription never saw added; the next resync brings it"
                    );
                }
                if applied.framework_without_pid.is_some() && pid_fetch.is_none() {
                    pid_fetch = Some(self.fetch_pids(&leader));
                }
                ops.extend(applied.writes);
            }
            self.write(ops).await?;
            if let Err(e) = parsed {
                return Err(format!(
                    "the Mesos stream cannot be read further (--mesos-max-snapshot for a larger snapshot): {e}"
                ));
            }
        }
    }

    /// Finds the leader and subscribes: the configured masters in turn (the last leader
    /// first), or ZooKeeper's lowest member; a follower's `307` is followed once.
    async fn connect(
        &self,
        members: &mut watch::Receiver<Members>,
        preferred: &Option<Url>,
    ) -> Result<(Url, ByteStream), String> {
        let candidates: Vec<Url> = match &self.config.masters {
            Masters::List(urls) => preferred
                .iter()
                .chain(urls.iter().filter(|u| Some(*u) != preferred.as_ref()))
                .cloned()
                .collect(),
            Masters::ZooKeeper { .. } => {
                let current = members
                    .wait_for(|m| m.as_ref().is_some_and(|m| !m.is_empty()))
                    .await
                    .map_err(|_| "the ZooKeeper watch stopped".to_string())?;
                current
                    .as_ref()
                    .and_then(|m| m.first())
                    .and_then(|m| member_base(self.client.scheme(), &m.info))
                    .into_iter()
                    .collect()
            }
        };
        let mut errors = Vec::new();
        for base in candidates {
            match self.client.subscribe(&base).await {
                Ok(Subscribed::Stream(s)) => return Ok((base, s)),
                Ok(Subscribed::Redirect(to)) => {
                    // A follower named the leader: it shows in etcd now, not once the
                    // leader has built its snapshot and answered (seconds on a big cluster).
                    let (_, record) = self.masters_now(&to, members).await;
                    if let Err(e) = self.publish_leader(&record).await {
                        tracing::warn!(error = %e, "cannot publish the new leader yet");
                    }
                    match self.client.subscribe(&to).await {
                        Ok(Subscribed::Stream(s)) => return Ok((to, s)),
                        Ok(Subscribed::Redirect(again)) => {
                            errors.push(format!("{base} -> {to} -> {again}: redirected twice"))
                        }
                        Err(e) => errors.push(e.to_string()),
                    }
                }
                Err(e) => errors.push(e.to_string()),
            }
        }
        Err(if errors.is_empty() {
            "no Mesos master known".into()
        } else {
            errors.join("; ")
        })
    }

    /// The master records and the leader record as known now.
    async fn masters_now(
        &self,
        leader: &Url,
        members: &watch::Receiver<Members>,
    ) -> (Option<Vec<registry::MasterRecord>>, registry::LeaderRecord) {
        if let Some((masters, record)) = self.zookeeper_records(members) {
            return (Some(masters), record);
        }
        let configured = match &self.config.masters {
            Masters::List(urls) => urls.clone(),
            Masters::ZooKeeper { .. } => Vec::new(),
        };
        let info = self
            .client
            .get_master(leader)
            .await
            .map_err(|e| {
                tracing::info!(error = %e, "GET_MASTER failed; the leader is known by its address");
            })
            .ok();
        let mut resolved = HashMap::new();
        for url in configured.iter().chain(std::iter::once(leader)) {
            if let Some(host) = url.host_str().filter(|h| h.parse::<IpAddr>().is_err()) {
                let port = url.port_or_known_default().unwrap_or(5050);
                let lookup = tokio::time::timeout(
                    Duration::from_secs(2),
                    tokio::net::lookup_host((host, port)),
                )
                .await;
                if let Ok(Ok(mut addrs)) = lookup
                    && let Some(addr) = addrs.next()
                {
                    resolved.insert(host.to_string(), addr.ip());
                }
            }
        }
        let (masters, record) = masters::list_records(
            &configured,
            leader,
            info.as_ref(),
            &|h: &str| resolved.get(h).copied(),
            &Stamp::now(),
        );
        (Some(masters), record)
    }

    /// Fetches the scheduler PIDs in a task of its own; empty when `/master/state` fails.
    fn fetch_pids(&self, leader: &Url) -> AbortOnDropHandle<HashMap<String, SchedulerPid>> {
        let client = self.client.clone();
        let base = leader.clone();
        AbortOnDropHandle::new(tokio::spawn(async move {
            client.scheduler_pids(&base).await.unwrap_or_else(|e| {
                tracing::info!(error = %e, "no scheduler PIDs from /master/state (framework names without addresses)");
                HashMap::new()
            })
        }))
    }

    /// Writes the leader record when it names another master than the stored one.
    async fn publish_leader(&self, record: &registry::LeaderRecord) -> Result<(), String> {
        let stored = self
            .registry
            .get_mesos(&registry::MesosKey::Leader)
            .await
            .map_err(|e| format!("cannot read the leader record: {e}"))?;
        let same = matches!(
            &stored,
            Some((registry::MesosEntry::Leader(old), _))
                if LeaderRecord { updated_at: old.updated_at.clone(), ..record.clone() } == *old
        );
        if same {
            return Ok(());
        }
        self.write(vec![MesosWriteOp::newer(MesosWrite::PutLeader(
            record.clone(),
        ))])
        .await
    }

    fn zookeeper_records(
        &self,
        members: &watch::Receiver<Members>,
    ) -> Option<(Vec<registry::MasterRecord>, registry::LeaderRecord)> {
        let members = members.borrow();
        masters::zookeeper_records(members.as_ref()?, &Stamp::now())
    }

    /// Makes etcd equal the snapshot (diff only; removals capped).
    async fn resync_from(
        &self,
        cluster: &Cluster,
        masters: Option<&[registry::MasterRecord]>,
        leader: registry::LeaderRecord,
    ) -> Result<(), String> {
        let (stored, tombstones) = self
            .registry
            .list_mesos_with_tombstones(&MesosScope::All)
            .await
            .map_err(|e| format!("cannot list the Mesos records for a resync: {e}"))?;
        let wanted = Wanted {
            leader: Some(leader),
            masters: masters.map(|m| m.iter().collect()),
            agents: cluster.agents().collect(),
            frameworks: cluster.frameworks().collect(),
            tasks: cluster.written_tasks().collect(),
            keep_agents: cluster.recovered_agents().clone(),
        };
        let rules = Rules {
            max_delete_share: self.config.max_delete_share,
            force: false,
        };
        let planned = plan::plan(&stored, &tombstones, wanted, rules, &Stamp::now());
        let stored_agents = stored.agents.len();
        drop((stored, tombstones));
        let (withheld, unchanged) = (planned.withheld, planned.unchanged);
        let writes = planned.into_writes();
        let tally = if writes.is_empty() {
            Tally::default()
        } else {
            writes::apply(&self.registry, writes, self.config.max_record_size)
                .await
                .map_err(|e| {
                    telemetry::mesos_resync("failed");
                    format!("the resync's writes failed: {e}")
                })?
        };
        let result = if withheld > 0 {
            tracing::warn!(
                withheld = withheld,
                max_delete_share = self.config.max_delete_share,
                "the Mesos snapshot would remove too many records; removals withheld"
            );
            "withheld"
        } else if tally == Tally::default() {
            "in_sync"
        } else {
            "applied"
        };
        telemetry::mesos_resync(result);
        tracing::info!(
            result,
            unchanged = unchanged,
            written = tally.written,
            stale = tally.stale,
            agents = stored_agents,
            tasks = cluster.task_count(),
            "Mesos resync"
        );
        self.status.update(|v| {
            v.last_resync = Some((Stamp::now(), tally));
            v.withheld = withheld;
        });
        Ok(())
    }

    async fn write(&self, ops: Vec<MesosWriteOp>) -> Result<(), String> {
        if ops.is_empty() {
            return Ok(());
        }
        writes::apply(&self.registry, ops, self.config.max_record_size)
            .await
            .map(|_| ())
            .map_err(|e| format!("etcd failed Mesos writes (a resync follows): {e}"))
    }
}

/// Records from this size on are decoded on a blocking thread.
const BLOCKING_DECODE_BYTES: usize = 1024 * 1024;

/// A boxed byte stream, as [`MesosClient::subscribe`] returns it.
type ByteStream = Box<dyn futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Send + Unpin>;

/// Reads `stream` in its own task: its chunks (or the error that ended it) on an unbounded
/// channel, and a token cancelled as soon as it ends. Unbounded so that the end is seen
/// even while the consumer is busy: what waits is what the master sent meanwhile.
fn read_stream(
    mut stream: ByteStream,
) -> (
    mpsc::UnboundedReceiver<Result<bytes::Bytes, String>>,
    CancellationToken,
    AbortOnDropHandle<()>,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    let ended = CancellationToken::new();
    let done = ended.clone();
    let task = tokio::spawn(async move {
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| crate::http_client::error_chain(&e));
            let failed = chunk.is_err();
            if tx.send(chunk).is_err() || failed {
                break;
            }
        }
        done.cancel();
    });
    (rx, ended, AbortOnDropHandle::new(task))
}

/// The event type's name, for metrics.
fn kind(event: &MesosEvent) -> &str {
    match event {
        MesosEvent::Subscribed { .. } => "SUBSCRIBED",
        MesosEvent::TaskAdded(_) => "TASK_ADDED",
        MesosEvent::TaskUpdated { .. } => "TASK_UPDATED",
        MesosEvent::AgentAdded(_) => "AGENT_ADDED",
        MesosEvent::AgentRemoved { .. } => "AGENT_REMOVED",
        MesosEvent::FrameworkAdded(_) => "FRAMEWORK_ADDED",
        MesosEvent::FrameworkUpdated(_) => "FRAMEWORK_UPDATED",
        MesosEvent::FrameworkRemoved { .. } => "FRAMEWORK_REMOVED",
        MesosEvent::Heartbeat => "HEARTBEAT",
        MesosEvent::Ignored { kind } => kind,
    }
}

/// Resolves when this instance stops leading (or the leadership channel closes).
async fn lost(leader: &mut watch::Receiver<bool>) {
    let _ = leader.wait_for(|l| !*l).await;
}

async fn sleep_or_stop(delay: Duration, stop: &CancellationToken) {
    tokio::select! {
        _ = tokio::time::sleep(delay) => {}
        _ = stop.cancelled() => {}
    }
}

/// `delay` ± 20 %.
fn jitter(delay: Duration) -> Duration {
    delay.mul_f64(rand::random_range(0.8..1.2))
}
