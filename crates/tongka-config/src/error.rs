//! The one error type of this crate, [`ConfigError`]: one variant per cause,
//! each message naming the file and, where there is one, the field.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while loading a configuration, handling an
/// admin token or creating a chain.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A file could not be read.
    #[error("cannot read {}: {source}", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },

    /// A file could not be written (or created).
    #[error("cannot write {}: {source}", .path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },

    /// A directory could not be created.
    #[error("cannot create directory {}: {source}", .path.display())]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },

    /// A TOML configuration is malformed: bad syntax, wrong type, unknown
    /// field, unknown role, missing required field. The TOML error names the
    /// field and line.
    #[error("invalid configuration {}: {source}", .path.display())]
    Parse {
        /// The configuration file.
        path: PathBuf,
        /// The TOML/serde error, naming the field.
        source: toml::de::Error,
    },

    /// A node or chain name breaks the naming rule (1-32 characters of
    /// `[a-z0-9-]`, starting with a letter, not ending with `-`).
    #[error(
        "{}: {field} = {name:?} is not a valid name: {reason} \
         (1-32 characters of a-z, 0-9 and '-', starting with a letter, not ending with '-')",
        .path.display()
    )]
    InvalidName {
        /// The configuration file (or the chain directory).
        path: PathBuf,
        /// The field, e.g. `node.name` or `quic.peers[2].name`.
        field: String,
        /// The offending value.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A numeric setting is outside its allowed range.
    #[error("{}: {field} = {value} is out of range {min}..={max}", .path.display())]
    OutOfRange {
        /// The configuration file.
        path: PathBuf,
        /// The field, e.g. `http.max_in_flight`.
        field: &'static str,
        /// The offending value.
        value: u64,
        /// Smallest allowed value.
        min: u64,
        /// Largest allowed value.
        max: u64,
    },

    /// `quic.idle_timeout_ms` is not greater than `quic.keep_alive_ms`, so
    /// idle connections would time out between keep-alives.
    #[error(
        "{}: quic.idle_timeout_ms = {idle_timeout_ms} must be greater than \
         quic.keep_alive_ms = {keep_alive_ms}",
        .path.display()
    )]
    IdleTimeoutNotAboveKeepAlive {
        /// The configuration file.
        path: PathBuf,
        /// `quic.idle_timeout_ms`.
        idle_timeout_ms: u64,
        /// `quic.keep_alive_ms`.
        keep_alive_ms: u64,
    },

    /// TLS settings are incomplete: `quic.ca_cert`, `quic.cert` and
    /// `quic.key` go together, as do `http.tls_cert` and `http.tls_key`.
    #[error("{}: {given} is set but {missing} is not (quic.ca_cert, quic.cert and quic.key go together; so do http.tls_cert and http.tls_key)", .path.display())]
    TlsIncomplete {
        /// The configuration file.
        path: PathBuf,
        /// The field that is set.
        given: &'static str,
        /// The field that is missing.
        missing: &'static str,
    },

    /// Static peers are listed but there is no chain CA, so no replication
    /// can take place.
    #[error("{}: quic.peers lists {count} peer(s) but quic.ca_cert is not set (no CA, no replication)", .path.display())]
    PeersWithoutCa {
        /// The configuration file.
        path: PathBuf,
        /// How many peers are listed.
        count: usize,
    },

    /// A static peer is listed twice.
    #[error("{}: quic.peers lists {name:?} more than once", .path.display())]
    DuplicatePeer {
        /// The configuration file.
        path: PathBuf,
        /// The peer's name.
        name: String,
    },

    /// A static peer has the node's own name.
    #[error("{}: quic.peers lists {name:?}, which is this node's own node.name", .path.display())]
    PeerIsSelf {
        /// The configuration file.
        path: PathBuf,
        /// The node's (and peer's) name.
        name: String,
    },

    /// A static peer's address is not `host:port`.
    #[error("{}: {field} = {addr:?} is not a valid host:port address: {reason}", .path.display())]
    InvalidPeerAddr {
        /// The configuration file.
        path: PathBuf,
        /// The field, e.g. `quic.peers[0].addr`.
        field: String,
        /// The offending value.
        addr: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A host given for a node's HTTPS certificate (`--https-host`) is
    /// neither an IP address nor a DNS name.
    #[error("{}: HTTPS host {host:?} is neither an IP address nor a DNS name", .path.display())]
    InvalidHttpsHost {
        /// The chain directory.
        path: PathBuf,
        /// The offending host.
        host: String,
    },

    /// An admin token file exists but is empty.
    #[error("admin token file {} is empty", .path.display())]
    TokenEmpty {
        /// The token file.
        path: PathBuf,
    },

    /// An admin token is shorter than the minimum.
    #[error("admin token in {} is {len} characters long; at least {min} are required", .path.display())]
    TokenTooShort {
        /// The token file.
        path: PathBuf,
        /// Its length in characters.
        len: usize,
        /// The minimum length.
        min: usize,
    },

    /// An admin token holds characters that cannot travel in an HTTP
    /// `Authorization` header (only visible ASCII without spaces is allowed).
    #[error("admin token in {} contains characters other than visible ASCII", .path.display())]
    TokenInvalidChars {
        /// The token file.
        path: PathBuf,
    },

    /// A member-code key file does not hold 64 hex digits (32 bytes).
    #[error("member-code key file {} must hold 64 hex digits (a 32-byte key)", .path.display())]
    MemberCodeKey {
        /// The key file.
        path: PathBuf,
    },

    /// `chain new` was asked for an unsupported number of stores.
    #[error("{}: --stores {stores} is out of range 1..=99", .dir.display())]
    StoreCountOutOfRange {
        /// The chain directory.
        dir: PathBuf,
        /// The requested number of stores.
        stores: u16,
    },

    /// The chain's ports do not fit below 65536.
    #[error(
        "{}: base port {base_port} with {nodes} node(s) needs ports up to {highest}, above 65535",
        .dir.display()
    )]
    PortOverflow {
        /// The chain directory.
        dir: PathBuf,
        /// The base port.
        base_port: u16,
        /// Number of nodes.
        nodes: usize,
        /// The highest port the layout would need.
        highest: u32,
    },

    /// There is no free pair of ports left for a new node.
    #[error("{}: no free HTTP/QUIC port pair left for a new node", .path.display())]
    NoFreePorts {
        /// The chain manifest.
        path: PathBuf,
    },

    /// `chain new` was pointed at a directory that already holds a chain.
    #[error("{} already exists: this directory already holds a chain", .path.display())]
    ChainExists {
        /// The existing `chain.json`.
        path: PathBuf,
    },

    /// Creating a chain or a node would overwrite an existing file or
    /// directory (keys are never overwritten).
    #[error("{} already exists; refusing to overwrite it", .path.display())]
    WouldOverwrite {
        /// The existing path.
        path: PathBuf,
    },

    /// `add_store` was given a name already used in the chain.
    #[error("{}: a node named {name:?} is already in the chain", .path.display())]
    NodeExists {
        /// The chain manifest.
        path: PathBuf,
        /// The name.
        name: String,
    },

    /// `chain.json` is not valid.
    #[error("invalid chain manifest {}: {source}", .path.display())]
    Manifest {
        /// The manifest.
        path: PathBuf,
        /// The JSON error.
        source: serde_json::Error,
    },

    /// The chain CA's key or certificate could not be loaded.
    #[error("cannot load the chain CA from {}: {source}", .path.display())]
    CaLoad {
        /// The file (`ca.key` or `ca.pem`).
        path: PathBuf,
        /// The rcgen error.
        source: rcgen::Error,
    },

    /// A key or certificate could not be generated or signed.
    #[error("cannot generate {what}: {source}")]
    Certificate {
        /// What was being generated, e.g. `certificate for store-2`.
        what: String,
        /// The rcgen error.
        source: rcgen::Error,
    },
}

/// Shorthand for results of this crate.
pub type Result<T, E = ConfigError> = std::result::Result<T, E>;
