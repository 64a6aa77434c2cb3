//! Where tasks go and what they get: agents round robin, host ports per agent, service
//! ports, and the container addresses of bridge and container networking.

use std::collections::BTreeSet;

const HOST_PORT_MIN: u16 = 31000;
const HOST_PORT_MAX: u16 = 32000;
const SERVICE_PORT_MIN: u16 = 10000;
const SERVICE_PORT_MAX: u16 = 20000;
/// Host number of the first container address: `.0` is the network and `.1` the gateway.
const FIRST_CONTAINER_HOST: u32 = 2;

/// What one agent has handed out.
#[derive(Debug)]
struct AgentAlloc {
    next_port: u16,
    used_ports: BTreeSet<u16>,
    /// Each agent has its own docker bridge, so bridge addresses repeat across agents.
    next_bridge_host: u32,
}

/// Every allocation of one simulator.
#[derive(Debug)]
pub(crate) struct Allocator {
    agents: Vec<AgentAlloc>,
    next_agent: usize,
    next_service_port: u16,
    next_container_host: u32,
}

impl Allocator {
    /// Nothing handed out yet, over `agents` agents.
    pub(crate) fn new(agents: usize) -> Allocator {
        Allocator {
            agents: (0..agents)
                .map(|_| AgentAlloc {
                    next_port: HOST_PORT_MIN,
                    used_ports: BTreeSet::new(),
                    next_bridge_host: FIRST_CONTAINER_HOST,
                })
                .collect(),
            next_agent: 0,
            next_service_port: SERVICE_PORT_MIN,
            next_container_host: FIRST_CONTAINER_HOST,
        }
    }

    /// The agent (index) the next task goes to: round robin.
    pub(crate) fn place(&mut self) -> usize {
        let agent = self.next_agent % self.agents.len();
        self.next_agent += 1;
        agent
    }

    /// `n` service ports, 10000 upwards, wrapping at 20000 (Marathon's `local_port_min/max`).
    pub(crate) fn service_ports(&mut self, n: usize) -> Vec<u16> {
        (0..n)
            .map(|_| {
                let p = self.next_service_port;
                self.next_service_port = if p >= SERVICE_PORT_MAX {
                    SERVICE_PORT_MIN
                } else {
                    p + 1
                };
                p
            })
            .collect()
    }

    /// `n` host ports on `agent` not in use there, 31000 upwards and wrapping. Gives fewer
    /// when the agent's range is full.
    pub(crate) fn host_ports(&mut self, agent: usize, n: usize) -> Vec<u16> {
        let alloc = &mut self.agents[agent];
        let mut out = Vec::with_capacity(n);
        let span = (HOST_PORT_MAX - HOST_PORT_MIN) as usize;
        for _ in 0..n {
            for _ in 0..span {
                let p = alloc.next_port;
                alloc.next_port = if p + 1 >= HOST_PORT_MAX {
                    HOST_PORT_MIN
                } else {
                    p + 1
                };
                if alloc.used_ports.insert(p) {
                    out.push(p);
                    break;
                }
            }
        }
        out
    }

    /// Gives `ports` on `agent` back.
    pub(crate) fn release_host_ports(&mut self, agent: usize, ports: &[u16]) {
        if let Some(a) = self.agents.get_mut(agent) {
            for p in ports {
                a.used_ports.remove(p);
            }
        }
    }

    /// The next `172.17.x.y` address on `agent`'s docker bridge.
    pub(crate) fn bridge_ip(&mut self, agent: usize) -> String {
        let n = next_host(&mut self.agents[agent].next_bridge_host);
        format!("172.17.{}.{}", (n >> 8) & 255, n & 255)
    }

    /// The next `10.x.y.z` address of the cluster-wide container network.
    pub(crate) fn container_ip(&mut self) -> String {
        let n = next_host(&mut self.next_container_host);
        format!("10.{}.{}.{}", (n >> 16) & 255, (n >> 8) & 255, n & 255)
    }
}

/// Takes the next host number from `counter`, skipping those that would end in `.0` or
/// `.255`: clients may refuse a network or broadcast address as a task's.
fn next_host(counter: &mut u32) -> u32 {
    let mut n = *counter;
    while n.is_multiple_of(256) || n % 256 == 255 {
        n += 1;
    }
    *counter = n + 1;
    n
}
