//! What the report tests share: the days a test made its ops on, rows of
//! a report summed per store, a member import, and one store's day with a
//! real import beside real sales (`import_and_sales`), whose figures per
//! channel the tests compute by hand.

use serde_json::{Value, json};
use tongka_core::Money;
use tongka_core::day::Day;

use super::{App, TOKEN, code};

/// Today, China time (the chain's calendar).
pub fn today() -> Day {
    Day::of_ms(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64,
    )
}

/// The chain days a test made its ops on, as a query: yesterday to
/// tomorrow (a test crossing midnight has two days).
pub fn days() -> String {
    format!("from={}&to={}", today().plus(-1), today().plus(1))
}

/// The rows of `store`, summed field by field (money as money, counts as
/// counts).
pub fn summed(report: &Value, store: &str, fields: &[&str]) -> Value {
    let rows: Vec<&Value> = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["store"] == store)
        .collect();
    let mut out = serde_json::Map::new();
    for f in fields {
        let v = if rows.iter().any(|r| r[*f].is_string()) {
            let sum: Money = rows
                .iter()
                .map(|r| Money::parse_amount(r[*f].as_str().unwrap(), false).unwrap())
                .sum();
            json!(sum.to_string())
        } else {
            json!(rows.iter().map(|r| r[*f].as_i64().unwrap()).sum::<i64>())
        };
        out.insert(f.to_string(), v);
    }
    Value::Object(out)
}

/// The points report's figures of a row, in its columns' order.
pub const POINTS: &[&str] = &[
    "issued",
    "imported",
    "redeemed",
    "reversed",
    "returned",
    "expired",
    "moved_in",
    "moved_out",
    "net",
];

/// `GET path`, which must be refused `422 invalid_report_query` naming
/// `field`, with a message in English and in Chinese: the answer.
pub async fn refused(app: &App, path: &str, field: &str) -> Value {
    let (s, v) = app.get(path).await;
    assert_eq!((s, code(&v)), (422, "invalid_report_query"), "{path}: {v}");
    assert_eq!(v["error"]["field"], field, "{path}: {v}");
    assert!(!v["error"]["message"].as_str().unwrap().is_empty(), "{v}");
    assert!(
        v["error"]["message_zh"]
            .as_str()
            .unwrap()
            .chars()
            .any(|c| c > '\u{2e80}'),
        "{path}: {v}"
    );
    v
}

/// `POST /members/import` of `csv` (`query`: `?dry_run=true` or empty).
pub async fn import(app: &App, query: &str, csv: &[u8]) -> (u16, Value) {
    let a = app
        .raw(
            "POST",
            &format!("/api/v1/members/import{query}"),
            &[
                ("authorization", &format!("Bearer {TOKEN}")),
                ("content-type", "text/csv"),
            ],
            csv.to_vec(),
        )
        .await;
    (a.status.as_u16(), a.json().unwrap_or(Value::Null))
}

async fn post(app: &App, path: &str, body: Value, key: &str) -> Value {
    let (s, v) = app.send("POST", path, &body, Some(key)).await;
    assert_eq!(s, 201, "{path}: {v}");
    v
}

/// One store's day (store-1, the default programme):
/// - two members imported: 甲 with 100.50 principal, 10.00 bonus and 20
///   points; 乙 with 5 points;
/// - 丙 registered at the till, who recharges 200.00 by wechat and buys a
///   30.00 tea in cash (regular, 100%: 30 points);
/// - a walk-in buys a 12.00 cake by alipay.
///
/// Answers 丙's recharge (its `bonus` is the programme's).
pub async fn import_and_sales(app: &App) -> Value {
    let csv = "phone,name,birthday,card_no,principal,bonus,points,level\n\
        13800000101,甲,,,100.50,10,20,\n\
        13800000102,乙,,,0,0,5,\n";
    let (s, v) = import(app, "", csv.as_bytes()).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["created"], 2, "{v}");
    let c = post(
        app,
        "/api/v1/members",
        json!({"phone": "13800000103", "name": "丙"}),
        "fx-register",
    )
    .await;
    let c = c["id"].as_str().unwrap().to_string();
    let recharge = post(
        app,
        &format!("/api/v1/members/{c}/recharges"),
        json!({"amount": "200.00", "tender": "wechat"}),
        "fx-recharge",
    )
    .await;
    let sale = post(
        app,
        "/api/v1/checkouts",
        json!({"member_id": c, "lines": [{"description": "茶", "unit_price": "30.00", "qty": 1}],
               "tenders": [{"kind": "cash"}]}),
        "fx-sale",
    )
    .await;
    assert_eq!(sale["points_earned"], 30, "{sale}");
    post(
        app,
        "/api/v1/checkouts",
        json!({"lines": [{"description": "点心", "unit_price": "12.00", "qty": 1}],
               "tenders": [{"kind": "alipay"}]}),
        "fx-walk-in",
    )
    .await;
    recharge
}
