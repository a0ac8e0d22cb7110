//! Coupon templates (券模板) as the programme shows and takes them: HQ
//! authors them in `PUT /programme` (`coupon_templates`), every node shows
//! them in `GET /programme`. One shape both ways, so a client sends back
//! what it read. The rules are `tongka_core::coupon`'s; this module only
//! turns the JSON into the core's template and back.

use serde::{Deserialize, Serialize};
use tongka_core::coupon::{Benefit, CouponKind, CouponTemplate, Scope, TemplateError, Validity};
use tongka_core::day::Day;
use tongka_core::ids::NodeId;
use tongka_core::money::Money;
use tongka_core::programme::ProgrammeError;
use utoipa::ToSchema;

/// A coupon template: what its coupons take off, when and where they may
/// be used, and how often.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CouponTemplate)]
pub(crate) struct TemplateDto {
    /// 1 to 32 of `a-z`, `0-9`, `-`, `_`; distinct within the programme.
    #[schema(examples("cash-10"))]
    id: String,
    /// 1 to 40 characters.
    #[schema(examples("10元代金券"))]
    name: String,
    /// Why the coupon exists: `spend_off` (满减), `percent` (折扣券), `cash`
    /// (代金券), `exchange` (兑换券), `birthday`, `channel_gift`,
    /// `new_member`, `wake_up`.
    #[schema(examples("cash"))]
    kind: String,
    benefit: BenefitDto,
    validity: ValidityDto,
    /// Where it applies; an empty or absent list means all.
    #[serde(default)]
    scope: ScopeDto,
    /// Uses of each coupon, 1 to 1000 (1: single use).
    #[schema(examples(1))]
    uses: u32,
    /// The least the goods it applies to must come to, after the level
    /// discount. Absent: no minimum.
    #[serde(default = "zero")]
    #[schema(value_type = crate::openapi::Money, default = "0.00")]
    min_spend: String,
    /// The most coupons of this template one member may be issued; 0: no
    /// limit.
    #[serde(default)]
    per_member_limit: u32,
}

fn zero() -> String {
    "0.00".into()
}

/// What a coupon takes off.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
#[schema(as = CouponBenefit)]
pub(crate) enum BenefitDto {
    /// An amount off the goods it applies to (满减 with `min_spend`, or a
    /// cash voucher).
    AmountOff {
        #[schema(value_type = crate::openapi::Money)]
        off: String,
    },
    /// Pay `rate` of the goods it applies to (0.85 = 85折), saving at most
    /// `max_off`.
    Percent {
        #[schema(value_type = crate::openapi::Decimal)]
        rate: String,
        #[serde(default)]
        #[schema(value_type = Option<crate::openapi::Money>)]
        max_off: Option<String>,
    },
    /// One unit of product `sku` free.
    FreeItem { sku: String },
}

/// When its coupons may be used.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
#[schema(as = CouponValidity)]
pub(crate) enum ValidityDto {
    /// From `from` to `to` (YYYY-MM-DD, China time), both included.
    Dates { from: String, to: String },
    /// `days` days from the day a coupon is issued, that day included.
    DaysFromIssue { days: u16 },
}

/// Where a coupon applies; each list empty means all.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
#[schema(as = CouponScope)]
pub(crate) struct ScopeDto {
    skus: Vec<String>,
    categories: Vec<String>,
    /// Node names of stores.
    stores: Vec<String>,
    /// Level codes.
    levels: Vec<String>,
}

/// A kind by its name (the core's serde name: `spend_off`, `cash`, …).
fn kind_of(name: &str) -> Option<CouponKind> {
    serde_json::from_value(serde_json::Value::String(name.into())).ok()
}

/// A kind's name.
pub(crate) fn name_of(kind: CouponKind) -> String {
    match serde_json::to_value(kind) {
        Ok(serde_json::Value::String(s)) => s,
        _ => unreachable!("a unit variant serialises as its name"),
    }
}

/// The template `i` (from 0) of a request, checked by the core's rule.
pub(crate) fn template(i: usize, d: TemplateDto) -> Result<CouponTemplate, ProgrammeError> {
    let refuse = |why: TemplateError| ProgrammeError::CouponTemplate {
        template: i + 1,
        why,
    };
    let money = |t: &str, positive: bool, why: TemplateError| {
        Money::parse_amount(t, positive).map_err(|_| refuse(why))
    };
    let day = |t: &str| {
        t.parse::<Day>()
            .map_err(|_| refuse(TemplateError::Validity))
    };
    let kind = kind_of(&d.kind).ok_or_else(|| refuse(TemplateError::Kind))?;
    let benefit = match d.benefit {
        BenefitDto::AmountOff { off } => Benefit::AmountOff {
            off: money(&off, true, TemplateError::Off)?,
        },
        BenefitDto::Percent { rate, max_off } => Benefit::Percent {
            rate: tongka_core::money::parse_decimal_text(&rate, 2)
                .map_err(|_| refuse(TemplateError::Rate))?,
            max_off: match max_off {
                None => None,
                Some(m) => Some(money(&m, true, TemplateError::Off)?),
            },
        },
        BenefitDto::FreeItem { sku } => Benefit::FreeItem { sku },
    };
    let validity = match d.validity {
        ValidityDto::Dates { from, to } => Validity::Dates {
            from: day(&from)?,
            to: day(&to)?,
        },
        ValidityDto::DaysFromIssue { days } => Validity::DaysFromIssue { days },
    };
    let stores = d
        .scope
        .stores
        .iter()
        .map(|s| NodeId::new(s).map_err(|_| refuse(TemplateError::Scope)))
        .collect::<Result<Vec<_>, _>>()?;
    let t = CouponTemplate {
        id: d.id,
        name: d.name.trim().to_string(),
        kind,
        benefit,
        validity,
        scope: Scope {
            skus: d.scope.skus,
            categories: d.scope.categories,
            stores,
            levels: d.scope.levels,
        },
        uses: d.uses,
        min_spend: money(&d.min_spend, false, TemplateError::MinSpend)?,
        per_member_limit: d.per_member_limit,
    };
    t.validate().map_err(refuse)?;
    Ok(t)
}

/// A template as the programme shows it.
pub(crate) fn view(t: &CouponTemplate) -> TemplateDto {
    TemplateDto {
        id: t.id.clone(),
        name: t.name.clone(),
        kind: name_of(t.kind),
        benefit: benefit(&t.benefit),
        validity: match t.validity {
            Validity::Dates { from, to } => ValidityDto::Dates {
                from: from.to_string(),
                to: to.to_string(),
            },
            Validity::DaysFromIssue { days } => ValidityDto::DaysFromIssue { days },
        },
        scope: ScopeDto {
            skus: t.scope.skus.clone(),
            categories: t.scope.categories.clone(),
            stores: t.scope.stores.iter().map(|n| n.to_string()).collect(),
            levels: t.scope.levels.clone(),
        },
        uses: t.uses,
        min_spend: t.min_spend.to_string(),
        per_member_limit: t.per_member_limit,
    }
}

/// A benefit as a template shows it (and a coupon issued from it).
pub(crate) fn benefit(b: &Benefit) -> BenefitDto {
    match b {
        Benefit::AmountOff { off } => BenefitDto::AmountOff {
            off: off.to_string(),
        },
        Benefit::Percent { rate, max_off } => BenefitDto::Percent {
            rate: rate.to_string(),
            max_off: max_off.map(|m| m.to_string()),
        },
        Benefit::FreeItem { sku } => BenefitDto::FreeItem { sku: sku.clone() },
    }
}
