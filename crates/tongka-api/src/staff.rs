//! Staff accounts over HTTP (员工): `GET`/`POST /staff`, `GET`/`PATCH
//! /staff/{id}`. Who may manage whom is the core's (`staff::may_manage`):
//! HQ admin and the owner anyone, a store manager the cashiers and store
//! managers of their own stores. Anyone may change their own password,
//! giving the current one. Passwords are hashed here (`password`), before
//! the engine makes the op.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use tongka_core::ids::{NodeId, StaffId};
use tongka_core::staff::{
    self, Action, Role, StaffAccount, StaffBook, StaffError, StaffPatch, may_manage,
};
use utoipa::ToSchema;

use crate::auth::{Principal, forbidden};
use crate::dto::{double_option, parse_json};
use crate::render::{StaffListView, staff as view};
use crate::*;

/// A new staff account.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = StaffCreateRequest)]
pub(crate) struct CreateReq {
    /// 2 to 32 of a-z, 0-9, '.', '_' and '-' (upper case is lowered).
    #[schema(examples("li.na"))]
    login: String,
    /// 1 to 40 characters, no control or invisible ones.
    #[schema(examples("李娜"))]
    name: String,
    /// `cashier`, `store_manager`, `hq_finance`, `hq_admin` or `owner`.
    #[schema(examples("cashier"))]
    role: String,
    /// The stores a cashier or store manager works at (at least one);
    /// ignored for HQ roles and the owner.
    #[serde(default)]
    #[schema(value_type = Vec<crate::openapi::NodeName>)]
    stores: Vec<String>,
    /// 8 to 128 characters.
    #[schema(examples("correct horse"))]
    password: String,
}

/// A change of a staff account: only the fields given change.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = StaffPatchRequest)]
pub(crate) struct PatchReq {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<crate::openapi::NodeName>>)]
    stores: Option<Vec<String>>,
    #[serde(default)]
    disabled: Option<bool>,
    /// A new password (8 to 128 characters).
    #[serde(default)]
    password: Option<String>,
    /// The current password: needed when changing one's own password.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    current_password: Option<Option<String>>,
}

fn refused(e: StaffError) -> ApiError {
    ApiError::from(tongka_actors::EngineError::from(e))
}

fn invalid_role() -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_role",
        "role must be one of cashier, store_manager, hq_finance, hq_admin, owner",
        "角色应为 cashier（收银员）、store_manager（店长）、hq_finance（总部财务）、hq_admin（总部管理员）或 owner（店主）",
    )
    .with("field", "role")
}

fn role(text: &str) -> Result<Role, ApiError> {
    Role::parse(text).ok_or_else(invalid_role)
}

/// Store names given by a client, checked and sorted; for an HQ role or
/// the owner, none are kept.
fn stores(role: Role, given: &[String]) -> Result<Vec<NodeId>, ApiError> {
    if !role.is_store_role() {
        return Ok(Vec::new());
    }
    let mut out = Vec::with_capacity(given.len());
    for (i, s) in given.iter().enumerate() {
        let n = NodeId::new(s).map_err(|_| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_stores",
                format!("stores[{i}] is not a store name (lower-case letters, digits and '-')"),
                format!("stores[{i}] 不是门店名称（小写字母、数字和“-”）"),
            )
            .with("field", format!("stores[{i}]"))
        })?;
        out.push(n);
    }
    out.sort();
    out.dedup();
    staff::check_stores(&out).map_err(refused)?;
    if out.is_empty() {
        return Err(refused(StaffError::StoresRequired));
    }
    Ok(out)
}

/// A typed password checked and hashed.
async fn hashed(p: &str) -> Result<String, ApiError> {
    staff::check_password(p).map_err(refused)?;
    crate::password::hash(p.to_string()).await
}

/// Whether `who` may see or manage `a`.
fn may_touch(who: &Principal, a: &StaffAccount) -> Result<(), ApiError> {
    match who.account() {
        None => Ok(()),
        Some(me) => may_manage(me.role, &me.stores, a.role, &a.stores)
            .map_err(|e| forbidden(e.role, e.action)),
    }
}

fn staff_id(text: &str) -> Result<StaffId, ApiError> {
    StaffId::parse(text).ok_or_else(|| refused(StaffError::NotFound))
}

fn found<'a>(book: &'a StaffBook, id: &StaffId) -> Result<&'a StaffAccount, ApiError> {
    book.get(id).ok_or_else(|| refused(StaffError::NotFound))
}

#[utoipa::path(
    get,
    path = "/api/v1/staff",
    operation_id = "listStaff",
    tag = "staff",
    summary = r#"Staff accounts / 员工列表"#,
    description = r#"Needs `manage_staff`. HQ admin and the owner see every account of the chain; a store manager the cashiers and store managers of their stores. By login."#,
    extensions(("x-codes" = json!(["unauthorized", "session_expired", "account_disabled", "not_at_this_store", "forbidden_for_role"]))),
    responses(
        (status = 200, description = r#"The accounts."#, body = crate::render::StaffListView, content_type = "application/json")
    )
)]
pub(crate) async fn list(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
) -> Result<Response, ApiError> {
    let book = s.engine().staff();
    let mut list: Vec<&StaffAccount> = book.iter().filter(|a| may_touch(&who, a).is_ok()).collect();
    list.sort_by(|a, b| a.login.cmp(&b.login).then(a.id.cmp(&b.id)));
    let body = StaffListView {
        staff: list.into_iter().map(|a| view(a, &book)).collect(),
    };
    Ok(json_answer(StatusCode::OK, &body))
}

#[utoipa::path(
    post,
    path = "/api/v1/staff",
    operation_id = "createStaff",
    tag = "staff",
    summary = r#"Create a staff account / 新增员工"#,
    description = r#"Needs `manage_staff`; a store manager creates cashiers and store managers of their own stores only. The login must be free in this node's view (two nodes cut off from each other may still give one login to two accounts: the lower id keeps it). The account replicates to every node; its holder may sign in at the stores listed (HQ roles and the owner: any node)."#,
    request_body(
        content = crate::staff::CreateReq,
        examples(("a cashier" = (value = json!({"login": "li.na", "name": "李娜", "role": "cashier", "stores": ["store-1"], "password": "correct horse"}))))
    ),
    extensions(("x-codes" = json!([
        "invalid_idempotency_key", "invalid_json", "unauthorized", "session_expired",
        "account_disabled", "not_at_this_store", "forbidden_for_role", "idempotency_key_reused",
        "idempotency_key_in_progress", "invalid_login", "invalid_staff_name", "invalid_password",
        "invalid_role", "invalid_stores", "login_taken", "internal", "overloaded",
        "storage_unavailable", "payload_too_large",
    ]))),
    responses(
        (status = 201, description = r#"The account (or the first answer, replayed)."#, body = crate::render::StaffView, content_type = "application/json")
    )
)]
pub(crate) async fn create(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let _permit = admit(&s)?;
    let idem = idem(&headers, &method, "/staff", &body, false)?;
    let patch = match create_patch(&who, &body).await {
        Ok(p) => p,
        Err(e) => return crate::refused(&s, idem.as_ref(), StatusCode::CREATED, e),
    };
    let out = s.engine().change_staff(None, patch, who.by(), idem).await?;
    Ok(created(&s, &out))
}

async fn create_patch(who: &Principal, body: &[u8]) -> Result<StaffPatch, ApiError> {
    let req: CreateReq = parse_json(body)?;
    let login = req.login.trim().to_lowercase();
    staff::check_login(&login).map_err(refused)?;
    let name = req.name.trim().to_string();
    staff::check_name(&name).map_err(refused)?;
    let role = role(&req.role)?;
    let stores = stores(role, &req.stores)?;
    if let Some(me) = who.account() {
        may_manage(me.role, &me.stores, role, &stores).map_err(|e| forbidden(e.role, e.action))?;
    }
    let password = hashed(&req.password).await?;
    Ok(StaffPatch {
        login: Some(login),
        name: Some(name),
        role: Some(role),
        stores: Some(stores),
        disabled: Some(false),
        password: Some(password),
    })
}

#[utoipa::path(
    get,
    path = "/api/v1/staff/{id}",
    operation_id = "getStaff",
    tag = "staff",
    summary = r#"One staff account / 员工详情"#,
    description = r#"One's own account, or one the caller may manage."#,
    params(("id" = String, Path, description = r#"Staff id, `s-<node>-<n>`."#, example = "s-hq-3")),
    extensions(("x-codes" = json!(["unauthorized", "session_expired", "account_disabled", "not_at_this_store", "forbidden_for_role", "staff_not_found"]))),
    responses(
        (status = 200, description = r#"The account."#, body = crate::render::StaffView, content_type = "application/json")
    )
)]
pub(crate) async fn get_one(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = staff_id(&id)?;
    let book = s.engine().staff();
    let a = found(&book, &id)?;
    if who.account().is_none_or(|me| me.id != id) {
        who.check(Action::ManageStaff)?;
        may_touch(&who, a)?;
    }
    Ok(json_answer(StatusCode::OK, &view(a, &book)))
}

#[utoipa::path(
    patch,
    path = "/api/v1/staff/{id}",
    operation_id = "patchStaff",
    tag = "staff",
    summary = r#"Change a staff account / 修改员工账号"#,
    description = r#"Name, role, stores, disabled (停用) or a new password. A manager may change the accounts they manage, within the same rule as creating them. Anyone may change their own password with `current_password`. Each field is last-writer-wins across the chain; disabling takes effect at each node once the change reaches it, and ends the account's sessions there; a new password ends its sessions at every node the change reaches."#,
    params(("id" = String, Path, description = r#"Staff id, `s-<node>-<n>`."#, example = "s-hq-3")),
    request_body(
        content = crate::staff::PatchReq,
        examples(
            ("disable" = (value = json!({"disabled": true}))),
            ("own password" = (value = json!({"password": "new secret 2", "current_password": "correct horse"})))
        )
    ),
    extensions(("x-codes" = json!([
        "invalid_json", "unauthorized", "session_expired", "account_disabled",
        "not_at_this_store", "forbidden_for_role", "staff_not_found", "invalid_staff_name",
        "invalid_password", "invalid_role", "invalid_stores", "login_failed", "login_locked",
        "internal", "overloaded", "storage_unavailable", "payload_too_large",
    ]))),
    responses(
        (status = 200, description = r#"The account after the change."#, body = crate::render::StaffView, content_type = "application/json")
    )
)]
pub(crate) async fn patch(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    ext: axum::http::Extensions,
    body: Bytes,
) -> Result<Response, ApiError> {
    let _permit = admit(&s)?;
    let id = staff_id(&id)?;
    let req: PatchReq = parse_json(&body)?;
    let book = s.engine().staff();
    let a = found(&book, &id)?.clone();
    let own = who.account().is_some_and(|me| me.id == id);
    let only_password = req.name.is_none()
        && req.role.is_none()
        && req.stores.is_none()
        && req.disabled.is_none()
        && req.password.is_some();
    if own && only_password {
        // One's own password: the current one proves it is them. Wrong
        // ones count as failed sign-ins of the login (else a till left
        // signed in could try passwords without limit).
        let sessions = s.sessions();
        let address = crate::auth::address(&ext);
        if let Some(wait) = sessions.locked(&a.login, &address) {
            return Err(crate::sessions::login_locked(wait));
        }
        let current = req.current_password.clone().flatten().unwrap_or_default();
        if !crate::password::verify(Some(a.password.clone()), current).await {
            sessions.failed(&a.login, &address);
            return Err(crate::sessions::login_failed());
        }
        sessions.succeeded(&a.login);
    } else {
        who.check(Action::ManageStaff)?;
        may_touch(&who, &a)?;
    }
    let mut patch = StaffPatch::default();
    if let Some(n) = &req.name {
        let n = n.trim().to_string();
        staff::check_name(&n).map_err(refused)?;
        patch.name = Some(n);
    }
    let new_role = match &req.role {
        Some(r) => Some(role(r)?),
        None => None,
    };
    let role_after = new_role.unwrap_or(a.role);
    let stores_after = match &req.stores {
        Some(st) => stores(role_after, st)?,
        None if new_role.is_some() => stores(role_after, &names(&a.stores))?,
        None => a.stores.clone(),
    };
    if new_role.is_some() || req.stores.is_some() {
        if let Some(me) = who.account() {
            may_manage(me.role, &me.stores, role_after, &stores_after)
                .map_err(|e| forbidden(e.role, e.action))?;
        }
        patch.role = new_role;
        patch.stores = Some(stores_after);
    }
    // Only a change: writing `disabled` ends the account's sessions
    // (`auth`), and a form saved unchanged should not.
    patch.disabled = req.disabled.filter(|d| *d != a.disabled);
    if let Some(p) = &req.password {
        patch.password = Some(hashed(p).await?);
    }
    let out = s
        .engine()
        .change_staff(Some(id), patch, who.by(), None)
        .await?;
    Ok(answered(&s, StatusCode::OK, &out))
}

fn names(stores: &[NodeId]) -> Vec<String> {
    stores.iter().map(|n| n.to_string()).collect()
}
