//! Local chains (`tongka chain new`): a directory holding a chain CA, one
//! sub-directory per node with its key, certificate, admin token and
//! `tongka.toml`, and `chain.json` listing the nodes; plus adding a store to
//! an existing chain.
//!
//! Layout, with `P` the base port and `i` the node's position (stores
//! `1..=N`, then `hq` at `N + 1`): HTTP on `127.0.0.1:P+i`, QUIC on
//! `127.0.0.1:P+100+i`.
//!
//! Given HTTPS hosts (`--https-host`, the names and IP addresses tills use
//! to reach a node), a node also gets an HTTPS server certificate signed
//! by the chain CA (`https.pem`, `https.key`) and its config serves the API
//! over TLS; tills trust it by trusting the chain CA (`ca.pem`). None
//! given: plain HTTP, no such files.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use rcgen::{Issuer, KeyPair};
use serde::{Deserialize, Serialize};

use crate::error::{ConfigError, Result};
use crate::fsutil::{self, Access};
use crate::member_code;
use crate::node::{
    ActorsSection, HttpSection, MemberCodeSection, QuicSection, Role, StorageSection, check_name,
    is_dns_name,
};
use crate::pki;
use crate::token::ensure_token;

/// Default base port of a local chain: store-1 gets HTTP 7101, QUIC 7201.
pub const DEFAULT_BASE_PORT: u16 = 7100;
/// A node's QUIC port is its HTTP port plus this.
pub const QUIC_PORT_OFFSET: u16 = 100;
/// Most stores `chain new` creates.
pub const MAX_STORES: u16 = 99;
/// The chain manifest, in the chain directory.
pub const MANIFEST_FILE: &str = "chain.json";
/// The chain CA certificate (PEM), in the chain directory.
pub const CA_CERT_FILE: &str = "ca.pem";
/// The chain CA private key (PEM, mode 0600), in the chain directory.
pub const CA_KEY_FILE: &str = "ca.key";
/// A node's configuration, in its directory.
pub const NODE_CONFIG_FILE: &str = "tongka.toml";
/// A node's certificate (PEM), in its directory.
pub const NODE_CERT_FILE: &str = "node.pem";
/// A node's private key (PEM, mode 0600), in its directory.
pub const NODE_KEY_FILE: &str = "node.key";
/// A node's HTTPS server certificate (PEM), in its directory, when it
/// serves HTTPS.
pub const HTTPS_CERT_FILE: &str = "https.pem";
/// Its private key (PEM, mode 0600), in its directory.
pub const HTTPS_KEY_FILE: &str = "https.key";
/// A node's admin token (mode 0600), in its directory.
pub const NODE_TOKEN_FILE: &str = "admin.token";
/// Name of the HQ node.
pub const HQ_NAME: &str = "hq";

/// What `tongka chain new` asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainNewOptions {
    /// The chain directory; created if missing; must not hold a chain.
    pub dir: PathBuf,
    /// Number of stores, `store-1 ..= store-N`: 1..=99.
    pub stores: u16,
    /// Also create the `hq` node.
    pub hq: bool,
    /// Base port (see the module documentation); default
    /// [`DEFAULT_BASE_PORT`].
    pub base_port: u16,
    /// The host names and IP addresses tills use to reach the nodes
    /// (`--https-host`, repeated): each node gets an HTTPS certificate for
    /// them (and `localhost`, `127.0.0.1`) and serves HTTPS. Empty: plain
    /// HTTP.
    pub https_hosts: Vec<String>,
}

impl ChainNewOptions {
    /// `stores` stores in `dir`, no HQ, default base port.
    pub fn new(dir: impl Into<PathBuf>, stores: u16) -> ChainNewOptions {
        ChainNewOptions {
            dir: dir.into(),
            stores,
            hq: false,
            base_port: DEFAULT_BASE_PORT,
            https_hosts: Vec::new(),
        }
    }
}

/// `chain.json`: the nodes of a local chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainManifest {
    /// Every node, stores first in order, then `hq`, then stores added
    /// later.
    pub nodes: Vec<NodeEntry>,
}

/// One node in `chain.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeEntry {
    /// Node name, e.g. `store-1`.
    pub name: String,
    /// `store` or `hq`.
    pub role: Role,
    /// HTTP API and console address.
    pub http: SocketAddr,
    /// QUIC replication address.
    pub quic: SocketAddr,
    /// The node's `tongka.toml`, relative to the chain directory.
    pub config: PathBuf,
    /// The node's admin token file, relative to the chain directory.
    pub token_file: PathBuf,
    /// Whether the node serves its API over HTTPS (its config names an
    /// HTTPS certificate). Absent from `chain.json` when false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub https: bool,
}

impl ChainManifest {
    /// Path of the manifest in chain directory `dir`.
    pub fn path(dir: impl AsRef<Path>) -> PathBuf {
        dir.as_ref().join(MANIFEST_FILE)
    }

    /// Reads `dir/chain.json`.
    pub fn load(dir: impl AsRef<Path>) -> Result<ChainManifest> {
        let path = ChainManifest::path(dir);
        let text = fsutil::read(&path)?;
        serde_json::from_str(&text).map_err(|source| ConfigError::Manifest { path, source })
    }

    /// The node called `name`.
    pub fn node(&self, name: &str) -> Option<&NodeEntry> {
        self.nodes.iter().find(|n| n.name == name)
    }

    fn to_json(&self, path: &Path) -> Result<String> {
        serde_json::to_string_pretty(self)
            .map(|json| json + "\n")
            .map_err(|source| ConfigError::Manifest {
                path: path.to_path_buf(),
                source,
            })
    }
}

impl NodeEntry {
    fn new(name: &str, role: Role, http_port: u16) -> NodeEntry {
        let localhost = IpAddr::V4(Ipv4Addr::LOCALHOST);
        NodeEntry {
            name: name.to_owned(),
            role,
            http: SocketAddr::new(localhost, http_port),
            quic: SocketAddr::new(localhost, http_port + QUIC_PORT_OFFSET),
            config: PathBuf::from(format!("{name}/{NODE_CONFIG_FILE}")),
            token_file: PathBuf::from(format!("{name}/{NODE_TOKEN_FILE}")),
            https: false,
        }
    }

    /// The URL of the node's console from this machine: `http://` or
    /// `https://`, and its HTTP address.
    pub fn console_url(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}/", self.http)
    }

    /// The node's directory inside chain directory `dir`.
    pub fn dir(&self, dir: impl AsRef<Path>) -> PathBuf {
        dir.as_ref().join(&self.name)
    }

    /// The node's `tongka.toml` inside chain directory `dir`.
    pub fn config_path(&self, dir: impl AsRef<Path>) -> PathBuf {
        dir.as_ref().join(&self.config)
    }

    /// The node's admin token file inside chain directory `dir`.
    pub fn token_path(&self, dir: impl AsRef<Path>) -> PathBuf {
        dir.as_ref().join(&self.token_file)
    }
}

/// Creates a local chain in `opts.dir`: the chain CA (`ca.pem`, `ca.key`),
/// for each of `store-1 ..= store-N` (and `hq`) a directory with `node.key`,
/// `node.pem` (signed by the CA; common name and DNS SAN = node name, DNS
/// SAN `localhost`), `admin.token`, `member-code.key` (the chain's
/// member-code key, derived from the CA key: see `member_code`) and
/// `tongka.toml` (every other node as a static peer), given HTTPS hosts
/// `https.pem` and `https.key` (see the module doc), and finally
/// `chain.json`.
///
/// Fails without writing anything if `dir/chain.json` exists, if the number
/// of stores or the ports are out of range, or if any of the files or node
/// directories to create already exists.
pub fn chain_new(opts: &ChainNewOptions) -> Result<ChainManifest> {
    let dir = &opts.dir;
    if !(1..=MAX_STORES).contains(&opts.stores) {
        return Err(ConfigError::StoreCountOutOfRange {
            dir: dir.clone(),
            stores: opts.stores,
        });
    }
    let count = usize::from(opts.stores) + usize::from(opts.hq);
    let highest = u32::from(opts.base_port) + u32::from(QUIC_PORT_OFFSET) + count as u32;
    if highest > u32::from(u16::MAX) {
        return Err(ConfigError::PortOverflow {
            dir: dir.clone(),
            base_port: opts.base_port,
            nodes: count,
            highest,
        });
    }
    let manifest_path = ChainManifest::path(dir);
    if manifest_path.exists() {
        return Err(ConfigError::ChainExists {
            path: manifest_path,
        });
    }
    check_https_hosts(dir, &opts.https_hosts)?;

    // `highest` fits in u16, so every port below does too.
    let port = |i: usize| opts.base_port + i as u16;
    let mut nodes: Vec<NodeEntry> = (1..=usize::from(opts.stores))
        .map(|i| NodeEntry::new(&format!("store-{i}"), Role::Store, port(i)))
        .collect();
    if opts.hq {
        nodes.push(NodeEntry::new(HQ_NAME, Role::Hq, port(count)));
    }
    for node in &mut nodes {
        node.https = !opts.https_hosts.is_empty();
    }

    let ca_cert_path = dir.join(CA_CERT_FILE);
    let ca_key_path = dir.join(CA_KEY_FILE);
    fsutil::ensure_absent(&ca_cert_path)?;
    fsutil::ensure_absent(&ca_key_path)?;
    for node in &nodes {
        fsutil::ensure_absent(&node.dir(dir))?;
    }

    fsutil::create_dir_all(dir)?;
    let (ca_pem, ca) = pki::new_ca()?;
    fsutil::write_new(&ca_key_path, ca_pem.key.as_bytes(), Access::Private)?;
    fsutil::write_new(&ca_cert_path, ca_pem.cert.as_bytes(), Access::Public)?;
    let code_key = member_code::key_from_ca(&ca_pem.key, &ca_key_path)?;

    for node in &nodes {
        let peers: Vec<&NodeEntry> = nodes.iter().filter(|n| n.name != node.name).collect();
        write_node(
            dir,
            &ca,
            &code_key,
            node,
            &peers,
            &opts.https_hosts,
            "tongka chain new",
        )?;
    }

    let manifest = ChainManifest { nodes };
    let json = manifest.to_json(&manifest_path)?;
    fsutil::write_new(&manifest_path, json.as_bytes(), Access::Public)?;
    Ok(manifest)
}

/// Adds store `name` to the chain in `dir`: issues its certificate from the
/// chain CA (`ca.key`, `ca.pem`), gives it the next free HTTP/QUIC port pair
/// (HTTP one above the highest HTTP port in use, QUIC 100 above that,
/// skipping ports already taken), writes `dir/<name>/` like [`chain_new`]
/// with every existing node as a static peer (and the chain's member-code
/// key, derived from `ca.key` as `chain new` did), and appends it to
/// `chain.json`. The existing nodes' configurations are left alone: they
/// learn of the new store through discovery. Plain HTTP: see
/// [`add_store_with_https`].
pub fn add_store(dir: impl AsRef<Path>, name: &str) -> Result<NodeEntry> {
    add_store_with_https(dir, name, &[])
}

/// [`add_store`], and if `https_hosts` (the names and IP addresses tills
/// use to reach the store) is not empty, an HTTPS certificate for them
/// signed by the chain CA, and a config that serves HTTPS.
pub fn add_store_with_https(
    dir: impl AsRef<Path>,
    name: &str,
    https_hosts: &[String],
) -> Result<NodeEntry> {
    let dir = dir.as_ref();
    check_https_hosts(dir, https_hosts)?;
    let manifest_path = ChainManifest::path(dir);
    check_name(name).map_err(|reason| ConfigError::InvalidName {
        path: dir.to_path_buf(),
        field: "store name".to_owned(),
        name: name.to_owned(),
        reason,
    })?;
    let mut manifest = ChainManifest::load(dir)?;
    if manifest.node(name).is_some() {
        return Err(ConfigError::NodeExists {
            path: manifest_path,
            name: name.to_owned(),
        });
    }
    let http_port = next_free_http_port(&manifest).ok_or_else(|| ConfigError::NoFreePorts {
        path: manifest_path.clone(),
    })?;
    let entry = NodeEntry {
        https: !https_hosts.is_empty(),
        ..NodeEntry::new(name, Role::Store, http_port)
    };
    fsutil::ensure_absent(&entry.dir(dir))?;

    let ca_key_path = dir.join(CA_KEY_FILE);
    let ca = pki::load_ca(&ca_key_path, &dir.join(CA_CERT_FILE))?;
    let code_key = member_code::key_from_ca(&fsutil::read(&ca_key_path)?, &ca_key_path)?;
    let peers: Vec<&NodeEntry> = manifest.nodes.iter().collect();
    write_node(
        dir,
        &ca,
        &code_key,
        &entry,
        &peers,
        https_hosts,
        "tongka chain add-store",
    )?;

    manifest.nodes.push(entry.clone());
    let json = manifest.to_json(&manifest_path)?;
    fsutil::replace(&manifest_path, json.as_bytes())?;
    Ok(entry)
}

/// The lowest HTTP port above the highest one in use such that it and its
/// QUIC port (+100) are both free and valid.
fn next_free_http_port(manifest: &ChainManifest) -> Option<u16> {
    let used: HashSet<u16> = manifest
        .nodes
        .iter()
        .flat_map(|n| [n.http.port(), n.quic.port()])
        .collect();
    let start = manifest
        .nodes
        .iter()
        .map(|n| n.http.port())
        .max()
        .unwrap_or(DEFAULT_BASE_PORT)
        .checked_add(1)?;
    (start..=u16::MAX - QUIC_PORT_OFFSET)
        .find(|&p| !used.contains(&p) && !used.contains(&(p + QUIC_PORT_OFFSET)))
}

/// Checks the HTTPS hosts before anything is written: each an IP address or
/// a DNS name.
fn check_https_hosts(dir: &Path, hosts: &[String]) -> Result<()> {
    match hosts
        .iter()
        .find(|h| h.parse::<IpAddr>().is_err() && !is_dns_name(h))
    {
        Some(host) => Err(ConfigError::InvalidHttpsHost {
            path: dir.to_path_buf(),
            host: host.clone(),
        }),
        None => Ok(()),
    }
}

/// Writes a node's directory: key, certificate, admin token, member-code
/// key, the HTTPS certificate and key if `https_hosts` is not empty,
/// configuration.
fn write_node(
    dir: &Path,
    ca: &Issuer<'_, KeyPair>,
    code_key: &[u8; 32],
    node: &NodeEntry,
    peers: &[&NodeEntry],
    https_hosts: &[String],
    tool: &str,
) -> Result<()> {
    let node_dir = node.dir(dir);
    fsutil::create_dir_all(&node_dir)?;
    let pem = pki::issue_node_cert(ca, &node.name, node.role)?;
    fsutil::write_new(
        &node_dir.join(NODE_KEY_FILE),
        pem.key.as_bytes(),
        Access::Private,
    )?;
    fsutil::write_new(
        &node_dir.join(NODE_CERT_FILE),
        pem.cert.as_bytes(),
        Access::Public,
    )?;
    ensure_token(node_dir.join(NODE_TOKEN_FILE))?;
    member_code::write_key(&node_dir.join(member_code::KEY_FILE), code_key)?;
    if !https_hosts.is_empty() {
        let pem = pki::issue_https_cert(ca, &node.name, https_hosts)?;
        fsutil::write_new(
            &node_dir.join(HTTPS_KEY_FILE),
            pem.key.as_bytes(),
            Access::Private,
        )?;
        fsutil::write_new(
            &node_dir.join(HTTPS_CERT_FILE),
            pem.cert.as_bytes(),
            Access::Public,
        )?;
    }
    let config = render_node_config(node, peers, https_hosts, tool);
    fsutil::write_new(
        &node_dir.join(NODE_CONFIG_FILE),
        config.as_bytes(),
        Access::Public,
    )
}

/// A complete, commented `tongka.toml` for a node of a local chain.
fn render_node_config(
    node: &NodeEntry,
    peers: &[&NodeEntry],
    https_hosts: &[String],
    tool: &str,
) -> String {
    let http = HttpSection::default();
    let quic = QuicSection::default();
    let storage = StorageSection::default();
    let actors = ActorsSection::default();
    let member_code = MemberCodeSection::default();
    let name = &node.name;
    let role = node.role;

    let mut s = format!(
        r#"# tongka node configuration for {name} ({role}), written by `{tool}`.
# tongka 节点配置 (由 `{tool}` 生成)。
# Run it with: tongka run --config {name}/{NODE_CONFIG_FILE}
# Relative paths below are relative to this file's directory.
# See config/store.example.toml in the tongka sources for every option.

[node]
# This node's name: unique in the chain; also the name in its certificate.
name = "{name}"
# "store" sells; "hq" sells nothing, authors settings, aggregates reports.
role = "{role}"
# Where the database and state live.
data_dir = "data"
# The chain's name; nodes of different chains never replicate.
chain = "tongka"

[http]
# JSON API and web console (TCP).
listen = "{http_addr}"
# Admin bearer token for the API (created with a random token if missing).
token_file = "{NODE_TOKEN_FILE}"
# Admission control: most requests inside the node at once.
max_in_flight = {max_in_flight}
# Serve the web console at /.
console = {console}
# Seconds to send a request head (also the idle keep-alive timeout).
header_read_timeout_s = {header_read_timeout_s}
# Most HTTP connections open at once (lowered below the open-file limit).
max_connections = {max_connections}
{https}
[quic]
# Replication with the other nodes (UDP), mutual TLS under the chain CA.
listen = "{quic_addr}"
# The chain CA certificate, this node's certificate and its private key.
ca_cert = "../{CA_CERT_FILE}"
cert = "{NODE_CERT_FILE}"
key = "{NODE_KEY_FILE}"
# Also discover nodes of this chain on the LAN by mDNS.
mdns = {mdns}
# QUIC keep-alive interval and idle timeout, in milliseconds.
keep_alive_ms = {keep_alive_ms}
idle_timeout_ms = {idle_timeout_ms}
"#,
        http_addr = node.http,
        quic_addr = node.quic,
        max_in_flight = http.max_in_flight,
        console = http.console,
        header_read_timeout_s = http.header_read_timeout_s,
        max_connections = http.max_connections,
        https = render_https(node, https_hosts),
        mdns = quic.mdns,
        keep_alive_ms = quic.keep_alive_ms,
        idle_timeout_ms = quic.idle_timeout_ms,
    );
    if peers.is_empty() {
        s.push_str("# Static peers: none (other nodes are found by mDNS).\npeers = []\n");
    } else {
        s.push_str("\n# Static peers: the other nodes of the chain when this file was written.\n");
        for (i, peer) in peers.iter().enumerate() {
            let gap = if i == 0 { "" } else { "\n" };
            // Writing to a String cannot fail.
            let _ = write!(
                s,
                "{gap}[[quic.peers]]\nname = \"{}\"\naddr = \"{}\"\n",
                peer.name, peer.quic
            );
        }
    }
    let _ = write!(
        s,
        r#"
[storage]
# Most requests committed in one write transaction (group commit).
max_batch = {max_batch}

[actors]
# A member actor idle this long (ms) is passivated; its state stays on disk.
idle_passivate_ms = {idle_passivate_ms}
# Most messages waiting in one actor's mailbox.
mailbox_max = {mailbox_max}

[member_code]
# The chain's member-code key (the same at every node, derived from the
# chain CA): signs and verifies members' dynamic QR codes. (会员码密钥)
key_file = "{key_file}"
# How long a member code stays valid after it is shown, in seconds.
window_s = {window_s}
"#,
        max_batch = storage.max_batch,
        idle_passivate_ms = actors.idle_passivate_ms,
        mailbox_max = actors.mailbox_max,
        key_file = member_code::KEY_FILE,
        window_s = member_code.window_s,
    );
    s
}

/// The HTTPS lines of a node's `[http]`, or a note that it serves plain
/// HTTP.
fn render_https(node: &NodeEntry, https_hosts: &[String]) -> String {
    if https_hosts.is_empty() {
        return "# Plain HTTP. HTTPS for tills on the LAN: tls_cert and tls_key, see\n\
                # config/store.example.toml (`tongka chain add-store --https-host`).\n"
            .to_owned();
    }
    format!(
        r#"# HTTPS for the tills on the LAN: this node's server certificate, signed by
# the chain CA, and its key. The certificate names these hosts:
# {hosts}, localhost, 127.0.0.1.
# A till's browser trusts it once it trusts ../{CA_CERT_FILE} (README, "HTTPS on
# the shop's LAN"). To be reached from the LAN, listen there too, e.g.
# listen = "0.0.0.0:{port}".
tls_cert = "{HTTPS_CERT_FILE}"
tls_key = "{HTTPS_KEY_FILE}"
"#,
        hosts = https_hosts.join(", "),
        port = node.http.port(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::NodeConfig;
    use crate::token::read_token;
    use x509_parser::certificate::X509Certificate;
    use x509_parser::extensions::GeneralName;
    use x509_parser::pem::Pem as X509Pem;

    fn read_pem(path: &Path) -> X509Pem {
        let bytes = std::fs::read(path).unwrap();
        let (_, pem) = x509_parser::pem::parse_x509_pem(&bytes).unwrap();
        pem
    }

    fn common_name<'a>(cert: &'a X509Certificate<'a>) -> &'a str {
        cert.subject()
            .iter_common_name()
            .next()
            .unwrap()
            .as_str()
            .unwrap()
    }

    /// Asserts that `node_dir`'s certificate is signed by the CA in `ca_pem`,
    /// names `name`, and matches `node.key`.
    fn assert_node_cert(ca_pem: &Path, node_dir: &Path, name: &str) {
        let ca_pem = read_pem(ca_pem);
        let ca = ca_pem.parse_x509().unwrap();
        assert!(ca.is_ca());
        assert_eq!(ca.subject(), ca.issuer());
        ca.verify_signature(None).unwrap();

        let pem = read_pem(&node_dir.join(NODE_CERT_FILE));
        let cert = pem.parse_x509().unwrap();
        cert.verify_signature(Some(ca.public_key()))
            .unwrap_or_else(|e| panic!("{name}: not signed by the chain CA: {e:?}"));
        assert_eq!(cert.issuer(), ca.subject());
        assert_eq!(common_name(&cert), name);
        assert!(!cert.is_ca());
        let sans: Vec<String> = cert
            .subject_alternative_name()
            .unwrap()
            .unwrap()
            .value
            .general_names
            .iter()
            .map(|n| match n {
                GeneralName::DNSName(d) => (*d).to_owned(),
                other => panic!("unexpected SAN {other:?}"),
            })
            .collect();
        assert_eq!(sans, [name, "localhost"]);
        let eku = cert.extended_key_usage().unwrap().unwrap().value;
        assert!(eku.server_auth && eku.client_auth);
        assert!(cert.validity().is_valid());

        let key =
            KeyPair::from_pem(&std::fs::read_to_string(node_dir.join(NODE_KEY_FILE)).unwrap())
                .unwrap();
        assert_eq!(
            key.public_key_raw(),
            &*cert.public_key().subject_public_key.data
        );
    }

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    fn new_chain(stores: u16, hq: bool) -> (tempfile::TempDir, PathBuf, ChainManifest) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("chain");
        let opts = ChainNewOptions {
            hq,
            ..ChainNewOptions::new(&dir, stores)
        };
        let manifest = chain_new(&opts).unwrap();
        (tmp, dir, manifest)
    }

    #[test]
    fn chain_of_three_stores_and_hq() {
        let (_tmp, dir, manifest) = new_chain(3, true);

        // Port layout and names.
        let layout: Vec<(&str, Role, u16, u16)> = manifest
            .nodes
            .iter()
            .map(|n| (n.name.as_str(), n.role, n.http.port(), n.quic.port()))
            .collect();
        assert_eq!(
            layout,
            [
                ("store-1", Role::Store, 7101, 7201),
                ("store-2", Role::Store, 7102, 7202),
                ("store-3", Role::Store, 7103, 7203),
                ("hq", Role::Hq, 7104, 7204),
            ]
        );
        assert!(manifest.nodes.iter().all(|n| n.http.ip().is_loopback()));

        // chain.json has exactly the shape of the API contract.
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join(MANIFEST_FILE)).unwrap())
                .unwrap();
        let top = json.as_object().unwrap();
        assert_eq!(top.keys().collect::<Vec<_>>(), ["nodes"]);
        assert_eq!(
            json["nodes"][0],
            serde_json::json!({
                "name": "store-1", "role": "store", "http": "127.0.0.1:7101",
                "quic": "127.0.0.1:7201", "config": "store-1/tongka.toml",
                "token_file": "store-1/admin.token"
            })
        );
        assert_eq!(json["nodes"][3]["role"], "hq");
        assert_eq!(json["nodes"][3]["config"], "hq/tongka.toml");
        for node in json["nodes"].as_array().unwrap() {
            let mut keys: Vec<&String> = node.as_object().unwrap().keys().collect();
            keys.sort();
            assert_eq!(
                keys,
                ["config", "http", "name", "quic", "role", "token_file"]
            );
        }
        assert_eq!(ChainManifest::load(&dir).unwrap(), manifest);

        let ca_pem = dir.join(CA_CERT_FILE);
        assert!(ca_pem.is_file());
        #[cfg(unix)]
        assert_eq!(mode(&dir.join(CA_KEY_FILE)), 0o600);

        let mut tokens = HashSet::new();
        for node in &manifest.nodes {
            let node_dir = node.dir(&dir);
            assert_node_cert(&ca_pem, &node_dir, &node.name);
            #[cfg(unix)]
            {
                assert_eq!(mode(&node_dir.join(NODE_KEY_FILE)), 0o600);
                assert_eq!(mode(&node.token_path(&dir)), 0o600);
            }

            // The configuration loads, validates and agrees with chain.json.
            let config = NodeConfig::load(node.config_path(&dir)).unwrap();
            assert_eq!(config.node.name, node.name);
            assert_eq!(config.node.role, node.role);
            assert_eq!(config.http.listen, node.http);
            assert_eq!(config.quic.listen, node.quic);
            assert_eq!(config.data_dir(), fsutil::absolute(&node_dir.join("data")));
            assert_eq!(
                config.token_file(),
                fsutil::absolute(&node.token_path(&dir))
            );
            let tls = config.tls().unwrap();
            assert_eq!(
                tls.ca_cert.canonicalize().unwrap(),
                ca_pem.canonicalize().unwrap()
            );
            assert!(tls.cert.is_file() && tls.key.is_file());
            let peers: Vec<(&str, String)> = config
                .quic
                .peers
                .iter()
                .map(|p| (p.name.as_str(), p.addr.clone()))
                .collect();
            let expected: Vec<(&str, String)> = manifest
                .nodes
                .iter()
                .filter(|n| n.name != node.name)
                .map(|n| (n.name.as_str(), n.quic.to_string()))
                .collect();
            assert_eq!(peers, expected);

            let token = read_token(config.token_file()).unwrap();
            assert_eq!(token.len(), 64);
            assert!(tokens.insert(token), "tokens must differ between nodes");
        }
    }

    #[test]
    fn single_store_chain_has_no_static_peers() {
        let (_tmp, dir, manifest) = new_chain(1, false);
        assert_eq!(manifest.nodes.len(), 1);
        let config = NodeConfig::load(manifest.nodes[0].config_path(&dir)).unwrap();
        assert!(config.quic.peers.is_empty());
        assert!(config.tls().is_some());
    }

    #[test]
    fn a_cert_from_another_chain_does_not_verify() {
        let (_tmp_a, dir_a, _) = new_chain(1, false);
        let (_tmp_b, dir_b, _) = new_chain(1, false);
        let ca_a = read_pem(&dir_a.join(CA_CERT_FILE));
        let ca_a = ca_a.parse_x509().unwrap();
        let cert_b = read_pem(&dir_b.join("store-1").join(NODE_CERT_FILE));
        let cert_b = cert_b.parse_x509().unwrap();
        assert!(cert_b.verify_signature(Some(ca_a.public_key())).is_err());
    }

    #[test]
    fn chain_new_refuses_an_existing_chain() {
        let (_tmp, dir, _) = new_chain(2, false);
        let before = std::fs::read(dir.join(CA_KEY_FILE)).unwrap();
        let err = chain_new(&ChainNewOptions::new(&dir, 2)).unwrap_err();
        assert!(matches!(err, ConfigError::ChainExists { .. }), "{err:?}");
        assert!(err.to_string().contains("chain.json"), "{err}");
        assert_eq!(std::fs::read(dir.join(CA_KEY_FILE)).unwrap(), before);
    }

    #[test]
    fn chain_new_refuses_to_overwrite_leftovers() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir(tmp.path().join("store-2")).unwrap();
        let err = chain_new(&ChainNewOptions::new(tmp.path(), 3)).unwrap_err();
        assert!(matches!(err, ConfigError::WouldOverwrite { .. }), "{err:?}");
        assert!(!tmp.path().join(CA_KEY_FILE).exists());
    }

    #[test]
    fn chain_new_checks_store_count_and_ports() {
        let tmp = tempfile::tempdir().unwrap();
        for stores in [0, 100] {
            let err = chain_new(&ChainNewOptions::new(tmp.path(), stores)).unwrap_err();
            assert!(
                matches!(err, ConfigError::StoreCountOutOfRange { .. }),
                "{err:?}"
            );
        }
        let opts = ChainNewOptions {
            hq: true,
            base_port: 65_433,
            ..ChainNewOptions::new(tmp.path(), 2)
        };
        match chain_new(&opts) {
            Err(ConfigError::PortOverflow {
                nodes: 3, highest, ..
            }) => assert_eq!(highest, 65_536),
            other => panic!("expected PortOverflow, got {other:?}"),
        }
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);

        // The last port that fits is fine.
        let opts = ChainNewOptions {
            base_port: 65_434,
            ..ChainNewOptions::new(tmp.path(), 1)
        };
        let manifest = chain_new(&opts).unwrap();
        assert_eq!(manifest.nodes[0].quic.port(), 65_535);
    }

    #[test]
    fn add_store_issues_from_the_existing_ca_and_appends() {
        let (_tmp, dir, before) = new_chain(3, true);
        let configs_before: Vec<Vec<u8>> = before
            .nodes
            .iter()
            .map(|n| std::fs::read(n.config_path(&dir)).unwrap())
            .collect();

        let entry = add_store(&dir, "store-4").unwrap();
        assert_eq!(entry.role, Role::Store);
        assert_eq!((entry.http.port(), entry.quic.port()), (7105, 7205));
        assert_eq!(entry.config, Path::new("store-4/tongka.toml"));

        let after = ChainManifest::load(&dir).unwrap();
        assert_eq!(after.nodes.len(), 5);
        assert_eq!(after.nodes[..4], before.nodes[..]);
        assert_eq!(after.nodes[4], entry);
        assert!(!dir.join("chain.json.tmp").exists());

        assert_node_cert(&dir.join(CA_CERT_FILE), &entry.dir(&dir), "store-4");
        let config = NodeConfig::load(entry.config_path(&dir)).unwrap();
        assert_eq!(config.node.name, "store-4");
        assert_eq!(config.quic.listen, entry.quic);
        let peer_names: Vec<&str> = config.quic.peers.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(peer_names, ["store-1", "store-2", "store-3", "hq"]);
        read_token(entry.token_path(&dir)).unwrap();

        // Existing nodes' files are untouched.
        for (node, bytes) in before.nodes.iter().zip(&configs_before) {
            assert_eq!(&std::fs::read(node.config_path(&dir)).unwrap(), bytes);
        }

        // A second store goes after it.
        let next = add_store(&dir, "store-5").unwrap();
        assert_eq!((next.http.port(), next.quic.port()), (7106, 7206));
        assert_eq!(ChainManifest::load(&dir).unwrap().nodes.len(), 6);
    }

    /// Every node of a chain, stores added later included, holds the same
    /// member-code key (so each verifies the others' codes offline), named
    /// by its config and private to it; another chain's key differs.
    #[test]
    fn every_node_of_a_chain_holds_the_same_member_code_key() {
        let (_tmp, dir, manifest) = new_chain(2, true);
        add_store(&dir, "store-3").unwrap();
        let names = manifest
            .nodes
            .iter()
            .map(|n| n.name.clone())
            .chain(["store-3".to_string()]);
        let mut keys = Vec::new();
        for name in names {
            let config = NodeConfig::load(dir.join(&name).join(NODE_CONFIG_FILE)).unwrap();
            let (path, named) = config.member_code_key_file();
            assert!(named, "{name}: the config names the chain's key");
            assert_eq!(path, dir.join(&name).join(member_code::KEY_FILE));
            assert_eq!(mode(&path), 0o600, "{name}");
            assert_eq!(config.member_code.window_s, 60);
            keys.push(member_code::read_key(&path).unwrap());
        }
        assert!(keys.windows(2).all(|w| w[0] == w[1]), "one key per chain");
        let ca_key = dir.join(CA_KEY_FILE);
        let derived =
            member_code::key_from_ca(&std::fs::read_to_string(&ca_key).unwrap(), &ca_key).unwrap();
        assert_eq!(keys[0], derived);
        let (_other_tmp, other_dir, _) = new_chain(1, false);
        let other =
            member_code::read_key(other_dir.join("store-1").join(member_code::KEY_FILE)).unwrap();
        assert_ne!(keys[0], other, "another chain, another key");
    }

    #[test]
    fn add_store_rejects_bad_requests() {
        let (_tmp, dir, _) = new_chain(2, false);
        let err = add_store(&dir, "store-2").unwrap_err();
        assert!(matches!(err, ConfigError::NodeExists { .. }), "{err:?}");
        let err = add_store(&dir, "Store 9").unwrap_err();
        assert!(matches!(err, ConfigError::InvalidName { .. }), "{err:?}");
        let err = add_store(dir.join("nowhere"), "store-3").unwrap_err();
        assert!(matches!(err, ConfigError::Read { .. }), "{err:?}");
        std::fs::create_dir(dir.join("store-3")).unwrap();
        let err = add_store(&dir, "store-3").unwrap_err();
        assert!(matches!(err, ConfigError::WouldOverwrite { .. }), "{err:?}");
        assert_eq!(ChainManifest::load(&dir).unwrap().nodes.len(), 2);
    }

    /// `chain new --https-host` gives every node an HTTPS certificate signed
    /// by the chain CA, naming the given hosts (and `localhost`,
    /// `127.0.0.1`), for server authentication only, its key private and
    /// fitting it; the config serves HTTPS and `chain.json` says so.
    #[test]
    fn chain_new_with_https_hosts_issues_server_certificates() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("chain");
        let hosts = [
            "192.168.1.20",
            "BackOffice.local",
            "fe80::1",
            "192.168.1.20",
        ];
        let opts = ChainNewOptions {
            https_hosts: hosts.iter().map(|h| h.to_string()).collect(),
            hq: true,
            ..ChainNewOptions::new(&dir, 2)
        };
        let manifest = chain_new(&opts).unwrap();
        let ca_pem = read_pem(&dir.join(CA_CERT_FILE));
        let ca = ca_pem.parse_x509().unwrap();
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join(MANIFEST_FILE)).unwrap())
                .unwrap();
        for (i, node) in manifest.nodes.iter().enumerate() {
            assert!(node.https);
            assert_eq!(json["nodes"][i]["https"], true);
            assert_eq!(
                node.console_url(),
                format!("https://127.0.0.1:{}/", node.http.port())
            );
            let node_dir = node.dir(&dir);
            let pem = read_pem(&node_dir.join(HTTPS_CERT_FILE));
            let cert = pem.parse_x509().unwrap();
            cert.verify_signature(Some(ca.public_key()))
                .unwrap_or_else(|e| panic!("{}: not signed by the chain CA: {e:?}", node.name));
            assert_eq!(cert.issuer(), ca.subject());
            assert_eq!(common_name(&cert), node.name);
            assert!(!cert.is_ca());
            let sans: Vec<String> = cert
                .subject_alternative_name()
                .unwrap()
                .unwrap()
                .value
                .general_names
                .iter()
                .map(|n| match n {
                    GeneralName::DNSName(d) => (*d).to_owned(),
                    GeneralName::IPAddress(ip) => match ip.len() {
                        4 => IpAddr::from(<[u8; 4]>::try_from(*ip).unwrap()).to_string(),
                        _ => IpAddr::from(<[u8; 16]>::try_from(*ip).unwrap()).to_string(),
                    },
                    other => panic!("unexpected SAN {other:?}"),
                })
                .collect();
            assert_eq!(
                sans,
                [
                    "192.168.1.20",
                    "backoffice.local",
                    "fe80::1",
                    "localhost",
                    "127.0.0.1"
                ]
            );
            let eku = cert.extended_key_usage().unwrap().unwrap().value;
            assert!(eku.server_auth && !eku.client_auth);
            assert!(cert.validity().is_valid());
            let key =
                KeyPair::from_pem(&std::fs::read_to_string(node_dir.join(HTTPS_KEY_FILE)).unwrap())
                    .unwrap();
            assert_eq!(
                key.public_key_raw(),
                &*cert.public_key().subject_public_key.data
            );
            #[cfg(unix)]
            assert_eq!(mode(&node_dir.join(HTTPS_KEY_FILE)), 0o600);
            // Not the node's QUIC key: that one signs ops.
            let node_key = std::fs::read(node_dir.join(NODE_KEY_FILE)).unwrap();
            assert_ne!(
                std::fs::read(node_dir.join(HTTPS_KEY_FILE)).unwrap(),
                node_key
            );

            let config = NodeConfig::load(node.config_path(&dir)).unwrap();
            let https = config.https().expect("the config serves HTTPS");
            assert_eq!(
                https.cert,
                fsutil::absolute(&node_dir.join(HTTPS_CERT_FILE))
            );
            assert_eq!(https.key, fsutil::absolute(&node_dir.join(HTTPS_KEY_FILE)));
            assert_eq!(config.http.listen, node.http);
        }
    }

    /// Without `--https-host`: no HTTPS files, plain HTTP, `chain.json` as
    /// before; a store added with hosts gets its certificate, the others
    /// stay as they were.
    #[test]
    fn https_is_per_node_and_off_unless_asked() {
        let (_tmp, dir, manifest) = new_chain(1, false);
        let node = &manifest.nodes[0];
        assert!(!node.https);
        assert_eq!(node.console_url(), "http://127.0.0.1:7101/");
        assert!(!node.dir(&dir).join(HTTPS_CERT_FILE).exists());
        assert!(!node.dir(&dir).join(HTTPS_KEY_FILE).exists());
        let config = NodeConfig::load(node.config_path(&dir)).unwrap();
        assert!(config.https().is_none());

        let added = add_store_with_https(&dir, "store-2", &["till-gw.lan".to_owned()]).unwrap();
        assert!(added.https);
        let config = NodeConfig::load(added.config_path(&dir)).unwrap();
        assert!(config.https().unwrap().cert.is_file());
        let after = ChainManifest::load(&dir).unwrap();
        assert_eq!(after.nodes, [node.clone(), added]);
        let json = std::fs::read_to_string(dir.join(MANIFEST_FILE)).unwrap();
        assert_eq!(json.matches("\"https\"").count(), 1, "{json}");
    }

    /// A host that is neither an IP address nor a DNS name is refused
    /// before anything is written.
    #[test]
    fn bad_https_hosts_are_refused_up_front() {
        let tmp = tempfile::tempdir().unwrap();
        for bad in ["", "till one", "-till", "till_1.lan", "1.2.3.4:80"] {
            let opts = ChainNewOptions {
                https_hosts: vec!["ok.lan".to_owned(), bad.to_owned()],
                ..ChainNewOptions::new(tmp.path(), 1)
            };
            match chain_new(&opts) {
                Err(ConfigError::InvalidHttpsHost { host, .. }) => assert_eq!(host, bad),
                other => panic!("{bad:?}: expected InvalidHttpsHost, got {other:?}"),
            }
            assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
        }
        let (_tmp, dir, _) = new_chain(1, false);
        let err = add_store_with_https(&dir, "store-2", &["a b".to_owned()]).unwrap_err();
        assert!(
            matches!(err, ConfigError::InvalidHttpsHost { .. }),
            "{err:?}"
        );
        assert!(!dir.join("store-2").exists());
    }

    #[test]
    fn add_store_skips_ports_in_use() {
        let mut manifest = ChainManifest {
            nodes: (1..=100)
                .map(|i| NodeEntry::new(&format!("store-{i}"), Role::Store, 7100 + i))
                .collect(),
        };
        // HTTP 7201..=7300 would collide with the QUIC ports of the first 100.
        assert_eq!(next_free_http_port(&manifest), Some(7301));
        manifest.nodes = vec![NodeEntry::new("store-1", Role::Store, u16::MAX - 100)];
        assert_eq!(next_free_http_port(&manifest), None);
    }

    #[test]
    fn add_store_rejects_a_corrupt_manifest() {
        let (_tmp, dir, _) = new_chain(1, false);
        std::fs::write(dir.join(MANIFEST_FILE), "{\"nodes\": [").unwrap();
        let err = add_store(&dir, "store-2").unwrap_err();
        assert!(matches!(err, ConfigError::Manifest { .. }), "{err:?}");
        assert!(err.to_string().contains("chain.json"), "{err}");
    }
}
