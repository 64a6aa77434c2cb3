//! The masters in ZooKeeper, as real masters contend (spec §14): each master has its own
//! session and an EPHEMERAL + SEQUENTIAL node `<path>/json.info_<10 digits>` holding its
//! `MasterInfo` JSON; the leader is the lowest sequence. A leadership change re-registers the
//! masters ahead of the new leader: their nodes are deleted in one multi-op (so the new
//! leader is lowest at once), their sessions closed, and new sessions create new, higher
//! nodes — what restarted masters do.

use zookeeper_client::{Acls, Client, CreateMode};

use crate::masters::Master;
use crate::{SimError, ZkConfig};

/// One master's registration.
#[derive(Default)]
struct Member {
    client: Option<Client>,
    /// Full path of its node.
    node: Option<String>,
    seq: i64,
}

/// All masters' ZooKeeper sessions.
pub(crate) struct ZkMasters {
    cfg: ZkConfig,
    members: Vec<Member>,
}

fn zk_err(what: &str, e: impl std::fmt::Display) -> SimError {
    SimError::ZooKeeper(format!("{what}: {e}"))
}

impl ZkMasters {
    /// Registers `masters` under `cfg.path`: `leader` first (lowest sequence), then the rest
    /// in order. With no leader nobody registers.
    pub(crate) async fn start(
        cfg: ZkConfig,
        masters: &[Master],
        leader: Option<usize>,
    ) -> Result<ZkMasters, SimError> {
        let mut zk = ZkMasters {
            cfg,
            members: masters.iter().map(|_| Member::default()).collect(),
        };
        if let Some(l) = leader {
            zk.register(l, masters).await?;
            for i in (0..masters.len()).filter(|i| *i != l) {
                zk.register(i, masters).await?;
            }
        }
        Ok(zk)
    }

    /// A new session for master `i`, and its node.
    async fn register(&mut self, i: usize, masters: &[Master]) -> Result<(), SimError> {
        let master = masters
            .get(i)
            .ok_or_else(|| SimError::NotFound(format!("no master {i}")))?;
        let client = Client::connector()
            .with_session_timeout(self.cfg.session_timeout)
            .connect(&self.cfg.servers)
            .await
            .map_err(|e| zk_err(&format!("connect to {}", self.cfg.servers), e))?;
        client
            .mkdir(
                &self.cfg.path,
                &CreateMode::Persistent.with_acls(Acls::anyone_all()),
            )
            .await
            .map_err(|e| zk_err(&format!("create {}", self.cfg.path), e))?;
        let prefix = format!("{}/json.info_", self.cfg.path);
        let (_, seq) = client
            .create(
                &prefix,
                master.zk_json().as_bytes(),
                &CreateMode::EphemeralSequential.with_acls(Acls::anyone_all()),
            )
            .await
            .map_err(|e| zk_err(&format!("create {prefix}"), e))?;
        tracing::info!(master = i, node = %format!("{prefix}{seq}"), "master registered in ZooKeeper");
        self.members[i] = Member {
            client: Some(client),
            node: Some(format!("{prefix}{seq}")),
            seq: seq.into_i64(),
        };
        Ok(())
    }

    /// Makes `leader` the lowest node (or removes every node for no leader).
    pub(crate) async fn make_leader(
        &mut self,
        leader: Option<usize>,
        masters: &[Master],
    ) -> Result<(), SimError> {
        let target = leader.and_then(|l| self.members.get(l).map(|m| (l, m.node.is_some(), m.seq)));
        if leader.is_some() && target.is_none() {
            return Err(SimError::NotFound(format!("no master {leader:?}")));
        }
        let ahead: Vec<usize> = (0..self.members.len())
            .filter(|i| {
                let m = &self.members[*i];
                m.node.is_some()
                    && match target {
                        Some((l, true, seq)) => *i != l && m.seq < seq,
                        Some((l, false, _)) => *i != l,
                        None => true,
                    }
            })
            .collect();
        self.delete_atomically(&ahead).await?;
        for i in &ahead {
            // Closing the session is what a master that lost leadership does.
            self.members[*i] = Member::default();
        }
        if let Some(l) = leader {
            if self.members[l].node.is_none() {
                self.register(l, masters).await?;
            }
            // The others (those just deleted, and any that were not registered) join after.
            for i in 0..self.members.len() {
                if self.members[i].node.is_none() {
                    self.register(i, masters).await?;
                }
            }
        }
        Ok(())
    }

    /// Deletes the nodes of `members` in one multi-op.
    async fn delete_atomically(&self, members: &[usize]) -> Result<(), SimError> {
        let Some(client) = self.members.iter().find_map(|m| m.client.as_ref()) else {
            return Ok(());
        };
        let mut writer = client.new_multi_writer();
        for i in members {
            if let Some(node) = &self.members[*i].node {
                writer
                    .add_delete(node, None)
                    .map_err(|e| zk_err(&format!("delete {node}"), e))?;
            }
        }
        writer
            .commit()
            .await
            .map_err(|e| zk_err("delete the nodes ahead of the new leader", e))?;
        Ok(())
    }

    /// The masters' node names under the path, sorted (`json.info_0000000003`, ...).
    pub(crate) fn nodes(&self) -> Vec<String> {
        let mut v: Vec<(i64, String)> = self
            .members
            .iter()
            .filter_map(|m| {
                m.node
                    .as_ref()
                    .map(|n| (m.seq, n.rsplit('/').next().unwrap_or(n).to_string()))
            })
            .collect();
        v.sort();
        v.into_iter().map(|(_, n)| n).collect()
    }

    /// Closes every session (their nodes vanish).
    pub(crate) fn close(&mut self) {
        for m in &mut self.members {
            *m = Member::default();
        }
    }
}
