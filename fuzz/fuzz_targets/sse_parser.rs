//! The incremental SSE parser: no panic, no event beyond the size limit, and the same
//! events whether the stream arrives whole or split at any byte (the first input byte
//! picks the split point).
#![no_main]

use herald_subscriber::marathon::sse::SseParser;
use libfuzzer_sys::fuzz_target;

const LIMIT: usize = 4096;

fuzz_target!(|data: &[u8]| {
    let Some((&split, stream)) = data.split_first() else {
        return;
    };
    let mut whole = SseParser::new(LIMIT);
    let all = whole.push(stream);
    let at = usize::from(split) * stream.len() / 255;
    let mut parts = SseParser::new(LIMIT);
    let mut split_events = parts.push(&stream[..at]);
    split_events.extend(parts.push(&stream[at..]));
    assert_eq!(all, split_events);
    assert_eq!(whole.oversized(), parts.oversized());
    for event in &all {
        assert!(!event.data.is_empty());
        assert!(event.data.len() <= whole.max_event_bytes());
    }
    whole.finish();
    assert!(whole.push(b"data: x\n\n").len() == 1, "usable after finish");
});
