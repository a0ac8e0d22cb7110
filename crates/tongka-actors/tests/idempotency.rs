//! Idempotency records through the engine: a sale's record is kept by
//! reference to its order, and still answers exactly the first answer after
//! refunds of that order and a restart; another request under the same key
//! is refused.

use std::time::Duration;

use rust_decimal::Decimal;
use tongka_actors::{Engine, EngineConfig, EngineError, Idem, LineRequest, Outcome};
use tongka_core::checkout::{TenderInput, TenderKind};
use tongka_core::ids::NodeId;
use tongka_core::member::Profile;
use tongka_core::money::Money;
use tongka_core::programme::Programme;
use tongka_db::{Db, DbOptions};

async fn engine(path: &std::path::Path) -> (Engine, Db) {
    // Account actors of an engine before hold the file until they passivate.
    let (db, rec) = loop {
        match Db::open(
            path,
            DbOptions {
                node: NodeId::new("store-1").unwrap(),
                max_batch: 64,
                queue_max: 1024,
            },
        ) {
            Ok(s) => break s,
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    };
    let e = Engine::new(
        db.clone(),
        Programme::default(),
        rec.hlc,
        EngineConfig {
            max_in_flight: 64,
            idle_passivate: Duration::from_millis(50),
        },
    );
    (e, db)
}

fn idem(key: &str, fp: u8) -> Option<Idem> {
    Some(Idem {
        key: key.into(),
        fingerprint: [fp; 32],
    })
}

fn line() -> Vec<LineRequest> {
    vec![LineRequest::Free {
        description: "咖啡".into(),
        unit_price: Money::from_fen(1250),
        qty: Decimal::new(2, 0),
    }]
}

fn balance() -> Vec<TenderInput> {
    vec![TenderInput {
        kind: TenderKind::Balance,
        amount: None,
    }]
}

#[tokio::test]
async fn a_sale_replays_its_first_answer_after_refunds_and_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("node.redb");
    let (e, store) = engine(&path).await;
    let profile = Profile {
        phone: "13912345678".into(),
        name: "甲".into(),
        birthday: None,
        gender: None,
        card_no: None,
        invited_by: None,
        tags: vec![],
        notes: String::new(),
    };
    let Outcome::Member(m) = e.register("t".into(), None, profile).await.unwrap().0 else {
        panic!()
    };
    let (recharged, _) = e
        .recharge(
            "t".into(),
            idem("r1", 1),
            m.id.clone(),
            Money::from_yuan(100),
            TenderKind::Cash,
        )
        .await
        .unwrap();
    let (first, replayed) = e
        .checkout(
            "t".into(),
            idem("c1", 2),
            Some(m.id.clone()),
            line(),
            balance(),
        )
        .await
        .unwrap();
    assert!(!replayed);
    let Outcome::CheckedOut { order, member } = &first else {
        panic!("{first:?}")
    };
    let order_id = order.order.id.clone();
    // Replayed at once, and refused with another body.
    let (again, replayed) = e
        .checkout(
            "t".into(),
            idem("c1", 2),
            Some(m.id.clone()),
            line(),
            balance(),
        )
        .await
        .unwrap();
    assert!(replayed);
    assert_eq!(again, first);
    assert!(matches!(
        e.replay(idem("c1", 3).as_ref()),
        Err(EngineError::IdemConflict(_))
    ));
    // A refund changes the order's state, not the sale's first answer.
    e.refund(
        "t".into(),
        idem("f1", 4),
        order_id.clone(),
        None,
        "退货".into(),
    )
    .await
    .unwrap();
    assert_eq!(e.order(&order_id).unwrap().refunds.len(), 1);
    drop(e);
    store.close();

    let (e, store) = engine(&path).await;
    let (again, replayed) = e
        .checkout(
            "t".into(),
            idem("c1", 2),
            Some(m.id.clone()),
            line(),
            balance(),
        )
        .await
        .unwrap();
    assert!(replayed);
    let Outcome::CheckedOut {
        order: again_order,
        member: again_member,
    } = &again
    else {
        panic!("{again:?}")
    };
    assert_eq!(again_order, order, "the order as first answered");
    // The member is the member now (after the refund): not part of a
    // sale's answer.
    assert_eq!(
        again_member.as_ref().map(|m| &m.id),
        member.as_ref().map(|m| &m.id)
    );
    // A recharge keeps its whole answer: the wallet as it was then.
    assert_eq!(e.replay(idem("r1", 1).as_ref()).unwrap(), Some(recharged));
    drop(e);
    store.close();
}
