//! The stable stand-in for `cargo fuzz`: every file of the fuzz corpora
//! (`fuzz/corpus/event_decode`, `fuzz/corpus/sse_parser`) and thousands of mutations of
//! them go through the same functions and checks as the fuzz targets
//! (`fuzz/fuzz_targets/*.rs`): no panic, SSE parsing independent of how the bytes are split.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use herald_subscriber::events;
use herald_subscriber::marathon::sse::SseParser;
use registry::harness::XorShift;

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let seeds: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    assert!(seeds.len() >= 2, "the corpus in {}", dir.display());
    seeds
}

/// `seeds` plus `n` mutations: bit flips, truncations, splices, byte insertions.
fn mutations(seeds: &[Vec<u8>], n: usize, seed: u64) -> Vec<Vec<u8>> {
    let mut rng = XorShift(seed);
    let mut out = seeds.to_vec();
    for i in 0..n {
        let mut input = seeds[i % seeds.len()].clone();
        match rng.below(4) {
            0 if !input.is_empty() => {
                for _ in 0..=rng.below(8) {
                    let at = rng.below(input.len());
                    input[at] ^= 1 << rng.below(8);
                }
            }
            1 => input.truncate(rng.below(input.len() + 1)),
            2 => {
                let other = &seeds[rng.below(seeds.len())];
                let cut = rng.below(other.len() + 1);
                let at = rng.below(input.len() + 1);
                input.splice(at..at, other[cut..].iter().copied());
            }
            _ => {
                let at = rng.below(input.len() + 1);
                let byte = [b'"', b'{', b'}', b'[', b'\n', b'\r', b':', 0, 0xff][rng.below(9)];
                input.insert(at, byte);
            }
        }
        out.push(input);
    }
    out
}

#[test]
fn event_decode_corpus_and_mutations_never_panic() {
    let seeds = corpus("event_decode");
    let mut decoded = 0;
    for input in mutations(&seeds, 5000, 0x5EED) {
        match events::decode(&input) {
            Ok(d) => {
                assert!(!d.label.is_empty());
                decoded += 1;
            }
            Err(e) => {
                // 400 for what is not a Marathon event at all, 422 for an event whose
                // content is unusable: the class follows from the bytes alone.
                let is_event = serde_json::from_slice::<serde_json::Value>(&input)
                    .is_ok_and(|v| v.get("eventType").is_some_and(|t| t.is_string()));
                assert_eq!(
                    e.is_bad_request(),
                    !is_event,
                    "{e} for {}",
                    String::from_utf8_lossy(&input)
                );
                assert!(!e.to_string().is_empty());
            }
        }
    }
    assert!(decoded >= seeds.len() / 2, "the seeds decode: {decoded}");
}

#[test]
fn sse_corpus_and_mutations_parse_the_same_however_split() {
    let seeds = corpus("sse_parser");
    let mut events_seen = 0;
    for (i, stream) in mutations(&seeds, 3000, 0xC0FFEE).iter().enumerate() {
        let limit = if i % 2 == 0 { 4096 } else { 64 };
        let mut whole = SseParser::new(limit);
        let all = whole.push(stream);
        for at in [0, stream.len() / 3, stream.len() / 2, stream.len()] {
            let mut parts = SseParser::new(limit);
            let mut split = parts.push(&stream[..at]);
            split.extend(parts.push(&stream[at..]));
            assert_eq!(all, split, "split at {at}");
        }
        // Byte by byte, like the slowest socket.
        if i < 200 {
            let mut bytes = SseParser::new(limit);
            let one: Vec<_> = stream.iter().flat_map(|b| bytes.push(&[*b])).collect();
            assert_eq!(all, one, "byte by byte");
        }
        for event in &all {
            assert!(!event.data.is_empty());
            assert!(event.data.len() <= whole.max_event_bytes());
        }
        events_seen += all.len();
    }
    assert!(events_seen > 100, "the seeds hold events: {events_seen}");
}
