//! The day close screen (日结/交班) in a real browser against a real node:
//! a day of a cash recharge, a cash sale and a balance sale made over the
//! API; the screen's preview shows the cash by tender; the float and the
//! counted cash typed in show the difference live (short 1.50); confirm
//! closes the day, shows the printed slip, lists the close; and the API
//! holds the same close, which the audit log's kind selector finds (日结).

use crate::console::{
    attr, click, dt, fill, open_console, screenshot, select, text, wait_for, with_browser,
};
use crate::harness::Node;
use serde_json::json;

#[test]
fn console_closes_the_day() {
    let node = Node::up();
    let member = node.member("13800000088", "王五");
    let (s, r) = node.post(
        &format!("/members/{member}/recharges"),
        json!({"amount": "300.00", "tender": "cash"}),
        Some("dc-r1"),
    );
    assert_eq!(s, 201, "{r}");
    for (key, tenders) in [
        ("dc-o1", json!([{"kind": "cash", "amount": "50"}])),
        ("dc-o2", json!([{"kind": "balance"}])),
    ] {
        let (s, o) = node.post(
            "/checkouts",
            json!({"member_id": member, "lines": [{"description": "蛋糕", "unit_price": "18.50", "qty": 2}],
                   "tenders": tenders}),
            Some(key),
        );
        assert_eq!(s, 201, "{o}");
    }
    // Cash: a 300.00 recharge and a 37.00 sale (50 handed, 13.00 change).
    with_browser("console-dayclose", async |c| {
        open_console(c, &node).await;
        click(c, "tab-dayclose").await;
        wait_for(c, r#"[data-test="panel-dayclose"]:not([hidden])"#).await;
        wait_for(
            c,
            r#"[data-test="close-tender"][data-tender="cash"][data-net="337.00"]"#,
        )
        .await;
        select(c, "close-kind", "day").await;
        wait_for(
            c,
            r#"[data-test="close-tender"][data-tender="balance"][data-net="37.00"]"#,
        )
        .await;
        assert_eq!(
            attr(c, &dt("close-orders"), "data-value").await.as_deref(),
            Some("2")
        );
        // 100.00 float: expected 437.00; 435.50 counted is 1.50 short.
        fill(c, "close-float", "100").await;
        wait_for(c, r#"[data-test="close-expected"][data-value="437.00"]"#).await;
        fill(c, "close-counted", "435.50").await;
        let diff = r#"[data-test="close-difference"][data-value="-1.50"][data-result="short"]"#;
        wait_for(c, diff).await;
        assert!(text(c, diff).await.contains("短款"));
        fill(c, "close-counted", "437").await;
        wait_for(
            c,
            r#"[data-test="close-difference"][data-value="0.00"][data-result="even"]"#,
        )
        .await;
        fill(c, "close-counted", "435.50").await;
        wait_for(c, diff).await;
        fill(c, "close-note", "少1.5元待查").await;
        click(c, "close-confirm").await;

        // The slip, and the close listed.
        let slip = r#"[data-test="close-slip"]:not([hidden])"#;
        wait_for(c, slip).await;
        let printed = text(c, &dt("close-slip-text")).await;
        assert!(
            printed.contains("日结") && printed.contains("437.00"),
            "{printed}"
        );
        assert!(
            printed.contains("短款 Short") && printed.contains("-1.50"),
            "{printed}"
        );
        let row = r#"[data-test="close-row"][data-kind="day"][data-difference="-1.50"]"#;
        wait_for(c, row).await;
        let id = attr(c, row, "data-id").await.expect("the close's id");
        screenshot(c, "console-dayclose").await;

        // The API holds the same close.
        let (s, v) = node.get(&format!("/closes/{id}"));
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["kind"], "day");
        assert_eq!(v["opening_float"], "100.00");
        assert_eq!(v["expected_cash"], "437.00");
        assert_eq!(v["counted_cash"], "435.50");
        assert_eq!(v["difference"], "-1.50");
        assert_eq!(v["note"], "少1.5元待查");

        // A second day close is refused on the screen's preview.
        click(c, "close-refresh").await;
        wait_for(
            c,
            r#"[data-test="close-preview-error"][data-code="already_closed"]"#,
        )
        .await;

        // The audit log's kind selector offers the close (日结), and finds it.
        click(c, "tab-audit").await;
        let option = format!(r#"{} option[value="day_closed"]"#, dt("audit-kind"));
        wait_for(c, &option).await;
        assert_eq!(text(c, &option).await, "日结");
        select(c, "audit-kind", "day_closed").await;
        click(c, "audit-search").await;
        let found = format!(r#"{}[data-kind="day_closed"]"#, dt("audit-row"));
        // The unfiltered trail lists the close too: wait until the list
        // holds day closes only (the search's answer drawn).
        let row = dt("audit-row");
        wait_for(
            c,
            &format!(r#"tbody:has(> {row}):not(:has(> {row}:not([data-kind="day_closed"])))"#),
        )
        .await;
        let rows = c
            .find_all(fantoccini::Locator::Css(&dt("audit-row")))
            .await
            .expect("find rows");
        assert_eq!(rows.len(), 1, "the day close alone");
        assert!(text(c, &found).await.contains("435.50"));
    });
}
