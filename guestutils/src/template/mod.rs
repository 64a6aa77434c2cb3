//! Renders files from templates over the watched services, consul-template style: the
//! port-based discovery marathon-lb did, for any proxy that reads a config file.
//!
//! A [`TemplateWatcher`] keeps every watched service's tasks and app definitions in a
//! [`Catalog`] (one registry watch per service), and renders each [`TemplateSpec`] with
//! minijinja ([`Template`]) over the catalog's [context](Catalog::context):
//! - once every service has had its first listing, then after each burst of changes, with
//!   the watcher's quiescence (`--wait`);
//! - a file is replaced only when its bytes change ([`install`]): a temporary file in the same
//!   directory, with the old file's mode, checked by `--check` (a [`Hook`]), renamed over the
//!   old one; `--reload` runs once after a render that replaced any file;
//! - a template error, a refused check or a failed write keeps the previous file, and is
//!   logged, counted (`herald_watcher_template_renders_total{template,outcome}`) and shown
//!   in [`TemplateStatus`] (`/healthz`) until a later render succeeds. A failed reload is
//!   retried after the next render, even if nothing changed.
//!
//! The template file is read again at every render, so an edited template takes effect at
//! the next change.

mod catalog;
mod data;
mod engine;
mod error;
mod hook;
mod install;
mod outputs;
mod runner;
mod status;

use std::path::PathBuf;
use std::str::FromStr;

pub use catalog::Catalog;
pub use data::{AppData, AppPortData, PortData, TaskData};
pub use engine::Template;
pub use error::TemplateError;
pub use hook::Hook;
pub use install::{Installed, install};
pub use runner::{TemplateConfig, TemplateWatcher};
pub use status::{TemplateState, TemplateStatus};

/// A template and the file it renders to: `SRC:DEST` on the command line (split at the
/// first `:`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateSpec {
    /// The template file.
    pub source: PathBuf,
    /// The file it renders to.
    pub dest: PathBuf,
}

impl FromStr for TemplateSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().split_once(':') {
            Some((source, dest)) if !source.is_empty() && !dest.is_empty() => Ok(TemplateSpec {
                source: source.into(),
                dest: dest.into(),
            }),
            _ => Err(format!(
                "{s:?} is not SRC:DEST (template file : output file)"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_src_colon_dest() {
        let spec: TemplateSpec = " haproxy.cfg.j2:/etc/haproxy/haproxy.cfg".parse().unwrap();
        assert_eq!(spec.source, PathBuf::from("haproxy.cfg.j2"));
        assert_eq!(spec.dest, PathBuf::from("/etc/haproxy/haproxy.cfg"));
        for bad in ["only-one", ":/x", "x:", ""] {
            assert!(bad.parse::<TemplateSpec>().is_err(), "{bad}");
        }
    }
}
