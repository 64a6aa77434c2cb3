//! The UDP loop, with the fast path for the hot case.
//!
//! Every query first goes through the hickory-based slow path ([`DnsHandler`]). When its
//! answer is authoritative (from the zone), the wire bytes are cached, keyed by the query's
//! bytes after the ID (so question case, flags and EDNS are all part of the key) and by
//! whether the client may recurse (the RA bit). A later identical query is answered by
//! copying the cached bytes and patching the ID: byte-identical to the slow path by
//! construction. The cache belongs to one DNS thread and is dropped whenever a new zone
//! snapshot is published.
//!
//! A datagram shorter than a header, or with the QR bit set (a response), gets no reply
//! (answering responses would make Herald a reflector). Every other datagram gets one:
//! a well-formed query its answer, a malformed one FORMERR (NOTIMP when its opcode is not
//! QUERY), built from the header alone by [`error_reply`]. [`respond`] is the whole path
//! without sockets, for tests and fuzzing.

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
}

/// Cached answers for one zone snapshot.
#[derive(Default)]
struct AnswerCache {
    snapshot: Option<Arc<ZoneSnapshot>>,
    /// Query bytes after the ID -> answer; one map per value of "may recurse".
    entries: [HashMap<Vec<u8>, Cached>; 2],
}

type SharedCache = Arc<Mutex<AnswerCache>>;

/// Serves DNS over UDP on `socket` until the task is dropped.
pub async fn serve(socket: UdpSocket, handler: Arc<DnsHandler>, zone: SharedZone) {
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
            cache: cacheable(query).then(|| (cache.clone(), recurse, query[2..].to_vec())),
            zone: zone.load_full(),
            qtype: query_type(&request),
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

/// A plain query: one question, no answer/authority records, at most an OPT without
/// options, opcode QUERY.
fn cacheable(query: &[u8]) -> bool {
    let count = |i: usize| u16::from_be_bytes([query[i], query[i + 1]]);
    query.len() <= MAX_CACHED_QUERY
        && query[2] & 0x78 == 0
        && count(4) == 1
        && count(6) == 0
        && count(8) == 0
        && count(10) <= 1
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
    if !cacheable(query) {
        return false;
    }
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
    let Some(hit) = cache.entries[usize::from(recurse)].get(&query[2..]) else {
        return false;
    };
    reply.clear();
    reply.extend_from_slice(&hit.wire);
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
            entries.insert(key, Cached { wire, queries });
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
