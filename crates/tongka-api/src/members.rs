//! Members: register, find, get, patch, duplicates (the merge queue),
//! merge, wallet and history.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::dto::*;
use crate::*;
use tongka_actors::Outcome;
use tongka_core::member::{Profile, ProfilePatch};
use tongka_core::state::MemberState;

#[utoipa::path(
    post,
    path = "/api/v1/members",
    operation_id = "registerMember",
    tag = "members",
    summary = r#"Register a member / 注册会员"#,
    description = r#"Registers a member at this store. Phone and name are trimmed. The `Idempotency-Key` header is optional here; with one, a retry returns the first answer."#,
    request_body(
        content = crate::dto::RegisterReq,
        examples(
            ("minimal" = (value = json!({"phone": "13912345678", "name": "李四"}))),
            ("full" = (value = json!({"phone": "13812341234", "name": "张三", "birthday": "1990-05-01", "gender": "female", "card_no": "VIP0001", "invite_code": "FRIEND01", "tags": ["咖啡"], "notes": "喜欢燕麦奶"})))
        )
    ),
    // The refusal codes this handler answers (statuses and meanings:
    // `openapi::CODES`).
    extensions(("x-codes" = json!([
        "invalid_json", "invalid_idempotency_key", "unauthorized",
        "idempotency_key_reused", "idempotency_key_in_progress", "phone_taken",
        "card_taken", "invalid_invite_code", "invalid_phone", "invalid_name",
        "invalid_birthday", "invalid_card_no", "invalid_tags", "invalid_notes",
        "internal", "overloaded", "storage_unavailable", "payload_too_large",
    ]))),
    responses(
        (status = 201, description = r#"Registered (or the first answer, replayed)."#, body = crate::render::MemberView, content_type = "application/json")
    )
)]
pub(crate) async fn register(
    State(s): State<AppState>,
    axum::Extension(who): axum::Extension<Principal>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let _permit = admit(&s)?;
    let idem = idem(&headers, &method, "/members", &body, false)?;
    let profile = match register_request(&body) {
        Ok(p) => p,
        Err(e) => return refused(&s, idem.as_ref(), StatusCode::CREATED, e),
    };
    let out = s.engine().register(actor(&who), idem, profile).await?;
    Ok(created(&s, &out))
}

fn register_request(body: &[u8]) -> Result<Profile, ApiError> {
    let req: RegisterReq = parse_json(body)?;
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
    Ok(Profile {
        phone: req.phone.trim().to_string(),
        name: req.name.trim().to_string(),
        birthday: req.birthday,
        gender: req.gender,
        card_no: req.card_no,
        invited_by: req.invite_code,
        tags: req.tags,
        notes: req.notes,
    })
}

#[derive(Deserialize)]
pub(crate) struct FindQuery {
    phone: Option<String>,
    card_no: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/members",
    operation_id = "findMembers",
    tag = "members",
    summary = r#"Find members by phone or card / 按手机号或卡号查找会员"#,
    description = r#"Give exactly one of `phone` or `card_no` (matched exactly, after trimming). The phone number is masked in the list."#,
    params(
        ("phone" = Option<String>, Query, description = r#"Mobile number, exactly as registered."#, example = "13812341234"),
        ("card_no" = Option<String>, Query, description = r#"Card number, exactly as registered."#, example = "VIP0001")
    ),
    // The refusal codes this handler answers (statuses and meanings:
    // `openapi::CODES`).
    extensions(("x-codes" = json!([
        "invalid_query", "invalid_request", "unauthorized", "internal",
        "storage_unavailable",
    ]))),
    responses(
        (status = 200, description = r#"The members found (zero or one)."#, body = crate::members::MembersView, content_type = "application/json")
    )
)]
pub(crate) async fn find_members(
    State(s): State<AppState>,
    Query(q): Query<FindQuery>,
) -> Result<Response, ApiError> {
    let store = s.engine().db();
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
    let found = id.map(|id| e.member(&id)).transpose()?;
    let programme = e.programme();
    Ok(Json(MembersView {
        members: found
            .iter()
            .map(|m| render::member_brief(m, &programme, e.node()))
            .collect(),
    })
    .into_response())
}

/// Members found (`GET /members`).
#[derive(Serialize, ToSchema)]
#[schema(as = MemberList)]
pub(crate) struct MembersView<'a> {
    /// The phone number of each is masked.
    members: Vec<render::MemberView<'a>>,
}

/// One phone or card number held by more than one member.
#[derive(Serialize, ToSchema)]
#[schema(as = Duplicate)]
pub(crate) struct DuplicateView<'a> {
    /// `phone` or `card`.
    #[schema(value_type = String)]
    kind: &'a str,
    /// the card number, or the phone number masked
    value: String,
    members: Vec<render::MemberView<'a>>,
}

/// The merge queue (`GET /members/duplicates`).
#[derive(Serialize, ToSchema)]
#[schema(as = DuplicateList)]
pub(crate) struct DuplicatesView<'a> {
    duplicates: Vec<DuplicateView<'a>>,
}

/// Phone and card numbers registered to more than one member (at different
/// stores during a partition), with the members: the merge queue.
#[utoipa::path(
    get,
    path = "/api/v1/members/duplicates",
    operation_id = "listDuplicates",
    summary = r#"Phone and card numbers held by more than one member (the merge queue) / 重复手机号与卡号（待合并）"#,
    description = r#"Members registered with the same phone or card number at different stores while they could not reach each other are detected when the ops meet and listed here for merging. The phone index keeps the member with the smaller id."#,
    // The refusal codes this handler answers (statuses and meanings:
    // `openapi::CODES`).
    extensions(("x-codes" = json!([
        "unauthorized",
    ]))),
    responses(
        (status = 200, description = r#"The duplicates."#, body = crate::members::DuplicatesView, content_type = "application/json")
    )
)]
pub(crate) async fn get_duplicates(State(s): State<AppState>) -> Result<Response, ApiError> {
    let e = s.engine();
    let programme = e.programme();
    let found: Vec<(String, Vec<MemberState>)> = e
        .duplicates()?
        .into_iter()
        .map(|(key, ids)| {
            let members = ids.iter().filter_map(|id| e.member(id).ok()).collect();
            (key, members)
        })
        .collect();
    let mut out = Vec::with_capacity(found.len());
    for (key, members) in &found {
        let (kind, value) = key.split_once(':').unwrap_or(("", key.as_str()));
        let shown = if kind == "phone" {
            tongka_core::member::mask_phone(value)
        } else {
            value.to_string()
        };
        out.push(DuplicateView {
            kind,
            value: shown,
            members: members
                .iter()
                .map(|m| render::member_brief(m, &programme, e.node()))
                .collect(),
        });
    }
    Ok(Json(DuplicatesView { duplicates: out }).into_response())
}

#[utoipa::path(
    get,
    path = "/api/v1/members/{id}",
    operation_id = "getMember",
    tag = "members",
    summary = r#"A member / 会员详情"#,
    params(
        ("id" = crate::openapi::MemberId, Path, description = r#"Member id, `m-<node>-<n>`. An id of another shape is answered `404 member_not_found`."#, example = "m-store-1-1")
    ),
    // The refusal codes this handler answers (statuses and meanings:
    // `openapi::CODES`).
    extensions(("x-codes" = json!([
        "unauthorized", "member_not_found", "internal", "storage_unavailable",
        "invalid_request",
    ]))),
    responses(
        (status = 200, description = r#"The member."#, body = crate::render::MemberView, content_type = "application/json")
    )
)]
pub(crate) async fn get_member(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let e = s.engine();
    let m = e.member(&member_id(&id)?)?;
    Ok(Json(render::member(&m, &e.programme(), e.node())).into_response())
}

#[utoipa::path(
    patch,
    path = "/api/v1/members/{id}",
    operation_id = "updateMember",
    tag = "members",
    summary = r#"Change a member's profile / 修改会员资料"#,
    description = r#"Only the fields present change. `birthday`, `gender` and `card_no` are cleared by `null`; for the other fields `null` is the same as leaving the field out. Not idempotency-keyed: a patch is idempotent by nature."#,
    params(
        ("id" = crate::openapi::MemberId, Path, description = r#"Member id, `m-<node>-<n>`. An id of another shape is answered `404 member_not_found`."#, example = "m-store-1-1")
    ),
    request_body(
        content = crate::dto::PatchReq,
        examples(
            ("rename" = (value = json!({"name": "张三丰"}))),
            ("clear card" = (value = json!({"card_no": null})))
        )
    ),
    // The refusal codes this handler answers (statuses and meanings:
    // `openapi::CODES`).
    extensions(("x-codes" = json!([
        "invalid_json", "unauthorized", "member_not_found", "phone_taken", "card_taken",
        "empty_patch", "invalid_phone", "invalid_name", "invalid_birthday",
        "invalid_card_no", "invalid_tags", "invalid_notes", "internal", "overloaded",
        "storage_unavailable", "payload_too_large",
    ]))),
    responses(
        (status = 200, description = r#"The member as changed."#, body = crate::render::MemberView, content_type = "application/json")
    )
)]
pub(crate) async fn patch_member(
    State(s): State<AppState>,
    axum::Extension(who): axum::Extension<Principal>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
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
    match e.update_profile(actor(&who), id, patch).await? {
        Outcome::Member(m) => {
            Ok(Json(render::member(&m, &e.programme(), e.node())).into_response())
        }
        other => Err(ApiError::from(tongka_actors::EngineError::Internal(
            format!("unexpected outcome {other:?}"),
        ))),
    }
}

/// Merge a duplicate (`absorb`) into the member of the path.
#[utoipa::path(
    post,
    path = "/api/v1/members/{id}/merge",
    operation_id = "mergeMembers",
    tag = "members",
    summary = r#"Merge a duplicate member into this one / 合并重复会员"#,
    description = r#"Merges the member `absorb` (typically a duplicate listed by `GET /members/duplicates`: the same phone or card registered at two stores during a partition) into the member of the path, which survives. Profile: the survivor keeps its own fields, its blank ones (birthday, gender, card number, referrer, notes) are filled from the absorbed member's, and the tags are united (an automerge change of the survivor's profile document). Cumulative figures and visits are added. Wallet and points: every store that holds a share of the absorbed member moves its own share to the survivor (only a share's owner decreases it), this store at once, the others when the merge reaches them, including shares that arrive later from a partitioned store; the ledger summary is unchanged. Afterwards the absorbed id, phone and card lead to the survivor, and the survivor's history includes the absorbed member's. Answers the survivor as the merge op left it (profile and cumulative figures combined); this store's share of the absorbed member's balance and points reaches the survivor by this store's move op an instant later."#,
    params(
        ("id" = crate::openapi::MemberId, Path, description = r#"Member id, `m-<node>-<n>`. An id of another shape is answered `404 member_not_found`."#, example = "m-store-1-1")
    ),
    request_body(
        content = crate::dto::MergeReq,
        examples(
            ("absorb a duplicate" = (value = json!({"absorb": "m-store-1-2"})))
        )
    ),
    // The refusal codes this handler answers (statuses and meanings:
    // `openapi::CODES`).
    extensions(("x-codes" = json!([
        "idempotency_key_required", "invalid_idempotency_key", "invalid_json",
        "unauthorized", "member_not_found", "idempotency_key_reused",
        "idempotency_key_in_progress", "member_merged", "merge_same_member",
        "merge_failed", "internal", "overloaded", "storage_unavailable",
        "payload_too_large",
    ]))),
    responses(
        (status = 201, description = r#"Merged (or the first answer, replayed): the surviving member."#, body = crate::render::MemberView, content_type = "application/json")
    )
)]
pub(crate) async fn merge_members(
    State(s): State<AppState>,
    axum::Extension(who): axum::Extension<Principal>,
    Path(id): Path<String>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let _permit = admit(&s)?;
    let idem = idem(
        &headers,
        &method,
        &format!("/members/{id}/merge"),
        &body,
        true,
    )?;
    let parsed = (|| {
        let id = member_id(&id)?;
        let req: MergeReq = parse_json(&body)?;
        Ok((id, member_id(req.absorb.trim())?))
    })();
    let (id, absorbed) = match parsed {
        Ok(p) => p,
        Err(e) => return refused(&s, idem.as_ref(), StatusCode::CREATED, e),
    };
    let out = s
        .engine()
        .merge_members(actor(&who), idem, id, absorbed)
        .await?;
    Ok(created(&s, &out))
}

#[utoipa::path(
    get,
    path = "/api/v1/members/{id}/wallet",
    operation_id = "getWallet",
    tag = "wallets",
    summary = r#"A member's wallet / 会员钱包"#,
    description = r#"The balance, split into principal and bonus, and into the shares held by each store; `available_here` is what can be spent at this store without asking others."#,
    params(
        ("id" = crate::openapi::MemberId, Path, description = r#"Member id, `m-<node>-<n>`. An id of another shape is answered `404 member_not_found`."#, example = "m-store-1-1")
    ),
    // The refusal codes this handler answers (statuses and meanings:
    // `openapi::CODES`).
    extensions(("x-codes" = json!([
        "unauthorized", "member_not_found", "internal", "storage_unavailable",
        "invalid_request",
    ]))),
    responses(
        (status = 200, description = r#"The wallet."#, body = crate::render::WalletView, content_type = "application/json")
    )
)]
pub(crate) async fn get_wallet(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let e = s.engine();
    let m = e.member(&member_id(&id)?)?;
    Ok(Json(render::wallet(&m, e.node())).into_response())
}

#[derive(Deserialize)]
pub(crate) struct HistoryQuery {
    limit: Option<usize>,
}

#[utoipa::path(
    get,
    path = "/api/v1/members/{id}/history",
    operation_id = "getHistory",
    tag = "members",
    summary = r#"A member's history / 会员流水"#,
    description = r#"The ops about the member, newest first."#,
    params(
        ("id" = crate::openapi::MemberId, Path, description = r#"Member id, `m-<node>-<n>`. An id of another shape is answered `404 member_not_found`."#, example = "m-store-1-1"),
        ("limit" = Option<u64>, Query, description = r#"How many entries at most (default 50; clamped to 1…200)."#)
    ),
    // The refusal codes this handler answers (statuses and meanings:
    // `openapi::CODES`).
    extensions(("x-codes" = json!([
        "unauthorized", "member_not_found", "internal", "storage_unavailable",
        "invalid_request",
    ]))),
    responses(
        (status = 200, description = r#"The history."#, body = crate::members::HistoryView, content_type = "application/json")
    )
)]
pub(crate) async fn get_history(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<HistoryQuery>,
) -> Result<Json<HistoryView>, ApiError> {
    let e = s.engine();
    let id = member_id(&id)?;
    let ops = e.history(&id, q.limit.unwrap_or(50).clamp(1, LIST_MAX))?;
    let book = e.staff();
    Ok(Json(HistoryView {
        entries: ops
            .iter()
            .map(|op| render::history_entry(op, &book))
            .collect(),
    }))
}

/// A member's history (`GET /members/{id}/history`), newest first.
#[derive(Serialize, ToSchema)]
#[schema(as = History)]
pub(crate) struct HistoryView {
    entries: Vec<render::HistoryEntry>,
}
