//! The catalogue: list, get and put products, HQ-authored.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;
use tongka_core::money::Money;

use crate::dto::*;
use crate::*;
use tongka_core::catalogue::Product;

/// A product as the API shows it.
#[derive(Serialize)]
pub(crate) struct ProductView<'a> {
    sku: &'a str,
    barcode: &'a Option<String>,
    name: &'a str,
    price: Money,
}

pub(crate) fn product_view(p: &Product) -> ProductView<'_> {
    ProductView {
        sku: &p.sku,
        barcode: &p.barcode,
        name: &p.name,
        price: p.price,
    }
}

#[derive(Serialize)]
struct ProductsView<'a> {
    products: Vec<ProductView<'a>>,
}

pub(crate) async fn list_products(State(s): State<AppState>) -> Result<Response, ApiError> {
    let ps = s
        .engine()
        .store()
        .products(1000)
        .map_err(tongka_actors::EngineError::from)?;
    Ok(json_answer(
        StatusCode::OK,
        &ProductsView {
            products: ps.iter().map(product_view).collect(),
        },
    ))
}

pub(crate) async fn get_product(
    State(s): State<AppState>,
    Path(sku): Path<String>,
) -> Result<Response, ApiError> {
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
    Ok(json_answer(StatusCode::OK, &product_view(&p)))
}

pub(crate) async fn put_product(
    State(s): State<AppState>,
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
    };
    let now = s.engine().change_catalogue(vec![p], actor()).await?;
    let p = now
        .first()
        .ok_or_else(|| ApiError::from(tongka_actors::EngineError::Internal("no product".into())))?;
    Ok(json_answer(StatusCode::OK, &product_view(p)))
}

pub(crate) fn authoring_catalogue(s: &AppState) -> Result<(), ApiError> {
    crate::authorised(s, tongka_core::authority::Act::AuthorCatalogue)
}
