//! The Mesos master as a source: its records (masters and the leader, agents, frameworks,
//! tasks of every framework), their keys under `{prefix}/v1/mesos/`, their encoding (schema
//! 2), guarded writes, listings and a watch. See the README's "Mesos records".

pub(crate) mod codec;
pub(crate) mod keys;
pub(crate) mod schema;
pub(crate) mod store;
pub(crate) mod watch;

pub use codec::MesosEntry;
pub use keys::{MesosKey, MesosScope, validate_mesos_id};
pub use schema::{
    AgentRecord, FrameworkRecord, LeaderRecord, MESOS_SCHEMA_VERSION, MasterRecord, MesosPort,
    MesosTaskRecord, mesos_state_is_terminal,
};
pub use store::{MesosSnapshot, MesosTombstone, MesosWrite, MesosWriteOp};
pub use watch::{MesosChange, MesosWatchEvent};
