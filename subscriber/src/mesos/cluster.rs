//! What the master's stream has said so far: agents, frameworks and live tasks, rebuilt from
//! every `SUBSCRIBED` snapshot and kept current by the events after it (pure).
//!
//! `TASK_UPDATED` carries only a status, so the rest of a task (name, ports, labels) comes
//! from what `TASK_ADDED` or the snapshot said; each event yields the writes that bring etcd
//! to the new state. Tasks of the frameworks the Marathon source covers
//! ([`Cluster::covered_frameworks`]) are tracked but never written: Marathon's view of its
//! own tasks is the richer one.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use registry::{
    AgentRecord, FrameworkRecord, Guard, MesosTaskRecord, MesosWrite, MesosWriteOp, Stamp,
    mesos_state_is_terminal,
};

use super::convert::{
    self, SchedulerPid, agent_record, apply_status, framework_record, task_record,
};
use super::events::{GetState, MesosEvent};

/// The state one subscription has built.
#[derive(Clone, Debug, Default)]
pub struct Cluster {
    agents: BTreeMap<String, AgentRecord>,
    frameworks: BTreeMap<String, FrameworkRecord>,
    tasks: BTreeMap<(String, String), MesosTaskRecord>,
    recovered_agents: BTreeSet<String>,
    scheduler_pids: HashMap<String, SchedulerPid>,
    covered_names: BTreeSet<String>,
}

/// What an event changed, for the counters.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Applied {
    /// The writes that bring etcd along.
    pub writes: Vec<MesosWriteOp>,
    /// A `TASK_UPDATED` about a task this state does not know (its `TASK_ADDED` was missed:
    /// a resync will bring it).
    pub unknown_task: bool,
    /// A framework appeared whose scheduler PID is not known yet (`/master/state` has it).
    pub framework_without_pid: Option<String>,
}

impl Cluster {
    /// The state of a `SUBSCRIBED` snapshot. `covered` names the frameworks whose tasks the
    /// Marathon source writes (empty when Marathon is not configured). The snapshot is
    /// consumed as it is read: each agent, framework and task is dropped once it is a record,
    /// so the snapshot and its records are never both held whole.
    pub fn from_snapshot(
        state: GetState,
        covered: &BTreeSet<String>,
        pids: HashMap<String, SchedulerPid>,
        observed: &Stamp,
    ) -> Cluster {
        let mut cluster = Cluster {
            scheduler_pids: pids,
            covered_names: covered.clone(),
            ..Cluster::default()
        };
        if let Some(agents) = state.get_agents {
            for agent in agents.agents {
                if let Some(r) = agent_record(&agent, observed) {
                    cluster.agents.insert(r.agent_id.clone(), r);
                }
            }
            cluster.recovered_agents = agents
                .recovered_agents
                .into_iter()
                .filter_map(|a| a.id?.value)
                .filter(|id| !cluster.agents.contains_key(id))
                .collect();
        }
        if let Some(frameworks) = state.get_frameworks {
            for f in frameworks.frameworks {
                let id = f
                    .framework_info
                    .as_ref()
                    .and_then(|i| i.id.as_ref())
                    .and_then(|i| i.value.clone());
                let pid = id.as_ref().and_then(|id| cluster.scheduler_pids.get(id));
                if let Some(r) = framework_record(&f, pid, observed) {
                    cluster.frameworks.insert(r.framework_id.clone(), r);
                }
            }
        }
        if let Some(tasks) = state.get_tasks {
            for task in tasks.tasks.into_iter().chain(tasks.unreachable_tasks) {
                let name = task
                    .framework_id
                    .as_ref()
                    .and_then(|f| f.value.as_ref())
                    .and_then(|f| cluster.frameworks.get(f))
                    .map(|f| f.name.clone());
                if let Some(r) = task_record(&task, name.as_deref())
                    && !mesos_state_is_terminal(&r.state)
                {
                    cluster
                        .tasks
                        .insert((r.framework_id.clone(), r.task_id.clone()), r);
                }
            }
        }
        cluster
    }

    /// The frameworks (by id) whose tasks the Marathon source writes.
    pub fn covered_frameworks(&self) -> BTreeSet<String> {
        self.frameworks
            .values()
            .filter(|f| self.covered_names.contains(&f.name))
            .map(|f| f.framework_id.clone())
            .collect()
    }

    fn covers(&self, framework_id: &str) -> bool {
        self.frameworks
            .get(framework_id)
            .is_some_and(|f| self.covered_names.contains(&f.name))
    }

    /// Agents the master knows from its registry that have not re-registered yet (after a
    /// fail-over): their records and tasks are kept, not deleted, until they return.
    pub fn recovered_agents(&self) -> &BTreeSet<String> {
        &self.recovered_agents
    }

    /// Every agent.
    pub fn agents(&self) -> impl Iterator<Item = &AgentRecord> {
        self.agents.values()
    }

    /// Every framework.
    pub fn frameworks(&self) -> impl Iterator<Item = &FrameworkRecord> {
        self.frameworks.values()
    }

    /// Every live task this source writes (tasks of covered frameworks left out).
    pub fn written_tasks(&self) -> impl Iterator<Item = &MesosTaskRecord> {
        self.tasks
            .values()
            .filter(|t| !self.covers(&t.framework_id))
    }

    /// How many live tasks are known (covered ones included).
    pub fn task_count(&self) -> usize {
        self.tasks.len()
    }

    /// Learns scheduler PIDs (from `/master/state`) and returns the framework writes that
    /// add them.
    pub fn learn_scheduler_pids(
        &mut self,
        pids: HashMap<String, SchedulerPid>,
        observed: &Stamp,
    ) -> Vec<MesosWriteOp> {
        let mut writes = Vec::new();
        for (id, pid) in pids {
            if let Some(f) = self.frameworks.get_mut(&id)
                && f.pid.as_deref() != Some(pid.pid.as_str())
            {
                convert::with_scheduler_pid(f, &pid);
                f.updated_at = observed.clone();
                writes.push(MesosWriteOp::newer(MesosWrite::PutFramework(f.clone())));
            }
            self.scheduler_pids.insert(id, pid);
        }
        writes
    }

    /// Applies one event and returns the writes it needs.
    pub fn apply(&mut self, event: &MesosEvent, observed: &Stamp) -> Applied {
        let mut applied = Applied::default();
        match event {
            MesosEvent::TaskAdded(task) => {
                let name = task
                    .framework_id
                    .as_ref()
                    .and_then(|f| f.value.as_ref())
                    .and_then(|f| self.frameworks.get(f))
                    .map(|f| f.name.clone());
                if let Some(r) = task_record(task, name.as_deref()) {
                    self.put_task(r, &mut applied);
                }
            }
            MesosEvent::TaskUpdated {
                framework_id,
                status,
                state,
            } => {
                let task_id = status
                    .task_id
                    .as_ref()
                    .and_then(|t| t.value.clone())
                    .unwrap_or_default();
                match self.tasks.get(&(framework_id.clone(), task_id)) {
                    Some(current) => {
                        let mut r = current.clone();
                        apply_status(&mut r, status, state.as_deref());
                        self.put_task(r, &mut applied);
                    }
                    None => applied.unknown_task = true,
                }
            }
            MesosEvent::AgentAdded(agent) => {
                if let Some(r) = agent_record(agent, observed) {
                    self.recovered_agents.remove(&r.agent_id);
                    self.agents.insert(r.agent_id.clone(), r.clone());
                    applied
                        .writes
                        .push(MesosWriteOp::newer(MesosWrite::PutAgent(r)));
                }
            }
            MesosEvent::AgentRemoved { agent_id } => {
                self.agents.remove(agent_id);
                self.recovered_agents.remove(agent_id);
                applied
                    .writes
                    .push(MesosWriteOp::newer(MesosWrite::RemoveAgent {
                        agent_id: agent_id.clone(),
                        reason: "AGENT_REMOVED".into(),
                        at: observed.clone(),
                    }));
            }
            MesosEvent::FrameworkAdded(f) | MesosEvent::FrameworkUpdated(f) => {
                let id = f
                    .framework_info
                    .as_ref()
                    .and_then(|i| i.id.as_ref())
                    .and_then(|i| i.value.clone());
                let pid = id.as_ref().and_then(|id| self.scheduler_pids.get(id));
                if let Some(r) = framework_record(f, pid, observed) {
                    if r.pid.is_none() {
                        applied.framework_without_pid = Some(r.framework_id.clone());
                    }
                    self.put_framework(r, &mut applied);
                }
            }
            MesosEvent::FrameworkRemoved { framework_id, .. } => {
                let ids: Vec<(String, String)> = self
                    .tasks
                    .range((framework_id.clone(), String::new())..)
                    .take_while(|((f, _), _)| f == framework_id)
                    .map(|(k, _)| k.clone())
                    .collect();
                let covered = self.covers(framework_id);
                for key in ids {
                    self.tasks.remove(&key);
                    if !covered {
                        applied
                            .writes
                            .push(MesosWriteOp::newer(MesosWrite::RemoveTask {
                                framework_id: key.0,
                                task_id: key.1,
                                reason: "FRAMEWORK_REMOVED".into(),
                                at: observed.clone(),
                            }));
                    }
                }
                self.frameworks.remove(framework_id);
                applied
                    .writes
                    .push(MesosWriteOp::newer(MesosWrite::RemoveFramework {
                        framework_id: framework_id.clone(),
                        reason: "FRAMEWORK_REMOVED".into(),
                        at: observed.clone(),
                    }));
            }
            MesosEvent::Subscribed { .. } | MesosEvent::Heartbeat | MesosEvent::Ignored { .. } => {}
        }
        applied
    }

    fn put_task(&mut self, r: MesosTaskRecord, applied: &mut Applied) {
        let key = (r.framework_id.clone(), r.task_id.clone());
        if mesos_state_is_terminal(&r.state) {
            self.tasks.remove(&key);
        } else {
            self.tasks.insert(key, r.clone());
        }
        if !self.covers(&r.framework_id) {
            applied
                .writes
                .push(MesosWriteOp::newer(MesosWrite::PutTask(r)));
        }
    }

    /// Stores a framework; when its name is new, its tasks (added before it, as after a
    /// fail-over) are written again with the name, unconditionally (the stamp of a task is
    /// its newest status, which a name change does not move).
    fn put_framework(&mut self, r: FrameworkRecord, applied: &mut Applied) {
        let renamed = self
            .frameworks
            .get(&r.framework_id)
            .is_none_or(|old| old.name != r.name);
        let id = r.framework_id.clone();
        self.frameworks.insert(id.clone(), r.clone());
        applied
            .writes
            .push(MesosWriteOp::newer(MesosWrite::PutFramework(r.clone())));
        if !renamed {
            return;
        }
        let covered = self.covers(&id);
        for ((_, _), task) in self
            .tasks
            .range_mut((id.clone(), String::new())..)
            .take_while(|((f, _), _)| *f == id)
        {
            if task.framework_name.as_deref() != Some(r.name.as_str()) {
                task.framework_name = Some(r.name.clone());
                if !covered {
                    applied.writes.push(MesosWriteOp {
                        write: MesosWrite::PutTask(task.clone()),
                        guard: Guard::Always,
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesos::events::decode;
    use registry::TaskState;

    fn event(json: &str) -> MesosEvent {
        decode(json.as_bytes()).unwrap_or_else(|e| panic!("{e}"))
    }

    fn snapshot(json: &str) -> GetState {
        match event(json) {
            MesosEvent::Subscribed { state, .. } => *state,
            other => panic!("not SUBSCRIBED: {other:?}"),
        }
    }

    const SNAPSHOT: &str = r#"{"type":"SUBSCRIBED","subscribed":{"get_state":{
        "get_agents":{"agents":[{"agent_info":{"hostname":"a1","id":{"value":"S1"}},"pid":"slave(1)@10.0.0.1:5051"}],"recovered_agents":[{"hostname":"a2","id":{"value":"S2"}}]},
        "get_frameworks":{"frameworks":[{"framework_info":{"id":{"value":"M"},"name":"marathon"}},{"framework_info":{"id":{"value":"C"},"name":"chronos"}}]},
        "get_tasks":{"tasks":[{"name":"web","task_id":{"value":"web.1"},"framework_id":{"value":"M"},"agent_id":{"value":"S1"},"state":"TASK_RUNNING"},
                              {"name":"job","task_id":{"value":"job.1"},"framework_id":{"value":"C"},"agent_id":{"value":"S1"},"state":"TASK_RUNNING"}],
                     "completed_tasks":[{"name":"old","task_id":{"value":"old.1"},"framework_id":{"value":"C"},"state":"TASK_FINISHED"}]}}}}"#;

    fn names(cluster: &Cluster) -> Vec<String> {
        cluster.written_tasks().map(|t| t.task_id.clone()).collect()
    }

    #[test]
    fn a_snapshot_holds_live_tasks_and_leaves_covered_frameworks_to_marathon() {
        let state = snapshot(SNAPSHOT);
        let all = Cluster::from_snapshot(
            state.clone(),
            &BTreeSet::new(),
            HashMap::new(),
            &Stamp::now(),
        );
        assert_eq!(names(&all), vec!["job.1", "web.1"]);
        assert_eq!(
            all.recovered_agents().iter().collect::<Vec<_>>(),
            vec!["S2"]
        );
        let covered: BTreeSet<String> = ["marathon".to_string()].into();
        let mixed = Cluster::from_snapshot(state, &covered, HashMap::new(), &Stamp::now());
        assert_eq!(names(&mixed), vec!["job.1"]);
        assert_eq!(mixed.covered_frameworks(), ["M".to_string()].into());
        assert_eq!(mixed.task_count(), 2, "covered tasks are still tracked");
    }

    #[test]
    fn events_yield_their_writes() {
        let now = Stamp::now();
        let covered: BTreeSet<String> = ["marathon".to_string()].into();
        let mut c = Cluster::from_snapshot(snapshot(SNAPSHOT), &covered, HashMap::new(), &now);
        // An update of a covered framework's task changes the state, writes nothing.
        let a = c.apply(&event(r#"{"type":"TASK_UPDATED","task_updated":{"framework_id":{"value":"M"},"status":{"task_id":{"value":"web.1"},"state":"TASK_KILLED","timestamp":5.0},"state":"TASK_KILLED"}}"#), &now);
        assert!(a.writes.is_empty());
        assert_eq!(c.task_count(), 1);
        // A kill of a Chronos task writes its terminal state (stored as a tombstone).
        let a = c.apply(&event(r#"{"type":"TASK_UPDATED","task_updated":{"framework_id":{"value":"C"},"status":{"task_id":{"value":"job.1"},"state":"TASK_FAILED","timestamp":6.0}}}"#), &now);
        let [
            MesosWriteOp {
                write: MesosWrite::PutTask(t),
                guard: Guard::Newer,
            },
        ] = a.writes.as_slice()
        else {
            panic!("{a:?}")
        };
        assert_eq!(t.state, TaskState::Failed);
        assert_eq!(c.task_count(), 0);
        // An update of an unknown task is reported, not written.
        let a = c.apply(&event(r#"{"type":"TASK_UPDATED","task_updated":{"framework_id":{"value":"C"},"status":{"task_id":{"value":"nope"},"state":"TASK_RUNNING"}}}"#), &now);
        assert!(a.unknown_task && a.writes.is_empty());
        // The recovered agent returns.
        let a = c.apply(&event(r#"{"type":"AGENT_ADDED","agent_added":{"agent":{"agent_info":{"hostname":"a2","id":{"value":"S2"}},"pid":"slave(1)@10.0.0.2:5051"}}}"#), &now);
        assert_eq!(a.writes.len(), 1);
        assert!(c.recovered_agents().is_empty());
    }

    #[test]
    fn a_removed_framework_takes_its_tasks() {
        let now = Stamp::now();
        let mut c =
            Cluster::from_snapshot(snapshot(SNAPSHOT), &BTreeSet::new(), HashMap::new(), &now);
        let a = c.apply(&event(r#"{"type":"FRAMEWORK_REMOVED","framework_removed":{"framework_info":{"id":{"value":"C"},"name":"chronos"}}}"#), &now);
        let keys: Vec<_> = a.writes.iter().map(|w| w.write.key()).collect();
        assert_eq!(
            keys,
            vec![
                registry::MesosKey::Task("C".into(), "job.1".into()),
                registry::MesosKey::Framework("C".into())
            ]
        );
        assert_eq!(names(&c), vec!["web.1"]);
    }

    #[test]
    fn tasks_added_before_their_framework_get_its_name() {
        let now = Stamp::now();
        let mut c = Cluster::default();
        let a = c.apply(&event(r#"{"type":"TASK_ADDED","task_added":{"task":{"name":"t","task_id":{"value":"t.1"},"framework_id":{"value":"K"},"state":"TASK_RUNNING"}}}"#), &now);
        let MesosWrite::PutTask(t) = &a.writes[0].write else {
            panic!()
        };
        assert_eq!(t.framework_name, None);
        let a = c.apply(&event(r#"{"type":"FRAMEWORK_ADDED","framework_added":{"framework":{"framework_info":{"id":{"value":"K"},"name":"kafka"}}}}"#), &now);
        assert_eq!(a.framework_without_pid.as_deref(), Some("K"));
        let [framework, task] = a.writes.as_slice() else {
            panic!("{a:?}")
        };
        assert!(matches!(framework.write, MesosWrite::PutFramework(_)));
        let MesosWrite::PutTask(t) = &task.write else {
            panic!()
        };
        assert_eq!(
            (t.framework_name.as_deref(), task.guard),
            (Some("kafka"), Guard::Always)
        );
        // The same framework again renames nothing.
        let a = c.apply(&event(r#"{"type":"FRAMEWORK_UPDATED","framework_updated":{"framework":{"framework_info":{"id":{"value":"K"},"name":"kafka"}}}}"#), &now);
        assert_eq!(a.writes.len(), 1);
        // Its PID, learnt later, rewrites the framework.
        let pids = HashMap::from([(
            "K".to_string(),
            SchedulerPid {
                pid: "scheduler@10.0.0.5:9000".into(),
            },
        )]);
        let writes = c.learn_scheduler_pids(pids.clone(), &now);
        assert_eq!(writes.len(), 1);
        assert!(
            c.learn_scheduler_pids(pids, &now).is_empty(),
            "known already"
        );
    }
}
