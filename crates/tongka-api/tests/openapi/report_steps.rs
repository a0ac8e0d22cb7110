//! The reports' part of the walk of `answers_match_the_documented_schemas`,
//! last (the walk's sales, recharges and refunds are then in the figures):
//! each report, filtered, and refused queries.

use super::steps::Step;

fn get(path: &'static str, query: &str, status: u16, code: Option<&'static str>) -> Step<'static> {
    (
        "GET",
        path,
        format!("{path}{query}"),
        Vec::new(),
        None,
        status,
        code,
    )
}

pub fn steps() -> Vec<Step<'static>> {
    const SALES: &str = "/api/v1/reports/sales";
    const LIABILITY: &str = "/api/v1/reports/liability";
    const POINTS: &str = "/api/v1/reports/points";
    const MEMBERS: &str = "/api/v1/reports/members";
    const RANKINGS: &str = "/api/v1/reports/rankings";
    const COUPONS: &str = "/api/v1/reports/coupons";
    const CARDS: &str = "/api/v1/reports/cards";
    let bad = |path: &'static str, q: &str| get(path, q, 422, Some("invalid_report_query"));
    vec![
        get(SALES, "", 200, None),
        get(
            SALES,
            "?store=store-1&channel=cash&from=2000-01-01&to=2000-12-31",
            200,
            None,
        ),
        get(SALES, "?channel=balance", 200, None),
        get(LIABILITY, "", 200, None),
        get(LIABILITY, "?store=store-1", 200, None),
        get(POINTS, "", 200, None),
        get(MEMBERS, "?store=store-1", 200, None),
        get(RANKINGS, "?by=stores", 200, None),
        get("/api/v1/dashboard", "", 200, None),
        bad(SALES, "?from=2026-12-32"),
        bad(SALES, "?channel=bitcoin"),
        bad(LIABILITY, "?store=store-77"),
        bad(POINTS, "?from=2000-01-01&to=2001-01-02"),
        bad(MEMBERS, "?dormant=1"),
        bad(RANKINGS, "?by=coupons"),
        // reports::more (dormant members, members and products ranked,
        // coupons and cards).
        get(MEMBERS, "?dormant_days=30", 200, None),
        get(RANKINGS, "?by=members&limit=5", 200, None),
        get(RANKINGS, "?by=products&sort=qty&store=store-1", 200, None),
        get(COUPONS, "", 200, None),
        get(CARDS, "?store=store-1", 200, None),
        bad(MEMBERS, "?dormant_days=0"),
        bad(RANKINGS, "?by=members&limit=101"),
        bad(COUPONS, "?channel=cash"),
        bad(CARDS, "?from=2026-02-30"),
        // Channels (the reports module doc): members by how they joined,
        // points by where issued, stores by tender; refused where the
        // figures record none.
        get(MEMBERS, "?channel=import", 200, None),
        get(POINTS, "?channel=sale", 200, None),
        get(RANKINGS, "?channel=cash", 200, None),
        bad(LIABILITY, "?channel=import"),
        bad(RANKINGS, "?by=members&channel=cash"),
        bad(POINTS, "?channel=cash"),
    ]
}
