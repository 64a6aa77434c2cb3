//! Reading raw DNS bytes without decoding a message: whether a datagram is a query, where
//! a message's question name and OPT record are (for the cache key and the rotation), and
//! the reply to a query whose body does not parse, built from its header alone.

use hickory_proto::op::ResponseCode;

/// True when `datagram` has a whole header and is not a response.
pub(super) fn is_query(datagram: &[u8]) -> bool {
    datagram.len() >= 12 && datagram[2] & 0x80 == 0
}

/// The reply to a query whose header is readable but whose body is not: the same ID,
/// opcode and RD bit, no sections, and FORMERR, or NOTIMP when the opcode is not QUERY.
/// `None` when `query` is not a query (see [`super::respond`]).
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

/// The big-endian `u16` at `i`.
pub(super) fn u16_at(wire: &[u8], i: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*wire.get(i)?, *wire.get(i + 1)?]))
}

/// Where the question's name ends (just past its root label), when it is spelled out as
/// labels, as every real client sends it and as responses echo it.
pub(super) fn question_name_end(wire: &[u8]) -> Option<usize> {
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
pub(super) fn opt_data(wire: &[u8], at: usize) -> Option<usize> {
    let data = at + 11;
    let whole = *wire.get(at)? == 0
        && u16_at(wire, at + 1)? == 41
        && data + usize::from(u16_at(wire, at + 9)?) == wire.len();
    whole.then_some(data)
}
