//! The live dashboard (数据大屏) in a real browser, at HQ of a real chain
//! of three processes (store-1, store-2, HQ): the figures on the page are
//! the API's; with store-2 stopped (SIGSTOP: its QUIC connections go idle
//! and drop) the dashboard shows store-2 partitioned (断开自 hh:mm), and
//! follows a sale made at store-1 meanwhile without being touched (it
//! refreshes by itself); store-2 resumed, it shows it connected again. The
//! charts are drawn by the vendored ECharts.

use std::time::Duration;

use serde_json::{Value, json};

use crate::console::{attr, click, dt, open_console, screenshot, text, wait_for, with_browser};
use crate::harness::{Chain, Node, signal};

const CONVERGE: Duration = Duration::from_secs(30);

/// Resumes a stopped node whatever happens, so a failing test leaves no
/// stopped process behind.
struct Resume(u32);

impl Drop for Resume {
    fn drop(&mut self) {
        signal(self.0, libc::SIGCONT);
    }
}

fn sale(member: Option<&str>, price: &str, tender: Value) -> Value {
    let mut v = json!({"lines": [{"description": "茶", "unit_price": price, "qty": 1}],
                       "tenders": [tender]});
    if let Some(m) = member {
        v["member_id"] = json!(m);
    }
    v
}

fn dashboard(hq: &Node) -> Value {
    let (s, d) = hq.get("/dashboard");
    assert_eq!(s, 200, "dashboard: {d}");
    d
}

fn store<'a>(d: &'a Value, name: &str) -> &'a Value {
    d["stores"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["store"] == name)
        .unwrap_or_else(|| panic!("{name} in {d}"))
}

/// The selector of a big number showing `value`.
fn kpi(test: &str, value: &Value) -> String {
    let v = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    format!(r#"{}[data-value="{v}"]"#, dt(test))
}

fn row(store: &str) -> String {
    format!(r#"{}[data-store="{store}"]"#, dt("dash-store"))
}

#[test]
fn console_dashboard_shows_a_partitioned_store() {
    let chain = Chain::with_hq(2);
    let [s1, s2, hq] = [&chain.nodes[0], &chain.nodes[1], &chain.nodes[2]];

    // At store-1: a member recharges 500.00 and spends 80.00 of it; a
    // walk-in pays 30.00 cash. At store-2: a member recharges 200.00.
    let a = s1.member("13900001111", "甲");
    let (st, r) = s1.post(
        &format!("/members/{a}/recharges"),
        json!({"amount": "500.00", "tender": "cash"}),
        Some("dash-r1"),
    );
    assert_eq!(st, 201, "{r}");
    let (st, o) = s1.post(
        "/checkouts",
        sale(Some(&a), "80.00", json!({"kind": "balance"})),
        Some("dash-o1"),
    );
    assert_eq!(st, 201, "{o}");
    let (st, o) = s1.post(
        "/checkouts",
        sale(None, "30.00", json!({"kind": "cash", "amount": "30.00"})),
        Some("dash-o2"),
    );
    assert_eq!(st, 201, "{o}");
    let b = s2.member("13900002222", "乙");
    let (st, r) = s2.post(
        &format!("/members/{b}/recharges"),
        json!({"amount": "200.00", "tender": "wechat"}),
        Some("dash-r2"),
    );
    assert_eq!(st, 201, "{r}");
    chain.wait_converged(&[0, 1, 2], CONVERGE);
    let before = dashboard(hq);
    assert_eq!(before["scope"], "chain");
    assert_eq!(before["members"]["total"], 2, "{before}");
    assert_eq!(store(&before, "store-2")["sync"]["state"], "connected");
    // HQ is not a store: shown apart (this node), neither a row nor ranked.
    assert_eq!(before["hq"][0]["node"], "hq", "{before}");
    assert_eq!(before["hq"][0]["sync"]["state"], "this_node");
    assert_eq!(before["hq"].as_array().unwrap().len(), 1);
    assert_no_hq_store(&before);
    // At a store, HQ is known by its certificate: shown apart, connected.
    let at1 = dashboard(s1);
    assert_eq!(
        (
            at1["hq"][0]["node"].as_str(),
            at1["hq"][0]["sync"]["state"].as_str()
        ),
        (Some("hq"), Some("connected")),
        "{at1}"
    );
    assert_no_hq_store(&at1);

    with_browser("console-dashboard", async |c| {
        open_console(c, hq).await;
        click(c, "tab-dashboard").await;
        wait_for(
            c,
            r#"body.dash-full [data-test="panel-dashboard"]:not([hidden])"#,
        )
        .await;
        // The figures are the API's.
        for (test, v) in [
            ("dash-members-total", &before["members"]["total"]),
            ("dash-members-new", &before["members"]["new_today"]),
            ("dash-members-active", &before["members"]["active_today"]),
            ("dash-sales-amount", &before["sales_today"]["amount"]),
            ("dash-recharged", &before["recharges_today"]["principal"]),
            ("dash-outstanding", &before["outstanding"]["principal"]),
            ("dash-points", &before["outstanding"]["points"]),
        ] {
            wait_for(c, &kpi(test, v)).await;
        }
        let sales = dt("dash-sales-amount");
        assert_eq!(
            attr(c, &sales, "data-count").await.as_deref(),
            Some(before["sales_today"]["count"].to_string().as_str())
        );
        let outstanding = dt("dash-outstanding");
        assert_eq!(
            attr(c, &outstanding, "data-bonus").await.as_deref(),
            before["outstanding"]["bonus"].as_str()
        );
        for name in ["store-1", "store-2"] {
            let s = store(&before, name);
            let r = row(name);
            wait_for(c, &format!(r#"{r}[data-sync="connected"]"#)).await;
            assert_eq!(
                attr(
                    c,
                    &format!("{r} {}", dt("dash-store-sales-amount")),
                    "data-value"
                )
                .await
                .as_deref(),
                s["today"]["sales_amount"].as_str(),
                "{name}"
            );
            assert_eq!(
                attr(
                    c,
                    &format!("{r} {}", dt("dash-store-recharged")),
                    "data-value"
                )
                .await
                .as_deref(),
                s["today"]["recharged_principal"].as_str(),
                "{name}"
            );
            assert_eq!(text(c, &format!("{r} {}", dt("dash-sync"))).await, "已连接");
        }
        // HQ's link apart, in the header; no store row of it.
        let hq_link = format!(
            r#"{}[data-node="hq"][data-sync="this_node"]"#,
            dt("dash-hq-link")
        );
        wait_for(c, &hq_link).await;
        assert_eq!(text(c, &hq_link).await, "总部 hq：本节点");
        let rows = c
            .find_all(fantoccini::Locator::Css(&row("hq")))
            .await
            .expect("find rows");
        assert!(rows.is_empty(), "no store row for HQ");
        // Store-1 first in today's ranking; the charts drawn.
        wait_for(
            c,
            &format!(
                r#"{}[data-rank="1"][data-store="store-1"]"#,
                dt("dash-rank")
            ),
        )
        .await;
        wait_for(c, &format!("{} canvas", dt("dash-chart-trend"))).await;
        wait_for(c, &format!("{} canvas", dt("dash-chart-stores"))).await;
        let updated = attr(c, &dt("dash-updated"), "data-at").await;
        assert!(updated.is_some_and(|t| t.ends_with('Z')));

        // Store-2 cut off.
        let resume = Resume(s2.pid());
        signal(s2.pid(), libc::SIGSTOP);
        let cut = format!(r#"{}[data-sync="partitioned"]"#, row("store-2"));
        wait_for(c, &cut).await;
        let shown = text(c, &format!("{cut} {}", dt("dash-sync"))).await;
        assert!(shown.starts_with("断开自 "), "{shown:?}");
        let since = attr(c, &cut, "data-partitioned-since").await;
        let d = dashboard(hq);
        let two = store(&d, "store-2");
        assert_eq!(two["sync"]["state"], "partitioned", "{d}");
        assert_eq!(two["sync"]["connected"], false);
        assert_eq!(since.as_deref(), two["sync"]["partitioned_since"].as_str());
        assert!(since.is_some(), "{d}");
        // Store-1 is still connected, and a sale there shows by itself.
        wait_for(c, &format!(r#"{}[data-sync="connected"]"#, row("store-1"))).await;
        let (st, o) = s1.post(
            "/checkouts",
            sale(None, "12.00", json!({"kind": "cash", "amount": "12.00"})),
            Some("dash-o3"),
        );
        assert_eq!(st, 201, "{o}");
        let more = plus(
            store(&before, "store-1")["today"]["sales_amount"]
                .as_str()
                .unwrap(),
            1200,
        );
        let want = dashboard_after(hq, &before, &more);
        wait_for(c, &kpi("dash-sales-amount", &want["sales_today"]["amount"])).await;
        screenshot(c, "console-dashboard-partitioned").await;

        // In English too.
        click(c, "dash-lang").await;
        wait_for(c, r#"body[data-lang="en"]"#).await;
        let shown = text(c, &format!("{cut} {}", dt("dash-sync"))).await;
        assert!(shown.starts_with("Disconnected since "), "{shown:?}");
        click(c, "dash-lang").await;
        wait_for(c, r#"body[data-lang="zh"]"#).await;

        // Healed.
        drop(resume);
        wait_for(c, &format!(r#"{}[data-sync="connected"]"#, row("store-2"))).await;
        assert_eq!(
            text(c, &format!("{} {}", row("store-2"), dt("dash-sync"))).await,
            "已连接"
        );
        assert_eq!(
            attr(c, &row("store-2"), "data-partitioned-since").await,
            None
        );
        screenshot(c, "console-dashboard-healed").await;

        // Leaving gives the console its layout back.
        click(c, "dash-exit").await;
        wait_for(
            c,
            r#"body:not(.dash-full) [data-test="panel-dashboard"][hidden]"#,
        )
        .await;
        // `#dashboard` typed into the address shows it, and a page opened
        // (or reloaded) at `#dashboard` starts on it: a screen on the wall.
        c.goto(&format!("{}/#dashboard", hq.url))
            .await
            .expect("go to #dashboard");
        let shown = format!(
            r#"body.dash-full {}[data-sync="connected"]"#,
            row("store-2")
        );
        wait_for(c, &shown).await;
        c.refresh().await.expect("reload");
        wait_for(c, r#"body[data-auth="app"]"#).await;
        wait_for(c, &shown).await;
    });
    let d = dashboard(hq);
    assert_eq!(store(&d, "store-2")["sync"]["state"], "connected", "{d}");
    assert_eq!(
        store(&d, "store-2")["sync"]["partitioned_since"],
        Value::Null
    );
}

/// HQ is neither among the stores nor in the ranking of `d`.
fn assert_no_hq_store(d: &Value) {
    for list in ["stores", "ranking"] {
        assert!(
            d[list]
                .as_array()
                .unwrap()
                .iter()
                .all(|s| s["store"] != "hq"),
            "{list}: {d}"
        );
    }
    assert!(
        d["series"]["stores"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["store"] != "hq"),
        "{d}"
    );
}

/// `amount` (an API money string) plus `fen`, as the API writes it.
fn plus(amount: &str, fen: i64) -> String {
    let (y, f) = amount.split_once('.').expect("yuan.fen");
    let total = y.parse::<i64>().unwrap() * 100 + f.parse::<i64>().unwrap() + fen;
    format!("{}.{:02}", total / 100, total % 100)
}

/// HQ's dashboard once store-1's sales today reach `amount` (the sale
/// made at store-1 has replicated to HQ).
fn dashboard_after(hq: &Node, before: &Value, amount: &str) -> Value {
    let mut last = Value::Null;
    let ok = crate::harness::try_wait_for(CONVERGE, || {
        last = dashboard(hq);
        store(&last, "store-1")["today"]["sales_amount"] == amount
    });
    assert!(
        ok,
        "store-1's sale did not reach HQ: {last}\nbefore: {before}"
    );
    last
}
