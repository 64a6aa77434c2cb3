//! The resync after every (re)subscribe (pure): what the new snapshot wants against what
//! etcd holds → the writes that make them equal, and nothing when they already are.
//!
//! - Records are compared without their stamp (the writer's observation time for masters,
//!   the leader, agents and frameworks; for tasks the event path moves it on by a
//!   millisecond per update), so an unchanged cluster writes nothing.
//! - Every write is guarded by the `mod_revision` the listing saw, so an event written in
//!   between wins.
//! - Deletions are capped like Marathon's `/cleanup`: when more than `max_delete_share` of
//!   the stored records would go, none goes (unless forced) and the plan says so.
//! - Agents the master has not seen re-register yet after a fail-over (`recovered_agents`)
//!   keep their records, their tasks and those tasks' frameworks.
//! - A key that holds a tombstone is restored from the snapshot at once (the master's own
//!   state is the truth; tombstones guard late events only).

use std::collections::{BTreeMap, BTreeSet};

use registry::{
    AgentRecord, FrameworkRecord, Guard, LeaderRecord, MasterRecord, MesosKey, MesosSnapshot,
    MesosTaskRecord, MesosTombstone, MesosWrite, MesosWriteOp, Stamp,
};

/// What the source wants stored, borrowed from what the source keeps anyway (its
/// [`super::cluster::Cluster`]): only the records a plan writes are copied.
#[derive(Clone, Debug, Default)]
pub struct Wanted<'a> {
    /// The leader, when known.
    pub leader: Option<LeaderRecord>,
    /// Every master, when the source knows them (`None`: leave the stored ones alone).
    pub masters: Option<Vec<&'a MasterRecord>>,
    /// Every agent.
    pub agents: Vec<&'a AgentRecord>,
    /// Every framework.
    pub frameworks: Vec<&'a FrameworkRecord>,
    /// Every live task this source writes.
    pub tasks: Vec<&'a MesosTaskRecord>,
    /// Agents whose records and tasks are kept although the snapshot lacks them.
    pub keep_agents: BTreeSet<String>,
}

/// The limits of a plan.
#[derive(Clone, Copy, Debug)]
pub struct Rules {
    /// The largest share of the stored records a plan may delete.
    pub max_delete_share: f64,
    /// Delete past the share anyway.
    pub force: bool,
}

/// The writes of one resync.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Plan {
    /// Creates, updates and restores (guarded by revision).
    pub puts: Vec<MesosWriteOp>,
    /// Removals (guarded by revision); empty when withheld.
    pub removals: Vec<MesosWriteOp>,
    /// How many removals were withheld by the cap.
    pub withheld: usize,
    /// How many stored records were already right.
    pub unchanged: usize,
}

impl Plan {
    /// Every write, puts first.
    pub fn writes(&self) -> Vec<MesosWriteOp> {
        self.puts.iter().chain(&self.removals).cloned().collect()
    }

    /// Every write, puts first, without copying them.
    pub fn into_writes(self) -> Vec<MesosWriteOp> {
        let mut writes = self.puts;
        writes.extend(self.removals);
        writes
    }
}

/// Two records equal but for their stamp: `restamp` sets a record's stamp, `stamp` reads it.
fn same_but_stamp<T: Clone + PartialEq>(
    a: &T,
    b: &T,
    restamp: impl Fn(&mut T, &Stamp),
    stamp: impl Fn(&T) -> &Stamp,
) -> bool {
    let mut b = b.clone();
    restamp(&mut b, stamp(a));
    *a == b
}

/// Plans the writes that make `stored` (with its `tombstones`) equal `wanted`.
pub fn plan(
    stored: &MesosSnapshot,
    tombstones: &[MesosTombstone],
    wanted: Wanted<'_>,
    rules: Rules,
    now: &Stamp,
) -> Plan {
    let mut out = Plan::default();
    let buried: BTreeMap<&MesosKey, i64> = tombstones
        .iter()
        .map(|t| (&t.key, t.mod_revision))
        .collect();
    let absent = |key: &MesosKey| Guard::Revision(buried.get(key).copied().unwrap_or(0));

    // The leader: one record, never removed.
    if let Some(leader) = wanted.leader {
        match &stored.leader {
            Some(s)
                if same_but_stamp(
                    &s.record,
                    &leader,
                    |r, t| r.updated_at = t.clone(),
                    |r| &r.updated_at,
                ) =>
            {
                out.unchanged += 1
            }
            Some(s) => out.puts.push(put(
                MesosWrite::PutLeader(leader),
                Guard::Revision(s.mod_revision),
            )),
            None => out.puts.push(put(
                MesosWrite::PutLeader(leader),
                absent(&MesosKey::Leader),
            )),
        }
    }

    let mut removals = Vec::new();
    let mut stored_count = 0;
    macro_rules! reconcile {
        ($stored:expr, $wanted:expr, $key:expr, $put:expr, $remove:expr, $keep:expr, $same:expr) => {{
            let mut wanted: BTreeMap<MesosKey, _> =
                $wanted.into_iter().map(|r| ($key(r), r)).collect();
            for s in $stored {
                stored_count += 1;
                let key = $key(&s.record);
                match wanted.remove(&key) {
                    Some(w) if $same(&s.record, w) => out.unchanged += 1,
                    Some(w) => out
                        .puts
                        .push(put($put(w.clone()), Guard::Revision(s.mod_revision))),
                    None if $keep(&s.record) => out.unchanged += 1,
                    None => removals.push(put($remove(&s.record), Guard::Revision(s.mod_revision))),
                }
            }
            for (key, w) in wanted {
                out.puts.push(put($put(w.clone()), absent(&key)));
            }
        }};
    }

    if let Some(masters) = wanted.masters {
        reconcile!(
            &stored.masters,
            masters,
            |r: &MasterRecord| MesosKey::Master(r.master_id.clone()),
            MesosWrite::PutMaster,
            |r: &MasterRecord| MesosWrite::RemoveMaster {
                master_id: r.master_id.clone(),
                reason: "resync".into(),
                at: now.clone(),
            },
            |_: &MasterRecord| false,
            |a: &MasterRecord, b: &MasterRecord| same_but_stamp(
                a,
                b,
                |r, t| r.updated_at = t.clone(),
                |r| &r.updated_at
            )
        );
    }
    let keep = &wanted.keep_agents;
    // The frameworks of kept tasks stay too (their names are needed).
    let kept_frameworks: BTreeSet<&str> = stored
        .tasks
        .iter()
        .filter(|t| t.record.agent_id.as_ref().is_some_and(|a| keep.contains(a)))
        .map(|t| t.record.framework_id.as_str())
        .collect();
    reconcile!(
        &stored.agents,
        wanted.agents,
        |r: &AgentRecord| MesosKey::Agent(r.agent_id.clone()),
        MesosWrite::PutAgent,
        |r: &AgentRecord| MesosWrite::RemoveAgent {
            agent_id: r.agent_id.clone(),
            reason: "resync".into(),
            at: now.clone(),
        },
        |r: &AgentRecord| keep.contains(&r.agent_id),
        |a: &AgentRecord, b: &AgentRecord| same_but_stamp(
            a,
            b,
            |r, t| r.updated_at = t.clone(),
            |r| &r.updated_at
        )
    );
    reconcile!(
        &stored.frameworks,
        wanted.frameworks,
        |r: &FrameworkRecord| MesosKey::Framework(r.framework_id.clone()),
        MesosWrite::PutFramework,
        |r: &FrameworkRecord| MesosWrite::RemoveFramework {
            framework_id: r.framework_id.clone(),
            reason: "resync".into(),
            at: now.clone(),
        },
        |r: &FrameworkRecord| kept_frameworks.contains(r.framework_id.as_str()),
        |a: &FrameworkRecord, b: &FrameworkRecord| same_but_stamp(
            a,
            b,
            |r, t| r.updated_at = t.clone(),
            |r| &r.updated_at
        )
    );
    reconcile!(
        &stored.tasks,
        wanted.tasks,
        |r: &MesosTaskRecord| MesosKey::Task(r.framework_id.clone(), r.task_id.clone()),
        MesosWrite::PutTask,
        |r: &MesosTaskRecord| MesosWrite::RemoveTask {
            framework_id: r.framework_id.clone(),
            task_id: r.task_id.clone(),
            reason: "resync".into(),
            at: now.clone(),
        },
        |r: &MesosTaskRecord| r.agent_id.as_ref().is_some_and(|a| keep.contains(a)),
        |a: &MesosTaskRecord, b: &MesosTaskRecord| same_but_stamp(
            a,
            b,
            |r, t| r.updated_at = t.clone(),
            |r| &r.updated_at
        )
    );

    let allowed = (stored_count as f64 * rules.max_delete_share).floor() as usize;
    if rules.force || removals.len() <= allowed {
        out.removals = removals;
    } else {
        out.withheld = removals.len();
    }
    out
}

fn put(write: MesosWrite, guard: Guard) -> MesosWriteOp {
    MesosWriteOp { write, guard }
}

#[cfg(test)]
mod tests {
    use super::*;
    use registry::{Health, TaskState, Versioned};

    fn stamp(s: u32) -> Stamp {
        Stamp::parse(&format!("2026-01-01T00:00:{s:02}Z")).unwrap()
    }

    fn agent(id: &str, at: u32) -> AgentRecord {
        AgentRecord {
            agent_id: id.into(),
            hostname: format!("{id}.example"),
            ip: Some("10.0.0.1".parse().unwrap()),
            port: Some(5051),
            pid: None,
            updated_at: stamp(at),
        }
    }

    fn task(id: &str, agent: &str) -> MesosTaskRecord {
        MesosTaskRecord {
            framework_id: "F".into(),
            framework_name: Some("chronos".into()),
            task_id: id.into(),
            name: id.into(),
            discovery_name: None,
            discovery_visibility: None,
            agent_id: Some(agent.into()),
            executor_id: None,
            ports: vec![],
            host_ports: vec![],
            task_ips: vec![],
            labels: Default::default(),
            state: TaskState::Running,
            health: Health::Unknown,
            updated_at: stamp(1),
        }
    }

    fn v<T>(record: T, rev: i64) -> Versioned<T> {
        Versioned {
            record,
            mod_revision: rev,
        }
    }

    const RULES: Rules = Rules {
        max_delete_share: 0.5,
        force: false,
    };

    #[test]
    fn in_sync_writes_nothing_even_with_new_observation_times() {
        let stored = MesosSnapshot {
            agents: vec![v(agent("S1", 1), 10)],
            tasks: vec![v(task("t1", "S1"), 11)],
            ..MesosSnapshot::default()
        };
        let (a, t) = (agent("S1", 30), task("t1", "S1"));
        let wanted = Wanted {
            agents: vec![&a],
            tasks: vec![&t],
            ..Wanted::default()
        };
        let p = plan(&stored, &[], wanted, RULES, &stamp(40));
        assert_eq!(
            p,
            Plan {
                unchanged: 2,
                ..Plan::default()
            }
        );
    }

    #[test]
    fn changes_creates_and_removals_are_guarded_by_revision() {
        let mut changed = task("t1", "S1");
        changed.state = TaskState::Killing;
        let stored = MesosSnapshot {
            agents: vec![v(agent("S1", 1), 10), v(agent("S9", 1), 12)],
            tasks: vec![v(task("t1", "S1"), 11)],
            ..MesosSnapshot::default()
        };
        let tombstones = [MesosTombstone {
            key: MesosKey::Task("F".into(), "t2".into()),
            reason: "TASK_KILLED".into(),
            at: stamp(2),
            mod_revision: 13,
        }];
        let (a, t2, t3) = (agent("S1", 5), task("t2", "S1"), task("t3", "S1"));
        let wanted = Wanted {
            agents: vec![&a],
            tasks: vec![&changed, &t2, &t3],
            ..Wanted::default()
        };
        let p = plan(&stored, &tombstones, wanted, RULES, &stamp(40));
        let guards: Vec<(MesosKey, Guard)> = p
            .writes()
            .iter()
            .map(|w| (w.write.key(), w.guard))
            .collect();
        assert_eq!(
            guards,
            vec![
                (MesosKey::Task("F".into(), "t1".into()), Guard::Revision(11)),
                (MesosKey::Task("F".into(), "t2".into()), Guard::Revision(13)),
                (MesosKey::Task("F".into(), "t3".into()), Guard::Revision(0)),
                (MesosKey::Agent("S9".into()), Guard::Revision(12)),
            ]
        );
    }

    #[test]
    fn removals_past_the_share_are_withheld_unless_forced() {
        let stored = MesosSnapshot {
            agents: vec![v(agent("S1", 1), 10)],
            tasks: vec![v(task("t1", "S1"), 11), v(task("t2", "S1"), 12)],
            ..MesosSnapshot::default()
        };
        let p = plan(&stored, &[], Wanted::default(), RULES, &stamp(40));
        assert_eq!((p.removals.len(), p.withheld), (0, 3));
        let forced = Rules {
            force: true,
            ..RULES
        };
        let p = plan(&stored, &[], Wanted::default(), forced, &stamp(40));
        assert_eq!((p.removals.len(), p.withheld), (3, 0));
    }

    #[test]
    fn recovered_agents_keep_their_records_and_tasks() {
        let framework = FrameworkRecord {
            framework_id: "F".into(),
            name: "chronos".into(),
            hostname: None,
            ip: None,
            port: None,
            pid: None,
            active: true,
            updated_at: stamp(1),
        };
        let stored = MesosSnapshot {
            agents: vec![v(agent("S1", 1), 10), v(agent("S2", 1), 11)],
            frameworks: vec![v(framework, 9)],
            tasks: vec![v(task("t1", "S2"), 12)],
            ..MesosSnapshot::default()
        };
        let a = agent("S1", 2);
        let wanted = Wanted {
            agents: vec![&a],
            keep_agents: ["S2".to_string()].into(),
            ..Wanted::default()
        };
        let p = plan(&stored, &[], wanted, RULES, &stamp(40));
        assert_eq!(
            p,
            Plan {
                unchanged: 4,
                ..Plan::default()
            }
        );
    }

    #[test]
    fn masters_are_left_alone_when_unknown_and_the_leader_is_replaced() {
        let leader = |id: &str, at| LeaderRecord {
            master_id: id.into(),
            hostname: None,
            ip: None,
            port: Some(5050),
            updated_at: stamp(at),
        };
        let master = MasterRecord {
            master_id: "m1".into(),
            hostname: None,
            ip: None,
            port: Some(5050),
            version: None,
            leading: true,
            position: Some(0),
            updated_at: stamp(1),
        };
        let stored = MesosSnapshot {
            leader: Some(v(leader("m1", 1), 5)),
            masters: vec![v(master, 6)],
            ..MesosSnapshot::default()
        };
        let same = Wanted {
            leader: Some(leader("m1", 9)),
            ..Wanted::default()
        };
        assert_eq!(plan(&stored, &[], same, RULES, &stamp(40)).unchanged, 1);
        let moved = Wanted {
            leader: Some(leader("m2", 9)),
            ..Wanted::default()
        };
        let p = plan(&stored, &[], moved, RULES, &stamp(40));
        assert_eq!(p.puts.len(), 1);
        assert_eq!(p.puts[0].guard, Guard::Revision(5));
    }
}
