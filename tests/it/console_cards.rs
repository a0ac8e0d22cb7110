//! The console's count and period card screens in a real browser (issue
//! 11), with the helpers of `console.rs`: a count card (10 haircuts) and a
//! period card (a month, once a day) sold at the checkout through the
//! console (refused first with no member chosen, `card_needs_member`), the
//! receipt showing the cards' codes, the member page listing them; the
//! member's code scanned on the 核销 screen, a haircut verified there with
//! its answer lost on the way back and confirmed again with the same
//! Idempotency-Key (one visit, 9 left, in the page and over HTTP), a
//! double click sending one request; a visit beyond the count and a
//! second visit of the period card on one day refused, in zh and in en.

use fantoccini::Client;
use fantoccini::key::Key;
use serde_json::{Value, json};

use crate::console::{
    attr, click, click_css, dt, fill, open_console, prop, screenshot, select, text, wait_for,
    with_browser,
};
use crate::harness::Node;

fn cards(node: &Node, id: &str) -> Vec<Value> {
    let (status, body) = node.get(&format!("/members/{id}/cards"));
    assert_eq!(status, 200, "cards of {id}: {body}");
    assert_eq!(body["member_id"], id, "{body}");
    body["cards"].as_array().expect("cards array").clone()
}

fn card_of_kind(node: &Node, id: &str, kind: &str) -> Value {
    let all = cards(node, id);
    let found: Vec<_> = all.iter().filter(|c| c["kind"] == kind).collect();
    assert_eq!(found.len(), 1, "one {kind} card: {all:?}");
    found[0].clone()
}

fn orders(node: &Node) -> u64 {
    let (status, l) = node.get("/ledger/summary");
    assert_eq!(status, 200, "ledger: {l}");
    l["orders"].as_u64().expect("orders count")
}

fn member_code(node: &Node, id: &str) -> String {
    let (status, c) = node.get(&format!("/members/{id}/code"));
    assert_eq!(status, 200, "code: {c}");
    c["code"].as_str().expect("code").to_string()
}

async fn toggle_lang(c: &Client, to: &str) {
    click(c, "lang-toggle").await;
    wait_for(c, &format!(r#"body[data-lang="{to}"]"#)).await;
}

/// The text of `selector` once it holds every one of `wants`: the lists
/// are drawn again as answers arrive (a refresh draws the member page
/// twice), so a read may meet an element just replaced; it is read again.
async fn text_with(c: &Client, selector: &str, wants: &[&str]) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let mut last = String::new();
    while std::time::Instant::now() < deadline {
        if let Ok(el) = c.find(fantoccini::Locator::Css(selector)).await
            && let Ok(t) = el.text().await
        {
            if wants.iter().all(|w| t.contains(w)) {
                return t;
            }
            last = t;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("`{selector}` never held all of {wants:?}; last: {last:?}");
}

/// Picks the card `code` on the 核销 screen and waits for its visit form.
async fn pick_card(c: &Client, code: &str) {
    let item = format!(r#"{}[data-code="{code}"]"#, dt("verify-card"));
    click_css(c, &format!("{item} input")).await;
    wait_for(c, &format!(r#"{item}[data-picked="1"]"#)).await;
    wait_for(
        c,
        &format!(r#"{}[data-code="{code}"]"#, dt("verify-card-form")),
    )
    .await;
}

/// The refusal shown under the cards: its message in zh, then in en.
async fn refusal(c: &Client, code: &str) -> (String, String) {
    let sel = format!(r#"{}[data-code="{code}"]"#, dt("verify-card-error"));
    wait_for(c, &sel).await;
    let msg = format!("{sel} {}", dt("verify-card-error-message"));
    let zh = text_with(c, &msg, &[]).await;
    toggle_lang(c, "en").await;
    let en = text_with(c, &msg, &[]).await;
    toggle_lang(c, "zh").await;
    (zh, en)
}

#[test]
fn console_sells_and_verifies_cards() {
    let node = Node::up();
    for (sku, body) in [
        ("haircut", json!({"name": "理发", "price": "30.00"})),
        (
            "haircut10",
            json!({"name": "理发十次卡", "price": "250.00",
                   "card": {"kind": "count", "visits": 10, "days": null, "services": ["haircut"]}}),
        ),
        (
            "gym30",
            json!({"name": "健身月卡", "price": "199.00",
                   "card": {"kind": "period", "days": 30, "daily_cap": 1, "services": []}}),
        ),
    ] {
        let (status, p) = node.put(&format!("/products/{sku}"), body);
        assert_eq!(status, 200, "product {sku}: {p}");
    }
    let before = orders(&node);
    with_browser("console-cards", async |c| {
        open_console(c, &node).await;
        fill(c, "register-phone", "13877778888").await;
        fill(c, "register-name", "卡顾客").await;
        click(c, "register-submit").await;
        wait_for(c, "#member-detail:not([hidden])").await;
        let id = crate::console::member_by_phone(&node, "13877778888")["id"]
            .as_str()
            .expect("member id")
            .to_string();
        wait_for(
            c,
            &format!(r#"{}[data-loaded="{id}"]"#, dt("member-card-list")),
        )
        .await;
        wait_for(c, &dt("member-cards-none")).await;

        // At the checkout with no member: the card lines carry their badge,
        // and the sale is refused (a card is sold to a member).
        click(c, "tab-checkout").await;
        fill(c, "checkout-code-0", &format!("haircut10{}", Key::Enter)).await;
        wait_for(c, &dt("checkout-code-1")).await;
        fill(c, "checkout-code-1", &format!("gym30{}", Key::Enter)).await;
        let badge = format!(r#"tr[data-card="count"] {}"#, dt("checkout-card-0"));
        assert_eq!(text(c, &badge).await, "次卡");
        let badge = format!(r#"tr[data-card="period"] {}"#, dt("checkout-card-1"));
        assert_eq!(text(c, &badge).await, "期卡");
        let offered = c
            .execute(
                r#"return document.querySelector('#product-list option[value="haircut10"]').textContent"#,
                vec![],
            )
            .await
            .expect("the picker's option");
        assert_eq!(offered.as_str(), Some("理发十次卡 ¥250.00 · 次卡 10 次"));
        select(c, "checkout-tender-kind-0", "cash").await;
        click(c, "checkout-submit").await;
        wait_for(
            c,
            &format!(
                r#"{}[data-code="card_needs_member"]:not([hidden])"#,
                dt("error-banner")
            ),
        )
        .await;
        assert_eq!(orders(&node), before, "a card sold to no one");

        // The member chosen (from the member page), the same lines sell.
        click(c, "tab-members").await;
        click(c, "member-to-checkout").await;
        wait_for(c, &format!(r#"{}[data-id="{id}"]"#, dt("checkout-member"))).await;
        select(c, "checkout-tender-kind-0", "cash").await;
        wait_for(c, &format!("{}[data-value]", dt("checkout-quote-payable"))).await;
        click(c, "checkout-submit").await;
        let count_code = attr(c, &dt("receipt-line-card-0"), "data-code")
            .await
            .expect("a card code");
        let period_code = attr(c, &dt("receipt-line-card-1"), "data-code")
            .await
            .expect("a card code");
        assert_eq!(
            text(c, &dt("receipt-line-card-0")).await,
            format!("卡 {count_code}")
        );
        screenshot(c, "console-cards-receipt").await;
        assert_eq!(orders(&node), before + 1);
        let count = card_of_kind(&node, &id, "count");
        assert_eq!(count["code"], count_code.as_str(), "{count}");
        assert_eq!(
            (count["left"].as_u64(), count["status"].as_str()),
            (Some(10), Some("usable"))
        );
        assert_eq!(
            card_of_kind(&node, &id, "period")["code"],
            period_code.as_str()
        );

        // The member page lists both, usable, with their plans.
        click(c, "tab-members").await;
        click(c, "member-refresh").await;
        let item = |code: &str| {
            format!(
                r#"{} {}[data-code="{code}"]"#,
                dt("member-cards-usable"),
                dt("member-card")
            )
        };
        text_with(
            c,
            &item(&count_code),
            &[
                "理发十次卡",
                "次卡 10 次",
                "理发 (haircut)",
                "剩 10/10 次",
                "本店 ×10",
            ],
        )
        .await;
        text_with(
            c,
            &item(&period_code),
            &[
                "健身月卡",
                "期卡 30 天",
                "每天最多 1 次",
                "不限",
                "今天已用 0/1 次",
            ],
        )
        .await;

        // 核销: the member's code scanned; both cards usable, none picked.
        click(c, "tab-verify").await;
        fill(
            c,
            "verify-code",
            &format!("{}{}", member_code(&node, &id), Key::Enter),
        )
        .await;
        wait_for(c, &format!(r#"{}[data-loaded="{id}"]"#, dt("verify-cards"))).await;
        wait_for(
            c,
            &format!(
                r#"{}[data-picked="0"][data-code="{period_code}"]"#,
                dt("verify-card")
            ),
        )
        .await;
        pick_card(c, &count_code).await;
        assert_eq!(
            prop(c, &dt("verify-card-service"), "value")
                .await
                .as_deref(),
            Some("haircut")
        );

        // The first answer never reaches the page; a double click sends once.
        c.execute(
            r#"
            const orig = window.fetch;
            let lost = false;
            window.__visitKeys = [];
            window.fetch = async function (input, init) {
              if (String(input).endsWith('/visits')) {
                window.__visitKeys.push([init.headers['Idempotency-Key'], init.body]);
                const res = await orig.call(this, input, init);
                if (!lost) { lost = true; throw new TypeError('answer lost'); }
                return res;
              }
              return orig.call(this, input, init);
            };
            const b = document.querySelector('[data-test="verify-card-confirm"]');
            b.click();
            b.click();"#,
            vec![],
        )
        .await
        .expect("install the fetch interceptor, click twice");
        wait_for(
            c,
            &format!(
                r#"{}[data-code="network_error"]:not([hidden])"#,
                dt("error-banner")
            ),
        )
        .await;
        assert_eq!(
            card_of_kind(&node, &id, "count")["left"],
            9,
            "the lost visit was still made"
        );
        click(c, "verify-card-confirm").await;
        // The answer's card, 9 left (the list is drawn again once the
        // cards are read afresh: the element is found anew for its text).
        let left = format!(
            r#"{}[data-code="{count_code}"] {}[data-value="9"]"#,
            dt("verify-card-result"),
            dt("verify-card-left")
        );
        wait_for(c, &left).await;
        text_with(c, &left, &["剩 9 次"]).await;
        let keys = c
            .execute("return window.__visitKeys", vec![])
            .await
            .expect("keys");
        let keys = keys.as_array().expect("keys array");
        assert_eq!(keys.len(), 2, "a double click and one retry: {keys:?}");
        wait_for(c, &format!("{}[hidden]", dt("error-banner"))).await;
        assert_eq!(keys[0], keys[1], "the retry must reuse the key and body");
        assert_eq!(
            serde_json::from_str::<Value>(keys[0][1].as_str().unwrap()).unwrap(),
            json!({"count": 1, "service": "haircut"})
        );
        let after = card_of_kind(&node, &id, "count");
        assert_eq!(
            (after["left"].as_u64(), after["used"].as_u64()),
            (Some(9), Some(1)),
            "{after}"
        );
        // Made: the pick is cleared, the list says 9 left.
        assert!(
            c.find(fantoccini::Locator::Css(&dt("verify-card-form")))
                .await
                .is_err()
        );
        text_with(
            c,
            &format!(
                r#"{}[data-code="{count_code}"] {}"#,
                dt("verify-card"),
                dt("card-usage")
            ),
            &["剩 9/10 次"],
        )
        .await;
        screenshot(c, "console-cards-verified").await;

        // Beyond the count: refused, nothing used.
        pick_card(c, &count_code).await;
        fill(c, "verify-card-count", "20").await;
        click(c, "verify-card-confirm").await;
        let (zh, en) = refusal(c, "card_used_up").await;
        assert!(
            zh.contains("次数不足") && zh.contains(&count_code),
            "{zh:?}"
        );
        assert!(en.contains("20 visits wanted"), "{en:?}");
        assert_eq!(card_of_kind(&node, &id, "count")["left"], 9);

        // The period card: once today, then refused by its daily cap.
        pick_card(c, &period_code).await;
        click(c, "verify-card-confirm").await;
        wait_for(
            c,
            &format!(
                r#"{}[data-code="{period_code}"] {}[data-value="1"]"#,
                dt("verify-card-result"),
                dt("verify-card-today")
            ),
        )
        .await;
        pick_card(c, &period_code).await;
        click(c, "verify-card-confirm").await;
        let (zh, en) = refusal(c, "card_daily_cap").await;
        assert!(zh.contains("每天最多使用 1 次"), "{zh:?}");
        assert!(en.contains("1 visits a day"), "{en:?}");
        screenshot(c, "console-cards-refused").await;
        let gym = card_of_kind(&node, &id, "period");
        assert_eq!(
            (gym["visits_today"].as_u64(), gym["visited"].as_u64()),
            (Some(1), Some(1)),
            "{gym}"
        );

        // The member page and its history agree.
        click(c, "tab-members").await;
        click(c, "member-refresh").await;
        text_with(
            c,
            &format!(
                r#"{}[data-code="{count_code}"] {}"#,
                dt("member-card"),
                dt("card-usage")
            ),
            &["剩 9/10 次"],
        )
        .await;
        wait_for(
            c,
            &format!(r#"{}[data-kind="card_visited"]"#, dt("history-row")),
        )
        .await;
    });
    assert_eq!(orders(&node), before + 1, "one sale");
    assert_eq!(
        card_of_kind(&node, &id_of(&node), "count")["left"],
        9,
        "one visit"
    );
}

fn id_of(node: &Node) -> String {
    crate::console::member_by_phone(node, "13877778888")["id"]
        .as_str()
        .expect("member id")
        .to_string()
}
