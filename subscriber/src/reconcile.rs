//! Reconciliation: make etcd equal Marathon's `GET /v2/apps?embed=apps.tasks`.
//!
//! A [`ReconcilePlan`] is the difference between the two; applying it writes only that
//! difference, each write guarded by the `mod_revision` the plan was made from
//! ([`Guard::Revision`]), so an event written meanwhile is never clobbered (the write
//! conflicts and the next run looks again). Records are compared semantically
//! ([`records::same_task`], ignoring `updated_at`): a registry already in sync gets zero
//! writes.
//!
//! Safety rules:
//! - etcd is read *before* Marathon, so anything etcd holds is older than Marathon's
//!   answer (or conflicts);
//! - if Marathon fails, errors or answers without an `apps` list (or without embedded
//!   tasks), nothing is planned, so nothing is deleted;
//! - a plan that deletes more than `max_delete_share` of the stored records needs `force`:
//!   `POST /cleanup` refuses it (409) and applies nothing; automatic runs apply the
//!   creations and updates and withhold the deletions (logged, counted);
//! - Marathon's listing is the source of truth, and it always wins over what etcd holds:
//!   - a running task or an app that has a tombstone (removed recently, perhaps by a
//!     reconcile that saw a partial answer during a leader failover) is restored at once,
//!     over the tombstone's revision. Tombstones refuse late *events* only. A task listed as
//!     killing or unreachable does not replace a tombstone: it is on its way out anyway;
//!   - a stored record stamped further than `max_clock_skew` ahead of this host's clock
//!     (written before that was refused) has its guard replaced with the listing's own
//!     stamp, even when nothing else differs, so that real events apply to it again.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use registry::{
    AppId, AppRecord, Guard, KeyKind, Outcome, Registry, Scope, Stamp, TaskRecord, Write, WriteOp,
};
use serde::Serialize;
use tokio::sync::{Mutex, watch};
use tokio_util::sync::CancellationToken;

use crate::agents::AgentResolver;
use crate::catalog::{Catalog, Lookup};
use crate::events::DEFAULT_MAX_CLOCK_SKEW;
use crate::marathon::{MarathonClient, MarathonError};
use crate::queue::IngestQueue;
use crate::records;
use crate::resync::Resync;
use crate::telemetry;
use crate::writes::{WriteError, Writer};

/// Why a reconcile did not run or not finish.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// etcd could not be read or written.
    #[error("etcd: {0}")]
    Etcd(#[from] registry::Error),
    /// Marathon failed: nothing was planned, nothing deleted.
    #[error("{0}")]
    Marathon(#[from] MarathonError),
    /// etcd failed writes in a way that may clear (the rest of the plan was applied).
    #[error("etcd: {0}")]
    Write(WriteError),
    /// Too many deletions without `force`.
    #[error(
        "the plan removes {deletes} of {records} records ({:.0}%), more than the allowed {:.0}%; \
         nothing was applied — check Marathon, then repeat with force=true",
        share * 100.0, max * 100.0
    )]
    NeedsForce {
        /// Records the plan removes.
        deletes: usize,
        /// Records stored.
        records: usize,
        /// `deletes / records`.
        share: f64,
        /// The configured limit.
        max: f64,
        /// The refused plan.
        plan: Box<ReconcilePlan>,
    },
}

/// The kinds of change a plan holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// A task Marathon runs that etcd lacks (or holds only a tombstone of).
    CreateTask,
    /// A task whose record differs.
    UpdateTask,
    /// A task etcd holds that Marathon does not run.
    RemoveTask,
    /// An app etcd lacks (or holds only a tombstone of).
    CreateApp,
    /// An app whose record differs.
    UpdateApp,
    /// An app Marathon no longer has.
    RemoveApp,
}

impl ChangeKind {
    fn label(self) -> &'static str {
        match self {
            ChangeKind::CreateTask => "create_task",
            ChangeKind::UpdateTask => "update_task",
            ChangeKind::RemoveTask => "remove_task",
            ChangeKind::CreateApp => "create_app",
            ChangeKind::UpdateApp => "update_app",
            ChangeKind::RemoveApp => "remove_app",
        }
    }

    fn is_delete(self) -> bool {
        matches!(self, ChangeKind::RemoveTask | ChangeKind::RemoveApp)
    }
}

/// One planned change.
#[derive(Clone, Debug, Serialize)]
pub struct PlannedChange {
    /// What.
    pub change: ChangeKind,
    /// The app.
    pub app_id: AppId,
    /// The task, for task changes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    /// The record to write (creations and updates).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<serde_json::Value>,
    /// The record stored now (updates and removals).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stored: Option<serde_json::Value>,
    #[serde(skip)]
    op: Option<WriteOp>,
}

/// Change counts by kind.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Tasks to create.
    pub create_task: usize,
    /// Tasks to update.
    pub update_task: usize,
    /// Tasks to remove.
    pub remove_task: usize,
    /// Apps to create.
    pub create_app: usize,
    /// Apps to update.
    pub update_app: usize,
    /// Apps to remove.
    pub remove_app: usize,
}

impl Summary {
    fn count(&mut self, kind: ChangeKind) {
        *match kind {
            ChangeKind::CreateTask => &mut self.create_task,
            ChangeKind::UpdateTask => &mut self.update_task,
            ChangeKind::RemoveTask => &mut self.remove_task,
            ChangeKind::CreateApp => &mut self.create_app,
            ChangeKind::UpdateApp => &mut self.update_app,
            ChangeKind::RemoveApp => &mut self.remove_app,
        } += 1;
    }

    /// Changes in total.
    pub fn total(&self) -> usize {
        self.create_task
            + self.update_task
            + self.remove_task
            + self.create_app
            + self.update_app
            + self.remove_app
    }

    /// Removals in total.
    pub fn deletes(&self) -> usize {
        self.remove_task + self.remove_app
    }
}

/// The difference between Marathon and etcd.
#[derive(Clone, Debug, Serialize)]
pub struct ReconcilePlan {
    /// The etcd revision the plan was made from.
    pub revision: i64,
    /// Apps Marathon listed.
    pub marathon_apps: usize,
    /// Tasks Marathon listed in a state Herald stores.
    pub marathon_tasks: usize,
    /// Records etcd holds (tasks + apps).
    pub stored_records: usize,
    /// Counts by kind.
    pub summary: Summary,
    /// The share of stored records the plan removes.
    pub delete_share: f64,
    /// True when the removals exceed the allowed share.
    pub needs_force: bool,
    /// The changes.
    pub changes: Vec<PlannedChange>,
}

/// What a run did.
#[derive(Clone, Debug, Serialize)]
pub struct ReconcileReport {
    /// The plan's counts.
    pub planned: Summary,
    /// Writes applied.
    pub written: usize,
    /// Writes refused because the key changed since the plan (an event won; the next run
    /// looks again).
    pub conflicts: usize,
    /// Removals held back (too many, no force).
    pub withheld_deletes: usize,
    /// Writes refused for good: the record is over `--max-record-size`, or etcd refused it
    /// (logged, counted, reported on `/healthz`).
    pub refused: usize,
    /// Milliseconds the run took.
    pub duration_ms: u64,
}

/// Plans and applies reconciles; one at a time per process.
pub struct Reconciler {
    registry: Registry,
    writer: Writer,
    client: MarathonClient,
    catalog: Catalog,
    agents: AgentResolver,
    max_delete_share: f64,
    max_clock_skew: Duration,
    running: Mutex<()>,
    queue: Option<IngestQueue>,
}

/// Stored stamps later than this are from beyond the allowed clock skew: no real event
/// carried them, and a reconcile does not keep them as guards.
struct Horizon(Option<DateTime<Utc>>);

impl Horizon {
    fn new(now: DateTime<Utc>, skew: Duration) -> Self {
        Horizon(
            chrono::TimeDelta::from_std(skew)
                .ok()
                .and_then(|d| now.checked_add_signed(d)),
        )
    }

    fn is_beyond(&self, at: &Stamp) -> bool {
        self.0.is_some_and(|limit| at.to_datetime() > limit)
    }

    /// The stamp a rewrite of a stored record carries: the listing's, or the stored one
    /// when that is newer and within the horizon (so an event already applied still orders
    /// after the rewrite).
    fn carried(&self, listed: Stamp, stored: &Stamp) -> Stamp {
        if self.is_beyond(stored) {
            listed
        } else {
            listed.max(stored.clone())
        }
    }
}

fn to_json<T: Serialize>(value: &T) -> Option<serde_json::Value> {
    serde_json::to_value(value).ok()
}

impl Reconciler {
    /// A reconciler.
    pub fn new(
        writer: Writer,
        client: MarathonClient,
        catalog: Catalog,
        agents: AgentResolver,
        max_delete_share: f64,
    ) -> Self {
        Reconciler {
            registry: writer.registry().clone(),
            writer,
            client,
            catalog,
            agents,
            max_delete_share: max_delete_share.clamp(0.0, 1.0),
            max_clock_skew: DEFAULT_MAX_CLOCK_SKEW,
            running: Mutex::new(()),
            queue: None,
        }
    }

    /// Stored stamps further than `skew` ahead of this host's clock are replaced by the
    /// listing's (default [`DEFAULT_MAX_CLOCK_SKEW`]).
    pub fn with_max_clock_skew(mut self, skew: Duration) -> Self {
        self.max_clock_skew = skew;
        self
    }

    /// Before planning, wait (up to 10 s) until the events accepted so far are written,
    /// so that a plan does not "fix" what the queue is about to write anyway.
    pub fn after_queue(mut self, queue: IngestQueue) -> Self {
        self.queue = Some(queue);
        self
    }

    /// Computes the plan; writes nothing.
    pub async fn plan(&self) -> Result<ReconcilePlan, ReconcileError> {
        if let Some(queue) = &self.queue
            && !queue.caught_up(Duration::from_secs(10)).await
        {
            tracing::debug!("the event queue is still behind; planning anyway");
        }
        // etcd first: then whatever it holds is no newer than Marathon's answer.
        let (snapshot, tombstones) = self.registry.list_with_tombstones(&Scope::All).await?;
        let apps = self.client.apps_with_tasks().await?;

        let hosts: Vec<&str> = apps
            .iter()
            .flat_map(|a| a.tasks.iter().flatten())
            .filter_map(|t| t.host.as_deref())
            .collect();
        self.agents.prefetch(hosts).await;

        let mut want_apps: BTreeMap<AppId, AppRecord> = BTreeMap::new();
        let mut keep_apps: HashSet<AppId> = HashSet::new();
        let mut want_tasks: BTreeMap<(AppId, String), TaskRecord> = BTreeMap::new();
        for app in &apps {
            let Some(app_id) = app.id.as_deref().and_then(|id| AppId::parse(id).ok()) else {
                tracing::warn!(id = ?app.id, "Marathon lists an app with an invalid id; skipped");
                continue;
            };
            let def = match records::app_definition(app) {
                Ok(def) => {
                    let def = Arc::new(def);
                    self.catalog.observe(def.clone()).await;
                    want_apps.insert(app_id.clone(), def.record.clone());
                    Some(def)
                }
                Err(e) => {
                    tracing::warn!(app = %app_id, error = %e, "unusable app definition; its record is left as is");
                    keep_apps.insert(app_id.clone());
                    None
                }
            };
            for task in app.tasks.iter().flatten() {
                let Some(facts) = records::facts_of(&app_id, task) else {
                    continue;
                };
                if !records::is_stored(&facts.state) {
                    continue;
                }
                let task_def = match &def {
                    Some(d) if d.describes(facts.version.as_deref()) => Some(d.clone()),
                    Some(d) => match self.catalog.lookup(&app_id, facts.version.as_deref()).await {
                        Lookup::Found(older) => Some(older),
                        _ => Some(d.clone()),
                    },
                    None => None,
                };
                let agent_ips = self.agents.resolve(&facts.host).await;
                let record = records::task_record(
                    facts,
                    task_def.as_ref().map(|d| &d.record),
                    agent_ips,
                    records::observed_at(task),
                );
                want_tasks.insert((app_id.clone(), record.task_id.clone()), record);
            }
        }

        let marathon_tasks = want_tasks.len();
        let horizon = Horizon::new(Utc::now(), self.max_clock_skew);
        let now = Stamp::now();
        let mut removed_tasks = HashMap::new();
        let mut removed_apps = HashMap::new();
        for t in tombstones {
            match t.kind {
                KeyKind::Task(app, task) => removed_tasks.insert((app, task), t.mod_revision),
                KeyKind::App(app) => removed_apps.insert(app, t.mod_revision),
            };
        }
        let mut restored = 0usize;
        let mut unfrozen = 0usize;
        let mut changes = Vec::new();
        let mut summary = Summary::default();
        let mut push = |kind: ChangeKind, change: PlannedChange| {
            summary.count(kind);
            changes.push(change);
        };

        let mut stored_tasks = BTreeMap::new();
        for t in &snapshot.tasks {
            stored_tasks.insert((t.record.app_id.clone(), t.record.task_id.clone()), t);
        }
        for (key, mut want) in std::mem::take(&mut want_tasks) {
            match stored_tasks.remove(&key) {
                None => {
                    // Absent, or a tombstone: a running task is restored over it at once.
                    let guard = match removed_tasks.get(&key) {
                        None => Guard::Revision(0),
                        Some(&rev) if want.state.is_running() => {
                            restored += 1;
                            Guard::Revision(rev)
                        }
                        Some(_) => continue,
                    };
                    push(
                        ChangeKind::CreateTask,
                        PlannedChange {
                            change: ChangeKind::CreateTask,
                            app_id: key.0,
                            task_id: Some(key.1),
                            record: to_json(&want),
                            stored: None,
                            op: Some(WriteOp {
                                write: Write::PutTask(want),
                                guard,
                            }),
                        },
                    );
                }
                Some(have)
                    if !records::same_task(&have.record, &want)
                        || horizon.is_beyond(&have.record.updated_at) =>
                {
                    if horizon.is_beyond(&have.record.updated_at) {
                        unfrozen += 1;
                    }
                    want.updated_at = horizon.carried(want.updated_at, &have.record.updated_at);
                    push(
                        ChangeKind::UpdateTask,
                        PlannedChange {
                            change: ChangeKind::UpdateTask,
                            app_id: key.0,
                            task_id: Some(key.1),
                            record: to_json(&want),
                            stored: to_json(&have.record),
                            op: Some(WriteOp {
                                write: Write::PutTask(want),
                                guard: Guard::Revision(have.mod_revision),
                            }),
                        },
                    );
                }
                Some(_) => {}
            }
        }
        for ((app_id, task_id), have) in stored_tasks {
            push(
                ChangeKind::RemoveTask,
                PlannedChange {
                    change: ChangeKind::RemoveTask,
                    app_id: app_id.clone(),
                    task_id: Some(task_id.clone()),
                    record: None,
                    stored: to_json(&have.record),
                    op: Some(WriteOp {
                        write: Write::RemoveTask {
                            app_id,
                            task_id,
                            reason: "reconcile: not in Marathon".into(),
                            at: horizon.carried(now.clone(), &have.record.updated_at),
                        },
                        guard: Guard::Revision(have.mod_revision),
                    }),
                },
            );
        }

        let mut stored_apps = BTreeMap::new();
        for a in &snapshot.apps {
            stored_apps.insert(a.record.app_id.clone(), a);
        }
        for (app_id, mut want) in want_apps {
            match stored_apps.remove(&app_id) {
                None => {
                    // Absent, or a tombstone: a listed app is restored over it at once.
                    let guard = match removed_apps.get(&app_id) {
                        None => Guard::Revision(0),
                        Some(&rev) => {
                            restored += 1;
                            Guard::Revision(rev)
                        }
                    };
                    push(
                        ChangeKind::CreateApp,
                        PlannedChange {
                            change: ChangeKind::CreateApp,
                            app_id,
                            task_id: None,
                            record: to_json(&want),
                            stored: None,
                            op: Some(WriteOp {
                                write: Write::PutApp(want),
                                guard,
                            }),
                        },
                    );
                }
                Some(have)
                    if !records::same_app(&have.record, &want)
                        || horizon.is_beyond(&have.record.updated_at) =>
                {
                    if horizon.is_beyond(&have.record.updated_at) {
                        unfrozen += 1;
                    }
                    want.updated_at = horizon.carried(want.updated_at, &have.record.updated_at);
                    push(
                        ChangeKind::UpdateApp,
                        PlannedChange {
                            change: ChangeKind::UpdateApp,
                            app_id,
                            task_id: None,
                            record: to_json(&want),
                            stored: to_json(&have.record),
                            op: Some(WriteOp {
                                write: Write::PutApp(want),
                                guard: Guard::Revision(have.mod_revision),
                            }),
                        },
                    );
                }
                Some(_) => {}
            }
        }
        for (app_id, have) in stored_apps {
            if keep_apps.contains(&app_id) {
                continue;
            }
            push(
                ChangeKind::RemoveApp,
                PlannedChange {
                    change: ChangeKind::RemoveApp,
                    app_id: app_id.clone(),
                    task_id: None,
                    record: None,
                    stored: to_json(&have.record),
                    op: Some(WriteOp {
                        write: Write::RemoveApp {
                            app_id,
                            reason: "reconcile: not in Marathon".into(),
                            at: horizon.carried(now.clone(), &have.record.updated_at),
                        },
                        guard: Guard::Revision(have.mod_revision),
                    }),
                },
            );
        }

        if restored > 0 {
            tracing::info!(
                restored,
                "Marathon lists records that were removed recently; the plan restores them over their tombstones"
            );
        }
        if unfrozen > 0 {
            tracing::warn!(
                records = unfrozen,
                skew = %humantime::format_duration(self.max_clock_skew),
                "stored records are stamped beyond the allowed clock skew; the plan gives them the listing's stamps"
            );
        }
        let stored_records = snapshot.tasks.len() + snapshot.apps.len();
        let delete_share = if stored_records == 0 {
            0.0
        } else {
            summary.deletes() as f64 / stored_records as f64
        };
        Ok(ReconcilePlan {
            revision: snapshot.revision,
            marathon_apps: apps.len(),
            marathon_tasks,
            stored_records,
            needs_force: delete_share > self.max_delete_share,
            delete_share,
            summary,
            changes,
        })
    }

    /// Plans and applies. Without `force`, a plan over the delete share is refused whole
    /// ([`ReconcileError::NeedsForce`]).
    pub async fn run(&self, force: bool) -> Result<ReconcileReport, ReconcileError> {
        self.run_with(if force { Mode::Force } else { Mode::Refuse })
            .await
    }

    /// The automatic run: over the delete share, apply everything but the removals.
    pub async fn run_automatic(&self) -> Result<ReconcileReport, ReconcileError> {
        self.run_with(Mode::Withhold).await
    }

    async fn run_with(&self, mode: Mode) -> Result<ReconcileReport, ReconcileError> {
        let _one_at_a_time = self.running.lock().await;
        let started = Instant::now();
        let plan = match self.plan().await {
            Ok(plan) => plan,
            Err(e) => {
                telemetry::reconcile_run("failed");
                return Err(e);
            }
        };
        telemetry::reconcile_last_diff(plan.summary.total());
        let mut withheld = 0;
        let withhold = plan.needs_force && mode != Mode::Force;
        if withhold && mode == Mode::Refuse {
            telemetry::reconcile_run("refused");
            return Err(ReconcileError::NeedsForce {
                deletes: plan.summary.deletes(),
                records: plan.stored_records,
                share: plan.delete_share,
                max: self.max_delete_share,
                plan: Box::new(plan),
            });
        }
        let mut ops = Vec::with_capacity(plan.changes.len());
        let mut kinds = Vec::with_capacity(plan.changes.len());
        for change in plan.changes {
            if withhold && change.change.is_delete() {
                withheld += 1;
                continue;
            }
            if let Some(op) = change.op {
                kinds.push(change.change);
                ops.push(op);
            }
        }
        if withheld > 0 {
            tracing::warn!(
                withheld,
                stored = plan.stored_records,
                "reconcile would remove more than the allowed share of records; removals withheld (POST /cleanup?force=true applies them)"
            );
        }
        // One record etcd refuses is skipped (logged, counted); the rest is applied.
        let results = self.writer.apply(ops).await;
        let mut written = 0;
        let mut conflicts = 0;
        let mut refused = 0;
        let mut unavailable = None;
        for (kind, result) in kinds.iter().zip(&results) {
            match result {
                Ok(Outcome::Written) => {
                    written += 1;
                    telemetry::reconcile_changes(kind.label(), 1);
                }
                Ok(Outcome::Conflict) => conflicts += 1,
                Ok(_) => {}
                Err(e @ WriteError::Unavailable(_)) => unavailable = Some(e.clone()),
                Err(_) => refused += 1,
            }
        }
        if let Some(e) = unavailable {
            telemetry::reconcile_run("failed");
            return Err(ReconcileError::Write(e));
        }
        telemetry::reconcile_run(if withheld > 0 {
            "withheld"
        } else if results.is_empty() {
            "in_sync"
        } else {
            "applied"
        });
        let report = ReconcileReport {
            planned: plan.summary,
            written,
            conflicts,
            withheld_deletes: withheld,
            refused,
            duration_ms: started.elapsed().as_millis() as u64,
        };
        if report.planned.total() > 0 {
            tracing::info!(?report, "reconcile applied");
        } else {
            tracing::debug!(?report, "reconcile: etcd is in sync");
        }
        Ok(report)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Refuse,
    Withhold,
    Force,
}

/// The background reconcile: on becoming leader, every `interval` while leader, and on
/// request (any instance, at most one run per `min_gap`). Failed runs are retried with
/// backoff.
pub async fn run_loop(
    reconciler: Arc<Reconciler>,
    resync: Resync,
    mut leader: watch::Receiver<bool>,
    interval: Option<Duration>,
    shutdown: CancellationToken,
) {
    let min_gap = Duration::from_secs(1);
    let mut was_leader = false;
    let mut next_periodic: Option<tokio::time::Instant> = None;
    let mut retry_at: Option<tokio::time::Instant> = None;
    let mut retry_delay = Duration::from_secs(2);
    let mut last_run = tokio::time::Instant::now() - min_gap;
    loop {
        let is_leader = *leader.borrow_and_update();
        let mut reason: Option<String> = None;
        if is_leader && !was_leader {
            reason = Some("became leader".into());
        }
        if !is_leader {
            next_periodic = None;
        }
        was_leader = is_leader;
        if reason.is_none() {
            let periodic = async {
                match next_periodic {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            let retry = async {
                match retry_at {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = shutdown.cancelled() => return,
                changed = leader.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    continue;
                }
                r = resync.requested() => reason = Some(r),
                _ = periodic => reason = Some("periodic".into()),
                _ = retry => reason = Some("retry after a failed run".into()),
            }
        }
        let reason = reason.unwrap_or_default();
        let wait = (last_run + min_gap).saturating_duration_since(tokio::time::Instant::now());
        if !wait.is_zero() {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(wait) => {}
            }
        }
        // Requests made while waiting are served by this run.
        let _ = resync.take();
        tracing::debug!(%reason, "reconcile starting");
        last_run = tokio::time::Instant::now();
        let result = tokio::select! {
            r = reconciler.run_automatic() => r,
            // Stopping mid-way is safe: every write is guarded.
            _ = shutdown.cancelled() => return,
        };
        match result {
            Ok(_) => {
                retry_at = None;
                retry_delay = Duration::from_secs(2);
            }
            Err(e) => {
                tracing::warn!(%reason, error = %e, retry_in = ?retry_delay, "reconcile failed; nothing was removed");
                retry_at = Some(tokio::time::Instant::now() + retry_delay);
                retry_delay = (retry_delay * 2).min(Duration::from_secs(60));
            }
        }
        if was_leader && let Some(every) = interval {
            next_periodic = Some(tokio::time::Instant::now() + every);
        }
    }
}
