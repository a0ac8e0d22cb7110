//! `GET /ledger/summary`: the node's totals of money and points.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;
use tongka_core::money::Money;
use utoipa::ToSchema;

use crate::*;

/// The node's totals, as `GET /ledger/summary` shows them.
#[derive(Serialize, ToSchema)]
#[schema(as = LedgerSummary)]
struct LedgerView {
    #[schema(minimum = 0)]
    members: u64,
    #[schema(value_type = crate::openapi::Money)]
    recharged_principal: Money,
    #[schema(value_type = crate::openapi::Money)]
    recharged_bonus: Money,
    #[schema(value_type = crate::openapi::Money)]
    spent_principal: Money,
    #[schema(value_type = crate::openapi::Money)]
    spent_bonus: Money,
    #[schema(value_type = crate::openapi::Money)]
    refunded_principal: Money,
    #[schema(value_type = crate::openapi::Money)]
    refunded_bonus: Money,
    #[schema(value_type = crate::openapi::Money)]
    outstanding_principal: Money,
    #[schema(value_type = crate::openapi::Money)]
    outstanding_bonus: Money,
    #[schema(minimum = 0)]
    recharges: u64,
    #[schema(minimum = 0)]
    orders: u64,
    /// Σ payable of orders.
    #[schema(value_type = crate::openapi::Money)]
    sales: Money,
    #[schema(minimum = 0)]
    refunds: u64,
    #[schema(value_type = crate::openapi::Money)]
    refunded: Money,
    points_issued: i64,
    points_reversed: i64,
    /// Points paid with at checkout.
    points_redeemed: i64,
    /// Points paid with, given back by refunds.
    points_returned: i64,
    /// points_issued − points_reversed − points_redeemed + points_returned
    /// + imported_points.
    points_outstanding: i64,
    /// Members imported from another system with opening balances
    /// (`POST /members/import`; counted in `members` too), and what they
    /// brought: owed to members (in `outstanding_*`) but not recharged (no
    /// money paid in now).
    #[schema(minimum = 0)]
    imports: u64,
    #[schema(value_type = crate::openapi::Money)]
    imported_principal: Money,
    #[schema(value_type = crate::openapi::Money)]
    imported_bonus: Money,
    imported_points: i64,
    coupons: CouponTotalsView,
    cards: CardTotalsView,
}

/// Count and period cards sold to members, their visits and refunds.
#[derive(Serialize, ToSchema)]
#[schema(as = CardTotals)]
struct CardTotalsView {
    /// Cards sold (one per unit of a card product's line).
    #[schema(minimum = 0)]
    sold: u64,
    /// Visits verified on them (核销), count and period cards.
    visits: i64,
    /// Cards taken back by refunds.
    #[schema(minimum = 0)]
    refunded: u64,
    /// What refunds kept of the cards they took back (their used part).
    #[schema(value_type = crate::openapi::Money)]
    kept: Money,
}

/// Coupons issued to members and their uses.
#[derive(Serialize, ToSchema)]
#[schema(as = CouponTotals)]
struct CouponTotalsView {
    /// Coupons issued.
    #[schema(minimum = 0)]
    issued: u64,
    /// Uses they were issued with.
    uses_issued: i64,
    /// Uses used by sales.
    uses: i64,
    /// Uses given back by refunds.
    uses_returned: i64,
    /// uses_issued − uses + uses_returned: uses left, expired coupons' included.
    uses_outstanding: i64,
    /// What coupons took off sales (refunds do not change it).
    #[schema(value_type = crate::openapi::Money)]
    off: Money,
}

#[utoipa::path(
    get,
    path = "/api/v1/ledger/summary",
    operation_id = "ledgerSummary",
    tag = "node",
    summary = r#"Chain-wide ledger totals as this node knows them / 账本汇总"#,
    description = r#"outstanding = recharged − spent + refunded, for principal and bonus separately."#,
    // The refusal codes this handler answers (statuses and meanings:
    // `openapi::CODES`).
    extensions(("x-codes" = json!([
        "unauthorized",
    ]))),
    responses(
        (status = 200, description = r#"The totals."#, body = crate::ledger::LedgerView, content_type = "application/json")
    )
)]
pub(crate) async fn ledger_summary(State(s): State<AppState>) -> Response {
    let t = s.engine().db().summary().totals;
    let (outstanding_principal, outstanding_bonus) = t.outstanding();
    json_answer(
        StatusCode::OK,
        &LedgerView {
            members: t.members,
            recharged_principal: t.recharged_principal,
            recharged_bonus: t.recharged_bonus,
            spent_principal: t.spent_principal,
            spent_bonus: t.spent_bonus,
            refunded_principal: t.refunded_principal,
            refunded_bonus: t.refunded_bonus,
            recharges: t.recharges,
            orders: t.orders,
            sales: t.sales,
            refunds: t.refunds,
            refunded: t.refunded,
            points_issued: t.points_issued,
            points_reversed: t.points_reversed,
            points_redeemed: t.points_redeemed,
            points_returned: t.points_returned,
            outstanding_principal,
            outstanding_bonus,
            points_outstanding: t.points_outstanding(),
            imports: t.imports,
            imported_principal: t.imported_principal,
            imported_bonus: t.imported_bonus,
            imported_points: t.imported_points,
            coupons: CouponTotalsView {
                issued: t.coupons_issued,
                uses_issued: t.coupon_uses_issued,
                uses: t.coupon_uses,
                uses_returned: t.coupon_uses_returned,
                uses_outstanding: t.coupon_uses_outstanding(),
                off: t.coupon_off,
            },
            cards: CardTotalsView {
                sold: t.cards_sold,
                visits: t.card_visits,
                refunded: t.cards_refunded,
                kept: t.card_kept,
            },
        },
    )
}
