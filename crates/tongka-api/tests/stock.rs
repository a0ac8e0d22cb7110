//! A store's stock over HTTP (issue 14): goods in, returns, transfers
//! shipped and received, stocktakes and minimums, and the reads (on hand,
//! low, value, movements, below zero); a sale taking stock and its refund
//! putting it back; and every refusal with its code, nothing changed by it.

mod common;

use std::sync::Arc;

use common::{App, NODE, code};
use serde_json::{Value, json};
use tongka_core::NodeId;
use tongka_core::money::Money;
use tongka_core::op::{Op, OpBody};
use tongka_core::stock::{Shipment, StockChange, StockInLine, TransferId, TransferLine};

/// A product counted by piece.
async fn product(app: &App, sku: &str, barcode: &str) {
    let (s, p) = app
        .send(
            "PUT",
            &format!("/api/v1/products/{sku}"),
            &json!({"name": format!("商品 {sku}"), "barcode": barcode, "price": "5.00"}),
            None,
        )
        .await;
    assert_eq!(s, 200, "{p}");
}

async fn stock_in(app: &App, sku: &str, qty: &str, key: &str) -> (u16, Value) {
    app.send(
        "POST",
        "/api/v1/stock/in",
        &json!({"supplier": "可口可乐华东", "lines": [{"sku": sku, "qty": qty, "unit_cost": "2.00"}]}),
        Some(key),
    )
    .await
}

/// This store's on hand of `sku` ("0" when it never moved).
async fn on_hand(app: &App, sku: &str) -> String {
    let (s, v) = app
        .get(&format!("/api/v1/stock?store={NODE}&sku={sku}"))
        .await;
    assert_eq!(s, 200, "{v}");
    assert!(v["as_of"].is_object(), "{v}");
    v["items"]
        .as_array()
        .unwrap()
        .first()
        .map_or("0".into(), |i| i["on_hand"].as_str().unwrap().to_string())
}

async fn checkout(app: &App, sku: &str, qty: &str, key: &str) -> (u16, Value) {
    app.send(
        "POST",
        "/api/v1/checkouts",
        &json!({"lines": [{"sku": sku, "qty": qty}], "tenders": [{"kind": "cash", "amount": "1000"}]}),
        Some(key),
    )
    .await
}

#[tokio::test]
async fn goods_in_by_sku_and_barcode_then_return_and_the_reads() {
    let app = App::new();
    product(&app, "cola", "6909990000017").await;
    let (s, v) = app
        .send(
            "POST",
            "/api/v1/stock/in",
            &json!({"supplier": "可口可乐华东", "note": "周一到货", "lines": [
                {"barcode": "6909990000017", "qty": 10, "unit_cost": "2.00"}]}),
            Some("in-1"),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["kind"], "stock_in", "{v}");
    assert_eq!(v["movements"][0]["sku"], "cola");
    assert_eq!(v["movements"][0]["on_hand"], "10");
    // The same key and body: the first answer.
    let (s, again) = app
        .send(
            "POST",
            "/api/v1/stock/in",
            &json!({"supplier": "可口可乐华东", "note": "周一到货", "lines": [
                {"barcode": "6909990000017", "qty": 10, "unit_cost": "2.00"}]}),
            Some("in-1"),
        )
        .await;
    assert_eq!((s, &again), (201, &v));
    assert_eq!(on_hand(&app, "cola").await, "10");

    let (s, v) = app
        .send(
            "POST",
            "/api/v1/stock/returns",
            &json!({"supplier": "可口可乐华东", "lines": [{"sku": "cola", "qty": "3"}]}),
            Some("ret-1"),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(on_hand(&app, "cola").await, "7");
    // More back than on hand.
    let (s, v) = app
        .send(
            "POST",
            "/api/v1/stock/returns",
            &json!({"supplier": "可口可乐华东", "lines": [{"sku": "cola", "qty": "8"}]}),
            Some("ret-2"),
        )
        .await;
    assert_eq!((s, code(&v)), (409, "insufficient_stock"), "{v}");
    assert_eq!(on_hand(&app, "cola").await, "7");

    let (s, v) = app.get("/api/v1/stock/value").await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["stores"][0]["store"], NODE);
    assert_eq!(v["stores"][0]["value"], "14.00", "{v}");
    assert_eq!(v["chain"], "14.00");

    // Minimums: 7 on hand is below 12.
    let (s, v) = app
        .send(
            "PUT",
            "/api/v1/stock/minimums",
            &json!({"lines": [{"sku": "cola", "min": "12"}]}),
            None,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = app.get("/api/v1/stock/low").await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["items"][0]["sku"], "cola", "{v}");
    assert_eq!(v["items"][0]["min"], "12");
    assert_eq!(v["items"][0]["low"], true);

    // Movements, a page of one at a time: the return, then goods in.
    let (s, p1) = app.get("/api/v1/stock/movements?limit=1").await;
    assert_eq!(s, 200, "{p1}");
    assert_eq!(p1["movements"][0]["kind"], "supplier_return", "{p1}");
    let next = p1["next"].as_str().expect("a next page");
    let (s, p2) = app
        .get(&format!("/api/v1/stock/movements?limit=1&cursor={next}"))
        .await;
    assert_eq!(s, 200, "{p2}");
    assert_eq!(p2["movements"][0]["kind"], "stock_in", "{p2}");
    let (s, v) = app.get("/api/v1/stock/movements?limit=0").await;
    assert_eq!((s, code(&v)), (400, "invalid_request"), "{v}");
    let (s, v) = app.get("/api/v1/stock?colour=red").await;
    assert_eq!((s, code(&v)), (400, "invalid_request"), "{v}");
}

#[tokio::test]
async fn bad_input_is_refused_and_changes_nothing() {
    let app = App::new();
    product(&app, "cola", "6909990000017").await;
    let (s, v) = stock_in(&app, "cola", "5", "in-ok").await;
    assert_eq!(s, 201, "{v}");
    let before = app.snapshot().await;
    let cases: Vec<(&str, &str, Value, u16, &str)> = vec![
        (
            "/api/v1/stock/in",
            "unknown barcode",
            json!({"supplier": "x", "lines": [{"barcode": "6900000000000", "qty": "1", "unit_cost": "1.00"}]}),
            404,
            "unknown_product",
        ),
        (
            "/api/v1/stock/in",
            "unknown sku",
            json!({"supplier": "x", "lines": [{"sku": "nothing", "qty": "1", "unit_cost": "1.00"}]}),
            404,
            "unknown_product",
        ),
        (
            "/api/v1/stock/in",
            "a fraction of a piece",
            json!({"supplier": "x", "lines": [{"sku": "cola", "qty": "2.5", "unit_cost": "1.00"}]}),
            422,
            "invalid_stock_qty",
        ),
        (
            "/api/v1/stock/in",
            "not a number",
            json!({"supplier": "x", "lines": [{"sku": "cola", "qty": "1e3", "unit_cost": "1.00"}]}),
            422,
            "invalid_stock_qty",
        ),
        (
            "/api/v1/stock/in",
            "a negative cost",
            json!({"supplier": "x", "lines": [{"sku": "cola", "qty": "1", "unit_cost": "-1.00"}]}),
            422,
            "invalid_unit_cost",
        ),
        (
            "/api/v1/stock/in",
            "a control character in the supplier",
            json!({"supplier": "bad\u{1b}[31m", "lines": [{"sku": "cola", "qty": "1", "unit_cost": "1.00"}]}),
            422,
            "invalid_supplier",
        ),
        (
            "/api/v1/stock/returns",
            "a direction character in the note",
            json!({"supplier": "x", "note": "ok\u{202e}gnp", "lines": [{"sku": "cola", "qty": "1"}]}),
            422,
            "invalid_note",
        ),
        (
            "/api/v1/stock/in",
            "no lines",
            json!({"supplier": "x", "lines": []}),
            422,
            "no_stock_lines",
        ),
        (
            "/api/v1/stock/in",
            "one sku twice",
            json!({"supplier": "x", "lines": [{"sku": "cola", "qty": "1", "unit_cost": "1.00"}, {"barcode": "6909990000017", "qty": "1", "unit_cost": "1.00"}]}),
            422,
            "duplicate_stock_line",
        ),
        (
            "/api/v1/stock/in",
            "an unknown field",
            json!({"supplier": "x", "colour": "red", "lines": [{"sku": "cola", "qty": "1", "unit_cost": "1.00"}]}),
            400,
            "invalid_json",
        ),
        (
            "/api/v1/stock/in",
            "sku and barcode both",
            json!({"supplier": "x", "lines": [{"sku": "cola", "barcode": "6909990000017", "qty": "1", "unit_cost": "1.00"}]}),
            400,
            "invalid_json",
        ),
        (
            "/api/v1/transfers",
            "a store this node of no chain does not know",
            json!({"to": "store-2", "lines": [{"sku": "cola", "qty": "1"}]}),
            404,
            "unknown_store",
        ),
        (
            "/api/v1/transfers/t-store-2-999/receive",
            "an unknown transfer",
            json!({"lines": [{"sku": "cola", "qty": "1"}]}),
            404,
            "unknown_transfer",
        ),
        (
            "/api/v1/stocktakes",
            "a negative count",
            json!({"counts": [{"sku": "cola", "counted": "-1"}]}),
            422,
            "invalid_stock_qty",
        ),
    ];
    for (i, (path, what, body, status, want)) in cases.into_iter().enumerate() {
        let (s, v) = app
            .send("POST", path, &body, Some(&format!("bad-{i}")))
            .await;
        assert_eq!((s, code(&v)), (status, want), "{what}: {v}");
        assert!(
            v["error"]["message_zh"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{what}: {v}"
        );
        // The hostile text is not echoed back.
        assert!(!v.to_string().contains('\u{1b}'), "{what}: {v}");
    }
    // A stock write without a key.
    let (s, v) = app
        .send(
            "POST",
            "/api/v1/stock/in",
            &json!({"supplier": "x", "lines": [{"sku": "cola", "qty": "1", "unit_cost": "1.00"}]}),
            None,
        )
        .await;
    assert_eq!((s, code(&v)), (400, "idempotency_key_required"), "{v}");
    assert_eq!(app.snapshot().await, before);
    assert_eq!(on_hand(&app, "cola").await, "5");
}

#[tokio::test]
async fn hq_holds_no_stock() {
    let app = App::as_node("hq", true);
    let (s, v) = app
        .send(
            "POST",
            "/api/v1/stock/in",
            &json!({"supplier": "x", "lines": [{"sku": "cola", "qty": "1", "unit_cost": "1.00"}]}),
            Some("hq-1"),
        )
        .await;
    assert_eq!((s, code(&v)), (403, "hq_holds_no_stock"), "{v}");
}

#[tokio::test]
async fn a_sale_takes_stock_and_its_refund_puts_it_back() {
    let app = App::new();
    product(&app, "cola", "6909990000017").await;
    stock_in(&app, "cola", "10", "in-1").await;
    let (s, o) = checkout(&app, "cola", "2", "sale-1").await;
    assert_eq!(s, 201, "{o}");
    assert_eq!(on_hand(&app, "cola").await, "8");
    let order = o["id"].as_str().unwrap();
    let (s, r) = app
        .send(
            "POST",
            &format!("/api/v1/orders/{order}/refunds"),
            &json!({"lines": [{"line": 0, "qty": "1"}], "reason": "退一瓶"}),
            Some("refund-1"),
        )
        .await;
    assert_eq!(s, 201, "{r}");
    assert_eq!(on_hand(&app, "cola").await, "9");
    // Under the default policy a sale may go below zero, and is reported.
    let (s, o) = checkout(&app, "cola", "12", "sale-2").await;
    assert_eq!(s, 201, "{o}");
    assert_eq!(on_hand(&app, "cola").await, "-3");
    let (s, v) = app.get("/api/v1/stock/below-zero").await;
    assert_eq!(s, 200, "{v}");
    let list = v["movements"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{v}");
    assert_eq!(list[0]["kind"], "sale");
    assert_eq!(list[0]["below_zero"], true);
}

#[tokio::test]
async fn under_refuse_a_sale_short_of_stock_is_refused() {
    let app = App::new();
    product(&app, "cola", "6909990000017").await;
    stock_in(&app, "cola", "3", "in-1").await;
    let (s, mut p) = app.get("/api/v1/programme").await;
    assert_eq!(s, 200);
    p["negative_stock"] = json!("refuse");
    let (s, v) = app.send("PUT", "/api/v1/programme", &p, None).await;
    assert_eq!(s, 200, "{v}");
    let before = app.snapshot().await;
    let (s, v) = checkout(&app, "cola", "4", "short").await;
    assert_eq!((s, code(&v)), (409, "insufficient_stock"), "{v}");
    assert_eq!(v["error"]["sku"], "cola", "{v}");
    assert_eq!(app.snapshot().await, before);
    assert_eq!(on_hand(&app, "cola").await, "3");
    // Exactly what is on hand is sold.
    let (s, v) = checkout(&app, "cola", "3", "all").await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(on_hand(&app, "cola").await, "0");
}

/// `store-2`'s `seq`-th op, changing its stock, as replication brings it.
fn remote(seq: u64, change: StockChange) -> Op {
    use tongka_core::clock::{Hlc, VersionVector};
    use tongka_core::ids::OpId;
    use tongka_core::op::OpDraft;
    let origin = NodeId::new("store-2").unwrap();
    let mut deps = VersionVector::new();
    if seq > 1 {
        deps.raise(&origin, seq - 1);
    }
    OpDraft {
        hlc: Hlc {
            ms: 1_000 + seq,
            count: 0,
        },
        by: "t".into(),
        idem: None,
        body: OpBody::StockChanged { change },
    }
    .stamp(OpId { origin, seq }, deps)
}

/// `store-2` takes in `qty` of `sku` at 2.00 and ships it all here: its
/// two ops.
fn shipped_here(id: &TransferId, sku: &str, qty: i64) -> [Op; 2] {
    let goods_in = StockChange::In {
        supplier: "供应商".into(),
        note: String::new(),
        lines: vec![StockInLine {
            sku: sku.into(),
            qty: qty.into(),
            unit_cost: Money::from_yuan(2),
        }],
    };
    let ship = StockChange::Ship {
        shipment: Shipment {
            id: id.clone(),
            from: NodeId::new("store-2").unwrap(),
            to: NodeId::new(NODE).unwrap(),
            lines: vec![TransferLine {
                sku: sku.into(),
                qty: qty.into(),
                value: Money::from_yuan(2 * qty),
            }],
        },
        note: String::new(),
    };
    [remote(1, goods_in), remote(2, ship)]
}

async fn apply(app: &App, op: Op) {
    let (tx, rx) = tokio::sync::oneshot::channel();
    app.engine
        .apply_remote(
            op,
            Box::new(move |r| {
                let _ = tx.send(r);
            }),
        )
        .await
        .unwrap();
    rx.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_transfer_in_transit_is_received_once_and_not_counted_before() {
    let app = App::new();
    product(&app, "cola", "6909990000017").await;
    app.engine
        .set_stores(Arc::new(|| vec![NodeId::new("store-2").unwrap()]));
    let id = TransferId::mint(&NodeId::new("store-2").unwrap(), 7);
    for op in shipped_here(&id, "cola", 6) {
        apply(&app, op).await;
    }

    let (s, v) = app.get("/api/v1/transfers?status=in_transit").await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["transfers"][0]["id"], id.to_string(), "{v}");
    assert_eq!(v["transfers"][0]["to"], NODE);
    let (s, v) = app.get(&format!("/api/v1/transfers/{id}")).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["transfer"]["status"], "in_transit", "{v}");
    let (s, v) = app.get("/api/v1/transfers/t-nope").await;
    assert_eq!((s, code(&v)), (404, "unknown_transfer"), "{v}");
    let (s, v) = app.get("/api/v1/transfers?status=lost").await;
    assert_eq!((s, code(&v)), (400, "invalid_request"), "{v}");

    // Not counted while in transit here.
    let (s, v) = app
        .send(
            "POST",
            "/api/v1/stocktakes",
            &json!({"counts": [{"sku": "cola", "counted": "0"}]}),
            Some("count-1"),
        )
        .await;
    assert_eq!((s, code(&v)), (409, "stocktake_under_transfer"), "{v}");

    let receive = format!("/api/v1/transfers/{id}/receive");
    let (s, v) = app
        .send(
            "POST",
            &receive,
            &json!({"lines": [{"sku": "cola", "qty": "7"}]}),
            Some("rcv-1"),
        )
        .await;
    assert_eq!((s, code(&v)), (422, "receive_exceeds_shipped"), "{v}");
    let (s, v) = app
        .send(
            "POST",
            &receive,
            &json!({"note": "少一瓶", "lines": [{"sku": "cola", "qty": "5"}]}),
            Some("rcv-2"),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["kind"], "transfer_received", "{v}");
    assert_eq!(v["transfer"]["lines"][0]["received"], "5", "{v}");
    assert_eq!(on_hand(&app, "cola").await, "5");
    let (s, v) = app
        .send(
            "POST",
            &receive,
            &json!({"lines": [{"sku": "cola", "qty": "1"}]}),
            Some("rcv-3"),
        )
        .await;
    assert_eq!((s, code(&v)), (409, "transfer_already_received"), "{v}");
    let (s, v) = app
        .get("/api/v1/transfers?status=received&store=store-2")
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["transfers"].as_array().unwrap().len(), 1, "{v}");

    // Now it counts: 5 on the book, 4 on the shelf.
    let (s, v) = app
        .send(
            "POST",
            "/api/v1/stocktakes",
            &json!({"counts": [{"sku": "cola", "counted": "4"}]}),
            Some("count-2"),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["variance"][0]["book"], "5", "{v}");
    assert_eq!(v["variance"][0]["variance"], "-1", "{v}");
    assert_eq!(on_hand(&app, "cola").await, "4");

    // Shipping out: to itself, then to the known store.
    let (s, v) = app
        .send(
            "POST",
            "/api/v1/transfers",
            &json!({"to": NODE, "lines": [{"sku": "cola", "qty": "1"}]}),
            Some("ship-0"),
        )
        .await;
    assert_eq!((s, code(&v)), (422, "transfer_to_self"), "{v}");
    let (s, v) = app
        .send(
            "POST",
            "/api/v1/transfers",
            &json!({"to": "store-2", "lines": [{"sku": "cola", "qty": "3"}]}),
            Some("ship-1"),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["transfer"]["status"], "in_transit", "{v}");
    assert_eq!(on_hand(&app, "cola").await, "1");
    let (s, v) = app.get("/api/v1/stock/value").await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["in_transit"], "6.00", "{v}");
}

/// On hand by category: a category's products and its subcategories'
/// products, nothing else; an unknown category is refused.
#[tokio::test]
async fn stock_on_hand_by_category_includes_subcategories() {
    let app = App::new();
    for (id, body) in [
        ("drinks", json!({"name": "饮料"})),
        ("soda", json!({"name": "汽水", "parent": "drinks"})),
        ("snacks", json!({"name": "零食"})),
    ] {
        let (s, v) = app
            .send("PUT", &format!("/api/v1/categories/{id}"), &body, None)
            .await;
        assert_eq!(s, 200, "{v}");
    }
    for (sku, barcode, cat) in [
        ("cola", "6909990000017", "soda"),
        ("tea", "6909990000024", "drinks"),
        ("chips", "6909990000031", "snacks"),
    ] {
        let (s, p) = app
            .send(
                "PUT",
                &format!("/api/v1/products/{sku}"),
                &json!({"name": format!("商品 {sku}"), "barcode": barcode, "price": "5.00", "category": cat}),
                None,
            )
            .await;
        assert_eq!(s, 200, "{p}");
        let (s, v) = stock_in(&app, sku, "3", &format!("in-{sku}")).await;
        assert_eq!(s, 201, "{v}");
    }
    let skus = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["sku"].as_str().unwrap().to_string())
            .collect()
    };
    let (s, v) = app.get("/api/v1/stock?category=drinks").await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(skus(&v), ["cola", "tea"]);
    let (s, v) = app.get("/api/v1/stock?category=soda").await;
    assert_eq!((s, skus(&v)), (200, vec!["cola".to_string()]), "{v}");
    let (s, v) = app.get("/api/v1/stock?category=snacks&sku=cola").await;
    assert_eq!((s, skus(&v)), (200, Vec::<String>::new()), "{v}");
    let (s, v) = app.get("/api/v1/stock?category=nope").await;
    assert_eq!((s, code(&v)), (404, "unknown_category"), "{v}");
}
