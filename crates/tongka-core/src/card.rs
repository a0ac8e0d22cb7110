//! Count cards (记次卡) and period cards (周期卡): what a card product
//! sells ([`CardPlan`]), a card as sold and held in a member's wallet
//! ([`Card`]), whether a visit may be verified (核销, [`decide_visit`]) and
//! what a refund of a card gives back ([`refund_value`]). Pure: the caller
//! passes the day, what this store holds of the card's visits and how many
//! visits the card has had today. A count card's visits are an escrowed
//! counter like a coupon's uses (`escrow`): split into shares per store,
//! each decreased only by its holder; this module decides given the share
//! held here and does not move shares.
//!
//! # Kinds
//! - **Count card**: `visits` visits (10 haircuts), valid from the day it is
//!   sold for `days` days, or with no end.
//! - **Period card**: any number of visits from the day it is sold for
//!   `days` days (a month of gym), at most `daily_cap` a day when it has
//!   one.
//!
//! Either may be bound to services: a visit is for one of the plan's
//! `services` (skus); none listed, any service.
//!
//! # A visit
//! [`decide_visit`] checks, in this order, and refuses on the first that
//! fails:
//! 1. the visit counts 1 to [`VISIT_COUNT_MAX`] visits (`invalid_visit_count`);
//! 2. the card's window holds today: not before its first day
//!    (`card_not_yet_valid`), not after its last (`card_expired`); both
//!    days are included;
//! 3. the service is one the card covers (`card_not_applicable`). A card
//!    bound to services needs the service named: a visit that names none
//!    is refused, so a card for haircuts is never spent on something staff
//!    did not say;
//! 4. a count card: the visits wanted are at most those held at this store
//!    (`card_used_up`). The refusal carries both what is held here and what
//!    is left in all, so the caller tells "short here, ask the other
//!    holders" (wanted ≤ left in all, [`CardError::is_short_here`]) from
//!    "used up" (wanted > left in all);
//! 5. a period card with a daily cap: the visits already made today plus
//!    those wanted are at most the cap (`card_daily_cap`).
//!
//! ## The daily cap's stated limit
//! A count card's visits are escrowed: the visits used at all stores
//! together never exceed the card's total, whatever the network does. A
//! period card's daily cap is not: each store checks it against the visits
//! it knows of that day (its own and those replicated to it). During a
//! partition, two stores cut off from each other may each let a visit
//! through, so a card may get up to (cap × stores visited that day) visits
//! on a day no store can see whole. This is chosen, not overlooked: the cap
//! is a fairness rule, not money, and escrowing a per-day counter would make
//! a gym's turnstile wait on the network.
//!
//! # Refund, written down once
//! A refund of a card returns its unused part of what the member paid for
//! the card's line (`price`), rounded half-up to the fen once (the rule of
//! `money`: a product of money and a proportion is rounded half-up at the
//! step that produces it):
//! - **Count card**: `price × unused ÷ visits`, `unused = visits − used`
//!   (0 when all are used). Unused visits are returned whatever the day: a
//!   count card's value is its visits, and those not taken are the
//!   member's.
//! - **Period card**: `price × unused days ÷ days`, counting whole days:
//!   the day of the refund counts as used, so `unused days = last day −
//!   today` (none on or after the last day; at most all the card's days, if
//!   today is before its first day).
//!
//! Never negative, never more than `price`; the more visits used, or the
//! later the day, the less (never more) is returned.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::catalogue;
use crate::day::Day;
use crate::error::DomainError;
use crate::ids::CardId;
use crate::money::Money;

mod held;
pub use held::{CARDS_PER_MEMBER_MAX, HeldCard, VisitsShort};

/// The most cards one sale line sells.
pub const CARDS_PER_LINE_MAX: u32 = 20;

/// A sale line that sells cards: the plan (the product's at the sale) and
/// one code per card (the line's quantity, whole), minted by the selling
/// store.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, minicbor::Encode, minicbor::Decode,
)]
pub struct CardSale {
    #[n(0)]
    pub plan: CardPlan,
    #[n(1)]
    pub cards: Vec<CardId>,
}

/// The most visits a count card may sell.
pub const CARD_VISITS_MAX: u32 = 1_000;
/// The longest validity of a card, in days (ten years and their leap days).
pub const CARD_DAYS_MAX: u16 = 3_660;
/// The highest daily cap of a period card.
pub const DAILY_CAP_MAX: u32 = 100;
/// The most services a card may be bound to.
pub const CARD_SERVICES_MAX: usize = 50;
/// The most visits one verification may count (a family of four at the
/// pool is four visits; a hundred is a typing error's bound).
pub const VISIT_COUNT_MAX: u32 = 100;

/// What kind of card, with what its kind needs. Externally tagged in serde
/// (postcard, which stores documents' parts, cannot read an internally
/// tagged enum).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, minicbor::Encode, minicbor::Decode,
)]
#[serde(rename_all = "snake_case")]
pub enum CardKind {
    /// 记次卡: `visits` visits, valid `days` days from the day it is sold
    /// (that day included), or with no end when `None`.
    #[n(0)]
    Count {
        #[n(0)]
        visits: u32,
        #[n(1)]
        days: Option<u16>,
    },
    /// 周期卡: any number of visits for `days` days from the day it is
    /// sold (that day included), at most `daily_cap` a day when set.
    #[n(1)]
    Period {
        #[n(0)]
        days: u16,
        #[n(1)]
        daily_cap: Option<u32>,
    },
}

/// What a card product sells: carried by a catalogue product, and copied
/// into each card sold, so a later change of the product changes no card
/// already in a wallet.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, minicbor::Encode, minicbor::Decode,
)]
pub struct CardPlan {
    #[n(0)]
    pub kind: CardKind,
    /// The services (skus) a visit may be for; empty: any service.
    #[n(1)]
    #[serde(default)]
    pub services: Vec<String>,
}

/// Why a card plan is refused. Each names its field (`details`' `field`,
/// [`CardPlanError::field`]) by the field's own name, whichever kind holds
/// it (`days` of a count or of a period card).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CardPlanError {
    #[error("visits must be 1 to {CARD_VISITS_MAX}")]
    Visits,
    #[error("days must be 1 to {CARD_DAYS_MAX}")]
    Days,
    #[error("the daily cap must be 1 to {DAILY_CAP_MAX}")]
    DailyCap,
    #[error("a card covers at most {CARD_SERVICES_MAX} services, each once")]
    Services,
    #[error("service {index}: a sku must be 1 to 32 letters, digits, '-' or '_'")]
    Service {
        /// The position in `services`, from 0.
        index: usize,
    },
}

impl CardPlanError {
    /// The field at fault: its name (`services[i]` for one service).
    pub fn field(&self) -> String {
        match self {
            CardPlanError::Visits => "visits".into(),
            CardPlanError::Days => "days".into(),
            CardPlanError::DailyCap => "daily_cap".into(),
            CardPlanError::Services => "services".into(),
            CardPlanError::Service { index } => format!("services[{index}]"),
        }
    }
}

impl DomainError for CardPlanError {
    fn code(&self) -> &'static str {
        "invalid_card_plan"
    }

    fn message_zh(&self) -> String {
        match self {
            CardPlanError::Visits => format!("次数应为 1 到 {CARD_VISITS_MAX}"),
            CardPlanError::Days => format!("有效天数应为 1 到 {CARD_DAYS_MAX}"),
            CardPlanError::DailyCap => format!("每日次数上限应为 1 到 {DAILY_CAP_MAX}"),
            CardPlanError::Services => {
                format!("适用服务最多 {CARD_SERVICES_MAX} 个，不能重复")
            }
            CardPlanError::Service { index } => format!(
                "第 {} 个适用服务的商品编号应为 1 到 32 个字母、数字、- 或 _",
                index + 1
            ),
        }
    }

    fn details(&self) -> Vec<(&'static str, String)> {
        vec![("field", self.field())]
    }
}

impl CardPlan {
    /// Check a plan given from outside.
    pub fn validate(&self) -> Result<(), CardPlanError> {
        let days_ok = |d: u16| (1..=CARD_DAYS_MAX).contains(&d);
        match self.kind {
            CardKind::Count { visits, days } => {
                if !(1..=CARD_VISITS_MAX).contains(&visits) {
                    return Err(CardPlanError::Visits);
                }
                if days.is_some_and(|d| !days_ok(d)) {
                    return Err(CardPlanError::Days);
                }
            }
            CardKind::Period { days, daily_cap } => {
                if !days_ok(days) {
                    return Err(CardPlanError::Days);
                }
                if daily_cap.is_some_and(|c| !(1..=DAILY_CAP_MAX).contains(&c)) {
                    return Err(CardPlanError::DailyCap);
                }
            }
        }
        if self.services.len() > CARD_SERVICES_MAX {
            return Err(CardPlanError::Services);
        }
        for (index, sku) in self.services.iter().enumerate() {
            if catalogue::validate_sku(sku).is_err() {
                return Err(CardPlanError::Service { index });
            }
            if self.services[..index].contains(sku) {
                return Err(CardPlanError::Services);
            }
        }
        Ok(())
    }

    /// The days a card of this plan sold on `sold` may be used: its first
    /// day, and its last (both included; `None`: no end).
    pub fn window(&self, sold: Day) -> (Day, Option<Day>) {
        let days = match self.kind {
            CardKind::Count { days, .. } => days,
            CardKind::Period { days, .. } => Some(days),
        };
        (sold, days.map(|d| sold.plus(i32::from(d) - 1)))
    }
}

/// A card as sold, held in a member's wallet. Its window and visits are
/// fixed at the sale; the plan is the product's at the sale.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, minicbor::Encode, minicbor::Decode,
)]
pub struct Card {
    /// The card's code (minted by the selling store), unique in the chain.
    #[n(0)]
    pub id: CardId,
    #[n(1)]
    pub plan: CardPlan,
    /// The product's name at the sale, for the wallet and receipts.
    #[n(2)]
    pub name: String,
    /// What the member paid for the card's line (after discounts): what a
    /// refund returns part of.
    #[n(3)]
    pub price: Money,
    /// The first day it may be used.
    #[n(4)]
    pub from: Day,
    /// The last day it may be used (included); `None`: no end.
    #[n(5)]
    pub to: Option<Day>,
    /// A count card's visits in all (what its escrowed counter starts
    /// at); 0 for a period card.
    #[n(6)]
    pub visits: u32,
}

impl Card {
    /// The card sold `today` of a (validated) plan.
    pub fn sold(id: CardId, name: String, plan: CardPlan, price: Money, today: Day) -> Card {
        let (from, to) = plan.window(today);
        let visits = match plan.kind {
            CardKind::Count { visits, .. } => visits,
            CardKind::Period { .. } => 0,
        };
        Card {
            id,
            plan,
            name,
            price,
            from,
            to,
            visits,
        }
    }

    pub fn is_count(&self) -> bool {
        matches!(self.plan.kind, CardKind::Count { .. })
    }

    pub fn is_period(&self) -> bool {
        matches!(self.plan.kind, CardKind::Period { .. })
    }

    /// Its first and last day (included; `None`: no end).
    pub fn window(&self) -> (Day, Option<Day>) {
        (self.from, self.to)
    }

    /// Whether `day` is in its window.
    pub fn valid_on(&self, day: Day) -> bool {
        day >= self.from && self.to.is_none_or(|to| day <= to)
    }

    /// Whether it has ended by `day` (after its last day). A card not yet
    /// started has not ended.
    pub fn ended_by(&self, day: Day) -> bool {
        self.to.is_some_and(|to| day > to)
    }

    /// A period card's daily cap; `None` for a count card or no cap.
    pub fn daily_cap(&self) -> Option<u32> {
        match self.plan.kind {
            CardKind::Period { daily_cap, .. } => daily_cap,
            CardKind::Count { .. } => None,
        }
    }

    /// Whether a visit for `service` is one this card covers: any, when it
    /// is bound to none; else the service must be named and listed.
    pub fn covers(&self, service: Option<&str>) -> bool {
        self.plan.services.is_empty()
            || service.is_some_and(|s| self.plan.services.iter().any(|k| k == s))
    }

    /// The days of its window, both ends counted; `None` with no end.
    pub fn days(&self) -> Option<u32> {
        self.to
            .map(|to| u32::try_from(i64::from(to.0) - i64::from(self.from.0) + 1).unwrap_or(0))
    }
}

/// Why a visit cannot be verified on a card.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
// Not `non_exhaustive`: the API maps each variant to an HTTP status in an
// exhaustive match, so a new variant must be given one.
pub enum CardError {
    #[error("a visit counts 1 to {VISIT_COUNT_MAX} visits, not {count}")]
    InvalidCount { count: u32 },
    #[error("card {card} may be used from {from}")]
    NotYetValid { card: String, from: Day },
    #[error("card {card} expired on {to}")]
    Expired { card: String, to: Day },
    #[error("card {card} does not cover {}", match .service { Some(s) => format!("service {s}"), None => "a visit that names no service".into() })]
    NotApplicable {
        card: String,
        /// The service asked for; `None`: none named.
        service: Option<String>,
    },
    #[error(
        "card {card}: {wanted} visits wanted, {left_here} usable at this store, {left_total} left in all"
    )]
    UsedUp {
        card: String,
        wanted: u32,
        /// The visits this store holds of the card.
        left_here: i64,
        /// The visits left at all stores, as this store knows them.
        left_total: i64,
    },
    #[error("card {card} allows {cap} visits a day: {used_today} made today, {wanted} more wanted")]
    DailyCap {
        card: String,
        cap: u32,
        used_today: u32,
        wanted: u32,
    },
    #[error("the member holds no card {card}")]
    NotFound { card: String },
    #[error("card {card} was refunded")]
    Refunded { card: String },
    #[error("card {card}'s visits are held at {}, which cannot be reached now", held_at.iter().map(|n| n.as_str()).collect::<Vec<_>>().join(", "))]
    HeldElsewhere {
        card: String,
        held_at: Vec<crate::ids::NodeId>,
    },
}

impl CardError {
    /// Whether a count card is short at this store only: the visits wanted
    /// are left in all, so asking the other holders for their shares may
    /// let the visit through (the caller's escrow ask). `false` for every
    /// other refusal, and for a card used up.
    pub fn is_short_here(&self) -> bool {
        match self {
            CardError::UsedUp {
                wanted, left_total, ..
            } => i64::from(*wanted) <= *left_total,
            _ => false,
        }
    }
}

impl DomainError for CardError {
    fn code(&self) -> &'static str {
        match self {
            CardError::InvalidCount { .. } => "invalid_visit_count",
            CardError::NotYetValid { .. } => "card_not_yet_valid",
            CardError::Expired { .. } => "card_expired",
            CardError::NotApplicable { .. } => "card_not_applicable",
            CardError::UsedUp { .. } => "card_used_up",
            CardError::DailyCap { .. } => "card_daily_cap",
            CardError::NotFound { .. } => "card_not_found",
            CardError::Refunded { .. } => "card_refunded",
            CardError::HeldElsewhere { .. } => "card_held_elsewhere",
        }
    }

    fn message_zh(&self) -> String {
        match self {
            CardError::InvalidCount { count } => {
                format!("核销次数应为 1 到 {VISIT_COUNT_MAX}，不能为 {count}")
            }
            CardError::NotYetValid { card, from } => format!("卡 {card} 自 {from} 起可用"),
            CardError::Expired { card, to } => format!("卡 {card} 已于 {to} 过期"),
            CardError::NotApplicable { card, service } => match service {
                Some(s) => format!("卡 {card} 不适用于服务 {s}"),
                None => format!("卡 {card} 仅限指定服务使用，请选择服务"),
            },
            CardError::UsedUp {
                card,
                wanted,
                left_here,
                left_total,
            } => {
                if *left_total <= 0 {
                    format!("卡 {card} 次数已用完")
                } else {
                    format!(
                        "卡 {card} 次数不足：需要 {wanted} 次，本店可用 {left_here} 次，共剩 {left_total} 次"
                    )
                }
            }
            CardError::DailyCap {
                card,
                cap,
                used_today,
                wanted,
            } => format!(
                "卡 {card} 每天最多使用 {cap} 次：今天已用 {used_today} 次，本次 {wanted} 次"
            ),
            CardError::NotFound { card } => format!("该会员没有卡 {card}"),
            CardError::Refunded { card } => format!("卡 {card} 已退卡"),
            CardError::HeldElsewhere { card, held_at } => format!(
                "卡 {card} 的次数在 {}，目前无法联系，请稍后再试",
                held_at
                    .iter()
                    .map(|n| n.as_str())
                    .collect::<Vec<_>>()
                    .join("、")
            ),
        }
    }

    fn details(&self) -> Vec<(&'static str, String)> {
        match self {
            CardError::InvalidCount { count } => vec![
                ("count", count.to_string()),
                ("max", VISIT_COUNT_MAX.to_string()),
            ],
            CardError::NotYetValid { card, from } => {
                vec![("card", card.clone()), ("valid_from", from.to_string())]
            }
            CardError::Expired { card, to } => {
                vec![("card", card.clone()), ("valid_to", to.to_string())]
            }
            CardError::NotApplicable { card, service } => {
                let mut d = vec![("card", card.clone())];
                if let Some(s) = service {
                    d.push(("service", s.clone()));
                }
                d
            }
            CardError::UsedUp {
                card,
                wanted,
                left_here,
                left_total,
            } => vec![
                ("card", card.clone()),
                ("wanted", wanted.to_string()),
                ("left_here", left_here.to_string()),
                ("left_total", left_total.to_string()),
            ],
            CardError::DailyCap {
                card,
                cap,
                used_today,
                wanted,
            } => vec![
                ("card", card.clone()),
                ("daily_cap", cap.to_string()),
                ("used_today", used_today.to_string()),
                ("wanted", wanted.to_string()),
            ],
            CardError::NotFound { card } | CardError::Refunded { card } => {
                vec![("card", card.clone())]
            }
            CardError::HeldElsewhere { card, held_at } => vec![
                ("card", card.clone()),
                (
                    "held_at",
                    held_at
                        .iter()
                        .map(|n| n.as_str())
                        .collect::<Vec<_>>()
                        .join(","),
                ),
            ],
        }
    }
}

/// Whether `count` visits for `service` may be verified on `card` at this
/// store `today`, by the checks of the module doc, in its order.
///
/// - `held_here`: a count card's visits held at this store (its share of
///   the escrowed counter); `left_total`: its visits left at all stores as
///   this store knows them. Both are read for a count card only.
/// - `visits_today`: the visits this store knows the card had today (its
///   own and those replicated to it); read for a period card's cap only.
///
/// `Ok` decides nothing else: the caller records the visit (and, for a
/// count card, takes it from the share held here).
pub fn decide_visit(
    card: &Card,
    service: Option<&str>,
    today: Day,
    held_here: i64,
    left_total: i64,
    visits_today: u32,
    count: u32,
) -> Result<(), CardError> {
    if !(1..=VISIT_COUNT_MAX).contains(&count) {
        return Err(CardError::InvalidCount { count });
    }
    let id = || card.id.to_string();
    if today < card.from {
        return Err(CardError::NotYetValid {
            card: id(),
            from: card.from,
        });
    }
    if let Some(to) = card.to
        && today > to
    {
        return Err(CardError::Expired { card: id(), to });
    }
    if !card.covers(service) {
        return Err(CardError::NotApplicable {
            card: id(),
            // Echoed in the refusal: bounded, whatever the caller passed.
            service: service.map(|s| s.chars().take(64).collect()),
        });
    }
    match card.plan.kind {
        CardKind::Count { .. } => {
            if i64::from(count) > held_here {
                return Err(CardError::UsedUp {
                    card: id(),
                    wanted: count,
                    left_here: held_here,
                    left_total,
                });
            }
        }
        CardKind::Period { daily_cap, .. } => {
            if let Some(cap) = daily_cap
                && u64::from(visits_today) + u64::from(count) > u64::from(cap)
            {
                return Err(CardError::DailyCap {
                    card: id(),
                    cap,
                    used_today: visits_today,
                    wanted: count,
                });
            }
        }
    }
    Ok(())
}

/// What a refund of `card` on `today` returns: its unused part of
/// `card.price`, by the rule of the module doc. `used_visits` is a count
/// card's visits used (at all stores); a period card ignores it.
pub fn refund_value(card: &Card, used_visits: u32, today: Day) -> Money {
    let (unused, total) = match card.plan.kind {
        CardKind::Count { .. } => (
            i64::from(card.visits.saturating_sub(used_visits)),
            i64::from(card.visits),
        ),
        CardKind::Period { .. } => {
            let Some(to) = card.to else {
                // A period card always has an end; without one there is
                // no proportion to take, and nothing is returned.
                return Money::ZERO;
            };
            let total = i64::from(to.0) - i64::from(card.from.0) + 1;
            let unused = (i64::from(to.0) - i64::from(today.0)).clamp(0, total.max(0));
            (unused, total)
        }
    };
    if total <= 0 || unused <= 0 || !card.price.is_positive() {
        return Money::ZERO;
    }
    let value = Money::round_half_up(
        card.price.as_decimal() * Decimal::from(unused) / Decimal::from(total),
    );
    value.min(card.price)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn y(fen: i64) -> Money {
        Money::from_fen(fen)
    }

    fn day(s: &str) -> Day {
        s.parse().unwrap()
    }

    fn count_plan(visits: u32, days: Option<u16>) -> CardPlan {
        CardPlan {
            kind: CardKind::Count { visits, days },
            services: Vec::new(),
        }
    }

    fn period_plan(days: u16, daily_cap: Option<u32>) -> CardPlan {
        CardPlan {
            kind: CardKind::Period { days, daily_cap },
            services: Vec::new(),
        }
    }

    fn kid() -> CardId {
        CardId::mint(&crate::ids::NodeId::new("s1").unwrap(), 1)
    }

    fn sold(plan: CardPlan, fen: i64) -> Card {
        Card::sold(kid(), "十次理发卡".into(), plan, y(fen), day("2026-12-01"))
    }

    /// A visit with nothing in the way but the figure under test.
    fn visit(
        card: &Card,
        today: Day,
        held: i64,
        total: i64,
        today_n: u32,
        n: u32,
    ) -> Result<(), CardError> {
        decide_visit(card, None, today, held, total, today_n, n)
    }

    #[test]
    fn sold_cards_have_their_window_and_visits() {
        let c = sold(count_plan(10, Some(365)), 100_000);
        assert_eq!(c.window(), (day("2026-12-01"), Some(day("2027-11-30"))));
        assert_eq!(c.visits, 10);
        assert!(c.is_count() && !c.is_period());
        assert_eq!(c.days(), Some(365));
        assert_eq!(c.daily_cap(), None);

        let open = sold(count_plan(10, None), 100_000);
        assert_eq!(open.window(), (day("2026-12-01"), None));
        assert_eq!(open.days(), None);
        assert!(open.valid_on(day("2099-01-01")));
        assert!(!open.ended_by(day("2099-01-01")));

        let p = sold(period_plan(31, Some(2)), 30_000);
        assert_eq!(p.window(), (day("2026-12-01"), Some(day("2026-12-31"))));
        assert_eq!(p.visits, 0);
        assert!(p.is_period());
        assert_eq!(p.daily_cap(), Some(2));
        assert!(p.valid_on(day("2026-12-31")) && !p.valid_on(day("2027-01-01")));
        assert!(p.ended_by(day("2027-01-01")) && !p.ended_by(day("2026-12-31")));
        // One day: sold and ending the same day.
        let one = sold(period_plan(1, None), 5_000);
        assert_eq!(one.window(), (day("2026-12-01"), Some(day("2026-12-01"))));
    }

    #[test]
    fn a_visit_checks_count_window_service_then_figures() {
        let mut c = sold(count_plan(10, Some(30)), 100_000);
        c.plan.services = vec!["haircut".into(), "wash".into()];
        let d1 = day("2026-12-05");
        let go = |service, today, held, n| decide_visit(&c, service, today, held, 10, 0, n);
        assert_eq!(go(Some("haircut"), d1, 3, 1), Ok(()));
        assert_eq!(go(Some("wash"), d1, 3, 3), Ok(()));
        assert_eq!(
            go(Some("haircut"), d1, 3, 0),
            Err(CardError::InvalidCount { count: 0 })
        );
        assert_eq!(
            go(Some("haircut"), d1, 3, 101),
            Err(CardError::InvalidCount { count: 101 })
        );
        // The count is checked before anything else.
        assert_eq!(
            go(None, day("2020-01-01"), 0, 0).unwrap_err().code(),
            "invalid_visit_count"
        );
        let e = go(Some("haircut"), day("2026-11-30"), 3, 1).unwrap_err();
        assert_eq!(e.code(), "card_not_yet_valid");
        assert_eq!(e.message_zh(), "卡 k-s1-1 自 2026-12-01 起可用");
        assert_eq!(
            e.details(),
            vec![
                ("card", "k-s1-1".to_string()),
                ("valid_from", "2026-12-01".into())
            ]
        );
        // Both ends of the window are days of use.
        assert_eq!(go(Some("haircut"), day("2026-12-01"), 3, 1), Ok(()));
        assert_eq!(go(Some("haircut"), day("2026-12-30"), 3, 1), Ok(()));
        let e = go(Some("haircut"), day("2026-12-31"), 3, 1).unwrap_err();
        assert_eq!(
            e,
            CardError::Expired {
                card: "k-s1-1".into(),
                to: day("2026-12-30")
            }
        );
        assert_eq!(e.code(), "card_expired");
        assert_eq!(e.message_zh(), "卡 k-s1-1 已于 2026-12-30 过期");
        let e = go(Some("massage"), d1, 3, 1).unwrap_err();
        assert_eq!(e.code(), "card_not_applicable");
        assert_eq!(e.message_zh(), "卡 k-s1-1 不适用于服务 massage");
        assert!(e.details().contains(&("service", "massage".into())));
        // A card bound to services needs the service named.
        let e = go(None, d1, 3, 1).unwrap_err();
        assert_eq!(
            e,
            CardError::NotApplicable {
                card: "k-s1-1".into(),
                service: None
            }
        );
        assert_eq!(e.message_zh(), "卡 k-s1-1 仅限指定服务使用，请选择服务");
        // Bound to none: any service, named or not.
        let any = sold(count_plan(10, None), 100_000);
        assert_eq!(visit(&any, d1, 1, 10, 0, 1), Ok(()));
        assert_eq!(decide_visit(&any, Some("massage"), d1, 1, 10, 0, 1), Ok(()));
    }

    #[test]
    fn a_count_card_visits_only_what_is_held_here() {
        let c = sold(count_plan(10, None), 100_000);
        let d1 = day("2026-12-05");
        assert_eq!(visit(&c, d1, 2, 5, 0, 2), Ok(()));
        // Short here, left elsewhere: an escrow ask may cover it.
        let e = visit(&c, d1, 2, 5, 0, 3).unwrap_err();
        assert_eq!(
            e,
            CardError::UsedUp {
                card: "k-s1-1".into(),
                wanted: 3,
                left_here: 2,
                left_total: 5
            }
        );
        assert!(e.is_short_here());
        assert_eq!(e.code(), "card_used_up");
        assert_eq!(
            e.message_zh(),
            "卡 k-s1-1 次数不足：需要 3 次，本店可用 2 次，共剩 5 次"
        );
        assert_eq!(
            e.details(),
            vec![
                ("card", "k-s1-1".to_string()),
                ("wanted", "3".into()),
                ("left_here", "2".into()),
                ("left_total", "5".into()),
            ]
        );
        // More than is left anywhere: used up, no ask helps.
        let e = visit(&c, d1, 2, 5, 0, 6).unwrap_err();
        assert!(!e.is_short_here());
        let e = visit(&c, d1, 0, 0, 0, 1).unwrap_err();
        assert!(!e.is_short_here());
        assert_eq!(e.message_zh(), "卡 k-s1-1 次数已用完");
        // A count card has no daily cap: the visits of the day do not count.
        assert_eq!(visit(&c, d1, 5, 5, 1_000, 5), Ok(()));
    }

    #[test]
    fn a_period_card_keeps_its_daily_cap() {
        let c = sold(period_plan(31, Some(2)), 30_000);
        let d1 = day("2026-12-05");
        assert_eq!(visit(&c, d1, 0, 0, 0, 2), Ok(()));
        assert_eq!(visit(&c, d1, 0, 0, 1, 1), Ok(()));
        let e = visit(&c, d1, 0, 0, 1, 2).unwrap_err();
        assert_eq!(
            e,
            CardError::DailyCap {
                card: "k-s1-1".into(),
                cap: 2,
                used_today: 1,
                wanted: 2
            }
        );
        assert_eq!(e.code(), "card_daily_cap");
        assert!(!e.is_short_here());
        assert_eq!(
            e.message_zh(),
            "卡 k-s1-1 每天最多使用 2 次：今天已用 1 次，本次 2 次"
        );
        assert!(e.details().contains(&("daily_cap", "2".into())));
        // No cap: any number a day; nothing held is needed.
        let open = sold(period_plan(31, None), 30_000);
        assert_eq!(visit(&open, d1, 0, 0, u32::MAX, 100), Ok(()));
        assert_eq!(
            visit(&open, day("2027-01-01"), 0, 0, 0, 1)
                .unwrap_err()
                .code(),
            "card_expired"
        );
    }

    #[test]
    fn refunds_by_the_written_rule() {
        let d = day("2026-12-01");
        // Count: price × unused ÷ visits, half-up.
        let c = sold(count_plan(3, None), 10_000);
        assert_eq!(refund_value(&c, 0, d), y(10_000));
        assert_eq!(refund_value(&c, 1, d), y(6_667)); // 66.666…
        assert_eq!(refund_value(&c, 2, d), y(3_333)); // 33.333…
        assert_eq!(refund_value(&c, 3, d), Money::ZERO);
        assert_eq!(refund_value(&c, 9, d), Money::ZERO);
        // Whatever the day, even after its end.
        let c = sold(count_plan(8, Some(30)), 1_001);
        assert_eq!(refund_value(&c, 3, day("2030-01-01")), y(626)); // 6.25625
        // Period: 31 days sold on the 1st; the day of the refund is used.
        let p = sold(period_plan(31, None), 31_000);
        assert_eq!(refund_value(&p, 0, d), y(30_000));
        assert_eq!(refund_value(&p, 0, day("2026-12-11")), y(20_000));
        assert_eq!(refund_value(&p, 0, day("2026-12-30")), y(1_000));
        assert_eq!(refund_value(&p, 0, day("2026-12-31")), Money::ZERO);
        assert_eq!(refund_value(&p, 0, day("2027-03-01")), Money::ZERO);
        // Before its first day (another store's calendar behind): all of it.
        assert_eq!(refund_value(&p, 0, day("2026-11-20")), y(31_000));
        // Visits used do not matter to a period card.
        assert_eq!(refund_value(&p, 50, day("2026-12-11")), y(20_000));
        // Rounded half-up: 100.00 × 1 ÷ 8 = 12.50, 0.05 × 1 ÷ 2 = 0.025.
        let p = sold(period_plan(8, None), 10_000);
        assert_eq!(refund_value(&p, 0, day("2026-12-07")), y(1_250));
        let c = sold(count_plan(2, None), 5);
        assert_eq!(refund_value(&c, 1, d), y(3));
        // A free card returns nothing.
        assert_eq!(
            refund_value(&sold(count_plan(2, None), 0), 0, d),
            Money::ZERO
        );
    }

    #[test]
    fn validate_refuses_each_bad_field() {
        let ok = [
            count_plan(1, None),
            count_plan(CARD_VISITS_MAX, Some(CARD_DAYS_MAX)),
            period_plan(1, Some(1)),
            period_plan(CARD_DAYS_MAX, Some(DAILY_CAP_MAX)),
            period_plan(30, None),
        ];
        for p in ok {
            assert_eq!(p.validate(), Ok(()), "{p:?}");
        }
        let bad = |plan: CardPlan, err: CardPlanError, field: &str| {
            let e = plan.validate().unwrap_err();
            assert_eq!(e, err, "{plan:?}");
            assert_eq!(e.code(), "invalid_card_plan");
            assert_eq!(e.details(), vec![("field", field.to_string())]);
            assert!(!e.message_zh().is_empty() && !e.to_string().is_empty());
        };
        bad(count_plan(0, None), CardPlanError::Visits, "visits");
        bad(count_plan(1_001, None), CardPlanError::Visits, "visits");
        bad(count_plan(10, Some(0)), CardPlanError::Days, "days");
        bad(count_plan(10, Some(3_661)), CardPlanError::Days, "days");
        bad(period_plan(0, None), CardPlanError::Days, "days");
        bad(period_plan(3_661, None), CardPlanError::Days, "days");
        bad(
            period_plan(30, Some(0)),
            CardPlanError::DailyCap,
            "daily_cap",
        );
        bad(
            period_plan(30, Some(101)),
            CardPlanError::DailyCap,
            "daily_cap",
        );
        let with = |services: Vec<String>| CardPlan {
            services,
            ..count_plan(10, None)
        };
        let many: Vec<String> = (0..=CARD_SERVICES_MAX).map(|i| format!("s{i}")).collect();
        assert_eq!(with(many[..CARD_SERVICES_MAX].to_vec()).validate(), Ok(()));
        bad(with(many), CardPlanError::Services, "services");
        bad(
            with(vec!["cut".into(), "cut".into()]),
            CardPlanError::Services,
            "services",
        );
        for sku in ["", "理发", "a b", "a\u{1b}", &"x".repeat(33)] {
            bad(
                with(vec!["cut".into(), sku.into()]),
                CardPlanError::Service { index: 1 },
                "services[1]",
            );
        }
        let e = with(vec!["".into()]).validate().unwrap_err();
        assert_eq!(
            e.message_zh(),
            "第 1 个适用服务的商品编号应为 1 到 32 个字母、数字、- 或 _"
        );
    }

    #[test]
    fn cards_round_trip_every_encoding() {
        let mut c = sold(count_plan(10, Some(365)), 12_345);
        c.plan.services = vec!["haircut".into()];
        let p = sold(period_plan(31, Some(2)), 30_000);
        let open = sold(count_plan(5, None), 1);
        for card in [c, p, open] {
            let json = serde_json::to_string(&card).unwrap();
            assert_eq!(serde_json::from_str::<Card>(&json).unwrap(), card);
            let bytes = postcard::to_allocvec(&card).unwrap();
            assert_eq!(postcard::from_bytes::<Card>(&bytes).unwrap(), card);
            let cbor = minicbor::to_vec(&card).unwrap();
            assert_eq!(minicbor::decode::<Card>(&cbor).unwrap(), card);
        }
        // The JSON of a plan, as a catalogue product will carry it.
        let plan: CardPlan =
            serde_json::from_str(r#"{"kind":{"period":{"days":30,"daily_cap":null}}}"#).unwrap();
        assert_eq!(plan, period_plan(30, None));
    }

    fn count_kind() -> impl Strategy<Value = CardKind> {
        (
            1u32..=CARD_VISITS_MAX,
            proptest::option::of(1u16..=CARD_DAYS_MAX),
        )
            .prop_map(|(visits, days)| CardKind::Count { visits, days })
    }

    fn period_kind() -> impl Strategy<Value = CardKind> {
        (
            1u16..=CARD_DAYS_MAX,
            proptest::option::of(1u32..=DAILY_CAP_MAX),
        )
            .prop_map(|(days, daily_cap)| CardKind::Period { days, daily_cap })
    }

    fn card_of(kind: impl Strategy<Value = CardKind>) -> impl Strategy<Value = Card> {
        (kind, 0i64..1_000_000_000, -100i32..100).prop_map(|(kind, fen, sold)| {
            let plan = CardPlan {
                kind,
                services: Vec::new(),
            };
            Card::sold(kid(), "卡".into(), plan, y(fen), Day(20_000 + sold))
        })
    }

    fn arb_card() -> impl Strategy<Value = Card> {
        prop_oneof![card_of(count_kind()), card_of(period_kind())]
    }

    proptest! {
        /// Whatever the card, the visits used and the day: never below
        /// zero, never above the price, and the more used or the later,
        /// never more.
        #[test]
        fn refund_is_bounded_and_monotone(
            card in arb_card(),
            used in 0u32..1_100,
            more in 0u32..50,
            at in -200i32..4_000,
            later in 0i32..400,
        ) {
            let today = Day(20_000 + at);
            let r = refund_value(&card, used, today);
            prop_assert!(!r.is_negative());
            prop_assert!(r <= card.price);
            prop_assert!(refund_value(&card, used + more, today) <= r);
            prop_assert!(refund_value(&card, used, today.plus(later)) <= r);
            if card.is_count() {
                prop_assert_eq!(refund_value(&card, 0, today), card.price);
                prop_assert_eq!(refund_value(&card, card.visits, today), Money::ZERO);
            } else {
                prop_assert_eq!(refund_value(&card, used, card.to.unwrap()), Money::ZERO);
            }
        }

        /// A count card's visit is let through only when it is held here,
        /// and always when held, in the window, counted 1 to 100.
        #[test]
        fn count_visits_never_beyond_held(
            card in card_of(count_kind()),
            n in 0u32..120,
            // Held and left near the count, where a slip would show.
            gap in -3i64..3,
            elsewhere in -2i64..4,
            at in -200i32..4_000,
        ) {
            let today = Day(20_000 + at);
            let held = i64::from(n) + gap;
            let left = held + elsewhere;
            let got = decide_visit(&card, None, today, held, left, 0, n);
            let allowed = (1..=VISIT_COUNT_MAX).contains(&n) && card.valid_on(today) && i64::from(n) <= held;
            prop_assert_eq!(got.is_ok(), allowed, "{:?}", got);
            if let Err(e @ CardError::UsedUp { .. }) = &got {
                prop_assert_eq!(e.is_short_here(), i64::from(n) <= left);
            }
        }

        /// A period card's visits of a day never pass its cap at one store.
        #[test]
        fn daily_cap_respected(
            card in card_of(period_kind()),
            today_n in 0u32..200,
            n in 1u32..=VISIT_COUNT_MAX,
            at in 0i32..30,
        ) {
            let today = Day(card.from.0 + at).min(card.to.unwrap());
            let got = decide_visit(&card, None, today, 0, 0, today_n, n);
            match card.daily_cap() {
                Some(cap) => prop_assert_eq!(got.is_ok(), today_n + n <= cap),
                None => prop_assert!(got.is_ok()),
            }
        }

        /// Every plan in the bounds passes; out of them, refused naming
        /// the field.
        #[test]
        fn validate_is_the_bounds(
            visits in 0u32..1_100,
            days in 0u16..4_000,
            cap in proptest::option::of(0u32..120),
            period in proptest::bool::ANY,
        ) {
            let (plan, ok, field) = if period {
                let ok_days = (1..=CARD_DAYS_MAX).contains(&days);
                let ok_cap = cap.is_none_or(|c| (1..=DAILY_CAP_MAX).contains(&c));
                let field = if !ok_days { "days" } else { "daily_cap" };
                (period_plan(days, cap), ok_days && ok_cap, field)
            } else {
                let ok_visits = (1..=CARD_VISITS_MAX).contains(&visits);
                let ok_days = (1..=CARD_DAYS_MAX).contains(&days);
                let field = if !ok_visits { "visits" } else { "days" };
                (count_plan(visits, Some(days)), ok_visits && ok_days, field)
            };
            match plan.validate() {
                Ok(()) => prop_assert!(ok),
                Err(e) => {
                    prop_assert!(!ok);
                    prop_assert_eq!(e.field(), field);
                }
            }
        }
    }
}
