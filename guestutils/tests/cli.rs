//! The built binaries, run end to end against a harness etcd.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::*;
use registry::harness::EtcdServer;

/// Runs `guestutils` with kafka-2's environment (and nothing inherited that could leak in).
fn guestutils(etcd: &EtcdServer, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_guestutils"))
        .args(args)
        .env_clear()
        .envs(kafka_2_env())
        .env("HERALD_ETCD_ENDPOINTS", etcd.endpoint())
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

#[tokio::test]
async fn guestutils_prints_maestro_answers() {
    let etcd = EtcdServer::start().await.unwrap();
    zk_kafka(&etcd.registry().await.unwrap()).await;

    let out = guestutils(
        &etcd,
        &[
            "get-node-list",
            "zookeeper",
            "--port",
            "client",
            "--port",
            "peer",
        ],
    );
    assert_eq!(
        stdout(&out),
        "192.168.10.2:2181:2888\n192.168.10.2:2182:2889\n192.168.10.2:2183:2890\n"
    );
    let out = guestutils(
        &etcd,
        &[
            "--json",
            "get-node-list",
            "/zk-kafka/kafka",
            "--port",
            "broker",
        ],
    );
    let nodes: Vec<String> = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        nodes,
        [
            "192.168.10.2:9092",
            "192.168.10.2:9093",
            "192.168.10.2:9094"
        ]
    );

    assert_eq!(
        stdout(&guestutils(&etcd, &["get-port", "broker"])),
        "9093\n"
    );
    assert_eq!(
        stdout(&guestutils(
            &etcd,
            &["get-port", "unknown", "--default", "42"]
        )),
        "42\n"
    );
    let zk2 = zk_task_id(2);
    assert_eq!(
        stdout(&guestutils(
            &etcd,
            &["get-specific-port", "zookeeper", &zk2, "client"]
        )),
        "2182\n"
    );
    assert_eq!(
        stdout(&guestutils(
            &etcd,
            &["get-specific-exposed-port", "zookeeper", &zk2, "client"]
        )),
        "2181\n"
    );
    assert_eq!(
        stdout(&guestutils(
            &etcd,
            &["get-specific-host", "zookeeper", &zk2]
        )),
        "192.168.10.2\n"
    );
    assert_eq!(
        stdout(&guestutils(&etcd, &["get-environment-name"])),
        "zk-kafka\n"
    );
    assert_eq!(
        stdout(&guestutils(&etcd, &["get-service-name"])),
        "/zk-kafka/kafka\n"
    );
    assert_eq!(
        stdout(&guestutils(&etcd, &["get-container-name"])),
        format!("{}\n", kafka_task_id(2))
    );
    assert_eq!(
        stdout(&guestutils(
            &etcd,
            &["--json", "get-container-host-address"]
        )),
        "\"192.168.10.2\"\n"
    );
    assert_eq!(
        stdout(&guestutils(&etcd, &["get-container-internal-address"])),
        "172.18.42.1\n"
    );
}

#[tokio::test]
async fn guestutils_errors_exit_non_zero_with_the_reason() {
    let etcd = EtcdServer::start().await.unwrap();
    zk_kafka(&etcd.registry().await.unwrap()).await;

    let out = guestutils(&etcd, &["get-node-list", "zookeeper", "--minimum", "5"]);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not enough /zk-kafka/zookeeper nodes: 3 found, at least 5"),
        "{err}"
    );

    let out = guestutils(&etcd, &["get-port", "jmx"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("PORT_JMX"));

    let out = Command::new(env!("CARGO_BIN_EXE_guestutils"))
        .arg("get-container-name")
        .env_clear()
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("MESOS_TASK_ID is not set"));
}

#[tokio::test]
async fn guestutils_env_prints_shell_safe_exports() {
    let etcd = EtcdServer::start().await.unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_guestutils"))
        .arg("env")
        .env_clear()
        .envs(kafka_2_env())
        .env("HERALD_ENVIRONMENT", "it's $HOME")
        .env("HERALD_ETCD_ENDPOINTS", etcd.endpoint())
        .output()
        .unwrap();
    let script = stdout(&out);
    assert!(
        script.contains("export GUEST_SERVICE_NAME='/zk-kafka/kafka'\n"),
        "{script}"
    );
    // The shell reads the value back verbatim.
    let echoed = Command::new("sh")
        .arg("-c")
        .arg(format!("{script}\nprintf %s \"$GUEST_ENVIRONMENT_NAME\""))
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&echoed.stdout), "it's $HOME");
}

/// Waits until `dir` holds `count` handler records; returns them in run order.
async fn records(dir: &Path, count: usize) -> Vec<serde_json::Value> {
    let files = eventually(&format!("{count} handler runs"), WAIT, async || {
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        if files.len() >= count {
            Ok(files)
        } else {
            Err(format!("{} handler runs, expected {count}", files.len()))
        }
    })
    .await;
    files
        .iter()
        .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
        .collect()
}

#[tokio::test]
async fn herald_watcher_runs_the_handler_with_the_contract() {
    let etcd = EtcdServer::start().await.unwrap();
    let registry = etcd.registry().await.unwrap();
    zk_kafka(&registry).await;
    let dir = tempfile::tempdir().unwrap();
    // Each run saves its stdin and the WATCH_* variables, numbered in run order.
    let script = r#"n=$(ls "$OUT" | grep -c json); f=$(printf '%s/%03d' "$OUT" "$n");
        env | grep '^WATCH_' | sort > "$f.env"; cat > "$f.tmp"; mv "$f.tmp" "$f.json""#;
    let ops = format!("127.0.0.1:{}", registry::harness::free_port());
    let mut watcher = tokio::process::Command::new(env!("CARGO_BIN_EXE_herald-watcher"))
        .args([
            "--wait",
            "300ms:3s",
            "--handler",
            script,
            "--http-listen",
            &ops,
        ])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(kafka_2_env())
        .env("WATCHES", "zookeeper, ")
        .env("OUT", dir.path())
        .env("HERALD_ETCD_ENDPOINTS", etcd.endpoint())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();

    let initial = records(dir.path(), 1).await;
    assert_eq!(initial[0]["initial"], true);
    assert_eq!(initial[0]["instances"].as_array().unwrap().len(), 3);
    let env = std::fs::read_to_string(dir.path().join("000.env")).unwrap();
    assert!(env.contains("WATCH_SERVICE=zookeeper\n"), "{env}");
    assert!(env.contains("WATCH_DELTA=3\n"), "{env}");

    remove(&registry, &zk_node(3)).await;
    let runs = records(dir.path(), 2).await;
    assert_eq!(runs[1]["delta"]["count"], -1);
    assert_eq!(runs[1]["delta"]["removed"][0]["task_id"], zk_task_id(3));
    let env = std::fs::read_to_string(dir.path().join("001.env")).unwrap();
    assert!(env.contains("WATCH_DELTA=-1\n"), "{env}");
    assert!(
        env.contains(&format!("WATCH_REMOVED={}\n", zk_task_id(3))),
        "{env}"
    );
    assert!(env.contains("WATCH_ADDED=\n"), "{env}");
    assert!(
        env.contains(&format!("WATCH_REVISION={}\n", runs[1]["revision"])),
        "{env}"
    );

    let health = http_get(&ops, "/healthz").await;
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    assert!(
        health.contains(r#""zookeeper":{"connected":true"#),
        "{health}"
    );
    // The run is counted once the handler has exited, just after it wrote its record.
    let counted = r#"herald_watcher_handler_runs_total{service="zookeeper",outcome="ok"} 2"#;
    eventually("the run counted in /metrics", WAIT, async || {
        let metrics = http_get(&ops, "/metrics").await;
        if metrics.contains(counted) {
            Ok(())
        } else {
            Err(metrics)
        }
    })
    .await;
    watcher.kill().await.unwrap();
}

#[tokio::test]
async fn herald_watcher_exits_on_a_failing_handler_when_asked() {
    let etcd = EtcdServer::start().await.unwrap();
    zk_kafka(&etcd.registry().await.unwrap()).await;
    let status = tokio::process::Command::new(env!("CARGO_BIN_EXE_herald-watcher"))
        .args(["--watch", "kafka", "--exit-on-failure", "--", "false"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HERALD_ETCD_ENDPOINTS", etcd.endpoint())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .status();
    let status = tokio::time::timeout(Duration::from_secs(20), status)
        .await
        .unwrap()
        .unwrap();
    assert!(!status.success());
}

/// herald-watcher watching kafka, as kafka-2, with the shell handler `script`.
fn herald_watcher(etcd: &EtcdServer, script: &str, timeout: &str) -> tokio::process::Child {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_herald-watcher"))
        .args(["--watch", "kafka", "--handler-timeout", timeout])
        .args(["--handler", script])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(kafka_2_env())
        .env("HERALD_ETCD_ENDPOINTS", etcd.endpoint())
        .env("HERALD_LOG_FORMAT", "json")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

#[tokio::test]
async fn herald_watcher_logs_a_handler_timeout_and_stops_the_whole_handler() {
    use tokio::io::AsyncBufReadExt;
    let etcd = EtcdServer::start().await.unwrap();
    zk_kafka(&etcd.registry().await.unwrap()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut watcher = herald_watcher(&etcd, &sleeper_script(dir.path(), ""), "2s");
    let shell = pid_in(&dir.path().join("shell")).await;
    let child = pid_in(&dir.path().join("child")).await;

    let mut lines = tokio::io::BufReader::new(watcher.stderr.take().unwrap()).lines();
    let logged = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            // Only the watcher's own lines are JSON (the handler shares its stderr).
            let Ok(event) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            if event["reason"] == "did not finish within 2s" {
                return event;
            }
        }
        panic!("the watcher's stderr closed without logging the timeout");
    })
    .await
    .expect("no timeout logged before the deadline");
    assert_eq!(logged["level"], "ERROR", "{logged}");
    assert_eq!(logged["service"], "kafka", "{logged}");
    // The shell's background child is stopped too, not only the shell.
    all_gone(&[shell, child]).await;
    watcher.kill().await.unwrap();
}

#[tokio::test]
async fn herald_watcher_stopped_while_a_handler_runs_kills_the_whole_handler() {
    use rustix::process::{Pid, Signal, kill_process};
    let etcd = EtcdServer::start().await.unwrap();
    zk_kafka(&etcd.registry().await.unwrap()).await;
    let dir = tempfile::tempdir().unwrap();
    // Even a handler that ignores SIGTERM (and its child, which inherits that) goes: the
    // exiting watcher does not leave it the grace.
    let script = sleeper_script(dir.path(), "trap '' TERM");
    let mut watcher = herald_watcher(&etcd, &script, "1h");
    let shell = pid_in(&dir.path().join("shell")).await;
    let child = pid_in(&dir.path().join("child")).await;

    let pid = watcher
        .id()
        .and_then(|id| Pid::from_raw(id.try_into().unwrap()));
    kill_process(pid.unwrap(), Signal::TERM).unwrap();
    let status = tokio::time::timeout(Duration::from_secs(20), watcher.wait())
        .await
        .expect("the watcher did not exit on SIGTERM")
        .unwrap();
    assert!(status.success(), "{status}");
    all_gone(&[shell, child]).await;
}
