//! Fixtures shared by the integration tests: maestro's zookeeper + kafka example as
//! Marathon records, and helpers to write them into a harness etcd.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::Path;

use registry::harness::records;
pub use registry::harness::records::port;
pub use registry::harness::{WAIT, eventually};
use registry::{AppRecord, NetworkMode, Registry, Stamp, TaskPort, TaskRecord, Write, WriteOp};

/// The ship of maestro's example: every container runs on it.
pub const SHIP: &str = "192.168.10.2";
pub const ZOOKEEPER: &str = "/zk-kafka/zookeeper";
pub const KAFKA: &str = "/zk-kafka/kafka";

/// Marathon 1.8+ task ids (node >= 1); the uuids of nodes 1-3 are deliberately not in port
/// order.
pub fn zk_task_id(node: u16) -> String {
    let letter = ["c", "a", "b"].get(usize::from(node) - 1).unwrap_or(&"f");
    format!("zk-kafka_zookeeper.instance-{letter}{node:07}-0000-0000-0000-000000000000._app.1")
}

pub fn kafka_task_id(node: u16) -> String {
    let letter = ["b", "c", "a"].get(usize::from(node) - 1).unwrap_or(&"f");
    format!("zk-kafka_kafka.instance-{letter}{node:07}-0000-0000-0000-000000000000._app.1")
}

/// A running task on the ship with unknown health.
pub fn task(app: &str, task_id: &str, ports: Vec<TaskPort>) -> TaskRecord {
    records::task(app, task_id, "ship1.zk-kafka.example")
        .agent_ips(&[SHIP])
        .ports(ports)
        .build()
}

/// zk-node-N (1..=3) in bridge mode: client 2181, peer 2888, leader_election 3888 inside;
/// 2180+N, 2887+N, 3887+N on the ship.
pub fn zk_node(node: u16) -> TaskRecord {
    task(
        ZOOKEEPER,
        &zk_task_id(node),
        vec![
            port("client", Some(2181), Some(2180 + node)),
            port("peer", Some(2888), Some(2887 + node)),
            port("leader_election", Some(3888), Some(3887 + node)),
        ],
    )
}

/// kafka-N (1..=3) on the host network: broker 9091+N.
pub fn kafka_node(node: u16) -> TaskRecord {
    task(
        KAFKA,
        &kafka_task_id(node),
        vec![port("broker", None, Some(9091 + node))],
    )
}

/// An app of maestro's example; `ports` are (name, container port), the container port
/// left out on the host network.
pub fn app(app_id: &str, networking: NetworkMode, ports: &[(&str, u16)]) -> AppRecord {
    ports
        .iter()
        .fold(records::app(app_id), |app, (name, container)| {
            app.port(
                name,
                (networking != NetworkMode::Host).then_some(*container),
            )
        })
        .networking(networking)
        .version("2014-05-01T00:00:00.000Z")
        .build()
}

/// Writes records as the subscriber would.
pub async fn put(registry: &Registry, tasks: impl IntoIterator<Item = TaskRecord>) {
    let ops = tasks
        .into_iter()
        .map(|t| WriteOp::newer(Write::PutTask(t)))
        .collect();
    registry.apply(ops).await.unwrap();
}

pub async fn put_app(registry: &Registry, app: AppRecord) {
    registry
        .apply(vec![WriteOp::newer(Write::PutApp(app))])
        .await
        .unwrap();
}

pub async fn remove(registry: &Registry, task: &TaskRecord) {
    registry
        .apply(vec![WriteOp::newer(Write::RemoveTask {
            app_id: task.app_id.clone(),
            task_id: task.task_id.clone(),
            reason: "TASK_KILLED".to_string(),
            at: Stamp::now(),
        })])
        .await
        .unwrap();
}

/// The whole example: three zookeepers (bridge), three kafkas (host), their app records.
pub async fn zk_kafka(registry: &Registry) {
    put_app(
        registry,
        app(
            ZOOKEEPER,
            NetworkMode::Bridge,
            &[("client", 2181), ("peer", 2888), ("leader_election", 3888)],
        ),
    )
    .await;
    put_app(registry, app(KAFKA, NetworkMode::Host, &[("broker", 0)])).await;
    put(registry, (1..=3).map(zk_node)).await;
    put(registry, (1..=3).map(kafka_node)).await;
}

/// The environment Marathon gives kafka-2 (maestro's examples run "from kafka-2").
pub fn kafka_2_env() -> Vec<(String, String)> {
    [
        ("MARATHON_APP_ID", KAFKA.to_string()),
        ("MESOS_TASK_ID", kafka_task_id(2)),
        ("HOST", SHIP.to_string()),
        ("PORT0", "9093".to_string()),
        ("PORT_BROKER", "9093".to_string()),
        ("MESOS_CONTAINER_IP", "172.18.42.1".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// A handler script that starts `sleep 555` in the background and waits for it, after
/// writing the shell's pid to `dir/shell` and the sleep's to `dir/child`. `prelude` runs
/// first (a `trap`, say). The sleep does not hold the test's output open: a leaked one
/// fails the test rather than stalling whatever reads that output.
pub fn sleeper_script(dir: &Path, prelude: &str) -> String {
    let d = dir.display();
    format!(
        r#"{prelude}
        sleep 555 </dev/null >/dev/null 2>&1 & echo $! > '{d}/child'
        echo $$ > '{d}/shell'
        wait"#
    )
}

/// The pid a handler wrote to `file`, once it is there.
pub async fn pid_in(file: &Path) -> u32 {
    eventually(&format!("a pid in {}", file.display()), WAIT, async || {
        std::fs::read_to_string(file).ok()?.trim().parse().ok()
    })
    .await
}

/// True while `pid` runs: a process that has exited but is not reaped yet (a zombie)
/// counts as gone.
pub fn alive(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // `pid (comm) state ...`: the state follows the last parenthesis.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.trim_start().chars().next());
    !matches!(state, Some('Z' | 'X') | None)
}

/// Waits until none of `pids` runs.
pub async fn all_gone(pids: &[u32]) {
    eventually(&format!("processes {pids:?} gone"), WAIT, async || {
        (!pids.iter().any(|&pid| alive(pid))).then_some(())
    })
    .await;
}

/// A bare HTTP/1.1 GET of the watcher's ops endpoint (the tests need no HTTP client): the
/// whole response, status line included.
pub async fn http_get(addr: &str, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
}
