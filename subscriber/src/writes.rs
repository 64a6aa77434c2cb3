//! Isolated etcd writes: no single record or etcd error stalls the others.
//!
//! [`Writer::apply`] takes guarded writes and returns one result per write:
//! - a record whose encoded value is larger than `--max-record-size` is refused before
//!   anything is sent: a guarded write carries its value four times in one etcd request,
//!   and etcd refuses requests over its `--max-request-bytes` (1.5 MiB by default);
//! - the rest goes out in up to `concurrency` concurrent groups of [`Registry::apply`]
//!   calls (the writes to one key in one group, in order);
//! - a call that etcd refuses ([`registry::Error::is_retryable`] is false: request too
//!   large, invalid argument) is split: its writes are applied one by one, so the good ones
//!   land and only the bad one is refused;
//! - a call that fails with a retryable error (etcd unavailable, a timeout, no leader)
//!   hands its writes back as [`WriteError::Unavailable`], for the caller to try again
//!   later, with backoff, while other writes go on.
//!
//! A refused record is logged with its app and task id, counted
//! (`herald_subscriber_records_refused_total`) and remembered for `/healthz`, which reports
//! `degraded` for [`REFUSALS_SHOWN_FOR`] after the last refusal.

use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use registry::{AppId, MAX_TXN_OPS, Outcome, Registry, Write, WriteOp};
use serde_json::json;

use crate::telemetry;

/// Writes per [`Registry::apply`] call (the registry splits a call into transactions).
const WRITES_PER_CALL: usize = 8 * MAX_TXN_OPS;

/// Default of `--max-record-size`: 256 KiB, so that one guarded write (the value four
/// times, plus its key) stays well under etcd's default 1.5 MiB request limit.
pub const DEFAULT_MAX_RECORD_SIZE: usize = 256 * 1024;
/// How long `/healthz` stays degraded after the last refused record.
pub const REFUSALS_SHOWN_FOR: Duration = Duration::from_secs(600);

/// Why a write was not applied.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    /// The encoded record is larger than `--max-record-size`; nothing was sent.
    #[error("the record is {size} bytes, more than the {limit} allowed (--max-record-size)")]
    TooLarge {
        /// The encoded record's size in bytes.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// etcd refused this write alone (request too large, invalid argument): repeating it
    /// would fail again.
    #[error("etcd refused it: {0}")]
    Refused(String),
    /// etcd failed in a way that may clear (unavailable, timeout, no leader): try again
    /// later.
    #[error("etcd failed: {0}")]
    Unavailable(String),
}

/// What became of one write.
pub type WriteResult = Result<Outcome, WriteError>;

/// The app and, for task writes, the task a write is about.
pub fn subject(write: &Write) -> (&AppId, Option<&str>) {
    match write {
        Write::PutTask(t) => (&t.app_id, Some(t.task_id.as_str())),
        Write::RemoveTask {
            app_id, task_id, ..
        } => (app_id, Some(task_id.as_str())),
        Write::PutApp(a) => (&a.app_id, None),
        Write::RemoveApp { app_id, .. } => (app_id, None),
    }
}

/// What `/healthz` reports about writes.
#[derive(Clone, Debug, PartialEq)]
pub struct WriteHealth {
    /// Why writes are degraded (records refused recently, or etcd failing writes), `None`
    /// when they are not.
    pub problem: Option<String>,
    /// The details, for `/healthz`.
    pub checks: serde_json::Value,
}

#[derive(Default)]
struct Status {
    /// Records refused since start.
    refused: u64,
    /// When the last one was refused, and `<task or app>: <why>`.
    last_refusal: Option<(Instant, String)>,
    /// The last retryable failure, until a write succeeds again.
    failing: Option<String>,
}

/// Applies writes to the registry with failures isolated per record (see the module docs).
/// Cheap to clone; clones share what `/healthz` reports.
#[derive(Clone)]
pub struct Writer {
    registry: Registry,
    max_record_size: usize,
    concurrency: usize,
    status: Arc<Mutex<Status>>,
}

impl Writer {
    /// A writer refusing records over `max_record_size` bytes and applying batches in up to
    /// `concurrency` concurrent transactions.
    pub fn new(registry: Registry, max_record_size: usize, concurrency: usize) -> Self {
        Writer {
            registry,
            max_record_size,
            concurrency: concurrency.max(1),
            status: Arc::default(),
        }
    }

    /// The registry written to.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    fn status(&self) -> MutexGuard<'_, Status> {
        self.status.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Checks a write against `--max-record-size`; an oversized one is refused (logged,
    /// counted and reported on `/healthz`) with [`WriteError::TooLarge`].
    pub fn admit(&self, write: &Write) -> Result<(), WriteError> {
        let size = write.encoded_len();
        if size <= self.max_record_size {
            return Ok(());
        }
        let error = WriteError::TooLarge {
            size,
            limit: self.max_record_size,
        };
        self.refuse(write, &error);
        Err(error)
    }

    fn refuse(&self, write: &Write, error: &WriteError) {
        let (app, task) = subject(write);
        tracing::warn!(%app, task = task.unwrap_or("-"), %error, "record refused: it is not written, and not retried");
        telemetry::record_refused(match error {
            WriteError::TooLarge { .. } => "too_large",
            _ => "etcd",
        });
        let mut status = self.status();
        status.refused += 1;
        let what = task.map_or_else(|| app.to_string(), str::to_string);
        status.last_refusal = Some((Instant::now(), format!("{what}: {error}")));
    }

    /// Applies `ops` and returns one result per op, in order (see the module docs). A
    /// [`WriteError::Unavailable`] write was not applied, or not known to be: apply it again
    /// later (every guard makes that safe).
    pub async fn apply(&self, ops: Vec<WriteOp>) -> Vec<WriteResult> {
        let mut results: Vec<WriteResult> = vec![Ok(Outcome::Unchanged); ops.len()];
        let mut sendable = Vec::with_capacity(ops.len());
        for (i, op) in ops.into_iter().enumerate() {
            match self.admit(&op.write) {
                Ok(()) => sendable.push((i, op)),
                Err(e) => results[i] = Err(e),
            }
        }
        if sendable.is_empty() {
            return results;
        }
        // No more concurrent calls than the writes fill transactions (the registry splits
        // bigger calls).
        let shards = self
            .concurrency
            .min(sendable.len().div_ceil(MAX_TXN_OPS))
            .max(1);
        let mut groups: Vec<Vec<(usize, WriteOp)>> = (0..shards).map(|_| Vec::new()).collect();
        for (i, op) in sendable {
            groups[shard_of(&op.write, shards)].push((i, op));
        }
        let done = futures::future::join_all(groups.into_iter().map(|g| self.apply_group(g))).await;
        for (i, result) in done.into_iter().flatten() {
            results[i] = result;
        }
        results
    }

    /// One group, in `apply` calls of at most [`WRITES_PER_CALL`] writes, so that only one
    /// call's writes are copied and encoded at a time (a 60,000-record plan held them all
    /// three times); after a retryable failure the rest is handed back unsent.
    async fn apply_group(&self, group: Vec<(usize, WriteOp)>) -> Vec<(usize, WriteResult)> {
        let mut out = Vec::with_capacity(group.len());
        let mut rest = group.into_iter();
        loop {
            let call: Vec<_> = rest.by_ref().take(WRITES_PER_CALL).collect();
            if call.is_empty() {
                return out;
            }
            let results = self.apply_call(call).await;
            let failure = results.iter().find_map(|(_, result)| match result {
                Err(e @ WriteError::Unavailable(_)) => Some(e.clone()),
                _ => None,
            });
            out.extend(results);
            if let Some(failure) = failure {
                out.extend(rest.map(|(i, _)| (i, Err(failure.clone()))));
                return out;
            }
        }
    }

    /// One `apply` call; refused by etcd, its writes one by one.
    async fn apply_call(&self, group: Vec<(usize, WriteOp)>) -> Vec<(usize, WriteResult)> {
        let ops = group.iter().map(|(_, op)| op.clone()).collect();
        let error = match self.send(ops).await {
            Ok(outcomes) => {
                let mut outcomes = outcomes.into_iter();
                return group
                    .into_iter()
                    .map(|(i, _)| (i, Ok(outcomes.next().unwrap_or(Outcome::Unchanged))))
                    .collect();
            }
            Err(e) => e,
        };
        if error.is_retryable() {
            tracing::warn!(error = %error.summary(), writes = group.len(), "etcd write failed; retrying later");
            let failure = WriteError::Unavailable(error.summary());
            return group
                .into_iter()
                .map(|(i, _)| (i, Err(failure.clone())))
                .collect();
        }
        if let [(i, op)] = group.as_slice() {
            return vec![(*i, Err(self.refused(&op.write, &error)))];
        }
        tracing::warn!(error = %error.summary(), writes = group.len(), "etcd refused a batched write; applying its writes one by one");
        let mut out = Vec::with_capacity(group.len());
        for (i, op) in group {
            let result = match self.send(vec![op.clone()]).await {
                Ok(outcomes) => Ok(outcomes.first().copied().unwrap_or(Outcome::Unchanged)),
                Err(e) if e.is_retryable() => Err(WriteError::Unavailable(e.summary())),
                Err(e) => Err(self.refused(&op.write, &e)),
            };
            out.push((i, result));
        }
        out
    }

    fn refused(&self, write: &Write, error: &registry::Error) -> WriteError {
        let refused = WriteError::Refused(error.summary());
        self.refuse(write, &refused);
        refused
    }

    /// One `Registry::apply` call, timed and counted; remembers whether etcd is failing.
    async fn send(&self, ops: Vec<WriteOp>) -> registry::Result<Vec<Outcome>> {
        let started = Instant::now();
        let result = self.registry.apply(ops).await;
        telemetry::etcd_write(started.elapsed(), result.as_ref().err());
        match &result {
            Ok(_) => self.status().failing = None,
            Err(e) if e.is_retryable() => self.status().failing = Some(e.summary()),
            Err(_) => {}
        }
        result
    }

    /// What `/healthz` says about writes: degraded while records were refused in the last
    /// [`REFUSALS_SHOWN_FOR`], or while etcd fails writes (it may still answer pings).
    pub fn health(&self) -> WriteHealth {
        let status = self.status();
        let recent = status
            .last_refusal
            .as_ref()
            .filter(|(at, _)| at.elapsed() < REFUSALS_SHOWN_FOR)
            .map(|(_, last)| last);
        let mut problems = Vec::new();
        if let Some(last) = recent {
            let records = if status.refused == 1 {
                "record"
            } else {
                "records"
            };
            problems.push(format!(
                "{} {records} refused, last: {last}",
                status.refused
            ));
        }
        if let Some(error) = &status.failing {
            problems.push(format!("etcd writes failing: {error}"));
        }
        let problem = (!problems.is_empty()).then(|| problems.join("; "));
        WriteHealth {
            checks: json!({
                "ok": problem.is_none(),
                "reason": problem,
                "records_refused": status.refused,
                "last_refused": status.last_refusal.as_ref().map(|(_, last)| last),
                "failing": status.failing,
            }),
            problem,
        }
    }
}

/// Which concurrent transaction a write goes to: one per key, so writes to a key keep their
/// order.
fn shard_of(write: &Write, shards: usize) -> usize {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    match write {
        Write::PutTask(t) => (&t.app_id, &t.task_id).hash(&mut h),
        Write::RemoveTask {
            app_id, task_id, ..
        } => (app_id, task_id).hash(&mut h),
        Write::PutApp(a) => a.app_id.hash(&mut h),
        Write::RemoveApp { app_id, .. } => app_id.hash(&mut h),
    }
    (h.finish() % shards as u64) as usize
}
