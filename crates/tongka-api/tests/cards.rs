//! Count and period cards over HTTP: card products put in the catalogue,
//! sold at checkout (one card per unit, to a member only), listed, visited
//! (核销) within their rules, refunded at their unused value; and every
//! refusal, each with its code and nothing changed.

mod common;

use common::App;
use serde_json::{Value, json};
use tongka_core::day::Day;

fn today() -> Day {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    Day::of_ms(ms)
}

/// A chain-less node (it authors its own catalogue) with a count card
/// (10 haircuts, 300.00), a period card (30 days, one visit a day,
/// 199.00), a haircut and a member with 1000.00.
async fn app() -> (App, String) {
    let app = App::new();
    for (sku, body) in [
        (
            "cut10",
            json!({"name": "理发10次卡", "price": "300.00",
                   "card": {"kind": "count", "visits": 10, "services": ["haircut"]}}),
        ),
        (
            "gym30",
            json!({"name": "健身月卡", "price": "199.00",
                   "card": {"kind": "period", "days": 30, "daily_cap": 1}}),
        ),
        ("haircut", json!({"name": "理发", "price": "38.00"})),
    ] {
        let (s, got) = app
            .send("PUT", &format!("/api/v1/products/{sku}"), &body, None)
            .await;
        assert_eq!(s, 200, "{got}");
    }
    let m = member(&app, "13800000001").await;
    let (s, got) = app
        .send(
            "POST",
            &format!("/api/v1/members/{m}/recharges"),
            &json!({"amount": "1000.00", "tender": "cash"}),
            Some("rc-1"),
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

/// Sell one of each card to `m`: the order, the count card's code and the
/// period card's.
async fn sell(app: &App, m: &str) -> (Value, String, String) {
    let (s, o) = app
        .send(
            "POST",
            "/api/v1/checkouts",
            &json!({"member_id": m, "lines": [{"sku": "cut10"}, {"sku": "gym30"}],
                    "tenders": [{"kind": "balance"}]}),
            Some("sale-1"),
        )
        .await;
    assert_eq!(s, 201, "{o}");
    let code = |i: usize| {
        let cards = o["lines"][i]["card"]["cards"].as_array().unwrap();
        assert_eq!(cards.len(), 1, "{o}");
        cards[0].as_str().unwrap().to_string()
    };
    let (count, period) = (code(0), code(1));
    (o, count, period)
}

async fn cards(app: &App, m: &str) -> Vec<Value> {
    let (s, l) = app.get(&format!("/api/v1/members/{m}/cards")).await;
    assert_eq!(s, 200, "{l}");
    assert_eq!(l["member_id"], m);
    l["cards"].as_array().unwrap().clone()
}

async fn card(app: &App, m: &str, code: &str) -> Value {
    cards(app, m)
        .await
        .into_iter()
        .find(|c| c["code"] == code)
        .unwrap_or_else(|| panic!("{m} holds no {code}"))
}

async fn visit(app: &App, m: &str, code: &str, body: &Value, key: &str) -> (u16, Value) {
    app.send(
        "POST",
        &format!("/api/v1/members/{m}/cards/{code}/visits"),
        body,
        Some(key),
    )
    .await
}

/// What a refusal must leave as it was: the ledger, the log, the member
/// and its cards.
async fn state(app: &App, m: &str) -> Value {
    let (s, member) = app.get(&format!("/api/v1/members/{m}")).await;
    assert_eq!(s, 200);
    json!({"node": app.snapshot().await, "member": member, "cards": cards(app, m).await})
}

#[tokio::test]
async fn card_products_are_put_and_shown_both_ways() {
    let (app, _) = app().await;
    let (s, p) = app.get("/api/v1/products/cut10").await;
    assert_eq!(s, 200);
    assert_eq!(
        p["card"],
        json!({"kind": "count", "visits": 10, "days": null, "services": ["haircut"]})
    );
    let (_, p) = app.get("/api/v1/products/gym30").await;
    assert_eq!(
        p["card"],
        json!({"kind": "period", "days": 30, "daily_cap": 1, "services": []})
    );
    let (_, p) = app.get("/api/v1/products/haircut").await;
    assert_eq!(p["card"], Value::Null);
    let (_, all) = app.get("/api/v1/products").await;
    let with_cards = all["products"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| ["cut10", "gym30", "haircut"].contains(&p["sku"].as_str().unwrap()))
        .map(|p| !p["card"].is_null())
        .collect::<Vec<_>>();
    assert_eq!(with_cards, [true, true, false], "{all}");
    // What a client reads it sends back, unchanged.
    let (s, again) = app
        .send(
            "PUT",
            "/api/v1/products/cut10",
            &json!({"name": "理发10次卡", "price": "300.00", "card": p_card(&app, "cut10").await}),
            None,
        )
        .await;
    assert_eq!((s, &again["card"]["visits"]), (200, &json!(10)), "{again}");

    // Out of bounds: refused naming the field, nothing changed.
    let before = app.snapshot().await;
    for (card, field) in [
        (json!({"kind": "count", "visits": 0}), "card.visits"),
        (json!({"kind": "count", "visits": 1001}), "card.visits"),
        (
            json!({"kind": "count", "visits": 5_000_000_000u64}),
            "card.visits",
        ),
        (
            json!({"kind": "count", "visits": 5, "days": 0}),
            "card.days",
        ),
        (
            json!({"kind": "count", "visits": 5, "days": 70_000}),
            "card.days",
        ),
        (json!({"kind": "period", "days": 3661}), "card.days"),
        (
            json!({"kind": "period", "days": 30, "daily_cap": 0}),
            "card.daily_cap",
        ),
        (
            json!({"kind": "period", "days": 30, "daily_cap": -1}),
            "card.daily_cap",
        ),
        (
            json!({"kind": "count", "visits": 5, "services": ["a", "a"]}),
            "card.services",
        ),
        (
            json!({"kind": "count", "visits": 5, "services": ["a", "理发"]}),
            "card.services[1]",
        ),
        (
            json!({"kind": "count", "visits": 5, "services": ["a", "x\u{1b}[2J"]}),
            "card.services[1]",
        ),
    ] {
        let (s, e) = app
            .send(
                "PUT",
                "/api/v1/products/bad",
                &json!({"name": "卡", "price": "1.00", "card": card}),
                None,
            )
            .await;
        assert_eq!(
            (s, &e["error"]["code"], &e["error"]["field"]),
            (422, &json!("invalid_card_plan"), &json!(field)),
            "{card}: {e}"
        );
        assert!(!e["error"]["message_zh"].as_str().unwrap().is_empty());
    }
    for card in [
        json!({"kind": "yearly", "days": 365}),
        json!({"kind": "count"}),
        json!({"kind": "count", "visits": 5, "daily_cap": 1}),
        json!({"visits": 5}),
        json!({"kind": "count", "visits": 1.5}),
    ] {
        let (s, e) = app
            .send(
                "PUT",
                "/api/v1/products/bad",
                &json!({"name": "卡", "price": "1.00", "card": card}),
                None,
            )
            .await;
        assert_eq!(
            (s, &e["error"]["code"]),
            (400, &json!("invalid_json")),
            "{card}: {e}"
        );
    }
    assert_eq!(app.snapshot().await, before);
    let (s, _) = app.get("/api/v1/products/bad").await;
    assert_eq!(s, 404);
}

async fn p_card(app: &App, sku: &str) -> Value {
    app.get(&format!("/api/v1/products/{sku}")).await.1["card"].clone()
}

#[tokio::test]
async fn cards_are_sold_listed_and_visited_within_their_rules() {
    let (app, m) = app().await;
    let (o, count, period) = sell(&app, &m).await;
    let day = today();
    assert!(count.starts_with("k-store-1-") && period.starts_with("k-store-1-"));
    assert_eq!(
        o["lines"][0]["card"],
        json!({"kind": "count", "visits": 10, "days": null, "services": ["haircut"], "cards": [count]})
    );
    assert_eq!(
        o["lines"][1]["card"],
        json!({"kind": "period", "days": 30, "daily_cap": 1, "services": [], "cards": [period]})
    );
    let order = o["id"].as_str().unwrap().to_string();
    let (_, got) = app.get(&format!("/api/v1/orders/{order}")).await;
    assert_eq!(got["lines"], o["lines"]);
    let receipt = app
        .call(
            "GET",
            &format!("/api/v1/orders/{order}/receipt"),
            vec![],
            None,
        )
        .await;
    let text = String::from_utf8(receipt.body).unwrap();
    let (line, code_line) = (
        text.find("理发10次卡").unwrap(),
        text.find(&format!("  卡 {count}\n")).unwrap(),
    );
    assert!(line < code_line, "{text}");
    assert!(text.contains(&format!("  卡 {period}\n")), "{text}");

    let listed = cards(&app, &m).await;
    assert_eq!(listed.len(), 2);
    let c = card(&app, &m, &count).await;
    assert_eq!(
        c,
        json!({
            "code": count, "name": "理发10次卡", "kind": "count", "services": ["haircut"],
            "price": "285.00", "valid_from": day.to_string(), "valid_to": null,
            "visits": 10, "used": 0, "left": 10, "visits_today": 0, "daily_cap": null,
            "visited": 0, "status": "usable", "held_here": 10,
            "held_at": [{"store": "store-1", "visits": 10}],
        })
    );
    let p = card(&app, &m, &period).await;
    assert_eq!(
        p,
        json!({
            "code": period, "name": "健身月卡", "kind": "period", "services": [],
            "price": "189.05", "valid_from": day.to_string(),
            "valid_to": day.plus(29).to_string(),
            "visits": null, "used": null, "left": null, "visits_today": 0, "daily_cap": 1,
            "visited": 0, "status": "usable", "held_here": null, "held_at": [],
        })
    );

    // Three haircuts: 7 left.
    for i in 0..3 {
        let (s, v) = visit(
            &app,
            &m,
            &count,
            &json!({"service": "haircut"}),
            &format!("v-{i}"),
        )
        .await;
        assert_eq!(s, 201, "{v}");
        assert_eq!(v["count"], 1);
        assert_eq!(v["card"]["left"], 9 - i);
        assert!(v["at"].as_str().unwrap().ends_with('Z'), "{v}");
    }
    let c = card(&app, &m, &count).await;
    assert_eq!(
        (
            &c["used"],
            &c["left"],
            &c["visited"],
            &c["visits_today"],
            &c["held_here"]
        ),
        (&json!(3), &json!(7), &json!(3), &json!(3), &json!(7))
    );
    // The replay of a visit is its first answer, and no second visit.
    let (s, again) = visit(&app, &m, &count, &json!({"service": "haircut"}), "v-2").await;
    assert_eq!((s, &again["card"]["left"]), (201, &json!(7)), "{again}");
    let a = app
        .call(
            "POST",
            &format!("/api/v1/members/{m}/cards/{count}/visits"),
            json!({"service": "haircut"}).to_string().into_bytes(),
            Some("v-2"),
        )
        .await;
    assert_eq!(a.headers["idempotent-replayed"], "true");
    assert_eq!(card(&app, &m, &count).await["left"], 7);
    // The same key with another body: reused.
    let (s, e) = visit(
        &app,
        &m,
        &count,
        &json!({"service": "haircut", "count": 2}),
        "v-2",
    )
    .await;
    assert_eq!(
        (s, &e["error"]["code"]),
        (409, &json!("idempotency_key_reused")),
        "{e}"
    );

    // The period card: once today, not twice; an empty body is one visit.
    let a = app
        .call(
            "POST",
            &format!("/api/v1/members/{m}/cards/{period}/visits"),
            Vec::new(),
            Some("p-1"),
        )
        .await;
    assert_eq!(a.status, 201, "{}", String::from_utf8_lossy(&a.body));
    let v = a.json().unwrap();
    assert_eq!(
        (&v["card"]["visits_today"], &v["card"]["visited"]),
        (&json!(1), &json!(1))
    );
    let before = state(&app, &m).await;
    let (s, e) = visit(&app, &m, &period, &json!({}), "p-2").await;
    assert_eq!(
        (s, &e["error"]["code"]),
        (422, &json!("card_daily_cap")),
        "{e}"
    );
    assert_eq!(e["error"]["daily_cap"], "1");
    assert_eq!(state(&app, &m).await, before);

    let (_, ledger) = app.get("/api/v1/ledger/summary").await;
    assert_eq!(
        ledger["cards"],
        json!({"sold": 2, "visits": 4, "refunded": 0, "kept": "0.00"})
    );
    let (_, h) = app.get(&format!("/api/v1/members/{m}/history")).await;
    let visits: Vec<&Value> = h["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "card_visited")
        .collect();
    assert_eq!(visits.len(), 4, "{h}");
    assert!(visits.iter().filter(|e| e["ref"] == count.as_str()).count() == 3);
}

#[tokio::test]
async fn bad_card_requests_are_refused_and_change_nothing() {
    let (app, m) = app().await;
    let (_, count, period) = sell(&app, &m).await;
    let before = state(&app, &m).await;

    // At checkout: a card goes to a member, one per whole unit.
    for (body, status, code) in [
        (
            json!({"lines": [{"sku": "cut10"}], "tenders": [{"kind": "cash"}]}),
            422,
            "card_needs_member",
        ),
        (
            json!({"member_id": m, "lines": [{"sku": "cut10", "qty": "1.5"}], "tenders": [{"kind": "cash"}]}),
            422,
            "invalid_card_qty",
        ),
        (
            json!({"member_id": m, "lines": [{"sku": "cut10", "qty": 21}], "tenders": [{"kind": "cash"}]}),
            422,
            "invalid_card_qty",
        ),
    ] {
        let (s, e) = app
            .send("POST", "/api/v1/checkouts", &body, Some("bad-sale"))
            .await;
        assert_eq!(
            (s, &e["error"]["code"]),
            (status, &json!(code)),
            "{body}: {e}"
        );
        assert_eq!(e["error"]["line"], "1", "{e}");
        let (s, e) = app
            .send("POST", "/api/v1/checkouts/quote", &body, None)
            .await;
        assert_eq!(
            (s, &e["error"]["code"]),
            (status, &json!(code)),
            "quote {body}: {e}"
        );
    }

    let hostile = [
        "k-store-1-1\u{1b}[2J".to_string(),
        "\u{0}".to_string(),
        "k".repeat(10_000),
    ];
    let mut cases: Vec<(String, Value, u16, &str)> = vec![
        (
            count.clone(),
            json!({"service": "massage"}),
            422,
            "card_not_applicable",
        ),
        (count.clone(), json!({}), 422, "card_not_applicable"),
        (
            count.clone(),
            json!({"service": "haircut", "count": 0}),
            422,
            "invalid_visit_count",
        ),
        (
            count.clone(),
            json!({"service": "haircut", "count": 101}),
            422,
            "invalid_visit_count",
        ),
        (
            count.clone(),
            json!({"service": "haircut", "count": -1}),
            422,
            "invalid_visit_count",
        ),
        (
            count.clone(),
            json!({"service": "haircut", "count": 11}),
            409,
            "card_used_up",
        ),
        (
            count.clone(),
            json!({"service": "haircut", "count": 1.5}),
            400,
            "invalid_json",
        ),
        (
            count.clone(),
            json!({"service": "haircut", "extra": 1}),
            400,
            "invalid_json",
        ),
        (period.clone(), json!({"count": 2}), 422, "card_daily_cap"),
        ("k-store-1-999".into(), json!({}), 404, "card_not_found"),
        ("k-store-1-x".into(), json!({}), 422, "invalid_card_code"),
        ("c-store-1-1".into(), json!({}), 422, "invalid_card_code"),
    ];
    for h in &hostile {
        cases.push((
            count.clone(),
            json!({"service": h}),
            422,
            "card_not_applicable",
        ));
        cases.push((
            period.clone(),
            json!({"service": h}),
            422,
            "card_not_applicable",
        ));
        cases.push((h.clone(), json!({}), 422, "invalid_card_code"));
    }
    for (i, (code, body, status, want)) in cases.iter().enumerate() {
        let path = format!("/api/v1/members/{m}/cards/{}/visits", percent(code));
        let a = app
            .call(
                "POST",
                &path,
                body.to_string().into_bytes(),
                Some(&format!("bad-{i}")),
            )
            .await;
        let e = a.json().unwrap_or(Value::Null);
        let what = format!("{} {body}: {e}", &code[..code.len().min(40)]);
        assert_eq!(
            (a.status.as_u16(), &e["error"]["code"]),
            (*status, &json!(want)),
            "{what}"
        );
        // What was sent is never echoed back.
        if code.len() > 64 || code.chars().any(char::is_control) {
            assert!(a.body.len() < 1_000, "{what}");
            assert!(
                !String::from_utf8_lossy(&a.body).contains('\u{1b}'),
                "{what}"
            );
        }
        if let Some(s) = body["service"].as_str()
            && (s.len() > 32 || s.chars().any(char::is_control))
        {
            assert!(a.body.len() < 1_000, "{what}");
            assert_eq!(e["error"]["field"], "service", "{what}");
            assert!(
                !e["error"].as_object().unwrap().contains_key("service"),
                "{what}"
            );
        }
    }
    // Without a key; an unknown member; at HQ.
    let a = app
        .call(
            "POST",
            &format!("/api/v1/members/{m}/cards/{count}/visits"),
            b"{}".to_vec(),
            None,
        )
        .await;
    assert_eq!(a.error_code().as_deref(), Some("idempotency_key_required"));
    let (s, e) = visit(
        &app,
        "m-store-1-999",
        &count,
        &json!({"service": "haircut"}),
        "v-x",
    )
    .await;
    assert_eq!(
        (s, &e["error"]["code"]),
        (404, &json!("member_not_found")),
        "{e}"
    );
    let (s, e) = app.get("/api/v1/members/nonsense/cards").await;
    assert_eq!(
        (s, &e["error"]["code"]),
        (404, &json!("member_not_found")),
        "{e}"
    );
    assert_eq!(state(&app, &m).await, before);

    let hq = App::as_node("hq", true);
    let (s, e) = visit(&hq, "m-store-1-1", &count, &json!({}), "hq-1").await;
    assert_eq!(
        (s, &e["error"]["code"]),
        (403, &json!("hq_sells_nothing")),
        "{e}"
    );
}

/// Percent-encode everything but unreserved characters, so any text makes
/// a path segment.
fn percent(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test]
async fn a_refund_takes_a_count_card_back_at_its_unused_value() {
    let (app, m) = app().await;
    let (o, count, period) = sell(&app, &m).await;
    let order = o["id"].as_str().unwrap().to_string();
    for i in 0..3 {
        let (s, v) = visit(
            &app,
            &m,
            &count,
            &json!({"service": "haircut"}),
            &format!("v-{i}"),
        )
        .await;
        assert_eq!(s, 201, "{v}");
    }
    let (_, before_refund) = app.get(&format!("/api/v1/members/{m}")).await;
    // Line 0 (the count card, 300.00 at the level's 95%: 285.00): 7 of 10
    // visits unused, 285.00 × 7/10 = 199.50 back, 85.50 kept.
    let (s, r) = app
        .send(
            "POST",
            &format!("/api/v1/orders/{order}/refunds"),
            &json!({"lines": [{"line": 0, "qty": "1"}], "reason": "不想剪了"}),
            Some("rf-1"),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    assert_eq!(r["cards_refunded"], json!([count]));
    assert_eq!(r["card_kept"], "85.50");
    assert_eq!(r["amount"], "199.50");
    let (_, after) = app.get(&format!("/api/v1/members/{m}")).await;
    let balance = |v: &Value| {
        tongka_core::money::Money::parse_amount(v["balance"].as_str().unwrap(), false).unwrap()
    };
    assert_eq!(
        balance(&after) - balance(&before_refund),
        tongka_core::money::Money::from_fen(19_950)
    );
    let c = card(&app, &m, &count).await;
    assert_eq!(
        (
            &c["status"],
            &c["used"],
            &c["left"],
            &c["visited"],
            &c["held_here"]
        ),
        (
            &json!("refunded"),
            &json!(3),
            &json!(0),
            &json!(3),
            &json!(0)
        ),
        "{c}"
    );
    assert_eq!(card(&app, &m, &period).await["status"], "usable");
    let (_, ledger) = app.get("/api/v1/ledger/summary").await;
    assert_eq!(
        ledger["cards"],
        json!({"sold": 2, "visits": 3, "refunded": 1, "kept": "85.50"})
    );
    let receipt = app
        .call(
            "GET",
            &format!("/api/v1/orders/{order}/receipt"),
            vec![],
            None,
        )
        .await;
    let text = String::from_utf8(receipt.body).unwrap();
    assert!(
        text.contains("85.50") && text.contains("Card kept"),
        "{text}"
    );

    // A visit after it, and the line refunded again: refused, nothing changed.
    let before = state(&app, &m).await;
    let (s, e) = visit(&app, &m, &count, &json!({"service": "haircut"}), "v-after").await;
    assert_eq!(
        (s, &e["error"]["code"]),
        (409, &json!("card_refunded")),
        "{e}"
    );
    assert_eq!(e["error"]["card"], count);
    let (s, e) = app
        .send(
            "POST",
            &format!("/api/v1/orders/{order}/refunds"),
            &json!({"lines": [{"line": 0, "qty": "1"}], "reason": "再退"}),
            Some("rf-2"),
        )
        .await;
    assert!(s == 409 || s == 422, "{e}");
    assert_eq!(state(&app, &m).await, before);
}
