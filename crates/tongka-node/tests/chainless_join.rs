//! A node that changed its own catalogue or programme while it had no
//! chain is not started as a store of a chain (the chain would refuse
//! those ops and hold up everything it made after them); it says why. A
//! node that changed neither starts in the chain; HQ may always.

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};

use tongka_config::{ChainManifest, ChainNewOptions, NodeConfig};
use tongka_core::Money;
use tongka_core::catalogue::Product;

fn chain_config(dir: &std::path::Path, name: &str) -> NodeConfig {
    let manifest = ChainManifest::load(dir).unwrap();
    let n = manifest.nodes.iter().find(|n| n.name == name).unwrap();
    let mut c = NodeConfig::load(n.config_path(dir)).unwrap();
    c.http.listen = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    c.quic.listen = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap();
    c.quic.mdns = false;
    c.quic.peers.clear();
    c
}

/// The same node, same data directory, without a chain.
fn chainless(c: &NodeConfig) -> NodeConfig {
    let mut c = c.clone();
    c.quic.ca_cert = None;
    c.quic.cert = None;
    c.quic.key = None;
    assert!(c.tls().is_none());
    c
}

async fn run<T>(
    config: NodeConfig,
    f: impl AsyncFnOnce(&tongka_actors::Engine) -> T,
) -> anyhow::Result<T> {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let node = tongka_node::start(config, async move {
        let _ = stopped.await;
    })
    .await?;
    let out = f(&node.engine).await;
    let _ = stop.send(());
    node.wait().await?;
    Ok(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_authored_its_catalogue_or_programme_does_not_join_as_a_store() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("chain");
    let mut opts = ChainNewOptions::new(&dir, 3);
    opts.hq = true;
    tongka_config::chain_new(&opts).unwrap();

    // store-1 edits its catalogue while chain-less: refused as a store.
    let c1 = chain_config(&dir, "store-1");
    let tea = Product::new("tea", None, "茶 Tea", Money::from_fen(1800));
    run(chainless(&c1), async |e| {
        e.change_catalogue(vec![tea.clone()], "t".into())
            .await
            .unwrap()
    })
    .await
    .unwrap();
    let err = run(c1.clone(), async |_| ()).await.expect_err("refused");
    let msg = format!("{err:#}");
    assert!(
        msg.contains("catalogue") && msg.contains("store-1"),
        "{msg}"
    );
    // Still fine without a chain, with its product.
    let kept = run(chainless(&c1), async |e| e.db().product("tea").unwrap())
        .await
        .unwrap();
    assert_eq!(kept, Some(tea.clone()));

    // store-2 edits its programme while chain-less: refused too.
    let c2 = chain_config(&dir, "store-2");
    run(chainless(&c2), async |e| {
        let mut p = (*e.programme()).clone();
        p.points_per_yuan = rust_decimal::Decimal::new(2, 0);
        e.change_programme(p, "t".into(), None).await.unwrap();
    })
    .await
    .unwrap();
    assert!(run(c2, async |_| ()).await.is_err());

    // store-3 edited neither: it starts in the chain.
    let c3 = chain_config(&dir, "store-3");
    run(chainless(&c3), async |_| ()).await.unwrap();
    run(c3, async |_| ()).await.unwrap();

    // HQ authors them: its own edits made chain-less do not stop it.
    let hq = chain_config(&dir, "hq");
    run(chainless(&hq), async |e| {
        e.change_catalogue(vec![tea.clone()], "t".into())
            .await
            .unwrap()
    })
    .await
    .unwrap();
    run(hq, async |_| ()).await.unwrap();
}

/// A data directory of before the format break (here: its database
/// marked schema 7 by hand) is refused at start, saying what to do; the
/// node changes nothing in it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_directory_of_before_the_format_break_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("chain");
    tongka_config::chain_new(&ChainNewOptions::new(&dir, 1)).unwrap();
    let c = chainless(&chain_config(&dir, "store-1"));
    run(c.clone(), async |_| ()).await.unwrap();
    let path = c.data_dir().join(tongka_node::DB_FILE);
    let meta = redb::TableDefinition::<&str, &[u8]>::new("meta-1");
    {
        let db = redb::Database::create(&path).unwrap();
        let w = db.begin_write().unwrap();
        w.open_table(meta)
            .unwrap()
            .insert("schema", 7u32.to_le_bytes().as_slice())
            .unwrap();
        w.commit().unwrap();
    }
    let err = run(c, async |_| ()).await.unwrap_err();
    let text = format!("{err:#}");
    assert!(text.contains("earlier tongka format"), "{text}");
    assert!(text.contains("tongka chain add-store"), "{text}");
    use redb::ReadableDatabase;
    let db = redb::Database::create(&path).unwrap();
    let r = db.begin_read().unwrap();
    let schema = r.open_table(meta).unwrap().get("schema").unwrap().unwrap();
    assert_eq!(schema.value(), 7u32.to_le_bytes().as_slice());
}
