//! The registry's error type.

/// Everything that can go wrong in the registry.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An app id that Marathon would not accept (and that would make an ambiguous key).
    #[error("invalid app id {id:?}: {reason}")]
    InvalidAppId {
        /// The rejected input.
        id: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A task id that cannot be stored as one key.
    #[error("invalid task id {id:?}: {reason}")]
    InvalidTaskId {
        /// The rejected input.
        id: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A timestamp that is not RFC 3339.
    #[error("invalid timestamp {0:?}: expected RFC 3339 such as 2017-07-19T17:35:15.660Z")]
    InvalidStamp(String),
    /// A key prefix that is not an absolute path.
    #[error("invalid key prefix {0:?}: it must start with '/' and must not end with '/'")]
    InvalidPrefix(String),
    /// A stored value that does not decode.
    #[error("cannot decode the value of {key}: {reason}")]
    Decode {
        /// The etcd key.
        key: String,
        /// Why it does not decode.
        reason: String,
    },
    /// A record written by a newer, incompatible Herald.
    #[error("{key} carries schema {found}, this Herald reads up to {supported}")]
    SchemaTooNew {
        /// The etcd key.
        key: String,
        /// The schema version found.
        found: u32,
        /// The highest version this build reads.
        supported: u32,
    },
    /// Invalid connection settings (TLS files, endpoints).
    #[error("etcd configuration: {0}")]
    Config(String),
    /// etcd answered with an error or could not be reached.
    #[error("etcd: {0}")]
    Etcd(#[from] etcd_client::Error),
    /// An etcd call did not finish in time.
    #[error("etcd did not answer within {0:?}")]
    Timeout(std::time::Duration),
}

/// The registry's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
