//! tongka-api: HTTP API v1 and the web console; the only crate that knows
//! HTTP. Handlers parse and check input, call the `Engine`, and render.
//! Nothing here decides about money: a refusal comes from the core.
//!
//! Architecture Invariant: bad input is refused here or in the core with a
//! 4xx and a machine code, before anything is written.

mod dto;
mod error;
mod render;

use std::future::Future;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use tongka_actors::{Admitted, Engine, Idem, LineRequest, Outcome};
use tongka_core::catalogue::Product;
use tongka_core::checkout::TenderInput;
use tongka_core::ids::{MemberId, OrderId};
use tongka_core::member::{Profile, ProfilePatch};
use tongka_core::op::KEY_LEN_MAX;
use tongka_core::refund::RefundLine;

use crate::dto::*;
pub use crate::error::ApiError;

/// The largest request body accepted.
pub const BODY_BYTES_MAX: usize = 256 * 1024;
/// The most entries a list answer holds.
pub const LIST_MAX: usize = 200;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    token: String,
    role: String,
    console: bool,
    peers: Option<PeerStatusFn>,
}

/// Reports the peers: `(node, connected, lag_ops, refused_ops)` each.
pub type PeerStatusFn = Arc<dyn Fn() -> Vec<(String, bool, u64, u64)> + Send + Sync>;

impl AppState {
    pub fn new(engine: Engine, token: String, role: &str, console: bool) -> AppState {
        AppState {
            inner: Arc::new(Inner {
                engine,
                token,
                role: role.to_string(),
                console,
                peers: None,
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
                role: i.role.clone(),
                console: i.console,
                peers: Some(peers),
            }),
        }
    }

    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }
}

pub const OPENAPI: &str = include_str!("../openapi.json");
const CONSOLE_HTML: &str = include_str!("../console/index.html");
const CONSOLE_JS: &str = include_str!("../console/app.js");
const CONSOLE_CSS: &str = include_str!("../console/app.css");

/// The whole HTTP surface of a node.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/members", post(register).get(find_members))
        .route("/members/duplicates", get(get_duplicates))
        .route("/members/{id}", get(get_member).patch(patch_member))
        .route("/members/{id}/recharges", post(recharge))
        .route("/members/{id}/wallet", get(get_wallet))
        .route("/members/{id}/history", get(get_history))
        .route("/members/{id}/merge", post(merge_members))
        .route("/checkouts", post(checkout))
        .route("/orders/{id}", get(get_order))
        .route("/orders/{id}/refunds", post(refund))
        .route("/orders/{id}/receipt", get(get_receipt))
        .route("/programme", get(get_programme).put(put_programme))
        .route("/products", get(list_products))
        .route("/products/{sku}", put(put_product).get(get_product))
        .route("/sync/status", get(sync_status))
        .route("/ledger/summary", get(ledger_summary))
        .route_layer(middleware::from_fn_with_state(state.clone(), auth));
    let open = Router::new()
        .route("/health", get(health))
        .route("/openapi.json", get(openapi));
    let mut app = Router::new().nest("/api/v1", open.merge(api));
    if state.inner.console {
        app = app
            .route("/", get(|| async { Html(CONSOLE_HTML) }))
            .route(
                "/console/app.js",
                get(|| async {
                    (
                        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
                        CONSOLE_JS,
                    )
                }),
            )
            .route(
                "/console/app.css",
                get(|| async {
                    (
                        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
                        CONSOLE_CSS,
                    )
                }),
            );
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
        .with_state(state)
}

/// Serve `router(state)` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
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

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn auth(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match given {
        Some(t) if constant_time_eq(t.as_bytes(), s.inner.token.as_bytes()) => next.run(req).await,
        _ => ApiError::unauthorized().into_response(),
    }
}

/// Who made a request, for the op log. One admin token for now.
fn actor() -> String {
    "admin".to_string()
}

/// The request's idempotency key, fingerprinted with what it came with.
fn idem(
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

fn member_id(text: &str) -> Result<MemberId, ApiError> {
    MemberId::parse(text).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "member_not_found",
            format!("member {text} not found"),
            format!("会员 {text} 不存在"),
        )
    })
}

fn order_id(text: &str) -> Result<OrderId, ApiError> {
    OrderId::parse(text).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "order_not_found",
            format!("order {text} not found"),
            format!("订单 {text} 不存在"),
        )
    })
}

/// Where an idempotent request stands before its body is even parsed.
enum Start {
    /// The key already answered this very request: its first answer.
    Replay(Response),
    /// Go on, with the request's key (if any).
    Fresh(Option<Idem>),
}

/// Read the request's idempotency key and answer a replay (or refuse a key
/// reused with another request) before the body is parsed, so a reused key
/// with a body that no longer parses is still `idempotency_key_reused`.
fn start_idempotent(
    s: &AppState,
    headers: &HeaderMap,
    method: &Method,
    path: &str,
    body: &[u8],
    required: bool,
) -> Result<Start, ApiError> {
    let idem = idem(headers, method, path, body, required)?;
    Ok(match s.engine().replay(idem.as_ref())? {
        Some(first) => Start::Replay(created(s, &(first, true))),
        None => Start::Fresh(idem),
    })
}

/// HQ authors settings and aggregates reports; it sells nothing.
fn selling(s: &AppState) -> Result<(), ApiError> {
    if s.inner.role == "hq" {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "hq_sells_nothing",
            "this is the HQ node: recharges and sales happen at stores",
            "这是总部节点：充值和收银请在门店进行",
        ));
    }
    Ok(())
}

fn admit(s: &AppState) -> Result<Admitted, ApiError> {
    Ok(s.engine().admit()?)
}

fn created(s: &AppState, out: &(Outcome, bool)) -> Response {
    answered(s, StatusCode::CREATED, out)
}

/// The answer to a write: the outcome rendered, marked when replayed.
fn answered(s: &AppState, status: StatusCode, out: &(Outcome, bool)) -> Response {
    let e = s.engine();
    let body = render::outcome(&out.0, &e.programme(), e.node());
    let mut resp = (status, Json(body)).into_response();
    if out.1 {
        resp.headers_mut().insert(
            "idempotent-replayed",
            header::HeaderValue::from_static("true"),
        );
    }
    resp
}

async fn health(State(s): State<AppState>) -> Json<Value> {
    Json(
        json!({"node": s.engine().node(), "role": s.inner.role, "version": env!("CARGO_PKG_VERSION")}),
    )
}

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}

async fn register(
    State(s): State<AppState>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let _permit = admit(&s)?;
    let idem = match start_idempotent(&s, &headers, &method, "/members", &body, false)? {
        Start::Replay(first) => return Ok(first),
        Start::Fresh(idem) => idem,
    };
    let req: RegisterReq = parse_json(&body)?;
    if let Some(code) = &req.invite_code
        && !((4..=16).contains(&code.chars().count()) && code.chars().all(char::is_alphanumeric))
    {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_invite_code",
            "invite code must be 4 to 16 letters or digits",
            "邀请码应为 4 到 16 个字母或数字",
        ));
    }
    let profile = Profile {
        phone: req.phone.trim().to_string(),
        name: req.name.trim().to_string(),
        birthday: req.birthday,
        gender: req.gender,
        card_no: req.card_no,
        invited_by: req.invite_code,
        tags: req.tags,
        notes: req.notes,
    };
    let out = s.engine().register(actor(), idem, profile).await?;
    Ok(created(&s, &out))
}

#[derive(Deserialize)]
struct FindQuery {
    phone: Option<String>,
    card_no: Option<String>,
}

async fn find_members(
    State(s): State<AppState>,
    Query(q): Query<FindQuery>,
) -> Result<Json<Value>, ApiError> {
    let store = s.engine().store();
    let id = match (&q.phone, &q.card_no) {
        (Some(p), None) => store
            .member_by_phone(p.trim())
            .map_err(tongka_actors::EngineError::from)?,
        (None, Some(c)) => store
            .member_by_card(c.trim())
            .map_err(tongka_actors::EngineError::from)?,
        _ => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_query",
                "give exactly one of ?phone= or ?card_no=",
                "请只提供 ?phone= 或 ?card_no= 其中之一",
            ));
        }
    };
    let e = s.engine();
    let members: Vec<Value> = match id {
        Some(id) => vec![render::member_brief(
            &e.member(&id)?,
            &e.programme(),
            e.node(),
        )],
        None => Vec::new(),
    };
    Ok(Json(json!({ "members": members })))
}

/// Phone and card numbers registered to more than one member (at different
/// stores during a partition), with the members: the merge queue.
async fn get_duplicates(State(s): State<AppState>) -> Result<Json<Value>, ApiError> {
    let e = s.engine();
    let mut out = Vec::new();
    for (key, ids) in e.duplicates()? {
        let (kind, value) = key.split_once(':').unwrap_or(("", key.as_str()));
        let members: Vec<Value> = ids
            .iter()
            .filter_map(|id| e.member(id).ok())
            .map(|m| render::member_brief(&m, &e.programme(), e.node()))
            .collect();
        let shown = if kind == "phone" {
            tongka_core::member::mask_phone(value)
        } else {
            value.to_string()
        };
        out.push(json!({"kind": kind, "value": shown, "members": members}));
    }
    Ok(Json(json!({ "duplicates": out })))
}

async fn get_member(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let e = s.engine();
    let m = e.member(&member_id(&id)?)?;
    Ok(Json(render::member(&m, &e.programme(), e.node())))
}

async fn patch_member(
    State(s): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let _permit = admit(&s)?;
    let id = member_id(&id)?;
    let req: PatchReq = parse_json(&body)?;
    let patch = ProfilePatch {
        phone: req.phone.map(|p| p.trim().to_string()),
        name: req.name,
        birthday: req.birthday,
        gender: req.gender,
        card_no: req.card_no,
        tags: req.tags,
        notes: req.notes,
    };
    let e = s.engine();
    match e.update_profile(actor(), id, patch).await? {
        Outcome::Member(m) => Ok(Json(render::member(&m, &e.programme(), e.node()))),
        other => Err(ApiError::from(tongka_actors::EngineError::Internal(
            format!("unexpected outcome {other:?}"),
        ))),
    }
}

async fn recharge(
    State(s): State<AppState>,
    Path(id): Path<String>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let _permit = admit(&s)?;
    selling(&s)?;
    let idem = match start_idempotent(
        &s,
        &headers,
        &method,
        &format!("/members/{id}/recharges"),
        &body,
        true,
    )? {
        Start::Replay(first) => return Ok(first),
        Start::Fresh(idem) => idem,
    };
    let id = member_id(&id)?;
    let req: RechargeReq = parse_json(&body)?;
    let amount = req.amount.money("amount", true)?;
    let tender = tender_kind(&req.tender, "tender")?;
    let out = s
        .engine()
        .recharge(actor(), idem, id, amount, tender)
        .await?;
    Ok(created(&s, &out))
}

/// Merge a duplicate (`absorb`) into the member of the path.
async fn merge_members(
    State(s): State<AppState>,
    Path(id): Path<String>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let _permit = admit(&s)?;
    let idem = match start_idempotent(
        &s,
        &headers,
        &method,
        &format!("/members/{id}/merge"),
        &body,
        true,
    )? {
        Start::Replay(first) => return Ok(first),
        Start::Fresh(idem) => idem,
    };
    let id = member_id(&id)?;
    let req: MergeReq = parse_json(&body)?;
    let absorbed = member_id(req.absorb.trim())?;
    let out = s
        .engine()
        .merge_members(actor(), idem, id, absorbed)
        .await?;
    Ok(created(&s, &out))
}

async fn get_wallet(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let e = s.engine();
    let m = e.member(&member_id(&id)?)?;
    Ok(Json(render::wallet(&m, e.node())))
}

#[derive(Deserialize)]
struct HistoryQuery {
    limit: Option<usize>,
}

async fn get_history(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<HistoryQuery>,
) -> Result<Json<Value>, ApiError> {
    let e = s.engine();
    let id = member_id(&id)?;
    let ops = e.history(&id, q.limit.unwrap_or(50).clamp(1, LIST_MAX))?;
    Ok(Json(
        json!({ "entries": ops.iter().map(render::history_entry).collect::<Vec<_>>() }),
    ))
}

async fn checkout(
    State(s): State<AppState>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let _permit = admit(&s)?;
    selling(&s)?;
    let idem = match start_idempotent(&s, &headers, &method, "/checkouts", &body, true)? {
        Start::Replay(first) => return Ok(first),
        Start::Fresh(idem) => idem,
    };
    let req: CheckoutReq = parse_json(&body)?;
    if !req.coupon_codes.is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "coupons_not_enabled",
            "this chain has no coupon programme yet; remove coupon_codes",
            "本连锁尚未启用优惠券，请去掉 coupon_codes",
        ));
    }
    let points = match &req.points {
        None => 0,
        Some(p) => points_req(p)?,
    };
    let member = req.member_id.as_deref().map(member_id).transpose()?;
    let mut lines = Vec::with_capacity(req.lines.len());
    for (i, l) in req.lines.into_iter().enumerate() {
        let field = format!("lines[{i}]");
        let qty = match &l.qty {
            Some(q) => q.qty(&format!("{field}.qty"))?,
            None => rust_decimal::Decimal::ONE,
        };
        lines.push(match (l.sku, l.barcode, l.description, l.unit_price) {
            (Some(sku), None, None, None) => LineRequest::Sku { sku, qty },
            (None, Some(barcode), None, None) => LineRequest::Barcode { barcode, qty },
            (None, None, Some(description), Some(price)) => LineRequest::Free {
                description,
                unit_price: price.money(&format!("{field}.unit_price"), false)?,
                qty,
            },
            _ => {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_line",
                    format!("{field}: give sku, or barcode, or description with unit_price"),
                    format!("{field}：请提供 sku、barcode，或 description 加 unit_price"),
                )
                .with("field", field));
            }
        });
    }
    let mut tenders = Vec::with_capacity(req.tenders.len());
    for (i, t) in req.tenders.iter().enumerate() {
        let field = format!("tenders[{i}]");
        let kind = tender_kind(&t.kind, &format!("{field}.kind"))?;
        let amount = t
            .amount
            .as_ref()
            .map(|a| a.money(&format!("{field}.amount"), true))
            .transpose()?;
        tenders.push(TenderInput { kind, amount });
    }
    let out = s
        .engine()
        .checkout_with_points(actor(), idem, member, lines, tenders, points)
        .await?;
    Ok(created(&s, &out))
}

/// `points` of a checkout: a whole number of points, 0 or more (as a JSON
/// number or string); 0 = none.
fn points_req(p: &DecimalText) -> Result<i64, ApiError> {
    use rust_decimal::prelude::ToPrimitive;
    tongka_core::money::parse_decimal_text(&p.0, 0)
        .ok()
        .filter(|d| !d.is_sign_negative() || d.is_zero())
        .and_then(|d| d.to_i64())
        .ok_or_else(|| {
            ApiError::from(tongka_actors::EngineError::from(
                tongka_core::checkout::CheckoutError::InvalidPoints,
            ))
            .with("field", "points")
        })
}

async fn get_order(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(render::order(&s.engine().order(&order_id(&id)?)?)))
}

async fn get_receipt(
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

async fn refund(
    State(s): State<AppState>,
    Path(id): Path<String>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let _permit = admit(&s)?;
    let idem = match start_idempotent(
        &s,
        &headers,
        &method,
        &format!("/orders/{id}/refunds"),
        &body,
        true,
    )? {
        Start::Replay(first) => return Ok(first),
        Start::Fresh(idem) => idem,
    };
    let order = order_id(&id)?;
    let req: RefundReq = if body.is_empty() {
        RefundReq {
            lines: None,
            reason: String::new(),
        }
    } else {
        parse_json(&body)?
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
    let out = s
        .engine()
        .refund(actor(), idem, order, lines, req.reason)
        .await?;
    Ok(created(&s, &out))
}

async fn get_programme(State(s): State<AppState>) -> Json<Value> {
    Json(render::programme(&s.engine().programme()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OfferReq {
    threshold: DecimalText,
    bonus: DecimalText,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LevelReq {
    code: String,
    name_zh: String,
    name_en: String,
    min_principal: DecimalText,
    rate: DecimalText,
}

/// The programme as `GET /programme` shows it; the explanatory fields
/// (`rounding`, `balance_order`) may be sent back and are ignored.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProgrammeReq {
    recharge_offers: Vec<OfferReq>,
    levels: Vec<LevelReq>,
    points_per_yuan: DecimalText,
    /// Paying with points (积分抵现): absent or null = off.
    #[serde(default)]
    points_deduction: Option<DeductionReq>,
    #[serde(default)]
    #[allow(dead_code)]
    rounding: Option<Value>,
    #[serde(default)]
    #[allow(dead_code)]
    balance_order: Option<Value>,
}

/// The points deduction rule as `GET /programme` shows it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeductionReq {
    points_per_yuan: Value,
    cap: DecimalText,
    #[serde(default)]
    min_points: Option<Value>,
}

/// HQ's documents (the programme, the catalogue) are authored by HQ for the
/// whole chain, or by a node of no chain (a quick-start `tongka up`) for
/// itself; a store of a chain is refused with `code` and its messages.
fn authoring_hq_document(
    s: &AppState,
    code: &'static str,
    en: &'static str,
    zh: &'static str,
) -> Result<(), ApiError> {
    if s.inner.role == "hq" || s.inner.peers.is_none() {
        return Ok(());
    }
    Err(ApiError::new(StatusCode::FORBIDDEN, code, en, zh))
}

fn authoring_programme(s: &AppState) -> Result<(), ApiError> {
    authoring_hq_document(
        s,
        "programme_hq_only",
        "the programme is authored by HQ for the whole chain; change it at the HQ node",
        "会员方案由总部统一制定，请在总部节点修改",
    )
}

fn authoring_catalogue(s: &AppState) -> Result<(), ApiError> {
    authoring_hq_document(
        s,
        "catalogue_hq_only",
        "the catalogue (products and prices) is authored by HQ for the whole chain; change it at the HQ node",
        "商品目录（商品与价格）由总部统一维护，请在总部节点修改",
    )
}

fn programme_req(req: ProgrammeReq) -> Result<tongka_core::Programme, ApiError> {
    use tongka_core::programme::{Level, ProgrammeError, RechargeOffer};
    let refuse = |e: ProgrammeError| ApiError::from(tongka_actors::EngineError::from(e));
    // Shown with at least two places, as the default programme's are.
    let decimal = |t: &DecimalText, e: ProgrammeError| {
        tongka_core::money::parse_decimal_text(&t.0, 4)
            .map(|mut d| {
                if d.scale() < 2 {
                    d.rescale(2);
                }
                d
            })
            .map_err(|_| refuse(e))
    };
    let mut offers = Vec::with_capacity(req.recharge_offers.len());
    for (i, o) in req.recharge_offers.iter().enumerate() {
        offers.push(RechargeOffer {
            threshold: o
                .threshold
                .money(&format!("recharge_offers[{i}].threshold"), true)?,
            bonus: o
                .bonus
                .money(&format!("recharge_offers[{i}].bonus"), false)?,
        });
    }
    let mut levels = Vec::with_capacity(req.levels.len());
    for (i, l) in req.levels.into_iter().enumerate() {
        levels.push(Level {
            min_principal: l
                .min_principal
                .money(&format!("levels[{i}].min_principal"), false)?,
            rate: decimal(&l.rate, ProgrammeError::LevelRate)?,
            code: l.code,
            name_zh: l.name_zh.trim().to_string(),
            name_en: l.name_en.trim().to_string(),
        });
    }
    // A whole number, as a JSON number or string.
    let whole = |v: &Value, e: ProgrammeError| {
        match v {
            Value::Number(n) => n.as_i64(),
            Value::String(t) => t.trim().parse::<i64>().ok(),
            _ => None,
        }
        .ok_or_else(|| refuse(e))
    };
    let points_deduction = match &req.points_deduction {
        None => None,
        Some(d) => Some(tongka_core::programme::PointsDeduction {
            points_per_yuan: whole(&d.points_per_yuan, ProgrammeError::DeductionRate)?,
            cap: decimal(&d.cap, ProgrammeError::DeductionCap)?,
            min_points: match &d.min_points {
                None => 0,
                Some(m) => whole(m, ProgrammeError::DeductionMinimum)?,
            },
        }),
    };
    let p = tongka_core::Programme {
        recharge_offers: offers,
        levels,
        points_per_yuan: tongka_core::money::parse_decimal_text(&req.points_per_yuan.0, 4)
            .map_err(|_| refuse(ProgrammeError::PointsRate))?,
        points_deduction,
    };
    p.validate().map_err(refuse)?;
    Ok(p)
}

/// Change the programme (HQ, or a chain-less node): the whole programme as
/// `GET` shows it. Decisions made after it use it; it reaches every store
/// by replication. Answers the programme now (200).
async fn put_programme(
    State(s): State<AppState>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let _permit = admit(&s)?;
    authoring_programme(&s)?;
    let idem = idem(&headers, &method, "/programme", &body, false)?;
    if let Some(first) = s.engine().replay(idem.as_ref())? {
        return Ok(answered(&s, StatusCode::OK, &(first, true)));
    }
    let asked = programme_req(parse_json(&body)?)?;
    let out = s.engine().change_programme(asked, actor(), idem).await?;
    Ok(answered(&s, StatusCode::OK, &out))
}

fn product_json(p: &Product) -> Value {
    json!({"sku": p.sku, "barcode": p.barcode, "name": p.name, "price": p.price})
}

async fn list_products(State(s): State<AppState>) -> Result<Json<Value>, ApiError> {
    let ps = s
        .engine()
        .store()
        .products(1000)
        .map_err(tongka_actors::EngineError::from)?;
    Ok(Json(
        json!({ "products": ps.iter().map(product_json).collect::<Vec<_>>() }),
    ))
}

async fn get_product(
    State(s): State<AppState>,
    Path(sku): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let p = s
        .engine()
        .store()
        .product(&sku)
        .map_err(tongka_actors::EngineError::from)?;
    let p = p.ok_or_else(|| {
        ApiError::from(tongka_actors::EngineError::from(
            tongka_core::catalogue::ProductError::Unknown(sku),
        ))
    })?;
    Ok(Json(product_json(&p)))
}

async fn put_product(
    State(s): State<AppState>,
    Path(sku): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let _permit = admit(&s)?;
    authoring_catalogue(&s)?;
    let req: ProductReq = parse_json(&body)?;
    let p = Product {
        sku,
        barcode: req.barcode,
        name: req.name.trim().to_string(),
        price: req.price.money("price", false)?,
    };
    let now = s.engine().change_catalogue(vec![p], actor()).await?;
    let p = now
        .first()
        .ok_or_else(|| ApiError::from(tongka_actors::EngineError::Internal("no product".into())))?;
    Ok(Json(product_json(p)))
}

async fn sync_status(State(s): State<AppState>) -> Json<Value> {
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

async fn ledger_summary(State(s): State<AppState>) -> Json<Value> {
    let t = s.engine().store().summary().totals;
    let (op, ob) = t.outstanding();
    Json(json!({
        "members": t.members,
        "recharged_principal": t.recharged_principal,
        "recharged_bonus": t.recharged_bonus,
        "spent_principal": t.spent_principal,
        "spent_bonus": t.spent_bonus,
        "refunded_principal": t.refunded_principal,
        "refunded_bonus": t.refunded_bonus,
        "outstanding_principal": op,
        "outstanding_bonus": ob,
        "recharges": t.recharges,
        "orders": t.orders,
        "sales": t.sales,
        "refunds": t.refunds,
        "refunded": t.refunded,
        "points_issued": t.points_issued,
        "points_reversed": t.points_reversed,
        "points_redeemed": t.points_redeemed,
        "points_returned": t.points_returned,
        "points_outstanding": t.points_outstanding(),
    }))
}
