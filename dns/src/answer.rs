//! Query -> response sections, from a zone snapshot. Pure: no I/O, no clock.

use std::collections::BTreeMap;

use hickory_proto::op::ResponseCode;
use std::net::IpAddr;

use hickory_proto::rr::rdata::{A, AAAA, NS, PTR, SOA, SRV};
use hickory_proto::rr::{LowerName, Name, RData, Record, RecordType};

use crate::snapshot::{NameRecords, ZoneSnapshot};

/// The SOA's REFRESH (seconds).
pub const SOA_REFRESH: u32 = 60;

/// Zone-wide answer settings.
#[derive(Clone, Debug)]
pub struct ZoneConfig {
    /// The zone apex (`mesos.`).
    pub apex: Name,
    /// TTL of positive answers.
    pub ttl: u32,
    /// TTL of negative answers (the SOA's MINIMUM and its TTL in AUTHORITY).
    pub negative_ttl: u32,
    /// SOA MNAME, also the apex NS.
    pub mname: Name,
    /// SOA RNAME.
    pub rname: Name,
    /// The addresses `mname` answers (as Mesos-DNS's `SOAMname`): the DNS listener's, or
    /// every non-loopback interface address when it listens on the unspecified address.
    pub mname_addrs: Vec<IpAddr>,
}

/// The sections of a response.
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    /// The response code.
    pub rcode: ResponseCode,
    /// ANSWER.
    pub answers: Vec<Record>,
    /// AUTHORITY.
    pub authority: Vec<Record>,
    /// ADDITIONAL.
    pub additional: Vec<Record>,
}

impl Answer {
    fn new(rcode: ResponseCode) -> Self {
        Answer {
            rcode,
            answers: Vec::new(),
            authority: Vec::new(),
            additional: Vec::new(),
        }
    }
}

impl ZoneConfig {
    fn soa(&self, serial: i64, ttl: u32) -> Record {
        let soa = SOA::new(
            self.mname.clone(),
            self.rname.clone(),
            serial as u32,
            SOA_REFRESH as i32,
            600,
            86400,
            self.negative_ttl,
        );
        Record::from_rdata(self.apex.clone(), ttl, RData::SOA(soa))
    }

    fn negative(&self, zone: &ZoneSnapshot, rcode: ResponseCode) -> Answer {
        let mut answer = Answer::new(rcode);
        let ttl = self.negative_ttl.min(self.ttl);
        answer.authority.push(self.soa(zone.revision, ttl));
        answer
    }

    /// True when `name` is, or may be, Herald's to answer: the zone (the apex and below)
    /// and the reverse zones, where task addresses have their PTRs. Which reverse names
    /// are Herald's is known only once the registry is loaded.
    pub fn may_own(&self, name: &LowerName) -> bool {
        let reverse = ["in-addr.arpa.", "ip6.arpa."];
        LowerName::new(&self.apex).zone_of(name)
            || reverse.iter().any(|zone| {
                Name::from_ascii(zone).is_ok_and(|zone| LowerName::new(&zone).zone_of(name))
            })
    }

    /// Answers a query for `qname` (as sent; its case is kept in the answers), or `None`
    /// when the name is not ours (forward it).
    pub fn answer(
        &self,
        zone: &ZoneSnapshot,
        qname: &Name,
        lower: &LowerName,
        qtype: RecordType,
    ) -> Option<Answer> {
        let apex = LowerName::new(&self.apex);
        if !apex.zone_of(lower) {
            return self.reverse(zone, qname, lower, qtype);
        }
        if *lower == apex {
            let mut answer = Answer::new(ResponseCode::NoError);
            let soa = matches!(qtype, RecordType::SOA | RecordType::ANY);
            let ns = matches!(qtype, RecordType::NS | RecordType::ANY);
            if soa {
                let mut record = self.soa(zone.revision, self.ttl);
                record.name = qname.clone();
                answer.answers.push(record);
            }
            if ns {
                let ns = RData::NS(NS(self.mname.clone()));
                answer.answers.push(self.record(qname, ns));
            }
            if answer.answers.is_empty() {
                return Some(self.negative(zone, ResponseCode::NoError));
            }
            return Some(answer);
        }
        if *lower == LowerName::new(&self.mname) {
            return Some(self.mname_answer(zone, qname, qtype));
        }
        let Some(records) = zone.lookup(lower) else {
            let rcode = if zone.is_empty_non_terminal(lower) {
                ResponseCode::NoError
            } else {
                ResponseCode::NXDomain
            };
            return Some(self.negative(zone, rcode));
        };
        let mut answer = Answer::new(ResponseCode::NoError);
        self.collect(zone, qname, &records, qtype, &mut answer);
        if answer.answers.is_empty() {
            return Some(self.negative(zone, ResponseCode::NoError));
        }
        Some(answer)
    }

    /// `mname` (`ns1.D`): the listener's addresses.
    fn mname_answer(&self, zone: &ZoneSnapshot, qname: &Name, qtype: RecordType) -> Answer {
        let mut answer = Answer::new(ResponseCode::NoError);
        for ip in &self.mname_addrs {
            let data = match (ip, qtype) {
                (IpAddr::V4(v4), RecordType::A | RecordType::ANY) => RData::A(A(*v4)),
                (IpAddr::V6(v6), RecordType::AAAA | RecordType::ANY) => RData::AAAA(AAAA(*v6)),
                _ => continue,
            };
            answer.answers.push(self.record(qname, data));
        }
        if answer.answers.is_empty() {
            return self.negative(zone, ResponseCode::NoError);
        }
        answer
    }

    /// PTR answers for task addresses; other reverse names are not ours.
    fn reverse(
        &self,
        zone: &ZoneSnapshot,
        qname: &Name,
        lower: &LowerName,
        qtype: RecordType,
    ) -> Option<Answer> {
        let records = zone.lookup(lower)?;
        let mut answer = Answer::new(ResponseCode::NoError);
        if matches!(qtype, RecordType::PTR | RecordType::ANY) {
            let ptr = records.ptr.iter().map(|target| {
                let rdata = RData::PTR(PTR(target.clone()));
                self.record(qname, rdata)
            });
            answer.answers.extend(ptr);
        }
        Some(answer)
    }

    /// A record at `owner` with the zone's TTL.
    fn record(&self, owner: &Name, rdata: impl Into<RData>) -> Record {
        Record::from_rdata(owner.clone(), self.ttl, rdata.into())
    }

    fn collect(
        &self,
        zone: &ZoneSnapshot,
        qname: &Name,
        records: &NameRecords,
        qtype: RecordType,
        answer: &mut Answer,
    ) {
        let any = qtype == RecordType::ANY;
        if any || qtype == RecordType::A {
            let a = records.a.iter().map(|ip| self.record(qname, *ip));
            answer.answers.extend(a);
        }
        if any || qtype == RecordType::AAAA {
            let aaaa = records.aaaa.iter().map(|ip| self.record(qname, *ip));
            answer.answers.extend(aaaa);
        }
        if any || qtype == RecordType::SRV {
            // Each target once in the additional section, with its addresses.
            let mut targets = BTreeMap::new();
            for srv in &records.srv {
                let Some(target) = srv.target_name(&zone.zone.naming) else {
                    continue;
                };
                let rdata = RData::SRV(SRV::new(0, 1, srv.port, target.clone()));
                answer.answers.push(self.record(qname, rdata));
                targets.entry(target).or_insert_with(|| srv.addresses());
            }
            for (target, addresses) in targets {
                let glue = addresses.iter().map(|ip| self.record(&target, *ip));
                answer.additional.extend(glue);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use registry::{AppId, Change, Health, TaskRecord, TaskState};

    use super::*;
    use crate::index::ZoneIndex;
    use crate::test_support::{naming, zone_config};

    /// A task of `app` on agent `...-S3` with ports `http` 31000 and `admin` 31001.
    fn task(app: &str, id: &str, agent_ip: &str) -> TaskRecord {
        let ports = [("http", 31000), ("admin", 31001)];
        crate::test_support::task(app, id, agent_ip, &ports)
    }

    fn ask(index: &ZoneIndex, name: &str, qtype: RecordType) -> Answer {
        let name = Name::from_ascii(name).unwrap();
        zone_config()
            .answer(&index.snapshot(), &name, &LowerName::new(&name), qtype)
            .expect("in zone")
    }

    #[test]
    fn the_soa_mname_answers_the_listener_addresses() {
        let index = ZoneIndex::new(naming());
        let a = ask(&index, "ns1.mesos.", RecordType::A);
        assert_eq!(rdatas(&a.answers), vec!["127.0.0.1"]);
        let aaaa = ask(&index, "ns1.mesos.", RecordType::AAAA);
        assert_eq!((aaaa.rcode, aaaa.answers.len()), (ResponseCode::NoError, 0));
        assert_eq!(aaaa.authority.len(), 1, "NODATA with the SOA");
    }

    fn rdatas(records: &[Record]) -> Vec<String> {
        let mut out: Vec<String> = records.iter().map(|r| r.data.to_string()).collect();
        out.sort();
        out
    }

    #[test]
    fn host_networking_app_follows_section_9() {
        let mut index = ZoneIndex::new(naming());
        index.apply(
            1,
            vec![Change::Task(task(
                "/prod/web/api",
                "prod_web_api.1",
                "10.0.0.7",
            ))],
        );
        let h = crate::names::task_hash("prod_web_api.1");
        let a = ask(&index, "api-web-prod.marathon.mesos.", RecordType::A);
        assert_eq!(rdatas(&a.answers), vec!["10.0.0.7"]);
        let srv = ask(
            &index,
            "_api-web-prod._tcp.marathon.mesos.",
            RecordType::SRV,
        );
        assert_eq!(
            rdatas(&srv.answers),
            vec![
                format!("0 1 31000 api-web-prod-{h}-s3.marathon.mesos."),
                format!("0 1 31001 api-web-prod-{h}-s3.marathon.mesos."),
            ]
        );
        assert_eq!(rdatas(&srv.additional), vec!["10.0.0.7"]);
        let named = ask(
            &index,
            "_http._api-web-prod._tcp.marathon.mesos.",
            RecordType::SRV,
        );
        assert_eq!(
            rdatas(&named.answers),
            vec![format!("0 1 31000 api-web-prod-{h}-s3.marathon.mesos.")]
        );
        let udp = ask(
            &index,
            "_api-web-prod._udp.marathon.mesos.",
            RecordType::SRV,
        );
        assert!(udp.answers.is_empty());
        assert_eq!(udp.authority.len(), 1, "SRV misses carry the SOA");
        let slave_udp = ask(
            &index,
            "_api-web-prod._udp.marathon.slave.mesos.",
            RecordType::SRV,
        );
        assert_eq!(
            rdatas(&slave_udp.answers),
            vec![
                format!("0 1 31000 api-web-prod-{h}-s3.marathon.slave.mesos."),
                format!("0 1 31001 api-web-prod-{h}-s3.marathon.slave.mesos."),
            ]
        );
    }

    #[test]
    fn negative_answers_distinguish_nodata_and_nxdomain() {
        let mut index = ZoneIndex::new(naming());
        index.apply(1, vec![Change::Task(task("/web", "web.1", "10.0.0.7"))]);
        let nodata = ask(&index, "web.marathon.mesos.", RecordType::AAAA);
        assert_eq!(nodata.rcode, ResponseCode::NoError);
        assert!(nodata.answers.is_empty());
        assert_eq!(nodata.authority[0].record_type(), RecordType::SOA);
        let ent = ask(&index, "marathon.mesos.", RecordType::A);
        assert_eq!(ent.rcode, ResponseCode::NoError, "empty non-terminal");
        let nx = ask(&index, "nope.marathon.mesos.", RecordType::A);
        assert_eq!(nx.rcode, ResponseCode::NXDomain);
        assert_eq!(nx.authority[0].ttl, 5);
        let soa = ask(&index, "mesos.", RecordType::SOA);
        assert_eq!(soa.answers[0].record_type(), RecordType::SOA);
    }

    #[test]
    fn updates_rebuild_only_what_changed_and_clean_up() {
        let mut index = ZoneIndex::new(naming());
        let t1 = task("/web", "web.1", "10.0.0.7");
        let mut t2 = task("/web", "web.2", "10.0.0.8");
        let stats = index.apply(1, vec![Change::Task(t1.clone()), Change::Task(t2.clone())]);
        assert_eq!(stats.families, 1);
        assert_eq!(
            rdatas(&ask(&index, "web.marathon.mesos.", RecordType::A).answers),
            vec!["10.0.0.7", "10.0.0.8"]
        );
        t2.health = Health::Unhealthy;
        index.apply(2, vec![Change::Task(t2)]);
        assert_eq!(
            rdatas(&ask(&index, "web.marathon.mesos.", RecordType::A).answers),
            vec!["10.0.0.7"]
        );
        let removal = Change::TaskRemoved {
            app_id: t1.app_id.clone(),
            task_id: t1.task_id.clone(),
        };
        index.apply(3, vec![removal.clone(), removal]);
        let gone = ask(&index, "web.marathon.mesos.", RecordType::A);
        assert_eq!(gone.rcode, ResponseCode::NXDomain);
        assert_eq!(
            ask(&index, "marathon.mesos.", RecordType::A).rcode,
            ResponseCode::NXDomain,
            "no empty non-terminals left behind"
        );
    }

    #[test]
    fn colliding_app_ids_are_reported_and_merged() {
        let mut index = ZoneIndex::new(naming());
        index.apply(1, vec![Change::Task(task("/a-b/c", "a-b_c.1", "10.0.0.1"))]);
        let stats = index.apply(2, vec![Change::Task(task("/b/c-a", "b_c-a.1", "10.0.0.2"))]);
        assert_eq!(stats.new_collisions.len(), 1);
        assert_eq!(index.collisions(), 1);
        assert_eq!(
            rdatas(&ask(&index, "c-a-b.marathon.mesos.", RecordType::A).answers),
            vec!["10.0.0.1", "10.0.0.2"]
        );
        // A second task of a colliding app is no new collision; its app leaving ends it.
        index.apply(3, vec![Change::Task(task("/b/c-a", "b_c-a.2", "10.0.0.3"))]);
        assert_eq!(index.collisions(), 1);
        let removed = |id: &str| Change::TaskRemoved {
            app_id: AppId::parse("/b/c-a").unwrap(),
            task_id: id.into(),
        };
        index.apply(4, vec![removed("b_c-a.1"), removed("b_c-a.2")]);
        assert_eq!(index.collisions(), 0);
        // A full load counts from what it loads.
        index.load(
            5,
            vec![
                task("/a-b/c", "a-b_c.1", "10.0.0.1"),
                task("/b/c-a", "b_c-a.1", "10.0.0.2"),
            ],
            vec![],
        );
        assert_eq!(index.collisions(), 1);
        index.load(6, vec![task("/a-b/c", "a-b_c.1", "10.0.0.1")], vec![]);
        assert_eq!(index.collisions(), 0);
    }

    #[test]
    fn task_ips_win_and_get_ptr_and_aaaa() {
        let mut index = ZoneIndex::new(naming());
        let mut t = task("/web", "web.1", "10.0.0.7");
        t.task_ips = vec!["fd01:b::1:8000:2".parse().unwrap()];
        let mut staging = task("/web", "web.2", "10.0.0.9");
        staging.state = TaskState::Staging;
        index.apply(1, vec![Change::Task(t), Change::Task(staging)]);
        let aaaa = ask(&index, "web.marathon.mesos.", RecordType::AAAA);
        assert_eq!(rdatas(&aaaa.answers), vec!["fd01:b::1:8000:2"]);
        let slave = ask(&index, "web.marathon.slave.mesos.", RecordType::A);
        assert_eq!(
            rdatas(&slave.answers),
            vec!["10.0.0.7"],
            "staging task left out"
        );
        let ptr_name = Name::from(std::net::IpAddr::from_str("fd01:b::1:8000:2").unwrap());
        let ptr = zone_config()
            .answer(
                &index.snapshot(),
                &ptr_name,
                &LowerName::new(&ptr_name),
                RecordType::PTR,
            )
            .expect("a PTR for a task address");
        let h = crate::names::task_hash("web.1");
        assert_eq!(
            rdatas(&ptr.answers),
            vec![format!("web-{h}-s3.marathon.mesos.")]
        );
        let other = Name::from(std::net::IpAddr::from_str("192.0.2.1").unwrap());
        assert!(
            zone_config()
                .answer(
                    &index.snapshot(),
                    &other,
                    &LowerName::new(&other),
                    RecordType::PTR
                )
                .is_none(),
            "unknown reverse names are forwarded"
        );
    }

    #[test]
    fn the_zone_and_the_reverse_zones_may_be_ours() {
        let config = zone_config();
        let owns = |name: &str| config.may_own(&LowerName::new(&Name::from_ascii(name).unwrap()));
        assert!(owns("mesos."));
        assert!(owns("Web.Marathon.MESOS."));
        assert!(owns("7.0.0.10.in-addr.arpa."));
        assert!(owns("b.d.0.1.0.0.2.ip6.arpa."));
        assert!(!owns("example.org."));
        assert!(!owns("mesos.example.org."));
        assert!(!owns("arpa."));
    }

    #[test]
    fn query_case_is_preserved() {
        let mut index = ZoneIndex::new(naming());
        index.apply(1, vec![Change::Task(task("/web", "web.1", "10.0.0.7"))]);
        let a = ask(&index, "WeB.MaRaThOn.mesos.", RecordType::A);
        assert_eq!(a.answers[0].name.to_string(), "WeB.MaRaThOn.mesos.");
    }
}
