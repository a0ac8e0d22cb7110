//! The console's coupon screens in a real browser (issue 11), with the
//! helpers of `console.rs`: a coupon issued on the member page (and a
//! second one refused by the template's limit), the member's code scanned
//! on the 核销 screen, the coupon picked there and used at the checkout (the
//! order's `coupon_off` checked over HTTP), a second use refused next to
//! the coupons in either language; an exchange coupon whose free item
//! the 核销 screen puts on the sale, its use given back by a refund; and a
//! batch issued from the members screen, an unknown member refused in it.

use fantoccini::Client;
use fantoccini::key::Key;
use serde_json::{Value, json};

use crate::console::{
    attr, click, click_css, dt, fill, open_console, prop, screenshot, select, text, wait_for,
    with_browser,
};
use crate::harness::Node;

/// Puts `templates` as the programme's coupon templates.
fn put_templates(node: &Node, templates: Value) {
    let (_, mut prog) = node.get("/programme");
    prog["coupon_templates"] = templates;
    let (status, p) = node.put("/programme", prog);
    assert_eq!(status, 200, "programme: {p}");
}

fn coupons(node: &Node, id: &str) -> Vec<Value> {
    let (status, body) = node.get(&format!("/members/{id}/coupons"));
    assert_eq!(status, 200, "coupons of {id}: {body}");
    assert_eq!(body["member_id"], id, "{body}");
    body["coupons"].as_array().expect("coupons array").clone()
}

fn orders(node: &Node) -> u64 {
    let (status, l) = node.get("/ledger/summary");
    assert_eq!(status, 200, "ledger: {l}");
    l["orders"].as_u64().expect("orders count")
}

/// The member code the node gives member `id` now (what its app shows).
fn member_code(node: &Node, id: &str) -> String {
    let (status, c) = node.get(&format!("/members/{id}/code"));
    assert_eq!(status, 200, "code: {c}");
    c["code"].as_str().expect("code").to_string()
}

/// Scans `code` on the 核销 screen as a keyboard-wedge scanner types it.
async fn scan(c: &Client, code: &str) {
    click(c, "tab-verify").await;
    fill(c, "verify-code", &format!("{code}{}", Key::Enter)).await;
}

async fn toggle_lang(c: &Client, to: &str) {
    click(c, "lang-toggle").await;
    wait_for(c, &format!(r#"body[data-lang="{to}"]"#)).await;
}

#[test]
fn console_issues_redeems_and_refuses_a_coupon() {
    let node = Node::up();
    put_templates(
        &node,
        json!([{
            "id": "cash-5", "name": "5元代金券", "kind": "cash",
            "benefit": {"type": "amount_off", "off": "5.00"},
            "validity": {"type": "days_from_issue", "days": 30},
            "uses": 1, "per_member_limit": 1
        }]),
    );
    let before = orders(&node);
    let coupon = |code: &str| format!(r#"{}[data-code="{code}"]"#, dt("member-coupon"));
    with_browser("console-coupons", async |c| {
        open_console(c, &node).await;
        fill(c, "register-phone", "13855556666").await;
        fill(c, "register-name", "券顾客").await;
        click(c, "register-submit").await;
        wait_for(c, "#member-detail:not([hidden])").await;
        let id = crate::console::member_by_phone(&node, "13855556666")["id"]
            .as_str()
            .expect("member id")
            .to_string();
        wait_for(
            c,
            &format!(r#"{}[data-loaded="{id}"]"#, dt("member-coupon-list")),
        )
        .await;
        wait_for(c, &dt("member-coupons-none")).await;

        // Issued through the member page: listed as usable, held here.
        select(c, "coupon-issue-template", "cash-5").await;
        click(c, "coupon-issue-submit").await;
        let usable = format!(r#"{}[data-status="usable"]"#, dt("member-coupon"));
        let code = attr(c, &usable, "data-code").await.expect("a coupon code");
        let held = coupons(&node, &id);
        assert_eq!(held.len(), 1, "{held:?}");
        assert_eq!(held[0]["code"], code.as_str(), "{held:?}");
        assert_eq!(held[0]["template"], "cash-5", "{held:?}");
        assert_eq!(
            (held[0]["left"].as_u64(), held[0]["status"].as_str()),
            (Some(1), Some("usable"))
        );
        let shown = text(c, &coupon(&code)).await;
        for want in ["5元代金券", "代金券", "减 ¥5.00", "剩 1/1 次", "本店 ×1"] {
            assert!(shown.contains(want), "{want:?} not in {shown:?}");
        }
        wait_for(
            c,
            &format!(r#"{}[data-kind="coupon_issued"]"#, dt("history-row")),
        )
        .await;

        // A second one is refused by the template's limit, next to the
        // control, in the language chosen; nothing more is issued.
        select(c, "coupon-issue-template", "cash-5").await;
        click(c, "coupon-issue-submit").await;
        let refused = format!(
            r#"{}[data-code="coupon_limit_reached"]:not([hidden])"#,
            dt("coupon-issue-error")
        );
        wait_for(c, &refused).await;
        let msg = text(c, &dt("coupon-issue-error-message")).await;
        assert!(msg.contains("已达每人上限"), "{msg:?}");
        toggle_lang(c, "en").await;
        let msg = text(c, &dt("coupon-issue-error-message")).await;
        assert!(msg.contains("its limit"), "{msg:?}");
        let shown = text(c, &coupon(&code)).await;
        assert!(
            shown.contains("5.00 off") && shown.contains("this store"),
            "{shown:?}"
        );
        toggle_lang(c, "zh").await;
        assert_eq!(coupons(&node, &id).len(), 1, "a refused issue issued");

        // A template HQ adds while the page is open is offered once the
        // select is opened again.
        let (_, mut prog) = node.get("/programme");
        let mut more = prog["coupon_templates"]
            .as_array()
            .expect("templates")
            .clone();
        more.push(json!({
            "id": "pct-90", "name": "9折券", "kind": "percent",
            "benefit": {"type": "percent", "rate": "0.90"},
            "validity": {"type": "days_from_issue", "days": 30}, "uses": 1
        }));
        prog["coupon_templates"] = json!(more);
        assert_eq!(node.put("/programme", prog).0, 200);
        click(c, "coupon-issue-template").await;
        let offered = text(c, r#"#coupon-issue-template option[value="pct-90"]"#).await;
        assert!(offered == "9折券 · 折扣券 · 9折", "{offered:?}");
        screenshot(c, "console-coupons-member").await;

        // 核销: the member's code scanned, the coupon picked, confirmed.
        scan(c, &member_code(&node, &id)).await;
        wait_for(c, &format!(r#"{}[data-id="{id}"]"#, dt("verify-member"))).await;
        wait_for(c, &dt("verify-cards")).await;
        let pick = format!(r#"{}[data-code="{code}"]"#, dt("verify-coupon"));
        click_css(c, &format!("{pick} input")).await;
        wait_for(c, &format!(r#"{pick}[data-picked="1"]"#)).await;
        screenshot(c, "console-coupons-verify").await;
        click(c, "verify-confirm").await;

        // The checkout opens with the member and the coupon chosen.
        wait_for(c, "#panel-checkout:not([hidden])").await;
        wait_for(c, &format!(r#"{}[data-id="{id}"]"#, dt("checkout-member"))).await;
        let chosen = format!(
            r#"{}[data-code="{code}"][data-chosen="1"]"#,
            dt("checkout-coupon")
        );
        wait_for(c, &chosen).await;
        fill(c, "checkout-desc-0", "蛋糕").await;
        fill(c, "checkout-price-0", "20.00").await;
        select(c, "checkout-tender-kind-0", "cash").await;
        wait_for(
            c,
            &format!(r#"{}[data-value="5.00"]"#, dt("checkout-quote-coupon-off")),
        )
        .await;
        wait_for(
            c,
            &format!(
                r#"{chosen} {}[data-value="5.00"]"#,
                dt("checkout-coupon-off")
            ),
        )
        .await;
        wait_for(
            c,
            &format!(r#"{}[data-value="15.00"]"#, dt("checkout-quote-payable")),
        )
        .await;
        click(c, "checkout-submit").await;
        wait_for(
            c,
            &format!(r#"{}[data-value="5.00"]"#, dt("receipt-coupon-0")),
        )
        .await;
        let line = text(c, &dt("receipt-coupon-0")).await;
        assert_eq!(line, "-¥5.00");
        screenshot(c, "console-coupons-receipt").await;
        let order_id = text(c, &dt("receipt-id")).await;
        let (status, order) = node.get(&format!("/orders/{order_id}"));
        assert_eq!(status, 200, "order: {order}");
        assert_eq!(order["coupon_off"], "5.00", "the template's 5.00: {order}");
        assert_eq!(order["coupons"][0]["code"], code.as_str(), "{order}");
        assert_eq!(order["coupons"][0]["off"], "5.00", "{order}");
        assert_eq!(order["member_id"], id.as_str(), "{order}");
        assert_eq!(orders(&node), before + 1);
        let used = coupons(&node, &id);
        assert_eq!(
            (used[0]["left"].as_u64(), used[0]["status"].as_str()),
            (Some(0), Some("used"))
        );

        // A second use: scanned again, the member has no usable coupon; the
        // code typed at the checkout is refused next to the coupons, in
        // either language, and the sale is refused.
        scan(c, &member_code(&node, &id)).await;
        wait_for(
            c,
            &format!(r#"{}[data-loaded="{id}"]"#, dt("verify-coupons")),
        )
        .await;
        wait_for(c, &dt("verify-coupons-none")).await;
        click(c, "verify-confirm").await;
        wait_for(c, &format!(r#"{}[data-id="{id}"]"#, dt("checkout-member"))).await;
        wait_for(
            c,
            &format!(r#"{}[data-loaded="{id}"]"#, dt("checkout-coupon-list")),
        )
        .await;
        wait_for(c, &dt("checkout-coupons-none")).await;
        fill(c, "checkout-desc-0", "蛋糕").await;
        fill(c, "checkout-price-0", "20.00").await;
        select(c, "checkout-tender-kind-0", "cash").await;
        fill(c, "checkout-coupon-code", &format!("{code}{}", Key::Enter)).await;
        let refused = format!(
            r#"{}[data-code="coupon_used"]:not([hidden])"#,
            dt("checkout-coupon-error")
        );
        wait_for(c, &refused).await;
        wait_for(
            c,
            &format!(r#"{}.invalid[data-code="{code}"]"#, dt("checkout-coupon")),
        )
        .await;
        let msg = text(c, &dt("checkout-coupon-error-message")).await;
        assert!(msg.contains(&code) && msg.contains("已用完"), "{msg:?}");
        // The goods are still priced, without the coupon.
        wait_for(
            c,
            &format!(r#"{}[data-value="20.00"]"#, dt("checkout-quote-payable")),
        )
        .await;
        toggle_lang(c, "en").await;
        let msg = text(c, &dt("checkout-coupon-error-message")).await;
        assert!(msg.contains("no use left"), "{msg:?}");
        toggle_lang(c, "zh").await;
        screenshot(c, "console-coupons-refused").await;
        click(c, "checkout-submit").await;
        wait_for(
            c,
            &format!(
                r#"{}[data-code="coupon_used"]:not([hidden])"#,
                dt("error-banner")
            ),
        )
        .await;
        wait_for(c, &refused).await;

        // The member page lists it as used.
        click(c, "tab-members").await;
        click(c, "member-refresh").await;
        wait_for(
            c,
            &format!(r#"{} {}"#, dt("member-coupons-used"), coupon(&code)),
        )
        .await;
    });
    assert_eq!(orders(&node), before + 1, "the refused second use sold");
}

/// An exchange coupon (兑换券) redeemed from the 核销 screen: its free item
/// is put on the sale as if scanned, and taken off; a code that is no
/// member code is refused there with the node's reason; the sale refunded
/// on the orders screen gives the coupon's use back.
#[test]
fn console_redeems_an_exchange_coupon() {
    let node = Node::up();
    let (status, p) = node.put(
        "/products/green-tea",
        json!({"barcode": "6900000000017", "name": "绿茶", "price": "10.00"}),
    );
    assert_eq!(status, 200, "product: {p}");
    put_templates(
        &node,
        json!([{
            "id": "tea-free", "name": "绿茶兑换券", "kind": "exchange",
            "benefit": {"type": "free_item", "sku": "green-tea"},
            "validity": {"type": "days_from_issue", "days": 7},
            "uses": 1
        }]),
    );
    let id = node.member("13866667777", "兑换顾客");
    let (status, issued) = node.post(
        &format!("/members/{id}/coupons"),
        json!({"template": "tea-free"}),
        Some("console-exchange-issue"),
    );
    assert_eq!(status, 201, "issue: {issued}");
    let code = issued["code"].as_str().expect("coupon code").to_string();
    with_browser("console-coupon-exchange", async |c| {
        open_console(c, &node).await;
        scan(c, "TK1.not-a-member-code").await;
        let refused = format!("{}:not([hidden])", dt("verify-error"));
        let why = attr(c, &refused, "data-code").await.unwrap_or_default();
        assert!(why.starts_with("member_code"), "{why:?}");

        scan(c, &member_code(&node, &id)).await;
        let pick = format!(r#"{}[data-code="{code}"]"#, dt("verify-coupon"));
        // The one usable coupon is picked already.
        let shown = text(c, &format!(r#"{pick}[data-picked="1"]"#)).await;
        assert!(
            shown.contains("兑换 绿茶 (green-tea)") || shown.contains("兑换 green-tea"),
            "{shown:?}"
        );
        click(c, "verify-confirm").await;
        wait_for(c, &format!(r#"{}[data-id="{id}"]"#, dt("checkout-member"))).await;
        // The free item's line, priced from the catalogue.
        let tea = format!(r#"tr[data-resolved="sku"] {}"#, dt("checkout-code-0"));
        assert_eq!(prop(c, &tea, "value").await.as_deref(), Some("green-tea"));
        click(c, "checkout-add-line").await;
        fill(c, "checkout-desc-1", "蛋糕").await;
        fill(c, "checkout-price-1", "20.00").await;
        select(c, "checkout-tender-kind-0", "cash").await;
        wait_for(
            c,
            &format!(r#"{}[data-value="10.00"]"#, dt("checkout-quote-coupon-off")),
        )
        .await;
        wait_for(
            c,
            &format!(r#"{}[data-value="20.00"]"#, dt("checkout-quote-payable")),
        )
        .await;
        click(c, "checkout-submit").await;
        wait_for(
            c,
            &format!(r#"{}[data-value="10.00"]"#, dt("receipt-coupon-0")),
        )
        .await;
        let order_id = text(c, &dt("receipt-id")).await;
        let (_, order) = node.get(&format!("/orders/{order_id}"));
        assert_eq!(order["coupon_off"], "10.00", "{order}");
        assert_eq!(order["lines"][0]["sku"], "green-tea", "{order}");
        assert_eq!(order["lines"][0]["coupon_off"], "10.00", "{order}");

        // Refunded whole on the orders screen: the order view shows the
        // coupon line, and the coupon's use comes back (it is still valid).
        click(c, "receipt-to-order").await;
        wait_for(c, &format!(r#"#order-view[data-id="{order_id}"]"#)).await;
        wait_for(
            c,
            &format!(r#"{}[data-value="10.00"]"#, dt("order-view-coupon-0")),
        )
        .await;
        click(c, "refund-all").await;
        click(c, "refund-all").await;
        wait_for(
            c,
            &format!(r#"{}[data-value="{code}"]"#, dt("refund-coupons")),
        )
        .await;

        // The overview's ledger counts it: 10.00 taken off, one use given back.
        click(c, "tab-overview").await;
        assert_eq!(text(c, &dt("ledger-coupons-off")).await, "¥10.00");
        assert_eq!(text(c, &dt("ledger-coupons-uses_returned")).await, "1");
    });
    let (_, list) = node.get(&format!("/members/{id}/coupons"));
    let back = &list["coupons"][0];
    assert_eq!(
        (back["left"].as_u64(), back["status"].as_str()),
        (Some(1), Some("usable")),
        "{list}"
    );
}

/// A batch issued from the members screen (批量发券): two members, one
/// pasted and one added from the search's list, and a well-formed id of
/// no member; the screen says 2 issued and lists the unknown one refused
/// with the node's reason, in either language, and each of the two holds
/// the coupon. A body the node refuses whole (an id of no member's shape)
/// is shown next to the form, naming the id, and issues nothing.
#[test]
fn console_issues_a_batch_of_coupons() {
    let node = Node::up();
    put_templates(
        &node,
        json!([{
            "id": "gift-10", "name": "10元礼券", "kind": "cash",
            "benefit": {"type": "amount_off", "off": "10.00"},
            "validity": {"type": "days_from_issue", "days": 30},
            "uses": 1
        }]),
    );
    let a = node.member("13877770001", "批量甲");
    let b = node.member("13877770002", "批量乙");
    // Of a member id's shape (`m-<node>-<n>`), and no member's.
    let (prefix, _) = a.rsplit_once('-').expect("m-<node>-<n>");
    let unknown = format!("{prefix}-999999");
    with_browser("console-coupon-batch", async |c| {
        open_console(c, &node).await;
        // Refused whole: nothing issued, the id at fault named by the form.
        wait_for(c, r#"#batch-template option[value="gift-10"]"#).await;
        select(c, "batch-template", "gift-10").await;
        fill(c, "batch-members", &format!("{a}\nnot-a-member")).await;
        click(c, "batch-submit").await;
        wait_for(
            c,
            &format!(
                r#"{}[data-code="invalid_member_ids"]:not([hidden])"#,
                dt("batch-error")
            ),
        )
        .await;
        let msg = text(c, &dt("batch-error-message")).await;
        assert!(msg.contains("not-a-member"), "{msg:?}");
        assert!(coupons(&node, &a).is_empty(), "a refused batch issued");

        // One pasted with the unknown id, one added from the search's list.
        fill(c, "batch-members", &format!("{a}\n{unknown}")).await;
        fill(c, "member-search-q", "13877770002").await;
        click(c, "member-search-submit").await;
        wait_for(c, &format!(r#"{}[data-id="{b}"]"#, dt("member-result"))).await;
        click(c, "batch-listed").await;
        let listed = prop(c, &dt("batch-members"), "value")
            .await
            .unwrap_or_default();
        assert_eq!(listed, format!("{a}\n{unknown}\n{b}"));
        click(c, "batch-submit").await;
        let issued = format!(r#"{}[data-count="2"]"#, dt("batch-issued"));
        let shown = text(c, &issued).await;
        assert!(
            shown.contains("已发放 2 张") && shown.contains("10元礼券"),
            "{shown:?}"
        );
        wait_for(c, "#batch-error[hidden]").await;
        let refused = format!(
            r#"{}[data-id="{unknown}"][data-code="member_not_found"]"#,
            dt("batch-refused-member")
        );
        let rows = c
            .find_all(fantoccini::Locator::Css(&dt("batch-refused-member")))
            .await
            .expect("refused rows");
        assert_eq!(rows.len(), 1, "only the unknown member is refused");
        let why = text(c, &format!("{refused} {}", dt("batch-refused-reason"))).await;
        assert!(why.contains("不存在") && why.contains(&unknown), "{why:?}");
        screenshot(c, "console-coupon-batch").await;
        toggle_lang(c, "en").await;
        let shown = text(c, &issued).await;
        assert!(shown.contains("2 issued"), "{shown:?}");
        let why = text(c, &format!("{refused} {}", dt("batch-refused-reason"))).await;
        assert!(
            why.contains("not found") && why.contains(&unknown),
            "{why:?}"
        );
        toggle_lang(c, "zh").await;
        // The member the search opened shows the coupon just issued.
        wait_for(
            c,
            &format!(
                r#"{}[data-loaded="{b}"] {}[data-status="usable"]"#,
                dt("member-coupon-list"),
                dt("member-coupon")
            ),
        )
        .await;
    });
    for id in [&a, &b] {
        let held = coupons(&node, id);
        assert_eq!(held.len(), 1, "{id}: {held:?}");
        assert_eq!(held[0]["template"], "gift-10", "{id}: {held:?}");
        assert_eq!(held[0]["status"], "usable", "{id}: {held:?}");
    }
    let (status, _) = node.get(&format!("/members/{unknown}/coupons"));
    assert_eq!(status, 404, "the unknown member");
}
