//! Typed reads and guarded, batched writes over etcd.

use std::sync::Arc;
use std::time::{Duration, Instant};

use etcd_client::{Client, Compare, CompareOp, GetOptions, PutOptions, Txn, TxnOp, TxnOpResponse};
use tokio::sync::Mutex;

use crate::codec::{self, Entry};
use crate::endpoints::Endpoints;
use crate::error::Result;
use crate::ids::AppId;
use crate::keys::{KeyKind, KeyLayout, Scope};
use crate::schema::{AppRecord, TaskRecord};
use crate::stamp::Stamp;
use crate::stored::StoredRecords;

/// etcd refuses transactions with more operations than this (`--max-txn-ops`).
pub const MAX_TXN_OPS: usize = 128;
/// etcd charges each level of a nested transaction against the same budget: a guarded
/// write nests three levels deep, so one batch holds at most 128 - 3 writes.
const WRITES_PER_TXN: usize = MAX_TXN_OPS - 3;
/// Stay well under etcd's 1.5 MiB request limit.
const MAX_TXN_BYTES: usize = 1024 * 1024;
/// How long tombstones live unless [`Registry::with_tombstone_ttl`] says otherwise.
pub const DEFAULT_TOMBSTONE_TTL: Duration = Duration::from_secs(600);
/// Keys per page of a listing. Pages are large because etcd (3.4) walks the rest of the
/// range to count it for every page: a 50,000-key listing in pages of 1,000 spent most of its
/// time there (BENCHMARKS.md, issue #18).
const LIST_PAGE: i64 = 5000;
/// The largest page answer a listing accepts (gRPC's default limit is 4 MiB); a page over it
/// is asked again with half the keys, so records of any size list.
const LIST_ANSWER_MAX: usize = 64 << 20;

/// A record with the etcd revision that last modified it.
#[derive(Clone, Debug, PartialEq)]
pub struct Versioned<T> {
    /// The record.
    pub record: T,
    /// The key's `mod_revision`: pass it to [`Guard::Revision`] for compare-and-swap.
    pub mod_revision: i64,
}

/// Every live record of a scope at one etcd revision.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    /// The etcd revision the listing reflects; a watch continues at `revision + 1`.
    pub revision: i64,
    /// Live task records (tombstones are left out), in key order.
    pub tasks: Vec<Versioned<TaskRecord>>,
    /// Live app records, in key order.
    pub apps: Vec<Versioned<AppRecord>>,
    /// Keys whose values did not decode, with the reason (logged and skipped).
    pub invalid: Vec<(String, String)>,
}

/// A tombstone, as [`Registry::list_with_tombstones`] finds it: a record removed recently
/// (until its lease expires).
#[derive(Clone, Debug, PartialEq)]
pub struct Tombstone {
    /// What the key named: an app or a task.
    pub kind: KeyKind,
    /// Why the record was removed (a terminal state, `app_terminated_event`, `reconcile`, ...).
    pub reason: String,
    /// When (Marathon time).
    pub at: Stamp,
    /// The key's `mod_revision`: a [`Guard::Revision`] with it replaces the tombstone (and
    /// only it) with a live record again.
    pub mod_revision: i64,
}

/// One change to write.
#[derive(Clone, Debug, PartialEq)]
pub enum Write {
    /// Create or replace a task record. A record in a terminal state is stored as a
    /// tombstone, exactly like [`Write::RemoveTask`].
    PutTask(TaskRecord),
    /// Create or replace an app record.
    PutApp(AppRecord),
    /// Remove a task: its key becomes a tombstone (with a lease) that later watchers see
    /// as a removal and that stops older events from bringing the task back.
    RemoveTask {
        /// The task's app.
        app_id: AppId,
        /// The task id.
        task_id: String,
        /// Why (the terminal state's name, `reconcile`, ...).
        reason: String,
        /// Marathon time of the removal.
        at: Stamp,
    },
    /// Remove an app record (its tasks are separate writes).
    RemoveApp {
        /// The app.
        app_id: AppId,
        /// Why.
        reason: String,
        /// Marathon time of the removal.
        at: Stamp,
    },
}

impl Write {
    /// The size in bytes of the value this write stores (its encoded record or tombstone),
    /// to refuse a record before etcd does: a guarded write ([`Guard::Newer`]) carries the
    /// value four times in one request, which must stay under etcd's
    /// `--max-request-bytes` (1.5 MiB by default).
    pub fn encoded_len(&self) -> usize {
        match self {
            Write::PutTask(task) if task.state.is_terminal() => {
                codec::encode_gone(task.state.as_str(), &task.updated_at).len()
            }
            Write::PutTask(task) => codec::encode_task(task).len(),
            Write::PutApp(app) => codec::encode_app(app).len(),
            Write::RemoveTask { reason, at, .. } | Write::RemoveApp { reason, at, .. } => {
                codec::encode_gone(reason, at).len()
            }
        }
    }
}

/// The condition under which a [`Write`] is applied; it is checked by etcd inside the
/// transaction, so no reader-writer race can slip between check and write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Guard {
    /// Apply only if the key is absent or holds an older record: by Marathon timestamp,
    /// then by lifecycle step (a removal beats a running task at the same millisecond).
    /// Writing what is already stored changes nothing. This is the guard for events.
    Newer,
    /// Apply only if the key's `mod_revision` is still this (0: the key must be absent).
    /// This is the guard for a reconcile plan made from a [`Snapshot`].
    Revision(i64),
    /// Apply unconditionally.
    Always,
}

/// A write with its guard.
#[derive(Clone, Debug, PartialEq)]
pub struct WriteOp {
    /// What to write.
    pub write: Write,
    /// When to write it.
    pub guard: Guard,
}

impl WriteOp {
    /// `write` guarded by [`Guard::Newer`].
    pub fn newer(write: Write) -> Self {
        WriteOp {
            write,
            guard: Guard::Newer,
        }
    }
}

/// What happened to one [`WriteOp`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The value was written (one etcd revision, one watch event).
    Written,
    /// The exact value was already stored; nothing was written.
    Unchanged,
    /// A newer record is stored; the write was refused ([`Guard::Newer`]).
    Stale,
    /// The key changed since the given revision; the write was refused
    /// ([`Guard::Revision`]).
    Conflict,
}

/// A connected registry: the key layout plus an etcd client. Cheap to clone.
#[derive(Clone)]
pub struct Registry {
    endpoints: Endpoints,
    layout: KeyLayout,
    tombstone_ttl: Duration,
    timeout: Duration,
    tombstone_lease: Arc<Mutex<Option<(i64, Instant)>>>,
}

/// A write encoded for etcd: its key, its value, whether it is a tombstone (stored with
/// the tombstone lease), and its guard.
pub(crate) struct Prepared {
    pub(crate) key: String,
    pub(crate) value: Vec<u8>,
    pub(crate) tombstone: bool,
    pub(crate) guard: Guard,
}

impl Registry {
    /// Wraps a connected client. Prefer [`crate::EtcdArgs::connect`].
    pub fn new(client: Client, layout: KeyLayout, timeout: Duration) -> Self {
        Self::with_endpoints(Endpoints::from_client(client), layout, timeout)
    }

    /// A registry over endpoints that fail over between members.
    pub fn with_endpoints(endpoints: Endpoints, layout: KeyLayout, timeout: Duration) -> Self {
        Registry {
            endpoints,
            layout,
            tombstone_ttl: DEFAULT_TOMBSTONE_TTL,
            timeout,
            tombstone_lease: Arc::new(Mutex::new(None)),
        }
    }

    /// Sets how long tombstones of removed records live (a writer's setting; at least
    /// 2 s, etcd's shortest lease). They must outlive any event that can still arrive late.
    pub fn with_tombstone_ttl(mut self, ttl: Duration) -> Self {
        self.tombstone_ttl = ttl.max(Duration::from_secs(2));
        self.tombstone_lease = Arc::new(Mutex::new(None));
        self
    }

    /// The key layout.
    pub fn layout(&self) -> &KeyLayout {
        &self.layout
    }

    /// The etcd client pinned to the current member (for elections, health checks, ...).
    pub fn client(&self) -> Client {
        self.endpoints.client()
    }

    /// The endpoints with their failover (to run other etcd calls the same way).
    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    /// The per-request deadline the client was configured with.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Checks that etcd answers (a cheap `status` call); returns the current revision.
    pub async fn ping(&self) -> Result<i64> {
        let status = self
            .endpoints
            .call(|mut c| async move { c.status().await })
            .await?;
        Ok(status.header().map(|h| h.revision()).unwrap_or(0))
    }

    /// Applies writes in as few transactions as etcd allows (at most 128 operations, nested
    /// levels included, and about 1 MiB each; a key repeated in one batch starts a new transaction, so writes to
    /// one key apply in order). Returns one [`Outcome`] per op, in order.
    ///
    /// On an error, earlier transactions may have been applied; every guard makes a retry
    /// of the whole batch safe.
    pub async fn apply(&self, ops: Vec<WriteOp>) -> Result<Vec<Outcome>> {
        let mut prepared = Vec::with_capacity(ops.len());
        for op in ops {
            prepared.push(self.prepare(op)?);
        }
        self.apply_prepared(prepared).await
    }

    /// Applies encoded, guarded writes (the Marathon ones above, the Mesos ones in
    /// `crate::mesos`): batching, the tombstone lease and outcomes are shared.
    pub(crate) async fn apply_prepared(&self, prepared: Vec<Prepared>) -> Result<Vec<Outcome>> {
        let lease = if prepared.iter().any(|p| p.tombstone) {
            Some(self.tombstone_lease().await?)
        } else {
            None
        };
        let mut outcomes = Vec::with_capacity(prepared.len());
        for chunk in chunks(&prepared) {
            outcomes.extend(self.apply_chunk(chunk, lease).await?);
        }
        Ok(outcomes)
    }

    fn prepare(&self, op: WriteOp) -> Result<Prepared> {
        let (key, value, tombstone) = match &op.write {
            Write::PutTask(task) => {
                let key = self.layout.task_key(&task.app_id, &task.task_id)?;
                if task.state.is_terminal() {
                    (
                        key,
                        codec::encode_gone(task.state.as_str(), &task.updated_at),
                        true,
                    )
                } else {
                    (key, codec::encode_task(task), false)
                }
            }
            Write::PutApp(app) => (
                self.layout.app_key(&app.app_id),
                codec::encode_app(app),
                false,
            ),
            Write::RemoveTask {
                app_id,
                task_id,
                reason,
                at,
            } => (
                self.layout.task_key(app_id, task_id)?,
                codec::encode_gone(reason, at),
                true,
            ),
            Write::RemoveApp { app_id, reason, at } => (
                self.layout.app_key(app_id),
                codec::encode_gone(reason, at),
                true,
            ),
        };
        Ok(Prepared {
            key,
            value,
            tombstone,
            guard: op.guard,
        })
    }

    async fn apply_chunk(&self, chunk: &[Prepared], lease: Option<i64>) -> Result<Vec<Outcome>> {
        let ops: Vec<TxnOp> = chunk
            .iter()
            .map(|p| {
                let options = if p.tombstone {
                    lease.map(|id| PutOptions::new().with_lease(id))
                } else {
                    None
                };
                TxnOp::txn(guarded_txn(
                    p,
                    TxnOp::put(p.key.clone(), p.value.clone(), options),
                ))
            })
            .collect();
        let txn = Txn::new().and_then(ops);
        let response = self
            .endpoints
            .call(|mut c| {
                let txn = txn.clone();
                async move { c.txn(txn).await }
            })
            .await?;
        Ok(response
            .op_responses()
            .into_iter()
            .zip(chunk)
            .map(|(r, p)| outcome(p.guard, &r))
            .collect())
    }

    /// A lease for tombstones, shared until half its TTL is used up.
    async fn tombstone_lease(&self) -> Result<i64> {
        let mut slot = self.tombstone_lease.lock().await;
        if let Some((id, renew_at)) = *slot
            && Instant::now() < renew_at
        {
            return Ok(id);
        }
        let ttl = self.tombstone_ttl.as_secs() as i64;
        let lease = self
            .endpoints
            .call(|mut c| async move { c.lease_grant(ttl, None).await })
            .await?;
        *slot = Some((lease.id(), Instant::now() + self.tombstone_ttl / 2));
        Ok(lease.id())
    }

    /// Reads one task; `None` when absent or removed.
    pub async fn get_task(
        &self,
        app_id: &AppId,
        task_id: &str,
    ) -> Result<Option<Versioned<TaskRecord>>> {
        let key = self.layout.task_key(app_id, task_id)?;
        Ok(match self.get(&key).await? {
            Some((Entry::Task(record), mod_revision)) => Some(Versioned {
                record,
                mod_revision,
            }),
            _ => None,
        })
    }

    /// Reads one app record; `None` when absent or removed.
    pub async fn get_app(&self, app_id: &AppId) -> Result<Option<Versioned<AppRecord>>> {
        Ok(match self.get(&self.layout.app_key(app_id)).await? {
            Some((Entry::App(record), mod_revision)) => Some(Versioned {
                record,
                mod_revision,
            }),
            _ => None,
        })
    }

    /// Reads one key as an [`Entry`] (tombstones included) with its `mod_revision`.
    pub async fn get(&self, key: &str) -> Result<Option<(Entry, i64)>> {
        let response = self
            .endpoints
            .call(|mut c| async move { c.get(key, None).await })
            .await?;
        match response.kvs().first() {
            None => Ok(None),
            Some(kv) => Ok(Some((codec::decode(key, kv.value())?, kv.mod_revision()))),
        }
    }

    /// etcd's current revision: a linearizable read of one key (no record's), so every
    /// write etcd acknowledged before this call is at or below it. Fix it first to read a
    /// scope as of now with [`Registry::list_stored_at`] while something else happens.
    pub async fn revision(&self) -> Result<i64> {
        // The scope prefix itself is never a record's key: an empty answer, cheap at any size.
        let key = self.layout.scope_prefix(&Scope::All);
        let response = self
            .endpoints
            .call(|mut c| {
                let key = key.clone();
                async move { c.get(key, Some(GetOptions::new().with_keys_only())).await }
            })
            .await?;
        Ok(response.header().map(|h| h.revision()).unwrap_or(0))
    }

    /// Reads every key under `prefix` at one revision, in pages of `LIST_PAGE`, handing each
    /// key, value and mod revision to `visit`; returns that revision. The one paged read
    /// behind every listing (Marathon's and Mesos' records alike).
    pub(crate) async fn scan(
        &self,
        prefix: &str,
        visit: impl FnMut(&str, &[u8], i64),
    ) -> Result<i64> {
        self.scan_at(prefix, 0, visit).await
    }

    /// [`Registry::scan`] at `revision` (0: the current one). A revision etcd has compacted
    /// away is an error ([`crate::Error::is_compacted`]).
    async fn scan_at(
        &self,
        prefix: &str,
        mut revision: i64,
        mut visit: impl FnMut(&str, &[u8], i64),
    ) -> Result<i64> {
        let end = prefix_end(prefix.as_bytes());
        let mut from = prefix.as_bytes().to_vec();
        let mut page = LIST_PAGE;
        loop {
            let mut options = GetOptions::new().with_range(end.clone()).with_limit(page);
            if revision > 0 {
                options = options.with_revision(revision);
            }
            let answer = self
                .endpoints
                .call(|c| {
                    let (from, options) = (from.clone(), options.clone());
                    let mut kv = c.kv_client().max_decoding_message_size(LIST_ANSWER_MAX);
                    async move { kv.get(from, Some(options)).await }
                })
                .await;
            let response = match answer {
                Err(e) if e.is_answer_too_large() && page > 1 => {
                    page /= 2;
                    continue;
                }
                answer => answer?,
            };
            if revision == 0 {
                revision = response.header().map(|h| h.revision()).unwrap_or(0);
            }
            for item in response.kvs() {
                visit(
                    &String::from_utf8_lossy(item.key()),
                    item.value(),
                    item.mod_revision(),
                );
            }
            match response.kvs().last() {
                Some(last) if response.more() => {
                    from = last.key().to_vec();
                    from.push(0);
                }
                _ => return Ok(revision),
            }
        }
    }

    /// Lists every live record of a scope at one revision (paged, so any size works).
    /// Tombstones are left out.
    pub async fn list(&self, scope: &Scope) -> Result<Snapshot> {
        Ok(self.list_scope(scope, false).await?.0)
    }

    /// Like [`Registry::list`], plus the scope's tombstones at the same revision: for a
    /// writer that restores what its source of truth still lists (see the README's
    /// "Tombstones"). Readers want [`Registry::list`].
    pub async fn list_with_tombstones(&self, scope: &Scope) -> Result<(Snapshot, Vec<Tombstone>)> {
        self.list_scope(scope, true).await
    }

    /// Every record and tombstone of a scope at one revision, undecoded and compact (see
    /// [`StoredRecords`]): for a writer that compares them with what they should be.
    pub async fn list_stored(&self, scope: &Scope) -> Result<StoredRecords> {
        self.list_stored_at(scope, 0).await
    }

    /// [`Registry::list_stored`] as etcd held the scope at `revision` (from
    /// [`Registry::revision`]; 0: the current one): nothing written after it is seen, however
    /// long the read takes. Fails with an error that [`crate::Error::is_compacted`] names
    /// when etcd has compacted that revision away: fix a fresh one and read again.
    pub async fn list_stored_at(&self, scope: &Scope, revision: i64) -> Result<StoredRecords> {
        let mut stored = StoredRecords::new(self.layout.clone());
        let revision = self
            .scan_at(
                &self.layout.scope_prefix(scope),
                revision,
                |key, value, mod_revision| stored.push(key, value, mod_revision),
            )
            .await?;
        Ok(stored.finish(revision))
    }

    async fn list_scope(
        &self,
        scope: &Scope,
        with_tombstones: bool,
    ) -> Result<(Snapshot, Vec<Tombstone>)> {
        let prefix = self.layout.scope_prefix(scope);
        let mut snapshot = Snapshot::default();
        let mut tombstones = Vec::new();
        let revision = self
            .scan(&prefix, |key, value, mod_revision| {
                let key = key.to_string();
                let Some(kind) = self.layout.parse(&key) else {
                    return;
                };
                match codec::decode(&key, value) {
                    Ok(Entry::Task(record)) => snapshot.tasks.push(Versioned {
                        record,
                        mod_revision,
                    }),
                    Ok(Entry::App(record)) => snapshot.apps.push(Versioned {
                        record,
                        mod_revision,
                    }),
                    Ok(Entry::Gone { reason, at }) => {
                        if with_tombstones {
                            tombstones.push(Tombstone {
                                kind,
                                reason,
                                at,
                                mod_revision,
                            });
                        }
                    }
                    Err(e) => {
                        tracing::warn!(%key, error = %e, "skipping a record that does not decode");
                        snapshot.invalid.push((key, e.to_string()));
                    }
                }
            })
            .await?;
        snapshot.revision = revision;
        Ok((snapshot, tombstones))
    }

    /// Reads the records of a key as an etcd watch event would carry it: what the key now
    /// names (app or task) and what it holds.
    pub(crate) fn decode_key(&self, key: &str) -> Option<KeyKind> {
        self.layout.parse(key)
    }
}

/// The guarded per-write transaction (nested inside the batch transaction).
fn guarded_txn(p: &Prepared, put: TxnOp) -> Txn {
    let key = p.key.clone();
    match p.guard {
        Guard::Always => Txn::new().and_then([put]),
        Guard::Revision(rev) => Txn::new()
            .when([Compare::mod_revision(key, CompareOp::Equal, rev)])
            .and_then([put]),
        // etcd fails any value comparison on a missing key, so "absent" is its own branch;
        // the innermost transaction only tells "identical" from "newer stored".
        Guard::Newer => Txn::new()
            .when([Compare::value(
                key.clone(),
                CompareOp::Less,
                p.value.clone(),
            )])
            .and_then([put.clone()])
            .or_else([TxnOp::txn(
                Txn::new()
                    .when([Compare::create_revision(key.clone(), CompareOp::Equal, 0)])
                    .and_then([put])
                    .or_else([TxnOp::txn(Txn::new().when([Compare::value(
                        key,
                        CompareOp::Equal,
                        p.value.clone(),
                    )]))]),
            )]),
    }
}

fn outcome(guard: Guard, response: &TxnOpResponse) -> Outcome {
    let TxnOpResponse::Txn(txn) = response else {
        return Outcome::Conflict;
    };
    if txn.succeeded() {
        return Outcome::Written;
    }
    match guard {
        Guard::Newer => {
            let inner = txn.op_responses();
            let Some(TxnOpResponse::Txn(absent)) = inner.first() else {
                return Outcome::Stale;
            };
            if absent.succeeded() {
                return Outcome::Written;
            }
            match absent.op_responses().first() {
                Some(TxnOpResponse::Txn(same)) if same.succeeded() => Outcome::Unchanged,
                _ => Outcome::Stale,
            }
        }
        Guard::Revision(_) | Guard::Always => Outcome::Conflict,
    }
}

/// Splits prepared writes into transactions etcd accepts.
fn chunks(prepared: &[Prepared]) -> Vec<&[Prepared]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    let mut keys = std::collections::HashSet::new();
    for (i, p) in prepared.iter().enumerate() {
        // A `Guard::Newer` write (see `guarded_txn`) carries its value four times (two
        // comparisons, two puts) and its key five times.
        let size = p.key.len() * 5 + p.value.len() * 4;
        let full = i - start >= WRITES_PER_TXN || (bytes + size > MAX_TXN_BYTES && i > start);
        if full || keys.contains(p.key.as_str()) {
            out.push(&prepared[start..i]);
            start = i;
            bytes = 0;
            keys.clear();
        }
        bytes += size;
        keys.insert(p.key.as_str());
    }
    if start < prepared.len() {
        out.push(&prepared[start..]);
    }
    out
}

/// The end of the key range that covers every key starting with `prefix`.
pub(crate) fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prepared(key: &str) -> Prepared {
        Prepared {
            key: key.to_string(),
            value: vec![b'x'; 10],
            tombstone: false,
            guard: Guard::Always,
        }
    }

    #[test]
    fn chunks_respect_the_op_limit_and_repeated_keys() {
        let many: Vec<Prepared> = (0..300).map(|i| prepared(&format!("k{i}"))).collect();
        let sizes: Vec<usize> = chunks(&many).iter().map(|c| c.len()).collect();
        assert_eq!(sizes, vec![125, 125, 50]);
        let repeated = vec![prepared("a"), prepared("b"), prepared("a"), prepared("c")];
        let sizes: Vec<usize> = chunks(&repeated).iter().map(|c| c.len()).collect();
        assert_eq!(sizes, vec![2, 2]);
    }

    #[test]
    fn prefix_end_increments_the_last_byte() {
        assert_eq!(prefix_end(b"/a/"), b"/a0".to_vec());
        assert_eq!(prefix_end(&[b'a', 0xff]), b"b".to_vec());
    }
}
