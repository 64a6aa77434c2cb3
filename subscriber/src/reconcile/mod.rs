//! Reconciliation: make etcd equal Marathon's `GET /v2/apps?embed=apps.tasks`.
//!
//! A run fixes etcd's revision, then asks Marathon (`wanted`: the listing turned into
//! records) while reading etcd as of that revision, makes a [`ReconcilePlan`] of the
//! difference (pure: [`plan`]) and applies it: each write guarded
//! by the `mod_revision` the plan was made from ([`registry::Guard::Revision`]), so an
//! event written meanwhile is never clobbered (the write conflicts and the next run looks
//! again). Records are compared semantically ([`crate::records::same_task`], ignoring
//! `updated_at`): a registry already in sync gets zero writes. [`run_loop`] decides when
//! runs happen.
//!
//! Safety rules:
//! - etcd is read as of a revision fixed *before* Marathon is asked (an MVCC snapshot read,
//!   done while the listing arrives), so anything the plan sees in etcd is older than
//!   Marathon's answer, and anything written since conflicts with the plan's guards; a
//!   revision etcd compacts away meanwhile starts the plan again, at a fresh revision and
//!   with a fresh listing;
//! - if Marathon fails, errors or answers without an `apps` list (or without embedded
//!   tasks), nothing is planned, so nothing is deleted;
//! - a plan that deletes more than `max_delete_share` of the stored records needs `force`:
//!   `POST /cleanup` refuses it (409) and applies nothing; automatic runs apply the
//!   creations and updates and withhold the deletions (logged, counted);
//! - Marathon's listing is the source of truth, and it always wins over what etcd holds:
//!   a listed app or running task is restored over its tombstone, and a stored record
//!   stamped beyond the allowed clock skew gets the listing's stamp (see [`plan`]).

mod changes;
pub mod plan;
mod schedule;
mod wanted;

use std::future::Future;
use std::time::{Duration, Instant};

use chrono::Utc;
use registry::{Outcome, Registry, Scope, Stamp};
use serde::Serialize;
use tokio::sync::Mutex;

pub use changes::{ChangeKind, PlannedChange, ReconcilePlan, Stored, Summary};
pub use schedule::run_loop;

use crate::agents::AgentResolver;
use crate::catalog::Catalog;
use crate::events::DEFAULT_MAX_CLOCK_SKEW;
use crate::marathon::{MarathonClient, MarathonError};
use crate::queue::IngestQueue;
use crate::telemetry;
use crate::writes::{WriteError, WriteResult, Writer};
use plan::{Horizon, PlanWrites, Rules};

/// Plans started in all when etcd keeps compacting away the revision a plan reads at.
const COMPACTED_ATTEMPTS: usize = 3;

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

/// How a run treats a plan over the delete share.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Refuse it whole (`POST /cleanup`).
    Refuse,
    /// Apply everything but the removals (automatic runs).
    Withhold,
    /// Apply it (`POST /cleanup?force=true`).
    Force,
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
        let plan = again_if_compacted(|| self.plan_once()).await?;
        if plan.restored > 0 {
            tracing::info!(
                restored = plan.restored,
                "Marathon lists records that were removed recently; the plan restores them over their tombstones"
            );
        }
        if plan.unfrozen > 0 {
            tracing::warn!(
                records = plan.unfrozen,
                skew = %humantime::format_duration(self.max_clock_skew),
                "stored records are stamped beyond the allowed clock skew; the plan gives them the listing's stamps"
            );
        }
        Ok(plan)
    }

    /// One plan: etcd's revision fixed first, so that whatever the plan reads from etcd
    /// is no newer than Marathon's answer; then Marathon is asked while etcd is read as of
    /// that revision. etcd's side is held as etcd returned it, decoded only where it
    /// differs; the listing's records are compared as they come, never all held (see
    /// `Planner`).
    async fn plan_once(&self) -> Result<ReconcilePlan, ReconcileError> {
        let revision = self.registry.revision().await?;
        let rules = Rules {
            horizon: Horizon::new(Utc::now(), self.max_clock_skew),
            now: Stamp::now(),
            max_delete_share: self.max_delete_share,
        };
        let stored = self.registry.list_stored_at(&Scope::All, revision);
        wanted::plan(&self.client, &self.catalog, &self.agents, stored, &rules).await
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
        let PlanWrites {
            kinds,
            ops,
            withheld,
        } = plan::writes(plan.changes, withhold);
        if withheld > 0 {
            tracing::warn!(
                withheld,
                stored = plan.stored_records,
                "reconcile would remove more than the allowed share of records; removals withheld (POST /cleanup?force=true applies them)"
            );
        }
        // One record etcd refuses is skipped (logged, counted); the rest is applied.
        let results = self.writer.apply(ops).await;
        let tally = Tally::of(&kinds, &results);
        if let Some(e) = tally.unavailable {
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
            written: tally.written,
            conflicts: tally.conflicts,
            withheld_deletes: withheld,
            refused: tally.refused,
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

/// Runs `attempt` again while it fails because etcd compacted away the revision it read
/// at, [`COMPACTED_ATTEMPTS`] times in all; any other outcome is returned as it is.
async fn again_if_compacted<T, F, Fut>(mut attempt: F) -> Result<T, ReconcileError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ReconcileError>>,
{
    let mut attempts = 1;
    loop {
        match attempt().await {
            Err(ReconcileError::Etcd(e)) if e.is_compacted() && attempts < COMPACTED_ATTEMPTS => {
                tracing::info!(error = %e, "etcd compacted the revision a plan read at; planning again at a fresh one");
                attempts += 1;
            }
            outcome => return outcome,
        }
    }
}

/// What became of a plan's writes.
#[derive(Default)]
struct Tally {
    written: usize,
    conflicts: usize,
    refused: usize,
    /// A write etcd failed in a way that may clear.
    unavailable: Option<WriteError>,
}

impl Tally {
    /// Counts the results of writes of `kinds` (and each written change, by kind, in the
    /// metrics).
    fn of(kinds: &[ChangeKind], results: &[WriteResult]) -> Self {
        let mut tally = Tally::default();
        for (kind, result) in kinds.iter().zip(results) {
            match result {
                Ok(Outcome::Written) => {
                    tally.written += 1;
                    telemetry::reconcile_changes(kind.label(), 1);
                }
                Ok(Outcome::Conflict) => tally.conflicts += 1,
                Ok(_) => {}
                Err(e @ WriteError::Unavailable(_)) => tally.unavailable = Some(e.clone()),
                Err(_) => tally.refused += 1,
            }
        }
        tally
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use registry::harness::{self, EtcdServer};
    use registry::{Write, WriteOp};

    use super::*;

    #[tokio::test]
    async fn a_read_at_a_compacted_revision_is_made_again_at_a_fresh_one() {
        let etcd = EtcdServer::start().await.expect("etcd starts");
        let registry = etcd.registry().await.expect("registry");
        let compacted = registry.revision().await.expect("revision");
        let task = harness::records::task("/web", "web.1", "10.0.0.1").build();
        registry
            .apply(vec![WriteOp::newer(Write::PutTask(task.clone()))])
            .await
            .expect("written");
        let now = registry.revision().await.expect("revision");
        registry
            .client()
            .compact(now, None)
            .await
            .expect("compacted");

        // The first attempt reads at the compacted revision, the next ones at a fresh one.
        let attempts = AtomicUsize::new(0);
        let stored = again_if_compacted(|| {
            let (attempts, registry) = (&attempts, &registry);
            async move {
                let revision = match attempts.fetch_add(1, Ordering::SeqCst) {
                    0 => compacted,
                    _ => registry.revision().await?,
                };
                Ok(registry.list_stored_at(&Scope::All, revision).await?)
            }
        })
        .await
        .expect("read again");
        assert_eq!(attempts.load(Ordering::SeqCst), 2);
        assert!(stored.revision() >= now);
        assert!(stored.find_task(&task.app_id, "web.1").is_some());

        // A revision compacted every time: given up after the last attempt, with etcd's error.
        let attempts = AtomicUsize::new(0);
        let outcome = again_if_compacted(|| {
            let (attempts, registry) = (&attempts, &registry);
            async move {
                attempts.fetch_add(1, Ordering::SeqCst);
                Ok(registry.list_stored_at(&Scope::All, compacted).await?)
            }
        })
        .await;
        assert!(matches!(outcome, Err(ReconcileError::Etcd(e)) if e.is_compacted()));
        assert_eq!(attempts.load(Ordering::SeqCst), COMPACTED_ATTEMPTS);

        // Any other failure is not retried.
        let attempts = AtomicUsize::new(0);
        let outcome: Result<(), _> = again_if_compacted(|| {
            attempts.fetch_add(1, Ordering::SeqCst);
            async {
                Err(ReconcileError::Etcd(registry::Error::Timeout(
                    Duration::from_secs(1),
                )))
            }
        })
        .await;
        assert!(matches!(
            outcome,
            Err(ReconcileError::Etcd(registry::Error::Timeout(_)))
        ));
        assert_eq!(attempts.load(Ordering::SeqCst), 1);
    }
}
