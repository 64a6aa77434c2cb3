//! Command-line flags (each with a `HERALD_DNS_*` environment fallback) and what they
//! turn into.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use hickory_proto::rr::Name;
use ipnet::IpNet;
use registry::EtcdArgs;
use service::LogArgs;

use crate::answer::ZoneConfig;
use crate::names;
use crate::served::{IpSource, Naming};

/// Errors in the flags.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The domain or framework does not make a valid DNS name.
    #[error("invalid DNS name {0:?}")]
    BadName(String),
    /// An `--upstream` value is not `ip` or `ip:port`.
    #[error("invalid upstream {0:?}: expected ip or ip:port")]
    BadUpstream(String),
}

/// herald-dns: a Mesos-DNS compatible DNS server fed by Herald's registry.
#[derive(Clone, Debug, clap::Parser)]
#[command(name = "herald-dns", version, about)]
pub struct Config {
    /// etcd connection.
    #[command(flatten)]
    pub etcd: EtcdArgs,
    /// Logging.
    #[command(flatten)]
    pub log: LogArgs,
    /// UDP and TCP address for DNS (port 53 needs root or CAP_NET_BIND_SERVICE).
    #[arg(long, env = "HERALD_DNS_LISTEN", default_value = "127.0.0.1:53")]
    pub dns_listen: SocketAddr,
    /// Address of the HTTP API (/v1/*, /healthz, /metrics).
    #[arg(long, env = "HERALD_DNS_HTTP_LISTEN", default_value = "127.0.0.1:8123")]
    pub http_listen: SocketAddr,
    /// The zone Herald is authoritative for.
    #[arg(long, env = "HERALD_DNS_DOMAIN", default_value = "mesos")]
    pub domain: String,
    /// The framework label between task names and the domain.
    #[arg(long, env = "HERALD_DNS_FRAMEWORK", default_value = "marathon")]
    pub framework: String,
    /// Upstream resolvers (ip or ip:port), repeatable; default: /etc/resolv.conf's
    /// nameservers minus Herald's own address.
    #[arg(long = "upstream", env = "HERALD_DNS_UPSTREAM", value_delimiter = ',')]
    pub upstreams: Vec<String>,
    /// Client networks allowed to use forwarding (CIDR), repeatable; others get REFUSED.
    #[arg(
        long = "allow-recursion",
        env = "HERALD_DNS_ALLOW_RECURSION",
        value_delimiter = ',',
        default_value = "127.0.0.0/8,::1/128,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7"
    )]
    pub allow_recursion: Vec<IpNet>,
    /// TTL of answers (seconds).
    #[arg(long, env = "HERALD_DNS_TTL", default_value_t = 60)]
    pub ttl: u32,
    /// TTL of negative answers: the SOA MINIMUM (seconds).
    #[arg(long, env = "HERALD_DNS_NEGATIVE_TTL", default_value_t = 5)]
    pub negative_ttl: u32,
    /// Address sources for task A/AAAA records, in order (like Mesos-DNS IPSources).
    #[arg(
        long,
        env = "HERALD_DNS_IP_SOURCES",
        value_enum,
        value_delimiter = ',',
        default_value = "netinfo,mesos,host"
    )]
    pub ip_sources: Vec<IpSource>,
    /// Also serve Mesos-DNS's legacy dotted names (`web.prod.marathon.mesos`).
    #[arg(long, env = "HERALD_DNS_LEGACY_NAMES")]
    pub legacy_names: bool,
    /// Serve Docker bridge containers' own IPs (Mesos-DNS behaviour) instead of their agent's
    /// address. Those IPs are only reachable on the container's agent.
    #[arg(long, env = "HERALD_DNS_BRIDGE_TASK_IPS")]
    pub bridge_task_ips: bool,
    /// Serve tasks known to be unhealthy (Mesos-DNS behaviour).
    #[arg(long, env = "HERALD_DNS_SERVE_UNHEALTHY")]
    pub serve_unhealthy: bool,
    /// Answer A/AAAA records always in the same (sorted) order instead of rotating them from
    /// one answer to the next.
    #[arg(long, env = "HERALD_DNS_FIXED_ORDER")]
    pub fixed_order: bool,
    /// DNS threads (one single-threaded runtime and one SO_REUSEPORT socket each);
    /// 0 means one per core.
    #[arg(long, env = "HERALD_DNS_THREADS", default_value_t = 0)]
    pub threads: usize,
    /// Receive buffer of each DNS/UDP socket (bytes), room for bursts of queries; 0 keeps
    /// the system default. Above net.core.rmem_max it needs CAP_NET_ADMIN.
    #[arg(long, env = "HERALD_DNS_UDP_RECV_BUFFER", default_value_t = 4 << 20)]
    pub udp_recv_buffer: usize,
    /// Send buffer of each DNS/UDP socket (bytes); 0 keeps the system default. Above
    /// net.core.wmem_max it needs CAP_NET_ADMIN.
    #[arg(long, env = "HERALD_DNS_UDP_SEND_BUFFER", default_value_t = 4 << 20)]
    pub udp_send_buffer: usize,
    /// Serve the status page (`/`, `/ui/*`) on the HTTP listener (`--status-page false`:
    /// off, and neither its catalog nor its watch of the subscriber's status is kept).
    #[arg(
        long,
        env = "HERALD_DNS_STATUS_PAGE",
        default_value_t = true,
        action = clap::ArgAction::Set
    )]
    pub status_page: bool,
}

impl Config {
    /// The zone apex (`mesos.`).
    pub fn apex(&self) -> Result<Name, ConfigError> {
        let domain = names::domain_frag(&self.domain);
        Name::from_ascii(format!("{domain}."))
            .ok()
            .filter(|_| !domain.is_empty())
            .ok_or_else(|| ConfigError::BadName(self.domain.clone()))
    }

    /// The naming settings.
    pub fn naming(&self) -> Result<Naming, ConfigError> {
        let framework = names::domain_frag(&self.framework);
        if framework.is_empty() {
            return Err(ConfigError::BadName(self.framework.clone()));
        }
        Ok(Naming {
            domain: self.apex()?,
            framework,
            ip_sources: self.ip_sources.clone(),
            legacy_names: self.legacy_names,
            health_aware: !self.serve_unhealthy,
            bridge_task_ips: self.bridge_task_ips,
        })
    }

    /// The SOA / TTL settings.
    pub fn zone(&self) -> Result<ZoneConfig, ConfigError> {
        let apex = self.apex()?;
        let bad = || ConfigError::BadName(self.domain.clone());
        let mname = Name::from_ascii(format!("ns1.{apex}")).map_err(|_| bad())?;
        let rname = Name::from_ascii(format!("root.ns1.{apex}")).map_err(|_| bad())?;
        Ok(ZoneConfig {
            apex,
            ttl: self.ttl,
            negative_ttl: self.negative_ttl,
            mname,
            rname,
            mname_addrs: listener_addresses(self.dns_listen.ip()),
        })
    }

    /// The upstream resolvers: the flags, else /etc/resolv.conf minus our own address.
    pub fn upstreams(&self) -> Result<Vec<SocketAddr>, ConfigError> {
        if !self.upstreams.is_empty() {
            return self.upstreams.iter().map(|u| parse_upstream(u)).collect();
        }
        let text = std::fs::read_to_string(Path::new("/etc/resolv.conf")).unwrap_or_default();
        Ok(resolv_conf_upstreams(&text, self.dns_listen))
    }
}

/// The addresses a listener on `ip` is reached at: `ip` itself, or, for the unspecified
/// address, every non-loopback interface address (IPv4 only for `0.0.0.0`), as Mesos-DNS
/// answers its SOA MNAME.
pub fn listener_addresses(ip: IpAddr) -> Vec<IpAddr> {
    if !ip.is_unspecified() {
        return vec![ip];
    }
    let Ok(interfaces) = nix::ifaddrs::getifaddrs() else {
        return Vec::new();
    };
    let mut out: Vec<IpAddr> = interfaces
        .filter_map(|i| {
            let address = i.address?;
            address
                .as_sockaddr_in()
                .map(|v4| IpAddr::V4(v4.ip()))
                .or_else(|| address.as_sockaddr_in6().map(|v6| IpAddr::V6(v6.ip())))
        })
        .filter(|a| !a.is_loopback() && registry::addresses::is_usable(*a))
        .filter(|a| ip.is_ipv6() || a.is_ipv4())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Parses `ip`, `ip:port` or `[v6]:port` (port 53 by default).
pub fn parse_upstream(text: &str) -> Result<SocketAddr, ConfigError> {
    let text = text.trim();
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    text.parse::<IpAddr>()
        .map(|ip| SocketAddr::new(ip, 53))
        .map_err(|_| ConfigError::BadUpstream(text.to_string()))
}

/// The `nameserver` lines of a resolv.conf, without `own` (Herald must not forward to
/// itself).
pub fn resolv_conf_upstreams(text: &str, own: SocketAddr) -> Vec<SocketAddr> {
    text.lines()
        .filter_map(|line| line.trim().strip_prefix("nameserver"))
        .filter_map(|rest| rest.trim().parse::<IpAddr>().ok())
        .map(|ip| SocketAddr::new(ip, 53))
        .filter(|addr| *addr != own && !(own.ip().is_unspecified() && addr.port() == own.port()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolv_conf_skips_our_own_address() {
        let own: SocketAddr = "127.0.0.1:53".parse().unwrap();
        let text = "# c\nnameserver 127.0.0.1\nnameserver 10.0.0.2\nsearch x\nnameserver ::1\n";
        let got = resolv_conf_upstreams(text, own);
        assert_eq!(
            got,
            vec!["10.0.0.2:53".parse().unwrap(), "[::1]:53".parse().unwrap()]
        );
    }

    #[test]
    fn upstreams_parse_with_and_without_port() {
        assert_eq!(
            parse_upstream("10.1.1.1").unwrap(),
            "10.1.1.1:53".parse().unwrap()
        );
        assert_eq!(
            parse_upstream("127.0.0.1:5301").unwrap(),
            "127.0.0.1:5301".parse().unwrap()
        );
        assert!(parse_upstream("example.com").is_err());
    }
}
