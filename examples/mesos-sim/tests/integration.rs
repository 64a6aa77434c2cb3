//! Every integration test of this crate, linked into one test binary.
