//! Remote ops through the engine: a phone registered at two stores while
//! they could not reach each other is listed as a duplicate on both, and
//! both keep the same index entry.

use std::time::Duration;

use tongka_actors::{Engine, EngineConfig, Outcome};
use tongka_core::ids::{MemberId, NodeId};
use tongka_core::member::Profile;
use tongka_core::programme::Programme;
use tongka_store::{Store, StoreOptions};

fn engine(dir: &std::path::Path, node: &str) -> Engine {
    let (store, rec) = Store::open(
        &dir.join(format!("{node}.redb")),
        StoreOptions {
            node: NodeId::new(node).unwrap(),
            max_batch: 64,
            queue_max: 1024,
        },
    )
    .unwrap();
    Engine::new(
        store,
        Programme::default(),
        rec.hlc,
        EngineConfig {
            max_in_flight: 64,
            idle_passivate: Duration::from_secs(60),
        },
    )
}

fn profile(name: &str) -> Profile {
    Profile {
        phone: "13912345678".into(),
        name: name.into(),
        birthday: None,
        gender: None,
        card_no: None,
        invited_by: None,
        tags: vec![],
        notes: String::new(),
    }
}

async fn register(e: &Engine, name: &str) -> MemberId {
    match e.register("t".into(), None, profile(name)).await.unwrap().0 {
        Outcome::Member(m) => m.id,
        other => panic!("{other:?}"),
    }
}

/// Hand `from`'s ops (all of them, in log order) to `to`, and wait until
/// they are durable there.
async fn ship(from: &Engine, to: &Engine) {
    let ops = from.store().ops_from(from.node(), 1, 1000).unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let n = ops.len();
    for op in ops {
        let tx = tx.clone();
        to.apply_remote(op, Box::new(move |r| tx.send(r).unwrap()))
            .await
            .unwrap();
    }
    for _ in 0..n {
        rx.recv().await.unwrap().unwrap();
    }
}

#[tokio::test]
async fn a_phone_registered_at_two_stores_is_listed_for_merging() {
    let dir = tempfile::tempdir().unwrap();
    let a = engine(dir.path(), "store-1");
    let b = engine(dir.path(), "store-2");
    let ma = register(&a, "甲").await;
    let mb = register(&b, "乙").await;
    ship(&a, &b).await;
    ship(&b, &a).await;
    for e in [&a, &b] {
        let dups = e.duplicates().unwrap();
        assert_eq!(dups.len(), 1, "{dups:?}");
        assert_eq!(dups[0].0, "phone:13912345678");
        let mut ids = dups[0].1.clone();
        ids.sort();
        assert_eq!(ids, vec![ma.clone(), mb.clone()]);
        // Both stores keep the same member in the phone index.
        assert_eq!(
            e.store().member_by_phone("13912345678").unwrap(),
            Some(ma.clone().min(mb.clone()))
        );
        // Both members exist everywhere, with their own profiles.
        assert_eq!(e.member(&ma).unwrap().profile.name, "甲");
        assert_eq!(e.member(&mb).unwrap().profile.name, "乙");
    }
    assert_eq!(a.store().summary().digest, b.store().summary().digest);
}
