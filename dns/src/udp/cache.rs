//! The per-thread answer cache of the fast path: the wire bytes of authoritative answers,
//! keyed by the query without its ID or DNS cookie and with its question's name in lower
//! case ([`cache_key`]), replayed with the ID and the query's spelling of the name patched
//! in (and address runs rotated, see [`super::rotation`]). It holds answers of one zone
//! snapshot only: the first lookup after a new snapshot is published empties it, and an
//! answer computed from an older snapshot is never stored.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use hickory_proto::op::ResponseCode;
use hickory_server::server::ResponseInfo;

use super::case;
use super::rotation::Rotation;
use super::wire::{opt_data, question_name_end, u16_at};
use crate::handler::SharedZone;
use crate::snapshot::ZoneSnapshot;

/// Queries longer than this are never cached (a name is at most 255 octets).
const MAX_CACHED_QUERY: usize = 300;
/// Bytes of answers and keys per thread before the cache starts over: the hot names of a
/// busy node fit many times over, while a client walking every name (a zone scan, a
/// monitoring sweep) cannot make each thread hold a copy of every answer.
const MAX_BYTES: usize = 4 << 20;
/// What an entry costs besides its key's and answer's bytes (the map's slot, the
/// vectors' headers, the counter handle), as counted against [`MAX_BYTES`].
const ENTRY_OVERHEAD: usize = 160;
/// EDNS option code of DNS cookies (RFC 7873).
const COOKIE: u16 = 10;

/// One cached answer, with the query counter it increments (resolved once: a labelled
/// metrics lookup per query would cost more than the rest of the fast path).
struct Cached {
    wire: Vec<u8>,
    queries: metrics::Counter,
    rotation: Option<Rotation>,
    /// Where `wire` spells the question's name, when copying any spelling of it there gives
    /// the answer to that spelling ([`case::spots`]); `None`: only a query spelling it as
    /// `wire` does is answered from this entry.
    spots: Option<Vec<usize>>,
}

/// Cached answers for one zone snapshot.
#[derive(Default)]
struct Entries {
    snapshot: Option<Arc<ZoneSnapshot>>,
    /// Query bytes after the ID -> answer; one map per value of "may recurse".
    by_query: [HashMap<Vec<u8>, Cached>; 2],
    /// What the entries cost, as counted against [`MAX_BYTES`].
    bytes: usize,
}

/// One DNS thread's cache, shared by its socket loop (which replays answers) and the
/// tasks answering its slow-path queries (which store them).
#[derive(Clone, Default)]
pub(super) struct AnswerCache(Arc<Mutex<Entries>>);

/// The fast path's own metric handles.
pub(super) struct FastPathMetrics {
    hits: metrics::Counter,
    latency: metrics::Histogram,
}

impl FastPathMetrics {
    pub(super) fn new() -> Self {
        FastPathMetrics {
            hits: metrics::counter!(crate::metrics::FAST_PATH_HITS),
            latency: metrics::histogram!(crate::metrics::QUERY_SECONDS),
        }
    }
}

impl AnswerCache {
    /// Writes the cached answer to `query`, its ID and its spelling of the question's name
    /// patched in, into `reply`; false on a miss. `key` is scratch space for the cache key
    /// (kept by the caller so that a lookup allocates nothing). A snapshot published since
    /// the last lookup empties the cache first.
    pub(super) fn replay(
        &self,
        zone: &SharedZone,
        recurse: bool,
        query: &[u8],
        key: &mut Vec<u8>,
        metrics: &FastPathMetrics,
        reply: &mut Vec<u8>,
    ) -> bool {
        let Some(name_end) = cache_key(query, key) else {
            return false;
        };
        let start = Instant::now();
        let current = zone.load();
        let Ok(mut cache) = self.0.lock() else {
            return false;
        };
        let fresh = match (&cache.snapshot, current.as_ref()) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        };
        if !fresh {
            *cache = Entries {
                snapshot: current.as_ref().map(Arc::clone),
                ..Entries::default()
            };
            return false;
        }
        let Some(hit) = cache.by_query[usize::from(recurse)].get_mut(key.as_slice()) else {
            return false;
        };
        let name = &query[12..name_end];
        if hit.spots.is_none() && hit.wire.get(12..name_end) != Some(name) {
            return false;
        }
        reply.clear();
        match &mut hit.rotation {
            Some(rotation) => rotation.write(&hit.wire, reply),
            None => reply.extend_from_slice(&hit.wire),
        }
        reply[0] = query[0];
        reply[1] = query[1];
        for &spot in hit.spots.iter().flatten() {
            if let Some(spelling) = reply.get_mut(spot..spot + name.len()) {
                spelling.copy_from_slice(name);
            }
        }
        hit.queries.increment(1);
        metrics.hits.increment(1);
        metrics.latency.record(start.elapsed().as_secs_f64());
        true
    }

    /// The place in this cache for the answer to `query`, computed from `zone` (the
    /// snapshot the slow path is about to read); `None` when such a query is not cached.
    /// `qtype` labels the query counter of the entry; `rotate` turns rotation on.
    pub(super) fn offer(
        &self,
        query: &[u8],
        recurse: bool,
        zone: Option<Arc<ZoneSnapshot>>,
        qtype: &'static str,
        rotate: bool,
    ) -> Option<Offer> {
        let mut key = Vec::new();
        cache_key(query, &mut key)?;
        Some(Offer {
            cache: self.clone(),
            key,
            recurse,
            zone: zone?,
            qtype,
            rotate,
        })
    }
}

/// Where the slow path's answer to one query goes in the cache, if it qualifies.
#[derive(Clone)]
pub(super) struct Offer {
    cache: AnswerCache,
    key: Vec<u8>,
    recurse: bool,
    zone: Arc<ZoneSnapshot>,
    qtype: &'static str,
    rotate: bool,
}

impl Offer {
    /// Stores `wire`, the sent response described by `info`, when it is authoritative
    /// (NOERROR or NXDOMAIN from the zone) and its snapshot is still the cache's.
    pub(super) fn store(self, info: &ResponseInfo, wire: Vec<u8>) {
        let authoritative = info.authoritative
            && matches!(
                info.response_code,
                ResponseCode::NoError | ResponseCode::NXDomain
            );
        if !authoritative {
            return;
        }
        let Ok(mut cache) = self.cache.0.lock() else {
            return;
        };
        if !cache
            .snapshot
            .as_ref()
            .is_some_and(|s| Arc::ptr_eq(s, &self.zone))
        {
            return;
        }
        let cost = self.key.len() + wire.len() + ENTRY_OVERHEAD;
        if cache.bytes + cost > MAX_BYTES {
            // Starting over (the maps' room freed too) keeps the hot names: they come
            // back with their next query.
            *cache = Entries {
                snapshot: cache.snapshot.take(),
                ..Entries::default()
            };
        }
        cache.bytes += cost;
        let entries = &mut cache.by_query[usize::from(self.recurse)];
        let queries = metrics::counter!(
            crate::metrics::QUERIES,
            "qtype" => self.qtype,
            "rcode" => info.response_code.to_str()
        );
        let (wire, rotation) = match Rotation::of(&wire).filter(|_| self.rotate) {
            Some((rotatable, rotation)) => (rotatable, Some(rotation)),
            None => (wire, None),
        };
        // Rotation moves records: a spelling inside them would move too.
        let spots = case::spots(&wire).filter(|spots| match &rotation {
            Some(rotation) => spots.iter().all(|&spot| spot < rotation.start()),
            None => true,
        });
        entries.insert(
            self.key,
            Cached {
                wire,
                queries,
                rotation,
                spots,
            },
        );
    }
}

/// Writes the cache key of a plain query (one question written out, no answer or authority
/// records, opcode QUERY, at most an OPT record) into `key`: its bytes after the ID, with
/// the question's name in lower case and any cookie left out of the OPT; returns where the
/// question's name ends. Names are compared without case, so every spelling of a name gets
/// the same answer (but for the spelling it echoes: see [`super::case`]). Herald does not
/// implement cookies, so a cookie changes nothing in the answer (RFC 7873 5.2.1), while a
/// client sends a fresh one with every query: keeping it in the key would make every such
/// query a miss. Other EDNS options stay in the key as sent: the same options get the same
/// answer. `None`: not cached.
fn cache_key(query: &[u8], key: &mut Vec<u8>) -> Option<usize> {
    let count = |i: usize| u16_at(query, i);
    let plain = query.len() <= MAX_CACHED_QUERY
        && query.get(2)? & 0x78 == 0
        && count(4)? == 1
        && count(6)? == 0
        && count(8)? == 0;
    if !plain {
        return None;
    }
    let name_end = question_name_end(query)?;
    // Past the question (its name, type and class): the OPT, if any.
    let opt = name_end + 4;
    let options = match count(10)? {
        0 if query.len() == opt => None,
        1 => Some(opt_data(query, opt)?),
        _ => return None,
    };
    key.clear();
    key.extend_from_slice(&query[2..name_end]);
    key[10..].make_ascii_lowercase();
    let Some(data) = options else {
        key.extend_from_slice(&query[name_end..]);
        return Some(name_end);
    };
    // The OPT up to its data length, then every option but cookies.
    key.extend_from_slice(&query[name_end..opt + 9]);
    let length_at = key.len();
    key.extend_from_slice(&[0, 0]);
    let mut option = data;
    while option < query.len() {
        let end = option + 4 + usize::from(count(option + 2)?);
        if count(option)? != COOKIE {
            key.extend_from_slice(query.get(option..end)?);
        }
        option = end;
    }
    if option != query.len() {
        return None;
    }
    let length = u16::try_from(key.len() - length_at - 2).ok()?;
    key[length_at..length_at + 2].copy_from_slice(&length.to_be_bytes());
    Some(name_end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(options: &[u8]) -> Vec<u8> {
        let mut q = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1];
        q.extend_from_slice(b"\x03web\x08marathon\x05mesos\x00\x00\x01\x00\x01");
        q.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0]);
        q.extend_from_slice(&(options.len() as u16).to_be_bytes());
        q.extend_from_slice(options);
        q
    }

    fn key(query: &[u8]) -> Option<Vec<u8>> {
        let mut key = vec![1, 2, 3];
        cache_key(query, &mut key).map(|_| key)
    }

    /// A plain query for `app{i}.marathon.mesos A`, ID 0x1234.
    fn query_for(i: usize) -> Vec<u8> {
        let label = format!("app{i}");
        let mut q = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
        q.extend_from_slice(b"\x08marathon\x05mesos\x00\x00\x01\x00\x01");
        q
    }

    #[test]
    fn a_walk_over_every_name_keeps_the_cache_within_its_bytes() {
        use hickory_proto::op::{Header, HeaderCounts, MessageType, Metadata, OpCode};
        let zone: SharedZone = Arc::new(arc_swap::ArcSwapOption::from_pointee(
            ZoneSnapshot::default(),
        ));
        let cache = AnswerCache::default();
        let fast = FastPathMetrics::new();
        let (mut key, mut reply) = (Vec::new(), Vec::new());
        let mut metadata = Metadata::new(0x1234, MessageType::Response, OpCode::Query);
        metadata.authoritative = true;
        let info = ResponseInfo::from(Header {
            metadata,
            counts: HeaderCounts::default(),
        });
        // The first lookup ties the cache to the published snapshot.
        assert!(!cache.replay(&zone, false, &query_for(0), &mut key, &fast, &mut reply));
        let answer = |query: &[u8]| {
            let mut wire = query.to_vec();
            wire.resize(1_000, 0);
            wire
        };
        let mut started_over = false;
        for i in 0..20_000 {
            let query = query_for(i);
            let offer = cache.offer(&query, false, zone.load_full(), "A", false);
            offer
                .expect("a plain query is cached")
                .store(&info, answer(&query));
            let entries = cache.0.lock().unwrap();
            let held: usize = (entries.by_query.iter().flatten())
                .map(|(key, cached)| key.len() + cached.wire.len())
                .sum();
            assert!(held <= MAX_BYTES, "{held} bytes held");
            started_over |= entries.by_query[0].len() < i + 1;
        }
        // 20,000 answers of 1,000 bytes are several budgets: the cache started over,
        // and what it stored last still answers.
        assert!(started_over);
        let last = query_for(19_999);
        assert!(cache.replay(&zone, false, &last, &mut key, &fast, &mut reply));
        assert_eq!(reply, answer(&last));
    }

    #[test]
    fn cookies_are_left_out_of_cache_keys() {
        let bare = query(&[]);
        let cookie = |c: u8| {
            let mut options = vec![0, 10, 0, 8];
            options.extend_from_slice(&[c; 8]);
            query(&options)
        };
        assert_eq!(key(&bare).as_deref(), Some(&bare[2..]));
        assert_eq!(key(&cookie(1)), key(&bare));
        assert_eq!(key(&cookie(2)), key(&bare));
        // Other options stay in the key, as sent.
        let subnet = query(&[0, 8, 0, 4, 0, 1, 24, 0]);
        assert_eq!(key(&subnet).as_deref(), Some(&subnet[2..]), "client subnet");
        let mut both = cookie(1);
        both.truncate(both.len() - 12);
        let rdlen = both.len() - 2;
        both[rdlen..].copy_from_slice(&20u16.to_be_bytes());
        both.extend_from_slice(&[0, 10, 0, 8, 1, 1, 1, 1, 1, 1, 1, 1, 0, 3, 0, 4, 0, 0, 0, 0]);
        let nsid = query(&[0, 3, 0, 4, 0, 0, 0, 0]);
        assert_eq!(key(&both), key(&nsid), "a cookie and an NSID request");
        assert_ne!(key(&nsid), key(&bare));
        // Cut short anywhere: no key, no panic.
        let full = cookie(3);
        for len in 0..full.len() {
            assert!(key(&full[..len]).is_none(), "{len} bytes");
        }
    }

    #[test]
    fn names_are_keyed_without_case() {
        let lower = query(&[]);
        let mut mixed = lower.clone();
        mixed[13..16].copy_from_slice(b"WeB");
        mixed[17..25].copy_from_slice(b"MARAthon");
        assert_eq!(key(&mixed), key(&lower));
        let (mut a, mut b) = (Vec::new(), Vec::new());
        assert_eq!(cache_key(&mixed, &mut a), Some(32));
        assert_eq!(cache_key(&lower, &mut b), Some(32));
        // The type, class and flags still count.
        let mut aaaa = lower.clone();
        aaaa[33] = 28;
        assert_ne!(key(&aaaa), key(&lower));
    }
}
