//! The UDP loop, with the fast path for the hot case.
//!
//! Every query first goes through the hickory-based slow path ([`DnsHandler`]). When its
//! answer is authoritative (from the zone), the wire bytes are cached, keyed by the query's
//! bytes after the ID (so question case, flags and EDNS are all part of the key; a DNS
//! cookie is not, see [`cache_key`]) and by whether the client may recurse (the RA bit). A later identical query is answered by
//! copying the cached bytes and patching the ID: byte-identical to the slow path by
//! construction, but for the rotation below. The cache belongs to one DNS thread and is dropped whenever a new zone
//! snapshot is published.
//!
//! Address answers rotate (the slow path rotates them too, see [`DnsHandler::rotating`]):
//! when a cached answer is a run of A (or AAAA) records and nothing
//! else but an OPT, each hit starts the run one record later (round-robin per DNS thread),
//! so clients that take the first address spread over the tasks, as Mesos-DNS's shuffled
//! answers do. The records are equal-sized and point only at the question, so moving them
//! changes no other byte. `--fixed-order` turns this off.
//!
//! A datagram shorter than a header, or with the QR bit set (a response), gets no reply
//! (answering responses would make Herald a reflector). Every other datagram gets one:
//! a well-formed query its answer, a malformed one FORMERR (NOTIMP when its opcode is not
//! QUERY), built from the header alone by [`error_reply`]. [`respond`] is the whole path
//! without sockets, for tests and fuzzing.

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::Record;
use hickory_proto::serialize::binary::BinEncoder;
use hickory_server::net::NetError;
use hickory_server::net::runtime::TokioTime;
use hickory_server::net::xfer::Protocol;
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::MessageResponse;
use tokio::net::UdpSocket;

use crate::handler::{DnsHandler, SharedZone};
use crate::snapshot::ZoneSnapshot;

/// Queries longer than this are never cached (a name is at most 255 octets).
const MAX_CACHED_QUERY: usize = 300;
/// Entries per thread before the cache starts over.
const MAX_ENTRIES: usize = 100_000;

/// One cached answer, with the query counter it increments (resolved once: a labelled
/// metrics lookup per query would cost more than the rest of the fast path).
struct Cached {
    wire: Vec<u8>,
    queries: metrics::Counter,
    rotation: Option<Rotation>,
}

/// Where the run of same-sized address records of a cached answer is, and which of them
/// the next hit starts with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rotation {
    start: usize,
    record_len: usize,
    count: usize,
    next: usize,
}

impl Rotation {
    /// The rotation of `wire`, a response, with the wire it applies to: `Some` when its
    /// answer section is two or more A records, or two or more AAAA records, all owned by
    /// the question's name, with no authority records and at most an OPT in the additional
    /// section. In the returned wire every owner is a pointer to the question (the encoder
    /// spells the first one out and points the others at it), so each record stands alone
    /// and any order of them is the same message.
    pub fn of(wire: &[u8]) -> Option<(Vec<u8>, Rotation)> {
        let count16 = |i: usize| u16_at(wire, i);
        let (questions, answers) = (count16(4)?, usize::from(count16(6)?));
        let (authority, additional) = (count16(8)?, count16(10)?);
        if questions != 1 || answers < 2 || authority != 0 || additional > 1 {
            return None;
        }
        let name_end = question_name_end(wire)?;
        let qname = &wire[12..name_end];
        let start = name_end + 4;
        let mut out = wire.get(..start)?.to_vec();
        let mut read = start;
        let mut record_type = None;
        for i in 0..answers {
            // The owner: the question's name spelled out (first record only), or a pointer
            // to it or to that first spelling.
            let spelled = i == 0 && wire.get(read..read + qname.len()) == Some(qname);
            if spelled {
                read += qname.len();
            } else {
                let pointer = usize::from(count16(read)?);
                let target = pointer & 0x3fff;
                if pointer & 0xc000 != 0xc000 || (target != 12 && target != start) {
                    return None;
                }
                read += 2;
            }
            let rtype = count16(read)?;
            let rdata_len = match rtype {
                1 => 4,
                28 => 16,
                _ => return None,
            };
            if *record_type.get_or_insert(rtype) != rtype || count16(read + 8)? != rdata_len {
                return None;
            }
            out.extend_from_slice(&[0xc0, 0x0c]);
            out.extend_from_slice(wire.get(read..read + 10 + usize::from(rdata_len))?);
            read += 10 + usize::from(rdata_len);
        }
        let rest = wire.get(read..)?;
        // After the answers: nothing, or an OPT that ends the message.
        let rest_ok = match additional {
            0 => rest.is_empty(),
            _ => opt_data(wire, read).is_some(),
        };
        if !rest_ok {
            return None;
        }
        out.extend_from_slice(rest);
        let record_len = (out.len() - start - rest.len()) / answers;
        Some((
            out,
            Rotation {
                start,
                record_len,
                count: answers,
                next: 1,
            },
        ))
    }

    /// Writes `wire` into `reply` with the records rotated to start at the next one.
    pub fn write(&mut self, wire: &[u8], reply: &mut Vec<u8>) {
        let end = self.start + self.count * self.record_len;
        let split = self.start + (self.next % self.count) * self.record_len;
        self.next = self.next.wrapping_add(1);
        reply.extend_from_slice(&wire[..self.start]);
        reply.extend_from_slice(&wire[split..end]);
        reply.extend_from_slice(&wire[self.start..split]);
        reply.extend_from_slice(&wire[end..]);
    }
}

/// Cached answers for one zone snapshot.
#[derive(Default)]
struct AnswerCache {
    snapshot: Option<Arc<ZoneSnapshot>>,
    /// Query bytes after the ID -> answer; one map per value of "may recurse".
    entries: [HashMap<Vec<u8>, Cached>; 2],
}

type SharedCache = Arc<Mutex<AnswerCache>>;

/// Serves DNS over UDP on `socket` until the task is dropped; `rotate` turns on the
/// rotation of address answers.
pub async fn serve(socket: UdpSocket, handler: Arc<DnsHandler>, zone: SharedZone, rotate: bool) {
    let socket = Arc::new(socket);
    let cache: SharedCache = Arc::default();
    let mut buf = vec![0u8; 4096];
    let mut reply = Vec::with_capacity(4096);
    let fast = FastPathMetrics {
        hits: metrics::counter!(crate::metrics::FAST_PATH_HITS),
        latency: metrics::histogram!(crate::metrics::QUERY_SECONDS),
    };
    loop {
        let (len, src) = match socket.recv_from(&mut buf).await {
            Ok(r) => r,
            Err(error) => {
                tracing::debug!(%error, "UDP receive failed");
                continue;
            }
        };
        let query = &buf[..len];
        if !is_query(query) {
            continue;
        }
        let recurse = handler.may_recurse(src.ip());
        if cached(&cache, &zone, recurse, query, &fast, &mut reply) {
            if let Err(error) = socket.send_to(&reply, src).await {
                tracing::debug!(%error, "UDP send failed");
            }
            continue;
        }
        let Ok(request) = Request::from_bytes(query.to_vec(), src, Protocol::Udp) else {
            if let Some(reply) = error_reply(query) {
                let rcode = ResponseCode::from_low(reply[3] & 0x0f);
                crate::metrics::query("none", rcode, Duration::ZERO);
                if let Err(error) = socket.send_to(&reply, src).await {
                    tracing::debug!(%error, "UDP send failed");
                }
            }
            continue;
        };
        let responder = UdpResponder {
            socket: socket.clone(),
            dst: src,
            cache: cache_key(query).map(|key| (cache.clone(), recurse, key.into_owned())),
            zone: zone.load_full(),
            qtype: query_type(&request),
            rotate,
        };
        let handler = handler.clone();
        // Forwarded queries wait on upstreams: never hold up the receive loop.
        tokio::spawn(async move {
            handler
                .handle_request::<UdpResponder, TokioTime>(&request, responder)
                .await;
        });
    }
}

/// True when `datagram` has a whole header and is not a response.
fn is_query(datagram: &[u8]) -> bool {
    datagram.len() >= 12 && datagram[2] & 0x80 == 0
}

/// The reply to a query whose header is readable but whose body is not: the same ID,
/// opcode and RD bit, no sections, and FORMERR, or NOTIMP when the opcode is not QUERY.
/// `None` when `query` is not a query (see [`respond`]).
pub fn error_reply(query: &[u8]) -> Option<Vec<u8>> {
    if !is_query(query) {
        return None;
    }
    let opcode = (query[2] >> 3) & 0x0f;
    let rcode = if opcode == 0 {
        ResponseCode::FormErr
    } else {
        ResponseCode::NotImp
    };
    let mut reply = vec![0u8; 12];
    reply[..2].copy_from_slice(&query[..2]);
    reply[2] = 0x80 | (query[2] & 0x79); // QR, the opcode and RD
    reply[3] = rcode.low();
    Some(reply)
}

/// The bytes the UDP path sends back for `query` from `src`, computed without sockets
/// and without the answer cache (which only replays these same bytes): `None` when
/// the server stays silent. Never panics, whatever the bytes.
pub async fn respond(handler: &DnsHandler, query: &[u8], src: SocketAddr) -> Option<Vec<u8>> {
    if !is_query(query) {
        return None;
    }
    let Ok(request) = Request::from_bytes(query.to_vec(), src, Protocol::Udp) else {
        return error_reply(query);
    };
    let capture = Capture::default();
    handler
        .handle_request::<Capture, TokioTime>(&request, capture.clone())
        .await;
    capture.0.lock().ok()?.take()
}

/// A [`ResponseHandler`] that keeps the encoded response.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Option<Vec<u8>>>>);

#[async_trait::async_trait]
impl ResponseHandler for Capture {
    async fn send_response<'a>(
        &mut self,
        response: MessageResponse<
            '_,
            'a,
            impl Iterator<Item = &'a Record> + Send + 'a,
            impl Iterator<Item = &'a Record> + Send + 'a,
            impl Iterator<Item = &'a Record> + Send + 'a,
            impl Iterator<Item = &'a Record> + Send + 'a,
        >,
    ) -> Result<ResponseInfo, NetError> {
        let (info, wire) = encode(response)?;
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(wire);
        }
        Ok(info)
    }
}

fn query_type(request: &Request) -> &'static str {
    request
        .queries
        .queries()
        .first()
        .map(|q| q.query_type().into())
        .unwrap_or("none")
}

/// The big-endian `u16` at `i`.
fn u16_at(wire: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*wire.get(i)?, *wire.get(i + 1)?]))
}

/// Where the question's name ends (just past its root label), when it is spelled out as
/// labels, as every real client sends it and as responses echo it.
fn question_name_end(wire: &[u8]) -> Option<usize> {
    let mut at = 12;
    loop {
        match *wire.get(at)? {
            0 => return Some(at + 1),
            len if len <= 63 => at += 1 + usize::from(len),
            _ => return None,
        }
    }
}

/// Where the data of the OPT record at `at` starts, when that OPT (root name, type 41,
/// class, TTL, data) ends the message exactly.
fn opt_data(wire: &[u8], at: usize) -> Option<usize> {
    let data = at + 11;
    let whole = *wire.get(at)? == 0
        && u16_at(wire, at + 1)? == 41
        && data + usize::from(u16_at(wire, at + 9)?) == wire.len();
    whole.then_some(data)
}

/// EDNS option code of DNS cookies (RFC 7873).
const COOKIE: u16 = 10;

/// The cache key of a plain query (one question written out, no answer or authority
/// records, opcode QUERY, at most an OPT whose only options are cookies): its bytes after
/// the ID, with any cookie left out. Herald does not implement cookies, so a cookie changes
/// nothing in the answer (RFC 7873 5.2.1), while a client sends a fresh one with every
/// query; keeping it in the key would make every such query a miss. `None`: not cached.
fn cache_key(query: &[u8]) -> Option<Cow<'_, [u8]>> {
    let count = |i: usize| u16_at(query, i);
    let plain = query.len() <= MAX_CACHED_QUERY
        && query.get(2)? & 0x78 == 0
        && count(4)? == 1
        && count(6)? == 0
        && count(8)? == 0;
    if !plain {
        return None;
    }
    match count(10)? {
        0 => return Some(Cow::Borrowed(&query[2..])),
        1 => {}
        _ => return None,
    }
    // Past the question (its name, type and class), the OPT.
    let opt = question_name_end(query)? + 4;
    let data = opt_data(query, opt)?;
    let mut option = data;
    while option < query.len() {
        if count(option)? != COOKIE {
            return None;
        }
        option += 4 + usize::from(count(option + 2)?);
    }
    if option != query.len() {
        return None;
    }
    if data == query.len() {
        return Some(Cow::Borrowed(&query[2..]));
    }
    // The OPT without its options: the same key as the query without a cookie.
    let mut key = query[2..opt + 9].to_vec();
    key.extend_from_slice(&[0, 0]);
    Some(Cow::Owned(key))
}

/// The fast path's own metric handles.
struct FastPathMetrics {
    hits: metrics::Counter,
    latency: metrics::Histogram,
}

/// Writes the cached answer to `query`, its ID patched in, into `reply`; false on a miss.
fn cached(
    cache: &SharedCache,
    zone: &SharedZone,
    recurse: bool,
    query: &[u8],
    metrics: &FastPathMetrics,
    reply: &mut Vec<u8>,
) -> bool {
    let Some(key) = cache_key(query) else {
        return false;
    };
    let start = Instant::now();
    let current = zone.load();
    let Ok(mut cache) = cache.lock() else {
        return false;
    };
    let fresh = match (&cache.snapshot, current.as_ref()) {
        (Some(a), Some(b)) => Arc::ptr_eq(a, b),
        _ => false,
    };
    if !fresh {
        cache.entries = Default::default();
        cache.snapshot = current.as_ref().map(Arc::clone);
        return false;
    }
    let Some(hit) = cache.entries[usize::from(recurse)].get_mut(key.as_ref()) else {
        return false;
    };
    reply.clear();
    match &mut hit.rotation {
        Some(rotation) => rotation.write(&hit.wire, reply),
        None => reply.extend_from_slice(&hit.wire),
    }
    reply[0] = query[0];
    reply[1] = query[1];
    hit.queries.increment(1);
    metrics.hits.increment(1);
    metrics.latency.record(start.elapsed().as_secs_f64());
    true
}

/// Sends the slow path's answer and offers it to the cache.
#[derive(Clone)]
struct UdpResponder {
    socket: Arc<UdpSocket>,
    dst: SocketAddr,
    cache: Option<(SharedCache, bool, Vec<u8>)>,
    zone: Option<Arc<ZoneSnapshot>>,
    qtype: &'static str,
    rotate: bool,
}

#[async_trait::async_trait]
impl ResponseHandler for UdpResponder {
    async fn send_response<'a>(
        &mut self,
        response: MessageResponse<
            '_,
            'a,
            impl Iterator<Item = &'a Record> + Send + 'a,
            impl Iterator<Item = &'a Record> + Send + 'a,
            impl Iterator<Item = &'a Record> + Send + 'a,
            impl Iterator<Item = &'a Record> + Send + 'a,
        >,
    ) -> Result<ResponseInfo, NetError> {
        let (info, wire) = encode(response)?;
        self.socket.send_to(&wire, self.dst).await?;
        let authoritative = info.authoritative
            && matches!(
                info.response_code,
                ResponseCode::NoError | ResponseCode::NXDomain
            );
        if let (true, Some((cache, recurse, key)), Some(zone)) =
            (authoritative, self.cache.take(), self.zone.as_ref())
            && let Ok(mut cache) = cache.lock()
            && cache
                .snapshot
                .as_ref()
                .is_some_and(|s| Arc::ptr_eq(s, zone))
        {
            let entries = &mut cache.entries[usize::from(recurse)];
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            let queries = metrics::counter!(
                crate::metrics::QUERIES,
                "qtype" => self.qtype,
                "rcode" => info.response_code.to_str()
            );
            let (wire, rotation) = match Rotation::of(&wire).filter(|_| self.rotate) {
                Some((rotatable, rotation)) => (rotatable, Some(rotation)),
                None => (wire, None),
            };
            entries.insert(
                key,
                Cached {
                    wire,
                    queries,
                    rotation,
                },
            );
        }
        Ok(info)
    }
}

/// Encodes a response exactly as hickory's own UDP path does (size limit from the
/// response's EDNS, 512 without; TC when it does not fit).
pub fn encode<'a>(
    response: MessageResponse<
        '_,
        'a,
        impl Iterator<Item = &'a Record> + Send + 'a,
        impl Iterator<Item = &'a Record> + Send + 'a,
        impl Iterator<Item = &'a Record> + Send + 'a,
        impl Iterator<Item = &'a Record> + Send + 'a,
    >,
) -> Result<(ResponseInfo, Vec<u8>), NetError> {
    let max = response.edns().map_or(512, |e| e.max_payload());
    let mut wire = Vec::with_capacity(512);
    let mut encoder = BinEncoder::new(&mut wire);
    encoder.set_max_size(max);
    let info = response
        .destructive_emit(&mut encoder)
        .map_err(|e| NetError::from(std::io::Error::other(e.to_string())))?;
    Ok((info, wire))
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use hickory_proto::op::{Edns, Message, MessageType, Query};
    use hickory_proto::rr::rdata::{A, SRV};
    use hickory_proto::rr::{Name, RData, RecordType};

    use super::*;

    fn response(answers: Vec<RData>, edns: bool) -> Vec<u8> {
        let name = Name::from_ascii("web.marathon.mesos.").unwrap();
        let mut message = Message::new(7, MessageType::Response, hickory_proto::op::OpCode::Query);
        message.add_query(Query::query(name.clone(), RecordType::A));
        for data in answers {
            message.add_answer(Record::from_rdata(name.clone(), 60, data));
        }
        if edns {
            message.set_edns(Edns::new());
        }
        message.to_vec().unwrap()
    }

    fn a(last: u8) -> RData {
        RData::A(A(Ipv4Addr::new(10, 0, 0, last)))
    }

    fn firsts(wire: &[u8], rotation: &mut Rotation, n: usize) -> Vec<String> {
        (0..n)
            .map(|_| {
                let mut reply = Vec::new();
                rotation.write(wire, &mut reply);
                assert_eq!(reply.len(), wire.len());
                let message = Message::from_vec(&reply).unwrap();
                assert_eq!(message.answers.len(), 3);
                message.answers[0].data.to_string()
            })
            .collect()
    }

    #[test]
    fn address_runs_rotate_and_stay_valid_messages() {
        for edns in [false, true] {
            let original = response(vec![a(1), a(2), a(3)], edns);
            let (wire, mut rotation) = Rotation::of(&original).expect("three A records rotate");
            assert_eq!(
                Message::from_vec(&wire).unwrap().to_vec().unwrap(),
                Message::from_vec(&original).unwrap().to_vec().unwrap(),
                "the rewritten wire is the same message"
            );
            assert_eq!(
                firsts(&wire, &mut rotation, 4),
                ["10.0.0.2", "10.0.0.3", "10.0.0.1", "10.0.0.2"]
            );
        }
    }

    #[test]
    fn other_answers_are_left_alone() {
        assert_eq!(
            Rotation::of(&response(vec![a(1)], false)),
            None,
            "one record"
        );
        let target = Name::from_ascii("web-abcde-s3.marathon.mesos.").unwrap();
        let srv = RData::SRV(SRV::new(0, 1, 31000, target));
        assert_eq!(Rotation::of(&response(vec![srv.clone(), srv], false)), None);
        let mixed = vec![
            a(1),
            RData::AAAA(hickory_proto::rr::rdata::AAAA("fd00::1".parse().unwrap())),
        ];
        assert_eq!(Rotation::of(&response(mixed, false)), None);
        // Cut short, or garbage: no rotation and no panic.
        let wire = response(vec![a(1), a(2)], true);
        for len in 0..wire.len() {
            assert_eq!(Rotation::of(&wire[..len]), None, "{len} bytes");
        }
        assert_eq!(Rotation::of(&[0xff; 64]), None);
    }

    fn query(options: &[u8]) -> Vec<u8> {
        let mut q = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1];
        q.extend_from_slice(b"\x03web\x08marathon\x05mesos\x00\x00\x01\x00\x01");
        q.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0]);
        q.extend_from_slice(&(options.len() as u16).to_be_bytes());
        q.extend_from_slice(options);
        q
    }

    #[test]
    fn cookies_are_left_out_of_cache_keys() {
        let bare = query(&[]);
        let cookie = |c: u8| {
            let mut options = vec![0, 10, 0, 8];
            options.extend_from_slice(&[c; 8]);
            query(&options)
        };
        assert_eq!(cache_key(&bare).as_deref(), Some(&bare[2..]));
        assert_eq!(cache_key(&cookie(1)), cache_key(&bare));
        assert_eq!(cache_key(&cookie(2)), cache_key(&bare));
        // Any other option changes the answer (or might): not cached.
        assert_eq!(
            cache_key(&query(&[0, 8, 0, 4, 0, 1, 24, 0])),
            None,
            "client subnet"
        );
        let mut both = cookie(1);
        both.truncate(both.len() - 12);
        let rdlen = both.len() - 2;
        both[rdlen..].copy_from_slice(&20u16.to_be_bytes());
        both.extend_from_slice(&[0, 10, 0, 8, 1, 1, 1, 1, 1, 1, 1, 1, 0, 3, 0, 4, 0, 0, 0, 0]);
        assert_eq!(cache_key(&both), None, "a cookie and an NSID request");
        // Cut short anywhere: no key, no panic.
        let full = cookie(3);
        for len in 0..full.len() {
            assert!(cache_key(&full[..len]).is_none(), "{len} bytes");
        }
    }
}
