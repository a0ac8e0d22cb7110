//! Members: register, find, get, patch, duplicates (the merge queue),
//! merge, wallet and history.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::dto::*;
use crate::*;
use tongka_actors::Outcome;
use tongka_core::member::{Profile, ProfilePatch};
use tongka_core::state::MemberState;

pub(crate) async fn register(
    State(s): State<AppState>,
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
    let out = s.engine().register(actor(), idem, profile).await?;
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

pub(crate) async fn find_members(
    State(s): State<AppState>,
    Query(q): Query<FindQuery>,
) -> Result<Response, ApiError> {
    let store = s.engine().store();
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

#[derive(Serialize)]
struct MembersView<'a> {
    members: Vec<render::MemberView<'a>>,
}

#[derive(Serialize)]
struct DuplicateView<'a> {
    kind: &'a str,
    value: String,
    members: Vec<render::MemberView<'a>>,
}

#[derive(Serialize)]
struct DuplicatesView<'a> {
    duplicates: Vec<DuplicateView<'a>>,
}

/// Phone and card numbers registered to more than one member (at different
/// stores during a partition), with the members: the merge queue.
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

pub(crate) async fn get_member(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let e = s.engine();
    let m = e.member(&member_id(&id)?)?;
    Ok(Json(render::member(&m, &e.programme(), e.node())).into_response())
}

pub(crate) async fn patch_member(
    State(s): State<AppState>,
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
    match e.update_profile(actor(), id, patch).await? {
        Outcome::Member(m) => {
            Ok(Json(render::member(&m, &e.programme(), e.node())).into_response())
        }
        other => Err(ApiError::from(tongka_actors::EngineError::Internal(
            format!("unexpected outcome {other:?}"),
        ))),
    }
}

/// Merge a duplicate (`absorb`) into the member of the path.
pub(crate) async fn merge_members(
    State(s): State<AppState>,
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
        .merge_members(actor(), idem, id, absorbed)
        .await?;
    Ok(created(&s, &out))
}

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

pub(crate) async fn get_history(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<HistoryQuery>,
) -> Result<Json<Value>, ApiError> {
    let e = s.engine();
    let id = member_id(&id)?;
    let ops = e.history(&id, q.limit.unwrap_or(50).clamp(1, LIST_MAX))?;
    Ok(Json(
        json!({ "entries": ops.iter().map(render::history_entry).collect::<Vec<_>>() }),
    ))
}
