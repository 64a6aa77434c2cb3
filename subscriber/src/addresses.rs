//! Which of the addresses Marathon reports go into a record: the one place that leaves out
//! what no client can use, for events and the reconcile alike ([`crate::records::task_record`]
//! calls it). Each address left out is logged with the task it came from.
//!
//! Left out: what the registry's address rule refuses ([`registry::addresses`]: the
//! unspecified addresses, the IPv4 broadcast address, multicast, IPv4 addresses written as
//! IPv6), and, Marathon's own case, an address whose family contradicts the `protocol`
//! Marathon tagged it with (`IPv4` on an IPv6 address or the reverse: one of the two is
//! wrong, and a wrong A/AAAA answer is worse than none). An empty agent host has no address
//! to give.

use std::net::IpAddr;

/// The address family Marathon tagged an address with (`ipAddresses[].protocol`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// `IPv4`.
    V4,
    /// `IPv6`.
    V6,
}

impl Family {
    /// Parses Marathon's `protocol` value (`IPv4`, `IPv6`, any case); anything else is no
    /// tag (`None`), and then the address is taken as it reads.
    pub fn parse(protocol: &str) -> Option<Family> {
        match protocol.trim().to_ascii_lowercase().as_str() {
            "ipv4" => Some(Family::V4),
            "ipv6" => Some(Family::V6),
            _ => None,
        }
    }
}

/// One of a task's `ipAddresses[]`: the address and the family Marathon tagged it with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TaskIp {
    /// The address.
    pub ip: IpAddr,
    /// The `protocol` tag, when Marathon gave a known one.
    pub family: Option<Family>,
}

impl TaskIp {
    /// An address with its optional `protocol` tag.
    pub fn new(ip: IpAddr, protocol: Option<&str>) -> Self {
        TaskIp {
            ip,
            family: protocol.and_then(Family::parse),
        }
    }
}

impl From<IpAddr> for TaskIp {
    fn from(ip: IpAddr) -> Self {
        TaskIp { ip, family: None }
    }
}

/// Why no client can use `ip` tagged `family`; `None` when it is usable.
pub fn unusable(ip: IpAddr, family: Option<Family>) -> Option<&'static str> {
    match (ip, family) {
        (IpAddr::V4(_), Some(Family::V6)) => Some("an IPv4 address tagged IPv6"),
        (IpAddr::V6(_), Some(Family::V4)) => Some("an IPv6 address tagged IPv4"),
        _ => registry::addresses::unusable(ip),
    }
}

/// The task's usable addresses, in Marathon's order; each one left out is logged.
pub fn task_ips(task_id: &str, reported: Vec<TaskIp>) -> Vec<IpAddr> {
    reported
        .into_iter()
        .filter_map(|a| match unusable(a.ip, a.family) {
            None => Some(a.ip),
            Some(why) => {
                tracing::warn!(task = %task_id, ip = %a.ip, family = ?a.family, "Marathon reports {why} for the task; left out of its record");
                None
            }
        })
        .collect()
}

/// The agent's usable addresses (resolved from `host`); each one left out is logged, and so
/// is an empty host.
pub fn agent_ips(task_id: &str, host: &str, resolved: Vec<IpAddr>) -> Vec<IpAddr> {
    if host.trim().is_empty() {
        tracing::warn!(task = %task_id, "Marathon reports no agent host for the task; its record has no agent address");
        return Vec::new();
    }
    resolved
        .into_iter()
        .filter(|&ip| match unusable(ip, None) {
            None => true,
            Some(why) => {
                tracing::warn!(task = %task_id, %host, %ip, "the agent host gives {why}; left out of the task's record");
                false
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn an_address_must_match_its_protocol_tag() {
        assert_eq!(Family::parse("IPv4"), Some(Family::V4));
        assert_eq!(Family::parse("ipv6"), Some(Family::V6));
        assert_eq!(Family::parse("tcp"), None);
        assert!(unusable(ip("fd00::1"), Some(Family::V4)).is_some());
        assert!(unusable(ip("10.0.0.1"), Some(Family::V6)).is_some());
        assert_eq!(unusable(ip("10.0.0.1"), Some(Family::V4)), None);
        assert_eq!(unusable(ip("fd00::1"), Some(Family::V6)), None);
        // A matching tag does not make an address the registry's rule refuses usable.
        assert!(unusable(ip("0.0.0.0"), Some(Family::V4)).is_some());
        assert!(unusable(ip("ff02::1"), Some(Family::V6)).is_some());
    }

    #[test]
    fn task_and_agent_addresses_keep_only_the_usable_ones_in_order() {
        let reported = vec![
            TaskIp::new(ip("10.0.0.2"), Some("IPv4")),
            TaskIp::new(ip("0.0.0.0"), Some("IPv4")),
            TaskIp::new(ip("fd00::1"), Some("IPv4")),
            TaskIp::new(ip("10.0.0.3"), Some("IPv6")),
            TaskIp::new(ip("fd00::2"), Some("IPv6")),
            TaskIp::new(ip("ff02::1"), None),
            TaskIp::from(ip("10.0.0.4")),
        ];
        assert_eq!(
            task_ips("t.1", reported),
            vec![ip("10.0.0.2"), ip("fd00::2"), ip("10.0.0.4")]
        );
        assert_eq!(
            agent_ips(
                "t.1",
                "agent-1",
                vec![ip("255.255.255.255"), ip("10.0.2.148"), ip("::")]
            ),
            vec![ip("10.0.2.148")]
        );
        assert!(agent_ips("t.1", "", vec![ip("10.0.2.148")]).is_empty());
    }
}
