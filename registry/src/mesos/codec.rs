//! How the Mesos records are stored: the same envelope as the Marathon records (see
//! `crate::codec`), `guard` first, with `schema` 2 and one member naming the record kind:
//!
//! ```json
//! {"guard":"2026-01-01T00:00:10.000Z|1","schema":2,"mesos_task":{...}}
//! {"guard":"2026-01-01T00:00:10.000Z|1","schema":2,"agent":{...}}
//! {"guard":"2026-01-01T00:00:12.000Z|3","schema":2,"gone":{"reason":"TASK_KILLED","at":"..."}}
//! ```

use serde::{Deserialize, Serialize};

use super::schema::{
    AgentRecord, FrameworkRecord, LeaderRecord, MESOS_SCHEMA_VERSION, MasterRecord,
    MesosTaskRecord, mesos_state_is_terminal,
};
use crate::codec::{GONE_PRECEDENCE, guard};
use crate::error::{Error, Result};
use crate::schema::{SCHEMA_VERSION, TaskState};
use crate::stamp::Stamp;

/// Precedence of live masters, leaders, agents and frameworks.
const LIVE_PRECEDENCE: u8 = 1;

/// A decoded value of the Mesos tree.
#[derive(Clone, Debug, PartialEq)]
pub enum MesosEntry {
    /// The leader record.
    Leader(LeaderRecord),
    /// A master.
    Master(MasterRecord),
    /// An agent.
    Agent(AgentRecord),
    /// A framework.
    Framework(FrameworkRecord),
    /// A task.
    Task(MesosTaskRecord),
    /// A tombstone: the record was removed at `at` for `reason`.
    Gone {
        /// Why.
        reason: String,
        /// When.
        at: Stamp,
    },
}

#[derive(Serialize, Deserialize, Default)]
struct Body {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    leader: Option<LeaderRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    master: Option<MasterRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    agent: Option<AgentRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    framework: Option<FrameworkRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mesos_task: Option<MesosTaskRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gone: Option<Gone>,
}

#[derive(Serialize, Deserialize)]
struct Gone {
    reason: String,
    at: Stamp,
}

#[derive(Serialize)]
struct Out<'a> {
    guard: String,
    schema: u32,
    #[serde(flatten)]
    body: &'a Body,
}

#[derive(Deserialize)]
struct Version {
    schema: u32,
}

fn envelope(at: &Stamp, precedence: u8, body: Body) -> Vec<u8> {
    // Plain structs with string keys: serialising cannot fail.
    serde_json::to_vec(&Out {
        guard: guard(at, precedence),
        schema: MESOS_SCHEMA_VERSION,
        body: &body,
    })
    .unwrap_or_default()
}

/// Encodes an entry. A task in a terminal state ([`mesos_state_is_terminal`]) is encoded
/// as its tombstone; callers decide that before (see `store`).
pub(crate) fn encode(entry: &MesosEntry) -> Vec<u8> {
    match entry {
        MesosEntry::Leader(r) => encode_body(&r.updated_at, LIVE_PRECEDENCE, |b| {
            b.leader = Some(r.clone())
        }),
        MesosEntry::Master(r) => encode_body(&r.updated_at, LIVE_PRECEDENCE, |b| {
            b.master = Some(r.clone())
        }),
        MesosEntry::Agent(r) => encode_body(&r.updated_at, LIVE_PRECEDENCE, |b| {
            b.agent = Some(r.clone())
        }),
        MesosEntry::Framework(r) => encode_body(&r.updated_at, LIVE_PRECEDENCE, |b| {
            b.framework = Some(r.clone())
        }),
        MesosEntry::Task(t) if mesos_state_is_terminal(&t.state) => {
            encode_gone(t.state.as_str(), &t.updated_at)
        }
        MesosEntry::Task(t) => encode_body(&t.updated_at, task_precedence(&t.state), |b| {
            b.mesos_task = Some(t.clone())
        }),
        MesosEntry::Gone { reason, at } => encode_gone(reason, at),
    }
}

/// The order of task states that share one timestamp: staging/starting 0 < running 1 <
/// killing/unreachable/unknown 2 < removed 3 (`TASK_UNKNOWN` is held here, not removed).
fn task_precedence(state: &TaskState) -> u8 {
    match state {
        TaskState::Unknown => 2,
        other => other.precedence(),
    }
}

fn encode_body(at: &Stamp, precedence: u8, fill: impl FnOnce(&mut Body)) -> Vec<u8> {
    let mut body = Body::default();
    fill(&mut body);
    envelope(at, precedence, body)
}

/// Encodes a tombstone of the Mesos tree (schema 2, so a reader of version 1 refuses it).
pub(crate) fn encode_gone(reason: &str, at: &Stamp) -> Vec<u8> {
    encode_body(at, GONE_PRECEDENCE, |b| {
        b.gone = Some(Gone {
            reason: reason.to_string(),
            at: at.clone(),
        })
    })
}

/// Decodes a stored value of the Mesos tree; `key` only names it in errors.
pub(crate) fn decode(key: &str, value: &[u8]) -> Result<MesosEntry> {
    let bad = |reason: String| Error::Decode {
        key: key.to_string(),
        reason,
    };
    // The version first: a newer record is refused as such, whatever its body holds.
    let version: Version = serde_json::from_slice(value).map_err(|e| bad(e.to_string()))?;
    if version.schema > SCHEMA_VERSION {
        return Err(Error::SchemaTooNew {
            key: key.to_string(),
            found: version.schema,
            supported: SCHEMA_VERSION,
        });
    }
    let b: Body = serde_json::from_slice(value).map_err(|e| bad(e.to_string()))?;
    let mut found = Vec::new();
    if let Some(r) = b.leader {
        found.push(MesosEntry::Leader(r));
    }
    if let Some(r) = b.master {
        found.push(MesosEntry::Master(r));
    }
    if let Some(r) = b.agent {
        found.push(MesosEntry::Agent(r));
    }
    if let Some(r) = b.framework {
        found.push(MesosEntry::Framework(r));
    }
    if let Some(r) = b.mesos_task {
        found.push(MesosEntry::Task(r));
    }
    if let Some(g) = b.gone {
        found.push(MesosEntry::Gone {
            reason: g.reason,
            at: g.at,
        });
    }
    match (found.pop(), found.is_empty()) {
        (Some(entry), true) => Ok(entry),
        _ => Err(bad(
            "expected exactly one of leader, master, agent, framework, mesos_task, gone"
                .to_string(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::net::IpAddr;

    use proptest::prelude::*;

    use super::*;
    use crate::mesos::schema::MesosPort;
    use crate::schema::{Health, Protocol};

    fn stamp() -> impl Strategy<Value = Stamp> {
        (946_684_800_000i64..4_102_444_800_000i64).prop_map(|ms| {
            Stamp::from_datetime(chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default())
        })
    }

    fn id() -> impl Strategy<Value = String> {
        "[A-Za-z0-9][A-Za-z0-9_.$-]{0,40}"
    }

    fn labels() -> impl Strategy<Value = BTreeMap<String, String>> {
        proptest::collection::btree_map(".{1,12}", ".{0,20}", 0..4)
    }

    fn state() -> impl Strategy<Value = TaskState> {
        prop_oneof![
            Just(TaskState::Staging),
            Just(TaskState::Starting),
            Just(TaskState::Running),
            Just(TaskState::Killing),
            Just(TaskState::Unreachable),
            Just(TaskState::Unknown),
            "[A-Z_]{1,12}".prop_map(|s| TaskState::parse(&format!("X_{s}"))),
        ]
    }

    fn port() -> impl Strategy<Value = MesosPort> {
        (
            any::<u16>(),
            proptest::option::of("[a-z][a-z0-9-]{0,8}"),
            prop_oneof![
                Just(vec![Protocol::Tcp]),
                Just(vec![Protocol::Udp]),
                Just(vec![Protocol::Tcp, Protocol::Udp])
            ],
            proptest::option::of("[A-Z]{1,10}"),
            labels(),
        )
            .prop_map(|(number, name, protocols, visibility, labels)| MesosPort {
                number,
                name,
                protocols,
                visibility,
                labels,
            })
    }

    prop_compose! {
        fn task()(framework_id in id(), framework_name in proptest::option::of(".{0,20}"), task_id in id(),
                  name in ".{0,20}", discovery_name in proptest::option::of("[a-z.-]{1,20}"),
                  discovery_visibility in proptest::option::of("[A-Z]{1,10}"),
                  agent_id in proptest::option::of(id()), executor_id in proptest::option::of(id()),
                  ports in proptest::collection::vec(port(), 0..4),
                  host_ports in proptest::collection::vec(any::<u16>(), 0..4),
                  task_ips in proptest::collection::vec(any::<IpAddr>(), 0..3), labels in labels(),
                  state in state(),
                  health in prop_oneof![Just(Health::Healthy), Just(Health::Unhealthy), Just(Health::Unknown)],
                  updated_at in stamp()) -> MesosTaskRecord {
            MesosTaskRecord { framework_id, framework_name, task_id, name, discovery_name, discovery_visibility,
                agent_id, executor_id, ports, host_ports, task_ips, labels, state, health, updated_at }
        }
    }

    prop_compose! {
        fn agent()(agent_id in id(), hostname in "[a-z0-9.-]{1,30}", ip in proptest::option::of(any::<IpAddr>()),
                   port in proptest::option::of(any::<u16>()), pid in proptest::option::of(".{0,30}"),
                   updated_at in stamp()) -> AgentRecord {
            AgentRecord { agent_id, hostname, ip, port, pid, updated_at }
        }
    }

    prop_compose! {
        fn framework()(framework_id in id(), name in ".{0,20}", hostname in proptest::option::of("[a-z0-9.-]{1,30}"),
                       ip in proptest::option::of(any::<IpAddr>()), port in proptest::option::of(any::<u16>()),
                       pid in proptest::option::of(".{0,30}"), active in any::<bool>(), updated_at in stamp()) -> FrameworkRecord {
            FrameworkRecord { framework_id, name, hostname, ip, port, pid, active, updated_at }
        }
    }

    prop_compose! {
        fn master()(master_id in id(), hostname in proptest::option::of("[a-z0-9.-]{1,30}"),
                    ip in proptest::option::of(any::<IpAddr>()), port in proptest::option::of(any::<u16>()),
                    version in proptest::option::of("[0-9.]{1,8}"), leading in any::<bool>(),
                    position in proptest::option::of(any::<u32>()), updated_at in stamp()) -> MasterRecord {
            MasterRecord { master_id, hostname, ip, port, version, leading, position, updated_at }
        }
    }

    fn leader_of(m: MasterRecord) -> LeaderRecord {
        LeaderRecord {
            master_id: m.master_id,
            hostname: m.hostname,
            ip: m.ip,
            port: m.port,
            updated_at: m.updated_at,
        }
    }

    proptest! {
        #[test]
        fn records_round_trip(t in task(), a in agent(), f in framework(), m in master()) {
            let l = leader_of(m.clone());
            for e in [MesosEntry::Task(t), MesosEntry::Agent(a), MesosEntry::Framework(f),
                      MesosEntry::Master(m), MesosEntry::Leader(l)] {
                prop_assert_eq!(decode("k", &encode(&e)).unwrap(), e);
            }
        }

        #[test]
        fn tombstones_round_trip(reason in ".{0,30}", at in stamp()) {
            let e = MesosEntry::Gone { reason, at };
            prop_assert_eq!(decode("k", &encode(&e)).unwrap(), e);
        }

        /// Byte order of values is time order, and a removal wins a tie.
        #[test]
        fn value_order_follows_time(a in task(), b in task()) {
            prop_assume!(a.updated_at != b.updated_at);
            let (old, new) = if a.updated_at < b.updated_at { (a, b) } else { (b, a) };
            let gone_at = new.updated_at.clone();
            prop_assert!(encode(&MesosEntry::Task(old.clone())) < encode(&MesosEntry::Task(new.clone())));
            prop_assert!(encode(&MesosEntry::Task(old)) < encode_gone("TASK_KILLED", &gone_at));
            prop_assert!(encode(&MesosEntry::Task(new)) < encode_gone("x", &gone_at));
        }
    }

    #[test]
    fn a_terminal_task_is_stored_as_its_tombstone() {
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let mut t = proptest::strategy::ValueTree::current(&task().new_tree(&mut runner).unwrap());
        t.state = TaskState::Killed;
        assert_eq!(
            decode("k", &encode(&MesosEntry::Task(t.clone()))).unwrap(),
            MesosEntry::Gone {
                reason: "TASK_KILLED".into(),
                at: t.updated_at.clone()
            }
        );
        t.state = TaskState::Unknown;
        assert!(matches!(
            decode("k", &encode(&MesosEntry::Task(t))).unwrap(),
            MesosEntry::Task(_)
        ));
    }

    #[test]
    fn a_version_1_reader_refuses_mesos_values_and_this_one_refuses_marathon_values() {
        let v = encode_gone("x", &Stamp::parse("2026-01-01T00:00:00Z").unwrap());
        assert!(String::from_utf8_lossy(&v).contains("\"schema\":2"));
        assert!(matches!(
            crate::codec::decode("k", &v),
            Ok(crate::codec::Entry::Gone { .. })
        ));
        let marathon = crate::codec::encode_gone("x", &Stamp::now());
        assert!(String::from_utf8_lossy(&marathon).contains("\"schema\":1"));
        assert!(matches!(
            decode("k", br#"{"guard":"x","schema":2,"task":{}}"#),
            Err(Error::Decode { .. })
        ));
        assert!(matches!(
            decode("k", br#"{"guard":"x","schema":3,"agent":{}}"#),
            Err(Error::SchemaTooNew { found: 3, .. })
        ));
    }
}
