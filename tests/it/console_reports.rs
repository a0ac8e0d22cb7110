//! The reports screen (报表) in a real browser against a real node: the
//! sales report for a range shows the API's figures, cell by cell; the CSV
//! download hands over the very bytes the API answers (the Blob behind the
//! screen's <a download> link, read back with `fetch` of its object URL);
//! in English the headers and the Excel file follow the language. And the
//! screen lists every report: after a real member import and a card sold,
//! the members report filtered by channel=import and the cards report show
//! the API's figures, each with the filters it takes.

use serde_json::{Value, json};

use crate::console::{
    attr, click, dt, open_console, screenshot, select, text, wait_for, with_browser,
};
use crate::harness::Node;

const SALES: &[&str] = &[
    "sales",
    "sales_amount",
    "recharges",
    "recharged_principal",
    "recharged_bonus",
    "refunds",
    "refunded",
    "balance_spent_principal",
    "balance_spent_bonus",
    "balance_refunded_principal",
    "balance_refunded_bonus",
];

/// A JSON figure as the page mirrors it in `data-value`.
fn value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The bytes behind the object URL `href`, read in the page.
async fn blob_bytes(c: &fantoccini::Client, href: &str) -> Vec<u8> {
    let got = c
        .execute_async(
            r#"const [url, done] = arguments;
               fetch(url).then((r) => r.arrayBuffer())
                 .then((b) => done(Array.from(new Uint8Array(b))))
                 .catch((e) => done(String(e)));"#,
            vec![json!(href)],
        )
        .await
        .expect("read the download's Blob");
    got.as_array()
        .unwrap_or_else(|| panic!("the Blob: {got}"))
        .iter()
        .map(|b| b.as_u64().expect("a byte") as u8)
        .collect()
}

#[test]
fn console_shows_a_report_and_downloads_it_as_csv_and_excel() {
    let node = Node::up();
    let (status, m) = node.post(
        "/members",
        json!({"phone": "13900003333", "name": "钱七"}),
        Some("rep-register"),
    );
    assert_eq!(status, 201, "register: {m}");
    let id = m["id"].as_str().expect("member id").to_string();
    let (status, r) = node.post(
        &format!("/members/{id}/recharges"),
        json!({"amount": "200.00", "tender": "cash"}),
        Some("rep-recharge"),
    );
    assert_eq!(status, 201, "recharge: {r}");
    let (status, o) = node.post(
        "/checkouts",
        json!({"member_id": id, "lines": [{"description": "茶", "unit_price": "30.50", "qty": 2}],
               "tenders": [{"kind": "balance"}]}),
        Some("rep-sale"),
    );
    assert_eq!(status, 201, "sale: {o}");
    let (status, o) = node.post(
        "/checkouts",
        json!({"lines": [{"description": "点心", "unit_price": "12.30", "qty": 1}],
               "tenders": [{"kind": "cash", "amount": "20.00"}]}),
        Some("rep-walk-in"),
    );
    assert_eq!(status, 201, "walk-in sale: {o}");

    // The node's own default range (the 30 days up to its today, China
    // time), asked of the page explicitly: the browser's clock may be on
    // another day.
    let (status, sales) = node.get("/reports/sales");
    assert_eq!(status, 200, "{sales}");
    let (from, to) = (value(&sales["from"]), value(&sales["to"]));
    assert!(
        sales["rows"].as_array().is_some_and(|r| !r.is_empty()),
        "the sales made today are there: {sales}"
    );
    let (status, liability) = node.get("/reports/liability");
    assert_eq!(status, 200, "{liability}");
    assert_eq!(
        liability["stores"].as_array().map(Vec::len),
        Some(1),
        "{liability}"
    );
    let (status, health) = node.get("/health");
    assert_eq!(status, 200);
    let store = value(&health["node"]);
    let (status, csv_api) = node.raw(
        "GET",
        &format!("/reports/sales?from={from}&to={to}&format=csv&lang=zh"),
        &[("Authorization", &format!("Bearer {}", node.token))],
        b"",
    );
    assert_eq!(status, 200);
    let csv_api = value(&csv_api);

    with_browser("console-reports", async |c| {
        open_console(c, &node).await;
        click(c, "tab-reports").await;
        // The first answer (the browser's own last 30 days) is drawn, and
        // the button free again: a click while it is busy would be lost.
        wait_for(c, &dt("reports-table")).await;
        wait_for(c, r#"[data-test="reports-show"]:not([data-busy])"#).await;
        select(c, "reports-kind", "sales").await;
        set_range(c, &from, &to).await;
        click(c, "reports-show").await;

        // Every figure of every row, and of the totals, as the API says.
        same_as_api(c, &sales, SALES, (&sales["totals"], "rep.total")).await;
        let total = format!(r#"{}[data-summary="rep.total"]"#, dt("reports-row"));
        assert_eq!(text(c, &format!("{total} td:nth-child(2)")).await, "合计");
        let fresh = text(c, &dt("reports-fresh")).await;
        assert!(
            fresh.starts_with("数据截至") && fresh.contains(&store),
            "freshness: {fresh:?}"
        );
        let th = text(
            c,
            &format!(r#"{} th[data-field="sales_amount"]"#, dt("reports-table")),
        )
        .await;
        assert_eq!(th, "销售金额");

        // The CSV download: the very bytes the API answers.
        click(c, "reports-csv").await;
        let link = format!(r#"{}[data-format="csv"]"#, dt("reports-file"));
        wait_for(c, &link).await;
        let name = attr(c, &link, "download").await.expect("a file name");
        assert_eq!(name, format!("销售日报_{from}_{to}.csv"));
        let href = attr(c, &link, "href").await.expect("an object URL");
        assert!(href.starts_with("blob:"), "{href}");
        let bytes = blob_bytes(c, &href).await;
        assert_eq!(String::from_utf8(bytes.clone()).expect("UTF-8"), csv_api);
        assert!(bytes.starts_with("\u{feff}日期,门店,销售笔数,销售金额".as_bytes()));
        let amount = value(&sales["totals"]["sales_amount"]);
        assert!(
            csv_api.contains(&format!(",合计,{},{amount},", sales["totals"]["sales"])),
            "{csv_api}"
        );
        let body = text(c, &dt("reports-body")).await;
        assert!(
            !body.contains("null") && !body.contains("undefined"),
            "{body}"
        );
        screenshot(c, "console-reports").await;

        // Another report: the liability, which takes no range.
        select(c, "reports-kind", "liability").await;
        let row = format!(r#"{}[data-store="{store}"]"#, dt("reports-row"));
        for f in ["principal", "bonus"] {
            wait_for(
                c,
                &format!(
                    r#"{row} td[data-field="{f}"][data-value="{}"]"#,
                    value(&liability["stores"][0][f])
                ),
            )
            .await;
        }
        wait_for(c, r#"label.reports-range[hidden]"#).await;
        select(c, "reports-kind", "sales").await;
        wait_for(c, &format!(r#"{total} td[data-field="sales_amount"]"#)).await;

        // In English: the headers, and the Excel file named in English.
        click(c, "lang-toggle").await;
        wait_for(c, r#"body[data-lang="en"]"#).await;
        let th = text(
            c,
            &format!(r#"{} th[data-field="sales_amount"]"#, dt("reports-table")),
        )
        .await;
        assert_eq!(th, "Sales amount");
        click(c, "reports-xlsx").await;
        let link = format!(r#"{}[data-format="xlsx"]"#, dt("reports-file"));
        wait_for(c, &link).await;
        let name = attr(c, &link, "download").await.expect("a file name");
        assert_eq!(name, format!("Sales_{from}_{to}.xlsx"));
        let href = attr(c, &link, "href").await.expect("an object URL");
        let bytes = blob_bytes(c, &href).await;
        assert!(bytes.starts_with(b"PK\x03\x04"), "a zip (.xlsx)");

        // A refusal shows on the screen, bilingual as any other.
        set_range(c, &to, &from).await;
        click(c, "reports-show").await;
        wait_for(
            c,
            &format!(
                r#"{}[data-code="invalid_report_query"]"#,
                dt("reports-error")
            ),
        )
        .await;
    });
}

/// Every figure of every row of `report` (its rows, then the summary row
/// `summary` labelled `label`) is on the screen as the API answered it.
async fn same_as_api(
    c: &fantoccini::Client,
    report: &Value,
    fields: &[&str],
    summary: (&Value, &str),
) {
    let rows = report["rows"].as_array().expect("rows");
    assert!(!rows.is_empty(), "rows to compare: {report}");
    for r in rows {
        let row = format!(
            r#"{}[data-store="{}"][data-day="{}"]"#,
            dt("reports-row"),
            value(&r["store"]),
            value(&r["day"])
        );
        for f in fields {
            wait_for(
                c,
                &format!(
                    r#"{row} td[data-field="{f}"][data-value="{}"]"#,
                    value(&r[*f])
                ),
            )
            .await;
        }
    }
    let (totals, label) = summary;
    let total = format!(r#"{}[data-summary="{label}"]"#, dt("reports-row"));
    for f in fields {
        if totals.get(*f).is_some() {
            wait_for(
                c,
                &format!(
                    r#"{total} td[data-field="{f}"][data-value="{}"]"#,
                    value(&totals[*f])
                ),
            )
            .await;
        }
    }
}

async fn set_range(c: &fantoccini::Client, from: &str, to: &str) {
    c.execute(
        "document.querySelector('#reports-from').value = arguments[0];
         document.querySelector('#reports-to').value = arguments[1];",
        vec![json!(from), json!(to)],
    )
    .await
    .expect("set the range");
}

#[test]
fn console_lists_every_report_and_filters_members_by_channel_after_an_import() {
    let node = Node::up();
    let (status, p) = node.put(
        "/products/haircut10",
        json!({"name": "理发十次卡", "price": "250.00",
               "card": {"kind": "count", "visits": 10, "days": null, "services": ["haircut"]}}),
    );
    assert_eq!(status, 200, "card product: {p}");
    // A real import of two members (one with an opening balance and
    // points), and one member registered at the till who buys a card.
    let csv = "phone,name,birthday,card_no,principal,bonus,points,level\n\
        13800000201,甲,,,100.00,0,20,\n\
        13800000202,乙,,,0,0,0,\n";
    let (status, imported) = node.raw(
        "POST",
        "/members/import",
        &[
            ("Authorization", &format!("Bearer {}", node.token)),
            ("Content-Type", "text/csv"),
        ],
        csv.as_bytes(),
    );
    assert_eq!(status, 201, "import: {imported}");
    assert_eq!(imported["created"], 2, "{imported}");
    let id = node.member("13900005555", "丙");
    let (status, o) = node.post(
        "/checkouts",
        json!({"member_id": id, "lines": [{"sku": "haircut10"}], "tenders": [{"kind": "cash"}]}),
        Some("rep-card-sale"),
    );
    assert_eq!(status, 201, "card sale: {o}");

    let (status, sales) = node.get("/reports/sales");
    assert_eq!(status, 200, "{sales}");
    let (from, to) = (value(&sales["from"]), value(&sales["to"]));
    let range = format!("from={from}&to={to}");
    let (status, members) = node.get(&format!("/reports/members?{range}&channel=import"));
    assert_eq!(status, 200, "{members}");
    // By hand: the two imported, none registered under this channel.
    assert_eq!(
        (
            &members["new"],
            &members["registered"],
            &members["imported"]
        ),
        (&json!(2), &json!(0), &json!(2)),
        "{members}"
    );
    let (status, points) = node.get(&format!("/reports/points?{range}&channel=import"));
    assert_eq!(status, 200, "{points}");
    assert_eq!(points["rows"][0]["imported"], 20, "{points}");
    let (status, products) = node.get(&format!("/reports/rankings?{range}&by=products"));
    assert_eq!(status, 200, "{products}");
    assert_eq!(products["products"][0]["sku"], "haircut10", "{products}");
    let (status, cards) = node.get(&format!("/reports/cards?{range}"));
    assert_eq!(status, 200, "{cards}");
    assert_eq!(cards["totals"]["sold"], 1, "{cards}");
    let (status, cards_csv) = node.raw(
        "GET",
        &format!("/reports/cards?{range}&format=csv&lang=zh"),
        &[("Authorization", &format!("Bearer {}", node.token))],
        b"",
    );
    assert_eq!(status, 200);
    let cards_csv = value(&cards_csv);

    with_browser("console-reports-channels", async |c| {
        open_console(c, &node).await;
        click(c, "tab-reports").await;
        wait_for(c, &dt("reports-table")).await;
        wait_for(c, r#"[data-test="reports-show"]:not([data-busy])"#).await;
        // Every report is offered.
        let kinds = c
            .execute(
                "return Array.from(document.querySelectorAll('#reports-kind option')).map((o) => o.value);",
                vec![],
            )
            .await
            .expect("the reports offered");
        assert_eq!(
            kinds,
            json!([
                "sales",
                "liability",
                "points",
                "members",
                "rankings",
                "rankings_members",
                "rankings_products",
                "coupons",
                "cards"
            ])
        );

        // Members, by channel: how they joined.
        select(c, "reports-kind", "members").await;
        wait_for(c, r#"[data-test="reports-body"][data-kind="members"]"#).await;
        wait_for(c, r#"#reports-channel-label:not([hidden])"#).await;
        wait_for(c, r#"#reports-dormant-label:not([hidden])"#).await;
        let channels = c
            .execute(
                "return Array.from(document.querySelectorAll('#reports-channel option')).map((o) => o.value);",
                vec![],
            )
            .await
            .expect("the channels offered");
        assert_eq!(channels, json!(["", "store", "import"]));
        assert_eq!(text(c, "#reports-channel-name").await, "入会渠道");
        set_range(c, &from, &to).await;
        select(c, "reports-channel", "import").await;
        wait_for(
            c,
            r#"[data-test="reports-channel-note"][data-note="rep.channel_note.members"]"#,
        )
        .await;
        click(c, "reports-show").await;
        wait_for(c, r#"[data-test="reports-body"][data-channel="import"]"#).await;
        same_as_api(
            c,
            &members,
            &["new", "registered", "imported", "active"],
            (&members, "rep.total"),
        )
        .await;
        // Dormant members are not told apart by channel: none listed.
        wait_for(c, &dt("reports-dormant-none")).await;
        let th = text(
            c,
            &format!(r#"{} th[data-field="imported"]"#, dt("reports-table")),
        )
        .await;
        assert_eq!(th, "导入");
        screenshot(c, "console-reports-members-import").await;

        // Points by where they were issued: the imported ones alone.
        select(c, "reports-kind", "points").await;
        wait_for(c, r#"[data-test="reports-body"][data-kind="points"]"#).await;
        assert_eq!(text(c, "#reports-channel-name").await, "积分来源");
        set_range(c, &from, &to).await;
        select(c, "reports-channel", "import").await;
        click(c, "reports-show").await;
        wait_for(c, r#"[data-test="reports-body"][data-channel="import"]"#).await;
        same_as_api(
            c,
            &points,
            &["issued", "imported", "redeemed", "net"],
            (&Value::Null, ""),
        )
        .await;

        // Products ranked: the card sold, as the API ranks it.
        select(c, "reports-kind", "rankings_products").await;
        wait_for(
            c,
            r#"[data-test="reports-body"][data-kind="rankings_products"]"#,
        )
        .await;
        wait_for(
            c,
            r#"[data-test="reports-channel-note"][data-note="rep.no_channel.rankings_products"]"#,
        )
        .await;
        set_range(c, &from, &to).await;
        click(c, "reports-show").await;
        let top = &products["products"][0];
        for f in ["rank", "qty", "sold", "net_qty", "net"] {
            wait_for(
                c,
                &format!(
                    r#"{}[data-id="haircut10"] td[data-field="{f}"][data-value="{}"]"#,
                    dt("reports-row"),
                    value(&top[f])
                ),
            )
            .await;
        }

        // Cards: no channel (the screen says why), the API's figures.
        select(c, "reports-kind", "cards").await;
        wait_for(c, r#"[data-test="reports-body"][data-kind="cards"]"#).await;
        wait_for(c, r#"#reports-channel-label[hidden]"#).await;
        wait_for(
            c,
            r#"[data-test="reports-channel-note"][data-note="rep.no_channel.cards"]"#,
        )
        .await;
        set_range(c, &from, &to).await;
        click(c, "reports-show").await;
        same_as_api(
            c,
            &cards,
            &["sold", "visits", "refunded", "kept"],
            (&cards["totals"], "rep.total"),
        )
        .await;
        assert_eq!(
            text(
                c,
                &format!(r#"{} th[data-field="sold"]"#, dt("reports-table"))
            )
            .await,
            "售卡张数"
        );
        // Its CSV: the very bytes the API answers.
        click(c, "reports-csv").await;
        let link = format!(r#"{}[data-format="csv"]"#, dt("reports-file"));
        wait_for(c, &link).await;
        let name = attr(c, &link, "download").await.expect("a file name");
        assert_eq!(name, format!("次卡报表_{from}_{to}.csv"));
        let href = attr(c, &link, "href").await.expect("an object URL");
        let bytes = blob_bytes(c, &href).await;
        assert_eq!(String::from_utf8(bytes).expect("UTF-8"), cards_csv);
        screenshot(c, "console-reports-cards").await;

        // In English, the members channel speaks English too.
        click(c, "lang-toggle").await;
        wait_for(c, r#"body[data-lang="en"]"#).await;
        select(c, "reports-kind", "members").await;
        wait_for(c, r#"[data-test="reports-body"][data-kind="members"]"#).await;
        assert_eq!(text(c, "#reports-channel-name").await, "Joined");
    });
}
