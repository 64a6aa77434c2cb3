//! The per-thread answer cache of the fast path: the wire bytes of authoritative answers,
//! keyed by the query without its ID or DNS cookie ([`cache_key`]), replayed with the ID
//! patched in (and address runs rotated, see [`super::rotation`]). It holds answers of one
//! zone snapshot only: the first lookup after a new snapshot is published empties it, and
//! an answer computed from an older snapshot is never stored.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use hickory_proto::op::ResponseCode;
use hickory_server::server::ResponseInfo;

use super::rotation::Rotation;
use super::wire::{opt_data, question_name_end, u16_at};
use crate::handler::SharedZone;
use crate::snapshot::ZoneSnapshot;

/// Queries longer than this are never cached (a name is at most 255 octets).
const MAX_CACHED_QUERY: usize = 300;
/// Entries per thread before the cache starts over.
const MAX_ENTRIES: usize = 100_000;
/// EDNS option code of DNS cookies (RFC 7873).
const COOKIE: u16 = 10;

/// One cached answer, with the query counter it increments (resolved once: a labelled
/// metrics lookup per query would cost more than the rest of the fast path).
struct Cached {
    wire: Vec<u8>,
    queries: metrics::Counter,
    rotation: Option<Rotation>,
}

/// Cached answers for one zone snapshot.
#[derive(Default)]
struct Entries {
    snapshot: Option<Arc<ZoneSnapshot>>,
    /// Query bytes after the ID -> answer; one map per value of "may recurse".
    by_query: [HashMap<Vec<u8>, Cached>; 2],
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
    /// Writes the cached answer to `query`, its ID patched in, into `reply`; false on a
    /// miss. A snapshot published since the last lookup empties the cache first.
    pub(super) fn replay(
        &self,
        zone: &SharedZone,
        recurse: bool,
        query: &[u8],
        metrics: &FastPathMetrics,
        reply: &mut Vec<u8>,
    ) -> bool {
        let Some(key) = cache_key(query) else {
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
            cache.by_query = Default::default();
            cache.snapshot = current.as_ref().map(Arc::clone);
            return false;
        }
        let Some(hit) = cache.by_query[usize::from(recurse)].get_mut(key.as_ref()) else {
            return false;
        };
        reply.clear();
        match &mut hit.rotation {
            Some(rotation) => rotation.write(&hit.wire, reply),
            None => reply.extend_from_slice(&hit.wire),
        }
        reply[0] = query[0];
        reply[1] = query[1];
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
        Some(Offer {
            cache: self.clone(),
            key: cache_key(query)?.into_owned(),
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
        let entries = &mut cache.by_query[usize::from(self.recurse)];
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        let queries = metrics::counter!(
            crate::metrics::QUERIES,
            "qtype" => self.qtype,
            "rcode" => info.response_code.to_str()
        );
        let (wire, rotation) = match Rotation::of(&wire).filter(|_| self.rotate) {
            Some((rotatable, rotation)) => (rotatable, Some(rotation)),
            None => (wire, None),
        };
        entries.insert(
            self.key,
            Cached {
                wire,
                queries,
                rotation,
            },
        );
    }
}

/// The cache key of a plain query (one question written out, no answer or authority
/// records, opcode QUERY, at most an OPT whose only options are cookies): its bytes after
/// the ID, with any cookie left out. Herald does not implement cookies, so a cookie changes
/// nothing in the answer (RFC 7873 5.2.1), while a client sends a fresh one with every
/// query; keeping it in the key would make every such query a miss. `None`: not cached.
fn cache_key(query: &[u8]) -> Option<Cow<'_, [u8]>> {
    let count = |i: usize| u16_at(query, i);
    let plain = query.len() <= MAX_CACHED_QUERY
        && query.get(2)? & 0x78 == 0
        && count(4)? == 1
        && count(6)? == 0
        && count(8)? == 0;
    if !plain {
        return None;
    }
    match count(10)? {
        0 => return Some(Cow::Borrowed(&query[2..])),
        1 => {}
        _ => return None,
    }
    // Past the question (its name, type and class), the OPT.
    let opt = question_name_end(query)? + 4;
    let data = opt_data(query, opt)?;
    let mut option = data;
    while option < query.len() {
        if count(option)? != COOKIE {
            return None;
        }
        option += 4 + usize::from(count(option + 2)?);
    }
    if option != query.len() {
        return None;
    }
    if data == query.len() {
        return Some(Cow::Borrowed(&query[2..]));
    }
    // The OPT without its options: the same key as the query without a cookie.
    let mut key = query[2..opt + 9].to_vec();
    key.extend_from_slice(&[0, 0]);
    Some(Cow::Owned(key))
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

    #[test]
    fn cookies_are_left_out_of_cache_keys() {
        let bare = query(&[]);
        let cookie = |c: u8| {
            let mut options = vec![0, 10, 0, 8];
            options.extend_from_slice(&[c; 8]);
            query(&options)
        };
        assert_eq!(cache_key(&bare).as_deref(), Some(&bare[2..]));
        assert_eq!(cache_key(&cookie(1)), cache_key(&bare));
        assert_eq!(cache_key(&cookie(2)), cache_key(&bare));
        // Any other option changes the answer (or might): not cached.
        assert_eq!(
            cache_key(&query(&[0, 8, 0, 4, 0, 1, 24, 0])),
            None,
            "client subnet"
        );
        let mut both = cookie(1);
        both.truncate(both.len() - 12);
        let rdlen = both.len() - 2;
        both[rdlen..].copy_from_slice(&20u16.to_be_bytes());
        both.extend_from_slice(&[0, 10, 0, 8, 1, 1, 1, 1, 1, 1, 1, 1, 0, 3, 0, 4, 0, 0, 0, 0]);
        assert_eq!(cache_key(&both), None, "a cookie and an NSID request");
        // Cut short anywhere: no key, no panic.
        let full = cookie(3);
        for len in 0..full.len() {
            assert!(cache_key(&full[..len]).is_none(), "{len} bytes");
        }
    }
}
