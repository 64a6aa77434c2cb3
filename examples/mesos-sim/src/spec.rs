//! What a test asks the simulator to create: agents, frameworks, tasks and pods. The
//! simulator turns them into Mesos messages shaped like the recorded ones (Marathon's
//! `TaskInfo`s: DiscoveryInfo ports with `network-scope` labels, Docker or Mesos
//! containers, port mappings, container network IPs).

use serde::{Deserialize, Serialize};

/// An agent to register.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AgentSpec {
    /// Agent id; default `<cluster>-S<n>`.
    pub id: Option<String>,
    /// `agent_info.hostname`: an IP (default) or a DNS name.
    pub hostname: String,
    /// The IP in its `pid` (`slave(1)@<ip>:<port>`); default: `hostname`.
    pub ip: Option<String>,
    /// Agent port (5051).
    pub port: u16,
    /// Host port ranges it offers, inclusive (default `31000-32000`).
    pub port_ranges: Vec<(u64, u64)>,
    /// CPUs.
    pub cpus: f64,
    /// Memory in MB.
    pub mem: f64,
    /// Disk in MB.
    pub disk: f64,
}

impl Default for AgentSpec {
    fn default() -> Self {
        AgentSpec {
            id: None,
            hostname: "127.0.0.1".to_string(),
            ip: None,
            port: 5051,
            port_ranges: vec![(31000, 32000)],
            cpus: 4.0,
            mem: 6949.0,
            disk: 47170.0,
        }
    }
}

impl AgentSpec {
    /// An agent whose hostname (and pid IP) is `hostname`.
    pub fn new(hostname: impl Into<String>) -> AgentSpec {
        AgentSpec {
            hostname: hostname.into(),
            ..AgentSpec::default()
        }
    }
}

/// A framework to register.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FrameworkSpec {
    /// Framework id; default `<cluster>-<nnnn>`.
    pub id: Option<String>,
    /// Name (`marathon`, `metronome`, ...).
    pub name: String,
    /// Unix user.
    pub user: String,
    /// Scheduler host (`framework_info.hostname`).
    pub hostname: Option<String>,
    /// Scheduler libprocess pid, shown only in `/master/state` (`frameworks[].pid`,
    /// `scheduler(1)@<ip>:<port>`); `None` for HTTP API frameworks.
    pub pid: Option<String>,
    /// Web UI.
    pub webui_url: Option<String>,
    /// Principal.
    pub principal: Option<String>,
    /// Role.
    pub role: Option<String>,
    /// Capability names (`PARTITION_AWARE`, `TASK_KILLING_STATE`, ...).
    pub capabilities: Vec<String>,
    /// Failover timeout in seconds.
    pub failover_timeout: f64,
}

impl Default for FrameworkSpec {
    fn default() -> Self {
        FrameworkSpec {
            id: None,
            name: "framework".to_string(),
            user: "root".to_string(),
            hostname: None,
            pid: None,
            webui_url: None,
            principal: None,
            role: None,
            capabilities: Vec::new(),
            failover_timeout: 604800.0,
        }
    }
}

impl FrameworkSpec {
    /// A plain framework called `name` (no capabilities, no pid).
    pub fn new(name: impl Into<String>) -> FrameworkSpec {
        FrameworkSpec {
            name: name.into(),
            ..FrameworkSpec::default()
        }
    }

    /// Marathon as it registers (scheduler driver pid, web UI on 8080, partition-aware,
    /// `TASK_KILLING_STATE`), its scheduler on `host`.
    pub fn marathon(host: &str) -> FrameworkSpec {
        FrameworkSpec {
            name: "marathon".to_string(),
            hostname: Some(host.to_string()),
            pid: Some(format!("scheduler-{}@{host}:15101", crate::ids::uuid_v4())),
            webui_url: Some(format!("http://{host}:8080")),
            principal: Some("marathon".to_string()),
            role: Some("*".to_string()),
            capabilities: ["TASK_KILLING_STATE", "GPU_RESOURCES", "PARTITION_AWARE"]
                .map(str::to_string)
                .to_vec(),
            ..FrameworkSpec::default()
        }
    }
}

/// How a task is networked (Marathon's networking modes).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Networking {
    /// The agent's network: host ports, the agent's IP.
    #[default]
    Host,
    /// A bridge (Docker `BRIDGE` / Mesos `mesos-bridge`): host ports mapped to container
    /// ports, a bridge IP the other hosts cannot reach.
    Bridge,
    /// A container (virtual) network by name (`dcos`): container ports, an IP per task.
    Container(String),
}

/// Which containerizer runs the task.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Containerizer {
    /// The Docker containerizer (`container.type` `DOCKER`).
    #[default]
    Docker,
    /// The Mesos containerizer (UCR, `container.type` `MESOS`).
    Mesos,
}

/// A port of a task (Marathon's port definition or mapping).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PortSpec {
    /// Port name (`http`).
    pub name: Option<String>,
    /// Port inside the container (bridge and container networking).
    pub container_port: Option<u16>,
    /// `tcp`, `udp`, or `udp,tcp` (one DiscoveryInfo port per protocol).
    pub protocol: String,
    /// Extra DiscoveryInfo port labels (e.g. `VIP_0` = `/app:80`).
    pub labels: Vec<(String, String)>,
}

impl Default for PortSpec {
    fn default() -> Self {
        PortSpec {
            name: None,
            container_port: None,
            protocol: "tcp".to_string(),
            labels: Vec::new(),
        }
    }
}

impl PortSpec {
    /// A tcp port called `name`, mapped to `container_port` where that applies.
    pub fn new(name: &str, container_port: u16) -> PortSpec {
        PortSpec {
            name: Some(name.to_string()),
            container_port: Some(container_port),
            ..PortSpec::default()
        }
    }
}

/// A task to launch (one Marathon app instance, or any framework's task).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TaskSpec {
    /// The framework id; default: the first framework named `marathon`.
    pub framework: Option<String>,
    /// Marathon app id (`/grp/app`): task id `grp_app.instance-<uuid>._app.1`, name and
    /// `discovery.name` `app.grp`.
    pub app_id: String,
    /// Task id instead of the Marathon-style one.
    pub task_id: Option<String>,
    /// Task name instead of the app id as a host name.
    pub name: Option<String>,
    /// The agent id; default: round robin over the registered agents.
    pub agent: Option<String>,
    /// Networking mode.
    pub networking: Networking,
    /// Containerizer; `None` is a plain command task (`container` absent).
    pub containerizer: Option<Containerizer>,
    /// Ports.
    pub ports: Vec<PortSpec>,
    /// Task labels.
    pub labels: Vec<(String, String)>,
    /// A Mesos-native health check (`MESOS_HTTP`), so statuses carry `healthy`.
    pub health_check: bool,
    /// The first health result sent once running (`None`: not checked yet).
    pub initial_health: Option<bool>,
    /// Also give the task an IPv6 address (container networking).
    pub ipv6: bool,
    /// Stop the launch at this state (`TASK_STAGING`, `TASK_STARTING` or `TASK_RUNNING`).
    pub launch_to: crate::TaskState,
}

impl Default for TaskSpec {
    fn default() -> Self {
        TaskSpec {
            framework: None,
            app_id: "/app".to_string(),
            task_id: None,
            name: None,
            agent: None,
            networking: Networking::Host,
            containerizer: Some(Containerizer::Docker),
            ports: Vec::new(),
            labels: Vec::new(),
            health_check: false,
            initial_health: Some(true),
            ipv6: false,
            launch_to: crate::TaskState::Running,
        }
    }
}

impl TaskSpec {
    /// An instance of Marathon app `app_id`, host networking, Docker, no ports.
    pub fn new(app_id: &str) -> TaskSpec {
        TaskSpec {
            app_id: app_id.to_string(),
            ..TaskSpec::default()
        }
    }

    /// With `networking`.
    pub fn with_networking(mut self, networking: Networking) -> TaskSpec {
        self.networking = networking;
        self
    }

    /// With `ports`.
    pub fn with_ports(mut self, ports: Vec<PortSpec>) -> TaskSpec {
        self.ports = ports;
        self
    }

    /// With a Mesos-native health check (first result: healthy).
    pub fn with_health_check(mut self) -> TaskSpec {
        self.health_check = true;
        self
    }

    /// On agent `agent_id`.
    pub fn on_agent(mut self, agent_id: &str) -> TaskSpec {
        self.agent = Some(agent_id.to_string());
        self
    }

    /// Of framework `framework_id`.
    pub fn of_framework(mut self, framework_id: &str) -> TaskSpec {
        self.framework = Some(framework_id.to_string());
        self
    }
}

/// A Marathon pod: one task group, one Mesos task per container, all sharing an executor
/// and a network namespace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PodSpec {
    /// The framework id; default: the first framework named `marathon`.
    pub framework: Option<String>,
    /// Pod id (`/grp/pod`): task ids `grp_pod.instance-<uuid>.<container>`,
    /// `discovery.name` `pod.grp`.
    pub pod_id: String,
    /// The agent id; default: round robin.
    pub agent: Option<String>,
    /// Networking of the whole pod.
    pub networking: Networking,
    /// The containers, each `(name, ports)`.
    pub containers: Vec<(String, Vec<PortSpec>)>,
    /// Stop the launch at this state.
    pub launch_to: crate::TaskState,
}

impl Default for PodSpec {
    fn default() -> Self {
        PodSpec {
            framework: None,
            pod_id: "/pod".to_string(),
            agent: None,
            networking: Networking::Container("dcos".to_string()),
            containers: vec![("app".to_string(), Vec::new())],
            launch_to: crate::TaskState::Running,
        }
    }
}

impl PodSpec {
    /// Pod `pod_id` with containers named `names`, on container network `dcos`.
    pub fn new(pod_id: &str, names: &[&str]) -> PodSpec {
        PodSpec {
            pod_id: pod_id.to_string(),
            containers: names.iter().map(|n| (n.to_string(), Vec::new())).collect(),
            ..PodSpec::default()
        }
    }
}
