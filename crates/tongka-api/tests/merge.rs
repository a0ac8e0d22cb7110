//! Merging members through the API on one node: what a merge combines,
//! where lookups lead afterwards, and every refusal with its code (and
//! nothing changed by a refusal).

mod common;

use common::App;
use serde_json::{Value, json};

async fn register(app: &App, body: Value, key: &str) -> String {
    let (s, m) = app.send("POST", "/api/v1/members", &body, Some(key)).await;
    assert_eq!(s, 201, "{m}");
    m["id"].as_str().expect("id").to_string()
}

async fn recharge(app: &App, member: &str, amount: &str, key: &str) {
    let (s, r) = app
        .send(
            "POST",
            &format!("/api/v1/members/{member}/recharges"),
            &json!({"amount": amount, "tender": "cash"}),
            Some(key),
        )
        .await;
    assert_eq!(s, 201, "{r}");
}

#[tokio::test]
async fn a_merge_combines_profile_wallet_points_and_history() {
    let app = App::new();
    let a = register(
        &app,
        json!({"phone": "13900000001", "name": "王五", "tags": ["vip"]}),
        "r1",
    )
    .await;
    let b = register(
        &app,
        json!({"phone": "13900000002", "name": "王五2", "card_no": "CARD7777",
               "birthday": "1990-05-06", "tags": ["tea", "vip"], "notes": "常客"}),
        "r2",
    )
    .await;
    recharge(&app, &a, "100.00", "c1").await;
    recharge(&app, &b, "1000.00", "c2").await;
    let (s, o) = app
        .send(
            "POST",
            "/api/v1/checkouts",
            &json!({"member_id": b, "lines": [{"description": "茶", "unit_price": "50.00", "qty": 1}],
                    "tenders": [{"kind": "balance"}]}),
            Some("o1"),
        )
        .await;
    assert_eq!(s, 201, "{o}");
    let (_, before_a) = app.get(&format!("/api/v1/members/{a}")).await;
    let (_, before_b) = app.get(&format!("/api/v1/members/{b}")).await;
    let (_, ledger_before) = app.get("/api/v1/ledger/summary").await;

    let (s, m) = app
        .send(
            "POST",
            &format!("/api/v1/members/{a}/merge"),
            &json!({"absorb": b}),
            Some("merge-1"),
        )
        .await;
    assert_eq!(s, 201, "{m}");
    assert_eq!(m["id"], a.as_str());
    assert_eq!(m["name"], "王五", "the survivor's own fields win");
    assert_eq!(m["card_no"], "CARD7777", "blanks are filled");
    assert_eq!(m["birthday"], "1990-05-06");
    assert_eq!(m["notes"], "常客");
    assert_eq!(m["tags"], json!(["tea", "vip"]), "tags united");
    assert_eq!(m["merged"], json!([b]));
    let money = |v: &Value, k: &str| {
        v[k].as_str()
            .expect(k)
            .parse::<rust_decimal::Decimal>()
            .expect("decimal")
    };
    // The answer is the merge itself; this store's share of the absorbed
    // member follows by its own move op, just after: poll for it.
    let want = money(&before_a, "balance") + money(&before_b, "balance");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let now = loop {
        let (_, now) = app.get(&format!("/api/v1/members/{a}")).await;
        if money(&now, "balance") == want {
            break now;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "share not moved: {now}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(
        now["points"].as_i64().unwrap(),
        before_a["points"].as_i64().unwrap() + before_b["points"].as_i64().unwrap()
    );
    assert!(before_b["points"].as_i64().unwrap() > 0);
    let (_, absorbed_wallet) = app.get(&format!("/api/v1/members/{b}/wallet")).await;
    assert_eq!(
        money(&absorbed_wallet, "balance"),
        want,
        "the absorbed id reads as the survivor"
    );
    assert_eq!(
        money(&m, "cumulative_principal"),
        rust_decimal::Decimal::from(1100)
    );
    assert_eq!(m["visits"], 1);
    // The ledger is the same: a merge moves nothing in or out.
    let (_, ledger_after) = app.get("/api/v1/ledger/summary").await;
    assert_eq!(ledger_after, ledger_before);
    // The absorbed id, phone and card lead to the survivor.
    let (s, via_id) = app.get(&format!("/api/v1/members/{b}")).await;
    assert_eq!((s, via_id["id"].as_str()), (200, Some(a.as_str())));
    let (_, via_phone) = app.get("/api/v1/members?phone=13900000002").await;
    assert_eq!(via_phone["members"][0]["id"], a.as_str());
    let (_, via_card) = app.get("/api/v1/members?card_no=CARD7777").await;
    assert_eq!(via_card["members"][0]["id"], a.as_str());
    // The survivor's history holds the absorbed member's.
    let (_, h) = app.get(&format!("/api/v1/members/{a}/history")).await;
    let kinds: Vec<&str> = h["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    for k in [
        "members_merged",
        "merge_moved",
        "checked_out",
        "recharged",
        "registered",
    ] {
        assert!(kinds.contains(&k), "{k} in {kinds:?}");
    }
    assert_eq!(kinds.iter().filter(|k| **k == "registered").count(), 2);
    // A recharge addressed to the absorbed id goes to the survivor.
    recharge(&app, &b, "10.00", "c3").await;
    let (_, after) = app.get(&format!("/api/v1/members/{a}")).await;
    assert_eq!(
        money(&after, "balance"),
        want + rust_decimal::Decimal::from(10)
    );
    // Replayed: the first answer, nothing more.
    let snap = app.snapshot().await;
    let (s, again) = app
        .send(
            "POST",
            &format!("/api/v1/members/{a}/merge"),
            &json!({"absorb": b}),
            Some("merge-1"),
        )
        .await;
    assert_eq!((s, &again), (201, &m));
    assert_eq!(app.snapshot().await, snap);
}

#[tokio::test]
async fn merge_refusals_have_their_codes_and_change_nothing() {
    let app = App::new();
    let a = register(&app, json!({"phone": "13900000011", "name": "甲"}), "r1").await;
    let b = register(&app, json!({"phone": "13900000012", "name": "乙"}), "r2").await;
    let c = register(&app, json!({"phone": "13900000013", "name": "丙"}), "r3").await;
    let (s, _) = app
        .send(
            "POST",
            &format!("/api/v1/members/{a}/merge"),
            &json!({"absorb": c}),
            Some("m0"),
        )
        .await;
    assert_eq!(s, 201);
    let snap = app.snapshot().await;
    let path = |m: &str| format!("/api/v1/members/{m}/merge");
    // (path, body, idempotency key, status, code)
    type Case<'a> = (String, Vec<u8>, Option<&'a str>, u16, &'a str);
    let cases: Vec<Case> = vec![
        (
            path(&a),
            json!({"absorb": a}).to_string().into(),
            Some("k1"),
            422,
            "merge_same_member",
        ),
        (
            path(&a),
            json!({"absorb": "m-store-1-999"}).to_string().into(),
            Some("k2"),
            404,
            "member_not_found",
        ),
        (
            path("m-store-1-999"),
            json!({"absorb": b}).to_string().into(),
            Some("k3"),
            404,
            "member_not_found",
        ),
        (
            path("nonsense"),
            json!({"absorb": b}).to_string().into(),
            Some("k4"),
            404,
            "member_not_found",
        ),
        (
            path(&a),
            json!({"absorb": "x y"}).to_string().into(),
            Some("k5"),
            404,
            "member_not_found",
        ),
        (
            path(&b),
            json!({"absorb": c}).to_string().into(),
            Some("k6"),
            409,
            "member_merged",
        ),
        (
            path(&c),
            json!({"absorb": b}).to_string().into(),
            Some("k7"),
            409,
            "member_merged",
        ),
        (
            path(&a),
            json!({"absorb": b}).to_string().into(),
            None,
            400,
            "idempotency_key_required",
        ),
        (
            path(&a),
            json!({"absorb": b, "extra": 1}).to_string().into(),
            Some("k8"),
            400,
            "invalid_json",
        ),
        (path(&a), b"{}".to_vec(), Some("k9"), 400, "invalid_json"),
        (
            path(&a),
            b"not json".to_vec(),
            Some("k10"),
            400,
            "invalid_json",
        ),
        (
            path(&a),
            json!({"absorb": b}).to_string().into(),
            Some("m0"),
            409,
            "idempotency_key_reused",
        ),
    ];
    for (p, body, key, status, code) in cases {
        let ans = app.call("POST", &p, body, key).await;
        assert_eq!(
            ans.status.as_u16(),
            status,
            "{p}: {}",
            String::from_utf8_lossy(&ans.body)
        );
        assert_eq!(ans.error_code().as_deref(), Some(code), "{p}");
        let err = &ans.json().unwrap()["error"];
        assert!(err["message"].as_str().is_some_and(|m| !m.is_empty()));
        assert!(err["message_zh"].as_str().is_some_and(|m| !m.is_empty()));
        assert_eq!(app.snapshot().await, snap, "{p} {code} changed something");
    }
}
