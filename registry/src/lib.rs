//! Herald's registry: the one contract shared by the subscriber, the DNS server and
//! guestutils.
//!
//! It owns four things and nothing else knows them:
//! - the **record schema** ([`TaskRecord`], [`AppRecord`]; for the Mesos source
//!   [`MesosTaskRecord`], [`AgentRecord`], [`FrameworkRecord`], [`MasterRecord`],
//!   [`LeaderRecord`]), versioned by [`SCHEMA_VERSION`];
//! - the **etcd key layout** ([`KeyLayout`]), under a configurable prefix;
//! - the **address rule** ([`addresses`]): which IPs a record may hold and a reader may serve;
//! - **typed operations** over etcd: guarded batched writes ([`Registry::apply`]), prefix
//!   listings with their revision ([`Registry::list`]) and a resumable watch
//!   ([`Registry::watch`]) that turns etcd's raw events into [`Change`]s.
//!
//! See `registry/README.md` for the layout with examples and the versioning rules.

pub mod addresses;
mod codec;
mod config;
mod endpoints;
mod error;
mod ids;
mod keys;
mod mesos;
mod schema;
mod stamp;
mod status;
mod store;
mod stored;
mod watch;

#[cfg(feature = "test-harness")]
pub mod harness;

pub use codec::Entry;
pub use config::EtcdArgs;
pub use endpoints::{Endpoints, PinnedClient, is_transport_failure};
pub use error::{Error, Result};
pub use ids::{AppId, validate_task_id};
pub use keys::{KeyKind, KeyLayout, Scope};
pub use mesos::{
    AgentRecord, FrameworkRecord, LeaderRecord, MESOS_SCHEMA_VERSION, MasterRecord, MesosChange,
    MesosEntry, MesosKey, MesosPort, MesosScope, MesosSnapshot, MesosTaskRecord, MesosTombstone,
    MesosWatchEvent, MesosWrite, MesosWriteOp, mesos_state_is_terminal, validate_mesos_id,
};
pub use schema::{
    AppRecord, Health, MARATHON_SCHEMA_VERSION, NetworkMode, PortDefinition, Protocol,
    SCHEMA_VERSION, TaskPort, TaskRecord, TaskState,
};
pub use stamp::Stamp;
pub use status::{SourceState, SourceStatus, StatusEvent, SubscriberStatus};
pub use store::{
    Guard, MAX_TXN_OPS, Outcome, Registry, Snapshot, Tombstone, Versioned, Write, WriteOp,
};
pub use stored::{StoredRecords, StoredValue};
pub use watch::{Change, Watch, WatchEvent, WatchOptions};
