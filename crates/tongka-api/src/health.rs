//! `GET /health` and `GET /openapi.json`: the open endpoints, no token.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde_json::{Value, json};

use crate::*;

pub(crate) async fn health(State(s): State<AppState>) -> Json<Value> {
    Json(
        json!({"node": s.engine().node(), "role": s.inner.role, "version": env!("CARGO_PKG_VERSION")}),
    )
}

pub(crate) async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}
