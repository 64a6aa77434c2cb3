//! Herald's system tests live in `tests/`: several real binaries (herald-subscriber,
//! herald-dns, herald-watcher) against real etcd processes and the Marathon simulator,
//! with faults injected (SIGKILL, SIGSTOP, a lost etcd leader) and secrets checked.
//! This library is empty; see `tests/README.md`.
