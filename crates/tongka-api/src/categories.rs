//! Categories of the catalogue: a tree HQ authors (`tongka_core::catalogue`
//! `category`), each defining attributes its subcategories inherit.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;
use tongka_core::catalogue::{Categories, Category, CategoryError, CategoryId, ProductError};
use utoipa::ToSchema;

use crate::dto::*;
use crate::*;

/// A category as the API shows it.
#[derive(Serialize, ToSchema)]
#[schema(as = Category)]
pub(crate) struct CategoryView<'a> {
    #[schema(value_type = String)]
    id: &'a str,
    #[schema(value_type = String)]
    name: &'a str,
    /// Null: a root. After concurrent moves made a cycle, the cycle's
    /// lowest id shows as a root.
    #[schema(value_type = Option<String>, required = true)]
    parent: Option<&'a str>,
    /// The attributes it defines.
    #[schema(value_type = Vec<String>)]
    attributes: &'a [String],
    /// What its products may carry: its own and every parent's, nearest first.
    inherited: Vec<String>,
}

fn view<'a>(cats: &'a Categories, c: &'a Category) -> CategoryView<'a> {
    CategoryView {
        id: c.id.as_str(),
        name: &c.name,
        parent: c.parent.as_ref().map(|p| p.as_str()),
        attributes: &c.attributes,
        inherited: tongka_core::catalogue::attributes_of(cats, &c.id),
    }
}

#[derive(Serialize, ToSchema)]
#[schema(as = CategoryList)]
struct CategoriesView<'a> {
    categories: Vec<CategoryView<'a>>,
}

fn refused(e: CategoryError) -> ApiError {
    ApiError::from(tongka_actors::EngineError::from(ProductError::from(e)))
}

#[utoipa::path(
    get,
    path = "/api/v1/categories",
    operation_id = "listCategories",
    tag = "products",
    summary = r#"The category tree / 商品分类"#,
    extensions(("x-codes" = json!(["unauthorized", "internal"]))),
    responses(
        (status = 200, description = r#"Every category, by id."#, body = crate::categories::CategoriesView, content_type = "application/json")
    )
)]
pub(crate) async fn list_categories(State(s): State<AppState>) -> Result<Response, ApiError> {
    let (_, cats) = s.engine().catalogue()?;
    Ok(json_answer(
        StatusCode::OK,
        &CategoriesView {
            categories: cats.values().map(|c| view(&cats, c)).collect(),
        },
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/categories/{id}",
    operation_id = "getCategory",
    tag = "products",
    summary = r#"A category / 分类"#,
    params(("id" = String, Path, description = r#"1 to 32 ASCII letters, digits, `-` or `_`."#, example = "fruit")),
    extensions(("x-codes" = json!(["unauthorized", "unknown_category", "internal"]))),
    responses(
        (status = 200, description = r#"The category."#, body = crate::categories::CategoryView, content_type = "application/json")
    )
)]
pub(crate) async fn get_category(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (_, cats) = s.engine().catalogue()?;
    let c = cats
        .values()
        .find(|c| c.id.as_str() == id)
        .ok_or_else(|| refused(CategoryError::Unknown(id.chars().take(32).collect())))?;
    Ok(json_answer(StatusCode::OK, &view(&cats, c)))
}

#[utoipa::path(
    put,
    path = "/api/v1/categories/{id}",
    operation_id = "putCategory",
    tag = "products",
    summary = r#"Create, rename or move a category / 新增、改名或移动分类"#,
    description = r#"HQ authors categories (as the catalogue). A parent must exist; a move under the category itself or one of its subcategories is refused (`category_cycle`). Attributes are names its products (and its subcategories' products) may carry."#,
    params(("id" = String, Path, description = r#"1 to 32 ASCII letters, digits, `-` or `_`."#, example = "fruit")),
    request_body(content = crate::dto::CategoryReq),
    extensions(("x-codes" = json!([
        "invalid_json", "unauthorized", "catalogue_hq_only", "invalid_category",
        "invalid_name", "invalid_attribute", "unknown_category", "category_cycle",
        "internal", "overloaded", "storage_unavailable", "payload_too_large",
    ]))),
    responses(
        (status = 200, description = r#"The category as stored."#, body = crate::categories::CategoryView, content_type = "application/json")
    )
)]
pub(crate) async fn put_category(
    State(s): State<AppState>,
    axum::Extension(who): axum::Extension<Principal>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let _permit = admit(&s)?;
    crate::products::authoring_catalogue(&s)?;
    let req: CategoryReq = parse_json(&body)?;
    let id = CategoryId::new(id).map_err(refused)?;
    let parent = req
        .parent
        .map(CategoryId::new)
        .transpose()
        .map_err(refused)?;
    let c = Category {
        id: id.clone(),
        name: req.name.trim().to_string(),
        parent,
        attributes: req
            .attributes
            .iter()
            .map(|a| a.trim().to_string())
            .collect(),
    };
    let cats = s.engine().change_categories(vec![c], actor(&who)).await?;
    let c = cats.get(&id).ok_or_else(|| {
        ApiError::from(tongka_actors::EngineError::Internal("no category".into()))
    })?;
    Ok(json_answer(StatusCode::OK, &view(&cats, c)))
}
