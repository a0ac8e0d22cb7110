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
}

pub(crate) fn product_view(p: &Product) -> ProductView<'_> {
    ProductView {
        sku: &p.sku,
        barcode: &p.barcode,
        name: &p.name,
        price: p.price,
        card: p.card.as_ref().map(crate::render::plan),
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
    let ps = s
        .engine()
        .db()
        .products(1000)
        .map_err(tongka_actors::EngineError::from)?;
    Ok(json_answer(
        StatusCode::OK,
        &ProductsView {
            products: ps.iter().map(product_view).collect(),
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
    let p = s
        .engine()
        .db()
        .product(&sku)
        .map_err(tongka_actors::EngineError::from)?;
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
        "invalid_card_plan", "internal",
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
    let p = Product {
        sku,
        barcode: req.barcode,
        name: req.name.trim().to_string(),
        price: req.price.money("price", false)?,
        card: req
            .card
            .map(|c| c.plan())
            .transpose()
            .map_err(crate::cards::plan_refused)?,
    };
    let now = s.engine().change_catalogue(vec![p], actor(&who)).await?;
    let p = now
        .first()
        .ok_or_else(|| ApiError::from(tongka_actors::EngineError::Internal("no product".into())))?;
    Ok(json_answer(StatusCode::OK, &product_view(p)))
}

pub(crate) fn authoring_catalogue(s: &AppState) -> Result<(), ApiError> {
    crate::authorised(s, tongka_core::authority::Act::AuthorCatalogue)
}
