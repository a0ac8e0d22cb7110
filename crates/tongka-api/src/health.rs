//! `GET /health` and `GET /openapi.json`: the open endpoints, no token.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tongka_core::ids::NodeId;
use utoipa::ToSchema;

use crate::*;

/// What `GET /health` answers.
#[derive(Serialize, ToSchema)]
#[schema(as = Health)]
pub(crate) struct HealthView<'a> {
    #[schema(value_type = crate::openapi::NodeName)]
    node: &'a NodeId,
    /// `store` or `hq`.
    #[schema(value_type = String, examples("store", "hq"))]
    role: &'a str,
    #[schema(value_type = String, examples("0.1.0"))]
    version: &'static str,
}

#[utoipa::path(
    get,
    path = "/api/v1/health",
    operation_id = "health",
    tag = "node",
    summary = r#"Is the node up / 节点状态"#,
    description = r#"Open (no token). The node's name, role and software version."#,
    extensions(("x-codes" = json!(["storage_unavailable"]))),
    responses(
        (status = 200, description = r#"The node answers."#, body = crate::health::HealthView, content_type = "application/json")
    )
)]
pub(crate) async fn health(State(s): State<AppState>) -> Response {
    // A node whose writer has failed answers reads but refuses every
    // write: not healthy, whatever else answers.
    if let Some(e) = s.engine().db().failed() {
        return ApiError::from(tongka_actors::EngineError::from(e)).into_response();
    }
    Json(HealthView {
        node: s.engine().node(),
        role: &s.inner.role,
        version: env!("CARGO_PKG_VERSION"),
    })
    .into_response()
}

#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    operation_id = "openapi",
    tag = "node",
    summary = r#"This document / 本接口文档"#,
    description = r#"Open (no token). The OpenAPI 3.1 document of this API."#,
    responses(
        (status = 200, description = r#"This OpenAPI document."#, body = Object, content_type = "application/json")
    )
)]
pub(crate) async fn openapi() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        crate::openapi::json(),
    )
}
