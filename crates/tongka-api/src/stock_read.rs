//! Reading the chain's stock as this node holds it (库存查询): on hand and
//! its value per store and sku, the low-stock list, transfers, the
//! movement ledger a page at a time, the below-zero report and stock value.
//! Every answer says how fresh it is (`as_of`: this node's version vector,
//! how many ops of each node it holds), since other stores' stock reaches
//! it by replication.

use std::collections::{BTreeMap, BTreeSet};

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use rust_decimal::Decimal;
use serde::Serialize;
use tongka_core::ids::NodeId;
use tongka_core::money::Money;
use tongka_core::stock::TransferState;
use utoipa::ToSchema;

use crate::render::Text;
use crate::render::stock::{
    LedgerView, MovementRecordView, TransferView, ledger, movement_record, transfer,
};
use crate::stock::transfer_id;
use crate::*;

/// Movements a page holds when `limit` is not given, and at most.
const PAGE_DEFAULT: usize = 50;
const PAGE_MAX: usize = 500;
/// Pages of movements the below-zero report examines at most.
const BELOW_ZERO_SCAN: usize = 40;

type AsOf = BTreeMap<String, u64>;

fn as_of(s: &AppState) -> AsOf {
    let sum = s.engine().db().summary();
    sum.vv.iter().map(|(n, q)| (n.to_string(), q)).collect()
}

fn bad(field: &str, en: &str, zh: &str) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        format!("{field}: {en}"),
        format!("{field}：{zh}"),
    )
    .with("field", field)
}

/// The query's parameters: each at most once, only those `allowed`; an
/// empty value is as if not given.
pub(crate) fn params<'a>(
    pairs: &'a [(String, String)],
    allowed: &[&str],
) -> Result<BTreeMap<&'a str, &'a str>, ApiError> {
    let mut out = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for (k, v) in pairs {
        if !allowed.contains(&k.as_str()) {
            return Err(bad(
                "query",
                &format!("unknown parameter: give {}", allowed.join(", ")),
                &format!("未知参数：可用 {}", allowed.join("、")),
            ));
        }
        if !seen.insert(k.as_str()) {
            return Err(bad(k, "given twice", "重复给出"));
        }
        if !v.is_empty() {
            out.insert(k.as_str(), v.as_str());
        }
    }
    Ok(out)
}

fn store_param(p: &BTreeMap<&str, &str>) -> Result<Option<NodeId>, ApiError> {
    p.get("store")
        .map(|v| {
            NodeId::new(*v).map_err(|_| {
                bad(
                    "store",
                    "a node name is 1 to 32 of a-z, 0-9 and -, starting with a letter",
                    "门店名应为 1 到 32 个 a-z、0-9 或 -，以字母开头",
                )
            })
        })
        .transpose()
}

/// One store's stock of one sku.
#[derive(Serialize, ToSchema)]
#[schema(as = StockItem)]
pub(crate) struct ItemView {
    #[schema(value_type = crate::openapi::NodeName)]
    store: NodeId,
    #[schema(examples("cola"))]
    sku: String,
    #[serde(flatten)]
    ledger: LedgerView,
    /// The store's minimum on hand; null when none is set.
    #[schema(value_type = Option<crate::openapi::Decimal>, required = true)]
    min: Option<Text<Decimal>>,
    /// On hand below the minimum.
    low: bool,
}

/// Stock per store and sku.
#[derive(Serialize, ToSchema)]
#[schema(as = StockList)]
pub(crate) struct ItemsView {
    /// How fresh: the ops of each node this node holds (its version
    /// vector).
    #[schema(value_type = Object)]
    as_of: AsOf,
    /// By store, then sku.
    items: Vec<ItemView>,
}

/// The skus of `category` and of its subcategories, by the catalogue held
/// (`None`: no category filter). An unknown category is refused.
fn skus_in(s: &AppState, category: Option<&str>) -> Result<Option<BTreeSet<String>>, ApiError> {
    let Some(c) = category else {
        return Ok(None);
    };
    let (products, cats) = s.engine().catalogue().map_err(ApiError::from)?;
    let id = tongka_core::catalogue::CategoryId::new(c)
        .ok()
        .filter(|id| cats.contains_key(id))
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "unknown_category",
                format!("unknown category {c:?}"),
                format!("未知商品分类 {c:?}"),
            )
            .with("field", "category")
        })?;
    Ok(Some(
        products
            .values()
            .filter(|p| {
                p.category.as_ref().is_some_and(|pc| {
                    tongka_core::catalogue::lineage(&cats, pc)
                        .iter()
                        .any(|a| a.id == id)
                })
            })
            .map(|p| p.sku.clone())
            .collect(),
    ))
}

/// Every (store, sku) with stock or a minimum, filtered.
fn items(s: &AppState, store: Option<&NodeId>, sku: Option<&str>) -> Vec<ItemView> {
    s.engine().with_stock(|book| {
        let mut keys: BTreeSet<(NodeId, String)> = BTreeSet::new();
        for (n, st) in &book.stores {
            keys.extend(st.items.keys().map(|k| (n.clone(), k.clone())));
        }
        for (n, mins) in &book.minimums {
            keys.extend(mins.keys().map(|k| (n.clone(), k.clone())));
        }
        keys.into_iter()
            .filter(|(n, k)| store.is_none_or(|s| s == n) && sku.is_none_or(|s| s == k))
            .map(|(n, k)| {
                let l = book.ledger(&n, &k);
                let min = book
                    .minimums
                    .get(&n)
                    .and_then(|m| m.get(&k))
                    .copied()
                    .filter(|m| !m.is_zero());
                ItemView {
                    low: min.is_some_and(|m| l.on_hand < m),
                    min: min.map(Text),
                    ledger: ledger(&l),
                    store: n,
                    sku: k,
                }
            })
            .collect()
    })
}

#[utoipa::path(
    get,
    path = "/api/v1/stock",
    operation_id = "listStock",
    tag = "stock",
    summary = r#"Stock on hand / 库存"#,
    description = r#"On hand, its value at cost and the minimum per store and sku, as this node holds it (other stores' stock as replicated so far: see `as_of`). Filters: `store`, `sku`, `category` (the category and every subcategory under it, by the catalogue this node holds). 各门店各商品的库存与成本金额，可按门店、商品、分类（含子分类）筛选。"#,
    params(
        ("store" = Option<String>, Query, description = r#"Only this store."#),
        ("sku" = Option<String>, Query, description = r#"Only this sku."#),
        ("category" = Option<String>, Query, description = r#"Only products of this category or one under it."#),
    ),
    extensions(("x-codes" = json!(["unauthorized", "invalid_request", "unknown_category"]))),
    responses(
        (status = 200, description = r#"The stock."#, body = crate::stock_read::ItemsView, content_type = "application/json")
    )
)]
pub(crate) async fn list(
    State(s): State<AppState>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let p = params(&pairs, &["store", "sku", "category"])?;
    let store = store_param(&p)?;
    let of = skus_in(&s, p.get("category").copied())?;
    let mut items = items(&s, store.as_ref(), p.get("sku").copied());
    if let Some(of) = of {
        items.retain(|i| of.contains(&i.sku));
    }
    let body = ItemsView {
        as_of: as_of(&s),
        items,
    };
    Ok(json_answer(StatusCode::OK, &body))
}

#[utoipa::path(
    get,
    path = "/api/v1/stock/low",
    operation_id = "lowStock",
    tag = "stock",
    summary = r#"Below the minimum / 低库存"#,
    description = r#"Every store's skus whose on hand is below the store's minimum (`PUT /api/v1/stock/minimums`). 低于安全库存的商品。"#,
    params(("store" = Option<String>, Query, description = r#"Only this store."#)),
    extensions(("x-codes" = json!(["unauthorized", "invalid_request"]))),
    responses(
        (status = 200, description = r#"The low items."#, body = crate::stock_read::ItemsView, content_type = "application/json")
    )
)]
pub(crate) async fn low(
    State(s): State<AppState>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let p = params(&pairs, &["store"])?;
    let store = store_param(&p)?;
    let mut items = items(&s, store.as_ref(), None);
    items.retain(|i| i.low);
    let body = ItemsView {
        as_of: as_of(&s),
        items,
    };
    Ok(json_answer(StatusCode::OK, &body))
}

/// Transfers.
#[derive(Serialize, ToSchema)]
#[schema(as = TransferList)]
pub(crate) struct TransfersView<'a> {
    #[schema(value_type = Object)]
    as_of: AsOf,
    /// By id.
    transfers: Vec<TransferView<'a>>,
}

#[utoipa::path(
    get,
    path = "/api/v1/transfers",
    operation_id = "listTransfers",
    tag = "stock",
    summary = r#"Transfers / 调拨单"#,
    description = r#"The chain's transfers as this node knows them. `status`: `in_transit` or `received`; `store`: shipped from or to it. 调拨单列表。"#,
    params(
        ("status" = Option<String>, Query, description = r#"`in_transit` or `received`."#),
        ("store" = Option<String>, Query, description = r#"Shipped from or to this store."#),
    ),
    extensions(("x-codes" = json!(["unauthorized", "invalid_request"]))),
    responses(
        (status = 200, description = r#"The transfers."#, body = crate::stock_read::TransfersView, content_type = "application/json")
    )
)]
pub(crate) async fn transfers(
    State(s): State<AppState>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let p = params(&pairs, &["status", "store"])?;
    let store = store_param(&p)?;
    let received = match p.get("status").copied() {
        None => None,
        Some("in_transit") => Some(false),
        Some("received") => Some(true),
        Some(_) => {
            return Err(bad(
                "status",
                "in_transit or received",
                "应为 in_transit 或 received",
            ));
        }
    };
    let as_of = as_of(&s);
    let body = s.engine().with_stock(|book| {
        let list: Vec<&TransferState> = book
            .transfers
            .by_id
            .values()
            .filter(|t| {
                received.is_none_or(|r| r == matches!(t, TransferState::Received { .. }))
                    && store.as_ref().is_none_or(|n| {
                        let sh = t.shipment();
                        &sh.from == n || &sh.to == n
                    })
            })
            .collect();
        serde_json::to_value(TransfersView {
            as_of,
            transfers: list.into_iter().map(transfer).collect(),
        })
    });
    let body = body.map_err(|e| tongka_actors::EngineError::Internal(e.to_string()))?;
    Ok(json_answer(StatusCode::OK, &body))
}

/// One transfer, and how fresh.
#[derive(Serialize, ToSchema)]
#[schema(as = TransferAnswer)]
pub(crate) struct OneTransferView<'a> {
    #[schema(value_type = Object)]
    as_of: AsOf,
    transfer: TransferView<'a>,
}

#[utoipa::path(
    get,
    path = "/api/v1/transfers/{id}",
    operation_id = "getTransfer",
    tag = "stock",
    summary = r#"One transfer / 调拨单详情"#,
    description = r#"What was shipped, and what was received once it is. 调拨单：发货与收货明细。"#,
    params(("id" = String, Path, description = r#"Transfer id, `t-<node>-<n>`."#, example = "t-store-1-12")),
    extensions(("x-codes" = json!(["unauthorized", "unknown_transfer"]))),
    responses(
        (status = 200, description = r#"The transfer."#, body = crate::stock_read::OneTransferView, content_type = "application/json")
    )
)]
pub(crate) async fn one_transfer(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = transfer_id(&id)?;
    let as_of = as_of(&s);
    let body = s.engine().with_stock(|book| {
        book.transfers.get(&id).map(|t| {
            serde_json::to_value(OneTransferView {
                as_of,
                transfer: transfer(t),
            })
        })
    });
    match body {
        Some(Ok(v)) => Ok(json_answer(StatusCode::OK, &v)),
        Some(Err(e)) => Err(tongka_actors::EngineError::Internal(e.to_string()).into()),
        None => Err(crate::stock::unknown_transfer()),
    }
}

/// A page of movements.
#[derive(Serialize, ToSchema)]
#[schema(as = StockMovementPage)]
pub(crate) struct MovementsView<'a> {
    #[schema(value_type = Object)]
    as_of: AsOf,
    /// Newest first.
    movements: Vec<MovementRecordView<'a>>,
    /// Give it as `cursor` for the next page; null when done.
    #[schema(required = true, examples("1717000000000-3"))]
    next: Option<String>,
}

fn cursor(v: &str) -> Result<(u64, u32), ApiError> {
    v.split_once('-')
        .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)))
        .ok_or_else(|| {
            bad(
                "cursor",
                "not a cursor this API gave",
                "不是本接口给出的游标",
            )
        })
}

fn this_or(s: &AppState, store: Option<NodeId>) -> NodeId {
    store.unwrap_or_else(|| s.engine().node().clone())
}

#[utoipa::path(
    get,
    path = "/api/v1/stock/movements",
    operation_id = "stockMovements",
    tag = "stock",
    summary = r#"Stock movements / 库存流水"#,
    description = r#"A store's movements (this node's store when `store` is not given), of one sku or all, newest first, a page at a time: give the answer's `next` as `cursor`. `limit` 1 to 500 (default 50). 库存流水，分页。"#,
    params(
        ("store" = Option<String>, Query, description = r#"The store (default: this node)."#),
        ("sku" = Option<String>, Query, description = r#"Only this sku."#),
        ("cursor" = Option<String>, Query, description = r#"The previous page's `next`."#),
        ("limit" = Option<u32>, Query, description = r#"1 to 500."#),
    ),
    extensions(("x-codes" = json!(["unauthorized", "invalid_request", "internal", "storage_unavailable"]))),
    responses(
        (status = 200, description = r#"A page."#, body = crate::stock_read::MovementsView, content_type = "application/json")
    )
)]
pub(crate) async fn movements(
    State(s): State<AppState>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let p = params(&pairs, &["store", "sku", "cursor", "limit"])?;
    let store = this_or(&s, store_param(&p)?);
    let before = p.get("cursor").map(|c| cursor(c)).transpose()?;
    let limit = match p.get("limit") {
        None => PAGE_DEFAULT,
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=PAGE_MAX).contains(n))
            .ok_or_else(|| bad("limit", "1 to 500", "应为 1 到 500"))?,
    };
    let (page, next) = s
        .engine()
        .movements(&store, p.get("sku").copied(), before, limit)?;
    let body = MovementsView {
        as_of: as_of(&s),
        movements: page.iter().map(movement_record).collect(),
        next: next.map(|(a, b)| format!("{a}-{b}")),
    };
    Ok(json_answer(StatusCode::OK, &body))
}

/// The sales that took a store's stock below zero.
#[derive(Serialize, ToSchema)]
#[schema(as = BelowZeroReport)]
pub(crate) struct BelowZeroView<'a> {
    #[schema(value_type = Object)]
    as_of: AsOf,
    /// Newest first.
    movements: Vec<MovementRecordView<'a>>,
    /// True when older movements were not examined (the report looks at
    /// the newest 20000).
    truncated: bool,
}

#[utoipa::path(
    get,
    path = "/api/v1/stock/below-zero",
    operation_id = "stockBelowZero",
    tag = "stock",
    summary = r#"Sales below zero / 负库存销售"#,
    description = r#"A store's movements flagged `below_zero` (a sale allowed by `negative_stock: allow` that took on hand below zero), newest first, among its newest 20000 movements. 负库存销售报告。"#,
    params(("store" = Option<String>, Query, description = r#"The store (default: this node)."#)),
    extensions(("x-codes" = json!(["unauthorized", "invalid_request", "internal", "storage_unavailable"]))),
    responses(
        (status = 200, description = r#"The report."#, body = crate::stock_read::BelowZeroView, content_type = "application/json")
    )
)]
pub(crate) async fn below_zero(
    State(s): State<AppState>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let p = params(&pairs, &["store"])?;
    let store = this_or(&s, store_param(&p)?);
    let mut found = Vec::new();
    let mut before = None;
    let mut truncated = false;
    for i in 0..BELOW_ZERO_SCAN {
        let (page, next) = s.engine().movements(&store, None, before, PAGE_MAX)?;
        found.extend(page.into_iter().filter(|r| r.movement.below_zero));
        match next {
            None => break,
            Some(n) => before = Some(n),
        }
        truncated = i + 1 == BELOW_ZERO_SCAN;
    }
    let body = BelowZeroView {
        as_of: as_of(&s),
        movements: found.iter().map(movement_record).collect(),
        truncated,
    };
    Ok(json_answer(StatusCode::OK, &body))
}

/// A store's stock value.
#[derive(Serialize, ToSchema)]
#[schema(as = StoreStockValue)]
pub(crate) struct StoreValueView {
    #[schema(value_type = crate::openapi::NodeName)]
    store: NodeId,
    /// On hand at cost.
    #[schema(value_type = crate::openapi::SignedMoney)]
    value: Money,
}

/// Stock value at cost.
#[derive(Serialize, ToSchema)]
#[schema(as = StockValue)]
pub(crate) struct ValueView {
    #[schema(value_type = Object)]
    as_of: AsOf,
    /// By store.
    stores: Vec<StoreValueView>,
    /// Goods shipped and not yet received, at the sender's cost.
    #[schema(value_type = crate::openapi::Money)]
    in_transit: Money,
    /// The stores' value plus in transit.
    #[schema(value_type = crate::openapi::SignedMoney)]
    chain: Money,
}

#[utoipa::path(
    get,
    path = "/api/v1/stock/value",
    operation_id = "stockValue",
    tag = "stock",
    summary = r#"Stock value at cost / 库存金额"#,
    description = r#"Each store's on hand at cost (moving average), goods in transit at the sender's cost, and the chain's total, as this node holds them. 各门店及全连锁库存成本金额。"#,
    extensions(("x-codes" = json!(["unauthorized"]))),
    responses(
        (status = 200, description = r#"The value."#, body = crate::stock_read::ValueView, content_type = "application/json")
    )
)]
pub(crate) async fn value(State(s): State<AppState>) -> Result<Response, ApiError> {
    let (stores, in_transit) = s.engine().with_stock(|book| {
        let stores: Vec<StoreValueView> = book
            .stores
            .iter()
            .map(|(n, st)| StoreValueView {
                store: n.clone(),
                value: st.items.values().map(|l| l.value).sum(),
            })
            .collect();
        let in_transit: Money = book.transfers.in_transit().map(|(_, l)| l.value).sum();
        (stores, in_transit)
    });
    let chain = stores.iter().map(|v| v.value).sum::<Money>() + in_transit;
    let body = ValueView {
        as_of: as_of(&s),
        stores,
        in_transit,
        chain,
    };
    Ok(json_answer(StatusCode::OK, &body))
}
