//! Signing in and out (`/sessions`), and the first run (`/setup`): a node
//! with no staff account asks for the admin token once and creates the
//! first admin (HQ admin at HQ; the owner at a node of no chain). A store
//! of a chain gets its staff from HQ.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use tongka_core::op::OriginRole;
use tongka_core::staff::{self, Action, Role, StaffPatch};
use utoipa::ToSchema;

use crate::auth::{self, Principal};
use crate::dto::parse_json;
use crate::render::{SessionView, staff as staff_view, time_ms};
use crate::*;

/// Signing in.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = SignInRequest)]
pub(crate) struct SignInReq {
    #[schema(examples("li.na"))]
    login: String,
    #[schema(examples("correct horse"))]
    password: String,
}

/// The first admin of a node.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = FirstAdminRequest)]
pub(crate) struct FirstAdminReq {
    login: String,
    name: String,
    password: String,
}

/// What the sign-in page needs to know before anyone signs in.
#[derive(Serialize, ToSchema)]
#[schema(as = Setup)]
pub(crate) struct SetupView<'a> {
    #[schema(value_type = crate::openapi::NodeName)]
    node: &'a tongka_core::ids::NodeId,
    /// `store`, `hq`, or null for a node of no chain.
    node_role: Option<&'static str>,
    /// No staff account is known here: the first admin is to be created
    /// (at HQ or a node of no chain; a store waits for HQ's).
    first_run: bool,
}

pub(crate) fn login_failed() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "login_failed",
        "wrong login or password",
        "登录名或密码错误",
    )
}

pub(crate) fn login_locked(wait: std::time::Duration) -> ApiError {
    let secs = wait.as_secs().max(1);
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "login_locked",
        format!("too many failed sign-ins: try again in {secs} s"),
        format!("登录失败次数过多：请 {secs} 秒后再试"),
    )
    .with("retry_after_s", secs)
}

fn node_role(s: &AppState) -> Option<&'static str> {
    s.engine().role().map(|r| match r {
        OriginRole::Store => "store",
        OriginRole::Hq => "hq",
    })
}

/// The session view of `who` (with `token` when just signed in).
fn session_view<'a>(
    s: &'a AppState,
    who: &'a Principal,
    book: &'a tongka_core::staff::StaffBook,
    token: Option<String>,
) -> SessionView<'a> {
    let (principal, integration, staff, expires_at) = match who {
        Principal::Token => ("integration", Some(auth::TOKEN_NAME), None, None),
        Principal::Staff {
            account,
            expires_ms,
            ..
        } => (
            "staff",
            None,
            Some(staff_view(account, book)),
            Some(time_ms(*expires_ms)),
        ),
    };
    SessionView {
        token,
        principal,
        integration,
        staff,
        node: s.engine().node(),
        node_role: node_role(s),
        expires_at,
        allowed: Action::ALL
            .into_iter()
            .filter(|a| who.may(*a))
            .map(Action::as_str)
            .collect(),
        refund_approval_above: s.engine().programme().refund_approval_above,
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/setup",
    operation_id = "setup",
    tag = "staff",
    summary = r#"Before signing in / 登录前信息"#,
    description = r#"Open (no token). The node's name and role, and whether no staff account exists yet (`first_run`): then the console offers to create the first admin with the admin token."#,
    responses(
        (status = 200, description = r#"The node."#, body = crate::sessions::SetupView, content_type = "application/json")
    )
)]
pub(crate) async fn setup(State(s): State<AppState>) -> Response {
    let body = SetupView {
        node: s.engine().node(),
        node_role: node_role(&s),
        first_run: s.engine().staff().is_empty(),
    };
    json_answer(StatusCode::OK, &body)
}

#[utoipa::path(
    post,
    path = "/api/v1/sessions",
    operation_id = "signIn",
    tag = "staff",
    summary = r#"Sign in / 员工登录"#,
    description = r#"Open (no token). A staff member signs in with login and password and gets a session token (`Authorization: Bearer <token>`) good at this node until `expires_at`, sign-out, the account being disabled, or a new password. Cashiers and store managers sign in only at their stores. Works during a partition: accounts replicate to every node. After 5 failures of one login, or 30 from one address, within 15 minutes, sign-ins are refused `login_locked` (with `Retry-After`) until the window passes."#,
    request_body(content = crate::sessions::SignInReq),
    extensions(("x-codes" = json!(["invalid_json", "login_failed", "login_locked", "account_disabled", "not_at_this_store", "payload_too_large"]))),
    responses(
        (status = 201, description = r#"Signed in: the session, with its token."#, body = crate::render::SessionView, content_type = "application/json")
    )
)]
pub(crate) async fn sign_in(
    State(s): State<AppState>,
    ext: axum::http::Extensions,
    body: Bytes,
) -> Result<Response, ApiError> {
    // The body as every endpoint reads it (`Bytes`, under the router's
    // limit): a body too large is `payload_too_large`, as documented.
    let address = auth::address(&ext);
    let r: SignInReq = parse_json(&body)?;
    // The login as an account would hold it; anything else signs in as no
    // one (and is counted as a failure like a wrong password).
    let login: String = r.login.trim().to_lowercase().chars().take(64).collect();
    let sessions = s.sessions();
    if let Some(wait) = sessions.locked(&login, &address) {
        return Err(login_locked(wait));
    }
    let book = s.engine().staff();
    let account = book
        .by_login(&login)
        .filter(|_| staff::check_login(&login).is_ok());
    let ok = crate::password::verify(account.map(|a| a.password.clone()), r.password).await;
    let Some(account) = account.filter(|_| ok) else {
        sessions.failed(&login, &address);
        return Err(login_failed());
    };
    sessions.succeeded(&login);
    if account.disabled {
        return Err(auth::account_disabled());
    }
    let node = s.engine().node();
    if !account.works_at(node) {
        return Err(auth::not_at_this_store(node.as_str()));
    }
    let (token, expires_ms) = sessions.start(account);
    tracing::info!(staff = %account.id, login = %account.login, "signed in");
    let who = Principal::Staff {
        account: Box::new(account.clone()),
        session: [0; 32],
        expires_ms,
    };
    Ok(json_answer(
        StatusCode::CREATED,
        &session_view(&s, &who, &book, Some(token)),
    ))
}

#[utoipa::path(
    get,
    path = "/api/v1/sessions/current",
    operation_id = "currentSession",
    tag = "staff",
    summary = r#"Who is signed in / 当前登录"#,
    description = r#"The staff member (or the admin token) this token is, and the actions they may take here."#,
    extensions(("x-codes" = json!(["unauthorized", "session_expired", "account_disabled", "not_at_this_store"]))),
    responses(
        (status = 200, description = r#"The session."#, body = crate::render::SessionView, content_type = "application/json")
    )
)]
pub(crate) async fn current(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
) -> Response {
    let book = s.engine().staff();
    json_answer(StatusCode::OK, &session_view(&s, &who, &book, None))
}

#[utoipa::path(
    delete,
    path = "/api/v1/sessions/current",
    operation_id = "signOut",
    tag = "staff",
    summary = r#"Sign out / 退出登录"#,
    description = r#"Ends this session: its token is refused `session_expired` from now on. For the admin token, nothing ends."#,
    extensions(("x-codes" = json!(["unauthorized", "session_expired", "account_disabled", "not_at_this_store"]))),
    responses((status = 204, description = r#"Signed out."#))
)]
pub(crate) async fn sign_out(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
) -> StatusCode {
    if let Principal::Staff { session, .. } = who {
        s.sessions().end(session);
    }
    StatusCode::NO_CONTENT
}

fn first_admin_refused(code: &'static str, en: &str, zh: &str) -> ApiError {
    ApiError::new(StatusCode::CONFLICT, code, en, zh)
}

#[utoipa::path(
    post,
    path = "/api/v1/setup/first-admin",
    operation_id = "createFirstAdmin",
    tag = "staff",
    summary = r#"Create the first admin / 创建首位管理员"#,
    description = r#"The admin token only, once: while no staff account exists, creates the first one: `hq_admin` at HQ, `owner` (every right) at a node of no chain. A store of a chain gets its staff from HQ (`first_admin_at_hq`)."#,
    request_body(
        content = crate::sessions::FirstAdminReq,
        examples(("owner" = (value = json!({"login": "boss", "name": "王老板", "password": "correct horse"}))))
    ),
    extensions(("x-codes" = json!([
        "invalid_json", "unauthorized", "token_only", "first_admin_exists", "first_admin_at_hq",
        "invalid_login", "invalid_staff_name", "invalid_password", "login_taken", "internal",
        "overloaded", "storage_unavailable", "payload_too_large",
    ]))),
    responses(
        (status = 201, description = r#"The first admin."#, body = crate::render::StaffView, content_type = "application/json")
    )
)]
pub(crate) async fn first_admin(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let _permit = admit(&s)?;
    let req: FirstAdminReq = parse_json(&body)?;
    let role = match s.engine().role() {
        Some(OriginRole::Store) => {
            return Err(first_admin_refused(
                "first_admin_at_hq",
                "a store of a chain gets its staff from HQ: create the first admin at the HQ node",
                "连锁门店的员工由总部创建：请在总部节点创建首位管理员",
            ));
        }
        Some(OriginRole::Hq) => Role::HqAdmin,
        None => Role::Owner,
    };
    if !s.engine().staff().is_empty() {
        return Err(first_admin_refused(
            "first_admin_exists",
            "staff accounts exist already: sign in, and add staff on the staff page",
            "已有员工账号：请登录后在员工页面添加",
        ));
    }
    let refused = |e| ApiError::from(tongka_actors::EngineError::from(e));
    let login = req.login.trim().to_lowercase();
    staff::check_login(&login).map_err(refused)?;
    let name = req.name.trim().to_string();
    staff::check_name(&name).map_err(refused)?;
    staff::check_password(&req.password).map_err(refused)?;
    let patch = StaffPatch {
        login: Some(login),
        name: Some(name),
        role: Some(role),
        stores: Some(Vec::new()),
        disabled: Some(false),
        password: Some(crate::password::hash(req.password).await?),
    };
    let out = s.engine().change_staff(None, patch, who.by(), None).await?;
    Ok(created(&s, &out))
}
