//! Polling until something holds, the one way every test waits.

use std::fmt::Display;
use std::time::Duration;

/// The usual deadline of [`eventually`]: generous, since CI machines are slow and busy.
pub const WAIT: Duration = Duration::from_secs(20);

/// How often [`eventually`] asks again.
const INTERVAL: Duration = Duration::from_millis(50);

/// What a check of [`eventually`] answers: `Some(value)`, `Ok(value)` or `true` when it
/// holds; `None`, `Err(why)` or `false` when not yet (`why` is shown if time runs out).
pub trait Check {
    /// What [`eventually`] returns once the check holds.
    type Value;

    /// The value, or why not yet (when known).
    fn outcome(self) -> Result<Self::Value, Option<String>>;
}

impl<T> Check for Option<T> {
    type Value = T;

    fn outcome(self) -> Result<T, Option<String>> {
        self.ok_or(None)
    }
}

impl<T, E: Display> Check for Result<T, E> {
    type Value = T;

    fn outcome(self) -> Result<T, Option<String>> {
        self.map_err(|e| Some(e.to_string()))
    }
}

impl Check for bool {
    type Value = ();

    fn outcome(self) -> Result<(), Option<String>> {
        if self { Ok(()) } else { Err(None) }
    }
}

/// Runs `check` until it holds and returns its value; polls every 50 ms, and panics with
/// `what` (and the last `Err`, if any) once `within` has passed.
///
/// ```no_run
/// # async fn demo(registry: herald_registry::Registry) {
/// use herald_registry::{Scope, harness::{WAIT, eventually}};
/// let tasks = eventually("two tasks in etcd", WAIT, async || {
///     let tasks = registry.list(&Scope::All).await.ok()?.tasks;
///     (tasks.len() == 2).then_some(tasks)
/// })
/// .await;
/// # }
/// ```
pub async fn eventually<C: Check>(
    what: &str,
    within: Duration,
    mut check: impl AsyncFnMut() -> C,
) -> C::Value {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match check().await.outcome() {
            Ok(value) => return value,
            Err(last) if tokio::time::Instant::now() >= deadline => match last {
                Some(last) => panic!("timed out after {within:?} waiting for {what}: {last}"),
                None => panic!("timed out after {within:?} waiting for {what}"),
            },
            Err(_) => tokio::time::sleep(INTERVAL).await,
        }
    }
}
