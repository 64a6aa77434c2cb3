//! Why a scenario step or a setting was refused.

/// A refused scenario step or setting; the `/sim/*` API answers 404, 409, 422 or 502 with it.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// No such agent, framework, task or master.
    #[error("{0}")]
    NotFound(String),
    /// It exists already, or the cluster is not in a state that allows the step.
    #[error("{0}")]
    Conflict(String),
    /// A bad argument or recording.
    #[error("{0}")]
    Invalid(String),
    /// ZooKeeper did not do what was asked.
    #[error("ZooKeeper: {0}")]
    ZooKeeper(String),
}
