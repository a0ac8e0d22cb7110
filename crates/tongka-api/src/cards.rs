//! Count and period cards held by members (次卡、期卡): `GET
//! /members/{id}/cards` lists what a member holds, `POST
//! /members/{id}/cards/{code}/visits` verifies visits on one (核销). A
//! card is sold by a checkout line of a card product (`products.rs`: a
//! product's `card`) and taken back by a refund of that line; the rules are
//! `tongka_core::card`'s, the visit the engine's (`tongka_actors::cards`:
//! a count card short here asks the stores holding its visits).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use tongka_core::card::{CardPlanError, HeldCard, VISIT_COUNT_MAX};
use tongka_core::error::DomainError;
use tongka_core::ids::{CardId, MemberId};
use utoipa::ToSchema;

use crate::dto::parse_json;
use crate::render::CardView;
use crate::*;

/// Visits to verify on a card. An empty body is `{}`: one visit, no
/// service named.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CardVisitRequest)]
pub(crate) struct VisitReq {
    /// The visits this verification counts, 1 to 100 (a family of four at the pool is 4). Absent: 1.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 100, default = 1, examples(1))]
    count: Option<i64>,
    /// The service (a product's sku) the visit is for. A card bound to services needs one of them; a card bound to none takes any, or none.
    #[serde(default)]
    #[schema(examples("haircut"), min_length = 1, max_length = 32)]
    service: Option<String>,
}

/// The cards a member holds.
#[derive(Serialize, ToSchema)]
#[schema(as = MemberCards)]
pub(crate) struct ListView<'a> {
    #[schema(value_type = crate::openapi::MemberId)]
    member_id: &'a MemberId,
    /// Every card the member holds, newest first: usable, not yet valid, used up, expired and refunded.
    cards: Vec<CardView<'a>>,
}

/// A product's card plan refused: the core's refusal, its field named
/// from the request's root (`card.visits`).
pub(crate) fn plan_refused(e: CardPlanError) -> ApiError {
    let field = format!("card.{}", e.field());
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        e.code(),
        format!("{field}: {e}"),
        format!("{field}：{}", e.message_zh()),
    )
    .with("field", field)
}

/// `code` as a card code, else refused without echoing it (it may be
/// 10 KB or carry control characters).
fn card_code(code: &str) -> Result<CardId, ApiError> {
    CardId::parse(code).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_card_code",
            "code: not a card code (k-<store>-<n>, as printed on the receipt)",
            "code：不是卡号（形如 k-<门店>-<编号>，见购卡小票）",
        )
        .with("field", "code")
    })
}

/// The visits counted, 1 to `VISIT_COUNT_MAX` (absent: 1), checked here
/// for any number JSON carries (the core's check takes a `u32`).
fn visit_count(count: Option<i64>) -> Result<u32, ApiError> {
    let n = count.unwrap_or(1);
    match u32::try_from(n) {
        Ok(c) if (1..=VISIT_COUNT_MAX).contains(&c) => Ok(c),
        _ => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_visit_count",
            format!("a visit counts 1 to {VISIT_COUNT_MAX} visits, not {n}"),
            format!("核销次数应为 1 到 {VISIT_COUNT_MAX}，不能为 {n}"),
        )
        .with("count", n)
        .with("max", VISIT_COUNT_MAX)),
    }
}

/// The service named, if it has a sku's shape. One that has not is no
/// service any card covers, refused as such without echoing it: it would
/// otherwise be recorded in the visit's op and shown in the history.
fn service(card: &CardId, s: Option<String>) -> Result<Option<String>, ApiError> {
    match s {
        Some(s) if tongka_core::catalogue::validate_sku(&s).is_err() => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "card_not_applicable",
            format!(
                "card {card} does not cover that service: a service is a product's sku (1 to 32 letters, digits, - or _)"
            ),
            format!("卡 {card} 不适用于该服务：服务应为商品编号（1 到 32 个字母、数字、- 或 _）"),
        )
        .with("card", card)
        .with("field", "service")),
        s => Ok(s),
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/members/{id}/cards",
    operation_id = "listCards",
    tag = "cards",
    summary = r#"A member's cards / 会员的次卡与期卡"#,
    description = r#"Every card the member holds, newest first (by the day sold), refunded, used up and expired ones included, each with its status as of today (China time), its visits (a count card: used, left, and where they are held; `held_here`: usable at this store without asking another) and the visits this store knows it had today."#,
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
        (status = 200, description = r#"The member's cards."#, body = ListView, content_type = "application/json")
    )
)]
pub(crate) async fn list(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let e = s.engine();
    let m = e.member(&member_id(&id)?)?;
    let today = today();
    let mut cards: Vec<&HeldCard> = m.cards.iter().collect();
    // Held by code, which orders as text (`k-s-10` before `k-s-9`): the
    // newest first is the latest day sold, then the higher number.
    cards.sort_by(|a, b| {
        (b.card.from, b.id().number(), b.id()).cmp(&(a.card.from, a.id().number(), a.id()))
    });
    let cards = cards
        .into_iter()
        .map(|c| render::card(c, e.node(), today))
        .collect();
    Ok(json_answer(
        StatusCode::OK,
        &ListView {
            member_id: &m.id,
            cards,
        },
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/members/{id}/cards/{code}/visits",
    operation_id = "visitCard",
    tag = "cards",
    summary = r#"Verify visits on a card / 次卡、期卡核销"#,
    description = r#"Verifies `count` visits (default 1) for `service` on the member's card, by the card's rule, in this order: the count (1 to 100), its days (`card_not_yet_valid`, `card_expired`), its services (`card_not_applicable`: a card bound to services needs one of them named), then a count card's visits (`card_used_up`) or a period card's daily cap (`card_daily_cap`). A count card's visits are held per store like a balance: a visit short here asks the stores holding the rest first, and is refused `card_held_elsewhere` (naming them) when they cannot be reached; the visits used at all stores together never exceed the card's. A period card's daily cap is checked against the visits this store knows of today: two stores cut off from each other may each let a visit through (a stated limit). Refused at HQ, which sells nothing. Answers the card after the visit. An empty body is `{}`."#,
    params(
        ("id" = crate::openapi::MemberId, Path, description = r#"Member id, `m-<node>-<n>`. An id of another shape is answered `404 member_not_found`."#, example = "m-store-1-1"),
        ("code" = crate::openapi::CardCode, Path, description = r#"The card's code, `k-<store>-<n>`. A code of another shape is `422 invalid_card_code` (not echoed)."#, example = "k-store-1-3")
    ),
    request_body(content = VisitReq),
    // The refusal codes this handler answers (statuses and meanings:
    // `openapi::CODES`).
    extensions(("x-codes" = json!([
        "idempotency_key_required", "invalid_idempotency_key", "invalid_json",
        "unauthorized", "hq_sells_nothing", "member_not_found", "card_not_found",
        "invalid_card_code", "invalid_visit_count", "card_not_yet_valid",
        "card_expired", "card_not_applicable", "card_daily_cap", "card_used_up",
        "card_refunded", "card_held_elsewhere", "idempotency_key_reused",
        "idempotency_key_in_progress", "internal", "overloaded",
        "storage_unavailable", "payload_too_large",
    ]))),
    responses(
        (status = 201, description = r#"The visits verified, and the card after them (or the first answer, replayed; the card's status as of today)."#, body = crate::render::VisitView, content_type = "application/json")
    )
)]
pub(crate) async fn visit(
    State(s): State<AppState>,
    axum::Extension(who): axum::Extension<Principal>,
    Path((id, code)): Path<(String, String)>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let _permit = admit(&s)?;
    selling(&s)?;
    let idem = idem(
        &headers,
        &method,
        &format!("/members/{id}/cards/{code}/visits"),
        &body,
        true,
    )?;
    let parsed = (|| {
        let member = member_id(&id)?;
        let card = card_code(&code)?;
        let req: VisitReq = if body.is_empty() {
            VisitReq::default()
        } else {
            parse_json(&body)?
        };
        let count = visit_count(req.count)?;
        let service = service(&card, req.service)?;
        Ok((member, card, count, service))
    })();
    let (member, card, count, service) = match parsed {
        Ok(p) => p,
        Err(e) => return refused(&s, idem.as_ref(), StatusCode::CREATED, e),
    };
    let out = s
        .engine()
        .visit_card(actor(&who), idem, member, card, count, service)
        .await?;
    Ok(created(&s, &out))
}
