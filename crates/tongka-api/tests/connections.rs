//! Issue 12 ("idle connections are never closed, and nothing caps them"):
//! the router served over a real socket by `tongka_api::serve`, with a
//! small cap and a short header-read timeout, driven by raw TCP clients.
//! Every wait is a poll with a deadline.

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use common::App;

/// The header-read timeout of these tests.
const HEADER_TIMEOUT: Duration = Duration::from_millis(800);
/// Any wait of these tests fails past this.
const BOUND: Duration = Duration::from_secs(15);

/// The warnings logged by the process, kept for the tests to read.
fn warnings() -> Arc<Mutex<Vec<u8>>> {
    static LOG: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOG.get_or_init(|| {
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = log.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::WARN)
            .with_ansi(false)
            .with_writer(move || Sink(sink.clone()))
            .init();
        log
    })
    .clone()
}

struct Sink(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct Served {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    _app: App,
}

async fn serve(max_connections: usize) -> Served {
    let app = App::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(tongka_api::serve(
        listener,
        app.state.clone(),
        async move {
            let _ = rx.await;
        },
        tongka_api::ServeOptions {
            header_read_timeout: HEADER_TIMEOUT,
            max_connections,
        },
    ));
    Served {
        addr,
        stop: Some(tx),
        task,
        _app: app,
    }
}

/// `GET /api/v1/health` on a new connection: the status, once the server
/// has answered and closed.
async fn health(addr: SocketAddr) -> u16 {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET /api/v1/health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out);
    text.split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

/// Wait until the server closes `s` (a read of 0 bytes or a reset); the
/// time it took. Bytes the server sends first are skipped.
async fn closed_by_server(s: &mut TcpStream) -> Duration {
    let t0 = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at((t0 + BOUND).into(), s.read(&mut buf)).await {
            Err(_) => panic!("the server kept the connection open for {BOUND:?}"),
            Ok(Ok(0)) | Ok(Err(_)) => return t0.elapsed(),
            Ok(Ok(_)) => {}
        }
    }
}

/// More idle connections than the cap: the ones beyond it wait, unaccepted;
/// a warning says the cap was reached; the idle ones are closed by the
/// header-read timeout, and then a fresh client's `/health` is answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_beyond_the_cap_wait_and_are_closed() {
    let log = warnings();
    let cap = 4;
    let mut srv = serve(cap).await;
    let mut idle = Vec::new();
    for _ in 0..cap + 3 {
        idle.push(TcpStream::connect(srv.addr).await.unwrap());
    }
    let t0 = Instant::now();
    let status = tokio::time::timeout(BOUND, health(srv.addr))
        .await
        .expect("/health answered within the bound");
    assert_eq!(status, 200);
    // The fresh client could be served only once idle connections were
    // closed: not before the header-read timeout.
    assert!(
        t0.elapsed() >= HEADER_TIMEOUT.mul_f32(0.9),
        "answered after {:?}, before any idle connection could time out",
        t0.elapsed()
    );
    for s in &mut idle {
        closed_by_server(s).await;
    }
    let deadline = Instant::now() + BOUND;
    loop {
        let text = String::from_utf8_lossy(&log.lock().unwrap()).into_owned();
        if text.contains("HTTP connection cap reached") {
            assert!(text.contains("max_connections=4"), "{text}");
            break;
        }
        assert!(Instant::now() < deadline, "no warning logged: {text}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // With the idle ones gone, a client is answered at once.
    let t1 = Instant::now();
    assert_eq!(health(srv.addr).await, 200);
    assert!(t1.elapsed() < HEADER_TIMEOUT, "{:?}", t1.elapsed());
    // Shutting down closes what is open and returns.
    let _open = TcpStream::connect(srv.addr).await.unwrap();
    srv.stop.take().unwrap().send(()).unwrap();
    tokio::time::timeout(BOUND, &mut srv.task)
        .await
        .expect("serve returns after shutdown")
        .unwrap()
        .unwrap();
}

/// A half-sent request head is closed after the header-read timeout, and so
/// is a kept-alive connection left idle after an answer; neither earlier.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_and_idle_kept_alive_connections_are_closed() {
    let srv = serve(100).await;
    let mut half = TcpStream::connect(srv.addr).await.unwrap();
    half.write_all(b"GET /api/v1/health HTTP/1.1\r\nHost: t\r\nX-Slow: 1")
        .await
        .unwrap();
    let took = closed_by_server(&mut half).await;
    assert!(took >= HEADER_TIMEOUT.mul_f32(0.9), "closed after {took:?}");

    let mut kept = TcpStream::connect(srv.addr).await.unwrap();
    kept.write_all(b"GET /api/v1/health HTTP/1.1\r\nHost: t\r\n\r\n")
        .await
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains("\"role\"") {
        let n = tokio::time::timeout(BOUND, kept.read(&mut buf))
            .await
            .expect("an answer")
            .unwrap();
        assert!(n > 0, "closed before answering");
        got.extend_from_slice(&buf[..n]);
    }
    assert!(String::from_utf8_lossy(&got).starts_with("HTTP/1.1 200"));
    let took = closed_by_server(&mut kept).await;
    assert!(took >= HEADER_TIMEOUT.mul_f32(0.9), "closed after {took:?}");
}

/// The status line hyper answers to `request` (sent raw), and whether a
/// body followed; the server closes the connection after it.
async fn raw_answer(addr: SocketAddr, request: &[u8]) -> (u16, usize) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    // The server may answer and close before it has read all we send.
    let _ = s.write_all(request).await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(BOUND, s.read_to_end(&mut out))
        .await
        .expect("closed");
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map_or(0, |(_, b)| b.len());
    (status, body)
}

/// What hyper refuses before the router sees a request is a status with
/// no body (a limit stated in README): a request line that does not parse
/// (400), a head over `HEAD_BYTES_MAX` (431). Everything after is the
/// router's and has a machine code (`regressions.rs`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hyper_refusals_are_a_bare_status() {
    let srv = serve(100).await;
    assert_eq!(raw_answer(srv.addr, b"HELLO\r\n\r\n").await, (400, 0));
    let mut big = b"GET /api/v1/health HTTP/1.1\r\nHost: t\r\nX-Big: ".to_vec();
    big.extend(std::iter::repeat_n(b'a', tongka_api::HEAD_BYTES_MAX));
    big.extend_from_slice(b"\r\n\r\n");
    assert_eq!(raw_answer(srv.addr, &big).await, (431, 0));
    // Just under the limit is served.
    let mut ok = b"GET /api/v1/health HTTP/1.1\r\nHost: t\r\nConnection: close\r\nX-Big: ".to_vec();
    ok.extend(std::iter::repeat_n(b'a', tongka_api::HEAD_BYTES_MAX - 200));
    ok.extend_from_slice(b"\r\n\r\n");
    assert_eq!(raw_answer(srv.addr, &ok).await.0, 200);
}
