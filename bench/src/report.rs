//! The results: rows with optional targets (PASS/MISS), printed as a Markdown table and
//! written as JSON together with the machine they were measured on.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};
use serde::Serialize;

/// How a row compares with its target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Verdict {
    /// Meets the target.
    Pass,
    /// Misses the target.
    Miss,
    /// No target: information only.
    Info,
    /// Could not be measured (see the note).
    NotMeasured,
}

impl Verdict {
    fn label(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Miss => "MISS",
            Verdict::Info => "",
            Verdict::NotMeasured => "n/a",
        }
    }
}

/// One measured figure.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    /// The benchmark (`dns`, `freshness`, ...).
    pub bench: String,
    /// What was measured.
    pub metric: String,
    /// The figure; `None` when not measured.
    pub value: Option<f64>,
    /// Its unit.
    pub unit: String,
    /// The target, as text (`<= 10 ms`).
    pub target: Option<String>,
    /// Against the target.
    pub verdict: Verdict,
    /// Context (sample size, reason it was not measured).
    pub note: String,
}

impl Row {
    /// An information-only figure.
    pub fn info(bench: &str, metric: &str, value: f64, unit: &str) -> Row {
        Row {
            bench: bench.into(),
            metric: metric.into(),
            value: Some(value),
            unit: unit.into(),
            target: None,
            verdict: Verdict::Info,
            note: String::new(),
        }
    }

    /// A figure with a target that it meets when `pass`.
    pub fn target(
        bench: &str,
        metric: &str,
        value: f64,
        unit: &str,
        target: &str,
        pass: bool,
    ) -> Row {
        Row {
            target: Some(target.into()),
            verdict: if pass { Verdict::Pass } else { Verdict::Miss },
            ..Row::info(bench, metric, value, unit)
        }
    }

    /// A figure that could not be measured, and why.
    pub fn not_measured(bench: &str, metric: &str, reason: &str) -> Row {
        Row {
            bench: bench.into(),
            metric: metric.into(),
            value: None,
            unit: String::new(),
            target: None,
            verdict: Verdict::NotMeasured,
            note: format!("not measured ({reason})"),
        }
    }

    /// Adds a note.
    pub fn note(mut self, note: impl Into<String>) -> Row {
        self.note = note.into();
        self
    }
}

/// The box the figures come from.
#[derive(Clone, Debug, Serialize)]
pub struct Machine {
    /// `nproc`.
    pub nproc: usize,
    /// `model name` from /proc/cpuinfo.
    pub cpu_model: String,
    /// MemTotal in GiB.
    pub memory_gib: f64,
    /// UTC date and time of the run.
    pub date: String,
    /// `git rev-parse --short HEAD` (`unknown` outside a checkout).
    pub commit: String,
}

impl Machine {
    /// Describes this machine now.
    pub fn detect() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name")?.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_else(|| "unknown".into());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let mem_kb: f64 = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0.0);
        let commit = Command::new("git")
            .args(["rev-parse", "--short", "HEAD"])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_else(|| "unknown".into());
        Machine {
            nproc: std::thread::available_parallelism().map_or(0, |n| n.get()),
            cpu_model,
            memory_gib: (mem_kb / 1024.0 / 1024.0 * 10.0).round() / 10.0,
            date: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
            commit,
        }
    }
}

/// Every row of a run, plus raw per-benchmark details.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Where.
    pub machine: Machine,
    /// Short (`--quick`) run.
    pub quick: bool,
    /// The table.
    pub rows: Vec<Row>,
    /// Raw details by benchmark (runs, per-server stats).
    pub details: serde_json::Map<String, serde_json::Value>,
}

impl Report {
    /// An empty report for this machine.
    pub fn new(quick: bool) -> Report {
        Report {
            machine: Machine::detect(),
            quick,
            rows: Vec::new(),
            details: serde_json::Map::new(),
        }
    }

    /// The table as Markdown.
    pub fn table(&self) -> String {
        let m = &self.machine;
        let mut out = format!(
            "Machine: {} x {} , {} GiB RAM; {}; commit {}{}\n\n",
            m.nproc,
            m.cpu_model,
            m.memory_gib,
            m.date,
            m.commit,
            if self.quick { " (--quick)" } else { "" }
        );
        out.push_str("| bench | metric | value | target | | note |\n|---|---|---|---|---|---|\n");
        for r in &self.rows {
            let value = r
                .value
                .map(|v| format!("{} {}", fmt_value(v), r.unit))
                .unwrap_or_else(|| "-".into());
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} |\n",
                r.bench,
                r.metric,
                value.trim(),
                r.target.as_deref().unwrap_or(""),
                r.verdict.label(),
                r.note
            ));
        }
        out
    }

    /// Writes the JSON file (creating its directory).
    pub fn write_json(&self, path: &Path) -> Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let json = serde_json::to_string_pretty(self)?;
        std::fs::write(path, json).with_context(|| format!("cannot write {}", path.display()))
    }
}

/// Three significant-ish digits without noise.
fn fmt_value(v: f64) -> String {
    let a = v.abs();
    if a >= 1000.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_values() {
        assert_eq!(fmt_value(12345.6), "12346");
        assert_eq!(fmt_value(5.0), "5");
        assert_eq!(fmt_value(5.678), "5.68");
        assert_eq!(fmt_value(0.1234), "0.123");
    }

    #[test]
    fn table_has_a_row_per_figure() {
        let mut r = Report::new(true);
        r.rows
            .push(Row::target("dns", "cpu", 5.5, "us/q", "<= 6", true));
        r.rows
            .push(Row::not_measured("ingest", "events/s", "no subscriber"));
        let t = r.table();
        assert!(t.contains("| dns | cpu | 5.50 us/q | <= 6 | PASS |"));
        assert!(t.contains("not measured (no subscriber)"));
    }
}
