//! Opening stock from CSV over HTTP (issue 14): a dry run listing every
//! rejected row with its reason, a real run refused whole while any row
//! is, a good file taken in as goods in, the same file again replayed
//! (stock unchanged), 1,200 rows as three ops, and hostile files.

mod common;

use common::{App, NODE, TOKEN, code};
use serde_json::Value;

async fn import(app: &App, query: &str, csv: &[u8]) -> (u16, Value) {
    let a = app
        .raw(
            "POST",
            &format!("/api/v1/stock/import{query}"),
            &[
                ("authorization", &format!("Bearer {TOKEN}")),
                ("content-type", "text/csv"),
            ],
            csv.to_vec(),
        )
        .await;
    (a.status.as_u16(), a.json().unwrap_or(Value::Null))
}

async fn products(app: &App, csv: &str) {
    let a = app
        .raw(
            "POST",
            "/api/v1/products/import",
            &[
                ("authorization", &format!("Bearer {TOKEN}")),
                ("content-type", "text/csv"),
            ],
            csv.as_bytes().to_vec(),
        )
        .await;
    assert_eq!(a.status.as_u16(), 200, "{:?}", a.json());
}

/// This store's stock, sku → on hand, and how many ops this node holds of
/// its own.
async fn stock(app: &App) -> (Vec<(String, String)>, u64) {
    let (s, v) = app.get(&format!("/api/v1/stock?store={NODE}")).await;
    assert_eq!(s, 200, "{v}");
    let items = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["sku"].as_str().unwrap().to_string(),
                i["on_hand"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    (items, v["as_of"][NODE].as_u64().unwrap_or(0))
}

/// Cola and rice (by weight) stocked, a car wash not.
async fn catalogue(app: &App) {
    products(
        app,
        "sku,name,price,barcode,unit,stocked\n\
         cola,可乐,3.00,6909990000017,件,是\n\
         rice,大米,6.00,6909990000024,称重,是\n\
         wash,洗车,30.00,,件,否\n",
    )
    .await;
}

#[tokio::test]
async fn a_dry_run_lists_every_rejected_row_and_a_real_run_with_any_changes_nothing() {
    let app = App::new();
    catalogue(&app).await;
    let csv = "条码,商品编码,数量,进价\n\
        6909990000017,,10,2.00\n\
        ,rice,2.5,4.00\n\
        ,nope,1,1\n\
        123,,1,1\n\
        ,wash,1,1\n\
        ,cola,2,1\n\
        ,rice,1.2345,1\n\
        ,cola,1.5,1\n\
        ,cola,0,1\n\
        ,\"co\u{7}la\",1,1\n\
        ,cola,1,abc\n\
        ,cola,1\n";
    let before = stock(&app).await;
    let (s, v) = import(&app, "?dry_run=true&supplier=华东", csv.as_bytes()).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["dry_run"], true);
    assert_eq!(v["accepted"], 2, "{v}");
    assert_eq!(v["ops"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["ops"][0]["lines"], 2);
    assert_eq!(v["ops"][0]["supplier"], "华东");
    let rows: Vec<(u64, &str)> = v["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["line"].as_u64().unwrap(), r["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        rows,
        vec![
            (4, "unknown_product"),
            (5, "unknown_product"),
            (6, "product_not_stocked"),
            (7, "duplicate_sku"),
            (8, "invalid_stock_qty"),
            (9, "invalid_stock_qty"),
            (10, "invalid_stock_qty"),
            (11, "invalid_text"),
            (12, "invalid_unit_cost"),
            (13, "invalid_csv"),
        ]
    );
    for r in v["rejected"].as_array().unwrap() {
        assert!(!r["message"].as_str().unwrap().is_empty(), "{r}");
        assert!(!r["message_zh"].as_str().unwrap().is_empty(), "{r}");
    }
    // The control character is named, not echoed.
    let ctl = &v["rejected"][7];
    assert!(!ctl.to_string().contains('\u{7}'), "{ctl}");
    assert!(ctl["message"].as_str().unwrap().contains("U+0007"), "{ctl}");
    assert_eq!(stock(&app).await, before, "a dry run changes nothing");

    // The real run: refused whole, the rows a JSON array.
    let (s, v) = import(&app, "?supplier=华东", csv.as_bytes()).await;
    assert_eq!((s, code(&v)), (422, "import_rejected"), "{v}");
    let rejected = v["error"]["rejected"].as_array().expect("an array");
    assert_eq!(rejected.len(), 10);
    assert_eq!(rejected[0]["line"], 4);
    assert_eq!(rejected[0]["code"], "unknown_product");
    assert_eq!(stock(&app).await, before, "nothing changed");
}

#[tokio::test]
async fn a_good_file_is_goods_in_and_the_same_file_again_changes_nothing() {
    let app = App::new();
    catalogue(&app).await;
    let csv = "\u{feff}sku,qty,cost,供应商\r\ncola,24,2.00,可口可乐华东\r\nrice,\"12.5\",4.10,粮油公司\r\n";
    let (s, v) = import(&app, "", csv.as_bytes()).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["dry_run"], false);
    assert_eq!(v["accepted"], 2);
    // One op per supplier, neither a replay.
    let ops = v["ops"].as_array().unwrap();
    assert_eq!(ops.len(), 2, "{v}");
    assert_eq!(ops[0]["supplier"], "可口可乐华东");
    assert_eq!(ops[1]["supplier"], "粮油公司");
    assert!(ops.iter().all(|o| o["replayed"] == false), "{v}");
    let key = ops[0]["key"].as_str().unwrap().to_string();
    assert!(
        key.starts_with("stock-import:") && key.ends_with(":1"),
        "{key}"
    );
    let after = stock(&app).await;
    assert_eq!(
        after.0,
        vec![("cola".into(), "24".into()), ("rice".into(), "12.5".into())]
    );
    // At the cost given: 12.5 kg at 4.10 is 51.25.
    let (s, r) = app
        .get(&format!("/api/v1/stock?store={NODE}&sku=rice"))
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["items"][0]["cost"], "4.10", "{r}");
    assert_eq!(r["items"][0]["value"], "51.25", "{r}");

    // The same file again: every op replayed, stock and the log unchanged.
    let (s, v) = import(&app, "", csv.as_bytes()).await;
    assert_eq!(s, 201, "{v}");
    assert!(
        v["ops"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["replayed"] == true),
        "{v}"
    );
    assert_eq!(v["ops"][0]["key"], key.as_str());
    assert_eq!(stock(&app).await, after);

    // One byte more is another file: taken in again.
    let again = format!("{csv}\r\n");
    let (s, v) = import(&app, "", again.as_bytes()).await;
    assert_eq!(s, 201, "{v}");
    assert_ne!(v["ops"][0]["key"], key.as_str());
    assert_eq!(stock(&app).await.0[0], ("cola".into(), "48".into()));

    // A file of only its header: nothing to take in.
    let (s, v) = import(&app, "?supplier=x", b"sku,qty,unit_cost\n").await;
    assert_eq!((s, code(&v)), (422, "no_stock_lines"), "{v}");
}

#[tokio::test]
async fn twelve_hundred_rows_are_three_ops_of_at_most_500() {
    let app = App::new();
    let mut cat = String::from("sku,name,price\n");
    let mut csv = String::from("sku,qty,unit_cost\n");
    for i in 0..1200 {
        cat.push_str(&format!("p{i:04},商品{i},1.00\n"));
        csv.push_str(&format!("p{i:04},{},0.50\n", i % 7 + 1));
    }
    products(&app, &cat).await;
    let (before, ops_before) = stock(&app).await;
    assert!(before.is_empty());
    let (s, v) = import(&app, "?dry_run=true&supplier=期初", csv.as_bytes()).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(stock(&app).await.1, ops_before, "a dry run makes no op");
    let (s, v) = import(&app, "?supplier=期初", csv.as_bytes()).await;
    assert_eq!(s, 201, "{v}");
    let lines: Vec<u64> = v["ops"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["lines"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, vec![500, 500, 200]);
    let (after, ops_after) = stock(&app).await;
    assert_eq!(ops_after, ops_before + 3, "three ops");
    assert_eq!(after.len(), 1200);
    assert_eq!(after[13], ("p0013".into(), "7".into()));
    // Again: replayed, no op made.
    let (s, v) = import(&app, "?supplier=期初", csv.as_bytes()).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["ops"][2]["replayed"], true);
    assert_eq!(stock(&app).await, (after, ops_after));
}

#[tokio::test]
async fn hostile_files_are_refused_and_change_nothing() {
    let app = App::new();
    catalogue(&app).await;
    let before = stock(&app).await;
    // 10 MB: the body limit's answer.
    let big = vec![b'a'; 10 * 1024 * 1024];
    let (s, v) = import(&app, "?supplier=x", &big).await;
    assert_eq!((s, code(&v)), (413, "payload_too_large"), "{v}");
    // Not UTF-8.
    let (s, v) = import(&app, "?supplier=x", b"sku,qty,unit_cost\n\xff,1,1\n").await;
    assert_eq!((s, code(&v)), (422, "invalid_csv"), "{v}");
    // A quote never closed, an unknown column, no supplier anywhere.
    for (csv, want) in [
        ("sku,qty,unit_cost\n\"cola,1,1\n", "invalid_csv"),
        ("sku,qty,unit_cost,colour\n", "invalid_csv_header"),
        ("sku,qty\ncola,1\n", "invalid_csv_header"),
    ] {
        let (s, v) = import(&app, "?supplier=x", csv.as_bytes()).await;
        assert_eq!((s, code(&v)), (422, want), "{csv}: {v}");
    }
    let (s, v) = import(&app, "", b"sku,qty,unit_cost\ncola,1,1\n").await;
    assert_eq!((s, code(&v)), (422, "invalid_supplier"), "{v}");
    // A supplier with a control character, a huge quantity, a huge cost,
    // a quantity of 60 digits: rows rejected, each with its code.
    let csv = "sku,qty,unit_cost,supplier\n\
        cola,1,1,\"evil\u{1b}[2J\"\n\
        rice,99999999,1,x\n\
        cola,1,999999999999999,y\n";
    let long = format!("{csv}rice,{},1,x\n", "9".repeat(60));
    let (s, v) = import(&app, "?dry_run=true", long.as_bytes()).await;
    assert_eq!(s, 200, "{v}");
    let codes: Vec<&str> = v["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        vec![
            "invalid_supplier",
            "invalid_stock_qty",
            "invalid_unit_cost",
            "invalid_stock_qty"
        ],
        "{v}"
    );
    assert!(!v.to_string().contains('\u{1b}'), "{v}");
    assert!(
        !v.to_string().contains(&"9".repeat(60)),
        "echoed whole: {v}"
    );
    // A bad query.
    for q in [
        "?dry_run=maybe",
        "?colour=red",
        "?dry_run=true&dry_run=false",
    ] {
        let (s, v) = import(&app, q, b"sku,qty,unit_cost\n").await;
        assert_eq!((s, code(&v)), (422, "invalid_import_query"), "{q}: {v}");
    }
    assert_eq!(stock(&app).await, before);
}

#[tokio::test]
async fn only_a_store_changes_its_stock_by_import() {
    let app = App::as_node("hq", true);
    let (s, v) = import(&app, "?supplier=x", b"sku,qty,unit_cost\nlatte,1,1\n").await;
    assert_eq!((s, code(&v)), (403, "hq_holds_no_stock"), "{v}");
}
