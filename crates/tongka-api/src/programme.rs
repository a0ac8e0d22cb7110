//! The membership programme (recharge offers, levels, points): get and
//! put, HQ-authored.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::dto::*;
use crate::*;

#[utoipa::path(
    get,
    path = "/api/v1/programme",
    operation_id = "getProgramme",
    tag = "programme",
    summary = r#"The membership programme / 会员方案"#,
    description = r#"Recharge offers, levels with their rates, the points rule, and the rounding and balance rules in words."#,
    // The refusal codes this handler answers (statuses and meanings:
    // `openapi::CODES`).
    extensions(("x-codes" = json!([
        "unauthorized",
    ]))),
    responses(
        (status = 200, description = r#"The programme."#, body = crate::render::ProgrammeView, content_type = "application/json")
    )
)]
pub(crate) async fn get_programme(State(s): State<AppState>) -> Response {
    Json(render::programme(&s.engine().programme())).into_response()
}

/// A recharge offer as `PUT /programme` takes it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = RechargeOfferRequest)]
pub(crate) struct OfferReq {
    #[schema(value_type = crate::openapi::AmountInput)]
    threshold: DecimalText,
    #[schema(value_type = crate::openapi::AmountInput)]
    bonus: DecimalText,
    /// Coupon templates (ids) a recharge reaching this offer issues to the
    /// member, one coupon each; absent: none. Refused:
    /// programme_offer_coupons.
    #[serde(default)]
    #[schema(max_items = 10)]
    coupons: Vec<String>,
}

/// A level as `PUT /programme` takes it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = LevelRequest)]
pub(crate) struct LevelReq {
    #[schema(examples("silver"))]
    code: String,
    #[schema(examples("银卡会员"))]
    name_zh: String,
    #[schema(examples("Silver"))]
    name_en: String,
    /// Cumulative principal recharged from which the level applies.
    #[schema(value_type = crate::openapi::AmountInput)]
    min_principal: DecimalText,
    /// Price multiplier at checkout (0.95 = 95折).
    #[schema(value_type = crate::openapi::Decimal)]
    rate: DecimalText,
}

/// The whole programme as `GET /programme` shows it (`rounding` and
/// `balance_order` may be sent back; they are ignored).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ProgrammeRequest)]
pub(crate) struct ProgrammeReq {
    recharge_offers: Vec<OfferReq>,
    levels: Vec<LevelReq>,
    #[schema(value_type = crate::openapi::Decimal)]
    points_per_yuan: DecimalText,
    /// Paying with points (积分抵现). Absent or null: off. Refused:
    /// programme_deduction_rate, programme_deduction_cap,
    /// programme_deduction_minimum.
    #[serde(default)]
    #[schema(default = json!(null))]
    points_deduction: Option<DeductionReq>,
    /// The chain's coupon templates (券模板), the whole list. Absent: the
    /// templates stay as they are (a client of before changes none).
    /// Refused: invalid_coupon_template (details: `field`,
    /// `coupon_templates[i]`).
    #[serde(default)]
    #[schema(default = json!(null))]
    coupon_templates: Option<Vec<crate::coupon_templates::TemplateDto>>,
    /// A cashier's refund above this amount needs a store manager's
    /// approval at the till. Absent: unchanged (a client of before changes
    /// nothing); null: no refund needs approval. Refused:
    /// programme_refund_limit, invalid_amount.
    #[serde(default, deserialize_with = "crate::dto::double_option")]
    #[schema(value_type = Option<crate::openapi::AmountInput>)]
    refund_approval_above: Option<Option<DecimalText>>,
    /// A sale that takes a store's stock below zero: `allow` (flagged) or
    /// `refuse`. Absent: unchanged. Refused: invalid_negative_stock.
    #[serde(default)]
    #[schema(value_type = Option<String>, pattern = "^(allow|refuse)$")]
    negative_stock: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    #[schema(value_type = Option<String>)]
    rounding: Option<Value>,
    #[serde(default)]
    #[allow(dead_code)]
    #[schema(value_type = Option<String>)]
    balance_order: Option<Value>,
}

/// The points deduction rule as `GET /programme` shows it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PointsDeductionRequest)]
pub(crate) struct DeductionReq {
    /// Points that make 1.00 (100 = 100 points for 1.00).
    #[schema(value_type = crate::openapi::WholeInput)]
    points_per_yuan: Value,
    /// The largest part of the payable (after the level discount) points
    /// may pay: > 0, ≤ 1, at most 4 places (0.5 = half).
    #[schema(value_type = crate::openapi::Decimal)]
    cap: DecimalText,
    /// The fewest points one checkout may use; 0 = no minimum.
    #[serde(default)]
    #[schema(value_type = Option<crate::openapi::WholeInput>, default = 0)]
    min_points: Option<Value>,
}

pub(crate) fn authoring_programme(s: &AppState) -> Result<(), ApiError> {
    crate::authorised(s, tongka_core::authority::Act::AuthorProgramme)
}

/// The programme a request asks for; `current` templates are kept when it
/// names none.
pub(crate) fn programme_req(
    req: ProgrammeReq,
    current: &tongka_core::Programme,
) -> Result<tongka_core::Programme, ApiError> {
    use tongka_core::programme::{Level, ProgrammeError, RechargeOffer};
    let refuse = |e: ProgrammeError| ApiError::from(tongka_actors::EngineError::from(e));
    // Shown with at least two places, as the default programme's are.
    let decimal = |t: &DecimalText, e: ProgrammeError| {
        tongka_core::money::parse_decimal_text(&t.0, 4)
            .map(|mut d| {
                if d.scale() < 2 {
                    d.rescale(2);
                }
                d
            })
            .map_err(|_| refuse(e))
    };
    let mut offers = Vec::with_capacity(req.recharge_offers.len());
    for (i, o) in req.recharge_offers.iter().enumerate() {
        offers.push(RechargeOffer {
            threshold: o
                .threshold
                .money(&format!("recharge_offers[{i}].threshold"), true)?,
            bonus: o
                .bonus
                .money(&format!("recharge_offers[{i}].bonus"), false)?,
            coupons: o.coupons.clone(),
        });
    }
    let mut levels = Vec::with_capacity(req.levels.len());
    for (i, l) in req.levels.into_iter().enumerate() {
        levels.push(Level {
            min_principal: l
                .min_principal
                .money(&format!("levels[{i}].min_principal"), false)?,
            rate: decimal(&l.rate, ProgrammeError::LevelRate)?,
            code: l.code,
            name_zh: l.name_zh.trim().to_string(),
            name_en: l.name_en.trim().to_string(),
        });
    }
    // A whole number, as a JSON number or string.
    let whole = |v: &Value, e: ProgrammeError| {
        match v {
            Value::Number(n) => n.as_i64(),
            Value::String(t) => t.trim().parse::<i64>().ok(),
            _ => None,
        }
        .ok_or_else(|| refuse(e))
    };
    let points_deduction = match &req.points_deduction {
        None => None,
        Some(d) => Some(tongka_core::programme::PointsDeduction {
            points_per_yuan: whole(&d.points_per_yuan, ProgrammeError::DeductionRate)?,
            cap: decimal(&d.cap, ProgrammeError::DeductionCap)?,
            min_points: match &d.min_points {
                None => 0,
                Some(m) => whole(m, ProgrammeError::DeductionMinimum)?,
            },
        }),
    };
    let coupon_templates = match req.coupon_templates {
        None => current.coupon_templates.clone(),
        Some(list) => list
            .into_iter()
            .enumerate()
            .map(|(i, t)| crate::coupon_templates::template(i, t))
            .collect::<Result<Vec<_>, _>>()
            .map_err(refuse)?,
    };
    let p = tongka_core::Programme {
        recharge_offers: offers,
        levels,
        points_per_yuan: tongka_core::money::parse_decimal_text(&req.points_per_yuan.0, 4)
            .map_err(|_| refuse(ProgrammeError::PointsRate))?,
        points_deduction,
        coupon_templates,
        refund_approval_above: match &req.refund_approval_above {
            None => current.refund_approval_above,
            Some(None) => None,
            Some(Some(t)) => Some(t.money("refund_approval_above", false)?),
        },
        negative_stock: match req.negative_stock.as_deref() {
            None => current.negative_stock,
            Some("allow") => tongka_core::stock::NegativeStock::Allow,
            Some("refuse") => tongka_core::stock::NegativeStock::Refuse,
            Some(_) => {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_negative_stock",
                    "negative_stock is allow or refuse",
                    "negative_stock 须为 allow（允许负库存）或 refuse（拒绝）",
                )
                .with("field", "negative_stock"));
            }
        },
    };
    p.validate().map_err(refuse)?;
    Ok(p)
}

/// Change the programme (HQ, or a chain-less node): the whole programme as
/// `GET` shows it. Decisions made after it use it; it reaches every store
/// by replication. Answers the programme now (200).
#[utoipa::path(
    put,
    path = "/api/v1/programme",
    operation_id = "putProgramme",
    tag = "programme",
    summary = r#"Change the membership programme / 修改会员方案"#,
    description = r#"HQ authors the programme for the whole chain: the change is an automerge change of the programme document, logged as a `programme_changed` op and replicated to every store, where decisions made after it (recharge bonus, levels, points) use it; what earlier ops decided stays. A node of no chain (quick start) may change its own programme; a store of a chain answers 403. Concurrent changes of different parts (offers, levels, points rule) both stay; of the same part, one wins on every node."#,
    request_body(
        content = crate::programme::ProgrammeReq,
        examples(
            ("richer_first_offer" = (value = json!({"recharge_offers": [{"threshold": "1000.00", "bonus": "150.00"}, {"threshold": "2000.00", "bonus": "200.00"}], "levels": [{"code": "regular", "name_zh": "普通会员", "name_en": "Regular", "min_principal": "0.00", "rate": "1"}, {"code": "silver", "name_zh": "银卡会员", "name_en": "Silver", "min_principal": "1000.00", "rate": "0.95"}], "points_per_yuan": "1"}))),
            ("with a coupon template" = (value = json!({"recharge_offers": [{"threshold": "1000.00", "bonus": "100.00"}], "levels": [{"code": "regular", "name_zh": "普通会员", "name_en": "Regular", "min_principal": "0.00", "rate": "1"}], "points_per_yuan": "1", "coupon_templates": [{"id": "cash-10", "name": "10元代金券", "kind": "cash", "benefit": {"type": "amount_off", "off": "10.00"}, "validity": {"type": "days_from_issue", "days": 30}, "uses": 1, "min_spend": "30.00", "per_member_limit": 0}]})))
        )
    ),
    // The refusal codes this handler answers (statuses and meanings:
    // `openapi::CODES`).
    extensions(("x-codes" = json!([
        "invalid_idempotency_key", "invalid_json", "unauthorized", "programme_hq_only",
        "idempotency_key_reused", "idempotency_key_in_progress",
        "programme_levels_order", "programme_level_rate", "programme_offers_order",
        "programme_points_rate", "programme_level_names", "programme_too_many",
        "invalid_amount", "programme_deduction_rate", "programme_deduction_cap",
        "programme_deduction_minimum", "invalid_coupon_template", "programme_offer_coupons",
        "programme_refund_limit", "invalid_negative_stock", "internal", "overloaded",
        "storage_unavailable",
        "payload_too_large",
    ]))),
    responses(
        (status = 200, description = r#"The programme now (or the first answer, replayed)."#, body = crate::render::ProgrammeView, content_type = "application/json")
    )
)]
pub(crate) async fn put_programme(
    State(s): State<AppState>,
    axum::Extension(who): axum::Extension<Principal>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let _permit = admit(&s)?;
    authoring_programme(&s)?;
    let idem = idem(&headers, &method, "/programme", &body, false)?;
    let current = s.engine().programme();
    let asked = match parse_json(&body).and_then(|r| programme_req(r, &current)) {
        Ok(p) => p,
        Err(e) => return refused(&s, idem.as_ref(), StatusCode::OK, e),
    };
    let out = s
        .engine()
        .change_programme(asked, actor(&who), idem)
        .await?;
    Ok(answered(&s, StatusCode::OK, &out))
}
