//! etcd clients that fail over between members.
//!
//! etcd-client balances over all endpoints but keeps sending requests to a member that is
//! gone (etcdv3/etcd-client#39): with one member of three killed, some calls fail forever.
//! Like etcd's own Go client, Herald pins one member at a time and moves to the next one
//! when a call to the current member fails at the transport level.

use std::sync::{Arc, Mutex};

use etcd_client::{Client, ConnectOptions};
use tonic::Code;

use crate::error::{Error, Result};

/// A set of etcd endpoints with one pinned client. Cheap to clone.
#[derive(Clone)]
pub struct Endpoints {
    inner: Arc<Inner>,
}

struct Inner {
    endpoints: Vec<String>,
    options: Option<ConnectOptions>,
    /// The pinned member's index, the client, and how many times it was replaced.
    current: Mutex<Pinned>,
}

#[derive(Clone)]
struct Pinned {
    index: usize,
    client: Client,
    generation: u64,
}

/// A client with the generation it belongs to, to report its failure with.
#[derive(Clone)]
pub struct PinnedClient {
    /// The client.
    pub client: Client,
    generation: u64,
}

impl Endpoints {
    /// Connects to the first endpoint that accepts (connections are lazy unless password
    /// auth is on, so this normally succeeds at once).
    pub async fn connect(endpoints: Vec<String>, options: Option<ConnectOptions>) -> Result<Self> {
        if endpoints.is_empty() {
            return Err(Error::Config("no etcd endpoints".to_string()));
        }
        let mut last = None;
        for index in 0..endpoints.len() {
            match Client::connect([endpoints[index].as_str()], options.clone()).await {
                Ok(client) => {
                    let pinned = Pinned {
                        index,
                        client,
                        generation: 0,
                    };
                    let inner = Inner {
                        endpoints,
                        options,
                        current: Mutex::new(pinned),
                    };
                    return Ok(Endpoints {
                        inner: Arc::new(inner),
                    });
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.map_or_else(|| Error::Config("no etcd endpoints".into()), Error::Etcd))
    }

    /// Wraps one client (no failover).
    pub fn from_client(client: Client) -> Self {
        let pinned = Pinned {
            index: 0,
            client,
            generation: 0,
        };
        let inner = Inner {
            endpoints: Vec::new(),
            options: None,
            current: Mutex::new(pinned),
        };
        Endpoints {
            inner: Arc::new(inner),
        }
    }

    fn pinned(&self) -> Pinned {
        match self.inner.current.lock() {
            Ok(p) => p.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The pinned client.
    pub fn client(&self) -> Client {
        self.pinned().client
    }

    /// The pinned client with its generation, for [`Endpoints::failed`].
    pub fn pinned_client(&self) -> PinnedClient {
        let p = self.pinned();
        PinnedClient {
            client: p.client,
            generation: p.generation,
        }
    }

    /// How many endpoints there are.
    pub fn len(&self) -> usize {
        self.inner.endpoints.len().max(1)
    }

    /// True when there is no endpoint list (a wrapped client).
    pub fn is_empty(&self) -> bool {
        self.inner.endpoints.is_empty()
    }

    /// Reports that a call through `failed` failed: pins the next member, unless another
    /// caller already moved on since `failed` was handed out.
    pub async fn failed(&self, failed: &PinnedClient) {
        let n = self.inner.endpoints.len();
        if n < 2 {
            return;
        }
        let current = self.pinned();
        if current.generation != failed.generation {
            return;
        }
        for step in 1..=n {
            let index = (current.index + step) % n;
            let endpoint = &self.inner.endpoints[index];
            let Ok(client) = Client::connect([endpoint.as_str()], self.inner.options.clone()).await
            else {
                continue;
            };
            let mut slot = match self.inner.current.lock() {
                Ok(slot) => slot,
                Err(poisoned) => poisoned.into_inner(),
            };
            if slot.generation == failed.generation {
                tracing::warn!(from = %self.inner.endpoints[current.index], to = %endpoint, "etcd member failing; moving to the next");
                *slot = Pinned {
                    index,
                    client,
                    generation: failed.generation + 1,
                };
            }
            return;
        }
    }

    /// Runs `op` on the pinned client; on a transport failure pins the next member and tries
    /// again, once per member.
    pub async fn call<T, F, Fut>(&self, op: F) -> Result<T>
    where
        F: Fn(Client) -> Fut,
        Fut: Future<Output = Result<T, etcd_client::Error>>,
    {
        let mut attempt = 0;
        loop {
            let pinned = self.pinned_client();
            match op(pinned.client.clone()).await {
                Ok(value) => return Ok(value),
                Err(e) if is_transport_failure(&e) && attempt + 1 < self.len() => {
                    attempt += 1;
                    self.failed(&pinned).await;
                }
                Err(e) => {
                    if is_transport_failure(&e) {
                        // Still pin another member for the next call.
                        self.failed(&pinned).await;
                    }
                    return Err(e.into());
                }
            }
        }
    }
}

/// True for failures of the member or the connection (as opposed to an answer such as a
/// failed comparison or a permission error): another member may do better.
pub fn is_transport_failure(e: &etcd_client::Error) -> bool {
    match e {
        etcd_client::Error::TransportError(_) | etcd_client::Error::IoError(_) => true,
        etcd_client::Error::GRpcStatus(status) => matches!(
            status.code(),
            Code::Unavailable
                | Code::DeadlineExceeded
                | Code::Unknown
                | Code::Cancelled
                | Code::Aborted
        ),
        _ => false,
    }
}
