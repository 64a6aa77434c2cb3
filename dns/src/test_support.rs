//! Test and fuzzing support, in one place: the zone settings, task records and handler
//! that unit tests, `tests/malformed.rs` and the `dns_query` fuzz target build on, and the
//! checks every UDP reply must pass. Compiled for this crate's tests and behind the
//! `test-support` feature; not part of herald-dns's API.

use std::net::SocketAddr;
use std::sync::Arc;

use arc_swap::ArcSwapOption;
use hickory_proto::op::Message;
use hickory_proto::rr::Name;
use registry::harness::records;
use registry::{Change, TaskRecord};

use crate::answer::ZoneConfig;
use crate::handler::DnsHandler;
use crate::index::ZoneIndex;
use crate::served::{IpSource, Naming};
use crate::snapshot::ZoneSnapshot;

pub mod mesos;

/// `name` as a DNS name (panics on a name that is not one: test input).
pub fn name(name: &str) -> Name {
    Name::from_ascii(name).expect("a valid DNS name")
}

/// The `mesos.` zone: TTL 60, negative TTL 5, SOA `ns1.mesos. root.ns1.mesos.`.
pub fn zone_config() -> ZoneConfig {
    ZoneConfig {
        apex: name("mesos."),
        ttl: 60,
        negative_ttl: 5,
        mname: name("ns1.mesos."),
        rname: name("root.ns1.mesos."),
        mname_addrs: vec![std::net::Ipv4Addr::LOCALHOST.into()],
    }
}

/// Mesos-DNS's default naming (`marathon.mesos`), with task addresses first, then the
/// agent's.
pub fn naming() -> Naming {
    Naming {
        ip_sources: vec![IpSource::Netinfo, IpSource::Host],
        ..Naming::default()
    }
}

/// A running host-networking task on agent `...-S3` (its canonical names end in `-s3`),
/// with named TCP ports on host ports.
pub fn task(app: &str, id: &str, agent_ip: &str, ports: &[(&str, u16)]) -> TaskRecord {
    records::task(app, id, agent_ip)
        .agent_id("2f3a9d0c-1111-4d7e-8a3b-5c2b1f0e9d77-S3")
        .ports(
            ports
                .iter()
                .map(|(name, port)| records::port(name, None, Some(*port)))
                .collect(),
        )
        .build()
}

/// A handler for [`zone_config`]'s zone without upstreams, answering from `zone` (`None`:
/// not loaded yet).
pub fn handler(zone: Option<Arc<ZoneSnapshot>>) -> DnsHandler {
    let zone = Arc::new(ArcSwapOption::new(zone));
    DnsHandler::new(zone, Arc::new(zone_config()), None, Arc::new(Vec::new()))
}

/// The handler the fuzz target and `tests/malformed.rs` feed bytes to: two apps,
/// `web.marathon.mesos` (127.0.0.9, port `http` 31500) and `api-prod.marathon.mesos`
/// (127.0.0.10, port `http` 31000); no upstreams.
pub fn fuzz_handler() -> DnsHandler {
    let mut index = ZoneIndex::new(naming());
    let tasks = [
        task("/web", "web.t1", "127.0.0.9", &[("http", 31500)]),
        task("/prod/api", "prod_api.t1", "127.0.0.10", &[("http", 31000)]),
    ];
    index.apply(7, tasks.into_iter().map(Change::Task).collect());
    handler(Some(index.snapshot()))
}

/// The client address fuzzed queries come from (loopback, port 5353).
pub fn fuzz_source() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 5353))
}

/// What every reply to `query` must be: a response (QR set) to the same ID that parses.
/// Panics, naming the query, when it is not.
pub fn check_reply(query: &[u8], reply: &[u8]) {
    assert!(reply.len() >= 12, "{query:?}: a short reply");
    assert_eq!(reply[..2], query[..2], "{query:?}: the ID");
    assert_ne!(reply[2] & 0x80, 0, "{query:?}: QR set");
    if let Err(e) = Message::from_vec(reply) {
        panic!("{query:?}: unparsable reply: {e}");
    }
}
