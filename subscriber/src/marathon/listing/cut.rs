//! Where one JSON value ends, found as its bytes arrive ([`ValueEnd`]): strings (with their
//! escapes) and the nesting of objects and arrays are followed, nothing else is checked.
//! The value's bytes are then parsed from one slice by serde_json, which checks them; so a
//! malformed value is cut somewhere and refused there, never accepted.

/// The end of one JSON value, looked for over the pieces of a byte stream.
#[derive(Debug, Default)]
pub(super) struct ValueEnd {
    /// Objects and arrays open.
    depth: usize,
    /// Inside a string.
    in_string: bool,
    /// Inside a string, right after a backslash.
    escaped: bool,
    /// Inside a number, `true`, `false` or `null` standing alone (not in a container).
    scalar: bool,
}

impl ValueEnd {
    /// Follows the value over `bytes`, which continue what was scanned before (the first
    /// call's first byte is the value's first, not whitespace). Returns how many of `bytes`
    /// are the value's when it ends among them; `None` when it goes on after them. A scalar
    /// standing alone ends before the first byte that cannot be part of it, so it ends only
    /// once that byte is here (a listing never ends with one).
    pub(super) fn scan(&mut self, bytes: &[u8]) -> Option<usize> {
        let mut i = 0;
        while i < bytes.len() {
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                    i += 1;
                    continue;
                }
                let at = i + quote_or_backslash(&bytes[i..])?;
                i = at + 1;
                if bytes[at] == b'\\' {
                    self.escaped = true;
                } else {
                    self.in_string = false;
                    if self.depth == 0 {
                        return Some(i);
                    }
                }
                continue;
            }
            let byte = bytes[i];
            if self.scalar {
                if ends_scalar(byte) {
                    return Some(i);
                }
                i += 1;
                continue;
            }
            match byte {
                b'"' => self.in_string = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' => match self.depth {
                    // A value cannot start with a closing bracket: it is empty, which the
                    // parser refuses.
                    0 => return Some(i),
                    1 => return Some(i + 1),
                    _ => self.depth -= 1,
                },
                _ if self.depth == 0 => self.scalar = true,
                _ => {}
            }
            i += 1;
        }
        None
    }
}

/// Where the first `"` or `\` of `bytes` is: 16 bytes at a time (a test of each block the
/// compiler can vectorise), then byte by byte in the block that has one.
fn quote_or_backslash(bytes: &[u8]) -> Option<usize> {
    let mut start = 0;
    for block in bytes.chunks_exact(16) {
        if block
            .iter()
            .fold(false, |hit, &b| hit | (b == b'"') | (b == b'\\'))
        {
            break;
        }
        start += 16;
    }
    let at = bytes[start..]
        .iter()
        .position(|&b| b == b'"' || b == b'\\')?;
    Some(start + at)
}

/// A byte that cannot continue a number, `true`, `false` or `null`.
fn ends_scalar(byte: u8) -> bool {
    matches!(
        byte,
        b' ' | b'\t' | b'\n' | b'\r' | b',' | b':' | b']' | b'}' | b'[' | b'{' | b'"'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The length of the first value of `text` when every byte comes on its own.
    fn end_by_bytes(text: &str) -> Option<usize> {
        let mut end = ValueEnd::default();
        text.as_bytes()
            .iter()
            .enumerate()
            .find_map(|(at, b)| end.scan(std::slice::from_ref(b)).map(|n| at + n))
    }

    fn end(text: &str) -> Option<usize> {
        ValueEnd::default().scan(text.as_bytes())
    }

    #[test]
    fn containers_end_at_their_closing_bracket() {
        for (text, value) in [
            (
                r#"{"a":[1,{"b":[]}],"c":{}} ,"#,
                r#"{"a":[1,{"b":[]}],"c":{}}"#,
            ),
            ("[[],[[]]]]", "[[],[[]]]"),
            ("{}{}", "{}"),
        ] {
            assert_eq!(end(text), Some(value.len()), "{text}");
            assert_eq!(end_by_bytes(text), Some(value.len()), "{text}");
        }
    }

    #[test]
    fn brackets_quotes_and_backslashes_inside_strings_are_text() {
        for (text, value) in [
            (r#"{"a}]":"[{"}]"#, r#"{"a}]":"[{"}"#),
            (r#"{"a":"x\"}"},"#, r#"{"a":"x\"}"}"#),
            (r#"{"a":"x\\"},"#, r#"{"a":"x\\"}"#),
            (r#"{"a":"\\\"}\\"}]"#, r#"{"a":"\\\"}\\"}"#),
            (r#""a\"b\\",1"#, r#""a\"b\\""#),
            (r#"["\u005d]"]]"#, r#"["\u005d]"]"#),
        ] {
            assert_eq!(end(text), Some(value.len()), "{text}");
            assert_eq!(end_by_bytes(text), Some(value.len()), "{text}");
        }
    }

    #[test]
    fn a_scalar_ends_before_the_next_delimiter() {
        for (text, value) in [("12.5e3,", "12.5e3"), ("true}", "true"), ("null ", "null")] {
            assert_eq!(end(text), Some(value.len()), "{text}");
            assert_eq!(end_by_bytes(text), Some(value.len()), "{text}");
        }
        assert_eq!(end("-17"), None);
    }

    #[test]
    fn the_first_quote_or_backslash_is_found_in_any_block() {
        for len in 0..40 {
            let text = vec![b'a'; len];
            assert_eq!(quote_or_backslash(&text), None);
            for at in 0..len {
                for special in [b'"', b'\\'] {
                    let mut text = text.clone();
                    text[at] = special;
                    if at + 1 < len {
                        text[len - 1] = b'"';
                    }
                    assert_eq!(quote_or_backslash(&text), Some(at), "{len} {at}");
                }
            }
        }
    }

    #[test]
    fn an_unfinished_value_asks_for_more_and_a_closing_bracket_is_an_empty_value() {
        for text in [r#"{"a":"}"#, r#"["\"#, "[[]", r#"""#] {
            assert_eq!(end(text), None, "{text}");
            assert_eq!(end_by_bytes(text), None, "{text}");
        }
        assert_eq!(end("]"), Some(0));
        assert_eq!(end("},"), Some(0));
    }
}
