//! The socket loop of one DNS thread, and the response handler behind it: a query is
//! answered from the cache when it can be, else handed to [`DnsHandler`] on its own task,
//! whose response is encoded as hickory's UDP path encodes it ([`encode`]: size limit, TC),
//! sent, and offered to the cache. [`respond`]
//! runs the same path without a socket.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::Record;
use hickory_proto::serialize::binary::BinEncoder;
use hickory_server::net::NetError;
use hickory_server::net::runtime::TokioTime;
use hickory_server::net::xfer::Protocol;
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::MessageResponse;
use tokio::net::UdpSocket;

use super::cache::{AnswerCache, FastPathMetrics, Offer};
use super::wire::{error_reply, is_query};
use crate::handler::{DnsHandler, SharedZone};

/// Serves DNS over UDP on `socket` until the task is dropped; `rotate` turns on the
/// rotation of address answers.
pub async fn serve(socket: UdpSocket, handler: Arc<DnsHandler>, zone: SharedZone, rotate: bool) {
    let socket = Arc::new(socket);
    let cache = AnswerCache::default();
    let fast = FastPathMetrics::new();
    let mut buf = vec![0u8; 4096];
    let mut reply = Vec::with_capacity(4096);
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
        if cache.replay(&zone, recurse, query, &fast, &mut reply) {
            send(&socket, &reply, src).await;
            continue;
        }
        let Ok(request) = Request::from_bytes(query.to_vec(), src, Protocol::Udp) else {
            if let Some(reply) = error_reply(query) {
                let rcode = ResponseCode::from_low(reply[3] & 0x0f);
                crate::metrics::query("none", rcode, Duration::ZERO);
                send(&socket, &reply, src).await;
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
}

/// Sends `bytes` to `dst`; a failure is only logged (the client will ask again).
async fn send(socket: &UdpSocket, bytes: &[u8], dst: SocketAddr) {
    if let Err(error) = socket.send_to(bytes, dst).await {
        tracing::debug!(%error, "UDP send failed");
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
    to: Sink,
}

impl UdpResponder {
    fn new(_request: &Request, to: Sink) -> Self {
        UdpResponder { to }
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
        let (info, wire) = encode(response)?;
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
