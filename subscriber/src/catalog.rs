//! App definitions, cached per app id and version: where port names, container ports and
//! service ports come from (a status event only carries host ports).
//!
//! The current definition of an app describes every task launched since its last
//! configuration change ([`AppDefinition::describes`]); older tasks (mid-deployment) get
//! their own version's definition from `GET /v2/apps/{id}/versions/{version}`. A task of
//! a version newer than the cached definition makes the cache refetch, so a missed
//! `api_post_event` heals itself.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use registry::AppId;
use tokio::sync::Mutex;

use crate::marathon::MarathonClient;
use crate::records::{self, AppDefinition};

/// Definitions of older versions kept at most.
const MAX_VERSIONS: usize = 10_000;
/// How long "Marathon has no such app" is believed (pods, deleted apps).
const MISSING_TTL: Duration = Duration::from_secs(5);
/// Concurrent fetches of a prefetch.
const PREFETCH_CONCURRENCY: usize = 16;
/// After Marathon failed to answer, cache misses fail fast for this long, so a hanging
/// Marathon does not stall event ingestion (records are written without port names and a
/// resync completes them).
const DOWN_FOR: Duration = Duration::from_secs(5);

/// The answer of a lookup.
#[derive(Clone, Debug)]
pub enum Lookup {
    /// The definition that describes the task's version.
    Found(Arc<AppDefinition>),
    /// Marathon does not know the app (a pod, or an app deleted meanwhile).
    NotAnApp,
    /// Marathon's definition cannot be used (invalid port numbers, ...): build records
    /// without one.
    Unusable(String),
    /// Marathon cannot be asked right now.
    Unavailable(String),
}

#[derive(Default)]
struct State {
    current: HashMap<AppId, Arc<AppDefinition>>,
    versions: HashMap<(AppId, String), Arc<AppDefinition>>,
    missing: HashMap<AppId, Instant>,
    down_until: Option<Instant>,
}

/// The cache. Cheap to clone.
#[derive(Clone)]
pub struct Catalog {
    client: MarathonClient,
    state: Arc<Mutex<State>>,
}

impl Catalog {
    /// An empty cache in front of `client`.
    pub fn new(client: MarathonClient) -> Self {
        Catalog {
            client,
            state: Arc::new(Mutex::new(State::default())),
        }
    }

    /// Records a definition seen elsewhere (an `api_post_event`, a reconcile listing) as
    /// the app's current one, unless a newer one is known.
    pub async fn observe(&self, def: Arc<AppDefinition>) {
        let mut state = self.state.lock().await;
        state.missing.remove(def.app_id());
        let keep_old = state
            .current
            .get(def.app_id())
            .is_some_and(|old| old.version > def.version && def.version.is_some());
        if !keep_old {
            state.current.insert(def.app_id().clone(), def);
        }
    }

    /// Forgets an app (terminated).
    pub async fn forget(&self, app: &AppId) {
        let mut state = self.state.lock().await;
        state.current.remove(app);
        state.versions.retain(|(id, _), _| id != app);
    }

    /// The cached current definition of an app, without asking Marathon.
    pub async fn cached_current(&self, app: &AppId) -> Option<Arc<AppDefinition>> {
        self.state.lock().await.current.get(app).cloned()
    }

    fn cached(state: &State, app: &AppId, version: Option<&str>) -> Option<Lookup> {
        if let Some(v) = version
            && let Some(def) = state.versions.get(&(app.clone(), v.to_string()))
        {
            return Some(Lookup::Found(def.clone()));
        }
        if let Some(def) = state.current.get(app)
            && def.describes(version)
        {
            return Some(Lookup::Found(def.clone()));
        }
        match state.missing.get(app) {
            Some(until) if *until > Instant::now() => Some(Lookup::NotAnApp),
            _ => None,
        }
    }

    /// The definition that describes tasks of `app` launched with `version`.
    pub async fn lookup(&self, app: &AppId, version: Option<&str>) -> Lookup {
        {
            let state = self.state.lock().await;
            if let Some(hit) = Self::cached(&state, app, version) {
                return hit;
            }
            if state.down_until.is_some_and(|t| t > Instant::now()) {
                return Lookup::Unavailable("Marathon did not answer moments ago".into());
            }
        }
        let current = match self.client.app(app).await {
            Err(e) => {
                self.state.lock().await.down_until = Some(Instant::now() + DOWN_FOR);
                return Lookup::Unavailable(e.to_string());
            }
            Ok(None) => {
                let mut state = self.state.lock().await;
                state
                    .missing
                    .insert(app.clone(), Instant::now() + MISSING_TTL);
                state.current.remove(app);
                return Lookup::NotAnApp;
            }
            Ok(Some(raw)) => {
                self.state.lock().await.down_until = None;
                match records::app_definition(&raw) {
                    Err(e) => return Lookup::Unusable(e.to_string()),
                    Ok(def) => Arc::new(def),
                }
            }
        };
        self.observe(current.clone()).await;
        if current.describes(version) {
            return Lookup::Found(current);
        }
        let Some(version) = version else {
            return Lookup::Found(current);
        };
        match self.client.app_version(app, version).await {
            Ok(Some(raw)) => match records::app_definition(&raw) {
                Ok(def) => {
                    let def = Arc::new(def);
                    let mut state = self.state.lock().await;
                    if state.versions.len() >= MAX_VERSIONS {
                        state.versions.clear();
                    }
                    state
                        .versions
                        .insert((app.clone(), version.to_string()), def.clone());
                    Lookup::Found(def)
                }
                Err(e) => Lookup::Unusable(e.to_string()),
            },
            Ok(None) => {
                // Marathon pruned that version: the current layout is the best guess, and
                // will stay it.
                let mut state = self.state.lock().await;
                state
                    .versions
                    .insert((app.clone(), version.to_string()), current.clone());
                Lookup::Found(current)
            }
            Err(e) => {
                tracing::debug!(app = %app, version, error = %e, "cannot fetch an older app version; using the current one");
                Lookup::Found(current)
            }
        }
    }

    /// Looks up many (app, version) pairs concurrently, to warm the cache before a batch.
    pub async fn prefetch(&self, mut wanted: Vec<(AppId, Option<String>)>) {
        wanted.sort();
        wanted.dedup();
        let misses: Vec<_> = {
            let state = self.state.lock().await;
            wanted
                .into_iter()
                .filter(|(app, v)| Self::cached(&state, app, v.as_deref()).is_none())
                .collect()
        };
        // One request per app: versions of one app are looked up in turn.
        let mut by_app: HashMap<AppId, Vec<Option<String>>> = HashMap::new();
        for (app, v) in misses {
            by_app.entry(app).or_default().push(v);
        }
        futures::stream::iter(by_app)
            .for_each_concurrent(PREFETCH_CONCURRENCY, |(app, versions)| async move {
                for v in versions {
                    self.lookup(&app, v.as_deref()).await;
                }
            })
            .await;
    }
}
