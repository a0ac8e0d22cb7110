//! `POST /api/v1/checkouts/quote`, the dry run of a checkout: a good quote
//! shows exactly the figures the sale then makes (by the same calculator),
//! and a bad one is refused with the checkout's own code and status; no
//! quote, good or bad, changes anything.

mod common;

use common::App;
use common::schema::{self, conforms};
use serde_json::{Value, json};

const QUOTE: &str = "/api/v1/checkouts/quote";

/// Every figure a quote shows must be the sale's, field by field.
fn assert_same_figures(quote: &Value, order: &Value) {
    let q = quote.as_object().expect("a quote is an object");
    assert!(q.len() >= 15, "{quote}");
    for (k, v) in q {
        if k == "lines" {
            let lines = v.as_array().expect("lines");
            assert_eq!(lines.len(), order["lines"].as_array().expect("lines").len());
            for (i, l) in lines.iter().enumerate() {
                for (lk, lv) in l.as_object().expect("line") {
                    assert_eq!(
                        lv, &order["lines"][i][lk],
                        "lines[{i}].{lk}: {quote} vs {order}"
                    );
                }
            }
        } else {
            assert_eq!(v, &order[k], "{k}: {quote} vs {order}");
        }
    }
}

#[tokio::test]
async fn a_quote_shows_the_figures_of_the_sale_and_changes_nothing() {
    let app = App::new();
    let doc = schema::doc();
    let seed = app.seed().await;
    let m = seed.member.as_str();
    // Paying with points on: 100 points = 1.00, at most half the payable.
    let (_, mut p) = app.get("/api/v1/programme").await;
    p["points_deduction"] = json!({"points_per_yuan": 100, "cap": "0.5"});
    let (s, got) = app.send("PUT", "/api/v1/programme", &p, None).await;
    assert_eq!(s, 200, "{got}");
    let (_, member) = app.get(&format!("/api/v1/members/{m}")).await;
    let points = member["points"].as_i64().expect("points");
    assert!(points >= 33, "the seed sale earned points: {member}");

    let bodies = [
        // A member at a discounted level: balance pays the rest after card,
        // split into principal and bonus by the core.
        json!({"member_id": m, "lines": [{"sku": "latte", "qty": "3"}, {"description": "蛋糕", "unit_price": "18.55", "qty": "1.5"}],
               "tenders": [{"kind": "card", "amount": "1"}, {"kind": "balance"}]}),
        // Walk-in, cash with change.
        json!({"lines": [{"barcode": "6901234567908"}, {"description": "小费", "unit_price": 0.5, "qty": 3}],
               "tenders": [{"kind": "cash", "amount": "50"}]}),
        // Points deducted, then balance.
        json!({"member_id": m, "lines": [{"description": "手冲咖啡", "unit_price": "19.99", "qty": 2}],
               "tenders": [{"kind": "balance"}], "points": 33}),
    ];
    for (i, body) in bodies.iter().enumerate() {
        let before = app.snapshot().await;
        let a = app
            .call("POST", QUOTE, body.to_string().into_bytes(), None)
            .await;
        let quote = a.json().expect("JSON");
        assert_eq!(a.status.as_u16(), 200, "{body} → {quote}");
        conforms(&doc, "POST", QUOTE, &a);
        // The same quote again is the same: nothing moved.
        let again = app
            .call("POST", QUOTE, body.to_string().into_bytes(), None)
            .await;
        assert_eq!(again.json().expect("JSON"), quote);
        assert_eq!(app.snapshot().await, before, "a quote changes nothing");

        let (s, order) = app
            .send(
                "POST",
                "/api/v1/checkouts",
                body,
                Some(&format!("sale-{i}")),
            )
            .await;
        assert_eq!(s, 201, "{order}");
        assert_same_figures(&quote, &order);
        // What each case is there to show.
        match i {
            0 => {
                assert_ne!(quote["discount"], json!("0.00"), "{quote}");
                assert_ne!(quote["balance_bonus"], json!("0.00"), "{quote}");
                assert_ne!(quote["balance_principal"], json!("0.00"), "{quote}");
            }
            1 => assert_ne!(quote["change"], json!("0.00"), "{quote}"),
            _ => assert_eq!(
                (&quote["points_used"], &quote["points_value"]),
                (&json!(33), &json!("0.33")),
                "{quote}"
            ),
        }
        assert_ne!(app.snapshot().await, before, "the sale did change things");
    }
}

#[tokio::test]
async fn a_bad_quote_is_refused_with_the_checkouts_code_and_changes_nothing() {
    let app = App::new();
    let doc = schema::doc();
    let seed = app.seed().await;
    let m = seed.member.as_str();
    let before = app.snapshot().await;
    let cases = [
        (
            json!({"member_id": m, "lines": [{"description": "金条", "unit_price": "9999999"}], "tenders": [{"kind": "balance"}]}),
            409,
            "insufficient_balance",
        ),
        (
            json!({"lines": [{"sku": "nope"}], "tenders": [{"kind": "cash"}]}),
            404,
            "unknown_product",
        ),
        (
            json!({"member_id": "m-store-1-999", "lines": [{"sku": "latte"}], "tenders": [{"kind": "cash"}]}),
            404,
            "member_not_found",
        ),
        (
            json!({"member_id": "nonsense", "lines": [{"sku": "latte"}], "tenders": [{"kind": "cash"}]}),
            404,
            "member_not_found",
        ),
        (json!({"lines": []}), 422, "invalid_lines"),
        (
            json!({"lines": [{"sku": "latte", "description": "x"}]}),
            422,
            "invalid_line",
        ),
        (
            json!({"lines": [{"sku": "latte", "qty": "0"}], "tenders": [{"kind": "cash"}]}),
            422,
            "invalid_qty",
        ),
        (
            json!({"lines": [{"description": "x", "unit_price": "1.001"}], "tenders": [{"kind": "cash"}]}),
            422,
            "invalid_amount",
        ),
        (
            json!({"lines": [{"sku": "latte"}], "tenders": [{"kind": "card", "amount": "1"}]}),
            422,
            "tender_mismatch",
        ),
        (
            json!({"lines": [{"sku": "latte"}], "tenders": [{"kind": "balance"}]}),
            422,
            "balance_needs_member",
        ),
        (
            json!({"lines": [{"sku": "latte"}], "tenders": [{"kind": "cash"}, {"kind": "card"}]}),
            422,
            "invalid_tenders",
        ),
        (
            json!({"lines": [{"sku": "latte"}], "tenders": [{"kind": "gold"}]}),
            422,
            "invalid_tender",
        ),
        (
            json!({"lines": [{"sku": "latte"}], "coupon_codes": ["A"]}),
            422,
            "invalid_coupon_code",
        ),
        (
            json!({"member_id": m, "lines": [{"sku": "latte"}], "tenders": [{"kind": "cash"}], "points": 100}),
            422,
            "points_deduction_not_enabled",
        ),
        (
            json!({"lines": [{"sku": "latte"}], "tenders": [{"kind": "cash"}], "points": -1}),
            422,
            "invalid_points",
        ),
        (
            json!({"lines": [{"sku": "latte"}], "tenders": [{"kind": "cash"}], "extra": 1}),
            400,
            "invalid_json",
        ),
    ];
    for (i, (body, status, code)) in cases.into_iter().enumerate() {
        let a = app
            .call("POST", QUOTE, body.to_string().into_bytes(), None)
            .await;
        let got = a.json().expect("JSON");
        assert_eq!(
            (a.status.as_u16(), a.error_code().as_deref()),
            (status, Some(code)),
            "{body} → {got}"
        );
        assert!(got["error"]["message_zh"].is_string(), "{got}");
        conforms(&doc, "POST", QUOTE, &a);
        if code == "insufficient_balance" {
            let (_, w) = app.get(&format!("/api/v1/members/{m}/wallet")).await;
            assert_eq!(got["error"]["available_here"], w["available_here"], "{got}");
        }
        // The sale refuses the same body the same way.
        let sale = app
            .call(
                "POST",
                "/api/v1/checkouts",
                body.to_string().into_bytes(),
                Some(&format!("same-{i}")),
            )
            .await;
        assert_eq!(
            (sale.status, sale.error_code()),
            (a.status, a.error_code()),
            "{body}"
        );
    }
    assert_eq!(app.snapshot().await, before, "nothing changed");
}

#[tokio::test]
async fn hq_quotes_no_sale() {
    let app = App::as_node("hq", true);
    let a = app
        .call(
            "POST",
            QUOTE,
            json!({"lines": [{"description": "x", "unit_price": "1"}], "tenders": [{"kind": "cash"}]})
                .to_string()
                .into_bytes(),
            None,
        )
        .await;
    assert_eq!(
        (a.status.as_u16(), a.error_code().as_deref()),
        (403, Some("hq_sells_nothing"))
    );
    conforms(&schema::doc(), "POST", QUOTE, &a);
}

/// The README's walk-through: after a recharge of 1000.00 (银卡, 95%), the
/// quote of a 100.00 line paid from the balance has the figures it shows.
#[tokio::test]
async fn the_readme_quote_is_true() {
    let app = App::new();
    let (s, m) = app
        .send(
            "POST",
            "/api/v1/members",
            &json!({"phone": "13812341234", "name": "张三"}),
            None,
        )
        .await;
    assert_eq!(s, 201, "{m}");
    let id = m["id"].as_str().expect("id");
    let (s, r) = app
        .send(
            "POST",
            &format!("/api/v1/members/{id}/recharges"),
            &json!({"amount": "1000.00", "tender": "cash"}),
            Some("recharge-0001"),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    let (s, q) = app
        .send(
            "POST",
            QUOTE,
            &json!({"member_id": id, "lines": [{"description": "咖啡", "unit_price": "100.00", "qty": "1"}],
                    "tenders": [{"kind": "balance"}]}),
            None,
        )
        .await;
    assert_eq!(s, 200, "{q}");
    for (k, v) in [
        ("total", json!("100.00")),
        ("discount", json!("5.00")),
        ("payable", json!("95.00")),
        ("balance_principal", json!("86.36")),
        ("balance_bonus", json!("8.64")),
        ("points_earned", json!(95)),
    ] {
        assert_eq!(q[k], v, "{k}: {q}");
    }
}
