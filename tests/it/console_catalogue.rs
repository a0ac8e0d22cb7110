//! HQ's catalogue and category screens in a real browser against a real
//! node (a node of no chain authors its own catalogue): a category and a
//! subcategory made on the category tree, a product in the subcategory
//! with two barcodes, a member price and an attribute made on the
//! catalogue screen, a move that would make a cycle refused with its
//! code; the language toggle on the new tabs. Each step asks the API what
//! the page really did.

use serde_json::json;

use crate::console::{click, dt, fill, open_console, select, text, wait_for, with_browser};
use crate::harness::Node;

#[test]
fn console_catalogue_category_and_product_with_two_barcodes() {
    let node = Node::up();
    with_browser("console-catalogue", async |c| {
        open_console(c, &node).await;
        assert_eq!(text(c, &dt("tab-categories")).await, "商品分类");

        // Two categories, the second under the first.
        click(c, "tab-categories").await;
        fill(c, "cats-f-id", "food").await;
        fill(c, "cats-f-name", "食品").await;
        fill(c, "cats-f-attributes", "产地").await;
        click(c, "cats-submit").await;
        wait_for(c, r#"[data-test="cats-row"][data-id="food"]"#).await;
        fill(c, "cats-f-id", "fruit").await;
        fill(c, "cats-f-name", "水果").await;
        select(c, "cats-f-parent", "food").await;
        fill(c, "cats-f-attributes", "颜色").await;
        click(c, "cats-submit").await;
        wait_for(
            c,
            r#"[data-test="cats-row"][data-id="fruit"][data-parent="food"][data-depth="1"]"#,
        )
        .await;
        let (s, fruit) = node.get("/categories/fruit");
        assert_eq!(s, 200, "{fruit}");
        assert_eq!(fruit["parent"], json!("food"));
        assert_eq!(fruit["inherited"], json!(["颜色", "产地"]));

        // Moving food under fruit would make a cycle: refused, with its code.
        click(c, r#"cats-edit"#).await;
        fill(c, "cats-f-id", "food").await;
        fill(c, "cats-f-name", "食品").await;
        select(c, "cats-f-parent", "fruit").await;
        click(c, "cats-submit").await;
        wait_for(
            c,
            &format!(
                r#"{}[data-code="category_cycle"]:not([hidden])"#,
                dt("error-banner")
            ),
        )
        .await;
        let (_, food) = node.get("/categories/food");
        assert_eq!(food["parent"], json!(null), "{food}");

        // A product in the subcategory with two barcodes.
        click(c, "tab-catalogue").await;
        wait_for(c, r#"[data-test="cat-row"][data-sku="latte"]"#).await;
        fill(c, "cat-f-sku", "apple").await;
        fill(c, "cat-f-name", "苹果").await;
        fill(c, "cat-f-price", "12.50").await;
        fill(c, "cat-f-barcode", "6900000000101").await;
        fill(c, "cat-f-barcodes", "6900000000118").await;
        fill(c, "cat-f-member-price", "9.90").await;
        fill(c, "cat-f-multiplier", "2").await;
        select(c, "cat-f-category", "fruit").await;
        fill(c, "cat-f-attributes", "产地=烟台").await;
        click(c, "cat-submit").await;
        wait_for(
            c,
            r#"[data-test="cat-row"][data-sku="apple"][data-category="fruit"][data-barcodes="6900000000101 6900000000118"]"#,
        )
        .await;
        let (s, p) = node.get("/products/apple");
        assert_eq!(s, 200, "{p}");
        assert_eq!(p["barcode"], json!("6900000000101"));
        assert_eq!(p["barcodes"], json!(["6900000000118"]));
        assert_eq!(p["category"], json!("fruit"));
        assert_eq!(p["member_price"], json!("9.90"));
        assert_eq!(p["points_multiplier"], json!("2"));
        assert_eq!(p["attributes"], json!({"产地": "烟台"}));
        // The till finds it by its second barcode.
        let (s, o) = node.post(
            "/checkouts",
            json!({"lines": [{"barcode": "6900000000118", "qty": "1"}], "tenders": [{"kind": "cash"}]}),
            Some("console-catalogue-sale"),
        );
        assert_eq!((s, &o["payable"]), (201, &json!("12.50")), "{o}");

        // The new tabs speak English too, and back.
        click(c, "lang-toggle").await;
        wait_for(c, r#"body[data-lang="en"]"#).await;
        assert_eq!(text(c, &dt("tab-catalogue")).await, "Catalogue");
        assert_eq!(text(c, &dt("tab-categories")).await, "Categories");
        assert_eq!(text(c, &dt("tab-members")).await, "Members");
        click(c, "lang-toggle").await;
        wait_for(c, r#"body[data-lang="zh"]"#).await;
        assert_eq!(text(c, &dt("tab-catalogue")).await, "商品目录");
    });
}
