//! Shared test helpers: real chains made with `tongka_config::chain_new`.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use tongka_config::{ChainNewOptions, NodeConfig, chain_new};
use tongka_net::{Endpoint, Identity, Options};

/// A chain of `stores` stores in `dir`.
pub fn make_chain(dir: &Path, stores: u16) {
    chain_new(&ChainNewOptions::new(dir, stores)).expect("chain_new");
}

/// The identity of `node` in the chain at `dir`, loaded the way a node
/// does: its `tongka.toml`, then `NodeConfig::tls()`.
pub fn identity(dir: &Path, node: &str) -> Identity {
    let config = NodeConfig::load(dir.join(node).join("tongka.toml")).expect("node config");
    let tls = config.tls().expect("tls files");
    Identity::load(&tls.ca_cert, &tls.cert, &tls.key).expect("identity")
}

/// Short timeouts, so dead peers show quickly.
pub fn fast_options() -> Options {
    Options {
        keep_alive: Duration::from_millis(100),
        idle_timeout: Duration::from_millis(500),
        ..Options::new("tongka")
    }
}

pub fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

/// An endpoint for `node` of the chain in `dir` on a free loopback port.
pub fn endpoint(dir: &Path, node: &str, options: Options) -> (Endpoint, SocketAddr) {
    let ep = Endpoint::bind(loopback(), &identity(dir, node), options).expect("bind");
    let addr = ep.local_addr().expect("local addr");
    (ep, addr)
}
