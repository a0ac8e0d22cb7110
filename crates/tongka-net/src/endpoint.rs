//! The QUIC endpoint: one UDP socket that both accepts connections from
//! peers and dials them, with mutual TLS under the chain CA.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use quinn::{IdleTimeout, TransportConfig, VarInt};
use rustls::client::Resumption;
use rustls::pki_types::CertificateDer;
use rustls::server::{NoServerSessionStorage, WebPkiClientVerifier};
use tokio::sync::{Mutex, mpsc};
use tokio::task::JoinHandle;

use crate::connection::{
    Connection, FrameError, Reader, close_with, code, connection_error, write_frame,
};
use crate::error::{NetError, Result};
use crate::identity::{Identity, node_name, provider};

/// The ALPN protocol of tongka replication; a peer that does not offer it
/// fails the handshake.
pub const ALPN: &[u8] = b"tongka/1";

/// Default largest message: 16 MiB.
pub const DEFAULT_MAX_MESSAGE: usize = 16 * 1024 * 1024;

/// Largest hello (the chain name) exchanged when a stream opens.
const MAX_HELLO: usize = 255;

/// Flow-control window of the message stream: how much a peer may send
/// that we have not read yet (and so how much a sender can buffer before
/// `send` waits).
const STREAM_WINDOW: u32 = 2 * 1024 * 1024;

/// Finished handshakes waiting for [`Endpoint::accept`].
const ACCEPT_QUEUE: usize = 16;

/// Endpoint settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// How often to send a keep-alive when there is no other traffic; must
    /// be shorter than `idle_timeout`. Config default: 1 s.
    pub keep_alive: Duration,
    /// A connection that hears nothing from its peer for this long is
    /// dead ([`Connection::closed`] resolves with [`NetError::TimedOut`]).
    /// The shorter of the two sides' values applies. quinn never times out
    /// sooner than three probe timeouts: on a LAN that is a few
    /// milliseconds, but before the first round trip it is about 3 s, so a
    /// handshake with an address where nobody answers takes at least that
    /// (or `handshake_timeout`, if shorter). Config default: 5 s.
    pub idle_timeout: Duration,
    /// This node's chain name (`[node] chain`); peers must have the same.
    /// The chain CA already keeps other chains out; this catches two
    /// configurations that share a CA but name different chains.
    pub chain: String,
    /// Largest message either way; default [`DEFAULT_MAX_MESSAGE`]. At most
    /// `u32::MAX`.
    pub max_message: usize,
    /// Longest time a connection set-up (QUIC and TLS handshake, then
    /// opening the message stream) may take; default 10 s.
    pub handshake_timeout: Duration,
}

impl Options {
    /// Options for chain `chain` with the configuration defaults:
    /// keep-alive 1 s, idle timeout 5 s, messages up to 16 MiB, handshake
    /// timeout 10 s.
    pub fn new(chain: impl Into<String>) -> Options {
        Options {
            keep_alive: Duration::from_secs(1),
            idle_timeout: Duration::from_secs(5),
            chain: chain.into(),
            max_message: DEFAULT_MAX_MESSAGE,
            handshake_timeout: Duration::from_secs(10),
        }
    }

    fn validate(&self) -> Result<()> {
        let bad = |what: String| Err(NetError::Options(what));
        if self.idle_timeout.is_zero() {
            return bad("idle_timeout must not be zero".to_owned());
        }
        if self.keep_alive.is_zero() || self.keep_alive >= self.idle_timeout {
            return bad(format!(
                "keep_alive ({:?}) must be above zero and below idle_timeout ({:?})",
                self.keep_alive, self.idle_timeout
            ));
        }
        if self.handshake_timeout.is_zero() {
            return bad("handshake_timeout must not be zero".to_owned());
        }
        if u32::try_from(self.max_message).is_err() {
            return bad(format!(
                "max_message ({}) does not fit the 32-bit length prefix",
                self.max_message
            ));
        }
        if self.chain.is_empty() || self.chain.len() > MAX_HELLO {
            return bad(format!(
                "chain name must have 1..={MAX_HELLO} bytes, not {}",
                self.chain.len()
            ));
        }
        Ok(())
    }
}

/// Settings shared with the accept tasks.
struct Shared {
    chain: String,
    max_message: usize,
    handshake_timeout: Duration,
}

/// A QUIC endpoint acting as server and client on one UDP socket, with
/// mutual TLS: both sides present a certificate signed by the chain CA,
/// and the node name in it is the peer's authenticated identity.
///
/// Dropping the endpoint closes all its connections (peers see an orderly
/// close).
pub struct Endpoint {
    endpoint: quinn::Endpoint,
    node: String,
    shared: Arc<Shared>,
    incoming: Mutex<mpsc::Receiver<Result<Connection>>>,
    acceptor: JoinHandle<()>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("node", &self.node)
            .field("chain", &self.shared.chain)
            .field("local_addr", &self.endpoint.local_addr().ok())
            .finish_non_exhaustive()
    }
}

fn transport(options: &Options) -> Result<Arc<TransportConfig>> {
    let idle = IdleTimeout::try_from(options.idle_timeout)
        .map_err(|_| NetError::Options("idle_timeout too large".to_owned()))?;
    let mut t = TransportConfig::default();
    t.keep_alive_interval(Some(options.keep_alive))
        .max_idle_timeout(Some(idle))
        // One message stream per connection, opened by the dialling side.
        .max_concurrent_bidi_streams(VarInt::from_u32(1))
        .max_concurrent_uni_streams(VarInt::from_u32(0))
        .datagram_receive_buffer_size(None)
        .stream_receive_window(VarInt::from_u32(STREAM_WINDOW))
        .receive_window(VarInt::from_u32(2 * STREAM_WINDOW));
    Ok(Arc::new(t))
}

fn server_config(
    identity: &Identity,
    transport: Arc<TransportConfig>,
) -> Result<quinn::ServerConfig> {
    let provider = provider();
    let verifier = WebPkiClientVerifier::builder_with_provider(identity.roots()?, provider.clone())
        .build()
        .map_err(|e| NetError::Certificate {
            what: "chain CA certificate".to_owned(),
            reason: e.to_string(),
        })?;
    let mut tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(NetError::TlsConfig)?
        .with_client_cert_verifier(verifier)
        .with_single_cert(identity.chain(), identity.key())
        .map_err(NetError::TlsConfig)?;
    tls.alpn_protocols = vec![ALPN.to_vec()];
    // No resumption: every connection presents and checks certificates.
    tls.session_storage = Arc::new(NoServerSessionStorage {});
    tls.send_tls13_tickets = 0;
    let quic = QuicServerConfig::try_from(tls)
        .map_err(|e| NetError::Options(format!("TLS suite unusable for QUIC: {e}")))?;
    let mut config = quinn::ServerConfig::with_crypto(Arc::new(quic));
    config.transport_config(transport);
    Ok(config)
}

fn client_config(
    identity: &Identity,
    transport: Arc<TransportConfig>,
) -> Result<quinn::ClientConfig> {
    let mut tls = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(NetError::TlsConfig)?
        .with_root_certificates(identity.roots()?)
        .with_client_auth_cert(identity.chain(), identity.key())
        .map_err(NetError::TlsConfig)?;
    tls.alpn_protocols = vec![ALPN.to_vec()];
    tls.resumption = Resumption::disabled();
    let quic = QuicClientConfig::try_from(tls)
        .map_err(|e| NetError::Options(format!("TLS suite unusable for QUIC: {e}")))?;
    let mut config = quinn::ClientConfig::new(Arc::new(quic));
    config.transport_config(transport);
    Ok(config)
}

impl Endpoint {
    /// Binds a UDP socket on `listen` (port 0: any free port) and starts
    /// accepting connections. Needs a running tokio runtime.
    pub fn bind(listen: SocketAddr, identity: &Identity, options: Options) -> Result<Endpoint> {
        options.validate()?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|e| NetError::Bind {
            addr: listen,
            source: std::io::Error::other(e),
        })?;
        let transport = transport(&options)?;
        let server = server_config(identity, transport.clone())?;
        let client = client_config(identity, transport)?;
        let mut endpoint = {
            // quinn finds the runtime from the calling context.
            let _guard = runtime.enter();
            quinn::Endpoint::server(server, listen).map_err(|source| NetError::Bind {
                addr: listen,
                source,
            })?
        };
        endpoint.set_default_client_config(client);

        let shared = Arc::new(Shared {
            chain: options.chain,
            max_message: options.max_message,
            handshake_timeout: options.handshake_timeout,
        });
        let (tx, rx) = mpsc::channel(ACCEPT_QUEUE);
        let acceptor = runtime.spawn(accept_loop(endpoint.clone(), shared.clone(), tx));
        tracing::debug!(node = identity.node_name(), addr = ?endpoint.local_addr().ok(), "QUIC endpoint bound");
        Ok(Endpoint {
            endpoint,
            node: identity.node_name().to_owned(),
            shared,
            incoming: Mutex::new(rx),
            acceptor,
        })
    }

    /// This node's name.
    pub fn node_name(&self) -> &str {
        &self.node
    }

    /// The chain name from the options.
    pub fn chain(&self) -> &str {
        &self.shared.chain
    }

    /// The address the socket is bound to (with the real port when bound
    /// to port 0).
    pub fn local_addr(&self) -> Result<SocketAddr> {
        self.endpoint.local_addr().map_err(|source| NetError::Bind {
            addr: SocketAddr::from(([0, 0, 0, 0], 0)),
            source,
        })
    }

    /// Connects to node `peer_name` at `addr`: checks that its certificate
    /// is signed by the chain CA and valid for `peer_name`, that the node
    /// it names is `peer_name` ([`NetError::WrongPeer`] otherwise), opens
    /// the message stream and checks the peer is of the same chain.
    pub async fn connect(&self, peer_name: &str, addr: SocketAddr) -> Result<Connection> {
        let connecting =
            self.endpoint
                .connect(addr, peer_name)
                .map_err(|source| NetError::Connect {
                    peer: peer_name.to_owned(),
                    addr,
                    source,
                })?;
        let shared = &self.shared;
        let work = async {
            let conn = connecting.await.map_err(|e| connection_error(e, addr))?;
            let got = authenticated_peer(&conn, addr)?;
            if got != peer_name {
                close_with(&conn, code::WRONG_PEER, "certificate names another node");
                return Err(NetError::WrongPeer {
                    expected: peer_name.to_owned(),
                    got,
                });
            }
            let (mut send, recv) = conn
                .open_bi()
                .await
                .map_err(|e| connection_error(e, addr))?;
            // quinn announces a stream with its first bytes: the hello.
            write_frame(&mut send, Bytes::from(shared.chain.clone().into_bytes()))
                .await
                .map_err(|e| hello_write_error(e, addr, &shared.chain))?;
            let mut reader = Reader::new(recv);
            let theirs = read_hello(&mut reader, addr, &shared.chain).await?;
            if theirs != shared.chain {
                close_with(&conn, code::WRONG_CHAIN, &shared.chain);
                return Err(NetError::WrongChain {
                    expected: shared.chain.clone(),
                    got: theirs,
                });
            }
            Ok(Connection::new(got, conn, send, reader, shared.max_message))
        };
        match tokio::time::timeout(shared.handshake_timeout, work).await {
            Ok(result) => result,
            Err(_) => Err(NetError::TimedOut { addr }),
        }
    }

    /// The next incoming connection, authenticated and with its message
    /// stream open; `Some(Err(..))` for a connection attempt that failed
    /// (a certificate from another chain, a protocol violation, ...), so
    /// the caller can log it and call again; `None` once the endpoint is
    /// closed. Handshakes run in the background, so a slow peer does not
    /// hold up the others. Cancel-safe.
    pub async fn accept(&self) -> Option<Result<Connection>> {
        self.incoming.lock().await.recv().await
    }

    /// Closes every connection (an orderly close, with `reason`) and stops
    /// accepting: [`accept`](Endpoint::accept) then gives `None`.
    pub fn close(&self, reason: &str) {
        self.endpoint
            .close(VarInt::from_u32(code::NORMAL), reason.as_bytes());
        self.acceptor.abort();
    }

    /// Waits until all connections are closed and their close has been
    /// sent to the peers (bounded by the idle timeout). Use after
    /// [`close`](Endpoint::close) before exiting the process.
    pub async fn wait_idle(&self) {
        self.endpoint.wait_idle().await;
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.close("endpoint shut down");
    }
}

/// Accepts incoming connections until the endpoint closes, completing each
/// handshake in its own task.
async fn accept_loop(
    endpoint: quinn::Endpoint,
    shared: Arc<Shared>,
    tx: mpsc::Sender<Result<Connection>>,
) {
    while let Some(incoming) = endpoint.accept().await {
        let tx = tx.clone();
        let shared = shared.clone();
        tokio::spawn(async move {
            let addr = incoming.remote_address();
            let result =
                match tokio::time::timeout(shared.handshake_timeout, accept_one(incoming, &shared))
                    .await
                {
                    Ok(result) => result,
                    Err(_) => Err(NetError::TimedOut { addr }),
                };
            match result {
                Ok(conn) => {
                    tracing::debug!(peer = conn.peer(), %addr, "accepted connection");
                    // Waits while the queue is full; if the endpoint is
                    // gone, dropping the connection closes it.
                    let _ = tx.send(Ok(conn)).await;
                }
                Err(e) => {
                    tracing::debug!(%addr, error = %e, "refused incoming connection");
                    // Failed attempts are reported when there is room, not
                    // queued without bound.
                    let _ = tx.try_send(Err(e));
                }
            }
        });
    }
}

async fn accept_one(incoming: quinn::Incoming, shared: &Shared) -> Result<Connection> {
    let addr = incoming.remote_address();
    let conn = incoming.await.map_err(|e| connection_error(e, addr))?;
    let peer = authenticated_peer(&conn, addr)?;
    let (mut send, recv) = conn
        .accept_bi()
        .await
        .map_err(|e| connection_error(e, addr))?;
    let mut reader = Reader::new(recv);
    let theirs = read_hello(&mut reader, addr, &shared.chain).await?;
    write_frame(&mut send, Bytes::from(shared.chain.clone().into_bytes()))
        .await
        .map_err(|e| hello_write_error(e, addr, &shared.chain))?;
    if theirs != shared.chain {
        close_with(&conn, code::WRONG_CHAIN, &shared.chain);
        return Err(NetError::WrongChain {
            expected: shared.chain.clone(),
            got: theirs,
        });
    }
    Ok(Connection::new(
        peer,
        conn,
        send,
        reader,
        shared.max_message,
    ))
}

/// The node name in the peer's certificate (which rustls has verified
/// against the chain CA during the handshake).
fn authenticated_peer(conn: &quinn::Connection, addr: SocketAddr) -> Result<String> {
    let certs = conn
        .peer_identity()
        .and_then(|any| any.downcast::<Vec<CertificateDer<'static>>>().ok());
    let Some(cert) = certs.as_ref().and_then(|c| c.first()) else {
        close_with(conn, code::PROTOCOL, "no certificate");
        return Err(NetError::Tls {
            addr,
            reason: "the peer presented no certificate".to_owned(),
        });
    };
    node_name(cert).map_err(|reason| {
        close_with(conn, code::PROTOCOL, "certificate names no node");
        NetError::Certificate {
            what: format!("certificate of the peer at {addr}"),
            reason,
        }
    })
}

/// If the peer closed the connection because our chains differ, the close
/// reason is its chain.
fn wrong_chain(err: &quinn::ConnectionError, ours: &str) -> Option<NetError> {
    match err {
        quinn::ConnectionError::ApplicationClosed(c)
            if c.error_code == VarInt::from_u32(code::WRONG_CHAIN) =>
        {
            Some(NetError::WrongChain {
                expected: ours.to_owned(),
                got: String::from_utf8_lossy(&c.reason).into_owned(),
            })
        }
        _ => None,
    }
}

fn hello_write_error(err: quinn::WriteError, addr: SocketAddr, ours: &str) -> NetError {
    match err {
        quinn::WriteError::ConnectionLost(e) => {
            wrong_chain(&e, ours).unwrap_or_else(|| connection_error(e, addr))
        }
        other => NetError::Protocol {
            reason: format!("cannot send the hello: {other}"),
        },
    }
}

async fn read_hello(reader: &mut Reader, addr: SocketAddr, ours: &str) -> Result<String> {
    let protocol = |reason: &str| NetError::Protocol {
        reason: reason.to_owned(),
    };
    match reader.read_frame(MAX_HELLO).await {
        Ok(Some(hello)) => {
            String::from_utf8(hello.to_vec()).map_err(|_| protocol("the hello is not UTF-8"))
        }
        Ok(None) | Err(FrameError::Truncated) => Err(protocol("the stream ended before the hello")),
        Err(FrameError::TooLarge(_)) => Err(protocol("the hello is too long")),
        Err(FrameError::Read(quinn::ReadError::ConnectionLost(e))) => {
            Err(wrong_chain(&e, ours).unwrap_or_else(|| connection_error(e, addr)))
        }
        Err(FrameError::Read(e)) => Err(NetError::Protocol {
            reason: format!("cannot read the hello: {e}"),
        }),
    }
}
