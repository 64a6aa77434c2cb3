//! Queries in mixed case (DNS 0x20): which bytes of an answer spell the question's name in
//! the query's own case, so that the answer to one spelling becomes the answer to another
//! by copying that spelling there.
//!
//! The encoder echoes the question as the query sent it and writes the query's name,
//! in its case, as the owner of every record it answers for that name (the first spelled
//! out, the others pointing at it). Other names come from the zone. Name compression
//! matches labels byte for byte, so the case of the query decides whether a zone name
//! can point into an owner that spells the query's name: where that may happen the
//! answer is not case-free, and only a query spelled the same is answered from it. The
//! question is never a compression target (the server echoes the query's bytes), and SRV
//! targets are never compressed (RFC 2782).

use super::wire::{question_name_end, u16_at};

/// Record types whose data this module reads.
const A: u16 = 1;
const NS: u16 = 2;
const CNAME: u16 = 5;
const SOA: u16 = 6;
const PTR: u16 = 12;
const AAAA: u16 = 28;
const SRV: u16 = 33;
const OPT: u16 = 41;
/// Pointer hops followed when comparing names (a message has few).
const MAX_HOPS: usize = 16;

/// Where `wire`, a response, spells its question's name in the query's case: the question
/// (offset 12) and every spelled-out record owner equal to it byte for byte. `Some` only
/// when writing another spelling of the same name at these offsets gives exactly the
/// answer to a query spelled that way: every other name is read (owners and the names in
/// NS, CNAME, SOA, PTR and SRV data) and none may point into those spellings or share a
/// suffix with the question's name that compression could have joined to them.
pub(super) fn spots(wire: &[u8]) -> Option<Vec<usize>> {
    let count = |i: usize| u16_at(wire, i).map(usize::from);
    if count(4)? != 1 {
        return None;
    }
    let name_end = question_name_end(wire)?;
    let qname = wire.get(12..name_end)?;
    let records = count(6)? + count(8)? + count(10)?;
    let mut spots = vec![12];
    // Names that are not spellings of the question, and whether compression may touch them.
    let mut others: Vec<(usize, bool)> = Vec::new();
    let mut at = name_end + 4;
    for _ in 0..records {
        let owner = at;
        if wire.get(at..at + qname.len()) == Some(qname) {
            spots.push(at);
            at += qname.len();
        } else {
            let (end, pointer) = name_extent(wire, at)?;
            // A pointer to a spelling of the question's name is one more such spelling.
            if end - at != 2 || !pointer.is_some_and(|p| spots.contains(&p)) {
                others.push((owner, true));
            }
            at = end;
        }
        let rtype = u16_at(wire, at)?;
        let data = at + 10;
        let data_end = data + count(at + 8)?;
        match rtype {
            A | AAAA | OPT => {}
            NS | CNAME | PTR => others.push((data, true)),
            SOA => {
                let (mname_end, _) = name_extent(wire, data)?;
                others.push((data, true));
                others.push((mname_end, true));
            }
            // Never compressed; a later name may still point at it.
            SRV => others.push((data + 6, false)),
            _ => return None,
        }
        at = data_end;
    }
    if at != wire.len() {
        return None;
    }
    let inside_a_spot = |p: usize| spots.iter().any(|&s| (s..s + qname.len()).contains(&p));
    // Where a suffix of the question's name starts (the root left out).
    let qname_suffixes: Vec<usize> = label_starts(wire, 12)?;
    for (name, compressible) in others {
        let mut label = name;
        loop {
            match *wire.get(label)? {
                0 => break,
                len if len & 0xc0 == 0xc0 => {
                    let target = usize::from(u16_at(wire, label)? & 0x3fff);
                    if inside_a_spot(target) || !compressible {
                        return None;
                    }
                    // The suffix the encoder matched: it must not be the question's either.
                    if spots.len() > 1 && qname_suffixes.iter().any(|&q| same(wire, target, q)) {
                        return None;
                    }
                    break;
                }
                len if len <= 63 => {
                    let joins = qname_suffixes.iter().any(|&q| same(wire, label, q));
                    if compressible && spots.len() > 1 && joins {
                        return None;
                    }
                    label += 1 + usize::from(len);
                }
                _ => return None,
            }
        }
    }
    Some(spots)
}

/// Where the name at `at` ends in the message and the pointer it ends with, if any.
fn name_extent(wire: &[u8], mut at: usize) -> Option<(usize, Option<usize>)> {
    loop {
        match *wire.get(at)? {
            0 => return Some((at + 1, None)),
            len if len & 0xc0 == 0xc0 => {
                let target = usize::from(u16_at(wire, at)? & 0x3fff);
                return Some((at + 2, Some(target)));
            }
            len if len <= 63 => at += 1 + usize::from(len),
            _ => return None,
        }
    }
}

/// The start of every label of the spelled-out name at `at`.
fn label_starts(wire: &[u8], mut at: usize) -> Option<Vec<usize>> {
    let mut starts = Vec::new();
    loop {
        match *wire.get(at)? {
            0 => return Some(starts),
            len if len <= 63 => {
                starts.push(at);
                at += 1 + usize::from(len);
            }
            _ => return None,
        }
    }
}

/// True when the names at `a` and `b` (pointers followed) are equal, ignoring case.
fn same(wire: &[u8], mut a: usize, mut b: usize) -> bool {
    let mut hops = 0;
    loop {
        let (Some(a_at), Some(b_at)) = (follow(wire, a, &mut hops), follow(wire, b, &mut hops))
        else {
            return false;
        };
        (a, b) = (a_at, b_at);
        let (Some(&la), Some(&lb)) = (wire.get(a), wire.get(b)) else {
            return false;
        };
        if la != lb || la > 63 {
            return false;
        }
        if la == 0 {
            return true;
        }
        let end = usize::from(la) + 1;
        let (Some(x), Some(y)) = (wire.get(a + 1..a + end), wire.get(b + 1..b + end)) else {
            return false;
        };
        if !x.eq_ignore_ascii_case(y) {
            return false;
        }
        (a, b) = (a + end, b + end);
    }
}

/// `at`, or where the pointers starting there lead; `None` past [`MAX_HOPS`].
fn follow(wire: &[u8], mut at: usize, hops: &mut usize) -> Option<usize> {
    while *wire.get(at)? & 0xc0 == 0xc0 {
        *hops += 1;
        if *hops > MAX_HOPS {
            return None;
        }
        at = usize::from(u16_at(wire, at)? & 0x3fff);
    }
    Some(at)
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::*;
    use crate::test_support::{fuzz_handler, fuzz_source};

    fn query(name: &str, qtype: u16, edns: bool) -> Vec<u8> {
        let mut q = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, u8::from(edns)];
        for label in name.split('.').filter(|l| !l.is_empty()) {
            q.push(label.len() as u8);
            q.extend_from_slice(label.as_bytes());
        }
        q.push(0);
        q.extend_from_slice(&qtype.to_be_bytes());
        q.extend_from_slice(&[0, 1]);
        if edns {
            q.extend_from_slice(&[0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0]);
        }
        q
    }

    /// Spellings of `name`: as given, lower, upper, and two alternations.
    fn spellings(name: &str) -> Vec<String> {
        let alternate = |odd: bool| {
            name.chars()
                .enumerate()
                .map(|(i, c)| match (i % 2 == 1) == odd {
                    true => c.to_ascii_uppercase(),
                    false => c.to_ascii_lowercase(),
                })
                .collect()
        };
        vec![
            name.to_ascii_lowercase(),
            name.to_ascii_uppercase(),
            alternate(true),
            alternate(false),
            // Only the zone's part in upper case: the labels compression could match.
            name.replace("marathon.mesos", "MARATHON.MESOS"),
        ]
    }

    async fn answer(name: &str, qtype: u16, edns: bool) -> Vec<u8> {
        let src: SocketAddr = fuzz_source();
        crate::udp::respond(&fuzz_handler(), &query(name, qtype, edns), src)
            .await
            .expect("a reply")
    }

    /// For every pair of spellings: when the answer to one is case-free, patching the
    /// other's spelling in gives the other's answer, byte for byte. And the kinds of answer
    /// Herald serves most are case-free.
    #[tokio::test]
    async fn patched_spellings_give_the_slow_paths_answer() {
        let cases = [
            ("web.marathon.mesos", A, true),
            ("web.marathon.mesos", AAAA, false),
            ("web.marathon.mesos", SRV, true),
            ("_web._tcp.marathon.mesos", SRV, true),
            ("_web._tcp.marathon.mesos", SRV, false),
            ("_http._web._tcp.marathon.mesos", SRV, true),
            ("api-prod.marathon.mesos", A, false),
            ("nope.marathon.mesos", A, true),
            ("mesos", SOA, true),
            ("mesos", NS, false),
            ("ns1.mesos", A, true),
            ("9.0.0.127.in-addr.arpa", PTR, true),
            ("web.marathon.mesos", 255, true),
        ];
        let mut case_free = Vec::new();
        for (name, qtype, edns) in cases {
            let spelled = spellings(name);
            let mut answers = Vec::new();
            for spelling in &spelled {
                answers.push(answer(spelling, qtype, edns).await);
            }
            for (from, template) in answers.iter().enumerate() {
                let Some(spots) = spots(template) else {
                    continue;
                };
                case_free.push((name, qtype));
                for (to, expected) in answers.iter().enumerate() {
                    let target = query(&spelled[to], qtype, edns);
                    let name_bytes = &target[12..question_name_end(&target).unwrap()];
                    let mut patched = template.clone();
                    for spot in &spots {
                        patched[*spot..*spot + name_bytes.len()].copy_from_slice(name_bytes);
                    }
                    assert_eq!(
                        &patched, expected,
                        "{name} {qtype}: {} patched into the answer to {}",
                        spelled[to], spelled[from]
                    );
                }
            }
        }
        for served in [
            ("web.marathon.mesos", A),
            ("web.marathon.mesos", AAAA),
            ("_web._tcp.marathon.mesos", SRV),
            ("nope.marathon.mesos", A),
            ("9.0.0.127.in-addr.arpa", PTR),
        ] {
            assert!(case_free.contains(&served), "{served:?} is case-free");
        }
    }

    #[tokio::test]
    async fn compression_into_the_querys_spelling_is_not_case_free() {
        // The SOA's names point into the owner `mesos` when it is asked in lower case, and
        // are spelled out when it is asked in upper case: neither answer is case-free.
        for spelling in ["mesos", "MESOS"] {
            let wire = answer(spelling, SOA, false).await;
            assert_eq!(spots(&wire), None, "{spelling}");
        }
        // Cut short anywhere: no spots, no panic.
        let wire = answer("_web._tcp.marathon.mesos", SRV, true).await;
        assert!(spots(&wire).is_some());
        for len in 0..wire.len() {
            assert_eq!(spots(&wire[..len]), None, "{len} bytes");
        }
    }
}
