//! The catalogue: list, get and put products, HQ-authored.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use serde_json::{Value, json};

use crate::dto::*;
use crate::*;
use tongka_core::catalogue::Product;

pub(crate) fn product_json(p: &Product) -> Value {
    json!({"sku": p.sku, "barcode": p.barcode, "name": p.name, "price": p.price})
}

pub(crate) async fn list_products(State(s): State<AppState>) -> Result<Json<Value>, ApiError> {
    let ps = s
        .engine()
        .store()
        .products(1000)
        .map_err(tongka_actors::EngineError::from)?;
    Ok(Json(
        json!({ "products": ps.iter().map(product_json).collect::<Vec<_>>() }),
    ))
}

pub(crate) async fn get_product(
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

pub(crate) async fn put_product(
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

pub(crate) fn authoring_catalogue(s: &AppState) -> Result<(), ApiError> {
    authoring_hq_document(
        s,
        "catalogue_hq_only",
        "the catalogue (products and prices) is authored by HQ for the whole chain; change it at the HQ node",
        "商品目录（商品与价格）由总部统一维护，请在总部节点修改",
    )
}
