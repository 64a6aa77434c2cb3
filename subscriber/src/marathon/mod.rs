//! Everything that speaks Marathon: its REST and SSE client, its JSON shapes (tolerant of
//! every version), the SSE framing and its id rules. Nothing here knows etcd.

pub mod client;
pub mod ids;
mod json;
pub mod listing;
pub mod model;
pub mod sse;

pub use client::{MarathonClient, MarathonConfig, MarathonError};
