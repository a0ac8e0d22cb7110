//! `POST /members/{id}/recharges`: stored value bought at a store.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method};
use axum::response::Response;

use crate::dto::*;
use crate::*;

pub(crate) async fn recharge(
    State(s): State<AppState>,
    Path(id): Path<String>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let _permit = admit(&s)?;
    selling(&s)?;
    let idem = match start_idempotent(
        &s,
        &headers,
        &method,
        &format!("/members/{id}/recharges"),
        &body,
        true,
    )? {
        Start::Replay(first) => return Ok(first),
        Start::Fresh(idem) => idem,
    };
    let id = member_id(&id)?;
    let req: RechargeReq = parse_json(&body)?;
    let amount = req.amount.money("amount", true)?;
    let tender = tender_kind(&req.tender, "tender")?;
    let out = s
        .engine()
        .recharge(actor(), idem, id, amount, tender)
        .await?;
    Ok(created(&s, &out))
}
