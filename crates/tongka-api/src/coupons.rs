//! Coupons held by members (会员券): `POST /members/{id}/coupons` issues
//! one of a programme template to a member, `GET /members/{id}/coupons`
//! lists what a member holds, `POST /coupon-batches` issues one to each of
//! many members. A coupon is used at checkout (`coupon_codes`) and its use
//! given back by a refund; the rules are `tongka_core::coupon`'s, the
//! issuing the engine's (`tongka_actors::coupons`).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use tongka_actors::{BATCH_MEMBERS_MAX, EngineError};
use tongka_core::coupon::TEMPLATE_ID_LEN_MAX;
use tongka_core::error::DomainError;
use tongka_core::ids::MemberId;
use utoipa::ToSchema;

use crate::dto::parse_json;
use crate::render::CouponView;
use crate::*;

/// A coupon to issue.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = IssueCouponRequest)]
pub(crate) struct IssueReq {
    /// The id of one of the programme's coupon templates (GET /programme, `coupon_templates`).
    #[schema(examples("cash-10"), min_length = 1, max_length = 32)]
    template: String,
}

/// Coupons to issue, one to each member.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CouponBatchRequest)]
pub(crate) struct BatchReq {
    /// The id of one of the programme's coupon templates.
    #[schema(examples("cash-10"), min_length = 1, max_length = 32)]
    template: String,
    /// 1 to 1000 member ids, each once.
    #[schema(value_type = Vec<crate::openapi::MemberId>, min_items = 1, max_items = 1000)]
    member_ids: Vec<String>,
}

/// The coupons a member holds.
#[derive(Serialize, ToSchema)]
#[schema(as = MemberCoupons)]
pub(crate) struct ListView<'a> {
    #[schema(value_type = crate::openapi::MemberId)]
    member_id: &'a MemberId,
    /// Every coupon the member holds, newest first: usable, not yet valid, used and expired.
    coupons: Vec<CouponView<'a>>,
}

/// A coupon a batch issued.
#[derive(Serialize, ToSchema)]
#[schema(as = CouponIssued)]
pub(crate) struct IssuedView<'a> {
    #[schema(value_type = crate::openapi::MemberId)]
    member_id: &'a MemberId,
    coupon: CouponView<'a>,
}

/// A member a batch issued nothing to, and why (the code and messages an
/// issue to that member alone would have been answered with).
#[derive(Serialize, ToSchema)]
#[schema(as = CouponRefused)]
pub(crate) struct RefusedView<'a> {
    #[schema(value_type = crate::openapi::MemberId)]
    member_id: &'a MemberId,
    /// Machine code: `member_not_found`, `coupon_limit_reached`, `coupon_wallet_full`, `idempotency_key_reused`, `idempotency_key_in_progress`, `overloaded`, `storage_unavailable`, …
    #[schema(examples("coupon_limit_reached"))]
    code: &'static str,
    message: String,
    message_zh: String,
}

/// What a batch did, member by member.
#[derive(Serialize, ToSchema)]
#[schema(as = CouponBatch)]
pub(crate) struct BatchView<'a> {
    #[schema(value_type = String, examples("cash-10"))]
    template: &'a str,
    /// In the order given.
    issued: Vec<IssuedView<'a>>,
    /// In the order given.
    refused: Vec<RefusedView<'a>>,
}

/// The longest member id: `m-`, a node name of up to 32, `-`, up to 20
/// digits.
const MEMBER_ID_LEN_MAX: usize = 2 + tongka_core::ids::NODE_NAME_LEN_MAX + 1 + 20;

/// The longest idempotency key of a batch: the engine issues each member's
/// coupon under `<key>/<member id>`, which must itself be a key (at most
/// `KEY_LEN_MAX`: a peer refuses an op with a longer one).
const BATCH_KEY_LEN_MAX: usize = tongka_core::op::KEY_LEN_MAX - 1 - MEMBER_ID_LEN_MAX;

/// `template` if it has a template id's shape, else the template is not
/// found (as a member id of the wrong shape is), and the refusal does not
/// echo what was sent: it may be 10 KB or carry control characters.
fn template_id(template: &str) -> Result<&str, ApiError> {
    let ok = (1..=TEMPLATE_ID_LEN_MAX).contains(&template.len())
        && template
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        return Ok(template);
    }
    Err(ApiError::new(
        StatusCode::NOT_FOUND,
        "coupon_template_not_found",
        "no coupon template of that id in the programme (an id is 1 to 32 of a-z, 0-9, - and _)",
        "方案中没有该编号的券模板（编号为 1 到 32 个小写字母、数字、- 或 _）",
    )
    .with("field", "template"))
}

#[utoipa::path(
    post,
    path = "/api/v1/members/{id}/coupons",
    operation_id = "issueCoupon",
    tag = "coupons",
    summary = r#"Issue a coupon to a member / 发券"#,
    description = r#"Issues the member one coupon of a programme template: a copy of the template as it is now (a later edit of the template changes no coupon issued), valid on the template's dates or for its days from today, with the template's uses. At a store the uses are held by that store; at HQ (which sells nothing) by the member's home store. Refused with `coupon_limit_reached` when the member already holds the template's `per_member_limit`, `coupon_wallet_full` at 500 coupons. Answers the coupon."#,
    params(
        ("id" = crate::openapi::MemberId, Path, description = r#"Member id, `m-<node>-<n>`. An id of another shape is answered `404 member_not_found`."#, example = "m-store-1-1")
    ),
    request_body(
        content = IssueReq,
        examples(
            ("a cash coupon" = (value = json!({"template": "cash-10"})))
        )
    ),
    // The refusal codes this handler answers (statuses and meanings:
    // `openapi::CODES`).
    extensions(("x-codes" = json!([
        "idempotency_key_required", "invalid_idempotency_key", "invalid_json",
        "unauthorized", "member_not_found", "coupon_template_not_found",
        "idempotency_key_reused", "idempotency_key_in_progress",
        "coupon_limit_reached", "coupon_wallet_full", "internal", "overloaded",
        "storage_unavailable", "payload_too_large",
    ]))),
    responses(
        (status = 201, description = r#"The coupon issued (or the first answer, replayed; its status as of today)."#, body = crate::render::CouponView, content_type = "application/json")
    )
)]
pub(crate) async fn issue(
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
        &format!("/members/{id}/coupons"),
        &body,
        true,
    )?;
    let parsed = (|| {
        let id = member_id(&id)?;
        let req: IssueReq = parse_json(&body)?;
        template_id(&req.template)?;
        Ok((id, req.template))
    })();
    let (member, template) = match parsed {
        Ok(p) => p,
        Err(e) => return refused(&s, idem.as_ref(), StatusCode::CREATED, e),
    };
    let out = s
        .engine()
        .issue_coupon(actor(&who), idem, member, &template)
        .await?;
    Ok(created(&s, &out))
}

#[utoipa::path(
    get,
    path = "/api/v1/members/{id}/coupons",
    operation_id = "listCoupons",
    tag = "coupons",
    summary = r#"A member's coupons / 会员的券"#,
    description = r#"Every coupon the member holds, newest first, used and expired ones included, each with its status as of today (China time) and where its uses are held (`held_here`: usable at this store without asking another)."#,
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
        (status = 200, description = r#"The member's coupons."#, body = ListView, content_type = "application/json")
    )
)]
pub(crate) async fn list(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let e = s.engine();
    let m = e.member(&member_id(&id)?)?;
    let today = today();
    // Held by code, which orders as text (`c-s-10` before `c-s-9`): the
    // newest first is the higher number a store minted (then by code).
    let mut held: Vec<_> = m.coupons.iter().collect();
    held.sort_by(|a, b| (b.id().number(), b.id()).cmp(&(a.id().number(), a.id())));
    let coupons = held
        .into_iter()
        .map(|c| render::coupon(c, e.node(), today))
        .collect();
    Ok(json_answer(
        StatusCode::OK,
        &ListView {
            member_id: &m.id,
            coupons,
        },
    ))
}

/// A batch's member ids: 1 to `BATCH_MEMBERS_MAX`, each a member id, each
/// once; a refusal names the first at fault by its place (never echoing it).
fn batch_members(ids: &[String]) -> Result<Vec<MemberId>, ApiError> {
    let refuse = |field: String, en: &str, zh: &str| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_member_ids",
            format!("{field}: {en}"),
            format!("{field}：{zh}"),
        )
        .with("field", field)
    };
    if ids.is_empty() || ids.len() > BATCH_MEMBERS_MAX {
        return Err(refuse(
            "member_ids".into(),
            &format!("give 1 to {BATCH_MEMBERS_MAX} member ids"),
            &format!("请提供 1 到 {BATCH_MEMBERS_MAX} 个会员编号"),
        ));
    }
    let mut out: Vec<MemberId> = Vec::with_capacity(ids.len());
    let mut seen = std::collections::HashSet::with_capacity(ids.len());
    for (i, text) in ids.iter().enumerate() {
        let field = format!("member_ids[{i}]");
        let Some(id) = MemberId::parse(text) else {
            return Err(refuse(
                field,
                "not a member id (m-<store>-<n>)",
                "不是会员编号（形如 m-<门店>-<编号>）",
            ));
        };
        if !seen.insert(id.clone()) {
            return Err(refuse(field, "given twice", "重复"));
        }
        out.push(id);
    }
    Ok(out)
}

#[utoipa::path(
    post,
    path = "/api/v1/coupon-batches",
    operation_id = "issueCouponBatch",
    tag = "coupons",
    summary = r#"Issue a coupon to many members / 批量发券"#,
    description = r#"Issues one coupon of the template to each member, as `POST /members/{id}/coupons` would, each under its own idempotency key (`<key>/<member id>`): a batch sent again with the same key and body issues only what the first did not (a member already issued gets the same coupon back, listed in `issued`). A member refused (unknown, at the template's limit, wallet full) is listed in `refused` with the code and messages an issue to that member alone gets; the others are issued. The batch as a whole is refused only for its body or its template."#,
    request_body(
        content = BatchReq,
        examples(
            ("two members" = (value = json!({"template": "cash-10", "member_ids": ["m-store-1-1", "m-store-1-2"]})))
        )
    ),
    // The refusal codes this handler answers (statuses and meanings:
    // `openapi::CODES`).
    extensions(("x-codes" = json!([
        "idempotency_key_required", "invalid_idempotency_key", "invalid_json",
        "unauthorized", "coupon_template_not_found", "invalid_member_ids",
        "internal", "overloaded", "storage_unavailable", "payload_too_large",
    ]))),
    responses(
        (status = 200, description = r#"What was issued to whom, and who was refused."#, body = BatchView, content_type = "application/json")
    )
)]
pub(crate) async fn issue_batch(
    State(s): State<AppState>,
    axum::Extension(who): axum::Extension<Principal>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let _permit = admit(&s)?;
    let idem = idem(&headers, &method, "/coupon-batches", &body, true)?;
    if idem
        .as_ref()
        .is_some_and(|i| i.key.len() > BATCH_KEY_LEN_MAX)
    {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_idempotency_key",
            format!(
                "a batch's Idempotency-Key must be 1 to {BATCH_KEY_LEN_MAX} visible ASCII characters (each member's coupon is issued under <key>/<member id>)"
            ),
            format!(
                "批量发券的 Idempotency-Key 应为 1 到 {BATCH_KEY_LEN_MAX} 个可见 ASCII 字符（每位会员的券以 <key>/<会员编号> 发放）"
            ),
        ));
    }
    let req: BatchReq = parse_json(&body)?;
    let template = template_id(&req.template)?.to_string();
    let members = batch_members(&req.member_ids)?;
    let e = s.engine();
    let results = e
        .issue_coupons(actor(&who), idem, members.clone(), &template)
        .await?;
    let today = today();
    let here = e.node();
    let mut issued = Vec::new();
    let mut refused = Vec::new();
    for (m, r) in members.iter().zip(&results) {
        match r {
            Ok((Outcome::CouponIssued { coupon, member }, _)) => {
                if let Some(c) = member.coupon(coupon) {
                    issued.push(IssuedView {
                        member_id: m,
                        coupon: render::coupon(c, here, today),
                    });
                }
            }
            Ok((other, _)) => refused.push(refusal(
                m,
                &EngineError::Internal(format!("unexpected outcome {other:?}")),
            )),
            Err(err) => refused.push(refusal(m, err)),
        }
    }
    Ok(json_answer(
        StatusCode::OK,
        &BatchView {
            template: &template,
            issued,
            refused,
        },
    ))
}

/// One member of a batch refused: what an issue to that member alone
/// would have answered (a fault logged as `ApiError::from` logs it).
fn refusal<'a>(member: &'a MemberId, e: &EngineError) -> RefusedView<'a> {
    if matches!(e, EngineError::Internal(_) | EngineError::Storage(_)) {
        tracing::error!(error = %e, %member, "issuing a batch's coupon failed");
    }
    RefusedView {
        member_id: member,
        code: e.code(),
        message: e.to_string(),
        message_zh: e.message_zh(),
    }
}
