//! Issue 12, HTTPS on the shop's LAN: the router served by
//! `tongka_api::serve_tls` over a real socket, with a server certificate
//! issued by a test CA made here, and clients that trust that CA only.
//! Every wait is a poll with a deadline.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::rustls;
use tokio_rustls::rustls::CertificateError;

use common::{App, TOKEN};

/// The header-read timeout of these tests (also the handshake's bound).
const HEADER_TIMEOUT: Duration = Duration::from_millis(800);
/// Any wait of these tests fails past this.
const BOUND: Duration = Duration::from_secs(15);

/// A test CA: its certificate (PEM) and the issuer that signs with it.
fn test_ca(name: &str) -> (String, Issuer<'static, KeyPair>) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::default();
    params
        .distinguished_name
        .push(DnType::CommonName, format!("{name} test CA"));
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), Issuer::new(params, key))
}

/// A server certificate for `localhost` and `127.0.0.1` signed by `ca`:
/// (certificate PEM, key PEM).
fn server_cert(ca: &Issuer<'_, KeyPair>) -> (String, String) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::default();
    params
        .distinguished_name
        .push(DnType::CommonName, "store-1");
    params.subject_alt_names = vec![
        SanType::DnsName("localhost".try_into().unwrap()),
        SanType::IpAddress([127, 0, 0, 1].into()),
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let cert = params.signed_by(&key, ca).unwrap();
    (cert.pem(), key.serialize_pem())
}

struct Served {
    addr: SocketAddr,
    /// The test CA's certificate (PEM): the client's only trust root.
    ca: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    _app: App,
}

async fn serve_tls(max_connections: usize, header_read_timeout: Duration) -> Served {
    let app = App::new();
    let (ca, issuer) = test_ca("tongka");
    let (cert, key) = server_cert(&issuer);
    let acceptor = tongka_net::https::Acceptor::from_pem(cert.as_bytes(), key.as_bytes()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(tongka_api::serve_tls(
        listener,
        acceptor,
        app.state.clone(),
        async move {
            let _ = rx.await;
        },
        tongka_api::ServeOptions {
            header_read_timeout,
            max_connections,
        },
    ));
    Served {
        addr,
        ca,
        stop: Some(tx),
        task,
        _app: app,
    }
}

/// A TLS client that trusts `ca_pem` only (ring, as the server).
fn connector(ca_pem: &str) -> tokio_rustls::TlsConnector {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// `GET path` over HTTPS to `server_name` at `addr`, with `token` as the
/// bearer if given: the status and body, or the TLS error.
async fn https_get(
    addr: SocketAddr,
    ca_pem: &str,
    server_name: &str,
    path: &str,
    token: Option<&str>,
) -> std::io::Result<(u16, String)> {
    let tcp = TcpStream::connect(addr).await?;
    let name = rustls::pki_types::ServerName::try_from(server_name.to_owned()).unwrap();
    let tls = connector(ca_pem).connect(name, tcp).await?;
    assert_eq!(tls.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .unwrap();
    tokio::spawn(conn);
    let mut req = hyper::Request::get(path).header("host", server_name);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let resp = sender
        .send_request(req.body(Empty::<Bytes>::new()).unwrap())
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// Wait until the server closes `s` (a read of 0 bytes or a reset); the
/// bytes it sent before, and the time it took.
async fn closed_by_server(s: &mut TcpStream) -> (Vec<u8>, Duration) {
    let t0 = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at((t0 + BOUND).into(), s.read(&mut buf)).await {
            Err(_) => panic!("the server kept the connection open for {BOUND:?}"),
            Ok(Ok(0)) | Ok(Err(_)) => return (got, t0.elapsed()),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// The certificate error a client's handshake failed with.
fn cert_error(err: &std::io::Error) -> &CertificateError {
    match err
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
    {
        Some(rustls::Error::InvalidCertificate(e)) => e,
        _ => panic!("not a certificate error: {err:?}"),
    }
}

async fn stop(mut srv: Served) {
    let _ = srv.stop.take().unwrap().send(());
    tokio::time::timeout(BOUND, srv.task)
        .await
        .expect("serve_tls returns after shutdown")
        .unwrap()
        .unwrap();
}

/// A client trusting the test CA only reaches `/api/v1/health` and an
/// authorised endpoint over HTTPS, by DNS name and by IP address; the token
/// is still required; a client trusting another CA is refused in the
/// handshake.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_serves_health_and_authorised_endpoints() {
    let srv = serve_tls(16, HEADER_TIMEOUT).await;
    let (status, body) = https_get(srv.addr, &srv.ca, "localhost", "/api/v1/health", None)
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    let (status, body) = https_get(srv.addr, &srv.ca, "127.0.0.1", "/api/v1/health", None)
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");

    let ledger = "/api/v1/ledger/summary";
    let (status, _) = https_get(srv.addr, &srv.ca, "localhost", ledger, None)
        .await
        .unwrap();
    assert_eq!(status, 401, "no token, no ledger, HTTPS or not");
    let (status, body) = https_get(srv.addr, &srv.ca, "localhost", ledger, Some(TOKEN))
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    let summary: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(summary.is_object(), "{body}");

    // The certificate is checked for real: another CA, or a name the
    // certificate does not carry, fails the handshake.
    let (other_ca, _) = test_ca("other");
    let err = https_get(srv.addr, &other_ca, "localhost", "/api/v1/health", None)
        .await
        .unwrap_err();
    assert!(
        matches!(cert_error(&err), CertificateError::UnknownIssuer),
        "{err}"
    );
    let err = https_get(srv.addr, &srv.ca, "till.example", "/api/v1/health", None)
        .await
        .unwrap_err();
    assert!(
        matches!(
            cert_error(&err),
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }
        ),
        "{err}"
    );
    // And the server took none of it badly.
    let (status, _) = https_get(srv.addr, &srv.ca, "localhost", "/api/v1/health", None)
        .await
        .unwrap();
    assert_eq!(status, 200);
    stop(srv).await;
}

/// A client that opens TCP and never sends its ClientHello is closed after
/// the header-read timeout, and holds its place under the connection cap
/// until then: with a cap of 1, a real client waits for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_client_is_closed_after_the_header_read_timeout() {
    let srv = serve_tls(1, HEADER_TIMEOUT).await;
    let mut silent = TcpStream::connect(srv.addr).await.unwrap();
    // The silent connection is accepted first (it holds the one permit):
    // the server is then waiting for its handshake.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let t0 = Instant::now();
    let (addr, ca) = (srv.addr, srv.ca.clone());
    let waiting =
        tokio::spawn(
            async move { https_get(addr, &ca, "localhost", "/api/v1/health", None).await },
        );
    let (sent, took) = closed_by_server(&mut silent).await;
    assert!(sent.is_empty(), "the server sent {sent:?} unasked");
    assert!(
        took >= HEADER_TIMEOUT.mul_f32(0.8),
        "closed after {took:?}, before the header-read timeout"
    );
    let (status, _) = tokio::time::timeout(BOUND, waiting)
        .await
        .expect("answered once the silent client was closed")
        .unwrap()
        .unwrap();
    assert_eq!(status, 200);
    assert!(
        t0.elapsed() >= HEADER_TIMEOUT.mul_f32(0.8),
        "answered after {:?}: the silent client did not count under the cap",
        t0.elapsed()
    );
    stop(srv).await;
}

/// A plain-HTTP request on the TLS port gets no HTTP answer: its connection
/// is closed at once, well before the timeout; the next HTTPS request is
/// served as ever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_on_the_tls_port_fails_cleanly() {
    let srv = serve_tls(16, Duration::from_secs(30)).await;
    let mut plain = TcpStream::connect(srv.addr).await.unwrap();
    plain
        .write_all(b"GET /api/v1/health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let (sent, took) = closed_by_server(&mut plain).await;
    assert!(
        !sent.starts_with(b"HTTP/"),
        "plain HTTP was answered: {:?}",
        String::from_utf8_lossy(&sent)
    );
    assert!(took < Duration::from_secs(10), "closed only after {took:?}");
    let (status, _) = https_get(srv.addr, &srv.ca, "localhost", "/api/v1/health", None)
        .await
        .unwrap();
    assert_eq!(status, 200);
    stop(srv).await;
}

/// Shutting down does not wait for a connection still in its handshake.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_does_not_wait_for_a_handshake() {
    let srv = serve_tls(16, Duration::from_secs(60)).await;
    let mut silent = TcpStream::connect(srv.addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let t0 = Instant::now();
    stop(srv).await;
    let (_, _) = closed_by_server(&mut silent).await;
    assert!(
        t0.elapsed() < Duration::from_secs(10),
        "shutdown took {:?}",
        t0.elapsed()
    );
}
