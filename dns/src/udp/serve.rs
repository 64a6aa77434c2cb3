//! The socket loop of one DNS thread, and the response handler behind it: queries are
//! taken from the socket in batches; each is answered from the cache when it can be (the
//! answers of one batch leave in one `sendmmsg` call), else handed to [`DnsHandler`] on
//! its own task, whose response is encoded as hickory's UDP path encodes it ([`encode`]:
//! size limit, TC, SERVFAIL when a response cannot be encoded), sent, and offered to the
//! cache. [`respond`] runs the same path without a socket.

use std::net::SocketAddr;
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
use tokio::net::UdpSocket;

use super::batch::{Outgoing, Received};
use super::cache::{AnswerCache, FastPathMetrics, Offer};
use super::wire::{error_reply, is_query};
use crate::handler::{DnsHandler, SharedZone};

/// Serves DNS over UDP on `socket` until the task is dropped; `rotate` turns on the
/// rotation of address answers.
pub async fn serve(socket: UdpSocket, handler: Arc<DnsHandler>, zone: SharedZone, rotate: bool) {
    let socket = Arc::new(socket);
    let cache = AnswerCache::default();
    let fast = FastPathMetrics::new();
    let mut received = Received::new();
    let mut outgoing = Outgoing::new();
    let mut key = Vec::with_capacity(512);
    let calls = metrics::counter!(crate::metrics::UDP_RECEIVE_CALLS);
    let datagrams = metrics::counter!(crate::metrics::UDP_DATAGRAMS);
    loop {
        let count = match received.receive(&socket).await {
            Ok(count) => count,
            Err(error) => {
                tracing::debug!(%error, "UDP receive failed");
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
            tokio::spawn(async move {
                handler
                    .handle_request::<UdpResponder, TokioTime>(&request, responder)
                    .await;
            });
        }
        outgoing.flush(&socket).await;
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
                socket.send_to(&wire, *dst).await?;
                if let Some(offer) = offer.take() {
                    offer.store(&info, wire);
                }
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
