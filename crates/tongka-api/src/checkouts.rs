//! `POST /checkouts`: a sale, paid by balance, points and other tenders;
//! `POST /checkouts/quote`: what that sale would be, changing nothing.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;

use crate::dto::*;
use crate::*;
use tongka_actors::{Deduct, LineRequest};
use tongka_core::checkout::TenderInput;
use tongka_core::coupon::{COUPONS_PER_ORDER_MAX, CouponError};
use tongka_core::ids::CouponId;

#[utoipa::path(
    post,
    path = "/api/v1/checkouts",
    operation_id = "checkout",
    tag = "orders",
    summary = r#"Check out a sale / 结账"#,
    description = r#"Prices the lines (catalogue products by `sku` or `barcode`, or free lines), applies the member's level rate to every line, settles the tenders and records the order. A `balance` tender without `amount` pays the rest. See the rounding rules above."#,
    request_body(
        content = crate::dto::CheckoutReq,
        examples(
            ("member pays from balance" = (value = json!({"member_id": "m-store-1-1", "lines": [{"sku": "latte", "qty": "2"}], "tenders": [{"kind": "balance"}]}))),
            ("walk-in, cash with change" = (value = json!({"lines": [{"description": "咖啡", "unit_price": "28.00"}], "tenders": [{"kind": "cash", "amount": "50"}]})))
        )
    ),
    // The refusal codes this handler answers (statuses and meanings:
    // `openapi::CODES`).
    extensions(("x-codes" = json!([
        "idempotency_key_required", "invalid_idempotency_key", "invalid_json",
        "unauthorized", "member_not_found", "unknown_product", "product_inactive", "idempotency_key_reused",
        "idempotency_key_in_progress", "insufficient_balance", "insufficient_points",
        "too_many_coupons", "invalid_coupon_code", "coupon_without_member",
        "coupon_repeated", "coupon_not_found", "coupon_used", "coupon_unavailable_here",
        "coupon_expired", "coupon_not_yet_valid", "coupon_not_applicable",
        "coupon_below_minimum", "coupon_not_combinable", "card_needs_member",
        "invalid_card_qty",
        "points_deduction_not_enabled", "invalid_qty",
        "invalid_line", "invalid_amount", "invalid_tender", "invalid_lines",
        "invalid_description", "invalid_tenders", "tender_mismatch",
        "balance_needs_member", "order_too_large", "invalid_points",
        "points_need_member", "points_below_minimum", "points_over_cap", "internal",
        "overloaded", "storage_unavailable", "payload_too_large", "hq_sells_nothing",
        "invalid_stock_qty", "insufficient_stock",
    ]))),
    responses(
        (status = 201, description = r#"The order (or the first answer, replayed)."#, body = crate::render::OrderView, content_type = "application/json")
    )
)]
pub(crate) async fn checkout(
    State(s): State<AppState>,
    axum::Extension(who): axum::Extension<Principal>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let _permit = admit(&s)?;
    selling(&s)?;
    let idem = idem(&headers, &method, "/checkouts", &body, true)?;
    let sale = match sale_request(&body) {
        Ok(sale) => sale,
        Err(e) => return refused(&s, idem.as_ref(), StatusCode::CREATED, e),
    };
    let out = s
        .engine()
        .checkout_with(
            actor(&who),
            idem,
            sale.member,
            sale.lines,
            sale.tenders,
            sale.deduct,
        )
        .await?;
    Ok(created(&s, &out))
}

/// What the sale would be, changing nothing: the same body as
/// `POST /checkouts` (no idempotency key), the same checks and the same
/// calculator, no op written. Refused with the checkout's own codes.
#[utoipa::path(
    post,
    path = "/api/v1/checkouts/quote",
    operation_id = "quoteCheckout",
    tag = "orders",
    summary = r#"Quote a sale without making it / 试算（不结账）"#,
    description = r#"What `POST /api/v1/checkouts` with the same body would decide now, changing nothing: the same checks and the same calculator (the lines with their amounts and level discounts, the total, the points deduction, the payable, what each tender would pay, the balance's principal and bonus split, the points earned). No order is made, no op written, no idempotency key needed. Refusals are the checkout's own codes. The quote reckons with what the member holds at this store: where the sale, short here, would ask the other stores for the rest, the quote answers `insufficient_balance` or `insufficient_points` with `available_here`. 与结账相同的请求体，返回将会成交的金额明细，不写入任何数据。"#,
    request_body(
        content = crate::dto::CheckoutReq,
        examples(
            ("member pays from balance" = (value = json!({"member_id": "m-store-1-1", "lines": [{"sku": "latte", "qty": "2"}], "tenders": [{"kind": "balance"}]}))),
            ("walk-in, cash with change" = (value = json!({"lines": [{"description": "咖啡", "unit_price": "28.00"}], "tenders": [{"kind": "cash", "amount": "50"}]})))
        )
    ),
    // The refusal codes this handler answers (statuses and meanings:
    // `openapi::CODES`).
    extensions(("x-codes" = json!([
        "invalid_json", "unauthorized", "hq_sells_nothing", "member_not_found",
        "unknown_product", "product_inactive", "insufficient_balance", "insufficient_points",
        "payload_too_large", "too_many_coupons", "invalid_coupon_code", "coupon_without_member",
        "coupon_repeated", "coupon_not_found", "coupon_used", "coupon_unavailable_here",
        "coupon_expired", "coupon_not_yet_valid", "coupon_not_applicable",
        "coupon_below_minimum", "coupon_not_combinable", "card_needs_member",
        "invalid_card_qty",
        "points_deduction_not_enabled",
        "invalid_qty", "invalid_line", "invalid_amount", "invalid_tender",
        "invalid_lines", "invalid_description", "invalid_tenders", "tender_mismatch",
        "balance_needs_member", "order_too_large", "invalid_points",
        "points_need_member", "points_below_minimum", "points_over_cap", "internal",
        "overloaded", "storage_unavailable", "invalid_stock_qty",
    ]))),
    responses(
        (status = 200, description = r#"What the sale would be."#, body = crate::render::QuoteView, content_type = "application/json")
    )
)]
pub(crate) async fn quote(State(s): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    let _permit = admit(&s)?;
    selling(&s)?;
    let sale = sale_request(&body)?;
    let order = s
        .engine()
        .quote_checkout(sale.member, sale.lines, sale.tenders, sale.deduct)?;
    Ok(json_answer(StatusCode::OK, &render::quote(&order)))
}

/// A checkout's body, parsed and checked as far as the API checks it.
struct SaleRequest {
    member: Option<tongka_core::ids::MemberId>,
    lines: Vec<LineRequest>,
    tenders: Vec<TenderInput>,
    /// Points and coupons.
    deduct: Deduct,
}

fn sale_request(body: &[u8]) -> Result<SaleRequest, ApiError> {
    let req: CheckoutReq = parse_json(body)?;
    let coupons = coupon_codes(&req.coupon_codes, req.member_id.is_some())?;
    let points = match &req.points {
        None => 0,
        Some(p) => points_req(p)?,
    };
    let member = req.member_id.as_deref().map(member_id).transpose()?;
    let mut lines = Vec::with_capacity(req.lines.len());
    for (i, l) in req.lines.into_iter().enumerate() {
        let qty = match &l.qty {
            Some(q) => q.qty_at(|| format!("lines[{i}].qty"))?,
            None => rust_decimal::Decimal::ONE,
        };
        lines.push(match (l.sku, l.barcode, l.description, l.unit_price) {
            (Some(sku), None, None, None) => LineRequest::Sku { sku, qty },
            (None, Some(barcode), None, None) => LineRequest::Barcode { barcode, qty },
            (None, None, Some(description), Some(price)) => LineRequest::Free {
                description,
                unit_price: price.money_at(|| format!("lines[{i}].unit_price"), false)?,
                qty,
            },
            _ => {
                let field = format!("lines[{i}]");
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_line",
                    format!("{field}: give sku, or barcode, or description with unit_price"),
                    format!("{field}：请提供 sku、barcode，或 description 加 unit_price"),
                )
                .with("field", field));
            }
        });
    }
    let mut tenders = Vec::with_capacity(req.tenders.len());
    for (i, t) in req.tenders.iter().enumerate() {
        let kind = tender_kind(&t.kind, || format!("tenders[{i}].kind"))?;
        let amount = t
            .amount
            .as_ref()
            .map(|a| a.money_at(|| format!("tenders[{i}].amount"), true))
            .transpose()?;
        tenders.push(TenderInput { kind, amount });
    }
    Ok(SaleRequest {
        member,
        lines,
        tenders,
        deduct: Deduct { points, coupons },
    })
}

/// `coupon_codes` of a checkout: at most `COUPONS_PER_ORDER_MAX` (counted
/// first, so a long list costs nothing more), each a coupon code, for a
/// member. A refused code is named by its place, never echoed: it may be
/// anything a client sent (10 KB, control characters). Whether the member
/// holds each, and whether they combine, the engine and the core decide.
fn coupon_codes(codes: &[String], member: bool) -> Result<Vec<CouponId>, ApiError> {
    let refusal = |e: CouponError| {
        ApiError::from(tongka_actors::EngineError::from(
            tongka_core::checkout::CheckoutError::from(e),
        ))
    };
    if codes.len() > COUPONS_PER_ORDER_MAX {
        return Err(refusal(CouponError::TooMany).with("field", "coupon_codes"));
    }
    let ids = codes
        .iter()
        .enumerate()
        .map(|(i, c)| {
            CouponId::parse(c).ok_or_else(|| {
                let field = format!("coupon_codes[{i}]");
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_coupon_code",
                    format!("{field}: not a coupon code (c-<store>-<n>, as printed on the coupon)"),
                    format!("{field}：不是有效的券码（形如 c-<门店>-<编号>）"),
                )
                .with("field", field)
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if !ids.is_empty() && !member {
        return Err(refusal(CouponError::WithoutMember));
    }
    Ok(ids)
}
/// `points` of a checkout: a whole number of points, 0 or more (as a JSON
/// number or string); 0 = none.
pub(crate) fn points_req(p: &DecimalText) -> Result<i64, ApiError> {
    use rust_decimal::prelude::ToPrimitive;
    tongka_core::money::parse_decimal_text(&p.0, 0)
        .ok()
        .filter(|d| !d.is_sign_negative() || d.is_zero())
        .and_then(|d| d.to_i64())
        .ok_or_else(|| {
            ApiError::from(tongka_actors::EngineError::from(
                tongka_core::checkout::CheckoutError::InvalidPoints,
            ))
            .with("field", "points")
        })
}
