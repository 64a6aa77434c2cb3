//! Speaks the Mesos master's operator API (the `SUBSCRIBE` event stream), knows nothing of
//! etcd: `recordio` (the incremental RecordIO parser, pure) and `events` (a record's JSON →
//! a typed [`events::MesosEvent`], every field optional, errors naming the field).

pub mod events;
pub mod recordio;
