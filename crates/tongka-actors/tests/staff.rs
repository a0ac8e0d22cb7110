//! Staff accounts through the engine: made at HQ, applied at a store in
//! their place among remote ops, kept across a restart; a login taken, a
//! change of nothing and an unknown account refused or skipped; a cashier's
//! refund above the programme's limit refused until approved, the approver
//! recorded.

mod common;

use common::{engine, engine_on};

use std::time::Duration;

use tongka_actors::{Engine, EngineError, LineRequest, Outcome};
use tongka_core::checkout::{TenderInput, TenderKind};
use tongka_core::error::DomainError;
use tongka_core::ids::{NodeId, StaffId};
use tongka_core::member::Profile;
use tongka_core::money::Money;
use tongka_core::staff::{RefundAuth, Role, StaffPatch};

const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGFoYXNoYQ";

async fn ship(from: &Engine, to: &Engine) {
    let have = to.db().summary().vv.get(from.node());
    let ops = from.db().ops_from(from.node(), have + 1, 1000).unwrap();
    to.apply_remote_batch(ops).await.unwrap();
    let want = from.db().summary().vv.get(from.node());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while to.db().summary().vv.get(from.node()) < want {
        assert!(std::time::Instant::now() < deadline, "not durable in time");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn cashier(login: &str) -> StaffPatch {
    StaffPatch {
        login: Some(login.into()),
        name: Some("李娜".into()),
        role: Some(Role::Cashier),
        stores: Some(vec![NodeId::new("store-1").unwrap()]),
        disabled: Some(false),
        password: Some(HASH.into()),
    }
}

fn id_of(out: (Outcome, bool)) -> StaffId {
    match out.0 {
        Outcome::Staff(a) => a.id,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn accounts_made_at_hq_reach_a_store_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let hq = engine(dir.path(), "hq");
    let store = engine(dir.path(), "store-1");
    let id = id_of(
        hq.change_staff(None, cashier("li.na"), "admin".into(), None)
            .await
            .unwrap(),
    );
    assert_eq!(id.as_str(), "s-hq-1");
    // The login is taken now; the refusal makes no op.
    let seq = hq.db().summary().vv.get(hq.node());
    let e = hq
        .change_staff(None, cashier("li.na"), "admin".into(), None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), "login_taken");
    // A change of nothing makes no op either.
    let same = StaffPatch {
        name: Some("李娜".into()),
        ..Default::default()
    };
    hq.change_staff(Some(id.clone()), same, "admin".into(), None)
        .await
        .unwrap();
    assert_eq!(hq.db().summary().vv.get(hq.node()), seq);
    // A cashier without a store is refused as authored.
    let e = hq
        .change_staff(
            Some(id.clone()),
            StaffPatch {
                stores: Some(Vec::new()),
                ..Default::default()
            },
            "admin".into(),
            None,
        )
        .await
        .unwrap_err();
    assert!(matches!(e, EngineError::Staff(_)), "{e:?}");
    assert_eq!(e.code(), "invalid_stores");

    let rename = StaffPatch {
        name: Some("李娜娜".into()),
        ..Default::default()
    };
    hq.change_staff(Some(id.clone()), rename, "s-hq-9".into(), None)
        .await
        .unwrap();
    assert!(store.staff().is_empty());
    ship(&hq, &store).await;
    assert!(store.db().rejected(10).unwrap().is_empty());
    assert_eq!(*store.staff(), *hq.staff(), "the same book at both");
    let a = store.staff().get(&id).cloned().unwrap();
    assert_eq!(a.name, "李娜娜");
    assert_eq!(a.changed().by, "s-hq-9");
    assert_eq!(a.created.by, "admin");

    // An engine started on the store's db reads the book back.
    let again = engine_on(store.db().clone(), store.db().summary().hlc);
    assert_eq!(*again.staff(), *store.staff());
}

#[tokio::test]
async fn a_cashiers_refund_above_the_limit_waits_for_an_approver() {
    let dir = tempfile::tempdir().unwrap();
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
    store
        .recharge(
            "t".into(),
            None,
            m.clone(),
            Money::from_yuan(1000),
            TenderKind::Cash,
        )
        .await
        .unwrap();
    let order = match store
        .checkout(
            "s-store-1-7".into(),
            None,
            Some(m.clone()),
            vec![LineRequest::Free {
                description: "big cake".into(),
                unit_price: Money::from_yuan(600),
                qty: rust_decimal::Decimal::ONE,
            }],
            vec![TenderInput {
                kind: TenderKind::Balance,
                amount: None,
            }],
        )
        .await
        .unwrap()
        .0
    {
        Outcome::CheckedOut { order, .. } => order.order.id,
        other => panic!("{other:?}"),
    };
    let before = store.member(&m).unwrap();
    let as_cashier = RefundAuth {
        role: Some(Role::Cashier),
        approved_by: None,
    };
    let e = store
        .refund_as(
            "s-store-1-7".into(),
            None,
            order.clone(),
            None,
            String::new(),
            as_cashier,
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), "approval_required");
    assert_eq!(
        e.details(),
        vec![("limit", "500.00".into()), ("amount", "570.00".into())]
    );
    assert_eq!(store.member(&m).unwrap(), before, "nothing refunded");
    let approved = RefundAuth {
        role: Some(Role::Cashier),
        approved_by: Some("s-store-1-8".into()),
    };
    match store
        .refund_as(
            "s-store-1-7".into(),
            None,
            order,
            None,
            String::new(),
            approved,
        )
        .await
        .unwrap()
        .0
    {
        Outcome::Refunded { refund, .. } => {
            assert_eq!(
                refund.amount,
                Money::from_yuan(570),
                "600 at the silver rate"
            );
            assert_eq!(refund.approved_by.as_deref(), Some("s-store-1-8"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        store.member(&m).unwrap().wallet.total().money(),
        before.wallet.total().money() + Money::from_yuan(570),
        "the balance paid back"
    );
}
