//! tongka-node: assembles a running node from its configuration: storage,
//! engine, HTTP API; and shuts it down cleanly. The binary calls `run`;
//! tests and benchmarks call `start` with their own listener.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use tongka_actors::{Engine, EngineConfig};
use tongka_api::AppState;
use tongka_config::NodeConfig;
use tongka_core::catalogue::sample_catalogue;
use tongka_core::ids::NodeId;
use tongka_core::programme::Programme;
use tongka_store::{Store, StoreOptions};

/// The database file inside the data directory.
pub const DB_FILE: &str = "tongka.redb";
/// Written at start with the address the HTTP API listens on (useful when
/// the config asks for port 0).
pub const ADDR_FILE: &str = "http.addr";

/// A node that is up: where it listens and how to reach it.
pub struct Started {
    pub http: SocketAddr,
    pub token: String,
    pub data_dir: PathBuf,
    pub node: NodeId,
}

/// Open the node's storage and engine as `config` says.
pub fn open(config: &NodeConfig) -> anyhow::Result<(Store, Engine)> {
    let data_dir = config.data_dir();
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("creating data directory {}", data_dir.display()))?;
    let node = NodeId::new(config.node.name.clone())?;
    let path = data_dir.join(DB_FILE);
    let (store, recovered) = Store::open(
        &path,
        StoreOptions {
            node,
            max_batch: config.storage.max_batch as usize,
            queue_max: (config.http.max_in_flight as usize).max(1024) * 2,
        },
    )
    .with_context(|| format!("opening {}", path.display()))?;
    let engine = Engine::new(
        store.clone(),
        Programme::default(),
        recovered.hlc,
        EngineConfig {
            max_in_flight: config.http.max_in_flight as usize,
            idle_passivate: config.idle_passivate(),
        },
    );
    Ok((store, engine))
}

/// Run a node until `shutdown` completes. `on_ready` is called once the
/// API listens.
pub async fn run(
    config: NodeConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
    on_ready: impl FnOnce(&Started),
) -> anyhow::Result<()> {
    let token = tongka_config::ensure_token(config.token_file())?;
    let (store, engine) = open(&config)?;
    if store.summary().seq == 0 && store.products(1)?.is_empty() {
        engine
            .put_products(sample_catalogue())
            .await
            .map_err(|e| anyhow::anyhow!("seeding the sample catalogue: {e}"))?;
    }
    let listener = tokio::net::TcpListener::bind(config.http.listen)
        .await
        .with_context(|| format!("binding the HTTP API to {}", config.http.listen))?;
    let http = listener.local_addr()?;
    let data_dir = config.data_dir();
    std::fs::write(data_dir.join(ADDR_FILE), http.to_string())?;
    let started = Started {
        http,
        token: token.clone(),
        data_dir,
        node: engine.node().clone(),
    };
    tracing::info!(node = %started.node, %http, "node is up");
    on_ready(&started);
    let state = AppState::new(
        engine,
        token,
        config.node.role.as_str(),
        config.http.console,
    );
    tongka_api::serve(listener, state, shutdown).await?;
    tracing::info!("HTTP API stopped; flushing storage");
    store.close();
    Ok(())
}
