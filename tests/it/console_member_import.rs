//! The member import screen (会员导入) in a real browser against a real
//! node: a file with a bad row shows it in the rejected table and keeps
//! the import button off; a good file's dry run turns it on, and the
//! import shows the members created, who then exist with their balances.

use crate::console::{
    click, dt, on_element, open_console, prop, screenshot, wait_for, with_browser,
};
use crate::harness::Node;

async fn choose(c: &fantoccini::Client, path: &std::path::Path) {
    let p = path.to_str().expect("a UTF-8 path").to_string();
    on_element(c, &dt("mimp-file"), "choose a file in", async |el| {
        el.send_keys(&p).await
    })
    .await;
}

#[test]
fn console_imports_members_after_a_clean_dry_run() {
    let node = Node::up();
    let dir = tempfile::tempdir().expect("a temp dir");
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "手机号,姓名,本金\n13822220001,甲,10.00\n13822220001,乙,5\n",
    )
    .unwrap();
    let good = dir.path().join("good.csv");
    std::fs::write(
        &good,
        "手机号,姓名,本金,赠送金额,积分,等级\n13822220001,甲,10.00,1.00,3,silver\n13822220002,乙,5,,,\n",
    )
    .unwrap();
    with_browser("console-member-import", async |c| {
        open_console(c, &node).await;
        click(c, "tab-member-import").await;
        choose(c, &bad).await;
        click(c, "mimp-dry-run").await;
        wait_for(c, &format!(r#"{}[data-line="3"]"#, dt("mimp-rejected-row"))).await;
        wait_for(c, &format!(r#"{}[data-value="1"]"#, dt("mimp-accepted"))).await;
        assert_eq!(
            prop(c, &dt("mimp-import"), "disabled").await.as_deref(),
            Some("true")
        );

        choose(c, &good).await;
        click(c, "mimp-dry-run").await;
        wait_for(c, &format!(r#"{}[data-value="2"]"#, dt("mimp-accepted"))).await;
        wait_for(c, &format!(r#"{}:not([disabled])"#, dt("mimp-import"))).await;
        click(c, "mimp-import").await;
        wait_for(c, &format!(r#"{}[data-value="2"]"#, dt("mimp-created"))).await;
        screenshot(c, "console-member-import").await;
    });
    let (s, v) = node.get("/members?phone=13822220001");
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["members"][0]["balance"], "11.00", "{v}");
    assert_eq!(v["members"][0]["level"]["code"], "silver", "{v}");
}
