//! Serving the router over TCP: hyper's HTTP/1 connections, with the limits
//! a node needs against a hostile client on the shop's LAN.
//!
//! `axum::serve` keeps a connection open as long as the client does: idle,
//! half-sent and kept-alive connections stay forever, and with the usual
//! 1,024 open files a client holding 1,100 of them starved `/health` and
//! checkouts without a word in the log. So connections are served here:
//! - **a header-read timeout**: hyper's timer starts whenever the server
//!   waits for a request head (at connect, and again after each answer on
//!   a kept-alive connection) and closes the connection when the whole
//!   head has not arrived by then; it is the idle keep-alive timeout too;
//! - **a cap on open connections**: a semaphore permit is taken *before*
//!   `accept`, so beyond the cap new connections wait in the kernel's
//!   listen queue (holding no file handle of ours) until one closes; a
//!   warning says so, at most once per [`CAP_WARN_EVERY`].
//!
//! [`serve_tls`] serves the same over HTTPS (tills reach the back-office PC
//! over the shop's LAN), with the TLS of `tongka_net::https::Acceptor` (the
//! one crate that knows rustls). A connection holds its permit from before
//! `accept` through its handshake, and the handshake must end within the
//! header-read timeout, or the connection is closed: a client that opens
//! TCP and never sends its ClientHello pins nothing. Once the handshake is
//! done, hyper's header-read timeout starts for the first request head as
//! on plain HTTP. A handshake that fails (a plain-HTTP request on the TLS
//! port, a browser that does not trust the certificate) closes that
//! connection only, logged at debug level (a browser refusing the
//! certificate would flood the log otherwise).
//!
//! Refusals hyper makes itself, before the router sees a request (a request
//! line that does not parse: `400`; a head over [`HEAD_BYTES_MAX`]: `431`;
//! a URI too long for its parser: `414`), are answered by hyper with the
//! status and an empty body, and the connection closed: hyper 1 gives no
//! hook to render them (a stated limit, in README).

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{Semaphore, watch};
use tongka_net::https::Acceptor;

use crate::{AppState, router};

/// The largest request head (request line and headers) accepted; a larger
/// one is answered `431` by hyper (a status, no body: see the module doc).
pub const HEAD_BYTES_MAX: usize = 64 * 1024;

/// At most one "connection cap reached" warning this often.
pub const CAP_WARN_EVERY: Duration = Duration::from_secs(10);

/// How the HTTP connections of a node are limited.
#[derive(Clone, Copy, Debug)]
pub struct ServeOptions {
    /// Time to send a whole request head, from when the server waits for
    /// one (also the idle keep-alive timeout).
    pub header_read_timeout: Duration,
    /// Most connections open at once (at least 1).
    pub max_connections: usize,
}

impl Default for ServeOptions {
    fn default() -> ServeOptions {
        ServeOptions {
            header_read_timeout: Duration::from_secs(10),
            max_connections: 1000,
        }
    }
}

/// Serve `router(state)` on `listener` until `shutdown` completes; then
/// stop accepting, let each connection finish its request in flight, and
/// return once all are closed.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
    options: ServeOptions,
) -> std::io::Result<()> {
    serve_on(listener, None, state, shutdown, options).await
}

/// [`serve`] over HTTPS: each connection's TLS handshake by `tls`, bounded
/// by the header-read timeout and counted under the connection cap (see
/// the module doc).
pub async fn serve_tls(
    listener: tokio::net::TcpListener,
    tls: Acceptor,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
    options: ServeOptions,
) -> std::io::Result<()> {
    serve_on(listener, Some(tls), state, shutdown, options).await
}

async fn serve_on(
    listener: tokio::net::TcpListener,
    tls: Option<Acceptor>,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
    options: ServeOptions,
) -> std::io::Result<()> {
    let app = router(state);
    let cap = options.max_connections.max(1);
    let permits = Arc::new(Semaphore::new(cap));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(options.header_read_timeout)
        .max_header_size(HEAD_BYTES_MAX)
        .keep_alive(true);
    // When the cap was last reported: at most once per CAP_WARN_EVERY, so
    // a flood of connections does not flood the log too.
    let mut warned: Option<Instant> = None;
    tokio::pin!(shutdown);
    loop {
        let permit = match permits.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                if warned.is_none_or(|t| t.elapsed() >= CAP_WARN_EVERY) {
                    warned = Some(Instant::now());
                    tracing::warn!(
                        max_connections = cap,
                        "HTTP connection cap reached: new connections wait until one closes \
                         (http.max_connections, http.header_read_timeout_s)"
                    );
                }
                tokio::select! {
                    p = permits.clone().acquire_owned() => p.expect("never closed"),
                    () = &mut shutdown => break,
                }
            }
        };
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(s) => s,
                Err(e) => {
                    // Out of file handles (EMFILE) or the like: the
                    // connection stays queued; wait, do not spin.
                    tracing::warn!(error = %e, "accepting an HTTP connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        // The client's address, for the sign-in limits (`auth`).
        let service = TowerToHyperService::new(tower_layer::Layer::layer(
            &axum::Extension(axum::extract::ConnectInfo(peer)),
            app.clone(),
        ));
        let mut stop = stop_rx.clone();
        let Some(tls) = tls.clone() else {
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            tokio::spawn(async move {
                let _permit = permit;
                drive(conn, stop).await;
            });
            continue;
        };
        let builder = builder.clone();
        let handshake_timeout = options.header_read_timeout;
        tokio::spawn(async move {
            let _permit = permit;
            let handshake = tokio::time::timeout(handshake_timeout, tls.accept(stream));
            let stream = tokio::select! {
                r = handshake => match r {
                    Ok(Ok(s)) => s,
                    Ok(Err(e)) => {
                        tracing::debug!(error = %e, "TLS handshake failed");
                        return;
                    }
                    Err(_) => {
                        tracing::debug!("TLS handshake not done within the header-read timeout");
                        return;
                    }
                },
                // Shutting down: a connection still in its handshake has no
                // request in flight to finish.
                _ = stop.wait_for(|s| *s) => return,
            };
            drive(
                builder.serve_connection(TokioIo::new(stream), service),
                stop,
            )
            .await;
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    // Every connection holds a permit until it closes.
    let _all = permits
        .acquire_many(u32::try_from(cap).unwrap_or(u32::MAX))
        .await;
    Ok(())
}

/// Serves one connection to its end; when the server stops, lets its
/// request in flight finish, then closes it.
async fn drive<I, S>(
    conn: hyper::server::conn::http1::Connection<TokioIo<I>, S>,
    mut stop: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: hyper::service::HttpService<hyper::body::Incoming>,
    S::ResBody: 'static,
    <S::ResBody as hyper::body::Body>::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => return,
        _ = stop.wait_for(|s| *s) => conn.as_mut().graceful_shutdown(),
    }
    let _ = conn.await;
}
