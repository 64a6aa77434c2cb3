//! The registry's error type.

use tonic::Code;

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
    /// A Mesos id (master, agent, framework, task) that cannot be one key segment.
    #[error("invalid Mesos {what} {id:?}: {reason}")]
    InvalidMesosId {
        /// Which kind of id.
        what: &'static str,
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

impl Error {
    /// True when the same request may succeed later unchanged: etcd or the connection is
    /// unavailable, slow, between leaders or out of space — a condition of etcd that every
    /// write shares. False when etcd refuses the request itself (too large, an invalid
    /// argument) or the input is bad: repeating it can only fail again.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Etcd(etcd_client::Error::GRpcStatus(status)) => match status.code() {
                Code::InvalidArgument | Code::OutOfRange | Code::Unimplemented => false,
                // gRPC's own message limit (a request far over etcd's `--max-request-bytes`)
                // is about this request; etcd's space quota ("database space exceeded")
                // clears once an operator compacts and defragments.
                Code::ResourceExhausted => !status.message().contains("larger than max"),
                _ => true,
            },
            Error::Etcd(
                etcd_client::Error::InvalidArgs(_)
                | etcd_client::Error::InvalidUri(_)
                | etcd_client::Error::InvalidMetadataValue(_)
                | etcd_client::Error::Utf8Error(_),
            ) => false,
            Error::Etcd(_) | Error::Timeout(_) => true,
            Error::InvalidAppId { .. }
            | Error::InvalidTaskId { .. }
            | Error::InvalidMesosId { .. }
            | Error::InvalidStamp(_)
            | Error::InvalidPrefix(_)
            | Error::Decode { .. }
            | Error::SchemaTooNew { .. }
            | Error::Config(_) => false,
        }
    }

    /// True when etcd refused a read at a revision it has compacted away (a listing at a
    /// fixed revision, [`crate::Registry::list_stored_at`]): read again at a fresh one.
    pub fn is_compacted(&self) -> bool {
        matches!(
            self,
            Error::Etcd(etcd_client::Error::GRpcStatus(status))
                if status.code() == Code::OutOfRange && status.message().contains("compacted")
        )
    }

    /// True when etcd's answer was larger than the client accepts (gRPC's decoding limit):
    /// the request may succeed asking for less.
    pub fn is_answer_too_large(&self) -> bool {
        matches!(
            self,
            Error::Etcd(etcd_client::Error::GRpcStatus(status))
                if status.code() == Code::OutOfRange
                    && status.message().contains("decoded message length too large")
        )
    }

    /// The error in one short line: etcd's own message for an error etcd answered
    /// (`etcdserver: request is too large`), else the whole error.
    pub fn summary(&self) -> String {
        match self {
            Error::Etcd(etcd_client::Error::GRpcStatus(status)) => status.message().to_string(),
            other => other.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: Code, message: &str) -> Error {
        Error::Etcd(etcd_client::Error::GRpcStatus(tonic::Status::new(
            code, message,
        )))
    }

    #[test]
    fn an_answer_over_the_clients_limit_is_told_apart() {
        let over = status(
            Code::OutOfRange,
            "Error, decoded message length too large: found 73475031 bytes, the limit is: 67108864 bytes",
        );
        assert!(over.is_answer_too_large() && !over.is_compacted());
        let compacted = status(
            Code::OutOfRange,
            "etcdserver: mvcc: required revision has been compacted",
        );
        assert!(!compacted.is_answer_too_large());
    }

    #[test]
    fn errors_about_the_request_are_not_retried() {
        let too_large = status(Code::InvalidArgument, "etcdserver: request is too large");
        assert!(!too_large.is_retryable());
        assert_eq!(too_large.summary(), "etcdserver: request is too large");
        assert!(
            !status(
                Code::InvalidArgument,
                "etcdserver: too many operations in txn request"
            )
            .is_retryable()
        );
        assert!(
            !status(
                Code::ResourceExhausted,
                "grpc: received message larger than max (4194400 vs. 2097152)"
            )
            .is_retryable()
        );
        let compacted = status(
            Code::OutOfRange,
            "etcdserver: mvcc: required revision has been compacted",
        );
        assert!(compacted.is_compacted() && !compacted.is_retryable());
        assert!(
            !status(
                Code::OutOfRange,
                "etcdserver: mvcc: required revision is a future revision"
            )
            .is_compacted()
        );
        let bad_id = Error::InvalidTaskId {
            id: "a/b".into(),
            reason: "contains '/'",
        };
        assert!(!bad_id.is_retryable());
    }

    #[test]
    fn errors_of_etcd_itself_are_retried() {
        for (code, message) in [
            (Code::Unavailable, "etcdserver: leader changed"),
            (Code::Unavailable, "etcdserver: no leader"),
            (Code::DeadlineExceeded, "context deadline exceeded"),
            (Code::Unavailable, "etcdserver: request timed out"),
            (
                Code::ResourceExhausted,
                "etcdserver: mvcc: database space exceeded",
            ),
            (Code::NotFound, "etcdserver: requested lease not found"),
        ] {
            assert!(status(code, message).is_retryable(), "{message}");
        }
        assert!(Error::Timeout(std::time::Duration::from_secs(5)).is_retryable());
    }
}
