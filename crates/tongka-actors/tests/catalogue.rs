//! The catalogue through the engine: HQ's change reaches a store as an op
//! and is materialised there (rows and barcode index) with the same
//! document bytes; a barcode moved between products in one edit ends on
//! its new holder; a change not made by its origin is rejected and
//! changes nothing.

mod common;

use common::engine;

use std::time::Duration;

use tongka_actors::Engine;
use tongka_core::catalogue::{Product, sample_catalogue};
use tongka_core::catalogue_doc;
use tongka_core::ids::NodeId;
use tongka_core::money::Money;

async fn wait_vv(to: &Engine, origin: &NodeId, want: u64) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while to.db().summary().vv.get(origin) < want {
        assert!(std::time::Instant::now() < deadline, "not durable in time");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn hq_changes_reach_a_store_materialised_with_the_same_document() {
    let dir = tempfile::tempdir().unwrap();
    let hq = engine(dir.path(), "hq");
    let store = engine(dir.path(), "store-1");
    let mut latte = sample_catalogue()[1].clone();
    latte.price = Money::from_fen(3500);
    // tea takes coffee's barcode, coffee gives it up, in one edit.
    let mut coffee = sample_catalogue()[0].clone();
    let code = coffee.barcode.take().unwrap();
    let tea = Product::new("tea", Some(&code), "茶 Tea", Money::from_fen(1800));
    let got = hq
        .change_catalogue(vec![latte.clone(), coffee.clone(), tea.clone()], "a".into())
        .await
        .unwrap();
    assert_eq!(got, vec![latte.clone(), coffee.clone(), tea.clone()]);
    let ops = hq.db().ops_from(hq.node(), 1, 10).unwrap();
    assert_eq!(ops.len(), 1);
    store.apply_remote_batch(ops).await.unwrap();
    wait_vv(&store, hq.node(), 1).await;
    for e in [&hq, &store] {
        let s = e.db();
        assert_eq!(s.product("latte").unwrap(), Some(latte.clone()));
        assert_eq!(s.product("coffee").unwrap(), Some(coffee.clone()));
        assert_eq!(s.product_by_barcode(&code).unwrap(), Some(tea.clone()));
        assert_eq!(s.products(100).unwrap().len(), sample_catalogue().len() + 1);
    }
    assert_eq!(
        hq.db().catalogue_doc().unwrap(),
        store.db().catalogue_doc().unwrap()
    );
    assert!(hq.db().authored_documents().unwrap());
    assert!(!store.db().authored_documents().unwrap());
}

#[tokio::test]
async fn a_change_not_made_by_its_origin_is_rejected() {
    use tongka_core::clock::{Hlc, VersionVector};
    use tongka_core::ids::OpId;
    use tongka_core::op::{OpBody, OpDraft};

    let dir = tempfile::tempdir().unwrap();
    let store = engine(dir.path(), "store-1");
    let before = store.db().products(100).unwrap();
    let mut latte = sample_catalogue()[1].clone();
    latte.price = Money::from_fen(1);
    let at = Hlc { ms: 1, count: 0 };
    let mut doc = catalogue_doc::initial();
    let change = catalogue_doc::change(
        &mut doc,
        &NodeId::new("store-9").unwrap(),
        at,
        std::slice::from_ref(&latte),
    )
    .unwrap()
    .unwrap();
    let op = OpDraft {
        hlc: at,
        by: "x".into(),
        idem: None,
        body: OpBody::CatalogueChanged {
            change,
            products: vec![latte],
        },
    }
    .stamp(
        OpId {
            origin: NodeId::new("hq").unwrap(),
            seq: 1,
        },
        VersionVector::default(),
    );
    store.apply_remote_batch(vec![op]).await.unwrap();
    wait_vv(&store, &NodeId::new("hq").unwrap(), 1).await;
    let rejected = store.db().rejected(10).unwrap();
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    assert!(rejected[0].1.contains("not by its origin"), "{rejected:?}");
    assert_eq!(store.db().products(100).unwrap(), before);
    assert_eq!(
        store.db().catalogue_doc().unwrap(),
        Some(catalogue_doc::initial().save())
    );
}
