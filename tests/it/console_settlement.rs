//! The settlement screen (跨店结算) in a real browser against a real node:
//! a node that gave no shares owes nothing and is owed nothing (the
//! chain's total 0.00), and its request to withdraw 1.00 is refused with
//! what it may withdraw, in Chinese, on the screen. Then, on a real chain,
//! HQ approves one withdrawal and rejects another in the console.

use std::time::Duration;

use serde_json::{Value, json};

use crate::console::{
    click, click_css, dt, fill, on_element, open_console, screenshot, text, wait_for, with_browser,
};
use crate::harness::{Chain, Node, wait_for as wait_for_api};

const CONVERGE: Duration = Duration::from_secs(40);

#[test]
fn console_shows_settlement_and_refuses_a_withdrawal_beyond_what_is_owed() {
    let node = Node::up();
    with_browser("console-settlement", async |c| {
        open_console(c, &node).await;
        click(c, "tab-settlement").await;
        wait_for(c, &format!(r#"{}[data-amount="0.00"]"#, dt("settle-total"))).await;
        let total = text(c, &dt("settle-total")).await;
        assert!(total.contains("全链合计"), "{total:?}");
        wait_for(
            c,
            &format!(r#"{}[data-available="0.00"]"#, dt("settle-balance")),
        )
        .await;
        fill(c, "settle-amount", "1.00").await;
        click(c, "settle-submit").await;
        wait_for(c, &format!("{}:not([hidden])", dt("settle-error"))).await;
        let err = text(c, &dt("settle-error")).await;
        assert!(err.contains("withdrawal_exceeds_owed"), "{err:?}");
        screenshot(c, "console-settlement").await;
    });
    let (status, list) = node.get("/withdrawals");
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["withdrawals"], serde_json::json!([]));
}

/// A withdrawal row's selector, by id (and status when given).
fn withdrawal(id: &str, status: Option<&str>) -> String {
    let mut s = format!(r#"{}[data-id="{id}"]"#, dt("settle-withdrawal"));
    if let Some(st) = status {
        s.push_str(&format!(r#"[data-status="{st}"]"#));
    }
    s
}

/// HQ decides withdrawals in the console, on a real chain (store-1,
/// store-2, HQ). By hand: member a of store-1 recharges 200.00 there and
/// spends 80.00 at store-2 (a share transfer: store-1 owes store-2 80.00).
/// Store-2 asks to withdraw 30.00 and 20.00; at HQ's console the first is
/// approved, the second rejected with its reason (an empty reason refused
/// first, on the screen). The list shows their states, store-2 may then
/// withdraw 80.00 − 30.00 = 50.00, and the figures on the screen are the
/// API's, at HQ and, replicated, at store-2.
#[test]
fn console_hq_approves_one_withdrawal_and_rejects_another() {
    let chain = Chain::with_hq(2);
    let [s1, s2, hq] = [&chain.nodes[0], &chain.nodes[1], &chain.nodes[2]];
    let a = s1.member("13822223333", "提现甲");
    let (s, r) = s1.post(
        &format!("/members/{a}/recharges"),
        json!({"amount": "200.00", "tender": "cash"}),
        Some("cw-r"),
    );
    assert_eq!(s, 201, "{r}");
    wait_for_api("a's recharge at store-2", Duration::from_secs(20), || {
        s2.get(&format!("/members/{a}/wallet")).1["balance"] == "200.00"
    });
    let (s, o) = s2.post(
        "/checkouts",
        json!({"member_id": a, "lines": [{"description": "咖啡", "unit_price": "80.00", "qty": "1"}],
               "tenders": [{"kind": "balance"}]}),
        Some("cw-o"),
    );
    assert_eq!((s, &o["payable"]), (201, &json!("80.00")), "{o}");
    let mut ids = Vec::new();
    for (amount, key) in [("30.00", "cw-w1"), ("20.00", "cw-w2")] {
        let (s, w) = s2.post(
            "/withdrawals",
            json!({"amount": amount, "note": "月结"}),
            Some(key),
        );
        assert_eq!((s, &w["status"]), (201, &json!("pending")), "{w}");
        ids.push(w["id"].as_str().unwrap().to_string());
    }
    let [approve, reject] = [ids[0].as_str(), ids[1].as_str()];
    chain.wait_converged(&[0, 1, 2], CONVERGE);

    with_browser("console-settlement-decide", async |c| {
        open_console(c, hq).await;
        click(c, "tab-settlement").await;
        wait_for(
            c,
            &format!(
                r#"{}[data-debtor="store-1"][data-creditor="store-2"][data-amount="80.00"]"#,
                dt("settle-pair")
            ),
        )
        .await;
        for id in [approve, reject] {
            wait_for(c, &withdrawal(id, Some("pending"))).await;
        }
        // Approved.
        click_css(
            c,
            &format!("{} {}", withdrawal(approve, None), dt("settle-approve")),
        )
        .await;
        wait_for(c, &withdrawal(approve, Some("approved"))).await;
        // Rejected without a reason: refused, on the screen, and still pending.
        click_css(
            c,
            &format!("{} {}", withdrawal(reject, None), dt("settle-reject")),
        )
        .await;
        wait_for(c, &format!("{}:not([hidden])", dt("settle-error"))).await;
        let err = text(c, &dt("settle-error")).await;
        assert!(err.contains("invalid_withdrawal_note"), "{err:?}");
        wait_for(c, &withdrawal(reject, Some("pending"))).await;
        // With one.
        let reason = format!("{} {}", withdrawal(reject, None), dt("settle-reason"));
        on_element(c, &reason, "type the reason into", async |el| {
            el.send_keys("金额有误").await
        })
        .await;
        click_css(
            c,
            &format!("{} {}", withdrawal(reject, None), dt("settle-reject")),
        )
        .await;
        let rejected = withdrawal(reject, Some("rejected"));
        wait_for(c, &rejected).await;
        assert!(text(c, &rejected).await.contains("已驳回"));
        assert!(text(c, &rejected).await.contains("金额有误"));
        assert!(text(c, &withdrawal(approve, None)).await.contains("已批准"));
        // No decision is offered on a decided withdrawal.
        let left = c
            .find_all(fantoccini::Locator::Css(&dt("settle-approve")))
            .await
            .expect("find buttons");
        assert!(left.is_empty(), "a decided withdrawal offers no decision");
        // Store-2 may withdraw 50.00 more, as the API says.
        wait_for(
            c,
            &format!(
                r#"{}[data-store="store-2"][data-available="50.00"]"#,
                dt("settle-balance")
            ),
        )
        .await;
        c.execute(
            "document.querySelector('[data-test=\"settle-withdrawals\"]').scrollIntoView()",
            vec![],
        )
        .await
        .expect("scroll to the withdrawals");
        screenshot(c, "console-settlement-decided").await;
    });

    let (s, l) = hq.get("/withdrawals");
    assert_eq!(s, 200, "{l}");
    let status = |l: &Value, id: &str| {
        l["withdrawals"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["id"] == id)
            .unwrap_or_else(|| panic!("{id} in {l}"))
            .clone()
    };
    let w = status(&l, approve);
    assert_eq!(
        (&w["status"], &w["amount"]),
        (&json!("approved"), &json!("30.00")),
        "{w}"
    );
    let w = status(&l, reject);
    assert_eq!(
        (&w["status"], &w["decision_note"]),
        (&json!("rejected"), &json!("金额有误")),
        "{w}"
    );
    let balance = json!([{"store": "store-2", "owed": "80.00", "approved": "30.00",
                          "pending": "0.00", "available": "50.00"}]);
    assert_eq!(l["balances"], balance, "{l}");
    let v = hq.get("/settlement").1;
    assert_eq!(v["chain_total"]["amount"], "0.00", "{v}");
    // The decisions reach store-2, which then sees the same.
    chain.wait_converged(&[0, 1, 2], CONVERGE);
    let (_, at2) = s2.get("/withdrawals");
    assert_eq!(status(&at2, approve)["status"], "approved", "{at2}");
    assert_eq!(status(&at2, reject)["status"], "rejected", "{at2}");
    assert_eq!(at2["balances"], balance, "{at2}");
    let (s, v) = s2.post("/withdrawals", json!({"amount": "50.01"}), Some("cw-w3"));
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (422, Some("withdrawal_exceeds_owed")),
        "{v}"
    );
}
