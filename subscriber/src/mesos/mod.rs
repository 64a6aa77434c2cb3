//! The Mesos master as a source: its operator API's `SUBSCRIBE` stream into the registry's
//! Mesos records (`registry/README.md`, "Mesos records").
//!
//! - [`recordio`]: the incremental RecordIO parser (pure, fuzzed).
//! - [`events`]: a record's JSON → a typed [`events::MesosEvent`] (every field optional,
//!   errors naming the field).
//! - [`convert`]: an agent, framework, task or status update → registry records (pure).
//! - [`cluster`]: what the stream has said so far; each event → its writes (pure).
//! - [`plan`]: the resync after each subscribe: snapshot vs etcd → guarded writes, removals
//!   capped (pure).
//! - [`masters`]: `--mesos` (a masters list or `zk://`) and the master records (pure).
//! - [`client`]: the HTTP calls (`SUBSCRIBE`, `GET_MASTER`, `/master/state`).
//! - [`zookeeper`]: follows the masters' ZooKeeper group.
//! - [`writes`]: the source's etcd writes, isolated per record.
//! - [`source`]: the loop: find the leader, subscribe, resync, follow, resubscribe.

pub mod client;
pub mod cluster;
pub mod convert;
pub mod events;
pub mod masters;
pub mod plan;
pub mod recordio;
pub mod source;
pub mod writes;
pub mod zookeeper;
