//! Herald guestutils: maestro-ng's guest functions for tasks running on Marathon, and a
//! watcher that runs a handler when a service's instances change.
//!
//! - [`Env`] reads what Marathon puts in a task's environment (`MARATHON_APP_ID`,
//!   `MESOS_TASK_ID`, `HOST`, `PORT_<NAME>`, ...); tests build it from a map.
//! - [`Guest`] answers maestro's questions (`get_node_list`, `get_port`,
//!   `get_specific_port`, ...) from the registry: a service is an app id or a group id,
//!   absolute or relative to the caller's group.
//! - [`watcher`] runs a handler (a command or a callback) when a service's set of instances
//!   really changes, debounced, one at a time per service.
//! - [`template`] renders files (proxy configs) from minijinja templates over the watched
//!   services' tasks and app definitions, replacing them atomically when they change.
//!
//! See `guestutils/README.md` for the CLI and the handler contract.

mod env;
mod error;
mod guest;
mod instance;
mod service;
pub mod template;
pub mod watcher;

pub use env::{DEFAULT_ENVIRONMENT, Env, port_var_name, resolve};
pub use error::{Error, Result};
pub use guest::Guest;
pub use instance::{Endpoint, Instance, InstancePort};
pub use service::{Membership, Service};
