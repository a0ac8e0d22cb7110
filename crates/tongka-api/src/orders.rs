//! Orders: get, the printed receipt, and refunds.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, header};
use axum::response::{IntoResponse, Response};

use crate::dto::*;
use crate::*;
use tongka_core::ids::OrderId;
use tongka_core::refund::RefundLine;
use tongka_core::staff::RefundAuth;

#[utoipa::path(
    get,
    path = "/api/v1/orders/{id}",
    operation_id = "getOrder",
    tag = "orders",
    summary = r#"An order / 订单详情"#,
    params(
        ("id" = crate::openapi::OrderId, Path, description = r#"Order id, `o-<node>-<n>`. An id of another shape is answered `404 order_not_found`."#, example = "o-store-1-3")
    ),
    // The refusal codes this handler answers (statuses and meanings:
    // `openapi::CODES`).
    extensions(("x-codes" = json!([
        "unauthorized", "order_not_found", "internal", "storage_unavailable",
        "invalid_request",
    ]))),
    responses(
        (status = 200, description = r#"The order, with what was refunded of it."#, body = crate::render::OrderView, content_type = "application/json")
    )
)]
pub(crate) async fn get_order(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let o = s.engine().order(&order_id(&id)?)?;
    Ok(json_answer(StatusCode::OK, &render::order(&o)))
}

#[utoipa::path(
    get,
    path = "/api/v1/orders/{id}/receipt",
    operation_id = "getReceipt",
    tag = "orders",
    summary = r#"A receipt for a thermal printer / 小票"#,
    description = r#"Plain text for a 58 mm printer (32 columns; CJK characters take two)."#,
    params(
        ("id" = crate::openapi::OrderId, Path, description = r#"Order id, `o-<node>-<n>`. An id of another shape is answered `404 order_not_found`."#, example = "o-store-1-3")
    ),
    // The refusal codes this handler answers (statuses and meanings:
    // `openapi::CODES`).
    extensions(("x-codes" = json!([
        "unauthorized", "order_not_found", "internal", "storage_unavailable",
        "invalid_request",
    ]))),
    responses(
        (status = 200, description = r#"The receipt."#, body = String, content_type = "text/plain")
    )
)]
pub(crate) async fn get_receipt(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let e = s.engine();
    let o = e.order(&order_id(&id)?)?;
    Ok((
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        render::receipt(&o, e.node().as_str()),
    )
        .into_response())
}

#[utoipa::path(
    post,
    path = "/api/v1/orders/{id}/refunds",
    operation_id = "refund",
    tag = "orders",
    summary = r#"Refund an order, fully or partly / 退款退货"#,
    description = r#"Refunds the given lines and quantities (lines numbered from 0), or, without `lines` (or without a body at all), everything not yet refunded. Only at the store that made the sale."#,
    params(
        ("id" = crate::openapi::OrderId, Path, description = r#"Order id, `o-<node>-<n>`. An id of another shape is answered `404 order_not_found`."#, example = "o-store-1-3")
    ),
    request_body(
        content = crate::dto::RefundReq,
        examples(
            ("everything" = (value = json!({"reason": "不想要了"}))),
            ("one of line 0" = (value = json!({"lines": [{"line": 0, "qty": "1"}], "reason": "退一杯"})))
        )
    ),
    // The refusal codes this handler answers (statuses and meanings:
    // `openapi::CODES`).
    extensions(("x-codes" = json!([
        "idempotency_key_required", "invalid_idempotency_key", "invalid_json",
        "unauthorized", "order_not_found", "idempotency_key_reused",
        "idempotency_key_in_progress", "already_refunded", "refund_wrong_store",
        "invalid_qty", "invalid_refund_line", "refund_exceeds_paid", "invalid_reason",
        "card_not_found", "card_refunded", "card_held_elsewhere",
        "session_expired", "account_disabled", "not_at_this_store", "forbidden_for_role",
        "approval_required", "approval_invalid", "login_locked",
        "internal", "overloaded", "storage_unavailable", "payload_too_large",
    ]))),
    responses(
        (status = 201, description = r#"The refund (or the first answer, replayed)."#, body = crate::render::RefundView, content_type = "application/json")
    )
)]
pub(crate) async fn refund(
    State(s): State<AppState>,
    axum::Extension(who): axum::Extension<Principal>,
    Path(id): Path<String>,
    method: Method,
    headers: HeaderMap,
    ext: axum::http::Extensions,
    body: Bytes,
) -> Result<Response, ApiError> {
    let _permit = admit(&s)?;
    let idem = idem(
        &headers,
        &method,
        &format!("/orders/{id}/refunds"),
        &body,
        true,
    )?;
    let (order, lines, reason, approval) = match refund_request(&id, &body) {
        Ok(p) => p,
        Err(e) => return refused(&s, idem.as_ref(), StatusCode::CREATED, e),
    };
    let approved_by = match approval {
        None => None,
        Some(a) => Some(approver(&s, &who, a, &crate::auth::address(&ext)).await?),
    };
    let auth = RefundAuth {
        role: who.role(),
        approved_by,
    };
    let out = s
        .engine()
        .refund_as(actor(&who), idem, order, lines, reason, auth)
        .await?;
    Ok(created(&s, &out))
}

fn approval_invalid() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "approval_invalid",
        "the approval is refused: a store manager of this store (not the cashier) signs in with their own login and password",
        "授权无效：须由本店店长（非收银员本人）输入自己的账号和密码",
    )
}

/// The staff id of the store manager approving a refund at the till:
/// their password checked, their role and store, and not the one asking.
/// Failed approvals count as failed sign-ins of that login.
async fn approver(
    s: &AppState,
    who: &Principal,
    a: ApprovalReq,
    address: &str,
) -> Result<String, ApiError> {
    let login: String = a.login.trim().to_lowercase().chars().take(64).collect();
    let sessions = s.sessions();
    if let Some(wait) = sessions.locked(&login, address) {
        return Err(crate::sessions::login_locked(wait));
    }
    let book = s.engine().staff();
    let account = book.by_login(&login);
    let ok = crate::password::verify(account.map(|x| x.password.clone()), a.password).await;
    let Some(account) = account.filter(|_| ok) else {
        sessions.failed(&login, address);
        return Err(approval_invalid());
    };
    sessions.succeeded(&login);
    let may = !account.disabled
        && account.works_at(s.engine().node())
        && tongka_core::staff::allows(account.role, tongka_core::staff::Action::RefundAboveLimit)
        && who.account().is_none_or(|me| me.id != account.id);
    if !may {
        return Err(approval_invalid());
    }
    Ok(account.id.to_string())
}

/// A refund's order, lines (none = everything left), reason and approval.
type RefundRequest = (
    OrderId,
    Option<Vec<RefundLine>>,
    String,
    Option<ApprovalReq>,
);

fn refund_request(id: &str, body: &[u8]) -> Result<RefundRequest, ApiError> {
    let order = order_id(id)?;
    let req: RefundReq = if body.is_empty() {
        RefundReq {
            lines: None,
            reason: String::new(),
            approval: None,
        }
    } else {
        parse_json(body)?
    };
    let lines = match req.lines {
        None => None,
        Some(ls) => Some(
            ls.iter()
                .enumerate()
                .map(|(i, l)| {
                    Ok(RefundLine {
                        line: l.line,
                        qty: l.qty.qty(&format!("lines[{i}].qty"))?,
                    })
                })
                .collect::<Result<Vec<_>, ApiError>>()?,
        ),
    };
    Ok((order, lines, req.reason, req.approval))
}
