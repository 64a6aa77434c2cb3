//! Where the masters are (`--mesos`): a masters list (`http://m1:5050,http://m2:5050`) or
//! ZooKeeper (`zk://h1:2181,h2:2181/mesos`), and the master records each way yields (pure).
//!
//! - A list: masters are known by their configured address (`host:port` is their id), in
//!   the configured order; the leader is the one that accepts `SUBSCRIBE` (a follower's
//!   `307` names it). A leader outside the list gets the next position, as in Mesos-DNS.
//! - ZooKeeper: every `json.info_<sequence>` child of the path is a live master holding
//!   its `MasterInfo`; the lowest sequence leads. Positions: the leader first, then the
//!   others by sequence (Mesos-DNS' order).

use std::net::IpAddr;

use registry::addresses::is_usable;
use registry::{LeaderRecord, MasterRecord, Stamp};
use reqwest::Url;

use super::client::{MasterInfo, master_base};

/// The `--mesos` setting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Masters {
    /// Configured masters, in order.
    List(Vec<Url>),
    /// A ZooKeeper ensemble and the masters' path.
    ZooKeeper {
        /// `h1:2181,h2:2181`.
        servers: String,
        /// `/mesos`.
        path: String,
    },
}

impl Masters {
    /// Parses `--mesos`: comma-separated `http(s)://host:port` URLs (a bare `host:port` is
    /// taken as `http://`), or one `zk://hosts/path`.
    pub fn parse(spec: &str) -> Result<Masters, String> {
        let spec = spec.trim();
        if let Some(rest) = spec.strip_prefix("zk://") {
            let (servers, path) = rest
                .split_once('/')
                .ok_or_else(|| format!("--mesos {spec:?}: zk://hosts/path needs a path"))?;
            if servers.contains('@') {
                return Err(format!(
                    "--mesos {spec:?}: ZooKeeper credentials in the URL are not supported"
                ));
            }
            if servers.is_empty() || path.is_empty() {
                return Err(format!(
                    "--mesos {spec:?}: zk://hosts/path needs hosts and a path"
                ));
            }
            return Ok(Masters::ZooKeeper {
                servers: servers.to_string(),
                path: format!("/{}", path.trim_end_matches('/')),
            });
        }
        let mut urls = Vec::new();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let text = if part.contains("://") {
                part.to_string()
            } else {
                format!("http://{part}")
            };
            let mut url =
                Url::parse(&text).map_err(|e| format!("--mesos: {part:?} is not a URL: {e}"))?;
            if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                return Err(format!("--mesos: {part:?} must be http(s)://host:port"));
            }
            if url.port().is_none() && url.scheme() == "http" {
                let _ = url.set_port(Some(5050));
            }
            if !url.path().ends_with('/') {
                let path = format!("{}/", url.path());
                url.set_path(&path);
            }
            url.set_query(None);
            url.set_fragment(None);
            if !urls.contains(&url) {
                urls.push(url);
            }
        }
        if urls.is_empty() {
            return Err("--mesos: no master given".into());
        }
        Ok(Masters::List(urls))
    }
}

/// `host:port` of a URL (the id of a configured master).
pub fn address_of(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    let port = url.port_or_known_default().unwrap_or(5050);
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

fn ip_of(host: &str) -> Option<IpAddr> {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
        .filter(|ip| is_usable(*ip))
}

/// The records of a masters list whose leader is `leader` (its `MasterInfo` when
/// `GET_MASTER` answered). `resolved` gives the IP of a configured host name, when known.
pub fn list_records(
    configured: &[Url],
    leader: &Url,
    info: Option<&MasterInfo>,
    resolved: &dyn Fn(&str) -> Option<IpAddr>,
    observed: &Stamp,
) -> (Vec<MasterRecord>, LeaderRecord) {
    let leader_address = address_of(leader);
    let mut masters: Vec<MasterRecord> = configured
        .iter()
        .map(|url| {
            let host = url.host_str().unwrap_or_default().to_string();
            MasterRecord {
                master_id: address_of(url),
                ip: ip_of(&host).or_else(|| resolved(&host)),
                hostname: Some(host),
                port: url.port_or_known_default(),
                version: None,
                leading: address_of(url) == leader_address,
                position: None,
                updated_at: observed.clone(),
            }
        })
        .collect();
    if !masters.iter().any(|m| m.leading) {
        let host = leader.host_str().unwrap_or_default().to_string();
        masters.push(MasterRecord {
            master_id: leader_address.clone(),
            ip: ip_of(&host).or_else(|| resolved(&host)),
            hostname: Some(host),
            port: leader.port_or_known_default(),
            version: None,
            leading: true,
            position: None,
            updated_at: observed.clone(),
        });
    }
    for (i, m) in masters.iter_mut().enumerate() {
        m.position = u32::try_from(i).ok();
        if m.leading
            && let Some(info) = info
        {
            m.version = info.version.clone();
        }
    }
    let mut record = masters
        .iter()
        .find(|m| m.leading)
        .map(leader_of)
        .unwrap_or_else(|| LeaderRecord {
            master_id: leader_address,
            hostname: None,
            ip: None,
            port: None,
            updated_at: observed.clone(),
        });
    if let Some(info) = info {
        let (hostname, ip, port) = info_address(info);
        record.master_id = info.id.clone().unwrap_or(record.master_id);
        record.hostname = hostname.or(record.hostname);
        record.ip = ip.or(record.ip);
        record.port = port.or(record.port);
    }
    (masters, record)
}

fn leader_of(m: &MasterRecord) -> LeaderRecord {
    LeaderRecord {
        master_id: m.master_id.clone(),
        hostname: m.hostname.clone(),
        ip: m.ip,
        port: m.port,
        updated_at: m.updated_at.clone(),
    }
}

/// Host name, usable IP and port of a `MasterInfo` (`address` first, then the old fields
/// and the PID).
pub fn info_address(info: &MasterInfo) -> (Option<String>, Option<IpAddr>, Option<u16>) {
    let address = info.address.clone().unwrap_or_default();
    let pid = info.pid.as_deref().and_then(super::events::Pid::parse);
    let hostname = address.hostname.or_else(|| info.hostname.clone());
    let ip = address
        .ip
        .as_deref()
        .and_then(ip_of)
        .or_else(|| pid.as_ref().and_then(|p| ip_of(&p.host)));
    let port = address
        .port
        .or(info.port)
        .and_then(|p| u16::try_from(p).ok())
        .or(pid.as_ref().map(|p| p.port));
    (hostname, ip, port)
}

/// One `json.info_*` member of the ZooKeeper group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// The node's sequence number.
    pub sequence: u64,
    /// The node's name (`json.info_0000000017`).
    pub node: String,
    /// Its `MasterInfo`.
    pub info: MasterInfo,
}

/// The sequence of a `json.info_<digits>` node name; `None` for other children.
pub fn member_sequence(node: &str) -> Option<u64> {
    node.strip_prefix("json.info_")?.parse().ok()
}

/// The records of a ZooKeeper group (`members` in any order). `None` when it is empty.
pub fn zookeeper_records(
    members: &[Member],
    observed: &Stamp,
) -> Option<(Vec<MasterRecord>, LeaderRecord)> {
    let mut members: Vec<&Member> = members.iter().collect();
    members.sort_by_key(|m| m.sequence);
    let masters: Vec<MasterRecord> = members
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let (hostname, ip, port) = info_address(&m.info);
            MasterRecord {
                master_id: m.info.id.clone().unwrap_or_else(|| m.node.clone()),
                hostname,
                ip,
                port,
                version: m.info.version.clone(),
                leading: i == 0,
                position: u32::try_from(i).ok(),
                updated_at: observed.clone(),
            }
        })
        .collect();
    let leader = leader_of(masters.first()?);
    Some((masters, leader))
}

/// The base URL of a ZooKeeper member.
pub fn member_base(scheme: &str, info: &MasterInfo) -> Option<Url> {
    let (hostname, ip, port) = info_address(info);
    let host = ip.map(|ip| ip.to_string()).or(hostname)?;
    master_base(scheme, &host, port.unwrap_or(5050))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse() {
        assert_eq!(
            Masters::parse("zk://h1:2181,h2:2181/mesos").unwrap(),
            Masters::ZooKeeper {
                servers: "h1:2181,h2:2181".into(),
                path: "/mesos".into()
            }
        );
        let Masters::List(urls) = Masters::parse("http://m1:5050, m2 ,https://m3:443/p").unwrap()
        else {
            panic!()
        };
        let urls: Vec<&str> = urls.iter().map(Url::as_str).collect();
        assert_eq!(
            urls,
            ["http://m1:5050/", "http://m2:5050/", "https://m3/p/"]
        );
        assert!(Masters::parse("").is_err());
        assert!(Masters::parse("zk://h1:2181").is_err());
        assert!(Masters::parse("zk://u:p@h1:2181/mesos").is_err());
        assert!(Masters::parse("ftp://m1").is_err());
    }

    #[test]
    fn a_list_puts_an_unlisted_leader_last_and_takes_getmaster_details() {
        let configured: Vec<Url> = ["http://10.0.0.8:9/", "http://m2.example:5050/"]
            .iter()
            .map(|u| Url::parse(u).unwrap())
            .collect();
        let leader = Url::parse("http://10.0.0.6:7/").unwrap();
        let info = MasterInfo {
            id: Some("uuid-6".into()),
            address: Some(super::super::client::Address {
                hostname: Some("m6.example".into()),
                ip: Some("10.0.0.6".into()),
                port: Some(7),
            }),
            ..MasterInfo::default()
        };
        let resolved = |h: &str| (h == "m2.example").then(|| "10.0.0.2".parse().unwrap());
        let (masters, record) =
            list_records(&configured, &leader, Some(&info), &resolved, &Stamp::now());
        let view: Vec<(&str, Option<u32>, bool, Option<String>)> = masters
            .iter()
            .map(|m| {
                (
                    m.master_id.as_str(),
                    m.position,
                    m.leading,
                    m.ip.map(|i| i.to_string()),
                )
            })
            .collect();
        assert_eq!(
            view,
            vec![
                ("10.0.0.8:9", Some(0), false, Some("10.0.0.8".into())),
                ("m2.example:5050", Some(1), false, Some("10.0.0.2".into())),
                ("10.0.0.6:7", Some(2), true, Some("10.0.0.6".into())),
            ]
        );
        assert_eq!(record.master_id, "uuid-6");
        assert_eq!(record.hostname.as_deref(), Some("m6.example"));
        assert_eq!(record.port, Some(7));
    }

    #[test]
    fn zookeeper_members_lead_by_lowest_sequence() {
        let member = |seq: u64, ip: &str| {
            Member {
            sequence: seq,
            node: format!("json.info_{seq:010}"),
            info: serde_json::from_str(&format!(
                r#"{{"address":{{"hostname":"h{seq}","ip":"{ip}","port":5050}},"id":"id{seq}","ip":0,"pid":"master@{ip}:5050","port":5050,"version":"1.11.0"}}"#
            ))
            .unwrap(),
        }
        };
        let members = [
            member(17, "10.0.0.2"),
            member(3, "10.0.0.1"),
            member(20, "10.0.0.3"),
        ];
        let (masters, leader) = zookeeper_records(&members, &Stamp::now()).unwrap();
        assert_eq!(leader.master_id, "id3");
        assert_eq!(leader.ip, Some("10.0.0.1".parse().unwrap()));
        let order: Vec<_> = masters
            .iter()
            .map(|m| (m.master_id.as_str(), m.position))
            .collect();
        assert_eq!(
            order,
            vec![("id3", Some(0)), ("id17", Some(1)), ("id20", Some(2))]
        );
        assert!(zookeeper_records(&[], &Stamp::now()).is_none());
        assert_eq!(member_sequence("json.info_0000000017"), Some(17));
        assert_eq!(member_sequence("log_replicas"), None);
        assert_eq!(
            member_base("http", &members[0].info).unwrap().as_str(),
            "http://10.0.0.2:5050/"
        );
    }
}
