//! Coupons through the engine: new-member coupons on registration, a
//! coupon issued and used once even by five concurrent sales, a refund
//! giving its use back, a batch issued under derived keys, the per-member
//! limit, and a store that does not hold a coupon's use saying where it is.

mod common;

use std::time::Duration;

use common::engine;
use rust_decimal::Decimal;
use tongka_actors::{Deduct, Engine, EngineError, Idem, LineRequest, Outcome};
use tongka_core::checkout::{CheckoutError, TenderInput, TenderKind};
use tongka_core::coupon::{
    Benefit, CouponError, CouponKind, CouponStatus, CouponTemplate, Scope, Validity,
};
use tongka_core::day::Day;
use tongka_core::ids::{CouponId, MemberId};
use tongka_core::member::Profile;
use tongka_core::money::Money;
use tongka_core::programme::Programme;

fn template(id: &str, kind: CouponKind, off: i64, limit: u32) -> CouponTemplate {
    CouponTemplate {
        id: id.into(),
        name: format!("券 {id}"),
        kind,
        benefit: Benefit::AmountOff {
            off: Money::from_yuan(off),
        },
        validity: Validity::DaysFromIssue { days: 30 },
        scope: Scope::default(),
        uses: 1,
        min_spend: Money::ZERO,
        per_member_limit: limit,
    }
}

async fn with_templates(e: &Engine) {
    let p = Programme {
        coupon_templates: vec![
            template("welcome", CouponKind::NewMember, 3, 1),
            template("cash5", CouponKind::Cash, 5, 2),
        ],
        ..Programme::default()
    };
    e.change_programme(p, "hq".into(), None).await.unwrap();
}

async fn register(e: &Engine, phone: &str) -> MemberId {
    let profile = Profile {
        phone: phone.into(),
        name: "王芳".into(),
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

fn idem(key: &str) -> Option<Idem> {
    Some(Idem {
        key: key.into(),
        fingerprint: [1; 32],
    })
}

async fn issue(e: &Engine, m: &MemberId, t: &str) -> Result<CouponId, EngineError> {
    match e.issue_coupon("t".into(), None, m.clone(), t).await?.0 {
        Outcome::CouponIssued { coupon, .. } => Ok(coupon),
        other => panic!("{other:?}"),
    }
}

async fn sell(e: &Engine, m: &MemberId, c: &CouponId) -> Result<Outcome, EngineError> {
    let lines = vec![LineRequest::Free {
        description: "咖啡".into(),
        unit_price: Money::from_yuan(20),
        qty: Decimal::ONE,
    }];
    let cash = vec![TenderInput {
        kind: TenderKind::Cash,
        amount: None,
    }];
    let deduct = Deduct {
        points: 0,
        coupons: vec![c.clone()],
    };
    e.checkout_with("t".into(), None, Some(m.clone()), lines, cash, deduct)
        .await
        .map(|o| o.0)
}

fn code(r: Result<Outcome, EngineError>) -> &'static str {
    use tongka_core::error::DomainError;
    r.unwrap_err().code()
}

#[tokio::test]
async fn a_new_member_gets_the_welcome_coupon_once() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine(dir.path(), "store-1");
    with_templates(&e).await;
    let m = register(&e, "13800000001").await;
    let held = e.member(&m).unwrap().coupons;
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].coupon.template.id, "welcome");
    assert_eq!(held[0].held(e.node()), 1);
    // Its limit is one: issuing another is refused, and nothing changes.
    let r = issue(&e, &m, "welcome").await.unwrap_err();
    assert!(matches!(
        r,
        EngineError::Coupon(CouponError::LimitReached { limit: 1, .. })
    ));
    assert_eq!(e.member(&m).unwrap().coupons.len(), 1);
}

#[tokio::test]
async fn five_concurrent_sales_use_a_single_use_coupon_once() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine(dir.path(), "store-1");
    with_templates(&e).await;
    let m = register(&e, "13800000002").await;
    let c = issue(&e, &m, "cash5").await.unwrap();
    let sales: Vec<_> = (0..5)
        .map(|_| {
            let (e, m, c) = (e.clone(), m.clone(), c.clone());
            tokio::spawn(async move { sell(&e, &m, &c).await })
        })
        .collect();
    let mut made = 0;
    for s in sales {
        match s.await.unwrap() {
            Ok(Outcome::CheckedOut { order, .. }) => {
                made += 1;
                assert_eq!(order.order.coupon_off, Money::from_yuan(5));
                assert_eq!(order.order.payable, Money::from_yuan(15));
            }
            Err(EngineError::Checkout(CheckoutError::Coupon(CouponError::Used { .. }))) => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(made, 1, "one sale used it");
    let today = Day::of_ms(e.db().summary().hlc.ms);
    let held = e.member(&m).unwrap();
    let coupon = held.coupon(&c).unwrap();
    assert_eq!(coupon.status(today), CouponStatus::Used);
    assert_eq!(e.db().summary().totals.coupon_uses, 1);
}

#[tokio::test]
async fn a_refund_gives_the_use_back_and_it_can_be_used_again() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine(dir.path(), "store-1");
    with_templates(&e).await;
    let m = register(&e, "13800000003").await;
    let c = issue(&e, &m, "cash5").await.unwrap();
    let Outcome::CheckedOut { order, .. } = sell(&e, &m, &c).await.unwrap() else {
        panic!()
    };
    assert_eq!(code(sell(&e, &m, &c).await), "coupon_used");
    let (refunded, _) = e
        .refund(
            "t".into(),
            None,
            order.order.id.clone(),
            None,
            String::new(),
        )
        .await
        .unwrap();
    let Outcome::Refunded { refund, .. } = refunded else {
        panic!()
    };
    assert_eq!(refund.coupons_returned, vec![c.clone()]);
    assert_eq!(refund.amount, Money::from_yuan(15), "what was paid");
    sell(&e, &m, &c).await.unwrap();
    let t = e.db().summary().totals;
    assert_eq!((t.coupon_uses, t.coupon_uses_returned), (2, 1));
    assert_eq!(t.coupon_uses_outstanding(), 1, "the welcome coupon's use");
}

#[tokio::test]
async fn a_batch_issues_under_derived_keys_and_a_replay_issues_nothing_new() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine(dir.path(), "store-1");
    with_templates(&e).await;
    let a = register(&e, "13800000004").await;
    let b = register(&e, "13800000005").await;
    let nobody = MemberId::mint(e.node(), 999);
    let members = vec![a.clone(), nobody.clone(), b.clone()];
    let first = e
        .issue_coupons("t".into(), idem("batch-1"), members.clone(), "cash5")
        .await
        .unwrap();
    assert!(first[0].is_ok() && first[2].is_ok());
    assert_eq!(
        tongka_core::error::DomainError::code(first[1].as_ref().unwrap_err()),
        "member_not_found"
    );
    let again = e
        .issue_coupons("t".into(), idem("batch-1"), members, "cash5")
        .await
        .unwrap();
    assert!(again[0].as_ref().unwrap().1, "replayed");
    for m in [&a, &b] {
        assert_eq!(e.member(m).unwrap().coupons_of("cash5"), 1);
    }
    let unknown = e
        .issue_coupons("t".into(), None, vec![a.clone()], "nope")
        .await
        .unwrap_err();
    assert!(matches!(
        unknown,
        EngineError::Coupon(CouponError::TemplateNotFound { .. })
    ));
}

#[tokio::test]
async fn a_store_without_the_use_says_where_it_is_held() {
    let dir = tempfile::tempdir().unwrap();
    let s1 = engine(dir.path(), "store-1");
    let s2 = engine(dir.path(), "store-2");
    with_templates(&s1).await;
    let m = register(&s1, "13800000006").await;
    let c = issue(&s1, &m, "cash5").await.unwrap();
    let ops = s1.db().ops_from(s1.node(), 1, 1000).unwrap();
    s2.apply_remote_batch(ops).await.unwrap();
    let want = s1.db().summary().vv.get(s1.node());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while s2.db().summary().vv.get(s1.node()) < want {
        assert!(std::time::Instant::now() < deadline, "not applied in time");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // store-2 has no broker (no peer to ask): refused, saying where.
    let e = sell(&s2, &m, &c).await.unwrap_err();
    let EngineError::Checkout(CheckoutError::Coupon(CouponError::UnavailableHere {
        held_at, ..
    })) = &e
    else {
        panic!("{e:?}")
    };
    assert_eq!(held_at, &vec![s1.node().clone()]);
    assert_eq!(s2.member(&m).unwrap().coupon(&c).unwrap().left(), 1);
    // A code the member does not hold.
    let other = CouponId::mint(s1.node(), 4242);
    assert_eq!(code(sell(&s1, &m, &other).await), "coupon_not_found");
}

#[tokio::test]
async fn a_recharge_offer_gives_its_coupons_once() {
    use tongka_core::programme::RechargeOffer;
    let dir = tempfile::tempdir().unwrap();
    let e = engine(dir.path(), "store-1");
    let p = Programme {
        recharge_offers: vec![
            RechargeOffer {
                threshold: Money::from_yuan(100),
                bonus: Money::ZERO,
                coupons: vec!["cash5".into(), "cash5".into()],
            },
            RechargeOffer {
                threshold: Money::from_yuan(500),
                bonus: Money::from_yuan(50),
                coupons: vec![],
            },
        ],
        coupon_templates: vec![template("cash5", CouponKind::Cash, 5, 0)],
        ..Programme::default()
    };
    e.change_programme(p, "hq".into(), None).await.unwrap();
    let m = register(&e, "13800000007").await;
    for _ in 0..2 {
        // The same recharge twice (a replay): its coupons once.
        e.recharge(
            "t".into(),
            idem("rch-1"),
            m.clone(),
            Money::from_yuan(200),
            TenderKind::Cash,
        )
        .await
        .unwrap();
    }
    assert_eq!(e.member(&m).unwrap().coupons_of("cash5"), 2);
    // A recharge of the higher tier (a bonus, no coupons) issues none.
    e.recharge(
        "t".into(),
        idem("rch-2"),
        m.clone(),
        Money::from_yuan(500),
        TenderKind::Cash,
    )
    .await
    .unwrap();
    let held = e.member(&m).unwrap();
    assert_eq!(held.coupons_of("cash5"), 2);
    assert_eq!(held.wallet.total().bonus, Money::from_yuan(50));
    // An offer naming a template the programme lacks is refused.
    let bad = Programme {
        recharge_offers: vec![RechargeOffer {
            threshold: Money::from_yuan(100),
            bonus: Money::ZERO,
            coupons: vec!["nope".into()],
        }],
        ..Programme::default()
    };
    let err = e
        .change_programme(bad, "hq".into(), None)
        .await
        .unwrap_err();
    assert_eq!(
        tongka_core::error::DomainError::code(&err),
        "programme_offer_coupons"
    );
}

#[tokio::test]
async fn birthday_coupons_go_to_todays_birthdays_at_their_home_store_once() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine(dir.path(), "store-1");
    let p = Programme {
        coupon_templates: vec![template("bday", CouponKind::Birthday, 8, 0)],
        ..Programme::default()
    };
    e.change_programme(p, "hq".into(), None).await.unwrap();
    let today: Day = "2026-12-05".parse().unwrap();
    let born = |date: &str, phone: &str| Profile {
        phone: phone.into(),
        name: "寿星".into(),
        birthday: Some(date.into()),
        gender: None,
        card_no: None,
        invited_by: None,
        tags: vec![],
        notes: String::new(),
    };
    let mut ids = Vec::new();
    for (date, phone) in [("1990-12-05", "13800000011"), ("1990-12-06", "13800000012")] {
        match e
            .register("t".into(), None, born(date, phone))
            .await
            .unwrap()
            .0
        {
            Outcome::Member(m) => ids.push(m.id),
            other => panic!("{other:?}"),
        }
    }
    // A member of another home store (registered there, replicated here).
    let s2 = engine(dir.path(), "store-2");
    let other = match s2
        .register("t".into(), None, born("1985-12-05", "13800000013"))
        .await
        .unwrap()
        .0
    {
        Outcome::Member(m) => m.id,
        o => panic!("{o:?}"),
    };
    e.apply_remote_batch(s2.db().ops_from(s2.node(), 1, 100).unwrap())
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while e.member(&other).is_err() {
        assert!(std::time::Instant::now() < deadline, "not applied in time");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(e.birthday_coupons(today).await.unwrap(), 1);
    assert_eq!(e.birthday_coupons(today).await.unwrap(), 0, "once a year");
    assert_eq!(e.member(&ids[0]).unwrap().coupons_of("bday"), 1);
    assert_eq!(e.member(&ids[1]).unwrap().coupons_of("bday"), 0);
    assert_eq!(
        e.member(&other).unwrap().coupons_of("bday"),
        0,
        "its home issues it"
    );
    // A year later, again.
    let next_year: Day = "2027-12-05".parse().unwrap();
    assert_eq!(e.birthday_coupons(next_year).await.unwrap(), 1);
}
