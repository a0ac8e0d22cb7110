//! A node's TLS identity: the chain CA it trusts, and its own certificate
//! and key.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::sign::CertifiedKey;

use crate::error::{NetError, Result};

/// The one crypto provider this crate uses (ring), passed explicitly so
/// that no process-wide default has to be installed.
pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A node's TLS identity: the chain CA certificate (the only root it
/// trusts), its certificate chain (node certificate first) and private key,
/// and its node name as its certificate states it.
pub struct Identity {
    node: String,
    ca: Vec<CertificateDer<'static>>,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl Clone for Identity {
    fn clone(&self) -> Self {
        Identity {
            node: self.node.clone(),
            ca: self.ca.clone(),
            chain: self.chain.clone(),
            key: self.key.clone_key(),
        }
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("node", &self.node)
            .field("ca_certs", &self.ca.len())
            .field("chain_certs", &self.chain.len())
            .finish_non_exhaustive()
    }
}

fn read(what: &str, path: &Path) -> Result<(String, Vec<u8>)> {
    let what = format!("{what} {}", path.display());
    match std::fs::read(path) {
        Ok(bytes) => Ok((what, bytes)),
        Err(source) => Err(NetError::Io { what, source }),
    }
}

fn cert_err(what: &str, reason: impl fmt::Display) -> NetError {
    NetError::Certificate {
        what: what.to_owned(),
        reason: reason.to_string(),
    }
}

fn parse_certs(what: &str, pem: &[u8]) -> Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| cert_err(what, format!("bad PEM: {e}")))?;
    if certs.is_empty() {
        return Err(cert_err(what, "no CERTIFICATE in it"));
    }
    Ok(certs)
}

impl Identity {
    /// Loads an identity from PEM files: the chain CA certificate
    /// (`ca.pem`), this node's certificate (`node.pem`, optionally followed
    /// by intermediates) and its private key (`node.key`). With
    /// `tongka_config::TlsFiles`: `Identity::load(&t.ca_cert, &t.cert,
    /// &t.key)`.
    ///
    /// Checks that the key matches the certificate, that the certificate
    /// names a node (common name, or else first DNS name), and that it is
    /// signed by the CA and valid for that name, so that a node configured
    /// with another chain's files fails here rather than at every
    /// handshake.
    pub fn load(ca_cert: &Path, cert: &Path, key: &Path) -> Result<Identity> {
        let (ca_what, ca_pem) = read("chain CA certificate", ca_cert)?;
        let (cert_what, cert_pem) = read("node certificate", cert)?;
        let (key_what, key_pem) = read("node key", key)?;
        Identity::from_pem_labelled(
            (&ca_what, &ca_pem),
            (&cert_what, &cert_pem),
            (&key_what, &key_pem),
        )
    }

    /// [`Identity::load`] from PEM text held in memory.
    pub fn from_pem(ca_cert: &[u8], cert: &[u8], key: &[u8]) -> Result<Identity> {
        Identity::from_pem_labelled(
            ("chain CA certificate", ca_cert),
            ("node certificate", cert),
            ("node key", key),
        )
    }

    fn from_pem_labelled(
        (ca_what, ca_pem): (&str, &[u8]),
        (cert_what, cert_pem): (&str, &[u8]),
        (key_what, key_pem): (&str, &[u8]),
    ) -> Result<Identity> {
        let ca = parse_certs(ca_what, ca_pem)?;
        let chain = parse_certs(cert_what, cert_pem)?;
        let key = PrivateKeyDer::from_pem_slice(key_pem)
            .map_err(|e| cert_err(key_what, format!("no usable private key: {e}")))?;

        let provider = provider();
        CertifiedKey::from_der(chain.clone(), key.clone_key(), &provider)
            .map_err(|e| cert_err(key_what, format!("does not fit {cert_what}: {e}")))?;

        let node = node_name(&chain[0]).map_err(|reason| cert_err(cert_what, reason))?;

        // Verify our own certificate the way peers will.
        let roots = root_store(&ca).map_err(|reason| cert_err(ca_what, reason))?;
        let verifier = WebPkiServerVerifier::builder_with_provider(roots, provider)
            .build()
            .map_err(|e| cert_err(ca_what, e))?;
        let name = ServerName::try_from(node.clone())
            .map_err(|e| cert_err(cert_what, format!("node name {node:?}: {e}")))?;
        verifier
            .verify_server_cert(&chain[0], &chain[1..], &name, &[], UnixTime::now())
            .map_err(|e| {
                cert_err(
                    cert_what,
                    format!("not valid for node {node} under {ca_what}: {e}"),
                )
            })?;

        Ok(Identity {
            node,
            ca,
            chain,
            key,
        })
    }

    /// This node's name, from its certificate.
    pub fn node_name(&self) -> &str {
        &self.node
    }

    /// This node's certificate (DER): what peers are given to verify its
    /// op signatures.
    pub fn certificate(&self) -> Vec<u8> {
        self.chain[0].as_ref().to_vec()
    }

    pub(crate) fn roots(&self) -> Result<Arc<RootCertStore>> {
        root_store(&self.ca).map_err(|reason| cert_err("chain CA certificate", reason))
    }

    pub(crate) fn chain(&self) -> Vec<CertificateDer<'static>> {
        self.chain.clone()
    }

    pub(crate) fn key(&self) -> PrivateKeyDer<'static> {
        self.key.clone_key()
    }
}

fn root_store(ca: &[CertificateDer<'static>]) -> std::result::Result<Arc<RootCertStore>, String> {
    let mut roots = RootCertStore::empty();
    for cert in ca {
        roots
            .add(cert.clone())
            .map_err(|e| format!("unusable as a trust anchor: {e}"))?;
    }
    Ok(Arc::new(roots))
}

/// The node name a certificate states: its subject common name, or else
/// its first DNS subject alternative name.
pub(crate) fn node_name(cert: &CertificateDer<'_>) -> std::result::Result<String, String> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref())
        .map_err(|e| format!("cannot parse the certificate: {e}"))?;
    if let Some(cn) = parsed.subject().iter_common_name().next() {
        return cn
            .as_str()
            .map(str::to_owned)
            .map_err(|e| format!("unreadable common name: {e}"));
    }
    let san = parsed
        .subject_alternative_name()
        .map_err(|e| format!("bad subject alternative names: {e}"))?;
    san.into_iter()
        .flat_map(|ext| ext.value.general_names.iter())
        .find_map(|name| match name {
            x509_parser::extensions::GeneralName::DNSName(dns) => Some((*dns).to_owned()),
            _ => None,
        })
        .ok_or_else(|| "names no node: no common name and no DNS name".to_owned())
}
