//! `POST /members/{id}/recharges`: stored value bought at a store.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method};
use axum::response::Response;

use crate::dto::*;
use crate::*;

#[utoipa::path(
    post,
    path = "/api/v1/members/{id}/recharges",
    operation_id = "recharge",
    tag = "wallets",
    summary = r#"Recharge a member's stored value / 会员充值"#,
    description = r#"Credits `amount` principal plus the programme's bonus (the highest recharge offer whose threshold the amount reaches) to this store's share of the member's wallet. A recharge cannot be paid from the balance."#,
    params(
        ("id" = crate::openapi::MemberId, Path, description = r#"Member id, `m-<node>-<n>`. An id of another shape is answered `404 member_not_found`."#, example = "m-store-1-1")
    ),
    request_body(
        content = crate::dto::RechargeReq,
        examples(
            ("1000 cash" = (value = json!({"amount": "1000.00", "tender": "cash"})))
        )
    ),
    // The refusal codes this handler answers (statuses and meanings:
    // `openapi::CODES`).
    extensions(("x-codes" = json!([
        "idempotency_key_required", "invalid_idempotency_key", "invalid_json",
        "unauthorized", "member_not_found", "idempotency_key_reused",
        "idempotency_key_in_progress", "invalid_amount", "invalid_tender", "internal",
        "overloaded", "storage_unavailable", "payload_too_large", "hq_sells_nothing",
    ]))),
    responses(
        (status = 201, description = r#"Recharged (or the first answer, replayed)."#, body = crate::render::RechargeView, content_type = "application/json")
    )
)]
pub(crate) async fn recharge(
    State(s): State<AppState>,
    axum::Extension(who): axum::Extension<Principal>,
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
        .recharge(actor(&who), idem, id, amount, tender)
        .await?;
    Ok(created(&s, &out))
}
