//! The status page (`/`) of the real herald-dns binary against a throwaway etcd: its
//! server-rendered HTML and headers with curl (always), then in headless Chromium driven
//! through chromedriver (WebDriver): the apps listed, a scale appearing without a reload,
//! search narrowing, a name's answer equal to `dig`'s, an XSS label shown as text, the
//! etcd-down banner. A failing browser check leaves a screenshot in
//! `target/tmp/status-page/`; the overview's screenshot is always written there too
//! (`overview.png`, the README's picture).
#![allow(clippy::unwrap_used)]

use crate::common;

use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use common::{Herald, answers, put, task};
use fantoccini::{Client, ClientBuilder, Locator};
use futures::FutureExt;
use registry::harness::chromium::{self, CHROMEDRIVER, CHROMIUM};
use registry::harness::{EtcdServer, WAIT, eventually, free_port, records, skip};
use registry::{
    AppRecord, Registry, SourceState, SourceStatus, Stamp, SubscriberStatus, Write, WriteOp,
};
use serde_json::json;

const XSS: &str = r#"<script>window.xss=1</script><img src=x onerror="window.xss=2">"#;

/// Where screenshots go.
fn shots() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("status-page");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// chromedriver in its own process group, with the Chromium it starts: the whole group is
/// killed on drop, even when a test panics.
struct Driver {
    child: Child,
    port: u16,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Some(pid) = rustix::process::Pid::from_raw(self.child.id() as i32) {
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
        let _ = self.child.wait();
    }
}

/// A headless Chromium session, or `None` (reported as skipped) where none can run.
async fn browser(test: &str) -> Option<(Driver, Client)> {
    for (path, package) in [(CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")] {
        if !Path::new(path).exists() {
            skip(test, &format!("{path} missing (Debian package {package})"));
            return None;
        }
    }
    let port = free_port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap();
    let profile = tempfile::tempdir().unwrap();
    let driver = Driver {
        child,
        port,
        _profile: profile,
    };
    let mut args = chromium::headless_flags(driver._profile.path());
    args.push("--window-size=1280,900".into());
    let capabilities = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {"binary": CHROMIUM, "args": args},
    });
    let serde_json::Value::Object(capabilities) = capabilities else {
        unreachable!()
    };
    let url = format!("http://127.0.0.1:{}", driver.port);
    let client = eventually("chromedriver starts a session", WAIT, async || {
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities.clone())
            .connect(&url)
            .await
    })
    .await;
    Some((driver, client))
}

/// Runs `checks`; when they panic, saves a screenshot named after `test` first.
async fn with_screenshot<F: std::future::Future<Output = ()>>(
    test: &str,
    client: &Client,
    checks: F,
) {
    if let Err(panic) = AssertUnwindSafe(checks).catch_unwind().await {
        if let Ok(png) = client.screenshot().await {
            let path = shots().join(format!("{test}.png"));
            let _ = std::fs::write(&path, png);
            eprintln!("screenshot: {}", path.display());
        }
        std::panic::resume_unwind(panic);
    }
}

async fn text(client: &Client, css: &str) -> String {
    match client.find(Locator::Css(css)).await {
        Ok(element) => element.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    }
}

async fn rows(client: &Client, css: &str) -> Vec<String> {
    let mut out = Vec::new();
    for row in client.find_all(Locator::Css(css)).await.unwrap_or_default() {
        out.push(row.text().await.unwrap_or_default());
    }
    out
}

fn app_with_label(id: &str) -> AppRecord {
    let mut app = records::app(id).build();
    app.labels.insert("note".into(), XSS.into());
    app
}

/// An etcd with `/prod/web` (two tasks, the XSS label) and `/prod/db` (one task), and
/// herald-dns serving it.
pub async fn cluster() -> (EtcdServer, Registry, Herald) {
    let etcd = EtcdServer::start().await.unwrap();
    let registry = etcd.registry().await.unwrap();
    put(
        &registry,
        vec![
            task("/prod/web", "prod_web.1", "127.0.0.21", &[("http", 31001)]),
            task("/prod/web", "prod_web.2", "127.0.0.22", &[("http", 31002)]),
            task("/prod/db", "prod_db.1", "127.0.0.31", &[("pg", 31010)]),
        ],
    )
    .await;
    let app = WriteOp::newer(Write::PutApp(app_with_label("/prod/web")));
    registry.apply(vec![app]).await.unwrap();
    let subscriber = SubscriberStatus {
        leader_id: Some("subscriber-a:8080".into()),
        sources: vec![SourceStatus {
            source: "marathon".into(),
            state: SourceState::Connected,
            detail: None,
        }],
        last_event_at: Some(Stamp::now()),
        queue_depth: 0,
        updated_at: Stamp::now(),
    };
    registry.put_subscriber_status(&subscriber).await.unwrap();
    let herald = Herald::start(&etcd, &[]).await;
    (etcd, registry, herald)
}

fn base(herald: &Herald) -> String {
    let http: SocketAddr = herald.http;
    format!("http://{http}")
}

#[tokio::test]
async fn server_rendered_tables_escape_every_value_and_carry_a_strict_csp() {
    let (_etcd, _registry, herald) = cluster().await;
    let page = eventually("the overview lists both apps", WAIT, async || {
        let page = herald.get("/");
        (page.contains("/prod/web") && page.contains("/prod/db")).then_some(page)
    })
    .await;
    assert!(
        page.contains("<table class=\"list\" id=\"apps\">"),
        "{page}"
    );
    assert!(!page.contains("<script>window"), "{page}");
    let app = herald.get("/ui/apps/prod/web");
    assert!(
        app.contains("&lt;script&gt;window.xss=1&lt;/script&gt;"),
        "{app}"
    );
    assert!(!app.contains(XSS), "{app}");
    // No inline script: the only script is the embedded asset.
    assert_eq!(app.matches("<script").count(), 1, "{app}");
    let out = Command::new("curl")
        .args([
            "-s",
            "-D",
            "-",
            "-o",
            "/dev/null",
            &format!("{}/", base(&herald)),
        ])
        .output()
        .unwrap();
    let headers = String::from_utf8_lossy(&out.stdout).to_lowercase();
    assert!(
        headers.contains("content-security-policy: default-src 'none'; script-src 'self'"),
        "{headers}"
    );
    assert!(
        headers.contains("x-content-type-options: nosniff"),
        "{headers}"
    );
    let (code, _) = herald.get_status("/ui/apps/not%20an%20id");
    assert_eq!(code, 404);
    let post = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST"])
        .arg(format!("{}/", base(&herald)))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&post.stdout), "405", "read-only");
}

#[tokio::test]
async fn in_a_browser_apps_update_live_search_narrows_and_labels_stay_text() {
    let test = "in_a_browser_apps_update_live_search_narrows_and_labels_stay_text";
    let Some((_driver, client)) = browser(test).await else {
        return;
    };
    let (_etcd, registry, herald) = cluster().await;
    let checks = async {
        client.goto(&format!("{}/", base(&herald))).await.unwrap();
        eventually("both apps are listed", WAIT, async || {
            let rows = rows(&client, "#apps tbody tr").await;
            rows.len() == 2 && rows.iter().any(|r| r.contains("/prod/web"))
        })
        .await;
        let subscriber = text(&client, "[data-field=subscriber]").await;
        assert!(
            subscriber.starts_with("leader subscriber-a:8080 · marathon connected"),
            "{subscriber}"
        );
        let shot = client.screenshot().await.unwrap();
        std::fs::write(shots().join("overview.png"), shot).unwrap();

        // A scale: one more task of /prod/db appears without a reload.
        client
            .execute("window.notReloaded = true;", vec![])
            .await
            .unwrap();
        let scaled = task("/prod/db", "prod_db.2", "127.0.0.32", &[("pg", 31011)]);
        put(&registry, vec![scaled]).await;
        eventually("the new task shows without a reload", WAIT, async || {
            let rows = rows(&client, "#apps tbody tr").await;
            rows.iter()
                .any(|r| r.contains("/prod/db") && r.contains("2 running"))
        })
        .await;
        let kept = client
            .execute("return window.notReloaded === true;", vec![])
            .await;
        assert_eq!(kept.unwrap(), json!(true), "the page was reloaded");

        // Search narrows as one types; the URL becomes a deep link.
        let search = client.find(Locator::Id("q")).await.unwrap();
        search.send_keys("db").await.unwrap();
        eventually("search narrows to /prod/db", WAIT, async || {
            let rows = rows(&client, "#apps tbody tr").await;
            rows.len() == 1 && rows[0].contains("/prod/db")
        })
        .await;
        let url = client.current_url().await.unwrap();
        assert_eq!(url.query(), Some("view=apps&q=db"), "{url}");

        // The label with markup is shown as text, and nothing of it ran.
        client
            .goto(&format!("{}/ui/apps/prod/web", base(&herald)))
            .await
            .unwrap();
        let label = text(&client, "#labels tbody td").await;
        assert_eq!(label, XSS);
        let ran = client
            .execute("return window.xss === undefined;", vec![])
            .await;
        assert_eq!(ran.unwrap(), json!(true), "the label's markup ran");
    };
    with_screenshot(test, &client, checks).await;
    let _ = client.close().await;
}

#[tokio::test]
async fn in_a_browser_a_names_answer_matches_dig_and_the_etcd_banner_shows() {
    let test = "in_a_browser_a_names_answer_matches_dig_and_the_etcd_banner_shows";
    let Some((_driver, client)) = browser(test).await else {
        return;
    };
    let (mut etcd, _registry, herald) = cluster().await;
    let checks = async {
        for (name, qtype) in [
            ("web-prod.marathon.mesos", "A"),
            ("_web-prod._tcp.marathon.mesos", "SRV"),
        ] {
            let url = format!("{}/ui/name?name={name}&type={qtype}", base(&herald));
            client.goto(&url).await.unwrap();
            let page = text(&client, "#dig").await;
            let section = page.split(";; ANSWER SECTION:").nth(1).unwrap_or("");
            let section = section.split("\n\n").next().unwrap_or("");
            let dig = herald.answers(&[name, qtype]);
            assert!(!dig.is_empty(), "{name} {qtype}: dig has no answer");
            assert_eq!(answers(section), dig, "{name} {qtype}: {page}");
        }
        // The app page links its names to the same answers.
        client
            .goto(&format!("{}/ui/apps/prod/web", base(&herald)))
            .await
            .unwrap();
        let names = rows(&client, "#names tbody th").await;
        assert!(
            names.iter().any(|n| n == "web-prod.marathon.mesos."),
            "{names:?}"
        );

        client.goto(&format!("{}/", base(&herald))).await.unwrap();
        let banner = client.find(Locator::Id("banner")).await.unwrap();
        assert!(
            !banner.is_displayed().await.unwrap(),
            "banner shown while etcd is up"
        );
        etcd.kill();
        eventually("the etcd banner shows", WAIT, async || {
            let banner = client.find(Locator::Id("banner")).await.ok()?;
            let shown = banner.is_displayed().await.ok()?;
            let text = banner.text().await.ok()?;
            (shown && text.contains("etcd is unreachable")).then_some(())
        })
        .await;
        assert_eq!(text(&client, "[data-field=etcd]").await, "unreachable");
    };
    with_screenshot(test, &client, checks).await;
    let _ = client.close().await;
}
