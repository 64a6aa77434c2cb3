//! The Marathon records of a scope as etcd holds them, kept compactly, for a writer that
//! compares them with what they should be (the subscriber's reconcile) without decoding
//! them all ([`crate::Registry::list_stored`]).
//!
//! Keys and values are kept as etcd returned them, in a few large buffers (no allocation per
//! record), in key order, each with its `mod_revision`. A value is decoded only when asked
//! ([`StoredValue::decode`]); [`StoredValue::holds_task`] and [`StoredValue::holds_app`]
//! tell whether it is byte for byte what writing a record stores, without decoding it.

use crate::codec::{self, Entry};
use crate::error::Result;
use crate::ids::AppId;
use crate::keys::{KeyKind, KeyLayout};
use crate::schema::{AppRecord, TaskRecord};
use crate::stamp::Stamp;
use crate::store::{Snapshot, Tombstone};

/// Bytes per buffer; a key and value longer than that get a buffer of their own.
const BUFFER: usize = 1 << 20;

/// A scope's Marathon records and tombstones, undecoded, in key order.
pub struct StoredRecords {
    layout: KeyLayout,
    revision: i64,
    buffers: Vec<Vec<u8>>,
    slots: Vec<Slot>,
}

/// Where one key and its value are.
#[derive(Clone, Copy)]
struct Slot {
    buffer: u32,
    start: u32,
    key_len: u32,
    value_len: u32,
    mod_revision: i64,
}

/// One stored key: its value as etcd holds it.
#[derive(Clone, Copy, Debug)]
pub struct StoredValue<'a> {
    /// The etcd key.
    pub key: &'a str,
    /// The value's bytes.
    pub value: &'a [u8],
    /// The key's `mod_revision`.
    pub mod_revision: i64,
}

impl StoredRecords {
    /// Nothing stored yet, under `layout`.
    pub(crate) fn new(layout: KeyLayout) -> Self {
        StoredRecords {
            layout,
            revision: 0,
            buffers: Vec::new(),
            slots: Vec::new(),
        }
    }

    /// `stored` and its `tombstones` as etcd would hold them under `layout` (every record
    /// encoded as a write stores it): what a listing at their revision gives.
    pub fn from_records(layout: KeyLayout, stored: &Snapshot, tombstones: &[Tombstone]) -> Self {
        let mut out = StoredRecords::new(layout);
        for t in &stored.tasks {
            if let Ok(key) = out.layout.task_key(&t.record.app_id, &t.record.task_id) {
                out.push(&key, &codec::encode_task(&t.record), t.mod_revision);
            }
        }
        for a in &stored.apps {
            let key = out.layout.app_key(&a.record.app_id);
            out.push(&key, &codec::encode_app(&a.record), a.mod_revision);
        }
        for t in tombstones {
            let key = match &t.kind {
                KeyKind::Task(app, task) => out.layout.task_key(app, task).ok(),
                KeyKind::App(app) => Some(out.layout.app_key(app)),
            };
            if let Some(key) = key {
                out.push(&key, &codec::encode_gone(&t.reason, &t.at), t.mod_revision);
            }
        }
        out.finish(stored.revision)
    }

    /// Keeps `key` and its value, if `key` is a record's key of this layout.
    pub(crate) fn push(&mut self, key: &str, value: &[u8], mod_revision: i64) {
        if self.layout.parse(key).is_none() {
            return;
        }
        let len = key.len() + value.len();
        let room = self
            .buffers
            .last()
            .is_some_and(|b| b.capacity() - b.len() >= len);
        if !room {
            self.buffers.push(Vec::with_capacity(BUFFER.max(len)));
        }
        let buffer = self.buffers.len() - 1;
        let bytes = &mut self.buffers[buffer];
        let start = bytes.len();
        bytes.extend_from_slice(key.as_bytes());
        bytes.extend_from_slice(value);
        self.slots.push(Slot {
            buffer: buffer as u32,
            start: start as u32,
            key_len: key.len() as u32,
            value_len: value.len() as u32,
            mod_revision,
        });
    }

    /// Done, as read at `revision`: sorted by key (etcd lists them so; kept for any order).
    pub(crate) fn finish(mut self, revision: i64) -> Self {
        self.revision = revision;
        let buffers = &self.buffers;
        let key = |s: &Slot| Self::key_of(buffers, s);
        if !self.slots.is_sorted_by(|a, b| key(a) <= key(b)) {
            self.slots.sort_by(|a, b| key(a).cmp(key(b)));
        }
        self
    }

    fn key_of<'b>(buffers: &'b [Vec<u8>], slot: &Slot) -> &'b [u8] {
        let start = slot.start as usize;
        &buffers[slot.buffer as usize][start..start + slot.key_len as usize]
    }

    /// The etcd revision the listing reflects.
    pub fn revision(&self) -> i64 {
        self.revision
    }

    /// How many keys are stored (records and tombstones).
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// True when nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The key at `index` (below [`Self::len`]), in key order.
    pub fn get(&self, index: usize) -> StoredValue<'_> {
        let slot = &self.slots[index];
        let start = slot.start as usize;
        let middle = start + slot.key_len as usize;
        let bytes = &self.buffers[slot.buffer as usize];
        StoredValue {
            // Pushed from a `&str`, so always UTF-8.
            key: std::str::from_utf8(&bytes[start..middle]).unwrap_or_default(),
            value: &bytes[middle..middle + slot.value_len as usize],
            mod_revision: slot.mod_revision,
        }
    }

    /// Where the task `task_id` of `app` is stored, if it is (a record or a tombstone).
    pub fn find_task(&self, app: &AppId, task_id: &str) -> Option<usize> {
        self.find(&self.layout.task_key(app, task_id).ok()?)
    }

    /// Where the app record of `app` is stored, if it is (a record or a tombstone).
    pub fn find_app(&self, app: &AppId) -> Option<usize> {
        self.find(&self.layout.app_key(app))
    }

    fn find(&self, key: &str) -> Option<usize> {
        self.slots
            .binary_search_by(|s| Self::key_of(&self.buffers, s).cmp(key.as_bytes()))
            .ok()
    }
}

impl StoredValue<'_> {
    /// The value decoded: a task, an app or a tombstone.
    pub fn decode(&self) -> Result<Entry> {
        codec::decode(self.key, self.value)
    }

    /// True when the value is exactly what writing `task` stores.
    pub fn holds_task(&self, task: &TaskRecord) -> bool {
        codec::holds_task(self.value, task)
    }

    /// True when the value is exactly what writing `app` stores.
    pub fn holds_app(&self, app: &AppRecord) -> bool {
        codec::holds_app(self.value, app)
    }

    /// The stamp of the value's write guard (a record's `updated_at`, a tombstone's `at`),
    /// read without decoding the value; `None` when it is not where this build writes it.
    pub fn stamp(&self) -> Option<Stamp> {
        codec::guard_stamp(self.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Health, NetworkMode, TaskState};
    use crate::store::Versioned;

    fn layout() -> KeyLayout {
        KeyLayout::default()
    }

    fn id(app: &str) -> AppId {
        AppId::parse(app).expect("app id")
    }

    fn stamp() -> Stamp {
        Stamp::parse("2026-03-01T12:00:00.000Z").expect("stamp")
    }

    fn task(app: &str, task_id: &str) -> TaskRecord {
        TaskRecord {
            app_id: id(app),
            task_id: task_id.into(),
            instance_id: None,
            agent_id: None,
            host: "10.0.0.1".into(),
            agent_ips: Vec::new(),
            task_ips: Vec::new(),
            ports: Vec::new(),
            state: TaskState::Running,
            health: Health::Unknown,
            app_version: None,
            updated_at: stamp(),
        }
    }

    fn app(app: &str) -> AppRecord {
        AppRecord {
            app_id: id(app),
            version: "2026-01-01T00:00:00.000Z".into(),
            ports: Vec::new(),
            networking: NetworkMode::Host,
            labels: Default::default(),
            health_checks: false,
            updated_at: stamp(),
        }
    }

    #[test]
    fn records_are_found_by_key_and_compared_by_their_bytes() {
        let web = task("/web", "web.1");
        let mut other = web.clone();
        other.host = "10.0.0.2".into();
        let app = app("/web");
        let snapshot = Snapshot {
            revision: 7,
            tasks: vec![Versioned {
                record: web.clone(),
                mod_revision: 5,
            }],
            apps: vec![Versioned {
                record: app.clone(),
                mod_revision: 6,
            }],
            invalid: Vec::new(),
        };
        let gone = Tombstone {
            kind: KeyKind::Task(web.app_id.clone(), "web.0".into()),
            reason: "TASK_KILLED".into(),
            at: web.updated_at.clone(),
            mod_revision: 4,
        };
        let stored = StoredRecords::from_records(layout(), &snapshot, &[gone]);
        assert_eq!((stored.revision(), stored.len()), (7, 3));

        let task = stored.get(stored.find_task(&web.app_id, "web.1").expect("task"));
        assert_eq!(task.mod_revision, 5);
        assert!(task.holds_task(&web) && !task.holds_task(&other));
        assert_eq!(task.stamp(), Some(web.updated_at.clone()));
        assert_eq!(task.decode().expect("decodes"), Entry::Task(web.clone()));

        let app_at = stored.find_app(&app.app_id).expect("app");
        assert!(stored.get(app_at).holds_app(&app));
        let tombstone = stored.get(stored.find_task(&web.app_id, "web.0").expect("tombstone"));
        assert!(matches!(tombstone.decode(), Ok(Entry::Gone { .. })));
        assert!(stored.find_task(&web.app_id, "web.2").is_none());
    }

    #[test]
    fn keys_of_other_layouts_are_left_out_and_any_order_is_sorted() {
        let layout = layout();
        let a = task("/a", "a.1");
        let b = task("/b", "b.1");
        let key = |t: &TaskRecord| layout.task_key(&t.app_id, &t.task_id).expect("key");
        let mut stored = StoredRecords::new(layout.clone());
        stored.push(&key(&b), &codec::encode_task(&b), 2);
        stored.push("/herald/v1/mesos/agents/x", b"{}", 3);
        stored.push(&key(&a), &codec::encode_task(&a), 1);
        let stored = stored.finish(9);
        assert_eq!(stored.len(), 2);
        assert_eq!(stored.get(0).mod_revision, 1);
        assert_eq!(stored.find_task(&b.app_id, "b.1"), Some(1));
    }
}
