//! A name's answer as herald-dns gives it, in `dig`'s presentation: the same
//! [`ZoneConfig::answer`] the DNS handler calls, on the same published snapshot. Pure.

use std::str::FromStr;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{LowerName, Name, Record, RecordType};

use crate::answer::ZoneConfig;
use crate::snapshot::ZoneSnapshot;

/// The record types the page offers.
pub const TYPES: [&str; 5] = ["A", "AAAA", "SRV", "PTR", "ANY"];

/// What herald-dns answers for one question.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// The question does not parse as a domain name or a type.
    Invalid(String),
    /// Not Herald's zone: herald-dns forwards it to its upstreams (allowed clients only).
    Forwarded,
    /// Herald's zone before the first full load of the registry.
    ServFail,
    /// Answered from the index.
    Answered(Sections),
}

/// The sections of an answer, one `dig`-style line per record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sections {
    /// `NOERROR`, `NXDOMAIN`, ...
    pub status: String,
    /// ANSWER.
    pub answer: Vec<String>,
    /// AUTHORITY.
    pub authority: Vec<String>,
    /// ADDITIONAL.
    pub additional: Vec<String>,
}

/// The question's name, fully qualified; `None` when it is not a domain name.
pub fn parse_name(text: &str) -> Option<Name> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let mut name = Name::from_ascii(text).ok()?;
    name.set_fqdn(true);
    Some(name)
}

/// A record as `dig` prints it: owner, TTL, class, type and data, tab-separated.
pub fn line(record: &Record) -> String {
    format!(
        "{}\t{}\tIN\t{}\t{}",
        record.name,
        record.ttl,
        record.record_type(),
        record.data
    )
}

/// Answers `name`/`qtype` from `zone` (`None` before the first load) as the DNS handler
/// would, for a class IN query.
pub fn ask(config: &ZoneConfig, zone: Option<&ZoneSnapshot>, name: &str, qtype: &str) -> Reply {
    let Some(qname) = parse_name(name) else {
        return Reply::Invalid(format!("{name:?} is not a domain name"));
    };
    let Ok(qtype) = RecordType::from_str(&qtype.trim().to_ascii_uppercase()) else {
        return Reply::Invalid(format!("{qtype:?} is not a record type"));
    };
    let lower = LowerName::new(&qname);
    let answer = match zone {
        Some(zone) => config.answer(zone, &qname, &lower, qtype),
        None if config.may_own(&lower) => return Reply::ServFail,
        None => None,
    };
    let Some(answer) = answer else {
        return Reply::Forwarded;
    };
    let lines = |records: &[Record]| records.iter().map(line).collect();
    Reply::Answered(Sections {
        status: rcode_name(answer.rcode),
        answer: lines(&answer.answers),
        authority: lines(&answer.authority),
        additional: lines(&answer.additional),
    })
}

/// The rcode as `dig` names it in its header line.
fn rcode_name(rcode: ResponseCode) -> String {
    match rcode {
        ResponseCode::NoError => "NOERROR".into(),
        ResponseCode::NXDomain => "NXDOMAIN".into(),
        ResponseCode::ServFail => "SERVFAIL".into(),
        ResponseCode::Refused => "REFUSED".into(),
        other => other.to_string().to_ascii_uppercase(),
    }
}

#[cfg(test)]
mod tests {
    use registry::Change;

    use super::*;
    use crate::index::ZoneIndex;
    use crate::test_support::{naming, task, zone_config};

    #[test]
    fn answers_as_the_handler_does() {
        let mut index = ZoneIndex::new(naming());
        let record = task("/web", "web.1", "10.0.0.7", &[("http", 31000)]);
        index.apply(1, vec![Change::Task(record)]);
        let zone = index.snapshot();
        let config = zone_config();
        let Reply::Answered(a) = ask(&config, Some(&zone), "web.marathon.mesos", "a") else {
            panic!("not answered");
        };
        assert_eq!(a.status, "NOERROR");
        assert_eq!(a.answer, ["web.marathon.mesos.\t60\tIN\tA\t10.0.0.7"]);
        let Reply::Answered(srv) = ask(&config, Some(&zone), "_web._tcp.marathon.mesos.", "SRV")
        else {
            panic!("not answered");
        };
        assert!(srv.answer[0].contains("\tSRV\t0 1 31000 web-"), "{srv:?}");
        assert_eq!(srv.additional.len(), 1, "{srv:?}");
        let Reply::Answered(miss) = ask(&config, Some(&zone), "nope.marathon.mesos", "A") else {
            panic!("not answered");
        };
        assert_eq!(miss.status, "NXDOMAIN");
        assert!(miss.authority[0].contains("\tSOA\t"), "{miss:?}");
        assert_eq!(
            ask(&config, Some(&zone), "example.com", "A"),
            Reply::Forwarded
        );
        assert_eq!(
            ask(&config, None, "web.marathon.mesos", "A"),
            Reply::ServFail
        );
        assert!(matches!(ask(&config, None, "a..b", "A"), Reply::Invalid(_)));
        assert!(matches!(
            ask(&config, None, "web", "NOPE"),
            Reply::Invalid(_)
        ));
    }
}
