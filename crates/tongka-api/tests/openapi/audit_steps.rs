//! The audit part of the walk of `answers_match_the_documented_schemas`,
//! last (every kind of op the walk made is then in the trail): the trail,
//! filtered and paged, and refused queries.

use super::steps::Step;

const AUDIT: &str = "/api/v1/audit";

fn get(query: &str, status: u16, code: Option<&'static str>) -> Step<'static> {
    (
        "GET",
        AUDIT,
        format!("{AUDIT}{query}"),
        Vec::new(),
        None,
        status,
        code,
    )
}

pub fn steps() -> Vec<Step<'static>> {
    let bad = |q: &str| get(q, 422, Some("invalid_audit_filter"));
    vec![
        get("", 200, None),
        get("?limit=200", 200, None),
        get("?limit=1", 200, None),
        get("?before=store-1.3&limit=2", 200, None),
        get(
            "?store=store-1&staff=admin&kind=recharged,checked_out,refunded,coupon_issued,card_visited&from=2000-01-01&to=2100-12-31",
            200,
            None,
        ),
        get("?store=hq&kind=programme_changed", 200, None),
        bad("?kind=nope"),
        bad("?limit=1000"),
        bad("?from=2026-12-05&to=2026-12-01"),
        bad("?before=x"),
        bad("?staff=%1B"),
        bad("?page=2"),
    ]
}
