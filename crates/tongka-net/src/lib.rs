//! tongka peer transport: the only crate that knows QUIC (quinn), TLS
//! (rustls) and mDNS (mdns-sd). It moves opaque messages (`Bytes`) between
//! authenticated nodes; what the messages mean is defined elsewhere.
//!
//! - [`Identity::load`] reads a node's chain CA certificate, certificate and
//!   key (as written by `tongka chain new`).
//! - [`Endpoint::bind`] opens one QUIC endpoint that both accepts and dials,
//!   with mutual TLS: each side presents a certificate signed by the chain
//!   CA, the only root either trusts, and the node name in it (common name,
//!   or first DNS name) is the peer's authenticated identity
//!   ([`Connection::peer`]). ALPN [`ALPN`]. Keep-alives and an idle timeout
//!   ([`Options`]) make a dead peer show within seconds
//!   ([`Connection::closed`]).
//! - [`Endpoint::connect`] / [`Endpoint::accept`] give a [`Connection`]: one
//!   long-lived bidirectional stream, opened by the dialling side, carrying
//!   messages framed as a big-endian `u32` length and the payload.
//!   [`Connection::send`] waits for flow control (back-pressure);
//!   [`Connection::recv`] gives whole messages in order.
//! - [`Discovery::start`] advertises the node over mDNS and reports peers of
//!   the same chain ([`Found`]). It only finds peers, never declares one
//!   gone.
//!
//! - [`https::Acceptor`] is the HTTP API's TLS: a server certificate and
//!   key (PEM) for tills' browsers on the LAN; `tongka_api::serve_tls`
//!   uses it.
//!
//! - [`OpKey`] signs the ops this node authors with its certificate's
//!   Ed25519 key; [`Trust`] learns the chain's node certificates (checked
//!   against the chain CA, kept on disk) and verifies op signatures.
//!
//! Stream protocol: after the TLS handshake the dialling side opens the
//! stream and sends a hello frame holding its chain name; the accepting
//! side answers with its own; then both sides exchange message frames.
//! A message above the maximum size closes the connection.

mod connection;
mod discovery;
mod endpoint;
mod error;
pub mod https;
mod identity;
mod trust;

pub use bytes::Bytes;
pub use connection::Connection;
pub use discovery::{Discovery, Found, SERVICE_TYPE};
pub use endpoint::{ALPN, DEFAULT_MAX_MESSAGE, Endpoint, Options};
pub use error::{NetError, Result};
pub use identity::Identity;
pub use trust::{CertRole, OpKey, SignedItem, Trust, TrustError};
