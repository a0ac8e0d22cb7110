//! The reports `reports::more` adds — dormant members, top members and
//! products, coupons and cards — on a real engine, against figures
//! computed by hand, and their bad queries.
//!
//! At store-1: tea 10.00, cake 25.00, latte 32.00, a 10-haircut card
//! 300.00, a coupon template of 10.00 off 30.00. Member a buys 4 tea and a
//! cake, then the card, and has two haircuts; b buys a tea, a latte with
//! a coupon (refunded whole: the coupon's use comes back), and another
//! tea; a walk-in buys 2 cakes; a is refunded 1 tea.

mod common;

use common::App;
use common::reports::{days, refused, today};
use serde_json::{Value, json};

async fn post(app: &App, path: &str, body: Value, key: &str) -> Value {
    let (s, v) = app.send("POST", path, &body, Some(key)).await;
    assert_eq!(s, 201, "{path}: {v}");
    v
}

async fn get(app: &App, path: &str) -> Value {
    let (s, v) = app.get(path).await;
    assert_eq!(s, 200, "{path}: {v}");
    v
}

async fn member(app: &App, phone: &str) -> String {
    post(
        app,
        "/api/v1/members",
        json!({"phone": phone, "name": "会员"}),
        phone,
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn sale(app: &App, m: Option<&str>, lines: Value, coupons: Value, key: &str) -> Value {
    let mut b = json!({"lines": lines, "tenders": [{"kind": "cash"}], "coupon_codes": coupons});
    if let Some(m) = m {
        b["member_id"] = json!(m);
    }
    post(app, "/api/v1/checkouts", b, key).await
}

/// The chain of the test (one store): a's and b's member ids.
async fn shop(app: &App) -> (String, String) {
    let (_, mut p) = app.get("/api/v1/programme").await;
    p["coupon_templates"] = json!([
        {"id": "cash-10", "name": "10元代金券", "kind": "cash",
         "benefit": {"type": "amount_off", "off": "10.00"},
         "validity": {"type": "days_from_issue", "days": 30},
         "uses": 1, "min_spend": "30.00"}
    ]);
    let (s, got) = app.send("PUT", "/api/v1/programme", &p, None).await;
    assert_eq!(s, 200, "{got}");
    for (sku, body) in [
        ("tea", json!({"name": "茶", "price": "10.00"})),
        ("cake", json!({"name": "蛋糕", "price": "25.00"})),
        ("latte", json!({"name": "拿铁", "price": "32.00"})),
        (
            "cut10",
            json!({"name": "理发10次卡", "price": "300.00",
                   "card": {"kind": "count", "visits": 10, "services": ["haircut"]}}),
        ),
    ] {
        let (s, got) = app
            .send("PUT", &format!("/api/v1/products/{sku}"), &body, None)
            .await;
        assert_eq!(s, 200, "{got}");
    }
    let a = member(app, "13900000001").await;
    let b = member(app, "13900000002").await;

    let o1 = sale(
        app,
        Some(&a),
        json!([{"sku": "tea", "qty": "4"}, {"sku": "cake"}]),
        json!([]),
        "s1",
    )
    .await;
    assert_eq!(o1["payable"], "65.00", "{o1}");
    let o2 = sale(app, Some(&b), json!([{"sku": "tea"}]), json!([]), "s2").await;
    assert_eq!(o2["payable"], "10.00", "{o2}");
    let r1 = post(
        app,
        &format!("/api/v1/orders/{}/refunds", o1["id"].as_str().unwrap()),
        json!({"lines": [{"line": 0, "qty": "1"}], "reason": "退一杯"}),
        "r1",
    )
    .await;
    assert_eq!(r1["amount"], "10.00", "{r1}");
    let o3 = sale(
        app,
        None,
        json!([{"sku": "cake", "qty": "2"}]),
        json!([]),
        "s3",
    )
    .await;
    assert_eq!(o3["payable"], "50.00", "{o3}");
    let coupon = post(
        app,
        &format!("/api/v1/members/{b}/coupons"),
        json!({"template": "cash-10"}),
        "c1",
    )
    .await;
    let o4 = sale(
        app,
        Some(&b),
        json!([{"sku": "latte"}]),
        json!([coupon["code"]]),
        "s4",
    )
    .await;
    assert_eq!(
        (&o4["payable"], &o4["coupon_off"]),
        (&json!("22.00"), &json!("10.00")),
        "{o4}"
    );
    let r2 = post(
        app,
        &format!("/api/v1/orders/{}/refunds", o4["id"].as_str().unwrap()),
        json!({"reason": "不要了"}),
        "r2",
    )
    .await;
    assert_eq!(r2["amount"], "22.00", "{r2}");
    let o5 = sale(app, Some(&a), json!([{"sku": "cut10"}]), json!([]), "s5").await;
    assert_eq!(o5["payable"], "300.00", "{o5}");
    let card = o5["lines"][0]["card"]["cards"][0].as_str().unwrap();
    for i in 0..2 {
        post(
            app,
            &format!("/api/v1/members/{a}/cards/{card}/visits"),
            json!({"service": "haircut"}),
            &format!("v{i}"),
        )
        .await;
    }
    let o6 = sale(app, Some(&b), json!([{"sku": "tea"}]), json!([]), "s6").await;
    assert_eq!(o6["payable"], "10.00", "{o6}");
    (a, b)
}

/// `rows`' (rank, key, fields) in order.
fn ranked(list: &Value, key: &str, fields: &[&str]) -> Vec<Value> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let mut v = vec![r["rank"].clone(), r[key].clone()];
            v.extend(fields.iter().map(|f| r[*f].clone()));
            Value::Array(v)
        })
        .collect()
}

#[tokio::test]
async fn the_new_reports_match_figures_computed_by_hand() {
    let app = App::new();
    let (a, b) = shop(&app).await;
    let days = days();

    // Top members by what they spent: a 65.00 + 300.00 − 10.00; b 10.00 +
    // 22.00 + 10.00 − 22.00.
    let r = get(&app, &format!("/api/v1/reports/rankings?{days}&by=members")).await;
    assert_eq!(r["by"], "members");
    assert_eq!(r["stores"], json!([]));
    assert!(r.get("products").is_none(), "{r}");
    assert_eq!(
        ranked(
            &r["members"],
            "member",
            &["sales", "sold", "refunds", "refunded", "spent"]
        ),
        vec![
            json!([1, a, 2, "365.00", 1, "10.00", "355.00"]),
            json!([2, b, 3, "42.00", 1, "22.00", "20.00"]),
        ],
        "{r}"
    );
    assert!(
        r["freshness"]["version_vector"]["store-1"]
            .as_u64()
            .unwrap()
            > 0
    );
    // By sales made: b first; the first one only.
    let r = get(
        &app,
        &format!("/api/v1/reports/rankings?{days}&by=members&sort=count&limit=1&store=store-1"),
    )
    .await;
    assert_eq!(
        ranked(&r["members"], "member", &["sales"]),
        vec![json!([1, b, 3])]
    );
    // A range before any op: nobody.
    let r = get(
        &app,
        "/api/v1/reports/rankings?from=2020-01-01&to=2020-01-31&by=members",
    )
    .await;
    assert_eq!(r["members"], json!([]));

    // Top products by net amount: the card 300.00; cake 25.00 + 50.00; tea
    // 40.00 + 10.00 + 10.00 − 10.00; latte 22.00 − 22.00.
    let r = get(
        &app,
        &format!("/api/v1/reports/rankings?{days}&by=products"),
    )
    .await;
    assert!(r.get("members").is_none(), "{r}");
    assert_eq!(
        ranked(
            &r["products"],
            "sku",
            &["qty", "sold", "returned_qty", "returned", "net_qty", "net"]
        ),
        vec![
            json!([1, "cut10", "1", "300.00", "0", "0.00", "1", "300.00"]),
            json!([2, "cake", "3", "75.00", "0", "0.00", "3", "75.00"]),
            json!([3, "tea", "6", "60.00", "1", "10.00", "5", "50.00"]),
            json!([4, "latte", "1", "22.00", "1", "22.00", "0", "0.00"]),
        ],
        "{r}"
    );
    // By net quantity, the first two.
    let r = get(
        &app,
        &format!("/api/v1/reports/rankings?{days}&by=products&sort=qty&limit=2"),
    )
    .await;
    assert_eq!(
        ranked(&r["products"], "sku", &["net_qty"]),
        vec![json!([1, "tea", "5"]), json!([2, "cake", "3"])]
    );
    // Stores still rank as before (and `limit` bounds them when given).
    let r = get(&app, &format!("/api/v1/reports/rankings?{days}&limit=1")).await;
    assert_eq!(r["by"], "stores");
    assert_eq!(r["stores"][0]["store"], "store-1");
    assert_eq!(r["stores"][0]["sales_amount"], "457.00", "{r}");

    // Coupons: one issued with one use, used by the latte, given back by
    // its refund; 10.00 off.
    let c = get(&app, &format!("/api/v1/reports/coupons?{days}")).await;
    assert_eq!(
        c["totals"],
        json!({"issued": 1, "uses_issued": 1, "used": 1, "returned": 1,
               "off": "10.00", "net_uses": 1}),
        "{c}"
    );
    assert!(
        c["rows"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["store"] == "store-1")
    );
    assert!(c["freshness"]["newest"][0]["at"].is_string());
    // Cards: one sold, two visits, none refunded.
    let k = get(&app, &format!("/api/v1/reports/cards?{days}&store=store-1")).await;
    assert_eq!(
        k["totals"],
        json!({"sold": 1, "visits": 2, "refunded": 0, "kept": "0.00"}),
        "{k}"
    );
    let k = get(&app, "/api/v1/reports/cards?from=2020-01-01&to=2020-01-02").await;
    assert_eq!(k["rows"], json!([]));
    assert_eq!(k["totals"]["sold"], 0);

    // Dormant: as of 3 days on, after 1 day, both members (last seen
    // today, or tomorrow if the test crossed midnight).
    let as_of = today().plus(3);
    let m = get(
        &app,
        &format!("/api/v1/reports/members?to={as_of}&dormant_days=1"),
    )
    .await;
    assert_eq!(
        m["dormant"],
        json!({"as_of": as_of.to_string(), "days": 1,
               "last_seen_by": as_of.plus(-1).to_string(), "chain": 2,
               "stores": [{"store": "store-1", "dormant": 2}]}),
        "{m}"
    );
    // As of yesterday after 1 day: nobody was registered yet.
    let m = get(
        &app,
        &format!(
            "/api/v1/reports/members?to={}&dormant_days=1&store=store-1",
            today().plus(-1)
        ),
    )
    .await;
    assert_eq!(m["dormant"]["chain"], Value::Null, "{m}");
    assert_eq!(
        m["dormant"]["stores"],
        json!([{"store": "store-1", "dormant": 0}])
    );
    // As files: the members ranked and the coupons, CSV (BOM, CRLF).
    for (path, want) in [
        (
            format!("/api/v1/reports/rankings?{days}&by=members&format=csv&lang=en"),
            format!("Rank,Member,Sales,Sold,Refunds,Refunded,Spent\r\n1,{a},2,365.00,1,10.00,355.00\r\n2,{b},3,42.00,1,22.00,20.00\r\n"),
        ),
        (
            format!("/api/v1/reports/rankings?{days}&by=products&sort=qty&limit=1&format=csv&lang=en"),
            "Rank,SKU,Qty,Sold,Returned qty,Returned,Net qty,Net\r\n1,tea,6,60.00,1,10.00,5,50.00\r\n".to_string(),
        ),
    ] {
        let f = app.call("GET", &path, Vec::new(), None).await;
        assert_eq!(f.status.as_u16(), 200, "{path}");
        assert_eq!(f.content_type(), "text/csv; charset=utf-8", "{path}");
        let body = String::from_utf8(f.body.to_vec()).unwrap();
        assert_eq!(body.trim_start_matches('\u{feff}'), want, "{path}");
    }
    let f = app
        .call(
            "GET",
            &format!("/api/v1/reports/coupons?{days}&format=csv"),
            Vec::new(),
            None,
        )
        .await;
    let body = String::from_utf8(f.body.to_vec()).unwrap();
    assert!(
        body.contains("核销次数") && body.contains("合计,1,1,1,1,10.00,1"),
        "{body}"
    );
    let f = app
        .call(
            "GET",
            &format!("/api/v1/reports/cards?{days}&format=xlsx"),
            Vec::new(),
            None,
        )
        .await;
    assert_eq!(f.status.as_u16(), 200);
    assert!(f.body.starts_with(b"PK"), "an xlsx is a zip");

    // The default: 90 days, as of today: nobody.
    let m = get(&app, "/api/v1/reports/members").await;
    assert_eq!(m["dormant"]["days"], 90);
    assert_eq!(m["dormant"]["chain"], 0);
    assert_eq!(m["dormant"]["last_seen_by"], today().plus(-90).to_string());
}

#[tokio::test]
async fn bad_queries_of_the_new_reports_are_refused_in_both_languages() {
    let app = App::new();
    for (path, field) in [
        ("/api/v1/reports/members?dormant_days=0", "dormant_days"),
        ("/api/v1/reports/members?dormant_days=3661", "dormant_days"),
        ("/api/v1/reports/members?dormant_days=9x", "dormant_days"),
        ("/api/v1/reports/members?dormant_days=-5", "dormant_days"),
        (
            "/api/v1/reports/members?dormant_days=5&dormant_days=5",
            "dormant_days",
        ),
        ("/api/v1/reports/members?dormant_days=1%07", "dormant_days"),
        ("/api/v1/reports/members?limit=5", "query"),
        ("/api/v1/reports/rankings?by=coupons", "by"),
        ("/api/v1/reports/rankings?by=members&limit=0", "limit"),
        ("/api/v1/reports/rankings?by=members&limit=101", "limit"),
        ("/api/v1/reports/rankings?by=members&sort=qty", "sort"),
        ("/api/v1/reports/rankings?by=products&sort=count", "sort"),
        ("/api/v1/reports/rankings?by=products&sort=bitcoin", "sort"),
        ("/api/v1/reports/rankings?by=stores&store=store-1", "store"),
        ("/api/v1/reports/rankings?sort=amount", "sort"),
        ("/api/v1/reports/rankings?by=members&store=store-9", "store"),
        (
            "/api/v1/reports/rankings?by=members&dormant_days=1",
            "query",
        ),
        (
            "/api/v1/reports/rankings?by=products&from=2026-12-02&to=2026-12-01",
            "from",
        ),
        ("/api/v1/reports/coupons?channel=cash", "channel"),
        ("/api/v1/reports/coupons?store=store-9", "store"),
        ("/api/v1/reports/cards?from=2026-02-30", "from"),
        ("/api/v1/reports/cards?limit=1", "query"),
    ] {
        let v = refused(&app, path, field).await;
        assert!(
            !v.to_string().contains("bitcoin") && !v.to_string().contains("store-9"),
            "not echoed: {v}"
        );
    }
    // The unknown parameter's refusal names the extra ones too.
    let (_, v) = app.get("/api/v1/reports/rankings?foo=1").await;
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("limit") && msg.contains("sort") && msg.contains("by"),
        "{v}"
    );
}

#[tokio::test]
async fn a_store_manager_ranks_their_own_stores_only() {
    let app = App::new();
    shop(&app).await;
    app.create_staff(
        "mgr",
        "store_manager",
        &["store-1"],
        "correct horse battery",
    )
    .await;
    let mgr = app.sign_in("mgr", "correct horse battery").await;
    let (s, r) = app
        .get_as(
            &mgr,
            &format!("/api/v1/reports/rankings?{}&by=products&limit=1", days()),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["products"][0]["sku"], "cut10");
    let (s, m) = app.get_as(&mgr, "/api/v1/reports/members").await;
    assert_eq!(s, 200, "{m}");
    assert_eq!(m["dormant"]["chain"], Value::Null, "{m}");
    assert_eq!(
        m["dormant"]["stores"],
        json!([{"store": "store-1", "dormant": 0}])
    );
    let (s, c) = app.get_as(&mgr, "/api/v1/reports/coupons").await;
    assert_eq!(s, 200, "{c}");
}
