//! The record dumps of the HTTP API, from a zone snapshot: `/v1/axfr` (every A, AAAA and
//! SRV record of the zone, in Mesos-DNS's shape) and `/v1/enumerate` (every served task's
//! records, by framework). Pure. Neither holds anything but DNS data: no setting, no
//! secret.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use hickory_proto::rr::Name;
use serde_json::{Value as Json, json};

use crate::answer::{SOA_REFRESH, ZoneConfig};
use crate::served::{Naming, Value};
use crate::snapshot::ZoneSnapshot;

/// Name -> values, sorted, for one record type.
type Table = BTreeMap<String, BTreeSet<String>>;

/// Mesos-DNS's `/v1/axfr`: `{"TTL","Serial","RefreshSeconds","Mname","Rname","Domain",
/// "Records":{"As":{name:[ip]},"AAAAs":{name:[ip]},"SRVs":{name:["target.:port"]}}}`.
/// Serial is the etcd revision the snapshot reflects (the SOA serial); RefreshSeconds the
/// SOA refresh (Herald does not poll: the registry pushes every change).
pub fn axfr(zone: &ZoneSnapshot, config: &ZoneConfig) -> Json {
    let naming = &zone.zone.naming;
    let (mut a, mut aaaa, mut srv) = (Table::new(), Table::new(), Table::new());
    let mut address = |name: &Name, ip: &IpAddr| {
        let table = if ip.is_ipv4() { &mut a } else { &mut aaaa };
        let set = table.entry(name.to_string()).or_default();
        set.insert(ip.to_string());
    };
    for (name, records) in zone.names.iter() {
        let Some(name) = name.to_name() else { continue };
        for ip in records.a.iter() {
            address(&name, &IpAddr::V4(*ip));
        }
        for ip in records.aaaa.iter() {
            address(&name, &IpAddr::V6(*ip));
        }
        for value in records.srv.iter() {
            if let Some(target) = value.target_name(naming) {
                let set = srv.entry(name.to_string()).or_default();
                set.insert(format!("{target}:{}", value.port));
            }
        }
    }
    // Each served task's shared names (`T`, `T.slave`, SRV; not stored) and canonical names.
    for entry in zone.entries() {
        for (name, value) in naming.family_values(entry) {
            match value {
                Value::Addr(ip) => address(&Name::from(name), &ip),
                Value::Srv(value) => {
                    if let Some(target) = value.target_name(naming) {
                        let set = srv.entry(name.to_string()).or_default();
                        set.insert(format!("{target}:{}", value.port));
                    }
                }
            }
        }
        for (name, ip) in naming.canonical_values(entry) {
            address(&name, &ip);
        }
    }
    json!({
        "TTL": config.ttl,
        "Serial": zone.revision as u32,
        "RefreshSeconds": SOA_REFRESH,
        "Mname": config.mname.to_string(),
        "Rname": config.rname.to_string(),
        "Domain": config.apex.to_string().trim_end_matches('.'),
        "Records": {"As": a, "AAAAs": aaaa, "SRVs": srv},
    })
}

/// Mesos-DNS's `/v1/enumerate`: `{"frameworks":[{"name","tasks":[{"name","id","records":
/// [{"name","host","rtype"}]}]}]}`, frameworks by name (Marathon's always listed), tasks
/// by name and id; SRV hosts are `target:port`.
pub fn enumerate(zone: &ZoneSnapshot, naming: &Naming) -> Json {
    let mut frameworks: BTreeMap<&str, Vec<Json>> = BTreeMap::new();
    frameworks.entry(&naming.framework).or_default();
    let mut entries: Vec<_> = zone.entries().collect();
    entries.sort_by(|a, b| (&a.family, &a.task.task_id).cmp(&(&b.family, &b.task.task_id)));
    let record = |name: &dyn std::fmt::Display, host: String, rtype: &str| json!({"name": name.to_string(), "host": host, "rtype": rtype});
    let rtype = |ip: &IpAddr| if ip.is_ipv4() { "A" } else { "AAAA" };
    for entry in entries {
        let mut records: Vec<Json> = Vec::new();
        for (name, value) in naming.family_values(entry) {
            records.push(match value {
                Value::Addr(ip) => record(&name, ip.to_string(), rtype(&ip)),
                Value::Srv(srv) => {
                    let target = srv.target_name(naming);
                    let target = target.map(|n| n.to_string()).unwrap_or_default();
                    record(&name, format!("{target}:{}", srv.port), "SRV")
                }
            });
        }
        for (name, ip) in naming.canonical_values(entry) {
            records.push(record(&name, ip.to_string(), rtype(&ip)));
        }
        let task =
            json!({"name": &*entry.family.name, "id": &*entry.task.task_id, "records": records});
        frameworks
            .entry(&entry.family.framework)
            .or_default()
            .push(task);
    }
    let frameworks: Vec<Json> = frameworks
        .into_iter()
        .map(|(name, tasks)| json!({"name": name, "tasks": tasks}))
        .collect();
    json!({ "frameworks": frameworks })
}
