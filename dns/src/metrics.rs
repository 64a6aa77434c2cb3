//! The metrics herald-dns exports (Prometheus names) and their update helpers.

use std::time::Duration;

use hickory_proto::op::ResponseCode;
use hickory_server::server::Request;

/// Queries answered, by `qtype` and `rcode`.
pub const QUERIES: &str = "herald_dns_queries_total";
/// Time to answer one query (seconds).
pub const QUERY_SECONDS: &str = "herald_dns_query_duration_seconds";
/// Names in the index.
pub const INDEX_NAMES: &str = "herald_dns_index_names";
/// Tasks in the index (served or not).
pub const INDEX_TASKS: &str = "herald_dns_index_tasks";
/// Seconds since etcd last confirmed the index is current.
pub const STALENESS: &str = "herald_dns_staleness_seconds";
/// 1 while the registry watch is connected.
pub const CONNECTED: &str = "herald_dns_registry_connected";
/// Task names currently claimed by more than one app id.
pub const LABEL_COLLISIONS: &str = "herald_dns_label_collisions";
/// Times an app id joined a task name already claimed by another.
pub const LABEL_COLLISIONS_TOTAL: &str = "herald_dns_label_collisions_total";
/// Registry changes applied to the index.
pub const CHANGES: &str = "herald_dns_index_changes_total";
/// Time from a batch of registry changes received to its snapshot published (seconds):
/// herald-dns's own share of a change's way to the answer.
pub const UPDATE_SECONDS: &str = "herald_dns_index_update_seconds";

/// UDP queries answered from the wire-answer cache (the fast path).
pub const FAST_PATH_HITS: &str = "herald_dns_fast_path_hits_total";
/// `recvmmsg` calls of the UDP loops that returned datagrams.
pub const UDP_RECEIVE_CALLS: &str = "herald_dns_udp_receive_calls_total";
/// Datagrams those calls returned (divided by the calls: the mean batch).
pub const UDP_DATAGRAMS: &str = "herald_dns_udp_datagrams_total";

/// Records one answered query.
pub fn query(qtype: &'static str, rcode: ResponseCode, elapsed: Duration) {
    metrics::counter!(QUERIES, "qtype" => qtype, "rcode" => rcode.to_str()).increment(1);
    metrics::histogram!(QUERY_SECONDS).record(elapsed.as_secs_f64());
}

/// The `qtype` label of `request`: its first question's type, `none` without one.
pub fn qtype(request: &Request) -> &'static str {
    request
        .queries
        .queries()
        .first()
        .map(|q| q.query_type().into())
        .unwrap_or("none")
}
