//! The chain's certificates (rcgen): a self-signed chain CA and, signed by
//! it, one certificate per node whose common name and DNS SAN are the node
//! name, usable for both ends of mutual TLS; and, when asked, a node's
//! HTTPS server certificate for the tills' browsers.

use std::path::Path;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};

use crate::Role;
use crate::error::{ConfigError, Result};
use crate::fsutil;

/// Common name of the chain CA certificate.
pub(crate) const CA_COMMON_NAME: &str = "tongka chain CA";

/// A certificate and its private key, PEM-encoded.
pub(crate) struct Pem {
    pub(crate) cert: String,
    pub(crate) key: String,
}

/// Validity of every certificate. Wide on purpose: a back-office PC with a
/// wrong clock (a flat CMOS battery resets it to 2000) must still join its
/// chain; trust comes from the chain CA, and a node is retired by removing
/// it from the chain, not by expiry.
fn set_validity(params: &mut CertificateParams) {
    params.not_before = rcgen::date_time_ymd(2000, 1, 1);
    params.not_after = rcgen::date_time_ymd(2100, 1, 1);
}

fn cert_err(what: impl Into<String>) -> impl FnOnce(rcgen::Error) -> ConfigError {
    let what = what.into();
    move |source| ConfigError::Certificate { what, source }
}

/// Creates a new chain CA: its certificate and key, and the issuer that
/// signs node certificates with it.
pub(crate) fn new_ca() -> Result<(Pem, Issuer<'static, KeyPair>)> {
    let key = KeyPair::generate().map_err(cert_err("the chain CA key"))?;
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "tongka");
    dn.push(DnType::CommonName, CA_COMMON_NAME);
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    set_validity(&mut params);
    let cert = params
        .self_signed(&key)
        .map_err(cert_err("the chain CA certificate"))?;
    let pem = Pem {
        cert: cert.pem(),
        key: key.serialize_pem(),
    };
    Ok((pem, Issuer::new(params, key)))
}

/// Loads the issuer of an existing chain from its `ca.key` and `ca.pem`.
pub(crate) fn load_ca(key_path: &Path, cert_path: &Path) -> Result<Issuer<'static, KeyPair>> {
    let key_pem = fsutil::read(key_path)?;
    let cert_pem = fsutil::read(cert_path)?;
    let key = KeyPair::from_pem(&key_pem).map_err(|source| ConfigError::CaLoad {
        path: key_path.to_path_buf(),
        source,
    })?;
    Issuer::from_ca_cert_pem(&cert_pem, key).map_err(|source| ConfigError::CaLoad {
        path: cert_path.to_path_buf(),
        source,
    })
}

/// Issues a node certificate signed by `ca`: common name and DNS SAN
/// `name` (what peers verify), plus DNS SAN `localhost`; organisational unit
/// `role` (`store` or `hq`: what the node may author); good for TLS server
/// and client authentication.
///
/// The node's key is Ed25519: the same key authenticates the node in TLS
/// 1.3 and signs every op the node authors (`tongka-net`'s `OpKey`), so
/// the certificate that names the node also certifies its op signatures.
pub(crate) fn issue_node_cert(ca: &Issuer<'_, KeyPair>, name: &str, role: Role) -> Result<Pem> {
    let what = || format!("the certificate of node {name}");
    let key = KeyPair::generate_for(&rcgen::PKCS_ED25519)
        .map_err(cert_err(format!("the key of node {name}")))?;
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "tongka");
    dn.push(DnType::OrganizationalUnitName, role.as_str());
    dn.push(DnType::CommonName, name);
    params.distinguished_name = dn;
    params.subject_alt_names = [name, "localhost"]
        .into_iter()
        .map(|n| n.try_into().map(SanType::DnsName))
        .collect::<std::result::Result<_, _>>()
        .map_err(cert_err(what()))?;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    params.use_authority_key_identifier_extension = true;
    set_validity(&mut params);
    let cert = params.signed_by(&key, ca).map_err(cert_err(what()))?;
    Ok(Pem {
        cert: cert.pem(),
        key: key.serialize_pem(),
    })
}

/// Issues a node's HTTPS server certificate signed by `ca`: what a till's
/// browser checks when it opens the console over the LAN. Its subject
/// alternative names are `hosts` (each an IP address or a DNS name, as the
/// tills type them) then `localhost` and `127.0.0.1` (the back-office PC's
/// own browser), without repeats; extended key usage serverAuth only.
///
/// Its own key, ECDSA P-256, not the node's Ed25519 one: browsers
/// (Chrome, Edge) accept no Ed25519 server certificate, and a key that
/// sits in a web server's files is better kept apart from the key that
/// signs the node's ops.
pub(crate) fn issue_https_cert(
    ca: &Issuer<'_, KeyPair>,
    name: &str,
    hosts: &[String],
) -> Result<Pem> {
    let what = || format!("the HTTPS certificate of node {name}");
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
        .map_err(cert_err(format!("the HTTPS key of node {name}")))?;
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "tongka");
    dn.push(DnType::CommonName, name);
    params.distinguished_name = dn;
    let mut sans: Vec<SanType> = Vec::new();
    for host in hosts
        .iter()
        .map(String::as_str)
        .chain(["localhost", "127.0.0.1"])
    {
        let san = https_san(host).map_err(cert_err(what()))?;
        if !sans.contains(&san) {
            sans.push(san);
        }
    }
    params.subject_alt_names = sans;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    set_validity(&mut params);
    let cert = params.signed_by(&key, ca).map_err(cert_err(what()))?;
    Ok(Pem {
        cert: cert.pem(),
        key: key.serialize_pem(),
    })
}

/// A host a till reaches the node by, as a subject alternative name: an IP
/// address (v4 or v6) or a DNS name.
fn https_san(host: &str) -> std::result::Result<SanType, rcgen::Error> {
    match host.parse::<std::net::IpAddr>() {
        Ok(ip) => Ok(SanType::IpAddress(ip)),
        Err(_) => Ok(SanType::DnsName(host.to_ascii_lowercase().try_into()?)),
    }
}
