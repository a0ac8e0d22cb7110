//! The web console in a real browser: headless Debian Chromium driven through
//! chromedriver (fantoccini) against a real `tongka up` node. Each test checks
//! what the page shows and then asks the API whether the console really did
//! it.
//!
//! Waits are `wait().for_element(..)` on selectors that only match once the
//! page is in the expected state (the console mirrors important values into
//! `data-value` / `data-code` / `data-id` attributes for that), never sleeps.
//! Set `TONGKA_SCREENSHOTS=DIR` to keep screenshots (and one of any failure).
//! The browser and the helpers that act on the page are in `browser.rs`.

use std::time::Duration;

use fantoccini::key::Key;
use fantoccini::{Client, Locator};
use serde_json::{Value, json};

use crate::harness::Node;

pub(crate) use crate::browser::*;

/// (a) The cashier's day: register, recharge, check out, all through the
/// forms; the API agrees with what the page shows.
#[test]
fn console_register_recharge_checkout() {
    let node = Node::up();
    with_browser("console-register-recharge-checkout", async |c| {
        open_console(c, &node).await;
        // The token left the address bar.
        let url = c.current_url().await.expect("current url");
        assert!(
            !url.as_str().contains("token="),
            "token still in the URL: {url}"
        );

        // Register a member.
        fill(c, "register-phone", "13812341234").await;
        fill(c, "register-name", "张三").await;
        click(c, "register-submit").await;
        wait_for(c, "#member-detail:not([hidden])").await;
        assert_eq!(text(c, &dt("member-name")).await, "张三");
        let m = member_by_phone(&node, "13812341234");
        let id = m["id"].as_str().expect("member id").to_string();
        assert_eq!(m["name"], "张三");

        // Recharge 1000 in cash; the button is clicked twice in a row, as a
        // nervous cashier would: the member must be charged once.
        fill(c, "recharge-amount", "1000").await;
        select(c, "recharge-tender", "cash").await;
        wait_for(
            c,
            &format!(r#"{}[data-value="100.00"]"#, dt("recharge-bonus")),
        )
        .await;
        c.execute(
            r#"const b = document.querySelector('[data-test="recharge-submit"]'); b.click(); b.click();"#,
            vec![],
        )
        .await
        .expect("click recharge");
        let balance = format!(r#"{}[data-value="1100.00"]"#, dt("member-balance"));
        assert_eq!(text(c, &balance).await, "¥1100.00");
        let level = text(c, &dt("member-level")).await;
        assert!(level.contains("银卡会员"), "level shown: {level}");
        screenshot(c, "console-member").await;

        let m = member(&node, &id);
        assert_eq!(m["balance"], "1100.00", "one recharge only: {m}");
        assert_eq!(m["level"]["name_zh"], "银卡会员");
        let (status, hist) = node.get(&format!("/members/{id}/history"));
        assert_eq!(status, 200, "history: {hist}");
        let recharges = hist["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .filter(|e| e["kind"] == "recharged")
            .count();
        assert_eq!(recharges, 1, "double click recharged twice: {hist}");

        // Check out a typed line, paid from the balance.
        click(c, "member-to-checkout").await;
        wait_for(c, &format!(r#"{}[data-id="{id}"]"#, dt("checkout-member"))).await;
        fill(c, "checkout-desc-0", "咖啡").await;
        fill(c, "checkout-price-0", "100.00").await;
        fill(c, "checkout-qty-0", "1").await;
        select(c, "checkout-tender-kind-0", "balance").await;
        wait_for(
            c,
            &format!(r#"{}[data-fen="10000"]"#, dt("checkout-amount-0")),
        )
        .await;
        // The level's discount and the payable, as the node's quote has
        // them, before anything is charged.
        let quoted = format!(r#"{}[data-value="95.00"]"#, dt("checkout-quote-payable"));
        assert_eq!(text(c, &quoted).await, "¥95.00");
        assert_eq!(text(c, &dt("checkout-quote-discount")).await, "-¥5.00");
        assert_eq!(text(c, &dt("checkout-quote-points")).await, "+95");
        assert_eq!(
            member(&node, &id)["balance"],
            "1100.00",
            "a quote spends nothing"
        );
        click(c, "checkout-submit").await;
        let payable = format!(r#"{}[data-value="95.00"]"#, dt("receipt-payable"));
        assert_eq!(text(c, &payable).await, "¥95.00");
        assert_eq!(text(c, &dt("receipt-total")).await, "¥100.00");
        assert_eq!(text(c, &dt("receipt-tender-balance")).await, "¥95.00");
        let order_id = text(c, &dt("receipt-id")).await;
        screenshot(c, "console-checkout").await;

        // The UI really did it.
        let m = member(&node, &id);
        assert_eq!(m["balance"], "1005.00", "after the sale: {m}");
        assert_eq!(m["points"], 95, "points: {m}");
        let (status, order) = node.get(&format!("/orders/{order_id}"));
        assert_eq!(status, 200, "order {order_id}: {order}");
        assert_eq!(order["payable"], "95.00");
        assert_eq!(order["member_id"], id.as_str());
    });
}

/// (b) A wrong token lands on the login box with a message; the right one
/// typed into it signs in.
#[test]
fn console_wrong_token_shows_login() {
    let node = Node::up();
    with_browser("console-wrong-token", async |c| {
        c.goto(&format!("{}/#token=not-the-token", node.url))
            .await
            .expect("open the console");
        wait_for(c, r#"body[data-auth="login"]"#).await;
        wait_for(c, &format!("{}:not([hidden])", dt("login"))).await;
        let msg = text(c, &format!("{}:not([hidden])", dt("login-message"))).await;
        assert!(msg.contains("令牌"), "login message: {msg:?}");
        // The member screens are not shown.
        let panel = wait_for(c, &dt("panel-members")).await;
        assert!(
            !panel.is_displayed().await.unwrap(),
            "members shown to a wrong token"
        );

        fill(c, "login-token", &node.token).await;
        click(c, "login-submit").await;
        wait_for(c, r#"body[data-auth="app"]"#).await;
        wait_for(c, &format!("{}:not([hidden])", dt("panel-members"))).await;
    });
}

/// (c) Paying more than the balance: the banner shows the Chinese refusal
/// with its code, and nothing is spent.
#[test]
fn console_insufficient_balance_banner() {
    let node = Node::up();
    let (status, m) = node.post(
        "/members",
        json!({"phone": "13900001111", "name": "李四"}),
        Some("console-c-register"),
    );
    assert_eq!(status, 201, "register: {m}");
    let id = m["id"].as_str().expect("member id").to_string();
    let (status, r) = node.post(
        &format!("/members/{id}/recharges"),
        json!({"amount": "100.00", "tender": "cash"}),
        Some("console-c-recharge"),
    );
    assert_eq!(status, 201, "recharge: {r}");
    assert_eq!(member(&node, &id)["balance"], "100.00");

    with_browser("console-insufficient-balance", async |c| {
        open_console(c, &node).await;
        click(c, "tab-checkout").await;
        fill(c, "checkout-member-q", "13900001111").await;
        click(c, "checkout-member-find").await;
        wait_for(c, &format!(r#"{}[data-id="{id}"]"#, dt("checkout-member"))).await;
        fill(c, "checkout-desc-0", "蛋糕").await;
        fill(c, "checkout-price-0", "500.00").await;
        select(c, "checkout-tender-kind-0", "balance").await;
        // The quote already says the balance here is short, and still
        // shows what the goods come to.
        wait_for(
            c,
            &format!(
                r#"{}[data-code="insufficient_balance"]:not([hidden])"#,
                dt("checkout-quote-note")
            ),
        )
        .await;
        let note = text(c, &dt("checkout-quote-note")).await;
        assert!(note.contains("余额不足"), "quote note: {note:?}");
        wait_for(
            c,
            &format!(r#"{}[data-value="500.00"]"#, dt("checkout-quote-payable")),
        )
        .await;
        click(c, "checkout-submit").await;
        let banner = format!(
            r#"{}[data-code="insufficient_balance"]:not([hidden])"#,
            dt("error-banner")
        );
        wait_for(c, &banner).await;
        let msg = text(c, &dt("error-message")).await;
        assert!(msg.contains("余额不足"), "banner message: {msg:?}");
        assert_eq!(text(c, &dt("error-code")).await, "insufficient_balance");
        // No receipt was printed.
        let receipt = wait_for(c, &dt("receipt")).await;
        assert!(
            !receipt.is_displayed().await.unwrap(),
            "a receipt for a refused sale"
        );
        screenshot(c, "console-insufficient-balance").await;
    });
    let m = member(&node, &id);
    assert_eq!(
        m["balance"], "100.00",
        "balance changed by a refused sale: {m}"
    );
}

/// (d) The 中文/English toggle switches the labels, is remembered across a
/// reload, and errors come in the chosen language.
#[test]
fn console_english_toggle() {
    let node = Node::up();
    with_browser("console-english", async |c| {
        open_console(c, &node).await;
        assert_eq!(text(c, &dt("tab-members")).await, "会员");
        assert_eq!(text(c, &dt("register-submit")).await, "登记");
        assert_eq!(text(c, &dt("lang-toggle")).await, "English");

        click(c, "lang-toggle").await;
        wait_for(c, r#"body[data-lang="en"]"#).await;
        assert_eq!(text(c, &dt("tab-members")).await, "Members");
        assert_eq!(text(c, &dt("tab-checkout")).await, "Checkout");
        assert_eq!(text(c, &dt("register-submit")).await, "Register");
        assert_eq!(text(c, &dt("lang-toggle")).await, "中文");
        let lang = c
            .execute("return document.documentElement.lang", vec![])
            .await
            .unwrap();
        assert_eq!(lang, json!("en"));

        // Remembered.
        c.refresh().await.expect("reload");
        wait_for(c, r#"body[data-auth="app"][data-lang="en"]"#).await;
        assert_eq!(text(c, &dt("tab-orders")).await, "Orders");

        // An API refusal shows its English message.
        let (status, refusal) = node.post(
            "/members",
            json!({"phone": "12345", "name": "Bad Phone"}),
            None,
        );
        assert!(
            (400..500).contains(&status),
            "bad phone accepted: {refusal}"
        );
        let code = refusal["error"]["code"]
            .as_str()
            .expect("error code")
            .to_string();
        let message = refusal["error"]["message"]
            .as_str()
            .expect("message")
            .to_string();
        fill(c, "register-phone", "12345").await;
        fill(c, "register-name", "Bad Phone").await;
        click(c, "register-submit").await;
        wait_for(
            c,
            &format!(
                r#"{}[data-code="{code}"]:not([hidden])"#,
                dt("error-banner")
            ),
        )
        .await;
        let shown = text(c, &dt("error-message")).await;
        assert!(
            shown.contains(&message),
            "banner {shown:?} lacks {message:?}"
        );

        // And back.
        click(c, "lang-toggle").await;
        wait_for(c, r#"body[data-lang="zh"]"#).await;
        assert_eq!(text(c, &dt("tab-members")).await, "会员");
        let zh = refusal["error"]["message_zh"].as_str().unwrap_or_default();
        let shown = text(c, &dt("error-message")).await;
        assert!(shown.contains(zh), "banner {shown:?} lacks {zh:?}");
    });
}

/// (e) A keyboard-wedge scanner types a barcode and Enter into the focused
/// field: each scan adds a line, the same code twice makes quantity 2. Then
/// the answer to the sale is lost on its way back (the sale was made); the
/// cashier presses 结账 again, the console reuses the Idempotency-Key, and
/// the shop has one sale, not two.
#[test]
fn console_scanner_and_retry_after_lost_answer() {
    let node = Node::up();
    let (status, p) = node.put(
        "/products/green-tea",
        json!({"barcode": "6900000000017", "name": "绿茶", "price": "10.00"}),
    );
    assert_eq!(status, 200, "product: {p}");
    let orders = |node: &Node| {
        let (status, l) = node.get("/ledger/summary");
        assert_eq!(status, 200, "ledger: {l}");
        l["orders"].as_u64().expect("orders count")
    };
    let before = orders(&node);

    with_browser("console-scanner-retry", async |c| {
        open_console(c, &node).await;
        click(c, "tab-checkout").await;
        // The first answer from POST /checkouts never reaches the page.
        c.execute(
            r#"
            const orig = window.fetch;
            let lost = false;
            window.__checkoutKeys = [];
            window.fetch = async function (input, init) {
              const res = await orig.call(this, input, init);
              if (String(input).endsWith('/api/v1/checkouts')) {
                window.__checkoutKeys.push(init.headers['Idempotency-Key']);
                if (!lost) { lost = true; throw new TypeError('answer lost'); }
              }
              return res;
            };"#,
            vec![],
        )
        .await
        .expect("install the fetch interceptor");

        // Two scans, typed into whatever field has the focus.
        let scan = format!("6900000000017{}", Key::Enter);
        fill(c, "checkout-code-0", &scan).await;
        wait_for(c, &dt("checkout-code-1")).await;
        c.active_element()
            .await
            .expect("focused field")
            .send_keys(&scan)
            .await
            .expect("second scan");
        wait_for(
            c,
            &format!(r#"{}[data-fen="2000"]"#, dt("checkout-amount-0")),
        )
        .await;
        let desc = prop(c, &dt("checkout-desc-0"), "value").await;
        assert_eq!(desc.as_deref(), Some("绿茶"));
        select(c, "checkout-tender-kind-0", "cash").await;

        click(c, "checkout-submit").await;
        wait_for(
            c,
            &format!(
                r#"{}[data-code="network_error"]:not([hidden])"#,
                dt("error-banner")
            ),
        )
        .await;
        assert_eq!(orders(&node), before + 1, "the lost sale was still made");

        click(c, "checkout-submit").await;
        let payable = format!(r#"{}[data-value="20.00"]"#, dt("receipt-payable"));
        assert_eq!(text(c, &payable).await, "¥20.00");
        let keys = c
            .execute("return window.__checkoutKeys", vec![])
            .await
            .expect("keys");
        let keys = keys.as_array().expect("keys array");
        assert_eq!(keys.len(), 2, "two submissions: {keys:?}");
        assert_eq!(keys[0], keys[1], "the retry must reuse the Idempotency-Key");
        let order_id = text(c, &dt("receipt-id")).await;
        let (status, order) = node.get(&format!("/orders/{order_id}"));
        assert_eq!(status, 200, "order: {order}");
        assert_eq!(order["lines"][0]["qty"], "2", "one line of 2: {order}");
        assert_eq!(order["lines"].as_array().map(Vec::len), Some(1), "{order}");
    });
    assert_eq!(orders(&node), before + 1, "the retry charged a second time");
}

fn register(node: &crate::harness::Node, body: Value, key: &str) -> String {
    let (status, m) = node.post("/members", body, Some(key));
    assert_eq!(status, 201, "register: {m}");
    m["id"].as_str().expect("member id").to_string()
}

fn recharge(node: &crate::harness::Node, id: &str, amount: &str, key: &str) -> Value {
    let (status, r) = node.post(
        &format!("/members/{id}/recharges"),
        json!({"amount": amount, "tender": "cash"}),
        Some(key),
    );
    assert_eq!(status, 201, "recharge: {r}");
    r
}

/// (f) Duplicates made by a partition, merged by a store manager: the
/// screen lists both pairs side by side; a merge the page does not know
/// was already made elsewhere is refused with the API's code and message;
/// the other pair is merged after a confirmation, and the survivor ends
/// with both balances (the other store moves its share). The programme is
/// read-only on a chain's store.
#[test]
fn console_merges_duplicates_from_a_partition() {
    let mut chain = crate::harness::Chain::new(2);
    let (p1, p2) = ("13966667777", "13966668888");
    // Store-1 alone registers two members; then store-2 alone registers
    // the same two phones (SIGKILL makes the partition).
    chain.nodes[1].kill9();
    let a = register(
        &chain.nodes[0],
        json!({"phone": p1, "name": "王五"}),
        "cm-a",
    );
    recharge(&chain.nodes[0], &a, "300.00", "cm-a1");
    let mc = register(
        &chain.nodes[0],
        json!({"phone": p2, "name": "孙七"}),
        "cm-c",
    );
    chain.nodes[0].kill9();
    chain.nodes[1].restart();
    let b = register(
        &chain.nodes[1],
        json!({"phone": p1, "name": "王五", "card_no": "CARD7777"}),
        "cm-b",
    );
    recharge(&chain.nodes[1], &b, "1000.00", "cm-b1");
    let d = register(
        &chain.nodes[1],
        json!({"phone": p2, "name": "孙七"}),
        "cm-d",
    );
    chain.nodes[0].restart();
    chain.wait_connected();
    chain.wait_converged(&[0, 1], Duration::from_secs(30));
    let store1 = &chain.nodes[0];
    assert_eq!(member(store1, &b)["balance"], "1100.00");

    with_browser("console-merge", async |c| {
        open_console(c, store1).await;
        click(c, "tab-duplicates").await;
        let group =
            |x: &str, y: &str| format!(r#"{}[data-ids~="{x}"][data-ids~="{y}"]"#, dt("dup-group"));
        let g1 = group(&a, &b);
        let g2 = group(&mc, &d);
        wait_for(c, &g1).await;
        wait_for(c, &g2).await;
        // Side by side: B's card and balance as store-2 registered them.
        let b_card = format!(r#"{g1} {}[data-id="{b}"]"#, dt("dup-member"));
        assert_eq!(
            text(c, &format!("{b_card} {}", dt("dup-card"))).await,
            "CARD7777"
        );
        assert_eq!(
            text(c, &format!("{b_card} {}", dt("dup-balance"))).await,
            "¥1100.00"
        );
        screenshot(c, "console-duplicates").await;

        // Meanwhile D is merged into C at the API, behind the page's back:
        // merging that pair from the page is refused with the API's code.
        let (status, r) = store1.post(
            &format!("/members/{mc}/merge"),
            json!({"absorb": d}),
            Some("cm-merge-cd"),
        );
        assert_eq!(status, 201, "merge at the API: {r}");
        click_css(
            c,
            &format!(r#"{g2} {}[data-id="{}"]"#, dt("dup-member"), mc),
        )
        .await;
        click_css(
            c,
            &format!(r#"{g2}[data-survivor="{}"] {}"#, mc, dt("dup-merge")),
        )
        .await;
        click_css(c, &format!("{g2} {}", dt("merge-confirm"))).await;
        wait_for(
            c,
            &format!(
                r#"{}[data-code="member_merged"]:not([hidden])"#,
                dt("error-banner")
            ),
        )
        .await;
        let msg = text(c, &dt("error-message")).await;
        assert!(msg.contains("已合并"), "banner message: {msg:?}");
        assert_eq!(text(c, &dt("error-code")).await, "member_merged");

        // The other pair: keep A (store-1's), confirm, see the result.
        click_css(c, &format!(r#"{g1} {}[data-id="{a}"]"#, dt("dup-member"))).await;
        click_css(
            c,
            &format!(r#"{g1}[data-survivor="{a}"] {}"#, dt("dup-merge")),
        )
        .await;
        let confirm = text(c, &format!("{g1} {}", dt("merge-confirm-text"))).await;
        assert!(
            confirm.contains(&b) && confirm.contains(&a),
            "confirmation: {confirm:?}"
        );
        click_css(c, &format!("{g1} {}", dt("merge-confirm"))).await;
        wait_for(
            c,
            &format!(r#"{}[data-id="{a}"]:not([hidden])"#, dt("merge-result")),
        )
        .await;
        // Both pairs are merged now: nothing is listed.
        wait_for(c, &dt("dup-none")).await;
        screenshot(c, "console-merged").await;

        // On a chain's store the programme is shown, read-only.
        click(c, "tab-programme").await;
        wait_for(c, r#"#programme-form[data-loaded="1"][data-readonly]"#).await;
        wait_for(c, &format!("{}:not([hidden])", dt("programme-readonly"))).await;
        let save = wait_for(c, &dt("programme-save")).await;
        assert!(
            !save.is_displayed().await.unwrap(),
            "save shown on a chain store"
        );
        let offer = dt("prog-offer-bonus-0");
        assert_eq!(prop(c, &offer, "value").await.as_deref(), Some("100.00"));
        assert_eq!(prop(c, &offer, "readOnly").await.as_deref(), Some("true"));
    });

    // The survivor holds both balances once store-2 moved its share.
    crate::harness::wait_for(
        "store-2's share moved to A",
        Duration::from_secs(30),
        || member(store1, &a)["balance"] == "1400.00",
    );
    let m = member(store1, &a);
    assert_eq!(m["card_no"], "CARD7777", "the profile is combined: {m}");
    let (_, dups) = store1.get("/members/duplicates");
    assert_eq!(dups["duplicates"], json!([]), "{dups}");
}

/// (g) The programme edited on a chain-less node (`tongka up`): the next
/// recharge gets the new offer; a refused edit shows the API's message
/// next to the form and changes nothing.
#[test]
fn console_edits_the_programme() {
    let node = Node::up();
    let id = node.member("13977778888", "周八");
    // A coupon template kept through the API: the screen lists it, and a
    // save of the form leaves it as it is.
    let (_, mut prog) = node.get("/programme");
    prog["coupon_templates"] = json!([{
        "id": "spend-100-20", "name": "满100减20", "kind": "spend_off",
        "benefit": {"type": "amount_off", "off": "20.00"},
        "validity": {"type": "days_from_issue", "days": 30},
        "uses": 1, "min_spend": "100.00"
    }]);
    let (status, with_template) = node.put("/programme", prog);
    assert_eq!(status, 200, "{with_template}");
    with_browser("console-programme", async |c| {
        open_console(c, &node).await;
        click(c, "tab-programme").await;
        wait_for(
            c,
            r#"#programme-form[data-loaded="1"]:not([data-readonly])"#,
        )
        .await;
        let readonly = wait_for(c, &dt("programme-readonly")).await;
        assert!(
            !readonly.is_displayed().await.unwrap(),
            "read-only notice on a chain-less node"
        );
        assert_eq!(
            prop(c, &dt("prog-offer-bonus-0"), "value").await.as_deref(),
            Some("100.00")
        );
        let coupon = text(c, &dt("prog-coupon")).await;
        assert!(
            coupon.contains("满100减20") && coupon.contains("满 100.00 减 20.00"),
            "the coupon template listed: {coupon:?}"
        );
        let none = wait_for(c, &dt("prog-coupons-none")).await;
        assert!(!none.is_displayed().await.unwrap(), "'none yet' shown");

        // 充1000送150 instead of 100, and 2 points a yuan.
        fill(c, "prog-offer-bonus-0", "150").await;
        fill(c, "prog-points-per-yuan", "2").await;
        select(c, "prog-negative-stock", "refuse").await;
        click(c, "programme-save").await;
        wait_for(c, r#"#programme-form[data-saved="1"]"#).await;
        assert_eq!(
            prop(c, &dt("prog-offer-bonus-0"), "value").await.as_deref(),
            Some("150.00")
        );
        let (_, p) = node.get("/programme");
        assert_eq!(p["recharge_offers"][0]["bonus"], "150.00", "{p}");
        assert_eq!(p["points_per_yuan"], "2", "{p}");
        assert_eq!(p["negative_stock"], "refuse", "{p}");
        assert_eq!(
            p["coupon_templates"], with_template["coupon_templates"],
            "the form's save kept the templates"
        );

        // A refused edit: a level rate above 1.
        fill(c, "prog-level-rate-1", "1.5").await;
        click(c, "programme-save").await;
        let err = format!(
            r#"{}[data-code="programme_level_rate"]:not([hidden])"#,
            dt("programme-error")
        );
        wait_for(c, &err).await;
        let msg = text(c, &dt("programme-error-message")).await;
        assert!(msg.contains("折扣率"), "message next to the form: {msg:?}");
        wait_for(c, r#"#prog-levels.invalid"#).await;
        // And an amount that is not one: the very field is marked.
        fill(c, "prog-level-rate-1", "0.95").await;
        fill(c, "prog-offer-threshold-1", "两千").await;
        click(c, "programme-save").await;
        wait_for(
            c,
            &format!(
                r#"{}[data-code="invalid_amount"]:not([hidden])"#,
                dt("programme-error")
            ),
        )
        .await;
        wait_for(
            c,
            &format!(r#"{}[aria-invalid="true"]"#, dt("prog-offer-threshold-1")),
        )
        .await;
        screenshot(c, "console-programme-refused").await;
        let (_, now) = node.get("/programme");
        assert_eq!(now, p, "a refused edit changed the programme");
    });

    // The next recharge uses the new offer.
    let (status, r) = node.post(
        &format!("/members/{id}/recharges"),
        json!({"amount": "1000.00", "tender": "cash"}),
        Some("console-g-recharge"),
    );
    assert_eq!(status, 201, "recharge: {r}");
    assert_eq!(r["bonus"], "150.00", "{r}");
    assert_eq!(member(&node, &id)["balance"], "1150.00");
}

/// Coupon templates edited at HQ through the console (a chain-less node
/// authors its programme): one created with every field, edited, a bad
/// rate refused next to the editor in the language chosen with nothing
/// typed lost, one removed; `GET /programme` holds what the form said.
#[test]
fn console_edits_coupon_templates() {
    let node = Node::up();
    let (_, mut prog) = node.get("/programme");
    prog["coupon_templates"] = json!([{
        "id": "spend-100-20", "name": "满100减20", "kind": "spend_off",
        "benefit": {"type": "amount_off", "off": "20.00"},
        "validity": {"type": "days_from_issue", "days": 30},
        "uses": 1, "min_spend": "100.00"
    }]);
    assert_eq!(node.put("/programme", prog).0, 200);
    let editor = |i: usize| format!(r#"{}[data-index="{i}"]:not([hidden])"#, dt("coupon-editor"));
    // The rows are in the programme's order: by id, once saved.
    let row = |id: &str| format!(r#"{}[data-id="{id}"]"#, dt("prog-coupon"));
    let value = async |c: &Client, id: &str| {
        let el = wait_for(c, &dt(id)).await;
        el.prop("value").await.unwrap().unwrap_or_default()
    };
    with_browser("console-coupon-templates", async |c| {
        open_console(c, &node).await;
        click(c, "tab-programme").await;
        wait_for(
            c,
            r#"#programme-form[data-loaded="1"]:not([data-readonly])"#,
        )
        .await;
        wait_for(c, &row("spend-100-20")).await;

        // A new template, every field typed; the kind picks its benefit.
        click(c, "prog-add-coupon").await;
        wait_for(c, &editor(1)).await;
        fill(c, "coupon-id", "pct-85").await;
        fill(c, "coupon-name", "85折券").await;
        select(c, "coupon-kind", "percent").await;
        assert_eq!(value(c, "coupon-benefit-type").await, "percent");
        fill(c, "coupon-rate", "0.85").await;
        fill(c, "coupon-max-off", "30").await;
        select(c, "coupon-validity-type", "dates").await;
        fill(c, "coupon-from", "2026-01-01").await;
        fill(c, "coupon-to", "2026-06-30").await;
        fill(c, "coupon-skus", "sku-1, sku-2").await;
        fill(c, "coupon-categories", "饮品").await;
        fill(c, "coupon-stores", "store-1").await;
        fill(c, "coupon-levels", "gold，silver").await;
        fill(c, "coupon-uses", "2").await;
        fill(c, "coupon-min-spend", "50").await;
        fill(c, "coupon-per-member-limit", "3").await;
        click(c, "programme-save").await;
        wait_for(c, r#"#programme-form[data-saved="1"]"#).await;
        let mut want = json!({
            "id": "pct-85", "name": "85折券", "kind": "percent",
            "benefit": {"type": "percent", "rate": "0.85", "max_off": "30.00"},
            "validity": {"type": "dates", "from": "2026-01-01", "to": "2026-06-30"},
            "scope": {"skus": ["sku-1", "sku-2"], "categories": ["饮品"], "stores": ["store-1"], "levels": ["gold", "silver"]},
            "uses": 2, "min_spend": "50.00", "per_member_limit": 3
        });
        let (_, p) = node.get("/programme");
        assert_eq!(p["coupon_templates"][0], want, "{p}");
        assert_eq!(p["coupon_templates"][1]["id"], "spend-100-20", "{p}");
        let shown = text(c, &row("pct-85")).await;
        assert!(shown.contains("按 0.85 计价，最多优惠 30.00"), "{shown:?}");

        // Edited: a rate of 1.5 is refused next to the editor, which keeps
        // what was typed; in English the message is English.
        click_css(c, &format!(r#"{} [data-act="edit"]"#, row("pct-85"))).await;
        wait_for(c, &editor(0)).await;
        assert_eq!(value(c, "coupon-rate").await, "0.85");
        fill(c, "coupon-name", "8折券").await;
        fill(c, "coupon-rate", "1.5").await;
        click(c, "programme-save").await;
        let refused = format!(
            r#"{}[data-code="invalid_coupon_template"]:not([hidden])"#,
            dt("coupon-error")
        );
        wait_for(c, &refused).await;
        let msg = text(c, &dt("coupon-error-message")).await;
        assert!(
            msg.contains("第 1 个券模板") && msg.contains("折扣率"),
            "{msg:?}"
        );
        wait_for(c, &format!("{}.invalid", row("pct-85"))).await;
        wait_for(c, &editor(0)).await;
        assert_eq!(value(c, "coupon-rate").await, "1.5");
        assert_eq!(value(c, "coupon-name").await, "8折券");
        click(c, "lang-toggle").await;
        wait_for(c, r#"body[data-lang="en"]"#).await;
        let msg = text(c, &dt("coupon-error-message")).await;
        assert!(
            msg.contains("coupon template 1") && msg.contains("rate"),
            "{msg:?}"
        );
        screenshot(c, "console-coupon-refused").await;
        click(c, "lang-toggle").await;
        wait_for(c, r#"body[data-lang="zh"]"#).await;
        assert_eq!(
            node.get("/programme").1,
            p,
            "a refused edit changed the programme"
        );

        // Uses that are not a whole number: refused before anything is sent.
        fill(c, "coupon-rate", "0.8").await;
        fill(c, "coupon-uses", "两次").await;
        click(c, "programme-save").await;
        let local = format!(
            r#"{}[data-code="invalid_input"]:not([hidden])"#,
            dt("coupon-error")
        );
        wait_for(c, &local).await;
        let msg = text(c, &dt("coupon-error-message")).await;
        assert_eq!(msg, "第 1 个券模板：可用次数须为整数");
        fill(c, "coupon-uses", "2").await;
        click(c, "programme-save").await;
        wait_for(c, r#"#programme-form[data-saved="2"]"#).await;
        wait_for(c, &format!("{}[hidden]", dt("coupon-error"))).await;

        // The other template removed.
        click_css(
            c,
            &format!(r#"{} [data-act="remove"]"#, row("spend-100-20")),
        )
        .await;
        click(c, "programme-save").await;
        wait_for(c, r#"#programme-form[data-saved="3"]"#).await;
        want["name"] = json!("8折券");
        want["benefit"]["rate"] = json!("0.8");
        let (_, now) = node.get("/programme");
        assert_eq!(now["coupon_templates"], json!([want]), "{now}");
        assert_eq!(
            now["recharge_offers"], p["recharge_offers"],
            "other fields kept"
        );
        assert_eq!(now["levels"], p["levels"], "other fields kept");
    });
}

/// Paying with points (积分抵现) through the console: the programme tab turns
/// the rule on (a bad cap refused next to the form), the checkout form
/// takes the points to use and previews what they deduct, the receipt shows
/// the deduction, and the API agrees.
#[test]
fn console_pays_with_points() {
    let node = Node::up();
    let id = node.member("13966667777", "积分顾客");
    let (status, o) = node.post(
        "/checkouts",
        json!({"member_id": id, "lines": [{"description": "礼盒", "unit_price": "500.00", "qty": 1}], "tenders": [{"kind": "card"}]}),
        Some("console-p-earn"),
    );
    assert_eq!(status, 201, "earn: {o}");
    assert_eq!(member(&node, &id)["points"], 500);
    with_browser("console-points", async |c| {
        open_console(c, &node).await;
        click(c, "tab-programme").await;
        wait_for(
            c,
            r#"#programme-form[data-loaded="1"]:not([data-readonly])"#,
        )
        .await;
        click(c, "prog-deduction-on").await;
        fill(c, "prog-deduction-rate", "100").await;
        fill(c, "prog-deduction-cap", "1.5").await;
        fill(c, "prog-deduction-min", "0").await;
        click(c, "programme-save").await;
        wait_for(
            c,
            &format!(
                r#"{}[data-code="programme_deduction_cap"]:not([hidden])"#,
                dt("programme-error")
            ),
        )
        .await;
        wait_for(c, "#prog-deduction.invalid").await;
        assert_eq!(node.get("/programme").1["points_deduction"], Value::Null);
        fill(c, "prog-deduction-cap", "0.5").await;
        click(c, "programme-save").await;
        wait_for(c, r#"#programme-form[data-saved="1"]"#).await;
        let (_, p) = node.get("/programme");
        assert_eq!(
            p["points_deduction"],
            json!({"points_per_yuan": 100, "cap": "0.50", "min_points": 0}),
            "{p}"
        );

        click(c, "tab-checkout").await;
        fill(c, "checkout-member-q", "13966667777").await;
        click(c, "checkout-member-find").await;
        wait_for(c, &format!(r#"{}[data-id="{id}"]"#, dt("checkout-member"))).await;
        wait_for(c, &format!("{}:not([hidden])", dt("checkout-points-row"))).await;
        fill(c, "checkout-desc-0", "蛋糕").await;
        fill(c, "checkout-price-0", "20.00").await;
        fill(c, "checkout-points", "300").await;
        wait_for(
            c,
            &format!(r#"{}[data-value="3.00"]"#, dt("checkout-points-value")),
        )
        .await;
        select(c, "checkout-tender-kind-0", "card").await;
        wait_for(
            c,
            &format!(r#"{}[data-value="17.00"]"#, dt("checkout-quote-payable")),
        )
        .await;
        click(c, "checkout-submit").await;
        wait_for(
            c,
            &format!(r#"{}[data-value="3.00"]"#, dt("receipt-points-value")),
        )
        .await;
        wait_for(
            c,
            &format!(r#"{}[data-value="17.00"]"#, dt("receipt-payable")),
        )
        .await;
        wait_for(
            c,
            &format!(r#"{}[data-value="300"]"#, dt("receipt-points-used")),
        )
        .await;
        screenshot(c, "console-points-receipt").await;
    });
    // 500 − 300 used + 17 earned on the 17.00 paid.
    assert_eq!(member(&node, &id)["points"], 217);
}

/// The member code at the till: a code typed into the member search as a
/// keyboard-wedge scanner types it (the text, then Enter) opens the member;
/// an expired one (a screenshot) is refused with its reason; and the member
/// page shows the member's own code as a QR image, which verifies.
#[test]
fn console_scans_a_member_code() {
    use tongka_core::member_code::{self, MemberCodeKey};
    let node = Node::up();
    let id = node.member("13788889999", "扫码顾客");
    let (status, c) = node.get(&format!("/members/{id}/code"));
    assert_eq!(status, 200, "code: {c}");
    let code = c["code"].as_str().expect("code").to_string();
    let key = tongka_config::member_code::read_key(node.data_dir.join("member-code.key"))
        .expect("the node's member-code key");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let member = tongka_core::MemberId::parse(&id).unwrap();
    let expired = member_code::issue(&MemberCodeKey::from_bytes(key), &member, now - 3_600);

    with_browser("console-member-code", async |c| {
        open_console(c, &node).await;
        click(c, "tab-members").await;
        fill(c, "member-search-q", &format!("{expired}{}", Key::Enter)).await;
        wait_for(
            c,
            &format!(
                r#"{}[data-code="member_code_expired"]:not([hidden])"#,
                dt("error-banner")
            ),
        )
        .await;
        assert!(
            c.find(Locator::Css(&format!(
                "{}:not([hidden])",
                dt("member-detail")
            )))
            .await
            .is_err(),
            "no member opened"
        );

        fill(c, "member-search-q", &format!("{code}{}", Key::Enter)).await;
        wait_for(c, &format!("{}:not([hidden])", dt("member-detail"))).await;
        assert_eq!(text(c, &dt("member-name")).await, "扫码顾客");
        assert!(text(c, &dt("member-id")).await.contains(&id));

        click(c, "member-code").await;
        wait_for(
            c,
            &format!(r#"{}[src^="data:image/svg+xml"]"#, dt("member-code-img")),
        )
        .await;
        let code_text = format!(r#"{}[data-code^="TK1."]"#, dt("member-code-text"));
        let shown = attr(c, &code_text, "data-code")
            .await
            .expect("a code shown");
        let (status, m) = node.post("/member-codes/verify", json!({"code": shown}), None);
        assert_eq!((status, m["id"].as_str()), (200, Some(id.as_str())), "{m}");
        click(c, "member-code-close").await;
        wait_for(c, &format!("{}[hidden]", dt("member-code-box"))).await;
    });
}
