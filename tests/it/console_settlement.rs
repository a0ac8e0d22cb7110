//! The settlement screen (跨店结算) in a real browser against a real node:
//! a node that gave no shares owes nothing and is owed nothing (the
//! chain's total 0.00), and its request to withdraw 1.00 is refused with
//! what it may withdraw, in Chinese, on the screen.

use crate::console::{click, dt, fill, open_console, screenshot, text, wait_for, with_browser};
use crate::harness::Node;

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
