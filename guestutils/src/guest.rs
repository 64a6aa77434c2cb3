//! maestro's guest functions over the registry: the environment of one task plus a
//! connection to etcd.

use std::net::IpAddr;

use registry::{NetworkMode, Registry, TaskRecord};

use crate::env::{Env, resolve};
use crate::error::{Error, Result};
use crate::instance::{Instance, node_order};
use crate::service::{Membership, Service};

/// What a task can ask about itself and about other services.
#[derive(Clone)]
pub struct Guest {
    env: Env,
    registry: Registry,
    membership: Membership,
}

impl Guest {
    /// A guest with this environment, reading `registry`; node lists hold serving instances.
    pub fn new(env: Env, registry: Registry) -> Self {
        Guest {
            env,
            registry,
            membership: Membership::Serving,
        }
    }

    /// Keep only instances whose health checks pass (instead of every running instance not
    /// known to be unhealthy).
    pub fn only_healthy(mut self, only_healthy: bool) -> Self {
        self.membership = Membership::from_flag(only_healthy);
        self
    }

    /// The environment.
    pub fn env(&self) -> &Env {
        &self.env
    }

    /// See [`Env::get_environment_name`].
    pub fn get_environment_name(&self) -> String {
        self.env.get_environment_name()
    }

    /// See [`Env::get_service_name`].
    pub fn get_service_name(&self) -> Result<String> {
        self.env.get_service_name()
    }

    /// See [`Env::get_container_name`].
    pub fn get_container_name(&self) -> Result<String> {
        self.env.get_container_name()
    }

    /// See [`Env::get_container_host_address`].
    pub async fn get_container_host_address(&self, as_ip_address: bool) -> Result<String> {
        self.env.get_container_host_address(as_ip_address).await
    }

    /// The container's own IP: `MESOS_CONTAINER_IP`, else the first task IP of this task's
    /// record, else `HOSTNAME` resolved (the Docker convention).
    pub async fn get_container_internal_address(&self) -> Result<IpAddr> {
        if let Some(ip) = self.env.container_ip() {
            return Ok(ip);
        }
        if let Some(task) = self.own_task().await?
            && let Some(ip) = Instance::from_record(&task).task_ip
        {
            return Ok(ip);
        }
        match self.env.get(crate::env::HOSTNAME_VAR) {
            Some(name) => resolve(name).await.map_err(|_| Error::NoInternalAddress),
            None => Err(Error::NoInternalAddress),
        }
    }

    /// The port this container listens on for the named port: the container port of the
    /// app definition under bridge or container networking (or of this task's record when
    /// the app record is missing), else Marathon's `PORT_<NAME>`, else `default`.
    pub async fn get_port(&self, name: &str, default: Option<u16>) -> Result<u16> {
        if let Some(port) = self.container_port(name).await? {
            return Ok(port);
        }
        let (var, value) = self.env.named_port(name)?;
        value.or(default).ok_or(Error::NoPort {
            name: name.to_string(),
            var,
        })
    }

    async fn container_port(&self, name: &str) -> Result<Option<u16>> {
        let Ok(app_id) = self.env.app_id() else {
            return Ok(None);
        };
        if let Some(app) = self.registry.get_app(&app_id).await? {
            if app.record.networking == NetworkMode::Host {
                return Ok(None);
            }
            return Ok(app
                .record
                .ports
                .iter()
                .find(|p| p.name.as_deref() == Some(name))
                .and_then(|p| p.container_port)
                .filter(|p| *p > 0));
        }
        Ok(self
            .own_task()
            .await?
            .and_then(|t| t.port_named(name).and_then(|p| p.container_port))
            .filter(|p| *p > 0))
    }

    async fn own_task(&self) -> Result<Option<TaskRecord>> {
        let (Ok(app_id), Ok(task_id)) = (self.env.app_id(), self.env.get_container_name()) else {
            return Ok(None);
        };
        Ok(self
            .registry
            .get_task(&app_id, &task_id)
            .await?
            .map(|v| v.record))
    }

    /// The member instances of a service (an app or a group), with the resolved service.
    pub async fn instances(&self, service: &str) -> Result<(Service, Vec<Instance>)> {
        let service = Service::resolve(&self.env, service)?;
        let instances = service
            .tasks(&self.registry)
            .await?
            .iter()
            .filter(|t| self.membership.admits(t))
            .map(Instance::from_record)
            .collect();
        Ok((service, instances))
    }

    /// `address:port1:port2...` for every member instance of `service`, with the external
    /// address and ports of the named ports in the order given (just `address` when `ports`
    /// is empty). Sorted by app id, address, ports, then task id. Fails when an instance
    /// lacks one of the ports, or when fewer than `minimum` instances exist.
    pub async fn get_node_list(
        &self,
        service: &str,
        ports: &[String],
        minimum: usize,
    ) -> Result<Vec<String>> {
        let (service, instances) = self.instances(service).await?;
        let mut nodes = Vec::with_capacity(instances.len());
        for instance in &instances {
            let endpoints =
                instance
                    .external_endpoints(ports)
                    .map_err(|port| Error::NoSuchPort {
                        service: service.id.to_string(),
                        container: instance.task_id.clone(),
                        port: port.to_string(),
                        kind: "external",
                    })?;
            if endpoints.windows(2).any(|w| w[0].address != w[1].address) {
                return Err(Error::MixedAddresses {
                    service: service.id.to_string(),
                    container: instance.task_id.clone(),
                    ports: ports.to_vec(),
                });
            }
            nodes.push((instance, endpoints));
        }
        if nodes.len() < minimum {
            return Err(Error::NotEnoughNodes {
                service: service.id.to_string(),
                found: nodes.len(),
                minimum,
            });
        }
        nodes.sort_by(node_order);
        Ok(nodes
            .iter()
            .map(|(instance, endpoints)| {
                let address = endpoints
                    .first()
                    .map(|e| e.address.as_str())
                    .unwrap_or(&instance.address);
                let mut node = address.to_string();
                for endpoint in endpoints {
                    node.push(':');
                    node.push_str(&endpoint.port.to_string());
                }
                node
            })
            .collect())
    }

    /// One instance of a service by task id (any state: a specific container is looked up
    /// even when it is not a member).
    pub async fn get_specific_instance(&self, service: &str, container: &str) -> Result<Instance> {
        let service = Service::resolve(&self.env, service)?;
        service
            .tasks(&self.registry)
            .await?
            .iter()
            .find(|t| t.task_id == container)
            .map(Instance::from_record)
            .ok_or_else(|| Error::NoSuchContainer {
                service: service.id.to_string(),
                container: container.to_string(),
            })
    }

    /// The agent address of one instance.
    pub async fn get_specific_host(&self, service: &str, container: &str) -> Result<String> {
        Ok(self
            .get_specific_instance(service, container)
            .await?
            .address)
    }

    /// The external port of one instance's named port, else `default`.
    pub async fn get_specific_port(
        &self,
        service: &str,
        container: &str,
        port: &str,
        default: Option<u16>,
    ) -> Result<u16> {
        let instance = self.get_specific_instance(service, container).await?;
        let found = instance
            .port_named(port)
            .and_then(|p| p.external.as_ref())
            .map(|e| e.port);
        found
            .or(default)
            .ok_or_else(|| no_port(service, &instance, port, "external"))
    }

    /// The internal (exposed) port of one instance's named port, else `default`.
    pub async fn get_specific_exposed_port(
        &self,
        service: &str,
        container: &str,
        port: &str,
        default: Option<u16>,
    ) -> Result<u16> {
        let instance = self.get_specific_instance(service, container).await?;
        let found = instance.port_named(port).and_then(|p| p.internal);
        found
            .or(default)
            .ok_or_else(|| no_port(service, &instance, port, "internal"))
    }
}

fn no_port(service: &str, instance: &Instance, port: &str, kind: &'static str) -> Error {
    Error::NoSuchPort {
        service: service.to_string(),
        container: instance.task_id.clone(),
        port: port.to_string(),
        kind,
    }
}
