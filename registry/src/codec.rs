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

use std::fmt;
use std::io;

use serde::{Deserialize, Serialize, Serializer};

use crate::error::{Error, Result};
use crate::schema::{AppRecord, MARATHON_SCHEMA_VERSION, SCHEMA_VERSION, TaskRecord};
use crate::stamp::Stamp;

/// Precedence of live app records.
const APP_PRECEDENCE: u8 = 1;
/// Precedence of tombstones: at an equal timestamp, a removal wins.
pub(crate) const GONE_PRECEDENCE: u8 = 3;

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
    guard: GuardOf<'a>,
    schema: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    task: Option<&'a TaskRecord>,
    #[serde(skip_serializing_if = "Option::is_none")]
    app: Option<&'a AppRecord>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gone: Option<GoneBody<'a>>,
}

/// A value's `guard` member, written as [`guard`] spells it without building the string.
struct GuardOf<'a> {
    at: &'a Stamp,
    precedence: u8,
}

impl Serialize for GuardOf<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl fmt::Display for GuardOf<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}|{}", self.at, self.precedence)
    }
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

pub(crate) fn guard(at: &Stamp, precedence: u8) -> String {
    format!("{at}|{precedence}")
}

/// The stamp of a value's guard, read from the value's start where [`encode`] puts it
/// (`{"guard":"<stamp>|<precedence>",...`); `None` for a value that does not start so.
pub(crate) fn guard_stamp(value: &[u8]) -> Option<Stamp> {
    let rest = value.strip_prefix(br#"{"guard":""#)?;
    let end = rest.iter().position(|&b| b == b'|')?;
    Stamp::parse(std::str::from_utf8(&rest[..end]).ok()?).ok()
}

fn encode(out: Out<'_>) -> Vec<u8> {
    // Serialising these plain structs cannot fail (no maps with non-string keys).
    serde_json::to_vec(&out).unwrap_or_default()
}

/// True when `value` is exactly what [`encode`] makes of `out`: compared as it is
/// serialised, without building the encoding, up to the first byte that differs.
fn encodes_to(out: Out<'_>, value: &[u8]) -> bool {
    let mut same = SameBytes(value);
    serde_json::to_writer(&mut same, &out).is_ok() && same.0.is_empty()
}

/// A writer that checks what is written against the bytes still expected, and fails at the
/// first that differs.
struct SameBytes<'a>(&'a [u8]);

impl io::Write for SameBytes<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.0.strip_prefix(buf) {
            Some(rest) => {
                self.0 = rest;
                Ok(buf.len())
            }
            None => Err(io::ErrorKind::InvalidData.into()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn task_out(task: &TaskRecord) -> Out<'_> {
    Out {
        guard: GuardOf {
            at: &task.updated_at,
            precedence: task.state.precedence(),
        },
        schema: MARATHON_SCHEMA_VERSION,
        task: Some(task),
        app: None,
        gone: None,
    }
}

fn app_out(app: &AppRecord) -> Out<'_> {
    Out {
        guard: GuardOf {
            at: &app.updated_at,
            precedence: APP_PRECEDENCE,
        },
        schema: MARATHON_SCHEMA_VERSION,
        task: None,
        app: Some(app),
        gone: None,
    }
}

/// Encodes a live task record.
pub(crate) fn encode_task(task: &TaskRecord) -> Vec<u8> {
    encode(task_out(task))
}

/// True when `value` is exactly [`encode_task`] of `task`, found without encoding it.
pub(crate) fn holds_task(value: &[u8], task: &TaskRecord) -> bool {
    encodes_to(task_out(task), value)
}

/// Encodes a live app record.
pub(crate) fn encode_app(app: &AppRecord) -> Vec<u8> {
    encode(app_out(app))
}

/// True when `value` is exactly [`encode_app`] of `app`, found without encoding it.
pub(crate) fn holds_app(value: &[u8], app: &AppRecord) -> bool {
    encodes_to(app_out(app), value)
}

/// Encodes a tombstone.
pub(crate) fn encode_gone(reason: &str, at: &Stamp) -> Vec<u8> {
    encode(Out {
        guard: GuardOf {
            at,
            precedence: GONE_PRECEDENCE,
        },
        schema: MARATHON_SCHEMA_VERSION,
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
            reason: "expected exactly one of task, app, gone (a Mesos record is read with the Mesos API)"
                .to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use proptest::prelude::*;

    use super::*;
    use crate::ids::AppId;
    use crate::schema::{Health, NetworkMode, PortDefinition, Protocol, TaskPort, TaskState};

    fn stamp() -> impl Strategy<Value = Stamp> {
        // 2000-01-01 .. 2100-01-01 in milliseconds.
        (946_684_800_000i64..4_102_444_800_000i64).prop_map(|ms| {
            Stamp::from_datetime(chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default())
        })
    }

    fn app_id() -> impl Strategy<Value = AppId> {
        proptest::collection::vec("[a-z0-9]([a-z0-9-]{0,6}[a-z0-9])?", 1..4)
            .prop_map(|segs| AppId::parse(&format!("/{}", segs.join("/"))).unwrap())
    }

    fn state() -> impl Strategy<Value = TaskState> {
        prop_oneof![
            Just(TaskState::Staging),
            Just(TaskState::Running),
            Just(TaskState::Killing),
            Just(TaskState::Unreachable),
            "[A-Z_]{1,12}".prop_map(|s| TaskState::parse(&format!("X_{s}"))),
        ]
    }

    fn port() -> impl Strategy<Value = TaskPort> {
        (
            proptest::option::of("[a-z][a-z0-9-]{0,8}"),
            prop_oneof![
                Just(vec![Protocol::Tcp]),
                Just(vec![Protocol::Udp]),
                Just(vec![Protocol::Tcp, Protocol::Udp])
            ],
            proptest::option::of(any::<u16>()),
            proptest::option::of(any::<u16>()),
            proptest::option::of(any::<u16>()),
        )
            .prop_map(
                |(name, protocols, container_port, host_port, service_port)| TaskPort {
                    name,
                    protocols,
                    container_port,
                    host_port,
                    service_port,
                },
            )
    }

    prop_compose! {
        fn task()(app_id in app_id(), task in "[a-z0-9_.-]{1,40}", instance in proptest::option::of("[a-z0-9_.-]{1,40}"),
                  agent in proptest::option::of("[A-Za-z0-9-]{1,40}"), host in "[a-z0-9.-]{1,30}",
                  agent_ips in proptest::collection::vec(any::<IpAddr>(), 0..3),
                  task_ips in proptest::collection::vec(any::<IpAddr>(), 0..3),
                  ports in proptest::collection::vec(port(), 0..4), state in state(),
                  health in prop_oneof![Just(Health::Healthy), Just(Health::Unhealthy), Just(Health::Unknown)],
                  app_version in proptest::option::of("[0-9T:.Z-]{1,24}"), updated_at in stamp()) -> TaskRecord {
            TaskRecord { app_id, task_id: task, instance_id: instance, agent_id: agent, host, agent_ips, task_ips,
                         ports, state, health, app_version, updated_at }
        }
    }

    prop_compose! {
        fn app()(app_id in app_id(), version in "[0-9T:.Z-]{1,24}",
                 ports in proptest::collection::vec((proptest::option::of("[a-z]{1,8}"), proptest::option::of(any::<u16>()),
                     proptest::collection::btree_map("[a-zA-Z_]{1,8}", ".{0,12}", 0..3)), 0..4),
                 networking in prop_oneof![Just(NetworkMode::Host), Just(NetworkMode::Bridge), Just(NetworkMode::Container)],
                 labels in proptest::collection::btree_map(".{1,12}", ".{0,20}", 0..4),
                 health_checks in any::<bool>(), updated_at in stamp()) -> AppRecord {
            let ports = ports.into_iter().map(|(name, service_port, labels)| PortDefinition {
                name, protocols: vec![Protocol::Tcp], container_port: None, host_port: Some(0), service_port, labels,
            }).collect();
            AppRecord { app_id, version, ports, networking, labels, health_checks, updated_at }
        }
    }

    proptest! {
        #[test]
        fn tasks_round_trip(t in task()) {
            prop_assert_eq!(decode("k", &encode_task(&t)).unwrap(), Entry::Task(t));
        }

        #[test]
        fn apps_round_trip(a in app()) {
            prop_assert_eq!(decode("k", &encode_app(&a)).unwrap(), Entry::App(a));
        }

        #[test]
        fn tombstones_round_trip(reason in ".{0,30}", at in stamp()) {
            prop_assert_eq!(decode("k", &encode_gone(&reason, &at)).unwrap(), Entry::Gone { reason, at });
        }

        /// A value holds a record exactly when it is that record's encoding: not a
        /// prefix of it, not more, not another record's.
        #[test]
        fn a_value_holds_exactly_its_record(a in task(), b in task(), x in app()) {
            let value = encode_task(&a);
            prop_assert!(holds_task(&value, &a));
            prop_assert_eq!(holds_task(&value, &b), value == encode_task(&b));
            prop_assert!(!holds_task(&value[..value.len() - 1], &a));
            prop_assert!(!holds_task(&[&value[..], b" "].concat(), &a));
            prop_assert!(!holds_app(&value, &x));
            prop_assert!(holds_app(&encode_app(&x), &x));
            let member = format!(r#"{{"guard":"{}","#, guard(&a.updated_at, a.state.precedence()));
            prop_assert!(value.starts_with(member.as_bytes()));
        }

        /// The property the write guard stands on: byte order of values is Marathon-time order.
        #[test]
        fn value_order_follows_time(a in task(), b in task()) {
            prop_assume!(a.updated_at != b.updated_at);
            let (old, new) = if a.updated_at < b.updated_at { (a, b) } else { (b, a) };
            prop_assert!(encode_task(&old) < encode_task(&new));
            prop_assert!(encode_task(&old) < encode_gone("TASK_KILLED", &new.updated_at));
            prop_assert!(encode_gone("TASK_KILLED", &old.updated_at) < encode_task(&new));
        }

        /// At the same millisecond a removal outranks any live record.
        #[test]
        fn removal_wins_a_tie(t in task()) {
            prop_assert!(encode_task(&t) < encode_gone("x", &t.updated_at));
        }
    }

    #[test]
    fn refuses_newer_schemas_and_garbage() {
        let v =
            br#"{"guard":"x","schema":99,"gone":{"reason":"r","at":"2017-07-19T17:35:15.660Z"}}"#;
        assert!(matches!(
            decode("k", v),
            Err(Error::SchemaTooNew { found: 99, .. })
        ));
        assert!(matches!(
            decode("k", b"not json"),
            Err(Error::Decode { .. })
        ));
        assert!(matches!(
            decode("k", br#"{"guard":"x","schema":1}"#),
            Err(Error::Decode { .. })
        ));
    }
}
