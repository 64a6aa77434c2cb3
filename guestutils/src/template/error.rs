//! Why one template's render did not replace its file.

use std::path::PathBuf;

/// A template that failed; its destination keeps its previous content.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// The template file cannot be read.
    #[error("cannot read the template {path}: {source}")]
    Read {
        /// The template's path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The template does not compile, or fails while rendering (an unknown name, a bad
    /// filter argument, ...); the message names the file and line.
    #[error("template error: {source}")]
    Render {
        /// minijinja's error.
        #[source]
        source: minijinja::Error,
    },
    /// The new file cannot be written next to the destination or renamed over it.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file that could not be written.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The `--check` command refused the new file.
    #[error("the check refused the new {dest}: {reason}")]
    Check {
        /// The destination.
        dest: PathBuf,
        /// The command's exit status and output.
        reason: String,
    },
}

impl TemplateError {
    /// The `outcome` label of `herald_watcher_template_renders_total`.
    pub fn outcome(&self) -> &'static str {
        match self {
            TemplateError::Read { .. } | TemplateError::Render { .. } => "render_failed",
            TemplateError::Write { .. } => "write_failed",
            TemplateError::Check { .. } => "check_failed",
        }
    }
}
