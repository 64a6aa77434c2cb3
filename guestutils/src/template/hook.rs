//! The `--check` and `--reload` commands: shell scripts run with `sh -c` in their own
//! process group (stopped as a whole when they overrun their time, as handlers are).

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;

use crate::watcher::command::Running;

/// The longest piece of a failed check's output kept in its error.
const OUTPUT_LIMIT: usize = 2000;

/// A shell command; in a check, `{}` stands for the file to check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hook {
    script: String,
    timeout: Duration,
}

impl Hook {
    /// `script` for `sh -c`, stopped (with everything it started) after `timeout`.
    pub fn new(script: impl Into<String>, timeout: Duration) -> Self {
        Hook {
            script: script.into(),
            timeout,
        }
    }

    /// Runs the check on `file` (`{}` in the script becomes the path, quoted for the shell).
    /// The error holds the command's output (stdout and stderr, cut to 2,000 bytes).
    pub async fn check(&self, file: &Path) -> Result<(), String> {
        let script = self
            .script
            .replace("{}", &shell_quote(&file.to_string_lossy()));
        // Output goes to a file, not a pipe: nothing the check leaves behind can hold it open.
        let capture = || -> std::io::Result<_> {
            let file = tempfile::tempfile()?;
            Ok((file.try_clone()?, file.try_clone()?, file))
        };
        let (stdout, stderr, output) =
            capture().map_err(|e| format!("cannot capture the check's output: {e}"))?;
        let mut command = Command::new("sh");
        command
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr);
        match self.run(&mut command).await {
            Ok(()) => Ok(()),
            Err(reason) => Err(with_output(reason, output)),
        }
    }

    /// Runs the script, output inherited (a reload that starts a daemon must not hold a pipe
    /// open).
    pub async fn reload(&self) -> Result<(), String> {
        let mut command = Command::new("sh");
        command.args(["-c", &self.script]).stdin(Stdio::null());
        self.run(&mut command).await
    }

    async fn run(&self, command: &mut Command) -> Result<(), String> {
        let running =
            Running::spawn(command).map_err(|e| format!("cannot start `{}`: {e}", self.script))?;
        match tokio::time::timeout(self.timeout, running.wait()).await {
            Ok(Ok(status)) if status.success() => Ok(()),
            Ok(Ok(status)) => Err(format!("`{}` exited with {status}", self.script)),
            Ok(Err(e)) => Err(format!("`{}`: {e}", self.script)),
            Err(_) => Err(format!(
                "`{}` did not finish within {}",
                self.script,
                humantime::format_duration(self.timeout)
            )),
        }
    }
}

/// `reason`, then what the command printed (trimmed, at most [`OUTPUT_LIMIT`] bytes).
fn with_output(reason: String, mut file: std::fs::File) -> String {
    use std::io::{Read, Seek};
    let mut text = String::new();
    let read = file
        .rewind()
        .and_then(|()| file.take(OUTPUT_LIMIT as u64).read_to_string(&mut text));
    let text = text.trim();
    if read.is_err() || text.is_empty() {
        reason
    } else {
        format!("{reason}: {text}")
    }
}

/// `'text'`, with embedded single quotes escaped, for `sh`.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_check_gets_the_file_and_its_failure_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("it's here.cfg");
        std::fs::write(&file, "good\n").unwrap();
        let hook = Hook::new("grep -q good {}", Duration::from_secs(10));
        hook.check(&file).await.unwrap();
        let hook = Hook::new("echo bad line 3 >&2; exit 3", Duration::from_secs(10));
        let err = hook.check(&file).await.unwrap_err();
        assert!(
            err.contains("exit status: 3") && err.ends_with("bad line 3"),
            "{err}"
        );
        let slow = Hook::new("sleep 30", Duration::from_millis(100));
        let err = slow.reload().await.unwrap_err();
        assert!(err.contains("did not finish within 100ms"), "{err}");
    }
}
