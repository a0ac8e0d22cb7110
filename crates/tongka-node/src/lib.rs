//! tongka-node: assembles a running node from its configuration: storage,
//! engine, HTTP API; and shuts it down cleanly. The binary calls `run`;
//! tests and benchmarks call `start` with their own listener.

mod demo;
mod files;
mod jobs;

pub use demo::demo;
pub use files::{FILES_RESERVED, connection_cap, raise_open_files};

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use std::sync::Arc;
use tongka_actors::{Engine, EngineConfig};
use tongka_api::AppState;
use tongka_config::NodeConfig;
use tongka_core::ids::NodeId;
use tongka_core::op::OriginRole;
use tongka_core::programme::Programme;

use tongka_db::{Db, DbOptions};
use tongka_net::{Discovery, Endpoint, Identity, OpKey, Options, Trust};
use tongka_replication::{ChainSigner, Replication};

/// The database file inside the data directory.
pub const DB_FILE: &str = "tongka.redb";
/// Written at start with the address the HTTP API listens on (useful when
/// the config asks for port 0).
pub const ADDR_FILE: &str = "http.addr";
/// The chain's node certificates this node learnt (one PEM file per node),
/// in its data directory.
pub const CERTS_DIR: &str = "certs";

/// A node that is up: where it listens and how to reach it.
#[derive(Debug, Clone)]
pub struct Started {
    pub http: SocketAddr,
    /// Whether the API is served over HTTPS (the config names
    /// `http.tls_cert`): the console's URL is then `https://`.
    pub https: bool,
    pub token: String,
    /// The file holding `token`: what a person is told to read (the token
    /// itself is never printed, so it stays out of logs).
    pub token_file: PathBuf,
    pub data_dir: PathBuf,
    pub node: NodeId,
}

impl Started {
    /// The console's URL: `http://` or `https://`, and the address the
    /// API listens on.
    pub fn console_url(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}/", self.http)
    }
}

/// Open the node's storage and engine as `config` says.
pub fn open(config: &NodeConfig) -> anyhow::Result<(Db, Engine)> {
    let data_dir = config.data_dir();
    files::private_dir(&data_dir)?;
    let node = NodeId::new(config.node.name.clone())?;
    let path = data_dir.join(DB_FILE);
    let (db, recovered) = Db::open(
        &path,
        DbOptions {
            node,
            max_batch: config.storage.max_batch as usize,
            queue_max: (config.http.max_in_flight as usize).max(1024) * 2,
        },
    )
    .with_context(|| format!("opening {}", path.display()))?;
    // The files redb just made (mode from the umask) are made 0600.
    files::tighten(&data_dir)?;
    let engine = Engine::new(
        db.clone(),
        Programme::default(),
        recovered.hlc,
        EngineConfig {
            max_in_flight: config.http.max_in_flight as usize,
            idle_passivate: config.idle_passivate(),
        },
    );
    // A node drafts only what its role may author: HQ sells nothing; a
    // store of a chain authors no programme or catalogue, and a store of
    // no chain (a quick start) authors its own.
    engine.set_role(match config.node.role {
        tongka_config::Role::Hq => Some(OriginRole::Hq),
        tongka_config::Role::Store => config.tls().map(|_| OriginRole::Store),
    });
    Ok((db, engine))
}

/// Start replication when the config names a chain CA: the QUIC endpoint,
/// static peers, and mDNS discovery if enabled.
async fn start_replication(
    config: &NodeConfig,
    engine: &Engine,
    db: &Db,
) -> anyhow::Result<Option<Replication>> {
    let Some(tls) = config.tls() else {
        return Ok(None);
    };
    let identity = Identity::load(&tls.ca_cert, &tls.cert, &tls.key)
        .context("loading the node's certificate")?;
    anyhow::ensure!(
        identity.node_name() == config.node.name,
        "the certificate is for node {:?}, the config says {:?}",
        identity.node_name(),
        config.node.name
    );
    // Ops this node authors are signed with its certificate's key from
    // here on (before the node takes any request); received ops are
    // verified against the certificates in `certs/` (kept across restarts).
    let key = OpKey::from_identity(&identity).context("the node's op-signing key")?;
    db.set_signer(Arc::new(ChainSigner(key)));
    let trust = Trust::new(&identity, Some(&config.data_dir().join(CERTS_DIR)))
        .context("loading the chain's node certificates")?;
    let mut options = Options::new(config.node.chain.clone());
    options.keep_alive = config.keep_alive();
    options.idle_timeout = config.idle_timeout();
    let endpoint = Endpoint::bind(config.quic.listen, &identity, options)
        .with_context(|| format!("binding QUIC to {}", config.quic.listen))?;
    let mut peers = Vec::new();
    for p in &config.quic.peers {
        let name = NodeId::new(p.name.clone())?;
        match tokio::net::lookup_host(p.addr.as_str())
            .await
            .ok()
            .and_then(|mut a| a.next())
        {
            Some(addr) => peers.push((name, addr)),
            None => {
                tracing::warn!(peer = %p.name, addr = %p.addr, "cannot resolve peer address; skipping it")
            }
        }
    }
    let trust = Arc::new(trust);
    {
        // A transfer's possible destinations: the stores whose chain
        // certificates this node knows.
        let trust = trust.clone();
        engine.set_stores(Arc::new(move || {
            trust
                .stores()
                .iter()
                .filter_map(|n| tongka_core::ids::NodeId::new(n).ok())
                .collect()
        }));
    }
    let rep = Replication::start(
        engine.clone(),
        db.clone(),
        endpoint,
        trust,
        &config.node.chain,
        peers,
    );
    if config.quic.mdns {
        match Discovery::start(
            &config.node.chain,
            &config.node.name,
            config.quic.listen.port(),
        ) {
            Ok(mut d) => {
                if let Some(mut events) = d.events() {
                    let r = rep.clone();
                    tokio::spawn(async move {
                        let _keep = d;
                        while let Some(found) = events.recv().await {
                            if let (Ok(name), Some(addr)) =
                                (NodeId::new(found.node.clone()), found.addrs.first())
                            {
                                r.add_peer(name, *addr);
                            }
                        }
                    });
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "mDNS discovery unavailable; using static peers only")
            }
        }
    }
    tracing::info!(quic = %config.quic.listen, "replication started");
    Ok(Some(rep))
}

/// A node that is serving.
pub struct Running {
    pub started: Started,
    pub engine: Engine,
    /// The replication layer, on a node of a chain.
    pub replication: Option<Replication>,
    db: Db,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    jobs: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Wait until the node has shut down (its `shutdown` future completed),
    /// then flush storage.
    pub async fn wait(self) -> anyhow::Result<()> {
        self.server.await??;
        // Awaited, not only aborted: the job's engine (and so the db file)
        // is dropped before the db closes, so a restart can open it.
        self.jobs.abort();
        let _ = self.jobs.await;
        // Replication first: a batch it applied after the db closed would
        // fail, and the node takes that for a broken disk.
        if let Some(r) = &self.replication {
            r.stop();
        }
        tracing::info!(node = %self.started.node, "HTTP API stopped; flushing storage");
        self.db.close();
        Ok(())
    }
}

/// A node that changed its programme or catalogue while it had no chain
/// (`tongka up`) holds those changes in its op log, as its own ops. As a
/// store of a chain it may not author them: every other node would refuse
/// them (`op::check_authority`), and an origin's ops apply in order, so
/// nothing it made after them would ever reach the chain. Such a node is
/// not started as a store of a chain; it says why and what to do.
fn refuse_store_with_own_documents(config: &NodeConfig, db: &Db) -> anyhow::Result<()> {
    if config.tls().is_some() && config.node.role.as_str() != "hq" && db.authored_documents()? {
        anyhow::bail!(
            "node {} changed its own programme or catalogue while it had no chain; \
             a store of a chain may not (HQ authors them), and the chain would refuse \
             those changes and everything this node made after them. Keep running it \
             without a chain, or set up the store afresh for the chain \
             (`tongka chain add-store`) with a new data directory. \
             (节点在未加入连锁时修改过自己的会员方案或商品目录；连锁门店不能修改这些设置，\
             不能以门店身份加入连锁。请继续单机运行，或用新的数据目录重新创建门店。)",
            config.node.name
        );
    }
    Ok(())
}

/// The member-code key and window of the config. A key file the config
/// names must exist (a store of a chain verifies the others' codes only
/// with the chain's key, so it never draws one of its own); without one,
/// a node of no chain draws its own key into its data directory once.
fn member_codes(config: &NodeConfig) -> anyhow::Result<tongka_api::MemberCodes> {
    use tongka_config::member_code::{ensure_key, read_key};
    let (path, named) = config.member_code_key_file();
    let key = if named {
        read_key(&path)
    } else {
        ensure_key(&path)
    }
    .with_context(|| format!("the member-code key ({})", path.display()))?;
    Ok(tongka_api::MemberCodes {
        key: tongka_core::member_code::MemberCodeKey::from_bytes(key),
        window_s: config.member_code.window_s,
    })
}

/// Start a node: storage, engine, replication (if the config names a chain
/// CA) and the HTTP API, which serves until `shutdown` completes.
pub async fn start(
    config: NodeConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<Running> {
    // The data directory first (0700), as the token may live inside it.
    files::private_dir(&config.data_dir())?;
    let token = tongka_config::ensure_token(config.token_file())?;
    let member_codes = member_codes(&config)?;
    // The secrets the config names, wherever they are: owner only (a file
    // this user may not change, say one an administrator set up in /etc,
    // is left as it is, with a warning).
    let mut secrets = vec![config.token_file(), config.member_code_key_file().0];
    secrets.extend(config.tls().map(|t| t.key));
    secrets.extend(config.https().map(|h| h.key));
    for path in secrets {
        if let Err(e) = files::tighten(&path) {
            tracing::warn!(
                error = format!("{e:#}"),
                "a secret file stays readable by others"
            );
        }
    }
    // The HTTPS certificate is read before the database opens, so a wrong
    // file stops the start with its name rather than every till's handshake.
    let https = match config.https() {
        Some(files) => Some(
            tongka_net::https::Acceptor::load(&files.cert, &files.key)
                .context("loading the HTTPS certificate (http.tls_cert, http.tls_key)")?,
        ),
        None => None,
    };
    let (db, engine) = open(&config)?;
    if let Err(e) = refuse_store_with_own_documents(&config, &db) {
        drop(engine);
        db.close();
        return Err(e);
    }
    // Shares of merged-away members still held here (a move cut short by
    // a stop): moved now.
    match engine.settle_all().await {
        Ok(0) => {}
        Ok(n) => tracing::info!(moved = n, "moved shares of merged members"),
        Err(e) => tracing::warn!(error = %e, "moving shares of merged members failed"),
    }
    let replication = start_replication(&config, &engine, &db).await?;
    let listener = tokio::net::TcpListener::bind(config.http.listen)
        .await
        .with_context(|| format!("binding the HTTP API to {}", config.http.listen))?;
    let http = listener.local_addr()?;
    let data_dir = config.data_dir();
    let started = Started {
        http,
        https: https.is_some(),
        token: token.clone(),
        token_file: config.token_file(),
        data_dir: data_dir.clone(),
        node: engine.node().clone(),
    };
    let mut state = AppState::new(
        engine.clone(),
        token,
        config.node.role.as_str(),
        config.http.console,
    )
    .with_member_codes(member_codes)
    .with_session_ttl(config.session_ttl());
    if let Some(rep) = replication.clone() {
        state = state.with_peers(Arc::new(move || {
            rep.status()
                .into_iter()
                .map(|p| tongka_api::PeerState {
                    node: p.node.to_string(),
                    connected: p.connected,
                    lag_ops: p.lag_ops,
                    refused_ops: p.refused_ops,
                    disconnected_since: p.disconnected_since,
                    role: p.role,
                })
                .collect()
        }));
    }
    let open_files = files::raise_open_files();
    let options = tongka_api::ServeOptions {
        header_read_timeout: config.header_read_timeout(),
        max_connections: files::connection_cap(config.http.max_connections, open_files),
    };
    if options.max_connections < config.http.max_connections as usize {
        tracing::warn!(
            configured = config.http.max_connections,
            open_files,
            max_connections = options.max_connections,
            "http.max_connections lowered to fit the open-file limit"
        );
    }
    let server = match https {
        Some(tls) => tokio::spawn(tongka_api::serve_tls(
            listener, tls, state, shutdown, options,
        )),
        None => tokio::spawn(tongka_api::serve(listener, state, shutdown, options)),
    };
    let jobs = jobs::spawn(engine.clone());
    // Written once the API is served: tests and scripts wait for this file.
    std::fs::write(data_dir.join(ADDR_FILE), http.to_string())?;
    files::tighten(&data_dir.join(ADDR_FILE))?;
    tracing::info!(node = %started.node, %http, https = started.https, "node is up");
    Ok(Running {
        started,
        engine,
        replication,
        db,
        server,
        jobs,
    })
}

/// Run a node until `shutdown` completes. `on_ready` is called once the
/// API listens.
pub async fn run(
    config: NodeConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
    on_ready: impl FnOnce(&Started),
) -> anyhow::Result<()> {
    let running = start(config, shutdown).await?;
    on_ready(&running.started);
    running.wait().await
}

#[cfg(test)]
mod tests {
    /// `tongka-config` (which depends on no tongka crate) checks
    /// `member_code.window_s` against the core's bounds, written out again.
    #[test]
    fn the_configured_window_bounds_are_the_cores() {
        use tongka_core::member_code::{WINDOW_DEFAULT_S, WINDOW_MAX_S, WINDOW_MIN_S};
        let default = tongka_config::MemberCodeSection::default();
        assert_eq!(default.window_s, WINDOW_DEFAULT_S);
        let check = |w: u64| {
            let mut c = tongka_config::NodeConfig::quick_start(
                "/tmp/x".into(),
                "127.0.0.1:0".parse().unwrap(),
            );
            c.member_code.window_s = w;
            c.validate().is_ok()
        };
        assert!(check(WINDOW_MIN_S) && check(WINDOW_MAX_S));
        assert!(!check(WINDOW_MIN_S - 1) && !check(WINDOW_MAX_S + 1));
    }
}
