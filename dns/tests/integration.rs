//! Every integration test of this crate, linked into one test binary: one link (and
//! one copy of the dependencies on disk) instead of one per file. Each file below is
//! its own module; `cargo test --test integration <module>::` runs one of them.

mod browser;
mod clients;
mod common;
mod dns;
mod malformed;
mod mesos;
mod outage;
mod status_page;
mod udp;
