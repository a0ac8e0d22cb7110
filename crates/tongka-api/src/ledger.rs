//! `GET /ledger/summary`: the node's totals of money and points.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::*;

pub(crate) async fn ledger_summary(State(s): State<AppState>) -> Json<Value> {
    let t = s.engine().store().summary().totals;
    let (op, ob) = t.outstanding();
    Json(json!({
        "members": t.members,
        "recharged_principal": t.recharged_principal,
        "recharged_bonus": t.recharged_bonus,
        "spent_principal": t.spent_principal,
        "spent_bonus": t.spent_bonus,
        "refunded_principal": t.refunded_principal,
        "refunded_bonus": t.refunded_bonus,
        "outstanding_principal": op,
        "outstanding_bonus": ob,
        "recharges": t.recharges,
        "orders": t.orders,
        "sales": t.sales,
        "refunds": t.refunds,
        "refunded": t.refunded,
        "points_issued": t.points_issued,
        "points_reversed": t.points_reversed,
        "points_redeemed": t.points_redeemed,
        "points_returned": t.points_returned,
        "points_outstanding": t.points_outstanding(),
    }))
}
