//! Typed, guarded writes and listings of the Mesos records (the same guards, batching and
//! tombstone lease as the Marathon records: see `crate::store`).

use super::codec::{self, MesosEntry};
use super::keys::{MesosKey, MesosScope};
use super::schema::{
    AgentRecord, FrameworkRecord, LeaderRecord, MasterRecord, MesosTaskRecord,
    mesos_state_is_terminal,
};
use crate::error::Result;
use crate::stamp::Stamp;
use crate::store::{Guard, Outcome, Prepared, Registry, Versioned};

/// One change to the Mesos records.
#[derive(Clone, Debug, PartialEq)]
pub enum MesosWrite {
    /// Create or replace the leader record (never removed: a new leader replaces it).
    PutLeader(LeaderRecord),
    /// Create or replace a master.
    PutMaster(MasterRecord),
    /// Remove a master (it left ZooKeeper): a tombstone.
    RemoveMaster {
        /// The master id.
        master_id: String,
        /// Why.
        reason: String,
        /// When.
        at: Stamp,
    },
    /// Create or replace an agent.
    PutAgent(AgentRecord),
    /// Remove an agent (`AGENT_REMOVED`, or gone from a snapshot): a tombstone.
    RemoveAgent {
        /// The agent id.
        agent_id: String,
        /// Why.
        reason: String,
        /// When.
        at: Stamp,
    },
    /// Create or replace a framework record.
    PutFramework(FrameworkRecord),
    /// Remove a framework record (`FRAMEWORK_REMOVED`): a tombstone. Its tasks are
    /// separate writes.
    RemoveFramework {
        /// The framework id.
        framework_id: String,
        /// Why.
        reason: String,
        /// When.
        at: Stamp,
    },
    /// Create or replace a task. A task in a terminal state is stored as a tombstone, like
    /// [`MesosWrite::RemoveTask`] (`TASK_UNKNOWN` is not terminal here).
    PutTask(MesosTaskRecord),
    /// Remove a task: a tombstone.
    RemoveTask {
        /// Its framework.
        framework_id: String,
        /// The task id.
        task_id: String,
        /// Why (the terminal state's name, `reconcile`, ...).
        reason: String,
        /// When.
        at: Stamp,
    },
}

impl MesosWrite {
    /// The key this write goes to.
    pub fn key(&self) -> MesosKey {
        match self {
            MesosWrite::PutLeader(_) => MesosKey::Leader,
            MesosWrite::PutMaster(m) => MesosKey::Master(m.master_id.clone()),
            MesosWrite::RemoveMaster { master_id, .. } => MesosKey::Master(master_id.clone()),
            MesosWrite::PutAgent(a) => MesosKey::Agent(a.agent_id.clone()),
            MesosWrite::RemoveAgent { agent_id, .. } => MesosKey::Agent(agent_id.clone()),
            MesosWrite::PutFramework(f) => MesosKey::Framework(f.framework_id.clone()),
            MesosWrite::RemoveFramework { framework_id, .. } => {
                MesosKey::Framework(framework_id.clone())
            }
            MesosWrite::PutTask(t) => MesosKey::Task(t.framework_id.clone(), t.task_id.clone()),
            MesosWrite::RemoveTask {
                framework_id,
                task_id,
                ..
            } => MesosKey::Task(framework_id.clone(), task_id.clone()),
        }
    }

    /// The value this write stores, and whether it is a tombstone.
    fn value(&self) -> (Vec<u8>, bool) {
        let live = |e: MesosEntry| (codec::encode(&e), false);
        match self {
            MesosWrite::PutLeader(r) => live(MesosEntry::Leader(r.clone())),
            MesosWrite::PutMaster(r) => live(MesosEntry::Master(r.clone())),
            MesosWrite::PutAgent(r) => live(MesosEntry::Agent(r.clone())),
            MesosWrite::PutFramework(r) => live(MesosEntry::Framework(r.clone())),
            MesosWrite::PutTask(t) => (
                codec::encode(&MesosEntry::Task(t.clone())),
                mesos_state_is_terminal(&t.state),
            ),
            MesosWrite::RemoveMaster { reason, at, .. }
            | MesosWrite::RemoveAgent { reason, at, .. }
            | MesosWrite::RemoveFramework { reason, at, .. }
            | MesosWrite::RemoveTask { reason, at, .. } => (codec::encode_gone(reason, at), true),
        }
    }

    /// The size in bytes of the value this write stores (see `Write::encoded_len`).
    pub fn encoded_len(&self) -> usize {
        self.value().0.len()
    }
}

/// A Mesos write with its guard ([`Guard::Newer`] for events, [`Guard::Revision`] for a
/// reconcile plan).
#[derive(Clone, Debug, PartialEq)]
pub struct MesosWriteOp {
    /// What to write.
    pub write: MesosWrite,
    /// When to write it.
    pub guard: Guard,
}

impl MesosWriteOp {
    /// `write` guarded by [`Guard::Newer`].
    pub fn newer(write: MesosWrite) -> Self {
        MesosWriteOp {
            write,
            guard: Guard::Newer,
        }
    }
}

/// Every live Mesos record of a scope at one etcd revision.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MesosSnapshot {
    /// The etcd revision the listing reflects; a watch continues at `revision + 1`.
    pub revision: i64,
    /// The leader record, when there is one in the scope.
    pub leader: Option<Versioned<LeaderRecord>>,
    /// Masters, in key order.
    pub masters: Vec<Versioned<MasterRecord>>,
    /// Agents, in key order.
    pub agents: Vec<Versioned<AgentRecord>>,
    /// Frameworks, in key order.
    pub frameworks: Vec<Versioned<FrameworkRecord>>,
    /// Tasks, in key order (grouped by framework).
    pub tasks: Vec<Versioned<MesosTaskRecord>>,
    /// Keys whose values did not decode, with the reason (logged and skipped).
    pub invalid: Vec<(String, String)>,
}

/// A tombstone of the Mesos tree, as [`Registry::list_mesos_with_tombstones`] finds it.
#[derive(Clone, Debug, PartialEq)]
pub struct MesosTombstone {
    /// What the key named.
    pub key: MesosKey,
    /// Why the record was removed.
    pub reason: String,
    /// When.
    pub at: Stamp,
    /// The key's `mod_revision` (for a [`Guard::Revision`] that replaces it).
    pub mod_revision: i64,
}

fn versioned<T>(record: T, mod_revision: i64) -> Versioned<T> {
    Versioned {
        record,
        mod_revision,
    }
}

impl Registry {
    /// Applies Mesos writes like [`Registry::apply`] does Marathon ones: the same batching,
    /// guards and tombstone lease; one [`Outcome`] per op, in order.
    pub async fn apply_mesos(&self, ops: Vec<MesosWriteOp>) -> Result<Vec<Outcome>> {
        let mut prepared = Vec::with_capacity(ops.len());
        for op in ops {
            let key = self.mesos_key(&op.write.key())?;
            let (value, tombstone) = op.write.value();
            prepared.push(Prepared {
                key,
                value,
                tombstone,
                guard: op.guard,
            });
        }
        self.apply_prepared(prepared).await
    }

    /// The etcd key of a Mesos key.
    pub fn mesos_key(&self, key: &MesosKey) -> Result<String> {
        let l = self.layout();
        match key {
            MesosKey::Leader => Ok(l.mesos_leader_key()),
            MesosKey::Master(id) => l.mesos_master_key(id),
            MesosKey::Agent(id) => l.mesos_agent_key(id),
            MesosKey::Framework(id) => l.mesos_framework_key(id),
            MesosKey::Task(framework, task) => l.mesos_task_key(framework, task),
        }
    }

    /// Reads one Mesos key (tombstones included) with its `mod_revision`.
    pub async fn get_mesos(&self, key: &MesosKey) -> Result<Option<(MesosEntry, i64)>> {
        let key = self.mesos_key(key)?;
        let response = self
            .endpoints()
            .call(|mut c| {
                let key = key.clone();
                async move { c.get(key, None).await }
            })
            .await?;
        match response.kvs().first() {
            None => Ok(None),
            Some(kv) => Ok(Some((codec::decode(&key, kv.value())?, kv.mod_revision()))),
        }
    }

    /// Lists every live Mesos record of a scope at one revision (paged). Tombstones are
    /// left out.
    pub async fn list_mesos(&self, scope: &MesosScope) -> Result<MesosSnapshot> {
        Ok(self.list_mesos_scope(scope, false).await?.0)
    }

    /// Like [`Registry::list_mesos`], plus the scope's tombstones at the same revision (for
    /// a writer's reconcile; see the README's "Tombstones").
    pub async fn list_mesos_with_tombstones(
        &self,
        scope: &MesosScope,
    ) -> Result<(MesosSnapshot, Vec<MesosTombstone>)> {
        self.list_mesos_scope(scope, true).await
    }

    async fn list_mesos_scope(
        &self,
        scope: &MesosScope,
        with_tombstones: bool,
    ) -> Result<(MesosSnapshot, Vec<MesosTombstone>)> {
        let prefix = self.layout().mesos_scope_prefix(scope)?;
        let mut snapshot = MesosSnapshot::default();
        let mut tombstones = Vec::new();
        let revision = self
            .scan(&prefix, |key, value, mod_revision| {
            let key = key.to_string();
            let Some(kind) = self.layout().parse_mesos(&key) else {
                return;
            };
                        match codec::decode(&key, value) {
                Ok(MesosEntry::Leader(r)) => snapshot.leader = Some(versioned(r, mod_revision)),
                Ok(MesosEntry::Master(r)) => snapshot.masters.push(versioned(r, mod_revision)),
                Ok(MesosEntry::Agent(r)) => snapshot.agents.push(versioned(r, mod_revision)),
                Ok(MesosEntry::Framework(r)) => {
                    snapshot.frameworks.push(versioned(r, mod_revision))
                }
                Ok(MesosEntry::Task(r)) => snapshot.tasks.push(versioned(r, mod_revision)),
                Ok(MesosEntry::Gone { reason, at }) => {
                    if with_tombstones {
                        tombstones.push(MesosTombstone {
                            key: kind,
                            reason,
                            at,
                            mod_revision,
                        });
                    }
                }
                Err(e) => {
                    tracing::warn!(%key, error = %e, "skipping a Mesos record that does not decode");
                    snapshot.invalid.push((key, e.to_string()));
                }
            }
                    })
            .await?;
        snapshot.revision = revision;
        Ok((snapshot, tombstones))
    }
}
