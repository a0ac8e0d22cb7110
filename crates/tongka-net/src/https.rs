//! The TLS side of the HTTP API's HTTPS (tills reach the back-office PC
//! over the shop's LAN): an [`Acceptor`] built from a PEM certificate
//! chain and key, turning an accepted TCP stream into a TLS stream.
//!
//! It lives here, not in `tongka-api`, so that rustls stays known to this
//! crate only; `tongka_api::serve_tls` bounds the handshake by its
//! header-read timeout and counts it under its connection cap.
//!
//! The server certificate is not checked against the chain CA here: a
//! shop may use a certificate from another CA (say its own). The
//! browser is what checks it. TLS 1.3 and 1.2 (older tills' browsers),
//! ALPN `http/1.1` (the API serves HTTP/1 only), ring as everywhere in
//! this crate. No client certificates: staff sign in at the API.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::error::{NetError, Result};
use crate::identity::provider;

/// What the acceptor offers by ALPN: the API serves HTTP/1.1 only.
pub const HTTPS_ALPN: &[u8] = b"http/1.1";

/// Accepts TLS connections of the HTTP API with one server certificate.
/// Cheap to clone (the configuration is shared).
#[derive(Clone)]
pub struct Acceptor {
    inner: tokio_rustls::TlsAcceptor,
}

impl std::fmt::Debug for Acceptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Acceptor").finish_non_exhaustive()
    }
}

impl Acceptor {
    /// Reads the certificate chain (server certificate first, then any
    /// intermediates) and its private key from PEM files.
    pub fn load(cert: &Path, key: &Path) -> Result<Acceptor> {
        let read = |what: &str, path: &Path| {
            std::fs::read(path).map_err(|source| NetError::Io {
                what: format!("{what} {}", path.display()),
                source,
            })
        };
        let cert_pem = read("HTTPS certificate", cert)?;
        let key_pem = read("HTTPS key", key)?;
        Acceptor::from_pem_labelled(
            &format!("HTTPS certificate {}", cert.display()),
            &cert_pem,
            &format!("HTTPS key {}", key.display()),
            &key_pem,
        )
    }

    /// [`Acceptor::load`] from PEM text held in memory.
    pub fn from_pem(cert_chain: &[u8], key: &[u8]) -> Result<Acceptor> {
        Acceptor::from_pem_labelled("HTTPS certificate", cert_chain, "HTTPS key", key)
    }

    fn from_pem_labelled(
        cert_what: &str,
        cert_pem: &[u8],
        key_what: &str,
        key_pem: &[u8],
    ) -> Result<Acceptor> {
        let err = |what: &str, reason: String| NetError::Certificate {
            what: what.to_owned(),
            reason,
        };
        let chain = CertificateDer::pem_slice_iter(cert_pem)
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| err(cert_what, format!("bad PEM: {e}")))?;
        if chain.is_empty() {
            return Err(err(cert_what, "no CERTIFICATE in it".to_owned()));
        }
        let key = PrivateKeyDer::from_pem_slice(key_pem)
            .map_err(|e| err(key_what, format!("no usable private key: {e}")))?;
        let provider = provider();
        // A key that is not the certificate's fails here, at start, not at
        // every till's handshake.
        CertifiedKey::from_der(chain.clone(), key.clone_key(), &provider)
            .map_err(|e| err(key_what, format!("does not fit {cert_what}: {e}")))?;
        let mut tls = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(NetError::TlsConfig)?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(NetError::TlsConfig)?;
        tls.alpn_protocols = vec![HTTPS_ALPN.to_vec()];
        Ok(Acceptor {
            inner: tokio_rustls::TlsAcceptor::from(Arc::new(tls)),
        })
    }

    /// Runs the server side of the TLS handshake on `tcp` and gives the
    /// stream to serve HTTP on. Not bounded in time: the caller bounds it
    /// (a client that never sends its ClientHello would hold it forever).
    pub async fn accept(
        &self,
        tcp: TcpStream,
    ) -> std::io::Result<impl AsyncRead + AsyncWrite + Unpin + Send + 'static> {
        self.inner.accept(tcp).await
    }
}
