//! `GET /api/v1/ops/export`: every op once, as NDJSON, with the bytes the
//! log holds (they decode and hash to what the line says) and its part of
//! the ledger totals (summed, `/ledger/summary`); paged by the cursor while
//! recharges are being written, with no op missed or sent twice; a reader
//! that hangs up mid-stream ends the export, and resuming from what it read
//! gives the rest; bad queries refused with a code and both languages,
//! echoing nothing; HQ finance, the owner and the token only.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use common::{App, TOKEN};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tongka_core::money::Money;
use tongka_core::op::EncodedOp;
use tower::ServiceExt;

/// Exports count themselves in one process-wide counter
/// (`tongka_api::exports_running`): the tests that export take turns.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const PATH: &str = "/api/v1/ops/export";

/// An export's lines, parsed, and its content type.
async fn export(app: &App, query: &str) -> (Vec<Value>, String) {
    let a = app
        .call(
            "GET",
            &format!("/api/v1/ops/export{query}"),
            Vec::new(),
            None,
        )
        .await;
    let text = String::from_utf8(a.body.clone()).expect("UTF-8");
    assert_eq!(a.status, 200, "{query}: {text}");
    common::schema::conforms(&common::schema::doc(), "GET", PATH, &a);
    let lines = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    (lines, a.content_type().to_string())
}

/// The op lines and the end line of an export (which must end with one).
fn split(lines: &[Value]) -> (&[Value], &Value) {
    let (end, ops) = lines.split_last().expect("at least the end line");
    assert_eq!(end["type"], "end", "{end}");
    assert!(ops.iter().all(|l| l["type"] == "op"));
    (ops, end)
}

/// Standard base64, padded (the test's own decoder).
fn unbase64(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {c}"),
    };
    assert_eq!(s.len() % 4, 0);
    let mut out = Vec::new();
    for q in s.as_bytes().chunks(4) {
        let pad = q.iter().filter(|c| **c == b'=').count();
        let n = q[..4 - pad]
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, c)| n | (u32::from(val(*c)) << (18 - 6 * i)));
        out.extend_from_slice(&n.to_be_bytes()[1..4 - pad]);
    }
    out
}

async fn member(app: &App, phone: &str) -> String {
    let (s, m) = app
        .send(
            "POST",
            "/api/v1/members",
            &json!({"phone": phone, "name": "导出会员"}),
            Some(&format!("m-{phone}")),
        )
        .await;
    assert_eq!(s, 201, "{m}");
    m["id"].as_str().unwrap().to_string()
}

async fn recharge(app: &App, member: &str, key: &str, amount: &str) {
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

/// The node's version vector as `/sync/status` shows it.
async fn held(app: &App) -> BTreeMap<String, u64> {
    let (s, v) = app.get("/api/v1/sync/status").await;
    assert_eq!(s, 200);
    serde_json::from_value(v["version_vector"].clone()).expect("a map")
}

/// `since` raised by the op lines read: the cursor after them.
fn raise(cursor: &mut BTreeMap<String, u64>, ops: &[Value]) {
    for l in ops {
        let seq = l["seq"].as_u64().unwrap();
        let have = cursor
            .entry(l["origin"].as_str().unwrap().into())
            .or_default();
        assert_eq!(seq, *have + 1, "each origin's ops in order, no gap: {l}");
        *have = seq;
    }
}

fn render(cursor: &BTreeMap<String, u64>) -> String {
    cursor
        .iter()
        .map(|(o, s)| format!("{o}.{s}"))
        .collect::<Vec<_>>()
        .join("_")
}

#[tokio::test]
async fn every_op_once_with_its_bytes_and_its_part_of_the_ledger() {
    let _turn = SERIAL.lock().await;
    let app = App::new();
    let seed = app.seed().await;
    let (s, r) = app
        .send(
            "POST",
            &format!("/api/v1/orders/{}/refunds", seed.order),
            &json!({"lines": [{"line": 0, "qty": "1"}], "reason": "退一杯"}),
            Some("refund-1"),
        )
        .await;
    assert_eq!(s, 201, "{r}");

    let (lines, content_type) = export(&app, "").await;
    assert_eq!(content_type, "application/x-ndjson");
    let (ops, end) = split(&lines);
    let held = held(&app).await;
    assert_eq!(ops.len() as u64, held.values().sum::<u64>());
    assert_eq!(end["cursor"], render(&held));
    assert_eq!(end["held"], render(&held));
    assert_eq!(end["more"], false);
    assert_eq!(end["ops"], ops.len());
    let kinds: Vec<&str> = ops.iter().map(|l| l["kind"].as_str().unwrap()).collect();
    for k in ["member_registered", "recharged", "checked_out", "refunded"] {
        assert!(kinds.contains(&k), "{k} in {kinds:?}");
    }

    // The bytes are the op as the log holds it: they decode to the op the
    // line describes, and hash to its `hash`.
    for l in ops {
        let e = EncodedOp::decode(unbase64(l["bytes"].as_str().unwrap())).expect("decodes");
        assert_eq!(hex::encode(e.hash), l["hash"].as_str().unwrap());
        assert_eq!(e.op.id.to_string(), l["op"].as_str().unwrap());
        assert_eq!(e.op.body.kind(), l["kind"].as_str().unwrap());
        assert_eq!(e.op.by, l["by"].as_str().unwrap());
        assert_eq!(e.op.idem.as_deref(), l["idem"].as_str());
        assert_eq!(serde_json::to_value(&e.op.body).unwrap(), l["body"]);
        assert_eq!(e.op.hlc.ms, l["hlc"]["ms"].as_u64().unwrap());
    }
    let recharge = ops.iter().find(|l| l["kind"] == "recharged").unwrap();
    assert_eq!(recharge["member"], seed.member.as_str());
    assert_eq!(recharge["idem"], "seed-recharge");
    assert_eq!(recharge["ledger"]["recharged_principal"], "5000.00");
    assert!(recharge["ledger"].get("sales").is_none(), "zeros left out");

    // Summed, the lines' ledger parts are the node's totals.
    let (s, summary) = app.get("/api/v1/ledger/summary").await;
    assert_eq!(s, 200);
    for field in [
        "recharged_principal",
        "recharged_bonus",
        "spent_principal",
        "spent_bonus",
        "refunded_principal",
        "refunded_bonus",
        "sales",
        "refunded",
    ] {
        let sum = ops
            .iter()
            .filter(|l| l["ledger"].get(field).is_some())
            .map(|l| serde_json::from_value::<Money>(l["ledger"][field].clone()).unwrap())
            .fold(Money::ZERO, |a, b| a + b);
        assert_eq!(sum.to_string(), summary[field].as_str().unwrap(), "{field}");
    }
    for field in ["members", "recharges", "orders", "refunds", "points_issued"] {
        let sum: i64 = ops.iter().filter_map(|l| l["ledger"][field].as_i64()).sum();
        assert_eq!(sum, summary[field].as_i64().unwrap(), "{field}");
    }

    // From the end's cursor: nothing, and the same cursor.
    let (lines, _) = export(&app, &format!("?since={}", end["cursor"].as_str().unwrap())).await;
    let (ops, again) = split(&lines);
    assert!(ops.is_empty());
    assert_eq!(again["cursor"], end["cursor"]);
}

#[tokio::test]
async fn paging_while_recharges_are_written_misses_none_and_repeats_none() {
    let _turn = SERIAL.lock().await;
    let app = std::sync::Arc::new(App::new());
    let m = member(&app, "13800001111").await;
    const WRITES: usize = 80;
    let writer = {
        let app = app.clone();
        let m = m.clone();
        tokio::spawn(async move {
            for i in 0..WRITES {
                recharge(&app, &m, &format!("w-{i}"), "10.00").await;
            }
        })
    };
    let mut cursor: BTreeMap<String, u64> = BTreeMap::new();
    let mut seen: Vec<String> = Vec::new();
    let mut pages = 0;
    loop {
        let done = writer.is_finished();
        let (lines, _) = export(&app, &format!("?since={}&limit=7", render(&cursor))).await;
        let (ops, end) = split(&lines);
        assert!(ops.len() <= 7);
        raise(&mut cursor, ops);
        assert_eq!(end["cursor"], render(&cursor), "the end line's cursor");
        seen.extend(ops.iter().map(|l| l["op"].as_str().unwrap().to_string()));
        pages += 1;
        // Stop at a page after the writes ended that found nothing more.
        if done && ops.is_empty() && end["more"] == false {
            break;
        }
    }
    writer.await.unwrap();
    assert!(pages > 2, "paged: {pages}");
    let held = held(&app).await;
    let mut all: Vec<String> = held
        .iter()
        .flat_map(|(o, n)| (1..=*n).map(move |s| format!("{o}#{s}")))
        .collect();
    let mut got = seen.clone();
    got.sort();
    got.dedup();
    assert_eq!(got.len(), seen.len(), "no op twice");
    all.sort();
    assert_eq!(got, all, "every op");
    assert_eq!(seen.len(), WRITES + 1);
}

#[tokio::test]
async fn a_reader_that_hangs_up_ends_the_export_and_resumes_from_what_it_read() {
    let _turn = SERIAL.lock().await;
    let app = std::sync::Arc::new(App::new());
    let m = member(&app, "13800002222").await;
    // Enough ops that the stream is many sends long.
    const WRITES: usize = 700;
    let mut tasks = Vec::new();
    for t in 0..7 {
        let app = app.clone();
        let m = m.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..WRITES / 7 {
                recharge(&app, &m, &format!("d-{t}-{i}"), "1.00").await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let before = tongka_api::exports_running();
    assert_eq!(before, 0);

    let router = tongka_api::router(app.state.clone());
    let req = Request::builder()
        .uri("/api/v1/ops/export")
        .header("authorization", format!("Bearer {TOKEN}"))
        .body(Body::empty())
        .unwrap();
    let resp = router.oneshot(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    let mut body = resp.into_body();
    let first = body
        .frame()
        .await
        .expect("a first frame")
        .unwrap()
        .into_data()
        .unwrap();
    assert_eq!(tongka_api::exports_running(), 1, "still streaming");
    drop(body);
    // The export notices at its next send and ends.
    let t0 = Instant::now();
    while tongka_api::exports_running() != 0 {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "the export did not end after its reader hung up"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    // The complete lines read; the cursor after them; the rest from it.
    let text = String::from_utf8_lossy(&first);
    let complete = &text[..text.rfind('\n').expect("a whole line") + 1];
    let read: Vec<Value> = complete
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(read.iter().all(|l| l["type"] == "op"), "no end line yet");
    assert!(!read.is_empty() && read.len() < WRITES);
    let mut cursor = BTreeMap::new();
    raise(&mut cursor, &read);
    let (lines, _) = export(&app, &format!("?since={}", render(&cursor))).await;
    let (rest, end) = split(&lines);
    raise(&mut cursor, rest);
    assert_eq!(read.len() + rest.len(), WRITES + 1);
    assert_eq!(end["cursor"], render(&held(&app).await));
}

#[tokio::test]
async fn bad_queries_are_refused_in_both_languages_echoing_nothing() {
    let _turn = SERIAL.lock().await;
    let app = App::new();
    let m = member(&app, "13800003333").await;
    recharge(&app, &m, "r-1", "10.00").await;
    for (query, status, code, field) in [
        ("?since=store-1", 422, "invalid_export_query", "since"),
        ("?since=store-1.x", 422, "invalid_export_query", "since"),
        ("?since=store-1.01", 422, "invalid_export_query", "since"),
        (
            "?since=store-1.1_store-1.2",
            422,
            "invalid_export_query",
            "since",
        ),
        ("?since=Store-1.1", 422, "invalid_export_query", "since"),
        (
            "?since=store-1.1%0Ahq.1",
            422,
            "invalid_export_query",
            "since",
        ),
        ("?since=store%00-1.1", 422, "invalid_export_query", "since"),
        (
            "?since=store-1.1%E2%80%AE",
            422,
            "invalid_export_query",
            "since",
        ),
        ("?limit=0", 422, "invalid_export_query", "limit"),
        ("?limit=100001", 422, "invalid_export_query", "limit"),
        (
            "?limit=99999999999999999999999",
            422,
            "invalid_export_query",
            "limit",
        ),
        ("?limit=-1", 422, "invalid_export_query", "limit"),
        ("?limit=ten", 422, "invalid_export_query", "limit"),
        ("?limit=1&limit=2", 422, "invalid_export_query", "limit"),
        ("?from=store-1.1", 422, "invalid_export_query", "query"),
    ] {
        let a = app
            .call(
                "GET",
                &format!("/api/v1/ops/export{query}"),
                Vec::new(),
                None,
            )
            .await;
        let v = a.json().unwrap_or(Value::Null);
        assert_eq!(a.status.as_u16(), status, "{query}: {v}");
        common::schema::conforms(&common::schema::doc(), "GET", PATH, &a);
        assert_eq!(v["error"]["code"], code, "{query}: {v}");
        assert_eq!(v["error"]["field"], field, "{query}: {v}");
        let (en, zh) = (
            v["error"]["message"].as_str().unwrap(),
            v["error"]["message_zh"].as_str().unwrap(),
        );
        assert!(!zh.is_empty() && zh.chars().any(|c| c > '\u{2e80}'), "{zh}");
        for part in ["store-1.x", "01", "ten", "99999", "\n"] {
            assert!(
                !en.contains(part) && !zh.contains(part),
                "{query} echoed: {v}"
            );
        }
    }
    // An origin this node holds nothing of; more ops than it holds.
    let (s, v) = app.get("/api/v1/ops/export?since=store-9.1").await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["error"]["code"], "export_origin_unknown");
    assert_eq!(v["error"]["origin"], "store-9");
    let (s, v) = app.get("/api/v1/ops/export?since=store-1.999").await;
    assert_eq!(s, 409, "{v}");
    assert_eq!(v["error"]["code"], "export_cursor_ahead");
    assert_eq!(v["error"]["held"], "2");
    // Empty values count as not given.
    let (lines, _) = export(&app, "?since=&limit=").await;
    assert_eq!(split(&lines).0.len(), 2);
}

#[tokio::test]
async fn hq_finance_and_the_owner_may_export_other_roles_may_not() {
    let _turn = SERIAL.lock().await;
    let app = App::new();
    for (login, role) in [
        ("fin", "hq_finance"),
        ("own", "owner"),
        ("adm", "hq_admin"),
        ("mgr", "store_manager"),
        ("till", "cashier"),
    ] {
        app.create_staff(login, role, &["store-1"], "pass-word-1")
            .await;
        let token = app.sign_in(login, "pass-word-1").await;
        let a = app
            .call_as(&token, "GET", "/api/v1/ops/export", Vec::new(), None)
            .await;
        let allowed = matches!(role, "hq_finance" | "owner");
        assert_eq!(a.status.as_u16(), if allowed { 200 } else { 403 }, "{role}");
        if !allowed {
            // Store managers and HQ admins may see reports (`ROUTES`), but
            // not export the log: a rule of its own, a code of its own.
            let code = if role == "cashier" {
                "forbidden_for_role"
            } else {
                "export_not_for_role"
            };
            assert_eq!(a.error_code().as_deref(), Some(code), "{role}");
            common::schema::conforms(&common::schema::doc(), "GET", PATH, &a);
        }
    }
    let a = app.raw("GET", "/api/v1/ops/export", &[], Vec::new()).await;
    assert_eq!(a.status.as_u16(), 401);
}
