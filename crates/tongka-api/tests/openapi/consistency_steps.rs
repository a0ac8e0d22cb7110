//! The consistency report's part of the walk of
//! `answers_match_the_documented_schemas`, last (the walk's sales, refunds
//! and coupon and card ops are then in the figures): the report, one
//! store's, and refused queries.

use super::steps::Step;

const PATH: &str = "/api/v1/consistency";

fn get(query: &str, status: u16, code: Option<&'static str>) -> Step<'static> {
    (
        "GET",
        PATH,
        format!("{PATH}{query}"),
        Vec::new(),
        None,
        status,
        code,
    )
}

pub fn steps() -> Vec<Step<'static>> {
    let bad = |q: &str| get(q, 422, Some("invalid_consistency_query"));
    vec![
        get("", 200, None),
        get("?store=store-1", 200, None),
        get("?store=", 200, None),
        bad("?store=Store_1"),
        bad("?store=store-1&store=store-2"),
        bad("?limit=1"),
    ]
}
