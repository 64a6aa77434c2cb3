//! Writing JSON the way the master does: compact, and with `/` escaped as `\/` inside strings
//! (stout's JSON writer does this: `"webui_url":"http:\/\/172.17.0.2:8080"` in the recorded
//! streams). A client must read either form.

use serde::Serialize;

use super::Raw;

/// `value` as compact JSON text with every `/` inside a string written `\/`, as the master
/// writes it. Text that is already escaped (recorded fixtures) is left as it is.
pub fn mesos_json<T: Serialize + ?Sized>(value: &T) -> String {
    match serde_json::to_string(value) {
        Ok(s) => escape_slashes(&s),
        // Our own types always serialize; keep a valid document if one ever does not.
        Err(e) => {
            tracing::error!(error = %e, "could not encode a message");
            "{}".to_string()
        }
    }
}

/// Writes each unescaped `/` inside a JSON string as `\/`. `json` must be valid JSON.
pub(crate) fn escape_slashes(json: &str) -> String {
    let mut out = String::with_capacity(json.len() + 16);
    let mut in_string = false;
    let mut escaped = false;
    for c in json.chars() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            } else if c == '/' {
                out.push('\\');
            }
        } else if c == '"' {
            in_string = true;
        }
        out.push(c);
    }
    out
}

/// A typed sub-message as [`Raw`] JSON text (its field order kept).
pub(crate) fn raw<T: Serialize + ?Sized>(value: &T) -> Raw {
    serde_json::value::to_raw_value(value).unwrap_or_else(|e| {
        tracing::error!(error = %e, "could not encode a sub-message");
        empty_object()
    })
}

/// `{}` as [`Raw`].
#[allow(clippy::unwrap_used)] // "{}" is valid JSON: from_string cannot fail on it
fn empty_object() -> Raw {
    serde_json::value::RawValue::from_string("{}".to_string()).unwrap()
}

#[cfg(test)]
mod tests {
    use super::escape_slashes;

    #[test]
    fn slashes_are_escaped_inside_strings_only_once() {
        assert_eq!(
            escape_slashes(r#"{"u":"http://a/b","v":"x\/y","w":"a\\/"}"#),
            r#"{"u":"http:\/\/a\/b","v":"x\/y","w":"a\\\/"}"#
        );
        assert_eq!(escape_slashes(r#"[1,2.5,"\""]"#), r#"[1,2.5,"\""]"#);
    }

    #[test]
    fn escaped_text_parses_back_to_the_same_value() {
        let v = serde_json::json!({"a": "/x/", "b": ["\\/", "\"/"]});
        let s = escape_slashes(&v.to_string());
        let back: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back, v);
    }
}
