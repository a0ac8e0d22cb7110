//! Coupons held by members over HTTP: issued (one, a batch, on
//! registration), listed, used at checkout and in a quote, given back by a
//! refund; and every refusal, each with its code and nothing changed.

mod common;

use common::App;
use serde_json::{Value, json};
use tongka_core::day::Day;

/// The templates every test here puts in the programme.
fn templates() -> Value {
    json!([
        {"id": "cash-10", "name": "10元代金券", "kind": "cash",
         "benefit": {"type": "amount_off", "off": "10.00"},
         "validity": {"type": "days_from_issue", "days": 30},
         "uses": 1, "min_spend": "30.00"},
        {"id": "once", "name": "限领一张", "kind": "cash",
         "benefit": {"type": "amount_off", "off": "3.00"},
         "validity": {"type": "days_from_issue", "days": 7},
         "uses": 1, "per_member_limit": 1},
        {"id": "old", "name": "过期券", "kind": "cash",
         "benefit": {"type": "amount_off", "off": "5.00"},
         "validity": {"type": "dates", "from": "2020-01-01", "to": "2020-01-31"},
         "uses": 1},
        {"id": "cake-only", "name": "蛋糕券", "kind": "cash",
         "benefit": {"type": "amount_off", "off": "2.00"},
         "validity": {"type": "days_from_issue", "days": 7},
         "scope": {"skus": ["cake"]}, "uses": 1},
        {"id": "store-2-only", "name": "二店券", "kind": "cash",
         "benefit": {"type": "amount_off", "off": "2.00"},
         "validity": {"type": "days_from_issue", "days": 7},
         "scope": {"stores": ["store-2"]}, "uses": 1}
    ])
}

/// A node with the templates, a latte at 32.00, and a member with 500.00.
async fn app() -> (App, String) {
    let app = App::new();
    let (s, mut p) = app.get("/api/v1/programme").await;
    assert_eq!(s, 200);
    p["coupon_templates"] = templates();
    let (s, got) = app.send("PUT", "/api/v1/programme", &p, None).await;
    assert_eq!(s, 200, "{got}");
    let (s, got) = app
        .send(
            "PUT",
            "/api/v1/products/latte",
            &json!({"name": "拿铁", "price": "32.00"}),
            None,
        )
        .await;
    assert_eq!(s, 200, "{got}");
    let m = member(&app, "13800000001").await;
    let (s, got) = app
        .send(
            "POST",
            &format!("/api/v1/members/{m}/recharges"),
            &json!({"amount": "500.00", "tender": "cash"}),
            Some(&format!("rc-{m}")),
        )
        .await;
    assert_eq!(s, 201, "{got}");
    (app, m)
}

async fn member(app: &App, phone: &str) -> String {
    let (s, got) = app
        .send(
            "POST",
            "/api/v1/members",
            &json!({"phone": phone, "name": "会员"}),
            None,
        )
        .await;
    assert_eq!(s, 201, "{got}");
    got["id"].as_str().unwrap().to_string()
}

async fn issue(app: &App, m: &str, template: &str, key: &str) -> (u16, Value) {
    app.send(
        "POST",
        &format!("/api/v1/members/{m}/coupons"),
        &json!({ "template": template }),
        Some(key),
    )
    .await
}

/// Issue, expecting it to succeed: the coupon's code.
async fn issued(app: &App, m: &str, template: &str) -> String {
    let (s, c) = issue(app, m, template, &format!("issue-{m}-{template}")).await;
    assert_eq!(s, 201, "{c}");
    c["code"].as_str().unwrap().to_string()
}

async fn coupons(app: &App, m: &str) -> Vec<Value> {
    let (s, l) = app.get(&format!("/api/v1/members/{m}/coupons")).await;
    assert_eq!(s, 200, "{l}");
    assert_eq!(l["member_id"], m);
    l["coupons"].as_array().unwrap().clone()
}

async fn coupon(app: &App, m: &str, code: &str) -> Value {
    coupons(app, m)
        .await
        .into_iter()
        .find(|c| c["code"] == code)
        .unwrap_or_else(|| panic!("{m} holds no {code}"))
}

fn sale(m: Option<&str>, codes: Value) -> Value {
    let mut b = json!({"lines": [{"sku": "latte", "qty": "2"}], "tenders": [{"kind": "cash"}], "coupon_codes": codes});
    if let Some(m) = m {
        b["member_id"] = json!(m);
    }
    b
}

async fn checkout(app: &App, body: &Value, key: &str) -> (u16, Value) {
    app.send("POST", "/api/v1/checkouts", body, Some(key)).await
}

fn today() -> Day {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    Day::of_ms(ms)
}

#[tokio::test]
async fn a_coupon_is_issued_used_once_and_given_back_by_a_refund() {
    let (app, m) = app().await;
    let path = format!("/api/v1/members/{m}/coupons");
    let a = app
        .call(
            "POST",
            &path,
            json!({"template": "cash-10"}).to_string().into_bytes(),
            Some("i-1"),
        )
        .await;
    assert_eq!(a.status, 201);
    let c = a.json().unwrap();
    let code = c["code"].as_str().unwrap().to_string();
    assert!(code.starts_with("c-store-1-"), "{c}");
    let day = today();
    assert_eq!(
        c,
        json!({
            "code": code, "template": "cash-10", "name": "10元代金券", "kind": "cash",
            "benefit": {"type": "amount_off", "off": "10.00"}, "min_spend": "30.00",
            "valid_from": day.to_string(), "valid_to": day.plus(29).to_string(),
            "uses": 1, "used": 0, "left": 1, "status": "usable",
            "held_here": 1, "held_at": [{"store": "store-1", "uses": 1}],
        })
    );
    // The replay is the first answer, marked.
    let again = app
        .call(
            "POST",
            &path,
            json!({"template": "cash-10"}).to_string().into_bytes(),
            Some("i-1"),
        )
        .await;
    assert_eq!((again.status.as_u16(), &again.body), (201, &a.body));
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(coupons(&app, &m).await, vec![c.clone()]);

    // Used at checkout: 64.00 − 10.00, all off line 0.
    let (s, o) = checkout(&app, &sale(Some(&m), json!([code])), "co-1").await;
    assert_eq!(s, 201, "{o}");
    assert_eq!(o["coupon_off"], "10.00");
    assert_eq!(o["payable"], "54.00");
    assert_eq!(o["lines"][0]["coupon_off"], "10.00");
    assert_eq!(
        o["coupons"],
        json!([{"code": code, "template": "cash-10", "off": "10.00",
                "valid_to": day.plus(29).to_string(), "lines": [{"line": 0, "off": "10.00"}]}])
    );
    let order = o["id"].as_str().unwrap().to_string();
    let (s, got) = app.get(&format!("/api/v1/orders/{order}")).await;
    assert_eq!((s, &got["coupons"]), (200, &o["coupons"]));
    let used = coupon(&app, &m, &code).await;
    assert_eq!(
        (
            &used["status"],
            &used["used"],
            &used["left"],
            &used["held_here"]
        ),
        (&json!("used"), &json!(1), &json!(0), &json!(0))
    );
    assert_eq!(used["held_at"], json!([]));
    let receipt = app
        .call(
            "GET",
            &format!("/api/v1/orders/{order}/receipt"),
            vec![],
            None,
        )
        .await;
    let text = String::from_utf8(receipt.body).unwrap();
    let (discount, coupon_line, payable) = (
        text.find("优惠 Discount").unwrap(),
        text.find(&format!("券 {code} -10.00")).unwrap(),
        text.find("应付 Payable").unwrap(),
    );
    assert!(discount < coupon_line && coupon_line < payable, "{text}");

    // Used again: refused, nothing changed.
    let before = app.snapshot().await;
    let (s, e) = checkout(&app, &sale(Some(&m), json!([code])), "co-2").await;
    assert_eq!(
        (s, &e["error"]["code"]),
        (409, &json!("coupon_used")),
        "{e}"
    );
    assert_eq!(e["error"]["coupon"], code);
    assert_eq!(app.snapshot().await, before);

    // Refunded whole: the use comes back, the coupon is usable again.
    let (s, r) = app
        .send(
            "POST",
            &format!("/api/v1/orders/{order}/refunds"),
            &json!({"lines": [{"line": 0, "qty": "2"}], "reason": "退货"}),
            Some("rf-1"),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    assert_eq!(r["coupons_returned"], json!([code]));
    assert_eq!(r["amount"], "54.00");
    let back = coupon(&app, &m, &code).await;
    assert_eq!(
        (&back["status"], &back["used"], &back["left"]),
        (&json!("usable"), &json!(0), &json!(1))
    );
    let (_, ledger) = app.get("/api/v1/ledger/summary").await;
    assert_eq!(
        ledger["coupons"],
        json!({"issued": 1, "uses_issued": 1, "uses": 1, "uses_returned": 1,
               "uses_outstanding": 1, "off": "10.00"})
    );
    let (_, h) = app.get(&format!("/api/v1/members/{m}/history")).await;
    let issued_entry = h["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "coupon_issued")
        .expect("the issue is in the history");
    assert_eq!(issued_entry["ref"], code);

    let (s, o) = checkout(&app, &sale(Some(&m), json!([code])), "co-3").await;
    assert_eq!((s, &o["coupon_off"]), (201, &json!("10.00")), "{o}");
}

#[tokio::test]
async fn a_quote_prices_the_coupons_and_changes_nothing() {
    let (app, m) = app().await;
    let code = issued(&app, &m, "cash-10").await;
    let before = app.snapshot().await;
    let (s, q) = app
        .send(
            "POST",
            "/api/v1/checkouts/quote",
            &sale(Some(&m), json!([code])),
            None,
        )
        .await;
    assert_eq!(s, 200, "{q}");
    assert_eq!(
        (
            &q["coupon_off"],
            &q["payable"],
            &q["lines"][0]["coupon_off"]
        ),
        (&json!("10.00"), &json!("54.00"), &json!("10.00"))
    );
    assert_eq!(q["coupons"][0]["code"], code);
    assert_eq!(app.snapshot().await, before);
    assert_eq!(coupon(&app, &m, &code).await["status"], "usable");
}

#[tokio::test]
async fn a_batch_issues_to_each_member_and_lists_who_was_refused() {
    let (app, a) = app().await;
    let b = member(&app, "13800000002").await;
    let body = json!({"template": "cash-10", "member_ids": [a, "m-store-1-999", b]});
    let (s, got) = app
        .send("POST", "/api/v1/coupon-batches", &body, Some("batch-1"))
        .await;
    assert_eq!(s, 200, "{got}");
    assert_eq!(got["template"], "cash-10");
    let issued = got["issued"].as_array().unwrap();
    let to: Vec<&Value> = issued.iter().map(|i| &i["member_id"]).collect();
    assert_eq!(to, [&json!(a), &json!(b)]);
    for i in issued {
        assert_eq!(i["coupon"]["status"], "usable");
    }
    let refused = got["refused"].as_array().unwrap();
    assert_eq!(refused.len(), 1, "{got}");
    assert_eq!(refused[0]["member_id"], "m-store-1-999");
    assert_eq!(refused[0]["code"], "member_not_found");
    assert!(
        refused[0]["message"]
            .as_str()
            .unwrap()
            .contains("m-store-1-999")
    );
    assert!(!refused[0]["message_zh"].as_str().unwrap().is_empty());
    for (m, i) in [(&a, &issued[0]), (&b, &issued[1])] {
        assert_eq!(coupons(&app, m).await, vec![i["coupon"].clone()]);
    }

    // Sent again with the same key: the same coupons, nothing new.
    let before = app.snapshot().await;
    let (s, again) = app
        .send("POST", "/api/v1/coupon-batches", &body, Some("batch-1"))
        .await;
    assert_eq!(s, 200, "{again}");
    assert_eq!(again["issued"], got["issued"]);
    assert_eq!(app.snapshot().await, before);
    assert_eq!(coupons(&app, &a).await.len(), 1);

    // Each member's coupon is issued under `<key>/<member id>`, itself a
    // key of at most 128 (a peer refuses an op with a longer one): a
    // batch's key is at most 72, so the longest member id still fits.
    let one = json!({"template": "cash-10", "member_ids": [a]});
    let (s, e) = app
        .send(
            "POST",
            "/api/v1/coupon-batches",
            &one,
            Some(&"k".repeat(73)),
        )
        .await;
    assert_eq!(
        (s, &e["error"]["code"]),
        (400, &json!("invalid_idempotency_key")),
        "{e}"
    );
    assert_eq!(app.snapshot().await, before);
    let (s, got) = app
        .send(
            "POST",
            "/api/v1/coupon-batches",
            &one,
            Some(&"k".repeat(72)),
        )
        .await;
    assert_eq!(
        (s, got["issued"].as_array().map(Vec::len)),
        (200, Some(1)),
        "{got}"
    );
}

#[tokio::test]
async fn a_template_limit_per_member_is_kept() {
    let (app, m) = app().await;
    issued(&app, &m, "once").await;
    let before = app.snapshot().await;
    let (s, e) = issue(&app, &m, "once", "again").await;
    assert_eq!(
        (s, &e["error"]["code"]),
        (409, &json!("coupon_limit_reached")),
        "{e}"
    );
    assert_eq!(
        (&e["error"]["template"], &e["error"]["limit"]),
        (&json!("once"), &json!("1"))
    );
    assert_eq!(app.snapshot().await, before);
    // A batch lists the member as refused, with the same code.
    let (s, got) = app
        .send(
            "POST",
            "/api/v1/coupon-batches",
            &json!({"template": "once", "member_ids": [m]}),
            Some("b-once"),
        )
        .await;
    assert_eq!((s, &got["issued"]), (200, &json!([])), "{got}");
    assert_eq!(got["refused"][0]["code"], "coupon_limit_reached");
    assert_eq!(app.snapshot().await, before);
}

#[tokio::test]
async fn a_new_member_holds_the_new_member_coupon() {
    let (app, before) = app().await;
    let (_, mut p) = app.get("/api/v1/programme").await;
    p["coupon_templates"].as_array_mut().unwrap().push(
        json!({"id": "welcome", "name": "新人券", "kind": "new_member",
                     "benefit": {"type": "amount_off", "off": "5.00"},
                     "validity": {"type": "days_from_issue", "days": 14},
                     "uses": 1, "per_member_limit": 1}),
    );
    let (s, got) = app.send("PUT", "/api/v1/programme", &p, None).await;
    assert_eq!(s, 200, "{got}");
    let body = json!({"phone": "13800000009", "name": "新会员"});
    let (s, got) = app
        .send("POST", "/api/v1/members", &body, Some("reg-new"))
        .await;
    assert_eq!(s, 201, "{got}");
    let m = got["id"].as_str().unwrap().to_string();
    // Registered again with the same key: the same member, one coupon.
    let (s, again) = app
        .send("POST", "/api/v1/members", &body, Some("reg-new"))
        .await;
    assert_eq!((s, &again["id"]), (201, &json!(m)), "{again}");
    // A member registered before the template holds none of it.
    assert_eq!(coupons(&app, &before).await, Vec::<Value>::new());
    let held = coupons(&app, &m).await;
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!(
        (&held[0]["template"], &held[0]["kind"], &held[0]["status"]),
        (&json!("welcome"), &json!("new_member"), &json!("usable"))
    );
}

/// A sale's body, the status and code it is refused with, and a detail
/// the refusal carries.
type Refusal<'a> = (Value, u16, &'a str, Option<(&'a str, &'a str)>);

/// Every bad request: its status and code, and nothing changed.
#[tokio::test]
async fn bad_coupon_requests_are_refused_and_change_nothing() {
    let (app, m) = app().await;
    let cash = issued(&app, &m, "cash-10").await;
    let old = issued(&app, &m, "old").await;
    let cake = issued(&app, &m, "cake-only").await;
    let store_2 = issued(&app, &m, "store-2-only").await;
    assert_eq!(coupon(&app, &m, &old).await["status"], "expired");
    let long = "c".repeat(10 * 1024);
    let small = json!({"member_id": m, "lines": [{"description": "小食", "unit_price": "20.00"}],
                       "tenders": [{"kind": "cash"}], "coupon_codes": [cash]});
    let sales: Vec<Refusal<'_>> = vec![
        (
            sale(Some(&m), json!(["c-store-1-999"])),
            404,
            "coupon_not_found",
            Some(("coupon", "c-store-1-999")),
        ),
        (
            sale(Some(&m), json!(["A"])),
            422,
            "invalid_coupon_code",
            Some(("field", "coupon_codes[0]")),
        ),
        (
            sale(Some(&m), json!([cash, "c-store-1-x"])),
            422,
            "invalid_coupon_code",
            Some(("field", "coupon_codes[1]")),
        ),
        (
            sale(None, json!([cash])),
            422,
            "coupon_without_member",
            None,
        ),
        (
            sale(Some(&m), json!([old])),
            422,
            "coupon_expired",
            Some(("valid_to", "2020-01-31")),
        ),
        (
            sale(Some(&m), json!([cake])),
            422,
            "coupon_not_applicable",
            Some(("miss", "goods")),
        ),
        (
            sale(Some(&m), json!([store_2])),
            422,
            "coupon_not_applicable",
            Some(("miss", "store")),
        ),
        (
            small,
            422,
            "coupon_below_minimum",
            Some(("min_spend", "30.00")),
        ),
        (
            sale(
                Some(&m),
                json!([cash, old, cake, store_2, "c-store-1-90", "c-store-1-91"]),
            ),
            422,
            "too_many_coupons",
            Some(("max", "5")),
        ),
        (
            sale(Some(&m), json!([cash, cash])),
            422,
            "coupon_repeated",
            Some(("coupon", cash.as_str())),
        ),
        (
            sale(Some(&m), json!(["c-store-1-1\u{7}"])),
            422,
            "invalid_coupon_code",
            Some(("field", "coupon_codes[0]")),
        ),
        (
            sale(Some(&m), json!(["c-store-1-1\u{1b}[2J\r\n"])),
            422,
            "invalid_coupon_code",
            None,
        ),
        (
            sale(Some(&m), json!([long])),
            422,
            "invalid_coupon_code",
            None,
        ),
        (sale(Some(&m), json!([1])), 400, "invalid_json", None),
    ];
    let before = app.snapshot().await;
    for (i, (body, status, code, detail)) in sales.iter().enumerate() {
        for path in ["/api/v1/checkouts", "/api/v1/checkouts/quote"] {
            let a = app
                .call(
                    "POST",
                    path,
                    body.to_string().into_bytes(),
                    Some(&format!("bad-{i}")),
                )
                .await;
            let e = a.json().expect("JSON");
            assert_eq!(
                (a.status.as_u16(), a.error_code().as_deref()),
                (*status, Some(*code)),
                "{path} {i}: {e}"
            );
            if let Some((k, v)) = detail {
                assert_eq!(e["error"][k], *v, "{path} {i}: {e}");
            }
            // What a client sent is never echoed back whole.
            assert!(a.body.len() < 1024, "{path} {i}: {} bytes", a.body.len());
            assert!(
                !e.to_string().contains('\u{7}') && !e.to_string().contains('\u{1b}'),
                "{e}"
            );
        }
    }
    // Issuing: unknown and hostile templates, a bad member, a bad batch.
    let issues: Vec<(String, Value, u16, &str)> = vec![
        (
            format!("/api/v1/members/{m}/coupons"),
            json!({"template": "nope"}),
            404,
            "coupon_template_not_found",
        ),
        (
            format!("/api/v1/members/{m}/coupons"),
            json!({"template": "cash\u{1b}[2J"}),
            404,
            "coupon_template_not_found",
        ),
        (
            format!("/api/v1/members/{m}/coupons"),
            json!({ "template": "t".repeat(10 * 1024) }),
            404,
            "coupon_template_not_found",
        ),
        (
            format!("/api/v1/members/{m}/coupons"),
            json!({"template": "cash-10", "uses": 2}),
            400,
            "invalid_json",
        ),
        (
            "/api/v1/members/m-store-1-999/coupons".into(),
            json!({"template": "cash-10"}),
            404,
            "member_not_found",
        ),
        (
            "/api/v1/members/x\u{7}/coupons".replace('\u{7}', "%07"),
            json!({"template": "cash-10"}),
            404,
            "member_not_found",
        ),
        (
            "/api/v1/coupon-batches".into(),
            json!({"template": "nope", "member_ids": [m]}),
            404,
            "coupon_template_not_found",
        ),
        (
            "/api/v1/coupon-batches".into(),
            json!({"template": "cash-10", "member_ids": []}),
            422,
            "invalid_member_ids",
        ),
        (
            "/api/v1/coupon-batches".into(),
            json!({"template": "cash-10", "member_ids": [m, "bad\u{7}"]}),
            422,
            "invalid_member_ids",
        ),
        (
            "/api/v1/coupon-batches".into(),
            json!({"template": "cash-10", "member_ids": [m, m]}),
            422,
            "invalid_member_ids",
        ),
        (
            "/api/v1/coupon-batches".into(),
            json!({"template": "cash-10", "member_ids": vec![m.clone(); 1001]}),
            422,
            "invalid_member_ids",
        ),
    ];
    for (i, (path, body, status, code)) in issues.iter().enumerate() {
        let a = app
            .call(
                "POST",
                path,
                body.to_string().into_bytes(),
                Some(&format!("bad-issue-{i}")),
            )
            .await;
        let e = a.json().expect("JSON");
        assert_eq!(
            (a.status.as_u16(), a.error_code().as_deref()),
            (*status, Some(*code)),
            "{path} {i}: {e}"
        );
        assert!(a.body.len() < 1024, "{path} {i}: {} bytes", a.body.len());
        assert!(!e.to_string().contains('\u{1b}'), "{e}");
    }
    assert_eq!(
        app.get("/api/v1/members/m-store-1-999/coupons").await.0,
        404
    );
    assert_eq!(app.snapshot().await, before);
    for code in [&cash, &cake, &store_2] {
        assert_eq!(coupon(&app, &m, code).await["status"], "usable");
    }
}
