//! One batch of events -> the registry writes it takes ([`Planner::plan`]; what each kind
//! of event writes is in its own file: [`super::status`], [`super::health`],
//! [`super::app`]), and what became of each event once they are applied ([`settle`]).

use std::collections::{HashMap, HashSet};

use registry::{AppId, Outcome, Registry, Scope, Snapshot, Stamp, Write, WriteOp};

use super::memo::HealthMemo;
use crate::agents::AgentResolver;
use crate::catalog::Catalog;
use crate::events::{Event, StatusUpdate};
use crate::queue::Queued;
use crate::records::{self, AppDefinition};
use crate::resync::Resync;
use crate::writes::{WriteError, WriteResult};

/// Health writes are retried this often on a revision conflict before giving up (the next
/// reconcile fixes what is left).
const MAX_ATTEMPTS: u8 = 5;

/// What became of one event, before its writes are applied.
pub(super) enum Disposition {
    /// Decided without writing (`ignored`, `not_an_app`, `pending`, `unchanged`, `stale`).
    Done(&'static str),
    /// Depends on the outcome of these operations.
    Writes(Vec<usize>),
    /// Must be handled again in the next batch (etcd read failed, revision conflict).
    Retry,
}

/// One batch's planned writes.
#[derive(Default)]
pub(super) struct Plan {
    /// The writes, in the order the events asked for them.
    pub(super) ops: Vec<WriteOp>,
    /// The last task write of each task in this batch: (app, task id) -> op index.
    pub(super) pending_tasks: HashMap<(AppId, String), usize>,
    /// Task listings read from etcd during this batch.
    pub(super) listings: HashMap<AppId, Snapshot>,
    /// Apps whose definition Marathon could not give in this batch.
    pub(super) unavailable: HashSet<AppId>,
}

impl Plan {
    /// Adds a write; returns its index.
    pub(super) fn push(&mut self, op: WriteOp) -> usize {
        let index = self.ops.len();
        if let Some(key) = task_key(&op.write) {
            self.pending_tasks.insert(key, index);
        }
        self.ops.push(op);
        index
    }

    /// The app record writes: (op index, app).
    pub(super) fn app_writes(&self) -> Vec<(usize, AppId)> {
        self.ops
            .iter()
            .enumerate()
            .filter_map(|(i, op)| match &op.write {
                Write::PutApp(app) => Some((i, app.app_id.clone())),
                _ => None,
            })
            .collect()
    }
}

fn task_key(write: &Write) -> Option<(AppId, String)> {
    match write {
        Write::PutTask(t) => Some((t.app_id.clone(), t.task_id.clone())),
        Write::RemoveTask {
            app_id, task_id, ..
        } => Some((app_id.clone(), task_id.clone())),
        _ => None,
    }
}

/// The record an event writes, as far as the event alone tells: the app definition and the
/// agent's addresses only add to a task record. Lets the callback path refuse an event
/// whose record is too large before accepting it ([`crate::writes::Writer::admit`]).
pub fn provisional_write(event: &Event) -> Option<Write> {
    match event {
        Event::Status(s) if records::is_stored(&s.task.state) => Some(Write::PutTask(
            records::task_record(s.task.clone(), None, Vec::new(), s.at.clone()),
        )),
        Event::AppChanged { definition, at } => Some(Write::PutApp(app_record(definition, at))),
        _ => None,
    }
}

/// An app definition's record, stamped with its event's time.
pub(super) fn app_record(definition: &AppDefinition, at: &Stamp) -> registry::AppRecord {
    let mut record = definition.record.clone();
    record.updated_at = at.clone();
    record
}

/// What became of an event once its writes were applied: its outcome label (for
/// `herald_subscriber_events_total`), or `None` when it must be handled again (a write
/// failed in a way that may clear, or a health write conflicted and may try again).
pub(super) fn settle(
    disposition: Disposition,
    results: &[WriteResult],
    queued: &Queued,
) -> Option<&'static str> {
    let ops = match disposition {
        Disposition::Done(outcome) => return Some(outcome),
        Disposition::Retry => return None,
        Disposition::Writes(ops) => ops,
    };
    let mut got = Vec::with_capacity(ops.len());
    let (mut refused, mut unavailable) = (false, false);
    for result in ops.iter().filter_map(|&i| results.get(i)) {
        match result {
            Ok(outcome) => got.push(*outcome),
            Err(WriteError::Unavailable(_)) => unavailable = true,
            // Logged and counted by the writer; the other writes went on.
            Err(_) => refused = true,
        }
    }
    if unavailable {
        None
    } else if refused {
        Some("refused")
    } else if got.contains(&Outcome::Written) {
        Some("written")
    } else if got.contains(&Outcome::Conflict) {
        let may_retry = matches!(queued.event, Event::Health(_)) && queued.attempt < MAX_ATTEMPTS;
        (!may_retry).then_some("conflict")
    } else if got.contains(&Outcome::Stale) {
        Some("stale")
    } else {
        Some("unchanged")
    }
}

/// Turns events into writes. Keeps what it learns across batches: the health verdicts seen
/// and the app version last written per app.
pub(super) struct Planner {
    pub(super) catalog: Catalog,
    pub(super) agents: AgentResolver,
    registry: Registry,
    pub(super) resync: Resync,
    pub(super) memo: HealthMemo,
    /// The app version last written per app (to write each app record once per version).
    pub(super) written_apps: HashMap<AppId, String>,
}

impl Planner {
    pub(super) fn new(
        catalog: Catalog,
        agents: AgentResolver,
        registry: Registry,
        resync: Resync,
    ) -> Self {
        Planner {
            catalog,
            agents,
            registry,
            resync,
            memo: HealthMemo::default(),
            written_apps: HashMap::new(),
        }
    }

    /// The writes of a batch, and per event what depends on them.
    pub(super) async fn plan(&mut self, batch: &[Queued]) -> (Plan, Vec<Disposition>) {
        self.warm_caches(batch).await;
        let mut plan = Plan::default();
        let mut dispositions = Vec::with_capacity(batch.len());
        for q in batch {
            let d = match &q.event {
                Event::Status(s) => self.status(s, &mut plan).await,
                Event::Health(h) => self.health(h, &mut plan).await,
                Event::AppTerminated { app_id, at } => {
                    self.app_terminated(app_id, at, &mut plan).await
                }
                Event::AppChanged { definition, at } => {
                    self.app_changed(definition, at, &mut plan).await
                }
                Event::Ignored => Disposition::Done("ignored"),
            };
            dispositions.push(d);
        }
        (plan, dispositions)
    }

    /// Forgets the app versions whose write did not land (yet): the next event of the app,
    /// or its retry, writes them.
    pub(super) fn unwritten(&mut self, app_writes: Vec<(usize, AppId)>, results: &[WriteResult]) {
        for (i, app) in app_writes {
            if let Some(Err(WriteError::Unavailable(_))) = results.get(i) {
                self.written_apps.remove(&app);
            }
        }
    }

    /// Fetches missing app definitions and agent addresses for the whole batch at once.
    async fn warm_caches(&self, batch: &[Queued]) {
        let mut defs = Vec::new();
        let mut hosts = Vec::new();
        for q in batch {
            if let Event::Status(StatusUpdate { task, .. }) = &q.event
                && records::is_stored(&task.state)
            {
                defs.push((task.app_id.clone(), task.version.clone()));
                hosts.push(task.host.as_str());
            }
        }
        if defs.is_empty() {
            return;
        }
        tokio::join!(self.catalog.prefetch(defs), self.agents.prefetch(hosts));
    }

    /// The app's stored tasks, read once per batch.
    pub(super) async fn listing<'p>(
        &self,
        app: &AppId,
        plan: &'p mut Plan,
    ) -> Option<&'p Snapshot> {
        if !plan.listings.contains_key(app) {
            match self.registry.list(&Scope::App(app.clone())).await {
                Ok(s) => {
                    plan.listings.insert(app.clone(), s);
                }
                Err(e) => {
                    tracing::warn!(app = %app, error = %e, "cannot read the app's tasks from etcd; retrying");
                    return None;
                }
            }
        }
        plan.listings.get(app)
    }
}

#[cfg(test)]
mod tests {
    use registry::Health;

    use super::*;
    use crate::events::HealthUpdate;

    fn queued(event: Event, attempt: u8) -> Queued {
        let mut q = Queued::new("x", event);
        for _ in 0..attempt {
            q = q.again();
        }
        q
    }

    fn health() -> Event {
        Event::Health(HealthUpdate {
            app_id: AppId::parse("/web").expect("app id"),
            instance_key: "web.marathon-1".into(),
            target: "web.1".into(),
            health: Health::Healthy,
            at: Stamp::now(),
        })
    }

    fn outcome(results: &[WriteResult], event: Event, attempt: u8) -> Option<&'static str> {
        let ops = (0..results.len()).collect();
        settle(Disposition::Writes(ops), results, &queued(event, attempt))
    }

    #[test]
    fn an_event_is_written_when_any_of_its_writes_is() {
        let results = [Ok(Outcome::Unchanged), Ok(Outcome::Written)];
        assert_eq!(outcome(&results, Event::Ignored, 0), Some("written"));
        assert_eq!(
            outcome(&[Ok(Outcome::Stale)], Event::Ignored, 0),
            Some("stale")
        );
        assert_eq!(
            outcome(&[Ok(Outcome::Unchanged)], Event::Ignored, 0),
            Some("unchanged")
        );
        assert_eq!(outcome(&[], Event::Ignored, 0), Some("unchanged"));
    }

    #[test]
    fn a_refused_write_is_final_and_an_unavailable_one_is_retried() {
        let too_large = Err(WriteError::TooLarge { size: 2, limit: 1 });
        let down = Err(WriteError::Unavailable("no leader".into()));
        assert_eq!(
            outcome(
                &[Ok(Outcome::Written), too_large.clone()],
                Event::Ignored,
                0
            ),
            Some("refused")
        );
        assert_eq!(outcome(&[too_large, down], Event::Ignored, 0), None);
    }

    #[test]
    fn only_health_conflicts_are_retried_and_only_a_few_times() {
        let conflict = [Ok(Outcome::Conflict)];
        assert_eq!(outcome(&conflict, health(), 0), None);
        assert_eq!(outcome(&conflict, health(), MAX_ATTEMPTS - 1), None);
        assert_eq!(outcome(&conflict, health(), MAX_ATTEMPTS), Some("conflict"));
        assert_eq!(outcome(&conflict, Event::Ignored, 0), Some("conflict"));
    }

    #[test]
    fn decided_events_keep_their_outcome() {
        let q = queued(Event::Ignored, 0);
        assert_eq!(
            settle(Disposition::Done("pending"), &[], &q),
            Some("pending")
        );
        assert_eq!(settle(Disposition::Retry, &[], &q), None);
    }
}
