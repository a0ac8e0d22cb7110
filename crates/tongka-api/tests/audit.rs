//! `GET /api/v1/audit`: a recharge, a sale, its refund and a programme
//! change are found in the trail, newest first, with their kinds, amounts
//! and who made them; filtered by kind, staff, store and dates; paged by
//! `next`; bad queries refused with `invalid_audit_filter` and the field,
//! echoing nothing.

mod common;

use std::collections::BTreeSet;

use common::App;
use serde_json::{Value, json};
use tongka_core::day::Day;
use tongka_core::money::Money;

/// The kinds, `op` ids and `next` of a page.
async fn page(app: &App, query: &str) -> (Vec<String>, Vec<String>, Option<String>) {
    let (s, v) = app.get(&format!("/api/v1/audit{query}")).await;
    assert_eq!(s, 200, "{query}: {v}");
    let entries = v["entries"].as_array().expect("entries");
    let kinds = entries
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_string())
        .collect();
    let ops = entries
        .iter()
        .map(|e| e["op"].as_str().unwrap().to_string())
        .collect();
    (kinds, ops, v["next"].as_str().map(str::to_string))
}

async fn kinds(app: &App, query: &str) -> Vec<String> {
    page(app, query).await.0
}

/// A member, a recharge, a product, a sale, its refund and a programme
/// change; the answers of the recharge, the sale and the refund.
async fn a_day_of_business(app: &App) -> (String, Value, Value, Value) {
    let (s, m) = app
        .send(
            "POST",
            "/api/v1/members",
            &json!({"phone": "13812341234", "name": "张三"}),
            Some("m-1"),
        )
        .await;
    assert_eq!(s, 201, "{m}");
    let member = m["id"].as_str().unwrap().to_string();
    let (s, recharge) = app
        .send(
            "POST",
            &format!("/api/v1/members/{member}/recharges"),
            &json!({"amount": "1000.00", "tender": "cash"}),
            Some("r-1"),
        )
        .await;
    assert_eq!(s, 201, "{recharge}");
    let (s, p) = app
        .send(
            "PUT",
            "/api/v1/products/latte",
            &json!({"name": "拿铁", "price": "32.00"}),
            None,
        )
        .await;
    assert_eq!(s, 200, "{p}");
    let (s, sale) = app
        .send(
            "POST",
            "/api/v1/checkouts",
            &json!({"member_id": member, "lines": [{"sku": "latte", "qty": "2"}], "tenders": [{"kind": "balance"}]}),
            Some("o-1"),
        )
        .await;
    assert_eq!(s, 201, "{sale}");
    let order = sale["id"].as_str().unwrap();
    let (s, refund) = app
        .send(
            "POST",
            &format!("/api/v1/orders/{order}/refunds"),
            &json!({"lines": [{"line": 0, "qty": "1"}], "reason": "顾客退货"}),
            Some("f-1"),
        )
        .await;
    assert_eq!(s, 201, "{refund}");
    let (s, mut programme) = app.get("/api/v1/programme").await;
    assert_eq!(s, 200);
    programme["points_per_yuan"] = json!("2");
    let (s, p) = app.send("PUT", "/api/v1/programme", &programme, None).await;
    assert_eq!(s, 200, "{p}");
    (member, recharge, sale, refund)
}

#[tokio::test]
async fn the_trail_shows_who_moved_what_money_newest_first() {
    let app = App::new();
    let (member, recharge, sale, refund) = a_day_of_business(&app).await;

    let (s, v) = app.get("/api/v1/audit").await;
    assert_eq!(s, 200, "{v}");
    let entries = v["entries"].as_array().unwrap();
    let got: Vec<&str> = entries
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        got,
        [
            "programme_changed",
            "refunded",
            "checked_out",
            "catalogue_changed",
            "recharged",
            "member_registered",
        ]
    );
    assert_eq!(v["next"], Value::Null);
    for e in entries {
        assert_eq!(e["by"], "admin", "{e}");
        assert_eq!(e["by_name"], "admin", "{e}");
        assert_eq!(e["store"], "store-1", "{e}");
        assert_eq!(e["approved_by"], Value::Null, "{e}");
        assert_eq!(e["approved_by_name"], Value::Null, "{e}");
        assert!(e["op"].as_str().unwrap().starts_with("store-1#"), "{e}");
        let at = e["at"].as_str().unwrap();
        assert!(humantime::parse_rfc3339(at).is_ok(), "{at}");
        assert!(!e["summary"].as_str().unwrap().is_empty(), "{e}");
        assert!(!e["summary_zh"].as_str().unwrap().is_empty(), "{e}");
    }
    // Newest first: the times never rise down the list.
    let times: Vec<&str> = entries.iter().map(|e| e["at"].as_str().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
    let of = |k: &str| entries.iter().find(|e| e["kind"] == k).unwrap();
    // The money: the recharge's amount and bonus, the sale's payable, the
    // refund's amount, as the requests answered them.
    let credited = |r: &Value| {
        let money = |f: &str| Money::parse_amount(r[f].as_str().unwrap(), false).unwrap();
        (money("amount") + money("bonus")).to_string()
    };
    assert_eq!(of("recharged")["amount"], credited(&recharge));
    assert_eq!(of("recharged")["amount"], "1100.00");
    assert_eq!(of("checked_out")["amount"], sale["payable"]);
    assert_eq!(of("refunded")["amount"], refund["amount"]);
    // One of two lattes at 32.00, at the silver level the recharge reached.
    assert_eq!(of("refunded")["amount"], "30.40");
    assert_eq!(of("checked_out")["amount"], "60.80");
    for k in [
        "programme_changed",
        "catalogue_changed",
        "member_registered",
    ] {
        assert_eq!(of(k)["amount"], Value::Null, "{k}");
    }
    for k in ["refunded", "checked_out", "recharged", "member_registered"] {
        assert_eq!(of(k)["member"], member.as_str(), "{k}");
    }
    assert_eq!(of("programme_changed")["member"], Value::Null);
    let r = of("refunded");
    assert!(
        r["summary_zh"].as_str().unwrap().contains("顾客退货"),
        "{r}"
    );
    assert!(
        r["summary"]
            .as_str()
            .unwrap()
            .contains(sale["id"].as_str().unwrap()),
        "{r}"
    );

    // Filters.
    assert_eq!(
        kinds(&app, "?kind=recharged,refunded").await,
        ["refunded", "recharged"]
    );
    assert_eq!(
        kinds(&app, "?kind=programme_changed,catalogue_changed").await,
        ["programme_changed", "catalogue_changed"]
    );
    assert_eq!(kinds(&app, "?staff=admin").await.len(), 6);
    assert!(kinds(&app, "?staff=s-hq-3").await.is_empty());
    assert_eq!(kinds(&app, "?store=store-1").await.len(), 6);
    assert!(kinds(&app, "?store=store-2").await.is_empty());
    // Empty parameters count as not given.
    assert_eq!(
        kinds(&app, "?store=&staff=&kind=&from=&to=&before=&limit=")
            .await
            .len(),
        6
    );
    // Dates: the day (China time) of the sale.
    let at = humantime::parse_rfc3339(of("checked_out")["at"].as_str().unwrap()).unwrap();
    let ms = at
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let day = Day::of_ms(ms);
    let (y, t) = (day.plus(-1), day.plus(1));
    assert_eq!(kinds(&app, &format!("?from={y}&to={t}")).await.len(), 6);
    assert!(kinds(&app, &format!("?from={t}")).await.is_empty());
    assert!(kinds(&app, &format!("?to={y}")).await.is_empty());
    assert_eq!(
        kinds(
            &app,
            &format!("?store=store-1&staff=admin&kind=checked_out&from={day}&to={day}")
        )
        .await,
        ["checked_out"]
    );

    // Pages of two, followed by `next`: the whole list, each entry once.
    let (_, all, _) = page(&app, "").await;
    let mut joined = Vec::new();
    let mut query = "?limit=2".to_string();
    let mut pages = 0;
    loop {
        let (_, ops, next) = page(&app, &query).await;
        assert!(ops.len() <= 2);
        joined.extend(ops);
        pages += 1;
        match next {
            Some(c) => query = format!("?limit=2&before={c}"),
            None => break,
        }
    }
    assert_eq!(joined, all);
    assert_eq!(pages, 3);
    assert_eq!(
        joined.iter().collect::<BTreeSet<_>>().len(),
        6,
        "no entry twice"
    );
    // A filtered listing pages the same way.
    let (k1, _, next) = page(&app, "?kind=recharged,refunded,checked_out&limit=1").await;
    let next = next.expect("more");
    let (k2, _, next) = page(
        &app,
        &format!("?kind=recharged,refunded,checked_out&limit=2&before={next}"),
    )
    .await;
    assert_eq!(
        (k1, k2),
        (
            vec!["refunded".to_string()],
            vec!["checked_out".to_string(), "recharged".to_string()]
        )
    );
    assert_eq!(next, None);
}

#[tokio::test]
async fn bad_audit_queries_are_refused_with_the_field_and_nothing_echoed() {
    let app = App::new();
    a_day_of_business(&app).await;
    let before = app.snapshot().await;
    for (query, field) in [
        ("kind=nope", "kind"),
        ("kind=recharged,", "kind"),
        ("kind=Recharged", "kind"),
        ("kind=recharged&kind=refunded", "kind"),
        ("from=2026-13-01", "from"),
        ("from=2026-12-05&to=2026-12-01", "from"),
        ("to=yesterday", "to"),
        ("from=1899-12-31", "from"),
        ("before=garbage", "before"),
        ("before=store-1.0", "before"),
        ("before=store-1.3_store-1.4", "before"),
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=-1", "limit"),
        ("limit=99999999999999999999999", "limit"),
        ("limit=1.5", "limit"),
        ("staff=%1B%5B2J", "staff"),
        ("staff=a%0Ab", "staff"),
        ("staff=%E5%BC%A0", "staff"),
        ("store=Store-1", "store"),
        ("store=%1B", "store"),
        ("stafff=admin", "query"),
        ("%1B%5B2J=1", "query"),
    ] {
        let a = app
            .call("GET", &format!("/api/v1/audit?{query}"), Vec::new(), None)
            .await;
        let v = a.json().expect("JSON");
        assert_eq!(a.status.as_u16(), 422, "{query}: {v}");
        assert_eq!(v["error"]["code"], "invalid_audit_filter", "{query}: {v}");
        assert_eq!(v["error"]["field"], field, "{query}: {v}");
        assert!(
            !v["error"]["message_zh"].as_str().unwrap().is_empty(),
            "{query}"
        );
        // Nothing of the value is sent back.
        let body = String::from_utf8_lossy(&a.body);
        for echoed in [
            "\u{1b}",
            "\\u001b",
            "[2J",
            "yesterday",
            "garbage",
            "nope",
            "张",
        ] {
            assert!(!body.contains(echoed), "{query}: {body}");
        }
    }
    assert_eq!(
        app.snapshot().await,
        before,
        "a refused query changed nothing"
    );
}

/// The document's `AuditKind` is the core's list of kinds.
#[test]
fn the_documented_kinds_are_the_cores() {
    let doc = tongka_api::openapi::document();
    let kinds: BTreeSet<&str> = doc["components"]["schemas"]["AuditKind"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        tongka_core::audit::KINDS
            .iter()
            .copied()
            .collect::<BTreeSet<_>>()
    );
}

/// The console's kind selector (`AUDIT_KINDS` of `console/i18n_staff.js`)
/// offers the core's kinds, each once, and each has a Chinese and an
/// English label in the dictionary.
#[test]
fn the_consoles_kinds_are_the_cores_with_labels() {
    let js = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("console/i18n_staff.js"),
    )
    .unwrap();
    let list = js
        .split("export const AUDIT_KINDS = [")
        .nth(1)
        .and_then(|rest| rest.split("];").next())
        .expect("AUDIT_KINDS in i18n_staff.js");
    let offered: Vec<&str> = list
        .split(',')
        .map(|k| k.trim().trim_matches('\''))
        .filter(|k| !k.is_empty())
        .collect();
    let set: BTreeSet<&str> = offered.iter().copied().collect();
    assert_eq!(set.len(), offered.len(), "a kind twice: {offered:?}");
    assert_eq!(
        set,
        tongka_core::audit::KINDS
            .iter()
            .copied()
            .collect::<BTreeSet<_>>()
    );
    let (zh, en) = js
        .split_once("\n  en: {")
        .expect("the zh and en dictionaries");
    for kind in tongka_core::audit::KINDS {
        let key = format!("'audit.kind.{kind}': '");
        assert_eq!(zh.matches(&key).count(), 1, "zh label of {kind}");
        assert_eq!(en.matches(&key).count(), 1, "en label of {kind}");
    }
}

/// A POST as the holder of `bearer`, answered 201: the answer.
async fn post_as(app: &App, bearer: &str, path: &str, body: Value, key: &str) -> Value {
    let headers = [
        ("authorization", bearer),
        ("content-type", "application/json"),
        ("idempotency-key", key),
    ];
    let a = app
        .raw("POST", path, &headers, body.to_string().into_bytes())
        .await;
    assert_eq!(a.status, 201, "{}", String::from_utf8_lossy(&a.body));
    a.json().unwrap()
}

/// Ops made by a staff member name them: `by` their id, `by_name` their
/// name; the account's creation is in the trail too (by the token).
#[tokio::test]
async fn a_staff_members_ops_name_them() {
    let app = App::new();
    let (s, owner) = app
        .send(
            "POST",
            "/api/v1/setup/first-admin",
            &json!({"login": "wang", "name": "王店主", "password": "correct horse"}),
            None,
        )
        .await;
    assert_eq!(s, 201, "{owner}");
    let id = owner["id"].as_str().unwrap().to_string();
    let (s, session) = app
        .send(
            "POST",
            "/api/v1/sessions",
            &json!({"login": "wang", "password": "correct horse"}),
            None,
        )
        .await;
    assert_eq!(s, 201, "{session}");
    let bearer = format!("Bearer {}", session["token"].as_str().unwrap());
    let m = post_as(
        &app,
        &bearer,
        "/api/v1/members",
        json!({"phone": "13812341234", "name": "张三"}),
        "s-m",
    )
    .await;
    let member = m["id"].as_str().unwrap();
    post_as(
        &app,
        &bearer,
        &format!("/api/v1/members/{member}/recharges"),
        json!({"amount": "100.00", "tender": "cash"}),
        "s-r",
    )
    .await;

    let (s, v) = app.get(&format!("/api/v1/audit?staff={id}")).await;
    assert_eq!(s, 200, "{v}");
    let e = v["entries"].as_array().unwrap();
    let got: Vec<(&str, &str, &str)> = e
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap(),
                e["by"].as_str().unwrap(),
                e["by_name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("recharged", id.as_str(), "王店主"),
            ("member_registered", id.as_str(), "王店主"),
        ]
    );
    let (s, v) = app.get("/api/v1/audit?kind=staff_changed").await;
    assert_eq!(s, 200, "{v}");
    let e = &v["entries"][0];
    assert_eq!(
        (e["by"].as_str(), e["by_name"].as_str()),
        (Some("admin"), Some("admin"))
    );
    let summary = e["summary"].as_str().unwrap();
    assert!(
        summary.starts_with(&format!("created staff account {id}")),
        "{summary}"
    );
    assert!(!summary.contains("argon2"), "{summary}");
}

/// The newer kinds filter the trail like the first ones: a shift close and
/// a day close, each found by its kind alone, with the cash counted as its
/// amount; every kind of the core is accepted as a filter.
#[tokio::test]
async fn closes_are_found_by_their_kinds() {
    let app = App::new();
    for (kind, counted, key) in [("shift", "12.50", "c-shift"), ("day", "30.00", "c-day")] {
        let (s, v) = app
            .send(
                "POST",
                "/api/v1/closes",
                &json!({"kind": kind, "counted_cash": counted}),
                Some(key),
            )
            .await;
        assert_eq!(s, 201, "{v}");
    }
    for (kind, amount) in [("shift_closed", "12.50"), ("day_closed", "30.00")] {
        let (s, v) = app.get(&format!("/api/v1/audit?kind={kind}")).await;
        assert_eq!(s, 200, "{v}");
        let e = v["entries"].as_array().unwrap();
        assert_eq!(e.len(), 1, "{kind}: {v}");
        assert_eq!(
            (e[0]["kind"].as_str(), e[0]["amount"].as_str()),
            (Some(kind), Some(amount))
        );
    }
    let (s, v) = app.get("/api/v1/audit?kind=shift_closed,day_closed").await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["entries"].as_array().unwrap().len(), 2, "{v}");
    for kind in tongka_core::audit::KINDS {
        let (s, v) = app.get(&format!("/api/v1/audit?kind={kind}")).await;
        assert_eq!(s, 200, "{kind}: {v}");
    }
}
