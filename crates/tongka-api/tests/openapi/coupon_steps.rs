//! The coupon part of the walk of `answers_match_the_documented_schemas`,
//! after `steps::steps`: templates put in the programme, coupons issued
//! (one, a batch) and listed, then (with the code the first issue
//! answered) quoted, used at checkout and refused.

use serde_json::{Value, json};

use super::steps::Step;

/// A POST of `body` to `path` (its template `template`).
fn post(
    template: &'static str,
    path: String,
    body: Value,
    key: Option<&'static str>,
    status: u16,
    code: Option<&'static str>,
) -> Step<'static> {
    (
        "POST",
        template,
        path,
        body.to_string().into_bytes(),
        key,
        status,
        code,
    )
}

fn get(template: &'static str, path: String) -> Step<'static> {
    ("GET", template, path, Vec::new(), None, 200, None)
}

const ISSUE: &str = "/api/v1/members/{id}/coupons";
const BATCH: &str = "/api/v1/coupon-batches";
const CHECKOUT: &str = "/api/v1/checkouts";
const QUOTE: &str = "/api/v1/checkouts/quote";

/// The idempotency key of the issue whose answer's `code` the use steps
/// take.
pub const FIRST_ISSUE: &str = "cp-1";

/// Templates in the programme, coupons issued and listed, for member `m`.
pub fn issue_steps(m: &str) -> Vec<Step<'static>> {
    let programme = json!({
        "recharge_offers": [{"threshold": "1000.00", "bonus": "100.00"}],
        "levels": [{"code": "regular", "name_zh": "普通会员", "name_en": "Regular", "min_principal": "0.00", "rate": "1"}],
        "points_per_yuan": "1",
        "coupon_templates": [
            {"id": "cash-10", "name": "10元代金券", "kind": "cash",
             "benefit": {"type": "amount_off", "off": "10.00"},
             "validity": {"type": "days_from_issue", "days": 30},
             "uses": 1, "min_spend": "30.00", "per_member_limit": 1},
            {"id": "old", "name": "过期券", "kind": "cash",
             "benefit": {"type": "amount_off", "off": "5.00"},
             "validity": {"type": "dates", "from": "2020-01-01", "to": "2020-01-31"},
             "uses": 1}
        ]
    });
    let mine = format!("/api/v1/members/{m}/coupons");
    vec![
        (
            "PUT",
            "/api/v1/programme",
            "/api/v1/programme".into(),
            programme.to_string().into_bytes(),
            None,
            200,
            None,
        ),
        post(
            ISSUE,
            mine.clone(),
            json!({"template": "cash-10"}),
            Some(FIRST_ISSUE),
            201,
            None,
        ),
        // The replay.
        post(
            ISSUE,
            mine.clone(),
            json!({"template": "cash-10"}),
            Some(FIRST_ISSUE),
            201,
            None,
        ),
        post(
            ISSUE,
            mine.clone(),
            json!({"template": "old"}),
            Some("cp-1"),
            409,
            Some("idempotency_key_reused"),
        ),
        post(
            ISSUE,
            mine.clone(),
            json!({"template": "cash-10"}),
            Some("cp-2"),
            409,
            Some("coupon_limit_reached"),
        ),
        post(
            ISSUE,
            mine.clone(),
            json!({"template": "nope"}),
            Some("cp-3"),
            404,
            Some("coupon_template_not_found"),
        ),
        post(
            ISSUE,
            mine.clone(),
            json!({"template": "cash\u{1b}[2J"}),
            Some("cp-4"),
            404,
            Some("coupon_template_not_found"),
        ),
        post(
            ISSUE,
            mine.clone(),
            json!({"template": "cash-10"}),
            None,
            400,
            Some("idempotency_key_required"),
        ),
        post(
            ISSUE,
            mine.clone(),
            json!({"template": "cash-10", "extra": 1}),
            Some("cp-5"),
            400,
            Some("invalid_json"),
        ),
        post(
            ISSUE,
            "/api/v1/members/m-store-1-999/coupons".into(),
            json!({"template": "cash-10"}),
            Some("cp-6"),
            404,
            Some("member_not_found"),
        ),
        get(ISSUE, mine.clone()),
        (
            "GET",
            ISSUE,
            "/api/v1/members/nonsense/coupons".into(),
            Vec::new(),
            None,
            404,
            Some("member_not_found"),
        ),
        post(
            BATCH,
            BATCH.into(),
            json!({"template": "old", "member_ids": [m, "m-store-1-999"]}),
            Some("cb-1"),
            200,
            None,
        ),
        post(
            BATCH,
            BATCH.into(),
            json!({"template": "old", "member_ids": [m, m]}),
            Some("cb-2"),
            422,
            Some("invalid_member_ids"),
        ),
        post(
            BATCH,
            BATCH.into(),
            json!({"template": "old", "member_ids": []}),
            Some("cb-3"),
            422,
            Some("invalid_member_ids"),
        ),
        post(
            BATCH,
            BATCH.into(),
            json!({"template": "nope", "member_ids": [m]}),
            Some("cb-4"),
            404,
            Some("coupon_template_not_found"),
        ),
        post(
            BATCH,
            BATCH.into(),
            json!({"template": "old", "member_ids": [m]}),
            None,
            400,
            Some("idempotency_key_required"),
        ),
    ]
}

/// The coupon `code` of member `m` quoted, used, and refused.
pub fn use_steps(m: &str, code: &str) -> Vec<Step<'static>> {
    let sale = |codes: Value| json!({"member_id": m, "lines": [{"sku": "latte"}], "tenders": [{"kind": "balance"}], "coupon_codes": codes});
    vec![
        post(QUOTE, QUOTE.into(), sale(json!([code])), None, 200, None),
        post(
            QUOTE,
            QUOTE.into(),
            sale(json!(["c-store-1-999"])),
            None,
            404,
            Some("coupon_not_found"),
        ),
        post(
            QUOTE,
            QUOTE.into(),
            json!({"lines": [{"sku": "latte"}], "tenders": [{"kind": "cash"}], "coupon_codes": [code]}),
            None,
            422,
            Some("coupon_without_member"),
        ),
        post(
            CHECKOUT,
            CHECKOUT.into(),
            sale(json!([code, code])),
            Some("cc-1"),
            422,
            Some("coupon_repeated"),
        ),
        post(
            CHECKOUT,
            CHECKOUT.into(),
            sale(json!(["a", "b", "c", "d", "e", "f"])),
            Some("cc-2"),
            422,
            Some("too_many_coupons"),
        ),
        post(
            CHECKOUT,
            CHECKOUT.into(),
            sale(json!(["x".repeat(10_000)])),
            Some("cc-3"),
            422,
            Some("invalid_coupon_code"),
        ),
        post(
            CHECKOUT,
            CHECKOUT.into(),
            sale(json!([code])),
            Some("cc-4"),
            201,
            None,
        ),
        post(
            CHECKOUT,
            CHECKOUT.into(),
            sale(json!([code])),
            Some("cc-5"),
            409,
            Some("coupon_used"),
        ),
        get(ISSUE, format!("/api/v1/members/{m}/coupons")),
        get(
            "/api/v1/members/{id}/history",
            format!("/api/v1/members/{m}/history"),
        ),
        get("/api/v1/ledger/summary", "/api/v1/ledger/summary".into()),
    ]
}
