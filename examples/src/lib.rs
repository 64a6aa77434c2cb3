//! Herald's examples. The runnable parts are the `zookeeper-entrypoint` binary (a Rust
//! entrypoint on the guestutils library) and the scripts and definitions beside this crate;
//! `tests/` exercises every one of them.
