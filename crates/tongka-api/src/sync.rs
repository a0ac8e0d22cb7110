//! `GET /sync/status`: this node's version vector, state hash and peers.

use axum::Json;
use axum::extract::State;
use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use crate::render::Text;
use crate::*;

/// What `GET /sync/status` answers.
#[derive(Serialize, ToSchema)]
#[schema(as = SyncStatus)]
pub(crate) struct SyncView {
    #[schema(value_type = crate::openapi::NodeName)]
    node: String,
    /// Empty on a node without peers.
    peers: Vec<PeerView>,
    /// For each origin node, how many of its ops this node holds.
    version_vector: BTreeMap<String, u64>,
    #[schema(pattern = "^[0-9a-f]{64}$")]
    state_hash: String,
    /// Total ops held.
    ops: u64,
}

/// A replication peer as `GET /sync/status` shows it.
#[derive(Serialize, ToSchema)]
#[schema(as = Peer)]
pub(crate) struct PeerView {
    #[schema(value_type = crate::openapi::NodeName)]
    node: String,
    connected: bool,
    lag_ops: u64,
    /// Ops this peer sent that failed verification (origin signature, certificate, origin's role) since this node started: refused, logged, never applied; the connection was closed each time.
    refused_ops: u64,
    /// While not connected: when the connection to it was lost (RFC 3339,
    /// UTC, milliseconds; this node's clock). Absent while connected, and
    /// for a peer not connected to since this node started.
    #[schema(value_type = Option<String>, format = DateTime)]
    #[serde(skip_serializing_if = "Option::is_none")]
    disconnected_since: Option<Text<humantime::Rfc3339Timestamp>>,
}

/// `ms` since the Unix epoch as RFC 3339, UTC, milliseconds.
pub(crate) fn rfc3339_ms(ms: u64) -> Text<humantime::Rfc3339Timestamp> {
    Text(humantime::format_rfc3339_millis(
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms),
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/sync/status",
    operation_id = "syncStatus",
    tag = "node",
    summary = r#"Replication status / 同步状态"#,
    description = r#"`state_hash` is a hash of the replicated state only: two nodes holding the same ops report the same hash."#,
    // The refusal codes this handler answers (statuses and meanings:
    // `openapi::CODES`).
    extensions(("x-codes" = json!([
        "unauthorized",
    ]))),
    responses(
        (status = 200, description = r#"The status."#, body = crate::sync::SyncView, content_type = "application/json")
    )
)]
pub(crate) async fn sync_status(State(s): State<AppState>) -> Json<SyncView> {
    let e = s.engine();
    let sum = e.db().summary();
    Json(SyncView {
        node: e.node().to_string(),
        peers: s
            .inner
            .peers
            .as_ref()
            .map(|f| f())
            .unwrap_or_default()
            .into_iter()
            .map(|p| PeerView {
                disconnected_since: p.disconnected_since.map(rfc3339_ms),
                node: p.node,
                connected: p.connected,
                lag_ops: p.lag_ops,
                refused_ops: p.refused_ops,
            })
            .collect(),
        version_vector: sum.vv.iter().map(|(n, q)| (n.to_string(), q)).collect(),
        state_hash: sum.digest.to_hex().to_string(),
        ops: sum.vv.total(),
    })
}
