//! A handler that runs a command: the update in `WATCH_*` variables and as JSON on stdin,
//! stdout and stderr inherited.
//!
//! Each run is the leader of its own process group, so that stopping it stops everything
//! it started: when a run is abandoned (the watcher's timeout, or the watcher stopping),
//! the whole group gets SIGTERM, and SIGKILL [`KILL_GRACE`] later (at once if the watcher
//! exits first). A run that exits by itself leaves its group alone.

use std::process::Stdio;
use std::time::Duration;

use rustix::io::Errno;
use rustix::process::{Pid, Signal, kill_process_group};
use tokio::io::AsyncWriteExt;
use tokio::process::{Child, Command};

use super::HandlerError;
use super::delta::Update;
use crate::instance::Instance;

/// The command to run for each update.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandHandler {
    program: String,
    args: Vec<String>,
}

impl CommandHandler {
    /// Runs `argv[0]` with the rest as arguments (no shell); `None` when `argv` is empty.
    pub fn argv(argv: &[String]) -> Option<Self> {
        let (program, args) = argv.split_first()?;
        Some(CommandHandler {
            program: program.clone(),
            args: args.to_vec(),
        })
    }

    /// Runs `script` with `sh -c`.
    pub fn shell(script: &str) -> Self {
        CommandHandler {
            program: "sh".to_string(),
            args: vec!["-c".to_string(), script.to_string()],
        }
    }

    /// Runs the command for one update and waits for it; a non-zero exit is an error.
    /// Dropping the future (the watcher's timeout or shutdown) stops the command's whole
    /// process group: SIGTERM, then SIGKILL [`KILL_GRACE`] later.
    pub async fn run(&self, update: &Update) -> Result<(), HandlerError> {
        let json = serde_json::to_vec(update)?;
        let mut running = Running::spawn(
            Command::new(&self.program)
                .args(&self.args)
                .envs(variables(update))
                .stdin(Stdio::piped()),
        )
        .map_err(|e| format!("cannot start {}: {e}", self.program))?;
        if let Some(mut stdin) = running.take_stdin() {
            // A handler that does not read its input closes the pipe early: not an error.
            if let Err(e) = stdin.write_all(&json).await
                && e.kind() != std::io::ErrorKind::BrokenPipe
            {
                return Err(e.into());
            }
        }
        let status = running.wait().await?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("{} exited with {status}", self.program).into())
        }
    }
}

/// How long an abandoned handler's process group has between SIGTERM and SIGKILL.
pub const KILL_GRACE: Duration = Duration::from_secs(2);

/// A running command (a handler, a template's check or reload), leader of its own process
/// group.
///
/// Dropped before the leader exited, it sends SIGTERM to the group and leaves a task that
/// sends SIGKILL [`KILL_GRACE`] later (or when the runtime shuts down, whichever comes
/// first).
pub(crate) struct Running {
    /// `None` once the leader exited and was reaped.
    leader: Option<Child>,
    group: Pid,
}

impl Running {
    /// Starts `command` (as set up: arguments, environment, stdio) as the leader of a new
    /// process group.
    pub(crate) fn spawn(command: &mut Command) -> std::io::Result<Self> {
        let leader = command.process_group(0).kill_on_drop(true).spawn()?;
        let group = leader
            .id()
            .and_then(|id| i32::try_from(id).ok())
            .and_then(Pid::from_raw)
            .ok_or_else(|| std::io::Error::other("exited before its process id was known"))?;
        Ok(Running {
            leader: Some(leader),
            group,
        })
    }

    /// The leader's stdin, when it was piped (once).
    fn take_stdin(&mut self) -> Option<tokio::process::ChildStdin> {
        self.leader.as_mut().and_then(|leader| leader.stdin.take())
    }

    /// Waits for the leader to exit; the rest of its group, if any, is left alone.
    pub(crate) async fn wait(mut self) -> std::io::Result<std::process::ExitStatus> {
        let Some(leader) = self.leader.as_mut() else {
            return Err(std::io::Error::other("the handler was already reaped"));
        };
        let status = leader.wait().await?;
        self.leader = None;
        Ok(status)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let Some(leader) = self.leader.take() else {
            return;
        };
        signal_group(self.group, Signal::TERM);
        let stopping = Stopping {
            group: self.group,
            _leader: leader,
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    tokio::time::sleep(KILL_GRACE).await;
                    drop(stopping);
                });
            }
            Err(_) => drop(stopping),
        }
    }
}

/// An abandoned handler's process group: SIGKILL when dropped. Its leader is reaped only
/// after that, so the group id cannot have been reused by another group meanwhile.
struct Stopping {
    group: Pid,
    /// Dropped (and reaped by tokio) only after the group had its SIGKILL.
    _leader: Child,
}

impl Drop for Stopping {
    fn drop(&mut self) {
        signal_group(self.group, Signal::KILL);
    }
}

/// Sends `signal` to every process of `group`; a group that is gone already is fine.
fn signal_group(group: Pid, signal: Signal) {
    if let Err(e) = kill_process_group(group, signal)
        && e != Errno::SRCH
    {
        tracing::warn!(group = group.as_raw_pid(), ?signal, error = %e, "cannot signal the handler's process group");
    }
}

/// The handler's `WATCH_*` environment variables.
pub fn variables(update: &Update) -> Vec<(&'static str, String)> {
    let ids = |list: &[Instance]| {
        list.iter()
            .map(|i| i.task_id.as_str())
            .collect::<Vec<_>>()
            .join(",")
    };
    vec![
        ("WATCH_SERVICE", update.service.clone()),
        ("WATCH_APP_ID", update.app_id.to_string()),
        ("WATCH_DELTA", update.delta.count.to_string()),
        ("WATCH_ADDED", ids(&update.delta.added)),
        ("WATCH_REMOVED", ids(&update.delta.removed)),
        ("WATCH_CHANGED", ids(&update.delta.changed)),
        ("WATCH_COUNT", update.instances.len().to_string()),
        ("WATCH_REVISION", update.revision.to_string()),
        ("WATCH_INITIAL", update.initial.to_string()),
    ]
}
