//! Task groups (Marathon pods, spec §13): one Mesos task per container, task ids
//! `<pod>.instance-<uuid>.<container>`, name = the container's name, `discovery.name` = the
//! pod id as a host name, one default executor `instance-<pod>.<uuid>` holding the host
//! ports, nested containers (`container_id.parent`), one network namespace (the same IPs).

use serde::Serialize;

use crate::SimError;
use crate::build::{self, BoundPort, ContainerFacts};
use crate::ids::{safe_path, to_hostname, uuid_v1, uuid_v4};
use crate::proto::{Executor, Id, Task, TaskState, raw};
use crate::shared::Shared;
use crate::spec::{Containerizer, Networking, PodSpec};

use super::tasks::agent_ip;

impl Shared {
    /// Launches a pod. Returns its task ids, in container order.
    pub(crate) fn launch_pod(&self, spec: PodSpec) -> Result<Vec<String>, SimError> {
        let to = match spec.launch_to {
            TaskState::Staging => 0,
            TaskState::Starting => 1,
            TaskState::Running => 2,
            s => return Err(SimError::Invalid(format!("a launch cannot end in {s}"))),
        };
        if spec.containers.is_empty() {
            return Err(SimError::Invalid(
                "a pod needs at least one container".into(),
            ));
        }
        let mut c = self.lock();
        let framework_id = self.framework_for(&c, spec.framework.as_deref())?;
        let a = Self::place(&mut c, spec.agent.as_deref())?;
        let agent = c.agents[a].agent.clone();
        let uuid = uuid_v1(self.uuid_node);
        let safe = safe_path(&spec.pod_id);
        let executor_id = format!("instance-{safe}.{uuid}");
        let all_ports: Vec<_> = spec
            .containers
            .iter()
            .flat_map(|(_, p)| p.clone())
            .collect();
        let host_ports = match spec.networking {
            Networking::Container(_) => Vec::new(),
            _ => c
                .alloc
                .host_ports(&agent, all_ports.len())
                .ok_or_else(|| SimError::Conflict(format!("agent {} has no ports", agent.id())))?,
        };
        let (network, ips) = match &spec.networking {
            Networking::Host => (None, vec![agent_ip(&agent)]),
            Networking::Bridge => (
                Some("mesos-bridge".to_string()),
                vec![c.alloc.mesos_bridge_ip()],
            ),
            Networking::Container(n) => (Some(n.clone()), vec![c.alloc.container_ip(n)]),
        };
        let parent = uuid_v4();
        let discovery_name = to_hostname(&spec.pod_id);
        let mut events = Vec::new();
        let mut updates = Vec::new();
        let mut ids = Vec::new();
        let mut next_port = 0;
        for (name, ports) in &spec.containers {
            let bound: Vec<BoundPort> = ports
                .iter()
                .map(|p| {
                    let host_port = host_ports.get(next_port).copied();
                    next_port += 1;
                    BoundPort {
                        spec: p.clone(),
                        host_port,
                    }
                })
                .collect();
            let task_id = format!("{safe}.instance-{uuid}.{name}");
            let task = Task {
                name: name.clone(),
                task_id: Id::new(&task_id),
                framework_id: Id::new(&framework_id),
                executor_id: Some(Id::new(&executor_id)),
                agent_id: Id::new(agent.id()),
                state: TaskState::Staging,
                resources: build::resources(&[]),
                statuses: Vec::new(),
                status_update_state: None,
                status_update_uuid: None,
                labels: None,
                discovery: Some(build::discovery(&discovery_name, &spec.networking, &bound)),
                container: build::container(
                    Some(Containerizer::Mesos),
                    &Networking::Host,
                    &[],
                    &task_id,
                ),
                health_check: None,
                check: None,
                kill_policy: None,
                user: None,
            };
            let facts = ContainerFacts {
                container_id: uuid_v4(),
                parent: Some(parent.clone()),
                network: network.clone(),
                ips: ips.clone(),
                mappings_in_status: spec.networking == Networking::Bridge,
                ports: bound,
                executor_pid: Some(1000 + rand::random::<u32>() % 30000),
            };
            let mut evs = self.launch_events(&task, &framework_id, &facts, to, None);
            events.push(evs.remove(0));
            updates.push(evs);
            ids.push(task_id);
        }
        // All TASK_ADDEDs, then each step for every container (as in the recordings).
        for step in 0..to as usize {
            for u in &mut updates {
                if step < u.len() {
                    events.push(u[step].clone());
                }
            }
        }
        c.executors.push(Executor {
            executor_info: executor_info(
                &executor_id,
                &framework_id,
                &safe,
                network.as_deref(),
                &host_ports,
            ),
            agent_id: Id::new(agent.id()),
        });
        self.commit(&mut c, events)?;
        Ok(ids)
    }
}

/// The pod's `ExecutorInfo` (type `DEFAULT`): it holds the host ports and the network.
fn executor_info(
    executor_id: &str,
    framework_id: &str,
    name: &str,
    network: Option<&str>,
    host_ports: &[u64],
) -> crate::proto::Raw {
    #[derive(Serialize)]
    struct Info<'a> {
        #[serde(rename = "type")]
        kind: &'a str,
        executor_id: Id,
        framework_id: Id,
        resources: Vec<crate::proto::Resource>,
        name: &'a str,
        container: serde_json::Value,
    }
    let network_infos = match network {
        Some(n) => {
            serde_json::json!([{"ip_addresses": [{"protocol": "IPv4"}], "name": n, "labels": {}}])
        }
        None => serde_json::json!([]),
    };
    raw(&Info {
        kind: "DEFAULT",
        executor_id: Id::new(executor_id),
        framework_id: Id::new(framework_id),
        resources: build::resources(host_ports),
        name,
        container: serde_json::json!({"type": "MESOS", "network_infos": network_infos}),
    })
}
