//! A store's stock over HTTP (库存): goods in (入库), supplier returns
//! (退货), transfers shipped and received (调拨), stocktakes (盘点) and
//! minimums. Each write is one `StockChanged` op decided against the
//! node's book by the engine (`Engine::change_stock`); here the body is
//! parsed strictly, barcodes are turned into skus, and quantities are read
//! exactly (whole or measured is the core's check, `invalid_stock_qty`).
//! The reads are in `stock_read`.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use rust_decimal::Decimal;
use serde::Deserialize;
use tongka_core::authority::Act;
use tongka_core::ids::NodeId;
use tongka_core::money::Money;
use tongka_core::stock::{StockCount, StockError, StockInLine, StockQty, TransferId};
use tongka_machine::stock::StockAsk;
use utoipa::ToSchema;

use crate::auth::Principal;
use crate::dto::{DecimalText, parse_json};
use crate::*;

/// A line naming a product by sku or by barcode (exactly one).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = StockInLineRequest)]
pub(crate) struct InLineReq {
    #[serde(default)]
    #[schema(examples("cola"))]
    sku: Option<String>,
    /// Instead of `sku`: the product's barcode.
    #[serde(default)]
    #[schema(examples("6901234567892"))]
    barcode: Option<String>,
    /// A positive quantity (whole pieces for a product counted by piece).
    #[schema(value_type = crate::openapi::QtyInput)]
    qty: DecimalText,
    /// What one unit cost (0 or more, two places at most).
    #[schema(value_type = crate::openapi::AmountInput)]
    unit_cost: DecimalText,
}

/// A line of goods: a product by sku or barcode, and a quantity.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = StockLineRequest)]
pub(crate) struct QtyLineReq {
    #[serde(default)]
    #[schema(examples("cola"))]
    sku: Option<String>,
    #[serde(default)]
    barcode: Option<String>,
    #[schema(value_type = crate::openapi::QtyInput)]
    qty: DecimalText,
}

/// A counted product of a stocktake.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = StockCountRequest)]
pub(crate) struct CountReq {
    #[serde(default)]
    #[schema(examples("cola"))]
    sku: Option<String>,
    #[serde(default)]
    barcode: Option<String>,
    /// What is on the shelf (0 or more).
    #[schema(value_type = crate::openapi::QtyInput)]
    counted: DecimalText,
}

/// A product's minimum on hand at this store.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = StockMinimumRequest)]
pub(crate) struct MinReq {
    #[schema(examples("cola"))]
    sku: String,
    /// 0 or more; below it the product is on the low-stock list.
    #[schema(value_type = crate::openapi::QtyInput)]
    min: DecimalText,
}

/// Goods in from a supplier (入库单).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = StockInRequest)]
pub(crate) struct StockInReq {
    /// 1 to 60 characters, no control or invisible ones.
    #[schema(examples("可口可乐华东"))]
    supplier: String,
    /// At most 200 characters.
    #[serde(default)]
    note: Option<String>,
    lines: Vec<InLineReq>,
}

/// Goods back to a supplier (退货单).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = StockReturnRequest)]
pub(crate) struct ReturnReq {
    supplier: String,
    #[serde(default)]
    note: Option<String>,
    lines: Vec<QtyLineReq>,
}

/// A transfer shipped to another store of the chain (调拨出库).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = TransferRequest)]
pub(crate) struct TransferReq {
    /// The receiving store's node name.
    #[schema(value_type = crate::openapi::NodeName)]
    to: String,
    #[serde(default)]
    note: Option<String>,
    lines: Vec<QtyLineReq>,
}

/// What arrived of a transfer (调拨收货); a line short of what was shipped
/// records the shortage.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ReceiveRequest)]
pub(crate) struct ReceiveReq {
    #[serde(default)]
    note: Option<String>,
    lines: Vec<QtyLineReq>,
}

/// A stocktake (盘点): what was counted.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = StocktakeRequest)]
pub(crate) struct StocktakeReq {
    #[serde(default)]
    note: Option<String>,
    counts: Vec<CountReq>,
}

/// This store's minimums, for the skus given.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = StockMinimumsRequest)]
pub(crate) struct MinimumsReq {
    lines: Vec<MinReq>,
}

fn unknown_product(field: String) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "unknown_product",
        format!("{field}: no product with this barcode"),
        format!("{field}：没有此条码的商品"),
    )
    .with("field", field)
}

/// The sku a line names: its `sku`, or the product of its `barcode`.
pub(crate) fn sku_of(
    s: &AppState,
    sku: Option<&str>,
    barcode: Option<&str>,
    field: impl Fn(&str) -> String,
) -> Result<String, ApiError> {
    match (sku, barcode) {
        (Some(sku), None) => Ok(sku.trim().to_string()),
        // Any of the product's barcodes, from the catalogue the engine
        // holds (as checkout reads it): the db's barcode table is written
        // only when a catalogue change commits, a moment after.
        (None, Some(b)) => s
            .engine()
            .product(None, Some(b.trim()))
            .map(|p| p.sku)
            .ok_or_else(|| unknown_product(field("barcode"))),
        _ => Err(ApiError::bad_json(format!(
            "{}: give exactly one of sku or barcode",
            field("")
        ))),
    }
}

/// A quantity's exact text, 0 or more; whether it fits the product's unit
/// (and is positive where it must be) is the core's check.
pub(crate) fn qty(t: &DecimalText, field: impl FnOnce() -> String) -> Result<Decimal, ApiError> {
    tongka_core::money::parse_decimal_text(t.0.trim(), 6).map_err(|_| {
        let field = field();
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_stock_qty",
            format!("{field}: not a quantity (0 or more, at most 3 decimal places)"),
            format!("{field}：不是有效数量（不小于 0，最多 3 位小数）"),
        )
        .with("field", field)
    })
}

fn note(n: Option<String>) -> String {
    n.unwrap_or_default()
}

fn qty_lines(s: &AppState, lines: &[QtyLineReq]) -> Result<Vec<StockQty>, ApiError> {
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            Ok(StockQty {
                sku: sku_of(s, l.sku.as_deref(), l.barcode.as_deref(), |f| field(i, f))?,
                qty: qty(&l.qty, || format!("lines[{i}].qty"))?,
            })
        })
        .collect()
}

fn field(i: usize, f: &str) -> String {
    if f.is_empty() {
        format!("lines[{i}]")
    } else {
        format!("lines[{i}].{f}")
    }
}

fn ask_in(s: &AppState, body: &[u8]) -> Result<StockAsk, ApiError> {
    let req: StockInReq = parse_json(body)?;
    let mut lines = Vec::with_capacity(req.lines.len());
    for (i, l) in req.lines.iter().enumerate() {
        let sku = sku_of(s, l.sku.as_deref(), l.barcode.as_deref(), |f| field(i, f))?;
        let qty = qty(&l.qty, || format!("lines[{i}].qty"))?;
        let unit_cost = Money::parse_amount(l.unit_cost.0.trim(), false).map_err(|_| {
            ApiError::from(tongka_actors::EngineError::Stock(StockError::UnitCost {
                sku: sku.clone(),
            }))
            .with("field", format!("lines[{i}].unit_cost"))
        })?;
        lines.push(StockInLine {
            sku,
            qty,
            unit_cost,
        });
    }
    Ok(StockAsk::In {
        supplier: req.supplier,
        note: note(req.note),
        lines,
    })
}

fn ask_return(s: &AppState, body: &[u8]) -> Result<StockAsk, ApiError> {
    let req: ReturnReq = parse_json(body)?;
    Ok(StockAsk::Return {
        lines: qty_lines(s, &req.lines)?,
        supplier: req.supplier,
        note: note(req.note),
    })
}

fn store_name(text: &str) -> Result<NodeId, ApiError> {
    NodeId::new(text.trim()).map_err(|_| {
        ApiError::from(tongka_actors::EngineError::Stock(
            StockError::UnknownStore {
                store: crate::error::tame(text),
            },
        ))
    })
}

fn ask_ship(s: &AppState, body: &[u8]) -> Result<StockAsk, ApiError> {
    let req: TransferReq = parse_json(body)?;
    Ok(StockAsk::Ship {
        id: s.engine().new_transfer_id(),
        to: store_name(&req.to)?,
        lines: qty_lines(s, &req.lines)?,
        note: note(req.note),
    })
}

/// A transfer this node does not know (also an id of the wrong shape,
/// which is not echoed).
pub(crate) fn unknown_transfer() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "unknown_transfer",
        "unknown transfer",
        "未知调拨单",
    )
}

pub(crate) fn transfer_id(text: &str) -> Result<TransferId, ApiError> {
    TransferId::parse(text).ok_or_else(unknown_transfer)
}

fn ask_receive(s: &AppState, id: &str, body: &[u8]) -> Result<StockAsk, ApiError> {
    let id = transfer_id(id)?;
    let req: ReceiveReq = parse_json(body)?;
    Ok(StockAsk::Receive {
        id,
        lines: qty_lines(s, &req.lines)?,
        note: note(req.note),
    })
}

fn ask_count(s: &AppState, body: &[u8]) -> Result<StockAsk, ApiError> {
    let req: StocktakeReq = parse_json(body)?;
    let mut counts = Vec::with_capacity(req.counts.len());
    for (i, c) in req.counts.iter().enumerate() {
        let at = |f: &str| {
            if f.is_empty() {
                format!("counts[{i}]")
            } else {
                format!("counts[{i}].{f}")
            }
        };
        counts.push(StockCount {
            sku: sku_of(s, c.sku.as_deref(), c.barcode.as_deref(), at)?,
            counted: qty(&c.counted, || format!("counts[{i}].counted"))?,
        });
    }
    Ok(StockAsk::Count {
        note: note(req.note),
        counts,
    })
}

fn ask_minimums(body: &[u8]) -> Result<StockAsk, ApiError> {
    let req: MinimumsReq = parse_json(body)?;
    let mut lines = Vec::with_capacity(req.lines.len());
    for (i, l) in req.lines.iter().enumerate() {
        lines.push(StockQty {
            sku: l.sku.trim().to_string(),
            qty: qty(&l.min, || format!("lines[{i}].min"))?,
        });
    }
    Ok(StockAsk::Minimums { lines })
}

/// The common path of a stock write: this node must hold stock (HQ holds
/// none), the key is read, the body parsed, and the engine decides.
async fn write(
    s: AppState,
    who: Principal,
    (method, headers, body): (Method, HeaderMap, Bytes),
    (path, required, status): (&str, bool, StatusCode),
    parse: impl FnOnce(&AppState, &[u8]) -> Result<StockAsk, ApiError>,
) -> Result<Response, ApiError> {
    let _permit = admit(&s)?;
    authorised(&s, Act::Stock)?;
    let idem = idem(&headers, &method, path, &body, required)?;
    let ask = match parse(&s, &body) {
        Ok(a) => a,
        Err(e) => return refused(&s, idem.as_ref(), status, e),
    };
    let out = s.engine().change_stock(actor(&who), idem, ask).await?;
    Ok(answered(&s, status, &out))
}

#[utoipa::path(
    post,
    path = "/api/v1/stock/in",
    operation_id = "stockIn",
    tag = "stock",
    summary = r#"Goods in from a supplier / 入库"#,
    description = r#"Store manager or owner, at a store. Each line a product by `sku` or `barcode`, a positive quantity (whole pieces for a product counted by piece) and its unit cost; on hand and its value at cost (moving average) grow. 门店入库：按商品编码或条码，数量与进价。"#,
    request_body(
        content = crate::stock::StockInReq,
        examples(("by barcode" = (value = json!({"supplier": "华东咖啡", "note": "周一到货", "lines": [{"barcode": "6901234567908", "qty": 10, "unit_cost": "18.50"}]}))))
    ),
    extensions(("x-codes" = json!([
        "idempotency_key_required", "invalid_idempotency_key", "invalid_json", "unauthorized",
        "hq_holds_no_stock", "idempotency_key_reused", "idempotency_key_in_progress",
        "unknown_product", "invalid_stock_qty", "no_stock_lines", "duplicate_stock_line",
        "too_many_stock_lines", "invalid_note", "stock_not_owner", "internal", "overloaded",
        "storage_unavailable", "payload_too_large",
        "invalid_supplier", "invalid_unit_cost",
    ]))),
    responses(
        (status = 201, description = r#"The stock change (or the first answer, replayed)."#, body = crate::render::stock::StockOutcomeView, content_type = "application/json")
    )
)]
pub(crate) async fn stock_in(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    write(
        s,
        who,
        (method, headers, body),
        ("/stock/in", true, StatusCode::CREATED),
        ask_in,
    )
    .await
}

#[utoipa::path(
    post,
    path = "/api/v1/stock/returns",
    operation_id = "stockReturn",
    tag = "stock",
    summary = r#"Goods back to a supplier / 退货"#,
    description = r#"Store manager or owner, at a store. Takes the goods off on hand at their average cost; refused `insufficient_stock` beyond what is on hand. 退货给供应商：按平均成本减少库存。"#,
    request_body(
        content = crate::stock::ReturnReq,
        examples(("one line" = (value = json!({"supplier": "华东咖啡", "lines": [{"sku": "latte", "qty": "3"}]}))))
    ),
    extensions(("x-codes" = json!([
        "idempotency_key_required", "invalid_idempotency_key", "invalid_json", "unauthorized",
        "hq_holds_no_stock", "idempotency_key_reused", "idempotency_key_in_progress",
        "unknown_product", "invalid_stock_qty", "no_stock_lines", "duplicate_stock_line",
        "too_many_stock_lines", "invalid_note", "stock_not_owner", "internal", "overloaded",
        "storage_unavailable", "payload_too_large",
        "invalid_supplier", "insufficient_stock",
    ]))),
    responses(
        (status = 201, description = r#"The stock change (or the first answer, replayed)."#, body = crate::render::stock::StockOutcomeView, content_type = "application/json")
    )
)]
pub(crate) async fn stock_return(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    write(
        s,
        who,
        (method, headers, body),
        ("/stock/returns", true, StatusCode::CREATED),
        ask_return,
    )
    .await
}

#[utoipa::path(
    post,
    path = "/api/v1/transfers",
    operation_id = "shipTransfer",
    tag = "stock",
    summary = r#"Ship a transfer to another store / 调拨发货"#,
    description = r#"Store manager or owner, at a store. The goods leave on hand here at their average cost and are in transit until the receiving store (`to`, a store of the chain this node knows) receives them. The answer's `transfer.id` names it. 调拨给本连锁的其他门店，收货前为在途。"#,
    request_body(
        content = crate::stock::TransferReq,
        examples(("one line" = (value = json!({"to": "store-2", "lines": [{"sku": "latte", "qty": "2"}]}))))
    ),
    extensions(("x-codes" = json!([
        "idempotency_key_required", "invalid_idempotency_key", "invalid_json", "unauthorized",
        "hq_holds_no_stock", "idempotency_key_reused", "idempotency_key_in_progress",
        "unknown_product", "invalid_stock_qty", "no_stock_lines", "duplicate_stock_line",
        "too_many_stock_lines", "invalid_note", "stock_not_owner", "internal", "overloaded",
        "storage_unavailable", "payload_too_large",
        "insufficient_stock", "transfer_to_self", "unknown_store", "transfer_exists",
    ]))),
    responses(
        (status = 201, description = r#"The stock change (or the first answer, replayed)."#, body = crate::render::stock::StockOutcomeView, content_type = "application/json")
    )
)]
pub(crate) async fn ship(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    write(
        s,
        who,
        (method, headers, body),
        ("/transfers", true, StatusCode::CREATED),
        ask_ship,
    )
    .await
}

#[utoipa::path(
    post,
    path = "/api/v1/transfers/{id}/receive",
    operation_id = "receiveTransfer",
    tag = "stock",
    summary = r#"Receive a transfer / 调拨收货"#,
    description = r#"Store manager or owner, at the transfer's receiving store, once. Each line what arrived of a shipped sku, at most what was shipped; a sku not given, or given short, is recorded as a shortage. 收货数量不得超过发货数量；少收记为短缺。"#,
    params(("id" = String, Path, description = r#"Transfer id, `t-<node>-<n>`."#, example = "t-store-1-12")),
    request_body(
        content = crate::stock::ReceiveReq,
        examples(("all arrived" = (value = json!({"lines": [{"sku": "latte", "qty": "2"}]}))))
    ),
    extensions(("x-codes" = json!([
        "idempotency_key_required", "invalid_idempotency_key", "invalid_json", "unauthorized",
        "hq_holds_no_stock", "idempotency_key_reused", "idempotency_key_in_progress",
        "unknown_product", "invalid_stock_qty", "no_stock_lines", "duplicate_stock_line",
        "too_many_stock_lines", "invalid_note", "stock_not_owner", "internal", "overloaded",
        "storage_unavailable", "payload_too_large",
        "unknown_transfer", "not_transfer_destination", "transfer_already_received", "receive_exceeds_shipped",
    ]))),
    responses(
        (status = 201, description = r#"The stock change (or the first answer, replayed)."#, body = crate::render::stock::StockOutcomeView, content_type = "application/json")
    )
)]
pub(crate) async fn receive(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let path = format!("/transfers/{id}/receive");
    write(
        s,
        who,
        (method, headers, body),
        (&path, true, StatusCode::CREATED),
        |s, b| ask_receive(s, &id, b),
    )
    .await
}

#[utoipa::path(
    post,
    path = "/api/v1/stocktakes",
    operation_id = "stocktake",
    tag = "stock",
    summary = r#"Stocktake / 盘点"#,
    description = r#"Store manager or owner, at a store. Each counted sku's on hand becomes the count; the answer's `variance` is the report: book, counted, counted − book and its value at cost. A sku under a transfer not yet received here is refused `stocktake_under_transfer`. 盘点：以实盘数为准，返回盘盈盘亏报告。"#,
    request_body(
        content = crate::stock::StocktakeReq,
        examples(("one count" = (value = json!({"note": "月末盘点", "counts": [{"sku": "latte", "counted": "6"}]}))))
    ),
    extensions(("x-codes" = json!([
        "idempotency_key_required", "invalid_idempotency_key", "invalid_json", "unauthorized",
        "hq_holds_no_stock", "idempotency_key_reused", "idempotency_key_in_progress",
        "unknown_product", "invalid_stock_qty", "no_stock_lines", "duplicate_stock_line",
        "too_many_stock_lines", "invalid_note", "stock_not_owner", "internal", "overloaded",
        "storage_unavailable", "payload_too_large",
        "stocktake_under_transfer",
    ]))),
    responses(
        (status = 201, description = r#"The stock change with its variance report (or the first answer, replayed)."#, body = crate::render::stock::StockOutcomeView, content_type = "application/json")
    )
)]
pub(crate) async fn stocktake(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    write(
        s,
        who,
        (method, headers, body),
        ("/stocktakes", true, StatusCode::CREATED),
        ask_count,
    )
    .await
}

#[utoipa::path(
    put,
    path = "/api/v1/stock/minimums",
    operation_id = "putStockMinimums",
    tag = "stock",
    summary = r#"Set minimums on hand / 设置安全库存"#,
    description = r#"Store manager or owner, at a store. Each line a sku's minimum on hand here (0: none); below it the sku is listed by `GET /api/v1/stock/low`. Skus not given keep theirs. 设置本店安全库存，低于此数量列入低库存清单。"#,
    request_body(
        content = crate::stock::MinimumsReq,
        examples(("one sku" = (value = json!({"lines": [{"sku": "latte", "min": "12"}]}))))
    ),
    extensions(("x-codes" = json!([
        "idempotency_key_required", "invalid_idempotency_key", "invalid_json", "unauthorized",
        "hq_holds_no_stock", "idempotency_key_reused", "idempotency_key_in_progress",
        "unknown_product", "invalid_stock_qty", "no_stock_lines", "duplicate_stock_line",
        "too_many_stock_lines", "invalid_note", "stock_not_owner", "internal", "overloaded",
        "storage_unavailable", "payload_too_large",
    ]))),
    responses(
        (status = 200, description = r#"The stock change (or the first answer, replayed)."#, body = crate::render::stock::StockOutcomeView, content_type = "application/json")
    )
)]
pub(crate) async fn minimums(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    write(
        s,
        who,
        (method, headers, body),
        ("/stock/minimums", false, StatusCode::OK),
        |_, b| ask_minimums(b),
    )
    .await
}
