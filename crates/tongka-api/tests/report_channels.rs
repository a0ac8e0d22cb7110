//! `channel` on every report (the reports module doc, "Channels"), on a
//! real node with a real member import beside real sales
//! (`common::reports::import_and_sales`), against figures computed by
//! hand: members by how they joined, points by where they were issued,
//! the stores ranking by tender; the reports whose figures record no
//! channel refuse it, naming the field, in both languages, changing
//! nothing; and the files carry the new columns.

mod common;

use common::App;
use common::reports::{POINTS, days, import_and_sales, refused, summed};
use serde_json::{Value, json};

async fn get(app: &App, path: &str) -> Value {
    let (s, v) = app.get(path).await;
    assert_eq!(s, 200, "{path}: {v}");
    v
}

const MEMBERS: &[&str] = &["new", "registered", "imported", "active"];

#[tokio::test]
async fn members_and_points_split_imports_from_the_till_and_sales() {
    let app = App::new();
    let recharge = import_and_sales(&app).await;
    let days = days();

    // Members: 甲 and 乙 imported, 丙 registered; 丙 alone active (the
    // walk-in is no member; an import is no sale).
    let m = get(&app, &format!("/api/v1/reports/members?{days}")).await;
    assert_eq!(m["channel"], Value::Null);
    assert_eq!(
        summed(&m, "store-1", MEMBERS),
        json!({"new": 3, "registered": 1, "imported": 2, "active": 1}),
        "{m}"
    );
    assert_eq!(
        (&m["new"], &m["registered"], &m["imported"]),
        (&json!(3), &json!(1), &json!(2))
    );
    assert!(m["dormant"]["chain"].is_u64(), "{m}");
    let m = get(
        &app,
        &format!("/api/v1/reports/members?{days}&channel=import"),
    )
    .await;
    assert_eq!(m["channel"], "import");
    assert_eq!(
        summed(&m, "store-1", MEMBERS),
        json!({"new": 2, "registered": 0, "imported": 2, "active": 0}),
        "{m}"
    );
    assert_eq!(m["new"], 2);
    // Dormant members are not told apart by how they joined: none counted.
    assert_eq!(m["dormant"]["chain"], Value::Null, "{m}");
    assert_eq!(m["dormant"]["stores"], json!([]), "{m}");
    let m = get(
        &app,
        &format!("/api/v1/reports/members?{days}&channel=store&store=store-1"),
    )
    .await;
    assert_eq!(
        summed(&m, "store-1", MEMBERS),
        json!({"new": 1, "registered": 1, "imported": 0, "active": 0}),
        "{m}"
    );

    // Points: 30 earned by 丙's sale, 20 + 5 imported; 55 held.
    let p = get(&app, &format!("/api/v1/reports/points?{days}")).await;
    assert_eq!(
        summed(&p, "store-1", POINTS),
        json!({"issued": 30, "imported": 25, "redeemed": 0, "reversed": 0, "returned": 0,
               "expired": 0, "moved_in": 0, "moved_out": 0, "net": 55}),
        "{p}"
    );
    assert_eq!(
        p["stores"],
        json!([{"store": "store-1", "outstanding": 55}])
    );
    assert_eq!(p["chain_outstanding"], 55);
    let (_, ledger) = app.get("/api/v1/ledger/summary").await;
    assert_eq!(ledger["points_outstanding"], 55, "{ledger}");
    let p = get(
        &app,
        &format!("/api/v1/reports/points?{days}&channel=import"),
    )
    .await;
    assert_eq!(p["channel"], "import");
    assert_eq!(
        summed(&p, "store-1", POINTS),
        json!({"issued": 0, "imported": 25, "redeemed": 0, "reversed": 0, "returned": 0,
               "expired": 0, "moved_in": 0, "moved_out": 0, "net": 25}),
        "{p}"
    );
    // What members hold is not told apart by where it was issued.
    assert_eq!(p["stores"], json!([]));
    assert_eq!(p["chain_outstanding"], Value::Null);
    let p = get(&app, &format!("/api/v1/reports/points?{days}&channel=sale")).await;
    assert_eq!(
        summed(&p, "store-1", &["issued", "imported", "net"]),
        json!({"issued": 30, "imported": 0, "net": 30}),
        "{p}"
    );

    // The stores ranked by one tender: cash took the 30.00 tea, alipay
    // the 12.00 cake, wechat 丙's 200.00 recharge (and its bonus).
    for (tender, want) in [
        ("cash", json!(["30.00", 1, "0.00"])),
        ("alipay", json!(["12.00", 1, "0.00"])),
        ("wechat", json!(["0.00", 0, "200.00"])),
        ("balance", json!(["0.00", 0, "0.00"])),
    ] {
        let r = get(
            &app,
            &format!("/api/v1/reports/rankings?{days}&channel={tender}"),
        )
        .await;
        assert_eq!(r["channel"], tender, "{r}");
        let s = &r["stores"][0];
        assert_eq!(
            json!([s["sales_amount"], s["sales"], s["recharged_principal"]]),
            want,
            "{tender}: {r}"
        );
    }
    let r = get(&app, &format!("/api/v1/reports/rankings?{days}")).await;
    assert_eq!(r["channel"], Value::Null);
    assert_eq!(r["stores"][0]["sales_amount"], "42.00", "{r}");
    // The sales report by tender agrees with the ranking.
    let s = get(
        &app,
        &format!("/api/v1/reports/sales?{days}&channel=wechat"),
    )
    .await;
    assert_eq!(s["totals"]["recharged_principal"], "200.00");
    assert_eq!(s["totals"]["recharged_bonus"], recharge["bonus"], "{s}");

    // The files carry the new columns, and name the channel.
    let a = app
        .call(
            "GET",
            &format!("/api/v1/reports/members?{days}&channel=import&format=csv&lang=en"),
            Vec::new(),
            None,
        )
        .await;
    assert_eq!(a.status, 200);
    let disposition = a.headers["content-disposition"].to_str().unwrap();
    assert!(disposition.contains("_import.csv"), "{disposition}");
    let csv = String::from_utf8(a.body).unwrap();
    let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(lines[0], "Day,Store,New,Registered,Imported,Active");
    assert_eq!(lines.last().unwrap(), &",Total,2,0,2,");
    let a = app
        .call(
            "GET",
            &format!("/api/v1/reports/points?{days}&format=csv&lang=zh"),
            Vec::new(),
            None,
        )
        .await;
    let csv = String::from_utf8(a.body).unwrap();
    let header = csv.trim_start_matches('\u{feff}').lines().next().unwrap();
    assert!(header.starts_with("日期,门店,发放,导入,抵现"), "{header}");
}

#[tokio::test]
async fn a_channel_a_report_does_not_record_is_refused_with_why() {
    let app = App::new();
    import_and_sales(&app).await;
    let before = app.snapshot().await;
    for (path, why_en) in [
        ("/api/v1/reports/liability?channel=import", "one balance"),
        (
            "/api/v1/reports/coupons?channel=cash",
            "no tender or source",
        ),
        ("/api/v1/reports/cards?channel=cash", "paid as a whole"),
        (
            "/api/v1/reports/rankings?by=members&channel=cash",
            "only with by=stores",
        ),
        (
            "/api/v1/reports/rankings?by=products&channel=wechat",
            "only with by=stores",
        ),
        // A value the report does not know.
        ("/api/v1/reports/members?channel=cash", "store or import"),
        ("/api/v1/reports/points?channel=store", "sale or import"),
        ("/api/v1/reports/sales?channel=import", "tender kind"),
        ("/api/v1/reports/rankings?channel=sale", "tender kind"),
        ("/api/v1/reports/members?channel=IMPORT", "store or import"),
        (
            "/api/v1/reports/points?channel=sale%07",
            "control character",
        ),
        (
            "/api/v1/reports/members?channel=store&channel=store",
            "given twice",
        ),
    ] {
        let v = refused(&app, path, "channel").await;
        let en = v["error"]["message"].as_str().unwrap();
        assert!(en.contains(why_en), "{path}: {v}");
    }
    // An empty channel is as if none was given.
    let (s, v) = app.get("/api/v1/reports/liability?channel=").await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(app.snapshot().await, before, "a report changes nothing");
}
