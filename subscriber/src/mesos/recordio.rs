//! An incremental RecordIO parser (the framing of the Mesos master's `SUBSCRIBE` stream),
//! fed with byte chunks exactly as they come off the socket.
//!
//! A record is `<decimal length>\n<length bytes>`: ASCII digits only (no sign, no spaces, no
//! CR), the byte count of the data, one LF, then the data; the next length starts right
//! after it. HTTP chunks have nothing to do with records: a chunk may hold several records,
//! or split one anywhere, its length digits included.
//!
//! Pure and bounded, so it can be fuzzed: any byte sequence, split anywhere, yields the same
//! records and the same error as the whole sequence at once, and no record larger than
//! [`RecordIoParser::max_record_bytes`] is ever buffered. RecordIO cannot resynchronise
//! after a bad length, so an error is final: the caller drops the connection and subscribes
//! again (every new subscription starts with a fresh snapshot).

use std::fmt;

/// Longest length line accepted: `u64::MAX` has 20 digits (dcos-net gives up after 12).
pub const MAX_LENGTH_DIGITS: usize = 20;

/// The default record size limit: the first record (`SUBSCRIBED`) carries the whole cluster
/// state, "many MB" on big clusters (about 1.5 KB a task: 50,000 tasks are ~75 MB).
pub const DEFAULT_MAX_RECORD_BYTES: usize = 512 * 1024 * 1024;

/// Why a stream cannot be read further.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordIoError {
    /// A byte that is neither a digit nor the LF ending the length line.
    BadLengthByte {
        /// The byte.
        byte: u8,
        /// Its offset in the stream.
        offset: u64,
    },
    /// The length line ended (LF) without any digit.
    EmptyLength {
        /// The offset of the LF.
        offset: u64,
    },
    /// More than [`MAX_LENGTH_DIGITS`] digits without a LF.
    LengthTooLong {
        /// The offset of the first digit too many.
        offset: u64,
    },
    /// A record larger than the limit (or than `u64`): refused before it is buffered.
    RecordTooLarge {
        /// The announced length (saturated at `u64::MAX`).
        length: u64,
        /// The limit.
        max: usize,
        /// The offset of the LF ending the length line.
        offset: u64,
    },
}

impl fmt::Display for RecordIoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordIoError::BadLengthByte { byte, offset } => write!(
                f,
                "RecordIO: byte {byte:#04x} ({:?}) at offset {offset} in a length line (digits then LF expected)",
                char::from(*byte)
            ),
            RecordIoError::EmptyLength { offset } => {
                write!(f, "RecordIO: empty length line at offset {offset}")
            }
            RecordIoError::LengthTooLong { offset } => write!(
                f,
                "RecordIO: length line longer than {MAX_LENGTH_DIGITS} digits at offset {offset}"
            ),
            RecordIoError::RecordTooLarge {
                length,
                max,
                offset,
            } => write!(
                f,
                "RecordIO: record of {length} bytes at offset {offset} is over the limit of {max} bytes"
            ),
        }
    }
}

impl std::error::Error for RecordIoError {}

#[derive(Debug)]
enum State {
    /// Reading the length line: its value so far and how many digits.
    Length { value: u64, digits: usize },
    /// Reading data: `want` bytes in all.
    Data { want: usize },
    /// An error happened; every later push returns it again.
    Failed(RecordIoError),
}

/// What was left unread at the end of a stream ([`RecordIoParser::finish`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Leftover {
    /// Nothing: the stream ended between records.
    None,
    /// Some digits of a length line.
    PartialLength,
    /// `have` of the `want` bytes of a record (a truncated record is garbage: dropped).
    PartialRecord {
        /// Bytes received.
        have: usize,
        /// Bytes announced.
        want: usize,
    },
    /// The stream had already failed.
    Failed,
}

/// The incremental parser. Feed it with [`RecordIoParser::push`].
#[derive(Debug)]
pub struct RecordIoParser {
    state: State,
    /// The data of the current record.
    buf: Vec<u8>,
    /// Bytes consumed so far (for error offsets).
    offset: u64,
    max_record_bytes: usize,
}

impl Default for RecordIoParser {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_RECORD_BYTES)
    }
}

impl RecordIoParser {
    /// A parser that refuses records larger than `max_record_bytes`.
    pub fn new(max_record_bytes: usize) -> Self {
        RecordIoParser {
            state: State::Length {
                value: 0,
                digits: 0,
            },
            buf: Vec::new(),
            offset: 0,
            max_record_bytes,
        }
    }

    /// The size limit of one record.
    pub fn max_record_bytes(&self) -> usize {
        self.max_record_bytes
    }

    /// Parses `chunk`, appending the records it completes to `out` in order. On an error,
    /// `out` holds every record before it, and the parser stays failed (every later push
    /// returns the same error).
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<Vec<u8>>) -> Result<(), RecordIoError> {
        let mut rest = chunk;
        loop {
            match &mut self.state {
                State::Failed(e) => return Err(e.clone()),
                _ if rest.is_empty() => return Ok(()),
                State::Length { value, digits } => {
                    let byte = rest[0];
                    rest = &rest[1..];
                    let at = self.offset;
                    self.offset += 1;
                    match byte {
                        b'0'..=b'9' => {
                            if *digits == MAX_LENGTH_DIGITS {
                                return self.fail(RecordIoError::LengthTooLong { offset: at });
                            }
                            *digits += 1;
                            *value = value
                                .saturating_mul(10)
                                .saturating_add(u64::from(byte - b'0'));
                        }
                        b'\n' if *digits == 0 => {
                            return self.fail(RecordIoError::EmptyLength { offset: at });
                        }
                        b'\n' => {
                            let length = *value;
                            match usize::try_from(length) {
                                Ok(want) if want <= self.max_record_bytes => {
                                    // Room for the whole record at once: a snapshot of a big
                                    // cluster is tens of MB, and growing by doubling would
                                    // hold up to three times that while copying. Pages are
                                    // only resident once the bytes arrive.
                                    self.buf.reserve_exact(want);
                                    self.state = State::Data { want };
                                    if want == 0 {
                                        out.push(Vec::new());
                                        self.next_record();
                                    }
                                }
                                _ => {
                                    return self.fail(RecordIoError::RecordTooLarge {
                                        length,
                                        max: self.max_record_bytes,
                                        offset: at,
                                    });
                                }
                            }
                        }
                        _ => {
                            return self.fail(RecordIoError::BadLengthByte { byte, offset: at });
                        }
                    }
                }
                State::Data { want } => {
                    let want = *want;
                    let take = (want - self.buf.len()).min(rest.len());
                    self.buf.extend_from_slice(&rest[..take]);
                    rest = &rest[take..];
                    self.offset += take as u64;
                    if self.buf.len() == want {
                        out.push(std::mem::take(&mut self.buf));
                        self.next_record();
                    }
                }
            }
        }
    }

    /// Like [`RecordIoParser::push`], returning the records.
    pub fn push_collect(&mut self, chunk: &[u8]) -> (Vec<Vec<u8>>, Result<(), RecordIoError>) {
        let mut out = Vec::new();
        let result = self.push(chunk, &mut out);
        (out, result)
    }

    /// Call at the end of a stream: says what was left unread (a truncated record is
    /// dropped) and resets the parser for a new connection.
    pub fn finish(&mut self) -> Leftover {
        let leftover = match &self.state {
            State::Length { digits: 0, .. } => Leftover::None,
            State::Length { .. } => Leftover::PartialLength,
            State::Data { want } => Leftover::PartialRecord {
                have: self.buf.len(),
                want: *want,
            },
            State::Failed(_) => Leftover::Failed,
        };
        *self = RecordIoParser::new(self.max_record_bytes);
        leftover
    }

    fn next_record(&mut self) {
        self.state = State::Length {
            value: 0,
            digits: 0,
        };
        self.buf = Vec::new();
    }

    fn fail(&mut self, error: RecordIoError) -> Result<(), RecordIoError> {
        self.buf = Vec::new();
        self.state = State::Failed(error.clone());
        Err(error)
    }
}

/// Frames `data` as one RecordIO record (what the master writes).
pub fn encode(data: &[u8]) -> Vec<u8> {
    let mut out = format!("{}\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(input: &[u8], max: usize) -> (Vec<Vec<u8>>, Result<(), RecordIoError>) {
        RecordIoParser::new(max).push_collect(input)
    }

    /// The same input pushed in the given pieces.
    fn pieces(
        input: &[u8],
        cuts: &[usize],
        max: usize,
    ) -> (Vec<Vec<u8>>, Result<(), RecordIoError>) {
        let mut p = RecordIoParser::new(max);
        let mut out = Vec::new();
        let mut start = 0;
        for &c in cuts.iter().chain(std::iter::once(&input.len())) {
            let c = c.clamp(start, input.len());
            if let Err(e) = p.push(&input[start..c], &mut out) {
                return (out, Err(e));
            }
            start = c;
        }
        (out, Ok(()))
    }

    const SPEC_EXAMPLE: &[u8] = b"154\n{\"type\":\"SUBSCRIBED\",\"subscribed\":{\"get_state\":{\"get_tasks\":{},\"get_executors\":{},\"get_frameworks\":{},\"get_agents\":{}},\"heartbeat_interval_seconds\":15.0}}20\n{\"type\":\"HEARTBEAT\"}";

    #[test]
    fn the_documented_example() {
        assert_eq!(SPEC_EXAMPLE.len(), 181);
        let (records, result) = all(SPEC_EXAMPLE, 1024);
        result.unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].len(), 154);
        assert_eq!(records[1], b"{\"type\":\"HEARTBEAT\"}");
    }

    #[test]
    fn every_split_point_gives_the_same_records() {
        let want = all(SPEC_EXAMPLE, 1024);
        for i in 0..=SPEC_EXAMPLE.len() {
            assert_eq!(pieces(SPEC_EXAMPLE, &[i], 1024), want, "split at {i}");
            for j in i..=SPEC_EXAMPLE.len() {
                assert_eq!(
                    pieces(SPEC_EXAMPLE, &[i, j], 1024),
                    want,
                    "split at {i}, {j}"
                );
            }
        }
        let one_by_one: Vec<usize> = (0..SPEC_EXAMPLE.len()).collect();
        assert_eq!(pieces(SPEC_EXAMPLE, &one_by_one, 1024), want);
    }

    #[test]
    fn data_may_hold_newlines_and_anything() {
        let mut stream = encode(b"a\nb");
        stream.extend(encode(b""));
        stream.extend(encode(b"12\n"));
        let (records, result) = all(&stream, 16);
        result.unwrap();
        assert_eq!(
            records,
            vec![b"a\nb".to_vec(), Vec::new(), b"12\n".to_vec()]
        );
    }

    #[test]
    fn bad_length_lines_are_clear_errors() {
        let (records, e) = all(b"3\nabc 4\nabcd", 16);
        assert_eq!(records, vec![b"abc".to_vec()]);
        assert_eq!(
            e,
            Err(RecordIoError::BadLengthByte {
                byte: b' ',
                offset: 5
            })
        );
        assert_eq!(
            all(b"3\r\nabc", 16).1,
            Err(RecordIoError::BadLengthByte {
                byte: b'\r',
                offset: 1
            })
        );
        assert_eq!(
            all(b"\nabc", 16).1,
            Err(RecordIoError::EmptyLength { offset: 0 })
        );
        assert_eq!(
            all(b"-1\n", 16).1,
            Err(RecordIoError::BadLengthByte {
                byte: b'-',
                offset: 0
            })
        );
        assert_eq!(
            all(&[b'1'; 21], 16).1,
            Err(RecordIoError::LengthTooLong { offset: 20 })
        );
        let huge = all(b"99999999999999999999\n", 16).1;
        assert!(matches!(
            huge,
            Err(RecordIoError::RecordTooLarge {
                length: u64::MAX,
                ..
            })
        ));
        let message = all(b"x", 16).1.unwrap_err().to_string();
        assert!(
            message.contains("offset 0") && message.contains("length line"),
            "{message}"
        );
    }

    #[test]
    fn an_oversized_record_is_refused_before_it_is_buffered() {
        let mut p = RecordIoParser::new(10);
        let mut out = Vec::new();
        p.push(b"5\nhello", &mut out).unwrap();
        let e = p.push(b"11\n", &mut out).unwrap_err();
        assert_eq!(
            e,
            RecordIoError::RecordTooLarge {
                length: 11,
                max: 10,
                offset: 9
            }
        );
        assert_eq!(out, vec![b"hello".to_vec()]);
        assert_eq!(p.push(b"1\nx", &mut out), Err(e), "an error is final");
        assert_eq!(p.finish(), Leftover::Failed);
        p.push(b"1\nx", &mut out).unwrap();
        assert_eq!(out.last().unwrap(), b"x", "usable after finish");
    }

    #[test]
    fn a_truncated_last_record_is_dropped_at_finish() {
        let mut p = RecordIoParser::new(100);
        let (records, result) = p.push_collect(b"5\nhel");
        result.unwrap();
        assert!(records.is_empty());
        assert_eq!(p.finish(), Leftover::PartialRecord { have: 3, want: 5 });
        p.push_collect(b"1").1.unwrap();
        assert_eq!(p.finish(), Leftover::PartialLength);
        assert_eq!(p.finish(), Leftover::None);
    }

    /// The recorded streams (one JSON record per line; see `testdata/mesos/README.md`),
    /// framed as the master frames them, come out record for record however they are split.
    #[test]
    fn recorded_streams_round_trip() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/mesos/dcos-net");
        let mut checked = 0;
        for file in [
            "operator-api.json",
            "pod-tasks.json",
            "hello-world.json",
            "hello-overlay.json",
            "recovered-agents.json",
        ] {
            let Ok(text) = std::fs::read(format!("{dir}/{file}")) else {
                continue;
            };
            let lines: Vec<&[u8]> = text
                .split(|&b| b == b'\n')
                .filter(|l| !l.is_empty())
                .collect();
            let stream: Vec<u8> = lines.iter().flat_map(|l| encode(l)).collect();
            let (records, result) = all(&stream, DEFAULT_MAX_RECORD_BYTES);
            result.unwrap();
            assert_eq!(records, lines, "{file}");
            for size in [1, 7, 4096] {
                let cuts: Vec<usize> = (size..stream.len()).step_by(size).collect();
                assert_eq!(
                    pieces(&stream, &cuts, DEFAULT_MAX_RECORD_BYTES).0,
                    lines,
                    "{file} in {size}-byte chunks"
                );
            }
            checked += 1;
        }
        assert!(checked > 0, "no recorded stream in testdata/mesos/dcos-net");
    }

    /// What the `recordio` fuzz target checks, for one input (first byte: the split point).
    fn fuzz_check(data: &[u8]) {
        let Some((&split, stream)) = data.split_first() else {
            return;
        };
        let limit = 1 << 16;
        let whole = all(stream, limit);
        let at = usize::from(split) * stream.len() / 255;
        assert_eq!(pieces(stream, &[at], limit), whole);
        for record in &whole.0 {
            assert!(record.len() <= limit);
            let _ = super::super::events::decode(record);
        }
    }

    /// The fuzz corpus (`fuzz/corpus/recordio`) and deterministic mutations of it (bit
    /// flips, truncations, digits turned into other bytes), replayed on stable.
    #[test]
    fn fuzz_corpus_and_mutations() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../fuzz/corpus/recordio");
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let mut seeds = 0;
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for entry in entries.flatten() {
            let Ok(seed) = std::fs::read(entry.path()) else {
                continue;
            };
            seeds += 1;
            fuzz_check(&seed);
            for _ in 0..200 {
                let mut m = seed.clone();
                if m.is_empty() {
                    break;
                }
                let i = (next() as usize) % m.len();
                match next() % 3 {
                    0 => m[i] ^= 1 << (next() % 8),
                    1 => m.truncate(i),
                    _ => m[i] = [b'\n', b'9', b'0', b' ', b'{'][(next() % 5) as usize],
                }
                fuzz_check(&m);
            }
        }
        assert!(seeds >= 2, "the corpus in {dir}");
    }

    mod props {
        use super::super::*;
        use super::pieces;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn any_split_gives_the_same_records_and_error(
                input in proptest::collection::vec(
                    prop_oneof![Just(b'\n'), Just(b'1'), Just(b'2'), Just(b'0'), Just(b'{'), any::<u8>()], 0..300),
                cuts in proptest::collection::vec(0usize..300, 0..8),
            ) {
                let whole = RecordIoParser::new(32).push_collect(&input);
                let mut cuts = cuts;
                cuts.sort();
                prop_assert_eq!(pieces(&input, &cuts, 32), whole);
            }

            #[test]
            fn framed_records_come_back(records in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 0..10),
                                        cut in 0usize..500) {
                let stream: Vec<u8> = records.iter().flat_map(|r| encode(r)).collect();
                let (got, result) = pieces(&stream, &[cut], 64);
                prop_assert!(result.is_ok());
                prop_assert_eq!(got, records);
            }
        }
    }
}
