//! The UDP query path (`herald_dns::udp::respond`: parse, answer from a zone snapshot,
//! encode) without sockets. Any datagram: no panic; a reply, when there is one, is a
//! response to the same ID that parses back. The zone is the one dns/tests/malformed.rs uses.
#![no_main]

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use arc_swap::ArcSwapOption;
use herald_dns::answer::ZoneConfig;
use herald_dns::handler::DnsHandler;
use herald_dns::index::ZoneIndex;
use herald_dns::served::{IpSource, Naming};
use herald_registry::{AppId, Change, Health, Protocol, Stamp, TaskPort, TaskRecord, TaskState};
use hickory_proto::op::Message;
use hickory_proto::rr::Name;
use libfuzzer_sys::fuzz_target;

fn task(app: &str, id: &str, ip: &str, port: u16) -> TaskRecord {
    TaskRecord {
        app_id: AppId::parse(app).expect("a valid app id"),
        task_id: id.into(),
        instance_id: None,
        agent_id: Some("2f3a9d0c-1111-4d7e-8a3b-5c2b1f0e9d77-S3".into()),
        host: ip.into(),
        agent_ips: vec![ip.parse().expect("an IP")],
        task_ips: vec![],
        ports: vec![TaskPort {
            name: Some("http".into()),
            protocols: vec![Protocol::Tcp],
            container_port: None,
            host_port: Some(port),
            service_port: None,
        }],
        state: TaskState::Running,
        health: Health::Unknown,
        app_version: None,
        updated_at: Stamp::now(),
    }
}

fn handler() -> &'static DnsHandler {
    static HANDLER: OnceLock<DnsHandler> = OnceLock::new();
    HANDLER.get_or_init(|| {
        let domain = Name::from_ascii("mesos.").expect("a name");
        let mut index = ZoneIndex::new(Naming {
            domain: domain.clone(),
            framework: "marathon".into(),
            ip_sources: vec![IpSource::Netinfo, IpSource::Host],
            legacy_names: false,
            health_aware: true,
            bridge_task_ips: false,
        });
        let tasks = [
            task("/web", "web.t1", "127.0.0.9", 31500),
            task("/prod/api", "prod_api.t1", "127.0.0.10", 31000),
        ];
        index.apply(7, tasks.into_iter().map(Change::Task).collect());
        let zone = Arc::new(ArcSwapOption::from(Some(index.snapshot())));
        let config = ZoneConfig {
            apex: domain,
            ttl: 60,
            negative_ttl: 5,
            mname: Name::from_ascii("ns1.mesos.").expect("a name"),
            rname: Name::from_ascii("root.ns1.mesos.").expect("a name"),
        };
        DnsHandler::new(zone, Arc::new(config), None, Arc::new(Vec::new()))
    })
}

fuzz_target!(|data: &[u8]| {
    let src: SocketAddr = "127.0.0.1:5353".parse().expect("an address");
    let reply = futures::executor::block_on(herald_dns::udp::respond(handler(), data, src));
    if let Some(reply) = reply {
        assert!(reply.len() >= 12);
        assert_eq!(reply[..2], data[..2]);
        assert_ne!(reply[2] & 0x80, 0);
        Message::from_vec(&reply).expect("the reply parses");
    }
});
