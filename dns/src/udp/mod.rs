//! The UDP path: one socket loop per DNS thread, with a fast path for the hot case.
//!
//! Every query first goes through the hickory-based slow path ([`DnsHandler`]). When its
//! answer is authoritative (from the zone), the wire bytes are cached, keyed by the
//! query's bytes after the ID (so question case, flags and EDNS are all part of the key;
//! a DNS cookie is not) and by whether the client may recurse (the RA bit). A later
//! identical query is answered by copying the cached bytes and patching the ID:
//! byte-identical to the slow path by construction, but for the rotation of address
//! answers (the slow path rotates them too, see [`DnsHandler::rotating`]). The cache
//! belongs to one DNS thread and is dropped whenever a new zone snapshot is published.
//!
//! A datagram shorter than a header, or with the QR bit set (a response), gets no reply
//! (answering responses would make Herald a reflector). Every other datagram gets one:
//! a well-formed query its answer, a malformed one FORMERR (NOTIMP when its opcode is not
//! QUERY), built from the header alone by [`error_reply`]; a response that cannot be
//! encoded is replaced by SERVFAIL (see [`encode`]). [`respond`] is the whole path
//! without sockets, for tests and fuzzing.
//!
//! One job per module:
//! - `wire`: raw DNS bytes read without decoding a message (is it a query, where the
//!   question's name and the OPT record are) and the header-only error reply;
//! - `rotation`: the round-robin of a cached run of A (or AAAA) records, on the wire;
//! - `cache`: the per-thread answer cache (its key: the query without ID and cookie;
//!   replay on a hit; storing an answer of the current snapshot);
//! - `serve`: the socket loop, the response handler that encodes (SERVFAIL when a
//!   response cannot be encoded), sends and offers answers to the cache, and [`respond`].
//!
//! [`DnsHandler`]: crate::handler::DnsHandler
//! [`DnsHandler::rotating`]: crate::handler::DnsHandler::rotating

mod batch;
mod cache;
mod case;
mod rotation;
mod serve;
mod wire;

pub use rotation::Rotation;
pub use serve::{encode, respond, serve};
pub use wire::error_reply;
