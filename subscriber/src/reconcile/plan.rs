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

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};
use registry::{
    AppId, AppRecord, Entry, Guard, KeyLayout, Snapshot, Stamp, StoredRecords, StoredValue,
    TaskRecord, Tombstone, Write, WriteOp,
};

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
/// [`Planner`] over what etcd holds for them.
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
    let stored = StoredRecords::from_records(KeyLayout::default(), stored, tombstones);
    let mut planner = Planner::new(stored, rules);
    tasks.into_values().for_each(|t| planner.want_task(t));
    apps.into_values().for_each(|a| planner.want_app(a));
    kept_apps.into_iter().for_each(|a| planner.keep_app(a));
    planner.finish(listed_apps)
}

/// [`plan`], a record at a time: what the listing wants is compared with what etcd holds as
/// it comes, so the listing's records are never all held. Creations and updates are
/// planned in the order they come; removals (what nothing asked for) when it is finished,
/// tasks first, in key order. A stored key asked for twice counts once (the first).
///
/// etcd's side is held as etcd returned it ([`StoredRecords`]: keys and values in a few
/// buffers) and a stored value is decoded only when it is not byte for byte what writing
/// the listed record (with the stored stamp) would store. That shortcut is exact, not a
/// guess: equal bytes decode to equal records, so they are the same but for the stamp; any
/// other value is decoded and compared field by field ([`records::same_task`]), so a value
/// written by another build (other member order, say) is still found the same.
pub struct Planner<'a> {
    stored: StoredRecords,
    /// Per stored key: the listing asked for it.
    asked: Vec<bool>,
    /// Live stored records the listing asked for.
    live_asked: usize,
    kept_apps: HashSet<AppId>,
    rules: &'a Rules,
    marathon_tasks: usize,
    out: Changes,
}

impl<'a> Planner<'a> {
    /// A planner against what etcd holds (records and tombstones, at one revision); it is
    /// dropped with the planner.
    pub fn new(stored: StoredRecords, rules: &'a Rules) -> Self {
        Planner {
            asked: vec![false; stored.len()],
            stored,
            live_asked: 0,
            kept_apps: HashSet::new(),
            rules,
            marathon_tasks: 0,
            out: Changes::default(),
        }
    }

    /// The listing has this task, in a state Herald stores.
    pub fn want_task(&mut self, record: TaskRecord) {
        if self.want(record) {
            self.marathon_tasks += 1;
        }
    }

    /// The listing has this app, with a usable definition.
    pub fn want_app(&mut self, record: AppRecord) {
        self.want(record);
    }

    /// The listing has this app, but its definition cannot be used: its stored record is
    /// left as it is.
    pub fn keep_app(&mut self, app: AppId) {
        self.kept_apps.insert(app);
    }

    /// The plan, once the whole listing (`listed_apps` apps) was fed.
    pub fn finish(mut self, listed_apps: usize) -> ReconcilePlan {
        let stored_records = self.live_asked + self.remove_unwanted();
        let delete_share = if stored_records == 0 {
            0.0
        } else {
            self.out.summary.deletes() as f64 / stored_records as f64
        };
        ReconcilePlan {
            revision: self.stored.revision(),
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

    /// Plans what makes etcd hold `want`: nothing when the stored record is the same (and
    /// not frozen), an update guarded by its revision when it differs, a creation when
    /// absent (over a tombstone only when the record restores it). False when the key was
    /// asked for before (and `want` is ignored).
    fn want<R: Record>(&mut self, mut want: R) -> bool {
        let [create, update, _] = R::KINDS;
        let Some(at) = want.find(&self.stored) else {
            self.out.create(create, want, Guard::Revision(0));
            return true;
        };
        if std::mem::replace(&mut self.asked[at], true) {
            return false;
        }
        let value = self.stored.get(at);
        // The shortcut: the value is exactly what writing `want` with its stamp stores.
        if let Some(stamp) = value.stamp() {
            let listed = std::mem::replace(want.stamp_mut(), stamp);
            let held = want.held_by(&value);
            let stamp = std::mem::replace(want.stamp_mut(), listed);
            if held && !self.rules.horizon.is_beyond(&stamp) {
                self.live_asked += 1;
                return true;
            }
        }
        match value.decode() {
            // A tombstone: the listing restores the record over it, or leaves it.
            Ok(Entry::Gone { .. }) => {
                if want.restores() {
                    self.out.restored += 1;
                    self.out
                        .create(create, want, Guard::Revision(value.mod_revision));
                }
            }
            Ok(entry) => match R::from_entry(entry) {
                Some(have) => {
                    self.live_asked += 1;
                    self.out
                        .compare(update, want, have, value.mod_revision, self.rules);
                }
                None => {
                    tracing::warn!(
                        key = value.key,
                        "skipping a stored value of another kind of record"
                    );
                    self.out.create(create, want, Guard::Revision(0));
                }
            },
            Err(e) => {
                tracing::warn!(key = value.key, error = %e, "skipping a record that does not decode");
                self.out.create(create, want, Guard::Revision(0));
            }
        }
        true
    }

    /// Plans the removal of every stored record nothing asked for (tasks first, then apps
    /// but those kept, each in key order); returns how many live records it found.
    fn remove_unwanted(&mut self) -> usize {
        let mut live = 0;
        let mut apps = Vec::new();
        for at in (0..self.stored.len()).filter(|&at| !self.asked[at]) {
            let value = self.stored.get(at);
            match value.decode() {
                Ok(Entry::Task(task)) => {
                    live += 1;
                    self.out.remove(task, value.mod_revision, self.rules);
                }
                Ok(Entry::App(app)) => {
                    live += 1;
                    if !self.kept_apps.contains(&app.app_id) {
                        apps.push((app, value.mod_revision));
                    }
                }
                Ok(Entry::Gone { .. }) => {}
                Err(e) => {
                    tracing::warn!(key = value.key, error = %e, "skipping a record that does not decode");
                }
            }
        }
        for (app, mod_revision) in apps {
            self.out.remove(app, mod_revision, self.rules);
        }
        live
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
trait Record: Sized {
    /// Its create, update and remove kinds.
    const KINDS: [ChangeKind; 3];
    /// Where etcd holds this record's key, if it does.
    fn find(&self, stored: &StoredRecords) -> Option<usize>;
    /// True when `value` is exactly what writing this record stores.
    fn held_by(&self, value: &StoredValue<'_>) -> bool;
    /// The record a decoded value holds, if it holds this kind.
    fn from_entry(entry: Entry) -> Option<Self>;
    /// Equal apart from the stamp.
    fn same(&self, other: &Self) -> bool;
    fn stamp(&self) -> &Stamp;
    fn stamp_mut(&mut self) -> &mut Stamp;
    /// True when a listed record replaces a tombstone of it.
    fn restores(&self) -> bool;
    fn put(self) -> Write;
    /// Its removal, stamped `at`.
    fn remove(&self, at: Stamp) -> Write;
    /// As a plan shows what a change replaces.
    fn stored(self) -> Stored;
}

impl Record for TaskRecord {
    const KINDS: [ChangeKind; 3] = [
        ChangeKind::CreateTask,
        ChangeKind::UpdateTask,
        ChangeKind::RemoveTask,
    ];

    fn find(&self, stored: &StoredRecords) -> Option<usize> {
        stored.find_task(&self.app_id, &self.task_id)
    }

    fn held_by(&self, value: &StoredValue<'_>) -> bool {
        value.holds_task(self)
    }

    fn from_entry(entry: Entry) -> Option<Self> {
        match entry {
            Entry::Task(task) => Some(task),
            _ => None,
        }
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

    fn remove(&self, at: Stamp) -> Write {
        Write::RemoveTask {
            app_id: self.app_id.clone(),
            task_id: self.task_id.clone(),
            reason: REMOVED.into(),
            at,
        }
    }

    fn stored(self) -> Stored {
        Stored::Task(self)
    }
}

impl Record for AppRecord {
    const KINDS: [ChangeKind; 3] = [
        ChangeKind::CreateApp,
        ChangeKind::UpdateApp,
        ChangeKind::RemoveApp,
    ];

    fn find(&self, stored: &StoredRecords) -> Option<usize> {
        stored.find_app(&self.app_id)
    }

    fn held_by(&self, value: &StoredValue<'_>) -> bool {
        value.holds_app(self)
    }

    fn from_entry(entry: Entry) -> Option<Self> {
        match entry {
            Entry::App(app) => Some(app),
            _ => None,
        }
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

    fn remove(&self, at: Stamp) -> Write {
        Write::RemoveApp {
            app_id: self.app_id.clone(),
            reason: REMOVED.into(),
            at,
        }
    }

    fn stored(self) -> Stored {
        Stored::App(self)
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

    /// A creation of `want`, guarded by `guard`.
    fn create<R: Record>(&mut self, kind: ChangeKind, want: R, guard: Guard) {
        self.push(PlannedChange::new(kind, want.put(), guard, None));
    }

    /// Nothing when `have` (stored at `mod_revision`) is the same as `want` and not frozen;
    /// else an update, guarded by that revision, carrying the newer stamp within the
    /// horizon.
    fn compare<R: Record>(
        &mut self,
        kind: ChangeKind,
        mut want: R,
        have: R,
        mod_revision: i64,
        rules: &Rules,
    ) {
        let frozen = rules.horizon.is_beyond(have.stamp());
        if want.same(&have) && !frozen {
            return;
        }
        if frozen {
            self.unfrozen += 1;
        }
        let stamp = want.stamp_mut();
        *stamp = rules.horizon.carried(stamp.clone(), have.stamp());
        self.push(PlannedChange::new(
            kind,
            want.put(),
            Guard::Revision(mod_revision),
            Some(have.stored()),
        ));
    }

    /// The removal of `have` (stored at `mod_revision`), stamped with this host's clock
    /// (or the stored stamp when that is newer, within the horizon).
    fn remove<R: Record>(&mut self, have: R, mod_revision: i64, rules: &Rules) {
        let [_, _, kind] = R::KINDS;
        let at = rules.horizon.carried(rules.now.clone(), have.stamp());
        self.push(PlannedChange::new(
            kind,
            have.remove(at),
            Guard::Revision(mod_revision),
            Some(have.stored()),
        ));
    }
}

#[cfg(test)]
mod tests;
