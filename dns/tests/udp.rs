//! The UDP loop over a real socket: bursts taken in batches (`recvmmsg`/`sendmmsg`) with
//! every query answered, and what the fast path serves besides the exact bytes it cached:
//! other spellings of a name (DNS 0x20), EDNS options, truncated answers. Each fast-path
//! answer is compared byte for byte with the slow path's answer to the same query, taken
//! from a second herald-dns whose cache has not seen that query.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, ResponseCode};

use crate::common::{Herald, etcd_with, task};

/// A raw query: RD set, `options` in an OPT advertising 1232 bytes when given.
fn query(id: u16, name: &str, qtype: u16, options: Option<&[u8]>) -> Vec<u8> {
    let mut q = id.to_be_bytes().to_vec();
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, u8::from(options.is_some())]);
    for label in name.split('.').filter(|l| !l.is_empty()) {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.push(0);
    q.extend_from_slice(&qtype.to_be_bytes());
    q.extend_from_slice(&[0, 1]);
    if let Some(options) = options {
        q.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0]);
        q.extend_from_slice(&(options.len() as u16).to_be_bytes());
        q.extend_from_slice(options);
    }
    q
}

/// One query, one answer (3 s at most).
fn exchange(server: SocketAddr, query: &[u8]) -> Vec<u8> {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    socket.send_to(query, server).unwrap();
    let mut buf = [0u8; 4096];
    let (len, _) = socket.recv_from(&mut buf).unwrap();
    buf[..len].to_vec()
}

/// The answer to `query` from the fast path of `warm` (asserted: its hit counter moves),
/// and the slow path's answer to the same bytes from `cold`.
fn fast_and_slow(warm: &Herald, cold: &Herald, query: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let before = warm.fast_path_hits();
    let fast = exchange(warm.dns, query);
    assert_eq!(
        warm.fast_path_hits(),
        before + 1,
        "answered from the fast path"
    );
    let hits = cold.fast_path_hits();
    let slow = exchange(cold.dns, query);
    assert_eq!(cold.fast_path_hits(), hits, "answered by the slow path");
    (fast, slow)
}

/// Two herald-dns on one etcd (one DNS thread each, answers in a fixed order, so that the
/// same query gets the same bytes from both).
async fn pair(etcd: &registry::harness::EtcdServer) -> (Herald, Herald) {
    let args = ["--threads", "1", "--fixed-order"];
    (
        Herald::start(etcd, &args).await,
        Herald::start(etcd, &args).await,
    )
}

#[tokio::test]
async fn a_burst_from_one_socket_is_taken_in_batches_and_every_query_answered() {
    let (etcd, _) = etcd_with(vec![
        task("/web", "web.t1", "127.0.0.9", &[("http", 31500)]),
        task("/web", "web.t2", "127.0.0.10", &[("http", 31501)]),
    ])
    .await;
    let herald = Herald::start(&etcd, &["--threads", "1"]).await;
    // Queries the cache knows, and queries it does not (the slow path answers those).
    let kinds: [(&str, u16, ResponseCode, usize); 4] = [
        ("web.marathon.mesos", 1, ResponseCode::NoError, 2),
        ("_WEB._tcp.marathon.mesos", 33, ResponseCode::NoError, 2),
        ("nope.marathon.mesos", 1, ResponseCode::NXDomain, 0),
        ("web.marathon.mesos", 28, ResponseCode::NoError, 0),
    ];
    for (name, qtype, _, _) in kinds {
        exchange(herald.dns, &query(0, name, qtype, None));
    }
    const BURST: u16 = 256;
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    client
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let (calls, datagrams) = (
        herald.counter("herald_dns_udp_receive_calls_total"),
        herald.counter("herald_dns_udp_datagrams_total"),
    );
    // Stopped, herald-dns cannot read: the whole burst waits in its socket.
    herald.pause();
    for id in 0..BURST {
        let (name, qtype, _, _) = kinds[usize::from(id) % kinds.len()];
        client
            .send_to(&query(id, name, qtype, None), herald.dns)
            .unwrap();
    }
    herald.resume();
    let mut answers: BTreeMap<u16, Message> = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut buf = [0u8; 4096];
    while answers.len() < usize::from(BURST) && Instant::now() < deadline {
        if let Ok(len) = client.recv(&mut buf) {
            let message = Message::from_vec(&buf[..len]).unwrap();
            answers.insert(message.metadata.id, message);
        }
    }
    assert_eq!(
        answers.len(),
        usize::from(BURST),
        "every query answered once"
    );
    for (id, answer) in &answers {
        let (name, _, rcode, count) = kinds[usize::from(*id) % kinds.len()];
        assert_eq!(answer.metadata.response_code, rcode, "{id}: {name}");
        assert_eq!(answer.answers.len(), count, "{id}: {name}");
        assert_eq!(answer.queries[0].name().to_string(), format!("{name}."));
    }
    let calls = herald.counter("herald_dns_udp_receive_calls_total") - calls;
    let datagrams = herald.counter("herald_dns_udp_datagrams_total") - datagrams;
    assert!(datagrams >= u64::from(BURST), "{datagrams} datagrams");
    assert!(
        calls * 8 <= datagrams,
        "{datagrams} datagrams in {calls} receive calls: batches of 8 or more on average"
    );
}

#[tokio::test]
async fn other_spellings_of_a_name_come_from_the_fast_path_in_their_own_case() {
    let (etcd, _) = etcd_with(vec![
        task("/web", "web.t1", "127.0.0.9", &[("http", 31500)]),
        task("/web", "web.t2", "127.0.0.10", &[("http", 31501)]),
    ])
    .await;
    let (warm, cold) = pair(&etcd).await;
    let cases = [
        ("web.marathon.mesos", "WeB.MaRaThOn.MeSoS", 1),
        ("web.marathon.mesos", "WEB.MARATHON.MESOS", 28),
        ("_web._tcp.marathon.mesos", "_WEB._tcp.MARATHON.mesos", 33),
        ("nope.marathon.mesos", "NoPe.marathon.MESOS", 1),
    ];
    for (cached, spelled, qtype) in cases {
        for options in [None, Some(&[][..])] {
            exchange(warm.dns, &query(1, cached, qtype, options));
            let asked = query(2, spelled, qtype, options);
            let (fast, slow) = fast_and_slow(&warm, &cold, &asked);
            assert_eq!(fast, slow, "{spelled} {qtype}: the slow path's bytes");
            let message = Message::from_vec(&fast).unwrap();
            assert_eq!(message.queries[0].name().to_string(), format!("{spelled}."));
            for record in message.answers.iter() {
                assert_eq!(record.name.to_string(), format!("{spelled}."), "owner");
            }
        }
    }
    // dig sends a fresh cookie with each query: still a hit, still in its own case.
    warm.dig(&["web.marathon.mesos", "A"]);
    let before = warm.fast_path_hits();
    let out = warm.dig(&["+noall", "+answer", "wEb.MARATHON.mesos", "A"]);
    assert!(out.contains("wEb.MARATHON.mesos."), "{out}");
    assert!(warm.fast_path_hits() > before);
}

#[tokio::test]
async fn queries_with_edns_options_come_from_the_fast_path() {
    let (etcd, _) = etcd_with(vec![task("/web", "web.t1", "127.0.0.9", &[])]).await;
    let (warm, cold) = pair(&etcd).await;
    let nsid: &[u8] = &[0, 3, 0, 0];
    let subnet: &[u8] = &[0, 8, 0, 7, 0, 1, 24, 0, 192, 0, 2];
    let cookie_and_nsid: &[u8] = &[0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0, 3, 0, 0];
    let padding: &[u8] = &[0, 12, 0, 4, 0, 0, 0, 0];
    // A cookie is left out of the cache key: the NSID request's entry answers the second.
    for (options, filled) in [
        (nsid, false),
        (subnet, false),
        (padding, false),
        (cookie_and_nsid, true),
    ] {
        if !filled {
            exchange(warm.dns, &query(1, "web.marathon.mesos", 1, Some(options)));
        }
        let asked = query(2, "web.marathon.mesos", 1, Some(options));
        let before = cold.fast_path_hits();
        let (fast, slow) = if filled {
            (exchange(warm.dns, &asked), exchange(cold.dns, &asked))
        } else {
            fast_and_slow(&warm, &cold, &asked)
        };
        assert_eq!(cold.fast_path_hits() > before, filled);
        assert_eq!(fast, slow, "{options:?}: the slow path's bytes");
        let message = Message::from_vec(&fast).unwrap();
        assert_eq!(message.answers.len(), 1, "{options:?}");
    }
}

#[tokio::test]
async fn truncated_answers_stay_truncated_on_the_fast_path() {
    let tasks = (0..80)
        .map(|i| {
            task(
                "/big",
                &format!("big.{i}"),
                &format!("127.0.1.{}", i + 1),
                &[],
            )
        })
        .collect();
    let (etcd, _) = etcd_with(tasks).await;
    let (warm, cold) = pair(&etcd).await;
    // 80 A records need ~1.3 KB: more than 512 bytes without EDNS, and more than 1232.
    for options in [None, Some(&[][..])] {
        exchange(warm.dns, &query(1, "big.marathon.mesos", 1, options));
        let asked = query(2, "big.marathon.mesos", 1, options);
        let (fast, slow) = fast_and_slow(&warm, &cold, &asked);
        assert_eq!(fast, slow, "the slow path's bytes");
        let message = Message::from_vec(&fast).unwrap();
        assert!(message.metadata.truncation, "TC set");
        let limit = if options.is_some() { 1232 } else { 512 };
        assert!(fast.len() <= limit, "{} bytes", fast.len());
        assert!(message.answers.len() < 80);
        // Another spelling: a truncated answer is cut inside a record, so it is replayed
        // for its own spelling only; this one is the slow path's again.
        let other = query(3, "BIG.marathon.mesos", 1, options);
        let answer = exchange(warm.dns, &other);
        assert_eq!(answer, exchange(cold.dns, &other));
        assert!(Message::from_vec(&answer).unwrap().metadata.truncation);
    }
}
