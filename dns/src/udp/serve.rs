//! The socket loop of one DNS thread, and the response handler behind it. The loop has a
//! thread of its own and a blocking socket: one `recvmmsg` call waits for queries and takes
//! every one already queued, each is answered from the cache when it can be, and the
//! answers of one batch leave in one `sendmmsg` call, so a wakeup costs two system calls
//! (an event loop's readiness dance costs four, and at 30,000 queries a second most
//! wakeups carry one query). A query the cache cannot answer is handed to the DNS
//! thread's runtime ([`DnsHandler`] on a task of its own), whose response is encoded as
//! hickory's UDP path encodes it ([`encode`]: size limit, TC, SERVFAIL when a response
//! cannot be encoded), sent, and offered to the cache. [`respond`] runs the same path
//! without a socket.

use std::net::{SocketAddr, UdpSocket};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hickory_proto::op::{Metadata, Query, ResponseCode, emit_message_parts};
use hickory_proto::rr::Record;
use hickory_proto::serialize::binary::BinEncoder;
use hickory_server::net::NetError;
use hickory_server::net::runtime::TokioTime;
use hickory_server::net::xfer::Protocol;
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::MessageResponse;
use rustix::net::SendFlags;
use tokio::runtime::Handle;
use tokio_util::sync::CancellationToken;

use super::batch::{Outgoing, Received};
use super::cache::{AnswerCache, FastPathMetrics, Offer};
use super::wire::{error_reply, is_query};
use crate::handler::{DnsHandler, SharedZone};

/// How long the loop waits for a query before it looks at its shutdown token again.
pub const SHUTDOWN_POLL: Duration = Duration::from_millis(250);

/// What one socket loop serves from.
pub struct UdpService {
    /// Answers what the cache cannot.
    pub handler: Arc<DnsHandler>,
    /// The published zone, which the cache follows.
    pub zone: SharedZone,
    /// Rotation of address answers on.
    pub rotate: bool,
    /// The runtime the slow path's tasks run on.
    pub runtime: Handle,
}

/// Serves DNS over UDP on `socket` on the calling thread until `shutdown` is cancelled.
/// `socket` must be blocking, with a read timeout (such as [`SHUTDOWN_POLL`]) so that the
/// loop sees `shutdown` even when no query comes.
pub fn serve(socket: UdpSocket, service: UdpService, shutdown: &CancellationToken) {
    let UdpService {
        handler,
        zone,
        rotate,
        runtime,
    } = service;
    let socket = Arc::new(socket);
    let cache = AnswerCache::default();
    let fast = FastPathMetrics::new();
    let mut received = Received::new();
    let mut outgoing = Outgoing::new();
    let mut key = Vec::with_capacity(512);
    let calls = metrics::counter!(crate::metrics::UDP_RECEIVE_CALLS);
    let datagrams = metrics::counter!(crate::metrics::UDP_DATAGRAMS);
    while !shutdown.is_cancelled() {
        let count = match received.receive(&socket) {
            Ok(count) => count,
            Err(error) => {
                // The read timeout (EAGAIN) or a signal: look at the token again.
                if !matches!(
                    error.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted
                ) {
                    tracing::debug!(%error, "UDP receive failed");
                }
                continue;
            }
        };
        calls.increment(1);
        datagrams.increment(count as u64);
        for i in 0..count {
            let Some((query, src)) = received.get(i) else {
                continue;
            };
            if !is_query(query) {
                continue;
            }
            let recurse = handler.may_recurse(src.ip());
            let hit = outgoing.push(src, |reply| {
                cache.replay(&zone, recurse, query, &mut key, &fast, reply)
            });
            if hit {
                continue;
            }
            let Ok(request) = Request::from_bytes(query.to_vec(), src, Protocol::Udp) else {
                if let Some(reply) = error_reply(query) {
                    let rcode = ResponseCode::from_low(reply[3] & 0x0f);
                    crate::metrics::query("none", rcode, Duration::ZERO);
                    outgoing.push(src, |buffer| {
                        buffer.extend_from_slice(&reply);
                        true
                    });
                }
                continue;
            };
            let qtype = crate::metrics::qtype(&request);
            let offer = cache.offer(query, recurse, zone.load_full(), qtype, rotate);
            let to = Sink::Socket {
                socket: socket.clone(),
                dst: src,
                offer,
            };
            let responder = UdpResponder::new(&request, to);
            let handler = handler.clone();
            // Forwarded queries wait on upstreams: never hold up the receive loop.
            runtime.spawn(async move {
                handler
                    .handle_request::<UdpResponder, TokioTime>(&request, responder)
                    .await;
            });
        }
        outgoing.flush(&socket);
    }
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
    let slot = Arc::new(Mutex::new(None));
    let responder = UdpResponder::new(&request, Sink::Capture(slot.clone()));
    handler
        .handle_request::<UdpResponder, TokioTime>(&request, responder)
        .await;
    slot.lock().ok()?.take()
}

/// Where [`UdpResponder`] puts an encoded response.
#[derive(Clone)]
enum Sink {
    /// Sent to `dst`, then offered to the answer cache.
    Socket {
        socket: Arc<UdpSocket>,
        dst: SocketAddr,
        offer: Option<Offer>,
    },
    /// Kept for the caller of [`respond`].
    Capture(Arc<Mutex<Option<Vec<u8>>>>),
}

/// The [`ResponseHandler`] of the UDP path: encodes the handler's response and puts it
/// in its [`Sink`].
#[derive(Clone)]
struct UdpResponder {
    /// The query's (first) question, echoed by the SERVFAIL that replaces a response
    /// that cannot be encoded.
    question: Option<Query>,
    to: Sink,
}

impl UdpResponder {
    fn new(request: &Request, to: Sink) -> Self {
        let question = request.queries.queries().first();
        UdpResponder {
            question: question.map(|q| q.original().clone()),
            to,
        }
    }
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
        let (info, wire) = encode(response, self.question.as_ref())?;
        match &mut self.to {
            Sink::Socket { socket, dst, offer } => {
                // Cached first: the socket loop runs beside this task, and the client's
                // next query may reach it as soon as the answer is out.
                if let Some(offer) = offer.take() {
                    offer.store(&info, wire.clone());
                }
                send_without_blocking(socket, wire, *dst).await?;
            }
            Sink::Capture(slot) => {
                if let Ok(mut slot) = slot.lock() {
                    *slot = Some(wire);
                }
            }
        }
        Ok(info)
    }
}

/// Sends `wire` to `dst` on the (blocking) socket without blocking the runtime: at once
/// when the send buffer has room, which is nearly always, else from the blocking pool.
async fn send_without_blocking(
    socket: &Arc<UdpSocket>,
    wire: Vec<u8>,
    dst: SocketAddr,
) -> std::io::Result<()> {
    match rustix::net::sendto(&**socket, &wire, SendFlags::DONTWAIT, &dst) {
        Ok(_) => Ok(()),
        Err(rustix::io::Errno::AGAIN) => {
            let socket = socket.clone();
            tokio::task::spawn_blocking(move || socket.send_to(&wire, dst).map(|_| ()))
                .await
                .map_err(std::io::Error::other)?
        }
        Err(error) => Err(error.into()),
    }
}

/// Encodes a response exactly as hickory's own UDP path does (size limit from the
/// response's EDNS, 512 without; TC when the records do not fit). A response that cannot
/// be encoded at all becomes SERVFAIL, as in hickory, but keeping what a client needs to
/// match it: the ID, opcode and flags, `question` (the query's), and the response's OPT.
pub fn encode<'a>(
    response: MessageResponse<
        '_,
        'a,
        impl Iterator<Item = &'a Record> + Send + 'a,
        impl Iterator<Item = &'a Record> + Send + 'a,
        impl Iterator<Item = &'a Record> + Send + 'a,
        impl Iterator<Item = &'a Record> + Send + 'a,
    >,
    question: Option<&Query>,
) -> Result<(ResponseInfo, Vec<u8>), NetError> {
    let edns = response.edns().cloned();
    let max = edns.as_ref().map_or(512, |e| e.max_payload());
    let mut metadata = Metadata::response_from_request(response.metadata());
    metadata.recursion_available = response.metadata().recursion_available;
    metadata.response_code = ResponseCode::ServFail;
    let mut wire = Vec::with_capacity(512);
    let mut encoder = BinEncoder::new(&mut wire);
    encoder.set_max_size(max);
    let error = match response.destructive_emit(&mut encoder) {
        Ok(info) => return Ok((info, wire)),
        Err(error) => error,
    };
    tracing::warn!(%error, id = metadata.id, "cannot encode a response; answering SERVFAIL");
    wire.clear();
    let mut encoder = BinEncoder::new(&mut wire);
    encoder.set_max_size(max);
    let none = std::iter::empty::<&Record>;
    let header = emit_message_parts(
        &metadata,
        &mut question.into_iter(),
        &mut none(),
        &mut none(),
        &mut none(),
        edns.as_ref(),
        None,
        &mut encoder,
    )
    .map_err(|e| NetError::from(std::io::Error::other(e.to_string())))?;
    Ok((ResponseInfo::from(header), wire))
}

#[cfg(test)]
mod tests {
    use hickory_proto::op::{Edns, Message};
    use hickory_server::zone_handler::MessageResponseBuilder;

    use super::*;

    /// A query (ID 0x4242, RD set) with five questions for different names of 249
    /// octets: 1265 bytes of questions, more than any UDP response of Herald's may carry
    /// (512, or at most 1232 with EDNS).
    fn five_long_questions(edns: bool) -> Vec<u8> {
        let mut query = vec![0x42, 0x42, 0x01, 0x00, 0, 5, 0, 0, 0, 0, 0, u8::from(edns)];
        for letter in b'a'..=b'e' {
            for _ in 0..4 {
                query.push(61);
                query.extend_from_slice(&[letter; 61]);
            }
            query.extend_from_slice(&[0, 0, 1, 0, 1]);
        }
        if edns {
            query.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]);
        }
        query
    }

    #[test]
    fn a_response_that_cannot_be_encoded_becomes_servfail() {
        let src = "127.0.0.1:5353".parse().unwrap();
        for edns in [false, true] {
            let request =
                Request::from_bytes(five_long_questions(edns), src, Protocol::Udp).unwrap();
            assert_eq!(request.queries.queries().len(), 5);
            // A response echoing the question section, as hickory's builder does: it
            // cannot fit, and the encoder fails on it (truncation drops records, not
            // questions).
            let mut opt = Edns::new();
            opt.set_max_payload(1232);
            let mut builder = MessageResponseBuilder::from_message_request(&request);
            if edns {
                builder.edns(&opt);
            }
            let mut metadata = Metadata::response_from_request(&request.metadata);
            metadata.authoritative = true;
            let response = builder.build_no_records(metadata);
            let question = request.queries.queries()[0].original().clone();

            let (info, wire) = encode(response, Some(&question)).expect("a SERVFAIL instead");
            assert_eq!(info.response_code, ResponseCode::ServFail);
            let reply = Message::from_vec(&wire).unwrap();
            assert_eq!(reply.metadata.id, 0x4242);
            assert_eq!(reply.metadata.response_code, ResponseCode::ServFail);
            assert!(reply.metadata.recursion_desired, "flags of the query kept");
            assert!(!reply.metadata.authoritative);
            assert_eq!(reply.queries, [question], "the query's first question");
            assert_eq!(reply.edns.is_some(), edns, "an OPT when the query had one");
        }
    }
}
