//! The Mesos-DNS compatible HTTP API (`/v1/...`), plus `/healthz` and `/metrics`.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, response::IntoResponse};
use hickory_proto::rr::{LowerName, Name};
use serde_json::{Value as Json_, json};

use crate::answer::ZoneConfig;
use crate::config::Config;
use crate::feed::FeedStatus;
use crate::handler::SharedZone;
use crate::served::Naming;
use crate::snapshot::ZoneSnapshot;

/// What the HTTP handlers read.
#[derive(Clone)]
pub struct ApiState {
    /// The published zone.
    pub zone: SharedZone,
    /// Naming settings.
    pub naming: Arc<Naming>,
    /// SOA / TTL settings.
    pub zone_config: Arc<ZoneConfig>,
    /// The flags (for `/v1/config`; secrets are never shown).
    pub config: Arc<Config>,
    /// Effective upstream resolvers.
    pub upstreams: Vec<SocketAddr>,
    /// Feed freshness (for `/healthz`).
    pub status: Arc<FeedStatus>,
}

/// The API router, including `/healthz` and `/metrics` (the status page's routes are
/// merged by [`crate::server`] when it is on).
pub fn router(state: ApiState) -> Router {
    let status = state.status.clone();
    Router::new()
        .route("/v1/version", get(version))
        .route("/v1/config", get(config))
        .route("/v1/hosts/{host}", get(hosts))
        .route("/v1/services/{service}", get(services))
        .route("/v1/enumerate", get(enumerate))
        .route("/v1/axfr", get(axfr))
        .with_state(state)
        .merge(service::ops_routes(move || {
            let status = status.clone();
            async move { status.health() }
        }))
}

async fn version() -> impl IntoResponse {
    Json(json!({
        "Service": "herald-dns",
        "Version": env!("CARGO_PKG_VERSION"),
        "URL": "https://example.invalid/herald",
    }))
}

async fn config(State(s): State<ApiState>) -> impl IntoResponse {
    let c = &s.config;
    let z = &s.zone_config;
    let resolvers: Vec<String> = s.upstreams.iter().map(|u| u.to_string()).collect();
    let acl: Vec<String> = c.allow_recursion.iter().map(|n| n.to_string()).collect();
    Json(json!({
        "Domain": s.naming.domain.to_string().trim_end_matches('.'),
        "Framework": s.naming.framework,
        "TTL": z.ttl,
        "SOAMinttl": z.negative_ttl,
        "SOAMname": z.mname.to_string(),
        "SOARname": z.rname.to_string(),
        "Listener": c.dns_listen.ip().to_string(),
        "Port": c.dns_listen.port(),
        "HTTPListener": c.http_listen.ip().to_string(),
        "HttpPort": c.http_listen.port(),
        "Resolvers": resolvers,
        "ExternalOn": !resolvers.is_empty(),
        "AllowRecursion": acl,
        "IPSources": s.naming.ip_sources,
        "LegacyNames": s.naming.legacy_names,
        "HealthAware": s.naming.health_aware,
        "DnsOn": true,
        "HttpOn": true,
        "EnumerationOn": true,
        "EtcdEndpoints": c.etcd.endpoints,
        "EtcdPrefix": c.etcd.prefix,
    }))
}

fn lookup_name(text: &str) -> Option<LowerName> {
    let mut text = text.to_ascii_lowercase();
    if !text.ends_with('.') {
        text.push('.');
    }
    Name::from_ascii(&text).ok().map(|n| LowerName::new(&n))
}

fn snapshot(s: &ApiState) -> Arc<ZoneSnapshot> {
    s.zone.load_full().unwrap_or_default()
}

fn addresses(zone: &ZoneSnapshot, name: &LowerName) -> Vec<IpAddr> {
    zone.lookup(name)
        .map(|r| {
            let v4 = r.a.iter().map(|ip| IpAddr::V4(*ip));
            v4.chain(r.aaaa.iter().map(|ip| IpAddr::V6(*ip))).collect()
        })
        .unwrap_or_default()
}

async fn hosts(State(s): State<ApiState>, Path(host): Path<String>) -> impl IntoResponse {
    let zone = snapshot(&s);
    let out: Vec<Json_> = match lookup_name(&host) {
        Some(name) => addresses(&zone, &name)
            .into_iter()
            .map(|ip| json!({"host": name.to_string(), "ip": ip.to_string()}))
            .collect(),
        None => Vec::new(),
    };
    if out.is_empty() {
        return Json(vec![json!({"host": "", "ip": ""})]);
    }
    Json(out)
}

async fn services(State(s): State<ApiState>, Path(service): Path<String>) -> impl IntoResponse {
    let zone = snapshot(&s);
    let mut out = Vec::new();
    if let Some(name) = lookup_name(&service)
        && let Some(records) = zone.lookup(&name)
    {
        for srv in &records.srv {
            let Some(target) = srv.target_name(&s.naming) else {
                continue;
            };
            // The first address of each family, as Mesos-DNS lists them.
            let addresses = srv.addresses();
            let v4 = addresses.iter().find(|ip| ip.is_ipv4());
            let v6 = addresses.iter().find(|ip| ip.is_ipv6());
            for ip in v4.into_iter().chain(v6) {
                out.push(json!({
                    "service": name.to_string(),
                    "host": target.to_string(),
                    "ip": ip.to_string(),
                    "port": srv.port.to_string(),
                }));
            }
        }
    }
    if out.is_empty() {
        return Json(vec![
            json!({"service": "", "host": "", "ip": "", "port": ""}),
        ]);
    }
    Json(out)
}

async fn enumerate(State(s): State<ApiState>) -> impl IntoResponse {
    Json(crate::axfr::enumerate(&snapshot(&s), &s.naming))
}

async fn axfr(State(s): State<ApiState>) -> impl IntoResponse {
    Json(crate::axfr::axfr(&snapshot(&s), &s.zone_config))
}
