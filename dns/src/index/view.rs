//! What the index shows besides the snapshot, for the status page: a group's tasks as the
//! index keeps them (served or not, shared, not copied), the families it is published
//! under, a framework's label. The page asks after every update for the groups it
//! touched ([`UpdateStats::groups`]), so it never derives a name or keeps a record twice.
//!
//! [`UpdateStats::groups`]: super::UpdateStats::groups

use std::sync::Arc;

use super::{ById, ZoneIndex};
use crate::groups::Group;
use crate::task::{Family, ZoneTask};

impl ZoneIndex {
    /// The tasks of `group`, served or not, by task id: the index's own copies.
    pub fn group_tasks(&self, group: &Group) -> Vec<Arc<ZoneTask>> {
        let mut tasks: Vec<Arc<ZoneTask>> = self
            .groups
            .get(group)
            .into_iter()
            .flatten()
            .map(|ById(task)| task.clone())
            .collect();
        tasks.sort_by(|a, b| a.task_id.cmp(&b.task_id));
        tasks
    }

    /// The families `group` is published under now (its task names `T` under its
    /// framework label `F`); none while its framework's name is unknown.
    pub fn group_families(&self, group: &Group) -> &[Family] {
        self.placed.get(group).map_or(&[], |families| families)
    }

    /// The label `F` of a Mesos framework's names, as the zone uses it (`None` while its
    /// name is unknown).
    pub fn framework_label(&self, framework_id: &str) -> Option<String> {
        self.cluster.framework_label(framework_id)
    }
}
