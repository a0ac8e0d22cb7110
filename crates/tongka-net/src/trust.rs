//! Per-op origin signatures: the node's op-signing key ([`OpKey`]) and the
//! certificates of the chain's nodes it knows ([`Trust`]).
//!
//! A node's certificate key is Ed25519 (`tongka chain new` makes it so): the
//! key that authenticates the node in TLS 1.3 also signs every op the node
//! authors, so the certificate that names the node, signed by the chain CA,
//! also certifies its op signatures; nothing else has to be issued or
//! distributed. (TLS 1.3 signs a context string starting with 64 spaces;
//! what signs ops starts with `tongka op batch v1`: the two uses cannot be
//! confused.)
//!
//! A node verifies an op with the certificate of the op's origin, which it
//! may never have connected to: peers send each other the certificates they
//! know when a connection opens and whenever they learn one, before any op
//! of that origin on the same ordered stream. A certificate is learnt only
//! if it chains to the chain CA and names a node; it is kept in a folder so
//! a restart keeps it.

use std::collections::HashMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};

use crate::identity::{Identity, node_name, provider};

/// The Ed25519 algorithm identifier (1.3.101.112), DER-encoded content.
const ED25519_OID: &str = "1.3.101.112";

/// What a node's certificate says it is (its organisational unit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CertRole {
    Store,
    Hq,
}

/// Why a certificate or an op signature is not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TrustError {
    #[error("certificate not of this chain: {0}")]
    NotOfChain(String),
    #[error("certificate unusable for op signatures: {0}")]
    Unusable(String),
    #[error("no certificate known for origin {0}")]
    UnknownOrigin(String),
    #[error("signature of {0} does not verify")]
    BadSignature(String),
    #[error("cannot keep the certificate of {node}: {reason}")]
    Store { node: String, reason: String },
}

/// The key this node signs its ops with: the private key of its chain
/// certificate.
pub struct OpKey {
    key: SigningKey,
}

impl fmt::Debug for OpKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpKey").finish_non_exhaustive()
    }
}

impl OpKey {
    /// The op key of `identity`: its certificate's key, which must be
    /// Ed25519 (certificates made by an older `tongka chain new` are ECDSA:
    /// reissue them).
    pub fn from_identity(identity: &Identity) -> Result<OpKey, TrustError> {
        let PrivateKeyDer::Pkcs8(pkcs8) = identity.key() else {
            return Err(TrustError::Unusable(
                "the node key is not an Ed25519 PKCS#8 key".into(),
            ));
        };
        let seed = ed25519_seed(pkcs8.secret_pkcs8_der()).ok_or_else(|| {
            TrustError::Unusable("the node key is not Ed25519 (reissue the node's certificate with this version's `tongka chain new` or `add-store`)".into())
        })?;
        let key = SigningKey::from_bytes(&seed);
        let cert = identity
            .chain()
            .into_iter()
            .next()
            .expect("checked at load");
        let (_, public) = cert_key(&cert)?;
        if public != key.verifying_key() {
            return Err(TrustError::Unusable(
                "the node key does not fit its certificate".into(),
            ));
        }
        Ok(OpKey { key })
    }

    /// The Ed25519 signature of `bytes`.
    pub fn sign(&self, bytes: &[u8]) -> [u8; 64] {
        self.key.sign(bytes).to_bytes()
    }
}

/// The 32-byte seed of an Ed25519 private key in PKCS#8 (v1, or v2 with
/// the public key), as RFC 8410 lays it out.
fn ed25519_seed(der: &[u8]) -> Option<[u8; 32]> {
    // SEQUENCE { INTEGER 0|1, SEQUENCE { OID 1.3.101.112 }, OCTET STRING {
    // OCTET STRING (32) } ... }
    const ALG: [u8; 11] = [
        0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
    ];
    if der.len() < 48 || der[0] != 0x30 || der[2..4] != [0x02, 0x01] || der[4] > 1 {
        return None;
    }
    if der[5..16] != ALG {
        return None;
    }
    der[16..48].try_into().ok()
}

/// The node name and Ed25519 public key a certificate states.
fn cert_key(cert: &CertificateDer<'_>) -> Result<(CertRole, VerifyingKey), TrustError> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref())
        .map_err(|e| TrustError::NotOfChain(format!("cannot parse: {e}")))?;
    let spki = parsed.public_key();
    if spki.algorithm.algorithm.to_id_string() != ED25519_OID {
        return Err(TrustError::Unusable("its key is not Ed25519".into()));
    }
    let bytes: [u8; 32] = spki
        .subject_public_key
        .data
        .as_ref()
        .try_into()
        .map_err(|_| TrustError::Unusable("Ed25519 key of the wrong length".into()))?;
    let key = VerifyingKey::from_bytes(&bytes)
        .map_err(|e| TrustError::Unusable(format!("bad Ed25519 key: {e}")))?;
    if key.is_weak() {
        return Err(TrustError::Unusable("weak Ed25519 key".into()));
    }
    let role = match parsed
        .subject()
        .iter_organizational_unit()
        .next()
        .and_then(|ou| ou.as_str().ok())
    {
        Some("store") => CertRole::Store,
        Some("hq") => CertRole::Hq,
        other => {
            return Err(TrustError::Unusable(format!(
                "it states no role (organisational unit {other:?}, expected \"store\" or \"hq\")"
            )));
        }
    };
    Ok((role, key))
}

/// A node certificate learnt and checked.
struct Known {
    der: Vec<u8>,
    role: CertRole,
    key: VerifyingKey,
}

/// Signatures gathered for one batch verification.
#[derive(Default)]
struct Batch<'a> {
    messages: Vec<&'a [u8]>,
    signatures: Vec<Signature>,
    keys: Vec<VerifyingKey>,
    roles: Vec<CertRole>,
}

#[derive(Default)]
struct Inner {
    /// By node name: every certificate learnt for it (a reissued node has
    /// two; ops signed with either verify).
    by_node: HashMap<String, Vec<Arc<Known>>>,
    /// Every certificate learnt, in learning order (what peers are sent).
    order: Vec<Vec<u8>>,
}

/// The chain CA and the node certificates this node knows, checked against
/// it; verifies op signatures.
pub struct Trust {
    verifier: Arc<WebPkiServerVerifier>,
    inner: RwLock<Inner>,
    dir: Option<PathBuf>,
}

impl fmt::Debug for Trust {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Trust")
            .field("certs", &self.len())
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

/// One op signature to check: `(origin, signed bytes, signature)`.
pub type SignedItem<'a> = (&'a str, &'a [u8], &'a [u8]);

impl Trust {
    /// Trust under `identity`'s chain CA, knowing `identity`'s own
    /// certificate and those kept in `dir` (created if missing; `None`:
    /// nothing kept across restarts). Kept certificates are checked again;
    /// one that no longer passes is skipped with a warning.
    pub fn new(identity: &Identity, dir: Option<&Path>) -> Result<Trust, TrustError> {
        let roots = identity
            .roots()
            .map_err(|e| TrustError::NotOfChain(e.to_string()))?;
        let verifier = WebPkiServerVerifier::builder_with_provider(roots, provider())
            .build()
            .map_err(|e| TrustError::NotOfChain(e.to_string()))?;
        let trust = Trust {
            verifier,
            inner: RwLock::new(Inner::default()),
            dir: dir.map(Path::to_path_buf),
        };
        if let Some(dir) = dir {
            std::fs::create_dir_all(dir).map_err(|e| TrustError::Store {
                node: "*".into(),
                reason: format!("creating {}: {e}", dir.display()),
            })?;
            let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
                .map_err(|e| TrustError::Store {
                    node: "*".into(),
                    reason: format!("reading {}: {e}", dir.display()),
                })?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "pem"))
                .collect();
            files.sort();
            for path in files {
                let certs = std::fs::read(&path)
                    .ok()
                    .map(|pem| {
                        CertificateDer::pem_slice_iter(&pem)
                            .filter_map(|c| c.ok())
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default();
                for c in certs {
                    if let Err(e) = trust.learn_inner(c.as_ref(), false) {
                        tracing::warn!(file = %path.display(), error = %e, "skipping a kept certificate");
                    }
                }
            }
        }
        let own = identity
            .chain()
            .into_iter()
            .next()
            .expect("checked at load");
        trust.learn(own.as_ref())?;
        Ok(trust)
    }

    /// Check a node certificate against the chain CA and remember it (and
    /// keep it on disk before this returns). `Ok(Some(node))` if it is new.
    pub fn learn(&self, der: &[u8]) -> Result<Option<String>, TrustError> {
        self.learn_inner(der, true)
    }

    fn learn_inner(&self, der: &[u8], keep: bool) -> Result<Option<String>, TrustError> {
        {
            let inner = self.inner.read().expect("trust lock");
            if inner.order.iter().any(|c| c == der) {
                return Ok(None);
            }
        }
        let cert = CertificateDer::from(der.to_vec());
        let node = node_name(&cert).map_err(TrustError::NotOfChain)?;
        if node.is_empty()
            || node.starts_with('.')
            || !node
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        {
            return Err(TrustError::NotOfChain(format!(
                "names no usable node: {node:?}"
            )));
        }
        let name = ServerName::try_from(node.clone())
            .map_err(|e| TrustError::NotOfChain(format!("node name {node:?}: {e}")))?;
        self.verifier
            .verify_server_cert(&cert, &[], &name, &[], UnixTime::now())
            .map_err(|e| TrustError::NotOfChain(format!("{node}: {e}")))?;
        let (role, key) = cert_key(&cert)?;
        let mut inner = self.inner.write().expect("trust lock");
        if inner.order.iter().any(|c| c == der) {
            return Ok(None);
        }
        let certs = inner.by_node.entry(node.clone()).or_default();
        certs.push(Arc::new(Known {
            der: der.to_vec(),
            role,
            key,
        }));
        if keep && let Some(dir) = &self.dir {
            let pem: String = certs.iter().map(|k| pem_cert(&k.der)).collect();
            if let Err(e) = write_atomic(&dir.join(format!("{node}.pem")), pem.as_bytes()) {
                certs.pop();
                return Err(TrustError::Store {
                    node,
                    reason: e.to_string(),
                });
            }
        }
        inner.order.push(der.to_vec());
        Ok(Some(node))
    }

    /// How many certificates are known (every index below it is valid for
    /// `certs_from`).
    pub fn len(&self) -> usize {
        self.inner.read().expect("trust lock").order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The known certificates (DER) from index `from` on, in learning order.
    pub fn certs_from(&self, from: usize) -> Vec<Vec<u8>> {
        let inner = self.inner.read().expect("trust lock");
        inner.order.get(from..).unwrap_or_default().to_vec()
    }

    /// The stores of the chain whose certificates this node knows, sorted.
    pub fn stores(&self) -> Vec<String> {
        let inner = self.inner.read().expect("trust lock");
        let mut out: Vec<String> = inner
            .by_node
            .iter()
            .filter(|(_, v)| v.first().is_some_and(|k| k.role == CertRole::Store))
            .map(|(n, _)| n.clone())
            .collect();
        out.sort();
        out
    }

    /// The role of `node` by its certificate, if known.
    pub fn role(&self, node: &str) -> Option<CertRole> {
        let inner = self.inner.read().expect("trust lock");
        inner.by_node.get(node)?.first().map(|k| k.role)
    }

    fn keys(&self, origin: &str) -> Result<Vec<Arc<Known>>, TrustError> {
        let inner = self.inner.read().expect("trust lock");
        match inner.by_node.get(origin) {
            Some(v) if !v.is_empty() => Ok(v.clone()),
            _ => Err(TrustError::UnknownOrigin(origin.to_owned())),
        }
    }

    /// Verify that `sig` is `origin`'s signature of `bytes`; its role if so.
    pub fn verify(&self, origin: &str, bytes: &[u8], sig: &[u8]) -> Result<CertRole, TrustError> {
        let keys = self.keys(origin)?;
        let sig =
            Signature::from_slice(sig).map_err(|_| TrustError::BadSignature(origin.to_owned()))?;
        keys.iter()
            .find(|k| k.key.verify_strict(bytes, &sig).is_ok())
            .map(|k| k.role)
            .ok_or_else(|| TrustError::BadSignature(origin.to_owned()))
    }

    /// [`Trust::verify`] of many items, batched (Ed25519 batch verification
    /// costs about a third of single verifications); an item of a failed
    /// batch is verified alone, so each answer is that of `verify`.
    pub fn verify_all(&self, items: &[SignedItem<'_>]) -> Vec<Result<CertRole, TrustError>> {
        let mut batch = Some(Batch::default());
        let mut cache: HashMap<&str, Result<Vec<Arc<Known>>, TrustError>> = HashMap::new();
        for (origin, bytes, sig) in items {
            let keys = cache.entry(origin).or_insert_with(|| self.keys(origin));
            match (keys, Signature::from_slice(sig), &mut batch) {
                (Ok(keys), Ok(sig), Some(b)) if keys.len() == 1 => {
                    b.messages.push(bytes);
                    b.signatures.push(sig);
                    b.keys.push(keys[0].key);
                    b.roles.push(keys[0].role);
                }
                _ => batch = None,
            }
        }
        if let Some(b) = batch
            && !b.messages.is_empty()
            && ed25519_dalek::verify_batch(&b.messages, &b.signatures, &b.keys).is_ok()
        {
            return b.roles.into_iter().map(Ok).collect();
        }
        items
            .iter()
            .map(|(origin, bytes, sig)| self.verify(origin, bytes, sig))
            .collect()
    }
}

fn pem_cert(der: &[u8]) -> String {
    const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut b64 = String::with_capacity(der.len() * 4 / 3 + 4);
    for chunk in der.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | (u32::from(b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                b64.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                b64.push('=');
            }
        }
    }
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("ascii"));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

/// Write `bytes` to `path` durably: a temporary file, synced, renamed over.
fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("pem.tmp");
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent()
        && let Ok(d) = std::fs::File::open(dir)
    {
        let _ = d.sync_all();
    }
    Ok(())
}
