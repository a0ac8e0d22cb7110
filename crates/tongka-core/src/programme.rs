//! The membership programme: recharge offers, levels and the points rule.
//! HQ authors it for the whole chain; `Programme::default()` is the default
//! programme of api.md, taken from the requirement documents.

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};

use crate::coupon::{CouponTemplate, TemplateError};
use crate::money::Money;
use crate::text::{self, Lines, TextError};

/// Recharge `threshold` or more in one go and get `bonus` on top, and a
/// coupon of each of `coupons` (template ids; seed 002's entry tiers give
/// coupons instead of a bonus).
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, minicbor::Encode, minicbor::Decode,
)]
pub struct RechargeOffer {
    #[n(0)]
    pub threshold: Money,
    #[n(1)]
    pub bonus: Money,
    #[serde(default)]
    #[cbor(n(2), skip_if = "crate::codec::is_empty_vec")]
    pub coupons: Vec<String>,
}

/// The most coupons one recharge offer gives.
pub const OFFER_COUPONS_MAX: usize = 10;

/// A member level (会员等级), reached by cumulative principal recharged.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, minicbor::Encode, minicbor::Decode,
)]
pub struct Level {
    /// Stable machine name (`regular`, `silver`, …).
    #[n(0)]
    pub code: String,
    #[n(1)]
    pub name_zh: String,
    #[n(2)]
    pub name_en: String,
    /// Cumulative principal recharged from which the level applies.
    #[n(3)]
    pub min_principal: Money,
    /// Price multiplier applied to every line at checkout (0.95 = 95折).
    #[cbor(n(4), with = "crate::codec::decimal")]
    pub rate: Decimal,
}

#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, minicbor::Encode, minicbor::Decode,
)]
pub struct Programme {
    /// Sorted by threshold, ascending; the highest one reached applies.
    #[n(0)]
    pub recharge_offers: Vec<RechargeOffer>,
    /// Sorted by `min_principal`, ascending; the first starts at zero.
    #[n(1)]
    pub levels: Vec<Level>,
    /// Points earned per whole yuan paid (rounded down to a whole point).
    #[cbor(n(2), with = "crate::codec::decimal")]
    pub points_per_yuan: Decimal,
    /// Paying with points at checkout (积分抵现); `None` = off (the
    /// default). The programme document holds it (what applies).
    #[n(3)]
    pub points_deduction: Option<PointsDeduction>,
    /// The chain's coupon templates (`coupon`), sorted by id, at most
    /// [`COUPON_TEMPLATES_MAX`]. HQ authors them with the rest of the
    /// programme; each is a part of its own in the programme document, so
    /// edits of different templates both stay.
    /// Left out of the encoding when empty, so a programme without
    /// templates encodes as it did before they existed.
    #[cbor(n(4), skip_if = "crate::codec::is_empty_vec", default)]
    #[serde(default)]
    pub coupon_templates: Vec<CouponTemplate>,
    /// A cashier's refund above this amount needs a store manager's
    /// approval at the till (`staff::approval_needed`); `None`: no refund
    /// needs one. A document without the part holds the default,
    /// [`REFUND_APPROVAL_ABOVE`].
    #[n(5)]
    #[serde(default)]
    pub refund_approval_above: Option<Money>,
    /// Whether a sale may take a store's stock below zero (flagged) or is
    /// refused (`stock::NegativeStock`). A document without the part, and
    /// an encoding without the field, hold the default: allow.
    #[cbor(n(6), skip_if = "crate::stock::NegativeStock::is_allow", default)]
    #[serde(default)]
    pub negative_stock: crate::stock::NegativeStock,
}

/// The refund limit of the default programme (and of a document written
/// before the limit existed): 500.00.
pub const REFUND_APPROVAL_ABOVE: Money = Money::yuan_const(500);

/// The highest refund limit a programme may set: 1,000,000.00.
pub const REFUND_LIMIT_MAX: Money = Money::yuan_const(1_000_000);

/// The most coupon templates a programme holds.
pub const COUPON_TEMPLATES_MAX: usize = 200;

/// The points deduction rule (积分抵现). Its arithmetic, written down once
/// in `checkout`'s module doc: n points are worth round(n ÷
/// `points_per_yuan`) yuan, to the fen half-up; their worth may not exceed
/// round(payable × `cap`); a checkout uses at least `min_points` (or none).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, minicbor::Encode, minicbor::Decode,
)]
pub struct PointsDeduction {
    /// Points that make one yuan (100 = 100 points for 1.00), 1 to 10000.
    #[n(0)]
    pub points_per_yuan: i64,
    /// The largest part of the payable (after the level discount) points
    /// may pay: greater than 0, at most 1 (0.5 = half).
    #[cbor(n(1), with = "crate::codec::decimal")]
    pub cap: Decimal,
    /// The fewest points one checkout may use; 0 = no minimum. At most
    /// `POINTS_MIN_MAX`.
    #[n(2)]
    pub min_points: i64,
}

/// The largest `PointsDeduction::points_per_yuan`.
pub const DEDUCTION_RATE_MAX: i64 = 10_000;
/// The largest `PointsDeduction::min_points`.
pub const POINTS_MIN_MAX: i64 = 1_000_000;

impl PointsDeduction {
    /// What `points` are worth: round(points ÷ points per yuan), to the fen
    /// half-up.
    pub fn value_of(&self, points: i64) -> Money {
        Money::round_half_up(Decimal::from(points) / Decimal::from(self.points_per_yuan))
    }

    /// The most points may pay of `payable`: round(payable × cap), to the
    /// fen half-up (never more than `payable`: cap ≤ 1).
    pub fn cap_of(&self, payable: Money) -> Money {
        Money::round_half_up(payable.as_decimal() * self.cap).min(payable)
    }

    /// The most points whose worth stays within `limit`.
    pub fn max_points_within(&self, limit: Money) -> i64 {
        if !limit.is_positive() {
            return 0;
        }
        // Worth is monotonic in points, and round(n ÷ rate) ≤ limit exactly
        // when n < (limit + 0.005) × rate: start there, settle by steps.
        let rate = Decimal::from(self.points_per_yuan);
        let mut n = ((limit.as_decimal() + Decimal::new(5, 3)) * rate)
            .floor()
            .to_i64()
            .unwrap_or(0);
        while self.value_of(n + 1) <= limit {
            n += 1;
        }
        while n > 0 && self.value_of(n) > limit {
            n -= 1;
        }
        n
    }

    pub fn validate(&self) -> Result<(), ProgrammeError> {
        if !(1..=DEDUCTION_RATE_MAX).contains(&self.points_per_yuan) {
            return Err(ProgrammeError::DeductionRate);
        }
        if self.cap <= Decimal::ZERO || self.cap > Decimal::ONE || self.cap.normalize().scale() > 4
        {
            return Err(ProgrammeError::DeductionCap);
        }
        if !(0..=POINTS_MIN_MAX).contains(&self.min_points) {
            return Err(ProgrammeError::DeductionMinimum);
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
// Not `non_exhaustive`: the API maps each variant to an HTTP status in an
// exhaustive match, so a new variant must be given one (tongka-api error.rs).
pub enum ProgrammeError {
    #[error("levels must start at 0 and rise strictly")]
    LevelsOrder,
    #[error("a level rate must be greater than 0 and at most 1")]
    LevelRate,
    #[error("recharge offer thresholds must rise strictly and bonuses be below the threshold")]
    OffersOrder,
    #[error("points per yuan must be between 0 and 100")]
    PointsRate,
    #[error("level codes must be 1 to 32 letters, digits or _ and distinct")]
    LevelNames,
    /// A level's `name_zh` or `name_en` (`level` from 1, in the order given).
    #[error("level {level}: {field} {why}")]
    LevelName {
        level: usize,
        field: &'static str,
        why: TextError,
    },
    #[error("a programme has at most 20 recharge offers and 20 levels")]
    TooMany,
    #[error("points deduction: points per yuan must be a whole number from 1 to 10000")]
    DeductionRate,
    #[error(
        "points deduction: the cap must be greater than 0 and at most 1, with at most 4 decimal places"
    )]
    DeductionCap,
    #[error("points deduction: the minimum must be a whole number from 0 to 1000000")]
    DeductionMinimum,
    /// A coupon template (`template` from 1, in the order given).
    #[error("coupon template {template}: {why}")]
    CouponTemplate { template: usize, why: TemplateError },
    #[error("coupon template ids must be distinct, at most 200 templates")]
    CouponTemplateIds,
    #[error("the refund approval limit must be from 0.00 to 1000000.00")]
    RefundLimit,
    /// A recharge offer's coupons (`offer` from 1): at most
    /// `OFFER_COUPONS_MAX`, each a template of the programme.
    #[error(
        "recharge offer {offer}: coupons must be at most 10 templates of the programme; {template:?} is not one"
    )]
    OfferCoupons { offer: usize, template: String },
}

/// The most recharge offers, and the most levels, a programme has.
pub const PROGRAMME_ITEMS_MAX: usize = 20;

impl crate::error::DomainError for ProgrammeError {
    fn code(&self) -> &'static str {
        match self {
            ProgrammeError::LevelsOrder => "programme_levels_order",
            ProgrammeError::LevelRate => "programme_level_rate",
            ProgrammeError::OffersOrder => "programme_offers_order",
            ProgrammeError::PointsRate => "programme_points_rate",
            ProgrammeError::LevelNames | ProgrammeError::LevelName { .. } => {
                "programme_level_names"
            }
            ProgrammeError::TooMany => "programme_too_many",
            ProgrammeError::DeductionRate => "programme_deduction_rate",
            ProgrammeError::DeductionCap => "programme_deduction_cap",
            ProgrammeError::DeductionMinimum => "programme_deduction_minimum",
            ProgrammeError::CouponTemplate { .. } | ProgrammeError::CouponTemplateIds => {
                "invalid_coupon_template"
            }
            ProgrammeError::OfferCoupons { .. } => "programme_offer_coupons",
            ProgrammeError::RefundLimit => "programme_refund_limit",
        }
    }

    fn message_zh(&self) -> String {
        match self {
            ProgrammeError::LevelsOrder => "会员等级须从累计充值 0 起，门槛严格递增".into(),
            ProgrammeError::LevelRate => "等级折扣率须大于 0 且不大于 1".into(),
            ProgrammeError::OffersOrder => {
                "充值优惠门槛须严格递增，赠送金额不能为负且须小于门槛".into()
            }
            ProgrammeError::PointsRate => "每元积分须在 0 到 100 之间".into(),
            ProgrammeError::LevelNames => {
                "等级代码须为 1 到 32 个字母、数字或下划线且互不相同".into()
            }
            ProgrammeError::LevelName { level, field, why } => {
                format!("第 {level} 个等级：{field} {}", why.zh())
            }
            ProgrammeError::TooMany => "充值优惠与会员等级各最多 20 个".into(),
            ProgrammeError::DeductionRate => {
                "积分抵现：多少积分抵 1 元须为 1 到 10000 的整数".into()
            }
            ProgrammeError::DeductionCap => {
                "积分抵现：抵扣上限比例须大于 0 且不大于 1，最多 4 位小数".into()
            }
            ProgrammeError::DeductionMinimum => {
                "积分抵现：单笔最少使用积分须为 0 到 1000000 的整数".into()
            }
            ProgrammeError::CouponTemplate { template, why } => {
                format!("第 {template} 个券模板：{}", why.message_zh())
            }
            ProgrammeError::CouponTemplateIds => "券模板编号须互不相同，最多 200 个券模板".into(),
            ProgrammeError::RefundLimit => "退款审批额度须在 0.00 到 1000000.00 之间".into(),
            ProgrammeError::OfferCoupons { offer, template } => format!(
                "第 {offer} 个充值优惠：赠券最多 {OFFER_COUPONS_MAX} 张，且须是方案中的券模板；{template:?} 不是"
            ),
        }
    }

    fn details(&self) -> Vec<(&'static str, String)> {
        match self {
            ProgrammeError::LevelName { level, field, why } => {
                let mut d = vec![("field", format!("levels[{}].{field}", level - 1))];
                d.extend(why.details());
                d
            }
            ProgrammeError::CouponTemplate { template, why } => {
                let mut d = vec![("field", format!("coupon_templates[{}]", template - 1))];
                d.extend(why.details());
                d
            }
            ProgrammeError::OfferCoupons { offer, .. } => {
                vec![("field", format!("recharge_offers[{}].coupons", offer - 1))]
            }
            _ => Vec::new(),
        }
    }
}

fn level(code: &str, zh: &str, en: &str, min_yuan: i64, rate_pct: i64) -> Level {
    Level {
        code: code.into(),
        name_zh: zh.into(),
        name_en: en.into(),
        min_principal: Money::from_yuan(min_yuan),
        rate: Decimal::new(rate_pct, 2),
    }
}

impl Default for Programme {
    /// 充值1000赠100 … 4000赠400; levels by cumulative principal:
    /// 普通 100%, 银卡 95%, 金卡 90%, 铂金 85%, 钻石 80%; 1 point per yuan.
    fn default() -> Programme {
        Programme {
            recharge_offers: [1000, 2000, 3000, 4000]
                .into_iter()
                .map(|y| RechargeOffer {
                    threshold: Money::from_yuan(y),
                    bonus: Money::from_yuan(y / 10),
                    coupons: Vec::new(),
                })
                .collect(),
            levels: vec![
                level("regular", "普通会员", "Regular", 0, 100),
                level("silver", "银卡会员", "Silver", 1000, 95),
                level("gold", "金卡会员", "Gold", 2000, 90),
                level("platinum", "铂金会员", "Platinum", 3000, 85),
                level("diamond", "钻石会员", "Diamond", 4000, 80),
            ],
            points_per_yuan: Decimal::ONE,
            points_deduction: None,
            coupon_templates: Vec::new(),
            refund_approval_above: Some(REFUND_APPROVAL_ABOVE),
            negative_stock: crate::stock::NegativeStock::Allow,
        }
    }
}

/// The most characters of a level's name.
pub const LEVEL_NAME_LEN_MAX: usize = 32;

/// A level name's length as every build has checked it: not blank, at
/// most `LEVEL_NAME_LEN_MAX` characters as written.
fn level_name_len(n: &str) -> Result<(), TextError> {
    if n.trim().is_empty() || n.chars().count() > LEVEL_NAME_LEN_MAX {
        return Err(TextError::Length {
            min: 1,
            max: LEVEL_NAME_LEN_MAX,
        });
    }
    Ok(())
}

impl Programme {
    /// Check a programme HQ sets: level names held to `text`'s rule
    /// (they are shown at every store), besides every other rule.
    pub fn validate(&self) -> Result<(), ProgrammeError> {
        self.check(|n| {
            level_name_len(n)?;
            text::check_chars(n, Lines::One)
        })
    }

    /// Check a programme as stored in its document (received from HQ, or
    /// held since before): level names held to their length only, as
    /// every build did, so a node holding one an older HQ wrote still
    /// starts, and still applies HQ's changes. Every other rule applies.
    pub fn validate_stored(&self) -> Result<(), ProgrammeError> {
        self.check(level_name_len)
    }

    fn check(&self, name: impl Fn(&str) -> Result<(), TextError>) -> Result<(), ProgrammeError> {
        if self
            .refund_approval_above
            .is_some_and(|m| m < Money::ZERO || m > REFUND_LIMIT_MAX)
        {
            return Err(ProgrammeError::RefundLimit);
        }
        if self.levels.len() > PROGRAMME_ITEMS_MAX
            || self.recharge_offers.len() > PROGRAMME_ITEMS_MAX
        {
            return Err(ProgrammeError::TooMany);
        }
        let ids: std::collections::BTreeSet<&str> = self
            .coupon_templates
            .iter()
            .map(|t| t.id.as_str())
            .collect();
        if ids.len() != self.coupon_templates.len()
            || self.coupon_templates.len() > COUPON_TEMPLATES_MAX
        {
            return Err(ProgrammeError::CouponTemplateIds);
        }
        for (i, t) in self.coupon_templates.iter().enumerate() {
            t.validate().map_err(|why| ProgrammeError::CouponTemplate {
                template: i + 1,
                why,
            })?;
        }
        let code_ok = |c: &str| {
            (1..=32).contains(&c.len()) && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        };
        let codes: std::collections::BTreeSet<&str> =
            self.levels.iter().map(|l| l.code.as_str()).collect();
        if codes.len() != self.levels.len() || self.levels.iter().any(|l| !code_ok(&l.code)) {
            return Err(ProgrammeError::LevelNames);
        }
        for (i, l) in self.levels.iter().enumerate() {
            for (field, n) in [("name_zh", &l.name_zh), ("name_en", &l.name_en)] {
                name(n).map_err(|why| ProgrammeError::LevelName {
                    level: i + 1,
                    field,
                    why,
                })?;
            }
        }
        let first_ok = self
            .levels
            .first()
            .is_some_and(|l| l.min_principal.is_zero());
        if !first_ok
            || self
                .levels
                .windows(2)
                .any(|w| w[0].min_principal >= w[1].min_principal)
        {
            return Err(ProgrammeError::LevelsOrder);
        }
        if self
            .levels
            .iter()
            .any(|l| l.rate <= Decimal::ZERO || l.rate > Decimal::ONE)
        {
            return Err(ProgrammeError::LevelRate);
        }
        if self
            .recharge_offers
            .windows(2)
            .any(|w| w[0].threshold >= w[1].threshold)
            || self
                .recharge_offers
                .iter()
                .any(|o| o.bonus.is_negative() || o.bonus >= o.threshold)
        {
            return Err(ProgrammeError::OffersOrder);
        }
        for (i, o) in self.recharge_offers.iter().enumerate() {
            let bad = if o.coupons.len() > OFFER_COUPONS_MAX {
                Some(String::new())
            } else {
                o.coupons
                    .iter()
                    .find(|c| !ids.contains(c.as_str()))
                    .cloned()
            };
            if let Some(template) = bad {
                return Err(ProgrammeError::OfferCoupons {
                    offer: i + 1,
                    template,
                });
            }
        }
        if self.points_per_yuan < Decimal::ZERO || self.points_per_yuan > Decimal::ONE_HUNDRED {
            return Err(ProgrammeError::PointsRate);
        }
        if let Some(d) = &self.points_deduction {
            d.validate()?;
        }
        Ok(())
    }

    /// The bonus for recharging `amount` in one go: the highest offer whose
    /// threshold the amount reaches.
    pub fn bonus_for(&self, amount: Money) -> Money {
        self.recharge_offers
            .iter()
            .rev()
            .find(|o| amount >= o.threshold)
            .map_or(Money::ZERO, |o| o.bonus)
    }

    /// The coupons (template ids) for recharging `amount` in one go: those
    /// of the offer `bonus_for` picks.
    pub fn coupons_for(&self, amount: Money) -> &[String] {
        self.recharge_offers
            .iter()
            .rev()
            .find(|o| amount >= o.threshold)
            .map_or(&[], |o| o.coupons.as_slice())
    }

    /// The level for a cumulative principal recharged.
    pub fn level_for(&self, cumulative_principal: Money) -> &Level {
        self.levels
            .iter()
            .rev()
            .find(|l| cumulative_principal >= l.min_principal)
            .unwrap_or(&self.levels[0])
    }

    /// Points for paying `paid`: ⌊paid × points per yuan⌋.
    pub fn points_for(&self, paid: Money) -> i64 {
        (paid.as_decimal() * self.points_per_yuan)
            .floor()
            .to_i64()
            .unwrap_or(0)
            .max(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_programme_matches_the_requirements() {
        let p = Programme::default();
        p.validate().unwrap();
        assert_eq!(p.bonus_for(Money::from_yuan(999)), Money::ZERO);
        assert_eq!(p.bonus_for(Money::from_yuan(1000)), Money::from_yuan(100));
        assert_eq!(p.bonus_for(Money::from_yuan(2500)), Money::from_yuan(200));
        assert_eq!(p.bonus_for(Money::from_yuan(9000)), Money::from_yuan(400));
        assert_eq!(p.level_for(Money::ZERO).code, "regular");
        assert_eq!(p.level_for(Money::from_yuan(1000)).rate.to_string(), "0.95");
        assert_eq!(p.level_for(Money::from_yuan(3999)).code, "platinum");
        assert_eq!(p.level_for(Money::from_yuan(50000)).code, "diamond");
        assert_eq!(p.points_for(Money::from_fen(9599)), 95);
    }

    #[test]
    fn bad_programmes_are_refused() {
        let mut p = Programme::default();
        p.levels[1].rate = Decimal::new(11, 1);
        assert_eq!(p.validate(), Err(ProgrammeError::LevelRate));
        let mut p = Programme::default();
        p.levels.swap(1, 2);
        assert_eq!(p.validate(), Err(ProgrammeError::LevelsOrder));
        let mut p = Programme::default();
        p.recharge_offers[0].bonus = Money::from_yuan(1000);
        assert_eq!(p.validate(), Err(ProgrammeError::OffersOrder));
        let mut p = Programme::default();
        p.recharge_offers[0].bonus = Money::from_yuan(-1);
        assert_eq!(p.validate(), Err(ProgrammeError::OffersOrder));
        let mut p = Programme::default();
        p.recharge_offers.swap(0, 1);
        assert_eq!(p.validate(), Err(ProgrammeError::OffersOrder));
        let mut p = Programme::default();
        p.levels[0].min_principal = Money::from_yuan(1);
        assert_eq!(p.validate(), Err(ProgrammeError::LevelsOrder));
        let mut p = Programme::default();
        p.levels.clear();
        assert_eq!(p.validate(), Err(ProgrammeError::LevelsOrder));
        let mut p = Programme::default();
        p.levels[0].rate = Decimal::ZERO;
        assert_eq!(p.validate(), Err(ProgrammeError::LevelRate));
        let p = Programme {
            points_per_yuan: Decimal::new(-1, 0),
            ..Programme::default()
        };
        assert_eq!(p.validate(), Err(ProgrammeError::PointsRate));
        let p = Programme {
            points_per_yuan: Decimal::new(101, 0),
            ..Programme::default()
        };
        assert_eq!(p.validate(), Err(ProgrammeError::PointsRate));
        let mut p = Programme::default();
        p.levels[2].code = "regular".into();
        assert_eq!(p.validate(), Err(ProgrammeError::LevelNames));
        let mut p = Programme::default();
        p.levels[2].name_zh = " ".into();
        let blank = ProgrammeError::LevelName {
            level: 3,
            field: "name_zh",
            why: TextError::Length { min: 1, max: 32 },
        };
        assert_eq!(p.validate(), Err(blank.clone()));
        assert_eq!(p.validate_stored(), Err(blank));
        // A direction override: refused when HQ sets it, read as stored.
        let mut p = Programme::default();
        p.levels[1].name_en = "Silver\u{202e}".into();
        assert!(matches!(
            p.validate(),
            Err(ProgrammeError::LevelName {
                level: 2,
                field: "name_en",
                why: TextError::Char { code: 0x202E, .. }
            })
        ));
        assert_eq!(p.validate_stored(), Ok(()));
        let p = Programme {
            recharge_offers: (1..=21)
                .map(|y| RechargeOffer {
                    threshold: Money::from_yuan(y * 100),
                    bonus: Money::ZERO,
                    coupons: Vec::new(),
                })
                .collect(),
            ..Programme::default()
        };
        assert_eq!(p.validate(), Err(ProgrammeError::TooMany));
        let rule = PointsDeduction {
            points_per_yuan: 100,
            cap: Decimal::new(5, 1),
            min_points: 0,
        };
        for (bad, err) in [
            (
                PointsDeduction {
                    points_per_yuan: 0,
                    ..rule
                },
                ProgrammeError::DeductionRate,
            ),
            (
                PointsDeduction {
                    points_per_yuan: 10_001,
                    ..rule
                },
                ProgrammeError::DeductionRate,
            ),
            (
                PointsDeduction {
                    cap: Decimal::ZERO,
                    ..rule
                },
                ProgrammeError::DeductionCap,
            ),
            (
                PointsDeduction {
                    cap: Decimal::new(101, 2),
                    ..rule
                },
                ProgrammeError::DeductionCap,
            ),
            (
                PointsDeduction {
                    cap: Decimal::new(12345, 5),
                    ..rule
                },
                ProgrammeError::DeductionCap,
            ),
            (
                PointsDeduction {
                    min_points: -1,
                    ..rule
                },
                ProgrammeError::DeductionMinimum,
            ),
        ] {
            let p = Programme {
                points_deduction: Some(bad),
                ..Programme::default()
            };
            assert_eq!(p.validate(), Err(err));
        }
    }

    #[test]
    fn points_deduction_arithmetic() {
        let rule = PointsDeduction {
            points_per_yuan: 100,
            cap: Decimal::new(5, 1),
            min_points: 0,
        };
        assert_eq!(rule.value_of(150).to_string(), "1.50");
        assert_eq!(rule.cap_of(Money::from_fen(9501)).to_string(), "47.51");
        assert_eq!(rule.max_points_within(Money::from_fen(4751)), 4751);
        // 3 points a yuan: 5 points are 1.666… → 1.67, 6 are 2.00.
        assert_eq!(
            PointsDeduction {
                points_per_yuan: 3,
                ..rule
            }
            .max_points_within(Money::from_fen(167)),
            5
        );
        // 3 points a yuan: 1 point is 0.33, 2 points 0.67 (half-up).
        let third = PointsDeduction {
            points_per_yuan: 3,
            ..rule
        };
        assert_eq!(third.value_of(1).to_string(), "0.33");
        assert_eq!(third.value_of(2).to_string(), "0.67");
        assert_eq!(third.max_points_within(Money::from_fen(66)), 1);
        assert_eq!(third.max_points_within(Money::from_fen(67)), 2);
        assert_eq!(third.max_points_within(Money::ZERO), 0);
    }

    proptest::proptest! {
        #[test]
        fn max_points_within_is_the_largest(rate in 1i64..10_000, fen in 0i64..10_000_000) {
            let rule = PointsDeduction { points_per_yuan: rate, cap: Decimal::ONE, min_points: 0 };
            let limit = Money::from_fen(fen);
            let n = rule.max_points_within(limit);
            proptest::prop_assert!(rule.value_of(n) <= limit);
            proptest::prop_assert!(rule.value_of(n + 1) > limit);
        }
    }
}
