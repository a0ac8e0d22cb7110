//! tongka-api: HTTP API v1 and the web console; the only crate that knows
//! HTTP. Handlers parse and check input, call the `Engine`, and render.
//! Nothing here decides about money: a refusal comes from the core.
//!
//! Architecture Invariant: bad input is refused here or in the core with a
//! 4xx and a machine code, before anything is written.

mod audit;
mod auth;
mod cards;
mod categories;
mod checkouts;
mod closes;
mod consistency;
mod console;
mod coupon_templates;
mod coupons;
mod dashboard;
mod dto;
mod error;
// Reports as CSV and .xlsx files (`?format=`).
mod export;
mod health;
mod imports;
mod ledger;
mod member_codes;
mod member_import;
mod members;
mod metrics;
pub mod openapi;
mod ops_export;
mod orders;
mod password;
pub mod permissions;
mod products;
mod programme;
mod recharges;
mod render;
mod reports;
mod serve;
mod sessions;
mod settlement;
mod staff;
mod stock;
mod stock_import;
mod stock_read;
mod sync;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use tongka_actors::{Admitted, Engine, Idem, Outcome};
use tongka_core::authority::{Act, may};
use tongka_core::ids::{MemberId, OrderId};
use tongka_core::op::KEY_LEN_MAX;

pub use crate::auth::{Principal, Sessions};
pub use crate::error::ApiError;
pub use crate::member_codes::MemberCodes;
pub use crate::ops_export::{
    EXPORT_LIMIT_DEFAULT, EXPORT_LIMIT_MAX, exports_running, parse_vv, render_vv,
};
pub use crate::serve::{CAP_WARN_EVERY, HEAD_BYTES_MAX, ServeOptions, serve, serve_tls};

/// The largest request body accepted.
pub const BODY_BYTES_MAX: usize = 256 * 1024;
/// The most entries a list answer holds.
pub const LIST_MAX: usize = 200;
/// How long a staff session lasts from sign-in by default: a long shift.
pub const DEFAULT_SESSION_TTL: std::time::Duration = std::time::Duration::from_secs(12 * 3600);

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    token: String,
    /// Staff sessions and sign-in failures (`auth`).
    sessions: Arc<Sessions>,
    role: String,
    console: bool,
    peers: Option<PeerStatusFn>,
    /// The member-code key and window; `None`: the member-code endpoints
    /// answer `member_code_unavailable` (a node always sets them).
    member_codes: Option<MemberCodes>,
}

/// Reports the peers, each as [`PeerState`].
pub type PeerStatusFn = Arc<dyn Fn() -> Vec<PeerState> + Send + Sync>;

/// One replication peer as the replication layer reports it
/// (`/sync/status`, `/dashboard`, `/metrics`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeerState {
    pub node: String,
    pub connected: bool,
    /// Ops this node holds that the peer is not known to hold.
    pub lag_ops: u64,
    /// Ops the peer sent that failed verification, since start.
    pub refused_ops: u64,
    /// While not connected: when its connection went down (ms since the
    /// Unix epoch). `None` while connected, or never connected since start.
    pub disconnected_since: Option<u64>,
    /// What its chain certificate says it is, when this node knows it:
    /// `/dashboard` shows HQ's link apart from the stores (HQ sells
    /// nothing: no sales row, no place in the ranking). `None`: not known
    /// yet, taken for a store.
    pub role: Option<tongka_core::op::OriginRole>,
}

impl AppState {
    pub fn new(engine: Engine, token: String, role: &str, console: bool) -> AppState {
        AppState {
            inner: Arc::new(Inner {
                engine,
                token,
                sessions: Arc::new(Sessions::new(DEFAULT_SESSION_TTL)),
                role: role.to_string(),
                console,
                peers: None,
                member_codes: None,
            }),
        }
    }

    /// Staff sessions last `ttl` from sign-in (default
    /// [`DEFAULT_SESSION_TTL`]).
    pub fn with_session_ttl(self, ttl: std::time::Duration) -> AppState {
        let i = &self.inner;
        AppState {
            inner: Arc::new(Inner {
                engine: i.engine.clone(),
                token: i.token.clone(),
                sessions: Arc::new(Sessions::new(ttl)),
                role: i.role.clone(),
                console: i.console,
                peers: i.peers.clone(),
                member_codes: i.member_codes.clone(),
            }),
        }
    }

    /// Show the replication layer's peers in `/sync/status`.
    pub fn with_peers(self, peers: PeerStatusFn) -> AppState {
        let i = &self.inner;
        AppState {
            inner: Arc::new(Inner {
                engine: i.engine.clone(),
                token: i.token.clone(),
                sessions: i.sessions.clone(),
                role: i.role.clone(),
                console: i.console,
                peers: Some(peers),
                member_codes: i.member_codes.clone(),
            }),
        }
    }

    /// Issue and verify member codes with the chain's key and this window.
    pub fn with_member_codes(self, codes: MemberCodes) -> AppState {
        let i = &self.inner;
        AppState {
            inner: Arc::new(Inner {
                engine: i.engine.clone(),
                token: i.token.clone(),
                sessions: i.sessions.clone(),
                role: i.role.clone(),
                console: i.console,
                peers: i.peers.clone(),
                member_codes: Some(codes),
            }),
        }
    }

    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    pub(crate) fn sessions(&self) -> &Sessions {
        &self.inner.sessions
    }
}

/// The whole HTTP surface of a node.
pub fn router(state: AppState) -> Router {
    let metrics = metrics::Metrics::new(state.clone());
    let api = Router::new()
        .route(
            "/members",
            post(members::register).get(members::find_members),
        )
        .route("/members/duplicates", get(members::get_duplicates))
        // A member import's file is larger than any other body: its own
        // limit (`member_import::FILE_BYTES_MAX`, refused with its figure
        // by the handler; past the margin, by this layer).
        .route(
            "/members/import",
            post(member_import::import_members).layer(DefaultBodyLimit::max(
                tongka_core::member_import::FILE_BYTES_MAX + 1024 * 1024,
            )),
        )
        .route(
            "/members/{id}",
            get(members::get_member).patch(members::patch_member),
        )
        .route("/members/{id}/recharges", post(recharges::recharge))
        .route("/members/{id}/wallet", get(members::get_wallet))
        .route("/members/{id}/history", get(members::get_history))
        .route("/members/{id}/merge", post(members::merge_members))
        .route("/members/{id}/code", get(member_codes::get_code))
        .route(
            "/members/{id}/coupons",
            post(coupons::issue).get(coupons::list),
        )
        .route("/coupon-batches", post(coupons::issue_batch))
        .route("/members/{id}/cards", get(cards::list))
        .route("/members/{id}/cards/{code}/visits", post(cards::visit))
        .route("/member-codes/verify", post(member_codes::verify))
        .route("/checkouts", post(checkouts::checkout))
        .route("/checkouts/quote", post(checkouts::quote))
        .route("/orders/{id}", get(orders::get_order))
        .route("/orders/{id}/refunds", post(orders::refund))
        .route("/orders/{id}/receipt", get(orders::get_receipt))
        .route(
            "/programme",
            get(programme::get_programme).put(programme::put_programme),
        )
        .route("/products", get(products::list_products))
        .route("/products/import", post(products::import_products))
        .route("/categories", get(categories::list_categories))
        .route(
            "/categories/{id}",
            put(categories::put_category).get(categories::get_category),
        )
        .route(
            "/products/{sku}",
            put(products::put_product).get(products::get_product),
        )
        .route("/sync/status", get(sync::sync_status))
        .route("/ledger/summary", get(ledger::ledger_summary))
        .route("/consistency", get(consistency::consistency))
        .route("/audit", get(audit::audit))
        .route("/ops/export", get(ops_export::export))
        .route("/reports/sales", get(reports::sales))
        .route("/reports/liability", get(reports::liability))
        .route("/reports/points", get(reports::points))
        .route("/reports/members", get(reports::members))
        .route("/reports/rankings", get(reports::rankings))
        .route("/dashboard", get(dashboard::dashboard))
        // settlement
        .route("/settlement", get(settlement::settlement))
        .route(
            "/withdrawals",
            get(settlement::list).post(settlement::request),
        )
        .route("/withdrawals/{id}/approve", post(settlement::approve))
        .route("/withdrawals/{id}/reject", post(settlement::reject))
        .route("/reports/coupons", get(reports::more::coupons))
        .route("/reports/cards", get(reports::more::cards))
        .route("/metrics", metrics::endpoint(&metrics))
        .route("/staff", get(staff::list).post(staff::create))
        .route("/stock", get(stock_read::list))
        .route("/stock/low", get(stock_read::low))
        .route("/stock/value", get(stock_read::value))
        .route("/stock/movements", get(stock_read::movements))
        .route("/stock/below-zero", get(stock_read::below_zero))
        .route("/stock/in", post(stock::stock_in))
        .route("/stock/import", post(stock_import::import_stock))
        .route("/stock/returns", post(stock::stock_return))
        .route("/stock/minimums", put(stock::minimums))
        .route("/stocktakes", post(stock::stocktake))
        .route("/closes/preview", get(closes::preview))
        .route("/closes", get(closes::list).post(closes::create))
        .route("/closes/{id}", get(closes::get_one))
        .route("/closes/{id}/receipt", get(closes::receipt))
        .route("/transfers", get(stock_read::transfers).post(stock::ship))
        .route("/transfers/{id}", get(stock_read::one_transfer))
        .route("/transfers/{id}/receive", post(stock::receive))
        .route("/staff/{id}", get(staff::get_one).patch(staff::patch))
        .route(
            "/sessions/current",
            get(sessions::current).delete(sessions::sign_out),
        )
        .route("/setup/first-admin", post(sessions::first_admin))
        .route_layer(middleware::from_fn_with_state(state.clone(), auth::auth));
    let open = Router::new()
        .route("/setup", get(sessions::setup))
        .route("/sessions", post(sessions::sign_in))
        .route("/health", get(health::health))
        .route("/openapi.json", get(health::openapi));
    let mut app = Router::new().nest("/api/v1", open.merge(api));
    if state.inner.console {
        app = app
            .route("/", get(console::page))
            .route("/console/app.js", get(console::script))
            .route("/console/app.css", get(console::style))
            .route("/console/{file}", get(console::file));
    }
    app.fallback(|| async { ApiError::not_found_route() })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "method not allowed on this endpoint",
                "该接口不支持此方法",
            )
        })
        .layer(DefaultBodyLimit::max(BODY_BYTES_MAX))
        .layer(middleware::map_response(json_errors))
        .layer(middleware::from_fn_with_state(metrics, metrics::track))
        .with_state(state)
}

/// Refusals made by the framework itself (a query that does not parse, a
/// body over the limit, a path that is not UTF-8) come as plain text; give
/// them the same JSON error shape as every other refusal.
async fn json_errors(resp: Response) -> Response {
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return resp;
    }
    let (code, en, zh) = match status {
        StatusCode::PAYLOAD_TOO_LARGE => (
            "payload_too_large",
            format!("request body larger than {BODY_BYTES_MAX} bytes"),
            format!("请求体超过 {BODY_BYTES_MAX} 字节"),
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => (
            "unsupported_media_type",
            "send JSON".to_string(),
            "请发送 JSON".to_string(),
        ),
        s if s.is_server_error() => (
            "internal",
            "internal error".to_string(),
            "内部错误".to_string(),
        ),
        _ => {
            let body = axum::body::to_bytes(resp.into_body(), 4096)
                .await
                .unwrap_or_default();
            let detail = String::from_utf8_lossy(&body).into_owned();
            return ApiError::new(
                status,
                "invalid_request",
                format!("the request is malformed: {detail}"),
                format!("请求格式错误：{detail}"),
            )
            .into_response();
        }
    };
    ApiError::new(status, code, en, zh).into_response()
}

/// Who made a request, for the op log: the staff member's id, or the
/// admin token's name.
pub(crate) fn actor(who: &Principal) -> String {
    who.by()
}

/// The request's idempotency key, fingerprinted with what it came with.
pub(crate) fn idem(
    headers: &HeaderMap,
    method: &Method,
    path: &str,
    body: &[u8],
    required: bool,
) -> Result<Option<Idem>, ApiError> {
    let Some(v) = headers.get("idempotency-key") else {
        if required {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "idempotency_key_required",
                "this request moves money or uses something up: send an Idempotency-Key header",
                "此请求涉及资金或核销：请提供 Idempotency-Key 请求头",
            ));
        }
        return Ok(None);
    };
    let key = v.to_str().unwrap_or("").trim();
    if key.is_empty() || key.len() > KEY_LEN_MAX || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_idempotency_key",
            format!("Idempotency-Key must be 1 to {KEY_LEN_MAX} visible ASCII characters"),
            format!("Idempotency-Key 应为 1 到 {KEY_LEN_MAX} 个可见 ASCII 字符"),
        ));
    }
    let mut h = blake3::Hasher::new();
    h.update(method.as_str().as_bytes());
    h.update(b" ");
    h.update(path.as_bytes());
    h.update(b"\n");
    h.update(body);
    Ok(Some(Idem {
        key: key.to_string(),
        fingerprint: *h.finalize().as_bytes(),
    }))
}

pub(crate) fn member_id(text: &str) -> Result<MemberId, ApiError> {
    MemberId::parse(text).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "member_not_found",
            format!("member {text} not found"),
            format!("会员 {text} 不存在"),
        )
    })
}

pub(crate) fn order_id(text: &str) -> Result<OrderId, ApiError> {
    OrderId::parse(text).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "order_not_found",
            format!("order {text} not found"),
            format!("订单 {text} 不存在"),
        )
    })
}

/// A request with an idempotency key that the API's own checks (its body,
/// its path) refuse with `refusal`: the first answer if the key already
/// answered this very request, `idempotency_key_reused` if it went with
/// another one, else the refusal; so a reused key with a body that no
/// longer parses is still `idempotency_key_reused`.
///
/// The store is read for the key here only, on the refusal path: a request
/// that parses goes to the engine, which reads the key once (and replays a
/// first answer itself), so an accepted request costs one read of its key.
pub(crate) fn refused(
    s: &AppState,
    idem: Option<&Idem>,
    status: StatusCode,
    refusal: ApiError,
) -> Result<Response, ApiError> {
    match s.engine().replay(idem)? {
        Some(first) => Ok(answered(s, status, &(first, true))),
        None => Err(refusal),
    }
}

/// HQ authors settings and aggregates reports; it sells nothing. The rule
/// is the core's (`authority::may`) over the engine's role, checked here
/// before the body is read and again on the engine's draft.
pub(crate) fn selling(s: &AppState) -> Result<(), ApiError> {
    authorised(s, Act::Sell)
}

/// Whether this node may do `act` (`authority::may` over the engine's role:
/// `None` for a node of no chain, which authors its own documents).
pub(crate) fn authorised(s: &AppState, act: Act) -> Result<(), ApiError> {
    may(s.engine().role(), act).map_err(|e| ApiError::from(tongka_actors::EngineError::from(e)))
}

pub(crate) fn admit(s: &AppState) -> Result<Admitted, ApiError> {
    Ok(s.engine().admit()?)
}

pub(crate) fn created(s: &AppState, out: &(Outcome, bool)) -> Response {
    answered(s, StatusCode::CREATED, out)
}

/// `value` as a JSON answer, serialised once into a buffer sized for an
/// order (axum's `Json` starts at 128 bytes and grows by copying).
pub(crate) fn json_answer(status: StatusCode, value: &impl serde::Serialize) -> Response {
    let mut buf = Vec::with_capacity(2048);
    match serde_json::to_writer(&mut buf, value) {
        Ok(()) => (
            status,
            [(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static("application/json"),
            )],
            buf,
        )
            .into_response(),
        Err(e) => ApiError::from(tongka_actors::EngineError::Internal(format!(
            "rendering the answer: {e}"
        )))
        .into_response(),
    }
}

/// The chain's calendar day now, which a coupon's status is reckoned on
/// (the day a sale checks its coupons against is its own clock's).
pub(crate) fn today() -> tongka_core::day::Day {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    tongka_core::day::Day::of_ms(ms)
}

/// The answer to a write: the outcome rendered, marked when replayed.
pub(crate) fn answered(s: &AppState, status: StatusCode, out: &(Outcome, bool)) -> Response {
    let e = s.engine();
    let programme = e.programme();
    let book = e.staff();
    let body = render::outcome(&out.0, &programme, e.node(), today(), &book);
    let mut resp = json_answer(status, &body);
    if out.1 {
        resp.headers_mut().insert(
            "idempotent-replayed",
            header::HeaderValue::from_static("true"),
        );
    }
    resp
}
