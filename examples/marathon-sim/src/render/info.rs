//! `/v2/info`: who this "Marathon" is and how it is configured (made-up, plausible values).

use serde_json::{Value, json};

use crate::{MarathonVersion, SimConfig};

/// The `/v2/info` body of a simulator on `port`. `callback_urls` are the registered callback
/// URLs, shown as 1.4's `event_subscriber` when callbacks are on.
pub(crate) fn info_json(
    cfg: &SimConfig,
    port: u16,
    framework_id: &str,
    callback_urls: Vec<String>,
) -> Value {
    let leader = format!("127.0.0.1:{port}");
    let mut v = json!({
        "name": "marathon",
        "version": cfg.version.full_version(),
        "buildref": "marathon-sim (a simulator, not Marathon)",
        "elected": true,
        "leader": leader,
        "frameworkId": framework_id,
        "marathon_config": {
            "checkpoint": true,
            "executor": "//cmd",
            "failover_timeout": 604800,
            "features": [],
            "framework_name": "marathon",
            "ha": true,
            "hostname": "127.0.0.1",
            "local_port_max": 20000,
            "local_port_min": 10000,
            "master": "zk://localhost:2181/mesos",
            "mesos_role": null,
            "mesos_user": "root",
            "reconciliation_initial_delay": 15000,
            "reconciliation_interval": 600000,
            "task_launch_timeout": 300000,
            "webui_url": null
        },
        "zookeeper_config": {
            "zk": "zk://localhost:2181/marathon",
            "zk_timeout": 10000,
            "zk_session_timeout": 10000,
            "zk_max_versions": 50
        },
        "http_config": { "http_port": port, "https_port": 8443 }
    });
    if cfg.version == MarathonVersion::V1_4 && cfg.callbacks {
        v["event_subscriber"] = json!({ "type": "http_callback", "http_endpoints": callback_urls });
    }
    v
}
