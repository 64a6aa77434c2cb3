//! Bad DNS input: malformed, truncated and hostile packets get FORMERR or NOTIMP (or, for
//! datagrams that are not queries, silence), never a crash. The pure UDP path
//! (`udp::respond`) replays the fuzz corpus and thousands of mutated packets; the real
//! binary gets the same kinds of packets over UDP and TCP and keeps answering. The zone
//! and the reply checks are the fuzz target's (`herald_dns::test_support`).
#![allow(clippy::unwrap_used)]

use crate::common;

use std::io::{Read, Write as _};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::time::Duration;

use common::{Herald, etcd_with, task};
use herald_dns::test_support::{check_reply, fuzz_handler, fuzz_source};
use herald_dns::udp;
use registry::harness::XorShift;

const FORMERR: u8 = 1;
const NOTIMP: u8 = 4;
const REFUSED: u8 = 5;

/// A query for `name`/`qtype` in `class`, with `opcode`.
fn query(id: u16, opcode: u8, name: &str, qtype: u16, class: u16) -> Vec<u8> {
    let mut q = id.to_be_bytes().to_vec();
    q.extend_from_slice(&[(opcode << 3) | 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.split('.').filter(|l| !l.is_empty()) {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.push(0);
    q.extend_from_slice(&qtype.to_be_bytes());
    q.extend_from_slice(&class.to_be_bytes());
    q
}

/// The hostile packets, each with the rcode it must get (None: no reply at all).
fn hostile() -> Vec<(&'static str, Vec<u8>, Option<u8>)> {
    let good = query(0x4242, 0, "web.marathon.mesos", 1, 1);
    let mut loop_ = good[..12].to_vec();
    loop_.extend_from_slice(&[0xC0, 12, 0, 1, 0, 1]); // a name pointing at itself
    let mut forward = good[..12].to_vec();
    forward.extend_from_slice(&[0xC0, 14, 0xC0, 12, 0, 1, 0, 1]); // two pointers, a cycle
    let mut huge = good.clone();
    huge[4..12].copy_from_slice(&[0xff; 8]); // 65535 of every section
    let mut long_label = good[..12].to_vec();
    long_label.push(63);
    long_label.extend_from_slice(&[b'a'; 20]); // the label runs past the end
    // Found by cargo fuzz: a second question whose name points into the header; echoed
    // as is, the pointer would land on the response's (different) flags.
    let mut into_header = good.clone();
    into_header[5] = 2;
    into_header.extend_from_slice(&[0xC0, 2, 0, 1, 0, 1]);
    let mut response = good.clone();
    response[2] |= 0x80;
    vec![
        ("empty", Vec::new(), None),
        ("shorter than a header", good[..11].to_vec(), None),
        ("a response", response, None),
        (
            "header only, one question",
            good[..12].to_vec(),
            Some(FORMERR),
        ),
        (
            "truncated question",
            good[..good.len() - 3].to_vec(),
            Some(FORMERR),
        ),
        ("compression loop", loop_, Some(FORMERR)),
        ("compression cycle", forward, Some(FORMERR)),
        ("huge counts", huge, Some(FORMERR)),
        ("pointer into the header", into_header, Some(FORMERR)),
        ("label past the end", long_label, Some(FORMERR)),
        (
            "opcode 15",
            query(1, 15, "web.marathon.mesos", 1, 1),
            Some(NOTIMP),
        ),
        (
            "opcode 5 (UPDATE)",
            query(2, 5, "mesos", 6, 1),
            Some(NOTIMP),
        ),
        (
            "opcode 4 (NOTIFY)",
            query(3, 4, "mesos", 6, 1),
            Some(NOTIMP),
        ),
        (
            "opcode 9, garbage body",
            {
                let mut q = huge_garbage(9);
                q.truncate(40);
                q
            },
            Some(NOTIMP),
        ),
        (
            "class 42",
            query(4, 0, "web.marathon.mesos", 1, 42),
            Some(REFUSED),
        ),
        (
            "class CH",
            query(5, 0, "web.marathon.mesos", 16, 3),
            Some(REFUSED),
        ),
    ]
}

/// A query header with `opcode` followed by bytes that do not parse.
fn huge_garbage(opcode: u8) -> Vec<u8> {
    let mut q = vec![0x77, 0x77, opcode << 3, 0, 0, 3, 0, 0, 0, 0, 0, 0];
    q.extend((0..200u8).map(|i| i.wrapping_mul(37) | 0xC0));
    q
}

fn rcode(reply: &[u8]) -> u8 {
    reply[3] & 0x0f
}

#[tokio::test]
async fn hostile_packets_get_formerr_or_notimp_from_the_pure_path() {
    let handler = fuzz_handler();
    let good = query(9, 0, "web.marathon.mesos", 1, 1);
    let reply = udp::respond(&handler, &good, fuzz_source()).await.unwrap();
    check_reply(&good, &reply);
    assert_eq!(rcode(&reply), 0);
    assert_eq!(u16::from_be_bytes([reply[6], reply[7]]), 1, "one A record");
    for (what, packet, expected) in hostile() {
        let reply = udp::respond(&handler, &packet, fuzz_source()).await;
        match expected {
            None => assert_eq!(reply, None, "{what}"),
            Some(code) => {
                let reply = reply.unwrap_or_else(|| panic!("{what}: no reply"));
                check_reply(&packet, &reply);
                assert_eq!(rcode(&reply), code, "{what}");
                assert_eq!(reply[2] & 0x78, packet[2] & 0x78, "{what}: the opcode");
            }
        }
    }
}

/// The fuzz corpus plus mutations of it (bit flips, truncations, splices, random bytes):
/// never a panic, every reply well-formed: the fuzz target's zone and checks
/// (`herald_dns::test_support`), on stable and without libFuzzer.
#[tokio::test]
async fn corpus_and_mutations_never_crash_the_pure_path() {
    let handler = fuzz_handler();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/dns_query");
    let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    assert!(seeds.len() >= 10, "the corpus in {}", dir.display());
    seeds.extend(hostile().into_iter().map(|(_, p, _)| p));
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let mut inputs = seeds.clone();
    for i in 0..6000 {
        let seed = &seeds[i % seeds.len()];
        let mut packet = seed.clone();
        match rng.next_u64() % 4 {
            0 if !packet.is_empty() => {
                for _ in 0..=rng.next_u64() % 4 {
                    let at = rng.below(packet.len());
                    packet[at] ^= 1 << (rng.next_u64() % 8);
                }
            }
            1 => packet.truncate(rng.below(packet.len() + 1)),
            2 => {
                let other = &seeds[rng.below(seeds.len())];
                let cut = rng.below(other.len() + 1);
                packet.extend_from_slice(&other[cut..]);
            }
            _ => {
                packet = (0..rng.next_u64() % 600)
                    .map(|_| rng.next_u64() as u8)
                    .collect()
            }
        }
        // Mostly queries: clear QR so the parser, not the silence rule, sees them.
        if packet.len() > 2 && i % 8 != 0 {
            packet[2] &= 0x7f;
        }
        inputs.push(packet);
    }
    let mut replies = 0;
    for packet in &inputs {
        if let Some(reply) = udp::respond(&handler, packet, fuzz_source()).await {
            check_reply(packet, &reply);
            replies += 1;
        }
    }
    assert!(replies > inputs.len() / 2, "{replies} of {}", inputs.len());
}

fn udp_exchange(server: SocketAddr, packet: &[u8]) -> Option<Vec<u8>> {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(1500)))
        .unwrap();
    socket.send_to(packet, server).unwrap();
    let mut buf = [0u8; 4096];
    socket
        .recv_from(&mut buf)
        .ok()
        .map(|(n, _)| buf[..n].to_vec())
}

#[tokio::test]
async fn the_server_answers_hostile_packets_and_keeps_serving() {
    let (etcd, _) = etcd_with(vec![task("/web", "web.t1", "127.0.0.9", &[])]).await;
    // Loopback outside the recursion ACL: names and classes not ours get REFUSED.
    let herald = Herald::start(
        &etcd,
        &["--threads", "1", "--allow-recursion", "10.0.0.0/8"],
    )
    .await;
    for (what, packet, expected) in hostile() {
        let reply = udp_exchange(herald.dns, &packet);
        match expected {
            None => assert_eq!(reply, None, "UDP {what}"),
            Some(code) => {
                let reply = reply.unwrap_or_else(|| panic!("UDP {what}: no reply"));
                check_reply(&packet, &reply);
                assert_eq!(rcode(&reply), code, "UDP {what}");
            }
        }
    }
    // A flood of random datagrams, then the server still answers.
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut rng = XorShift(42);
    for _ in 0..3000 {
        let packet: Vec<u8> = (0..rng.next_u64() % 512)
            .map(|_| rng.next_u64() as u8)
            .collect();
        socket.send_to(&packet, herald.dns).unwrap();
    }
    // Over TCP: a malformed message gets FORMERR on the connection; a length prefix
    // promising more than is sent is cut by the idle timeout without harm.
    let mut loop_ = query(0x5151, 0, "x", 1, 1)[..12].to_vec();
    loop_.extend_from_slice(&[0xC0, 12, 0, 1, 0, 1]);
    let mut tcp = TcpStream::connect(herald.dns).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    tcp.write_all(&(loop_.len() as u16).to_be_bytes()).unwrap();
    tcp.write_all(&loop_).unwrap();
    let mut len = [0u8; 2];
    tcp.read_exact(&mut len).unwrap();
    let mut reply = vec![0u8; usize::from(u16::from_be_bytes(len))];
    tcp.read_exact(&mut reply).unwrap();
    check_reply(&loop_, &reply);
    assert_eq!(rcode(&reply), FORMERR, "TCP compression loop");
    let mut partial = TcpStream::connect(herald.dns).unwrap();
    partial.write_all(&[0x10, 0x00, 0x12, 0x34]).unwrap();

    let a = herald.answers(&["web.marathon.mesos", "A"]);
    assert_eq!(a, vec!["127.0.0.9"]);
    let tcp = herald.answers(&["+tcp", "web.marathon.mesos", "A"]);
    assert_eq!(tcp, vec!["127.0.0.9"]);
    let health = herald.get("/healthz");
    assert!(health.contains("\"ok\""), "{health}");
}
