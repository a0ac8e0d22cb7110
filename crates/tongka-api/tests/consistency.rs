//! `GET /consistency` on a real engine: a sale and its refund, an escrow
//! transfer and a duplicate made at a second store and shipped here, spends
//! declined while the other store cannot be reached (no peer connected; an
//! ask unanswered), a merge, refused ops; every figure checked exactly.

mod common;

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use common::App;
use serde_json::{Value, json};
use tongka_actors::{Engine, EngineConfig, EscrowBroker, Outcome};
use tongka_core::escrow::{Counter, Want};
use tongka_core::ids::{MemberId, NodeId, OpId};
use tongka_core::member::Profile;
use tongka_core::{OpBody, Programme};
use tongka_db::{Db, DbOptions, RefusedOp};

fn n(s: &str) -> NodeId {
    NodeId::new(s).unwrap()
}

/// A second store, `store-2`, in the same temporary directory's sibling.
fn store_2(dir: &std::path::Path) -> Engine {
    let (db, recovered) = Db::open(
        &dir.join("store-2.redb"),
        DbOptions {
            node: n("store-2"),
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

/// Hand `from`'s ops numbered `first..` to `to`, durable there on return.
async fn ship(from: &Engine, to: &Engine, first: u64) {
    let ops = from.db().ops_from(from.node(), first, 1000).unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let count = ops.len();
    for op in ops {
        let tx = tx.clone();
        to.apply_remote(op, Box::new(move |r| tx.send(r).unwrap()))
            .await
            .unwrap();
    }
    for _ in 0..count {
        rx.recv().await.unwrap().unwrap();
    }
}

/// The other stores as a partition leaves them: `reachable` are connected
/// but never answer an ask.
struct Partition {
    reachable: Vec<NodeId>,
}

impl EscrowBroker for Partition {
    fn reachable(&self) -> Vec<NodeId> {
        self.reachable.clone()
    }
    fn ask_timeout(&self) -> Duration {
        Duration::from_millis(50)
    }
    fn ask(
        &self,
        _: NodeId,
        _: Want,
        _: Duration,
    ) -> Pin<Box<dyn Future<Output = Option<Vec<OpId>>> + Send>> {
        Box::pin(async { None })
    }
}

async fn checkout(app: &App, member: &str, price: &str, key: &str) -> (u16, Value) {
    app.send(
        "POST",
        "/api/v1/checkouts",
        &json!({"member_id": member, "lines": [{"description": "茶", "unit_price": price, "qty": 1}],
                "tenders": [{"kind": "balance"}]}),
        Some(key),
    )
    .await
}

fn store<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["stores"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["store"] == name)
        .unwrap_or_else(|| panic!("{name} not in {report}"))
}

#[tokio::test]
async fn the_report_counts_transfers_declines_duplicates_merges_and_refusals() {
    let app = App::new();
    let (s, empty) = app.get("/api/v1/consistency").await;
    assert_eq!(s, 200, "{empty}");
    assert_eq!(empty["ledger"]["balanced"], true);
    assert_eq!(empty["chain"]["transfers"]["count"], 0);
    assert_eq!(empty["transfers_scan"]["complete"], true);

    // Store-1 (this node): a member, a recharge, a sale and its refund.
    let (s, a) = app
        .send(
            "POST",
            "/api/v1/members",
            &json!({"phone": "13900000001", "name": "甲"}),
            Some("r-a"),
        )
        .await;
    assert_eq!(s, 201, "{a}");
    let a = a["id"].as_str().unwrap().to_string();
    let (s, r) = app
        .send(
            "POST",
            &format!("/api/v1/members/{a}/recharges"),
            &json!({"amount": "100.00", "tender": "cash"}),
            Some("c-a"),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    let (s, sale) = checkout(&app, &a, "30.00", "o-a").await;
    assert_eq!(s, 201, "{sale}");
    let order = sale["id"].as_str().unwrap();
    let (s, refund) = app
        .send(
            "POST",
            &format!("/api/v1/orders/{order}/refunds"),
            &json!({"lines": [{"line": 0, "qty": "1"}], "reason": "顾客退货"}),
            Some("f-a"),
        )
        .await;
    assert_eq!(s, 201, "{refund}");

    // Store-2, cut off: the same phone registered again (a duplicate),
    // 50.00 recharged there, 20.05 of it given to store-1 (an escrow
    // transfer); then its ops reach store-1.
    let dir = tempfile::tempdir().unwrap();
    let two = store_2(dir.path());
    let profile = Profile {
        phone: "13900000001".into(),
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
        tongka_core::Money::from_yuan(50),
        tongka_core::TenderKind::Cash,
    )
    .await
    .unwrap();
    let gave = two
        .give_share(
            n("store-1"),
            Want {
                counter: Counter::Balance(b.clone()),
                units: 2005,
            },
        )
        .await
        .unwrap()
        .expect("store-2 holds a share");
    let OpBody::SharesTransferred {
        principal, bonus, ..
    } = gave.body
    else {
        panic!("{gave:?}")
    };
    assert_eq!(
        (principal.to_string(), bonus.to_string()),
        ("20.05".into(), "0.00".into())
    );
    ship(&two, &app.engine, 1).await;

    // Spends of b at store-1 (20.05 held here, 29.95 at store-2): with no
    // store connected, and with store-2 connected but never answering.
    app.engine
        .set_broker(Arc::new(Partition { reachable: vec![] }));
    let (s, no) = checkout(&app, b.as_str(), "30.00", "o-b1").await;
    assert_eq!(
        (s, no["error"]["code"].as_str()),
        (409, Some("insufficient_balance")),
        "{no}"
    );
    app.engine.set_broker(Arc::new(Partition {
        reachable: vec![n("store-2")],
    }));
    let (s, no) = checkout(&app, b.as_str(), "30.00", "o-b2").await;
    assert_eq!(
        (s, no["error"]["code"].as_str()),
        (409, Some("insufficient_balance")),
        "{no}"
    );
    let (_, before_merge) = app.get("/api/v1/consistency").await;
    assert_eq!(before_merge["chain"]["duplicates"], 1, "{before_merge}");
    assert_eq!(
        before_merge["chain"]["duplicates_listed"],
        json!([{"key": "phone:13900000001", "members": [a, b.as_str()]}])
    );

    // A merge here, and ops refused (as replication logs them).
    let (s, m) = app
        .send(
            "POST",
            &format!("/api/v1/members/{a}/merge"),
            &json!({"absorb": b.as_str()}),
            Some("merge-1"),
        )
        .await;
    assert_eq!(s, 201, "{m}");
    for (seq, reason) in [
        (1, "bad signature"),
        (2, "bad signature"),
        (3, "no certificate"),
    ] {
        let (tx, rx) = tokio::sync::oneshot::channel();
        app.engine.db().log_refused(
            RefusedOp {
                id: OpId {
                    origin: n("store-3"),
                    seq,
                },
                from: n("store-2"),
                reason: reason.into(),
            },
            Box::new(move |r| tx.send(r).unwrap()),
        );
        rx.await.unwrap().unwrap();
    }

    let (s, r) = app.get("/api/v1/consistency").await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["node"], "store-1");
    // 100 + 50 recharged, 30 spent and refunded: 150.00 owed and held.
    let ledger = &r["ledger"];
    assert_eq!(ledger["balanced"], true, "{r}");
    assert_eq!(
        ledger["owed"],
        json!({"principal": "150.00", "bonus": "0.00", "points": 0})
    );
    assert_eq!(ledger["held"], ledger["owed"]);
    let moved = json!({"count": 1, "principal": "20.05", "bonus": "0.00", "points": 0,
                       "coupon_uses": 0, "card_visits": 0});
    let none = json!({"count": 0, "principal": "0.00", "bonus": "0.00", "points": 0,
                      "coupon_uses": 0, "card_visits": 0});
    assert_eq!(r["chain"]["transfers"], moved);
    assert_eq!(store(&r, "store-2")["given"], moved);
    assert_eq!(store(&r, "store-2")["received"], none);
    assert_eq!(store(&r, "store-1")["received"], moved);
    assert_eq!(store(&r, "store-1")["given"], none);
    // The spends declined, by refusal and cause.
    assert_eq!(
        r["chain"]["declined"],
        json!([
            {"code": "insufficient_balance", "cause": "timed_out", "cause_zh": "请求超时", "count": 1},
            {"code": "insufficient_balance", "cause": "unreachable", "cause_zh": "无可联系门店", "count": 1},
        ])
    );
    assert_eq!(store(&r, "store-1")["declined"], 2);
    assert_eq!(store(&r, "store-2")["declined"], 0);
    // The duplicate as the merge queue lists it now, and the merge.
    let (_, queue) = app.get("/api/v1/members/duplicates").await;
    let queued = queue["duplicates"].as_array().map_or(0, Vec::len) as u64;
    assert_eq!(r["chain"]["duplicates"], 1);
    assert_eq!(queued, 0, "merged: {queue}");
    assert_eq!(r["chain"]["duplicates_open"], queued);
    assert_eq!(before_merge["chain"]["duplicates_open"], 1);
    assert_eq!(store(&r, "store-1")["duplicates"], 1);
    assert_eq!(store(&r, "store-2")["duplicates"], 1);
    assert_eq!(r["chain"]["merged"], 1);
    assert_eq!(
        r["chain"]["merged_listed"],
        json!([{"absorbed": b.as_str(), "survivor": a}])
    );
    assert_eq!(store(&r, "store-2")["merged"], 1);
    assert_eq!(store(&r, "store-1")["merged"], 0);
    // Refused: counted by reason, most frequent first; none rejected.
    let refused = &r["chain"]["refused"];
    assert_eq!(refused["count"], 3);
    assert_eq!(
        refused["by_reason"],
        json!([{"reason": "bad signature", "count": 2}, {"reason": "no certificate", "count": 1}])
    );
    assert_eq!(
        refused["listed"][0],
        json!({"op": "store-3#3", "from": "store-2", "reason": "no certificate"})
    );
    assert_eq!(store(&r, "store-3")["refused"], 3);
    assert_eq!(
        r["chain"]["rejected"],
        json!({"count": 0, "by_reason": [], "listed": []})
    );
    assert_eq!(
        r["holds"],
        json!({"store-1": app.engine.db().summary().vv.get(&n("store-1")), "store-2": 3})
    );

    // One store's figures only.
    let (s, one) = app.get("/api/v1/consistency?store=store-2").await;
    assert_eq!(s, 200);
    assert_eq!(one["stores"].as_array().unwrap().len(), 1);
    assert_eq!(one["stores"][0]["store"], "store-2");
    assert_eq!(one["chain"], r["chain"]);
    assert!(
        r["ledger"].get("deep").is_none(),
        "no deep check unless asked"
    );

    // The deep check: every member read, the same sum as the running one.
    let (s, deep) = app.get("/api/v1/consistency?deep=true").await;
    assert_eq!(s, 200, "{deep}");
    assert_eq!(deep["ledger"]["deep"]["scanned"], ledger["held"], "{deep}");
    assert_eq!(deep["ledger"]["deep"]["matches"], true);
    assert_eq!(deep["ledger"]["balanced"], true);
    let _ = MemberId::parse(&a).expect("a member id");
}

#[tokio::test]
async fn bad_queries_are_refused_with_the_field() {
    let app = App::new();
    for (q, field) in [
        ("?page=2", "query"),
        ("?store=Store_1", "store"),
        ("?store=store-1&store=store-2", "store"),
        ("?deep=yes", "deep"),
        ("?deep=1", "deep"),
        ("?deep=true&deep=false", "deep"),
        ("?deep=tr%00ue", "deep"),
    ] {
        let (s, e) = app.get(&format!("/api/v1/consistency{q}")).await;
        assert_eq!(s, 422, "{q}: {e}");
        assert_eq!(e["error"]["code"], "invalid_consistency_query");
        assert_eq!(e["error"]["field"], field, "{e}");
    }
}

#[tokio::test]
async fn a_store_manager_sees_their_stores_and_a_cashier_nothing() {
    let app = App::new();
    app.create_staff("mgr", "store_manager", &["store-1"], "manager-pw-1")
        .await;
    app.create_staff("till", "cashier", &["store-1"], "cashier-pw-1")
        .await;
    let mgr = app.sign_in("mgr", "manager-pw-1").await;
    let (s, r) = app.get_as(&mgr, "/api/v1/consistency").await;
    assert_eq!(s, 200, "{r}");
    let names: Vec<&str> = r["stores"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["store"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["store-1"]);
    let (s, e) = app.get_as(&mgr, "/api/v1/consistency?store=store-2").await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (403, Some("not_at_this_store")),
        "{e}"
    );
    let till = app.sign_in("till", "cashier-pw-1").await;
    let (s, e) = app.get_as(&till, "/api/v1/consistency").await;
    assert_eq!(s, 403, "{e}");
}
