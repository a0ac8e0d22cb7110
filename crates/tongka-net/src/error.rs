//! The errors of this crate: one variant per cause.

use std::io;
use std::net::SocketAddr;

/// `Result` with [`NetError`].
pub type Result<T, E = NetError> = std::result::Result<T, E>;

/// Why a network operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetError {
    /// A certificate or key file could not be read.
    #[error("cannot read {what}: {source}")]
    Io {
        /// The file and its role, e.g. `node certificate /etc/tongka/node.pem`.
        what: String,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// A certificate or key is missing, malformed, not signed by the chain
    /// CA, or does not match the rest of the identity.
    #[error("{what}: {reason}")]
    Certificate {
        /// The certificate or key and where it came from.
        what: String,
        /// What is wrong with it.
        reason: String,
    },

    /// rustls refused to build a TLS configuration from the identity.
    #[error("TLS configuration: {0}")]
    TlsConfig(#[source] rustls::Error),

    /// Invalid [`Options`](crate::Options).
    #[error("invalid network options: {0}")]
    Options(String),

    /// The UDP socket could not be bound (or no tokio runtime is running).
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The requested address.
        addr: SocketAddr,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// A connection attempt could not even be started (bad server name,
    /// endpoint closed, unusable address).
    #[error("cannot connect to {peer} at {addr}: {source}")]
    Connect {
        /// The expected peer name.
        peer: String,
        /// The address dialled.
        addr: SocketAddr,
        /// The underlying error.
        #[source]
        source: quinn::ConnectError,
    },

    /// The TLS handshake failed: one side refused the other's certificate
    /// (not signed by the chain CA, or not valid for the expected name), or
    /// they share no ALPN protocol. `reason` says which side refused what.
    #[error("TLS handshake with {addr} failed: {reason}")]
    Tls {
        /// The peer's address.
        addr: SocketAddr,
        /// What went wrong, as reported by the side that detected it.
        reason: String,
    },

    /// The peer did not answer within the idle timeout (during the
    /// handshake: nothing listens there, or it is unreachable; later: the
    /// peer died or the network between us went away).
    #[error("no answer from {addr} within the timeout")]
    TimedOut {
        /// The peer's address.
        addr: SocketAddr,
    },

    /// The connection is closed, by either side, or was lost in a way that
    /// is neither a timeout nor a handshake failure.
    #[error("connection closed: {reason}")]
    Closed {
        /// Why, as far as known (the peer's close reason, or the transport
        /// error).
        reason: String,
    },

    /// A message exceeds the maximum message size. When received, the
    /// connection is closed too.
    #[error("message of {size} bytes exceeds the maximum of {max} bytes")]
    TooLarge {
        /// The message size.
        size: u64,
        /// The maximum.
        max: usize,
    },

    /// The peer's certificate is valid for the chain, but names another
    /// node than the one we meant to reach.
    #[error("expected peer {expected}, but its certificate names {got}")]
    WrongPeer {
        /// The node we dialled.
        expected: String,
        /// The node named by its certificate.
        got: String,
    },

    /// The peer is configured for another chain name (same CA, different
    /// `[node] chain`): a configuration mistake.
    #[error("peer belongs to chain {got:?}, this node to chain {expected:?}")]
    WrongChain {
        /// This node's chain.
        expected: String,
        /// The peer's chain.
        got: String,
    },

    /// The peer broke the stream protocol (no stream, a stream ended in the
    /// middle of a message, a bad hello).
    #[error("protocol violation by peer: {reason}")]
    Protocol {
        /// What it did.
        reason: String,
    },

    /// mDNS discovery failed.
    #[error("mDNS discovery: {0}")]
    Discovery(#[source] mdns_sd::Error),
}
