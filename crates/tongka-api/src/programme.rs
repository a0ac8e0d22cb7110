//! The membership programme (recharge offers, levels, points): get and
//! put, HQ-authored.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::Value;

use crate::dto::*;
use crate::*;

pub(crate) async fn get_programme(State(s): State<AppState>) -> Response {
    Json(render::programme(&s.engine().programme())).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OfferReq {
    threshold: DecimalText,
    bonus: DecimalText,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LevelReq {
    code: String,
    name_zh: String,
    name_en: String,
    min_principal: DecimalText,
    rate: DecimalText,
}

/// The programme as `GET /programme` shows it; the explanatory fields
/// (`rounding`, `balance_order`) may be sent back and are ignored.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProgrammeReq {
    recharge_offers: Vec<OfferReq>,
    levels: Vec<LevelReq>,
    points_per_yuan: DecimalText,
    /// Paying with points (积分抵现): absent or null = off.
    #[serde(default)]
    points_deduction: Option<DeductionReq>,
    #[serde(default)]
    #[allow(dead_code)]
    rounding: Option<Value>,
    #[serde(default)]
    #[allow(dead_code)]
    balance_order: Option<Value>,
}

/// The points deduction rule as `GET /programme` shows it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DeductionReq {
    points_per_yuan: Value,
    cap: DecimalText,
    #[serde(default)]
    min_points: Option<Value>,
}

pub(crate) fn authoring_programme(s: &AppState) -> Result<(), ApiError> {
    crate::authorised(s, tongka_core::authority::Act::AuthorProgramme)
}

pub(crate) fn programme_req(req: ProgrammeReq) -> Result<tongka_core::Programme, ApiError> {
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
    let p = tongka_core::Programme {
        recharge_offers: offers,
        levels,
        points_per_yuan: tongka_core::money::parse_decimal_text(&req.points_per_yuan.0, 4)
            .map_err(|_| refuse(ProgrammeError::PointsRate))?,
        points_deduction,
    };
    p.validate().map_err(refuse)?;
    Ok(p)
}

/// Change the programme (HQ, or a chain-less node): the whole programme as
/// `GET` shows it. Decisions made after it use it; it reaches every store
/// by replication. Answers the programme now (200).
pub(crate) async fn put_programme(
    State(s): State<AppState>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let _permit = admit(&s)?;
    authoring_programme(&s)?;
    let idem = idem(&headers, &method, "/programme", &body, false)?;
    let asked = match parse_json(&body).and_then(programme_req) {
        Ok(p) => p,
        Err(e) => return refused(&s, idem.as_ref(), StatusCode::OK, e),
    };
    let out = s.engine().change_programme(asked, actor(), idem).await?;
    Ok(answered(&s, StatusCode::OK, &out))
}
