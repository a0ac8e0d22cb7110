//! API errors: an HTTP status, a machine code, and messages in English and
//! Chinese, rendered as `{"error": {"code", "message", "message_zh", ...}}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use tongka_actors::EngineError;
use tongka_core::error::DomainError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub message_zh: String,
    pub details: Vec<(&'static str, String)>,
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<String>,
        message_zh: impl Into<String>,
    ) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            message_zh: message_zh.into(),
            details: Vec::new(),
        }
    }

    pub fn with(mut self, name: &'static str, value: impl ToString) -> ApiError {
        self.details.push((name, value.to_string()));
        self
    }

    pub fn bad_json(reason: impl std::fmt::Display) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("request body is not valid: {reason}"),
            format!("请求体无效：{reason}"),
        )
    }

    pub fn unauthorized() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing or wrong bearer token (Authorization: Bearer <token>)",
            "缺少或错误的访问令牌（Authorization: Bearer <令牌>）",
        )
    }

    pub fn not_found_route() -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such endpoint",
            "接口不存在",
        )
    }

    pub fn invalid_amount(
        field: &str,
        reason: impl std::fmt::Display,
        reason_zh: &str,
    ) -> ApiError {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_amount",
            format!("{field}: {reason}"),
            format!("{field}：金额无效（{reason_zh}）"),
        )
        .with("field", field)
    }
}

/// The status for each engine refusal code.
fn status_for(code: &str) -> StatusCode {
    match code {
        "member_not_found" | "order_not_found" | "unknown_product" => StatusCode::NOT_FOUND,
        "phone_taken"
        | "card_taken"
        | "barcode_taken"
        | "idempotency_key_reused"
        | "idempotency_key_in_progress"
        | "insufficient_balance"
        | "insufficient_points"
        | "already_refunded"
        | "refund_wrong_store"
        | "member_merged" => StatusCode::CONFLICT,
        "overloaded" | "storage_unavailable" => StatusCode::SERVICE_UNAVAILABLE,
        "internal" => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> ApiError {
        let code = e.code();
        if code == "internal" || code == "storage_unavailable" {
            tracing::error!(error = %e, "request failed");
        }
        ApiError {
            status: status_for(code),
            code,
            message: e.to_string(),
            message_zh: e.message_zh(),
            details: e.details(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = Map::new();
        body.insert("code".into(), json!(self.code));
        body.insert("message".into(), json!(self.message));
        body.insert("message_zh".into(), json!(self.message_zh));
        for (k, v) in self.details {
            body.insert(k.into(), Value::String(v));
        }
        let mut resp = (self.status, axum::Json(json!({ "error": body }))).into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            resp.headers_mut()
                .insert("retry-after", axum::http::HeaderValue::from_static("1"));
        }
        resp
    }
}
