//! The index's task store: tasks kept in their groups, the Mesos task ids that find a
//! group, and the agent addresses tasks borrow (re-resolved when an agent changes).

use std::sync::Arc;

use super::{ById, Touched, ZoneIndex};
use crate::groups::{Group, MesosGroup};
use crate::task::{AgentRef, ZoneTask};

impl ZoneIndex {
    /// Removes a Mesos task from the id table; returns its group.
    pub(super) fn forget_mesos_task(
        &mut self,
        framework_id: &str,
        task_id: &str,
    ) -> Option<MesosGroup> {
        let tasks = self.mesos_tasks.get_mut(framework_id)?;
        let group = tasks.remove(task_id);
        if tasks.is_empty() {
            self.mesos_tasks.remove(framework_id);
        }
        group
    }

    /// Marks every group of a framework for a rebuild (its label may have changed).
    pub(super) fn touch_framework(&self, framework_id: &str, touched: &mut Touched) {
        let groups = self.mesos_tasks.get(framework_id).into_iter().flatten();
        touched
            .groups
            .extend(groups.map(|(_, group)| Group::Mesos(group.clone())));
    }

    /// Stores a task in its group, its agent addresses resolved when it borrows them.
    pub(super) fn insert_task(&mut self, group: &Group, mut task: ZoneTask) {
        if let Some(agent) = &task.agent {
            task.agent_ips = self.cluster.agent_ips(agent);
            *self
                .agent_users
                .entry(agent.clone())
                .or_default()
                .entry(group.clone())
                .or_default() += 1;
        }
        let tasks = self.groups.entry(group.clone()).or_default();
        match tasks.replace(ById(Arc::new(task))) {
            Some(ById(old)) => self.release_agent(group, &old),
            None => self.task_count += 1,
        }
    }

    /// Removes a task from its group (a no-op when it is not there).
    pub(super) fn remove_task(&mut self, group: &Group, task_id: &str) {
        let Some(tasks) = self.groups.get_mut(group) else {
            return;
        };
        let Some(ById(old)) = tasks.take(task_id) else {
            return;
        };
        if tasks.is_empty() {
            self.groups.remove(group);
        }
        self.task_count -= 1;
        self.release_agent(group, &old);
    }

    /// Drops the count of `task`'s agent reference.
    pub(super) fn release_agent(&mut self, group: &Group, task: &ZoneTask) {
        let Some(agent) = &task.agent else { return };
        let Some(users) = self.agent_users.get_mut(agent) else {
            return;
        };
        if let Some(count) = users.get_mut(group) {
            *count -= 1;
            if *count == 0 {
                users.remove(group);
            }
        }
        if users.is_empty() {
            self.agent_users.remove(agent);
        }
    }

    /// Re-resolves the agent addresses of every task that borrows `agent`'s.
    pub(super) fn refresh_agent(&mut self, agent: &AgentRef, touched: &mut Touched) {
        let Some(users) = self.agent_users.get(agent) else {
            return;
        };
        let ips = self.cluster.agent_ips(agent);
        for group in users.keys() {
            let Some(tasks) = self.groups.get_mut(group) else {
                continue;
            };
            let stale: Vec<Arc<ZoneTask>> = tasks
                .iter()
                .filter(|ById(t)| t.agent.as_ref() == Some(agent) && t.agent_ips != ips)
                .map(|ById(t)| t.clone())
                .collect();
            for task in stale {
                let fresh = ZoneTask {
                    agent_ips: ips.clone(),
                    ..(*task).clone()
                };
                tasks.replace(ById(Arc::new(fresh)));
                touched.groups.insert(group.clone());
            }
        }
    }
}
