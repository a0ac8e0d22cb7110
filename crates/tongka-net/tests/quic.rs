//! Real QUIC on loopback between endpoints with real chain certificates.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{endpoint, fast_options, identity, make_chain};
use tongka_net::{Connection, Endpoint, Identity, NetError, Options};

/// Dials `to` (node `name` at `addr`) from `from` while `to` accepts.
async fn pair(
    from: &Endpoint,
    to: &Endpoint,
    name: &str,
    addr: SocketAddr,
) -> (Connection, Connection) {
    let (dialled, accepted) = tokio::join!(from.connect(name, addr), to.accept());
    let dialled = dialled.expect("connect");
    let accepted = accepted.expect("endpoint open").expect("accept");
    (dialled, accepted)
}

fn pattern(len: usize, seed: u8) -> Bytes {
    (0..len)
        .map(|i| (i % 251) as u8 ^ seed)
        .collect::<Vec<u8>>()
        .into()
}

/// Sends a 1 MiB message, an empty one and 10,000 small ones from `tx`,
/// and checks that `rx` gets them whole and in order.
async fn exchange(tx: &Connection, rx: &Connection, seed: u8) {
    let big = pattern(1024 * 1024, seed);
    let sender = {
        let tx = tx.clone();
        let big = big.clone();
        tokio::spawn(async move {
            tx.send(big).await.expect("send 1 MiB");
            tx.send(Bytes::new()).await.expect("send empty");
            for i in 0u32..10_000 {
                tx.send(Bytes::from(format!("msg {i}")))
                    .await
                    .expect("send small");
            }
        })
    };
    let got = rx.recv().await.expect("recv").expect("a message");
    assert_eq!(got.len(), big.len());
    assert!(got == big, "1 MiB message corrupted");
    assert_eq!(
        rx.recv().await.expect("recv").expect("a message"),
        Bytes::new()
    );
    for i in 0u32..10_000 {
        let msg = rx.recv().await.expect("recv").expect("a message");
        assert_eq!(
            msg,
            Bytes::from(format!("msg {i}")),
            "message {i} out of order"
        );
    }
    sender.await.expect("sender task");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_both_ways_and_exchange_messages() {
    let dir = tempfile::tempdir().unwrap();
    make_chain(dir.path(), 2);
    let (a, a_addr) = endpoint(dir.path(), "store-1", Options::new("tongka"));
    let (b, b_addr) = endpoint(dir.path(), "store-2", Options::new("tongka"));
    assert_eq!(a.node_name(), "store-1");
    assert_eq!(b.node_name(), "store-2");

    // store-1 dials store-2.
    let (a_to_b, b_from_a) = pair(&a, &b, "store-2", b_addr).await;
    assert_eq!(a_to_b.peer(), "store-2");
    assert_eq!(b_from_a.peer(), "store-1");
    assert_eq!(a_to_b.remote(), b_addr);
    assert_eq!(b_from_a.remote().port(), a_addr.port());
    exchange(&a_to_b, &b_from_a, 1).await;
    exchange(&b_from_a, &a_to_b, 2).await;
    assert!(a_to_b.rtt() < Duration::from_secs(1));

    // store-2 dials store-1: a second, independent connection.
    let (b_to_a, a_from_b) = pair(&b, &a, "store-1", a_addr).await;
    assert_eq!(b_to_a.peer(), "store-1");
    assert_eq!(a_from_b.peer(), "store-2");
    exchange(&b_to_a, &a_from_b, 3).await;
    exchange(&a_from_b, &b_to_a, 4).await;

    // Both directions at once on one connection.
    tokio::join!(
        exchange(&a_to_b, &b_from_a, 5),
        exchange(&b_from_a, &a_to_b, 6)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_is_seen_as_end_of_messages() {
    let dir = tempfile::tempdir().unwrap();
    make_chain(dir.path(), 2);
    let (a, _) = endpoint(dir.path(), "store-1", Options::new("tongka"));
    let (b, b_addr) = endpoint(dir.path(), "store-2", Options::new("tongka"));
    let (a_conn, b_conn) = pair(&a, &b, "store-2", b_addr).await;
    a_conn.send(Bytes::from_static(b"last")).await.unwrap();
    assert_eq!(b_conn.recv().await.unwrap().unwrap(), "last");
    a_conn.close("bye");
    assert!(b_conn.recv().await.unwrap().is_none());
    match b_conn.closed().await {
        NetError::Closed { reason } => assert!(reason.contains("bye"), "{reason}"),
        other => panic!("unexpected close reason {other:?}"),
    }
    assert!(a_conn.recv().await.unwrap().is_none());
    assert!(matches!(
        a_conn.send(Bytes::from_static(b"x")).await,
        Err(NetError::Closed { .. })
    ));
    assert!(a_conn.close_reason().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recv_is_cancel_safe() {
    let dir = tempfile::tempdir().unwrap();
    make_chain(dir.path(), 2);
    let (a, _) = endpoint(dir.path(), "store-1", Options::new("tongka"));
    let (b, b_addr) = endpoint(dir.path(), "store-2", Options::new("tongka"));
    let (a_conn, b_conn) = pair(&a, &b, "store-2", b_addr).await;
    let msgs: Vec<Bytes> = (0..8).map(|i| pattern(512 * 1024 + i, i as u8)).collect();
    let sender = {
        let msgs = msgs.clone();
        tokio::spawn(async move {
            for m in msgs {
                a_conn.send(m).await.unwrap();
            }
            a_conn
        })
    };
    let mut cancelled = 0u32;
    for want in &msgs {
        let got = loop {
            // A tiny timeout cancels most reads in the middle of a message.
            match tokio::time::timeout(Duration::from_micros(200), b_conn.recv()).await {
                Ok(r) => break r.unwrap().unwrap(),
                Err(_) => cancelled += 1,
            }
        };
        assert!(got == want, "message corrupted after cancelled reads");
    }
    println!("recv cancelled {cancelled} times without losing data");
    drop(sender.await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_of_another_chain_is_refused_on_both_sides() {
    let one = tempfile::tempdir().unwrap();
    let two = tempfile::tempdir().unwrap();
    make_chain(one.path(), 2);
    make_chain(two.path(), 2);
    let (a, a_addr) = endpoint(one.path(), "store-1", fast_options());
    let (x, x_addr) = endpoint(two.path(), "store-2", fast_options());

    // Chain one dials chain two: the dialler refuses the server's
    // certificate, and the accepting side sees the handshake fail.
    let (dialled, accepted) = tokio::join!(a.connect("store-2", x_addr), x.accept());
    match dialled {
        Err(NetError::Tls { reason, .. }) => println!("dialler: {reason}"),
        other => panic!("expected a TLS error, got {other:?}"),
    }
    match accepted {
        Some(Err(NetError::Tls { reason, .. })) => println!("acceptor: {reason}"),
        other => panic!("expected a TLS error, got {other:?}"),
    }

    // And the other way round.
    let (dialled, accepted) = tokio::join!(x.connect("store-1", a_addr), a.accept());
    assert!(matches!(dialled, Err(NetError::Tls { .. })), "{dialled:?}");
    assert!(
        matches!(accepted, Some(Err(NetError::Tls { .. }))),
        "{accepted:?}"
    );

    // A client that trusts chain two's CA but presents chain one's
    // certificate: the server must refuse the client certificate. (The
    // crate's own Identity refuses such a mix at load time, so this client
    // is built by hand.)
    let client = foreign_client(one.path(), two.path());
    let connecting = client.connect(x_addr, "store-2").unwrap();
    let client_side = async {
        match connecting.await {
            Err(e) => e,
            // In TLS 1.3 the client may finish first; the server's refusal
            // then closes the connection.
            Ok(conn) => conn.closed().await,
        }
    };
    let (client_err, accepted) = tokio::join!(client_side, x.accept());
    println!("foreign client: {client_err}");
    assert!(
        matches!(
            &client_err,
            quinn::ConnectionError::ConnectionClosed(c) if (0x100..0x200).contains(&u64::from(c.error_code))
        ),
        "client must see a TLS alert, got {client_err:?}"
    );
    match accepted {
        Some(Err(NetError::Tls { reason, .. })) => println!("server refused: {reason}"),
        other => panic!("server must refuse the client certificate, got {other:?}"),
    }
}

/// A raw quinn client trusting chain `trust`'s CA, with the certificate
/// of `store-1` of chain `cert_chain`.
fn foreign_client(cert_chain: &std::path::Path, trust: &std::path::Path) -> quinn::Endpoint {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(trust.join("ca.pem")).unwrap())
        .unwrap();
    let cert = CertificateDer::from_pem_file(cert_chain.join("store-1/node.pem")).unwrap();
    let key = PrivateKeyDer::from_pem_file(cert_chain.join("store-1/node.key")).unwrap();
    let mut tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_root_certificates(roots)
        .with_client_auth_cert(vec![cert], key)
        .unwrap();
    tls.alpn_protocols = vec![tongka_net::ALPN.to_vec()];
    let quic = quinn::crypto::rustls::QuicClientConfig::try_from(tls).unwrap();
    let mut ep = quinn::Endpoint::client("127.0.0.1:0".parse().unwrap()).unwrap();
    ep.set_default_client_config(quinn::ClientConfig::new(Arc::new(quic)));
    ep
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_with_another_chains_ca_is_refused_at_load() {
    let one = tempfile::tempdir().unwrap();
    let two = tempfile::tempdir().unwrap();
    make_chain(one.path(), 1);
    make_chain(two.path(), 1);
    let id = identity(one.path(), "store-1");
    assert_eq!(id.node_name(), "store-1");
    let mixed = Identity::load(
        &two.path().join("ca.pem"),
        &one.path().join("store-1/node.pem"),
        &one.path().join("store-1/node.key"),
    );
    match mixed {
        Err(NetError::Certificate { what, reason }) => println!("{what}: {reason}"),
        other => panic!("expected a certificate error, got {other:?}"),
    }
    // A key that is not the certificate's.
    make_chain(&one.path().join("more"), 2);
    let wrong_key = Identity::load(
        &one.path().join("more/ca.pem"),
        &one.path().join("more/store-1/node.pem"),
        &one.path().join("more/store-2/node.key"),
    );
    assert!(
        matches!(wrong_key, Err(NetError::Certificate { .. })),
        "{wrong_key:?}"
    );
    let missing = Identity::load(
        &one.path().join("ca.pem"),
        &one.path().join("nope.pem"),
        &one.path().join("store-1/node.key"),
    );
    assert!(matches!(missing, Err(NetError::Io { .. })), "{missing:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_expected_peer_name_fails() {
    let dir = tempfile::tempdir().unwrap();
    make_chain(dir.path(), 3);
    let (a, _) = endpoint(dir.path(), "store-1", fast_options());
    let (b, b_addr) = endpoint(dir.path(), "store-2", fast_options());

    // store-2's certificate is not valid for the name store-3.
    let (dialled, _) = tokio::join!(a.connect("store-3", b_addr), b.accept());
    match dialled {
        Err(NetError::Tls { reason, .. }) => println!("store-3 at store-2's address: {reason}"),
        other => panic!("expected a TLS error, got {other:?}"),
    }
    // It is valid for "localhost", but names store-2.
    let (dialled, _) = tokio::join!(a.connect("localhost", b_addr), b.accept());
    match dialled {
        Err(NetError::WrongPeer { expected, got }) => {
            assert_eq!(expected, "localhost");
            assert_eq!(got, "store-2");
        }
        other => panic!("expected WrongPeer, got {other:?}"),
    }
    // The right name still works.
    let (a_conn, b_conn) = pair(&a, &b, "store-2", b_addr).await;
    assert_eq!(a_conn.peer(), "store-2");
    assert_eq!(b_conn.peer(), "store-1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn different_chain_names_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    make_chain(dir.path(), 2);
    let (a, _) = endpoint(dir.path(), "store-1", Options::new("north"));
    let (b, b_addr) = endpoint(dir.path(), "store-2", Options::new("south"));
    let (dialled, accepted) = tokio::join!(a.connect("store-2", b_addr), b.accept());
    match dialled {
        Err(NetError::WrongChain { expected, got }) => {
            assert_eq!((expected.as_str(), got.as_str()), ("north", "south"));
        }
        other => panic!("expected WrongChain, got {other:?}"),
    }
    match accepted {
        Some(Err(NetError::WrongChain { expected, got })) => {
            assert_eq!((expected.as_str(), got.as_str()), ("south", "north"));
        }
        other => panic!("expected WrongChain, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_messages_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    make_chain(dir.path(), 2);
    let small = Options {
        max_message: 1024 * 1024,
        ..Options::new("tongka")
    };
    let large = Options {
        max_message: 4 * 1024 * 1024,
        ..Options::new("tongka")
    };
    let (a, _) = endpoint(dir.path(), "store-1", large);
    let (b, b_addr) = endpoint(dir.path(), "store-2", small);
    let (a_conn, b_conn) = pair(&a, &b, "store-2", b_addr).await;

    // The receiver's side refuses to send above its own maximum, and the
    // connection stays usable.
    let refused = b_conn.send(pattern(1024 * 1024 + 1, 0)).await;
    assert!(
        matches!(
            refused,
            Err(NetError::TooLarge {
                size: 1_048_577,
                max: 1_048_576
            })
        ),
        "{refused:?}"
    );
    b_conn.send(pattern(1024 * 1024, 0)).await.unwrap();
    assert_eq!(a_conn.recv().await.unwrap().unwrap().len(), 1024 * 1024);

    // A message the receiver does not allow: the receiver refuses it and
    // closes the connection; the sender sees the connection end.
    // (Concurrently: 2 MiB is more than the receiver's flow-control
    // window, so the send completes only as the receiver reads, and may
    // fail as the receiver closes.)
    let (sent, received) = tokio::join!(a_conn.send(pattern(2 * 1024 * 1024, 0)), b_conn.recv());
    println!("oversized send: {sent:?}");
    match received {
        Err(NetError::TooLarge { size, max }) => {
            assert_eq!((size, max), (2 * 1024 * 1024, 1024 * 1024));
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
    let why = tokio::time::timeout(Duration::from_secs(2), a_conn.closed())
        .await
        .expect("sender sees the close");
    println!("sender saw: {why}");
    assert!(matches!(why, NetError::Closed { .. }), "{why:?}");
    assert!(a_conn.send(Bytes::from_static(b"more")).await.is_err());
    assert!(a_conn.recv().await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_endpoint_is_noticed() {
    let dir = tempfile::tempdir().unwrap();
    make_chain(dir.path(), 2);
    let (a, _) = endpoint(dir.path(), "store-1", fast_options());
    let (b, b_addr) = endpoint(dir.path(), "store-2", fast_options());
    let (a_conn, b_conn) = pair(&a, &b, "store-2", b_addr).await;
    a_conn.send(Bytes::from_static(b"hi")).await.unwrap();
    assert_eq!(b_conn.recv().await.unwrap().unwrap(), "hi");

    // Dropping the endpoint alone (its connection handle is still held)
    // closes its connections.
    let start = Instant::now();
    drop(b);
    let why = tokio::time::timeout(Duration::from_secs(2), a_conn.closed())
        .await
        .expect("the other side must notice within 2 s");
    println!(
        "dropped endpoint noticed after {:?}: {why}",
        start.elapsed()
    );
    assert!(a_conn.recv().await.unwrap_or(None).is_none());
    assert!(b_conn.recv().await.unwrap_or(None).is_none());
}

/// A UDP relay between a client and `server` that can be made to drop
/// everything, as if the server's machine died or its cable was pulled.
struct Relay {
    addr: SocketAddr,
    dead: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Relay {
    async fn start(server: SocketAddr) -> Relay {
        let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        let dead = Arc::new(AtomicBool::new(false));
        let flag = dead.clone();
        let task = tokio::spawn(async move {
            let mut client: Option<SocketAddr> = None;
            let mut buf = vec![0u8; 65536];
            loop {
                let Ok((n, from)) = socket.recv_from(&mut buf).await else {
                    return;
                };
                if flag.load(Ordering::SeqCst) {
                    continue;
                }
                let to = if from == server {
                    match client {
                        Some(c) => c,
                        None => continue,
                    }
                } else {
                    client = Some(from);
                    server
                };
                let _ = socket.send_to(&buf[..n], to).await;
            }
        });
        Relay { addr, dead, task }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_peer_is_noticed_within_the_idle_timeout() {
    let dir = tempfile::tempdir().unwrap();
    make_chain(dir.path(), 2);
    let options = fast_options();
    let idle = options.idle_timeout;
    let (a, _) = endpoint(dir.path(), "store-1", options.clone());
    let (b, b_addr) = endpoint(dir.path(), "store-2", options);
    let relay = Relay::start(b_addr).await;
    let (a_conn, b_conn) = pair(&a, &b, "store-2", relay.addr).await;

    // Keep-alives hold a quiet connection open well past the idle timeout.
    tokio::time::sleep(idle * 3).await;
    assert!(
        a_conn.close_reason().is_none(),
        "{:?}",
        a_conn.close_reason()
    );
    a_conn
        .send(Bytes::from_static(b"still here"))
        .await
        .unwrap();
    assert_eq!(b_conn.recv().await.unwrap().unwrap(), "still here");

    // Now the network drops everything: both sides must notice, by the
    // idle timeout, within 2 s.
    let start = Instant::now();
    relay.dead.store(true, Ordering::SeqCst);
    let (a_why, b_why) = tokio::time::timeout(Duration::from_secs(2), async {
        tokio::join!(a_conn.closed(), b_conn.closed())
    })
    .await
    .expect("a dead peer must be noticed within 2 s");
    let took = start.elapsed();
    println!("silent peer noticed after {took:?}: {a_why} / {b_why}");
    assert!(matches!(a_why, NetError::TimedOut { .. }), "{a_why:?}");
    assert!(matches!(b_why, NetError::TimedOut { .. }), "{b_why:?}");
    assert!(a_conn.recv().await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connecting_to_nobody_times_out() {
    let dir = tempfile::tempdir().unwrap();
    make_chain(dir.path(), 2);
    // Before any round trip, quinn's handshake gives up after three probe
    // timeouts (about 3 s) whatever the idle timeout; the handshake
    // timeout bounds it tighter.
    let options = Options {
        handshake_timeout: Duration::from_secs(1),
        ..fast_options()
    };
    let (a, _) = endpoint(dir.path(), "store-1", options);
    // A bound socket that never answers.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let start = Instant::now();
    let result = tokio::time::timeout(
        Duration::from_secs(2),
        a.connect("store-2", silent.local_addr().unwrap()),
    )
    .await
    .expect("connect must give up on its own");
    println!(
        "connect to nobody failed after {:?}: {result:?}",
        start.elapsed()
    );
    assert!(
        matches!(result, Err(NetError::TimedOut { .. })),
        "{result:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_waits_for_a_reader_that_does_not_read() {
    const MSG: usize = 256 * 1024;
    const COUNT: usize = 64; // 16 MiB in all
    let dir = tempfile::tempdir().unwrap();
    make_chain(dir.path(), 2);
    let (a, _) = endpoint(dir.path(), "store-1", Options::new("tongka"));
    let (b, b_addr) = endpoint(dir.path(), "store-2", Options::new("tongka"));
    let (a_conn, b_conn) = pair(&a, &b, "store-2", b_addr).await;

    let sent = Arc::new(AtomicUsize::new(0));
    let sender = {
        let sent = sent.clone();
        tokio::spawn(async move {
            for i in 0..COUNT {
                a_conn.send(pattern(MSG, i as u8)).await.unwrap();
                sent.store(i + 1, Ordering::SeqCst);
            }
            a_conn
        })
    };

    // Wait until the sender makes no progress for 500 ms: a send is
    // blocked, not buffering.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut last = usize::MAX;
    loop {
        let now = sent.load(Ordering::SeqCst);
        if now == last {
            break;
        }
        last = now;
        assert!(
            now < COUNT,
            "all {COUNT} messages were sent to a peer that reads nothing"
        );
        assert!(Instant::now() < deadline, "the sender never stalled");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let buffered = last * MSG;
    println!("sender blocked after {last} messages ({buffered} bytes) to a stalled reader");
    assert!(
        buffered <= 6 * 1024 * 1024,
        "{buffered} bytes accepted for a peer that reads nothing"
    );
    assert!(!sender.is_finished());

    // Once the reader reads, everything arrives in order and the sender
    // completes.
    for i in 0..COUNT {
        let msg = b_conn.recv().await.unwrap().unwrap();
        assert!(msg == pattern(MSG, i as u8), "message {i} corrupted");
    }
    let a_conn = tokio::time::timeout(Duration::from_secs(5), sender)
        .await
        .expect("sender finishes once the reader reads")
        .unwrap();
    drop(a_conn);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn options_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    make_chain(dir.path(), 1);
    let id = identity(dir.path(), "store-1");
    let bad = Options {
        keep_alive: Duration::from_secs(5),
        idle_timeout: Duration::from_secs(5),
        ..Options::new("tongka")
    };
    let err = Endpoint::bind(common::loopback(), &id, bad).unwrap_err();
    assert!(matches!(err, NetError::Options(_)), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_endpoint_accepts_nothing() {
    let dir = tempfile::tempdir().unwrap();
    make_chain(dir.path(), 2);
    let (a, _) = endpoint(dir.path(), "store-1", fast_options());
    let (b, b_addr) = endpoint(dir.path(), "store-2", fast_options());
    let (a_conn, b_conn) = pair(&a, &b, "store-2", b_addr).await;
    b.close("maintenance");
    let accepted = tokio::time::timeout(Duration::from_secs(2), b.accept())
        .await
        .expect("accept ends once the endpoint is closed");
    assert!(accepted.is_none(), "{accepted:?}");
    assert!(a_conn.recv().await.unwrap().is_none());
    assert!(b_conn.recv().await.unwrap().is_none());
    let refused = a.connect("store-2", b_addr).await;
    assert!(refused.is_err(), "{refused:?}");
    b.wait_idle().await;
}
