//! Herald's subscriber: Marathon events and the Mesos master's event stream in, etcd
//! records out (the Mesos side: [`mesos`], its loop in [`mesos::source`]).
//!
//! ```text
//!  Marathon ≤1.4 ──POST /callback──┐                         ┌── reconcile (GET /v2/apps?embed=apps.tasks)
//!  Marathon ≥0.9 ──GET /v2/events──┤──> events::decode ──> queue ──> ingest::Handler ──> registry::apply ──> etcd
//!                     (leader only) │                                      │
//!                                   └── app definitions (catalog), agent addresses (agents)
//! ```
//!
//! Module map (one job each):
//! - [`marathon`]: the REST/SSE client, Marathon's JSON shapes (REST and events), the SSE
//!   parser, id rules. Knows nothing of etcd.
//! - [`events`]: a JSON body -> a typed, validated [`events::Event`].
//! - [`records`]: Marathon task + app definition -> registry records; semantic equality.
//! - [`addresses`]: which reported addresses a record may hold.
//! - [`catalog`]: app definitions cached per app id and version.
//! - [`agents`]: agent host names -> IPs, cached with a TTL.
//! - [`queue`]: the bounded queue both ingest paths feed, and its counters.
//! - [`resync`]: requests for a reconcile, from anywhere.
//! - [`ingest`]: the one handler that drains the queue: batches of events -> guarded writes.
//! - [`writes`]: etcd writes with failures isolated per record (size limit, error classes).
//! - [`reconcile`]: read etcd and Marathon, plan the difference (a pure function), apply it.
//! - [`leader`]: etcd election; the leader streams SSE and runs the periodic reconcile.
//! - [`stream`]: the SSE client loop.
//! - [`api`]: the HTTP routes. [`config`]: flags. [`server`]: wiring and shutdown.
//! - [`status`]: the leader's status record (for herald-dns's status page).
//! - [`memory`]: no transparent huge pages (the resident memory between reconciles).
//! - [`telemetry`]: metric names.

pub mod addresses;
pub mod agents;
pub mod api;
pub mod catalog;
pub mod config;
pub mod events;
pub mod http_client;
pub mod ingest;
pub mod leader;
pub mod marathon;
pub mod memory;
pub mod mesos;
pub mod queue;
pub mod reconcile;
pub mod records;
pub mod resync;
pub mod server;
pub mod status;
pub mod stream;
pub mod telemetry;
pub mod writes;

pub use config::{Config, Source};
pub use server::Subscriber;
