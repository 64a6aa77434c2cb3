//! The status page without a browser (curl, dig and etcd's own metrics): Mesos tasks of any
//! framework listed with their DNS names as herald-dns answers them, the page fed by the
//! DNS feed's watches (etcd counts no watch of the page's own), and `--status-page false`.
#![allow(clippy::unwrap_used)]

use std::process::Command;

use crate::browser::cluster;
use crate::common::{Herald, answers};
use herald_dns::names::task_hash;
use herald_dns::test_support::mesos::{agent, framework, port, task};
use registry::harness::{EtcdServer, WAIT, eventually};
use registry::{MesosWrite, MesosWriteOp, Protocol};

/// etcd's count of its watchers (`etcd_debugging_mvcc_watcher_total` on `/metrics`).
fn etcd_watchers(etcd: &EtcdServer) -> u64 {
    let out = Command::new("curl")
        .args(["-s", "--max-time", "5"])
        .arg(format!("{}/metrics", etcd.endpoint()))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find(|l| l.starts_with("etcd_debugging_mvcc_watcher_total "))
        .and_then(|l| l.split_whitespace().last()?.parse::<f64>().ok())
        .map(|watchers| watchers as u64)
        .expect("etcd reports its watchers")
}

/// The answer lines the page shows for `name` in its names table (rdata only, sorted).
fn page_answers(page: &str, name: &str) -> Vec<String> {
    let Some(row) = page.split(&format!(">{name}</a></th>")).nth(1) else {
        return Vec::new();
    };
    let cell = row.split("<pre>").nth(1).unwrap_or("");
    let cell = cell.split("</pre>").next().unwrap_or("");
    answers(&cell.replace('\t', " "))
}

#[tokio::test]
async fn mesos_tasks_are_listed_with_their_names_and_the_page_opens_no_watch() {
    let (etcd, registry, herald) = cluster().await;
    let writes = vec![
        MesosWrite::PutAgent(agent("a-S1", "agent-1.example", "127.0.0.51", 5051)),
        MesosWrite::PutFramework(framework("fw-1", "Chronos", None, None)),
        MesosWrite::PutTask(
            task("fw-1", "Chronos", "toy.1", "toy")
                .agent("a-S1")
                .task_ips(&["127.0.0.41"])
                .ports(vec![port(8080, "http", &[Protocol::Tcp], None)])
                .build(),
        ),
    ];
    let ops = writes.into_iter().map(MesosWriteOp::newer).collect();
    registry.apply_mesos(ops).await.unwrap();

    let canonical = format!("toy-{}-s1.chronos.mesos.", &task_hash("toy.1")[..5]);
    let page = eventually("the framework page lists its task", WAIT, async || {
        let page = herald.get("/ui/frameworks/fw-1");
        page.contains("<code>toy.1</code>").then_some(page)
    })
    .await;
    assert!(page.contains(&canonical), "{page}");
    assert!(page.contains("agent-1.example"), "the agent's host: {page}");
    for (name, qtype) in [
        ("toy.chronos.mesos.", "A"),
        ("toy.chronos.slave.mesos.", "A"),
        ("_toy._tcp.chronos.mesos.", "SRV"),
        ("_http._toy._tcp.chronos.mesos.", "SRV"),
    ] {
        let dig = herald.answers(&[name, qtype]);
        assert!(!dig.is_empty(), "{name}: dig has no answer");
        assert_eq!(page_answers(&page, name), dig, "{name}: {page}");
    }
    assert_eq!(herald.answers(&[&canonical, "A"]), ["127.0.0.41"]);
    // The overview links the framework; the tasks table finds the task by its name.
    let overview = herald.get("/");
    assert!(
        overview.contains("href=\"/ui/frameworks/fw-1\""),
        "{overview}"
    );
    let tasks = herald.get("/?view=tasks&q=toy");
    assert!(
        tasks.contains("1 of 4 tasks") && tasks.contains(&canonical),
        "{tasks}"
    );

    // Everything above came through herald-dns's own watches, all open by now: the
    // Marathon records, the Mesos records, the subscriber status. The page has none.
    let line = herald.get("/ui/state.json");
    assert!(line.contains("leader subscriber-a:8080"), "{line}");
    assert_eq!(etcd_watchers(&etcd), 3);
}

#[tokio::test]
async fn without_the_page_nothing_of_it_is_served_or_watched() {
    let (etcd, _registry, herald) = cluster().await;
    eventually("the page shows the subscriber", WAIT, async || {
        herald.get("/ui/state.json").contains("leader subscriber-a")
    })
    .await;
    let before = etcd_watchers(&etcd);
    let plain = Herald::start(&etcd, &["--status-page", "false"]).await;
    assert_eq!(plain.get_status("/").0, 404);
    assert_eq!(plain.get_status("/ui/state.json").0, 404);
    assert!(plain.get("/v1/enumerate").contains("prod_web.1"));
    // Loaded (it answers), so both of its watches are open: the two record trees.
    assert_eq!(etcd_watchers(&etcd), before + 2);
}
