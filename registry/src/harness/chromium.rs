//! Debian's headless Chromium as the tests and the page benchmark start it: where it is and
//! the flags every run uses (no sandbox, GPU, background traffic, updates, sync or first-run
//! pages; QUIC off so that the page's connection is the TCP one a test counts), with a
//! fresh profile directory of the caller's.

use std::path::Path;

/// Debian's Chromium (package `chromium`).
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// Debian's chromedriver (package `chromium-driver`).
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The command-line flags of a headless run with its profile in `profile` (a fresh
/// directory for each run).
pub fn headless_flags(profile: &Path) -> Vec<String> {
    [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
    ]
    .into_iter()
    .map(String::from)
    .chain([format!("--user-data-dir={}", profile.display())])
    .collect()
}
