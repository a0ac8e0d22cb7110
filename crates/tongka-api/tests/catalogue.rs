//! `PUT /api/v1/products/{sku}`: the catalogue is HQ's (or a chain-less
//! node's own): a store of a chain is refused and nothing changes; HQ's
//! edit is a logged op, and checkout uses the new price.

mod common;

use common::App;
use serde_json::{Value, json};

async fn product(app: &App, sku: &str) -> Value {
    let (s, p) = app.get(&format!("/api/v1/products/{sku}")).await;
    assert_eq!(s, 200, "{p}");
    p
}

#[tokio::test]
async fn a_store_of_a_chain_may_not_change_the_catalogue() {
    let store = App::as_node("store", true);
    let before = store.snapshot().await;
    let latte = product(&store, "latte").await;
    for (sku, body) in [
        (
            "latte",
            json!({"barcode": "6901234567908", "name": "拿铁 Latte", "price": "1.00"}),
        ),
        ("tea", json!({"name": "茶 Tea", "price": "18.00"})),
        // Bad input too: the refusal comes first, nothing is parsed.
        ("bad!sku", json!({"name": "", "price": "-1"})),
    ] {
        let (s, e) = store
            .send("PUT", &format!("/api/v1/products/{sku}"), &body, None)
            .await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (403, Some("catalogue_hq_only")),
            "{e}"
        );
        assert!(
            e["error"]["message_zh"]
                .as_str()
                .is_some_and(|m| m.contains("总部"))
        );
        assert!(
            e["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("HQ"))
        );
    }
    // The refusal is as the OpenAPI document says.
    let a = store
        .call(
            "PUT",
            "/api/v1/products/latte",
            json!({"name": "x", "price": "1"}).to_string().into_bytes(),
            None,
        )
        .await;
    assert_eq!(a.status.as_u16(), 403);
    common::schema::conforms(&common::schema::doc(), "PUT", "/api/v1/products/{sku}", &a);
    assert_eq!(product(&store, "latte").await, latte);
    let (s, _) = store.get("/api/v1/products/tea").await;
    assert_eq!(s, 404);
    assert_eq!(store.snapshot().await, before);
}

#[tokio::test]
async fn hq_changes_a_price_and_adds_a_product_as_ops() {
    let hq = App::as_node("hq", true);
    let seq = |v: &Value| v["ops"].clone();
    let (_, before) = hq.get("/api/v1/sync/status").await;
    let (s, p) = hq
        .send(
            "PUT",
            "/api/v1/products/latte",
            &json!({"barcode": "6901234567908", "name": "拿铁 Latte", "price": "35.00"}),
            None,
        )
        .await;
    assert_eq!((s, &p["price"]), (200, &json!("35.00")), "{p}");
    let (s, p) = hq
        .send(
            "PUT",
            "/api/v1/products/tea",
            &json!({"barcode": "6900000000017", "name": "茶 Tea", "price": "18.00"}),
            None,
        )
        .await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(product(&hq, "tea").await, p);
    let (s, by_code) = hq.get("/api/v1/products").await;
    assert_eq!(s, 200);
    // The sample catalogue and the tea.
    assert_eq!(
        by_code["products"].as_array().unwrap().len(),
        tongka_core::catalogue::sample_catalogue().len() + 1
    );
    // Taking another product's barcode: refused, nothing changed.
    let (s, e) = hq
        .send(
            "PUT",
            "/api/v1/products/cake",
            &json!({"barcode": "6900000000017", "name": "蛋糕 Cake", "price": "20.00"}),
            None,
        )
        .await;
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (409, Some("barcode_taken"))
    );
    let (s, _) = hq.get("/api/v1/products/cake").await;
    assert_eq!(s, 404);
    // The same product again: nothing differs, no op.
    let (_, mid) = hq.get("/api/v1/sync/status").await;
    let (s, _) = hq
        .send(
            "PUT",
            "/api/v1/products/tea",
            &json!({"barcode": "6900000000017", "name": "茶 Tea", "price": "18.00"}),
            None,
        )
        .await;
    assert_eq!(s, 200);
    let (_, after) = hq.get("/api/v1/sync/status").await;
    assert_eq!(seq(&mid), seq(&after));
    assert_eq!(seq(&before), json!(0), "{before}");
    assert_eq!(seq(&mid), json!(2), "two catalogue ops: {mid}");
}
