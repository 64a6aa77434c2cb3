//! An incremental `text/event-stream` parser (the WHATWG "server-sent events" format),
//! fed with byte chunks exactly as they come off the socket.
//!
//! Pure and allocation-bounded, so it can be fuzzed: any byte sequence, split anywhere,
//! yields the same events as the whole sequence at once, and no input makes it panic or
//! grow beyond [`SseParser::max_event_bytes`].
//!
//! What Marathon sends (see `testdata/marathon/events/sse_stream_*`): `event: <type>\r\n`,
//! `data: <one-line JSON>\r\n`, a blank line; a bare `\r\n` heartbeat every 10 s, written as
//! `\r`, flush, `\n`, flush — so a CR at the end of one chunk and the LF that starts the next
//! are one line end. Old versions send `data:` lines only and LF line ends.

/// One dispatched event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field, when the server sent one.
    pub event: Option<String>,
    /// The `data:` lines joined with `\n` (never empty: events without data are not
    /// dispatched, per the specification).
    pub data: Vec<u8>,
    /// The last `id:` field seen (Marathon sends none).
    pub id: Option<String>,
}

/// The incremental parser. Feed it with [`SseParser::push`].
#[derive(Debug)]
pub struct SseParser {
    /// The current, incomplete line.
    line: Vec<u8>,
    /// The current line has content (even if it was dropped for size).
    line_has_bytes: bool,
    /// The previous chunk ended with CR: a leading LF of the next chunk belongs to it.
    after_cr: bool,
    /// Nothing has been read yet (a leading UTF-8 BOM is skipped).
    at_start: bool,
    /// Bytes of a possible BOM seen at the very start.
    bom_seen: usize,
    event: Option<String>,
    data: Vec<u8>,
    has_data: bool,
    last_id: Option<String>,
    /// The current event grew beyond the limit: skip everything up to the next blank line.
    discarding: bool,
    max_event_bytes: usize,
    oversized: u64,
}

const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];

/// The default event size limit: Marathon ≤1.6 "heavy" deployment events inline the
/// whole root group and can reach several MiB in big clusters.
pub const DEFAULT_MAX_EVENT_BYTES: usize = 16 * 1024 * 1024;

impl Default for SseParser {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_EVENT_BYTES)
    }
}

impl SseParser {
    /// A parser that drops events (line plus data) larger than `max_event_bytes`.
    pub fn new(max_event_bytes: usize) -> Self {
        SseParser {
            line: Vec::new(),
            line_has_bytes: false,
            after_cr: false,
            at_start: true,
            bom_seen: 0,
            event: None,
            data: Vec::new(),
            has_data: false,
            last_id: None,
            discarding: false,
            max_event_bytes: max_event_bytes.max(64),
            oversized: 0,
        }
    }

    /// The size limit of one event.
    pub fn max_event_bytes(&self) -> usize {
        self.max_event_bytes
    }

    /// How many events were dropped for being larger than the limit.
    pub fn oversized(&self) -> u64 {
        self.oversized
    }

    /// Parses `chunk` and returns the events it completes, in order.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<SseEvent> {
        let mut out = Vec::new();
        let mut rest = chunk;
        if self.at_start {
            rest = self.skip_bom(rest);
        }
        while !rest.is_empty() {
            if self.after_cr {
                self.after_cr = false;
                if rest[0] == b'\n' {
                    rest = &rest[1..];
                    continue;
                }
            }
            match rest.iter().position(|&b| b == b'\n' || b == b'\r') {
                Some(end) => {
                    self.extend_line(&rest[..end]);
                    if rest[end] == b'\r' {
                        self.after_cr = true;
                    }
                    rest = &rest[end + 1..];
                    if let Some(event) = self.end_line() {
                        out.push(event);
                    }
                }
                None => {
                    self.extend_line(rest);
                    rest = &[];
                }
            }
        }
        out
    }

    /// Call at end of stream: per the specification an unterminated event is dropped.
    /// Resets the parser for a new connection.
    pub fn finish(&mut self) {
        let max = self.max_event_bytes;
        let oversized = self.oversized;
        *self = SseParser::new(max);
        self.oversized = oversized;
    }

    fn skip_bom<'a>(&mut self, mut input: &'a [u8]) -> &'a [u8] {
        while self.at_start {
            let Some((&b, tail)) = input.split_first() else {
                return input;
            };
            if b == BOM[self.bom_seen] {
                self.bom_seen += 1;
                input = tail;
                if self.bom_seen == BOM.len() {
                    self.at_start = false;
                }
            } else {
                // Not a BOM after all: replay the bytes taken for one.
                self.at_start = false;
                let taken = BOM[..self.bom_seen].to_vec();
                self.extend_line(&taken);
            }
        }
        input
    }

    fn extend_line(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        self.at_start = false;
        self.line_has_bytes = true;
        if self.discarding {
            return;
        }
        if self.line.len() + self.data.len() + bytes.len() > self.max_event_bytes {
            self.start_discarding();
            return;
        }
        self.line.extend_from_slice(bytes);
    }

    fn start_discarding(&mut self) {
        self.discarding = true;
        self.oversized += 1;
        self.line = Vec::new();
        self.data = Vec::new();
        self.has_data = false;
        self.event = None;
    }

    /// Handles one complete line; returns an event when the line is blank.
    fn end_line(&mut self) -> Option<SseEvent> {
        self.at_start = false;
        let line = std::mem::take(&mut self.line);
        let blank = !std::mem::take(&mut self.line_has_bytes);
        if blank {
            if self.discarding {
                self.discarding = false;
                return None;
            }
            return self.dispatch();
        }
        if self.discarding || line[0] == b':' {
            return None;
        }
        let (name, value) = match line.iter().position(|&b| b == b':') {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (&line[..], &b""[..]),
        };
        match name {
            b"event" => self.event = Some(String::from_utf8_lossy(value).into_owned()),
            b"data" => {
                if self.data.len() + value.len() + 1 > self.max_event_bytes {
                    self.start_discarding();
                    return None;
                }
                if self.has_data {
                    self.data.push(b'\n');
                }
                self.data.extend_from_slice(value);
                self.has_data = true;
            }
            // An id with NUL is ignored, per the specification.
            b"id" if !value.contains(&0) => {
                self.last_id = Some(String::from_utf8_lossy(value).into_owned());
            }
            // `retry` and unknown fields: nothing to do (Marathon sends neither).
            _ => {}
        }
        None
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        let event = self.event.take();
        if !self.has_data {
            // A heartbeat, or an event without data: nothing to dispatch.
            return None;
        }
        self.has_data = false;
        let data = std::mem::take(&mut self.data);
        if data.is_empty() {
            // `data:` lines that were all empty: the specification dispatches nothing.
            return None;
        }
        Some(SseEvent {
            event,
            data,
            id: self.last_id.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(input: &[u8]) -> Vec<SseEvent> {
        SseParser::default().push(input)
    }

    fn ev(event: Option<&str>, data: &str) -> SseEvent {
        SseEvent {
            event: event.map(str::to_string),
            data: data.as_bytes().to_vec(),
            id: None,
        }
    }

    #[test]
    fn marathon_crlf_framing() {
        let input = b"event: status_update_event\r\ndata: {\"a\":1}\r\n\r\n\r\n";
        assert_eq!(
            all(input),
            vec![ev(Some("status_update_event"), "{\"a\":1}")]
        );
    }

    #[test]
    fn lf_only_and_data_only() {
        let input = b"data: {\"x\":1}\n\ndata: {\"y\":2}\n\n";
        assert_eq!(
            all(input),
            vec![ev(None, "{\"x\":1}"), ev(None, "{\"y\":2}")]
        );
    }

    #[test]
    fn heartbeat_split_across_chunks_is_one_blank_line() {
        let mut p = SseParser::default();
        assert!(p.push(b"\r").is_empty());
        assert!(p.push(b"\n").is_empty());
        assert!(p.push(b"event: e\r").is_empty());
        assert!(p.push(b"\ndata: 1\r").is_empty());
        // The LF completing the data line must not also count as a blank line.
        assert!(p.push(b"\n").is_empty());
        assert_eq!(p.push(b"\r\n"), vec![ev(Some("e"), "1")]);
    }

    #[test]
    fn cr_only_line_ends() {
        assert_eq!(all(b"data: a\rdata: b\r\r"), vec![ev(None, "a\nb")]);
    }

    #[test]
    fn comments_fields_without_colon_and_no_space() {
        let input = b": hello\ndata\ndata:x\nevent:t\n\n";
        assert_eq!(all(input), vec![ev(Some("t"), "\nx")]);
    }

    #[test]
    fn event_without_data_is_not_dispatched_and_does_not_leak() {
        assert_eq!(all(b"event: a\n\ndata: 1\n\n"), vec![ev(None, "1")]);
    }

    #[test]
    fn leading_bom_is_skipped_even_when_split() {
        let mut p = SseParser::default();
        assert!(p.push(&[0xEF]).is_empty());
        assert!(p.push(&[0xBB, 0xBF]).is_empty());
        assert_eq!(p.push(b"data: 1\n\n"), vec![ev(None, "1")]);
        // A partial BOM is replayed as line content.
        assert_eq!(all(&[0xEF, b'd', b'\n', b'\n']), vec![]);
    }

    #[test]
    fn ids_are_remembered() {
        let out = all(b"id: 7\ndata: a\n\ndata: b\n\n");
        assert_eq!(out[1].id.as_deref(), Some("7"));
    }

    #[test]
    fn oversized_events_are_dropped_and_parsing_continues() {
        let mut p = SseParser::new(64);
        let big = format!("data: {}\n\ndata: ok\n\n", "x".repeat(200));
        assert_eq!(p.push(big.as_bytes()), vec![ev(None, "ok")]);
        assert_eq!(p.oversized(), 1);
        let many_lines = "data: 0123456789\n".repeat(20) + "\ndata: ok\n\n";
        assert_eq!(p.push(many_lines.as_bytes()), vec![ev(None, "ok")]);
        assert_eq!(p.oversized(), 2);
    }

    #[test]
    fn unterminated_event_is_dropped_at_finish() {
        let mut p = SseParser::default();
        assert!(p.push(b"data: partial").is_empty());
        p.finish();
        assert_eq!(p.push(b"data: next\n\n"), vec![ev(None, "next")]);
    }

    #[test]
    fn fixtures_parse() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/marathon/events");
        for (file, want) in [
            ("sse_stream_v0.11_docs.txt", 3),
            ("sse_stream_data_only_v0.9_docs.txt", 2),
        ] {
            let Ok(bytes) = std::fs::read(format!("{dir}/{file}")) else {
                continue;
            };
            let events = all(&bytes);
            assert!(events.len() >= want, "{file}: {events:?}");
            for e in &events {
                serde_json::from_slice::<serde_json::Value>(&e.data).expect("JSON data");
            }
        }
    }

    mod props {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn any_split_gives_the_same_events(
                input in proptest::collection::vec(
                    prop_oneof![
                        Just(b'\r'), Just(b'\n'), Just(b':'), Just(b' '),
                        Just(b'd'), Just(b'a'), Just(b't'), Just(b'e'), any::<u8>()
                    ], 0..300),
                cuts in proptest::collection::vec(0usize..300, 0..8),
            ) {
                let whole = SseParser::new(128).push(&input);
                let mut p = SseParser::new(128);
                let mut got = Vec::new();
                let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(input.len())).collect();
                cuts.sort();
                let mut start = 0;
                for c in cuts.into_iter().chain(std::iter::once(input.len())) {
                    got.extend(p.push(&input[start..c]));
                    start = c;
                }
                prop_assert_eq!(whole, got);
            }
        }
    }
}
