//! The reports on real engines, against figures computed by hand: at
//! store-1 (this node) a member's recharge with its bonus, a sale from the
//! balance and its refund, a walk-in's cash sale; at store-2 a member's
//! recharge and an escrow transfer of part of it to store-1, shipped here
//! as remote ops; then a sale of that member here. And the figures of two
//! nodes that applied the same ops in different batchings are the same.

mod common;

use std::time::Duration;

use common::reports::{days, refused, summed};
use common::{App, code};
use serde_json::{Value, json};
use tongka_actors::{Engine, EngineConfig, Outcome};
use tongka_core::day::Day;
use tongka_core::escrow::{Counter, Want};
use tongka_core::ids::NodeId;
use tongka_core::member::Profile;
use tongka_core::op::Op;
use tongka_core::{Money, Programme, TenderKind};
use tongka_db::{Db, DbOptions};

fn n(s: &str) -> NodeId {
    NodeId::new(s).unwrap()
}

fn engine(dir: &std::path::Path, name: &str) -> Engine {
    let (db, recovered) = Db::open(
        &dir.join(format!("{name}.redb")),
        DbOptions {
            node: n(name),
            max_batch: 64,
            queue_max: 1024,
        },
    )
    .unwrap();
    Engine::new(
        db,
        Programme::default(),
        recovered.hlc,
        EngineConfig {
            max_in_flight: 64,
            idle_passivate: Duration::from_secs(60),
        },
    )
}

/// Every op `from` holds of `origin` from `first` on.
fn ops_of(from: &Engine, origin: &str, first: u64) -> Vec<Op> {
    from.db().ops_from(&n(origin), first, 10_000).unwrap()
}

/// Apply `ops` at `to` one at a time, each durable before the next.
async fn apply_one_by_one(to: &Engine, ops: Vec<Op>) {
    for op in ops {
        let (tx, rx) = tokio::sync::oneshot::channel();
        to.apply_remote(op, Box::new(move |r| tx.send(r).unwrap()))
            .await
            .unwrap();
        rx.await.unwrap().unwrap();
    }
}

/// Apply `ops` at `to` as one batch, durable on return (its last op is
/// handed over after it and awaited: batches commit in order).
async fn apply_batched(to: &Engine, mut ops: Vec<Op>) {
    let last = ops.pop().unwrap();
    to.apply_remote_batch(ops).await.unwrap();
    apply_one_by_one(to, vec![last]).await;
}

async fn post(app: &App, path: &str, body: Value, key: &str) -> Value {
    let (s, v) = app.send("POST", path, &body, Some(key)).await;
    assert_eq!(s, 201, "{path}: {v}");
    v
}

/// The chain of the test: store-1 (`app`) and store-2 (returned, with
/// the tempdir holding it).
async fn chain(app: &App) -> (Engine, tempfile::TempDir) {
    // Store-1: member a recharges 1000.00 in cash (the default programme
    // gives 100.00 bonus and makes a silver, 95%).
    let a = post(
        app,
        "/api/v1/members",
        json!({"phone": "13900000001", "name": "甲"}),
        "m-a",
    )
    .await;
    let a = a["id"].as_str().unwrap().to_string();
    let r = post(
        app,
        &format!("/api/v1/members/{a}/recharges"),
        json!({"amount": "1000.00", "tender": "cash"}),
        "r-a",
    )
    .await;
    assert_eq!(r["bonus"], "100.00", "{r}");
    // 120.00 at 95% = 114.00 from the balance: principal 114.00 × 1000 ÷
    // 1100 = 103.6363… → 103.64, bonus 10.36; 114 points.
    let sale = post(
        app,
        "/api/v1/checkouts",
        json!({"member_id": a, "lines": [{"description": "茶", "unit_price": "120.00", "qty": 1}],
               "tenders": [{"kind": "balance"}]}),
        "o-a",
    )
    .await;
    assert_eq!(
        (
            &sale["payable"],
            &sale["balance_principal"],
            &sale["balance_bonus"]
        ),
        (&json!("114.00"), &json!("103.64"), &json!("10.36")),
        "{sale}"
    );
    // A walk-in pays 50.00 with 100.00 in cash: 50.00 change.
    post(
        app,
        "/api/v1/checkouts",
        json!({"lines": [{"description": "点心", "unit_price": "50.00", "qty": 1}],
               "tenders": [{"kind": "cash", "amount": "100.00"}]}),
        "o-walk-in",
    )
    .await;
    // The balance sale refunded whole: 103.64 + 10.36 back, 114 points
    // reversed.
    let order = sale["id"].as_str().unwrap();
    post(
        app,
        &format!("/api/v1/orders/{order}/refunds"),
        json!({"lines": [{"line": 0, "qty": "1"}], "reason": "顾客退货"}),
        "f-a",
    )
    .await;

    // Store-2: member b recharges 200.00 by wechat (no bonus), and gives
    // store-1 50.00 of it; its ops reach store-1.
    let dir = tempfile::tempdir().unwrap();
    let two = engine(dir.path(), "store-2");
    let profile = Profile {
        phone: "13900000002".into(),
        name: "乙".into(),
        birthday: None,
        gender: None,
        card_no: None,
        invited_by: None,
        tags: vec![],
        notes: String::new(),
    };
    let b = match two.register("t".into(), None, profile).await.unwrap().0 {
        Outcome::Member(m) => m.id,
        other => panic!("{other:?}"),
    };
    two.recharge(
        "t".into(),
        None,
        b.clone(),
        Money::from_yuan(200),
        TenderKind::Wechat,
    )
    .await
    .unwrap();
    two.give_share(
        n("store-1"),
        Want {
            counter: Counter::Balance(b.clone()),
            units: 5000,
        },
    )
    .await
    .unwrap()
    .expect("store-2 holds a share");
    apply_one_by_one(&app.engine, ops_of(&two, "store-2", 1)).await;
    // b spends 30.00 of it here (regular, 100%): principal 30.00; 30
    // points.
    post(
        app,
        "/api/v1/checkouts",
        json!({"member_id": b.as_str(), "lines": [{"description": "茶", "unit_price": "30.00", "qty": 1}],
               "tenders": [{"kind": "balance"}]}),
        "o-b",
    )
    .await;
    (two, dir)
}

const SALES: &[&str] = &[
    "sales",
    "sales_amount",
    "recharges",
    "recharged_principal",
    "recharged_bonus",
    "refunds",
    "refunded",
    "balance_spent_principal",
    "balance_spent_bonus",
    "balance_refunded_principal",
    "balance_refunded_bonus",
];

#[tokio::test]
async fn reports_match_figures_computed_by_hand() {
    let app = App::new();
    let (_two, _dir) = chain(&app).await;
    let days = days();

    let (s, sales) = app.get(&format!("/api/v1/reports/sales?{days}")).await;
    assert_eq!(s, 200, "{sales}");
    assert_eq!(
        summed(&sales, "store-1", SALES),
        json!({"sales": 3, "sales_amount": "194.00", "recharges": 1,
               "recharged_principal": "1000.00", "recharged_bonus": "100.00",
               "refunds": 1, "refunded": "114.00",
               "balance_spent_principal": "133.64", "balance_spent_bonus": "10.36",
               "balance_refunded_principal": "103.64", "balance_refunded_bonus": "10.36"}),
        "{sales}"
    );
    assert_eq!(
        summed(&sales, "store-2", SALES),
        json!({"sales": 0, "sales_amount": "0.00", "recharges": 1,
               "recharged_principal": "200.00", "recharged_bonus": "0.00",
               "refunds": 0, "refunded": "0.00",
               "balance_spent_principal": "0.00", "balance_spent_bonus": "0.00",
               "balance_refunded_principal": "0.00", "balance_refunded_bonus": "0.00"}),
        "{sales}"
    );
    assert_eq!(sales["totals"]["sales_amount"], "194.00");
    assert_eq!(sales["totals"]["recharged_principal"], "1200.00");
    assert_eq!(sales["channel"], Value::Null);

    // Cash at store-1: the walk-in's 50.00 (net of change) and the recharge.
    let (s, cash) = app
        .get(&format!(
            "/api/v1/reports/sales?{days}&store=store-1&channel=cash"
        ))
        .await;
    assert_eq!(s, 200, "{cash}");
    assert_eq!(cash["channel"], "cash");
    assert_eq!(
        summed(&cash, "store-1", SALES),
        json!({"sales": 1, "sales_amount": "50.00", "recharges": 1,
               "recharged_principal": "1000.00", "recharged_bonus": "100.00",
               "refunds": 0, "refunded": "0.00",
               "balance_spent_principal": "0.00", "balance_spent_bonus": "0.00",
               "balance_refunded_principal": "0.00", "balance_refunded_bonus": "0.00"}),
        "{cash}"
    );
    assert!(
        cash["rows"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["store"] == "store-1")
    );
    // The balance: the two balance sales and the refund.
    let (_, balance) = app
        .get(&format!("/api/v1/reports/sales?{days}&channel=balance"))
        .await;
    assert_eq!(
        summed(
            &balance,
            "store-1",
            &[
                "sales",
                "sales_amount",
                "refunds",
                "refunded",
                "balance_spent_principal"
            ]
        ),
        json!({"sales": 2, "sales_amount": "144.00", "refunds": 1, "refunded": "114.00",
               "balance_spent_principal": "133.64"}),
        "{balance}"
    );
    // Wechat: store-2's recharge only.
    let (_, wechat) = app
        .get(&format!("/api/v1/reports/sales?{days}&channel=wechat"))
        .await;
    assert_eq!(
        wechat["totals"]["recharged_principal"], "200.00",
        "{wechat}"
    );
    assert_eq!(wechat["totals"]["sales"], 0);

    // Liability: store-1 1000.00 − 133.64 + 103.64 + 50.00 received =
    // 1020.00, bonus 100.00 − 10.36 + 10.36 = 100.00; store-2 200.00 −
    // 50.00 given = 150.00; the chain 1170.00 and 100.00, as the ledger.
    let (s, l) = app.get("/api/v1/reports/liability").await;
    assert_eq!(s, 200, "{l}");
    assert_eq!(
        l["stores"],
        json!([{"store": "store-1", "principal": "1020.00", "bonus": "100.00"},
               {"store": "store-2", "principal": "150.00", "bonus": "0.00"}]),
        "{l}"
    );
    assert_eq!(
        l["chain"],
        json!({"principal": "1170.00", "bonus": "100.00"})
    );
    let (_, ledger) = app.get("/api/v1/ledger/summary").await;
    assert_eq!(
        (
            &ledger["outstanding_principal"],
            &ledger["outstanding_bonus"]
        ),
        (&l["chain"]["principal"], &l["chain"]["bonus"])
    );
    let (_, one) = app.get("/api/v1/reports/liability?store=store-2").await;
    assert_eq!(
        one["stores"],
        json!([{"store": "store-2", "principal": "150.00", "bonus": "0.00"}])
    );
    assert_eq!(one["chain"], Value::Null);

    // Points: 114 + 30 issued at store-1, 114 reversed; 30 outstanding.
    let (s, p) = app.get(&format!("/api/v1/reports/points?{days}")).await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(
        summed(
            &p,
            "store-1",
            &[
                "issued", "redeemed", "reversed", "returned", "expired", "net"
            ]
        ),
        json!({"issued": 144, "redeemed": 0, "reversed": 114, "returned": 0, "expired": 0, "net": 30})
    );
    assert_eq!(
        p["stores"],
        json!([{"store": "store-1", "outstanding": 30}, {"store": "store-2", "outstanding": 0}])
    );
    assert_eq!(p["chain_outstanding"], 30);

    // Members: one new at each store; a and b active at store-1, b at
    // store-2.
    let (s, m) = app.get(&format!("/api/v1/reports/members?{days}")).await;
    assert_eq!(s, 200, "{m}");
    assert_eq!(
        summed(&m, "store-1", &["new", "active"]),
        json!({"new": 1, "active": 2}),
        "{m}"
    );
    assert_eq!(
        summed(&m, "store-2", &["new", "active"]),
        json!({"new": 1, "active": 1}),
        "{m}"
    );
    assert_eq!(m["new"], 2);

    // Rankings: store-1 by its 194.00 of sales, then store-2.
    let (s, r) = app
        .get(&format!("/api/v1/reports/rankings?{days}&by=stores"))
        .await;
    assert_eq!(s, 200, "{r}");
    let ranked: Vec<(Value, Value)> = r["stores"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["store"].clone(), x["sales_amount"].clone()))
        .collect();
    assert_eq!(
        ranked,
        vec![
            (json!("store-1"), json!("194.00")),
            (json!("store-2"), json!("0.00"))
        ]
    );

    // Freshness: what this node holds of each origin, and when the newest
    // was made.
    let f = &r["freshness"];
    assert_eq!(
        f["version_vector"],
        json!({"store-1": 6, "store-2": 3}),
        "{f}"
    );
    let newest: Vec<(Value, Value)> = f["newest"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["store"].clone(), x["seq"].clone()))
        .collect();
    assert_eq!(
        newest,
        vec![(json!("store-1"), json!(6)), (json!("store-2"), json!(3))]
    );
    assert!(f["newest"][0]["at"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn bad_queries_are_refused_in_both_languages() {
    let app = App::new();
    for (path, field) in [
        ("/api/v1/reports/sales?from=2026-13-01", "from"),
        ("/api/v1/reports/sales?from=20261201", "from"),
        (
            "/api/v1/reports/sales?to=2026-12-01&from=2026-12-02",
            "from",
        ),
        ("/api/v1/reports/sales?from=2025-01-01&to=2026-01-02", "to"),
        ("/api/v1/reports/sales?store=store-9", "store"),
        ("/api/v1/reports/sales?store=Store_1", "store"),
        ("/api/v1/reports/sales?channel=bitcoin", "channel"),
        ("/api/v1/reports/sales?channel=cash%07", "channel"),
        ("/api/v1/reports/sales?store=store-1&store=store-1", "store"),
        ("/api/v1/reports/sales?limit=1", "query"),
        ("/api/v1/reports/liability?from=2026-12-01", "query"),
        ("/api/v1/reports/points?channel=cash", "channel"),
        ("/api/v1/reports/members?to=2026-02-30", "to"),
        ("/api/v1/reports/rankings?by=coupons", "by"),
    ] {
        let v = refused(&app, path, field).await;
        assert!(
            !v.to_string().contains("bitcoin") && !v.to_string().contains("store-9"),
            "not echoed: {v}"
        );
    }
    // A range of exactly 366 days is fine, this node's own name too.
    let (s, v) = app
        .get("/api/v1/reports/sales?from=2025-01-01&to=2026-01-01&store=store-1")
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["rows"], json!([]));
}

#[tokio::test]
async fn a_store_manager_sees_their_own_stores_and_a_cashier_none() {
    let app = App::new();
    let (_two, _dir) = chain(&app).await;
    app.create_staff(
        "mgr",
        "store_manager",
        &["store-1"],
        "correct horse battery",
    )
    .await;
    app.create_staff("cashier", "cashier", &["store-1"], "correct horse battery")
        .await;
    let mgr = app.sign_in("mgr", "correct horse battery").await;
    let cashier = app.sign_in("cashier", "correct horse battery").await;
    let (s, l) = app.get_as(&mgr, "/api/v1/reports/liability").await;
    assert_eq!(s, 200, "{l}");
    assert_eq!(
        l["stores"],
        json!([{"store": "store-1", "principal": "1020.00", "bonus": "100.00"}])
    );
    assert_eq!(l["chain"], Value::Null);
    let (s, v) = app
        .get_as(&mgr, "/api/v1/reports/sales?store=store-2")
        .await;
    assert_eq!((s, code(&v)), (403, "not_at_this_store"), "{v}");
    let (s, r) = app.get_as(&mgr, "/api/v1/reports/rankings").await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["stores"].as_array().unwrap().len(), 1, "{r}");
    let (s, v) = app.get_as(&cashier, "/api/v1/reports/sales").await;
    assert_eq!((s, code(&v)), (403, "forbidden_for_role"), "{v}");
}

/// Two nodes given the same ops, one as a single batch, the other one op
/// per commit: the same figures, the same reports.
#[tokio::test]
async fn figures_do_not_depend_on_the_batching() {
    let app = App::new();
    let (two, dir) = chain(&app).await;
    let x = engine(dir.path(), "store-3");
    let y = engine(dir.path(), "store-4");
    // store-2's ops first (store-1's sale of b depends on them).
    let mut all = ops_of(&two, "store-2", 1);
    all.extend(ops_of(&app.engine, "store-1", 1));
    assert_eq!(all.len(), 9);
    apply_batched(&x, all.clone()).await;
    apply_one_by_one(&y, all).await;
    let read = |e: &Engine| e.db().figures(None, Day(i32::MIN), Day(i32::MAX)).unwrap();
    let fx = read(&x);
    assert_eq!(fx.len(), read(&app.engine).len(), "{fx:?}");
    assert_eq!(fx, read(&y));
    // And the same as store-1's, which made half of them itself.
    assert_eq!(fx, read(&app.engine));
}
