//! Cards through the engine: a card product sold at checkout lands in the
//! member's wallet with its code; visits (核销) come out of this store's
//! share, twelve concurrent visits of a ten-visit card make exactly ten; a
//! visit is idempotent under its key; a refund takes the card back at its
//! unused value; another store holding none says where the visits are.

mod common;

use std::time::Duration;

use common::engine;
use rust_decimal::Decimal;
use tongka_actors::{Engine, EngineError, Idem, LineRequest, Outcome};
use tongka_core::card::CardError;
use tongka_core::checkout::{TenderInput, TenderKind};
use tongka_core::error::DomainError;
use tongka_core::ids::{CardId, MemberId};
use tongka_core::member::Profile;
use tongka_core::money::Money;

async fn register(e: &Engine, phone: &str) -> MemberId {
    let profile = Profile {
        phone: phone.into(),
        name: "李雷".into(),
        birthday: None,
        gender: None,
        card_no: None,
        invited_by: None,
        tags: vec![],
        notes: String::new(),
    };
    match e.register("t".into(), None, profile).await.unwrap().0 {
        Outcome::Member(m) => m.id,
        other => panic!("{other:?}"),
    }
}

/// Sell `sku` (a card product of the sample catalogue) to `m`, cash.
async fn buy(e: &Engine, m: &MemberId, sku: &str) -> (CardId, tongka_core::ids::OrderId) {
    let lines = vec![LineRequest::Sku {
        sku: sku.into(),
        qty: Decimal::ONE,
    }];
    let cash = vec![TenderInput {
        kind: TenderKind::Cash,
        amount: None,
    }];
    match e
        .checkout("t".into(), None, Some(m.clone()), lines, cash)
        .await
        .unwrap()
        .0
    {
        Outcome::CheckedOut { order, .. } => {
            let sale = order.order.lines[0].card.clone().expect("a card line");
            (sale.cards[0].clone(), order.order.id)
        }
        other => panic!("{other:?}"),
    }
}

async fn visit(
    e: &Engine,
    m: &MemberId,
    c: &CardId,
    key: Option<&str>,
) -> Result<(Outcome, bool), EngineError> {
    let idem = key.map(|k| Idem {
        key: k.into(),
        fingerprint: [2; 32],
    });
    e.visit_card(
        "t".into(),
        idem,
        m.clone(),
        c.clone(),
        1,
        Some("haircut".into()),
    )
    .await
}

#[tokio::test]
async fn twelve_concurrent_visits_of_a_ten_visit_card_make_ten() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine(dir.path(), "store-1");
    let m = register(&e, "13900000001").await;
    let (card, _) = buy(&e, &m, "haircut10").await;
    let held = e.member(&m).unwrap();
    let c = held.card(&card).unwrap();
    assert_eq!((c.left(), c.card.price), (10, Money::from_yuan(680)));
    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let (e, m, card) = (e.clone(), m.clone(), card.clone());
            tokio::spawn(async move { visit(&e, &m, &card, None).await })
        })
        .collect();
    let mut made = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => made += 1,
            Err(e) => assert_eq!(e.code(), "card_used_up", "{e}"),
        }
    }
    assert_eq!(made, 10);
    assert_eq!(e.member(&m).unwrap().card(&card).unwrap().left(), 0);
    assert_eq!(e.db().summary().totals.card_visits, 10);
}

#[tokio::test]
async fn a_visit_replays_under_its_key_and_a_refund_takes_the_card_back() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine(dir.path(), "store-1");
    let m = register(&e, "13900000002").await;
    let (card, order) = buy(&e, &m, "haircut10").await;
    for _ in 0..2 {
        visit(&e, &m, &card, Some("v-1")).await.unwrap();
    }
    visit(&e, &m, &card, Some("v-2")).await.unwrap();
    visit(&e, &m, &card, Some("v-3")).await.unwrap();
    assert_eq!(e.member(&m).unwrap().card(&card).unwrap().used(), 3);
    // A service the card does not cover.
    let wrong = e
        .visit_card(
            "t".into(),
            None,
            m.clone(),
            card.clone(),
            1,
            Some("latte".into()),
        )
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), "card_not_applicable");
    let (out, _) = e
        .refund("t".into(), None, order, None, String::new())
        .await
        .unwrap();
    let Outcome::Refunded { refund, .. } = out else {
        panic!()
    };
    assert_eq!(refund.cards_refunded, vec![card.clone()]);
    assert_eq!(refund.amount, Money::from_yuan(476), "680 × 7/10");
    assert_eq!(refund.card_kept, Money::from_yuan(204));
    let after = visit(&e, &m, &card, None).await.unwrap_err();
    assert!(matches!(
        after,
        EngineError::Card(CardError::Refunded { .. })
    ));
}

#[tokio::test]
async fn a_store_holding_no_visits_names_the_holder() {
    let dir = tempfile::tempdir().unwrap();
    let s1 = engine(dir.path(), "store-1");
    let s2 = engine(dir.path(), "store-2");
    let m = register(&s1, "13900000003").await;
    let (card, _) = buy(&s1, &m, "haircut10").await;
    let ops = s1.db().ops_from(s1.node(), 1, 1000).unwrap();
    s2.apply_remote_batch(ops).await.unwrap();
    let want = s1.db().summary().vv.get(s1.node());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while s2.db().summary().vv.get(s1.node()) < want {
        assert!(std::time::Instant::now() < deadline, "not applied in time");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let e = visit(&s2, &m, &card, None).await.unwrap_err();
    let EngineError::Card(CardError::HeldElsewhere { held_at, .. }) = &e else {
        panic!("{e:?}")
    };
    assert_eq!(held_at, &vec![s1.node().clone()]);
    let unknown = CardId::mint(s1.node(), 4242);
    assert_eq!(
        visit(&s1, &m, &unknown, None).await.unwrap_err().code(),
        "card_not_found"
    );
}
