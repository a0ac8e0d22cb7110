//! `GET /ledger/summary`: the node's totals of money and points.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;
use tongka_core::money::Money;

use crate::*;

/// The node's totals, as `GET /ledger/summary` shows them.
#[derive(Serialize)]
struct LedgerView {
    members: u64,
    recharged_principal: Money,
    recharged_bonus: Money,
    spent_principal: Money,
    spent_bonus: Money,
    refunded_principal: Money,
    refunded_bonus: Money,
    outstanding_principal: Money,
    outstanding_bonus: Money,
    recharges: u64,
    orders: u64,
    sales: Money,
    refunds: u64,
    refunded: Money,
    points_issued: i64,
    points_reversed: i64,
    points_redeemed: i64,
    points_returned: i64,
    points_outstanding: i64,
}

pub(crate) async fn ledger_summary(State(s): State<AppState>) -> Response {
    let t = s.engine().store().summary().totals;
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
        },
    )
}
