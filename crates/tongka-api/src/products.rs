//! The catalogue: list, get and put products, HQ-authored.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;
use tongka_core::money::Money;
use utoipa::ToSchema;

use crate::dto::*;
use crate::*;
use tongka_core::catalogue::Product;

/// A product as the API shows it.
#[derive(Serialize, ToSchema)]
#[schema(as = Product)]
pub(crate) struct ProductView<'a> {
    #[schema(value_type = String)]
    sku: &'a str,
    #[schema(value_type = Option<String>, required = true)]
    barcode: &'a Option<String>,
    #[schema(value_type = String)]
    name: &'a str,
    #[schema(value_type = crate::openapi::Money)]
    price: Money,
    /// What each unit sold puts in the member's wallet; null: not a card product.
    card: Option<crate::render::CardPlanDto>,
    /// Its other barcodes.
    #[schema(value_type = Vec<String>)]
    barcodes: &'a [String],
    /// `whole` or `measured`.
    #[schema(value_type = String)]
    unit: tongka_core::stock::Unit,
    /// The unit as shown (件, kg).
    #[schema(value_type = String)]
    unit_label: &'a str,
    #[schema(value_type = Option<crate::openapi::Money>, required = true)]
    member_price: Option<Money>,
    #[schema(value_type = String)]
    points_multiplier: String,
    active: bool,
    #[schema(value_type = Option<String>, required = true)]
    category: Option<&'a str>,
    /// Whether stock is kept of it (never for a card product).
    stocked: bool,
    #[schema(value_type = std::collections::BTreeMap<String, crate::openapi::Money>)]
    store_prices: std::collections::BTreeMap<&'a str, Money>,
    #[schema(value_type = std::collections::BTreeMap<String, String>)]
    attributes: &'a std::collections::BTreeMap<String, String>,
}

pub(crate) fn product_view(p: &Product) -> ProductView<'_> {
    ProductView {
        sku: &p.sku,
        barcode: &p.barcode,
        name: &p.name,
        price: p.price,
        card: p.card.as_ref().map(crate::render::plan),
        barcodes: &p.barcodes,
        unit: p.unit,
        unit_label: p.label(),
        member_price: p.member_price,
        points_multiplier: p.points_multiplier.normalize().to_string(),
        active: p.active,
        category: p.category.as_ref().map(|c| c.as_str()),
        stocked: p.stock_unit().is_some(),
        store_prices: p
            .store_prices
            .iter()
            .map(|(k, v)| (k.as_str(), *v))
            .collect(),
        attributes: &p.attributes,
    }
}

#[derive(Serialize, ToSchema)]
#[schema(as = ProductList)]
struct ProductsView<'a> {
    products: Vec<ProductView<'a>>,
}

#[utoipa::path(
    get,
    path = "/api/v1/products",
    operation_id = "listProducts",
    tag = "products",
    summary = r#"The catalogue / 商品目录"#,
    description = r#"Up to 1000 products, by sku."#,
    // The refusal codes this handler answers (statuses and meanings:
    // `openapi::CODES`).
    extensions(("x-codes" = json!([
        "unauthorized", "internal", "storage_unavailable",
    ]))),
    responses(
        (status = 200, description = r#"The products."#, body = crate::products::ProductsView, content_type = "application/json")
    )
)]
pub(crate) async fn list_products(State(s): State<AppState>) -> Result<Response, ApiError> {
    let (ps, _) = s.engine().catalogue()?;
    Ok(json_answer(
        StatusCode::OK,
        &ProductsView {
            products: ps.values().take(1000).map(product_view).collect(),
        },
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/products/{sku}",
    operation_id = "getProduct",
    tag = "products",
    summary = r#"A product / 商品"#,
    params(
        ("sku" = String, Path, description = r#"Product sku: 1 to 32 ASCII letters, digits, `-` or `_`."#, example = "latte")
    ),
    // The refusal codes this handler answers (statuses and meanings:
    // `openapi::CODES`).
    extensions(("x-codes" = json!([
        "unauthorized", "unknown_product", "internal", "storage_unavailable",
        "invalid_request",
    ]))),
    responses(
        (status = 200, description = r#"The product."#, body = crate::products::ProductView, content_type = "application/json")
    )
)]
pub(crate) async fn get_product(
    State(s): State<AppState>,
    Path(sku): Path<String>,
) -> Result<Response, ApiError> {
    let p = s.engine().product(Some(&sku), None);
    let p = p.ok_or_else(|| {
        ApiError::from(tongka_actors::EngineError::from(
            tongka_core::catalogue::ProductError::Unknown(sku),
        ))
    })?;
    Ok(json_answer(StatusCode::OK, &product_view(&p)))
}

#[utoipa::path(
    put,
    path = "/api/v1/products/{sku}",
    operation_id = "putProduct",
    tag = "products",
    summary = r#"Create or replace a product / 新增或修改商品"#,
    description = r#"The catalogue is the chain's, authored by HQ (an automerge document replicated to every node); a node without a chain authors its own. At a store of a chain: 403 `catalogue_hq_only`, nothing changed. Idempotent by nature (no key). The name is trimmed. A barcode two products claim after concurrent edits (several HQ authors) stays with the lowest sku; the other shows none."#,
    params(
        ("sku" = String, Path, description = r#"Product sku: 1 to 32 ASCII letters, digits, `-` or `_`."#, example = "latte")
    ),
    request_body(
        content = crate::dto::ProductReq,
        examples(
            ("latte" = (value = json!({"name": "拿铁 Latte", "barcode": "6901234567908", "price": "32.00"}))),
            ("a count card" = (value = json!({"name": "理发10次卡", "price": "300.00", "card": {"kind": "count", "visits": 10, "days": 365, "services": ["haircut"]}}))),
            ("a period card" = (value = json!({"name": "健身月卡", "price": "199.00", "card": {"kind": "period", "days": 30, "daily_cap": 1}})))
        )
    ),
    // The refusal codes this handler answers (statuses and meanings:
    // `openapi::CODES`).
    extensions(("x-codes" = json!([
        "invalid_json", "unauthorized", "catalogue_hq_only", "barcode_taken",
        "invalid_sku", "invalid_barcode", "invalid_name", "invalid_amount",
        "invalid_card_plan", "invalid_unit", "invalid_points_multiplier",
        "invalid_attribute", "invalid_category", "unknown_category", "internal",
        "overloaded", "storage_unavailable", "payload_too_large",
    ]))),
    responses(
        (status = 200, description = r#"The product as stored."#, body = crate::products::ProductView, content_type = "application/json")
    )
)]
pub(crate) async fn put_product(
    State(s): State<AppState>,
    axum::Extension(who): axum::Extension<Principal>,
    Path(sku): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let _permit = admit(&s)?;
    authoring_catalogue(&s)?;
    let req: ProductReq = parse_json(&body)?;
    let base = s.engine().product(Some(&sku), None);
    let p = product_of(sku, req, base)?;
    let now = s.engine().change_catalogue(vec![p], actor(&who)).await?;
    let p = now
        .first()
        .ok_or_else(|| ApiError::from(tongka_actors::EngineError::Internal("no product".into())))?;
    Ok(json_answer(StatusCode::OK, &product_view(p)))
}

/// The product a request makes: API v1's fields as given, the others as
/// given or else as they are (a new product: their defaults).
fn product_of(sku: String, req: ProductReq, base: Option<Product>) -> Result<Product, ApiError> {
    let mut p = base.unwrap_or_else(|| Product::new(&sku, None, "", Money::ZERO));
    p.sku = sku;
    p.barcode = req.barcode;
    p.name = req.name.trim().to_string();
    p.price = req.price.money("price", false)?;
    p.card = req
        .card
        .map(|c| c.plan())
        .transpose()
        .map_err(crate::cards::plan_refused)?;
    if let Some(b) = req.barcodes {
        p.barcodes = b;
    }
    if let Some(u) = req.unit {
        p.unit = u;
    }
    if let Some(l) = req.unit_label {
        p.unit_label = l.trim().to_string();
    }
    if let Some(m) = req.member_price {
        p.member_price = m.map(|m| m.money("member_price", false)).transpose()?;
    }
    if let Some(m) = req.points_multiplier {
        p.points_multiplier = m.0.trim().parse::<rust_decimal::Decimal>().map_err(|_| {
            ApiError::from(tongka_actors::EngineError::from(
                tongka_core::catalogue::ProductError::PointsMultiplier,
            ))
        })?;
    }
    if let Some(a) = req.active {
        p.active = a;
    }
    if let Some(c) = req.category {
        p.category = c
            .map(tongka_core::catalogue::CategoryId::new)
            .transpose()
            .map_err(|e| {
                ApiError::from(tongka_actors::EngineError::from(
                    tongka_core::catalogue::ProductError::from(e),
                ))
            })?;
    }
    if let Some(st) = req.stocked {
        p.stocked = st;
    }
    if let Some(sp) = req.store_prices {
        let mut out = std::collections::BTreeMap::new();
        for (store, price) in sp {
            let node = tongka_core::ids::NodeId::new(store).map_err(|_| {
                ApiError::from(tongka_actors::EngineError::from(
                    tongka_core::catalogue::ProductError::StorePrice,
                ))
            })?;
            out.insert(node, price.money("store_prices", false)?);
        }
        p.store_prices = out;
    }
    if let Some(a) = req.attributes {
        p.attributes = a;
    }
    Ok(p)
}

/// A rejected row of an import (products, opening stock), its reasons in
/// both languages.
#[derive(Serialize, ToSchema)]
pub(crate) struct RejectedRow {
    /// The file's line (the header is line 1).
    line: usize,
    code: &'static str,
    message: String,
    message_zh: String,
}

impl RejectedRow {
    pub(crate) fn of(line: usize, e: &dyn tongka_core::error::DomainError) -> RejectedRow {
        RejectedRow {
            line,
            code: e.code(),
            message: e.to_string(),
            message_zh: e.message_zh(),
        }
    }
}

/// A real import with rejected rows, refused whole: `import_rejected`,
/// the rows a JSON array beside the code (as a dry run lists them).
pub(crate) fn import_rejected(rows: &[RejectedRow], what_zh: &str) -> ApiError {
    let n = rows.len();
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "import_rejected",
        format!("{n} rows are rejected; nothing was imported"),
        format!("{n} 行被拒绝，未导入任何{what_zh}"),
    )
    .with_json(
        "rejected",
        serde_json::to_value(rows).unwrap_or(serde_json::Value::Null),
    )
}

#[derive(Serialize, ToSchema)]
#[schema(as = ProductImport)]
pub(crate) struct ImportView {
    dry_run: bool,
    /// Rows that are (or, in a dry run, would be) imported.
    accepted: usize,
    /// Of them, products new or changed (0 on a run again).
    changed: usize,
    rejected: Vec<RejectedRow>,
}

#[utoipa::path(
    post,
    path = "/api/v1/products/import",
    operation_id = "importProducts",
    tag = "products",
    summary = r#"Import products from CSV / 导入商品 (CSV)"#,
    description = r#"A `text/csv` body: a header row (English or Chinese column names: README) and one product per row; a row sets only the columns the file has. `?dry_run=true` lists every rejected row (its line, code and reasons) and changes nothing. A real run with any rejected row is refused whole (`import_rejected`, the rows listed); otherwise it is one catalogue change. Running it again changes nothing."#,
    params(("dry_run" = Option<bool>, Query, description = r#"true: check only."#)),
    request_body(content = String, content_type = "text/csv"),
    extensions(("x-codes" = json!([
        "unauthorized", "catalogue_hq_only", "invalid_csv", "invalid_csv_header",
        "too_many_rows", "import_rejected", "invalid_import_query", "internal",
        "overloaded", "storage_unavailable", "payload_too_large",
    ]))),
    responses(
        (status = 200, description = r#"What was (or would be) imported, and the rows rejected."#, body = crate::products::ImportView, content_type = "application/json")
    )
)]
pub(crate) async fn import_products(
    State(s): State<AppState>,
    axum::Extension(who): axum::Extension<Principal>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let _permit = admit(&s)?;
    authoring_catalogue(&s)?;
    let dry_run = match query.as_deref() {
        None | Some("") | Some("dry_run=false") => false,
        Some("dry_run=true") => true,
        Some(_) => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_import_query",
                "the only parameter is dry_run=true or dry_run=false",
                "唯一的参数是 dry_run=true 或 dry_run=false",
            ));
        }
    };
    use tongka_core::catalogue::import;
    let text = std::str::from_utf8(&body).map_err(|_| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_csv",
            "the body is not UTF-8 text",
            "内容不是 UTF-8 文本",
        )
    })?;
    let (current, cats) = s.engine().catalogue()?;
    let plan = import::plan(text, &current, &cats)
        .map_err(|e| ApiError::from_domain(StatusCode::UNPROCESSABLE_ENTITY, &e))?;
    let rejected: Vec<RejectedRow> = plan
        .rejected
        .iter()
        .map(|(line, e)| RejectedRow::of(*line, e))
        .collect();
    let changed = plan
        .products
        .iter()
        .filter(|(_, p)| current.get(&p.sku) != Some(p))
        .count();
    let view = ImportView {
        dry_run,
        accepted: plan.products.len(),
        changed,
        rejected,
    };
    if !dry_run && !view.rejected.is_empty() {
        return Err(import_rejected(&view.rejected, "商品"));
    }
    if !dry_run && changed > 0 {
        let products: Vec<Product> = plan.products.into_iter().map(|(_, p)| p).collect();
        s.engine().change_catalogue(products, actor(&who)).await?;
    }
    Ok(json_answer(StatusCode::OK, &view))
}

pub(crate) fn authoring_catalogue(s: &AppState) -> Result<(), ApiError> {
    crate::authorised(s, tongka_core::authority::Act::AuthorCatalogue)
}
