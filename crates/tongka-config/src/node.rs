//! The node configuration file (`tongka.toml`, read by `tongka run --config`):
//! its sections and their defaults, loading with relative paths resolved
//! against the file's own directory, and validation.

use std::collections::HashSet;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{ConfigError, Result};
use crate::fsutil;

/// Longest allowed node or chain name.
pub const MAX_NAME_LEN: usize = 32;

/// What [`NodeConfig::source`] says for a configuration built by
/// [`NodeConfig::quick_start`] rather than read from a file.
pub const QUICK_START_SOURCE: &str = "<tongka up quick-start configuration>";

/// Checks a node or chain name: 1 to 32 characters of `[a-z0-9-]`, starting
/// with a letter and not ending with `-` (so the name is also a valid DNS
/// label, which node certificates carry as their DNS SAN and QUIC clients
/// verify). Returns what is wrong.
pub fn check_name(name: &str) -> std::result::Result<(), &'static str> {
    let Some(first) = name.chars().next() else {
        return Err("it is empty");
    };
    if name.len() > MAX_NAME_LEN {
        return Err("it is longer than 32 characters");
    }
    if !first.is_ascii_lowercase() {
        return Err("it does not start with a letter a-z");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err("it contains characters other than a-z, 0-9 and '-'");
    }
    if name.ends_with('-') {
        return Err("it ends with '-'");
    }
    Ok(())
}

/// What a node does in the chain.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A store: sells, recharges, registers members.
    #[default]
    Store,
    /// Headquarters: sells nothing, authors chain-wide settings, aggregates
    /// reports.
    Hq,
}

impl Role {
    /// The role as written in configuration files and `chain.json`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Store => "store",
            Role::Hq => "hq",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A node's whole configuration, as read from `tongka.toml`.
///
/// Paths in the file may be relative: they are relative to the directory of
/// the file, and the accessor methods ([`NodeConfig::data_dir`],
/// [`NodeConfig::token_file`], [`NodeConfig::tls`], ...) return them
/// resolved. The public fields hold the values as written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// `[node]`: identity and storage location. Required (at least
    /// `node.name`).
    pub node: NodeSection,
    /// `[http]`: the HTTP API and web console. Absent: all defaults.
    #[serde(default)]
    pub http: HttpSection,
    /// `[quic]`: replication between nodes. Absent: all defaults, which
    /// means no replication (no `ca_cert`).
    #[serde(default)]
    pub quic: QuicSection,
    /// `[storage]`: redb tuning. Absent: all defaults.
    #[serde(default)]
    pub storage: StorageSection,
    /// `[actors]`: member/wallet actor tuning. Absent: all defaults.
    #[serde(default)]
    pub actors: ActorsSection,
    /// `[member_code]`: the members' dynamic QR codes. Absent: all
    /// defaults (a key of this node's own in its data directory).
    #[serde(default)]
    pub member_code: MemberCodeSection,
    /// The file this configuration was read from (absolute), or
    /// [`QUICK_START_SOURCE`].
    #[serde(skip)]
    source: PathBuf,
    /// The directory relative paths are resolved against (absolute).
    #[serde(skip)]
    base_dir: PathBuf,
}

/// `[node]`: who this node is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSection {
    /// The node's name, unique in the chain, e.g. `store-1` or `hq`; the
    /// common name and DNS SAN of its certificate. Required: 1-32
    /// characters of `[a-z0-9-]`, starting with a letter, not ending with
    /// `-`.
    pub name: String,
    /// `store` or `hq`. Absent: `store`.
    #[serde(default)]
    pub role: Role,
    /// Where the node keeps its database and state; relative to the
    /// configuration file's directory. Absent: `data`.
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// The chain's name; nodes of different chains never replicate. Same
    /// rule as `name`. Absent: `tongka`.
    #[serde(default = "default_chain")]
    pub chain: String,
}

/// `[http]`: the JSON API and the web console.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpSection {
    /// TCP address the API and console listen on. Absent: `127.0.0.1:8080`
    /// (this machine only).
    pub listen: SocketAddr,
    /// File holding the admin bearer token; relative to the configuration
    /// file's directory; created with a random token if missing. Absent:
    /// `admin.token`.
    pub token_file: PathBuf,
    /// Admission control: most requests inside the node at once; beyond it
    /// requests are refused with 503 at once rather than queued. 1..=1000000.
    /// Absent: 4096.
    pub max_in_flight: u32,
    /// Serve the web console at `/`. Absent: `true`.
    pub console: bool,
    /// Seconds a connection has to send a whole request head, counted from
    /// when the server is ready for one: from the connection's start, and
    /// again after each answer on a kept-alive connection. A connection
    /// idle, or sending its head slowly (half-sent headers), that long is
    /// closed, so idle and half-sent connections cannot pin file handles.
    /// So it is also the idle keep-alive timeout. 1..=3600. Absent: 10.
    pub header_read_timeout_s: u64,
    /// Most HTTP connections open at once. Beyond it new connections wait
    /// in the listen queue (not accepted, so they take no file handle)
    /// until one closes, and a warning is logged. The node lowers it below
    /// its open-file limit (keeping a reserve for the database, QUIC and
    /// peers' files) if needed. 1..=1000000. Absent: 1000.
    pub max_connections: u32,
    /// Minutes a staff member's session lasts from signing in (sessions
    /// live in the node's memory: a restart signs everyone out).
    /// 1..=10080 (a week). Absent: 720 (12 hours, a long shift).
    pub session_minutes: u32,
    /// HTTPS: this node's server certificate chain (PEM, server certificate
    /// first), for tills' browsers reaching the console over the LAN; its
    /// names (DNS names, IP addresses) must be those the tills use.
    /// Relative to the configuration file's directory. `tongka chain new`
    /// and `add-store` write one signed by the chain CA when given
    /// `--https-host`. Absent: plain HTTP (then `tls_key` must be absent
    /// too).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_cert: Option<PathBuf>,
    /// The private key (PEM) of `tls_cert`; kept owner-only (mode 0600) at
    /// every start, like the other keys. Required when `tls_cert` is set;
    /// absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_key: Option<PathBuf>,
}

/// `[quic]`: replication between nodes over QUIC with mutual TLS under the
/// chain CA.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QuicSection {
    /// UDP address to listen on for peers. Absent: `127.0.0.1:7201`.
    pub listen: SocketAddr,
    /// The chain CA certificate (PEM) that peers' certificates must be
    /// signed by; relative to the configuration file's directory. Absent: no
    /// replication at all, a single-node chain (then `cert`, `key` and
    /// `peers` must be absent too).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_cert: Option<PathBuf>,
    /// This node's certificate (PEM), signed by the chain CA, common name =
    /// `node.name`. Required when `ca_cert` is set; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert: Option<PathBuf>,
    /// This node's private key (PEM) for `cert`. Required when `ca_cert` is
    /// set; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<PathBuf>,
    /// Static peers (for the WAN, or where multicast does not work).
    /// Absent: none; peers are then found by mDNS only.
    pub peers: Vec<Peer>,
    /// Discover peers of the same chain on the LAN by mDNS. Only matters
    /// when `ca_cert` is set. Absent: `true`.
    pub mdns: bool,
    /// Interval of QUIC keep-alive packets, in milliseconds. 1..=600000.
    /// Absent: 1000.
    pub keep_alive_ms: u64,
    /// A connection silent this long is closed, in milliseconds; must be
    /// greater than `keep_alive_ms`, at most 3600000. Absent: 5000.
    pub idle_timeout_ms: u64,
}

/// One static peer in `[[quic.peers]]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Peer {
    /// The peer's node name; its certificate must carry this name. Required.
    pub name: String,
    /// The peer's QUIC address, `host:port` (an IP address or a host name,
    /// resolved when dialling). Required.
    pub addr: String,
}

/// `[storage]`: the redb store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageSection {
    /// Most requests committed together in one write transaction (group
    /// commit). 1..=65536. Absent: 4096.
    pub max_batch: u32,
}

/// `[actors]`: member and wallet actors.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ActorsSection {
    /// A member actor idle this long (milliseconds) is passivated (stopped;
    /// its state stays on disk), so memory follows the active members.
    /// 1..=86400000. Absent: 60000.
    pub idle_passivate_ms: u64,
    /// Most messages waiting in one actor's mailbox; beyond it requests to
    /// that actor are refused as overloaded. 1..=1000000. Absent: 1024.
    pub mailbox_max: u32,
}

/// `[member_code]`: the key that signs and verifies members' dynamic QR
/// codes (会员码), and how long a code stays valid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MemberCodeSection {
    /// The key file (64 hex digits), which every node of a chain must share
    /// (`tongka chain new` and `add-store` write it, derived from the chain
    /// CA: see `member_code`); it must exist. Absent: `<data_dir>/member-code.key`,
    /// drawn at random on the first start (a node of no chain).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_file: Option<PathBuf>,
    /// How long a member code verifies after it is issued, in seconds.
    /// 5..=3600 (`tongka_core::member_code::WINDOW_MIN_S..=WINDOW_MAX_S`).
    /// Absent: 60.
    pub window_s: u64,
}

/// The TLS files of a node that replicates, resolved to absolute paths.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// The chain CA certificate (PEM).
    pub ca_cert: PathBuf,
    /// This node's certificate (PEM).
    pub cert: PathBuf,
    /// This node's private key (PEM).
    pub key: PathBuf,
}

/// The HTTPS files of a node that serves its API over TLS, resolved to
/// absolute paths.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpsFiles {
    /// The server certificate chain (PEM).
    pub cert: PathBuf,
    /// Its private key (PEM).
    pub key: PathBuf,
}

fn default_data_dir() -> PathBuf {
    PathBuf::from("data")
}

fn default_chain() -> String {
    "tongka".to_owned()
}

impl Default for HttpSection {
    fn default() -> Self {
        HttpSection {
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8080),
            token_file: PathBuf::from("admin.token"),
            max_in_flight: 4096,
            console: true,
            header_read_timeout_s: 10,
            max_connections: 1000,
            session_minutes: 720,
            tls_cert: None,
            tls_key: None,
        }
    }
}

impl Default for QuicSection {
    fn default() -> Self {
        QuicSection {
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 7201),
            ca_cert: None,
            cert: None,
            key: None,
            peers: Vec::new(),
            mdns: true,
            keep_alive_ms: 1000,
            idle_timeout_ms: 5000,
        }
    }
}

impl Default for MemberCodeSection {
    fn default() -> Self {
        MemberCodeSection {
            key_file: None,
            window_s: 60,
        }
    }
}

impl Default for StorageSection {
    fn default() -> Self {
        StorageSection { max_batch: 4096 }
    }
}

impl Default for ActorsSection {
    fn default() -> Self {
        ActorsSection {
            idle_passivate_ms: 60_000,
            mailbox_max: 1024,
        }
    }
}

impl NodeConfig {
    /// Reads, parses and validates the configuration file at `path`.
    /// Relative paths inside it are resolved against its directory.
    pub fn load(path: impl AsRef<Path>) -> Result<NodeConfig> {
        let path = path.as_ref();
        let text = fsutil::read(path)?;
        NodeConfig::from_toml(&text, path)
    }

    /// Parses and validates `text` as if read from the file `path` (which
    /// names the file in errors and anchors relative paths; it is not
    /// read).
    pub fn from_toml(text: &str, path: impl AsRef<Path>) -> Result<NodeConfig> {
        let source = fsutil::absolute(path.as_ref());
        let mut config: NodeConfig =
            toml::from_str(text).map_err(|source_err| ConfigError::Parse {
                path: source.clone(),
                source: source_err,
            })?;
        config.base_dir = source
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| fsutil::absolute(Path::new("")));
        config.source = source;
        config.validate()?;
        Ok(config)
    }

    /// The configuration `tongka up` runs on: one store node named
    /// `store-1`, its data in `data_dir` (made absolute against the current
    /// directory), the API and console on `http`, the admin token in
    /// `<data_dir>/admin.token`, no chain CA (no replication, no mDNS), and
    /// defaults for everything else.
    pub fn quick_start(data_dir: PathBuf, http: SocketAddr) -> NodeConfig {
        let data_dir = fsutil::absolute(&data_dir);
        NodeConfig {
            node: NodeSection {
                name: "store-1".to_owned(),
                role: Role::Store,
                data_dir: data_dir.clone(),
                chain: default_chain(),
            },
            http: HttpSection {
                listen: http,
                token_file: data_dir.join("admin.token"),
                ..HttpSection::default()
            },
            quic: QuicSection {
                mdns: false,
                ..QuicSection::default()
            },
            storage: StorageSection::default(),
            actors: ActorsSection::default(),
            member_code: MemberCodeSection::default(),
            source: PathBuf::from(QUICK_START_SOURCE),
            base_dir: data_dir,
        }
    }

    /// Checks every rule a parsed configuration must also satisfy; the
    /// error names the file and the field. [`NodeConfig::load`] calls it;
    /// call it again after changing fields in code.
    pub fn validate(&self) -> Result<()> {
        let path = || self.source.clone();

        check_name(&self.node.name).map_err(|reason| ConfigError::InvalidName {
            path: path(),
            field: "node.name".to_owned(),
            name: self.node.name.clone(),
            reason,
        })?;
        check_name(&self.node.chain).map_err(|reason| ConfigError::InvalidName {
            path: path(),
            field: "node.chain".to_owned(),
            name: self.node.chain.clone(),
            reason,
        })?;

        let range = |field: &'static str, value: u64, min: u64, max: u64| {
            if (min..=max).contains(&value) {
                Ok(())
            } else {
                Err(ConfigError::OutOfRange {
                    path: path(),
                    field,
                    value,
                    min,
                    max,
                })
            }
        };
        range(
            "http.max_in_flight",
            self.http.max_in_flight.into(),
            1,
            1_000_000,
        )?;
        range(
            "http.header_read_timeout_s",
            self.http.header_read_timeout_s,
            1,
            3_600,
        )?;
        range(
            "http.max_connections",
            self.http.max_connections.into(),
            1,
            1_000_000,
        )?;
        range(
            "http.session_minutes",
            self.http.session_minutes.into(),
            1,
            10_080,
        )?;
        range(
            "storage.max_batch",
            self.storage.max_batch.into(),
            1,
            65_536,
        )?;
        range(
            "actors.idle_passivate_ms",
            self.actors.idle_passivate_ms,
            1,
            86_400_000,
        )?;
        range(
            "actors.mailbox_max",
            self.actors.mailbox_max.into(),
            1,
            1_000_000,
        )?;
        range("member_code.window_s", self.member_code.window_s, 5, 3_600)?;
        range("quic.keep_alive_ms", self.quic.keep_alive_ms, 1, 600_000)?;
        range(
            "quic.idle_timeout_ms",
            self.quic.idle_timeout_ms,
            2,
            3_600_000,
        )?;
        if self.quic.idle_timeout_ms <= self.quic.keep_alive_ms {
            return Err(ConfigError::IdleTimeoutNotAboveKeepAlive {
                path: path(),
                idle_timeout_ms: self.quic.idle_timeout_ms,
                keep_alive_ms: self.quic.keep_alive_ms,
            });
        }

        self.validate_tls()?;
        self.validate_peers()
    }

    fn validate_tls(&self) -> Result<()> {
        let q = &self.quic;
        let h = &self.http;
        let groups: [&[(&'static str, bool)]; 2] = [
            &[
                ("quic.ca_cert", q.ca_cert.is_some()),
                ("quic.cert", q.cert.is_some()),
                ("quic.key", q.key.is_some()),
            ],
            &[
                ("http.tls_cert", h.tls_cert.is_some()),
                ("http.tls_key", h.tls_key.is_some()),
            ],
        ];
        for fields in groups {
            if let Some(&(given, _)) = fields.iter().find(|(_, set)| *set)
                && let Some(&(missing, _)) = fields.iter().find(|(_, set)| !*set)
            {
                return Err(ConfigError::TlsIncomplete {
                    path: self.source.clone(),
                    given,
                    missing,
                });
            }
        }
        Ok(())
    }

    fn validate_peers(&self) -> Result<()> {
        let peers = &self.quic.peers;
        if !peers.is_empty() && self.quic.ca_cert.is_none() {
            return Err(ConfigError::PeersWithoutCa {
                path: self.source.clone(),
                count: peers.len(),
            });
        }
        let mut seen = HashSet::new();
        for (i, peer) in peers.iter().enumerate() {
            check_name(&peer.name).map_err(|reason| ConfigError::InvalidName {
                path: self.source.clone(),
                field: format!("quic.peers[{i}].name"),
                name: peer.name.clone(),
                reason,
            })?;
            if peer.name == self.node.name {
                return Err(ConfigError::PeerIsSelf {
                    path: self.source.clone(),
                    name: peer.name.clone(),
                });
            }
            if !seen.insert(peer.name.as_str()) {
                return Err(ConfigError::DuplicatePeer {
                    path: self.source.clone(),
                    name: peer.name.clone(),
                });
            }
            if let Err(reason) = check_host_port(&peer.addr) {
                return Err(ConfigError::InvalidPeerAddr {
                    path: self.source.clone(),
                    field: format!("quic.peers[{i}].addr"),
                    addr: peer.addr.clone(),
                    reason,
                });
            }
        }
        Ok(())
    }

    /// The file this configuration was read from (absolute), or
    /// [`QUICK_START_SOURCE`] for [`NodeConfig::quick_start`].
    pub fn source(&self) -> &Path {
        &self.source
    }

    /// The directory relative paths are resolved against: the
    /// configuration file's directory (absolute).
    pub fn config_dir(&self) -> &Path {
        &self.base_dir
    }

    /// `path` resolved against [`NodeConfig::config_dir`] (unchanged if
    /// absolute).
    pub fn resolve(&self, path: &Path) -> PathBuf {
        self.base_dir.join(path)
    }

    /// `node.data_dir`, resolved.
    pub fn data_dir(&self) -> PathBuf {
        self.resolve(&self.node.data_dir)
    }

    /// `http.token_file`, resolved.
    pub fn token_file(&self) -> PathBuf {
        self.resolve(&self.http.token_file)
    }

    /// `quic.ca_cert`, resolved; `None`: no replication.
    pub fn ca_cert(&self) -> Option<PathBuf> {
        self.quic.ca_cert.as_deref().map(|p| self.resolve(p))
    }

    /// `quic.cert`, resolved.
    pub fn cert(&self) -> Option<PathBuf> {
        self.quic.cert.as_deref().map(|p| self.resolve(p))
    }

    /// `quic.key`, resolved.
    pub fn key(&self) -> Option<PathBuf> {
        self.quic.key.as_deref().map(|p| self.resolve(p))
    }

    /// The TLS files, resolved, when the node replicates (`quic.ca_cert`
    /// set; validation guarantees `cert` and `key` then are too); `None`
    /// for a single-node chain.
    pub fn tls(&self) -> Option<TlsFiles> {
        Some(TlsFiles {
            ca_cert: self.ca_cert()?,
            cert: self.cert()?,
            key: self.key()?,
        })
    }

    /// The HTTPS files, resolved, when the API is served over TLS
    /// (`http.tls_cert` set; validation guarantees `tls_key` then is too);
    /// `None`: plain HTTP.
    pub fn https(&self) -> Option<HttpsFiles> {
        Some(HttpsFiles {
            cert: self.resolve(self.http.tls_cert.as_deref()?),
            key: self.resolve(self.http.tls_key.as_deref()?),
        })
    }

    /// The member-code key file, resolved, and whether the config names it
    /// (then it must exist: a node of a chain must not draw a key of its
    /// own, whose codes no other store would verify). Not named:
    /// `<data_dir>/member-code.key`, drawn on first start.
    pub fn member_code_key_file(&self) -> (PathBuf, bool) {
        match &self.member_code.key_file {
            Some(p) => (self.resolve(p), true),
            None => (self.data_dir().join(crate::member_code::KEY_FILE), false),
        }
    }

    /// `quic.keep_alive_ms` as a duration.
    pub fn keep_alive(&self) -> Duration {
        Duration::from_millis(self.quic.keep_alive_ms)
    }

    /// `quic.idle_timeout_ms` as a duration.
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_millis(self.quic.idle_timeout_ms)
    }

    /// `http.header_read_timeout_s` as a duration.
    pub fn header_read_timeout(&self) -> Duration {
        Duration::from_secs(self.http.header_read_timeout_s)
    }

    /// `http.session_minutes` as a duration.
    pub fn session_ttl(&self) -> Duration {
        Duration::from_secs(u64::from(self.http.session_minutes) * 60)
    }

    /// `actors.idle_passivate_ms` as a duration.
    pub fn idle_passivate(&self) -> Duration {
        Duration::from_millis(self.actors.idle_passivate_ms)
    }
}

/// Checks a `host:port` peer address: an IP socket address (`[::1]:7201`
/// for IPv6), or a DNS host name and a non-zero port.
fn check_host_port(addr: &str) -> std::result::Result<(), &'static str> {
    if let Ok(sa) = addr.parse::<SocketAddr>() {
        return if sa.port() == 0 {
            Err("port 0")
        } else {
            Ok(())
        };
    }
    let Some((host, port)) = addr.rsplit_once(':') else {
        return Err("expected host:port");
    };
    match port.parse::<u16>() {
        Ok(0) | Err(_) => return Err("the port is not a number in 1..=65535"),
        Ok(_) => {}
    }
    if is_dns_name(host) {
        Ok(())
    } else {
        Err("the host is neither an IP address nor a DNS name")
    }
}

/// Whether `host` is a DNS name: dot-separated labels of ASCII letters,
/// digits and `-`, none empty, none starting or ending with `-`, at most
/// 63 characters each and 253 in all.
pub(crate) fn is_dns_name(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "[node]\nname = \"store-7\"\n";

    fn write(dir: &Path, text: &str) -> PathBuf {
        let path = dir.join("tongka.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    fn load_text(text: &str) -> Result<NodeConfig> {
        let dir = tempfile::tempdir().unwrap();
        NodeConfig::load(write(dir.path(), text))
    }

    /// A full, valid configuration with TLS; tests break one field at a time.
    const FULL: &str = r#"
[node]
name = "store-2"
role = "store"
data_dir = "var/db"
chain = "acme"

[http]
listen = "0.0.0.0:9000"
token_file = "/etc/tongka/admin.token"
max_in_flight = 10
console = false
header_read_timeout_s = 3
max_connections = 50
tls_cert = "https.pem"
tls_key = "/etc/tongka/https.key"

[quic]
listen = "0.0.0.0:9100"
ca_cert = "../ca.pem"
cert = "node.pem"
key = "node.key"
mdns = false
keep_alive_ms = 200
idle_timeout_ms = 900

[[quic.peers]]
name = "store-1"
addr = "10.0.0.1:7201"

[[quic.peers]]
name = "hq"
addr = "hq.example.com:7300"

[storage]
max_batch = 64

[actors]
idle_passivate_ms = 5000
mailbox_max = 32
"#;

    #[test]
    fn minimal_config_takes_every_default() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), MINIMAL);
        let c = NodeConfig::load(&path).unwrap();
        assert_eq!(c.node.name, "store-7");
        assert_eq!(c.node.role, Role::Store);
        assert_eq!(c.node.chain, "tongka");
        assert_eq!(c.http, HttpSection::default());
        assert_eq!(c.http.listen, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(c.http.max_in_flight, 4096);
        assert!(c.http.console);
        assert_eq!(c.header_read_timeout(), Duration::from_secs(10));
        assert_eq!(c.http.max_connections, 1000);
        assert_eq!(c.quic, QuicSection::default());
        assert_eq!(c.quic.listen, "127.0.0.1:7201".parse().unwrap());
        assert!(c.quic.mdns);
        assert_eq!((c.quic.keep_alive_ms, c.quic.idle_timeout_ms), (1000, 5000));
        assert_eq!(c.storage.max_batch, 4096);
        assert_eq!(c.actors.idle_passivate_ms, 60_000);
        assert_eq!(c.actors.mailbox_max, 1024);
        assert!(c.tls().is_none());

        let base = fsutil::absolute(dir.path());
        assert_eq!(c.config_dir(), base);
        assert_eq!(c.source(), base.join("tongka.toml"));
        assert_eq!(c.data_dir(), base.join("data"));
        assert_eq!(c.token_file(), base.join("admin.token"));
        assert!(c.data_dir().is_absolute());
    }

    #[test]
    fn full_config_loads_and_resolves_paths() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("store-2");
        std::fs::create_dir(&sub).unwrap();
        let c = NodeConfig::load(write(&sub, FULL)).unwrap();
        let base = fsutil::absolute(&sub);
        assert_eq!(c.node.chain, "acme");
        assert_eq!(c.http.listen, "0.0.0.0:9000".parse().unwrap());
        assert!(!c.http.console);
        assert_eq!(c.header_read_timeout(), Duration::from_secs(3));
        assert_eq!(c.http.max_connections, 50);
        assert_eq!(c.data_dir(), base.join("var/db"));
        // Absolute paths stay as they are.
        assert_eq!(c.token_file(), PathBuf::from("/etc/tongka/admin.token"));
        let tls = c.tls().unwrap();
        assert_eq!(tls.ca_cert, base.join("../ca.pem"));
        assert_eq!(tls.cert, base.join("node.pem"));
        assert_eq!(tls.key, base.join("node.key"));
        let https = c.https().unwrap();
        assert_eq!(https.cert, base.join("https.pem"));
        assert_eq!(https.key, PathBuf::from("/etc/tongka/https.key"));
        assert_eq!(c.quic.peers.len(), 2);
        assert_eq!(c.quic.peers[1].addr, "hq.example.com:7300");
        assert_eq!(c.keep_alive(), Duration::from_millis(200));
        assert_eq!(c.idle_timeout(), Duration::from_millis(900));
        assert_eq!(c.idle_passivate(), Duration::from_secs(5));
        assert_eq!(c.storage.max_batch, 64);
        assert_eq!(c.actors.mailbox_max, 32);
    }

    #[test]
    fn relative_config_path_is_made_absolute() {
        let c = NodeConfig::from_toml(MINIMAL, "tongka.toml").unwrap();
        assert!(c.source().is_absolute());
        assert!(c.data_dir().is_absolute());
        assert_eq!(c.data_dir(), std::env::current_dir().unwrap().join("data"));
    }

    #[test]
    fn hq_role_parses() {
        let c = load_text("[node]\nname = \"hq\"\nrole = \"hq\"\n").unwrap();
        assert_eq!(c.node.role, Role::Hq);
        assert_eq!(c.node.role.to_string(), "hq");
    }

    fn parse_error_message(text: &str) -> String {
        match load_text(text) {
            Err(e @ ConfigError::Parse { .. }) => e.to_string(),
            other => panic!("expected a parse error, got {other:?}"),
        }
    }

    #[test]
    fn unknown_field_is_rejected_with_its_name() {
        let msg = parse_error_message("[node]\nname = \"s\"\nnmae = \"x\"\n");
        assert!(msg.contains("nmae"), "{msg}");
        assert!(msg.contains("tongka.toml"), "{msg}");
        let msg = parse_error_message(&format!("{MINIMAL}[http]\nlisten_addr = \"1.2.3.4:1\"\n"));
        assert!(msg.contains("listen_addr"), "{msg}");
        let msg = parse_error_message(&format!("{MINIMAL}[replication]\nx = 1\n"));
        assert!(msg.contains("replication"), "{msg}");
        let msg = parse_error_message(&format!(
            "{MINIMAL}[[quic.peers]]\nname = \"a\"\naddr = \"1.2.3.4:5\"\nport = 1\n"
        ));
        assert!(msg.contains("port"), "{msg}");
    }

    #[test]
    fn missing_node_name_is_rejected() {
        let msg = parse_error_message("[node]\nrole = \"store\"\n");
        assert!(msg.contains("name"), "{msg}");
        let msg = parse_error_message("[http]\nconsole = true\n");
        assert!(msg.contains("node"), "{msg}");
    }

    #[test]
    fn bad_role_is_rejected() {
        let msg = parse_error_message("[node]\nname = \"s\"\nrole = \"warehouse\"\n");
        assert!(msg.contains("warehouse"), "{msg}");
    }

    #[test]
    fn bad_types_are_rejected() {
        let msg = parse_error_message(&format!("{MINIMAL}[http]\nlisten = \"localhost\"\n"));
        assert!(msg.contains("listen"), "{msg}");
        let msg = parse_error_message(&format!("{MINIMAL}[storage]\nmax_batch = -1\n"));
        assert!(msg.contains("max_batch"), "{msg}");
    }

    #[test]
    fn bad_node_names_are_rejected() {
        for bad in [
            "",
            "Store-1",
            "1store",
            "-store",
            "store_1",
            "store-",
            "store 1",
            "门店",
            "a23456789012345678901234567890123",
        ] {
            let text = format!("[node]\nname = {bad:?}\n");
            match load_text(&text) {
                Err(ConfigError::InvalidName { field, name, .. }) => {
                    assert_eq!(field, "node.name");
                    assert_eq!(name, bad);
                }
                other => panic!("{bad:?}: expected InvalidName, got {other:?}"),
            }
        }
        for good in [
            "s",
            "hq",
            "store-1",
            "a-b-c",
            "a2345678901234567890123456789012",
        ] {
            assert_eq!(check_name(good), Ok(()), "{good}");
        }
    }

    #[test]
    fn bad_chain_name_is_rejected() {
        let err = load_text("[node]\nname = \"s\"\nchain = \"My Chain\"\n").unwrap_err();
        assert!(
            matches!(&err, ConfigError::InvalidName { field, .. } if field == "node.chain"),
            "{err:?}"
        );
    }

    fn out_of_range_field(text: &str) -> &'static str {
        match load_text(text) {
            Err(ConfigError::OutOfRange { field, .. }) => field,
            other => panic!("expected OutOfRange, got {other:?}"),
        }
    }

    #[test]
    fn numbers_out_of_range_are_rejected() {
        let cases = [
            ("[http]\nmax_in_flight = 0\n", "http.max_in_flight"),
            ("[http]\nmax_in_flight = 1000001\n", "http.max_in_flight"),
            (
                "[http]\nheader_read_timeout_s = 0\n",
                "http.header_read_timeout_s",
            ),
            (
                "[http]\nheader_read_timeout_s = 3601\n",
                "http.header_read_timeout_s",
            ),
            ("[http]\nmax_connections = 0\n", "http.max_connections"),
            ("[storage]\nmax_batch = 0\n", "storage.max_batch"),
            ("[storage]\nmax_batch = 65537\n", "storage.max_batch"),
            ("[actors]\nmailbox_max = 0\n", "actors.mailbox_max"),
            (
                "[actors]\nidle_passivate_ms = 0\n",
                "actors.idle_passivate_ms",
            ),
            ("[quic]\nkeep_alive_ms = 0\n", "quic.keep_alive_ms"),
        ];
        for (section, field) in cases {
            assert_eq!(out_of_range_field(&format!("{MINIMAL}{section}")), field);
        }
        // The bounds themselves are allowed.
        load_text(&format!(
            "{MINIMAL}[http]\nmax_in_flight = 1000000\n[storage]\nmax_batch = 65536\n"
        ))
        .unwrap();
        let err = load_text(&format!("{MINIMAL}[http]\nmax_in_flight = 0\n")).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("tongka.toml") && msg.contains("http.max_in_flight = 0"),
            "{msg}"
        );
    }

    #[test]
    fn idle_timeout_must_exceed_keep_alive() {
        for (keep_alive, idle) in [(1000, 1000), (5000, 1000)] {
            let text = format!(
                "{MINIMAL}[quic]\nkeep_alive_ms = {keep_alive}\nidle_timeout_ms = {idle}\n"
            );
            match load_text(&text) {
                Err(ConfigError::IdleTimeoutNotAboveKeepAlive {
                    idle_timeout_ms,
                    keep_alive_ms,
                    ..
                }) => assert_eq!((idle_timeout_ms, keep_alive_ms), (idle, keep_alive)),
                other => panic!("expected IdleTimeoutNotAboveKeepAlive, got {other:?}"),
            }
        }
        load_text(&format!(
            "{MINIMAL}[quic]\nkeep_alive_ms = 1000\nidle_timeout_ms = 1001\n"
        ))
        .unwrap();
    }

    fn tls_error(quic: &str) -> (&'static str, &'static str) {
        match load_text(&format!("{MINIMAL}[quic]\n{quic}")) {
            Err(ConfigError::TlsIncomplete { given, missing, .. }) => (given, missing),
            other => panic!("expected TlsIncomplete, got {other:?}"),
        }
    }

    #[test]
    fn tls_files_go_together() {
        assert_eq!(
            tls_error("ca_cert = \"ca.pem\"\ncert = \"node.pem\"\n"),
            ("quic.ca_cert", "quic.key")
        );
        assert_eq!(
            tls_error("ca_cert = \"ca.pem\"\nkey = \"node.key\"\n"),
            ("quic.ca_cert", "quic.cert")
        );
        assert_eq!(
            tls_error("cert = \"node.pem\"\nkey = \"node.key\"\n"),
            ("quic.cert", "quic.ca_cert")
        );
        assert_eq!(
            tls_error("ca_cert = \"ca.pem\"\n"),
            ("quic.ca_cert", "quic.cert")
        );
        let c = load_text(&format!(
            "{MINIMAL}[quic]\nca_cert = \"ca.pem\"\ncert = \"node.pem\"\nkey = \"node.key\"\n"
        ))
        .unwrap();
        assert!(c.tls().is_some());
        assert!(c.https().is_none(), "plain HTTP unless told");

        let https_error = |http: &str| match load_text(&format!("{MINIMAL}[http]\n{http}")) {
            Err(ConfigError::TlsIncomplete { given, missing, .. }) => (given, missing),
            other => panic!("expected TlsIncomplete, got {other:?}"),
        };
        assert_eq!(
            https_error("tls_cert = \"https.pem\"\n"),
            ("http.tls_cert", "http.tls_key")
        );
        assert_eq!(
            https_error("tls_key = \"https.key\"\n"),
            ("http.tls_key", "http.tls_cert")
        );
    }

    #[test]
    fn peers_are_checked() {
        const TLS: &str = "ca_cert = \"ca.pem\"\ncert = \"n.pem\"\nkey = \"n.key\"\n";
        let peer = |name: &str, addr: &str| {
            format!("[[quic.peers]]\nname = \"{name}\"\naddr = \"{addr}\"\n")
        };
        let with_tls = |peers: &str| load_text(&format!("{MINIMAL}[quic]\n{TLS}{peers}"));

        let err = load_text(&format!("{MINIMAL}{}", peer("a", "1.2.3.4:5"))).unwrap_err();
        assert!(
            matches!(err, ConfigError::PeersWithoutCa { count: 1, .. }),
            "{err:?}"
        );

        let err = with_tls(&peer("store-7", "1.2.3.4:5")).unwrap_err();
        assert!(matches!(err, ConfigError::PeerIsSelf { .. }), "{err:?}");

        let twice = format!("{}{}", peer("a", "1.2.3.4:5"), peer("a", "1.2.3.5:5"));
        let err = with_tls(&twice).unwrap_err();
        assert!(matches!(err, ConfigError::DuplicatePeer { .. }), "{err:?}");

        let err = with_tls(&format!(
            "{}{}",
            peer("a", "1.2.3.4:5"),
            peer("B", "1.2.3.5:5")
        ))
        .unwrap_err();
        assert!(
            matches!(&err, ConfigError::InvalidName { field, .. } if field == "quic.peers[1].name"),
            "{err:?}"
        );

        for bad in [
            "1.2.3.4",
            "1.2.3.4:0",
            "host:99999",
            ":7201",
            "ho st:1",
            "a..b:1",
            "::1:7201x",
        ] {
            match with_tls(&peer("a", bad)) {
                Err(ConfigError::InvalidPeerAddr { field, addr, .. }) => {
                    assert_eq!(field, "quic.peers[0].addr");
                    assert_eq!(addr, bad);
                }
                other => panic!("{bad}: expected InvalidPeerAddr, got {other:?}"),
            }
        }
        for good in [
            "1.2.3.4:5",
            "[::1]:7201",
            "store-1.example.com:7201",
            "localhost:1",
        ] {
            with_tls(&peer("a", good)).unwrap();
        }
    }

    #[test]
    fn quick_start_is_valid_and_absolute() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("tongka-data");
        let http: SocketAddr = "127.0.0.1:8088".parse().unwrap();
        let c = NodeConfig::quick_start(data.clone(), http);
        c.validate().unwrap();
        assert_eq!(c.node.name, "store-1");
        assert_eq!(c.node.role, Role::Store);
        assert_eq!(c.http.listen, http);
        assert_eq!(c.data_dir(), data);
        assert_eq!(c.token_file(), data.join("admin.token"));
        assert!(c.tls().is_none());
        assert!(c.https().is_none(), "`tongka up` serves plain HTTP");
        assert_eq!(c.source(), Path::new(QUICK_START_SOURCE));

        let relative = NodeConfig::quick_start(PathBuf::from("tongka-data"), http);
        assert!(relative.data_dir().is_absolute());
        assert!(relative.token_file().ends_with("tongka-data/admin.token"));
    }

    #[test]
    fn a_config_serializes_back_to_an_equal_config() {
        let dir = tempfile::tempdir().unwrap();
        let original = NodeConfig::load(write(dir.path(), FULL)).unwrap();
        let text = toml::to_string(&original).unwrap();
        let again = NodeConfig::from_toml(&text, original.source()).unwrap();
        assert_eq!(again, original);
    }
}
