//! herald-dns: a Mesos-DNS compatible DNS server fed by Herald's registry.
//!
//! Data flow: registry watch ([`feed`]) -> [`index::ZoneIndex`] (incremental) -> an
//! atomically swapped [`snapshot::ZoneSnapshot`] -> [`handler::DnsHandler`] (hickory) and
//! the [`http`] API. The query path never touches etcd and never blocks.

pub mod addresses;
pub mod allocator;
pub mod answer;
pub mod axfr;
pub mod config;
pub mod feed;
pub mod few;
pub mod groups;
pub mod handler;
pub mod http;
pub mod index;
pub mod mesos;
pub mod metrics;
pub mod names;
pub mod served;
pub mod server;
pub mod sharded;
pub mod shared_names;
pub mod snapshot;
pub mod status;
pub mod stored_name;
pub mod task;
#[cfg(any(test, feature = "test-support"))]
#[doc(hidden)]
pub mod test_support;
pub mod udp;
pub mod values;
