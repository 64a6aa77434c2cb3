//! The Mesos source's share of the zone: the cluster the registry describes (`cluster`:
//! leader, masters, agents, frameworks, and the agent addresses tasks borrow) and the
//! infrastructure names Mesos-DNS builds from it (`infra`: `leader`, `master`, `masterN`,
//! `slave`, framework names and their SRV records). The tasks of every framework go through
//! the same index as Marathon's ([`crate::index`], [`crate::groups`]).

pub mod cluster;
pub mod infra;

pub use cluster::Cluster;
