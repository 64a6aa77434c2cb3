//! The reconcile plan, a pure function: what etcd holds and what Marathon's listing wants
//! in, the changes that make etcd equal the listing out ([`plan`]); and the writes that apply
//! them ([`writes`]). No I/O and no clock: the caller reads both sides and says what "now"
//! is, so every rule below has a unit test. A reconcile feeds the listing's records to a
//! [`Planner`] as they are built (what [`plan`] does with a whole [`Wanted`]), so only the
//! stored side is ever held whole.
//!
//! The rules:
//! - a record the listing wants and etcd lacks is created (guarded by revision 0: absent);
//! - a record that differs ([`records::same_task`], [`records::same_app`]: `updated_at`
//!   aside) is updated, guarded by the `mod_revision` it was read at; identical records are
//!   left alone, so a registry in sync gets no write;
//! - a stored record the listing lacks is removed, guarded the same way (apps whose
//!   definition cannot be used are kept as they are);
//! - the listing wins over a tombstone: a listed app, or a listed *running* task, that etcd
//!   holds as a tombstone is restored over it at once (a task listed as killing or
//!   unreachable is on its way out, and leaves the tombstone in place);
//! - a stored record stamped beyond the allowed clock skew ([`Horizon`]) is rewritten with
//!   the listing's stamp even when nothing else differs, so that real events apply to it
//!   again;
//! - a plan that removes more than the allowed share of the stored records needs force;
//!   without it, [`writes`] can withhold the removals.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::Hash;
use std::time::Duration;

use chrono::{DateTime, Utc};
use registry::{
    AppId, AppRecord, Guard, KeyKind, Snapshot, Stamp, TaskRecord, Tombstone, Versioned, Write,
    WriteOp,
};
use serde::Serialize;

use super::changes::{ChangeKind, PlannedChange, ReconcilePlan, Stored, Summary};
use crate::records;

/// Why a reconcile removes a record.
const REMOVED: &str = "reconcile: not in Marathon";

/// What Marathon's listing says etcd should hold.
#[derive(Clone, Debug, Default)]
pub struct Wanted {
    /// Apps Marathon listed.
    pub listed_apps: usize,
    /// The records of the listed apps whose definition can be used.
    pub apps: BTreeMap<AppId, AppRecord>,
    /// Listed apps whose definition cannot be used: their stored record is left as it is.
    pub kept_apps: HashSet<AppId>,
    /// The records of the listed tasks in a state Herald stores, by (app, task id).
    pub tasks: BTreeMap<(AppId, String), TaskRecord>,
}

/// What a plan goes by, besides the two sides.
#[derive(Clone, Debug)]
pub struct Rules {
    /// Stored stamps beyond this were never carried by a real event.
    pub horizon: Horizon,
    /// The stamp a removal carries (this host's clock).
    pub now: Stamp,
    /// A plan removing more than this share of the stored records needs force.
    pub max_delete_share: f64,
}

/// Stored stamps later than this are from beyond the allowed clock skew: no real event
/// carried them, and a reconcile does not keep them as guards.
#[derive(Clone, Debug)]
pub struct Horizon(Option<DateTime<Utc>>);

impl Horizon {
    /// `skew` after `now`; none at all when that cannot be represented.
    pub fn new(now: DateTime<Utc>, skew: Duration) -> Self {
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

/// The plan that makes `stored` (with its `tombstones`, read at the same revision) equal
/// `wanted`, following `rules` (see the module docs). The same as feeding `wanted` to a
/// [`Planner`].
pub fn plan(
    stored: &Snapshot,
    tombstones: &[Tombstone],
    wanted: Wanted,
    rules: &Rules,
) -> ReconcilePlan {
    let Wanted {
        listed_apps,
        apps,
        kept_apps,
        tasks,
    } = wanted;
    let mut planner = Planner::new(stored, tombstones, rules);
    tasks.into_values().for_each(|t| planner.want_task(t));
    apps.into_values().for_each(|a| planner.want_app(a));
    kept_apps.into_iter().for_each(|a| planner.keep_app(a));
    planner.finish(listed_apps)
}

/// [`plan`], a record at a time: what the listing wants is compared with what etcd holds as
/// it comes, so the listing's records are never all held. Creations and updates are
/// planned in the order they come; removals (what nothing asked for) when it is finished,
/// tasks first, in key order. A stored record asked for twice counts once (the first).
pub struct Planner<'a> {
    tasks: StoredSide<'a, TaskRecord>,
    apps: StoredSide<'a, AppRecord>,
    kept_apps: HashSet<AppId>,
    rules: &'a Rules,
    revision: i64,
    marathon_tasks: usize,
    out: Changes,
}

impl<'a> Planner<'a> {
    /// A planner against `stored` and its `tombstones` (read at the same revision).
    pub fn new(stored: &'a Snapshot, tombstones: &[Tombstone], rules: &'a Rules) -> Self {
        let mut removed_tasks = HashMap::new();
        let mut removed_apps = HashMap::new();
        for t in tombstones {
            match &t.kind {
                KeyKind::Task(app, task) => {
                    removed_tasks.insert((app.clone(), task.clone()), t.mod_revision)
                }
                KeyKind::App(app) => removed_apps.insert(app.clone(), t.mod_revision),
            };
        }
        Planner {
            tasks: StoredSide::new(&stored.tasks, removed_tasks),
            apps: StoredSide::new(&stored.apps, removed_apps),
            kept_apps: HashSet::new(),
            rules,
            revision: stored.revision,
            marathon_tasks: 0,
            out: Changes::default(),
        }
    }

    /// The listing has this task, in a state Herald stores.
    pub fn want_task(&mut self, record: TaskRecord) {
        if self.out.want(&mut self.tasks, record, self.rules) {
            self.marathon_tasks += 1;
        }
    }

    /// The listing has this app, with a usable definition.
    pub fn want_app(&mut self, record: AppRecord) {
        self.out.want(&mut self.apps, record, self.rules);
    }

    /// The listing has this app, but its definition cannot be used: its stored record is
    /// left as it is.
    pub fn keep_app(&mut self, app: AppId) {
        self.kept_apps.insert(app);
    }

    /// The plan, once the whole listing (`listed_apps` apps) was fed.
    pub fn finish(mut self, listed_apps: usize) -> ReconcilePlan {
        self.out.remove_unwanted(&self.tasks, |_| false, self.rules);
        let kept = &self.kept_apps;
        self.out
            .remove_unwanted(&self.apps, |app| kept.contains(&app.app_id), self.rules);
        let stored_records = self.tasks.records.len() + self.apps.records.len();
        let delete_share = if stored_records == 0 {
            0.0
        } else {
            self.out.summary.deletes() as f64 / stored_records as f64
        };
        ReconcilePlan {
            revision: self.revision,
            marathon_apps: listed_apps,
            marathon_tasks: self.marathon_tasks,
            stored_records,
            needs_force: delete_share > self.rules.max_delete_share,
            delete_share,
            summary: self.out.summary,
            changes: self.out.changes,
            restored: self.out.restored,
            unfrozen: self.out.unfrozen,
        }
    }
}

/// One kind of stored record, found by key without copying keys: positions sorted by key,
/// and which ones the listing asked for.
struct StoredSide<'a, R: Record> {
    records: &'a [Versioned<R>],
    by_key: Vec<usize>,
    wanted: Vec<bool>,
    tombstones: HashMap<R::Key, i64>,
}

/// What the listing's record finds among the stored ones.
enum Found<'a, R> {
    /// The stored record of its key.
    Stored(&'a Versioned<R>),
    /// Nothing stored (maybe a tombstone).
    Absent,
    /// The listing asked for this key before.
    Again,
}

impl<'a, R: Record> StoredSide<'a, R> {
    fn new(records: &'a [Versioned<R>], tombstones: HashMap<R::Key, i64>) -> Self {
        let mut by_key: Vec<usize> = (0..records.len()).collect();
        by_key.sort_by(|&a, &b| records[a].record.cmp_key(&records[b].record));
        StoredSide {
            records,
            by_key,
            wanted: vec![false; records.len()],
            tombstones,
        }
    }

    fn find(&mut self, want: &R) -> Found<'a, R> {
        let records = self.records;
        match self
            .by_key
            .binary_search_by(|&i| records[i].record.cmp_key(want))
        {
            Ok(at) => {
                let i = self.by_key[at];
                if std::mem::replace(&mut self.wanted[i], true) {
                    Found::Again
                } else {
                    Found::Stored(&records[i])
                }
            }
            Err(_) => Found::Absent,
        }
    }

    /// The stored records nothing asked for, in key order.
    fn unwanted(&self) -> impl Iterator<Item = &'a Versioned<R>> + '_ {
        self.by_key
            .iter()
            .filter(|&&i| !self.wanted[i])
            .map(|&i| &self.records[i])
    }
}

/// A plan's writes, in order, with the kind of each.
#[derive(Debug, Default)]
pub struct PlanWrites {
    /// The kind of each write.
    pub kinds: Vec<ChangeKind>,
    /// The writes.
    pub ops: Vec<WriteOp>,
    /// Removals left out.
    pub withheld: usize,
}

/// The writes of `changes`; with `withhold_deletes`, the removals are left out (and counted).
pub fn writes(changes: Vec<PlannedChange>, withhold_deletes: bool) -> PlanWrites {
    let mut out = PlanWrites::default();
    for change in changes {
        if withhold_deletes && change.change.is_delete() {
            out.withheld += 1;
            continue;
        }
        out.kinds.push(change.change);
        out.ops.push(change.op);
    }
    out
}

/// A kind of record a plan compares: tasks and apps follow the same rules.
trait Record: Serialize + Sized {
    /// What a record is found by.
    type Key: Ord + Hash;
    /// Its create, update and remove kinds.
    const KINDS: [ChangeKind; 3];
    fn key(&self) -> Self::Key;
    /// Orders records by key, without copying keys.
    fn cmp_key(&self, other: &Self) -> Ordering;
    /// Equal apart from the stamp.
    fn same(&self, other: &Self) -> bool;
    fn stamp(&self) -> &Stamp;
    fn stamp_mut(&mut self) -> &mut Stamp;
    /// True when a listed record replaces a tombstone of it.
    fn restores(&self) -> bool;
    fn put(self) -> Write;
    fn remove(key: Self::Key, at: Stamp) -> Write;
    /// A copy, as a plan shows what it replaces.
    fn stored(&self) -> Stored;
}

impl Record for TaskRecord {
    type Key = (AppId, String);
    const KINDS: [ChangeKind; 3] = [
        ChangeKind::CreateTask,
        ChangeKind::UpdateTask,
        ChangeKind::RemoveTask,
    ];

    fn key(&self) -> Self::Key {
        (self.app_id.clone(), self.task_id.clone())
    }

    fn cmp_key(&self, other: &Self) -> Ordering {
        (&self.app_id, &self.task_id).cmp(&(&other.app_id, &other.task_id))
    }

    fn same(&self, other: &Self) -> bool {
        records::same_task(self, other)
    }

    fn stamp(&self) -> &Stamp {
        &self.updated_at
    }

    fn stamp_mut(&mut self) -> &mut Stamp {
        &mut self.updated_at
    }

    /// A task listed as killing or unreachable is on its way out: its tombstone stays.
    fn restores(&self) -> bool {
        self.state.is_running()
    }

    fn put(self) -> Write {
        Write::PutTask(self)
    }

    fn stored(&self) -> Stored {
        Stored::Task(self.clone())
    }

    fn remove((app_id, task_id): Self::Key, at: Stamp) -> Write {
        Write::RemoveTask {
            app_id,
            task_id,
            reason: REMOVED.into(),
            at,
        }
    }
}

impl Record for AppRecord {
    type Key = AppId;
    const KINDS: [ChangeKind; 3] = [
        ChangeKind::CreateApp,
        ChangeKind::UpdateApp,
        ChangeKind::RemoveApp,
    ];

    fn key(&self) -> Self::Key {
        self.app_id.clone()
    }

    fn cmp_key(&self, other: &Self) -> Ordering {
        self.app_id.cmp(&other.app_id)
    }

    fn same(&self, other: &Self) -> bool {
        records::same_app(self, other)
    }

    fn stamp(&self) -> &Stamp {
        &self.updated_at
    }

    fn stamp_mut(&mut self) -> &mut Stamp {
        &mut self.updated_at
    }

    fn restores(&self) -> bool {
        true
    }

    fn put(self) -> Write {
        Write::PutApp(self)
    }

    fn stored(&self) -> Stored {
        Stored::App(self.clone())
    }

    fn remove(app_id: Self::Key, at: Stamp) -> Write {
        Write::RemoveApp {
            app_id,
            reason: REMOVED.into(),
            at,
        }
    }
}

/// The changes planned so far.
#[derive(Default)]
struct Changes {
    changes: Vec<PlannedChange>,
    summary: Summary,
    restored: usize,
    unfrozen: usize,
}

impl Changes {
    fn push(&mut self, change: PlannedChange) {
        self.summary.count(change.change);
        self.changes.push(change);
    }

    /// Plans what makes etcd hold `want`: nothing when the stored record is the same (and
    /// not frozen), an update guarded by its revision when it differs, a creation when
    /// absent (over a tombstone only when the record restores it). False when the record
    /// was asked for before (and is ignored).
    fn want<R: Record>(
        &mut self,
        stored: &mut StoredSide<'_, R>,
        mut want: R,
        rules: &Rules,
    ) -> bool {
        let [create, update, _] = R::KINDS;
        let have = match stored.find(&want) {
            Found::Again => return false,
            Found::Absent => {
                // Absent, or a tombstone: the listing restores it over the tombstone.
                let guard = match stored.tombstones.get(&want.key()) {
                    None => Guard::Revision(0),
                    Some(&revision) if want.restores() => {
                        self.restored += 1;
                        Guard::Revision(revision)
                    }
                    Some(_) => return true,
                };
                self.push(PlannedChange::new(create, want.put(), guard, None));
                return true;
            }
            Found::Stored(have) => have,
        };
        let frozen = rules.horizon.is_beyond(have.record.stamp());
        if want.same(&have.record) && !frozen {
            return true;
        }
        if frozen {
            self.unfrozen += 1;
        }
        let stamp = want.stamp_mut();
        *stamp = rules.horizon.carried(stamp.clone(), have.record.stamp());
        self.push(PlannedChange::new(
            update,
            want.put(),
            Guard::Revision(have.mod_revision),
            Some(have.record.stored()),
        ));
        true
    }

    /// Plans the removal of every stored record nothing asked for, in key order, but those
    /// `keep` names.
    fn remove_unwanted<R: Record>(
        &mut self,
        stored: &StoredSide<'_, R>,
        keep: impl Fn(&R) -> bool,
        rules: &Rules,
    ) {
        let [_, _, remove] = R::KINDS;
        for have in stored.unwanted() {
            if keep(&have.record) {
                continue;
            }
            let at = rules
                .horizon
                .carried(rules.now.clone(), have.record.stamp());
            self.push(PlannedChange::new(
                remove,
                R::remove(have.record.key(), at),
                Guard::Revision(have.mod_revision),
                Some(have.record.stored()),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use registry::{Health, NetworkMode, TaskState};

    use super::*;

    const NOW: &str = "2026-03-01T12:00:00.000Z";

    fn at(text: &str) -> Stamp {
        Stamp::parse(text).expect("stamp")
    }

    fn app_id(id: &str) -> AppId {
        AppId::parse(id).expect("app id")
    }

    fn task(id: &str, state: TaskState, stamp: &str) -> TaskRecord {
        TaskRecord {
            app_id: app_id("/web"),
            task_id: id.into(),
            instance_id: None,
            agent_id: Some("agent-S1".into()),
            host: "10.0.0.1".into(),
            agent_ips: vec!["10.0.0.1".parse().expect("ip")],
            task_ips: Vec::new(),
            ports: Vec::new(),
            state,
            health: Health::Unknown,
            app_version: Some("2026-01-01T00:00:00.000Z".into()),
            updated_at: at(stamp),
        }
    }

    fn running(id: &str) -> TaskRecord {
        task(id, TaskState::Running, "2026-03-01T11:00:00.000Z")
    }

    fn app(id: &str) -> AppRecord {
        AppRecord {
            app_id: app_id(id),
            version: "2026-01-01T00:00:00.000Z".into(),
            ports: Vec::new(),
            networking: NetworkMode::Host,
            labels: BTreeMap::new(),
            health_checks: false,
            updated_at: at("2026-01-01T00:00:00.000Z"),
        }
    }

    fn stored<R>(records: Vec<R>) -> Vec<Versioned<R>> {
        records
            .into_iter()
            .zip(10..)
            .map(|(record, mod_revision)| Versioned {
                record,
                mod_revision,
            })
            .collect()
    }

    fn snapshot(tasks: Vec<TaskRecord>, apps: Vec<AppRecord>) -> Snapshot {
        Snapshot {
            revision: 99,
            tasks: stored(tasks),
            apps: stored(apps),
            invalid: Vec::new(),
        }
    }

    fn wanted(tasks: Vec<TaskRecord>, apps: Vec<AppRecord>) -> Wanted {
        Wanted {
            listed_apps: apps.len(),
            tasks: tasks
                .into_iter()
                .map(|t| ((t.app_id.clone(), t.task_id.clone()), t))
                .collect(),
            apps: apps.into_iter().map(|a| (a.app_id.clone(), a)).collect(),
            kept_apps: HashSet::new(),
        }
    }

    fn rules() -> Rules {
        Rules {
            horizon: Horizon::new(at(NOW).to_datetime(), Duration::from_secs(300)),
            now: at(NOW),
            max_delete_share: 0.5,
        }
    }

    fn tombstone(kind: KeyKind, mod_revision: i64) -> Tombstone {
        Tombstone {
            kind,
            reason: "TASK_KILLED".into(),
            at: at("2026-03-01T11:30:00.000Z"),
            mod_revision,
        }
    }

    fn kinds(plan: &ReconcilePlan) -> Vec<ChangeKind> {
        plan.changes.iter().map(|c| c.change).collect()
    }

    #[test]
    fn identical_records_need_no_change_whatever_their_stamps() {
        let mut newer = running("web.1");
        newer.updated_at = at("2026-03-01T11:59:00.000Z");
        let plan = plan(
            &snapshot(vec![newer], vec![app("/web")]),
            &[],
            wanted(vec![running("web.1")], vec![app("/web")]),
            &rules(),
        );
        assert!(plan.changes.is_empty(), "{plan:?}");
        assert_eq!(plan.summary.total(), 0);
        assert_eq!(
            (plan.revision, plan.stored_records, plan.marathon_tasks),
            (99, 2, 1)
        );
        assert!(!plan.needs_force);
    }

    #[test]
    fn missing_records_are_created_over_an_absent_key() {
        let plan = plan(
            &snapshot(vec![], vec![]),
            &[],
            wanted(vec![running("web.1")], vec![app("/web")]),
            &rules(),
        );
        assert_eq!(
            kinds(&plan),
            [ChangeKind::CreateTask, ChangeKind::CreateApp]
        );
        let create = &plan.changes[0];
        assert_eq!(
            create.op,
            WriteOp {
                write: Write::PutTask(running("web.1")),
                guard: Guard::Revision(0)
            }
        );
        assert_eq!(create.task_id(), Some("web.1"));
        assert_eq!(
            create.record_json(),
            serde_json::to_value(running("web.1")).ok()
        );
        assert_eq!(create.stored(), None);
        assert_eq!(plan.delete_share, 0.0);
    }

    #[test]
    fn a_differing_record_is_updated_under_its_revision_keeping_the_newer_stamp() {
        let mut have = running("web.1");
        have.updated_at = at("2026-03-01T11:59:00.000Z");
        let mut want = running("web.1");
        want.health = Health::Unhealthy;
        let plan = plan(
            &snapshot(vec![have.clone()], vec![]),
            &[],
            wanted(vec![want.clone()], vec![]),
            &rules(),
        );
        assert_eq!(kinds(&plan), [ChangeKind::UpdateTask]);
        want.updated_at = have.updated_at.clone();
        assert_eq!(
            plan.changes[0].op,
            WriteOp {
                write: Write::PutTask(want),
                guard: Guard::Revision(10)
            }
        );
        assert_eq!(plan.changes[0].stored(), Some(&Stored::Task(have.clone())));
        assert_eq!(plan.unfrozen, 0);
    }

    #[test]
    fn what_marathon_lacks_is_removed_except_apps_with_an_unusable_definition() {
        let mut want = wanted(vec![running("web.1")], vec![]);
        want.kept_apps.insert(app_id("/odd"));
        let plan = plan(
            &snapshot(
                vec![running("web.1"), running("web.2")],
                vec![app("/gone"), app("/odd")],
            ),
            &[],
            want,
            &rules(),
        );
        assert_eq!(
            kinds(&plan),
            [ChangeKind::RemoveTask, ChangeKind::RemoveApp]
        );
        assert_eq!(
            plan.changes[0].op,
            WriteOp {
                write: Write::RemoveTask {
                    app_id: app_id("/web"),
                    task_id: "web.2".into(),
                    reason: REMOVED.into(),
                    at: at(NOW),
                },
                guard: Guard::Revision(11),
            }
        );
        assert_eq!(plan.changes[1].app_id(), &app_id("/gone"));
        assert_eq!(plan.changes[1].record_json(), None);
        assert_eq!(plan.changes[1].stored(), Some(&Stored::App(app("/gone"))));
        assert_eq!(plan.summary.deletes(), 2);
        assert_eq!(plan.delete_share, 0.5);
        assert!(!plan.needs_force, "exactly the allowed share");
    }

    #[test]
    fn removals_over_the_allowed_share_need_force_and_can_be_withheld() {
        let plan = plan(
            &snapshot(vec![running("web.1"), running("web.2")], vec![app("/web")]),
            &[],
            wanted(vec![running("web.3")], vec![]),
            &rules(),
        );
        assert_eq!(plan.summary.deletes(), 3);
        assert!(plan.needs_force);
        let all = writes(plan.changes.clone(), false);
        assert_eq!(all.ops.len(), 4);
        assert_eq!(all.withheld, 0);
        let withheld = writes(plan.changes, true);
        assert_eq!(withheld.kinds, [ChangeKind::CreateTask]);
        assert_eq!(withheld.withheld, 3);
        assert!(matches!(withheld.ops[0].write, Write::PutTask(ref t) if t.task_id == "web.3"));
    }

    #[test]
    fn the_listing_restores_running_tasks_and_apps_over_their_tombstones() {
        let killing = task("web.2", TaskState::Killing, "2026-03-01T11:00:00.000Z");
        let plan = plan(
            &snapshot(vec![], vec![]),
            &[
                tombstone(KeyKind::Task(app_id("/web"), "web.1".into()), 41),
                tombstone(KeyKind::Task(app_id("/web"), "web.2".into()), 42),
                tombstone(KeyKind::App(app_id("/web")), 43),
            ],
            wanted(vec![running("web.1"), killing], vec![app("/web")]),
            &rules(),
        );
        assert_eq!(
            kinds(&plan),
            [ChangeKind::CreateTask, ChangeKind::CreateApp]
        );
        assert_eq!(plan.changes[0].op.guard, Guard::Revision(41));
        assert_eq!(plan.changes[0].task_id(), Some("web.1"));
        assert_eq!(plan.changes[1].op.guard, Guard::Revision(43));
        assert_eq!(plan.restored, 2);
        assert_eq!(
            plan.marathon_tasks, 2,
            "the killing task is listed, not written"
        );
    }

    #[test]
    fn far_future_stamps_are_rewritten_with_the_listings_own() {
        let mut frozen_task = running("web.1");
        frozen_task.updated_at = at("9999-12-31T23:59:59.999Z");
        let mut frozen_app = app("/web");
        frozen_app.updated_at = at("2026-03-01T12:05:00.001Z");
        let mut within = running("web.2");
        within.updated_at = at("2026-03-01T12:05:00.000Z");
        let plan = plan(
            &snapshot(vec![frozen_task, within], vec![frozen_app, app("/other")]),
            &[],
            wanted(
                vec![running("web.1"), running("web.2")],
                vec![app("/web"), app("/other")],
            ),
            &rules(),
        );
        assert_eq!(
            kinds(&plan),
            [ChangeKind::UpdateTask, ChangeKind::UpdateApp]
        );
        assert_eq!(plan.changes[0].op.write, Write::PutTask(running("web.1")));
        assert_eq!(plan.changes[1].op.write, Write::PutApp(app("/web")));
        assert_eq!(plan.unfrozen, 2);
        // A removal of a frozen record carries this host's clock, not the frozen stamp.
        let mut frozen = running("web.9");
        frozen.updated_at = at("9999-12-31T23:59:59.999Z");
        let plan = super::plan(
            &snapshot(vec![frozen], vec![]),
            &[],
            Wanted::default(),
            &rules(),
        );
        assert!(
            matches!(&plan.changes[0].op.write, Write::RemoveTask { at: removed, .. } if removed == &at(NOW))
        );
    }

    #[test]
    fn a_planner_takes_records_in_any_order_and_a_repeated_one_once() {
        let stored = snapshot(
            vec![running("web.3"), running("web.1"), running("web.2")],
            vec![app("/web")],
        );
        let rules = rules();
        let mut planner = Planner::new(&stored, &[], &rules);
        let mut changed = running("web.2");
        changed.health = Health::Healthy;
        planner.want_task(changed.clone());
        planner.want_task(running("web.9"));
        planner.want_task(running("web.2"));
        planner.want_app(app("/web"));
        let plan = planner.finish(1);
        assert_eq!(
            kinds(&plan),
            [
                ChangeKind::UpdateTask,
                ChangeKind::CreateTask,
                ChangeKind::RemoveTask,
                ChangeKind::RemoveTask
            ]
        );
        assert_eq!(plan.changes[0].op.write, Write::PutTask(changed));
        let removed: Vec<_> = plan.changes[2..].iter().map(|c| c.task_id()).collect();
        assert_eq!(removed, [Some("web.1"), Some("web.3")], "in key order");
        assert_eq!((plan.marathon_apps, plan.marathon_tasks), (1, 2));
        assert_eq!(plan.stored_records, 4);
    }

    #[test]
    fn a_summary_is_keyed_by_the_kinds_labels() {
        for (i, kind) in ChangeKind::ALL.into_iter().enumerate() {
            assert_eq!(kind as usize, i, "ALL is in declaration order");
            assert_eq!(serde_json::to_value(kind).expect("json"), kind.label());
        }
        let mut summary = Summary::default();
        summary.count(ChangeKind::RemoveTask);
        summary.count(ChangeKind::RemoveApp);
        summary.count(ChangeKind::CreateTask);
        assert_eq!(
            serde_json::to_string(&summary).expect("json"),
            r#"{"create_task":1,"update_task":0,"remove_task":1,"create_app":0,"update_app":0,"remove_app":1}"#
        );
        assert_eq!((summary.total(), summary.deletes()), (3, 2));
    }
}
