//! The round-robin of address answers on the fast path: a cached answer whose answer
//! section is a run of A (or AAAA) records and nothing else but an OPT is replayed with
//! the run starting one record later on each hit (per DNS thread), so clients that take
//! the first address spread over the tasks, as Mesos-DNS's shuffled answers do. The
//! records are equal-sized and point only at the question, so moving them changes no
//! other byte. `--fixed-order` turns this off.

use super::wire::{opt_data, question_name_end, u16_at};

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

    /// Where the rotated records start in the wire [`Rotation::of`] returned.
    pub fn start(&self) -> usize {
        self.start
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

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use hickory_proto::op::{Edns, Message, MessageType, Query};
    use hickory_proto::rr::rdata::{A, SRV};
    use hickory_proto::rr::{Name, RData, Record, RecordType};

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
}
