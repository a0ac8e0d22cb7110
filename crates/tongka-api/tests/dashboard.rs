//! `GET /dashboard` against figures computed by hand, on known days: at
//! store-1 (this node, through the API, today) a member registered, a
//! recharge of 1000.00 (bonus 100.00), a sale from the balance and a
//! walk-in's cash sale; at store-2 (its own db, ops stamped on chosen
//! days, shipped here as remote ops) a member registered and a recharge of
//! 200.00 three days ago, a walk-in's sale of 80.00 yesterday and a
//! recharge of 300.00 today. Then the sync state the replication layer
//! reports (store-2 partitioned since a known time), and a store manager's
//! view of their own store.

mod common;

use std::sync::Arc;
use std::sync::mpsc;

use common::App;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use tongka_core::checkout::{self, CheckoutContext, LineInput, TenderInput};
use tongka_core::clock::Hlc;
use tongka_core::day::Day;
use tongka_core::ids::{MemberId, NodeId, OpId, OrderId, RechargeId};
use tongka_core::member::Profile;
use tongka_core::op::{OpBody, OpDraft, OriginRole};
use tongka_core::state::MemberState;
use tongka_core::{Money, Programme, TenderKind};
use tongka_db::{Db, DbOptions, Effects, Source};

const HOUR: i64 = 3_600_000;
/// When the peers' closure says store-2's connection went down.
const DOWN_MS: u64 = 1_796_486_400_000;

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// Today (China time), not within a minute of its end: a test started
/// just before midnight waits for the next day, so its "today" is the
/// dashboard's.
fn today() -> Day {
    let now = now_ms();
    let day = Day::of_ms(now);
    let left = day.plus(1).start_ms() - now as i64;
    if left < 60_000 {
        std::thread::sleep(std::time::Duration::from_millis(left as u64 + 100));
        return Day::of_ms(now_ms());
    }
    day
}

fn n(s: &str) -> NodeId {
    NodeId::new(s).unwrap()
}

/// Store-2's own db: it makes ops stamped when told.
struct Store2 {
    db: Db,
    _dir: tempfile::TempDir,
}

impl Store2 {
    fn new() -> Store2 {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(
            &dir.path().join("store-2.redb"),
            DbOptions {
                node: n("store-2"),
                max_batch: 64,
                queue_max: 1024,
            },
        )
        .unwrap()
        .0;
        Store2 { db, _dir: dir }
    }

    fn submit(&self, ms: i64, body: OpBody, effects: Effects) {
        let draft = OpDraft {
            hlc: Hlc {
                ms: ms as u64,
                count: 0,
            },
            by: "t".into(),
            idem: None,
            body,
        };
        let (tx, rx) = mpsc::channel();
        self.db.submit(
            Source::Local(draft),
            effects,
            Box::new(move |r| tx.send(r).unwrap()),
        );
        rx.recv().unwrap().unwrap();
    }

    fn register(&self, ms: i64) -> MemberId {
        let member = MemberId::mint(&n("store-2"), self.db.next_entity());
        let body = OpBody::MemberRegistered {
            member: member.clone(),
            profile: Profile {
                phone: "13900000002".into(),
                name: "乙".into(),
                birthday: None,
                gender: None,
                card_no: None,
                invited_by: None,
                tags: vec![],
                notes: String::new(),
            },
            opening: None,
        };
        let op = OpDraft {
            hlc: Hlc {
                ms: ms as u64,
                count: 0,
            },
            by: "t".into(),
            idem: None,
            body: body.clone(),
        }
        .stamp(
            OpId {
                origin: n("store-2"),
                seq: 0,
            },
            Default::default(),
        );
        let state = MemberState::registered(&op).unwrap();
        self.submit(
            ms,
            body,
            Effects {
                member: Some(state),
                ..Default::default()
            },
        );
        member
    }

    fn recharge(&self, ms: i64, m: &MemberId, yuan: i64, bonus: i64, tender: TenderKind) {
        let body = OpBody::Recharged {
            member: m.clone(),
            recharge: RechargeId::mint(&n("store-2"), self.db.next_entity()),
            amount: Money::from_yuan(yuan),
            bonus: Money::from_yuan(bonus),
            tender,
        };
        self.submit(ms, body, Effects::default());
    }

    /// A walk-in pays `yuan` in cash, exactly.
    fn walk_in_sale(&self, ms: i64, yuan: i64) {
        let store = n("store-2");
        let programme = Programme::default();
        let ctx = CheckoutContext {
            programme: &programme,
            store: &store,
            order: OrderId::mint(&store, self.db.next_entity()),
            at: Hlc {
                ms: ms as u64,
                count: 0,
            },
            buyer: None,
        };
        let order = checkout::checkout(
            &ctx,
            &[LineInput {
                sku: None,
                barcode: None,
                description: "茶".into(),
                unit_price: Money::from_yuan(yuan),
                qty: Decimal::ONE,
                card: None,
                pricing: Default::default(),
            }],
            &[TenderInput {
                kind: TenderKind::Cash,
                amount: Some(Money::from_yuan(yuan)),
            }],
        )
        .unwrap();
        assert_eq!(order.payable, Money::from_yuan(yuan));
        self.submit(ms, OpBody::sale(order), Effects::default());
    }
}

async fn post(app: &App, path: &str, body: Value, key: &str) -> Value {
    let (s, v) = app.send("POST", path, &body, Some(key)).await;
    assert_eq!(s, 201, "{path}: {v}");
    v
}

/// The chain of the test, as the module doc says; store-2's ops are held
/// at `app` (store-1) when it returns.
async fn chain(app: &App, today: Day) -> Store2 {
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
    // 120.00 at silver's 95% = 114.00 from the balance: principal 103.64,
    // bonus 10.36; 114 points.
    let sale = post(
        app,
        "/api/v1/checkouts",
        json!({"member_id": a, "lines": [{"description": "茶", "unit_price": "120.00", "qty": 1}],
               "tenders": [{"kind": "balance"}]}),
        "o-a",
    )
    .await;
    assert_eq!(
        (&sale["payable"], &sale["balance_principal"]),
        (&json!("114.00"), &json!("103.64")),
        "{sale}"
    );
    post(
        app,
        "/api/v1/checkouts",
        json!({"lines": [{"description": "点心", "unit_price": "50.00", "qty": 1}],
               "tenders": [{"kind": "cash", "amount": "100.00"}]}),
        "o-walk-in",
    )
    .await;

    let two = Store2::new();
    let ten_am = |d: Day| d.start_ms() + 10 * HOUR;
    let b = two.register(ten_am(today.plus(-3)));
    two.recharge(ten_am(today.plus(-3)) + 1, &b, 200, 20, TenderKind::Wechat);
    two.walk_in_sale(ten_am(today.plus(-1)), 80);
    // Today, now (not 10:00: that may be later than now).
    two.recharge(now_ms() as i64, &b, 300, 30, TenderKind::Cash);
    assert_eq!(two.db.ops_from(&n("store-2"), 1, 100).unwrap().len(), 4);
    ship(app, &two).await;
    two
}

fn store<'a>(d: &'a Value, name: &str) -> &'a Value {
    d["stores"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["store"] == name)
        .unwrap_or_else(|| panic!("{name} in {d}"))
}

/// The 30 days' values with the given (index from the oldest, value)
/// pairs, every other day 0.00.
fn days(set: &[(usize, &str)]) -> Value {
    let mut v = vec![json!("0.00"); 30];
    for (i, x) in set {
        v[*i] = json!(x);
    }
    Value::Array(v)
}

#[tokio::test]
async fn the_dashboard_matches_figures_computed_by_hand() {
    let today = today();
    let app = App::with_peers(Arc::new(|| {
        vec![
            tongka_api::PeerState {
                node: "hq".into(),
                connected: true,
                lag_ops: 0,
                role: Some(OriginRole::Hq),
                ..Default::default()
            },
            tongka_api::PeerState {
                node: "store-2".into(),
                connected: false,
                lag_ops: 3,
                disconnected_since: Some(DOWN_MS),
                role: Some(OriginRole::Store),
                ..Default::default()
            },
        ]
    }));
    let _two = chain(&app, today).await;

    let (s, d) = app.get("/api/v1/dashboard").await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(d["today"], today.to_string());
    assert_eq!(d["node"], "store-1");
    assert_eq!(d["scope"], "chain");
    // a (today, store-1) and b (three days ago, store-2); active today: a
    // at store-1 (recharge and sale), b at store-2 (recharge).
    assert_eq!(
        d["members"],
        json!({"total": 2, "new_today": 1, "active_today": 2})
    );
    // Today: 114.00 + 50.00 at store-1; store-2's 80.00 was yesterday.
    assert_eq!(d["sales_today"], json!({"count": 2, "amount": "164.00"}));
    assert_eq!(
        d["recharges_today"],
        json!({"count": 2, "principal": "1300.00", "bonus": "130.00"})
    );
    // Owed: 1000 + 200 + 300 − 103.64 = 1396.36; 100 + 20 + 30 − 10.36 =
    // 139.64; the sale's 114 points.
    assert_eq!(
        d["outstanding"],
        json!({"principal": "1396.36", "bonus": "139.64", "points": 114})
    );

    let one = store(&d, "store-1");
    assert_eq!(one["this_node"], true);
    assert_eq!(
        one["today"],
        json!({"sales": 2, "sales_amount": "164.00", "recharges": 1,
               "recharged_principal": "1000.00", "recharged_bonus": "100.00",
               "refunds": 0, "refunded": "0.00", "new_members": 1, "active_members": 1})
    );
    assert_eq!(one["sync"]["state"], "this_node");
    assert_eq!(one["sync"]["lag_ops"], Value::Null);
    assert_eq!(one["sync"]["partitioned_since"], Value::Null);
    assert_eq!(one["sync"]["newest_op"]["seq"], 4, "{one}");
    let two = store(&d, "store-2");
    assert_eq!(
        two["today"],
        json!({"sales": 0, "sales_amount": "0.00", "recharges": 1,
               "recharged_principal": "300.00", "recharged_bonus": "30.00",
               "refunds": 0, "refunded": "0.00", "new_members": 0, "active_members": 1})
    );
    assert_eq!(
        two["sync"],
        json!({"state": "partitioned", "connected": false, "lag_ops": 3,
               "partitioned_since": "2026-12-05T16:00:00.000Z",
               "newest_op": two["sync"]["newest_op"].clone()})
    );
    assert_eq!(two["sync"]["newest_op"]["seq"], 4);
    // HQ (its certificate says so) is not a store: no row, not ranked;
    // its link is shown apart.
    assert_eq!(d["stores"].as_array().unwrap().len(), 2, "{d}");
    assert_eq!(
        d["hq"],
        json!([{"node": "hq", "this_node": false,
                "sync": {"state": "connected", "connected": true, "lag_ops": 0,
                         "partitioned_since": null, "newest_op": null}}])
    );

    // Ranked by today's sales: store-1, then store-2 at 0.00.
    assert_eq!(ranking(&d), [("store-1", "164.00"), ("store-2", "0.00")]);

    // The 30 days, oldest first: today is the last (29), yesterday 28,
    // three days ago 26.
    let series = &d["series"];
    assert_eq!(series["days"][29], today.to_string());
    assert_eq!(series["days"][0], today.plus(-29).to_string());
    assert_eq!(
        series["sales_amount"],
        days(&[(28, "80.00"), (29, "164.00")])
    );
    assert_eq!(
        series["recharged_principal"],
        days(&[(26, "200.00"), (29, "1300.00")])
    );
    let per: Vec<&Value> = series["stores"].as_array().unwrap().iter().collect();
    assert_eq!(per.len(), 2, "{series}");
    assert_eq!(per[0]["store"], "store-1");
    assert_eq!(per[0]["sales_amount"], days(&[(29, "164.00")]));
    assert_eq!(per[0]["recharged_principal"], days(&[(29, "1000.00")]));
    assert_eq!(per[1]["store"], "store-2");
    assert_eq!(per[1]["sales_amount"], days(&[(28, "80.00")]));
    assert_eq!(
        per[1]["recharged_principal"],
        days(&[(26, "200.00"), (29, "300.00")])
    );
    assert_eq!(
        d["freshness"]["version_vector"],
        json!({"store-1": 4, "store-2": 4})
    );

    // The same peer on /sync/status: when it went down, additive.
    let (s, sync) = app.get("/api/v1/sync/status").await;
    assert_eq!(s, 200, "{sync}");
    let peers = sync["peers"].as_array().unwrap();
    assert_eq!(
        peers[1],
        json!({"node": "store-2", "connected": false, "lag_ops": 3, "refused_ops": 0,
               "disconnected_since": "2026-12-05T16:00:00.000Z"})
    );
    assert!(peers[0].get("disconnected_since").is_none(), "{sync}");
}

/// Store-2's ops, made by `two`, applied at `app`.
async fn ship(app: &App, two: &Store2) {
    app.receive(two.db.ops_from(&n("store-2"), 1, 100).unwrap())
        .await;
}

/// The ranking's (store, today's sales amount), in order.
fn ranking(d: &Value) -> Vec<(&str, &str)> {
    d["ranking"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["store"].as_str().unwrap(),
                r["sales_amount"].as_str().unwrap(),
            )
        })
        .collect()
}

/// The names of the list `list` of `d` (`stores`; `store` of each).
fn names<'a>(d: &'a Value, list: &str) -> Vec<&'a str> {
    d[list]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["store"].as_str().unwrap())
        .collect()
}

/// HQ's own dashboard: HQ (this node, which registered a member today, so
/// it has figures of its own) is shown apart, never as a store nor ranked;
/// the stores are its peers and the origins of the figures it holds.
#[tokio::test]
async fn hq_is_shown_apart_on_its_own_dashboard() {
    let today = today();
    let app = App::named_with_peers(
        "hq",
        "hq",
        Arc::new(|| {
            vec![
                tongka_api::PeerState {
                    node: "store-1".into(),
                    connected: true,
                    lag_ops: 1,
                    role: Some(OriginRole::Store),
                    ..Default::default()
                },
                tongka_api::PeerState {
                    node: "store-2".into(),
                    connected: false,
                    lag_ops: 2,
                    disconnected_since: Some(DOWN_MS),
                    role: Some(OriginRole::Store),
                    ..Default::default()
                },
            ]
        }),
    );
    post(
        &app,
        "/api/v1/members",
        json!({"phone": "13900000009", "name": "总"}),
        "m-hq",
    )
    .await;
    let two = Store2::new();
    let b = two.register(today.start_ms() + 1);
    two.recharge(now_ms() as i64 - 1, &b, 200, 20, TenderKind::Wechat);
    two.walk_in_sale(now_ms() as i64, 80);
    ship(&app, &two).await;

    let (s, d) = app.get("/api/v1/dashboard").await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(d["node"], "hq");
    assert_eq!(
        d["hq"],
        json!([{"node": "hq", "this_node": true,
                "sync": {"state": "this_node", "connected": true, "lag_ops": null,
                         "partitioned_since": null,
                         "newest_op": d["hq"][0]["sync"]["newest_op"].clone()}}])
    );
    assert_eq!(d["hq"][0]["sync"]["newest_op"]["seq"], 1, "{d}");
    assert_eq!(names(&d, "stores"), ["store-1", "store-2"], "{d}");
    assert_eq!(store(&d, "store-2")["sync"]["state"], "partitioned");
    assert_eq!(store(&d, "store-1")["sync"]["lag_ops"], 1);
    assert_eq!(ranking(&d), [("store-2", "80.00"), ("store-1", "0.00")]);
    assert_eq!(names(&d["series"], "stores"), ["store-2"], "{d}");
    // HQ's member counts in the chain's members, as every member does.
    assert_eq!(
        d["members"],
        json!({"total": 2, "new_today": 2, "active_today": 1})
    );
}

/// A store whose HQ peer is cut off shows HQ partitioned, apart; a peer
/// whose certificate it has not learnt yet is taken for a store.
#[tokio::test]
async fn a_store_shows_hq_partitioned_apart() {
    let app = App::with_peers(Arc::new(|| {
        vec![
            tongka_api::PeerState {
                node: "hq".into(),
                connected: false,
                lag_ops: 7,
                disconnected_since: Some(DOWN_MS),
                role: Some(OriginRole::Hq),
                ..Default::default()
            },
            tongka_api::PeerState {
                node: "store-3".into(),
                connected: true,
                ..Default::default()
            },
        ]
    }));
    let (s, d) = app.get("/api/v1/dashboard").await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(
        d["hq"],
        json!([{"node": "hq", "this_node": false,
                "sync": {"state": "partitioned", "connected": false, "lag_ops": 7,
                         "partitioned_since": "2026-12-05T16:00:00.000Z",
                         "newest_op": null}}])
    );
    assert_eq!(names(&d, "stores"), ["store-1", "store-3"], "{d}");
    assert_eq!(names(&d, "ranking"), ["store-1", "store-3"]);
}

#[tokio::test]
async fn a_store_manager_sees_their_store_and_a_cashier_nothing() {
    let today = today();
    let app = App::new();
    let _two = chain(&app, today).await;
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

    let (s, d) = app.get_as(&mgr, "/api/v1/dashboard").await;
    assert_eq!(s, 200, "{d}");
    assert_eq!(d["scope"], "stores");
    // Only store-1: its member, its figures, and what is owed there
    // (1000.00 − 103.64; 100.00 − 10.36; 114 points).
    assert_eq!(
        d["members"],
        json!({"total": 1, "new_today": 1, "active_today": 1})
    );
    assert_eq!(d["sales_today"], json!({"count": 2, "amount": "164.00"}));
    assert_eq!(
        d["recharges_today"],
        json!({"count": 1, "principal": "1000.00", "bonus": "100.00"})
    );
    assert_eq!(
        d["outstanding"],
        json!({"principal": "896.36", "bonus": "89.64", "points": 114})
    );
    assert_eq!(names(&d, "stores"), ["store-1"]);
    assert_eq!(d["series"]["sales_amount"], days(&[(29, "164.00")]));
    assert_eq!(d["series"]["stores"].as_array().unwrap().len(), 1);

    let (s, v) = app.get_as(&cashier, "/api/v1/dashboard").await;
    assert_eq!((s, common::code(&v)), (403, "forbidden_for_role"), "{v}");
}
