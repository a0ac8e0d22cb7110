//! The consistency screen (一致性) in a real browser against a real node:
//! the ledger balances and shows what members hold, and the screen follows
//! a recharge made meanwhile by itself (it refreshes while shown).

use serde_json::json;

use crate::console::{click, dt, open_console, screenshot, text, wait_for, with_browser};
use crate::harness::Node;

#[test]
fn console_shows_the_consistency_report_live() {
    let node = Node::up();
    let (status, m) = node.post(
        "/members",
        json!({"phone": "13900002222", "name": "赵六"}),
        Some("cons-register"),
    );
    assert_eq!(status, 201, "register: {m}");
    let id = m["id"].as_str().expect("member id").to_string();
    let (status, r) = node.post(
        &format!("/members/{id}/recharges"),
        json!({"amount": "100.00", "tender": "cash"}),
        Some("cons-recharge-1"),
    );
    assert_eq!(status, 201, "recharge: {r}");
    let (status, o) = node.post(
        "/checkouts",
        json!({"member_id": id, "lines": [{"description": "茶", "unit_price": "30.00", "qty": 1}],
               "tenders": [{"kind": "balance"}]}),
        Some("cons-sale"),
    );
    assert_eq!(status, 201, "sale: {o}");

    with_browser("console-consistency", async |c| {
        open_console(c, &node).await;
        click(c, "tab-consistency").await;
        wait_for(
            c,
            &format!(r#"{}[data-balanced="true"]"#, dt("consistency-ledger")),
        )
        .await;
        let held = format!(r#"{} td[data-value="70.00"]"#, dt("consistency-held"));
        wait_for(c, &held).await;
        let title = text(c, &dt("consistency-ledger")).await;
        assert!(title.contains("账本平衡"), "ledger card: {title:?}");
        // A recharge made elsewhere shows without touching the page.
        let (status, r) = node.post(
            &format!("/members/{id}/recharges"),
            json!({"amount": "50.00", "tender": "cash"}),
            Some("cons-recharge-2"),
        );
        assert_eq!(status, 201, "recharge: {r}");
        let held = format!(r#"{} td[data-value="120.00"]"#, dt("consistency-held"));
        wait_for(c, &held).await;
        wait_for(
            c,
            &format!(r#"{} td[data-value="120.00"]"#, dt("consistency-owed")),
        )
        .await;
        // The deep check, on demand: every member read, the same sum.
        click(c, "consistency-deep").await;
        wait_for(
            c,
            &format!(r#"{}[data-matches="true"]"#, dt("consistency-deep-result")),
        )
        .await;
        wait_for(
            c,
            &format!(r#"{} td[data-value="120.00"]"#, dt("consistency-scanned")),
        )
        .await;
        screenshot(c, "console-consistency").await;
    });
    let (status, report) = node.get("/consistency");
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["ledger"]["held"]["principal"], "120.00");
    assert_eq!(report["ledger"]["balanced"], true);
}
