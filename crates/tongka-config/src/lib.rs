//! tongka configuration: the node configuration file (`tongka.toml`), the
//! admin token, and local chain creation (`tongka chain new`: a chain CA,
//! a key and certificate per node, per-node configurations, `chain.json`).
//!
//! - [`NodeConfig::load`] reads and validates a node's `tongka.toml`;
//!   [`NodeConfig::quick_start`] is the configuration of `tongka up`.
//! - [`ensure_token`] / [`read_token`] handle the admin token file;
//!   [`member_code`] the member-code key.
//! - [`chain_new`] creates a local chain; [`add_store`] adds a store to
//!   one ([`add_store_with_https`] with an HTTPS certificate);
//!   [`ChainManifest`] is `chain.json`.
//!
//! Documented example configurations live in `config/` at the top of the
//! repository.

mod chain;
mod error;
mod fsutil;
pub mod member_code;
mod node;
mod pki;
mod token;

pub use chain::{
    CA_CERT_FILE, CA_KEY_FILE, ChainManifest, ChainNewOptions, DEFAULT_BASE_PORT, HQ_NAME,
    HTTPS_CERT_FILE, HTTPS_KEY_FILE, MANIFEST_FILE, MAX_STORES, NODE_CERT_FILE, NODE_CONFIG_FILE,
    NODE_KEY_FILE, NODE_TOKEN_FILE, NodeEntry, QUIC_PORT_OFFSET, add_store, add_store_with_https,
    chain_new,
};
pub use error::{ConfigError, Result};
pub use node::{
    ActorsSection, HttpSection, HttpsFiles, MAX_NAME_LEN, MemberCodeSection, NodeConfig,
    NodeSection, Peer, QUICK_START_SOURCE, QuicSection, Role, StorageSection, TlsFiles, check_name,
};
pub use token::{MIN_TOKEN_LEN, ensure_token, read_token};

#[cfg(test)]
mod example_config_tests {
    //! The example configurations in `config/` must keep loading.

    use std::path::PathBuf;

    use super::*;

    fn example(name: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../config")
            .join(name)
    }

    #[test]
    fn store_example_loads() {
        let c = NodeConfig::load(example("store.example.toml")).unwrap();
        assert_eq!(c.node.role, Role::Store);
        assert!(c.tls().is_some());
        assert!(!c.quic.peers.is_empty());
    }

    #[test]
    fn hq_example_loads() {
        let c = NodeConfig::load(example("hq.example.toml")).unwrap();
        assert_eq!(c.node.role, Role::Hq);
        assert_eq!(c.node.name, HQ_NAME);
        assert!(c.tls().is_some());
    }

    /// Every field the code knows is spelled out in the store example, so
    /// it documents them all: the example equals itself with nothing taken
    /// from serde defaults.
    #[test]
    fn store_example_mentions_every_field() {
        let text = std::fs::read_to_string(example("store.example.toml")).unwrap();
        let loaded = NodeConfig::load(example("store.example.toml")).unwrap();
        let round_trip = toml::to_string(&loaded).unwrap();
        let table: toml::Table = toml::from_str(&round_trip).unwrap();
        for (section, value) in &table {
            assert!(
                text.contains(&format!("[{section}]")),
                "[{section}] missing"
            );
            for key in value.as_table().unwrap().keys() {
                assert!(
                    text.contains(&format!("\n{key} ="))
                        || text.contains(&format!("[[{section}.{key}]]")),
                    "{section}.{key} missing from store.example.toml"
                );
            }
        }
    }
}
