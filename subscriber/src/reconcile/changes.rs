//! What a reconcile plan is made of: the kinds of change ([`ChangeKind`], each with its one
//! name), one [`PlannedChange`] per record, their counts ([`Summary`]) and the
//! [`ReconcilePlan`] that `GET /cleanup` shows and a run applies.

use registry::{AppId, AppRecord, Guard, TaskRecord, Write, WriteOp};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use crate::writes::subject;

/// The kinds of change a plan holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
    /// Every kind, in declaration order (the order a [`Summary`] lists them in).
    pub const ALL: [ChangeKind; 6] = [
        ChangeKind::CreateTask,
        ChangeKind::UpdateTask,
        ChangeKind::RemoveTask,
        ChangeKind::CreateApp,
        ChangeKind::UpdateApp,
        ChangeKind::RemoveApp,
    ];

    /// The kind's one name: in the plan's JSON, as a [`Summary`] key, and as the `change`
    /// metrics label.
    pub fn label(self) -> &'static str {
        match self {
            ChangeKind::CreateTask => "create_task",
            ChangeKind::UpdateTask => "update_task",
            ChangeKind::RemoveTask => "remove_task",
            ChangeKind::CreateApp => "create_app",
            ChangeKind::UpdateApp => "update_app",
            ChangeKind::RemoveApp => "remove_app",
        }
    }

    /// True for removals.
    pub fn is_delete(self) -> bool {
        matches!(self, ChangeKind::RemoveTask | ChangeKind::RemoveApp)
    }
}

impl Serialize for ChangeKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.label())
    }
}

/// One planned change. In JSON: `change`, `app_id`, `task_id` (task changes), `record`
/// (what creations and updates write) and `stored` (what updates and removals replace),
/// each rendered only when the plan is shown.
#[derive(Clone, Debug)]
pub struct PlannedChange {
    /// What.
    pub change: ChangeKind,
    /// The guarded write that makes the change.
    pub op: WriteOp,
    /// The record stored now (updates and removals).
    stored: Option<Stored>,
}

/// A record as etcd holds it now.
#[derive(Clone, Debug, PartialEq)]
pub enum Stored {
    /// A task record.
    Task(TaskRecord),
    /// An app record.
    App(AppRecord),
}

impl PlannedChange {
    /// The change `write` makes, guarded by `guard`, replacing what is `stored`.
    pub(super) fn new(
        change: ChangeKind,
        write: Write,
        guard: Guard,
        stored: Option<Stored>,
    ) -> Self {
        PlannedChange {
            change,
            op: WriteOp { write, guard },
            stored,
        }
    }

    /// The app.
    pub fn app_id(&self) -> &AppId {
        subject(&self.op.write).0
    }

    /// The task, for task changes.
    pub fn task_id(&self) -> Option<&str> {
        subject(&self.op.write).1
    }

    /// The record stored now (updates and removals).
    pub fn stored(&self) -> Option<&Stored> {
        self.stored.as_ref()
    }

    /// The record written, as JSON (creations and updates).
    pub fn record_json(&self) -> Option<serde_json::Value> {
        match &self.op.write {
            Write::PutTask(task) => to_json(task),
            Write::PutApp(app) => to_json(app),
            Write::RemoveTask { .. } | Write::RemoveApp { .. } => None,
        }
    }

    /// The record stored now, as JSON (updates and removals).
    pub fn stored_json(&self) -> Option<serde_json::Value> {
        match self.stored.as_ref()? {
            Stored::Task(task) => to_json(task),
            Stored::App(app) => to_json(app),
        }
    }
}

impl Serialize for PlannedChange {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("change", &self.change)?;
        map.serialize_entry("app_id", self.app_id())?;
        if let Some(task_id) = self.task_id() {
            map.serialize_entry("task_id", task_id)?;
        }
        match &self.op.write {
            Write::PutTask(task) => map.serialize_entry("record", &to_json(task))?,
            Write::PutApp(app) => map.serialize_entry("record", &to_json(app))?,
            Write::RemoveTask { .. } | Write::RemoveApp { .. } => {}
        }
        if self.stored.is_some() {
            map.serialize_entry("stored", &self.stored_json())?;
        }
        map.end()
    }
}

pub(super) fn to_json<T: Serialize>(value: &T) -> Option<serde_json::Value> {
    serde_json::to_value(value).ok()
}

/// Change counts by kind; in JSON, an object keyed by [`ChangeKind::label`].
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Summary {
    counts: [usize; ChangeKind::ALL.len()],
}

impl Summary {
    pub(super) fn count(&mut self, kind: ChangeKind) {
        self.counts[kind as usize] += 1;
    }

    /// Changes of one kind.
    pub fn of(&self, kind: ChangeKind) -> usize {
        self.counts[kind as usize]
    }

    /// Changes in total.
    pub fn total(&self) -> usize {
        self.counts.iter().sum()
    }

    /// Removals in total.
    pub fn deletes(&self) -> usize {
        ChangeKind::ALL
            .into_iter()
            .filter(|k| k.is_delete())
            .map(|k| self.of(k))
            .sum()
    }
}

impl Serialize for Summary {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(ChangeKind::ALL.len()))?;
        for kind in ChangeKind::ALL {
            map.serialize_entry(kind.label(), &self.of(kind))?;
        }
        map.end()
    }
}

impl std::fmt::Debug for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(ChangeKind::ALL.map(|k| (k.label(), self.of(k))))
            .finish()
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
    /// Creations that replace a tombstone.
    #[serde(skip)]
    pub restored: usize,
    /// Updates of records stamped beyond the allowed clock skew.
    #[serde(skip)]
    pub unfrozen: usize,
}
