//! The card part of the walk of `answers_match_the_documented_schemas`,
//! after the coupon steps: card products put in the catalogue and sold to
//! the member (and refused to a walk-in), then (with the code and order
//! the sale answered) visits verified and refused, the cards listed, the
//! card line refunded.

use serde_json::{Value, json};

use super::steps::Step;

fn step(
    method: &'static str,
    template: &'static str,
    path: String,
    body: Option<Value>,
    key: Option<&'static str>,
    status: u16,
    code: Option<&'static str>,
) -> Step<'static> {
    let body = body.map_or_else(Vec::new, |b| b.to_string().into_bytes());
    (method, template, path, body, key, status, code)
}

const PRODUCT: &str = "/api/v1/products/{sku}";
const CHECKOUT: &str = "/api/v1/checkouts";
const LIST: &str = "/api/v1/members/{id}/cards";
const VISIT: &str = "/api/v1/members/{id}/cards/{code}/visits";

/// The idempotency key of the sale whose answer's card code and order the
/// visit steps take.
pub const FIRST_SALE: &str = "ks-1";

/// Card products put, and a count and a period card sold to member `m`.
pub fn sell_steps(m: &str) -> Vec<Step<'static>> {
    let put = |sku: &str, card: Value, status, code| {
        step(
            "PUT",
            PRODUCT,
            format!("/api/v1/products/{sku}"),
            Some(json!({"name": "卡", "price": "100.00", "card": card})),
            None,
            status,
            code,
        )
    };
    let sale = json!({"member_id": m, "lines": [{"sku": "cut10"}, {"sku": "gym30"}], "tenders": [{"kind": "balance"}]});
    vec![
        put(
            "cut10",
            json!({"kind": "count", "visits": 10, "days": 365, "services": ["haircut"]}),
            200,
            None,
        ),
        put(
            "gym30",
            json!({"kind": "period", "days": 30, "daily_cap": 1}),
            200,
            None,
        ),
        put(
            "bad",
            json!({"kind": "period", "days": 30, "daily_cap": 0}),
            422,
            Some("invalid_card_plan"),
        ),
        step(
            "GET",
            PRODUCT,
            "/api/v1/products/cut10".into(),
            None,
            None,
            200,
            None,
        ),
        step(
            "GET",
            "/api/v1/products",
            "/api/v1/products".into(),
            None,
            None,
            200,
            None,
        ),
        step(
            "POST",
            CHECKOUT,
            CHECKOUT.into(),
            Some(json!({"lines": [{"sku": "cut10"}], "tenders": [{"kind": "cash"}]})),
            Some("ks-0"),
            422,
            Some("card_needs_member"),
        ),
        step(
            "POST",
            CHECKOUT,
            CHECKOUT.into(),
            Some(
                json!({"member_id": m, "lines": [{"sku": "cut10", "qty": "1.5"}], "tenders": [{"kind": "cash"}]}),
            ),
            Some("ks-0"),
            422,
            Some("invalid_card_qty"),
        ),
        step(
            "POST",
            "/api/v1/checkouts/quote",
            "/api/v1/checkouts/quote".into(),
            Some(sale.clone()),
            None,
            200,
            None,
        ),
        step(
            "POST",
            CHECKOUT,
            CHECKOUT.into(),
            Some(sale),
            Some(FIRST_SALE),
            201,
            None,
        ),
    ]
}

/// Visits on the count card `count` and period card `period` of member
/// `m`, the cards listed, and order `order`'s card line refunded.
pub fn visit_steps(m: &str, count: &str, period: &str, order: &str) -> Vec<Step<'static>> {
    let on = |code: &str| format!("/api/v1/members/{m}/cards/{code}/visits");
    let haircut = || Some(json!({"service": "haircut"}));
    let refund = format!("/api/v1/orders/{order}/refunds");
    vec![
        step("POST", VISIT, on(count), haircut(), Some("kv-1"), 201, None),
        // The replay.
        step("POST", VISIT, on(count), haircut(), Some("kv-1"), 201, None),
        step(
            "POST",
            VISIT,
            on(count),
            Some(json!({})),
            Some("kv-1"),
            409,
            Some("idempotency_key_reused"),
        ),
        step(
            "POST",
            VISIT,
            on(count),
            haircut(),
            None,
            400,
            Some("idempotency_key_required"),
        ),
        step(
            "POST",
            VISIT,
            on(count),
            Some(json!({"service": "massage"})),
            Some("kv-2"),
            422,
            Some("card_not_applicable"),
        ),
        step(
            "POST",
            VISIT,
            on(count),
            Some(json!({"service": "haircut", "count": 0})),
            Some("kv-3"),
            422,
            Some("invalid_visit_count"),
        ),
        step(
            "POST",
            VISIT,
            on(count),
            Some(json!({"service": "haircut", "count": 10})),
            Some("kv-4"),
            409,
            Some("card_used_up"),
        ),
        step(
            "POST",
            VISIT,
            on(count),
            Some(json!({"service": "haircut", "x": 1})),
            Some("kv-5"),
            400,
            Some("invalid_json"),
        ),
        step(
            "POST",
            VISIT,
            on("k-store-1-999"),
            Some(json!({})),
            Some("kv-6"),
            404,
            Some("card_not_found"),
        ),
        step(
            "POST",
            VISIT,
            on("k-1"),
            Some(json!({})),
            Some("kv-7"),
            422,
            Some("invalid_card_code"),
        ),
        step(
            "POST",
            VISIT,
            format!("/api/v1/members/m-store-1-999/cards/{count}/visits"),
            Some(json!({})),
            Some("kv-8"),
            404,
            Some("member_not_found"),
        ),
        step("POST", VISIT, on(period), None, Some("kv-9"), 201, None),
        step(
            "POST",
            VISIT,
            on(period),
            None,
            Some("kv-10"),
            422,
            Some("card_daily_cap"),
        ),
        step(
            "GET",
            LIST,
            format!("/api/v1/members/{m}/cards"),
            None,
            None,
            200,
            None,
        ),
        step(
            "GET",
            LIST,
            "/api/v1/members/nonsense/cards".into(),
            None,
            None,
            404,
            Some("member_not_found"),
        ),
        step(
            "POST",
            "/api/v1/orders/{id}/refunds",
            refund,
            Some(json!({"lines": [{"line": 0, "qty": "1"}], "reason": "退卡"})),
            Some("kr-1"),
            201,
            None,
        ),
        step(
            "POST",
            VISIT,
            on(count),
            haircut(),
            Some("kv-11"),
            409,
            Some("card_refunded"),
        ),
        step(
            "GET",
            "/api/v1/orders/{id}",
            format!("/api/v1/orders/{order}"),
            None,
            None,
            200,
            None,
        ),
        step(
            "GET",
            "/api/v1/members/{id}/history",
            format!("/api/v1/members/{m}/history"),
            None,
            None,
            200,
            None,
        ),
        step(
            "GET",
            "/api/v1/ledger/summary",
            "/api/v1/ledger/summary".into(),
            None,
            None,
            200,
            None,
        ),
    ]
}
