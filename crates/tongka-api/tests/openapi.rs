//! The OpenAPI document served at /api/v1/openapi.json: it is OpenAPI 3.1,
//! it documents exactly the routes the router serves, and what the node
//! answers matches what the document says (statuses, schemas, machine codes,
//! security, examples).

#[path = "openapi/audit_steps.rs"]
mod audit_steps;
#[path = "openapi/card_steps.rs"]
mod card_steps;
#[path = "openapi/close_steps.rs"]
mod close_steps;
mod common;
#[path = "openapi/consistency_steps.rs"]
mod consistency_steps;
#[path = "openapi/coupon_steps.rs"]
mod coupon_steps;
#[path = "openapi/report_steps.rs"]
mod report_steps;
#[path = "openapi/steps.rs"]
mod steps;

use std::collections::BTreeSet;

use common::schema::{self, check, conforms, media_type, operation};
use common::{App, TOKEN};
use serde_json::{Value, json};

/// Every route of `tongka_api::router` (console on), as (METHOD, path).
/// Keep in step with the router in src/lib.rs.
const ROUTES: &[(&str, &str)] = &[
    ("GET", "/api/v1/health"),
    ("GET", "/api/v1/openapi.json"),
    ("POST", "/api/v1/members"),
    ("GET", "/api/v1/members"),
    ("GET", "/api/v1/members/duplicates"),
    ("GET", "/api/v1/members/{id}"),
    ("PATCH", "/api/v1/members/{id}"),
    ("POST", "/api/v1/members/{id}/recharges"),
    ("GET", "/api/v1/members/{id}/wallet"),
    ("GET", "/api/v1/members/{id}/history"),
    ("POST", "/api/v1/members/{id}/merge"),
    ("GET", "/api/v1/members/{id}/code"),
    ("POST", "/api/v1/members/{id}/coupons"),
    ("GET", "/api/v1/members/{id}/coupons"),
    ("POST", "/api/v1/coupon-batches"),
    ("GET", "/api/v1/members/{id}/cards"),
    ("POST", "/api/v1/members/{id}/cards/{code}/visits"),
    ("POST", "/api/v1/member-codes/verify"),
    ("POST", "/api/v1/checkouts"),
    ("POST", "/api/v1/checkouts/quote"),
    ("GET", "/api/v1/orders/{id}"),
    ("POST", "/api/v1/orders/{id}/refunds"),
    ("GET", "/api/v1/orders/{id}/receipt"),
    ("GET", "/api/v1/programme"),
    ("PUT", "/api/v1/programme"),
    ("GET", "/api/v1/products"),
    ("GET", "/api/v1/products/{sku}"),
    ("PUT", "/api/v1/products/{sku}"),
    ("POST", "/api/v1/products/import"),
    ("GET", "/api/v1/categories"),
    ("GET", "/api/v1/categories/{id}"),
    ("PUT", "/api/v1/categories/{id}"),
    ("GET", "/api/v1/sync/status"),
    ("GET", "/api/v1/ledger/summary"),
    ("GET", "/api/v1/consistency"),
    ("GET", "/api/v1/audit"),
    ("GET", "/api/v1/ops/export"),
    ("GET", "/api/v1/reports/sales"),
    ("GET", "/api/v1/reports/liability"),
    ("GET", "/api/v1/reports/points"),
    ("GET", "/api/v1/reports/members"),
    ("GET", "/api/v1/reports/rankings"),
    ("GET", "/api/v1/dashboard"),
    // settlement
    ("GET", "/api/v1/settlement"),
    ("GET", "/api/v1/withdrawals"),
    ("POST", "/api/v1/withdrawals"),
    ("POST", "/api/v1/withdrawals/{id}/approve"),
    ("POST", "/api/v1/withdrawals/{id}/reject"),
    ("GET", "/api/v1/reports/coupons"),
    ("GET", "/api/v1/reports/cards"),
    ("GET", "/api/v1/metrics"),
    ("GET", "/api/v1/setup"),
    ("POST", "/api/v1/setup/first-admin"),
    ("POST", "/api/v1/sessions"),
    ("GET", "/api/v1/sessions/current"),
    ("DELETE", "/api/v1/sessions/current"),
    ("GET", "/api/v1/staff"),
    ("POST", "/api/v1/staff"),
    ("GET", "/api/v1/staff/{id}"),
    ("PATCH", "/api/v1/staff/{id}"),
    ("GET", "/api/v1/stock"),
    ("GET", "/api/v1/stock/low"),
    ("GET", "/api/v1/stock/value"),
    ("GET", "/api/v1/stock/movements"),
    ("GET", "/api/v1/stock/below-zero"),
    ("POST", "/api/v1/stock/in"),
    ("POST", "/api/v1/stock/import"),
    ("POST", "/api/v1/stock/returns"),
    ("PUT", "/api/v1/stock/minimums"),
    ("POST", "/api/v1/stocktakes"),
    ("GET", "/api/v1/transfers"),
    ("POST", "/api/v1/transfers"),
    ("GET", "/api/v1/transfers/{id}"),
    ("POST", "/api/v1/transfers/{id}/receive"),
    ("GET", "/api/v1/closes/preview"),
    ("POST", "/api/v1/closes"),
    ("GET", "/api/v1/closes"),
    ("GET", "/api/v1/closes/{id}"),
    ("GET", "/api/v1/closes/{id}/receipt"),
    ("POST", "/api/v1/members/import"),
    ("GET", "/"),
    ("GET", "/console/app.js"),
    ("GET", "/console/app.css"),
    ("GET", "/console/{file}"),
];

/// A concrete path for a path template.
fn concrete(template: &str, member: &str, order: &str) -> String {
    let id = if template.starts_with("/api/v1/orders/") {
        order
    } else {
        member
    };
    template
        .replace("{id}", id)
        .replace("{sku}", "latte")
        .replace("{code}", "k-store-1-1")
        .replace("{file}", "members.js")
}

#[test]
fn the_document_is_openapi_3_1() {
    let doc = schema::doc();
    let version = doc["openapi"].as_str().expect("openapi field");
    assert!(version.starts_with("3.1."), "{version}");
    assert!(doc["info"]["title"].is_string());
    assert!(doc["info"]["version"].is_string());
    let d = doc["info"]["description"].as_str().expect("description");
    for words in [
        "会员",
        "四舍五入",
        "Idempotency-Key",
        "half-up",
        "rounded",
        "message_zh",
    ] {
        assert!(d.contains(words), "info.description lacks {words:?}");
    }
    let bearer = &doc["components"]["securitySchemes"]["bearer"];
    assert_eq!(
        (bearer["type"].as_str(), bearer["scheme"].as_str()),
        (Some("http"), Some("bearer"))
    );
    assert_eq!(doc["security"], json!([{"bearer": []}]));

    // Every $ref points somewhere, and every operation has an id, a summary
    // and responses.
    fn refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref") {
                    out.push(r.clone());
                }
                m.values().for_each(|x| refs(x, out));
            }
            Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(all.len() > 50);
    for r in all {
        let ptr = r.strip_prefix('#').expect("local ref");
        assert!(doc.pointer(ptr).is_some(), "dangling {r}");
    }
    let mut ids = BTreeSet::new();
    for (m, p) in schema::operations(&doc) {
        let op = operation(&doc, &m, &p);
        assert!(op["summary"].is_string(), "{m} {p}: summary");
        assert!(op["responses"].is_object(), "{m} {p}: responses");
        assert!(
            ids.insert(op["operationId"].as_str().expect("operationId").to_string()),
            "{m} {p}: duplicate operationId"
        );
    }
}

#[test]
fn the_document_lists_exactly_the_routes() {
    let doc = schema::doc();
    let documented = schema::operations(&doc);
    let served: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    let missing: Vec<_> = served.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&served).collect();
    assert!(missing.is_empty(), "routes not documented: {missing:?}");
    assert!(extra.is_empty(), "documented but not in ROUTES: {extra:?}");
    for (m, p) in ROUTES {
        if p.starts_with("/api/") {
            assert!(
                p.starts_with("/api/v1/"),
                "{m} {p}: paths are written in full"
            );
        }
    }
}

#[tokio::test]
async fn the_document_served_is_the_derived_one() {
    let app = App::new();
    let a = app
        .raw("GET", "/api/v1/openapi.json", &[], Vec::new())
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(media_type(a.content_type()), "application/json");
    assert_eq!(a.json().expect("JSON"), schema::doc());
}

/// Every documented operation reaches a handler (not the router's
/// `not_found` / `method_not_allowed` fallbacks) on a fresh node, and every
/// other method on a documented path is `405 method_not_allowed`.
#[tokio::test]
async fn every_documented_operation_is_served() {
    let app = App::new();
    let doc = schema::doc();
    for (m, template) in schema::operations(&doc) {
        let path = concrete(&template, "m-store-1-1", "o-store-1-1");
        let body = if m == "GET" {
            Vec::new()
        } else {
            b"{}".to_vec()
        };
        let a = app.call(&m, &path, body, Some("served-1")).await;
        let code = a.error_code();
        assert!(
            a.status != 405 && !(a.status == 404 && code.as_deref() == Some("not_found")),
            "{m} {path}: the router's fallback answered {} {code:?}",
            a.status
        );
        assert!(a.status.as_u16() < 500, "{m} {path}: {}", a.status);
        conforms(&doc, &m, &template, &a);
    }
    let documented = schema::operations(&doc);
    let paths: BTreeSet<&String> = documented.iter().map(|(_, p)| p).collect();
    for template in paths {
        let path = concrete(template, "m-store-1-1", "o-store-1-1");
        for m in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
            if documented.contains(&(m.to_string(), template.clone())) {
                continue;
            }
            let a = app.call(m, &path, b"{}".to_vec(), Some("k")).await;
            assert_eq!(
                (a.status.as_u16(), a.error_code().as_deref()),
                (405, Some("method_not_allowed")),
                "{m} {path}"
            );
        }
    }
    for path in ["/api/v1/nope", "/api/v2/health", "/api/v1/members/x/y/z"] {
        let a = app.call("GET", path, Vec::new(), None).await;
        assert_eq!(
            (a.status.as_u16(), a.error_code().as_deref()),
            (404, Some("not_found")),
            "{path}"
        );
    }
}

/// Operations with `security: []` answer without a token; all others refuse
/// a missing or wrong token with `401 unauthorized` and a documented body.
#[tokio::test]
async fn security_is_as_documented() {
    let app = App::new();
    let doc = schema::doc();
    for (m, template) in schema::operations(&doc) {
        let op = operation(&doc, &m, &template);
        let open = op.get("security") == Some(&json!([]));
        let path = concrete(&template, "m-store-1-1", "o-store-1-1");
        let wrong = format!("Bearer {TOKEN}x");
        for headers in [
            vec![],
            vec![("authorization", wrong.as_str())],
            vec![("authorization", TOKEN)],
        ] {
            let a = app.raw(&m, &path, &headers, b"{}".to_vec()).await;
            if open && m == "GET" {
                assert_eq!(a.status, 200, "{m} {path} is open");
            } else if open {
                // Signing in with `{}`: refused for its body, never for
                // the token it does not need.
                assert!(
                    a.status.is_client_error() && a.status != 401,
                    "{m} {path} is open: {}",
                    a.status
                );
                conforms(&doc, &m, &template, &a);
            } else {
                assert_eq!(
                    (a.status.as_u16(), a.error_code().as_deref()),
                    (401, Some("unauthorized")),
                    "{m} {path} {headers:?}"
                );
                conforms(&doc, &m, &template, &a);
            }
        }
    }
}

/// A walk through every operation with valid requests and with refusals:
/// each answer has a documented status, content type, schema and code.
#[tokio::test]
async fn answers_match_the_documented_schemas() {
    let app = App::new();
    let doc = schema::doc();
    let seed = app.seed().await;
    let (m, o) = (seed.member.as_str(), seed.order.as_str());
    let mut steps = steps::steps(m, o);
    steps.extend(coupon_steps::issue_steps(m));
    steps.extend(card_steps::sell_steps(m));
    let mut first_answer: Option<Vec<u8>> = None;
    let mut coupon: Option<String> = None;
    // The card sale's count card, period card and order.
    let mut sold: Option<(String, String, String)> = None;
    // Two rounds: the second uses the coupon the first issued, and visits
    // the cards it sold.
    for round in 0..2 {
        if round == 1 {
            let code = coupon.take().expect("the first issue answered a coupon");
            steps = coupon_steps::use_steps(m, &code);
            let (count, period, order) = sold.take().expect("the card sale answered");
            steps.extend(card_steps::visit_steps(m, &count, &period, &order));
            steps.extend(audit_steps::steps());
            steps.extend(consistency_steps::steps());
            steps.extend(report_steps::steps());
            steps.extend(close_steps::steps());
        }
        for (method, template, path, body, idem, status, code) in std::mem::take(&mut steps) {
            let a = app.call(method, &path, body, idem).await;
            let what = format!(
                "{method} {path} → {} {}",
                a.status,
                String::from_utf8_lossy(&a.body)
            );
            assert_eq!(a.status.as_u16(), status, "{what}");
            assert_eq!(a.error_code().as_deref(), code, "{what}");
            conforms(&doc, method, template, &a);
            if idem == Some(coupon_steps::FIRST_ISSUE) && status == 201 {
                coupon = a.json().expect("JSON")["code"].as_str().map(str::to_string);
            }
            if idem == Some(card_steps::FIRST_SALE) {
                let o = a.json().expect("JSON");
                let code = |i: usize| {
                    o["lines"][i]["card"]["cards"][0]
                        .as_str()
                        .map(str::to_string)
                };
                let id = o["id"].as_str().map(str::to_string);
                sold = code(0).zip(code(1)).zip(id).map(|((c, p), o)| (c, p, o));
            }
            // The replayed recharge is the first answer, marked as a replay.
            if idem == Some("rc-1") && status == 201 {
                match &first_answer {
                    None => {
                        assert!(a.headers.get("idempotent-replayed").is_none());
                        first_answer = Some(a.body.clone());
                    }
                    Some(first) => {
                        assert_eq!(&a.body, first, "a replay is the first answer");
                        assert_eq!(a.headers["idempotent-replayed"], "true");
                    }
                }
            }
        }
    }
    assert!(first_answer.is_some());
}

/// The request examples in the document are valid against their schemas,
/// and a node accepts them, in order, on a fresh node.
#[tokio::test]
async fn the_documented_examples_are_accepted() {
    let app = App::new();
    let doc = schema::doc();
    // (method, template, example name, idempotency key, expected status)
    let order = [
        ("PUT", "/api/v1/products/{sku}", "latte", None, 200),
        ("POST", "/api/v1/members", "full", Some("ex-1"), 201),
        ("POST", "/api/v1/members", "minimal", None, 201),
        ("PATCH", "/api/v1/members/{id}", "rename", None, 200),
        ("PATCH", "/api/v1/members/{id}", "clear card", None, 200),
        // Stock of the latte (before it becomes a card product below);
        // a node of no chain knows no store to ship to, nor the transfer
        // (after the members: a transfer's id is minted as theirs are).
        ("POST", "/api/v1/stock/in", "by barcode", Some("ex-s1"), 201),
        (
            "POST",
            "/api/v1/stock/returns",
            "one line",
            Some("ex-s2"),
            201,
        ),
        ("PUT", "/api/v1/stock/minimums", "one sku", None, 200),
        (
            "POST",
            "/api/v1/stocktakes",
            "one count",
            Some("ex-s3"),
            201,
        ),
        ("POST", "/api/v1/transfers", "one line", Some("ex-s4"), 404),
        (
            "POST",
            "/api/v1/transfers/{id}/receive",
            "all arrived",
            Some("ex-s5"),
            404,
        ),
        (
            "POST",
            "/api/v1/members/{id}/recharges",
            "1000 cash",
            Some("ex-2"),
            201,
        ),
        (
            "POST",
            "/api/v1/checkouts/quote",
            "member pays from balance",
            None,
            200,
        ),
        (
            "POST",
            "/api/v1/checkouts/quote",
            "walk-in, cash with change",
            None,
            200,
        ),
        (
            "POST",
            "/api/v1/checkouts",
            "member pays from balance",
            Some("ex-3"),
            201,
        ),
        (
            "POST",
            "/api/v1/checkouts",
            "walk-in, cash with change",
            Some("ex-4"),
            201,
        ),
        (
            "POST",
            "/api/v1/orders/{id}/refunds",
            "one of line 0",
            Some("ex-5"),
            201,
        ),
        (
            "POST",
            "/api/v1/orders/{id}/refunds",
            "everything",
            Some("ex-6"),
            201,
        ),
        (
            "POST",
            "/api/v1/members/{id}/merge",
            "absorb a duplicate",
            Some("ex-7"),
            201,
        ),
        ("PUT", "/api/v1/programme", "richer_first_offer", None, 200),
        (
            "PUT",
            "/api/v1/programme",
            "with a coupon template",
            None,
            200,
        ),
        (
            "POST",
            "/api/v1/members/{id}/coupons",
            "a cash coupon",
            Some("ex-8"),
            201,
        ),
        (
            "POST",
            "/api/v1/coupon-batches",
            "two members",
            Some("ex-9"),
            200,
        ),
        // Last: they make the latte of the examples above a card product.
        ("PUT", "/api/v1/products/{sku}", "a count card", None, 200),
        ("PUT", "/api/v1/products/{sku}", "a period card", None, 200),
        // Staff: the first admin (none exists yet), then one more account,
        // changed twice (its id taken from the answer).
        ("POST", "/api/v1/setup/first-admin", "owner", None, 201),
        ("POST", "/api/v1/staff", "a cashier", Some("ex-10"), 201),
        ("PATCH", "/api/v1/staff/{id}", "disable", None, 200),
        ("PATCH", "/api/v1/staff/{id}", "own password", None, 200),
        // The day's close, after every sale above.
        ("POST", "/api/v1/closes", "a day close", Some("ex-c1"), 201),
    ];
    let mut staff_id = String::new();
    let mut seen = 0;
    let mut member_order = String::new();
    for (method, template, name, idem, status) in order {
        let op = operation(&doc, method, template);
        let content = &op["requestBody"]["content"]["application/json"];
        let example = &content["examples"][name]["value"];
        assert!(
            !example.is_null(),
            "{method} {template}: no example {name:?}"
        );
        let errors = check(&doc, &content["schema"], example, false);
        assert!(errors.is_empty(), "{method} {template} {name}: {errors:#?}");
        // The examples name the first member of a node; refunds go to the
        // order the first checkout example made.
        let path = if template.starts_with("/api/v1/staff/") {
            template.replace("{id}", &staff_id)
        } else {
            concrete(template, "m-store-1-1", &member_order)
        };
        let a = app
            .call(method, &path, example.to_string().into_bytes(), idem)
            .await;
        assert_eq!(
            a.status.as_u16(),
            status,
            "{method} {path} {name}: {}",
            String::from_utf8_lossy(&a.body)
        );
        conforms(&doc, method, template, &a);
        if template == "/api/v1/staff" {
            staff_id = a.json().expect("JSON")["id"]
                .as_str()
                .expect("staff id")
                .to_string();
        }
        if template == "/api/v1/checkouts" && name == "member pays from balance" {
            member_order = a.json().expect("JSON")["id"]
                .as_str()
                .expect("order id")
                .to_string();
        }
        seen += 1;
    }
    // Every example in the document was tried.
    let mut total = 0;
    for (m, p) in schema::operations(&doc) {
        if let Some(ex) = operation(&doc, &m, &p)
            .pointer("/requestBody/content/application~1json/examples")
            .and_then(Value::as_object)
        {
            total += ex.len();
        }
    }
    assert_eq!(seen, total, "an example of the document is not tried here");
}

/// The schema checker the tests above rely on does refuse what the
/// document does not say.
#[test]
fn the_checker_refuses_what_the_document_does_not_say() {
    let doc = schema::doc();
    let money = json!({"$ref": "#/components/schemas/Money"});
    assert!(check(&doc, &money, &json!("95.00"), true).is_empty());
    for bad in [
        json!("95.0"),
        json!("95"),
        json!(95),
        json!("-1.00"),
        json!(null),
    ] {
        assert!(!check(&doc, &money, &bad, true).is_empty(), "{bad}");
    }
    let product = json!({"$ref": "#/components/schemas/Product"});
    let p = json!({"sku": "a", "barcode": null, "name": "n", "price": "1.00",
        "barcodes": [], "unit": "whole", "unit_label": "件", "member_price": null,
        "points_multiplier": "1", "active": true, "category": null, "stocked": true,
        "store_prices": {}, "attributes": {}});
    assert!(check(&doc, &product, &p, true).is_empty());
    let mut extra = p.clone();
    extra["stock"] = json!(1);
    assert!(!check(&doc, &product, &extra, true).is_empty());
    assert!(check(&doc, &product, &extra, false).is_empty());
    let mut missing = p.clone();
    missing.as_object_mut().expect("object").remove("price");
    assert!(!check(&doc, &product, &missing, true).is_empty());
    let line = json!({"$ref": "#/components/schemas/LineRequest"});
    assert!(check(&doc, &line, &json!({"sku": "a", "qty": 2}), false).is_empty());
    assert!(
        !check(
            &doc,
            &line,
            &json!({"sku": "a", "barcode": "123456"}),
            false
        )
        .is_empty()
    );
    assert!(!check(&doc, &line, &json!({"description": "x"}), false).is_empty());
    let error = json!({"$ref": "#/components/schemas/Error"});
    let e = json!({"error": {"code": "x", "message": "m", "message_zh": "中", "line": "1"}});
    assert!(check(&doc, &error, &e, true).is_empty());
    let e = json!({"error": {"code": "x", "message": "m", "message_zh": "中", "line": 1}});
    assert!(!check(&doc, &error, &e, true).is_empty());
}
