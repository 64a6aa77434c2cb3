//! A minimal HTTP/1.1 client (one request per connection) for the services' `/metrics`
//! and `/cleanup` routes; the bench needs nothing more.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends `method path` with an empty body; returns the status and the body.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    timeout: Duration,
) -> Result<(u16, String)> {
    tokio::time::timeout(timeout, async {
        let mut stream = TcpStream::connect(addr).await?;
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(req.as_bytes()).await?;
        let mut buf = Vec::new();
        stream.read_to_end(&mut buf).await?;
        parse_response(&buf)
    })
    .await
    .with_context(|| format!("{method} http://{addr}{path}: no answer within {timeout:?}"))?
}

fn parse_response(buf: &[u8]) -> Result<(u16, String)> {
    let text = String::from_utf8_lossy(buf);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .context("malformed HTTP response")?;
    let status = head
        .split_whitespace()
        .nth(1)
        .context("no status")?
        .parse()?;
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_string()
    };
    Ok((status, body))
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// The sum of every sample of a Prometheus metric (all label sets) in `/metrics` text.
pub fn metric_sum(text: &str, name: &str) -> f64 {
    metric_sum_where(text, name, "")
}

/// The sum of a metric's samples whose label set contains `label` (`outcome="failed"`).
pub fn metric_sum_where(text: &str, name: &str, label: &str) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (key, value) = l.rsplit_once(' ')?;
            let bare = key.split('{').next()?;
            (bare == name && key.contains(label)).then(|| value.parse::<f64>().ok())?
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_metric_samples() {
        let text = "# TYPE x counter\nx{type=\"a\",outcome=\"written\"} 3\nx{type=\"b\",outcome=\"failed\"} 2\nxy 9\nx 1\n";
        assert_eq!(metric_sum(text, "x"), 6.0);
        assert_eq!(metric_sum_where(text, "x", "outcome=\"failed\""), 2.0);
    }

    #[test]
    fn parses_chunked_responses() {
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        assert_eq!(parse_response(raw).unwrap(), (200, "abcde".to_string()));
        let raw = b"HTTP/1.1 409 Conflict\r\nContent-Length: 2\r\n\r\n{}";
        assert_eq!(parse_response(raw).unwrap(), (409, "{}".to_string()));
    }
}
