//! The hickory request handler: zone answers from the current snapshot, everything else
//! through the forwarder for clients in the recursion ACL, REFUSED for the rest.
//! Opcodes other than QUERY get NOTIMP; classes other than IN are not the zone's.
//!
//! Before the first full load there is no snapshot: names in Herald's zones get SERVFAIL
//! (a resolver then asks its next server), every other name is forwarded as usual.
//! Every response to a query with EDNS carries an OPT record, errors included.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use arc_swap::ArcSwapOption;
use hickory_proto::op::{Edns, MessageType, Metadata, OpCode, ResponseCode};
use hickory_proto::rr::{DNSClass, Record, RecordType};
use hickory_proto::serialize::binary::{BinDecoder, BinEncodable, BinEncoder};
use hickory_server::net::NetError;
use hickory_server::net::runtime::Time;
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::{Catalog, MessageResponseBuilder, Queries};
use ipnet::IpNet;

use crate::answer::ZoneConfig;
use crate::snapshot::ZoneSnapshot;

/// Largest UDP payload Herald advertises or fills (the DNS Flag Day 2020 value).
pub const MAX_UDP_PAYLOAD: u16 = 1232;

/// The zone state every DNS runtime reads: swapped atomically by the feed.
pub type SharedZone = Arc<ArcSwapOption<ZoneSnapshot>>;

/// Handles one DNS request. One per DNS runtime (each has its own forwarder).
#[derive(Clone)]
pub struct DnsHandler {
    zone: SharedZone,
    config: Arc<ZoneConfig>,
    forwarder: Option<Arc<Catalog>>,
    allow_recursion: Arc<Vec<IpNet>>,
    /// Where the next run of address answers starts (`None`: always sorted).
    rotation: Option<Arc<AtomicUsize>>,
}

impl DnsHandler {
    /// A handler answering `config`'s zone from `zone`, forwarding through `forwarder`.
    pub fn new(
        zone: SharedZone,
        config: Arc<ZoneConfig>,
        forwarder: Option<Arc<Catalog>>,
        allow_recursion: Arc<Vec<IpNet>>,
    ) -> Self {
        DnsHandler {
            zone,
            config,
            forwarder,
            allow_recursion,
            rotation: None,
        }
    }

    /// The same handler, answering runs of A (or AAAA) records round-robin: each answer
    /// starts one record later than the last one did.
    pub fn rotating(mut self) -> Self {
        self.rotation = Some(Arc::new(AtomicUsize::new(0)));
        self
    }

    /// True when `ip` may use forwarding (there are upstreams and it is in the ACL).
    pub fn may_recurse(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        self.forwarder.is_some() && self.allow_recursion.iter().any(|net| net.contains(&ip))
    }

    async fn respond<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        mut response: R,
    ) -> ResponseInfo {
        let plain = plain_question(request);
        let bad_opcode = request.metadata.message_type != MessageType::Query
            || request.metadata.op_code != OpCode::Query;
        if bad_opcode || !plain {
            let code = if bad_opcode {
                ResponseCode::NotImp
            } else {
                ResponseCode::FormErr
            };
            if plain {
                return error(request, response, code).await;
            }
            // Echoing such a question would copy its compression pointers into a message
            // where they point elsewhere: answer without a question.
            return match Queries::read(&mut BinDecoder::new(&[]), 0) {
                Ok(none) => error_with(&none, request, response, code).await,
                Err(_) => error(request, response, code).await,
            };
        }
        if request.edns.as_ref().is_some_and(|e| e.version() > 0) {
            return bad_version(request, response).await;
        }
        let Ok(info) = request.request_info() else {
            return error(request, response, ResponseCode::FormErr).await;
        };
        let query = info.query;
        let qname = query.original().name();
        // The zone exists in class IN only: other classes (CH, HS, unknown) are not ours.
        let ours = matches!(query.query_class(), DNSClass::IN | DNSClass::ANY);
        let answer = match self.zone.load_full() {
            Some(zone) if ours => {
                self.config
                    .answer(&zone, qname, query.name(), query.query_type())
            }
            // Not loaded yet: Herald cannot tell whether the name exists.
            None if ours && self.config.may_own(query.name()) => {
                return error(request, response, ResponseCode::ServFail).await;
            }
            _ => None,
        };
        let Some(answer) = answer else {
            if self.may_recurse(request.src().ip())
                && let Some(forwarder) = &self.forwarder
            {
                return forwarder.handle_request::<R, T>(request, response).await;
            }
            return error(request, response, ResponseCode::Refused).await;
        };
        let mut answer = answer;
        if let Some(next) = &self.rotation {
            rotate_addresses(&mut answer.answers, next.fetch_add(1, Ordering::Relaxed));
        }
        let edns = response_edns(request);
        let mut builder = MessageResponseBuilder::from_message_request(request);
        if let Some(edns) = &edns {
            builder.edns(edns);
        }
        let mut metadata = Metadata::response_from_request(&request.metadata);
        metadata.authoritative = true;
        metadata.recursion_available = self.may_recurse(request.src().ip());
        metadata.response_code = answer.rcode;
        let message = builder.build(
            metadata,
            answer.answers.iter(),
            answer.authority.iter(),
            std::iter::empty::<&Record>(),
            answer.additional.iter(),
        );
        match response.send_response(message).await {
            Ok(info) => info,
            Err(e) => unsent(request, ResponseCode::ServFail, &e),
        }
    }
}

/// The OPT of a response to `request`: `None` when the query has none, else version 0
/// with the client's UDP size, at most [`MAX_UDP_PAYLOAD`].
fn response_edns(request: &Request) -> Option<Edns> {
    request.edns.as_ref().map(|req| {
        let mut edns = Edns::new();
        edns.set_max_payload(req.max_payload().clamp(512, MAX_UDP_PAYLOAD));
        edns.set_version(0);
        edns
    })
}

/// Rotates `answers` left by `by` when they are two or more A records, or two or more AAAA
/// records (other answers keep their order).
fn rotate_addresses(answers: &mut [Record], by: usize) {
    let Some(first) = answers.first().map(|r| r.record_type()) else {
        return;
    };
    let addresses = matches!(first, RecordType::A | RecordType::AAAA);
    if answers.len() >= 2 && addresses && answers.iter().all(|r| r.record_type() == first) {
        let len = answers.len();
        answers.rotate_left(by % len);
    }
}

/// True when the question section is one question written out plainly (no compression
/// pointer), as every real client sends it: its bytes can be echoed in the response.
fn plain_question(request: &Request) -> bool {
    let [query] = request.queries.queries() else {
        return false;
    };
    let mut bytes = Vec::new();
    let mut encoder = BinEncoder::new(&mut bytes);
    query.original().emit(&mut encoder).is_ok() && bytes == request.queries.as_bytes()
}

/// RFC 6891 6.1.3: a query with an EDNS version above 0 gets BADVERS and an OPT of version
/// 0 (the highest Herald speaks), and no answer.
async fn bad_version<R: ResponseHandler>(request: &Request, mut response: R) -> ResponseInfo {
    let mut edns = Edns::new();
    edns.set_version(0);
    edns.set_max_payload(MAX_UDP_PAYLOAD);
    let mut builder = MessageResponseBuilder::from_message_request(request);
    builder.edns(&edns);
    let mut metadata = Metadata::response_from_request(&request.metadata);
    metadata.response_code = ResponseCode::BADVERS;
    let none = std::iter::empty::<&Record>;
    let message = builder.build(metadata, none(), none(), none(), none());
    match response.send_response(message).await {
        Ok(info) => info,
        Err(e) => unsent(request, ResponseCode::BADVERS, &e),
    }
}

/// What a response that could not be sent reports to the metrics.
fn unsent(request: &Request, code: ResponseCode, error: &NetError) -> ResponseInfo {
    tracing::debug!(%error, "sending a response failed");
    let mut metadata = Metadata::response_from_request(&request.metadata);
    metadata.response_code = code;
    ResponseInfo::from(hickory_proto::op::Header {
        metadata,
        counts: Default::default(),
    })
}

async fn error<R: ResponseHandler>(
    request: &Request,
    response: R,
    code: ResponseCode,
) -> ResponseInfo {
    error_with(&request.queries, request, response, code).await
}

/// An error response echoing `queries`, with an OPT when the query has one (RFC 6891 7).
async fn error_with<R: ResponseHandler>(
    queries: &Queries,
    request: &Request,
    mut response: R,
    code: ResponseCode,
) -> ResponseInfo {
    let edns = response_edns(request);
    let builder = MessageResponseBuilder::new(queries, edns.as_ref());
    let message = builder.error_msg(&request.metadata, code);
    match response.send_response(message).await {
        Ok(info) => info,
        Err(e) => unsent(request, code, &e),
    }
}

#[async_trait::async_trait]
impl RequestHandler for DnsHandler {
    async fn handle_request<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        response_handle: R,
    ) -> ResponseInfo {
        let start = Instant::now();
        let info = self.respond::<R, T>(request, response_handle).await;
        let qtype = crate::metrics::qtype(request);
        crate::metrics::query(qtype, info.response_code, start.elapsed());
        info
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use hickory_proto::op::{Message, Query};
    use hickory_proto::rr::rdata::{A, AAAA};
    use hickory_proto::rr::{Name, RData};

    use super::*;
    use crate::test_support::handler;

    fn record(data: RData) -> Record {
        Record::from_rdata(Name::from_ascii("web.marathon.mesos.").unwrap(), 60, data)
    }

    fn a(last: u8) -> Record {
        record(RData::A(A(Ipv4Addr::new(10, 0, 0, last))))
    }

    fn order(records: &[Record]) -> Vec<String> {
        records.iter().map(|r| r.data.to_string()).collect()
    }

    /// The UDP response of `handler` to a query for `name`, with or without EDNS.
    async fn ask(handler: &DnsHandler, name: &str, qtype: RecordType, edns: bool) -> Message {
        let mut query = Message::query();
        query.metadata.recursion_desired = true;
        query.add_query(Query::query(Name::from_ascii(name).unwrap(), qtype));
        if edns {
            let mut opt = Edns::new();
            opt.set_max_payload(4096);
            query.set_edns(opt);
        }
        let src = "127.0.0.1:5353".parse().unwrap();
        let wire = crate::udp::respond(handler, &query.to_vec().unwrap(), src)
            .await
            .expect("a reply");
        Message::from_vec(&wire).unwrap()
    }

    #[tokio::test]
    async fn before_the_first_load_zone_names_get_servfail_and_others_are_not_ours() {
        let handler = handler(None);
        for name in [
            "web.marathon.mesos.",
            "mesos.",
            "7.0.0.10.in-addr.arpa.",
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa.",
        ] {
            let reply = ask(&handler, name, RecordType::A, true).await;
            assert_eq!(
                reply.metadata.response_code,
                ResponseCode::ServFail,
                "{name}"
            );
            assert!(reply.edns.is_some(), "{name}: the OPT is kept");
        }
        // No upstream here, so a name that is not Herald's is refused, not failed.
        let other = ask(&handler, "example.org.", RecordType::A, true).await;
        assert_eq!(other.metadata.response_code, ResponseCode::Refused);
        // Loaded (even empty), the zone answers.
        let loaded = self::handler(Some(Arc::new(ZoneSnapshot::default())));
        let apex = ask(&loaded, "mesos.", RecordType::SOA, true).await;
        assert_eq!(apex.metadata.response_code, ResponseCode::NoError);
        assert_eq!(apex.answers.len(), 1);
    }

    #[tokio::test]
    async fn refused_answers_keep_the_opt_record() {
        let handler = handler(Some(Arc::new(ZoneSnapshot::default())));
        let reply = ask(&handler, "example.org.", RecordType::A, true).await;
        assert_eq!(reply.metadata.response_code, ResponseCode::Refused);
        let edns = reply.edns.expect("an OPT in the REFUSED response");
        assert_eq!(edns.version(), 0);
        assert_eq!(edns.max_payload(), MAX_UDP_PAYLOAD);
        assert_eq!(reply.queries.len(), 1, "the question is echoed");
        // Without EDNS in the query, none in the response.
        let plain = ask(&handler, "example.org.", RecordType::A, false).await;
        assert_eq!(plain.metadata.response_code, ResponseCode::Refused);
        assert!(plain.edns.is_none());
    }

    #[test]
    fn address_runs_rotate_and_other_answers_keep_their_order() {
        let mut run = vec![a(1), a(2), a(3)];
        rotate_addresses(&mut run, 4);
        assert_eq!(order(&run), ["10.0.0.2", "10.0.0.3", "10.0.0.1"]);
        let mut mixed = vec![a(1), record(RData::AAAA(AAAA("fd00::1".parse().unwrap())))];
        rotate_addresses(&mut mixed, 1);
        assert_eq!(order(&mixed), ["10.0.0.1", "fd00::1"]);
        let mut none: Vec<Record> = Vec::new();
        rotate_addresses(&mut none, 1);
        assert!(none.is_empty());
    }
}
