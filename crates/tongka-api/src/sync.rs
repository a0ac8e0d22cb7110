//! `GET /sync/status`: this node's version vector, state hash and peers.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::*;

pub(crate) async fn sync_status(State(s): State<AppState>) -> Json<Value> {
    let e = s.engine();
    let sum = e.store().summary();
    let vv: serde_json::Map<String, Value> = sum
        .vv
        .iter()
        .map(|(n, q)| (n.to_string(), json!(q)))
        .collect();
    Json(json!({
        "node": e.node(),
        "peers": s.inner.peers.as_ref().map(|f| f()).unwrap_or_default().into_iter()
            .map(|(node, connected, lag, refused)| json!({"node": node, "connected": connected, "lag_ops": lag, "refused_ops": refused}))
            .collect::<Vec<_>>(),
        "version_vector": vv,
        "state_hash": sum.digest.to_hex(),
        "ops": sum.vv.total(),
    }))
}
