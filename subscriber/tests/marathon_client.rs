//! The Marathon client against the simulator and a small HTTPS server: auth, redirects,
//! TLS with a custom CA.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use herald_subscriber::marathon::{MarathonClient, MarathonConfig};
use marathon_sim::{MarathonVersion, SimConfig, Simulator};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn client(url: &str, credentials: Option<&str>) -> MarathonClient {
    MarathonClient::new(&MarathonConfig {
        url: url.into(),
        credentials: credentials.map(str::to_string),
        timeout: Duration::from_secs(5),
        ..Default::default()
    })
    .unwrap()
}

#[tokio::test]
async fn the_event_stream_follows_a_standby_redirect_with_credentials() {
    let auth = Some(("herald".to_string(), "s3cret".to_string()));
    let leader = Simulator::start(SimConfig {
        auth: auth.clone(),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let standby = Simulator::start(SimConfig {
        auth,
        redirect_to: Some(leader.url()),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let c = client(&standby.url(), Some("herald:s3cret"));
    let response = c.event_stream(&["status_update_event"]).await.unwrap();
    assert!(
        response.url().as_str().starts_with(&leader.url()),
        "{}",
        response.url()
    );
    assert!(
        response
            .url()
            .as_str()
            .contains("event_type=status_update_event")
    );
    leader
        .wait_for_event_streams(1, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(standby.event_stream_clients(), 0);

    // Without (or with wrong) credentials: a clear 401.
    for creds in [None, Some("herald:wrong")] {
        let err = client(&standby.url(), creds)
            .event_stream(&[])
            .await
            .unwrap_err();
        assert!(err.to_string().contains("401"), "{err}");
        assert!(
            client(&leader.url(), creds)
                .apps_with_tasks()
                .await
                .is_err()
        );
    }
    // Credentials in the URL work as well.
    let in_url = leader.url().replace("http://", "http://herald:s3cret@");
    assert!(
        client(&in_url, None)
            .apps_with_tasks()
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn callback_subscriptions_on_1_4_and_their_absence_on_1_10() {
    let old = Simulator::start(SimConfig::new(MarathonVersion::V1_4))
        .await
        .unwrap();
    let c = client(&old.url(), None);
    c.subscribe("http://127.0.0.1:9/callback").await.unwrap();
    assert_eq!(
        old.subscriptions(),
        vec!["http://127.0.0.1:9/callback".to_string()]
    );
    c.unsubscribe("http://127.0.0.1:9/callback").await.unwrap();
    assert!(old.subscriptions().is_empty());

    let new = Simulator::start(SimConfig::new(MarathonVersion::V1_10))
        .await
        .unwrap();
    let err = client(&new.url(), None)
        .subscribe("http://127.0.0.1:9/cb")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("404"), "{err}");
}

/// A CA and a server certificate for localhost/127.0.0.1 (`srv.pem`, `srv.key`).
fn make_certs(dir: &Path) {
    let ca = registry::harness::TestCa::new(dir).unwrap();
    let ext = "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n";
    ca.issue("srv", "/CN=localhost", ext).unwrap();
}

/// Answers every request with `pong` over TLS.
async fn https_server(dir: &Path) -> std::net::SocketAddr {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(dir.join("srv.pem"))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(dir.join("srv.key")).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut buf = vec![0u8; 4096];
                let mut seen = Vec::new();
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = tls
                    .write_all(
                        b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n\r\npong",
                    )
                    .await;
                let _ = tls.shutdown().await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn https_with_a_custom_ca() {
    let dir = tempfile::tempdir().unwrap();
    make_certs(dir.path());
    let addr = https_server(dir.path()).await;
    let url = format!("https://localhost:{}/service/marathon", addr.port());
    let with = |ca: Option<&Path>, insecure: bool| {
        MarathonClient::new(&MarathonConfig {
            url: url.clone(),
            ca: ca.map(Path::to_path_buf),
            insecure,
            timeout: Duration::from_secs(5),
            ..Default::default()
        })
        .unwrap()
    };
    with(Some(&dir.path().join("ca.pem")), false)
        .ping()
        .await
        .unwrap();
    let err = with(None, false).ping().await.unwrap_err();
    assert!(
        err.to_string().to_lowercase().contains("certificate"),
        "{err}"
    );
    with(None, true).ping().await.unwrap();
    // A CA file that is not PEM is a clear configuration error.
    std::fs::write(dir.path().join("bad.pem"), "nope").unwrap();
    let bad = MarathonClient::new(&MarathonConfig {
        url: url.clone(),
        ca: Some(dir.path().join("bad.pem")),
        ..Default::default()
    });
    assert!(bad.is_err() || bad.unwrap().ping().await.is_err());
}
