//! Shift and day closes over HTTP (交班 / 日结): a day of sales, recharges
//! and refunds in cash and from the balance; the preview against figures
//! computed by hand; the close, its replay, a second close refused; who
//! may close what; the list, one close and its printed slip; bad input
//! refused with nothing changed; HQ closes nothing.

mod common;

use common::{App, code};
use serde_json::{Value, json};

async fn ok(app: &App, method: &str, path: &str, body: Value, key: &str) -> Value {
    let (s, v) = app.send(method, path, &body, Some(key)).await;
    assert_eq!(s, 201, "{method} {path}: {v}");
    v
}

/// The day, by hand:
/// - recharges: 500.00 cash, 200.00 wechat (no bonus: default programme);
/// - a walk-in sale of 37.00 handed 50 in cash (13.00 change): cash 37.00;
/// - a member's sale of 100.00 from the balance;
/// - a member's sale of 60.00: 20 cash, 40.00 balance;
/// - the walk-in sale refunded (37.00 back in cash), the 100.00 sale
///   refunded (to the balance).
///
/// Cash: sold 57.00 in 2 sales, recharged 500.00, refunded 37.00.
async fn a_day(app: &App) {
    let m = ok(
        app,
        "POST",
        "/api/v1/members",
        json!({"phone": "13800000001", "name": "李四"}),
        "m",
    )
    .await;
    let member = m["id"].as_str().unwrap().to_string();
    let recharges = format!("/api/v1/members/{member}/recharges");
    ok(
        app,
        "POST",
        &recharges,
        json!({"amount": "500.00", "tender": "cash"}),
        "r1",
    )
    .await;
    ok(
        app,
        "POST",
        &recharges,
        json!({"amount": "200", "tender": "wechat"}),
        "r2",
    )
    .await;
    let walk_in = ok(
        app,
        "POST",
        "/api/v1/checkouts",
        json!({"lines": [{"description": "蛋糕", "unit_price": "18.50", "qty": 2}],
               "tenders": [{"kind": "cash", "amount": "50"}]}),
        "o1",
    )
    .await;
    assert_eq!(walk_in["change"], "13.00", "{walk_in}");
    let beans = ok(
        app,
        "POST",
        "/api/v1/checkouts",
        json!({"member_id": member, "lines": [{"description": "咖啡豆", "unit_price": "100.00", "qty": 1}],
               "tenders": [{"kind": "balance"}]}),
        "o2",
    )
    .await;
    ok(
        app,
        "POST",
        "/api/v1/checkouts",
        json!({"member_id": member, "lines": [{"description": "茶", "unit_price": "60.00", "qty": 1}],
               "tenders": [{"kind": "cash", "amount": "20"}, {"kind": "balance"}]}),
        "o3",
    )
    .await;
    for (order, key) in [(&walk_in, "f1"), (&beans, "f2")] {
        let id = order["id"].as_str().unwrap();
        ok(
            app,
            "POST",
            &format!("/api/v1/orders/{id}/refunds"),
            json!({}),
            key,
        )
        .await;
    }
}

fn tender<'a>(close: &'a Value, kind: &str) -> &'a Value {
    close["tenders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["tender"] == kind)
        .unwrap_or_else(|| panic!("tender {kind} in {close}"))
}

#[tokio::test]
async fn a_day_previewed_closed_once_and_printed() {
    let app = App::new();
    a_day(&app).await;
    app.create_staff("mgr", "store_manager", &["store-1"], "manager-pw-1")
        .await;
    app.create_staff("till", "cashier", &["store-1"], "cashier-pw-1")
        .await;
    let mgr = app.sign_in("mgr", "manager-pw-1").await;
    let till = app.sign_in("till", "cashier-pw-1").await;

    let (s, p) = app
        .get("/api/v1/closes/preview?kind=day&opening_float=200&counted_cash=718.50")
        .await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["id"], Value::Null);
    assert_eq!(
        (p["kind"].as_str(), p["kind_zh"].as_str()),
        (Some("day"), Some("日结"))
    );
    assert_eq!(p["seq_from"], 1);
    assert_eq!(p["orders"], 3);
    assert_eq!(p["sales"], "197.00");
    assert_eq!(
        (p["refunds"].as_u64(), p["refunded"].as_str()),
        (Some(2), Some("137.00"))
    );
    assert_eq!(
        (p["recharges"].as_u64(), p["recharged"].as_str()),
        (Some(2), Some("700.00"))
    );
    let cash = tender(&p, "cash");
    assert_eq!(
        (cash["sales"].as_u64(), cash["sold"].as_str()),
        (Some(2), Some("57.00")),
        "{p}"
    );
    assert_eq!(cash["recharged"], "500.00");
    assert_eq!(
        (cash["refunds"].as_u64(), cash["refunded"].as_str()),
        (Some(1), Some("37.00"))
    );
    assert_eq!(cash["net"], "520.00");
    let balance = tender(&p, "balance");
    assert_eq!(
        (balance["sales"].as_u64(), balance["sold"].as_str()),
        (Some(2), Some("140.00"))
    );
    assert_eq!(balance["refunded"], "100.00");
    assert_eq!(tender(&p, "wechat")["recharged"], "200.00");
    assert_eq!(tender(&p, "alipay")["net"], "0.00");
    // 200 + 57 + 500 − 37.
    assert_eq!(p["expected_cash"], "720.00");
    assert_eq!(p["difference"], "-1.50");
    assert_eq!(p["result"], "short");

    // A cashier previews and closes a shift, not the day.
    let (s, v) = app.get_as(&till, "/api/v1/closes/preview?kind=day").await;
    assert_eq!((s, code(&v)), (403, "forbidden_for_role"), "{v}");
    let body = json!({"kind": "day", "opening_float": "200.00", "counted_cash": "718.50", "note": "两张50元已存银行"});
    let (s, v) = app
        .send_as(&till, "POST", "/api/v1/closes", &body, Some("c-till"))
        .await;
    assert_eq!((s, code(&v)), (403, "forbidden_for_role"), "{v}");

    let (s, day) = app
        .send_as(&mgr, "POST", "/api/v1/closes", &body, Some("c-1"))
        .await;
    assert_eq!(s, 201, "{day}");
    for k in [
        "orders",
        "sales",
        "tenders",
        "expected_cash",
        "difference",
        "seq_from",
        "seq_to",
    ] {
        assert_eq!(day[k], p[k], "{k}: {day} against the preview {p}");
    }
    assert_eq!(day["counted_cash"], "718.50");
    assert_eq!(day["note"], "两张50元已存银行");
    assert!(day["by"].as_str().unwrap().starts_with("s-"), "{day}");
    let id = day["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("store-1."), "{id}");
    // The same key: the first answer.
    let a = app
        .call_as(
            &mgr,
            "POST",
            "/api/v1/closes",
            body.to_string().into_bytes(),
            Some("c-1"),
        )
        .await;
    assert_eq!(a.status, 201);
    assert_eq!(a.headers.get("idempotent-replayed").unwrap(), "true");
    assert_eq!(a.json().unwrap(), day);
    // A second close of the day is refused, and changes nothing.
    let before = app.snapshot().await;
    let (s, v) = app
        .send_as(&mgr, "POST", "/api/v1/closes", &body, Some("c-2"))
        .await;
    assert_eq!((s, code(&v)), (409, "already_closed"), "{v}");
    assert_eq!(v["error"]["last_closed"], day["day"]);
    assert!(
        v["error"]["message_zh"]
            .as_str()
            .unwrap()
            .contains("已日结"),
        "{v}"
    );
    assert_eq!(app.snapshot().await, before);
    let (s, v) = app.get("/api/v1/closes/preview?kind=day").await;
    assert_eq!((s, code(&v)), (409, "already_closed"), "{v}");

    // A late sale after the day close falls in the cashier's shift.
    ok(
        &app,
        "POST",
        "/api/v1/checkouts",
        json!({"lines": [{"description": "水", "unit_price": "2.00", "qty": 1}],
               "tenders": [{"kind": "cash", "amount": "2"}]}),
        "o4",
    )
    .await;
    let shift = json!({"kind": "shift", "counted_cash": "522.00"});
    let (s, sh) = app
        .send_as(&till, "POST", "/api/v1/closes", &shift, Some("c-3"))
        .await;
    assert_eq!(s, 201, "{sh}");
    assert_eq!(sh["kind"], "shift");
    // The first shift close covers the whole log, the day close's op too.
    assert_eq!(sh["seq_from"], 1);
    assert_eq!(sh["orders"], 4);
    assert_eq!(tender(&sh, "cash")["sold"], "59.00");
    assert_eq!(sh["expected_cash"], "522.00");
    assert_eq!(sh["result"], "even");
    // The next shift starts after it: only the shift close's own op so far.
    let (s, next) = app.get("/api/v1/closes/preview?kind=shift").await;
    assert_eq!(s, 200, "{next}");
    assert_eq!(
        next["seq_from"].as_u64(),
        Some(sh["seq_to"].as_u64().unwrap() + 1)
    );
    assert_eq!(next["seq_to"], next["seq_from"]);
    assert_eq!(
        (next["orders"].as_u64(), next["expected_cash"].as_str()),
        (Some(0), Some("0.00"))
    );

    // The list, one close, its slip.
    let (s, list) = app.get("/api/v1/closes?store=store-1").await;
    assert_eq!(s, 200, "{list}");
    let closes = list["closes"].as_array().unwrap();
    assert_eq!(closes.len(), 2, "{list}");
    assert!(closes.iter().any(|c| c == &day), "{list}");
    let (s, only) = app.get("/api/v1/closes?kind=shift").await;
    assert_eq!(s, 200);
    assert_eq!(only["closes"].as_array().unwrap().len(), 1);
    let (s, one) = app.get(&format!("/api/v1/closes/{id}")).await;
    assert_eq!((s, &one), (200, &day));
    let a = app
        .call(
            "GET",
            &format!("/api/v1/closes/{id}/receipt"),
            Vec::new(),
            None,
        )
        .await;
    assert_eq!(a.status, 200);
    let slip = String::from_utf8(a.body.clone()).unwrap();
    assert!(slip.contains("日结"), "{slip}");
    assert!(
        slip.contains("应有现金 Expected") && slip.contains("720.00"),
        "{slip}"
    );
    assert!(
        slip.contains("短款 Short") && slip.contains("-1.50"),
        "{slip}"
    );
    assert!(slip.contains("两张50元已存银行"), "{slip}");
    for bad in ["store-1.999", "nope", "store-1.0"] {
        let (s, v) = app.get(&format!("/api/v1/closes/{bad}")).await;
        assert_eq!((s, code(&v)), (404, "close_not_found"), "{bad}: {v}");
    }
}

#[tokio::test]
async fn bad_input_is_refused_and_changes_nothing() {
    let app = App::new();
    a_day(&app).await;
    let before = app.snapshot().await;
    let cases = [
        (
            json!({"kind": "day", "counted_cash": "-1"}),
            "invalid_amount",
        ),
        (
            json!({"kind": "day", "counted_cash": "1.234"}),
            "invalid_amount",
        ),
        (
            json!({"kind": "day", "counted_cash": "10000000.01"}),
            "invalid_amount",
        ),
        (
            json!({"kind": "day", "counted_cash": "abc"}),
            "invalid_amount",
        ),
        (
            json!({"kind": "day", "counted_cash": "1", "opening_float": "-0.01"}),
            "invalid_amount",
        ),
        (
            json!({"kind": "day", "counted_cash": "1", "note": "ok\u{7}"}),
            "invalid_note",
        ),
        (
            json!({"kind": "day", "counted_cash": "1", "note": "x".repeat(201)}),
            "invalid_note",
        ),
        (
            json!({"kind": "week", "counted_cash": "1"}),
            "invalid_close_kind",
        ),
        (
            json!({"kind": "shift", "counted_cash": "1", "day": "2026-01-01"}),
            "invalid_close_query",
        ),
        (
            json!({"kind": "day", "counted_cash": "1", "day": "2026-02-30"}),
            "invalid_close_query",
        ),
        (
            json!({"kind": "day", "counted_cash": "1", "day": "2100-01-01"}),
            "close_day_not_begun",
        ),
        (
            json!({"kind": "day", "counted_cash": "1", "extra": 1}),
            "invalid_json",
        ),
        (json!({"kind": "day"}), "invalid_json"),
    ];
    for (i, (body, want)) in cases.iter().enumerate() {
        let (s, v) = app
            .send("POST", "/api/v1/closes", body, Some(&format!("bad-{i}")))
            .await;
        assert_eq!(code(&v), *want, "{body}: {v}");
        assert!((400..500).contains(&s), "{body}: {s}");
        assert!(
            v["error"]["message_zh"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{v}"
        );
        assert!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{v}"
        );
    }
    let (s, v) = app
        .send(
            "POST",
            "/api/v1/closes",
            &json!({"kind": "day", "counted_cash": "1"}),
            None,
        )
        .await;
    assert_eq!((s, code(&v)), (400, "idempotency_key_required"), "{v}");
    for q in [
        "kind=month",
        "kind=day&counted_cash=-5",
        "kind=day&opening_float=1.001",
        "kind=shift&day=2026-01-01",
        "kind=day&nope=1",
        "",
    ] {
        let (s, v) = app.get(&format!("/api/v1/closes/preview?{q}")).await;
        assert!((400..500).contains(&s), "{q}: {s} {v}");
    }
    for q in [
        "from=2026-13-01",
        "from=2026-02-01&to=2026-01-01",
        "limit=0",
        "store=BAD",
        "from=2020-01-01&to=2026-01-01",
    ] {
        let (s, v) = app.get(&format!("/api/v1/closes?{q}")).await;
        assert_eq!((s, code(&v)), (422, "invalid_close_query"), "{q}: {v}");
    }
    assert_eq!(app.snapshot().await, before);
    let (s, list) = app.get("/api/v1/closes").await;
    assert_eq!(s, 200);
    assert_eq!(list["closes"], json!([]));
}

#[tokio::test]
async fn hq_closes_nothing() {
    let app = App::as_node("hq", true);
    let (s, v) = app
        .send(
            "POST",
            "/api/v1/closes",
            &json!({"kind": "day", "counted_cash": "0"}),
            Some("hq-1"),
        )
        .await;
    assert_eq!((s, code(&v)), (403, "hq_closes_nothing"), "{v}");
    assert!(
        v["error"]["message_zh"]
            .as_str()
            .unwrap()
            .contains("总部不收款"),
        "{v}"
    );
    let (s, v) = app.get("/api/v1/closes/preview?kind=shift").await;
    assert_eq!((s, code(&v)), (403, "hq_closes_nothing"), "{v}");
    // HQ reads the closes it holds (none here).
    let (s, v) = app.get("/api/v1/closes").await;
    assert_eq!((s, v["closes"].clone()), (200, json!([])));
}

/// Store-2's ops, made at `two`, applied at `app` (as replication would).
async fn ship(app: &App, two: &App) {
    let store2 = tongka_core::ids::NodeId::new("store-2").unwrap();
    app.receive(two.engine.db().ops_from(&store2, 1, 1000).unwrap())
        .await;
}

fn ids(list: &Value) -> Vec<String> {
    list["closes"]
        .as_array()
        .unwrap_or_else(|| panic!("closes in {list}"))
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

/// Reading closes follows the reports' rule: at store-1, which holds
/// store-2's closes too, a cashier and a manager of store-1 see store-1's
/// only (the list narrowed; store-2's list, one close and its slip refused
/// 403 `not_at_this_store`, a close that does not exist alike); a manager
/// of both stores and HQ finance see both; the token sees all.
#[tokio::test]
async fn store_staff_read_their_own_stores_closes_only() {
    let app = App::new();
    let two = App::named("store-2", "store");
    ok(
        &app,
        "POST",
        "/api/v1/closes",
        json!({"kind": "shift", "counted_cash": "0"}),
        "c1-shift",
    )
    .await;
    ok(
        &app,
        "POST",
        "/api/v1/closes",
        json!({"kind": "day", "counted_cash": "0"}),
        "c1-day",
    )
    .await;
    ok(
        &two,
        "POST",
        "/api/v1/closes",
        json!({"kind": "day", "counted_cash": "0"}),
        "c2-day",
    )
    .await;
    ship(&app, &two).await;
    let (s, all) = app.get("/api/v1/closes").await;
    assert_eq!(s, 200, "{all}");
    let all = ids(&all);
    assert_eq!(all.len(), 3, "{all:?}");
    let mine: Vec<String> = all
        .iter()
        .filter(|i| i.starts_with("store-1."))
        .cloned()
        .collect();
    let theirs = all
        .iter()
        .find(|i| i.starts_with("store-2."))
        .unwrap()
        .clone();
    assert_eq!(mine.len(), 2);

    let pw = "correct horse battery";
    app.create_staff("till", "cashier", &["store-1"], pw).await;
    app.create_staff("mgr", "store_manager", &["store-1"], pw)
        .await;
    app.create_staff("both", "store_manager", &["store-1", "store-2"], pw)
        .await;
    app.create_staff("fin", "hq_finance", &[], pw).await;
    for login in ["till", "mgr"] {
        let who = app.sign_in(login, pw).await;
        let (s, v) = app.get_as(&who, "/api/v1/closes").await;
        assert_eq!(s, 200, "{login}: {v}");
        assert_eq!(ids(&v), mine, "{login}: newest first, store-1's only");
        let (s, v) = app.get_as(&who, "/api/v1/closes?kind=day").await;
        assert_eq!((s, ids(&v).len()), (200, 1), "{login}: {v}");
        let (s, v) = app.get_as(&who, "/api/v1/closes?store=store-1").await;
        assert_eq!((s, ids(&v)), (200, mine.clone()), "{login}: {v}");
        let (s, v) = app
            .get_as(&who, &format!("/api/v1/closes/{}", mine[0]))
            .await;
        assert_eq!(s, 200, "{login}: {v}");
        for path in [
            "/api/v1/closes?store=store-2".to_string(),
            format!("/api/v1/closes/{theirs}"),
            format!("/api/v1/closes/{theirs}/receipt"),
            "/api/v1/closes/store-2.999".to_string(),
        ] {
            let (s, v) = app.get_as(&who, &path).await;
            assert_eq!(
                (s, code(&v)),
                (403, "not_at_this_store"),
                "{login} {path}: {v}"
            );
            assert_eq!(v["error"]["store"], "store-2", "{v}");
            assert!(
                v["error"]["message_zh"]
                    .as_str()
                    .unwrap()
                    .contains("store-2"),
                "{v}"
            );
        }
    }
    for login in ["both", "fin"] {
        let who = app.sign_in(login, pw).await;
        let (s, v) = app.get_as(&who, "/api/v1/closes").await;
        assert_eq!((s, ids(&v)), (200, all.clone()), "{login}: {v}");
        let (s, v) = app.get_as(&who, "/api/v1/closes?limit=1").await;
        assert_eq!((s, ids(&v)), (200, vec![all[0].clone()]), "{login}: {v}");
        let (s, v) = app.get_as(&who, &format!("/api/v1/closes/{theirs}")).await;
        assert_eq!(
            (s, v["store"].as_str()),
            (200, Some("store-2")),
            "{login}: {v}"
        );
        let a = app
            .call_as(
                &who,
                "GET",
                &format!("/api/v1/closes/{theirs}/receipt"),
                Vec::new(),
                None,
            )
            .await;
        assert_eq!(a.status, 200, "{login}");
    }
}
