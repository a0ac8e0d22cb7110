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
    let idem = idem(
        &headers,
        &method,
        &format!("/members/{id}/recharges"),
        &body,
        true,
    )?;
    let parsed = (|| {
        let id = member_id(&id)?;
        let req: RechargeReq = parse_json(&body)?;
        let amount = req.amount.money("amount", true)?;
        Ok((id, amount, tender_kind(&req.tender, || "tender".into())?))
    })();
    let (id, amount, tender) = match parsed {
        Ok(p) => p,
        Err(e) => return refused(&s, idem.as_ref(), StatusCode::CREATED, e),
    };
    let out = s
        .engine()
        .recharge(actor(), idem, id, amount, tender)
        .await?;
    Ok(created(&s, &out))
}
