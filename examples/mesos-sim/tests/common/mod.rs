//! Test helpers: the fixtures, the raw HTTP/1.1 client of `registry::harness::http`
//! (re-exported), the skip convention (`registry::harness::skip`); `stream`: a RecordIO event-stream reader that keeps the
//! raw bytes; `shapes`: comparisons with the recorded shapes; the throwaway ZooKeeper is `registry::harness::ZooKeeper`.
#![allow(dead_code, clippy::unwrap_used)]

pub mod shapes;
pub mod stream;

pub use shapes::*;
pub use stream::*;

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

/// How long any single wait may take.
pub const T: Duration = Duration::from_secs(10);

/// The text of a fixture under `testdata/mesos/` (`dcos-net/operator-api.json`).
pub fn fixture_text(path: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/mesos")
        .join(path);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("fixture {}: {e}", p.display()))
}

/// The JSON records of a fixture, one per non-empty line.
pub fn fixture_records(path: &str) -> Vec<Value> {
    fixture_text(path)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A fixture holding one JSON document.
pub fn fixture(path: &str) -> Value {
    serde_json::from_str(&fixture_text(path)).unwrap()
}

/// Prints `SKIPPED: <test>: <reason>` and records it in `$HERALD_SKIP_FILE` (the same
pub use registry::harness::skip;

pub use registry::harness::http::{Response, get, post, request, send};

/// An operator API call (`{"type": kind}`) on `base`.
pub async fn call(base: &str, kind: &str) -> Response {
    post(
        &format!("{base}/api/v1"),
        &format!(r#"{{"type":"{kind}"}}"#),
    )
    .await
}
