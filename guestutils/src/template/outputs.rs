//! One render pass: every template over the same data, each installed (or printed with
//! `--dry-run`), then the reload; outcomes go to the log, the metrics and the status board.

use std::io::Write;

use minijinja::value::Value;

use super::TemplateSpec;
use super::engine::Template;
use super::error::TemplateError;
use super::hook::Hook;
use super::install::{Installed, install};
use super::status::TemplateStatus;
use crate::env::Env;

/// Every template, the commands around them, and what a pass must remember.
pub(crate) struct Outputs {
    outputs: Vec<Output>,
    check: Option<Hook>,
    reload: Option<Hook>,
    dry_run: bool,
    env: Env,
    status: TemplateStatus,
    /// A reload failed: try again after the next pass even if nothing changes.
    reload_pending: bool,
}

/// One template and what it last produced.
struct Output {
    spec: TemplateSpec,
    /// The label in metrics and `/healthz`: the destination as given.
    label: String,
    /// The last compiled source, reused while the file does not change.
    compiled: Option<(String, Template)>,
    /// With `--dry-run`: the text printed last.
    printed: Option<String>,
}

impl Outputs {
    pub(crate) fn new(
        specs: &[TemplateSpec],
        check: Option<Hook>,
        reload: Option<Hook>,
        dry_run: bool,
        env: Env,
        status: TemplateStatus,
    ) -> Self {
        let outputs = specs
            .iter()
            .map(|spec| {
                let label = spec.dest.display().to_string();
                status.register(&label, &spec.source.display().to_string());
                Output {
                    spec: spec.clone(),
                    label,
                    compiled: None,
                    printed: None,
                }
            })
            .collect();
        Outputs {
            outputs,
            check,
            reload,
            dry_run,
            env,
            status,
            reload_pending: false,
        }
    }

    /// Renders and installs every template over `context` (the data of etcd `revision`),
    /// then reloads when a file was replaced (or the previous reload failed). Returns the
    /// failures, empty when everything succeeded.
    pub(crate) async fn update(&mut self, context: &Value, revision: i64) -> Vec<String> {
        let mut outcomes = Vec::with_capacity(self.outputs.len());
        let mut replaced = false;
        for output in &mut self.outputs {
            let outcome = output
                .produce(
                    context,
                    revision,
                    &self.env,
                    self.check.as_ref(),
                    self.dry_run,
                )
                .await;
            let label = match &outcome {
                Ok(Installed::Replaced) => "written",
                Ok(Installed::Unchanged) => "unchanged",
                Err(e) => e.outcome(),
            };
            metrics::counter!("herald_watcher_template_renders_total", "template" => output.label.clone(), "outcome" => label)
                .increment(1);
            match &outcome {
                Ok(Installed::Replaced) => {
                    replaced = true;
                    if !self.dry_run {
                        tracing::info!(template = %output.label, revision = revision, "rendered and replaced");
                    }
                }
                Ok(Installed::Unchanged) => {
                    tracing::debug!(template = %output.label, revision = revision, "rendered; unchanged");
                }
                Err(e) => {
                    tracing::error!(template = %output.label, revision = revision, error = %e, "the template failed; the previous file stays");
                }
            }
            outcomes.push(outcome.map_err(|e| e.to_string()));
        }
        let reload_failure = self.reload(replaced).await;
        let mut failures = Vec::new();
        for (output, outcome) in self.outputs.iter().zip(outcomes) {
            let outcome = match (outcome, &reload_failure) {
                (Ok(_), Some(reason)) => Err(format!("the reload failed: {reason}")),
                (Ok(_), None) => Ok(()),
                (Err(reason), _) => Err(reason),
            };
            if let Err(reason) = &outcome {
                failures.push(format!("{}: {reason}", output.label));
            }
            self.status.rendered(&output.label, revision, outcome);
        }
        failures
    }

    /// Runs `--reload` when due; the failure, if any.
    async fn reload(&mut self, replaced: bool) -> Option<String> {
        let reload = self.reload.as_ref()?;
        if self.dry_run || !(replaced || self.reload_pending) {
            return None;
        }
        let outcome = reload.reload().await;
        let label = if outcome.is_ok() { "ok" } else { "failed" };
        metrics::counter!("herald_watcher_reloads_total", "outcome" => label).increment(1);
        self.reload_pending = outcome.is_err();
        match outcome {
            Ok(()) => {
                tracing::info!("reloaded");
                None
            }
            Err(reason) => {
                tracing::error!(%reason, "the reload failed; it is retried after the next render");
                Some(reason)
            }
        }
    }
}

impl Output {
    /// Renders, then installs (or prints).
    async fn produce(
        &mut self,
        context: &Value,
        revision: i64,
        env: &Env,
        check: Option<&Hook>,
        dry_run: bool,
    ) -> Result<Installed, TemplateError> {
        let text = self.render(context, env)?;
        if !dry_run {
            return install(&self.spec.dest, text.as_bytes(), check).await;
        }
        if self.printed.as_deref() == Some(text.as_str()) {
            return Ok(Installed::Unchanged);
        }
        let mut stdout = std::io::stdout().lock();
        writeln!(
            stdout,
            "# herald-watcher --dry-run: {} (revision {})",
            self.label, revision
        )
        .and_then(|()| stdout.write_all(text.as_bytes()))
        .and_then(|()| stdout.flush())
        .map_err(|source| TemplateError::Write {
            path: "stdout".into(),
            source,
        })?;
        self.printed = Some(text);
        Ok(Installed::Replaced)
    }

    /// Reads the template (compiling it again only when its text changed) and renders it.
    fn render(&mut self, context: &Value, env: &Env) -> Result<String, TemplateError> {
        let source =
            std::fs::read_to_string(&self.spec.source).map_err(|source| TemplateError::Read {
                path: self.spec.source.clone(),
                source,
            })?;
        let template = match self.compiled.take() {
            Some((text, template)) if text == source => template,
            _ => {
                let name = self.spec.source.display().to_string();
                Template::compile(&name, source.clone(), env)
                    .map_err(|source| TemplateError::Render { source })?
            }
        };
        let rendered = template
            .render(context)
            .map_err(|source| TemplateError::Render { source });
        self.compiled = Some((source, template));
        rendered
    }
}
