//! The subscriber's metric names, in one place (served on `/metrics` by
//! `herald_service::ops_routes`).
//!
//! | metric | kind | labels |
//! |---|---|---|
//! | `herald_subscriber_events_total` | counter | `type` (known Marathon type or `unknown`), `outcome` |
//! | `herald_subscriber_etcd_write_seconds` | histogram | — (one `apply` call) |
//! | `herald_subscriber_etcd_write_errors_total` | counter | `class` (`retryable`: etcd unavailable, slow, between leaders — retried with backoff; `permanent`: etcd refused the request — its writes are tried one by one) |
//! | `herald_subscriber_records_refused_total` | counter | `reason` (`too_large`: over `--max-record-size`, never sent; `etcd`: etcd refused the write alone) |
//! | `herald_subscriber_queue_depth` | gauge | — |
//! | `herald_subscriber_reconcile_runs_total` | counter | `result` (`applied`, `in_sync`, `failed`, `withheld`, `refused`) |
//! | `herald_subscriber_reconcile_changes_total` | counter | `change` (`create_task`, `update_task`, `remove_task`, `create_app`, `update_app`, `remove_app`) |
//! | `herald_subscriber_reconcile_last_diff` | gauge | — (changes planned by the last run) |
//! | `herald_subscriber_sse_reconnects_total` | counter | — |
//! | `herald_subscriber_sse_connected` | gauge | — |
//! | `herald_subscriber_leader` | gauge | — (1 on the elected instance) |
//! | `herald_subscriber_mesos_events_total` | counter | `type` (`TASK_ADDED`, ..., `HEARTBEAT`, `unknown_task`, `invalid`) |
//! | `herald_subscriber_mesos_connected` | gauge | — (1 while a `SUBSCRIBE` stream is open) |
//! | `herald_subscriber_mesos_reconnects_total` | counter | `reason` (`ended`, `idle`, `error`, `leader_changed`, `resync`) |
//! | `herald_subscriber_mesos_resyncs_total` | counter | `result` (`in_sync`, `applied`, `withheld`, `failed`) |
//! | `herald_subscriber_mesos_writes_total` | counter | `outcome` (`written`, `unchanged`, `stale` (guard refused: a newer record or a changed revision), `refused`) |
//!
//! Event outcomes: `written`, `unchanged`, `stale` (an older event than what is stored),
//! `conflict`, `ignored` (a type or state Herald does not act on), `not_an_app` (a pod or a
//! deleted app), `invalid` (4xx), `rejected` (queue full, 503), `refused` (a record of the
//! event was refused: too large, or etcd refused it), `dropped` (accepted, but not written
//! before the shutdown's drain timeout).

use std::time::Duration;

/// Counts one event outcome.
pub fn event(label: &'static str, outcome: &'static str) {
    metrics::counter!("herald_subscriber_events_total", "type" => label, "outcome" => outcome)
        .increment(1);
}

/// Records one `Registry::apply` call and, when it failed, the class of its error.
pub fn etcd_write(elapsed: Duration, error: Option<&registry::Error>) {
    metrics::histogram!("herald_subscriber_etcd_write_seconds").record(elapsed.as_secs_f64());
    if let Some(e) = error {
        let class = if e.is_retryable() {
            "retryable"
        } else {
            "permanent"
        };
        metrics::counter!("herald_subscriber_etcd_write_errors_total", "class" => class)
            .increment(1);
    }
}

/// Counts a record refused for good (`too_large` or `etcd`).
pub fn record_refused(reason: &'static str) {
    metrics::counter!("herald_subscriber_records_refused_total", "reason" => reason).increment(1);
}

/// Counts `n` accepted events of type `label` dropped at shutdown.
pub fn events_dropped(label: &'static str, n: usize) {
    metrics::counter!("herald_subscriber_events_total", "type" => label, "outcome" => "dropped")
        .increment(n as u64);
}

/// Sets the queue depth.
pub fn queue_depth(depth: usize) {
    metrics::gauge!("herald_subscriber_queue_depth").set(depth as f64);
}

/// Counts a reconcile run.
pub fn reconcile_run(result: &'static str) {
    metrics::counter!("herald_subscriber_reconcile_runs_total", "result" => result).increment(1);
}

/// Counts reconcile changes of one kind and records the run's diff size.
pub fn reconcile_changes(change: &'static str, n: usize) {
    if n > 0 {
        metrics::counter!("herald_subscriber_reconcile_changes_total", "change" => change)
            .increment(n as u64);
    }
}

/// The size of the last planned diff.
pub fn reconcile_last_diff(n: usize) {
    metrics::gauge!("herald_subscriber_reconcile_last_diff").set(n as f64);
}

/// Counts an SSE reconnect.
pub fn sse_reconnect() {
    metrics::counter!("herald_subscriber_sse_reconnects_total").increment(1);
}

/// Marks the SSE stream up or down.
pub fn sse_connected(up: bool) {
    metrics::gauge!("herald_subscriber_sse_connected").set(if up { 1.0 } else { 0.0 });
}

/// Marks this instance leader or not.
pub fn leader(is_leader: bool) {
    metrics::gauge!("herald_subscriber_leader").set(if is_leader { 1.0 } else { 0.0 });
}

/// Counts one Mesos stream record by type.
pub fn mesos_event(kind: &str) {
    metrics::counter!("herald_subscriber_mesos_events_total", "type" => kind.to_string())
        .increment(1);
}

/// Marks the Mesos stream up or down.
pub fn mesos_connected(up: bool) {
    metrics::gauge!("herald_subscriber_mesos_connected").set(if up { 1.0 } else { 0.0 });
}

/// Counts a Mesos resubscribe and why.
pub fn mesos_reconnect(reason: &'static str) {
    metrics::counter!("herald_subscriber_mesos_reconnects_total", "reason" => reason).increment(1);
}

/// Counts a Mesos resync by result.
pub fn mesos_resync(result: &'static str) {
    metrics::counter!("herald_subscriber_mesos_resyncs_total", "result" => result).increment(1);
}

/// Counts Mesos writes by outcome.
pub fn mesos_writes(outcome: &'static str, n: usize) {
    if n > 0 {
        metrics::counter!("herald_subscriber_mesos_writes_total", "outcome" => outcome)
            .increment(n as u64);
    }
}
