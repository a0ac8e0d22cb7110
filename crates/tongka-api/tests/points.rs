//! Paying with points (积分抵现) through the API: the programme's rule (each
//! refusal with its code, nothing changed), a sale that pays part with
//! points, its receipt, each bad `points` refused with its code and nothing
//! changed, a refund that gives the points back, and the ledger's points.

mod common;

use common::App;
use common::schema::{self, conforms};
use serde_json::{Value, json};

async fn member_points(app: &App, id: &str) -> i64 {
    let (s, m) = app.get(&format!("/api/v1/members/{id}")).await;
    assert_eq!(s, 200, "{m}");
    m["points"].as_i64().expect("points")
}

fn sale(member: Option<&str>, price: &str, points: Value) -> Value {
    let mut v = json!({
        "lines": [{"description": "手冲咖啡", "unit_price": price, "qty": 1}],
        "tenders": [{"kind": "card"}],
        "points": points,
    });
    if let Some(m) = member {
        v["member_id"] = json!(m);
    }
    v
}

#[tokio::test]
async fn a_member_pays_part_with_points_and_a_refund_gives_them_back() {
    let app = App::new();
    let doc = schema::doc();
    let (_, mut p) = app.get("/api/v1/programme").await;
    assert_eq!(p["points_deduction"], Value::Null, "off by default");

    // The rule: each bad one refused with its code, the programme unchanged.
    for (rule, code) in [
        (
            json!({"points_per_yuan": 0, "cap": "0.5"}),
            "programme_deduction_rate",
        ),
        (
            json!({"points_per_yuan": 1.5, "cap": "0.5"}),
            "programme_deduction_rate",
        ),
        (
            json!({"points_per_yuan": 100, "cap": "1.5"}),
            "programme_deduction_cap",
        ),
        (
            json!({"points_per_yuan": 100, "cap": "0"}),
            "programme_deduction_cap",
        ),
        (
            json!({"points_per_yuan": 100, "cap": "0.5", "min_points": -1}),
            "programme_deduction_minimum",
        ),
    ] {
        let mut bad = p.clone();
        bad["points_deduction"] = rule.clone();
        let a = app
            .call(
                "PUT",
                "/api/v1/programme",
                bad.to_string().into_bytes(),
                None,
            )
            .await;
        assert_eq!(a.error_code().as_deref(), Some(code), "{rule}");
        assert_eq!(a.status.as_u16(), 422);
        conforms(&doc, "PUT", "/api/v1/programme", &a);
        assert_eq!(app.get("/api/v1/programme").await.1, p, "unchanged");
    }

    let (s, m) = app
        .send(
            "POST",
            "/api/v1/members",
            &json!({"phone": "13900001111", "name": "李四"}),
            Some("m"),
        )
        .await;
    assert_eq!(s, 201, "{m}");
    let id = m["id"].as_str().unwrap().to_string();
    // Earn 500 points (regular level: 500.00 paid).
    let (s, o) = app
        .send(
            "POST",
            "/api/v1/checkouts",
            &sale(Some(&id), "500.00", json!(0)),
            Some("earn"),
        )
        .await;
    assert_eq!(s, 201, "{o}");
    assert_eq!(member_points(&app, &id).await, 500);

    // Deduction off: refused, nothing changed.
    let before = app.snapshot().await;
    let a = app
        .call(
            "POST",
            "/api/v1/checkouts",
            sale(Some(&id), "10.00", json!(100))
                .to_string()
                .into_bytes(),
            Some("off"),
        )
        .await;
    assert_eq!(
        a.error_code().as_deref(),
        Some("points_deduction_not_enabled")
    );
    conforms(&doc, "POST", "/api/v1/checkouts", &a);
    assert_eq!(app.snapshot().await, before);

    // On: 100 points = 1.00, at most half the payable, at least 50 points.
    p["points_deduction"] = json!({"points_per_yuan": 100, "cap": "0.5", "min_points": 50});
    let (s, got) = app.send("PUT", "/api/v1/programme", &p, None).await;
    assert_eq!(s, 200, "{got}");
    assert_eq!(
        got["points_deduction"],
        json!({"points_per_yuan": 100, "cap": "0.50", "min_points": 50}),
        "the cap shown with two places, as level rates are"
    );

    // Bad points: each refused with its code, nothing changed.
    let before = app.snapshot().await;
    for (i, (member, price, points, status, code)) in [
        (Some(id.as_str()), "10.00", json!(-1), 422, "invalid_points"),
        (
            Some(id.as_str()),
            "10.00",
            json!(1.5),
            422,
            "invalid_points",
        ),
        (
            Some(id.as_str()),
            "10.00",
            json!("12.5"),
            422,
            "invalid_points",
        ),
        (
            Some(id.as_str()),
            "10.00",
            json!("abc"),
            422,
            "invalid_points",
        ),
        (None, "10.00", json!(100), 422, "points_need_member"),
        (
            Some(id.as_str()),
            "10.00",
            json!(49),
            422,
            "points_below_minimum",
        ),
        // 10.00 → cap 5.00 = 500 points.
        (
            Some(id.as_str()),
            "10.00",
            json!(501),
            422,
            "points_over_cap",
        ),
        // 2000.00 → cap 1000.00; holds 500.
        (
            Some(id.as_str()),
            "2000.00",
            json!(600),
            409,
            "insufficient_points",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let a = app
            .call(
                "POST",
                "/api/v1/checkouts",
                sale(member, price, points.clone()).to_string().into_bytes(),
                Some(&format!("bad-{i}")),
            )
            .await;
        assert_eq!(
            (a.status.as_u16(), a.error_code().as_deref()),
            (status, Some(code)),
            "{points}: {}",
            String::from_utf8_lossy(&a.body)
        );
        let body = a.json().unwrap();
        assert!(body["error"]["message_zh"].is_string() && body["error"]["message"].is_string());
        conforms(&doc, "POST", "/api/v1/checkouts", &a);
        if code == "insufficient_points" {
            assert_eq!(body["error"]["available_here"], json!("500"), "{body}");
        }
        if code == "points_over_cap" {
            assert_eq!(body["error"]["max_points"], json!("500"), "{body}");
        }
    }
    assert_eq!(app.snapshot().await, before);
    assert_eq!(member_points(&app, &id).await, 500);

    // 2 × 10.00 = 20.00; 400 points = 4.00; pays 16.00 by card, earns 16.
    let mut two = sale(Some(&id), "10.00", json!(400));
    two["lines"][0]["qty"] = json!(2);
    let a = app
        .call(
            "POST",
            "/api/v1/checkouts",
            two.to_string().into_bytes(),
            Some("pay"),
        )
        .await;
    conforms(&doc, "POST", "/api/v1/checkouts", &a);
    let o = a.json().unwrap();
    assert_eq!(a.status.as_u16(), 201, "{o}");
    assert_eq!(o["total"], json!("20.00"));
    assert_eq!(o["points_used"], json!(400));
    assert_eq!(o["points_value"], json!("4.00"));
    assert_eq!(o["payable"], json!("16.00"));
    assert_eq!(o["paid"], json!("16.00"));
    assert_eq!(o["points_earned"], json!(16));
    assert_eq!(member_points(&app, &id).await, 500 - 400 + 16);
    let oid = o["id"].as_str().unwrap().to_string();
    let r = app
        .call(
            "GET",
            &format!("/api/v1/orders/{oid}/receipt"),
            Vec::new(),
            None,
        )
        .await;
    let text = String::from_utf8(r.body).unwrap();
    assert!(text.contains("积分抵现 Points"), "{text}");
    assert!(text.contains("-4.00"), "{text}");
    assert!(text.contains("使用 used 400"), "{text}");

    // Half back: 200 points and 8.00 back, 8 earned points taken back.
    let a = app
        .call(
            "POST",
            &format!("/api/v1/orders/{oid}/refunds"),
            json!({"lines": [{"line": 0, "qty": 1}]})
                .to_string()
                .into_bytes(),
            Some("ref-1"),
        )
        .await;
    conforms(&doc, "POST", "/api/v1/orders/{id}/refunds", &a);
    let r = a.json().unwrap();
    assert_eq!(a.status.as_u16(), 201, "{r}");
    assert_eq!(r["points_returned"], json!(200));
    assert_eq!(r["amount"], json!("8.00"));
    assert_eq!(r["points_reversed"], json!(8));
    assert_eq!(member_points(&app, &id).await, 116 + 200 - 8);
    // The rest: every point used is back, every point earned taken back.
    let (s, r) = app
        .send(
            "POST",
            &format!("/api/v1/orders/{oid}/refunds"),
            &json!({}),
            Some("ref-2"),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    assert_eq!(r["order"]["points_returned"], json!(400));
    assert_eq!(r["order"]["refunded"], json!("16.00"));
    assert_eq!(member_points(&app, &id).await, 500);

    let (_, l) = app.get("/api/v1/ledger/summary").await;
    assert_eq!(l["points_redeemed"], json!(400));
    assert_eq!(l["points_returned"], json!(400));
    assert_eq!(l["points_outstanding"], json!(500));
}
