//! The library's error type: every variant says what was missing or wrong.

/// Everything a guestutils function can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A required environment variable is unset or empty.
    #[error("{var} is not set, so {what} is unknown")]
    MissingVar {
        /// The variable.
        var: &'static str,
        /// What it would have told.
        what: &'static str,
    },
    /// An environment variable holds something unusable.
    #[error("{var}={value:?} is not {expected}")]
    InvalidVar {
        /// The variable.
        var: String,
        /// Its value.
        value: String,
        /// What it should be.
        expected: &'static str,
    },
    /// A service name that is not a valid Marathon app or group id.
    #[error("invalid service {service:?}: {source}")]
    InvalidService {
        /// The name as given.
        service: String,
        /// Why it is invalid.
        #[source]
        source: registry::Error,
    },
    /// A host name that does not resolve.
    #[error("cannot resolve host {host:?}: {reason}")]
    Resolve {
        /// The host name.
        host: String,
        /// The resolver's answer.
        reason: String,
    },
    /// Neither the environment nor the registry knows this container's own IP.
    #[error(
        "the container's internal address is unknown: MESOS_CONTAINER_IP is not set, the task \
         record has no task IP and HOSTNAME does not resolve"
    )]
    NoInternalAddress,
    /// `get_port` found no such port and had no default.
    #[error("no port {name:?} for this container: {var} is not set and no default was given")]
    NoPort {
        /// The port name asked for.
        name: String,
        /// The variable that was read.
        var: String,
    },
    /// `get_node_list` found fewer instances than required.
    #[error("not enough {service} nodes: {found} found, at least {minimum} required")]
    NotEnoughNodes {
        /// The service (resolved id).
        service: String,
        /// How many were found.
        found: usize,
        /// How many were required.
        minimum: usize,
    },
    /// No instance with that task id in the service.
    #[error("no container {container:?} in service {service}")]
    NoSuchContainer {
        /// The service (resolved id).
        service: String,
        /// The task id asked for.
        container: String,
    },
    /// An instance lacks a requested port (or the port has no usable number).
    #[error("container {container} of service {service} has no {kind} port {port:?}")]
    NoSuchPort {
        /// The service (resolved id).
        service: String,
        /// The instance's task id.
        container: String,
        /// The port name.
        port: String,
        /// `external` or `internal`.
        kind: &'static str,
    },
    /// The requested ports of one instance are reachable at different addresses.
    #[error(
        "container {container} of service {service}: ports {ports:?} are not reachable at one address"
    )]
    MixedAddresses {
        /// The service (resolved id).
        service: String,
        /// The instance's task id.
        container: String,
        /// The requested ports.
        ports: Vec<String>,
    },
    /// A watcher was given no service to watch.
    #[error("no service to watch (set WATCHES or --watch)")]
    NothingToWatch,
    /// A handler failed and the watcher was told to stop on failures.
    #[error("the handler for {service} failed: {reason}")]
    HandlerFailed {
        /// The service as named in the watch list.
        service: String,
        /// The handler's error, or the timeout.
        reason: String,
    },
    /// A template, its check or the reload failed in a `--once` render.
    #[error("rendering failed: {reasons}")]
    TemplatesFailed {
        /// Each failure, with its destination.
        reasons: String,
    },
    /// The registry failed (etcd unreachable, a record that does not decode, ...).
    #[error(transparent)]
    Registry(#[from] registry::Error),
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
