//! Where launched tasks go and what they get: agent placement (round robin), host ports out
//! of the agent's `ports` ranges, and container IPs per network (Docker bridge `172.18.0.x`,
//! `mesos-bridge` `172.31.254.x`, container networks `9.0.<n>.x`, IPv6 `fd01:b::<n>:x`).

use std::collections::HashMap;

use crate::proto::Agent;

/// Hands out placements, ports and addresses. Nothing is ever given back: ports and addresses
/// advance and wrap, which is enough for a simulated cluster.
#[derive(Debug, Default)]
pub(crate) struct Allocator {
    next_agent: usize,
    next_port: HashMap<String, u64>,
    next_ip: HashMap<String, u32>,
    networks: Vec<String>,
}

/// The `ports` ranges an agent offers, inclusive.
fn port_ranges(agent: &Agent) -> Vec<(u64, u64)> {
    agent
        .agent_info
        .resources
        .iter()
        .filter(|r| r.name == "ports")
        .filter_map(|r| r.ranges.as_ref())
        .flat_map(|r| r.range.iter().map(|x| (x.begin, x.end)))
        .filter(|(b, e)| b <= e)
        .collect()
}

impl Allocator {
    /// Index of the agent to place the next task on, among `candidates` (round robin).
    pub(crate) fn pick(&mut self, candidates: usize) -> Option<usize> {
        if candidates == 0 {
            return None;
        }
        let i = self.next_agent % candidates;
        self.next_agent = self.next_agent.wrapping_add(1);
        Some(i)
    }

    /// `n` host ports of `agent`; `None` if it offers no ports.
    pub(crate) fn host_ports(&mut self, agent: &Agent, n: usize) -> Option<Vec<u64>> {
        let ranges = port_ranges(agent);
        let total: u64 = ranges.iter().map(|(b, e)| e - b + 1).sum();
        if n == 0 {
            return Some(Vec::new());
        }
        if total == 0 {
            return None;
        }
        let cursor = self.next_port.entry(agent.id().to_string()).or_insert(0);
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let mut k = *cursor % total;
            *cursor += 1;
            for (b, e) in &ranges {
                let len = e - b + 1;
                if k < len {
                    out.push(b + k);
                    break;
                }
                k -= len;
            }
        }
        Some(out)
    }

    /// The next address on a network: `prefix` + a counter (from 2, skipping the gateway).
    fn next(&mut self, key: &str) -> u32 {
        let n = self.next_ip.entry(key.to_string()).or_insert(1);
        *n += 1;
        *n
    }

    /// A Docker bridge address (`172.18.0.x`, as in the recorded streams).
    pub(crate) fn docker_bridge_ip(&mut self) -> String {
        let n = self.next("docker-bridge");
        format!("172.18.{}.{}", (n / 250) % 250, n % 250 + 2)
    }

    /// A `mesos-bridge` address (`172.31.254.x`).
    pub(crate) fn mesos_bridge_ip(&mut self) -> String {
        let n = self.next("mesos-bridge");
        format!("172.31.{}.{}", 254 - (n / 250) % 200, n % 250 + 2)
    }

    /// An address on container network `network` (`9.0.<k>.x`; each network its own `k`).
    pub(crate) fn container_ip(&mut self, network: &str) -> String {
        let k = self.net_index(network);
        let n = self.next(&format!("net:{network}"));
        format!("9.{}.{}.{}", (n / 250) % 250, k % 250, n % 250 + 2)
    }

    /// The index of a container network, in order of first use.
    fn net_index(&mut self, network: &str) -> u32 {
        match self.networks.iter().position(|n| n == network) {
            Some(i) => i as u32,
            None => {
                self.networks.push(network.to_string());
                (self.networks.len() - 1) as u32
            }
        }
    }

    /// An IPv6 address on container network `network` (`fd01:b::<k>:8000:0:<n>`).
    pub(crate) fn container_ipv6(&mut self, network: &str) -> String {
        let n = self.next(&format!("v6:{network}"));
        format!("fd01:b::{:x}:8000:0:{n:x}", self.net_index(network) + 2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::{AgentInfo, Id, Range, Resource};

    fn agent(ranges: Vec<Range>) -> Agent {
        let json = serde_json::json!({
            "agent_info": {"hostname": "h", "id": {"value": "a-S0"}},
            "active": true, "version": "1.11.0"
        });
        let mut a: Agent = serde_json::from_str(&json.to_string()).unwrap();
        a.agent_info = AgentInfo {
            resources: vec![Resource::ranges("ports", ranges)],
            id: Some(Id::new("a-S0")),
            ..a.agent_info
        };
        a
    }

    #[test]
    fn ports_come_from_the_ranges_in_order_and_wrap() {
        let a = agent(vec![
            Range { begin: 10, end: 11 },
            Range { begin: 20, end: 20 },
        ]);
        let mut al = Allocator::default();
        assert_eq!(al.host_ports(&a, 2), Some(vec![10, 11]));
        assert_eq!(al.host_ports(&a, 2), Some(vec![20, 10]));
        assert_eq!(agent(vec![]).id(), "a-S0");
        assert_eq!(al.host_ports(&agent(vec![]), 1), None);
    }

    #[test]
    fn addresses_differ_per_task_and_network() {
        let mut al = Allocator::default();
        let a = al.container_ip("dcos");
        let b = al.container_ip("dcos");
        let c = al.container_ip("other");
        assert_ne!(a, b);
        assert!(
            a.starts_with("9.0.0.") && c.starts_with("9.0.1."),
            "{a} {c}"
        );
        assert!(al.docker_bridge_ip().starts_with("172.18.0."));
        assert!(al.mesos_bridge_ip().starts_with("172.31.254."));
        assert!(al.container_ipv6("dcos").starts_with("fd01:b::"));
    }
}
