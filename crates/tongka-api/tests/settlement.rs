//! Settlement and withdrawals on real engines, three routers: HQ, store-1
//! and store-2, their ops shipped between them by hand. Member a
//! registers and recharges 1000.00 at store-1 (the default programme's
//! bonus: 100.00); store-1 gives store-2 300.00 of a's balance (an escrow
//! transfer, as a spend at store-2 forces). Member b recharges 200.00 at
//! store-2 (no bonus) and store-2 gives store-1 50.00 of it. By hand:
//! 300.00 × 1000 ÷ 1100 = 272.7272… → principal 272.73, bonus 27.27; so
//! store-1 owes store-2 300.00 − 50.00 = 250.00 (principal 222.73, bonus
//! 27.27), store-2's position is +250.00, store-1's −250.00, the chain's
//! 0.00; every node answers the same. Then withdrawals: the bad ones
//! refused, one asked at store-2, approved at HQ once.

mod common;

use common::{App, code};
use serde_json::{Value, json};
use tongka_core::day::Day;
use tongka_core::escrow::{Counter, Want};
use tongka_core::ids::{MemberId, NodeId};
use tongka_core::op::Op;

fn n(s: &str) -> NodeId {
    NodeId::new(s).unwrap()
}

/// Ship every op `from` holds that `to` lacks, each durable in turn (the
/// origins in name order; each origin's in its order: causal enough here,
/// as each test step ships after the ops it depends on were shipped).
async fn ship(from: &App, to: &App) {
    let have = to.engine.db().summary().vv;
    let vv = from.engine.db().summary().vv;
    for (origin, seq) in vv.iter() {
        let first = have.get(origin) + 1;
        if seq < first {
            continue;
        }
        let ops: Vec<Op> = from.engine.db().ops_from(origin, first, 10_000).unwrap();
        for op in ops {
            let (tx, rx) = tokio::sync::oneshot::channel();
            to.engine
                .apply_remote(op, Box::new(move |r| tx.send(r).unwrap()))
                .await
                .unwrap();
            rx.await.unwrap().unwrap();
        }
    }
}

async fn post(app: &App, path: &str, body: Value, key: &str) -> (u16, Value) {
    app.send("POST", path, &body, Some(key)).await
}

fn days() -> String {
    let today = Day::of_ms(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64,
    );
    format!("from={}&to={}", today.plus(-1), today.plus(1))
}

async fn member(app: &App, phone: &str, key: &str) -> MemberId {
    let (s, m) = post(
        app,
        "/api/v1/members",
        json!({"phone": phone, "name": "会员"}),
        key,
    )
    .await;
    assert_eq!(s, 201, "{m}");
    MemberId::parse(m["id"].as_str().unwrap()).unwrap()
}

/// The three nodes with the transfers of the module doc, every op on
/// every node.
async fn chain() -> (App, App, App) {
    let hq = App::named("hq", "hq");
    let one = App::named("store-1", "store");
    let two = App::named("store-2", "store");
    let a = member(&one, "13900000001", "m-a").await;
    let (s, r) = post(
        &one,
        &format!("/api/v1/members/{a}/recharges"),
        json!({"amount": "1000.00", "tender": "cash"}),
        "r-a",
    )
    .await;
    assert_eq!((s, &r["bonus"]), (201, &json!("100.00")), "{r}");
    ship(&one, &two).await;
    let t = one
        .engine
        .give_share(
            n("store-2"),
            Want {
                counter: Counter::Balance(a.clone()),
                units: 30_000,
            },
        )
        .await
        .unwrap()
        .expect("store-1 holds a's share");
    assert_eq!(t.origin(), &n("store-1"));
    let b = member(&two, "13900000002", "m-b").await;
    let (s, r) = post(
        &two,
        &format!("/api/v1/members/{b}/recharges"),
        json!({"amount": "200.00", "tender": "wechat"}),
        "r-b",
    )
    .await;
    assert_eq!((s, &r["bonus"]), (201, &json!("0.00")), "{r}");
    ship(&one, &two).await;
    two.engine
        .give_share(
            n("store-1"),
            Want {
                counter: Counter::Balance(b),
                units: 5_000,
            },
        )
        .await
        .unwrap()
        .expect("store-2 holds b's share");
    ship(&two, &one).await;
    ship(&one, &hq).await;
    (hq, one, two)
}

#[tokio::test]
async fn settlement_is_hand_computed_sums_to_zero_and_is_the_same_everywhere() {
    let (hq, one, two) = chain().await;
    let path = format!("/api/v1/settlement?{}", days());
    let (s, at_hq) = hq.get(&path).await;
    assert_eq!(s, 200, "{at_hq}");
    assert_eq!(
        at_hq["pairs"],
        json!([{"debtor": "store-1", "creditor": "store-2", "amount": "250.00",
                "principal": "222.73", "bonus": "27.27", "points": 0, "transfers": 2}]),
        "{at_hq}"
    );
    assert_eq!(
        at_hq["stores"],
        json!([
            {"store": "store-1", "amount": "-250.00", "principal": "-222.73", "bonus": "-27.27", "points": 0, "transfers": 2},
            {"store": "store-2", "amount": "250.00", "principal": "222.73", "bonus": "27.27", "points": 0, "transfers": 2},
        ])
    );
    assert_eq!(at_hq["chain_total"]["amount"], "0.00");
    assert_eq!(at_hq["chain_total"]["principal"], "0.00");
    assert!(
        at_hq["freshness"]["version_vector"]["store-2"]
            .as_u64()
            .unwrap()
            > 0
    );
    for app in [&one, &two] {
        let (s, v) = app.get(&path).await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["pairs"], at_hq["pairs"]);
        assert_eq!(v["stores"], at_hq["stores"]);
    }
    // One store's view; a period without transfers has none.
    let (_, v) = hq
        .get(&format!("/api/v1/settlement?{}&store=store-2", days()))
        .await;
    assert_eq!(v["stores"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["stores"][0]["amount"], "250.00");
    let (_, v) = hq
        .get("/api/v1/settlement?from=2020-01-01&to=2020-01-31")
        .await;
    assert_eq!(
        (v["pairs"].clone(), v["stores"].clone()),
        (json!([]), json!([]))
    );

    // Strict queries, in both languages.
    for bad in [
        "?from=2026-13-01",
        "?store=NOPE",
        "?store=store-9",
        "?channel=cash",
        "?from=2026-01-02&to=2026-01-01",
        "?to=2026-01-01&to=2026-01-02",
    ] {
        let (s, v) = hq.get(&format!("/api/v1/settlement{bad}")).await;
        assert_eq!((s, code(&v)), (422, "invalid_report_query"), "{bad}: {v}");
        assert!(v["error"]["message_zh"].as_str().is_some(), "{v}");
    }
}

#[tokio::test]
async fn withdrawals_asked_at_a_store_and_decided_once_at_hq() {
    let (hq, one, two) = chain().await;
    // Bad amounts and too much.
    for (amount, want) in [
        (json!("-5.00"), "invalid_amount"),
        (json!("0"), "invalid_amount"),
        (json!("99999999999.00"), "invalid_amount"),
        (json!("1.001"), "invalid_amount"),
        (json!("250.01"), "withdrawal_exceeds_owed"),
    ] {
        let (s, v) = post(
            &two,
            "/api/v1/withdrawals",
            json!({"amount": amount}),
            "w-bad",
        )
        .await;
        assert_eq!((s, code(&v)), (422, want), "{amount}: {v}");
    }
    let (s, v) = post(
        &two,
        "/api/v1/withdrawals",
        json!({"amount": "300.00"}),
        "w-big",
    )
    .await;
    assert_eq!(v["error"]["available"], "250.00", "{v}");
    assert_eq!(s, 422);
    let (s, v) = post(&two, "/api/v1/withdrawals", json!({}), "w-none").await;
    assert_eq!((s, code(&v)), (400, "invalid_json"), "{v}");
    // The debtor store may withdraw nothing; HQ requests none.
    let (s, v) = post(
        &one,
        "/api/v1/withdrawals",
        json!({"amount": "1.00"}),
        "w-1",
    )
    .await;
    assert_eq!((s, code(&v)), (422, "withdrawal_exceeds_owed"), "{v}");
    assert_eq!(v["error"]["available"], "0.00", "{v}");
    let (s, v) = post(
        &hq,
        "/api/v1/withdrawals",
        json!({"amount": "1.00"}),
        "w-hq",
    )
    .await;
    assert_eq!((s, code(&v)), (403, "withdrawal_at_stores"), "{v}");

    // Store-2 asks 200.00; the key replays; 60.00 more is too much.
    let body = json!({"amount": "200.00", "note": "十二月结算"});
    let (s, w) = post(&two, "/api/v1/withdrawals", body.clone(), "w-2").await;
    assert_eq!(s, 201, "{w}");
    assert_eq!(
        (&w["status"], &w["store"], &w["amount"]),
        (&json!("pending"), &json!("store-2"), &json!("200.00"))
    );
    let id = w["id"].as_str().unwrap().to_string();
    let (s, again) = post(&two, "/api/v1/withdrawals", body, "w-2").await;
    assert_eq!((s, &again["id"]), (201, &w["id"]));
    let (s, v) = post(
        &two,
        "/api/v1/withdrawals",
        json!({"amount": "60.00"}),
        "w-3",
    )
    .await;
    assert_eq!((s, code(&v)), (422, "withdrawal_exceeds_owed"), "{v}");
    assert_eq!(v["error"]["available"], "50.00", "{v}");
    // A store approves nothing.
    let (s, v) = post(
        &two,
        &format!("/api/v1/withdrawals/{id}/approve"),
        json!({}),
        "a-2",
    )
    .await;
    assert_eq!((s, code(&v)), (403, "withdrawal_hq_decides"), "{v}");

    // HQ: unknown until shipped; then approves once.
    let approve = format!("/api/v1/withdrawals/{id}/approve");
    let (s, v) = post(&hq, &approve, json!({}), "a-early").await;
    assert_eq!((s, code(&v)), (404, "withdrawal_not_found"), "{v}");
    ship(&two, &hq).await;
    let (s, v) = post(
        &hq,
        &format!("/api/v1/withdrawals/{id}/reject"),
        json!({}),
        "r-0",
    )
    .await;
    assert_eq!(
        (s, code(&v)),
        (422, "invalid_withdrawal_note"),
        "a rejection needs a reason: {v}"
    );
    let (s, v) = post(&hq, &approve, json!({"note": "已转账"}), "a-1").await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (&v["status"], &v["decided_by"], &v["decision_note"]),
        (&json!("approved"), &json!("admin"), &json!("已转账")),
        "{v}"
    );
    let (s, replay) = post(&hq, &approve, json!({"note": "已转账"}), "a-1").await;
    assert_eq!((s, &replay["status"]), (200, &json!("approved")));
    let (s, v) = post(&hq, &approve, json!({}), "a-2").await;
    assert_eq!((s, code(&v)), (409, "withdrawal_decided"), "{v}");
    let (s, v) = post(
        &hq,
        &format!("/api/v1/withdrawals/{id}/reject"),
        json!({"note": "x"}),
        "r-1",
    )
    .await;
    assert_eq!((s, code(&v)), (409, "withdrawal_decided"), "{v}");
    let (s, v) = post(
        &hq,
        "/api/v1/withdrawals/w-store-2-999/approve",
        json!({}),
        "a-3",
    )
    .await;
    assert_eq!((s, code(&v)), (404, "withdrawal_not_found"), "{v}");

    // Back at store-2: approved, 50.00 left.
    ship(&hq, &two).await;
    let (s, list) = two.get("/api/v1/withdrawals").await;
    assert_eq!(s, 200, "{list}");
    assert_eq!(list["withdrawals"][0]["status"], "approved", "{list}");
    assert_eq!(
        list["balances"],
        json!([{"store": "store-2", "owed": "250.00", "approved": "200.00", "pending": "0.00", "available": "50.00"}])
    );
    let (_, at_hq) = hq.get("/api/v1/withdrawals?status=approved").await;
    assert_eq!(at_hq["withdrawals"], list["withdrawals"]);
    let (s, v) = hq.get("/api/v1/withdrawals?status=maybe").await;
    assert_eq!((s, code(&v)), (422, "invalid_report_query"), "{v}");
    // The audit trail shows who asked and who approved.
    let (_, audit) = hq.get("/api/v1/audit").await;
    let kinds: Vec<&str> = audit["entries"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["kind"].as_str()).collect())
        .unwrap_or_default();
    assert!(kinds.contains(&"withdrawal_approved"), "{audit}");
}

#[tokio::test]
async fn roles_who_may_ask_and_decide() {
    let (hq, _one, two) = chain().await;
    two.create_staff("cashier", "cashier", &["store-2"], "correct horse battery")
        .await;
    two.create_staff(
        "mgr",
        "store_manager",
        &["store-2"],
        "correct horse battery",
    )
    .await;
    ship(&two, &hq).await;
    hq.create_staff("fin", "hq_finance", &[], "correct horse battery")
        .await;
    hq.create_staff("admin2", "hq_admin", &[], "correct horse battery")
        .await;
    let cashier = two.sign_in("cashier", "correct horse battery").await;
    let mgr = two.sign_in("mgr", "correct horse battery").await;
    let (s, v) = two
        .send_as(
            &cashier,
            "POST",
            "/api/v1/withdrawals",
            &json!({"amount": "10.00"}),
            Some("k1"),
        )
        .await;
    assert_eq!((s, code(&v)), (403, "forbidden_for_role"), "{v}");
    let (s, w) = two
        .send_as(
            &mgr,
            "POST",
            "/api/v1/withdrawals",
            &json!({"amount": "10.00"}),
            Some("k2"),
        )
        .await;
    assert_eq!(s, 201, "{w}");
    ship(&two, &hq).await;
    let id = w["id"].as_str().unwrap();
    let fin = hq.sign_in("fin", "correct horse battery").await;
    let admin2 = hq.sign_in("admin2", "correct horse battery").await;
    let path = format!("/api/v1/withdrawals/{id}/approve");
    let (s, v) = hq
        .send_as(&admin2, "POST", &path, &json!({}), Some("k3"))
        .await;
    assert_eq!((s, code(&v)), (403, "forbidden_for_role"), "{v}");
    let (s, v) = hq
        .send_as(&fin, "POST", &path, &json!({}), Some("k4"))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["requested_by"].as_str().unwrap(),
        w["requested_by"].as_str().unwrap()
    );
}
