//! Every integration test of this crate, linked into one test binary: one link (and
//! one copy of the dependencies on disk) instead of one per file. Each file below is
//! its own module; `cargo test --test integration <module>::` runs one of them.

mod callbacks;
mod common;
mod e2e;
mod fixtures;
mod fuzz_corpus;
mod healing;
mod marathon_client;
mod mesos;
mod poison;
mod reconcile;
mod resilience;
