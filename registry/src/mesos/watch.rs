//! The watch of the Mesos records: the same resumable loop as the Marathon watch
//! (`crate::watch`), with Mesos changes.

use super::codec::{self, MesosEntry};
use super::keys::{MesosKey, MesosScope};
use super::schema::{AgentRecord, FrameworkRecord, LeaderRecord, MasterRecord, MesosTaskRecord};
use super::store::MesosSnapshot;
use crate::error::Result;
use crate::store::Registry;
use crate::watch::{Raw, Source, Watch, WatchOptions};

/// One typed change of the Mesos records.
#[derive(Clone, Debug, PartialEq)]
pub enum MesosChange {
    /// The leader record was created or replaced.
    Leader(LeaderRecord),
    /// The leader record is gone (deleted by hand; Herald only replaces it).
    LeaderRemoved,
    /// A master was created or replaced.
    Master(MasterRecord),
    /// A master is gone.
    MasterRemoved {
        /// Its id.
        master_id: String,
    },
    /// An agent was created or replaced.
    Agent(AgentRecord),
    /// An agent is gone.
    AgentRemoved {
        /// Its id.
        agent_id: String,
    },
    /// A framework record was created or replaced.
    Framework(FrameworkRecord),
    /// A framework record is gone (its tasks are removed one by one).
    FrameworkRemoved {
        /// Its id.
        framework_id: String,
    },
    /// A task was created or replaced.
    Task(MesosTaskRecord),
    /// A task is gone (removed, expired or deleted).
    TaskRemoved {
        /// Its framework.
        framework_id: String,
        /// Its id.
        task_id: String,
    },
}

/// What a Mesos watch delivers (the same four events as [`crate::WatchEvent`]).
#[derive(Clone, Debug, PartialEq)]
pub enum MesosWatchEvent {
    /// Forget everything: this is the whole scope now.
    Resynced(MesosSnapshot),
    /// Changes, in etcd order, up to and including `revision`.
    Changes {
        /// The revision of the last change.
        revision: i64,
        /// The changes.
        changes: Vec<MesosChange>,
    },
    /// etcd confirmed that nothing else changed up to `revision`.
    Live {
        /// The confirmed revision.
        revision: i64,
    },
    /// The connection to etcd was lost; the watch resumes where it stopped.
    Disconnected {
        /// Why.
        error: String,
    },
}

struct MesosSource {
    scope: MesosScope,
    prefix: String,
}

fn removed(key: MesosKey) -> MesosChange {
    match key {
        MesosKey::Leader => MesosChange::LeaderRemoved,
        MesosKey::Master(master_id) => MesosChange::MasterRemoved { master_id },
        MesosKey::Agent(agent_id) => MesosChange::AgentRemoved { agent_id },
        MesosKey::Framework(framework_id) => MesosChange::FrameworkRemoved { framework_id },
        MesosKey::Task(framework_id, task_id) => MesosChange::TaskRemoved {
            framework_id,
            task_id,
        },
    }
}

impl Source for MesosSource {
    type Snapshot = MesosSnapshot;
    type Change = MesosChange;
    type Event = MesosWatchEvent;

    fn prefix(&self, _registry: &Registry) -> String {
        self.prefix.clone()
    }

    async fn list(&self, registry: &Registry) -> Result<(MesosSnapshot, i64)> {
        let snapshot = registry.list_mesos(&self.scope).await?;
        let revision = snapshot.revision;
        Ok((snapshot, revision))
    }

    fn change(&self, registry: &Registry, key: &str, value: Option<&[u8]>) -> Option<MesosChange> {
        let kind = registry.layout().parse_mesos(key)?;
        let Some(value) = value else {
            return Some(removed(kind));
        };
        Some(match codec::decode(key, value) {
            Ok(MesosEntry::Leader(r)) => MesosChange::Leader(r),
            Ok(MesosEntry::Master(r)) => MesosChange::Master(r),
            Ok(MesosEntry::Agent(r)) => MesosChange::Agent(r),
            Ok(MesosEntry::Framework(r)) => MesosChange::Framework(r),
            Ok(MesosEntry::Task(r)) => MesosChange::Task(r),
            Ok(MesosEntry::Gone { .. }) => removed(kind),
            Err(e) => {
                tracing::warn!(%key, error = %e, "skipping a watched Mesos record that does not decode");
                return None;
            }
        })
    }

    fn event(raw: Raw<MesosSnapshot, MesosChange>) -> MesosWatchEvent {
        match raw {
            Raw::Resynced(s) => MesosWatchEvent::Resynced(s),
            Raw::Changes { revision, changes } => MesosWatchEvent::Changes { revision, changes },
            Raw::Live { revision } => MesosWatchEvent::Live { revision },
            Raw::Disconnected { error } => MesosWatchEvent::Disconnected { error },
        }
    }
}

impl Registry {
    /// Watches a scope of the Mesos records, like [`Registry::watch`] does the Marathon
    /// ones. Fails only for a scope naming an invalid framework id.
    pub fn watch_mesos(
        &self,
        scope: MesosScope,
        options: WatchOptions,
    ) -> Result<Watch<MesosWatchEvent>> {
        let prefix = self.layout().mesos_scope_prefix(&scope)?;
        Ok(self.watch_source(MesosSource { scope, prefix }, options))
    }
}
