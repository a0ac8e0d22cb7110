//! The membership programme: recharge offers, levels and the points rule.
//! HQ authors it for the whole chain; `Programme::default()` is the default
//! programme of api.md, taken from the requirement documents.

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};

use crate::money::Money;

/// Recharge `threshold` or more in one go and get `bonus` on top.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RechargeOffer {
    pub threshold: Money,
    pub bonus: Money,
}

/// A member level (会员等级), reached by cumulative principal recharged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Level {
    /// Stable machine name (`regular`, `silver`, …).
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    /// Cumulative principal recharged from which the level applies.
    pub min_principal: Money,
    /// Price multiplier applied to every line at checkout (0.95 = 95折).
    pub rate: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Programme {
    /// Sorted by threshold, ascending; the highest one reached applies.
    pub recharge_offers: Vec<RechargeOffer>,
    /// Sorted by `min_principal`, ascending; the first starts at zero.
    pub levels: Vec<Level>,
    /// Points earned per whole yuan paid (rounded down to a whole point).
    pub points_per_yuan: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProgrammeError {
    #[error("levels must start at 0 and rise strictly")]
    LevelsOrder,
    #[error("a level rate must be greater than 0 and at most 1")]
    LevelRate,
    #[error("recharge offer thresholds must rise strictly and bonuses be below the threshold")]
    OffersOrder,
    #[error("points per yuan must be between 0 and 100")]
    PointsRate,
    #[error(
        "level codes must be 1 to 32 letters, digits or _ and distinct; names 1 to 32 characters"
    )]
    LevelNames,
    #[error("a programme has at most 20 recharge offers and 20 levels")]
    TooMany,
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
            ProgrammeError::LevelNames => "programme_level_names",
            ProgrammeError::TooMany => "programme_too_many",
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
                "等级代码须为 1 到 32 个字母、数字或下划线且互不相同；名称 1 到 32 个字符".into()
            }
            ProgrammeError::TooMany => "充值优惠与会员等级各最多 20 个".into(),
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
        }
    }
}

impl Programme {
    pub fn validate(&self) -> Result<(), ProgrammeError> {
        if self.levels.len() > PROGRAMME_ITEMS_MAX
            || self.recharge_offers.len() > PROGRAMME_ITEMS_MAX
        {
            return Err(ProgrammeError::TooMany);
        }
        let name_ok = |n: &str| !n.trim().is_empty() && n.chars().count() <= 32;
        let code_ok = |c: &str| {
            (1..=32).contains(&c.len()) && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        };
        let codes: std::collections::BTreeSet<&str> =
            self.levels.iter().map(|l| l.code.as_str()).collect();
        if codes.len() != self.levels.len()
            || self
                .levels
                .iter()
                .any(|l| !code_ok(&l.code) || !name_ok(&l.name_zh) || !name_ok(&l.name_en))
        {
            return Err(ProgrammeError::LevelNames);
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
        if self.points_per_yuan < Decimal::ZERO || self.points_per_yuan > Decimal::ONE_HUNDRED {
            return Err(ProgrammeError::PointsRate);
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
        assert_eq!(p.validate(), Err(ProgrammeError::LevelNames));
        let p = Programme {
            recharge_offers: (1..=21)
                .map(|y| RechargeOffer {
                    threshold: Money::from_yuan(y * 100),
                    bonus: Money::ZERO,
                })
                .collect(),
            ..Programme::default()
        };
        assert_eq!(p.validate(), Err(ProgrammeError::TooMany));
    }
}
