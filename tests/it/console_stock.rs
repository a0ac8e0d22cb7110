//! The stock screen (库存) in a real browser against a real node: goods in
//! of 10 through the 入库 form, a stocktake counting 8 through the 盘点
//! form, the variance −2 on the screen, and on hand 8 both on the screen
//! and in the API afterwards; then at the till (收银), the scanned cola
//! shows this store's on hand, 8, flagged below its minimum of 10.

use fantoccini::key::Key;

use crate::console::{click, dt, fill, open_console, screenshot, text, wait_for, with_browser};
use crate::harness::Node;
use serde_json::json;

/// The node's on hand of `sku` at its store, as the API says.
fn on_hand(node: &Node, store: &str, sku: &str) -> String {
    let (status, v) = node.get(&format!("/stock?store={store}&sku={sku}"));
    assert_eq!(status, 200, "stock: {v}");
    v["items"][0]["on_hand"].as_str().unwrap_or("0").to_string()
}

#[test]
fn console_stock_in_and_stocktake() {
    let node = Node::up();
    let (status, p) = node.put(
        "/products/cola",
        json!({"name": "可乐 Cola", "barcode": "6909990000017", "price": "3.00"}),
    );
    assert_eq!(status, 200, "product: {p}");
    let (status, h) = node.get("/health");
    assert_eq!(status, 200, "health: {h}");
    let store = h["node"].as_str().expect("node name").to_string();
    with_browser("console-stock", async |c| {
        open_console(c, &node).await;
        click(c, "tab-stock").await;
        wait_for(c, r#"[data-test="panel-stock"]:not([hidden])"#).await;

        // 入库: 10 by barcode at 2.00.
        fill(c, "stock-in-supplier", "可口可乐华东").await;
        fill(c, "stock-in-item-0", "6909990000017").await;
        fill(c, "stock-in-qty-0", "10").await;
        fill(c, "stock-in-cost-0", "2.00").await;
        click(c, "stock-in-submit").await;
        wait_for(
            c,
            r#"[data-test="stock-row"][data-sku="cola"][data-on-hand="10"]"#,
        )
        .await;
        assert_eq!(on_hand(&node, &store, "cola"), "10");

        // 盘点: 8 on the shelf.
        fill(c, "stock-take-item-0", "cola").await;
        fill(c, "stock-take-counted-0", "8").await;
        click(c, "stock-take-submit").await;
        let row = r#"[data-test="stock-variance-row"][data-sku="cola"][data-variance="-2"]"#;
        wait_for(c, row).await;
        assert_eq!(
            text(c, &format!("{row} {}", dt("stock-variance-diff"))).await,
            "-2"
        );
        wait_for(
            c,
            r#"[data-test="stock-row"][data-sku="cola"][data-on-hand="8"]"#,
        )
        .await;
        screenshot(c, "console-stock").await;
        assert_eq!(on_hand(&node, &store, "cola"), "8");

        // At the till: the scanned cola shows 8 on hand here, below the
        // minimum of 10 set over the API.
        let (status, m) = node.put(
            "/stock/minimums",
            json!({"lines": [{"sku": "cola", "min": "10"}]}),
        );
        assert_eq!(status, 200, "minimums: {m}");
        click(c, "tab-checkout").await;
        fill(
            c,
            "checkout-code-0",
            &format!("6909990000017{}", Key::Enter),
        )
        .await;
        let tag = format!(
            r#"{}[data-on-hand="8"][data-level="low"]"#,
            dt("checkout-stock-0")
        );
        wait_for(c, &tag).await;
        let shown = text(c, &tag).await;
        assert!(
            shown.contains("本店在库") && shown.contains('8') && shown.contains("低于安全库存"),
            "{shown}"
        );

        // The screen in English keeps its rows and says so in English.
        click(c, "lang-toggle").await;
        wait_for(c, r#"body[data-lang="en"]"#).await;
        assert_eq!(text(c, &dt("tab-stock")).await, "Stock");
        let shown = text(c, &tag).await;
        assert!(
            shown.contains("On hand here") && shown.contains("Below minimum"),
            "{shown}"
        );
        wait_for(
            c,
            r#"[data-test="stock-row"][data-sku="cola"][data-on-hand="8"]"#,
        )
        .await;
    });
}
