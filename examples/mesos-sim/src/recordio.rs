//! RecordIO framing (spec §4): each record is its length in bytes as ASCII decimal, `\n`, then
//! exactly that many bytes, and nothing after it. [`encode`] writes one record; [`Decoder`]
//! reads records back out of a byte stream cut anywhere (tests use it to read the stream).

use bytes::{Bytes, BytesMut};

/// One record: `<len>\n<data>`.
pub fn encode(data: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(data.len() + 12);
    out.extend_from_slice(data.len().to_string().as_bytes());
    out.extend_from_slice(b"\n");
    out.extend_from_slice(data);
    out.freeze()
}

/// Why a stream is not RecordIO.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordIoError {
    /// The length line holds something other than decimal digits.
    #[error("bad record length {0:?}")]
    BadLength(String),
    /// More than 20 bytes without the `\n` that ends a length.
    #[error("record length too long")]
    LengthTooLong,
}

/// An incremental RecordIO reader: [`Decoder::push`] bytes as they come (split anywhere),
/// [`Decoder::next_record`] takes each complete record.
#[derive(Debug, Default)]
pub struct Decoder {
    buf: BytesMut,
}

impl Decoder {
    /// A reader with nothing buffered.
    pub fn new() -> Decoder {
        Decoder::default()
    }

    /// Appends received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes received that are not a complete record yet.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// The next complete record, `Ok(None)` if more bytes are needed.
    pub fn next_record(&mut self) -> Result<Option<Bytes>, RecordIoError> {
        let Some(nl) = self.buf.iter().position(|b| *b == b'\n') else {
            if self.buf.len() > 20 {
                return Err(RecordIoError::LengthTooLong);
            }
            return Ok(None);
        };
        let digits = &self.buf[..nl];
        if digits.is_empty() || nl > 20 || !digits.iter().all(u8::is_ascii_digit) {
            return Err(RecordIoError::BadLength(
                String::from_utf8_lossy(digits).into_owned(),
            ));
        }
        let len: usize = std::str::from_utf8(digits)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| RecordIoError::BadLength(String::from_utf8_lossy(digits).into()))?;
        if self.buf.len() < nl + 1 + len {
            return Ok(None);
        }
        let mut rec = self.buf.split_to(nl + 1 + len);
        Ok(Some(rec.split_off(nl + 1).freeze()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_example_round_trips_byte_by_byte() {
        let subscribed = r#"{"type":"SUBSCRIBED","subscribed":{"get_state":{"get_tasks":{},"get_executors":{},"get_frameworks":{},"get_agents":{}},"heartbeat_interval_seconds":15.0}}"#;
        let heartbeat = r#"{"type":"HEARTBEAT"}"#;
        let mut body = encode(subscribed.as_bytes()).to_vec();
        body.extend_from_slice(&encode(heartbeat.as_bytes()));
        assert_eq!(body.len(), 181);
        assert_eq!(&body[..8], b"154\n{\"ty");
        assert!(body.ends_with(b"}20\n{\"type\":\"HEARTBEAT\"}"));
        let mut d = Decoder::new();
        let mut got = Vec::new();
        for b in &body {
            d.push(&[*b]);
            while let Some(r) = d.next_record().unwrap() {
                got.push(r);
            }
        }
        assert_eq!(got, vec![subscribed.as_bytes(), heartbeat.as_bytes()]);
        assert_eq!(d.pending(), 0);
    }

    #[test]
    fn lengths_count_bytes_and_garbage_is_refused() {
        assert_eq!(&encode("é".as_bytes())[..], "2\né".as_bytes());
        let mut d = Decoder::new();
        d.push(b"x1\n{");
        assert!(matches!(d.next_record(), Err(RecordIoError::BadLength(_))));
        let mut d = Decoder::new();
        d.push(&[b'1'; 21]);
        assert_eq!(d.next_record(), Err(RecordIoError::LengthTooLong));
    }
}
