//! Member import over HTTP (issue 13): a dry run listing every rejected
//! row (hostile input included), a real run refused whole while any row
//! is, a good file imported with its opening balances (on the member, in
//! its history, in the ledger summary apart from recharges, the ledger
//! balanced), the same file again answered the same and creating nothing,
//! more rows than a chunk, HQ refused, and a file too large.

mod common;

use common::reports::import;
use common::{App, code};
use serde_json::{Value, json};

async fn by_phone(app: &App, phone: &str) -> Value {
    let (s, v) = app.get(&format!("/api/v1/members?phone={phone}")).await;
    assert_eq!(s, 200, "{v}");
    v["members"][0].clone()
}

async fn ledger(app: &App) -> Value {
    let (s, v) = app.get("/api/v1/ledger/summary").await;
    assert_eq!(s, 200, "{v}");
    v
}

async fn balanced(app: &App) {
    let (s, v) = app.get("/api/v1/consistency").await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["ledger"]["balanced"], true, "{v}");
}

#[tokio::test]
async fn a_dry_run_lists_every_bad_row_and_a_real_run_with_any_changes_nothing() {
    let app = App::new();
    let (s, v) = app
        .send(
            "POST",
            "/api/v1/members",
            &json!({"phone": "13900000000", "name": "老会员", "card_no": "OLD00001"}),
            Some("reg-1"),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let csv = "手机号,姓名,生日,卡号,本金,赠送金额,积分,等级\n\
        13800000001,张三,1990-03-07,A0001,100.50,10,20,金卡会员\n\
        12345,坏号,,,,,,\n\
        13800000001,重复,,,,,,\n\
        13900000000,已是会员,,,,,,\n\
        13800000003,卡重复,,A0001,,,,\n\
        13800000004,卡被占,,OLD00001,,,,\n\
        13800000005,坏卡,,<script>,,,,\n\
        13800000006,负数,,,-5,,,\n\
        13800000007,三位小数,,,1.234,,,\n\
        13800000008,巨额,,,,1e30,,\n\
        13800000009,积分,,,,,-1,\n\
        13800000010,等级,,,,,,emperor\n\
        13800000011,生日,2001-02-29,,,,,\n\
        13800000012,\"控制\u{7}字符\",,,,,,\n\
        13800000013,\"\u{202e}反向\",,,,,,\n\
        13800000014,少一列,,,,,\n\
        13800000015,,,,,,,\n";
    let before = ledger(&app).await;
    let (s, v) = import(&app, "?dry_run=true", csv.as_bytes()).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["dry_run"], true);
    assert_eq!(v["accepted"], 1, "{v}");
    assert_eq!(v["created"], 0);
    assert_eq!(v["principal"], "100.50");
    let rows: Vec<(u64, &str)> = v["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["line"].as_u64().unwrap(), r["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        rows,
        vec![
            (3, "invalid_phone"),
            (4, "duplicate_phone"),
            (5, "phone_taken"),
            (6, "duplicate_card_no"),
            (7, "card_taken"),
            (8, "invalid_card_no"),
            (9, "invalid_amount"),
            (10, "invalid_amount"),
            (11, "invalid_amount"),
            (12, "invalid_points"),
            (13, "unknown_level"),
            (14, "invalid_birthday"),
            (15, "invalid_text"),
            (16, "invalid_text"),
            (17, "invalid_csv"),
            (18, "invalid_name"),
        ]
    );
    for r in v["rejected"].as_array().unwrap() {
        assert!(!r["message"].as_str().unwrap().is_empty(), "{r}");
        assert!(!r["message_zh"].as_str().unwrap().is_empty(), "{r}");
    }
    // Control and direction characters are named, never echoed.
    let text = v["rejected"].to_string();
    assert!(
        !text.contains('\u{7}') && !text.contains('\u{202e}'),
        "{text}"
    );
    assert_eq!(ledger(&app).await, before, "a dry run changes nothing");

    let (s, v) = import(&app, "", csv.as_bytes()).await;
    assert_eq!((s, code(&v)), (422, "import_rejected"), "{v}");
    assert_eq!(v["error"]["rejected"].as_array().unwrap().len(), 16);
    assert_eq!(ledger(&app).await, before, "nothing changed");
    let (s, v) = app.get("/api/v1/members?phone=13800000001").await;
    assert_eq!(s, 200);
    assert_eq!(v["members"].as_array().unwrap().len(), 0, "{v}");

    // Files refused whole.
    let (s, v) = import(&app, "", b"phone\n13800000001\n").await;
    assert_eq!((s, code(&v)), (422, "invalid_csv_header"), "{v}");
    let (s, v) = import(&app, "", b"phone,name\n\"13800000001,a\n").await;
    assert_eq!((s, code(&v)), (422, "invalid_csv"), "{v}");
    let (s, v) = import(&app, "", &[0xff, 0xfe, b'a']).await;
    assert_eq!((s, code(&v)), (422, "invalid_csv"), "{v}");
    let (s, v) = import(&app, "?dry_run=maybe", b"phone,name\n").await;
    assert_eq!((s, code(&v)), (422, "invalid_import_query"), "{v}");
    let (s, v) = import(&app, "", b"phone,name\n").await;
    assert_eq!((s, code(&v)), (422, "invalid_csv"), "{v}");
    let many = format!("phone,name\n{}", "13800000001,a\n".repeat(100_001));
    let (s, v) = import(&app, "?dry_run=true", many.as_bytes()).await;
    assert_eq!((s, code(&v)), (422, "too_many_rows"), "{v}");
    let big = vec![b'a'; tongka_core::member_import::FILE_BYTES_MAX + 1];
    let (s, v) = import(&app, "?dry_run=true", &big).await;
    assert_eq!((s, code(&v)), (413, "file_too_large"), "{v}");
}

#[tokio::test]
async fn a_good_file_is_imported_and_the_same_file_again_creates_nothing() {
    let app = App::new();
    let csv = "phone,name,birthday,card_no,principal,bonus,points,level\n\
        13800000001,张三,1990/3/7,A0001,100.50,10,20,gold\n\
        13800000002,李四,,,0,0,0,\n\
        13800000003,王五,,B0003,2500,0,5,silver\n";
    let (s, v) = import(&app, "", csv.as_bytes()).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(
        (v["accepted"].as_u64(), v["created"].as_u64()),
        (Some(3), Some(3)),
        "{v}"
    );
    assert_eq!(v["replayed"], 0);
    assert_eq!(v["chunks"].as_array().unwrap().len(), 1);
    assert_eq!(v["chunks"][0]["replayed"], false);
    let first = v.clone();

    let m = by_phone(&app, "13800000001").await;
    assert_eq!(m["balance"], "110.50", "{m}");
    assert_eq!(m["principal"], "100.50");
    assert_eq!(m["bonus"], "10.00");
    assert_eq!(m["available_here"], "110.50");
    assert_eq!(m["points"], 20);
    assert_eq!(m["birthday"], "1990-03-07");
    assert_eq!(m["card_no"], "A0001");
    // The imported level is kept: gold's threshold counted.
    assert_eq!(m["level"]["code"], "gold", "{m}");
    assert_eq!(m["cumulative_principal"], "2000.00");
    // A level left blank is what the principal reaches; one below it
    // does not lower it.
    assert_eq!(
        by_phone(&app, "13800000002").await["level"]["code"],
        "regular"
    );
    let w = by_phone(&app, "13800000003").await;
    assert_eq!(w["level"]["code"], "gold", "{w}");
    assert_eq!(w["balance"], "2500.00");
    // Its history: one op, with who and when.
    let id = m["id"].as_str().unwrap();
    let (_, h) = app.get(&format!("/api/v1/members/{id}/history")).await;
    let entries = h["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{h}");
    assert_eq!(entries[0]["kind"], "member_imported");
    assert_eq!(entries[0]["amount"], "110.50");
    assert_eq!(entries[0]["points"], 20);
    assert_eq!(entries[0]["actor"], "admin");
    assert!(
        entries[0]["at"]
            .as_str()
            .is_some_and(|a| a.starts_with("20"))
    );

    // The ledger: liability, not recharges.
    let l = ledger(&app).await;
    assert_eq!(l["members"], 3);
    assert_eq!(l["imports"], 3);
    assert_eq!(l["imported_principal"], "2600.50", "{l}");
    assert_eq!(l["imported_bonus"], "10.00");
    assert_eq!(l["imported_points"], 25);
    assert_eq!(l["recharges"], 0);
    assert_eq!(l["recharged_principal"], "0.00");
    assert_eq!(l["outstanding_principal"], "2600.50");
    assert_eq!(l["outstanding_bonus"], "10.00");
    assert_eq!(l["points_outstanding"], 25);
    balanced(&app).await;

    // The same file again: the same counts, nothing created.
    let (s, v) = import(&app, "", csv.as_bytes()).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["created"], 0, "{v}");
    assert_eq!(v["replayed"], 3);
    assert_eq!(v["chunks"][0]["replayed"], true);
    assert_eq!(v["chunks"][0]["key"], first["chunks"][0]["key"]);
    assert_eq!(ledger(&app).await, l, "nothing created");
    // And its dry run says so, rejecting nothing.
    let (s, v) = import(&app, "?dry_run=true", csv.as_bytes()).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["accepted"].as_u64(), v["replayed"].as_u64()),
        (Some(3), Some(3)),
        "{v}"
    );
    assert_eq!(v["rejected"].as_array().unwrap().len(), 0);
    // One byte more is another file: its rows' phones are members'.
    let (s, v) = import(&app, "", format!("{csv}\n").as_bytes()).await;
    assert_eq!((s, code(&v)), (422, "import_rejected"), "{v}");
    assert_eq!(v["error"]["rejected"][0]["code"], "phone_taken");
    balanced(&app).await;

    // The imported balance is spent like a recharged one, at the imported
    // level's price (gold: 90%).
    let (s, o) = app
        .send(
            "POST",
            "/api/v1/checkouts",
            &json!({"member_id": id, "lines": [{"description": "咖啡", "unit_price": "30.00"}],
                "tenders": [{"kind": "balance"}]}),
            Some("sale-1"),
        )
        .await;
    assert_eq!(s, 201, "{o}");
    assert_eq!(o["payable"], "27.00", "{o}");
    assert_eq!(by_phone(&app, "13800000001").await["balance"], "83.50");
    balanced(&app).await;
}

#[tokio::test]
async fn more_rows_than_a_chunk_are_several_commits_and_replay_whole() {
    let app = App::new();
    let n = tongka_core::member_import::CHUNK_ROWS * 2 + 7;
    let mut csv = String::from("手机号,姓名,本金,积分\n");
    for i in 0..n {
        csv.push_str(&format!("139{i:08},会员{i},1.01,1\n"));
    }
    let (s, v) = import(&app, "", csv.as_bytes()).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["created"].as_u64(), Some(n as u64));
    let sizes: Vec<u64> = v["chunks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["rows"].as_u64().unwrap())
        .collect();
    assert_eq!(sizes, vec![2000, 2000, 7]);
    let l = ledger(&app).await;
    assert_eq!(l["members"].as_u64(), Some(n as u64));
    assert_eq!(
        l["imported_principal"],
        format!("{}.{:02}", n * 101 / 100, n * 101 % 100)
    );
    balanced(&app).await;
    let (s, v) = import(&app, "", csv.as_bytes()).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(
        (v["created"].as_u64(), v["replayed"].as_u64()),
        (Some(0), Some(n as u64))
    );
    assert_eq!(ledger(&app).await, l);
}

#[tokio::test]
async fn hq_holds_no_balances_and_imports_nothing() {
    let app = App::as_node("hq", true);
    let (s, v) = import(&app, "?dry_run=true", b"phone,name\n13800000001,a\n").await;
    assert_eq!((s, code(&v)), (403, "hq_holds_no_balances"), "{v}");
    assert!(
        v["error"]["message_zh"].as_str().unwrap().contains("总部"),
        "{v}"
    );
}
