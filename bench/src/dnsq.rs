//! A small in-process DNS client over a tokio UDP socket: hand-built queries, answers
//! decoded with hickory-proto. Used to render zones from Herald's own answers, to compare
//! servers and to poll for a changed answer.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use hickory_proto::op::Message;
use hickory_proto::rr::{RData, RecordType};
use tokio::net::UdpSocket;

/// A connected UDP client for one server.
pub struct Client {
    socket: UdpSocket,
    next_id: u16,
    buf: Vec<u8>,
}

/// The parts of an answer that matter for comparing servers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// The response code (`NoError`, `NXDomain`, ...).
    pub rcode: String,
    /// The answer section, one zone-file line per record, sorted.
    pub answers: Vec<String>,
    /// The authority section, likewise.
    pub authorities: Vec<String>,
}

impl Answer {
    /// Same rcode and answer section, and for a negative answer the same authority (SOA);
    /// servers differ in optional NS/additional records, which are not compared.
    pub fn same_as(&self, other: &Answer) -> bool {
        self.rcode == other.rcode
            && self.answers == other.answers
            && (!self.answers.is_empty() || self.authorities == other.authorities)
    }

    /// The SRV targets and A/AAAA addresses named in the answer section.
    pub fn srv_targets(msg: &Message) -> Vec<String> {
        msg.answers
            .iter()
            .filter_map(|r| match &r.data {
                RData::SRV(srv) => Some(srv.target.to_string()),
                _ => None,
            })
            .collect()
    }
}

impl Client {
    /// A client bound to an ephemeral loopback port, talking to `server`.
    pub async fn connect(server: SocketAddr) -> Result<Client> {
        let socket = UdpSocket::bind("127.0.0.1:0").await?;
        socket.connect(server).await?;
        Ok(Client {
            socket,
            next_id: 1,
            buf: vec![0; 65535],
        })
    }

    /// Sends one query and waits up to `timeout` for its response (others are skipped).
    pub async fn query(
        &mut self,
        name: &str,
        qtype: RecordType,
        timeout: Duration,
    ) -> Result<Message> {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        let wire = build_query(id, name, u16::from(qtype))?;
        self.socket.send(&wire).await?;
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let n = tokio::time::timeout_at(deadline, self.socket.recv(&mut self.buf))
                .await
                .with_context(|| format!("no answer to {name} {qtype} within {timeout:?}"))??;
            if n >= 2 && u16::from_be_bytes([self.buf[0], self.buf[1]]) == id {
                return Message::from_vec(&self.buf[..n]).context("undecodable DNS answer");
            }
        }
    }

    /// Queries and reduces the response to an [`Answer`].
    pub async fn answer(
        &mut self,
        name: &str,
        qtype: RecordType,
        timeout: Duration,
    ) -> Result<Answer> {
        let msg = self.query(name, qtype, timeout).await?;
        Ok(answer_of(&msg))
    }
}

/// Reduces a response to its rcode and sorted sections (TTLs included).
pub fn answer_of(msg: &Message) -> Answer {
    let lines = |records: &[hickory_proto::rr::Record]| {
        let mut v: Vec<String> = records
            .iter()
            .map(|r| r.to_string().to_ascii_lowercase())
            .collect();
        v.sort();
        v
    };
    Answer {
        rcode: format!("{:?}", msg.metadata.response_code),
        answers: lines(&msg.answers),
        authorities: lines(&msg.authorities),
    }
}

/// A standard query (RD clear, no EDNS) for `name` and `qtype`, in wire format.
pub fn build_query(id: u16, name: &str, qtype: u16) -> Result<Vec<u8>> {
    let mut wire = Vec::with_capacity(64);
    wire.extend_from_slice(&id.to_be_bytes());
    wire.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name
        .trim_end_matches('.')
        .split('.')
        .filter(|l| !l.is_empty())
    {
        if label.len() > 63 {
            bail!("label too long in {name}");
        }
        wire.push(label.len() as u8);
        wire.extend_from_slice(label.as_bytes());
    }
    wire.push(0);
    wire.extend_from_slice(&qtype.to_be_bytes());
    wire.extend_from_slice(&1u16.to_be_bytes());
    Ok(wire)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_a_query_hickory_can_read() {
        let wire = build_query(0x1234, "app1.marathon.mesos.", 33).unwrap();
        let msg = Message::from_vec(&wire).unwrap();
        assert_eq!(msg.metadata.id, 0x1234);
        assert_eq!(msg.queries.len(), 1);
        assert_eq!(msg.queries[0].name().to_string(), "app1.marathon.mesos.");
        assert_eq!(msg.queries[0].query_type(), RecordType::SRV);
    }
}
