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
    let tea = Product {
        sku: "tea".into(),
        barcode: None,
        name: "茶 Tea".into(),
        price: Money::from_fen(1800),
    };
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
    let kept = run(chainless(&c1), async |e| e.store().product("tea").unwrap())
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

/// Turn the node's database into a schema 4 one holding its own products
/// (`latte` repriced, `tea` added), as a node of before the shared
/// catalogue had.
fn as_schema_4_with_own_products(config: &NodeConfig, latte: &Product, tea: &Product) {
    let path = config.data_dir().join(tongka_node::DB_FILE);
    let db = redb::Database::create(&path).unwrap();
    let w = db.begin_write().unwrap();
    {
        let mut meta = w
            .open_table(redb::TableDefinition::<&str, &[u8]>::new("meta-1"))
            .unwrap();
        meta.insert("schema", 4u32.to_le_bytes().as_slice())
            .unwrap();
        meta.remove("catalogue").unwrap();
        let mut products = w
            .open_table(redb::TableDefinition::<&str, &[u8]>::new("products-1"))
            .unwrap();
        for p in [latte, tea] {
            let mut v = vec![1u8];
            v.extend(postcard::to_allocvec(p).unwrap());
            products.insert(p.sku.as_str(), v.as_slice()).unwrap();
        }
    }
    w.commit().unwrap();
}

/// At the upgrade to schema 5 a chain-less node's own products become a
/// catalogue change of its own (its tills keep its prices); a store of a
/// chain drops them (HQ's catalogue rules) and still joins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_products_of_a_schema_4_node_are_adopted_chainless_and_dropped_in_a_chain() {
    use tongka_core::catalogue::sample_catalogue;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("chain");
    let mut opts = ChainNewOptions::new(&dir, 2);
    opts.hq = true;
    tongka_config::chain_new(&opts).unwrap();
    let mut latte = sample_catalogue()[1].clone();
    latte.price = Money::from_fen(3600);
    let tea = Product {
        sku: "tea".into(),
        barcode: Some("6900000000017".into()),
        name: "茶 Tea".into(),
        price: Money::from_fen(1800),
    };

    let c1 = chainless(&chain_config(&dir, "store-1"));
    run(c1.clone(), async |_| ()).await.unwrap();
    as_schema_4_with_own_products(&c1, &latte, &tea);
    let (l, t, legacy, authored, ops) = run(c1.clone(), async |e| {
        let s = e.store();
        (
            s.product("latte").unwrap(),
            s.product_by_barcode("6900000000017").unwrap(),
            s.legacy_products().unwrap(),
            s.authored_documents().unwrap(),
            s.ops_from(e.node(), 1, 10).unwrap(),
        )
    })
    .await
    .unwrap();
    assert_eq!((l, t), (Some(latte.clone()), Some(tea.clone())));
    assert_eq!(legacy, vec![]);
    assert!(authored);
    assert_eq!(ops.len(), 1);
    assert_eq!(ops[0].body.kind(), "catalogue_changed");

    // (Created without a chain: in this process a chain node's
    // replication keeps its database open after it stops.)
    let c2 = chain_config(&dir, "store-2");
    run(chainless(&c2), async |_| ()).await.unwrap();
    as_schema_4_with_own_products(&c2, &latte, &tea);
    let (l, t, legacy, authored, ops) = run(c2, async |e| {
        let s = e.store();
        (
            s.product("latte").unwrap(),
            s.product("tea").unwrap(),
            s.legacy_products().unwrap(),
            s.authored_documents().unwrap(),
            s.ops_from(e.node(), 1, 10).unwrap(),
        )
    })
    .await
    .unwrap();
    assert_eq!((l, t), (Some(sample_catalogue()[1].clone()), None));
    assert_eq!(legacy, vec![]);
    assert!(!authored);
    assert!(ops.is_empty());
}
