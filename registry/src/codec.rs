//! How records are stored as etcd values.
//!
//! A value is one JSON object. Its first member, `guard`, is `"<updated_at>|<precedence>"`;
//! because [`Stamp`]s are fixed-width, comparing two whole values byte by byte orders them
//! by Marathon time first and lifecycle step second. That is what lets etcd itself refuse an
//! older write (`Compare::value(key, Less, new)` inside the transaction).
//!
//! ```json
//! {"guard":"2017-07-19T17:35:15.660Z|1","schema":1,"task":{...}}
//! {"guard":"2017-07-19T17:35:15.660Z|1","schema":1,"app":{...}}
//! {"guard":"2017-07-19T17:36:02.001Z|3","schema":1,"gone":{"reason":"TASK_KILLED","at":"..."}}
//! ```
//! A `gone` value is a tombstone: it keeps a removed record's place (with a lease, so it
//! expires) so that a late event about the removed task cannot bring it back.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::schema::{AppRecord, SCHEMA_VERSION, TaskRecord};
use crate::stamp::Stamp;

/// Precedence of live app records.
const APP_PRECEDENCE: u8 = 1;
/// Precedence of tombstones: at an equal timestamp, a removal wins.
const GONE_PRECEDENCE: u8 = 3;

/// A decoded value.
#[derive(Clone, Debug, PartialEq)]
pub enum Entry {
    /// A live task record.
    Task(TaskRecord),
    /// A live app record.
    App(AppRecord),
    /// A tombstone: the record was removed at `at` for `reason`.
    Gone {
        /// Why (a terminal task state, `app_terminated_event`, `reconcile`, ...).
        reason: String,
        /// When (Marathon time).
        at: Stamp,
    },
}

#[derive(Serialize)]
struct Out<'a> {
    guard: String,
    schema: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    task: Option<&'a TaskRecord>,
    #[serde(skip_serializing_if = "Option::is_none")]
    app: Option<&'a AppRecord>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gone: Option<GoneBody<'a>>,
}

#[derive(Serialize)]
struct GoneBody<'a> {
    reason: &'a str,
    at: &'a Stamp,
}

#[derive(Deserialize)]
struct In {
    schema: u32,
    #[serde(default)]
    task: Option<TaskRecord>,
    #[serde(default)]
    app: Option<AppRecord>,
    #[serde(default)]
    gone: Option<GoneIn>,
}

#[derive(Deserialize)]
struct GoneIn {
    reason: String,
    at: Stamp,
}

fn guard(at: &Stamp, precedence: u8) -> String {
    format!("{at}|{precedence}")
}

fn encode(out: Out<'_>) -> Vec<u8> {
    // Serialising these plain structs cannot fail (no maps with non-string keys).
    serde_json::to_vec(&out).unwrap_or_default()
}

/// Encodes a live task record.
pub(crate) fn encode_task(task: &TaskRecord) -> Vec<u8> {
    encode(Out {
        guard: guard(&task.updated_at, task.state.precedence()),
        schema: SCHEMA_VERSION,
        task: Some(task),
        app: None,
        gone: None,
    })
}

/// Encodes a live app record.
pub(crate) fn encode_app(app: &AppRecord) -> Vec<u8> {
    encode(Out {
        guard: guard(&app.updated_at, APP_PRECEDENCE),
        schema: SCHEMA_VERSION,
        task: None,
        app: Some(app),
        gone: None,
    })
}

/// Encodes a tombstone.
pub(crate) fn encode_gone(reason: &str, at: &Stamp) -> Vec<u8> {
    encode(Out {
        guard: guard(at, GONE_PRECEDENCE),
        schema: SCHEMA_VERSION,
        task: None,
        app: None,
        gone: Some(GoneBody { reason, at }),
    })
}

/// Decodes a stored value; `key` only names it in errors.
pub(crate) fn decode(key: &str, value: &[u8]) -> Result<Entry> {
    let parsed: In = serde_json::from_slice(value).map_err(|e| Error::Decode {
        key: key.to_string(),
        reason: e.to_string(),
    })?;
    if parsed.schema > SCHEMA_VERSION {
        return Err(Error::SchemaTooNew {
            key: key.to_string(),
            found: parsed.schema,
            supported: SCHEMA_VERSION,
        });
    }
    match (parsed.task, parsed.app, parsed.gone) {
        (Some(task), None, None) => Ok(Entry::Task(task)),
        (None, Some(app), None) => Ok(Entry::App(app)),
        (None, None, Some(g)) => Ok(Entry::Gone {
            reason: g.reason,
            at: g.at,
        }),
        _ => Err(Error::Decode {
            key: key.to_string(),
            reason: "expected exactly one of task, app, gone".to_string(),
        }),
    }
}
