//! The simulated masters: each one's address and `MasterInfo`, and who leads (spec §3, §14).

use std::net::{IpAddr, SocketAddr};
use std::sync::{Mutex, MutexGuard};

use serde::Serialize;
use serde_json::{Value, json};

/// `MasterInfo` (mesos.proto).
#[derive(Clone, Debug, Serialize)]
pub(crate) struct MasterInfo {
    pub id: String,
    pub ip: u32,
    pub port: u16,
    pub pid: String,
    pub hostname: String,
    pub version: String,
    pub address: Address,
}

/// `Address`.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Address {
    pub hostname: String,
    pub ip: String,
    pub port: u16,
}

/// One master.
#[derive(Clone, Debug)]
pub(crate) struct Master {
    /// Its bound address.
    pub addr: SocketAddr,
    /// `MasterInfo.id`.
    pub id: String,
    /// `MasterInfo.hostname` (what a redirect names).
    pub hostname: String,
    /// Mesos version it reports.
    pub version: String,
    /// When it started, seconds since the epoch.
    pub start_time: f64,
}

impl Master {
    /// `master@<ip>:<port>`.
    pub(crate) fn pid(&self) -> String {
        format!("master@{}", self.addr)
    }

    /// Base URL, `http://<addr>`.
    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `//<hostname>:<port>`: a redirect's `Location` without the path.
    pub(crate) fn location(&self) -> String {
        match self.hostname.parse::<IpAddr>() {
            Ok(IpAddr::V6(ip)) => format!("//[{ip}]:{}", self.addr.port()),
            _ => format!("//{}:{}", self.hostname, self.addr.port()),
        }
    }

    /// `MasterInfo.ip`: the IPv4 address in network byte order read as a little-endian
    /// uint32 (10.0.0.1 → 16777226); 0 for IPv6.
    pub(crate) fn ip_u32(&self) -> u32 {
        match self.addr.ip() {
            IpAddr::V4(v4) => u32::from_le_bytes(v4.octets()),
            IpAddr::V6(_) => 0,
        }
    }

    /// `MasterInfo` (`GET_MASTER`), fields in declaration order.
    pub(crate) fn info(&self) -> MasterInfo {
        MasterInfo {
            id: self.id.clone(),
            ip: self.ip_u32(),
            port: self.addr.port(),
            pid: self.pid(),
            hostname: self.hostname.clone(),
            version: self.version.clone(),
            address: Address {
                hostname: self.hostname.clone(),
                ip: self.addr.ip().to_string(),
                port: self.addr.port(),
            },
        }
    }

    /// The `MasterInfo` JSON a master writes into its ZooKeeper node: keys sorted, as stout's
    /// `JSON::Object` writes them.
    pub(crate) fn zk_json(&self) -> String {
        serde_json::to_value(self.info())
            .map(|v| v.to_string())
            .unwrap_or_default()
    }

    /// `/master/state`'s `leader_info`: `{id, pid, port, hostname}`.
    pub(crate) fn leader_info(&self) -> Value {
        json!({
            "id": self.id,
            "pid": self.pid(),
            "port": self.addr.port(),
            "hostname": self.hostname,
        })
    }
}

/// Who leads, and whether the leader is still recovering.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Leadership {
    /// The leading master's index, if one is elected.
    pub leader: Option<usize>,
    /// The leader answers 503 "Master has not finished recovery" while set.
    pub recovering: bool,
    /// When the current leader was elected, seconds since the epoch.
    pub elected_time: f64,
}

/// All masters and the leadership.
#[derive(Debug)]
pub(crate) struct Masters {
    pub list: Vec<Master>,
    leadership: Mutex<Leadership>,
}

/// How master `i` answers a leader-only request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// It leads and serves.
    Leader,
    /// It leads but is recovering: 503.
    Recovering,
    /// Another master leads: 307 to this `//host:port`.
    Follower(String),
    /// Nobody leads: 503.
    Leaderless,
}

impl Masters {
    /// Masters `list`, `leader` leading.
    pub(crate) fn new(list: Vec<Master>, leader: Option<usize>, now: f64) -> Masters {
        Masters {
            list,
            leadership: Mutex::new(Leadership {
                leader,
                recovering: false,
                elected_time: now,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Leadership> {
        self.leadership.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The leadership now.
    pub(crate) fn leadership(&self) -> Leadership {
        *self.lock()
    }

    /// Makes `leader` lead (or nobody); returns the previous leader.
    pub(crate) fn set_leader(&self, leader: Option<usize>, now: f64) -> Option<usize> {
        let mut l = self.lock();
        let prev = l.leader;
        l.leader = leader;
        l.recovering = false;
        l.elected_time = now;
        prev
    }

    /// Sets the leader's "recovering" flag.
    pub(crate) fn set_recovering(&self, on: bool) {
        self.lock().recovering = on;
    }

    /// How master `i` answers now.
    pub(crate) fn role(&self, i: usize) -> Role {
        let l = self.leadership();
        match l.leader {
            Some(j) if j == i && l.recovering => Role::Recovering,
            Some(j) if j == i => Role::Leader,
            Some(j) => match self.list.get(j) {
                Some(m) => Role::Follower(m.location()),
                None => Role::Leaderless,
            },
            None => Role::Leaderless,
        }
    }

    /// The leading master, if any.
    pub(crate) fn leader(&self) -> Option<&Master> {
        self.leadership().leader.and_then(|i| self.list.get(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn master(port: u16) -> Master {
        Master {
            addr: SocketAddr::from(([10, 0, 0, 1], port)),
            id: "m".into(),
            hostname: "10.0.0.1".into(),
            version: "1.11.0".into(),
            start_time: 0.0,
        }
    }

    #[test]
    fn master_info_ip_is_network_order_read_little_endian() {
        let m = master(5050);
        assert_eq!(m.ip_u32(), 16777226);
        assert_eq!(m.info().address.ip, "10.0.0.1");
        assert!(m.zk_json().starts_with(
            r#"{"address":{"hostname":"10.0.0.1","ip":"10.0.0.1","port":5050},"hostname""#
        ));
        assert_eq!(m.pid(), "master@10.0.0.1:5050");
        assert_eq!(m.location(), "//10.0.0.1:5050");
    }

    #[test]
    fn roles_follow_the_leadership() {
        let ms = Masters::new(vec![master(1), master(2)], Some(0), 0.0);
        assert_eq!(ms.role(0), Role::Leader);
        assert_eq!(ms.role(1), Role::Follower("//10.0.0.1:1".into()));
        ms.set_recovering(true);
        assert_eq!(ms.role(0), Role::Recovering);
        ms.set_leader(None, 1.0);
        assert_eq!(ms.role(0), Role::Leaderless);
        assert_eq!(ms.set_leader(Some(1), 2.0), None);
        assert_eq!(ms.role(0), Role::Follower("//10.0.0.1:2".into()));
    }
}
