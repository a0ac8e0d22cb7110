//! Orders: get, the printed receipt, and refunds.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, header};
use axum::response::{IntoResponse, Response};

use crate::dto::*;
use crate::*;
use tongka_core::ids::OrderId;
use tongka_core::refund::RefundLine;

pub(crate) async fn get_order(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let o = s.engine().order(&order_id(&id)?)?;
    Ok(json_answer(StatusCode::OK, &render::order(&o)))
}

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

pub(crate) async fn refund(
    State(s): State<AppState>,
    Path(id): Path<String>,
    method: Method,
    headers: HeaderMap,
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
    let (order, lines, reason) = match refund_request(&id, &body) {
        Ok(p) => p,
        Err(e) => return refused(&s, idem.as_ref(), StatusCode::CREATED, e),
    };
    let out = s
        .engine()
        .refund(actor(), idem, order, lines, reason)
        .await?;
    Ok(created(&s, &out))
}

/// A refund's order, lines (none = everything left) and reason.
type RefundRequest = (OrderId, Option<Vec<RefundLine>>, String);

fn refund_request(id: &str, body: &[u8]) -> Result<RefundRequest, ApiError> {
    let order = order_id(id)?;
    let req: RefundReq = if body.is_empty() {
        RefundReq {
            lines: None,
            reason: String::new(),
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
    Ok((order, lines, req.reason))
}
