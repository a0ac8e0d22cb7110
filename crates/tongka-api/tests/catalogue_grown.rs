//! The catalogue grown: categories (cycles refused), products with several
//! barcodes, member and store prices, inactive ones refused at checkout,
//! and the CSV import (dry run, hostile rows, idempotent re-run).

mod common;

use common::App;
use serde_json::{Value, json};

async fn put(app: &App, path: &str, body: Value) -> (u16, Value) {
    app.send("PUT", path, &body, None).await
}

async fn sell(app: &App, lines: Value, key: &str) -> (u16, Value) {
    app.send(
        "POST",
        "/api/v1/checkouts",
        &json!({"lines": lines, "tenders": [{"kind": "cash"}]}),
        Some(key),
    )
    .await
}

async fn import(app: &App, query: &str, csv: &str) -> (u16, Value) {
    let a = app
        .raw(
            "POST",
            &format!("/api/v1/products/import{query}"),
            &[
                ("authorization", &format!("Bearer {}", common::TOKEN)),
                ("content-type", "text/csv"),
            ],
            csv.as_bytes().to_vec(),
        )
        .await;
    (a.status.as_u16(), a.json().unwrap_or(Value::Null))
}

#[tokio::test]
async fn categories_products_with_two_barcodes_and_checkout() {
    let app = App::new();
    let (s, c) = put(
        &app,
        "/api/v1/categories/food",
        json!({"name": "食品 Food", "attributes": ["产地"]}),
    )
    .await;
    assert_eq!(s, 200, "{c}");
    let (s, c) = put(
        &app,
        "/api/v1/categories/fruit",
        json!({"name": "水果", "parent": "food", "attributes": ["颜色"]}),
    )
    .await;
    assert_eq!((s, &c["inherited"]), (200, &json!(["颜色", "产地"])), "{c}");
    let (s, e) = put(
        &app,
        "/api/v1/categories/food",
        json!({"name": "食品", "parent": "fruit"}),
    )
    .await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (409, Some("category_cycle")),
        "{e}"
    );
    let (s, e) = put(
        &app,
        "/api/v1/categories/x",
        json!({"name": "x", "parent": "nope"}),
    )
    .await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (404, Some("unknown_category")),
        "{e}"
    );

    let (s, p) = put(
        &app,
        "/api/v1/products/apple",
        json!({"name": "苹果", "price": "10.00", "barcode": "6900000000101",
               "barcodes": ["6900000000118"], "category": "fruit",
               "attributes": {"产地": "烟台"}, "member_price": "8.00",
               "points_multiplier": "2", "unit": "measured", "unit_label": "kg"}),
    )
    .await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["barcodes"], json!(["6900000000118"]));
    assert_eq!(p["points_multiplier"], json!("2"));
    // An attribute no category of its lineage defines.
    let (s, e) = put(
        &app,
        "/api/v1/products/pear",
        json!({"name": "梨", "price": "1", "category": "fruit", "attributes": {"尺码": "L"}}),
    )
    .await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (422, Some("invalid_attribute")),
        "{e}"
    );
    // Another product's second barcode is taken.
    let (s, e) = put(
        &app,
        "/api/v1/products/pear",
        json!({"name": "梨", "price": "1", "barcode": "6900000000118"}),
    )
    .await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (409, Some("barcode_taken")),
        "{e}"
    );
    // An API v1 body keeps the new fields.
    let (s, p) = put(
        &app,
        "/api/v1/products/apple",
        json!({"name": "苹果", "price": "11.00", "barcode": "6900000000101"}),
    )
    .await;
    assert_eq!((s, &p["member_price"]), (200, &json!("8.00")), "{p}");

    // Sold by its second barcode, no member: the regular price.
    let (s, o) = sell(
        &app,
        json!([{"barcode": "6900000000118", "qty": "2"}]),
        "k1",
    )
    .await;
    assert_eq!(s, 201, "{o}");
    assert_eq!(o["payable"], json!("22.00"), "{o}");
    let (s, e) = sell(
        &app,
        json!([{"barcode": "6999999999999", "qty": "1"}]),
        "k2",
    )
    .await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (404, Some("unknown_product")),
        "{e}"
    );
    // Inactive: refused with its code.
    let (s, _) = put(
        &app,
        "/api/v1/products/apple",
        json!({"name": "苹果", "price": "11.00", "barcode": "6900000000101", "active": false}),
    )
    .await;
    assert_eq!(s, 200);
    let (s, e) = sell(&app, json!([{"sku": "apple", "qty": "1"}]), "k3").await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (422, Some("product_inactive")),
        "{e}"
    );
}

#[tokio::test]
async fn csv_import_dry_run_hostile_rows_and_idempotent_rerun() {
    let app = App::new();
    let before = app.snapshot().await;
    let bad = "编码,名称,价格,条码\n\
        tea,茶,18.00,6900000000200\n\
        cake,\"a\u{7}b\",1,\n\
        huge,大,99999999999999,\n\
        dup,重复,1,6900000000200\n\
        thief,贼,1,6901234567892\n";
    let (s, v) = import(&app, "?dry_run=true", bad).await;
    assert_eq!(s, 200, "{v}");
    let codes: Vec<(u64, &str)> = v["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["line"].as_u64().unwrap(), r["code"].as_str().unwrap()))
        .collect();
    assert_eq!(
        codes,
        vec![
            (3, "invalid_name"),
            (4, "invalid_amount"),
            (5, "duplicate_barcode"),
            (6, "barcode_taken")
        ]
    );
    assert!(
        v["rejected"][0]["message_zh"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    // A real run with rejected rows changes nothing either.
    let (s, e) = import(&app, "", bad).await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (422, Some("import_rejected")),
        "{e}"
    );
    assert_eq!(app.snapshot().await, before);
    let (s, e) = import(&app, "?dry_run=maybe", bad).await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (422, Some("invalid_import_query"))
    );

    let good = "sku,name,price,barcode,barcodes\ntea,茶,18.00,6900000000200,6900000000217|6900000000224\nbun,包子,3.50,,\n";
    let (s, v) = import(&app, "", good).await;
    assert_eq!((s, &v["changed"]), (200, &json!(2)), "{v}");
    let (_, status) = app.get("/api/v1/sync/status").await;
    let (s, v) = import(&app, "", good).await;
    assert_eq!((s, &v["changed"]), (200, &json!(0)), "{v}");
    assert_eq!(app.get("/api/v1/sync/status").await.1, status);
    let (s, o) = sell(
        &app,
        json!([{"barcode": "6900000000224", "qty": "1"}]),
        "k9",
    )
    .await;
    assert_eq!((s, &o["payable"]), (201, &json!("18.00")), "{o}");
}
