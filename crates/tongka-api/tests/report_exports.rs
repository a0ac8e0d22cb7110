//! Every report as CSV and .xlsx, read back and compared cell by cell with
//! the report's JSON, on real figures: at store-1 (this node) a member's
//! recharge with its bonus, a balance sale and its refund, a walk-in's cash
//! sale; at store-2 a member's recharge by wechat, shipped here as remote
//! ops. The CSV is parsed back by an RFC 4180 reader written here; the
//! .xlsx is opened with `calamine` (its second sheet, how fresh the
//! figures are, against the JSON's `freshness` too). Headers are Chinese by default and
//! English with `lang=en`; a bad `format` or `lang` is refused like any
//! other bad report query, and changes nothing.
//!
//! No text cell of these five reports carries a client's text (a store is
//! a node name: a-z, 0-9 and -), so the formula guard is checked by the
//! CSV renderer's unit test (`export::tests`).

mod common;

use std::io::Cursor;
use std::time::Duration;

use calamine::{Data, Reader, Xlsx};
use common::reports::POINTS;
use common::{App, code};
use serde_json::{Value, json};
use tongka_actors::{Engine, EngineConfig, Outcome};
use tongka_core::day::Day;
use tongka_core::ids::NodeId;
use tongka_core::member::Profile;
use tongka_core::{Money, Programme, TenderKind};
use tongka_db::{Db, DbOptions};

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

fn n(s: &str) -> NodeId {
    NodeId::new(s).unwrap()
}

async fn post(app: &App, path: &str, body: Value, key: &str) -> Value {
    let (s, v) = app.send("POST", path, &body, Some(key)).await;
    assert_eq!(s, 201, "{path}: {v}");
    v
}

/// Store-1's and store-2's ops, all held by `app` (store-1).
async fn chain(app: &App) -> tempfile::TempDir {
    let a = post(
        app,
        "/api/v1/members",
        json!({"phone": "13900000001", "name": "甲"}),
        "m-a",
    )
    .await;
    let a = a["id"].as_str().unwrap().to_string();
    post(
        app,
        &format!("/api/v1/members/{a}/recharges"),
        json!({"amount": "1000.00", "tender": "cash"}),
        "r-a",
    )
    .await;
    let sale = post(
        app,
        "/api/v1/checkouts",
        json!({"member_id": a, "lines": [{"description": "茶", "unit_price": "120.00", "qty": 1}],
               "tenders": [{"kind": "balance"}]}),
        "o-a",
    )
    .await;
    post(
        app,
        "/api/v1/checkouts",
        json!({"lines": [{"description": "点心", "unit_price": "50.05", "qty": 1}],
               "tenders": [{"kind": "cash", "amount": "100.00"}]}),
        "o-walk-in",
    )
    .await;
    let order = sale["id"].as_str().unwrap();
    post(
        app,
        &format!("/api/v1/orders/{order}/refunds"),
        json!({"lines": [{"line": 0, "qty": "1"}], "reason": "顾客退货"}),
        "f-a",
    )
    .await;

    let dir = tempfile::tempdir().unwrap();
    let (db, recovered) = Db::open(
        &dir.path().join("store-2.redb"),
        DbOptions {
            node: n("store-2"),
            max_batch: 64,
            queue_max: 1024,
        },
    )
    .unwrap();
    let two = Engine::new(
        db,
        Programme::default(),
        recovered.hlc,
        EngineConfig {
            max_in_flight: 64,
            idle_passivate: Duration::from_secs(60),
        },
    );
    let profile = Profile {
        phone: "13900000002".into(),
        name: "乙".into(),
        birthday: None,
        gender: None,
        card_no: None,
        invited_by: None,
        tags: vec![],
        notes: String::new(),
    };
    let b = match two.register("t".into(), None, profile).await.unwrap().0 {
        Outcome::Member(m) => m.id,
        other => panic!("{other:?}"),
    };
    two.recharge(
        "t".into(),
        None,
        b,
        Money::from_fen(20_001),
        TenderKind::Wechat,
    )
    .await
    .unwrap();
    for op in two.db().ops_from(&n("store-2"), 1, 10_000).unwrap() {
        let (tx, rx) = tokio::sync::oneshot::channel();
        app.engine
            .apply_remote(op, Box::new(move |r| tx.send(r).unwrap()))
            .await
            .unwrap();
        rx.await.unwrap().unwrap();
    }
    dir
}

/// The chain days the test made its ops on (today, or tomorrow if it
/// crossed midnight, China time), one either side.
fn days() -> (Day, Day) {
    let today = Day::of_ms(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64,
    );
    (today.plus(-1), today.plus(1))
}

/// A JSON value as the file writes it: a string as it is, a number in
/// decimal, nothing as an empty cell.
fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Null => String::new(),
        other => panic!("not a cell: {other}"),
    }
}

fn row(r: &Value, fields: &[&str]) -> Vec<String> {
    fields.iter().map(|f| s(&r[*f])).collect()
}

const SALES: &[&str] = &[
    "sales",
    "sales_amount",
    "recharges",
    "recharged_principal",
    "recharged_bonus",
    "refunds",
    "refunded",
    "balance_spent_principal",
    "balance_spent_bonus",
    "balance_refunded_principal",
    "balance_refunded_bonus",
];

/// One report: its path, its name in file names, its sheet's names, its
/// headers (zh, en) and its rows as the file must hold them, from its JSON
/// (`zh`: the summary rows' labels in Chinese, else English).
struct Case {
    path: String,
    name: &'static str,
    sheet: (&'static str, &'static str),
    zh: &'static [&'static str],
    en: &'static [&'static str],
    rows: fn(&Value, bool) -> Vec<Vec<String>>,
}

fn label(zh: bool, z: &str, e: &str) -> String {
    if zh { z } else { e }.to_string()
}

fn sales_rows(v: &Value, zh: bool) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| [row(r, &["day", "store"]), row(r, SALES)].concat())
        .collect();
    out.push(
        [
            vec![String::new(), label(zh, "合计", "Total")],
            row(&v["totals"], SALES),
        ]
        .concat(),
    );
    out
}

fn liability_rows(v: &Value, zh: bool) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = v["stores"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| row(r, &["store", "principal", "bonus"]))
        .collect();
    if !v["chain"].is_null() {
        out.push(
            [
                vec![label(zh, "全链", "Chain")],
                row(&v["chain"], &["principal", "bonus"]),
            ]
            .concat(),
        );
    }
    out
}

fn points_rows(v: &Value, zh: bool) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            [
                row(r, &["day", "store"]),
                row(r, POINTS),
                vec![String::new()],
            ]
            .concat()
        })
        .collect();
    let outstanding = |store: String, n: &Value| {
        let mut r = vec![String::new(), store];
        r.extend(std::iter::repeat_n(String::new(), 9));
        r.push(s(n));
        r
    };
    for st in v["stores"].as_array().unwrap() {
        out.push(outstanding(s(&st["store"]), &st["outstanding"]));
    }
    if !v["chain_outstanding"].is_null() {
        out.push(outstanding(
            label(zh, "全链", "Chain"),
            &v["chain_outstanding"],
        ));
    }
    out
}

fn members_rows(v: &Value, zh: bool) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            row(
                r,
                &["day", "store", "new", "registered", "imported", "active"],
            )
        })
        .collect();
    out.push(vec![
        String::new(),
        label(zh, "合计", "Total"),
        s(&v["new"]),
        s(&v["registered"]),
        s(&v["imported"]),
        String::new(),
    ]);
    out
}

fn rankings_rows(v: &Value, _zh: bool) -> Vec<Vec<String>> {
    v["stores"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            row(
                r,
                &[
                    "rank",
                    "store",
                    "sales_amount",
                    "sales",
                    "refunded",
                    "recharged_principal",
                ],
            )
        })
        .collect()
}

fn cases(from: Day, to: Day) -> Vec<Case> {
    let range = format!("from={from}&to={to}");
    const SALES_ZH: &[&str] = &[
        "日期",
        "门店",
        "销售笔数",
        "销售金额",
        "充值笔数",
        "充值本金",
        "充值赠送",
        "退款笔数",
        "退款金额",
        "余额消费本金",
        "余额消费赠送",
        "余额退回本金",
        "余额退回赠送",
    ];
    const SALES_EN: &[&str] = &[
        "Day",
        "Store",
        "Sales",
        "Sales amount",
        "Recharges",
        "Recharged principal",
        "Recharged bonus",
        "Refunds",
        "Refunded",
        "Balance spent, principal",
        "Balance spent, bonus",
        "Balance refunded, principal",
        "Balance refunded, bonus",
    ];
    vec![
        Case {
            path: format!("/api/v1/reports/sales?{range}"),
            name: "sales",
            sheet: ("销售日报", "Sales"),
            zh: SALES_ZH,
            en: SALES_EN,
            rows: sales_rows,
        },
        Case {
            path: format!("/api/v1/reports/sales?{range}&store=store-1&channel=cash"),
            name: "sales",
            sheet: ("销售日报", "Sales"),
            zh: SALES_ZH,
            en: SALES_EN,
            rows: sales_rows,
        },
        Case {
            path: "/api/v1/reports/liability".into(),
            name: "liability",
            sheet: ("储值负债", "Liability"),
            zh: &["门店", "本金", "赠送"],
            en: &["Store", "Principal", "Bonus"],
            rows: liability_rows,
        },
        Case {
            path: format!("/api/v1/reports/points?{range}"),
            name: "points",
            sheet: ("积分报表", "Points"),
            zh: &[
                "日期",
                "门店",
                "发放",
                "导入",
                "抵现",
                "冲回",
                "退回",
                "过期",
                "调入",
                "调出",
                "净增",
                "未用余额（全部日期）",
            ],
            en: &[
                "Day",
                "Store",
                "Issued",
                "Imported",
                "Redeemed",
                "Reversed",
                "Returned",
                "Expired",
                "Moved in",
                "Moved out",
                "Net",
                "Outstanding (all days)",
            ],
            rows: points_rows,
        },
        Case {
            path: format!("/api/v1/reports/members?{range}"),
            name: "members",
            sheet: ("会员增长", "Members"),
            zh: &["日期", "门店", "新会员", "门店注册", "导入", "活跃会员"],
            en: &["Day", "Store", "New", "Registered", "Imported", "Active"],
            rows: members_rows,
        },
        Case {
            path: format!("/api/v1/reports/rankings?{range}"),
            name: "rankings",
            sheet: ("门店排名", "Rankings"),
            zh: &[
                "名次",
                "门店",
                "销售金额",
                "销售笔数",
                "退款金额",
                "充值本金",
            ],
            en: &[
                "Rank",
                "Store",
                "Sales amount",
                "Sales",
                "Refunded",
                "Recharged principal",
            ],
            rows: rankings_rows,
        },
    ]
}

/// RFC 4180: fields split on commas, records on CRLF; a quoted field may
/// hold commas, CR, LF and doubled quotes. Every record must end in CRLF.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.is_empty() => quoted = true,
            ',' => record.push(std::mem::take(&mut field)),
            '\r' => {
                assert_eq!(chars.next(), Some('\n'), "CR not followed by LF");
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            '\n' => panic!("a bare LF ends a record"),
            _ => field.push(c),
        }
    }
    assert!(
        field.is_empty() && record.is_empty() && !quoted,
        "the last record lacks its CRLF"
    );
    records
}

/// An .xlsx cell as text, to compare with `want` (the JSON's): money to
/// the fen, integers whole, days as `YYYY-MM-DD`. A figure must be a
/// number cell, not text.
fn xlsx_text(d: &Data, want: &str) -> String {
    match d {
        Data::Empty => String::new(),
        Data::String(s) => {
            assert!(
                want.parse::<f64>().is_err(),
                "a figure written as text: {s:?}"
            );
            assert!(want.parse::<Day>().is_err(), "a day written as text: {s:?}");
            s.clone()
        }
        // Money has its two places in the JSON; counts have none.
        Data::Float(x) if want.contains('.') => format!("{x:.2}"),
        Data::Float(x) => {
            assert_eq!(x.fract(), 0.0, "{x}");
            (*x as i64).to_string()
        }
        Data::Int(i) => i.to_string(),
        // Excel's serial day 25569 is 1970-01-01 (Day 0).
        Data::DateTime(dt) => Day(dt.as_f64() as i32 - 25_569).to_string(),
        other => panic!("unexpected cell {other:?}"),
    }
}

fn disposition(a: &common::Answer) -> String {
    a.headers
        .get("content-disposition")
        .expect("a Content-Disposition")
        .to_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn every_report_as_csv_and_xlsx_holds_what_its_json_says() {
    let app = App::new();
    let _dir = chain(&app).await;
    let (from, to) = days();
    let doc = common::schema::doc();
    let mut nonempty = 0;
    for case in cases(from, to) {
        let (st, json) = app.get(&case.path).await;
        assert_eq!(st, 200, "{}: {json}", case.path);
        let template = case.path.split('?').next().unwrap();
        let sep = if case.path.contains('?') { '&' } else { '?' };
        for (lang, zh) in [("", true), ("zh", true), ("en", false)] {
            let headers: Vec<String> = if zh { case.zh } else { case.en }
                .iter()
                .map(|s| s.to_string())
                .collect();
            let rows = (case.rows)(&json, zh);
            nonempty += rows.len();
            let lang_q = if lang.is_empty() {
                String::new()
            } else {
                format!("&lang={lang}")
            };

            // CSV: BOM, CRLF, RFC 4180; parsed back, every cell as the JSON.
            let path = format!("{}{sep}format=csv{lang_q}", case.path);
            let a = app.call("GET", &path, Vec::new(), None).await;
            assert_eq!(a.status, 200, "{path}");
            assert_eq!(a.content_type(), "text/csv; charset=utf-8", "{path}");
            common::schema::conforms(&doc, "GET", template, &a);
            let cd = disposition(&a);
            let stem = if case.name == "liability" {
                format!("{}_", case.name)
            } else {
                format!("{}_{from}_{to}", case.name)
            };
            assert!(
                cd.starts_with(&format!("attachment; filename=\"{stem}")) && cd.contains(".csv\""),
                "{path}: {cd}"
            );
            let title = if zh { case.sheet.0 } else { case.sheet.1 };
            let star: String = title
                .bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect();
            assert!(
                cd.contains(&format!("filename*=UTF-8''{star}_")),
                "{path}: {cd}"
            );
            let text = String::from_utf8(a.body.clone()).expect("UTF-8");
            let text = text.strip_prefix('\u{feff}').expect("a BOM first");
            assert!(text.ends_with("\r\n"), "{path}");
            let parsed = parse_csv(text);
            assert_eq!(parsed[0], headers, "{path}");
            assert_eq!(parsed[1..].to_vec(), rows, "{path}");

            // .xlsx: one sheet named after the report, the same cells;
            // money and counts are numbers, days are dates.
            let path = format!("{}{sep}format=xlsx{lang_q}", case.path);
            let a = app.call("GET", &path, Vec::new(), None).await;
            assert_eq!(a.status, 200, "{path}");
            assert_eq!(a.content_type(), XLSX, "{path}");
            assert!(disposition(&a).contains(".xlsx\""), "{path}");
            let mut book: Xlsx<_> =
                calamine::open_workbook_from_rs(Cursor::new(a.body.clone())).expect("an .xlsx");
            let fresh_title = if zh { "数据截至" } else { "As of" };
            assert_eq!(
                book.sheet_names(),
                vec![title.to_string(), fresh_title.to_string()],
                "{path}"
            );
            // The second sheet: how fresh the figures are, as the JSON says.
            let fresh: Vec<Vec<String>> = book
                .worksheet_range(fresh_title)
                .unwrap()
                .rows()
                .map(|r| r.iter().map(|d| d.to_string()).collect())
                .collect();
            let mut want_fresh = vec![
                if zh {
                    vec!["门店", "已收操作数", "最新操作时间（UTC）"]
                } else {
                    vec!["Store", "Ops held", "Newest op at (UTC)"]
                }
                .into_iter()
                .map(str::to_string)
                .collect::<Vec<_>>(),
            ];
            for n in json["freshness"]["newest"].as_array().unwrap() {
                want_fresh.push(row(n, &["store", "seq", "at"]));
            }
            assert_eq!(fresh, want_fresh, "{path}");
            assert_eq!(want_fresh.len(), 3, "store-1 and store-2: {path}");
            let range = book.worksheet_range(title).unwrap();
            let got: Vec<Vec<Data>> = range.rows().map(|r| r.to_vec()).collect();
            assert_eq!(got.len(), rows.len() + 1, "{path}");
            let head: Vec<String> = got[0].iter().map(|d| d.to_string()).collect();
            assert_eq!(head, headers, "{path}");
            for (r, want) in got[1..].iter().zip(&rows) {
                let cells: Vec<String> = (0..headers.len())
                    .map(|c| xlsx_text(r.get(c).unwrap_or(&Data::Empty), &want[c]))
                    .collect();
                assert_eq!(&cells, want, "{path}");
            }
        }
    }
    assert!(nonempty > 20, "the reports had rows to compare");

    // The figures are the ones made: 50.05 of cash sales at store-1, and
    // store-2's 200.01 recharge, in the files too.
    let (_, sales) = app
        .get(&format!("/api/v1/reports/sales?from={from}&to={to}"))
        .await;
    assert_eq!(sales["totals"]["recharged_principal"], "1200.01");
    let a = app
        .call(
            "GET",
            &format!("/api/v1/reports/sales?from={from}&to={to}&format=csv"),
            Vec::new(),
            None,
        )
        .await;
    let text = String::from_utf8(a.body).unwrap();
    assert!(text.contains(",1200.01,"), "{text}");
    assert!(text.contains("store-2"), "{text}");
}

#[tokio::test]
async fn a_bad_format_or_lang_is_refused_in_both_languages_and_changes_nothing() {
    let app = App::new();
    let _dir = chain(&app).await;
    let before = app.snapshot().await;
    for (path, field) in [
        ("/api/v1/reports/sales?format=pdf", "format"),
        ("/api/v1/reports/sales?format=CSV", "format"),
        ("/api/v1/reports/liability?format=xls", "format"),
        ("/api/v1/reports/points?format=csv&format=csv", "format"),
        ("/api/v1/reports/members?lang=fr", "lang"),
        ("/api/v1/reports/rankings?format=csv&lang=zh-CN", "lang"),
        ("/api/v1/reports/sales?format=csv%07", "format"),
        ("/api/v1/reports/sales?formats=csv", "query"),
    ] {
        let a = app.call("GET", path, Vec::new(), None).await;
        assert_eq!(a.content_type(), "application/json", "{path}");
        assert!(a.headers.get("content-disposition").is_none(), "{path}");
        let v = a.json().unwrap();
        assert_eq!(
            (a.status.as_u16(), code(&v)),
            (422, "invalid_report_query"),
            "{path}: {v}"
        );
        assert_eq!(v["error"]["field"], field, "{path}: {v}");
        assert!(!v["error"]["message"].as_str().unwrap().is_empty());
        assert!(
            v["error"]["message_zh"]
                .as_str()
                .unwrap()
                .chars()
                .any(|c| c > '\u{2e80}'),
            "{path}: {v}"
        );
        assert!(!v.to_string().contains("pdf"), "not echoed: {v}");
    }
    // The unknown-parameter refusal names the new ones.
    let (_, v) = app.get("/api/v1/reports/liability?from=2026-12-01").await;
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("store, channel, format, lang"),
        "{v}"
    );
    assert_eq!(app.snapshot().await, before);
    // An empty value is as if not given: JSON.
    let a = app
        .call(
            "GET",
            "/api/v1/reports/liability?format=&lang=",
            Vec::new(),
            None,
        )
        .await;
    assert_eq!(
        (a.status.as_u16(), a.content_type()),
        (200, "application/json")
    );
    // A store manager's file holds their own stores only, and a refusal
    // stays JSON whatever format was asked.
    app.create_staff(
        "mgr",
        "store_manager",
        &["store-1"],
        "correct horse battery",
    )
    .await;
    let mgr = app.sign_in("mgr", "correct horse battery").await;
    let a = app
        .call_as(
            &mgr,
            "GET",
            "/api/v1/reports/liability?format=csv",
            Vec::new(),
            None,
        )
        .await;
    let text = String::from_utf8(a.body).unwrap();
    assert!(
        text.contains("store-1") && !text.contains("store-2") && !text.contains("全链"),
        "{text}"
    );
    let a = app
        .call_as(
            &mgr,
            "GET",
            "/api/v1/reports/sales?store=store-2&format=xlsx",
            Vec::new(),
            None,
        )
        .await;
    assert_eq!(
        (a.status.as_u16(), a.error_code().as_deref()),
        (403, Some("not_at_this_store"))
    );
}

/// The document lists the file formats on every report.
#[test]
fn the_document_offers_csv_and_xlsx_on_every_report() {
    let doc = common::schema::doc();
    for name in ["sales", "liability", "points", "members", "rankings"] {
        let op = common::schema::operation(&doc, "GET", &format!("/api/v1/reports/{name}"));
        let content = &op["responses"]["200"]["content"];
        for ct in ["application/json", "text/csv", XLSX] {
            assert!(content.get(ct).is_some(), "{name}: {ct}: {content}");
        }
        let params: Vec<&str> = op["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert!(
            params.contains(&"format") && params.contains(&"lang"),
            "{name}: {params:?}"
        );
        assert!(
            op["responses"]["200"]["headers"]
                .get("Content-Disposition")
                .is_some(),
            "{name}"
        );
    }
}

/// What calamine does not read: the header row is frozen and bold, the
/// columns have widths, money cells carry the `0.00` format.
#[tokio::test]
async fn the_xlsx_header_is_bold_and_frozen() {
    let app = App::new();
    let _dir = chain(&app).await;
    let (from, to) = days();
    let a = app
        .call(
            "GET",
            &format!("/api/v1/reports/sales?from={from}&to={to}&format=xlsx"),
            Vec::new(),
            None,
        )
        .await;
    assert_eq!(a.status, 200);
    let mut zip = zip::ZipArchive::new(Cursor::new(a.body)).expect("a zip");
    let mut part = |name: &str| {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut zip.by_name(name).expect(name), &mut s).unwrap();
        s
    };
    let sheet = part("xl/worksheets/sheet1.xml");
    assert!(
        sheet.contains(r#"ySplit="1""#) && sheet.contains(r#"state="frozen""#),
        "{sheet}"
    );
    assert!(sheet.contains("<col "), "column widths: {sheet}");
    let styles = part("xl/styles.xml");
    assert!(styles.contains("<b/>"), "{styles}");
    for code in ["0.00", "0", "yyyy-mm-dd"] {
        assert!(
            styles.contains(&format!(r#"formatCode="{code}""#)),
            "{code}: {styles}"
        );
    }
}
