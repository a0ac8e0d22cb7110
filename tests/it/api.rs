//! The HTTP API of one node: the README walk-through, idempotency, and every
//! kind of bad input refused with its own code and nothing changed.

use serde_json::{Value, json};

use crate::harness::Node;

fn checkout_body(member: &str, price: &str) -> Value {
    json!({"member_id": member, "lines": [{"description": "咖啡", "unit_price": price, "qty": "1"}], "tenders": [{"kind": "balance"}]})
}

/// What must not move when a request is refused: the op count and the
/// state hash, and the ledger.
fn fingerprint(n: &Node) -> (Value, Value) {
    let (_, sync) = n.get("/sync/status");
    let (_, ledger) = n.get("/ledger/summary");
    (json!([sync["version_vector"], sync["state_hash"]]), ledger)
}

#[test]
fn readme_walkthrough() {
    let n = Node::up();
    let (s, h) = n.get("/health");
    assert_eq!(
        (s, h["node"].as_str(), h["role"].as_str()),
        (200, Some("store-1"), Some("store"))
    );

    let id = n.member("13812341234", "张三");
    let (s, r) = n.post(
        &format!("/members/{id}/recharges"),
        json!({"amount": "1000", "tender": "cash"}),
        Some("r-1"),
    );
    assert_eq!(s, 201, "{r}");
    assert_eq!(
        (r["principal"].as_str(), r["bonus"].as_str()),
        (Some("1000.00"), Some("100.00"))
    );
    assert_eq!(r["wallet"]["balance"], "1100.00");
    assert_eq!(r["level"]["code"], "silver");

    let (s, o) = n.post("/checkouts", checkout_body(&id, "100.00"), Some("c-1"));
    assert_eq!(s, 201, "{o}");
    assert_eq!(
        (
            o["total"].as_str(),
            o["discount"].as_str(),
            o["payable"].as_str()
        ),
        (Some("100.00"), Some("5.00"), Some("95.00"))
    );
    assert_eq!(
        (o["balance_principal"].as_str(), o["balance_bonus"].as_str()),
        (Some("86.36"), Some("8.64"))
    );
    assert_eq!(o["points_earned"], 95);
    let (_, w) = n.get(&format!("/members/{id}/wallet"));
    assert_eq!(
        (
            w["balance"].as_str(),
            w["principal"].as_str(),
            w["bonus"].as_str()
        ),
        (Some("1005.00"), Some("913.64"), Some("91.36"))
    );
    assert_eq!(w["available_here"], "1005.00");

    let oid = o["id"].as_str().unwrap();
    let (s, f) = n.post(
        &format!("/orders/{oid}/refunds"),
        json!({"reason": "不想要了"}),
        Some("f-1"),
    );
    assert_eq!(s, 201, "{f}");
    assert_eq!(f["amount"], "95.00");
    assert_eq!(f["order"]["status"], "refunded");
    let (_, m) = n.get(&format!("/members/{id}"));
    assert_eq!(
        (m["balance"].as_str(), m["points"].as_i64()),
        (Some("1100.00"), Some(0))
    );

    let (_, l) = n.get("/ledger/summary");
    assert_eq!(l["outstanding_principal"], "1000.00");
    assert_eq!(l["outstanding_bonus"], "100.00");
    assert_eq!(l["members"], 1);
    let (_, hist) = n.get(&format!("/members/{id}/history"));
    let kinds: Vec<&str> = hist["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["refunded", "checked_out", "recharged", "registered"]
    );
}

#[test]
fn partial_refunds_add_up_to_the_sale() {
    let n = Node::up();
    let id = n.member("13900000001", "李四");
    n.post(
        &format!("/members/{id}/recharges"),
        json!({"amount": "2000", "tender": "wechat"}),
        Some("r"),
    );
    // 3 × 33.33 at 90% = 89.99; paid by balance 50 + cash rest.
    let body = json!({"member_id": id, "lines": [{"description": "套餐", "unit_price": "33.33", "qty": 3}, {"sku": "coffee", "qty": "1"}],
                      "tenders": [{"kind": "balance", "amount": "50"}, {"kind": "cash", "amount": "100"}]});
    let (s, o) = n.post("/checkouts", body, Some("c"));
    assert_eq!(s, 201, "{o}");
    assert_eq!(o["payable"], "115.19", "89.99 + 25.20");
    assert_eq!(o["change"], "34.81");
    let oid = o["id"].as_str().unwrap().to_string();
    let mut refunded = 0i64;
    for (i, (line, qty)) in [(0, "1"), (0, "2"), (1, "1")].into_iter().enumerate() {
        let (s, f) = n.post(
            &format!("/orders/{oid}/refunds"),
            json!({"lines": [{"line": line, "qty": qty}]}),
            Some(&format!("f{i}")),
        );
        assert_eq!(s, 201, "{f}");
        refunded += fen(&f["amount"]);
    }
    assert_eq!(refunded, 11519, "the parts add up to the sale exactly");
    let (s, e) = n.post(
        &format!("/orders/{oid}/refunds"),
        json!({}),
        Some("f-again"),
    );
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (409, Some("already_refunded"))
    );
    let (_, w) = n.get(&format!("/members/{id}/wallet"));
    assert_eq!(
        w["balance"], "2200.00",
        "balance part refunded to the wallet"
    );
}

fn fen(v: &Value) -> i64 {
    let s = v.as_str().expect("money string");
    let (y, f) = s.split_once('.').expect("two places");
    y.parse::<i64>().unwrap() * 100 + f.parse::<i64>().unwrap()
}

#[test]
fn idempotency_keys_answer_once() {
    let n = Node::up();
    let id = n.member("13700000002", "王五");
    let path = format!("/members/{id}/recharges");
    let (s1, a) = n.post(
        &path,
        json!({"amount": "500.00", "tender": "cash"}),
        Some("same"),
    );
    let (s2, b) = n.post(
        &path,
        json!({"amount": "500.00", "tender": "cash"}),
        Some("same"),
    );
    assert_eq!((s1, s2), (201, 201));
    assert_eq!(a, b, "a replay returns the first answer");
    let (_, w) = n.get(&format!("/members/{id}/wallet"));
    assert_eq!(w["balance"], "500.00", "and changes nothing more");
    let before = fingerprint(&n);
    let (s, e) = n.post(
        &path,
        json!({"amount": "600.00", "tender": "cash"}),
        Some("same"),
    );
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (409, Some("idempotency_key_reused"))
    );
    // Even a body that would not parse is answered by the key first.
    let (s, e) = n.raw(
        "POST",
        &path,
        &[
            ("Authorization", &format!("Bearer {}", n.token)),
            ("Idempotency-Key", "same"),
        ],
        b"{oops",
    );
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (409, Some("idempotency_key_reused"))
    );
    assert_eq!(fingerprint(&n), before);
}

/// Each bad request: its status and code, and nothing changed.
#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let n = Node::up();
    let id = n.member("13600000003", "赵六");
    n.post(
        &format!("/members/{id}/recharges"),
        json!({"amount": "100", "tender": "cash"}),
        Some("r"),
    );
    let (_, o) = n.post("/checkouts", checkout_body(&id, "10.00"), Some("c"));
    let oid = o["id"].as_str().unwrap().to_string();
    let auth = format!("Bearer {}", n.token);
    let recharge = format!("/members/{id}/recharges");
    let refund = format!("/orders/{oid}/refunds");

    type Case<'a> = (&'a str, Box<dyn Fn() -> (u16, Value) + 'a>, u16, &'a str);
    let cases: Vec<Case> = vec![
        (
            "invalid phone",
            Box::new(|| n.post("/members", json!({"phone": "12345", "name": "x"}), None)),
            422,
            "invalid_phone",
        ),
        (
            "empty name",
            Box::new(|| {
                n.post(
                    "/members",
                    json!({"phone": "13600000009", "name": " "}),
                    None,
                )
            }),
            422,
            "invalid_name",
        ),
        (
            "bad birthday",
            Box::new(|| {
                n.post(
                    "/members",
                    json!({"phone": "13600000009", "name": "x", "birthday": "2001-02-30"}),
                    None,
                )
            }),
            422,
            "invalid_birthday",
        ),
        (
            "phone taken",
            Box::new(|| {
                n.post(
                    "/members",
                    json!({"phone": "13600000003", "name": "x"}),
                    None,
                )
            }),
            409,
            "phone_taken",
        ),
        (
            "unknown field",
            Box::new(|| {
                n.post(
                    "/members",
                    json!({"phone": "13600000009", "name": "x", "vip": true}),
                    None,
                )
            }),
            400,
            "invalid_json",
        ),
        (
            "negative amount",
            Box::new(|| {
                n.post(
                    &recharge,
                    json!({"amount": "-5", "tender": "cash"}),
                    Some("k1"),
                )
            }),
            422,
            "invalid_amount",
        ),
        (
            "over-precise amount",
            Box::new(|| {
                n.post(
                    &recharge,
                    json!({"amount": "10.001", "tender": "cash"}),
                    Some("k2"),
                )
            }),
            422,
            "invalid_amount",
        ),
        (
            "over-precise number",
            Box::new(|| {
                n.post(
                    &recharge,
                    json!({"amount": 10.001, "tender": "cash"}),
                    Some("k2b"),
                )
            }),
            422,
            "invalid_amount",
        ),
        (
            "zero amount",
            Box::new(|| {
                n.post(
                    &recharge,
                    json!({"amount": "0", "tender": "cash"}),
                    Some("k3"),
                )
            }),
            422,
            "invalid_amount",
        ),
        (
            "huge amount",
            Box::new(|| {
                n.post(
                    &recharge,
                    json!({"amount": "99999999", "tender": "cash"}),
                    Some("k4"),
                )
            }),
            422,
            "invalid_amount",
        ),
        (
            "recharge from balance",
            Box::new(|| {
                n.post(
                    &recharge,
                    json!({"amount": "10", "tender": "balance"}),
                    Some("k5"),
                )
            }),
            422,
            "invalid_tender",
        ),
        (
            "unknown tender",
            Box::new(|| {
                n.post(
                    &recharge,
                    json!({"amount": "10", "tender": "bitcoin"}),
                    Some("k6"),
                )
            }),
            422,
            "invalid_tender",
        ),
        (
            "unknown member",
            Box::new(|| {
                n.post(
                    "/members/m-store-1-999/recharges",
                    json!({"amount": "10", "tender": "cash"}),
                    Some("k7"),
                )
            }),
            404,
            "member_not_found",
        ),
        (
            "malformed member id",
            Box::new(|| n.get("/members/../../etc")),
            404,
            "not_found",
        ),
        (
            "garbage member id",
            Box::new(|| n.get("/members/xyz")),
            404,
            "member_not_found",
        ),
        (
            "beyond the balance",
            Box::new(|| n.post("/checkouts", checkout_body(&id, "500.00"), Some("k8"))),
            409,
            "insufficient_balance",
        ),
        (
            "balance without member",
            Box::new(|| {
                n.post("/checkouts", json!({"lines": [{"description": "x", "unit_price": "1"}], "tenders": [{"kind": "balance"}]}), Some("k9"))
            }),
            422,
            "balance_needs_member",
        ),
        (
            "no lines",
            Box::new(|| {
                n.post(
                    "/checkouts",
                    json!({"lines": [], "tenders": []}),
                    Some("k10"),
                )
            }),
            422,
            "invalid_lines",
        ),
        (
            "zero qty",
            Box::new(|| {
                n.post("/checkouts", json!({"lines": [{"description": "x", "unit_price": "1", "qty": "0"}], "tenders": [{"kind": "cash"}]}), Some("k11"))
            }),
            422,
            "invalid_qty",
        ),
        (
            "unknown sku",
            Box::new(|| {
                n.post(
                    "/checkouts",
                    json!({"lines": [{"sku": "nope"}], "tenders": [{"kind": "cash"}]}),
                    Some("k12"),
                )
            }),
            404,
            "unknown_product",
        ),
        (
            "underpaid",
            Box::new(|| {
                n.post("/checkouts", json!({"lines": [{"description": "x", "unit_price": "10"}], "tenders": [{"kind": "card", "amount": "9.99"}]}), Some("k13"))
            }),
            422,
            "tender_mismatch",
        ),
        (
            "refund more than paid",
            Box::new(|| {
                n.post(
                    &refund,
                    json!({"lines": [{"line": 0, "qty": "2"}]}),
                    Some("k14"),
                )
            }),
            422,
            "refund_exceeds_paid",
        ),
        (
            "refund no such line",
            Box::new(|| {
                n.post(
                    &refund,
                    json!({"lines": [{"line": 5, "qty": "1"}]}),
                    Some("k15"),
                )
            }),
            422,
            "invalid_refund_line",
        ),
        (
            "refund unknown order",
            Box::new(|| n.post("/orders/o-store-1-999/refunds", json!({}), Some("k16"))),
            404,
            "order_not_found",
        ),
        (
            "missing idempotency key",
            Box::new(|| n.post(&recharge, json!({"amount": "10", "tender": "cash"}), None)),
            400,
            "idempotency_key_required",
        ),
        (
            "malformed JSON",
            Box::new(|| {
                n.raw(
                    "POST",
                    "/checkouts",
                    &[("Authorization", &auth), ("Idempotency-Key", "k17")],
                    b"{\"lines\": [",
                )
            }),
            400,
            "invalid_json",
        ),
        (
            "empty body",
            Box::new(|| n.raw("POST", "/members", &[("Authorization", &auth)], b"")),
            400,
            "invalid_json",
        ),
        (
            "missing token",
            Box::new(|| {
                n.raw(
                    "POST",
                    "/members",
                    &[],
                    br#"{"phone":"13600000009","name":"x"}"#,
                )
            }),
            401,
            "unauthorized",
        ),
        (
            "wrong token",
            Box::new(|| {
                n.raw(
                    "GET",
                    "/ledger/summary",
                    &[("Authorization", "Bearer nope")],
                    b"",
                )
            }),
            401,
            "unauthorized",
        ),
        (
            "not a coupon code",
            Box::new(|| {
                n.post("/checkouts", json!({"lines": [{"description": "x", "unit_price": "1"}], "coupon_codes": ["A"], "tenders": [{"kind": "cash"}]}), Some("k18"))
            }),
            422,
            "invalid_coupon_code",
        ),
        (
            "unknown endpoint",
            Box::new(|| n.get("/nope")),
            404,
            "not_found",
        ),
        (
            "wrong method",
            Box::new(|| n.raw("DELETE", "/checkouts", &[("Authorization", &auth)], b"")),
            405,
            "method_not_allowed",
        ),
    ];
    let before = fingerprint(&n);
    for (name, call, status, code) in &cases {
        let (s, body) = call();
        assert_eq!(
            (s, body["error"]["code"].as_str()),
            (*status, Some(*code)),
            "{name}: {body}"
        );
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{name}: English message"
        );
        assert!(
            body["error"]["message_zh"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{name}: Chinese message"
        );
        assert_eq!(fingerprint(&n), before, "{name} changed something");
    }
    let (_, e) = n.post("/checkouts", checkout_body(&id, "500.00"), Some("k8"));
    assert_eq!(
        e["error"]["available_here"], "90.00",
        "the refusal says what is usable here"
    );
}

#[test]
fn profile_edits_and_lookups() {
    let n = Node::up();
    let a = n.member("13500000004", "钱七");
    let b = n.member("13500000005", "孙八");
    let (s, m) = n.patch(
        &format!("/members/{a}"),
        json!({"name": "钱七七", "card_no": "C0001", "birthday": "1990-05-06", "gender": "female"}),
    );
    assert_eq!(s, 200, "{m}");
    assert_eq!(
        (m["name"].as_str(), m["card_no"].as_str()),
        (Some("钱七七"), Some("C0001"))
    );
    let (_, found) = n.get("/members?card_no=C0001");
    assert_eq!(found["members"][0]["id"], a);
    assert_eq!(
        found["members"][0]["phone"], "135****0004",
        "lists mask phone numbers"
    );
    let (s, e) = n.patch(&format!("/members/{b}"), json!({"card_no": "C0001"}));
    assert_eq!((s, e["error"]["code"].as_str()), (409, Some("card_taken")));
    let (s, e) = n.patch(&format!("/members/{b}"), json!({"phone": "13500000004"}));
    assert_eq!((s, e["error"]["code"].as_str()), (409, Some("phone_taken")));
    // Moving a's phone frees the old number for others.
    let (s, _) = n.patch(&format!("/members/{a}"), json!({"phone": "13500000006"}));
    assert_eq!(s, 200);
    let (_, found) = n.get("/members?phone=13500000004");
    assert_eq!(found["members"].as_array().unwrap().len(), 0);
    let (s, _) = n.patch(&format!("/members/{b}"), json!({"phone": "13500000004"}));
    assert_eq!(s, 200);
    let (s, e) = n.patch(&format!("/members/{b}"), json!({}));
    assert_eq!((s, e["error"]["code"].as_str()), (422, Some("empty_patch")));
}

#[test]
fn catalogue_and_openapi() {
    let n = Node::up();
    let (s, p) = n.get("/products");
    assert_eq!(s, 200);
    assert!(
        p["products"].as_array().unwrap().len() >= 5,
        "sample catalogue seeded"
    );
    let (s, _) = n.put(
        "/products/tea",
        json!({"barcode": "6909999999999", "name": "绿茶", "price": "12.50"}),
    );
    assert_eq!(s, 200);
    let (s, o) = n.post("/checkouts", json!({"lines": [{"barcode": "6909999999999", "qty": "2"}], "tenders": [{"kind": "alipay"}]}), Some("c"));
    assert_eq!((s, o["payable"].as_str()), (201, Some("25.00")), "{o}");
    let (s, e) = n.put(
        "/products/tea2",
        json!({"barcode": "6909999999999", "name": "x", "price": "1"}),
    );
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (409, Some("barcode_taken"))
    );
    let (s, e) = n.put("/products/bad%20sku", json!({"name": "x", "price": "1"}));
    assert_eq!((s, e["error"]["code"].as_str()), (422, Some("invalid_sku")));

    let (s, doc) = n.raw("GET", "/openapi.json", &[], b"");
    assert_eq!(s, 200);
    let paths = doc["paths"].as_object().expect("openapi paths");
    for p in [
        "/members",
        "/members/{id}",
        "/members/{id}/recharges",
        "/members/{id}/wallet",
        "/checkouts",
        "/orders/{id}/refunds",
        "/sync/status",
        "/ledger/summary",
        "/health",
    ] {
        assert!(
            paths.contains_key(&format!("/api/v1{p}")),
            "openapi documents {p}"
        );
    }
}
