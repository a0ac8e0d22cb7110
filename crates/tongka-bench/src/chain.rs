//! Real nodes for the replication benchmarks: a local chain made with
//! `tongka_config::chain_new` (CA, certificates, configs) on free loopback
//! ports, each node started in process with `tongka_node::start` — storage,
//! engine, replication over QUIC with mutual TLS, HTTP API.

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use tongka_actors::Engine;
use tongka_config::{ChainManifest, ChainNewOptions, NodeConfig, Peer};
use tongka_core::clock::VersionVector;
use tongka_db::Summary;
use tongka_node::Running;

/// Create a chain of `stores` stores in `dir/chain` and return each node's
/// configuration, changed to listen on free loopback ports: QUIC on a port
/// the system just handed out, HTTP on port 0; every other node as a static
/// peer at its QUIC port; mDNS off (static peers only: the benchmark must
/// not find, or be found by, anything else on the machine).
pub(crate) fn chain_configs(dir: &Path, stores: u16) -> anyhow::Result<Vec<NodeConfig>> {
    let chain_dir = dir.join("chain");
    tongka_config::chain_new(&ChainNewOptions::new(&chain_dir, stores))
        .with_context(|| format!("creating a chain in {}", chain_dir.display()))?;
    let manifest = ChainManifest::load(&chain_dir)?;
    // Hold every socket until all ports are picked, so no two are equal.
    let sockets = manifest
        .nodes
        .iter()
        .map(|_| UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)))
        .collect::<std::io::Result<Vec<_>>>()?;
    let quic = sockets
        .iter()
        .map(UdpSocket::local_addr)
        .collect::<std::io::Result<Vec<SocketAddr>>>()?;
    drop(sockets);
    let mut configs = Vec::with_capacity(manifest.nodes.len());
    for (i, entry) in manifest.nodes.iter().enumerate() {
        let mut c = NodeConfig::load(entry.config_path(&chain_dir))?;
        c.http.listen = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        c.quic.listen = quic[i];
        c.quic.mdns = false;
        c.quic.peers = manifest
            .nodes
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(j, n)| Peer {
                name: n.name.clone(),
                addr: quic[j].to_string(),
            })
            .collect();
        c.validate()?;
        configs.push(c);
    }
    Ok(configs)
}

/// A node started in process, and the switch that stops it.
pub(crate) struct Node {
    pub running: Running,
    stop: tokio::sync::oneshot::Sender<()>,
}

impl Node {
    pub async fn start(config: NodeConfig) -> anyhow::Result<Node> {
        let name = config.node.name.clone();
        let (stop, rx) = tokio::sync::oneshot::channel::<()>();
        let running = tongka_node::start(config, async move {
            let _ = rx.await;
        })
        .await
        .with_context(|| format!("starting {name}"))?;
        Ok(Node { running, stop })
    }

    pub fn engine(&self) -> &Engine {
        &self.running.engine
    }

    pub fn summary(&self) -> Summary {
        self.running.engine.db().summary()
    }

    /// Stop the HTTP API and flush storage. (The node's replication tasks
    /// have no stop of their own: they end with the runtime.)
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        self.running.wait().await
    }
}

/// Whether two version vectors hold the same ops.
pub(crate) fn same_ops(a: &VersionVector, b: &VersionVector) -> bool {
    a.dominates(b) && b.dominates(a)
}

/// Wait, polling every `every`, until `done` holds, or fail after `limit`
/// with `what` and the last `state` seen.
pub(crate) async fn wait_until<T: std::fmt::Debug>(
    what: &str,
    limit: Duration,
    every: Duration,
    mut probe: impl FnMut() -> (bool, T),
) -> anyhow::Result<T> {
    let start = Instant::now();
    loop {
        let (done, state) = probe();
        if done {
            return Ok(state);
        }
        if start.elapsed() > limit {
            anyhow::bail!("{what}: not reached after {limit:?}; last seen {state:?}");
        }
        tokio::time::sleep(every).await;
    }
}

/// Wait until both nodes hold the same ops, then check that they agree on
/// the state digest and the ledger totals.
pub(crate) async fn converge(a: &Node, b: &Node, limit: Duration) -> anyhow::Result<Summary> {
    // A summary changes as a whole with each commit: equal version vectors
    // mean the two summaries describe the same ops.
    let (sa, sb) = wait_until(
        "both nodes holding the same ops",
        limit,
        Duration::from_millis(20),
        || {
            let (sa, sb) = (a.summary(), b.summary());
            (same_ops(&sa.vv, &sb.vv), (sa, sb))
        },
    )
    .await?;
    anyhow::ensure!(
        sa.digest == sb.digest,
        "same ops {:?} but different state digests: {:?} vs {:?}",
        sa.vv,
        sa.digest,
        sb.digest
    );
    anyhow::ensure!(
        sa.totals == sb.totals,
        "same ops but different ledger totals: {:?} vs {:?}",
        sa.totals,
        sb.totals
    );
    Ok(sa)
}

/// Size of a file in bytes (0 if it is not there).
pub(crate) fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// Bytes of a node's database files in `data_dir`: the database and its
/// history index.
pub(crate) fn db_bytes(data_dir: &Path) -> u64 {
    let db = data_dir.join(tongka_node::DB_FILE);
    file_size(&db) + file_size(&tongka_db::history_path(&db))
}

/// Peak and current resident memory of this process, in bytes.
pub(crate) fn own_memory() -> (Option<u64>, Option<u64>) {
    crate::sys::proc_memory("/proc/self/status")
}
