//! The programme through the engine: HQ changes it, the change reaches a
//! store as an op, and the store's next recharge uses it; the recharge
//! made before keeps its bonus; an engine started on the store finds the
//! programme again.

mod common;

use common::{engine, engine_on};

use std::time::Duration;

use tongka_actors::{Engine, EngineError, Outcome};
use tongka_core::checkout::TenderKind;
use tongka_core::error::DomainError;
use tongka_core::ids::{MemberId, NodeId};
use tongka_core::member::Profile;
use tongka_core::money::Money;
use tongka_core::programme::Programme;

async fn ship(from: &Engine, to: &Engine, after: u64) {
    let ops = from.db().ops_from(from.node(), after + 1, 1000).unwrap();
    let n = ops.len();
    to.apply_remote_batch(ops).await.unwrap();
    // Handed over; poll until committed.
    let want = from.db().summary().vv.get(from.node());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while to.db().summary().vv.get(from.node()) < want {
        assert!(
            std::time::Instant::now() < deadline,
            "{n} ops not durable in time"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn recharge_bonus(e: &Engine, m: &MemberId) -> Money {
    match e
        .recharge(
            "t".into(),
            None,
            m.clone(),
            Money::from_yuan(1000),
            TenderKind::Cash,
        )
        .await
        .unwrap()
        .0
    {
        Outcome::Recharged { bonus, .. } => bonus,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn hq_changes_an_offer_and_the_store_next_recharge_uses_it() {
    let dir = tempfile::tempdir().unwrap();
    let hq = engine(dir.path(), "hq");
    let store = engine(dir.path(), "store-1");
    let m = match store
        .register(
            "t".into(),
            None,
            Profile {
                phone: "13912345678".into(),
                name: "甲".into(),
                birthday: None,
                gender: None,
                card_no: None,
                invited_by: None,
                tags: vec![],
                notes: String::new(),
            },
        )
        .await
        .unwrap()
        .0
    {
        Outcome::Member(m) => m.id,
        other => panic!("{other:?}"),
    };
    assert_eq!(recharge_bonus(&store, &m).await, Money::from_yuan(100));

    let mut asked = Programme::default();
    asked.recharge_offers[0].bonus = Money::from_yuan(150);
    asked.levels[1].rate = rust_decimal::Decimal::new(93, 2);
    match hq
        .change_programme(asked.clone(), "hq-admin".into(), None)
        .await
        .unwrap()
        .0
    {
        Outcome::Programme(p) => assert_eq!(p, asked),
        other => panic!("{other:?}"),
    }
    assert_eq!(*hq.programme(), asked);
    // The same again changes nothing and logs nothing.
    let seq = hq.db().summary().vv.get(hq.node());
    hq.change_programme(asked.clone(), "hq-admin".into(), None)
        .await
        .unwrap();
    assert_eq!(hq.db().summary().vv.get(hq.node()), seq);

    assert_eq!(*store.programme(), Programme::default());
    ship(&hq, &store, 0).await;
    assert_eq!(*store.programme(), asked);
    assert!(store.db().rejected(10).unwrap().is_empty());
    assert_eq!(recharge_bonus(&store, &m).await, Money::from_yuan(150));
    // The first recharge keeps the bonus it was given.
    let w = store.member(&m).unwrap();
    assert_eq!(w.cumulative_bonus, Money::from_yuan(250));

    // An engine started on the store reads the programme back.
    let again = engine_on(store.db().clone(), store.db().summary().hlc);
    assert_eq!(*again.programme(), asked);

    // An invalid programme is refused with its code; nothing changes.
    let mut bad = asked.clone();
    bad.recharge_offers.swap(0, 1);
    let e = hq
        .change_programme(bad, "hq-admin".into(), None)
        .await
        .unwrap_err();
    assert!(matches!(e, EngineError::Programme(_)));
    assert_eq!(e.code(), "programme_offers_order");
    assert_eq!(*hq.programme(), asked);
    assert_eq!(hq.db().summary().vv.get(hq.node()), seq);
}

/// A programme change whose automerge change was not made by its origin is
/// logged as rejected and changes nothing.
#[tokio::test]
async fn a_change_not_made_by_its_origin_is_rejected() {
    use tongka_core::clock::{Hlc, VersionVector};
    use tongka_core::ids::OpId;
    use tongka_core::op::{OpBody, OpDraft};
    use tongka_core::programme_doc;

    let dir = tempfile::tempdir().unwrap();
    let store = engine(dir.path(), "store-1");
    let asked = Programme {
        points_per_yuan: rust_decimal::Decimal::new(3, 0),
        ..Programme::default()
    };
    let at = Hlc { ms: 1, count: 0 };
    let mut doc = programme_doc::initial();
    let change = programme_doc::change(&mut doc, &NodeId::new("store-9").unwrap(), at, &asked)
        .unwrap()
        .unwrap();
    let op = OpDraft {
        hlc: at,
        by: "x".into(),
        idem: None,
        body: OpBody::ProgrammeChanged {
            change,
            programme: asked,
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
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while store.db().summary().vv.get(&NodeId::new("hq").unwrap()) < 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "not committed in time"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let rejected = store.db().rejected(10).unwrap();
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    assert!(rejected[0].1.contains("not by its origin"), "{rejected:?}");
    assert_eq!(*store.programme(), Programme::default());
    assert_eq!(store.db().programme_doc().unwrap(), None);
}

/// A programme change received with its bytes (replication's path) is
/// stored as received, not encoded again: the bytes a store relays are its
/// origin's, so a field this build does not know would stay in them and
/// the origin's signature would still verify. The bytes here are the
/// origin's with the sequence number in a longer valid form
/// (`common::widen_seq`), which encoding the op again would not keep.
#[tokio::test]
async fn a_remote_programme_change_is_stored_as_received() {
    let dir = tempfile::tempdir().unwrap();
    let hq = engine(dir.path(), "hq");
    let store = engine(dir.path(), "store-1");
    let mut asked = Programme::default();
    asked.recharge_offers[0].bonus = Money::from_yuan(150);
    hq.change_programme(asked.clone(), "hq-admin".into(), None)
        .await
        .unwrap();
    let sent: Vec<_> = hq
        .db()
        .ops_from_encoded(hq.node(), 1, 10)
        .unwrap()
        .into_iter()
        .map(common::widen_seq)
        .collect();
    assert_eq!(sent.len(), 1);
    store.apply_remote_encoded(sent.clone()).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while store.db().summary().vv.get(hq.node()) < 1 {
        assert!(std::time::Instant::now() < deadline, "not durable in time");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(*store.programme(), asked);
    let kept = store.db().ops_from_encoded(hq.node(), 1, 10).unwrap();
    assert_eq!(kept[0].bytes, sent[0].bytes, "stored byte for byte");
    assert_eq!(kept[0].hash, sent[0].hash);
}

/// Coupon templates travel with the programme: HQ adds two, a store
/// materialises the same list once the change arrives and reads it back
/// after a restart; HQ's later removal of one reaches it too.
#[tokio::test]
async fn coupon_templates_reach_a_store_with_the_programme() {
    use tongka_core::coupon::{Benefit, CouponKind, CouponTemplate, Scope, Validity};
    let t = |id: &str, fen: i64| CouponTemplate {
        id: id.into(),
        name: format!("券 {id}"),
        kind: CouponKind::Cash,
        benefit: Benefit::AmountOff {
            off: Money::from_fen(fen),
        },
        validity: Validity::DaysFromIssue { days: 30 },
        scope: Scope::default(),
        uses: 1,
        min_spend: Money::ZERO,
        per_member_limit: 0,
    };
    let dir = tempfile::tempdir().unwrap();
    let hq = engine(dir.path(), "hq");
    let store = engine(dir.path(), "store-1");
    let asked = Programme {
        coupon_templates: vec![t("a-five", 500), t("b-ten", 1_000)],
        ..Programme::default()
    };
    hq.change_programme(asked.clone(), "hq-admin".into(), None)
        .await
        .unwrap();
    ship(&hq, &store, 0).await;
    assert_eq!(store.programme().coupon_templates, asked.coupon_templates);
    let again = engine_on(store.db().clone(), store.db().summary().hlc);
    assert_eq!(again.programme().coupon_templates, asked.coupon_templates);
    let seen = hq.db().summary().vv.get(hq.node());
    let fewer = Programme {
        coupon_templates: vec![t("b-ten", 1_000)],
        ..Programme::default()
    };
    hq.change_programme(fewer.clone(), "hq-admin".into(), None)
        .await
        .unwrap();
    ship(&hq, &store, seen).await;
    assert_eq!(store.programme().coupon_templates, fewer.coupon_templates);
    assert!(store.db().rejected(10).unwrap().is_empty());
}
