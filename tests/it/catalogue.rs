//! HQ authors the catalogue for the chain: a store may not change it, HQ's
//! price change and new product reach every store by replication, both
//! stores sell at the new price (a sale made before keeps its price), and
//! the catalogue survives a SIGKILL and restart.

use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::{Chain, Node, wait_for};

fn sell(node: &Node, sku: &str, key: &str) -> Value {
    let (s, o) = node.post(
        "/checkouts",
        json!({"lines": [{"sku": sku, "qty": "1"}], "tenders": [{"kind": "cash", "amount": "100"}]}),
        Some(key),
    );
    assert_eq!(s, 201, "{o}");
    o
}

#[test]
fn hq_changes_a_price_and_adds_a_product_and_both_stores_sell_by_them() {
    let mut chain = Chain::with_hq(2);
    let before = sell(&chain.nodes[0], "latte", "s0");
    assert_eq!(before["payable"], "32.00", "{before}");

    // A store of the chain may not change the catalogue.
    let (s, e) = chain.nodes[0].put(
        "/products/latte",
        json!({"barcode": "6901234567908", "name": "拿铁 Latte", "price": "1.00"}),
    );
    assert_eq!(
        (s, &e["error"]["code"]),
        (403, &json!("catalogue_hq_only")),
        "{e}"
    );

    // HQ does: latte repriced, tea added.
    let hq = &chain.nodes[2];
    // As answered: `card` null (not a card product), and the fields an
    // API v1 body leaves out at their defaults.
    let answered = |v1: Value| {
        let mut p = v1;
        let defaults = json!({"card": null, "barcodes": [], "unit": "whole", "unit_label": "件",
            "member_price": null, "points_multiplier": "1", "active": true, "category": null,
            "stocked": true, "store_prices": {}, "attributes": {}});
        for (k, v) in defaults.as_object().unwrap() {
            p[k] = v.clone();
        }
        p
    };
    let latte = answered(
        json!({"sku": "latte", "barcode": "6901234567908", "name": "拿铁 Latte", "price": "35.00"}),
    );
    let tea = answered(
        json!({"sku": "tea", "barcode": "6900000000017", "name": "茶 Tea", "price": "18.00"}),
    );
    for p in [&latte, &tea] {
        // An API v1 body: sku in the path, no new field.
        let body = json!({"barcode": p["barcode"], "name": p["name"], "price": p["price"]});
        let (s, got) = hq.put(&format!("/products/{}", p["sku"].as_str().unwrap()), body);
        assert_eq!((s, &got), (200, p));
    }
    for i in [0, 1] {
        wait_for(
            "the catalogue change at the stores",
            Duration::from_secs(20),
            || {
                chain.nodes[i].get("/products/latte").1 == latte
                    && chain.nodes[i].get("/products/tea").1 == tea
            },
        );
        assert_eq!(sell(&chain.nodes[i], "latte", "s1")["payable"], "35.00");
        assert_eq!(sell(&chain.nodes[i], "tea", "s2")["payable"], "18.00");
    }
    // The sale made before keeps its price.
    let oid = before["id"].as_str().unwrap();
    let (_, o) = chain.nodes[0].get(&format!("/orders/{oid}"));
    assert_eq!(o["payable"], "32.00", "{o}");

    // Durable: after SIGKILL and restart the store still has it.
    chain.nodes[0].restart();
    assert_eq!(chain.nodes[0].get("/products/latte").1, latte);
    assert_eq!(chain.nodes[0].get("/products/tea").1, tea);
    assert_eq!(sell(&chain.nodes[0], "tea", "s3")["payable"], "18.00");
    chain.wait_connected();
    chain.wait_converged(&[0, 1, 2], Duration::from_secs(30));
}
