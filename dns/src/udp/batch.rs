//! Datagrams in batches: up to [`BATCH`] queries taken from the socket by one `recvmmsg`
//! call (nix's wrapper: rustix has none) and the fast path's answers to them sent by one
//! `sendmmsg` call (rustix's, which returns the count without reading back addresses). Every buffer is allocated once, when the socket loop starts; a batch
//! allocates nothing (an answer longer than its preallocated buffer excepted).

use std::io::{self, IoSlice, IoSliceMut};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;

use nix::sys::socket::{MsgFlags, MultiHeaders, SockaddrStorage, recvmmsg};
use rustix::net::{MMsgHdr, SendAncillaryBuffer, SendFlags, SocketAddrAny, sendmmsg};
use tokio::io::Interest;
use tokio::net::UdpSocket;

/// Datagrams per system call.
pub(super) const BATCH: usize = 64;
/// The receive buffer of one datagram (longer queries are cut, as `recv_from` cuts them).
const QUERY_BUF: usize = 4096;
/// The preallocated room of one answer; [`crate::handler::MAX_UDP_PAYLOAD`] is the most
/// the slow path sends.
const ANSWER_BUF: usize = 1232;

/// The datagrams of the last receive.
pub(super) struct Received {
    /// `BATCH` slots of `QUERY_BUF` bytes.
    buffer: Box<[u8]>,
    /// Length and source of each datagram received, in order.
    datagrams: Vec<(usize, SocketAddr)>,
    headers: MultiHeaders<SockaddrStorage>,
}

impl Received {
    pub(super) fn new() -> Self {
        Received {
            buffer: vec![0; BATCH * QUERY_BUF].into_boxed_slice(),
            datagrams: Vec::with_capacity(BATCH),
            headers: MultiHeaders::preallocate(BATCH, None),
        }
    }

    /// Waits for datagrams and takes up to [`BATCH`] of them in one call; how many.
    /// Datagrams without an IP source address are dropped.
    pub(super) async fn receive(&mut self, socket: &UdpSocket) -> io::Result<usize> {
        let fd = socket.as_raw_fd();
        let Received {
            buffer,
            datagrams,
            headers,
        } = self;
        socket
            .async_io(Interest::READABLE, || {
                let mut rest: &mut [u8] = buffer;
                let mut slices: [[IoSliceMut<'_>; 1]; BATCH] = std::array::from_fn(|_| {
                    let (head, tail) = std::mem::take(&mut rest).split_at_mut(QUERY_BUF);
                    rest = tail;
                    [IoSliceMut::new(head)]
                });
                let results = recvmmsg(fd, headers, slices.iter_mut(), MsgFlags::empty(), None)?;
                datagrams.clear();
                for message in results {
                    if let Some(source) = message.address.as_ref().and_then(socket_addr) {
                        datagrams.push((message.bytes, source));
                    }
                }
                Ok(())
            })
            .await?;
        Ok(self.datagrams.len())
    }

    /// The `i`th datagram received and its source.
    pub(super) fn get(&self, i: usize) -> Option<(&[u8], SocketAddr)> {
        let (len, source) = *self.datagrams.get(i)?;
        let slot = self.buffer.get(i * QUERY_BUF..)?;
        Some((slot.get(..len)?, source))
    }
}

/// Answers waiting to be sent, each with its destination.
pub(super) struct Outgoing {
    answers: Vec<Vec<u8>>,
    destinations: Vec<SocketAddrAny>,
    /// Answers filled so far.
    len: usize,
}

impl Outgoing {
    pub(super) fn new() -> Self {
        let unspecified = SocketAddrAny::from(SocketAddr::from(([0, 0, 0, 0], 0)));
        Outgoing {
            answers: (0..BATCH).map(|_| Vec::with_capacity(ANSWER_BUF)).collect(),
            destinations: vec![unspecified; BATCH],
            len: 0,
        }
    }

    /// Lets `fill` write an answer to `to` into the next free buffer (emptied first); the
    /// answer is kept when `fill` returns true. False (nothing kept) when every buffer is
    /// taken, which a batch of at most [`BATCH`] queries never does.
    pub(super) fn push(&mut self, to: SocketAddr, fill: impl FnOnce(&mut Vec<u8>) -> bool) -> bool {
        let (Some(answer), Some(destination)) = (
            self.answers.get_mut(self.len),
            self.destinations.get_mut(self.len),
        ) else {
            return false;
        };
        answer.clear();
        if !fill(answer) {
            return false;
        }
        *destination = SocketAddrAny::from(to);
        self.len += 1;
        true
    }

    /// Sends every pending answer, in as few calls as the socket takes them, waiting while
    /// its send buffer is full. An answer the kernel refuses is logged and dropped (the
    /// client will ask again); the ones after it are still sent.
    pub(super) async fn flush(&mut self, socket: &UdpSocket) {
        let mut sent = 0;
        while sent < self.len {
            let (answers, destinations, len) = (&self.answers, &self.destinations, self.len);
            let result = socket
                .async_io(Interest::WRITABLE, || {
                    let slices: [[IoSlice<'_>; 1]; BATCH] =
                        std::array::from_fn(|i| [IoSlice::new(&answers[i])]);
                    let mut control: [SendAncillaryBuffer<'_, '_, '_>; BATCH] =
                        std::array::from_fn(|_| SendAncillaryBuffer::default());
                    let mut i = 0;
                    let mut messages: [MMsgHdr<'_>; BATCH] = control.each_mut().map(|control| {
                        let message = MMsgHdr::new_with_addr(&destinations[i], &slices[i], control);
                        i += 1;
                        message
                    });
                    sendmmsg(socket, &mut messages[sent..len], SendFlags::empty())
                        .map_err(io::Error::from)
                })
                .await;
            match result {
                // A call sends at least one datagram or fails.
                Ok(count) => sent += count.max(1),
                Err(error) => {
                    tracing::debug!(%error, "UDP send failed");
                    sent += 1;
                }
            }
        }
        self.len = 0;
    }
}

/// A socket address as std has it; `None` for other families.
fn socket_addr(address: &SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = address.as_sockaddr_in() {
        return Some(SocketAddr::V4((*v4).into()));
    }
    Some(SocketAddr::V6((*address.as_sockaddr_in6()?).into()))
}
