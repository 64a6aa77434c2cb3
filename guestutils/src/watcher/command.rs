//! A handler that runs a command: the update in `WATCH_*` variables and as JSON on stdin,
//! stdout and stderr inherited.

use std::process::Stdio;

use tokio::io::AsyncWriteExt;
use tokio::process::Command;

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
    /// Dropping the future (the watcher's timeout) kills the command.
    pub async fn run(&self, update: &Update) -> Result<(), HandlerError> {
        let json = serde_json::to_vec(update)?;
        let mut child = Command::new(&self.program)
            .args(&self.args)
            .envs(variables(update))
            .stdin(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.program))?;
        if let Some(mut stdin) = child.stdin.take() {
            // A handler that does not read its input closes the pipe early: not an error.
            if let Err(e) = stdin.write_all(&json).await
                && e.kind() != std::io::ErrorKind::BrokenPipe
            {
                return Err(e.into());
            }
        }
        let status = child.wait().await?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("{} exited with {status}", self.program).into())
        }
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
